"""The customer endpoints and Customer 360 through Flask's test client, against the real
customer service (and, for 360, the real sales service) on the test's own vhost: the
gateway's checks, its RPC pool with the caller's actor, and problem+json for what the
services refuse."""
import csv
import io
import json
import time

import pytest

from customer.service import CustomerService
from guanxi_common.config import PROJECT_ROOT
from guanxi_common.context import Actor
from guanxi_common.db import session_scope
from guanxi_common.errors import NotFound
from guanxi_common.migrations import upgrade
from sales.service import SalesService

from gateway import users
from gateway.app import create_app

SECRET = "s" * 48
PROBLEM = "application/problem+json"
RPC_TIMEOUT = 2.0
PASSWORDS = {"admin": "admin-password-1", "rep": "sales-rep-password", "rep2": "sales-rep2-password",
             "auditor": "auditor-password", "manager": "manager-password",
             "credit": "credit-password"}
ROLES = {"rep": ["sales_rep"], "rep2": ["sales_rep"], "auditor": ["auditor"],
         "manager": ["sales_manager"], "credit": ["credit_manager"]}
SYSTEM_ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}))


@pytest.fixture
def gateway_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade("gateway", PROJECT_ROOT / "services" / "gateway" / "alembic.ini", url)
    ids = {}
    with session_scope(url, service_name="gateway") as uow:
        admin, _ = users.ensure_admin(uow.session, "admin", PASSWORDS["admin"], out=None)
        ids["admin"] = admin.id
        for name, roles in ROLES.items():
            ids[name] = users.create_user(uow.session, name, PASSWORDS[name], roles,
                                          region="广东").id
    return url, ids


@pytest.fixture
def customer_service(container_factory, migrated_service_config):
    container = container_factory(CustomerService, migrated_service_config("customer"))
    container.start()
    return container


@pytest.fixture
def gateway(gateway_db, amqp_uri):
    url, ids = gateway_db
    app = create_app({"GATEWAY_DATABASE_URL": url, "GATEWAY_JWT_SECRET": SECRET,
                      "LOG_JSON": False, "GATEWAY_ACCESS_LOG": False, "GATEWAY_RATE_LIMIT": "off",
                      "AMQP_URI": amqp_uri, "RPC_TIMEOUT": RPC_TIMEOUT,
                      "GATEWAY_EXPORT_BATCH_SIZE": 2})
    yield Gateway(app.test_client(), ids)
    app.extensions["guanxi_rpc"].close()


class Gateway:
    """The test client with a login per user, made on first use."""

    def __init__(self, client, ids):
        self.client, self.ids, self._tokens = client, ids, {}

    def headers(self, user):
        if user not in self._tokens:
            answer = self.client.post("/api/v1/auth/token",
                                      json={"username": user, "password": PASSWORDS[user]})
            assert answer.status_code == 200, answer.get_json()
            self._tokens[user] = answer.get_json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[user]}"}

    def call(self, method, user, path, **kwargs):
        headers = {**self.headers(user), **kwargs.pop("headers", {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def ok(self, method, user, path, status=200, **kwargs):
        response = self.call(method, user, path, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()


def assert_problem(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if code:
        assert body["code"] == code
    return body


def company(name, **extra):
    return {"party_type": "company", "name": name, "province": "广东", **extra}


def wait_for(predicate, timeout=15, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


def test_create_get_update_search_and_validation(customer_service, gateway):
    gw = gateway
    first = gw.ok("POST", "rep", "/customers", 201, json=company(
        "深圳华为技术有限公司", phones=[{"value": "0755-2878 0808"}], tier="A"))
    number = first["customer"]["number"]
    assert first["warnings"] == [] and first["customer"]["owner_id"] == gw.ids["rep"]
    assert first["customer"]["phones"][0]["value"] == "+8675528780808"

    second = gw.call("POST", "rep", "/customers", json=company("深圳华为技术股份有限公司"))
    assert second.status_code == 201
    assert second.headers["Location"].endswith(second.get_json()["customer"]["number"])
    warnings = second.get_json()["warnings"]
    assert [w["number"] for w in warnings] == [number]
    assert warnings[0]["reasons"] == ["same_normalized_company_name"]

    # the same phone in another written form is a hard duplicate
    refused = assert_problem(gw.call("POST", "rep", "/customers", json=company(
        "另一家公司", phones=[{"value": "+86 755 2878 0808"}])), 409, "conflict")
    assert refused["existing_number"] == number
    assert refused["conflicts"][0]["field"] == "phones"

    checked = gw.ok("POST", "rep", "/customers/duplicate-check",
                    json=company("深圳华为技术", phones=[{"value": "075528780808"}]))
    assert checked["conflicts"][0]["existing_number"] == number

    # validation at the edge names the body's fields ...
    invalid = assert_problem(gw.call("POST", "rep", "/customers", json={
        "party_type": "alien", "phones": [{"value": 1}], "tier": "Z", "extra": True}), 422)
    assert {"party_type", "name", "phones.0.value", "tier", "extra"} <= set(invalid["errors"])
    # ... and so do the service's checks (without its argument's name)
    bad_phone = assert_problem(gw.call("POST", "rep", "/customers", json=company(
        "号码不对公司", phones=[{"value": "12345"}])), 422, "validation_failed")
    assert list(bad_phone["errors"]) == ["phones.0.value"]
    wrong_party = assert_problem(gw.call("POST", "rep", "/customers", json=company(
        "性别公司", gender="male")), 422)
    assert "gender" in wrong_party["errors"]

    got = gw.call("GET", "rep", f"/customers/{number.lower()}")
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    assert got.get_json()["name"] == "深圳华为技术有限公司"
    assert_problem(gw.call("GET", "rep", "/customers/C09999999"), 404, "not_found")
    assert_problem(gw.call("GET", "rep2", f"/customers/{number}"), 403, "forbidden")

    patched = gw.call("PATCH", "rep", f"/customers/{number}", json={"city": "深圳", "tags": ["vip"]},
                      headers={"If-Match": '"1"'})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["city"] == "深圳" and patched.headers["ETag"] == '"2"'
    stale = assert_problem(gw.call("PATCH", "rep", f"/customers/{number}", json={"city": "广州"},
                                   headers={"If-Match": '"1"'}), 409)
    assert stale["version"] == 2 and stale["expected_version"] == 1
    assert gw.ok("PATCH", "rep", f"/customers/{number}",
                 json={"expected_version": 2, "tier": "B"})["version"] == 3
    assert "If-Match" in assert_problem(gw.call("PATCH", "rep", f"/customers/{number}", json={},
                                                headers={"If-Match": "nope"}), 422)["errors"]
    assert "status" in assert_problem(gw.call("PATCH", "rep", f"/customers/{number}",
                                              json={"status": "merged"}), 422)["errors"]

    # search: a two-character Chinese fragment, pagination, a capped page size
    page = gw.ok("GET", "rep", "/customers", query_string={"q": "华为"})
    assert page["total"] == 2 and page["total_exact"] is True and page["page_size"] == 20
    first_page = gw.ok("GET", "rep", "/customers", query_string={"q": "华为", "page_size": 1})
    second_page = gw.ok("GET", "rep", "/customers",
                        query_string={"q": "华为", "page_size": 1, "page": 2})
    assert len(first_page["items"]) == len(second_page["items"]) == 1
    assert {first_page["items"][0]["number"], second_page["items"][0]["number"]} == {
        number, second.get_json()["customer"]["number"]}
    assert second_page["page"] == 2 and second_page["total"] == 2
    assert gw.ok("GET", "rep", "/customers", query_string={"phone": "+86-755-28780808"})[
        "items"][0]["number"] == number
    assert gw.ok("GET", "rep", "/customers", query_string={"tag": "vip", "tier": "B"})["total"] == 1
    assert gw.ok("GET", "rep2", "/customers", query_string={"q": "华为"})["total"] == 0  # scope
    too_big = assert_problem(gw.call("GET", "rep", "/customers", query_string={"page_size": 1000}), 422)
    assert "page_size" in too_big["errors"]
    bad_query = assert_problem(gw.call("GET", "rep", "/customers",
                                       query_string={"status": "bogus", "in_pool": "maybe"}), 422)
    assert {"status", "in_pool"} <= set(bad_query["errors"])
    assert_problem(gw.client.get("/api/v1/customers"), 401)


def test_roles_relationships_merge_history_pool_and_privacy(customer_service, gateway):
    gw = gateway
    holding = gw.ok("POST", "admin", "/customers", 201, json=company("华南控股集团"))["customer"]["number"]
    branch = gw.ok("POST", "admin", "/customers", 201, json=company("华南控股深圳分公司"))["customer"]["number"]

    assert "sold_to" in {t["code"] for t in gw.ok("GET", "rep", "/role-types")}
    assert "holding_of" in {t["code"] for t in gw.ok("GET", "rep", "/relationship-types")}
    assert gw.ok("POST", "admin", f"/customers/{holding}/roles", json={"role": "sold_to"})["roles"] == ["sold_to"]
    assert gw.ok("POST", "admin", f"/customers/{holding}/roles", json={"role": "payer"})["roles"] == ["payer", "sold_to"]
    assert gw.ok("GET", "admin", f"/customers/{holding}/roles") == {"number": holding,
                                                                   "roles": ["payer", "sold_to"]}
    assert gw.ok("DELETE", "admin", f"/customers/{holding}/roles/payer")["roles"] == ["sold_to"]
    assert "roles.0" in assert_problem(gw.call("POST", "admin", f"/customers/{holding}/roles",
                                               json={"role": "wizard"}), 422)["errors"]
    assert "role" in assert_problem(gw.call("POST", "admin", f"/customers/{holding}/roles",
                                            json={}), 422)["errors"]

    link = gw.ok("POST", "admin", f"/customers/{holding}/relationships", 201,
                 json={"type": "holding_of", "to_customer": branch, "valid_from": "2020-01-01"})
    assert link["from_customer"] == holding and link["to_customer"] == branch
    assert link["valid_from"] == "2020-01-01"
    assert "valid_from" in assert_problem(gw.call(
        "POST", "admin", f"/customers/{holding}/relationships",
        json={"type": "holding_of", "to_customer": branch, "valid_from": "2020-13-01"}), 422)["errors"]
    assert_problem(gw.call("POST", "admin", f"/customers/{holding}/relationships",
                           json={"type": "holding_of", "to_customer": branch}), 409)
    listed = gw.ok("GET", "admin", f"/customers/{branch}/relationships")
    assert [(r["id"], r["direction"]) for r in listed] == [(link["id"], "incoming")]
    tree = gw.ok("GET", "admin", f"/customers/{holding}/group-tree")
    assert tree["size"] == 2 and tree["root"]["children"][0]["number"] == branch
    ended = gw.ok("POST", "admin", f"/relationships/{link['id']}/end", json={"valid_to": "2024-12-31"})
    assert ended["valid_to"] == "2024-12-31"
    assert gw.ok("GET", "admin", f"/customers/{branch}/relationships") == []
    assert len(gw.ok("GET", "admin", f"/customers/{branch}/relationships",
                     query_string={"include_ended": "true"})) == 1
    removed = gw.call("DELETE", "admin", f"/relationships/{link['id']}")
    assert removed.status_code == 204 and removed.data == b""
    assert_problem(gw.call("DELETE", "admin", f"/relationships/{link['id']}"), 404)

    # merge: admins only
    duplicate = gw.ok("POST", "admin", "/customers", 201, json=company("华南控股集团有限公司"))
    victim = duplicate["customer"]["number"]
    assert duplicate["warnings"][0]["number"] == holding
    assert_problem(gw.call("POST", "rep", f"/customers/{holding}/merge", json={"victim": victim}),
                   403, "forbidden")
    assert "victim" in assert_problem(gw.call("POST", "admin", f"/customers/{holding}/merge",
                                              json={}), 422)["errors"]
    merged = gw.ok("POST", "admin", f"/customers/{holding}/merge",
                   json={"victim": victim, "reason": "duplicate"})
    assert merged["victim"]["status"] == "merged" and merged["victim"]["merged_into"] == holding
    assert_problem(gw.call("POST", "admin", f"/customers/{holding}/merge", json={"victim": holding}),
                   422, "business_rule_violation")

    # history: an auditor reads any customer's, paginated
    history = gw.ok("GET", "auditor", f"/customers/{holding}/history", query_string={"page_size": 3})
    assert len(history["items"]) == 3 and history["total"] > 3 and history["page_size"] == 3
    assert history["items"][0]["action"] == "relationship_removed"
    assert gw.ok("GET", "auditor", f"/customers/{victim}/history")["items"][0]["action"] == "merged_away"

    # the pool: a rep claims, releases; a manager assigns
    pooled = gw.ok("POST", "admin", "/customers", 201, json=company("公海客户有限公司"))["customer"]
    assert pooled["in_pool"] is True
    claimed = gw.ok("POST", "rep", f"/customers/{pooled['number']}/claim")
    assert claimed["owner_id"] == gw.ids["rep"] and claimed["in_pool"] is False
    assert assert_problem(gw.call("POST", "rep2", f"/customers/{pooled['number']}/claim"),
                          422)["rule"] == "not_in_pool"
    assert_problem(gw.call("POST", "auditor", f"/customers/{pooled['number']}/claim"), 403)
    released = gw.ok("POST", "rep", f"/customers/{pooled['number']}/release",
                     json={"reason": "released"})
    assert released["in_pool"] is True
    assigned = gw.ok("POST", "manager", f"/customers/{pooled['number']}/assign",
                     json={"owner_id": gw.ids["rep2"]})
    assert assigned["owner_id"] == gw.ids["rep2"]
    assert_problem(gw.call("GET", "rep", f"/customers/{pooled['number']}/history"), 403)
    assert gw.ok("GET", "auditor", f"/customers/{pooled['number']}/history")["items"][0][
        "action"] == "assigned"
    assert_problem(gw.call("POST", "rep", f"/customers/{pooled['number']}/assign",
                           json={"owner_id": gw.ids["rep"]}), 403)

    # credit limit: credit managers
    limit = {"credit_limit": "500000", "credit_policy": "block", "reason": "annual review"}
    assert_problem(gw.call("PUT", "rep", f"/customers/{holding}/credit-limit", json=limit), 403)
    credited = gw.ok("PUT", "credit", f"/customers/{holding}/credit-limit", json=limit)
    assert credited["credit_limit"] == "500000.00" and credited["credit_policy"] == "block"
    assert "credit_limit" in assert_problem(gw.call(
        "PUT", "credit", f"/customers/{holding}/credit-limit",
        json={"credit_limit": "-1", "credit_policy": "block"}), 422)["errors"]

    # privacy: admins export and erase a person
    person = gw.ok("POST", "admin", "/customers", 201, json={
        "party_type": "person", "name": "张伟", "birth_date": "1985-03-02",
        "phones": [{"value": "138 1234 5678"}]})["customer"]["number"]
    assert_problem(gw.call("GET", "rep", f"/customers/{person}/privacy-export"), 403)
    exported = gw.ok("GET", "admin", f"/customers/{person}/privacy-export")
    assert exported["customer"]["birth_date"] == "1985-03-02" and exported["history"]
    assert_problem(gw.call("POST", "admin", f"/customers/{person}/erase", json={}), 422)
    erased = gw.ok("POST", "admin", f"/customers/{person}/erase", json={"reason": "PIPL request #42"})
    assert erased["erased"] is True and erased["phones"] == [] and erased["status"] == "erased"


def test_export_streams_jsonl_and_csv(customer_service, gateway):
    gw = gateway
    numbers = [gw.ok("POST", "admin", "/customers", 201, json=company(f"导出测试{i}有限公司"))[
        "customer"]["number"] for i in range(5)]  # batches of 2: three calls and a last one

    response = gw.call("GET", "auditor", "/customers/export", buffered=False)
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    assert response.is_streamed
    lines = response.get_data(as_text=True).splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted(r["number"] for r in records) == sorted(numbers)
    assert all(r["_format"] == 1 for r in records)

    response = gw.call("GET", "auditor", "/customers/export", query_string={"format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="customers.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(row["number"] for row in rows) == sorted(numbers)
    assert {row["name"] for row in rows} >= {"导出测试0有限公司"}

    assert_problem(gw.call("GET", "rep", "/customers/export"), 403)
    assert "format" in assert_problem(gw.call("GET", "auditor", "/customers/export",
                                              query_string={"format": "xml"}), 422)["errors"]


def test_customer_360_and_lookup_with_and_without_sales(container_factory, customer_service,
                                                        migrated_service_config, gateway,
                                                        rpc_client):
    gw = gateway
    sales = container_factory(SalesService, migrated_service_config("sales"))
    sales.start()
    created = gw.ok("POST", "admin", "/customers", 201, json=company(
        "三百六十度测试有限公司", status="active", owner_id=gw.ids["rep"],
        roles=["sold_to", "ship_to", "bill_to", "payer"],
        phones=[{"value": "139 0000 1111"}]))["customer"]
    number = created["number"]
    partner = gw.ok("POST", "admin", "/customers", 201, json=company("三百六十度关联公司"))
    gw.ok("POST", "admin", f"/customers/{number}/relationships", 201,
          json={"type": "holding_of", "to_customer": partner["customer"]["number"]})

    admin = rpc_client(SYSTEM_ADMIN)

    def replicated():
        try:
            return admin.sales.replica_customer(number)
        except NotFound:
            return None

    wait_for(replicated)
    admin.sales.create_product({"sku": "GX-360", "name": "测试产品", "list_price": "100.00",
                                "unit_cost": "60.00", "tax_rate": "0.13"})
    shipped = admin.sales.place_order({"sold_to": number,
                                       "lines": [{"product": "GX-360", "quantity": "2"}]})
    admin.sales.ship_order(shipped["number"])
    invoice = admin.sales.issue_invoice(shipped["number"], 30)
    confirmed = admin.sales.place_order({"sold_to": number,
                                         "lines": [{"product": "GX-360", "quantity": "1"}]})
    admin.sales.log_activity({"kind": "call", "customer": number, "subject": "电话回访",
                              "owner_id": gw.ids["rep"], "due_at": "2030-01-01T10:00:00+08:00"})

    view = gw.ok("GET", "rep", f"/customers/{number}/360")
    assert view["complete"] is True and view["number"] == number
    assert view["profile"]["available"] and view["profile"]["customer"]["name"] == "三百六十度测试有限公司"
    assert view["roles"] == {"available": True, "items": ["bill_to", "payer", "ship_to", "sold_to"]}
    assert view["owner"]["owner_id"] == gw.ids["rep"] and view["owner"]["in_pool"] is False
    assert [r["to_customer"] for r in view["relationships"]["items"]] == [partner["customer"]["number"]]
    orders = view["open_orders"]
    assert orders["available"] and orders["total"] == 2
    assert {o["number"] for o in orders["items"]} == {shipped["number"], confirmed["number"]}
    receivables = view["receivables"]
    assert [i["number"] for i in receivables["items"]] == [invoice["number"]]
    assert receivables["outstanding"] == {"CNY": invoice["outstanding"]}
    assert view["recent_activities"]["total"] == 1
    assert view["recent_activities"]["items"][0]["subject"] == "电话回访"

    # the same view by phone, written another way
    by_phone = gw.ok("GET", "rep", "/lookup", query_string={"phone": "+86 139-0000-1111"})
    assert by_phone["number"] == number and by_phone["open_orders"]["total"] == 2
    assert_problem(gw.call("GET", "rep", "/lookup", query_string={"phone": "13800000000"}), 404)
    assert "phone" in assert_problem(gw.call("GET", "rep", "/lookup"), 422)["errors"]
    assert_problem(gw.call("GET", "rep", "/customers/C09999999/360"), 404)
    assert_problem(gw.call("GET", "rep2", f"/customers/{number}/360"), 403)

    # sales down: its sections are marked unavailable, the rest is served in time
    sales.stop()
    started = time.monotonic()
    degraded = gw.ok("GET", "rep", f"/customers/{number}/360")
    elapsed = time.monotonic() - started
    assert elapsed < RPC_TIMEOUT + 1.5, elapsed
    assert degraded["complete"] is False
    for section in ("open_orders", "receivables", "recent_activities"):
        assert degraded[section] == {"available": False, "error": "sales unavailable"}
    assert degraded["profile"]["available"] and degraded["roles"]["available"]
    assert degraded["relationships"]["available"]


def test_openapi_lists_the_customer_paths(gateway):
    paths = gateway.client.get("/api/v1/openapi.json").get_json()["paths"]
    expected = {
        "/api/v1/customers": {"get", "post"},
        "/api/v1/customers/{number}": {"get", "patch"},
        "/api/v1/customers/duplicate-check": {"post"},
        "/api/v1/customers/{number}/merge": {"post"},
        "/api/v1/customers/{number}/roles": {"get", "post"},
        "/api/v1/customers/{number}/roles/{role}": {"delete"},
        "/api/v1/customers/{number}/relationships": {"get", "post"},
        "/api/v1/relationships/{relationship_id}": {"delete"},
        "/api/v1/relationships/{relationship_id}/end": {"post"},
        "/api/v1/customers/{number}/group-tree": {"get"},
        "/api/v1/customers/{number}/history": {"get"},
        "/api/v1/customers/{number}/claim": {"post"},
        "/api/v1/customers/{number}/release": {"post"},
        "/api/v1/customers/{number}/assign": {"post"},
        "/api/v1/customers/{number}/credit-limit": {"put"},
        "/api/v1/customers/export": {"get"},
        "/api/v1/customers/{number}/privacy-export": {"get"},
        "/api/v1/customers/{number}/erase": {"post"},
        "/api/v1/role-types": {"get"},
        "/api/v1/relationship-types": {"get"},
        "/api/v1/customers/{number}/360": {"get"},
        "/api/v1/lookup": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths.get(path, {})), path
    search = paths["/api/v1/customers"]["get"]
    names = {p["name"] for p in search["parameters"]}
    assert {"q", "phone", "in_pool", "include_merged", "page", "page_size"} <= names
    assert paths["/api/v1/customers/{number}/merge"]["post"]["x-roles"] == ["admin"]
