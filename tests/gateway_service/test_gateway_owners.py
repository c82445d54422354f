"""Owners named in a body (assign's ``owner_id``, an opportunity's, an activity's, a visit
plan's) are checked by the gateway against its users before the service is called: an
unknown, disabled or unfit user, or a regional user of another region, is a 422 naming the
field and nothing reaches the service."""
import pytest

from gateway import users
from gateway.app import db_session

from gateway_fake_kit import assert_problem
from gateway_records import customer_record

OTHERS = {  # user id: (roles, region, active)
    "u-north-manager": (["sales_manager"], "北京", True),
    "u-local-manager": (["sales_manager"], "广东", True),
    "u-disabled-rep": (["sales_rep"], "广东", False),
    "u-agent": (["service_agent"], "广东", True),
}


@pytest.fixture
def owners_gateway(gateway):
    with gateway.app.app_context(), db_session() as session:
        for user_id, (roles, region, active) in OTHERS.items():
            users.create_user(session, user_id, "a-long-enough-password-1", roles, region=region,
                              active=active, user_id=user_id)
    return gateway


def assign(gateway, owner_id):
    return gateway.call("POST", "manager", "/customers/C00000001/assign",
                        json={"owner_id": owner_id})


@pytest.mark.parametrize("owner_id", ["no-such-user", "u-disabled-rep", "u-agent",
                                      "u-north-manager"])
def test_assign_refuses_owners_who_may_not_hold_the_customer(owners_gateway, fake_pool, owner_id):
    fake_pool.reply("customer", "get", lambda number: customer_record(number, province="广东"))
    body = assert_problem(assign(owners_gateway, owner_id), 422, "validation_failed")
    assert "owner_id" in body["errors"]
    assert not fake_pool.calls_to("customer", "assign")


@pytest.mark.parametrize("owner_id", ["u-rep2", "u-local-manager"])
def test_assign_accepts_an_active_user_who_may_hold_it(owners_gateway, fake_pool, owner_id):
    fake_pool.reply("customer", "get", lambda number: customer_record(number, province="广东"))
    fake_pool.reply("customer", "assign", lambda number, owner: customer_record(
        number, owner_id=owner))
    assert owners_gateway.ok("POST", "manager", "/customers/C00000001/assign",
                             json={"owner_id": owner_id})["owner_id"] == owner_id
    # a null owner returns the customer to the pool: nobody to check
    fake_pool.reply("customer", "assign", lambda number, owner: customer_record(
        number, owner_id=owner, in_pool=True))
    assert owners_gateway.ok("POST", "manager", "/customers/C00000001/assign",
                             json={"owner_id": None})["in_pool"] is True


def test_a_sales_rep_may_hold_a_customer_of_any_region_without_a_lookup(owners_gateway, fake_pool):
    fake_pool.reply("customer", "assign", lambda number, owner: customer_record(
        number, owner_id=owner))
    assert owners_gateway.ok("POST", "manager", "/customers/C00000001/assign",
                             json={"owner_id": "u-rep2"})["owner_id"] == "u-rep2"
    assert not fake_pool.calls_to("customer", "get")


def replica(ref, province="广东"):
    return {"id": "00000000-0000-4000-8000-000000000001", "number": ref, "name": "x",
            "province": province, "owner_id": "u-rep", "status": "active", "roles": []}


@pytest.mark.parametrize("path,body", [
    ("/opportunities", {"customer": "C00000001", "title": "t", "amount": "10.00"}),
    ("/activities", {"kind": "call", "customer": "C00000001", "subject": "s",
                     "due_at": "2026-03-01T09:30:00+08:00"}),
    ("/visit-plans", {"date": "2026-03-01", "visits": [{"customer": "C00000001"}]}),
])
def test_sales_work_is_given_only_to_users_who_may_hold_it(owners_gateway, fake_pool, path, body):
    fake_pool.reply("sales", "replica_customer", replica)
    for owner_id in ("no-such-user", "u-disabled-rep", "u-north-manager"):
        problem = assert_problem(owners_gateway.call("POST", "manager", path,
                                                     json={**body, "owner_id": owner_id}), 422)
        assert "owner_id" in problem["errors"], problem
    assert [c.method for c in fake_pool.calls if c.service == "sales"] in (
        [], ["replica_customer"])  # only the north manager needed the customer's region
