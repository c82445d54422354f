"""End to end over real HTTP: the gateway under REAL gunicorn (subprocess, gthread, 1 worker
x 4 threads, its own SQLite database, demo users from ``python -m gateway.bootstrap
--demo-users``) in front of the REAL customer and sales services (Nameko containers on the
test's vhost). The gateway reaches the broker through a TCP proxy the test can cut, so a
broker outage hits the gateway alone.

- a frontend's day: log in, search, create with a duplicate warning, 360, credit limit,
  roles, replica, product, opportunity -> quote -> order on credit hold, release (and 403
  for the wrong role), ship, invoice, idempotent payment;
- a role x endpoint matrix: the exact status each role gets, and what list reads show;
- tampered, expired, alg=none, refresh-as-access and revoked API tokens: 401 problem+json
  with WWW-Authenticate;
- 429 with Retry-After under a burst, allowed again after the wait;
- the broker cut for the gateway: 503 fast, /readyz 503, recovery without a restart.
"""
import base64
import json
import time
import uuid
import warnings

import jwt
import pytest
import requests

from customer.service import CustomerService
from guanxi_common.context import Actor
from guanxi_common.errors import NotFound
from guanxi_common.testing.broker import proxy_to_broker
from guanxi_common.testing.waiting import wait_until
from sales.service import SalesService

from gateway_e2e_kit import JWT_SECRET, PROBLEM, GunicornGateway, assert_problem, company

SYSTEM_ADMIN = Actor(user_id="e2e-admin", roles=frozenset({"admin"}))
ALL_ROLES = ("demo_admin", "demo_sales_manager", "demo_sales_rep", "demo_credit_manager",
             "demo_service_agent", "demo_service_manager", "demo_marketer", "demo_auditor",
             "demo_regional_office", "e2e_rep2", "e2e_north_manager")
PARTNER_ROLES = ["sold_to", "ship_to", "bill_to", "payer"]


@pytest.fixture
def services(container_factory, migrated_service_config):
    for service_cls, name in ((CustomerService, "customer"), (SalesService, "sales")):
        container_factory(service_cls, migrated_service_config(name)).start()


@pytest.fixture
def proxied_gateway(amqp_uri, tmp_path):
    """``(gateway, proxy)``: gunicorn whose AMQP_URI goes through a cuttable proxy."""
    proxy, uri = proxy_to_broker(amqp_uri)
    gateway = GunicornGateway(tmp_path / "gw", uri)
    try:
        yield gateway.start(), proxy
    finally:
        gateway.stop()
        proxy.cut()


@pytest.fixture
def replica(rpc_client):
    admin = rpc_client(SYSTEM_ADMIN)

    def wait_for(number, **expected):
        def current():
            try:
                row = admin.sales.replica_customer(number)
            except NotFound:
                return None
            return row if all(row.get(k) == v for k, v in expected.items()) else None
        return wait_until(current, what=f"{number} in the sales replica with {expected}")

    return wait_for


def sales_ready_customer(http, replica, creator, name, limit="100.00"):
    """A customer holding every partner role with a small blocking credit limit, in the
    sales replica."""
    number = http.ok("POST", creator, "/customers", 201,
                     json=company(name))["customer"]["number"]
    http.ok("PUT", "demo_credit_manager", f"/customers/{number}/credit-limit",
            json={"credit_limit": limit, "credit_policy": "block", "reason": "e2e"})
    for role in PARTNER_ROLES:
        http.ok("POST", "demo_admin", f"/customers/{number}/roles", json={"role": role})
    replica(number, credit_policy="block", roles=sorted(PARTNER_ROLES))
    return number


# --- 1. a frontend's day ---------------------------------------------------------------

def test_a_frontends_day(services, proxied_gateway, replica):
    gateway, _ = proxied_gateway
    http = gateway.client()
    rep, manager, credit = "demo_sales_rep", "demo_sales_manager", "demo_credit_manager"

    tokens = http.login(rep)
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    me = http.ok("GET", rep, "/auth/me")
    assert me["username"] == rep and me["roles"] == ["sales_rep"] and me["region"] == "广东"

    # create, then the same normalised company name again: 201 with a warning
    first = http.call("POST", rep, "/customers", json=company(
        "广州茶叶贸易有限公司", phones=[{"value": "020-8888 6666"}]))
    assert first.status_code == 201, first.text
    number = first.json()["customer"]["number"]
    assert first.headers["Location"] == f"/api/v1/customers/{number}"
    assert first.json()["warnings"] == []
    assert first.json()["customer"]["owner_id"] == gateway.user_ids[rep]
    second = http.ok("POST", rep, "/customers", 201, json=company("广州茶叶贸易股份有限公司"))
    assert [w["number"] for w in second["warnings"]] == [number]
    assert second["warnings"][0]["reasons"] == ["same_normalized_company_name"]

    # search with a two-character Chinese fragment
    found = http.ok("GET", rep, "/customers", params={"q": "茶叶"})
    assert found["total"] == 2 and {c["number"] for c in found["items"]} == {
        number, second["customer"]["number"]}
    assert http.ok("GET", rep, "/customers", params={"q": "茶叶"},
                   )["items"][0]["name"].startswith("广州茶叶")

    got = http.call("GET", rep, f"/customers/{number}")
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'

    # the credit manager sets a small blocking limit; the admin gives the partner roles
    limited = http.ok("PUT", credit, f"/customers/{number}/credit-limit", json={
        "credit_limit": "100.00", "credit_policy": "block", "reason": "new customer"})
    assert limited["credit_limit"] == "100.00" and limited["credit_policy"] == "block"
    for role in PARTNER_ROLES:
        roles = http.ok("POST", "demo_admin", f"/customers/{number}/roles",
                        json={"role": role})["roles"]
    assert roles == sorted(PARTNER_ROLES)
    replica(number, credit_policy="block", roles=sorted(PARTNER_ROLES))

    # the 360 view answers with every section
    view = http.ok("GET", rep, f"/customers/{number}/360")
    assert view["complete"] is True and view["number"] == number
    assert view["profile"]["customer"]["name"] == "广州茶叶贸易有限公司"
    assert view["roles"] == {"available": True, "items": sorted(PARTNER_ROLES)}
    assert view["owner"]["owner_id"] == gateway.user_ids[rep]
    assert view["open_orders"]["available"] and view["open_orders"]["total"] == 0
    by_phone = http.ok("GET", rep, "/lookup", params={"phone": "+86 20 8888 6666"})
    assert by_phone["number"] == number

    # a product from the sales manager (not the rep)
    assert_problem(http.call("POST", rep, "/products", json={
        "sku": "x-1", "name": "x", "list_price": "1.00"}), 403, "forbidden")
    product = http.ok("POST", manager, "/products", 201, json={
        "sku": "tea-e2e", "name": "单丛茶 250g", "unit": "box", "list_price": "100.00",
        "unit_cost": "40.00", "tax_rate": "0.13"})
    assert product["sku"] == "TEA-E2E"

    # opportunity -> quote -> send -> accept -> an order on credit hold (113 > 100)
    opportunity = http.ok("POST", rep, "/opportunities", 201, json={
        "customer": number, "title": "春茶采购", "amount": "100.00",
        "expected_close": "2099-06-30"})
    quote = http.ok("POST", rep, "/quotes", 201, json={
        "customer": number, "opportunity": opportunity["number"],
        "lines": [{"product": "TEA-E2E", "quantity": "1"}]})
    assert quote["status"] == "draft" and quote["net"] == "100.00"
    assert http.ok("POST", rep, f"/quotes/{quote['number']}/send")["status"] == "sent"
    accepted = http.ok("POST", rep, f"/quotes/{quote['number']}/accept", json={})
    assert accepted["quote"]["status"] == "accepted"
    order_number = accepted["order"]["number"]
    order = http.ok("GET", rep, f"/orders/{order_number}")
    assert order["status"] == "credit_hold" and order["gross"] == "113.00"
    assert order["credit"]["outcome"] == "hold" and order["credit"]["limit"] == "100.00"
    assert http.ok("GET", rep, f"/customers/{number}/360")["open_orders"]["total"] == 1

    # only the credit manager releases
    denied = assert_problem(http.call("POST", manager, f"/orders/{order_number}/release",
                                      json={"reason": "vip"}), 403, "forbidden")
    assert "credit_manager" in denied["roles"]
    assert http.ok("GET", rep, f"/orders/{order_number}")["status"] == "credit_hold"
    released = http.ok("POST", credit, f"/orders/{order_number}/release",
                       json={"reason": "prepayment seen"})
    assert released["status"] == "confirmed"

    # ship, invoice, pay with an Idempotency-Key: the retry is the same payment
    assert http.ok("POST", rep, f"/orders/{order_number}/ship")["status"] == "shipped"
    invoice = http.ok("POST", rep, f"/orders/{order_number}/invoice", 201,
                      json={"terms_days": 30})
    assert invoice["amount"] == "113.00" and invoice["status"] == "open"
    payment = {"invoice": invoice["number"], "amount": "113.00", "method": "bank_transfer",
               "received_at": "2026-03-01T09:30:00+08:00"}
    key = {"Idempotency-Key": f"pay-{uuid.uuid4().hex[:12]}"}
    paid = http.ok("POST", rep, "/payments", 201, json=payment, headers=key)
    again = http.ok("POST", rep, "/payments", 201, json=payment, headers=key)
    assert again == paid
    detail = http.ok("GET", rep, f"/invoices/{invoice['number']}")
    assert [p["id"] for p in detail["payments"]] == [paid["id"]]
    assert detail["outstanding"] == "0.00" and detail["status"] == "paid"
    assert http.ok("GET", rep, f"/customers/{number}/360")["receivables"]["items"] == []


# --- 2. role x endpoint matrix ---------------------------------------------------------

class Records:
    """The records the matrix works on; ``fresh_*`` makes a new one at each use, so a
    role's successful change never alters what the next role is asked about."""

    def __init__(self, http, replica, http_user_ids):
        self.http, self.replica = http, replica
        self.mine = sales_ready_customer(http, replica, "demo_sales_rep", "矩阵自有客户有限公司")
        self.pool = self._admin_customer("矩阵公海客户有限公司")
        self.north = self._admin_customer(  # owned in another region: not in the pool
            "矩阵北京客户有限公司", province="北京",
            owner_id=http_user_ids["e2e_north_manager"])
        self.survivor = self._admin_customer("矩阵合并保留有限公司")
        # another rep's customer (not named 矩阵: the visible counts below leave it out),
        # able to pay, for the references inside bodies
        self.theirs = sales_ready_customer(http, replica, "e2e_rep2", "范围代表二客户有限公司")
        self.rep_id = http_user_ids["demo_sales_rep"]
        self.north_manager_id = http_user_ids["e2e_north_manager"]
        http.ok("POST", "demo_sales_manager", "/products", 201, json={
            "sku": "MX-1", "name": "矩阵产品", "list_price": "100.00", "unit_cost": "50.00",
            "tax_rate": "0.13"})
        held = self._held_order(quantity="10")
        http.ok("POST", "demo_credit_manager", f"/orders/{held}/release", json={"reason": "ok"})
        http.ok("POST", "demo_admin", f"/orders/{held}/ship")
        self.invoice = http.ok("POST", "demo_admin", f"/orders/{held}/invoice", 201,
                               json={"terms_days": 30})["number"]
        self._counter = 0

    def _admin_customer(self, name, **extra):
        return self.http.ok("POST", "demo_admin", "/customers", 201,
                            json=company(name, **extra))["customer"]["number"]

    def _held_order(self, quantity="1"):
        order = self.http.ok("POST", "demo_admin", "/orders", 201, json={
            "sold_to": self.mine, "lines": [{"product": "MX-1", "quantity": quantity}]})
        assert order["status"] == "credit_hold", order
        return order["number"]

    def __getitem__(self, key):
        self._counter += 1
        n = self._counter
        if key == "fresh_pool":
            return self._admin_customer(f"矩阵待认领{n}号有限公司")
        if key == "fresh_victim":
            return self._admin_customer(f"矩阵合并重复{n}号有限公司")
        if key == "fresh_person":
            return self.http.ok("POST", "demo_admin", "/customers", 201, json={
                "party_type": "person", "name": f"测试{n}", "province": "广东"})[
                    "customer"]["number"]
        if key == "fresh_held_order":
            return self._held_order()
        if key == "key":
            return f"mx-{uuid.uuid4().hex[:16]}"
        return getattr(self, key)


def fill(template, records):
    if isinstance(template, str):
        return template.format_map(records)
    if isinstance(template, dict):
        return {k: fill(v, records) for k, v in template.items()}
    return template


#: Columns of the matrix: the nine demo roles (region 广东; admin and auditor without one),
#: a second sales rep (广东) and a sales manager of another region (北京).
COLUMNS = ("demo_admin", "demo_sales_manager", "demo_sales_rep", "demo_credit_manager",
           "demo_service_agent", "demo_service_manager", "demo_marketer", "demo_auditor",
           "demo_regional_office", "e2e_rep2", "e2e_north_manager")
assert COLUMNS == ALL_ROLES
LIMIT = {"credit_limit": "100.00", "credit_policy": "block", "reason": "review"}
PAYMENT = {"invoice": "{invoice}", "amount": "1.00", "received_at": "2026-03-01T09:30:00+08:00"}

# Records: mine = owned by demo_sales_rep (广东); pool = in the pool (广东); north = owned by
# e2e_north_manager (北京); fresh_* = a new record for every call. A customer outside the
# caller's read scope answers 404 like a missing one; 403 is for what the caller may see
# but not do (docs/api.md "Scope and existence").
MATRIX = [
    # label                 method   path                                  body
    #                       admin sm  rep cm  sa  svm mkt aud ro  rep2 north
    ("read own customer", "GET", "/customers/{mine}", None,
     "200 200 200 200 200 200 200 200 200 404 404"),
    ("read pool customer", "GET", "/customers/{pool}", None,
     "200 200 200 200 200 200 200 200 200 200 404"),
    ("read other region", "GET", "/customers/{north}", None,
     "200 404 404 404 404 404 404 200 404 404 200"),
    ("change own customer", "PATCH", "/customers/{mine}", {"city": "广州"},
     "200 200 200 200 403 403 403 403 200 404 404"),
    ("change pool customer", "PATCH", "/customers/{pool}", {"city": "广州"},
     "200 200 200 200 403 403 403 403 200 200 404"),
    ("change other region", "PATCH", "/customers/{north}", {"city": "北京"},
     "200 404 404 404 404 404 404 403 404 404 200"),
    ("history", "GET", "/customers/{mine}/history", None,
     "200 200 200 200 200 200 200 200 200 404 404"),
    ("merge", "POST", "/customers/{survivor}/merge", {"victim": "{fresh_victim}"},
     "200 403 403 403 403 403 403 403 403 403 403"),
    ("erase", "POST", "/customers/{fresh_person}/erase", {"reason": "PIPL request"},
     "200 403 403 403 403 403 403 403 403 403 403"),
    ("credit limit", "PUT", "/customers/{mine}/credit-limit", LIMIT,
     "200 403 403 200 403 403 403 403 403 403 403"),
    ("credit limit other region", "PUT", "/customers/{north}/credit-limit", LIMIT,
     "200 403 403 404 403 403 403 403 403 403 403"),
    ("claim from the pool", "POST", "/customers/{fresh_pool}/claim", None,
     "200 200 200 403 403 403 403 403 403 200 404"),
    ("release credit hold", "POST", "/orders/{fresh_held_order}/release", {"reason": "ok"},
     "200 403 403 200 403 403 403 403 403 403 403"),
    ("list orders", "GET", "/orders?customer={mine}", None,
     "200 200 200 200 200 200 200 200 200 200 200"),
    ("record payment", "POST", "/payments", PAYMENT,
     "201 201 201 201 403 403 403 403 201 403 403"),
    ("ageing report", "GET", "/reports/receivables-ageing", None,
     "200 200 200 200 200 200 200 200 200 200 200"),
    ("users admin", "GET", "/users", None,
     "200 403 403 403 403 403 403 403 403 403 403"),
    # references inside bodies: the named customer or owner is checked like the path's
    ("link to another rep's customer", "POST", "/customers/{fresh_pool}/relationships",
     {"type": "guarantor_of", "to_customer": "{mine}"},
     "201 201 201 201 403 403 403 403 201 404 404"),
    ("link to another region", "POST", "/customers/{fresh_pool}/relationships",
     {"type": "guarantor_of", "to_customer": "{north}"},
     "201 404 404 404 403 403 403 403 404 404 404"),
    ("order paid by another rep's customer", "POST", "/orders",
     {"sold_to": "{mine}", "payer": "{theirs}", "lines": [{"product": "MX-1", "quantity": "1"}]},
     "201 201 404 201 403 403 403 403 201 404 404"),
    ("assign to nobody known", "POST", "/customers/{fresh_pool}/assign",
     {"owner_id": "no-such-user"},
     "422 422 403 403 403 403 403 403 403 403 422"),
    ("assign to another region's manager", "POST", "/customers/{fresh_pool}/assign",
     {"owner_id": "{north_manager_id}"},
     "422 422 403 403 403 403 403 403 403 403 404"),
    ("assign to a rep", "POST", "/customers/{fresh_pool}/assign", {"owner_id": "{rep_id}"},
     "200 200 403 403 403 403 403 403 403 403 404"),
]



# What list reads show, before the matrix adds records: customers named 矩阵 (mine, pool,
# north, survivor) and orders of `mine` (one, invoiced).
#                 admin sm rep cm sa svm mkt aud ro rep2 north
VISIBLE_CUSTOMERS = "4   3  3   3  3  3   3   4   3  2    1"
VISIBLE_ORDERS = "1   1  1   1  1  1   1   1   1  0    0"


def columns(text):
    return dict(zip(COLUMNS, (int(cell) for cell in text.split()), strict=True))


def test_role_endpoint_matrix(services, proxied_gateway, replica):
    gateway, _ = proxied_gateway
    http = gateway.client()
    records = Records(http, replica, gateway.user_ids)

    for user, expected in columns(VISIBLE_CUSTOMERS).items():
        assert http.ok("GET", user, "/customers", params={"q": "矩阵"})["total"] == expected, user
    for user, expected in columns(VISIBLE_ORDERS).items():
        page = http.ok("GET", user, "/orders", params={"customer": records.mine})
        assert page["total"] == expected, user

    mismatches = {}
    for label, method, path, body, expected in MATRIX:
        for user, status in columns(expected).items():
            headers = {"Idempotency-Key": records["key"]} if path == "/payments" else {}
            response = http.call(method, user, fill(path, records), json=fill(body, records),
                                 headers=headers)
            if response.status_code != status:
                mismatches[(label, user)] = response.status_code
                continue
            if status == 403:
                assert response.headers["Content-Type"] == PROBLEM
                assert response.json()["code"] == "forbidden"
    assert mismatches == {}

    # nothing a refused caller sent took effect on the other region's customer
    north = http.ok("GET", "demo_admin", f"/customers/{records.north}")
    assert north["city"] == "北京" and north["owner_id"] == gateway.user_ids["e2e_north_manager"]
    history = http.ok("GET", "demo_auditor", f"/customers/{records.north}/history")
    changed_by = {entry["actor_id"] for entry in history["items"] if entry["version"] > 1}
    assert changed_by == {gateway.user_ids["demo_admin"]}  # the north manager's city was the same



# --- 3. tokens --------------------------------------------------------------------------

def b64url(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_for(user_id, roles, **changes):
    now = int(time.time())
    claims = {"iss": "guanxi", "aud": "guanxi-api", "sub": user_id, "iat": now, "nbf": now,
              "exp": now + 600, "jti": str(uuid.uuid4()), "typ": "access", "roles": roles,
              "region": None, "kind": "user"}
    claims.update(changes)
    return claims


def assert_refused(http, token, reason=None):
    response = http.session.get(http.base + "/api/v1/auth/me", timeout=10,
                                headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="guanxi", error="invalid_token"'
    if reason is not None:
        assert body["reason"] == reason, body
    return body


@pytest.fixture
def plain_gateway(amqp_uri, tmp_path):
    gateway = GunicornGateway(tmp_path / "gw", amqp_uri)
    try:
        yield gateway.start()
    finally:
        gateway.stop()


def test_tokens_tampered_expired_none_refresh_and_revoked_are_refused(plain_gateway):
    http = plain_gateway.client()
    auditor_id = plain_gateway.user_ids["demo_auditor"]
    pair = http.login("demo_auditor")
    access, refresh = pair["access_token"], pair["refresh_token"]
    me = lambda token: http.session.get(http.base + "/api/v1/auth/me", timeout=10,  # noqa: E731
                                        headers={"Authorization": f"Bearer {token}"})
    assert me(access).status_code == 200

    header, payload, signature = access.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_refused(http, f"{header}.{payload}.{flipped}", "bad_signature")
    # more roles in the payload under the original signature
    promoted = b64url(claims_for(auditor_id, ["admin"]))
    assert_refused(http, f"{header}.{promoted}.{signature}", "bad_signature")
    # signed with the gateway's own secret, naming the live login, but expired a minute ago
    login = jwt.decode(access, options={"verify_signature": False})["sid"]
    expired = jwt.encode(claims_for(auditor_id, ["auditor"], exp=int(time.time()) - 60,
                                    sid=login), JWT_SECRET, algorithm="HS256")
    assert_refused(http, expired, "expired")
    # the same claims, fresh, are accepted: the refusals above are about the token alone
    assert me(jwt.encode(claims_for(auditor_id, ["auditor"], sid=login), JWT_SECRET,
                         algorithm="HS256")).status_code == 200
    # ... but not without a login, for a user that does not exist, or for ten years
    assert_refused(http, jwt.encode(claims_for(auditor_id, ["auditor"]), JWT_SECRET,
                                    algorithm="HS256"), "no_session")
    assert_refused(http, jwt.encode(claims_for("no-such-user", ["auditor"], sid=login),
                                    JWT_SECRET, algorithm="HS256"), "unknown_user")
    ten_years = int(time.time()) + 10 * 365 * 86400
    assert_refused(http, jwt.encode(claims_for(auditor_id, ["auditor"], sid=login,
                                               exp=ten_years), JWT_SECRET, algorithm="HS256"),
                   "lifetime_too_long")
    # alg=none, with and without a signature; and another algorithm with the same secret
    unsigned = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims_for(auditor_id, ['admin']))}"
    assert_refused(http, unsigned + ".")
    assert_refused(http, unsigned + "." + signature)
    with warnings.catch_warnings():  # PyJWT finds a 48-byte key short for HS512: so be it
        warnings.simplefilter("ignore")
        hs512 = jwt.encode(claims_for(auditor_id, ["admin"]), JWT_SECRET, algorithm="HS512")
    assert_refused(http, hs512, "algorithm_not_allowed")
    # a refresh token is not an access token
    assert_refused(http, refresh, "wrong_type")
    # no token at all: 401 with a challenge that names no error
    anonymous = http.session.get(http.base + "/api/v1/auth/me", timeout=10)
    assert_problem(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="guanxi"'

    # an API token works until the admin revokes it
    created = http.ok("POST", "admin", "/api-tokens", 201,
                      json={"name": "etl", "username": "demo_auditor"})
    assert created["token"].startswith("gx_")
    assert me(created["token"]).json()["kind"] == "service"
    assert http.ok("DELETE", "admin", f"/api-tokens/{created['id']}", 204) is None
    assert_refused(http, created["token"], "revoked")
    assert_refused(http, created["token"][:-1] + "x")


# --- 4. 429 under a burst ---------------------------------------------------------------

def test_burst_gets_429_with_retry_after_then_allowed_again(amqp_uri, tmp_path):
    gateway = GunicornGateway(tmp_path / "gw", amqp_uri, GATEWAY_RATE_LIMIT="2/s",
                              GATEWAY_RATE_BURST="3")
    try:
        gateway.start()
        http = gateway.client()
        http.token("demo_sales_rep")
        statuses, limited = [], None
        for _ in range(10):
            response = http.call("GET", "demo_sales_rep", "/auth/me")
            statuses.append(response.status_code)
            if response.status_code == 429:
                limited = response
        assert statuses[0] == 200 and 429 in statuses, statuses
        assert statuses.count(200) <= 4, statuses  # the burst of 3 and at most one refill
        body = assert_problem(limited, 429, "rate_limited")
        retry_after = int(limited.headers["Retry-After"])
        # at 2/s the next token is at most 0.5 s away, rounded up to whole seconds
        assert retry_after == 1 and body["retry_after"] == 1
        # another principal has its own bucket
        assert http.call("GET", "demo_auditor", "/auth/me").status_code == 200
        time.sleep(retry_after)
        assert http.ok("GET", "demo_sales_rep", "/auth/me")["username"] == "demo_sales_rep"
    finally:
        gateway.stop()


# --- 5. the broker cut for the gateway ---------------------------------------------------

def test_broker_cut_gives_fast_503_and_recovers_without_restart(
        container_factory, migrated_service_config, proxied_gateway):
    container_factory(CustomerService, migrated_service_config("customer")).start()
    gateway, proxy = proxied_gateway
    http = gateway.client()
    number = http.ok("POST", "demo_sales_rep", "/customers", 201,
                     json=company("断网测试有限公司"))["customer"]["number"]
    assert http.ok("GET", "demo_sales_rep", f"/customers/{number}")["number"] == number
    assert requests.get(gateway.base + "/readyz", timeout=5).status_code == 200

    proxy.cut()
    rpc_timeout = float(gateway.env["RPC_TIMEOUT"])
    for _ in range(2):  # the pooled connection that died, then a fresh connect refused
        started = time.monotonic()
        response = http.call("GET", "demo_sales_rep", f"/customers/{number}", timeout=30)
        elapsed = time.monotonic() - started
        assert_problem(response, 503)
        assert response.headers["Retry-After"] == "1"
        assert elapsed < rpc_timeout + 2, elapsed
    started = time.monotonic()
    ready = requests.get(gateway.base + "/readyz", timeout=30)
    assert ready.status_code == 503 and time.monotonic() - started < 3
    assert ready.json()["checks"]["broker"] != "ok" and ready.json()["checks"]["database"] == "ok"
    assert http.ok("GET", "demo_sales_rep", "/auth/me")["username"] == "demo_sales_rep"

    proxy.restore()

    def answered():
        response = http.call("GET", "demo_sales_rep", f"/customers/{number}", timeout=30)
        assert response.status_code in (200, 503), response.text
        return response.status_code == 200 and response.json()["number"] == number

    wait_until(answered, timeout=20, interval=0.5, what="the gateway answering again")
    assert requests.get(gateway.base + "/readyz", timeout=5).status_code == 200
    assert gateway.proc.poll() is None  # the same gunicorn, never restarted
