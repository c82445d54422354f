"""The customer endpoints and Customer 360 through Flask's test client against a fake RPC
pool: what the gateway checks itself (bodies, queries, roles, If-Match, paging), what it
sends to the customer and sales services (arguments and the caller's actor), and how it
answers with what they send back (headers, renamed field paths, problem+json, degraded
360 sections). What the services decide is asserted end to end in
test_gateway_e2e_services.py."""
import csv
import io
import json
import time

import pytest

from guanxi_common.errors import (BusinessRuleViolation, Conflict, Forbidden, NotFound,
                                  ServiceUnavailable, ValidationFailed)

from gateway_fake_kit import assert_problem
from gateway_records import (customer_record, customer_summary, history_entry, invoice,
                             order, order_summary, page, relationship, activity)


def company(name, **extra):
    return {"party_type": "company", "name": name, "province": "广东", **extra}


def created(record, warnings=()):
    return {"customer": record, "warnings": list(warnings)}


def test_create_sends_the_parsed_body_as_the_caller_and_answers_201_with_location(
        gateway, fake_pool):
    record = customer_record("C00000007", phones=[
        {"value": "+8675528780808", "label": None, "is_primary": True}], tier="A")
    fake_pool.reply("customer", "create", created(record))
    answer = gateway.call("POST", "rep", "/customers", headers={"X-Request-ID": "fe-1"},
                          json=company("深圳华为技术有限公司",
                                       phones=[{"value": "0755-2878 0808"}], tier="A"))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.headers["Location"] == "/api/v1/customers/C00000007"
    assert answer.get_json() == created(record)
    call = fake_pool.last("customer", "create")
    assert call.args == ({"party_type": "company", "name": "深圳华为技术有限公司", "province": "广东",
                          "phones": [{"value": "0755-2878 0808"}], "tier": "A"},)
    assert (call.actor.user_id, call.actor.roles, call.actor.region) == (
        "u-rep", frozenset({"sales_rep"}), "广东")
    assert call.context["request_id"] == "fe-1"

    warned = created(customer_record("C00000008"), [
        {"number": "C00000007", "name": "深圳华为技术有限公司", "score": 0.9,
         "reasons": ["same_normalized_company_name"]}])
    fake_pool.reply("customer", "create", warned)
    second = gateway.ok("POST", "rep", "/customers", 201, json=company("深圳华为技术股份有限公司"))
    assert [w["number"] for w in second["warnings"]] == ["C00000007"]
    assert second["warnings"][0]["reasons"] == ["same_normalized_company_name"]


def test_create_refusals_and_validation(gateway, fake_pool):
    fake_pool.fail("customer", "create", Conflict(
        "phone +8675528780808 already belongs to customer C00000007",
        {"existing_number": "C00000007",
         "conflicts": [{"field": "phones", "value": "+8675528780808",
                        "existing_number": "C00000007"}]}))
    refused = assert_problem(gateway.call("POST", "rep", "/customers", json=company(
        "另一家公司", phones=[{"value": "+86 755 2878 0808"}])), 409, "conflict")
    assert refused["existing_number"] == "C00000007"
    assert refused["conflicts"][0]["field"] == "phones"

    fake_pool.reply("customer", "check_duplicates", {"conflicts": [
        {"field": "phones", "value": "+8675528780808", "existing_number": "C00000007"}],
        "likely": []})
    checked = gateway.ok("POST", "rep", "/customers/duplicate-check",
                         json=company("深圳华为技术", phones=[{"value": "075528780808"}]))
    assert checked["conflicts"][0]["existing_number"] == "C00000007"
    assert fake_pool.last("customer", "check_duplicates").args[0]["name"] == "深圳华为技术"

    # the edge names the body's fields and calls nothing ...
    calls = len(fake_pool.calls)
    invalid = assert_problem(gateway.call("POST", "rep", "/customers", json={
        "party_type": "alien", "phones": [{"value": 1}], "tier": "Z", "extra": True}), 422)
    assert {"party_type", "name", "phones.0.value", "tier", "extra"} <= set(invalid["errors"])
    assert len(fake_pool.calls) == calls
    # the edge checks with the service's contract: phone numbers and party-type fields too
    for body, field in ((company("号码不对公司", phones=[{"value": "12345"}]), "phones.0.value"),
                        (company("性别公司", gender="male"), "gender")):
        refused = assert_problem(gateway.call("POST", "rep", "/customers", json=body), 422,
                                 "validation_failed")
        assert list(refused["errors"]) == [field]
    assert len(fake_pool.calls) == calls
    # ... and the service's field paths lose the name of its argument
    fake_pool.fail("customer", "create", ValidationFailed(
        "invalid customer.phones.0.value: not a phone number",
        {"customer.phones.0.value": ["not a phone number"]}))
    bad_phone = assert_problem(gateway.call("POST", "rep", "/customers", json=company(
        "号码不对公司", phones=[{"value": "13800000000"}])), 422, "validation_failed")
    assert list(bad_phone["errors"]) == ["phones.0.value"]
    assert "customer." not in bad_phone["detail"]
    assert fake_pool.last("customer", "create").args[0]["phones"] == [{"value": "13800000000"}]


def test_get_and_update_with_etag_and_if_match(gateway, fake_pool):
    fake_pool.reply("customer", "get", lambda number: customer_record(number.upper()))
    got = gateway.call("GET", "rep", "/customers/c00000007")
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    assert got.get_json()["number"] == "C00000007"
    assert fake_pool.last("customer", "get").args == ("c00000007",)

    fake_pool.fail("customer", "get", NotFound("customer C09999999 not found",
                                                {"number": "C09999999"}))
    assert_problem(gateway.call("GET", "rep", "/customers/C09999999"), 404, "not_found")
    fake_pool.fail("customer", "get", Forbidden("u-rep2 may not read customer C00000007"))
    assert_problem(gateway.call("GET", "rep2", "/customers/C00000007"), 403, "forbidden")
    assert fake_pool.last("customer", "get").actor.user_id == "u-rep2"

    fake_pool.reply("customer", "update", lambda number, changes: customer_record(
        number, version=changes.get("expected_version", 1) + 1, **{
            k: v for k, v in changes.items() if k != "expected_version"}))
    patched = gateway.call("PATCH", "rep", "/customers/C00000007",
                           json={"city": "深圳", "tags": ["vip"]}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["city"] == "深圳" and patched.headers["ETag"] == '"2"'
    assert fake_pool.last("customer", "update").args == (
        "C00000007", {"city": "深圳", "tags": ["vip"], "expected_version": 1})
    assert gateway.ok("PATCH", "rep", "/customers/C00000007",
                      json={"expected_version": 2, "tier": "B"})["version"] == 3
    assert fake_pool.last("customer", "update").args[1] == {"expected_version": 2, "tier": "B"}

    fake_pool.fail("customer", "update", Conflict(
        "customer C00000007 is at version 2, not 1", {"version": 2, "expected_version": 1}))
    stale = assert_problem(gateway.call("PATCH", "rep", "/customers/C00000007",
                                        json={"city": "广州"}, headers={"If-Match": '"1"'}), 409)
    assert stale["version"] == 2 and stale["expected_version"] == 1

    calls = len(fake_pool.calls)
    assert "If-Match" in assert_problem(gateway.call(
        "PATCH", "rep", "/customers/C00000007", json={}, headers={"If-Match": "nope"}),
        422)["errors"]
    assert "expected_version" in assert_problem(gateway.call(
        "PATCH", "rep", "/customers/C00000007", json={"expected_version": 3},
        headers={"If-Match": '"2"'}), 422)["errors"]
    assert "status" in assert_problem(gateway.call("PATCH", "rep", "/customers/C00000007",
                                                   json={"status": "merged"}), 422)["errors"]
    assert len(fake_pool.calls) == calls


def test_search_passes_criteria_and_pages(gateway, fake_pool):
    first, second = customer_record("C00000007"), customer_record("C00000008")
    fake_pool.reply("customer", "search", lambda criteria: page(
        [customer_summary(first), customer_summary(second)][
            (criteria["page"] - 1) * criteria["page_size"]:][:criteria["page_size"]],
        total=2, page_number=criteria["page"], page_size=criteria["page_size"]))
    found = gateway.ok("GET", "rep", "/customers", query_string={"q": "华为"})
    assert found["total"] == 2 and found["total_exact"] is True and found["page_size"] == 20
    assert fake_pool.last("customer", "search").args == (
        {"q": "华为", "page": 1, "page_size": 20},)
    second_page = gateway.ok("GET", "rep", "/customers",
                             query_string={"q": "华为", "page_size": 1, "page": 2})
    assert [c["number"] for c in second_page["items"]] == ["C00000008"]
    assert second_page["page"] == 2 and second_page["total"] == 2
    gateway.ok("GET", "rep", "/customers", query_string={"phone": "+86-755-28780808"})
    assert fake_pool.last("customer", "search").args[0]["phone"] == "+86-755-28780808"
    gateway.ok("GET", "rep", "/customers", query_string={"tag": "vip", "tier": "B"})
    assert fake_pool.last("customer", "search").args[0] == {
        "tag": "vip", "tier": "B", "page": 1, "page_size": 20}
    fake_pool.reply("customer", "search", page([], total=1200, total_exact=False))
    estimated = gateway.ok("GET", "rep2", "/customers", query_string={"q": "华为"})
    assert estimated["total_exact"] is False and estimated["total"] == 1200
    assert fake_pool.last("customer", "search").actor.user_id == "u-rep2"

    calls = len(fake_pool.calls)
    too_big = assert_problem(gateway.call("GET", "rep", "/customers",
                                          query_string={"page_size": 1000}), 422)
    assert "page_size" in too_big["errors"]
    bad_query = assert_problem(gateway.call("GET", "rep", "/customers", query_string={
        "status": "bogus", "in_pool": "maybe"}), 422)
    assert {"status", "in_pool"} <= set(bad_query["errors"])
    assert_problem(gateway.client.get("/api/v1/customers"), 401)
    assert len(fake_pool.calls) == calls


def test_roles_and_relationships(gateway, fake_pool):
    holding, branch = "C00000010", "C00000011"
    fake_pool.reply("customer", "role_types", [
        {"code": "sold_to", "label_en": "Sold-to party", "label_zh": "售达方"}])
    assert "sold_to" in {t["code"] for t in gateway.ok("GET", "rep", "/role-types")}
    fake_pool.reply("customer", "relationship_types", [
        {"code": "holding_of", "name": "holding of", "inverse_name": "held by",
         "inverse_code": "held_by", "name_zh": "控股", "inverse_name_zh": "被控股",
         "from_party_types": ["company"], "to_party_types": ["company"], "hierarchical": True}])
    assert "holding_of" in {t["code"] for t in gateway.ok("GET", "rep", "/relationship-types")}

    fake_pool.reply("customer", "add_role", lambda number, role: customer_record(
        number, roles=[role]))
    assert gateway.ok("POST", "admin", f"/customers/{holding}/roles",
                      json={"role": "sold_to"})["roles"] == ["sold_to"]
    assert fake_pool.last("customer", "add_role").args == (holding, "sold_to")
    fake_pool.reply("customer", "get", customer_record(holding, roles=["payer", "sold_to"]))
    assert gateway.ok("GET", "admin", f"/customers/{holding}/roles") == {
        "number": holding, "roles": ["payer", "sold_to"]}
    fake_pool.reply("customer", "remove_role", lambda number, role: customer_record(
        number, roles=["sold_to"]))
    assert gateway.ok("DELETE", "admin", f"/customers/{holding}/roles/payer")["roles"] == [
        "sold_to"]
    assert fake_pool.last("customer", "remove_role").args == (holding, "payer")
    fake_pool.fail("customer", "add_role", ValidationFailed(
        "unknown role wizard", {"roles.0": ["unknown role type"]}))
    assert "roles.0" in assert_problem(gateway.call("POST", "admin", f"/customers/{holding}/roles",
                                                    json={"role": "wizard"}), 422)["errors"]
    assert "role" in assert_problem(gateway.call("POST", "admin", f"/customers/{holding}/roles",
                                                 json={}), 422)["errors"]

    link = relationship(holding, branch, valid_from="2020-01-01")
    fake_pool.reply("customer", "add_relationship", link)
    answer = gateway.ok("POST", "admin", f"/customers/{holding}/relationships", 201,
                        json={"type": "holding_of", "to_customer": branch,
                              "valid_from": "2020-01-01"})
    assert answer["from_customer"] == holding and answer["valid_from"] == "2020-01-01"
    assert fake_pool.last("customer", "add_relationship").args == ({
        "type": "holding_of", "to_customer": branch, "valid_from": "2020-01-01",
        "from_customer": holding},)
    assert "valid_from" in assert_problem(gateway.call(
        "POST", "admin", f"/customers/{holding}/relationships",
        json={"type": "holding_of", "to_customer": branch, "valid_from": "2020-13-01"}),
        422)["errors"]
    fake_pool.fail("customer", "add_relationship", Conflict("that relationship exists"))
    assert_problem(gateway.call("POST", "admin", f"/customers/{holding}/relationships",
                                json={"type": "holding_of", "to_customer": branch}), 409)

    fake_pool.reply("customer", "relationships", lambda number, include_ended: (
        [relationship(holding, branch, direction="incoming")] if include_ended else []))
    assert gateway.ok("GET", "admin", f"/customers/{branch}/relationships") == []
    assert fake_pool.last("customer", "relationships").args == (branch, False)
    assert len(gateway.ok("GET", "admin", f"/customers/{branch}/relationships",
                          query_string={"include_ended": "true"})) == 1
    fake_pool.reply("customer", "group_tree", {
        "size": 2, "truncated": False,
        "root": {"number": holding, "name": "华南控股集团", "relationship": None,
                 "children": [{"number": branch, "name": "华南控股深圳分公司",
                               "relationship": "holding_of", "children": []}]}})
    tree = gateway.ok("GET", "admin", f"/customers/{holding}/group-tree")
    assert tree["size"] == 2 and tree["root"]["children"][0]["number"] == branch
    fake_pool.reply("customer", "end_relationship", lambda rid, valid_to: dict(
        link, valid_to=valid_to))
    ended = gateway.ok("POST", "admin", f"/relationships/{link['id']}/end",
                       json={"valid_to": "2024-12-31"})
    assert ended["valid_to"] == "2024-12-31"
    assert fake_pool.last("customer", "end_relationship").args == (link["id"], "2024-12-31")
    fake_pool.reply("customer", "remove_relationship", None)
    removed = gateway.call("DELETE", "admin", f"/relationships/{link['id']}")
    assert removed.status_code == 204 and removed.data == b""
    fake_pool.fail("customer", "remove_relationship", NotFound("no such relationship"))
    assert_problem(gateway.call("DELETE", "admin", f"/relationships/{link['id']}"), 404)


def test_merge_history_pool_credit_and_privacy(gateway, fake_pool):
    holding, victim, pooled = "C00000010", "C00000012", "C00000013"
    calls = len(fake_pool.calls)
    assert_problem(gateway.call("POST", "rep", f"/customers/{holding}/merge",
                                json={"victim": victim}), 403, "forbidden")
    assert "victim" in assert_problem(gateway.call("POST", "admin", f"/customers/{holding}/merge",
                                                   json={}), 422)["errors"]
    assert len(fake_pool.calls) == calls
    fake_pool.reply("customer", "merge", lambda survivor, merged, reason: {
        "survivor": customer_record(survivor),
        "victim": customer_record(merged, status="merged", merged_into=survivor)})
    merged = gateway.ok("POST", "admin", f"/customers/{holding}/merge",
                        json={"victim": victim, "reason": "duplicate"})
    assert merged["victim"]["status"] == "merged" and merged["victim"]["merged_into"] == holding
    assert fake_pool.last("customer", "merge").args == (holding, victim, "duplicate")
    fake_pool.fail("customer", "merge", BusinessRuleViolation(
        "a customer cannot be merged into itself", {"rule": "merge_into_self"}))
    assert_problem(gateway.call("POST", "admin", f"/customers/{holding}/merge",
                                json={"victim": holding}), 422, "business_rule_violation")

    fake_pool.reply("customer", "history", lambda number, page_number, size: page(
        [history_entry(9 - i, "relationship_removed" if i == 0 else "updated", "city")
         for i in range(size)], total=9, page_number=page_number, page_size=size))
    history = gateway.ok("GET", "auditor", f"/customers/{holding}/history",
                         query_string={"page_size": 3})
    assert len(history["items"]) == 3 and history["total"] > 3 and history["page_size"] == 3
    assert history["items"][0]["action"] == "relationship_removed"
    assert fake_pool.last("customer", "history").args == (holding, 1, 3)
    fake_pool.fail("customer", "history", Forbidden("u-rep may not read this history"))
    assert_problem(gateway.call("GET", "rep", f"/customers/{pooled}/history"), 403)

    fake_pool.reply("customer", "claim", lambda number: customer_record(
        number, owner_id="u-rep", in_pool=False))
    claimed = gateway.ok("POST", "rep", f"/customers/{pooled}/claim")
    assert claimed["owner_id"] == "u-rep" and claimed["in_pool"] is False
    assert fake_pool.last("customer", "claim").actor.user_id == "u-rep"
    fake_pool.fail("customer", "claim", BusinessRuleViolation(
        "customer is not in the pool", {"rule": "not_in_pool"}))
    assert assert_problem(gateway.call("POST", "rep2", f"/customers/{pooled}/claim"),
                          422)["rule"] == "not_in_pool"
    calls = len(fake_pool.calls)
    assert_problem(gateway.call("POST", "auditor", f"/customers/{pooled}/claim"), 403)
    assert_problem(gateway.call("POST", "rep", f"/customers/{pooled}/assign",
                                json={"owner_id": "u-rep"}), 403)
    assert len(fake_pool.calls) == calls
    fake_pool.reply("customer", "release", lambda number, reason: customer_record(
        number, owner_id=None, in_pool=True))
    assert gateway.ok("POST", "rep", f"/customers/{pooled}/release",
                      json={"reason": "released"})["in_pool"] is True
    assert fake_pool.last("customer", "release").args == (pooled, "released")
    fake_pool.reply("customer", "assign", lambda number, owner: customer_record(
        number, owner_id=owner))
    assert gateway.ok("POST", "manager", f"/customers/{pooled}/assign",
                      json={"owner_id": "u-rep2"})["owner_id"] == "u-rep2"
    assert fake_pool.last("customer", "assign").args == (pooled, "u-rep2")

    limit = {"credit_limit": "500000", "credit_policy": "block", "reason": "annual review"}
    assert_problem(gateway.call("PUT", "rep", f"/customers/{holding}/credit-limit", json=limit),
                   403)
    fake_pool.reply("customer", "set_credit_limit", lambda number, credit: customer_record(
        number, credit_limit=credit["credit_limit"], credit_policy=credit["credit_policy"]))
    credited = gateway.ok("PUT", "credit", f"/customers/{holding}/credit-limit", json=limit)
    assert credited["credit_limit"] == "500000.00" and credited["credit_policy"] == "block"
    assert fake_pool.last("customer", "set_credit_limit").args == (holding, {
        "credit_limit": "500000.00", "credit_policy": "block", "reason": "annual review"})
    assert "credit_limit" in assert_problem(gateway.call(
        "PUT", "credit", f"/customers/{holding}/credit-limit",
        json={"credit_limit": "-1", "credit_policy": "block"}), 422)["errors"]

    person = "C00000014"
    calls = len(fake_pool.calls)
    assert_problem(gateway.call("GET", "rep", f"/customers/{person}/privacy-export"), 403)
    assert_problem(gateway.call("POST", "admin", f"/customers/{person}/erase", json={}), 422)
    assert len(fake_pool.calls) == calls
    record = customer_record(person, party_type="person", name="张伟", birth_date="1985-03-02")
    fake_pool.reply("customer", "privacy_export", {
        "customer": record, "relationships": [], "history": [history_entry(1, "created")],
        "consent": {"marketing_consent": False}, "erasure": None})
    exported = gateway.ok("GET", "admin", f"/customers/{person}/privacy-export")
    assert exported["customer"]["birth_date"] == "1985-03-02" and exported["history"]
    fake_pool.reply("customer", "erase", lambda number, reason: dict(
        record, erased=True, phones=[], status="erased", name="已删除", birth_date=None))
    erased = gateway.ok("POST", "admin", f"/customers/{person}/erase",
                        json={"reason": "PIPL request #42"})
    assert erased["erased"] is True and erased["phones"] == [] and erased["status"] == "erased"
    assert fake_pool.last("customer", "erase").args == (person, "PIPL request #42")


def export_batches(lines_by_format, size):
    """``customer.export_batch(after, size, fmt)`` over fixed lines, ``size`` at a time."""
    def export_batch(after, batch_size, fmt):
        assert batch_size == size
        lines = lines_by_format[fmt]
        chunk = lines[after:after + batch_size]
        return {"lines": chunk, "next_after": after + len(chunk),
                "done": after + batch_size >= len(lines)}
    return export_batch


def test_export_streams_jsonl_and_csv_batch_by_batch(make_gateway, fake_pool):
    gateway = make_gateway(GATEWAY_EXPORT_BATCH_SIZE=2)
    numbers = [f"C0000002{i}" for i in range(5)]
    records = [dict(customer_record(n, name=f"导出测试{i}有限公司"), _format=1)
               for i, n in enumerate(numbers)]
    csv_lines = ["number,name"] + [f"{r['number']},{r['name']}" for r in records]
    fake_pool.reply("customer", "export_batch", export_batches(
        {"jsonl": [json.dumps(r, ensure_ascii=False) for r in records], "csv": csv_lines}, 2))

    response = gateway.call("GET", "auditor", "/customers/export", buffered=False)
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    assert response.is_streamed
    lines = response.get_data(as_text=True).splitlines()
    assert sorted(json.loads(line)["number"] for line in lines) == numbers
    assert all(json.loads(line)["_format"] == 1 for line in lines)
    # three batches of 2, each with its own client and the caller's actor
    batches = fake_pool.calls_to("customer", "export_batch")
    assert [c.args for c in batches] == [(0, 2, "jsonl"), (2, 2, "jsonl"), (4, 2, "jsonl")]
    assert {c.actor.user_id for c in batches} == {"u-auditor"}

    response = gateway.call("GET", "auditor", "/customers/export",
                            query_string={"format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="customers.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(row["number"] for row in rows) == numbers
    assert {row["name"] for row in rows} >= {"导出测试0有限公司"}

    calls = len(fake_pool.calls)
    assert_problem(gateway.call("GET", "rep", "/customers/export"), 403)
    assert "format" in assert_problem(gateway.call("GET", "auditor", "/customers/export",
                                                   query_string={"format": "xml"}),
                                      422)["errors"]
    assert len(fake_pool.calls) == calls
    # a refusal of the first batch is still a problem, not a broken 200
    fake_pool.fail("customer", "export_batch", Forbidden("regional callers only"))
    assert_problem(gateway.call("GET", "auditor", "/customers/export"), 403)


def answer_360(pool, number, partner="C00000031"):
    """The customer and sales services' answers for ``number``'s 360 view."""
    profile = customer_record(number, name="三百六十度测试有限公司", owner_id="u-rep",
                              roles=["bill_to", "payer", "ship_to", "sold_to"], status="active")
    shipped = order("SO-2026-000001", "shipped", sold_to=number,
                    ordered_at="2026-03-01T08:00:00.000000Z")
    confirmed = order("SO-2026-000002", "confirmed", sold_to=number,
                      ordered_at="2026-03-02T08:00:00.000000Z")
    orders = {"shipped": [shipped], "confirmed": [confirmed]}
    bill = invoice("INV-2026-000001", shipped["number"], number)
    pool.reply("customer", "get", profile)
    pool.reply("customer", "relationships", [relationship(number, partner)])
    pool.reply("sales", "list_orders", lambda criteria: page(
        [order_summary(o) for o in orders.get(criteria["status"], [])],
        page_size=criteria["page_size"]))
    pool.reply("sales", "list_invoices", lambda criteria: page(
        [bill] if criteria["status"] == "open" else [], page_size=criteria["page_size"]))
    pool.reply("sales", "list_activities", lambda criteria: page(
        [activity("电话回访", profile["id"])], page_size=criteria["page_size"]))
    return profile, bill


def test_customer_360_assembles_the_sections_and_degrades_without_sales(gateway, fake_pool):
    number = "C00000030"
    profile, bill = answer_360(fake_pool, number)
    view = gateway.ok("GET", "rep", f"/customers/{number.lower()}/360")
    assert view["complete"] is True and view["number"] == number
    assert view["profile"]["available"] and view["profile"]["customer"]["name"] == profile["name"]
    assert view["roles"] == {"available": True, "items": ["bill_to", "payer", "ship_to", "sold_to"]}
    assert view["owner"]["owner_id"] == "u-rep" and view["owner"]["in_pool"] is False
    assert [r["to_customer"] for r in view["relationships"]["items"]] == ["C00000031"]
    orders = view["open_orders"]
    assert orders["available"] and orders["total"] == 2
    assert [o["number"] for o in orders["items"]] == ["SO-2026-000002", "SO-2026-000001"]
    assert [i["number"] for i in view["receivables"]["items"]] == [bill["number"]]
    assert view["receivables"]["outstanding"] == {"CNY": "113.00"}
    assert view["recent_activities"]["total"] == 1
    assert view["recent_activities"]["items"][0]["subject"] == "电话回访"
    # what the gateway asked, each section as the caller, numbers upper-cased for sales
    assert fake_pool.last("customer", "get").args == (number,)
    assert fake_pool.last("customer", "relationships").args == (number, False)
    assert sorted(c.args[0]["status"] for c in fake_pool.calls_to("sales", "list_orders")) == [
        "confirmed", "credit_hold", "invoiced", "shipped"]
    assert {c.args[0]["customer"] for c in fake_pool.calls_to("sales")} == {number}
    assert {c.actor.user_id for c in fake_pool.calls} == {"u-rep"}

    # the same view by phone: the search first, then the number it found
    fake_pool.reply("customer", "search", lambda criteria: page(
        [customer_summary(profile)] if criteria["phone"] == "+86 139-0000-1111" else []))
    by_phone = gateway.ok("GET", "rep", "/lookup", query_string={"phone": "+86 139-0000-1111"})
    assert by_phone["number"] == number and by_phone["open_orders"]["total"] == 2
    assert fake_pool.last("customer", "search").args == (
        {"phone": "+86 139-0000-1111", "page_size": 1},)
    assert_problem(gateway.call("GET", "rep", "/lookup",
                                query_string={"phone": "13800000000"}), 404)
    assert "phone" in assert_problem(gateway.call("GET", "rep", "/lookup"), 422)["errors"]

    # a refusal of the profile is the answer
    fake_pool.fail("customer", "get", NotFound("customer C09999999 not found"))
    assert_problem(gateway.call("GET", "rep", "/customers/C09999999/360"), 404)
    fake_pool.fail("customer", "get", Forbidden("u-rep2 may not read customer C00000030"))
    assert_problem(gateway.call("GET", "rep2", f"/customers/{number}/360"), 403)

    # sales down: its sections are marked unavailable, the rest is served
    fake_pool.reply("customer", "get", profile)
    fake_pool.down("sales")
    started = time.monotonic()
    degraded = gateway.ok("GET", "rep", f"/customers/{number}/360")
    assert time.monotonic() - started < 1.0
    assert degraded["complete"] is False
    for section in ("open_orders", "receivables", "recent_activities"):
        assert degraded[section] == {"available": False, "error": "sales unavailable"}
    assert degraded["profile"]["available"] and degraded["roles"]["available"]
    assert degraded["relationships"]["available"]


def test_customer_360_without_the_customer_service_still_answers_sales(gateway, fake_pool):
    number = "C00000030"
    answer_360(fake_pool, number)
    fake_pool.fail("customer", "get", ServiceUnavailable("customer.get did not answer",
                                                          {"service": "customer"}))
    fake_pool.fail("customer", "relationships", ServiceUnavailable(
        "customer.relationships did not answer", {"service": "customer"}))
    view = gateway.ok("GET", "rep", f"/customers/{number}/360")
    assert view["complete"] is False and view["number"] == number
    for section in ("profile", "roles", "owner", "relationships"):
        assert view[section] == {"available": False, "error": "customer unavailable"}
    assert view["open_orders"]["available"] and view["open_orders"]["total"] == 2


@pytest.mark.parametrize("error, status, code, member", [
    (NotFound("customer C00000001 not found", {"number": "C00000001"}), 404, "not_found",
     ("number", "C00000001")),
    (ValidationFailed("invalid number", {"number": ["not a customer number"]}), 422,
     "validation_failed", ("errors", {"number": ["not a customer number"]})),
    (Conflict("merged into C00000002", {"existing_number": "C00000002"}), 409, "conflict",
     ("existing_number", "C00000002")),
    (Forbidden("out of your region", {"customer": "C00000001"}), 403, "forbidden",
     ("customer", "C00000001")),
    (BusinessRuleViolation("blocked customer", {"rule": "customer_blocked"}), 422,
     "business_rule_violation", ("rule", "customer_blocked")),
    (ServiceUnavailable("customer.get did not answer within 5 s",
                        {"service": "customer", "method": "get", "timeout": 5}), 503,
     "service_unavailable", ("service", "customer")),
])
def test_a_service_refusal_leaves_as_problem_json(gateway, fake_pool, error, status, code,
                                                  member):
    fake_pool.fail("customer", "get", error)
    response = gateway.call("GET", "rep", "/customers/C00000001",
                            headers={"X-Request-ID": "req-77"})
    body = assert_problem(response, status, code)
    assert body[member[0]] == member[1]
    assert body["request_id"] == "req-77" and body["instance"] == "/api/v1/customers/C00000001"
    if status == 503:
        assert response.headers["Retry-After"] == "1" and "method" not in body


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
