"""RPC and timer of the customer pool: claim, release, assign, and the hourly sweep that
returns customers nobody followed up."""
from nameko.timer import timer

from customer.application import pool
from customer.entrypoints import api, record
from guanxi_common.config import env
from guanxi_common.contracts.customer import OWNER_ID_MAX, REASON_MAX
from guanxi_common.validation import text_arg


class PoolEntrypoints:
    @api
    def claim(self, ref):
        with self.uow as uow:
            customer = pool.claim(uow, text_arg("ref", ref), self.pool_policy)
        return record(customer)

    @api
    def release(self, ref, reason=None):
        with self.uow as uow:
            customer = pool.release(uow, text_arg("ref", ref), text_arg(
                "reason", reason, max_length=REASON_MAX, required=False))
        return record(customer)

    @api
    def assign(self, ref, owner_id):
        with self.uow as uow:
            customer = pool.assign(uow, text_arg("ref", ref), text_arg(
                "owner_id", owner_id, max_length=OWNER_ID_MAX, required=False))
        return record(customer)

    @api
    def return_idle_customers(self):
        with self.uow as uow:
            returned = pool.return_idle_customers(uow, self.pool_policy)
        return {"returned": returned}

    @timer(interval=env("POOL_SWEEP_INTERVAL", 3600, float))
    def sweep_pool(self):
        """Hourly by default: owned customers nobody followed up go back to the pool."""
        with self.uow as uow:
            pool.return_idle_customers(uow, self.pool_policy)
