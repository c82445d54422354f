"""The sales endpoints and reports through Flask's test client against a fake RPC pool:
the gateway's own checks (bodies, queries, roles, Idempotency-Key), what it sends to the
sales service, and the headers and problem+json it answers with. What the sales service
decides (credit holds, idempotent replays, overpayment, report figures) is asserted end
to end in test_gateway_e2e_services.py."""
import re

from guanxi_common.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound

from gateway_fake_kit import assert_problem
from gateway_records import invoice, order, order_summary, page, payment, product

MONEY = re.compile(r"^-?\d+\.\d{2}$")
NEW_PRODUCT = {"sku": "tea-1", "name": "铁观音 500g", "unit": "box", "list_price": "100.00",
               "unit_cost": "55.00", "tax_rate": "0.13"}


def test_products(gateway, fake_pool):
    fake_pool.reply("sales", "create_product", lambda body: product(body["sku"].upper()))
    made = gateway.call("POST", "manager", "/products", json=NEW_PRODUCT)
    assert made.status_code == 201 and made.headers["Location"] == "/api/v1/products/TEA-1"
    assert made.get_json()["sku"] == "TEA-1" and made.get_json()["tax_rate"] == "0.1300"
    sent = fake_pool.last("sales", "create_product").args[0]
    assert sent["sku"] == "tea-1" and sent["list_price"] == "100.00"
    assert fake_pool.last("sales", "create_product").actor.user_id == "u-manager"
    calls = len(fake_pool.calls)
    assert_problem(gateway.call("POST", "rep", "/products", json={
        "sku": "x", "name": "x", "list_price": "1.00"}), 403, "forbidden")
    assert len(fake_pool.calls) == calls
    fake_pool.fail("sales", "create_product", Conflict("SKU TEA-1 is taken", {"sku": "TEA-1"}))
    assert_problem(gateway.call("POST", "manager", "/products", json={
        "sku": "TEA-1", "name": "again", "list_price": "1.00"}), 409, "conflict")

    # by SKU, any case: looked up through the product list
    fake_pool.reply("sales", "list_products", lambda criteria: page(
        [product("TEA-1")] if criteria.get("q") == "TEA-1" else [],
        page_size=criteria["page_size"]))
    assert gateway.ok("GET", "manager", "/products/tea-1")["id"] == product("TEA-1")["id"]
    assert fake_pool.last("sales", "list_products").args[0]["q"] == "TEA-1"
    assert_problem(gateway.call("GET", "manager", "/products/NOPE-9"), 404, "not_found")
    fake_pool.reply("sales", "update_product", lambda product_id, changes: product(
        "TEA-1", **changes))
    changed = gateway.ok("PATCH", "manager", "/products/TEA-1", json={"name": "铁观音 1kg"})
    assert changed["name"] == "铁观音 1kg" and changed["list_price"] == "100.00"
    assert fake_pool.last("sales", "update_product").args[1] == {"name": "铁观音 1kg"}

    listed = gateway.ok("GET", "manager", "/products", query_string={"page_size": 5})
    assert listed["page_size"] == 5 and listed["total_exact"] is True
    assert fake_pool.last("sales", "list_products").args[0]["page_size"] == 5


def test_orders_release_ship_invoice_and_payments(gateway, fake_pool):
    held = order(status="credit_hold", credit={
        "outcome": "hold", "exposure": "113.00", "limit": "100.00", "note": None,
        "released_by": None, "released_at": None, "release_reason": None})
    fake_pool.reply("sales", "place_order", held)
    body = {"sold_to": "C00000001", "lines": [{"product": "TEA-1", "quantity": "1"}]}
    first = gateway.call("POST", "manager", "/orders", json=body,
                         headers={"Idempotency-Key": "ord-1"})
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.headers["Location"] == f"/api/v1/orders/{held['number']}"
    assert first.headers["Idempotency-Key"] == "ord-1"
    assert first.get_json()["status"] == "credit_hold"
    assert first.get_json()["credit"]["limit"] == "100.00"
    sent = fake_pool.last("sales", "place_order").args[0]
    assert sent["idempotency_key"] == "ord-1" and sent["sold_to"] == "C00000001"
    assert sent["lines"][0]["product"] == "TEA-1" and sent["lines"][0]["quantity"] == "1"
    gateway.ok("POST", "manager", "/orders", 201, json=body)
    assert "idempotency_key" not in fake_pool.last("sales", "place_order").args[0]
    fake_pool.fail("sales", "place_order", Conflict(
        "Idempotency-Key ord-1 was used for another order", {"idempotency_key": "ord-1"}))
    assert assert_problem(gateway.call("POST", "manager", "/orders", json=body,
                                       headers={"Idempotency-Key": "ord-1"}),
                          409, "conflict")["idempotency_key"] == "ord-1"

    fake_pool.reply("sales", "list_orders", lambda criteria: page(
        [order_summary(held)], page_size=criteria["page_size"]))
    listed = gateway.ok("GET", "manager", "/orders",
                        query_string={"status": "credit_hold", "customer": "C00000001"})
    assert [o["number"] for o in listed["items"]] == [held["number"]]
    assert fake_pool.last("sales", "list_orders").args[0] == {
        "status": "credit_hold", "customer": "C00000001", "page": 1, "page_size": 20}

    # only a credit manager releases: the sales manager's 403 calls nothing
    number = held["number"]
    calls = len(fake_pool.calls)
    denied = assert_problem(gateway.call("POST", "manager", f"/orders/{number}/release",
                                         json={"reason": "vip"}), 403, "forbidden")
    assert "credit_manager" in denied["roles"]
    assert_problem(gateway.call("POST", "credit", f"/orders/{number}/release", json={}),
                   422, "validation_failed")
    assert len(fake_pool.calls) == calls
    fake_pool.reply("sales", "release_order", lambda n, reason: order(n, "confirmed"))
    assert gateway.ok("POST", "credit", f"/orders/{number}/release",
                      json={"reason": "prepayment seen"})["status"] == "confirmed"
    assert fake_pool.last("sales", "release_order").args == (number, "prepayment seen")
    fake_pool.fail("sales", "release_order", BusinessRuleViolation(
        "order is not on credit hold", {"rule": "not_on_hold"}))
    assert_problem(gateway.call("POST", "credit", f"/orders/{number}/release",
                                json={"reason": "again"}), 422, "business_rule_violation")

    fake_pool.reply("sales", "ship_order", lambda n: order(n, "shipped"))
    assert gateway.ok("POST", "manager", f"/orders/{number}/ship")["status"] == "shipped"
    bill = invoice(order_number=number)
    fake_pool.reply("sales", "issue_invoice", bill)
    issued = gateway.call("POST", "manager", f"/orders/{number}/invoice", json={"terms_days": 30})
    assert issued.status_code == 201 and issued.get_json()["amount"] == "113.00"
    assert issued.headers["Location"] == f"/api/v1/invoices/{bill['number']}"
    assert fake_pool.last("sales", "issue_invoice").args == (number, 30, None)
    fake_pool.fail("sales", "issue_invoice", Conflict(
        "order already invoiced", {"existing_number": bill["number"]}))
    assert assert_problem(gateway.call("POST", "manager", f"/orders/{number}/invoice", json={}),
                          409, "conflict")["existing_number"] == bill["number"]

    pay = {"invoice": bill["number"], "amount": "50.00", "method": "bank_transfer",
           "received_at": "2026-02-10T10:00:00+08:00"}
    fake_pool.reply("sales", "record_payment", payment(bill["number"]))
    paid = gateway.call("POST", "manager", "/payments", json=pay,
                        headers={"Idempotency-Key": "pay-1"})
    assert paid.status_code == 201
    assert paid.headers["Location"] == f"/api/v1/invoices/{bill['number']}"
    assert paid.get_json()["received_at"].startswith("2026-02-10T02:00:00")
    assert fake_pool.last("sales", "record_payment").args == ({
        "invoice": bill["number"], "amount": "50.00", "method": "bank_transfer",
        "received_at": "2026-02-10T10:00:00+08:00", "idempotency_key": "pay-1"},)
    fake_pool.fail("sales", "record_payment", BusinessRuleViolation(
        "more than is outstanding", {"rule": "overpayment", "outstanding": "63.00"}))
    over = assert_problem(gateway.call("POST", "manager", "/payments",
                                       json=dict(pay, amount="100.00"),
                                       headers={"Idempotency-Key": "pay-2"}),
                          422, "business_rule_violation")
    assert over["rule"] == "overpayment" and over["outstanding"] == "63.00"

    fake_pool.reply("sales", "get_invoice", dict(bill, payments=[payment(bill["number"])],
                                                 outstanding="63.00", status="partially_paid"))
    detail = gateway.ok("GET", "manager", f"/invoices/{bill['number']}")
    assert len(detail["payments"]) == 1 and detail["outstanding"] == "63.00"
    fake_pool.reply("sales", "list_invoices", lambda criteria: page([bill]))
    gateway.ok("GET", "manager", "/invoices",
               query_string={"status": "partially_paid", "overdue": "false"})
    assert fake_pool.last("sales", "list_invoices").args[0] == {
        "status": "partially_paid", "overdue": False, "page": 1, "page_size": 20}


def test_reports_pass_the_query_and_dump_decimal_strings(gateway, fake_pool):
    fake_pool.reply("sales", "receivables_ageing", lambda **query: {
        "as_of": "2026-03-02", "currency": "CNY", "owner": None, "region": None,
        "buckets": [{"bucket": b, "amount": "0.00", "invoices": 0}
                    for b in ("0-30", "31-60", "61-90", "90+")],
        "total": "63.00", "invoices": 1, "by_owner": []})
    ageing = gateway.ok("GET", "admin", "/reports/receivables-ageing")
    assert ageing["total"] == "63.00" and ageing["invoices"] == 1
    assert [b["bucket"] for b in ageing["buckets"]] == ["0-30", "31-60", "61-90", "90+"]
    assert all(MONEY.match(b["amount"]) for b in ageing["buckets"])
    fake_pool.reply("sales", "sales_report", lambda **query: {
        "start": query["start"], "end": query["end"], "period": "month", "currency": "CNY",
        "region": "广东", "owner": None, "total": "100.00", "orders": 1,
        "series": [{"period": "2026-03", "value": "100.00", "orders": 1, "mom": None,
                    "yoy": None}],
        "groups": [{"key": "TEA-1", "label": "铁观音", "total": "100.00", "orders": 1}]})
    report = gateway.ok("GET", "manager", "/reports/sales",
                        query_string={"start": "2026-03-02", "end": "2026-03-02", "by": "product"})
    assert report["total"] == "100.00" and report["region"] == "广东"
    kwargs = fake_pool.last("sales", "sales_report").kwargs
    assert (kwargs["start"], kwargs["end"], kwargs["by"]) == ("2026-03-02", "2026-03-02",
                                                               "product")
    assert fake_pool.last("sales", "sales_report").actor.region == "广东"
    fake_pool.fail("sales", "arrears_list", Forbidden("not for this role"))
    assert_problem(gateway.call("GET", "rep", "/reports/arrears"), 403, "forbidden")


def test_quote_accept_opportunity_and_activities_send_what_was_asked(gateway, fake_pool):
    fake_pool.reply("sales", "accept_quote", lambda number, partners: {
        "quote": {"number": number, "status": "accepted"},
        "order": {"id": "o-1", "number": "SO-2026-000003", "status": "confirmed"}})
    accepted = gateway.ok("POST", "manager", "/quotes/QT-2026-000001/accept", json={})
    assert accepted["quote"]["status"] == "accepted"
    assert accepted["order"]["number"] == "SO-2026-000003"
    assert fake_pool.last("sales", "accept_quote").args == ("QT-2026-000001", {})
    fake_pool.fail("sales", "accept_quote", BusinessRuleViolation(
        "a draft cannot be accepted", {"rule": "quote_not_sent"}))
    assert_problem(gateway.call("POST", "manager", "/quotes/QT-2026-000001/accept"), 422,
                   "business_rule_violation")
    fake_pool.fail("sales", "get_order", NotFound("order SO-2099-999999 not found"))
    assert_problem(gateway.call("GET", "manager", "/orders/SO-2099-999999"), 404, "not_found")


def test_validation_names_fields_before_calling_the_service(gateway, fake_pool):
    bad_order = assert_problem(gateway.call("POST", "manager", "/orders", json={
        "lines": [{"product": "TEA-1", "quantity": "1.0001"}], "colour": "red"}),
        422, "validation_failed")
    assert {"sold_to", "lines.0.quantity", "colour"} <= set(bad_order["errors"])
    bad_key = assert_problem(gateway.call(
        "POST", "manager", "/orders",
        json={"sold_to": "C00000001", "lines": [{"product": "TEA-1", "quantity": "1"}]},
        headers={"Idempotency-Key": "spaces are not allowed"}), 422)
    assert "Idempotency-Key" in bad_key["errors"]
    bad_pay = assert_problem(gateway.call("POST", "manager", "/payments", json={
        "invoice": "INV-1", "amount": "0", "received_at": "2026-02-10T10:00:00"}), 422)
    assert {"amount", "received_at"} <= set(bad_pay["errors"])
    bad_report = assert_problem(gateway.call("GET", "manager", "/reports/sales?period=week"), 422)
    assert {"start", "end", "period"} <= set(bad_report["errors"])
    assert set(assert_problem(gateway.call("GET", "manager", "/reports/funnel?period=2025-13"),
                              422)["errors"]) == {"period"}
    reversed_range = assert_problem(gateway.call(
        "GET", "manager", "/reports/profit?start=2026-02-01&end=2026-01-01"), 422)
    assert set(reversed_range["errors"]) == {"end"}
    assert_problem(gateway.call("GET", "manager", "/reports/forecast?months=0&by=week"), 422)
    assert_problem(gateway.call("GET", "manager", "/orders?page_size=100000"), 422)
    assert_problem(gateway.client.get("/api/v1/orders"), 401)
    assert fake_pool.calls == []


def test_openapi_lists_the_sales_paths(gateway):
    spec = gateway.client.get("/api/v1/openapi.json").get_json()
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
    order_schema = spec["components"]["schemas"]["Order"]["properties"]
    assert order_schema["gross"]["type"] == "string"
    assert order_schema["ordered_at"]["format"] == "date-time"
