"""What the customer and sales services decide, seen through the gateway under REAL gunicorn
(gateway_e2e_kit) in front of the REAL services (Nameko containers on the test's vhost).
The gateway's own checks are asserted against a fake pool in test_gateway_customers.py and
test_gateway_sales.py; here the answers come from the services:

- customers: phone normalisation and hard/likely duplicates, the caller's scope, versions,
  search (a two-character Chinese fragment, phone in another written form, tags, paging),
  roles, relationships and the group tree, merge, history, the pool, credit limits,
  privacy export and erasure, the streamed export, and Customer 360 from both services
  (how it degrades when sales is down is the fake pool's and test_rpc_pool.py's to show);
- sales: a credit hold and its release, ship, invoice, idempotent orders and payments,
  overpayment, reports in Decimal strings, quote to order.
"""
import csv
import io
import json
import re

import pytest

from customer.service import CustomerService
from guanxi_common.context import Actor
from guanxi_common.engine import make_engine
from guanxi_common.errors import NotFound
from guanxi_common.testing.waiting import wait_until
from guanxi_common.unit_of_work import UnitOfWork, make_session_factory
from sales.service import SalesService

from gateway_e2e_kit import GunicornGateway, assert_problem, company
from sales_testkit import add_customer

SYSTEM_ADMIN = Actor(user_id="e2e-admin", roles=frozenset({"admin"}))
REP, REP2, AUDITOR = "demo_sales_rep", "e2e_rep2", "demo_auditor"
MANAGER, CREDIT, ADMIN = "demo_sales_manager", "demo_credit_manager", "admin"
MONEY = re.compile(r"^-?\d+\.\d{2}$")
RATE = re.compile(r"^-?\d+\.\d{4}$")


@pytest.fixture
def gateway(amqp_uri, tmp_path):
    gateway = GunicornGateway(tmp_path / "gw", amqp_uri)
    try:
        yield gateway.start()
    finally:
        gateway.stop()


@pytest.fixture
def seeded_sales(container_factory, migrated_service_config):
    """The real sales service with customers in its replica; ``{key: customer number}``."""
    config = migrated_service_config("sales")
    engine = make_engine(config["DB_URIS"]["sales"])
    uow = UnitOfWork(make_session_factory(engine), "sales")
    with uow:
        made = {
            "tight": add_customer(uow.session, credit_limit="100.00", credit_policy="block"),
            "trusted": add_customer(uow.session, credit_limit="100000.00",
                                    credit_policy="block"),
        }
        # numbers the customer service running beside it will not hand out
        for offset, customer in enumerate(made.values(), start=1):
            customer.number = f"C0900{offset:04d}"
        numbers = {key: customer.number for key, customer in made.items()}
    uow.close()
    engine.dispose()
    container_factory(SalesService, config).start()
    return numbers


def test_the_services_answer_through_the_gateway(seeded_sales, container_factory,
                                                 migrated_service_config, gateway, rpc_client):
    """One gunicorn and one pair of services for both parts: starting them is most of the
    cost of an end-to-end test."""
    container_factory(CustomerService, migrated_service_config("customer")).start()
    http = gateway.client()
    sales_service_answers(http, seeded_sales)  # first: its reports count every order
    customer_service_answers(http, gateway.user_ids, rpc_client(SYSTEM_ADMIN))


def customer_service_answers(http, ids, admin):

    # --- create, duplicates, versions, search --------------------------------------------
    first = http.ok("POST", REP, "/customers", 201, json=company(
        "深圳华为技术有限公司", phones=[{"value": "0755-2878 0808"}], tier="A"))
    number = first["customer"]["number"]
    assert first["warnings"] == [] and first["customer"]["owner_id"] == ids[REP]
    assert first["customer"]["phones"][0]["value"] == "+8675528780808"
    second = http.call("POST", REP, "/customers", json=company("深圳华为技术股份有限公司"))
    assert second.status_code == 201
    assert second.headers["Location"].endswith(second.json()["customer"]["number"])
    warnings = second.json()["warnings"]
    assert [w["number"] for w in warnings] == [number]
    assert warnings[0]["reasons"] == ["same_normalized_company_name"]
    # the same phone in another written form is a hard duplicate
    refused = assert_problem(http.call("POST", REP, "/customers", json=company(
        "另一家公司", phones=[{"value": "+86 755 2878 0808"}])), 409, "conflict")
    assert refused["existing_number"] == number
    assert refused["conflicts"][0]["field"] == "phones"
    checked = http.ok("POST", REP, "/customers/duplicate-check",
                      json=company("深圳华为技术", phones=[{"value": "075528780808"}]))
    assert checked["conflicts"][0]["existing_number"] == number
    # the service's own checks, named after the body's fields
    bad_phone = assert_problem(http.call("POST", REP, "/customers", json=company(
        "号码不对公司", phones=[{"value": "12345"}])), 422, "validation_failed")
    assert list(bad_phone["errors"]) == ["phones.0.value"]
    assert "gender" in assert_problem(http.call("POST", REP, "/customers", json=company(
        "性别公司", gender="male")), 422)["errors"]

    got = http.call("GET", REP, f"/customers/{number.lower()}")
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    assert got.json()["name"] == "深圳华为技术有限公司"
    assert_problem(http.call("GET", REP, "/customers/C09999999"), 404, "not_found")
    # out of scope answers exactly like a missing number (docs/api.md "Scope and existence")
    assert_problem(http.call("GET", REP2, f"/customers/{number}"), 404, "not_found")
    patched = http.call("PATCH", REP, f"/customers/{number}", json={"city": "深圳", "tags": ["vip"]},
                        headers={"If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    assert patched.json()["city"] == "深圳" and patched.headers["ETag"] == '"2"'
    stale = assert_problem(http.call("PATCH", REP, f"/customers/{number}", json={"city": "广州"},
                                     headers={"If-Match": '"1"'}), 409)
    assert stale["version"] == 2 and stale["expected_version"] == 1
    assert http.ok("PATCH", REP, f"/customers/{number}",
                   json={"expected_version": 2, "tier": "B"})["version"] == 3

    found = http.ok("GET", REP, "/customers", params={"q": "华为"})
    assert found["total"] == 2 and found["total_exact"] is True and found["page_size"] == 20
    first_page = http.ok("GET", REP, "/customers", params={"q": "华为", "page_size": 1})
    second_page = http.ok("GET", REP, "/customers", params={"q": "华为", "page_size": 1, "page": 2})
    assert len(first_page["items"]) == len(second_page["items"]) == 1
    assert {first_page["items"][0]["number"], second_page["items"][0]["number"]} == {
        number, second.json()["customer"]["number"]}
    assert second_page["page"] == 2 and second_page["total"] == 2
    assert http.ok("GET", REP, "/customers", params={"phone": "+86-755-28780808"})[
        "items"][0]["number"] == number
    assert http.ok("GET", REP, "/customers", params={"tag": "vip", "tier": "B"})["total"] == 1
    assert http.ok("GET", REP2, "/customers", params={"q": "华为"})["total"] == 0  # scope

    # --- roles, relationships, merge, history --------------------------------------------
    holding = http.ok("POST", ADMIN, "/customers", 201,
                      json=company("华南控股集团"))["customer"]["number"]
    branch = http.ok("POST", ADMIN, "/customers", 201,
                     json=company("华南控股深圳分公司"))["customer"]["number"]
    assert "sold_to" in {t["code"] for t in http.ok("GET", REP, "/role-types")}
    assert "holding_of" in {t["code"] for t in http.ok("GET", REP, "/relationship-types")}
    assert http.ok("POST", ADMIN, f"/customers/{holding}/roles",
                   json={"role": "sold_to"})["roles"] == ["sold_to"]
    assert http.ok("POST", ADMIN, f"/customers/{holding}/roles",
                   json={"role": "payer"})["roles"] == ["payer", "sold_to"]
    assert http.ok("GET", ADMIN, f"/customers/{holding}/roles") == {
        "number": holding, "roles": ["payer", "sold_to"]}
    assert http.ok("DELETE", ADMIN, f"/customers/{holding}/roles/payer")["roles"] == ["sold_to"]
    assert "roles.0" in assert_problem(http.call("POST", ADMIN, f"/customers/{holding}/roles",
                                                 json={"role": "wizard"}), 422)["errors"]

    link = http.ok("POST", ADMIN, f"/customers/{holding}/relationships", 201,
                   json={"type": "holding_of", "to_customer": branch, "valid_from": "2020-01-01"})
    assert link["from_customer"] == holding and link["to_customer"] == branch
    assert link["valid_from"] == "2020-01-01"
    assert_problem(http.call("POST", ADMIN, f"/customers/{holding}/relationships",
                             json={"type": "holding_of", "to_customer": branch}), 409)
    listed = http.ok("GET", ADMIN, f"/customers/{branch}/relationships")
    assert [(r["id"], r["direction"]) for r in listed] == [(link["id"], "incoming")]
    tree = http.ok("GET", ADMIN, f"/customers/{holding}/group-tree")
    assert tree["size"] == 2 and tree["root"]["children"][0]["number"] == branch
    ended = http.ok("POST", ADMIN, f"/relationships/{link['id']}/end",
                    json={"valid_to": "2024-12-31"})
    assert ended["valid_to"] == "2024-12-31"
    assert http.ok("GET", ADMIN, f"/customers/{branch}/relationships") == []
    assert len(http.ok("GET", ADMIN, f"/customers/{branch}/relationships",
                       params={"include_ended": "true"})) == 1
    removed = http.call("DELETE", ADMIN, f"/relationships/{link['id']}")
    assert removed.status_code == 204 and removed.content == b""
    assert_problem(http.call("DELETE", ADMIN, f"/relationships/{link['id']}"), 404)

    duplicate = http.ok("POST", ADMIN, "/customers", 201, json=company("华南控股集团有限公司"))
    victim = duplicate["customer"]["number"]
    assert duplicate["warnings"][0]["number"] == holding
    merged = http.ok("POST", ADMIN, f"/customers/{holding}/merge",
                     json={"victim": victim, "reason": "duplicate"})
    assert merged["victim"]["status"] == "merged" and merged["victim"]["merged_into"] == holding
    assert_problem(http.call("POST", ADMIN, f"/customers/{holding}/merge",
                             json={"victim": holding}), 422, "business_rule_violation")
    history = http.ok("GET", AUDITOR, f"/customers/{holding}/history", params={"page_size": 3})
    assert len(history["items"]) == 3 and history["total"] > 3 and history["page_size"] == 3
    assert history["items"][0]["action"] == "relationship_removed"
    assert http.ok("GET", AUDITOR, f"/customers/{victim}/history")["items"][0][
        "action"] == "merged_away"

    # --- the pool, credit, privacy ---------------------------------------------------------
    pooled = http.ok("POST", ADMIN, "/customers", 201, json=company("公海客户有限公司"))["customer"]
    assert pooled["in_pool"] is True
    claimed = http.ok("POST", REP, f"/customers/{pooled['number']}/claim")
    assert claimed["owner_id"] == ids[REP] and claimed["in_pool"] is False
    assert_problem(http.call("POST", REP2, f"/customers/{pooled['number']}/claim"), 404)
    assert http.ok("POST", REP, f"/customers/{pooled['number']}/release",
                   json={"reason": "released"})["in_pool"] is True
    assert http.ok("POST", MANAGER, f"/customers/{pooled['number']}/assign",
                   json={"owner_id": ids[REP2]})["owner_id"] == ids[REP2]
    assert_problem(http.call("GET", REP, f"/customers/{pooled['number']}/history"), 404)
    assert http.ok("GET", AUDITOR, f"/customers/{pooled['number']}/history")["items"][0][
        "action"] == "assigned"

    credited = http.ok("PUT", CREDIT, f"/customers/{holding}/credit-limit", json={
        "credit_limit": "500000", "credit_policy": "block", "reason": "annual review"})
    assert credited["credit_limit"] == "500000.00" and credited["credit_policy"] == "block"

    person = http.ok("POST", ADMIN, "/customers", 201, json={
        "party_type": "person", "name": "张伟", "birth_date": "1985-03-02",
        "phones": [{"value": "138 1234 5678"}]})["customer"]["number"]
    exported = http.ok("GET", ADMIN, f"/customers/{person}/privacy-export")
    assert exported["customer"]["birth_date"] == "1985-03-02" and exported["history"]
    erased = http.ok("POST", ADMIN, f"/customers/{person}/erase",
                     json={"reason": "PIPL request #42"})
    assert erased["erased"] is True and erased["phones"] == [] and erased["status"] == "erased"

    # --- the streamed export: merged and erased customers are left out -------------------
    exportable = {number, second.json()["customer"]["number"], holding, branch,
                  pooled["number"]}
    response = http.call("GET", AUDITOR, "/customers/export", stream=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert {r["number"] for r in records} == exportable
    assert all(r["_format"] == 1 for r in records)
    response = http.call("GET", AUDITOR, "/customers/export", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["number"] for row in rows} == exportable
    assert {row["name"] for row in rows} >= {"深圳华为技术有限公司"}

    # --- Customer 360 with the real sales service, then without it -----------------------
    created = http.ok("POST", ADMIN, "/customers", 201, json=company(
        "三百六十度测试有限公司", status="active", owner_id=ids[REP],
        roles=["sold_to", "ship_to", "bill_to", "payer"],
        phones=[{"value": "139 0000 1111"}]))["customer"]
    number = created["number"]
    partner = http.ok("POST", ADMIN, "/customers", 201, json=company("三百六十度关联公司"))
    http.ok("POST", ADMIN, f"/customers/{number}/relationships", 201,
            json={"type": "holding_of", "to_customer": partner["customer"]["number"]})
    def replicated():
        try:
            return admin.sales.replica_customer(number)
        except NotFound:
            return None

    wait_until(replicated, what=f"{number} in the sales replica")
    admin.sales.create_product({"sku": "GX-360", "name": "测试产品", "list_price": "100.00",
                                "unit_cost": "60.00", "tax_rate": "0.13"})
    shipped = admin.sales.place_order({"sold_to": number,
                                       "lines": [{"product": "GX-360", "quantity": "2"}]})
    admin.sales.ship_order(shipped["number"])
    invoice = admin.sales.issue_invoice(shipped["number"], 30)
    confirmed = admin.sales.place_order({"sold_to": number,
                                         "lines": [{"product": "GX-360", "quantity": "1"}]})
    admin.sales.log_activity({"kind": "call", "customer": number, "subject": "电话回访",
                              "owner_id": ids[REP], "due_at": "2030-01-01T10:00:00+08:00"})

    view = http.ok("GET", REP, f"/customers/{number}/360")
    assert view["complete"] is True and view["number"] == number
    assert view["profile"]["customer"]["name"] == "三百六十度测试有限公司"
    assert view["roles"] == {"available": True, "items": ["bill_to", "payer", "ship_to", "sold_to"]}
    assert view["owner"]["owner_id"] == ids[REP] and view["owner"]["in_pool"] is False
    assert [r["to_customer"] for r in view["relationships"]["items"]] == [
        partner["customer"]["number"]]
    orders = view["open_orders"]
    assert orders["available"] and orders["total"] == 2
    assert {o["number"] for o in orders["items"]} == {shipped["number"], confirmed["number"]}
    receivables = view["receivables"]
    assert [i["number"] for i in receivables["items"]] == [invoice["number"]]
    assert receivables["outstanding"] == {"CNY": invoice["outstanding"]}
    assert view["recent_activities"]["total"] == 1
    assert view["recent_activities"]["items"][0]["subject"] == "电话回访"
    by_phone = http.ok("GET", REP, "/lookup", params={"phone": "+86 139-0000-1111"})
    assert by_phone["number"] == number and by_phone["open_orders"]["total"] == 2
    assert_problem(http.call("GET", REP, "/lookup", params={"phone": "13800000000"}), 404)
    assert_problem(http.call("GET", REP2, f"/customers/{number}/360"), 404)


def sales_service_answers(http, seeded_sales):
    product = http.ok("POST", MANAGER, "/products", 201, json={
        "sku": "tea-1", "name": "铁观音 500g", "unit": "box", "list_price": "100.00",
        "unit_cost": "55.00", "tax_rate": "0.13"})
    assert product["sku"] == "TEA-1" and product["list_price"] == "100.00"
    assert product["tax_rate"] == "0.1300"  # normalised even right after the create
    assert_problem(http.call("POST", MANAGER, "/products", json={
        "sku": "TEA-1", "name": "again", "list_price": "1.00"}), 409, "conflict")
    assert http.ok("GET", MANAGER, "/products/tea-1")["id"] == product["id"]
    changed = http.ok("PATCH", MANAGER, "/products/TEA-1", json={"name": "铁观音 1kg"})
    assert changed["name"] == "铁观音 1kg" and changed["list_price"] == "100.00"
    assert_problem(http.call("GET", MANAGER, "/products/NOPE-9"), 404, "not_found")
    listed = http.ok("GET", MANAGER, "/products?page_size=5")
    assert listed["total"] == 1 and listed["page_size"] == 5 and listed["total_exact"] is True

    # over the limit under policy block: the order starts on credit hold
    body = {"sold_to": seeded_sales["tight"], "lines": [{"product": "TEA-1", "quantity": "1"}]}
    first = http.call("POST", MANAGER, "/orders", json=body, headers={"Idempotency-Key": "ord-1"})
    assert first.status_code == 201, first.text
    held = first.json()
    assert held["status"] == "credit_hold" and held["gross"] == "113.00"
    assert held["credit"]["outcome"] == "hold" and held["credit"]["limit"] == "100.00"
    assert first.headers["Location"] == f"/api/v1/orders/{held['number']}"
    retry = http.ok("POST", MANAGER, "/orders", 201, json=body, headers={"Idempotency-Key": "ord-1"})
    assert retry["number"] == held["number"] and retry["id"] == held["id"]
    other = dict(body, lines=[{"product": "TEA-1", "quantity": "2"}])
    assert assert_problem(http.call("POST", MANAGER, "/orders", json=other,
                                    headers={"Idempotency-Key": "ord-1"}),
                          409, "conflict")["idempotency_key"] == "ord-1"
    listed = http.ok("GET", MANAGER, f"/orders?status=credit_hold&customer={seeded_sales['tight']}")
    assert [o["number"] for o in listed["items"]] == [held["number"]]

    number = held["number"]
    assert_problem(http.call("POST", MANAGER, f"/orders/{number}/release",
                             json={"reason": "vip"}), 403, "forbidden")
    assert http.ok("GET", MANAGER, f"/orders/{number}")["status"] == "credit_hold"
    released = http.ok("POST", CREDIT, f"/orders/{number}/release",
                       json={"reason": "prepayment seen"})
    assert released["status"] == "confirmed"
    assert released["credit"]["release_reason"] == "prepayment seen"
    assert released["transitions"][-1]["reason"] == "prepayment seen"
    assert_problem(http.call("POST", CREDIT, f"/orders/{number}/release",
                             json={"reason": "again"}), 422, "business_rule_violation")

    assert http.ok("POST", MANAGER, f"/orders/{number}/ship")["status"] == "shipped"
    invoice = http.ok("POST", MANAGER, f"/orders/{number}/invoice", 201, json={"terms_days": 30})
    assert invoice["amount"] == "113.00" and invoice["outstanding"] == "113.00"
    assert invoice["order"] == number and invoice["status"] == "open"
    assert assert_problem(http.call("POST", MANAGER, f"/orders/{number}/invoice", json={}),
                          409, "conflict")["existing_number"] == invoice["number"]

    # a payment sent twice with one key: one payment, the same answer, 201 both times
    pay = {"invoice": invoice["number"], "amount": "50.00", "method": "bank_transfer",
           "received_at": "2026-02-10T10:00:00+08:00"}
    paid_once = http.ok("POST", MANAGER, "/payments", 201, json=pay,
                        headers={"Idempotency-Key": "pay-1"})
    paid_twice = http.ok("POST", MANAGER, "/payments", 201, json=pay,
                         headers={"Idempotency-Key": "pay-1"})
    assert paid_once == paid_twice
    assert paid_once["received_at"].startswith("2026-02-10T02:00:00")
    detail = http.ok("GET", MANAGER, f"/invoices/{invoice['number']}")
    assert len(detail["payments"]) == 1 and detail["outstanding"] == "63.00"
    assert detail["status"] == "partially_paid"
    over = assert_problem(http.call("POST", MANAGER, "/payments", json=dict(pay, amount="100.00"),
                                    headers={"Idempotency-Key": "pay-2"}),
                          422, "business_rule_violation")
    assert over["rule"] == "overpayment" and over["outstanding"] == "63.00"
    assert len(http.ok("GET", MANAGER, f"/invoices/{invoice['number']}")["payments"]) == 1
    invoices = http.ok("GET", MANAGER, "/invoices?status=partially_paid&overdue=false")
    assert [i["number"] for i in invoices["items"]] == [invoice["number"]]

    # reports answer with Decimal strings, the scope echoed
    ageing = http.ok("GET", ADMIN, "/reports/receivables-ageing")
    assert ageing["total"] == "63.00" and ageing["invoices"] == 1
    assert [b["bucket"] for b in ageing["buckets"]] == ["0-30", "31-60", "61-90", "90+"]
    assert all(MONEY.match(b["amount"]) for b in ageing["buckets"])
    arrears = http.ok("GET", ADMIN, "/reports/arrears")
    assert arrears["total"] == "0.00" and arrears["owners"] == []  # not due yet
    today = ageing["as_of"]
    sales = http.ok("GET", MANAGER, f"/reports/sales?start={today}&end={today}&by=product")
    assert sales["total"] == "100.00" and sales["orders"] == 1 and sales["region"] == "广东"
    assert MONEY.match(sales["series"][0]["value"]) and sales["groups"][0]["total"] == "100.00"
    profit = http.ok("GET", ADMIN, f"/reports/profit?start={today}&end={today}&period=year")
    assert profit["totals"]["revenue"] == "100.00" and profit["totals"]["cost"] == "55.00"
    assert profit["totals"]["margin_rate"] == "0.4500"
    funnel = http.ok("GET", ADMIN, "/reports/funnel")
    assert [s["code"] for s in funnel["stages"]][0] == "lead"
    assert RATE.match(funnel["stages"][0]["probability"]) and funnel["win_rate"] is None
    forecast = http.ok("GET", ADMIN, "/reports/forecast?months=2&by=month&by=owner")
    assert len(forecast["by_month"]) == 2 and "by_region" not in forecast
    assert forecast["total"] == "0.00"

    # --- quote to order --------------------------------------------------------------------
    http.ok("POST", MANAGER, "/products", 201, json={
        "sku": "svc-1", "name": "服务", "unit": "box", "list_price": "100.00",
        "unit_cost": "55.00", "tax_rate": "0.13"})
    opportunity = http.ok("POST", MANAGER, "/opportunities", 201, json={
        "customer": seeded_sales["trusted"], "title": "年度采购", "amount": "5000.00",
        "expected_close": "2099-12-20"})
    assert opportunity["stage"] == "lead" and opportunity["amount"] == "5000.00"
    moved = http.ok("POST", MANAGER, f"/opportunities/{opportunity['number']}/stage",
                    json={"stage": "proposal"})
    assert [h["stage"] for h in moved["stage_history"]] == ["lead", "proposal"]
    assert http.ok("GET", MANAGER, "/pipeline")[0]["probability"] == "0.1000"
    quote = http.ok("POST", MANAGER, "/quotes", 201, json={
        "customer": seeded_sales["trusted"], "opportunity": opportunity["number"],
        "lines": [{"product": "SVC-1", "quantity": "10", "discount": "0.1"}]})
    assert quote["status"] == "draft" and quote["net"] == "900.00"
    assert quote["lines"][0]["quantity"] == "10.000"
    assert_problem(http.call("POST", MANAGER, f"/quotes/{quote['number']}/accept"), 422,
                   "business_rule_violation")
    assert http.ok("POST", MANAGER, f"/quotes/{quote['number']}/send")["status"] == "sent"
    accepted = http.ok("POST", MANAGER, f"/quotes/{quote['number']}/accept", json={})
    assert accepted["quote"]["status"] == "accepted"
    order_ref = accepted["order"]
    assert order_ref["status"] == "confirmed" and accepted["quote"]["order_id"] == order_ref["id"]
    order = http.ok("GET", MANAGER, f"/orders/{order_ref['number']}")
    assert order["quote_id"] == quote["id"] and order["gross"] == "1017.00"
    assert order["sold_to"]["number"] == seeded_sales["trusted"]
    assert http.ok("GET", MANAGER, f"/quotes/{quote['number']}")["status"] == "accepted"
    assert http.ok("POST", MANAGER, f"/opportunities/{opportunity['number']}/win")[
        "status"] == "won"
    funnel = http.ok("GET", MANAGER, "/reports/funnel")
    assert funnel["won"] == 1 and funnel["win_rate"] == "1.0000"

    activity = http.ok("POST", MANAGER, "/activities", 201, json={
        "kind": "call", "customer": seeded_sales["trusted"], "subject": "回访",
        "due_at": "2099-01-01T10:00:00+08:00"})
    done = http.ok("POST", MANAGER, f"/activities/{activity['id']}/complete",
                   json={"outcome": "completed"})
    assert done["outcome"] == "completed" and done["done_at"]
    listed = http.ok("GET", MANAGER, f"/activities?customer={seeded_sales['trusted']}&open=false")
    assert [a["id"] for a in listed["items"]] == [activity["id"]]
    agenda = http.ok("GET", MANAGER, "/activities/today")
    assert agenda["today"] == [] and re.match(r"^\d{4}-\d{2}-\d{2}$", agenda["date"])
    assert_problem(http.call("GET", MANAGER, "/orders/SO-2099-999999"), 404, "not_found")
