"""The sales endpoints through Flask's test client against the REAL sales service (a Nameko
container on the test vhost, its replica filled directly as the customer events would):
products, orders with a credit hold and its release, ship, invoice, idempotent payments,
overpayment, quote to order, reports, validation and the OpenAPI document."""
import re
import sys
from pathlib import Path

import pytest

from guanxi_common.config import PROJECT_ROOT
from guanxi_common.db import UnitOfWork, make_engine, make_session_factory, session_scope
from guanxi_common.migrations import upgrade

from gateway import users
from gateway.app import create_app
from sales.service import SalesService

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sales_service"))
from sales_testkit import add_customer  # noqa: E402

SECRET = "s" * 48
ADMIN_PASSWORD = "admin-password-1"
PROBLEM = "application/problem+json"
MONEY = re.compile(r"^-?\d+\.\d{2}$")
RATE = re.compile(r"^-?\d+\.\d{4}$")


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
        numbers = {key: customer.number for key, customer in made.items()}
    uow.close()
    engine.dispose()
    container = container_factory(SalesService, config)
    container.start()
    return numbers


@pytest.fixture
def client(tmp_path, amqp_uri):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade("gateway", PROJECT_ROOT / "services" / "gateway" / "alembic.ini", url)
    with session_scope(url, service_name="gateway") as uow:
        users.ensure_admin(uow.session, "admin", ADMIN_PASSWORD, out=None)
        users.seed_demo_users(uow.session)
    app = create_app({"GATEWAY_DATABASE_URL": url, "GATEWAY_JWT_SECRET": SECRET,
                      "LOG_JSON": False, "GATEWAY_ACCESS_LOG": False,
                      "GATEWAY_RATE_LIMIT": "off", "AMQP_URI": amqp_uri, "RPC_TIMEOUT": 10.0})
    yield app.test_client()
    app.extensions["guanxi_rpc"].close()


class Caller:
    """A logged-in user of the test client: ``caller.post(path, json=...)``."""

    def __init__(self, client, username, password):
        self.client = client
        answer = client.post("/api/v1/auth/token",
                             json={"username": username, "password": password})
        assert answer.status_code == 200, answer.get_json()
        self.headers = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}

    def _call(self, method, path, headers=None, **kwargs):
        return getattr(self.client, method)("/api/v1" + path,
                                            headers={**self.headers, **(headers or {})},
                                            **kwargs)

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("post", path, **kwargs)

    def put(self, path, **kwargs):
        return self._call("put", path, **kwargs)

    def patch(self, path, **kwargs):
        return self._call("patch", path, **kwargs)


def demo(client, role):
    return Caller(client, f"demo_{role}", users.DEMO_PASSWORD.format(role=role))


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def problem(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    return body


def make_product(manager, sku="tea-1"):
    return ok(manager.post("/products", json={
        "sku": sku, "name": "铁观音 500g", "unit": "box", "list_price": "100.00",
        "unit_cost": "55.00", "tax_rate": "0.13"}), 201)


def test_order_credit_hold_release_ship_invoice_and_idempotent_payment(client, seeded_sales):
    manager, credit = demo(client, "sales_manager"), demo(client, "credit_manager")

    product = make_product(manager)
    assert product["sku"] == "TEA-1" and product["list_price"] == "100.00"
    assert product["tax_rate"] == "0.1300"  # normalised even right after the create
    problem(demo(client, "sales_rep").post("/products", json={
        "sku": "x", "name": "x", "list_price": "1.00"}), 403, "forbidden")
    problem(manager.post("/products", json={"sku": "TEA-1", "name": "again",
                                            "list_price": "1.00"}), 409, "conflict")
    assert ok(manager.get("/products/tea-1"))["id"] == product["id"]
    changed = ok(manager.patch("/products/TEA-1", json={"name": "铁观音 1kg"}))
    assert changed["name"] == "铁观音 1kg" and changed["list_price"] == "100.00"
    problem(manager.get("/products/NOPE-9"), 404, "not_found")
    page = ok(manager.get("/products?page_size=5"))
    assert page["total"] == 1 and page["page_size"] == 5 and page["total_exact"] is True

    # over the limit under policy block: the order starts on credit hold
    order_body = {"sold_to": seeded_sales["tight"],
                  "lines": [{"product": "TEA-1", "quantity": "1"}]}
    first = manager.post("/orders", json=order_body, headers={"Idempotency-Key": "ord-1"})
    held = ok(first, 201)
    assert held["status"] == "credit_hold" and held["gross"] == "113.00"
    assert held["credit"]["outcome"] == "hold" and held["credit"]["limit"] == "100.00"
    assert first.headers["Location"] == f"/api/v1/orders/{held['number']}"
    retry = ok(manager.post("/orders", json=order_body, headers={"Idempotency-Key": "ord-1"}),
               201)
    assert retry["number"] == held["number"] and retry["id"] == held["id"]
    other_body = dict(order_body, lines=[{"product": "TEA-1", "quantity": "2"}])
    assert problem(manager.post("/orders", json=other_body,
                                headers={"Idempotency-Key": "ord-1"}),
                   409, "conflict")["idempotency_key"] == "ord-1"
    listed = ok(manager.get(f"/orders?status=credit_hold&customer={seeded_sales['tight']}"))
    assert [o["number"] for o in listed["items"]] == [held["number"]]

    # only a credit manager releases: 403 for a sales manager, nothing changes
    number = held["number"]
    denied = problem(manager.post(f"/orders/{number}/release", json={"reason": "vip"}),
                     403, "forbidden")
    assert "credit_manager" in denied["roles"]
    assert ok(manager.get(f"/orders/{number}"))["status"] == "credit_hold"
    problem(credit.post(f"/orders/{number}/release", json={}), 422, "validation_failed")
    released = ok(credit.post(f"/orders/{number}/release", json={"reason": "prepayment seen"}))
    assert released["status"] == "confirmed"
    assert released["credit"]["release_reason"] == "prepayment seen"
    assert released["transitions"][-1]["reason"] == "prepayment seen"
    problem(credit.post(f"/orders/{number}/release", json={"reason": "again"}), 422,
            "business_rule_violation")

    shipped = ok(manager.post(f"/orders/{number}/ship"))
    assert shipped["status"] == "shipped"
    invoice = ok(manager.post(f"/orders/{number}/invoice", json={"terms_days": 30}), 201)
    assert invoice["amount"] == "113.00" and invoice["outstanding"] == "113.00"
    assert invoice["order"] == number and invoice["status"] == "open"
    assert problem(manager.post(f"/orders/{number}/invoice", json={}), 409,
                   "conflict")["existing_number"] == invoice["number"]

    # a payment sent twice with one key: one payment, the same answer, 201 both times
    pay = {"invoice": invoice["number"], "amount": "50.00", "method": "bank_transfer",
           "received_at": "2026-02-10T10:00:00+08:00"}
    paid_once = manager.post("/payments", json=pay, headers={"Idempotency-Key": "pay-1"})
    paid_twice = manager.post("/payments", json=pay, headers={"Idempotency-Key": "pay-1"})
    assert ok(paid_once, 201) == ok(paid_twice, 201)
    assert paid_once.get_json()["received_at"].startswith("2026-02-10T02:00:00")
    detail = ok(manager.get(f"/invoices/{invoice['number']}"))
    assert len(detail["payments"]) == 1 and detail["outstanding"] == "63.00"
    assert detail["status"] == "partially_paid"

    # more than is outstanding: 422 with the rule and the figures
    over = problem(manager.post("/payments", json=dict(pay, amount="100.00"),
                                headers={"Idempotency-Key": "pay-2"}),
                   422, "business_rule_violation")
    assert over["rule"] == "overpayment" and over["outstanding"] == "63.00"
    assert len(ok(manager.get(f"/invoices/{invoice['number']}"))["payments"]) == 1

    invoices = ok(manager.get("/invoices?status=partially_paid&overdue=false"))
    assert [i["number"] for i in invoices["items"]] == [invoice["number"]]

    # reports answer with Decimal strings, the scope echoed
    admin = Caller(client, "admin", ADMIN_PASSWORD)
    ageing = ok(admin.get("/reports/receivables-ageing"))
    assert ageing["total"] == "63.00" and ageing["invoices"] == 1
    assert [b["bucket"] for b in ageing["buckets"]] == ["0-30", "31-60", "61-90", "90+"]
    assert all(MONEY.match(b["amount"]) for b in ageing["buckets"])
    arrears = ok(admin.get("/reports/arrears"))
    assert arrears["total"] == "0.00" and arrears["owners"] == []  # not due yet
    today = ageing["as_of"]
    sales = ok(manager.get(f"/reports/sales?start={today}&end={today}&by=product"))
    assert sales["total"] == "100.00" and sales["orders"] == 1 and sales["region"] == "广东"
    assert MONEY.match(sales["series"][0]["value"]) and sales["groups"][0]["total"] == "100.00"
    profit = ok(admin.get(f"/reports/profit?start={today}&end={today}&period=year"))
    assert profit["totals"]["revenue"] == "100.00" and profit["totals"]["cost"] == "55.00"
    assert profit["totals"]["margin_rate"] == "0.4500"
    funnel = ok(admin.get("/reports/funnel"))
    assert [s["code"] for s in funnel["stages"]][0] == "lead"
    assert RATE.match(funnel["stages"][0]["probability"]) and funnel["win_rate"] is None
    forecast = ok(admin.get("/reports/forecast?months=2&by=month&by=owner"))
    assert len(forecast["by_month"]) == 2 and "by_region" not in forecast
    assert forecast["total"] == "0.00"


def test_quote_to_order_via_accept(client, seeded_sales):
    manager = demo(client, "sales_manager")
    make_product(manager, "svc-1")
    opportunity = ok(manager.post("/opportunities", json={
        "customer": seeded_sales["trusted"], "title": "年度采购", "amount": "5000.00",
        "expected_close": "2099-12-20"}), 201)
    assert opportunity["stage"] == "lead" and opportunity["amount"] == "5000.00"
    moved = ok(manager.post(f"/opportunities/{opportunity['number']}/stage",
                            json={"stage": "proposal"}))
    assert [h["stage"] for h in moved["stage_history"]] == ["lead", "proposal"]
    assert ok(manager.get("/pipeline"))[0]["probability"] == "0.1000"

    quote = ok(manager.post("/quotes", json={
        "customer": seeded_sales["trusted"], "opportunity": opportunity["number"],
        "lines": [{"product": "SVC-1", "quantity": "10", "discount": "0.1"}]}), 201)
    assert quote["status"] == "draft" and quote["net"] == "900.00"
    assert quote["lines"][0]["quantity"] == "10.000"
    problem(manager.post(f"/quotes/{quote['number']}/accept"), 422, "business_rule_violation")
    assert ok(manager.post(f"/quotes/{quote['number']}/send"))["status"] == "sent"
    accepted = ok(manager.post(f"/quotes/{quote['number']}/accept", json={}))
    assert accepted["quote"]["status"] == "accepted"
    order_ref = accepted["order"]
    assert order_ref["status"] == "confirmed" and accepted["quote"]["order_id"] == order_ref["id"]
    order = ok(manager.get(f"/orders/{order_ref['number']}"))
    assert order["quote_id"] == quote["id"] and order["gross"] == "1017.00"
    assert order["sold_to"]["number"] == seeded_sales["trusted"]
    assert ok(manager.get(f"/quotes/{quote['number']}"))["status"] == "accepted"

    won = ok(manager.post(f"/opportunities/{opportunity['number']}/win"))
    assert won["status"] == "won"
    funnel = ok(manager.get("/reports/funnel"))
    assert funnel["won"] == 1 and funnel["win_rate"] == "1.0000"

    activity = ok(manager.post("/activities", json={
        "kind": "call", "customer": seeded_sales["trusted"], "subject": "回访",
        "due_at": "2099-01-01T10:00:00+08:00"}), 201)
    done = ok(manager.post(f"/activities/{activity['id']}/complete",
                           json={"outcome": "completed"}))
    assert done["outcome"] == "completed" and done["done_at"]
    listed = ok(manager.get(f"/activities?customer={seeded_sales['trusted']}&open=false"))
    assert [a["id"] for a in listed["items"]] == [activity["id"]]
    agenda = ok(manager.get("/activities/today"))
    assert agenda["today"] == [] and re.match(r"^\d{4}-\d{2}-\d{2}$", agenda["date"])


def test_validation_names_fields_and_openapi_lists_the_paths(client, seeded_sales):
    manager = demo(client, "sales_manager")
    bad_order = problem(manager.post("/orders", json={
        "lines": [{"product": "TEA-1", "quantity": "1.0001"}], "colour": "red"}),
        422, "validation_failed")
    assert {"sold_to", "lines.0.quantity", "colour"} <= set(bad_order["errors"])
    bad_key = problem(manager.post("/orders", json={"sold_to": seeded_sales["tight"],
                                                          "lines": [{"product": "TEA-1",
                                                                     "quantity": "1"}]},
                                   headers={"Idempotency-Key": "spaces are not allowed"}), 422)
    assert "Idempotency-Key" in bad_key["errors"]
    bad_pay = problem(manager.post("/payments", json={"invoice": "INV-1", "amount": "0",
                                                      "received_at": "2026-02-10T10:00:00"}),
                      422)
    assert {"amount", "received_at"} <= set(bad_pay["errors"])
    bad_report = problem(manager.get("/reports/sales?period=week"), 422)
    assert {"start", "end", "period"} <= set(bad_report["errors"])
    assert set(problem(manager.get("/reports/funnel?period=2025-13"), 422)["errors"]) == {"period"}
    reversed_range = problem(manager.get("/reports/profit?start=2026-02-01&end=2026-01-01"), 422)
    assert set(reversed_range["errors"]) == {"end"}
    problem(manager.get("/reports/forecast?months=0&by=week"), 422)
    problem(manager.get("/orders?page_size=100000"), 422)
    problem(manager.get("/orders/SO-2099-999999"), 404, "not_found")
    problem(client.get("/api/v1/orders"), 401)

    spec = ok(client.get("/api/v1/openapi.json"))
    paths = spec["paths"]
    expected = {
        "/api/v1/products": {"get", "post"}, "/api/v1/products/{sku}": {"get", "patch"},
        "/api/v1/pipeline": {"get"},
        "/api/v1/opportunities": {"get", "post"}, "/api/v1/opportunities/{number}": {"get"},
        "/api/v1/opportunities/{number}/stage": {"post"},
        "/api/v1/opportunities/{number}/win": {"post"},
        "/api/v1/opportunities/{number}/lose": {"post"},
        "/api/v1/quotes": {"post"}, "/api/v1/quotes/{number}": {"get"},
        "/api/v1/quotes/{number}/send": {"post"}, "/api/v1/quotes/{number}/accept": {"post"},
        "/api/v1/quotes/{number}/reject": {"post"},
        "/api/v1/orders": {"get", "post"}, "/api/v1/orders/{number}": {"get"},
        "/api/v1/orders/{number}/lines": {"put"}, "/api/v1/orders/{number}/release": {"post"},
        "/api/v1/orders/{number}/cancel": {"post"}, "/api/v1/orders/{number}/ship": {"post"},
        "/api/v1/orders/{number}/close": {"post"}, "/api/v1/orders/{number}/invoice": {"post"},
        "/api/v1/invoices": {"get"}, "/api/v1/invoices/{number}": {"get"},
        "/api/v1/payments": {"post"},
        "/api/v1/activities": {"get", "post"}, "/api/v1/activities/today": {"get"},
        "/api/v1/activities/{activity_id}/complete": {"post"},
        "/api/v1/visit-plans": {"post"},
        **{f"/api/v1/reports/{name}": {"get"} for name in (
            "funnel", "forecast", "sales", "profit", "receivables-ageing", "arrears")},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    for path in ("/api/v1/orders", "/api/v1/payments"):
        header = [p for p in paths[path]["post"]["parameters"] if p["in"] == "header"]
        assert [p["name"] for p in header] == ["Idempotency-Key"]
    release = paths["/api/v1/orders/{number}/release"]["post"]
    assert "403" in release["responses"]
    order = spec["components"]["schemas"]["Order"]["properties"]
    assert order["gross"]["type"] == "string" and order["ordered_at"]["format"] == "date-time"
