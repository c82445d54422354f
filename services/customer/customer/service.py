"""The customer service: Nameko entrypoints only — parse, call, dump.

The RPC contract is documented in docs/rpc/customer.md.
"""
import json
from datetime import datetime, timezone
from importlib import resources

from nameko.timer import timer

from customer import handlers, queries
from customer.dependencies import PoolPolicyProvider
from customer.exceptions import EXPECTED
from customer.schemas import (CreditLimitSchema, CustomerCreateSchema, CustomerOut,
                              CustomerUpdateSchema, FollowUpSchema, RelationshipCreateSchema,
                              RelationshipOut, RelationshipTypeSchema, RoleTypeSchema, SearchSchema)
from guanxi_common.chassis import ServiceBase
from guanxi_common.config import env
from guanxi_common.consumers import event_handler
from guanxi_common.db import UnitOfWorkProvider
from guanxi_common.errors import ValidationFailed
from guanxi_common.rpc import rpc
from guanxi_common.validation import int_arg, load, text_arg

api = rpc(expected_exceptions=EXPECTED)
customer_out = CustomerOut()
UPDATABLE = tuple(CustomerUpdateSchema().fields)


class CustomerService(ServiceBase):
    name = "customer"

    uow = UnitOfWorkProvider("customer")
    pool_policy = PoolPolicyProvider()

    # ---- parties --------------------------------------------------------------------------
    @api
    def create(self, customer):
        data = load(CustomerCreateSchema(), customer, field="customer")
        with self.uow as uow:
            created, warnings = handlers.create_customer(uow, data)
        return {"customer": customer_out.dump(created), "warnings": warnings}

    @api
    def get(self, ref):
        return queries.get(self.uow.session, self.uow.actor, text_arg("ref", ref))

    @api
    def update(self, ref, changes):
        # partial at the top level only: a phone in the list still needs its value
        data = load(CustomerUpdateSchema(), changes, field="changes", partial=UPDATABLE)
        with self.uow as uow:
            customer = handlers.update_customer(uow, text_arg("ref", ref), data)
        return customer_out.dump(customer)

    @api
    def search(self, criteria=None):
        data = load(SearchSchema(), criteria or {}, field="criteria")
        return queries.search(self.uow.session, self.uow.actor, data)

    @api
    def check_duplicates(self, customer):
        data = load(CustomerCreateSchema(), customer, field="customer")
        return handlers.check_duplicates(self.uow.session, self.uow.actor, data)

    @api
    def merge(self, survivor, victim, reason=None):
        with self.uow as uow:
            kept, merged = handlers.merge(uow, text_arg("survivor", survivor),
                                          text_arg("victim", victim),
                                          text_arg("reason", reason, max_length=500, required=False))
        return {"survivor": customer_out.dump(kept), "victim": customer_out.dump(merged)}

    @api
    def history(self, ref, page=1, page_size=50):
        return queries.history(self.uow.session, self.uow.actor, text_arg("ref", ref),
                               int_arg("page", page, minimum=1),
                               int_arg("page_size", page_size, minimum=1, maximum=500))

    @api
    def set_credit_limit(self, ref, credit):
        data = load(CreditLimitSchema(), credit, field="credit")
        with self.uow as uow:
            customer = handlers.set_credit_limit(uow, text_arg("ref", ref), data)
        return customer_out.dump(customer)

    # ---- roles ----------------------------------------------------------------------------
    @api
    def role_types(self):
        return queries.role_types(self.uow.session)

    @api
    def define_role_type(self, role_type):
        data = load(RoleTypeSchema(), role_type, field="role_type")
        with self.uow as uow:
            handlers.define_role_type(uow, data)
        return queries.role_types(self.uow.session)

    @api
    def add_role(self, ref, role):
        with self.uow as uow:
            customer = handlers.add_role(uow, text_arg("ref", ref), text_arg("role", role, max_length=30))
        return customer_out.dump(customer)

    @api
    def remove_role(self, ref, role):
        with self.uow as uow:
            customer = handlers.remove_role(uow, text_arg("ref", ref), text_arg("role", role, max_length=30))
        return customer_out.dump(customer)

    # ---- relationships --------------------------------------------------------------------
    @api
    def relationship_types(self):
        return queries.relationship_types(self.uow.session)

    @api
    def define_relationship_type(self, relationship_type):
        data = load(RelationshipTypeSchema(), relationship_type, field="relationship_type")
        with self.uow as uow:
            handlers.define_relationship_type(uow, data)
        return queries.relationship_types(self.uow.session)

    @api
    def add_relationship(self, relationship):
        data = load(RelationshipCreateSchema(), relationship, field="relationship")
        with self.uow as uow:
            rel = handlers.add_relationship(uow, data)
            result = RelationshipOut().dump(rel)
        return result

    @api
    def end_relationship(self, relationship_id, valid_to=None):
        day = _date_arg("valid_to", valid_to)
        with self.uow as uow:
            rel = handlers.end_relationship(uow, text_arg("relationship_id", relationship_id), day)
            result = RelationshipOut().dump(rel)
        return result

    @api
    def remove_relationship(self, relationship_id):
        with self.uow as uow:
            handlers.end_relationship(uow, text_arg("relationship_id", relationship_id), remove=True)
        return {"removed": relationship_id}

    @api
    def relationships(self, ref, include_ended=False):
        return queries.list_relationships(self.uow.session, self.uow.actor, text_arg("ref", ref),
                                          include_ended=bool(include_ended))

    @api
    def group_tree(self, ref):
        return queries.group_tree(self.uow.session, self.uow.actor, text_arg("ref", ref))

    # ---- pool -----------------------------------------------------------------------------
    @api
    def claim(self, ref):
        with self.uow as uow:
            customer = handlers.claim(uow, text_arg("ref", ref), self.pool_policy)
        return customer_out.dump(customer)

    @api
    def release(self, ref, reason=None):
        with self.uow as uow:
            customer = handlers.release(uow, text_arg("ref", ref),
                                        text_arg("reason", reason, max_length=500, required=False))
        return customer_out.dump(customer)

    @api
    def assign(self, ref, owner_id):
        with self.uow as uow:
            customer = handlers.assign(uow, text_arg("ref", ref),
                                       text_arg("owner_id", owner_id, max_length=64, required=False))
        return customer_out.dump(customer)

    @api
    def record_follow_up(self, follow_up):
        data = load(FollowUpSchema(), follow_up, field="follow_up")
        with self.uow as uow:
            customer = handlers.record_follow_up(uow, data["customer"], data["occurred_at"])
            result = {"number": customer.number,
                      "last_follow_up_at": customer_out.dump(customer)["last_follow_up_at"]}
        return result

    @event_handler("sales", "activity.logged")
    def on_activity_logged(self, event):
        data = load(FollowUpSchema(), _follow_up_from_event(event), field="data")
        with self.uow as uow:
            if uow.first_delivery(event["event_id"], "customer.on_activity_logged", event["type"]):
                handlers.record_follow_up(uow, data["customer"], data["occurred_at"],
                                          authorize=False)

    @api
    def return_idle_customers(self):
        with self.uow as uow:
            returned = handlers.return_idle_customers(uow, self.pool_policy)
        return {"returned": returned}

    @timer(interval=env("POOL_SWEEP_INTERVAL", 3600, float))
    def sweep_pool(self):
        """Hourly by default: owned customers nobody followed up go back to the pool."""
        with self.uow as uow:
            handlers.return_idle_customers(uow, self.pool_policy)

    # ---- export and privacy ----------------------------------------------------------------
    @api
    def export_batch(self, after=0, limit=1000, format="jsonl"):
        if format not in ("jsonl", "csv"):
            raise ValidationFailed("unknown export format", {"format": ["must be jsonl or csv"]})
        return queries.export_batch(self.uow.session, self.uow.actor,
                                    int_arg("after", after, minimum=0),
                                    int_arg("limit", limit, minimum=1, maximum=5000), format)

    @api
    def export_schema(self):
        return json.loads(resources.files("customer").joinpath("customer-record.v1.json").read_text())

    @api
    def privacy_export(self, ref):
        return queries.privacy_export(self.uow.session, self.uow.actor, text_arg("ref", ref))

    @api
    def erase(self, ref, reason):
        with self.uow as uow:
            customer = handlers.erase(uow, text_arg("ref", ref),
                                      text_arg("reason", reason, max_length=500))
        return customer_out.dump(customer)


def _date_arg(name, value):
    if value is None:
        return None
    try:
        return datetime.strptime(text_arg(name, value, max_length=10), "%Y-%m-%d").date()
    except ValueError:
        raise ValidationFailed(f"{name} must be a date", {name: ["must be YYYY-MM-DD"]}) from None


def _follow_up_from_event(event):
    """``activity.logged`` from sales: the customer and when the activity happened."""
    data = event.get("data") or {} if isinstance(event, dict) else {}
    return {"customer": data.get("customer_id") or data.get("customer_number") or data.get("customer"),
            "occurred_at": data.get("occurred_at") or (event.get("occurred_at") if isinstance(event, dict) else None)
            or datetime.now(timezone.utc).isoformat(),
            "activity_id": data.get("activity_id"), "user_id": data.get("user_id")}
