"""The real customer and sales services on one broker: master data flows into the sales
replica, orders are placed and credit-checked while the customer service is down, and
the follow-up sales logs meanwhile reaches the customer service when it is back."""
from datetime import datetime

import pytest

from customer.service import CustomerService
from guanxi_common.context import Actor
from guanxi_common.errors import Forbidden, NotFound
from guanxi_common.testing.waiting import wait_until
from sales.service import SalesService

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}))
CREDIT = Actor(user_id="cm-1", roles=frozenset({"credit_manager"}))
REP = Actor(user_id="rep-9", roles=frozenset({"sales_rep"}))
MANAGER = Actor(user_id="mgr-1", roles=frozenset({"sales_manager"}))


@pytest.fixture
def configs(migrated_service_config):
    return {service: migrated_service_config(service) for service in ("customer", "sales")}


def test_orders_keep_flowing_while_the_customer_service_is_down(container_factory, configs,
                                                                 rpc_client):
    customer_service = container_factory(CustomerService, configs["customer"])
    customer_service.start()
    container_factory(SalesService, configs["sales"]).start()
    admin, credit, rep = rpc_client(ADMIN), rpc_client(CREDIT), rpc_client(REP)

    created = rep.customer.create({
        "party_type": "company", "name": "离线下单测试有限公司", "province": "广东",
        "roles": ["sold_to", "ship_to", "bill_to", "payer"]})["customer"]
    number = created["number"]
    credit.customer.set_credit_limit(number, {"credit_limit": "10000.00", "credit_policy": "block"})
    def replicated():  # created, then the credit limit: version 2
        try:
            row = admin.sales.replica_customer(number)
        except NotFound:
            return None
        return row if row["version"] >= 2 else None

    replica = wait_until(replicated)
    assert replica["credit_policy"] == "block" and replica["owner_id"] == "rep-9"
    admin.sales.create_product({"sku": "GX-100", "name": "工业传感器", "list_price": "1000.00",
                                "unit_cost": "600.00", "tax_rate": "0.13"})

    customer_service.stop()  # from here on sales works from its replica alone

    placed = rep.sales.place_order({"sold_to": number,
                                    "lines": [{"product": "GX-100", "quantity": "5"}]})
    assert placed["status"] == "confirmed" and placed["gross"] == "5650.00"
    held = rep.sales.place_order({"sold_to": number,
                                  "lines": [{"product": "GX-100", "quantity": "4"}]})
    assert held["status"] == "credit_hold"  # 5,650 + 4,520 > 10,000
    assert held["credit"]["exposure"] == "10170.00"
    with pytest.raises(Forbidden):
        rpc_client(MANAGER).sales.release_order(held["number"], "good customer")
    released = credit.sales.release_order(held["number"], "payment promised by phone")
    assert released["status"] == "confirmed"
    assert released["transitions"][-1]["actor_id"] == "cm-1"

    done_at = datetime.now().astimezone().isoformat()
    rep.sales.log_activity({"kind": "visit", "customer": number, "subject": "上门拜访",
                            "done_at": done_at, "outcome": "completed"})

    # the customer service comes back and catches up with what sales said meanwhile
    container_factory(CustomerService, configs["customer"]).start()
    followed = wait_until(lambda: admin.customer.get(number)["last_follow_up_at"])
    assert datetime.fromisoformat(followed) == datetime.fromisoformat(done_at)
