"""The funnel's application layer on a real database (SQLite and PostgreSQL), no broker:
products, the pipeline, opportunities, quotes → orders, activities and visit plans."""
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from guanxi_common.contracts.customer import ActivityLoggedIn
from guanxi_common.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound, ValidationFailed
from guanxi_common.messaging_models import outbox_events
from guanxi_common.validation import load
from sales.adapters.records import quote_record
from sales.adapters.repository import load_pipeline
from sales.application import activities, opportunities, products, quotes
from sales.queries import activities as activity_queries
from sales.queries import opportunities as opportunity_queries
from sales.queries import products as product_queries
from sales.queries import quotes as quote_queries
from sales.domain.funnel import DEFAULT_PIPELINE
from sales.adapters.models import Order, PipelineStage, Quote
from guanxi_common.contracts.sales.activities import ActivityCompleteSchema, ActivityLogSchema
from guanxi_common.contracts.sales.activities import VisitPlanIn as VisitPlanSchema
from guanxi_common.contracts.sales.opportunities import OpportunityCreateSchema, StageSchema
from guanxi_common.contracts.sales.products import ProductCreateSchema, ProductUpdateSchema
from guanxi_common.contracts.sales.quotes import QuoteCreateSchema

from sales_testkit import ADMIN, MANAGER, REP, REP2, add_customer

SHANGHAI = timezone(timedelta(hours=8))


def events(uow, event_type=None):
    rows = uow.session.execute(select(outbox_events.c.payload).order_by(outbox_events.c.id)).all()
    found = [json.loads(r[0]) for r in rows]
    return [e for e in found if event_type is None or e["type"] == event_type]


def customer(uow, **fields):
    with uow:
        return add_customer(uow.session, **fields)


def product(uow, **fields):
    fields.setdefault("sku", "GX-100")
    fields.setdefault("name", "工业传感器")
    fields.setdefault("list_price", "100.00")
    data = load(ProductCreateSchema(), fields)
    with uow:
        return products.create_product(uow, data)


def opportunity(uow, customer_ref, **fields):
    fields.setdefault("title", "年度采购")
    fields.setdefault("amount", "50000.00")
    data = load(OpportunityCreateSchema(), dict(fields, customer=customer_ref))
    with uow:
        return opportunities.create_opportunity(uow, data)


def quote(uow, customer_ref, lines, **fields):
    data = load(QuoteCreateSchema(), dict(fields, customer=customer_ref, lines=lines))
    with uow:
        return quotes.create_quote(uow, data)


def rule_of(uow, call, *args, **kwargs):
    """The rule ``call(uow, ...)`` breaks; its transaction is rolled back."""
    with pytest.raises(BusinessRuleViolation) as err:
        with uow:
            call(uow, *args, **kwargs)
    return err.value.rule


# ---- products and the pipeline ------------------------------------------------------------------

def test_product_sku_is_unique_and_the_catalogue_is_for_managers(sales_uow):
    admin = sales_uow(ADMIN)
    first = product(admin, sku=" gx-100 ", unit_cost="60.00", tax_rate="0.13", unit="台")
    assert (first.sku, first.list_price, first.unit_cost, first.tax_rate) == \
        ("GX-100", Decimal("100.00"), Decimal("60.00"), Decimal("0.13"))
    with pytest.raises(Conflict) as err:
        product(admin, sku="GX-100", name="另一个")
    assert err.value.details == {"sku": "GX-100"}
    other = product(sales_uow(MANAGER), sku="GX-200", name="控制器", list_price="80")
    with pytest.raises(Conflict), admin:
        products.update_product(admin, other.sku,
                                load(ProductUpdateSchema(), {"sku": "gx-100"}, partial=True))
    with pytest.raises(Forbidden):
        product(sales_uow(REP), sku="GX-300")
    with admin:
        products.deactivate_product(admin, "GX-200")
    listed = product_queries.list_products(admin.session, {"q": "gx"})
    assert [p.sku for p in listed["items"]] == ["GX-100"] and listed["total"] == 1
    assert product_queries.list_products(admin.session, {"active": None, "q": "控制"})["items"][0].active is False
    with pytest.raises(ValidationFailed) as err:
        load(ProductCreateSchema(), {"sku": "X", "name": "x", "list_price": "1.005", "tax_rate": "13"})
    assert set(err.value.details) == {"list_price", "tax_rate"}


def test_default_pipeline_is_loaded_and_admins_define_stages(sales_uow):
    admin = sales_uow(ADMIN)
    pipeline = load_pipeline(admin.session)
    assert [s.code for s in pipeline] == [s.code for s in DEFAULT_PIPELINE]
    assert pipeline[2].probability == Decimal("0.5")
    stage = {"code": "demo", "name": "产品演示", "position": 25, "probability": "0.35"}
    with pytest.raises(Forbidden), sales_uow(MANAGER) as uow:
        opportunities.define_stage(uow, load(StageSchema(), stage))
    with admin:
        opportunities.define_stage(admin, load(StageSchema(), stage))
    assert [s.code for s in load_pipeline(admin.session)][:4] == \
        ["lead", "qualified", "demo", "proposal"]
    broken = load(StageSchema(), {"code": "won", "name": "Won", "position": 50, "probability": "0.9",
                                  "is_won": True})
    assert rule_of(admin, opportunities.define_stage, broken) == "invalid_pipeline"
    assert admin.session.get(PipelineStage, "won").probability == Decimal("1")


# ---- opportunities ----------------------------------------------------------------------------

def test_stage_moves_are_recorded_with_time_and_actor_and_closed_is_final(sales_uow):
    rep = sales_uow(REP)
    c = customer(rep)
    opp = opportunity(rep, c.number, expected_close="2026-12-31", source_text="展会")
    assert (opp.stage_code, opp.status, opp.owner_id, opp.region) == ("lead", "open", "rep-1", "广东")
    assert opp.number.startswith("OP-")
    before = datetime.now(timezone.utc)
    with rep:
        opportunities.move_stage(rep, opp.number, "proposal")
    with rep:
        opportunities.move_stage(rep, opp.id, "qualified")  # back: a deal cools down
    history = [(h.stage_code, h.actor_id) for h in opp.stage_history]
    assert history == [("lead", "rep-1"), ("proposal", "rep-1"), ("qualified", "rep-1")]
    assert all(h.entered_at.tzinfo is not None for h in opp.stage_history)
    assert opp.stage_history[1].entered_at >= before and opp.version == 3
    changed = events(rep, "opportunity.stage_changed")
    assert [(e["data"]["from"], e["data"]["to"]) for e in changed] == [("lead", "proposal"),
                                                                       ("proposal", "qualified")]
    first = changed[0]
    assert first["aggregate"] == {"type": "opportunity", "id": opp.id, "number": opp.number, "version": 2}
    assert {k: first["data"][k] for k in ("opportunity_id", "number", "customer_id", "amount",
                                          "probability", "weighted_amount")} == {
        "opportunity_id": opp.id, "number": opp.number, "customer_id": c.id, "amount": "50000.00",
        "probability": "0.5000", "weighted_amount": "25000.00"}
    assert rule_of(rep, opportunities.move_stage, opp.number, "nowhere") == "unknown_stage"
    with rep:
        opportunities.win(rep, opp.number)
    for target in ("lead", "lost"):
        assert rule_of(rep, opportunities.move_stage, opp.number, target, "x") == "stage_closed"
    assert rule_of(rep, opportunities.lose, opp.number, "太贵") == "stage_closed"
    assert [h.stage_code for h in opportunity_queries.get_opportunity(rep.session, REP, opp.number).stage_history] \
        == ["lead", "proposal", "qualified", "won"]


def test_win_and_lose_emit_their_events(sales_uow):
    rep = sales_uow(REP)
    c = customer(rep)
    won, lost = opportunity(rep, c.number, amount="1000"), opportunity(rep, c.number, amount="2000")
    with rep:
        opportunities.win(rep, won.number)
    assert rule_of(rep, opportunities.lose, lost.number, "  ") == "lost_reason_required"
    with rep:
        opportunities.lose(rep, lost.number, "价格太高")
    assert (won.status, won.stage_code, lost.status, lost.lost_reason) == ("won", "won", "lost", "价格太高")
    assert won.closed_at is not None and lost.closed_at is not None
    won_event, = events(rep, "opportunity.won")
    lost_event, = events(rep, "opportunity.lost")
    assert won_event["aggregate"]["number"] == won.number
    assert won_event["data"]["amount"] == "1000.00" and won_event["data"]["customer_id"] == c.id
    assert lost_event["data"]["reason"] == "价格太高" and lost_event["data"]["lost_from"] == "lead"
    assert [e["data"]["to"] for e in events(rep, "opportunity.stage_changed")] == ["won", "lost"]


def test_rep_sees_own_opportunities_and_manager_the_region(sales_uow):
    admin, rep, rep2 = sales_uow(ADMIN), sales_uow(REP), sales_uow(REP2)
    mine = customer(admin, owner_id="rep-1")
    theirs = customer(admin, owner_id="rep-2")
    far = customer(admin, owner_id="rep-9", province="北京")
    a = opportunity(rep, mine.number)
    b = opportunity(rep2, theirs.number)
    c = opportunity(admin, far.number, owner_id="rep-9")
    with pytest.raises(NotFound):  # not rep-1's customer: answered as an unknown one
        opportunity(rep, theirs.number)
    with pytest.raises(Forbidden):
        opportunity(rep, mine.number, owner_id="rep-2")  # reps do not assign
    numbers = lambda actor, **crit: [o.number for o in
                                     opportunity_queries.list_opportunities(admin.session, actor, crit)["items"]]
    assert numbers(REP) == [a.number]
    assert numbers(REP, owner_id="rep-2") == []
    assert sorted(numbers(MANAGER)) == sorted([a.number, b.number])
    assert sorted(numbers(ADMIN)) == sorted([a.number, b.number, c.number])
    assert numbers(ADMIN, customer=far.number) == [c.number]
    assert numbers(ADMIN, stage="lead", status="open", owner_id="rep-2") == [b.number]
    with pytest.raises(Forbidden):
        opportunity_queries.get_opportunity(admin.session, REP, b.number)
    with pytest.raises(Forbidden):
        opportunity_queries.get_opportunity(admin.session, MANAGER, c.number)
    with pytest.raises(Forbidden), rep:
        opportunities.move_stage(rep, b.number, "qualified")
    with pytest.raises(NotFound):
        opportunity_queries.get_opportunity(admin.session, ADMIN, "OP-1999-000001")


# ---- quotes -------------------------------------------------------------------------------------

def test_quote_pricing_totals_are_exact(sales_uow):
    admin = sales_uow(ADMIN)
    c = customer(admin)
    product(admin, sku="A-1", list_price="33.33", tax_rate="0.13", unit_cost="20.00")
    product(admin, sku="B-2", list_price="19.99", tax_rate="0.06")
    q = quote(admin, c.number, [
        {"product": "a-1", "quantity": "3", "discount": "0.1"},      # 89.991 -> 89.99, tax 11.70
        {"product": "B-2", "quantity": "2.5", "unit_price": "18.00"},  # 45.00, tax 2.70
    ], valid_until=(date.today() + timedelta(days=10)).isoformat())
    assert [(l.sku, l.unit_price, l.net, l.tax, l.gross) for l in q.lines] == [
        ("A-1", Decimal("33.33"), Decimal("89.99"), Decimal("11.70"), Decimal("101.69")),
        ("B-2", Decimal("18.00"), Decimal("45.00"), Decimal("2.70"), Decimal("47.70"))]
    assert (q.net, q.tax, q.gross, q.status) == \
        (Decimal("134.99"), Decimal("14.40"), Decimal("149.39"), "draft")
    dumped = quote_record(quote_queries.get_quote(admin.session, ADMIN, q.number))
    assert (dumped["net"], dumped["tax"], dumped["gross"], dumped["status"]) == \
        ("134.99", "14.40", "149.39", "draft")
    with pytest.raises(NotFound):
        quote(admin, c.number, [{"product": "NOPE", "quantity": "1"}])
    with pytest.raises(ValidationFailed) as err:
        load(QuoteCreateSchema(), {"customer": c.number, "lines": [{"product": "A-1", "quantity": "0",
                                                                     "discount": "1"}]})
    assert set(err.value.details) == {"lines.0.quantity", "lines.0.discount"}


def test_expired_quote_is_refused(sales_uow):
    admin = sales_uow(ADMIN)
    c = customer(admin)
    product(admin)
    q = quote(admin, c.number, [{"product": "GX-100", "quantity": "1"}])
    assert q.valid_until == quotes.office_today() + timedelta(days=30)
    with admin:
        quotes.send_quote(admin, q.number)
    with admin:
        admin.session.execute(update(Quote).where(Quote.id == q.id)
                              .values(valid_until=quotes.office_today() - timedelta(days=1)))
    admin.session.expire_all()
    assert quote_record(quote_queries.get_quote(admin.session, ADMIN, q.number))["status"] == "expired"
    assert rule_of(admin, quotes.accept_quote, q.number) == "quote_expired"
    assert admin.session.scalar(select(Order.id)) is None
    assert events(admin, "quote.accepted") == []
    assert rule_of(admin, quote, c.number, [{"product": "GX-100", "quantity": "1"}],
                       valid_until="2020-01-01") == "valid_until_past"


def test_accepting_a_quote_places_an_order_at_the_quoted_prices(sales_uow):
    admin, rep = sales_uow(ADMIN), sales_uow(REP)
    c = customer(admin)
    product(admin, sku="GX-100", list_price="100.00", tax_rate="0.13", unit_cost="60.00")
    opp = opportunity(rep, c.number)
    q = quote(rep, c.number, [{"product": "GX-100", "quantity": "10", "unit_price": "90.00",
                               "discount": "0.05"}], opportunity=opp.number)
    assert (q.owner_id, q.opportunity_id, q.net, q.gross) == ("rep-1", opp.id, Decimal("855.00"),
                                                              Decimal("966.15"))
    assert rule_of(rep, quotes.accept_quote, q.number) == "quote_not_sent"  # still a draft
    with rep:
        quotes.send_quote(rep, q.number)
    with admin:  # the list price rises after the quote was sent: the quote's price stands
        products.update_product(admin, "GX-100", {"list_price": Decimal("120.00")})
    with rep:
        accepted, order = quotes.accept_quote(rep, q.number)
    assert (accepted.status, accepted.order_id) == ("accepted", order.id)
    stored = rep.session.get(Order, order.id)
    line, = stored.lines
    assert (line.unit_price, line.discount, line.net) == \
        (Decimal("90.00"), Decimal("0.05"), Decimal("855.00"))
    assert (stored.quote_id, stored.gross, stored.sold_to_id) == (q.id, Decimal("966.15"), c.id)
    event, = events(rep, "quote.accepted")
    assert event["data"]["order_number"] == order.number and event["data"]["number"] == q.number
    assert event["aggregate"]["type"] == "quote"
    assert [e["type"] for e in events(rep) if e["type"].startswith("order.")][:1] == ["order.placed"]
    assert rule_of(rep, quotes.accept_quote, q.number) == "quote_not_sent"
    assert rule_of(rep, quotes.reject_quote, q.number) == "quote_not_sent"


# ---- activities ---------------------------------------------------------------------------------

def test_activity_logged_carries_what_the_customer_service_needs(sales_uow):
    rep = sales_uow(REP)
    c = customer(rep)
    due = datetime.now(timezone.utc) + timedelta(hours=2)
    with rep:
        planned = activities.log_activity(rep, load(ActivityLogSchema(), {
            "kind": "call", "customer": c.number, "subject": "回访", "due_at": due.isoformat()}))
    assert events(rep, "activity.logged") == []   # planned, not done yet
    done_at = datetime(2026, 1, 5, 10, 30, tzinfo=SHANGHAI)
    with rep:
        activities.complete_activity(rep, planned.id, load(ActivityCompleteSchema(), {
            "outcome": "completed", "done_at": done_at.isoformat(), "notes": "客户满意"}))
    event, = events(rep, "activity.logged")
    assert event["data"] == {"customer_id": c.id, "occurred_at": "2026-01-05T02:30:00+00:00",
                             "activity_id": planned.id, "user_id": "rep-1", "kind": "call",
                             "outcome": "completed"}
    assert event["aggregate"]["type"] == "activity" and event["source"] == "sales"
    # exactly what the customer service's handler reads from it
    follow_up = load(ActivityLoggedIn(), event["data"])
    assert follow_up["customer_id"] == c.id and follow_up["occurred_at"] == done_at
    assert rule_of(rep, activities.complete_activity, planned.id,
                       {"outcome": "completed"}) == "activity_already_done"
    # logging an activity already done emits at once; a cancelled one does not count
    with rep:
        visit = activities.log_activity(rep, load(ActivityLogSchema(), {
            "kind": "visit", "customer": c.id, "subject": "上门拜访",
            "done_at": "2026-01-06T09:00:00+08:00", "outcome": "follow_up"}))
    with rep:
        activities.log_activity(rep, load(ActivityLogSchema(), {
            "kind": "meeting", "customer": c.id, "subject": "取消的会议",
            "done_at": "2026-01-06T09:00:00+08:00", "outcome": "cancelled"}))
    logged = events(rep, "activity.logged")
    assert [e["data"]["activity_id"] for e in logged] == [planned.id, visit.id]
    assert rule_of(rep, activities.log_activity, load(ActivityLogSchema(), {
            "kind": "call", "customer": c.id, "subject": "x",
            "done_at": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(),
            "outcome": "completed"})) == "done_in_future"
    with pytest.raises(ValidationFailed) as err:
        load(ActivityLogSchema(), {"kind": "fax", "customer": c.id, "subject": "x",
                                   "due_at": "2026-01-06T09:00:00"})
    assert set(err.value.details) == {"kind", "due_at"}  # unknown kind, naive time


def test_today_and_overdue_lists_and_visit_plans(sales_uow):
    rep = sales_uow(REP)
    c, d = customer(rep), customer(rep, name="北京远东贸易有限公司")
    # 2026-03-10 07:30 in Shanghai is still 2026-03-09 in UTC
    now = datetime(2026, 3, 10, 7, 30, tzinfo=SHANGHAI)

    def log(subject, due_at, **extra):
        with rep:
            return activities.log_activity(rep, load(ActivityLogSchema(), dict(
                extra, kind=extra.pop("kind", "call"), customer=c.id, subject=subject,
                due_at=due_at)))

    overdue = log("昨天的电话", "2026-03-09T16:00:00+08:00")
    early = log("今早的电话", "2026-03-10T07:00:00+08:00")   # passed half an hour ago: overdue
    later = log("下午的会议", "2026-03-10T15:00:00+08:00", kind="meeting")
    log("明天的任务", "2026-03-11T09:00:00+08:00", kind="task")
    done = log("已完成", "2026-03-10T09:00:00+08:00")
    with rep:
        activities.complete_activity(rep, done.id, {"outcome": "completed",
                                                    "done_at": datetime(2026, 3, 10, 7, 0, tzinfo=SHANGHAI)})
    with rep:
        plan = activities.plan_visits(rep, load(VisitPlanSchema(), {
            "date": "2026-03-10", "notes": "天河区",
            "visits": [{"customer": d.number, "due_at": "2026-03-10T10:00:00+08:00"},
                       {"customer": c.number, "subject": "送样品"}]}))
    assert plan["plan_date"] == date(2026, 3, 10) and plan["owner_id"] == "rep-1"
    visit_at_ten, visit_by_evening = plan["visits"]
    assert visit_at_ten.subject == f"拜访 {d.name}" and visit_at_ten.kind == "visit"
    assert visit_by_evening.due_at == datetime(2026, 3, 10, 15, 59, 59, tzinfo=timezone.utc)
    agenda = activity_queries.agenda(rep.session, REP, now=now)
    assert agenda["date"] == date(2026, 3, 10)
    assert [a.id for a in agenda["overdue"]] == [overdue.id, early.id]
    assert [a.id for a in agenda["today"]] == [visit_at_ten.id, later.id, visit_by_evening.id]
    # a second call for the same day adds to the same plan
    with rep:
        again = activities.plan_visits(rep, load(VisitPlanSchema(), {
            "date": "2026-03-10", "visits": [{"customer": c.id, "due_at": "2026-03-10T17:00:00+08:00"}]}))
    assert again["id"] == plan["id"] and len(again["visits"]) == 3
    assert rule_of(rep, activities.plan_visits, load(VisitPlanSchema(), {
            "date": "2026-03-10", "visits": [{"customer": c.id, "due_at": "2026-03-11T10:00:00+08:00"}]})) \
            == "visit_outside_plan_day"
    with pytest.raises(Forbidden):
        activity_queries.agenda(rep.session, REP2, owner_id="rep-1", now=now)
    assert len(activity_queries.agenda(rep.session, MANAGER, owner_id="rep-1", now=now)["today"]) == 4
    listed = activity_queries.list_activities(rep.session, REP2, {})
    assert listed["total"] == 0
    assert activity_queries.list_activities(rep.session, REP, {"kind": "visit"})["total"] == 3
    assert activity_queries.list_activities(rep.session, REP, {"open": False})["total"] == 1


def test_accepting_a_quote_can_name_the_other_partners(sales_uow):
    admin = sales_uow(ADMIN)
    buyer = customer(admin, roles=("sold_to", "ship_to"))
    payer = customer(admin, roles=("bill_to", "payer"))
    product(admin, sku="GX-7", list_price="50.00", tax_rate="0.13", unit_cost="30.00")
    q = quote(admin, buyer.number, [{"product": "GX-7", "quantity": "2"}])
    with admin:
        quotes.send_quote(admin, q.number)
    with pytest.raises(ValidationFailed) as err:  # the buyer is neither bill-to nor payer
        with admin:
            quotes.accept_quote(admin, q.number)
    assert {"bill_to", "payer"} <= set(err.value.details)
    with admin:
        accepted, order = quotes.accept_quote(admin, q.number,
                                              {"bill_to": payer.number, "payer": payer.number})
    stored = admin.session.get(Order, order.id)
    assert (stored.sold_to_id, stored.ship_to_id, stored.bill_to_id, stored.payer_id) == \
        (buyer.id, buyer.id, payer.id, payer.id)
    assert accepted.status == "accepted"
