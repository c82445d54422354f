"""The sales demo generator (pure) and the sales part of `make seed` (SQLite, no broker)."""
import importlib.util
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from guanxi_common.context import Actor
from guanxi_common.engine import make_engine
from guanxi_common.unit_of_work import make_session_factory
from guanxi_common.validation import load
from sales.queries import reports
from sales.tools import demo
from sales.adapters.models import CustomerReplica, Invoice, Order, OrderTransition, Payment, Product

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
ADMIN = Actor(user_id="auditor-admin", roles=frozenset({"admin"}))


def _seed_module():
    spec = importlib.util.spec_from_file_location("guanxi_seed_script", ROOT / "scripts" / "seed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def seed_script():
    return _seed_module()


def _facts(count=40):
    """A mixed set: companies and persons, buyers with and without every partner role,
    credit policies, statuses, owners and the pool."""
    roles = (("sold_to", "ship_to", "bill_to", "payer"), ("sold_to", "payer"), ("sold_to",),
             ("ship_to", "bill_to"), ("payer", "bill_to", "ship_to"), (), ("end_user",))
    policies = (("none", None), ("warn", Decimal("80000")), ("block", Decimal("50000")),
                ("block", Decimal("2000000")), ("warn", None))
    statuses = ("active", "active", "prospect", "active", "lost", "blocked", "active")
    out = []
    for i in range(count):
        policy, limit = policies[i % len(policies)]
        out.append(demo.CustomerFacts(
            id=f"00000000-0000-4000-8000-{i:012d}", number=f"C{i + 1:08d}", name=f"测试客户{i}有限公司",
            party_type="company" if i % 3 else "person", status=statuses[i % len(statuses)],
            roles=roles[i % len(roles)], owner_id=None if i % 4 == 3 else f"rep-{i % 5 + 1:03d}",
            province="广东", tier="ABC"[i % 3], credit_policy=policy, credit_limit=limit))
    return out


def test_generator_is_deterministic():
    first = demo.generate(_facts(), seed=7, now=NOW)
    again = demo.generate(_facts(), seed=7, now=NOW)
    assert first.steps == again.steps and first.products == again.products
    assert demo.generate(_facts(), seed=8, now=NOW).steps != first.steps
    # a customer's story depends on (seed, number), not on where it stands in the list
    story = [s for s in first.steps if s.key.startswith("opp:C00000001:")]
    reordered = demo.generate(list(reversed(_facts())), seed=7, now=NOW)
    assert [(s.at, s.kind, s.data) for s in reordered.steps if s.key.startswith("opp:C00000001:")] == \
        [(s.at, s.kind, s.data) for s in story]


def test_catalogue_is_valid_and_taxed_at_chinese_vat_rates(seed_script):
    schema = seed_script.ProductCreateSchema()
    loaded = [load(schema, spec, field="product") for spec in demo.PRODUCTS]
    assert 30 <= len(loaded) <= 60
    assert len({p["sku"] for p in loaded}) == len(loaded)
    assert {p["tax_rate"] for p in loaded} == {Decimal("0.13"), Decimal("0.09"), Decimal("0.06")}
    assert all(p["unit_cost"] < p["list_price"] for p in loaded)
    assert any(not p["active"] for p in loaded)


def test_every_step_is_valid_wire_input_in_time_order(seed_script):
    plan = demo.generate(_facts(), seed=7, now=NOW)
    assert plan.start == NOW - timedelta(days=730)
    kinds = {s.kind for s in plan.steps}
    assert kinds <= set(demo.KINDS)
    assert {"opportunity.create", "opportunity.win", "opportunity.lose", "quote.create", "quote.send",
            "order.place", "order.ship", "invoice.issue", "payment.record", "activity.log",
            "visits.plan", "activity.complete", "order.release_if_held"} <= kinds
    assert [(s.at, s.seq) for s in plan.steps] == sorted((s.at, s.seq) for s in plan.steps)
    assert all(plan.start <= s.at <= NOW - demo.MARGIN for s in plan.steps)
    schemas = {kind: schema() for kind, schema in seed_script.SalesExecutor.SCHEMAS.items()}
    fake_ids = {s.key: f"id-{n}" for n, s in enumerate(plan.steps)}
    checked = 0
    for step in plan.steps:
        data = demo.resolve(step, fake_ids)
        assert data is not None, step
        if step.kind == "payment.record":
            data = demo.payment_input(step, "INV-X", Decimal("1000.00"), Decimal("1000.00"))
        if step.kind in schemas:
            load(schemas[step.kind], data, field=step.kind)
            checked += 1
        if step.kind == "activity.log" and data["done_at"]:
            assert datetime.fromisoformat(data["done_at"]) <= step.at
    assert checked > 100
    # references point at objects an earlier step creates
    created_at = {}
    for step in plan.steps:
        created_at.setdefault(step.key, step.at)
        for key in step.creates:
            created_at.setdefault(key, step.at)
        for key in step.refs.values():
            assert key in created_at and created_at[key] <= step.at, (step, key)


def test_payment_input_takes_a_share_and_never_overpays():
    step = demo.Step(at=NOW, seq=1, kind="payment.record", key="inv:x", data={
        "share": "0.4", "received_at": NOW.isoformat(), "method": "bank_transfer",
        "reference": "R-1", "idempotency_key": "k-1"})
    assert demo.payment_input(step, "INV-1", "1000.00", "1000.00")["amount"] == "400.00"
    assert demo.payment_input(step, "INV-1", "1000.00", "250.00")["amount"] == "250.00"
    rest = demo.Step(**{**step.__dict__, "data": dict(step.data, share="rest")})
    assert demo.payment_input(rest, "INV-1", "1000.00", "123.45")["amount"] == "123.45"
    assert demo.payment_input(rest, "INV-1", "1000.00", "0.00") is None


def test_a_small_seed_run_fills_sales_and_the_reports(seed_script, tmp_path):
    customer_url = f"sqlite:///{tmp_path / 'customer.db'}"
    sales_url = f"sqlite:///{tmp_path / 'sales.db'}"
    now = min(NOW, datetime.now(timezone.utc))
    summary = seed_script.seed(customer_url, 40, batch=50, log=lambda *_: None,
                               sales_url=sales_url, now=now)
    sales = summary["sales"]
    assert sales["replica_applied"] == summary["created"] == 40
    assert sales["done"]["product.create"] == len(demo.PRODUCTS)
    assert sales["done"]["order.place"] > 0 and sales["done"]["payment.record"] > 0

    engine = make_engine(sales_url)
    try:
        with make_session_factory(engine)() as session:
            count = lambda model, *where: session.scalar(  # noqa: E731
                select(func.count()).select_from(model).where(*where))
            assert count(CustomerReplica) == 40
            assert count(Product) == len(demo.PRODUCTS)
            assert count(Order) > 0 and count(Invoice) > 0 and count(Payment) > 0
            # backdated: spread over the two years, nothing stamped at seeding time
            first, last = session.execute(select(func.min(Order.ordered_at), func.max(Order.ordered_at))).one()
            assert first < now - timedelta(days=200) and last <= now
            late = datetime.now(timezone.utc) - timedelta(minutes=5)
            assert count(OrderTransition, OrderTransition.at > now) == 0
            assert session.scalar(select(func.max(Invoice.created_at))) < late
            assert session.scalar(select(func.max(Payment.created_at))) <= now

            ageing = reports.receivables_ageing(session, ADMIN)
            assert ageing["invoices"] > 0 and ageing["total"] > 0
            assert any(b["amount"] > 0 for b in ageing["buckets"] if b["bucket"] != "0-30")
            funnel = reports.funnel_report(session, ADMIN)
            assert funnel["total"]["count"] > 0 and funnel["won"] > 0 and funnel["lost"] > 0
            assert funnel["win_rate"] is not None
            sold = reports.sales_report(session, ADMIN, (now - timedelta(days=365)).date(), now.date())
            assert sold["total"] > 0
    finally:
        engine.dispose()

    # re-running adds more customers and their history, without a crash
    again = seed_script.seed(customer_url, 10, batch=50, log=lambda *_: None, sales_url=sales_url, now=now)
    assert again["sales"]["replica_applied"] == 10
    assert again["sales"]["database"]["replica"] == 50
    assert again["sales"]["skipped"]["product.create: exists"] == len(demo.PRODUCTS)
