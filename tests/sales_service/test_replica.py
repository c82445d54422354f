"""The customer replica on a real database, without the broker: events applied in version
order, merges re-pointing sales records, erasure, the one-time catch-up from the export."""
import json
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from guanxi_common.errors import NotFound, ValidationFailed
from sales.adapters.repository import caught_up_at
from sales.application import replica
from sales.queries import replica as replica_queries
from sales.adapters.models import (Activity, CustomerReplica, Invoice, Opportunity, Order, Payment,
                          PipelineStage, Quote)

from sales_testkit import ADMIN, add_customer

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def record(customer_id, number, version, **changes):
    """A CustomerOut as the customer service sends it (with fields sales does not keep)."""
    base = {"id": customer_id, "number": number, "party_type": "company",
            "name": "深圳华为技术有限公司", "status": "active", "tier": "A", "province": "广东",
            "city": "深圳", "owner_id": "rep-1", "in_pool": False, "tags": ["vip"],
            "roles": ["payer", "sold_to"], "phones": [{"value": "+8675528780808",
                                                       "label": "office", "is_primary": True}],
            "emails": [], "addresses": [], "preferences": {}, "marketing_consent": False,
            "credit_limit": "500000.00", "credit_currency": "CNY", "credit_policy": "block",
            "merged_into": None, "erased": False, "version": version,
            "created_at": "2026-11-23T10:00:00+00:00", "updated_at": "2026-11-23T10:00:00+00:00"}
    base.update(changes)
    return base


def event(event_type, customer_id, number, version, data):
    return {"event_id": str(uuid.uuid4()), "type": event_type, "schema_version": 1,
            "occurred_at": "2026-11-23T10:00:00.000Z", "source": "customer",
            "aggregate": {"type": "customer", "id": customer_id, "number": number,
                          "version": version},
            "actor": {"user_id": "admin-1", "request_id": "r-1"}, "data": data}


def snapshot_event(event_type, rec, version=None):
    version = rec["version"] if version is None else version
    return event(event_type, rec["id"], rec["number"], version,
                 {"changed_fields": ["name"], "customer": rec})


def new_ids(n=1):
    """Fresh (id, number) pairs, unique across tests on a shared database."""
    out = []
    for _ in range(n):
        u = uuid.uuid4()
        out.append((str(u), f"C{u.int % 10**9:09d}"))
    return out


def apply(uow, evt):
    with uow:
        return replica.apply_event(uow, evt)


def row(uow, customer_id):
    with uow:
        return uow.session.get(CustomerReplica, customer_id)


def test_created_then_updated_then_stale_versions_ignored(sales_uow):
    uow = sales_uow(ADMIN)
    (cid, number), = new_ids()
    assert apply(uow, snapshot_event("customer.created", record(cid, number, 1)))
    got = row(uow, cid)
    assert (got.number, got.name, got.status, got.roles) == (number, "深圳华为技术有限公司",
                                                             "active", ["payer", "sold_to"])
    assert got.credit_limit == Decimal("500000.00") and got.credit_policy == "block"
    assert (got.province, got.city, got.tier, got.owner_id, got.version) == (
        "广东", "深圳", "A", "rep-1", 1)

    assert apply(uow, snapshot_event("customer.updated", record(cid, number, 3, name="华为",
                                                                 credit_limit=None)))
    # out of order: version 2 arrives after 3, and 3 again (a redelivery by another path)
    assert not apply(uow, snapshot_event("customer.updated", record(cid, number, 2, name="旧名")))
    assert not apply(uow, snapshot_event("customer.updated", record(cid, number, 3, name="重复")))
    got = row(uow, cid)
    assert (got.name, got.credit_limit, got.version) == ("华为", None, 3)


def test_an_update_before_its_create_makes_the_row(sales_uow):
    uow = sales_uow(ADMIN)
    (cid, number), = new_ids()
    assert apply(uow, snapshot_event("customer.updated", record(cid, number, 2, name="新名")))
    assert not apply(uow, snapshot_event("customer.created", record(cid, number, 1)))
    assert row(uow, cid).name == "新名"


def test_owner_changed_shares_the_version_of_its_update(sales_uow):
    uow = sales_uow(ADMIN)
    (cid, number), = new_ids()
    apply(uow, snapshot_event("customer.created", record(cid, number, 1)))

    # owner_changed of version 2 before the customer.updated of version 2: both apply
    changed = event("customer.owner_changed", cid, number, 2,
                    {"old_owner_id": "rep-1", "new_owner_id": "rep-2", "reason": "assigned"})
    assert apply(uow, changed)
    assert (row(uow, cid).owner_id, row(uow, cid).version) == ("rep-2", 1)
    assert apply(uow, snapshot_event("customer.updated",
                                     record(cid, number, 2, owner_id="rep-2", tier="B")))
    assert (row(uow, cid).tier, row(uow, cid).version) == ("B", 2)

    # a late owner change of version 2 after the update of version 2: ignored
    assert apply(uow, snapshot_event("customer.updated", record(cid, number, 3, owner_id=None)))
    assert not apply(uow, changed)
    assert row(uow, cid).owner_id is None

    # released at version 4, then a late owner change of version 3 before the update of
    # version 4: applied for a while (the replica is at 3), the update of 4 settles it
    released = event("customer.owner_changed", cid, number, 4,
                     {"old_owner_id": None, "new_owner_id": None, "reason": "released"})
    late = event("customer.owner_changed", cid, number, 3,
                 {"old_owner_id": None, "new_owner_id": "rep-3", "reason": "claimed"})
    assert apply(uow, released) and apply(uow, late)
    assert row(uow, cid).owner_id == "rep-3"
    assert apply(uow, snapshot_event("customer.updated", record(cid, number, 4, owner_id=None)))
    assert row(uow, cid).owner_id is None
    # an owner change of a customer sales does not know yet is left to its customer.updated
    (other, other_number), = new_ids()
    assert not apply(uow, event("customer.owner_changed", other, other_number, 2,
                                {"old_owner_id": None, "new_owner_id": "rep-1",
                                 "reason": "claimed"}))


def _sales_records_of(session, customer_id):
    """One row of every kind that points at a customer, with the fewest fields allowed."""
    if session.get(PipelineStage, "lead") is None:
        session.add(PipelineStage(code="lead", name="线索", position=1,
                                  probability=Decimal("0.1")))
    tag = uuid.uuid4().hex[:10]
    zero = Decimal("0")
    opp = Opportunity(id=str(uuid.uuid4()), number=f"OP-{tag}", customer_id=customer_id,
                      owner_id="rep-1", title="机会", amount=Decimal("1000"), stage_code="lead",
                      created_at=NOW, updated_at=NOW)
    quote = Quote(id=str(uuid.uuid4()), number=f"QT-{tag}", customer_id=customer_id,
                  owner_id="rep-1", valid_until=date(2026, 12, 31), status="draft", net=zero,
                  tax=zero, gross=zero, created_at=NOW, updated_at=NOW)
    order = Order(id=str(uuid.uuid4()), number=f"SO-{tag}", sold_to_id=customer_id,
                  ship_to_id=customer_id, bill_to_id=customer_id, payer_id=customer_id,
                  status="confirmed", net=zero, tax=zero, gross=Decimal("100"), cost=zero,
                  margin=zero, credit_outcome="pass", ordered_at=NOW, created_by="rep-1",
                  created_at=NOW, updated_at=NOW)
    session.add_all([opp, quote, order])
    session.flush()
    invoice = Invoice(id=str(uuid.uuid4()), number=f"INV-{tag}", order_id=order.id,
                      customer_id=customer_id, amount=Decimal("100"), outstanding=Decimal("50"),
                      issue_date=date(2026, 11, 23), terms_days=30, due_date=date(2026, 12, 23),
                      status="partially_paid", created_at=NOW)
    session.add(invoice)
    session.flush()
    payment = Payment(id=str(uuid.uuid4()), number=f"PAY-{tag}", invoice_id=invoice.id,
                      customer_id=customer_id, amount=Decimal("50"), received_at=NOW,
                      created_by="rep-1", created_at=NOW)
    activity = Activity(id=str(uuid.uuid4()), kind="visit", customer_id=customer_id,
                        owner_id="rep-1", subject="拜访", created_at=NOW)
    session.add_all([payment, activity])
    session.flush()
    return {"opportunity": opp.id, "quote": quote.id, "order": order.id, "invoice": invoice.id,
            "payment": payment.id, "activity": activity.id}


def _pointers(session, ids):
    order = session.get(Order, ids["order"])
    return {"opportunity": session.get(Opportunity, ids["opportunity"]).customer_id,
            "quote": session.get(Quote, ids["quote"]).customer_id,
            "order": {order.sold_to_id, order.ship_to_id, order.bill_to_id, order.payer_id},
            "invoice": session.get(Invoice, ids["invoice"]).customer_id,
            "payment": session.get(Payment, ids["payment"]).customer_id,
            "activity": session.get(Activity, ids["activity"]).customer_id}


def test_merge_repoints_every_sales_record_to_the_survivor(sales_uow):
    uow = sales_uow(ADMIN)
    with uow:
        survivor = add_customer(uow.session)
        victim = add_customer(uow.session, version=4)
        bystander = add_customer(uow.session)
        ids = _sales_records_of(uow.session, victim.id)
        untouched = _sales_records_of(uow.session, bystander.id)
        survivor_id, victim_id, bystander_id = survivor.id, victim.id, bystander.id
        survivor_number, victim_number = survivor.number, victim.number
    merged = event("customer.merged", survivor_id, survivor_number, 2,
                   {"survivor": {"id": survivor_id, "number": survivor_number},
                    "victim": {"id": victim_id, "number": victim_number},
                    "relationships_moved": 0, "reason": "same legal entity"})
    assert apply(uow, merged)
    with uow:
        session = uow.session
        assert _pointers(session, ids) == {
            "opportunity": survivor_id, "quote": survivor_id, "order": {survivor_id},
            "invoice": survivor_id, "payment": survivor_id, "activity": survivor_id}
        assert _pointers(session, untouched)["order"] == {bystander_id}
        gone = session.get(CustomerReplica, victim_id)
        assert (gone.status, gone.merged_into_id) == ("merged", survivor_id)

    # the victim's own customer.updated (merged_into is the survivor's *number*) may come
    # late, and an older snapshot must not revive it
    assert apply(uow, snapshot_event("customer.updated", record(
        victim_id, victim_number, 5, status="merged", merged_into=survivor_number, roles=[])))
    assert (row(uow, victim_id).merged_into_id, row(uow, victim_id).status) == (survivor_id,
                                                                                "merged")
    # (version 6 cannot happen for a merged customer; it stands for "newer than the merge")
    assert apply(uow, snapshot_event("customer.updated", record(victim_id, victim_number, 6)))
    assert (row(uow, victim_id).status, row(uow, victim_id).merged_into_id) == ("merged",
                                                                                survivor_id)


def test_merge_into_an_unknown_survivor(sales_uow):
    uow = sales_uow(ADMIN)
    (survivor_id, survivor_number), = new_ids()
    with uow:
        lonely = add_customer(uow.session)
        busy = add_customer(uow.session)
        _sales_records_of(uow.session, busy.id)
        lonely_id, lonely_number, busy_id, busy_number = (lonely.id, lonely.number, busy.id,
                                                          busy.number)

    def merged(victim_id, victim_number):
        return event("customer.merged", survivor_id, survivor_number, 3,
                     {"survivor": {"id": survivor_id, "number": survivor_number},
                      "victim": {"id": victim_id, "number": victim_number}})

    # nothing points at the victim: it is marked, the survivor's events come later
    assert apply(uow, merged(lonely_id, lonely_number))
    assert row(uow, lonely_id).merged_into_id == survivor_id
    # its records cannot point at a customer sales does not know: retried later
    with pytest.raises(NotFound):
        apply(uow, merged(busy_id, busy_number))
    assert row(uow, busy_id).status == "active"  # rolled back
    # a victim sales never knew: nothing to do
    (ghost, ghost_number), = new_ids()
    assert not apply(uow, merged(ghost, ghost_number))


def test_victim_snapshot_before_the_merge_event_keeps_the_number_until_then(sales_uow):
    uow = sales_uow(ADMIN)
    (survivor_id, survivor_number), (victim_id, victim_number) = new_ids(2)
    apply(uow, snapshot_event("customer.created", record(victim_id, victim_number, 1)))
    apply(uow, snapshot_event("customer.updated", record(
        victim_id, victim_number, 2, status="merged", merged_into=survivor_number)))
    assert row(uow, victim_id).merged_into_id == survivor_number  # survivor unknown yet
    apply(uow, event("customer.merged", survivor_id, survivor_number, 2,
                     {"survivor": {"id": survivor_id, "number": survivor_number},
                      "victim": {"id": victim_id, "number": victim_number}}))
    assert row(uow, victim_id).merged_into_id == survivor_id


def test_merge_chains_point_at_the_live_survivor(sales_uow):
    uow = sales_uow(ADMIN)
    with uow:
        a, b, c = (add_customer(uow.session) for _ in range(3))
        refs = {x: (x.id, x.number) for x in (a, b, c)}
    for survivor, victim in ((b, a), (c, b)):
        apply(uow, event("customer.merged", refs[survivor][0], refs[survivor][1], 2,
                         {"survivor": dict(zip(("id", "number"), refs[survivor])),
                          "victim": dict(zip(("id", "number"), refs[victim]))}))
    assert row(uow, refs[a][0]).merged_into_id == refs[c][0]
    assert row(uow, refs[b][0]).merged_into_id == refs[c][0]


def test_erased_removes_the_personal_data(sales_uow):
    uow = sales_uow(ADMIN)
    (cid, number), = new_ids()
    apply(uow, snapshot_event("customer.created",
                              record(cid, number, 1, party_type="person", name="张伟")))
    with uow:
        uow.session.add(Activity(id=str(uuid.uuid4()), kind="visit", customer_id=cid,
                                 owner_id="rep-1", subject="拜访张伟", notes="张伟的手机 13800000000",
                                 created_at=datetime.now(timezone.utc)))
    erased = event("customer.erased", cid, number, 4,
                   {"customer": {"id": cid, "number": number}, "reason": "PIPL request #42"})
    assert apply(uow, erased)
    got = row(uow, cid)
    assert (got.name, got.erased, got.status, got.version) == (f"已删除 {number}", True,
                                                               "erased", 4)
    # what business records need stays
    assert (got.number, got.roles, got.credit_limit) == (number, ["payer", "sold_to"],
                                                         Decimal("500000.00"))
    visit = uow.session.scalars(select(Activity).where(Activity.customer_id == cid)).one()
    assert "张伟" not in visit.subject and visit.notes is None
    # a late snapshot with the name must not bring it back
    assert not apply(uow, snapshot_event("customer.updated",
                                         record(cid, number, 3, party_type="person", name="张伟")))
    assert row(uow, cid).name == f"已删除 {number}"


def test_erased_before_anything_else_leaves_a_tombstone(sales_uow):
    uow = sales_uow(ADMIN)
    (cid, number), = new_ids()
    assert apply(uow, event("customer.erased", cid, number, 5,
                            {"customer": {"id": cid, "number": number}, "reason": "r"}))
    assert not apply(uow, snapshot_event("customer.created",
                                         record(cid, number, 1, party_type="person", name="李娜")))
    got = row(uow, cid)
    assert (got.name, got.erased, got.status) == (f"已删除 {number}", True, "erased")


def test_unknown_types_are_ignored(sales_uow):
    uow = sales_uow(ADMIN)
    (cid, number), = new_ids()
    assert not apply(uow, event("customer.renamed_in_the_future", cid, number, 1, {}))


def test_a_blank_name_stored_before_names_were_trimmed_does_not_wedge_the_customer(sales_uow):
    """The customer service once accepted a whitespace-only name and stored ``""``; its
    events must still apply, or every later update of that customer would be parked."""
    uow = sales_uow(ADMIN)
    (cid, number), = new_ids()
    assert apply(uow, snapshot_event("customer.created", record(cid, number, 1, name="")))
    assert apply(uow, snapshot_event("customer.updated", record(cid, number, 2, name="王芳")))
    assert row(uow, cid).name == "王芳"


@pytest.mark.parametrize("make", [
    lambda cid, n: "not an event",
    lambda cid, n: event("customer.updated", cid, n, 2, {"changed_fields": []}),
    lambda cid, n: event("customer.updated", cid, n, 2,
                         {"customer": record(str(uuid.uuid4()), n, 2)}),
    lambda cid, n: event("customer.created", cid, n, 1,
                         {"customer": record(cid, n, 1, credit_limit="lots")}),
    lambda cid, n: event("customer.created", cid, n, 1,
                         {"customer": record(cid, n, 1, party_type="robot")}),
    lambda cid, n: {**event("customer.updated", cid, n, None, {"customer": {
        k: v for k, v in record(cid, n, 1).items() if k != "version"}})},
    lambda cid, n: event("customer.owner_changed", cid, n, None, {"new_owner_id": "rep-1"}),
    lambda cid, n: event("customer.owner_changed", cid, n, 2, {"reason": "claimed"}),
    lambda cid, n: event("customer.merged", cid, n, 2, {"survivor": {"id": cid, "number": n}}),
    lambda cid, n: event("customer.merged", cid, n, 2, {"survivor": {"id": cid, "number": n},
                                                        "victim": {"id": cid, "number": n}}),
    lambda cid, n: event("customer.erased", cid, n, 2, {"customer": {"id": "other",
                                                                     "number": n}}),
    lambda cid, n: event("customer.erased", cid, n, "7", {"customer": {"id": cid, "number": n}}),
], ids=["not-a-dict", "no-record", "other-customer", "bad-money", "bad-party",
        "no-version", "owner-no-version", "owner-no-owner", "merge-no-victim", "merge-self",
        "erase-other", "erase-bad-version"])
def test_malformed_events_raise_validation_failed(sales_uow, make):
    uow = sales_uow(ADMIN)
    (cid, number), = new_ids()
    with pytest.raises(ValidationFailed):
        apply(uow, make(cid, number))
    assert row(uow, cid) is None


class FakeExport:
    """customer.export_batch over a list of records, keyset-paginated like the real one."""

    def __init__(self, records, limit):
        self.records, self.limit, self.calls = records, limit, []

    def __call__(self, after):
        self.calls.append(after)
        page = self.records[after:after + self.limit]
        return {"lines": [json.dumps({"_format": 1, **r}, ensure_ascii=False) for r in page],
                "next_after": after + len(page), "done": len(page) < self.limit,
                "format": "jsonl", "format_version": 1}


def test_catch_up_fills_the_replica_in_batches_once(sales_uow):
    uow = sales_uow(ADMIN)
    pairs = new_ids(5)
    # one customer the events brought already, newer than the export's copy
    apply(uow, snapshot_event("customer.updated", record(*pairs[0], 7, name="事件里的名字")))
    export = FakeExport([record(cid, number, 3, name=f"客户{i}")
                         for i, (cid, number) in enumerate(pairs)], limit=2)
    assert replica.catch_up(uow, export) == 4
    assert export.calls == [0, 2, 4]
    with uow:
        names = {r.id: r.name for r in uow.session.scalars(select(CustomerReplica).where(
            CustomerReplica.id.in_([cid for cid, _ in pairs])))}
        status = replica_queries.status(uow.session)
    assert names == {pairs[0][0]: "事件里的名字",
                     **{cid: f"客户{i}" for i, (cid, _) in enumerate(pairs) if i}}
    assert status["caught_up"] and status["customers"] >= 5 and status["max_version"] >= 7

    again = FakeExport([], limit=2)
    assert replica.catch_up(uow, again) is None
    assert again.calls == []


def test_catch_up_of_an_empty_customer_service_is_done_too(sales_uow):
    uow = sales_uow(ADMIN)
    export = FakeExport([], limit=1000)
    assert replica.catch_up(uow, export) == 0
    assert replica.catch_up(uow, export) is None
    assert export.calls == [0]


def test_catch_up_that_fails_midway_keeps_what_it_had_and_starts_over(sales_uow):
    uow = sales_uow(ADMIN)
    pairs = new_ids(3)
    records = [record(cid, number, 1) for cid, number in pairs]
    export = FakeExport(records, limit=2)

    def broken(after):
        if after:
            raise RuntimeError("customer service went away")
        return export(after)

    with pytest.raises(RuntimeError):
        replica.catch_up(uow, broken)
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(CustomerReplica).where(
            CustomerReplica.id.in_([cid for cid, _ in pairs]))) == 2
        assert caught_up_at(uow.session) is None
    assert replica.catch_up(uow, export) == 1  # the first two are not newer: ignored


def test_catch_up_refuses_lines_it_does_not_understand(sales_uow):
    uow = sales_uow(ADMIN)
    with pytest.raises(ValidationFailed):
        replica.catch_up(uow, lambda after: {"lines": ["{not json"], "next_after": 1,
                                             "done": True})
    with pytest.raises(ValidationFailed):
        replica.catch_up(uow, lambda after: {"lines": ['{"_format": 2, "id": "x"}'],
                                             "next_after": 1, "done": True})
    with uow:
        assert caught_up_at(uow.session) is None
