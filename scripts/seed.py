#!/usr/bin/env python
"""`make seed`: load realistic demo customers and their sales history through the services'
application layers.

    .venv/bin/python scripts/seed.py --count 1000 [--seed 20261123] [--batch 200] [--no-sales]

**Customers.** Applies the customer migrations, then creates the customers of
``customer.tools.demo`` with ``customer.application.parties.create_customer`` inside a ``UnitOfWork`` acting
as an admin, input validated by ``CustomerCreateSchema`` exactly as the RPC does: every
rule runs, every history row and outbox event is real (a running customer service's
outbox relay publishes the events; nothing here needs the services or the broker). Then
the later status changes (some customers become lost or blocked) through
``parties.update_customer``, and the relationships (holding groups, employers, contact
persons) through ``relationships.add_relationship``. Batches of ``--batch`` customers per
transaction.

**Sales** (skipped with ``--no-sales``). Applies the sales migrations, then:

1. puts the customers created by this run into the sales replica with
   ``sales.application.replica.apply_record`` — their current record at its version,
   exactly what the ``customer.created``/``customer.updated`` events will do (when the
   sales service later consumes those events they are older or equal and change nothing);
2. creates the catalogue of ``sales.tools.demo`` (``products.create_product``; existing SKUs
   are kept) and carries out the timeline ``sales.tools.demo.generate`` plans for those
   customers over the two years before now, oldest first, through the sales application layer with
   the wire input validated by the RPC's schemas: ``opportunities.create_opportunity /
   move_stage / win / lose``, ``quotes.create_quote / send_quote / accept_quote /
   reject_quote``, ``orders.place_order / release_order / cancel_order / ship_order``,
   ``billing.issue_invoice / record_payment``, ``activities.log_activity / plan_visits /
   complete_activity``. The actor is an admin (``seed-admin``), and releases from credit
   hold are made by a credit manager (``seed-credit-manager``). Because the steps run in
   time order, every credit check sees the exposure the payer had at that moment (orders
   not yet invoiced, invoices not yet paid): the customers with warn/block policies get
   their warnings and holds from the real rules, and whether a planned release or
   hold-cancellation applies is decided by what the check did. Outbox events, order
   transitions, stage histories, idempotency keys and document numbers are all the real
   ones. A step the rules refuse is skipped and counted (with what depends on it).
3. **Backdating.** The functions stamp "now" where the real calls would; after each batch,
   in the same transaction, direct UPDATEs (SQLAlchemy Core, by primary key) move those
   stamps to the step's planned moment: ``products.created_at/updated_at``;
   ``opportunities.created_at/updated_at/closed_at`` and
   ``opportunity_stage_history.entered_at`` (per opportunity and stage);
   ``quotes.created_at/updated_at`` and ``valid_until`` (30 days after the backdated
   creation, so old undecided quotes read as expired); ``orders.ordered_at/created_at/
   updated_at/released_at`` and ``order_transitions.at`` (per order and target status);
   ``invoices.created_at``; ``payments.created_at``; ``activities.created_at`` and
   ``visit_plans.created_at``. Dates that are inputs of the functions are passed as the
   planned ones and need no UPDATE: the expected close date, the invoice's issue date
   (so its due date follows from the payment terms), a payment's ``received_at``, an
   activity's ``done_at``/``due_at``. Not backdated: document numbers keep the year they
   were drawn in (``SO-<this year>-…``), and the outbox event envelopes keep their
   creation time (their data carries the planned dates where the calls take them).

Re-running adds more customers: the generator continues after the highest customer
sequence already in the database, and the sales history is made for the new customers
only (orders and payments carry idempotency keys derived from the customer number, so a
repeated plan returns the first results). A customer refused with a Conflict (say its
phone is taken already) is skipped and counted, as are relationships the rules refuse.

The databases are the services': ``CUSTOMER_DATABASE_URL`` / ``SALES_DATABASE_URL``
(PostgreSQL works) or var/customer.db and var/sales.db; ``--database-url`` and
``--sales-database-url`` override them.
"""
import argparse
import sys
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from sqlalchemy import bindparam, func, select, update  # noqa: E402

from customer.adapters import records  # noqa: E402
from customer.adapters.records import CustomerSession  # noqa: E402
from customer.adapters.models import Customer  # noqa: E402
from customer.application import parties, relationships  # noqa: E402
from customer.tools import demo  # noqa: E402
from guanxi_common.contracts.customer import (CustomerCreateSchema,  # noqa: E402
                                              CustomerUpdateSchema, RelationshipCreateSchema)
from guanxi_common.config import database_url  # noqa: E402
from guanxi_common.context import Actor  # noqa: E402
from guanxi_common.unit_of_work import UnitOfWork, make_session_factory  # noqa: E402
from guanxi_common.engine import make_engine  # noqa: E402
from guanxi_common.errors import (BusinessRuleViolation, Conflict, Forbidden,  # noqa: E402
                                  NotFound, ValidationFailed)
from guanxi_common.migrations import upgrade  # noqa: E402
from guanxi_common.validation import load  # noqa: E402
from sales.application import (activities, billing, opportunities, orders, products,  # noqa: E402
                               quotes, replica)
from sales.tools import demo as sales_demo  # noqa: E402
from sales.adapters import models as sales_models  # noqa: E402
from guanxi_common.contracts.sales.activities import (ActivityCompleteSchema,  # noqa: E402
                                                      ActivityLogSchema)
from guanxi_common.contracts.sales.activities import VisitPlanIn as VisitPlanSchema  # noqa: E402
from guanxi_common.contracts.sales.billing import PaymentSchema  # noqa: E402
from guanxi_common.contracts.sales.opportunities import OpportunityCreateSchema  # noqa: E402
from guanxi_common.contracts.sales.orders import PlaceOrderSchema  # noqa: E402
from guanxi_common.contracts.sales.products import ProductCreateSchema  # noqa: E402
from guanxi_common.contracts.sales.quotes import QuoteCreateSchema  # noqa: E402

ALEMBIC_INI = ROOT / "services" / "customer" / "alembic.ini"
SALES_ALEMBIC_INI = ROOT / "services" / "sales" / "alembic.ini"
SKIPPABLE = (Conflict, BusinessRuleViolation, NotFound)
#: What the sales rules may refuse in a step; the step is skipped and counted.
SALES_SKIPPABLE = (BusinessRuleViolation, Conflict, NotFound, ValidationFailed, Forbidden)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="customers to add (default 1000)")
    parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED,
                        help="random seed of the generators (same seed, same data)")
    parser.add_argument("--batch", type=int, default=200, help="customers per transaction")
    parser.add_argument("--start", type=int, default=None,
                        help="index of the first demo customer (default: after the highest "
                             "customer sequence in the database)")
    parser.add_argument("--database-url", default=None,
                        help="default: CUSTOMER_DATABASE_URL or var/customer.db")
    parser.add_argument("--sales-database-url", default=None,
                        help="default: SALES_DATABASE_URL or var/sales.db")
    parser.add_argument("--no-sales", action="store_true",
                        help="customers only: no sales replica, products, orders, ...")
    parser.add_argument("--quiet", action="store_true", help="only the summary")
    args = parser.parse_args(argv)
    if args.count < 0 or args.batch < 1 or (args.start is not None and args.start < 0):
        parser.error("--count and --start must be >= 0 and --batch >= 1")
    return args


def seed(url, count, seed_value=demo.DEFAULT_SEED, batch=200, start=None, log=print,
         sales_url=None, now=None):
    """Create ``count`` demo customers and their relationships on ``url`` and, with
    ``sales_url``, their sales history there (:func:`seed_sales`); returns the summary."""
    started = time.monotonic()
    upgrade("customer", str(ALEMBIC_INI), url)
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine, CustomerSession)
        actor = Actor(user_id="seed", roles=frozenset({"admin"}),
                      request_id=f"seed-{uuid.uuid4().hex[:12]}")
        if start is None:
            with sessions() as session:
                start = session.scalar(select(func.max(Customer.seq))) or 0
        data = demo.generate(count, seed_value, start=start)
        summary = {"created": 0, "companies": 0, "persons": 0, "in_pool": 0,
                   "skipped_conflicts": 0, "duplicate_warnings": 0, "status_changes": 0,
                   "relationships": 0, "relationships_skipped": 0}
        ids = _create_customers(sessions, actor, data, batch, summary, log)
        _change_statuses(sessions, actor, data, ids, batch, summary)
        _add_relationships(sessions, actor, data, ids, batch, summary)
        summary["seconds"] = round(time.monotonic() - started, 1)
        summary["first_index"] = start
        if sales_url is not None:
            customer_records = _records(sessions, [ids[i] for i in sorted(ids)])
            summary["sales"] = seed_sales(sales_url, customer_records, seed_value, now=now, log=log)
        return summary
    finally:
        engine.dispose()


def _batches(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _create_customers(sessions, actor, data, batch, summary, log):
    """{position in data.customers: customer id} of those created."""
    ids = {}
    positions = list(range(len(data.customers)))
    for chunk in _batches(positions, batch):
        inputs = [(i, load(CustomerCreateSchema(), data.customers[i], field="customer"))
                  for i in chunk]
        uow = UnitOfWork(sessions, "customer", actor)
        try:
            with uow:
                for i, record in inputs:
                    try:
                        with uow:  # a SAVEPOINT: a refused customer leaves the batch intact
                            customer, warnings = parties.create_customer(uow, record)
                    except Conflict:
                        summary["skipped_conflicts"] += 1
                        continue
                    ids[i] = customer.id
                    summary["created"] += 1
                    summary["companies" if customer.party_type == "company" else "persons"] += 1
                    summary["in_pool"] += customer.owner_id is None
                    summary["duplicate_warnings"] += bool(warnings)
        finally:
            uow.close()
        log(f"  customers: {summary['created']:,}/{len(data.customers):,}")
    return ids


def _change_statuses(sessions, actor, data, ids, batch, summary):
    changes = [(ids[i], status) for i, status in data.status_changes if i in ids]
    for chunk in _batches(changes, batch):
        uow = UnitOfWork(sessions, "customer", actor)
        try:
            with uow:
                for customer_id, status in chunk:
                    update = load(CustomerUpdateSchema(), {"status": status}, partial=True)
                    try:
                        with uow:
                            parties.update_customer(uow, customer_id, update)
                    except SKIPPABLE:
                        continue
                    summary["status_changes"] += 1
        finally:
            uow.close()


def _add_relationships(sessions, actor, data, ids, batch, summary):
    planned = [r for r in data.relationships if r["from"] in ids and r["to"] in ids]
    summary["relationships_skipped"] += len(data.relationships) - len(planned)
    for chunk in _batches(planned, batch):
        uow = UnitOfWork(sessions, "customer", actor)
        try:
            with uow:
                for rel in chunk:
                    payload = {"type": rel["type"], "from_customer": ids[rel["from"]],
                               "to_customer": ids[rel["to"]]}
                    if rel.get("valid_from"):
                        payload["valid_from"] = rel["valid_from"]
                    data_in = load(RelationshipCreateSchema(), payload, field="relationship")
                    try:
                        with uow:
                            relationships.add_relationship(uow, data_in)
                    except SKIPPABLE:
                        summary["relationships_skipped"] += 1
                        continue
                    summary["relationships"] += 1
        finally:
            uow.close()


def _records(sessions, customer_ids):
    """The current customer record (CustomerOut, with its version) of each id."""
    out = []
    with sessions() as session:
        for customer_id in customer_ids:
            found = records.load(session, Customer.id == customer_id)
            if found is not None:
                out.append(found[0])
    return out


# ---- sales ---------------------------------------------------------------------------------------

SALES_ADMIN = Actor(user_id="seed-admin", roles=frozenset({"admin"}))
CREDIT_MANAGER = Actor(user_id="seed-credit-manager", roles=frozenset({"credit_manager"}))


def seed_sales(sales_url, customer_records, seed_value=sales_demo.DEFAULT_SEED, now=None,
               batch=300, log=print):
    """Replica, catalogue and two years of sales history for ``customer_records`` (see
    the module doc); returns the summary."""
    started = time.monotonic()
    upgrade("sales", str(SALES_ALEMBIC_INI), sales_url)
    engine = make_engine(sales_url)
    try:
        sessions = make_session_factory(engine)
        request = uuid.uuid4().hex[:12]
        applied = apply_to_replica(sessions, customer_records, request)
        facts = replica_facts(sessions, [r["id"] for r in customer_records])
        plan = sales_demo.generate(facts, seed_value, now=now)
        log(f"  sales: {applied:,} customers applied to the replica; "
            f"{len(plan.steps):,} steps planned from {plan.start:%Y-%m-%d}")
        uows = {"admin": UnitOfWork(sessions, "sales", Actor(
                    SALES_ADMIN.user_id, SALES_ADMIN.roles, request_id=f"seed-{request}")),
                "credit_manager": UnitOfWork(sessions, "sales", Actor(
                    CREDIT_MANAGER.user_id, CREDIT_MANAGER.roles, request_id=f"seed-{request}"))}
        try:
            executor = SalesExecutor(uows, plan, facts, batch, log)
            executor.create_products()
            executor.run()
        finally:
            for uow in uows.values():
                uow.close()
        summary = {"replica_applied": applied, "planned_steps": len(plan.steps),
                   "done": dict(executor.done), "skipped": dict(executor.skipped),
                   "database": sales_totals(sessions, plan.now)}
        summary["seconds"] = round(time.monotonic() - started, 1)
        return summary
    finally:
        engine.dispose()


def apply_to_replica(sessions, customer_records, request="seed", batch=500):
    """``replica.apply_record`` of each record at its own version; returns how many applied."""
    uow = UnitOfWork(sessions, "sales", Actor.system(request_id=f"seed-{request}"))
    applied = 0
    try:
        for i in range(0, len(customer_records), batch):
            with uow:
                applied += sum(replica.apply_record(uow.session, record)
                               for record in customer_records[i:i + batch])
    finally:
        uow.close()
    return applied


def replica_facts(sessions, customer_ids, chunk=500):
    """``sales.tools.demo.CustomerFacts`` of the replica rows of ``customer_ids``, by number."""
    rows = []
    with sessions() as session:
        for i in range(0, len(customer_ids), chunk):
            rows.extend(session.scalars(select(sales_models.CustomerReplica).where(
                sales_models.CustomerReplica.id.in_(customer_ids[i:i + chunk]))))
        facts = [sales_demo.facts_from_replica(row) for row in rows]
    return sorted(facts, key=lambda f: f.number)


class Backdates:
    """The UPDATEs that move "now" stamps to the planned moments, one per row (later
    values for the same row win), run as executemany per statement shape."""

    TABLES = {t.__tablename__: t.__table__ for t in (
        sales_models.Product, sales_models.Opportunity, sales_models.StageChange,
        sales_models.Quote, sales_models.Order, sales_models.OrderTransition,
        sales_models.Invoice, sales_models.Payment, sales_models.Activity, sales_models.VisitPlan)}

    def __init__(self):
        self.rows = {}
        self.applied = 0

    def add(self, table, where, **values):
        key = (table, tuple(sorted(where.items())))
        self.rows.setdefault(key, {}).update(values)

    def apply(self, session):
        if not self.rows:
            return
        session.flush()
        shapes = {}
        for (table, where), values in self.rows.items():
            shape = (table, tuple(k for k, _ in where), tuple(sorted(values)))
            params = {f"w_{k}": v for k, v in where}
            params.update({f"v_{k}": v for k, v in values.items()})
            shapes.setdefault(shape, []).append(params)
        conn = session.connection()
        for (table, where_cols, value_cols), params in shapes.items():
            t = self.TABLES[table]
            stmt = (update(t).where(*[t.c[c] == bindparam(f"w_{c}", type_=t.c[c].type) for c in where_cols])
                    .values({c: bindparam(f"v_{c}", type_=t.c[c].type) for c in value_cols}))
            conn.execute(stmt, params)
            self.applied += len(params)
        self.rows = {}


class SalesExecutor:
    """Carries out a ``sales.tools.demo`` plan step by step (see the module doc)."""

    SCHEMAS = {"opportunity.create": OpportunityCreateSchema, "quote.create": QuoteCreateSchema,
               "order.place": PlaceOrderSchema, "payment.record": PaymentSchema,
               "activity.log": ActivityLogSchema, "visits.plan": VisitPlanSchema,
               "activity.complete": ActivityCompleteSchema, "product.create": ProductCreateSchema}

    def __init__(self, uows, plan, facts, batch=300, log=print):
        self.uows, self.plan, self.batch, self.log = uows, plan, batch, log
        self.customer_ids = {f.number: f.id for f in facts}
        self.ids = {}          # plan key -> id of what it created
        self.status = {}       # order plan key -> order status
        self.invoices = {}     # invoice plan key -> [id, amount, outstanding, order plan key]
        self.quote_days = {}   # quote id -> [created office day, decided office day or None]
        self.done, self.skipped = Counter(), Counter()
        self.backdates = Backdates()
        self.schemas = {kind: schema() for kind, schema in self.SCHEMAS.items()}

    def _load(self, kind, data):
        return load(self.schemas[kind], data, field=kind.split(".")[0])

    # ---- transactions -----------------------------------------------------------------
    def create_products(self):
        at = self.plan.start - timedelta(days=30)
        uow = self.uows["admin"]
        with uow:
            for spec in self.plan.products:
                try:
                    with uow:
                        product = products.create_product(uow, self._load("product.create", spec))
                except Conflict:
                    self.skipped["product.create: exists"] += 1
                    continue
                self.backdates.add("products", {"id": product.id}, created_at=at, updated_at=at)
                self.done["product.create"] += 1
            self.backdates.apply(uow.session)

    def run(self):
        current, in_batch, total = None, 0, len(self.plan.steps)
        try:
            for n, step in enumerate(self.plan.steps, start=1):
                handler = getattr(self, "_" + step.kind.replace(".", "_"))
                data = sales_demo.resolve(step, self.ids)
                if data is None or not self._applies(step):
                    self.skipped[f"{step.kind}: not applicable"] += 1
                    continue
                uow = self.uows[step.actor]
                if current is not uow or in_batch >= self.batch:
                    self._commit(current)
                    if current is not uow:
                        # its session may hold rows the other actor's session changed since
                        uow.session.expire_all()
                    current, in_batch = uow, 0
                    uow.__enter__()
                try:
                    with uow:  # a SAVEPOINT: a refused step leaves the batch intact
                        handler(uow, step, data)
                except SALES_SKIPPABLE as exc:
                    rule = (getattr(exc, "details", None) or {}).get("rule") or type(exc).__name__
                    self.skipped[f"{step.kind}: {rule}"] += 1
                    continue
                self.done[step.kind] += 1
                in_batch += 1
                if n % 5000 == 0:
                    self.log(f"  sales: {n:,}/{total:,} steps")
            self._commit(current)
            self._quote_validity()
        except BaseException:
            if current is not None and current.active:
                current.__exit__(*sys.exc_info())
            raise

    def _commit(self, uow):
        if uow is not None and uow.active:
            self.backdates.apply(uow.session)
            uow.__exit__(None, None, None)

    def _quote_validity(self):
        """Last, the quotes' validity: 30 days from their (backdated) creation, or until they
        were decided if that took longer. Set at the end, because until then the quotes
        must stay valid at the clock of the calls that send and accept them."""
        uow = self.uows["admin"]
        with uow:
            for quote_id, (created, decided) in self.quote_days.items():
                valid = created + timedelta(days=quotes.DEFAULT_VALIDITY_DAYS)
                self.backdates.add("quotes", {"id": quote_id}, valid_until=max(valid, decided or valid))
            self.backdates.apply(uow.session)

    CREATING = ("opportunity.create", "quote.create", "order.place", "activity.log", "visits.plan",
                "invoice.issue", "payment.record")

    def _applies(self, step):
        """Steps on an object that was not made (an earlier step was refused), and steps
        that depend on what the credit check did or on an earlier cancellation."""
        if step.kind not in self.CREATING and step.key not in self.ids:
            return False
        status = self.status.get(step.key)
        if step.kind in ("order.release_if_held", "order.cancel_if_held"):
            return status == "credit_hold"
        if step.kind in ("order.cancel", "order.ship"):
            return status == "confirmed"
        if step.kind == "invoice.issue":
            return self.status.get(step.refs["order"]) == "shipped"
        if step.kind == "payment.record":
            return step.key in self.invoices and self.invoices[step.key][2] > 0
        return True

    # ---- opportunities and quotes -----------------------------------------------------
    def _opportunity_create(self, uow, step, data):
        opportunity = opportunities.create_opportunity(uow, self._load(step.kind, data))
        self.ids[step.key] = opportunity.id
        self.backdates.add("opportunities", {"id": opportunity.id}, created_at=step.at, updated_at=step.at)
        self._entered(opportunity, step.at)

    def _entered(self, opportunity, at):
        self.backdates.add("opportunity_stage_history",
                           {"opportunity_id": opportunity.id, "stage_code": opportunity.stage_code},
                           entered_at=at)
        values = {"updated_at": at}
        if opportunity.closed_at is not None:
            values["closed_at"] = at
        self.backdates.add("opportunities", {"id": opportunity.id}, **values)

    def _opportunity_move(self, uow, step, data):
        self._entered(opportunities.move_stage(uow, self.ids[step.key], data["stage"]), step.at)

    def _opportunity_win(self, uow, step, data):
        self._entered(opportunities.win(uow, self.ids[step.key]), step.at)

    def _opportunity_lose(self, uow, step, data):
        self._entered(opportunities.lose(uow, self.ids[step.key], data["reason"]), step.at)

    def _quote_create(self, uow, step, data):
        quote = quotes.create_quote(uow, self._load(step.kind, data))
        self.ids[step.key] = quote.id
        self.quote_days[quote.id] = [sales_demo.office_day(step.at), None]
        self.backdates.add("quotes", {"id": quote.id}, created_at=step.at, updated_at=step.at)

    def _quote_send(self, uow, step, data):
        quote = quotes.send_quote(uow, self.ids[step.key])
        self.backdates.add("quotes", {"id": quote.id}, updated_at=step.at)

    def _quote_reject(self, uow, step, data):
        quote = quotes.reject_quote(uow, self.ids[step.key])
        self.backdates.add("quotes", {"id": quote.id}, updated_at=step.at)
        self.quote_days[quote.id][1] = sales_demo.office_day(step.at)

    def _quote_accept(self, uow, step, data):
        quote, order = quotes.accept_quote(uow, self.ids[step.key], data.get("partners"))
        self.backdates.add("quotes", {"id": quote.id}, updated_at=step.at)
        self.quote_days[quote.id][1] = sales_demo.office_day(step.at)
        self._placed(step.creates[0], order, step.at)

    # ---- orders, invoices, payments ---------------------------------------------------
    def _placed(self, key, order, at):
        self.ids[key] = order.id
        self.status[key] = order.status
        self.backdates.add("orders", {"id": order.id}, ordered_at=at, created_at=at, updated_at=at)
        self._transition(order, at)

    def _transition(self, order, at, key=None):
        if key is not None:
            self.status[key] = order.status
        self.backdates.add("order_transitions", {"order_id": order.id, "to_status": order.status}, at=at)
        self.backdates.add("orders", {"id": order.id}, updated_at=at)

    def _order_place(self, uow, step, data):
        self._placed(step.key, orders.place_order(uow, self._load(step.kind, data)), step.at)

    def _order_release_if_held(self, uow, step, data):
        order = orders.release_order(uow, self.ids[step.key], data["reason"])
        self._transition(order, step.at, step.key)
        self.backdates.add("orders", {"id": order.id}, released_at=step.at)

    def _order_cancel_if_held(self, uow, step, data):
        self._transition(orders.cancel_order(uow, self.ids[step.key], data["reason"]), step.at, step.key)

    _order_cancel = _order_cancel_if_held

    def _order_ship(self, uow, step, data):
        self._transition(orders.ship_order(uow, self.ids[step.key]), step.at, step.key)

    def _invoice_issue(self, uow, step, data):
        order_key = step.refs["order"]
        invoice = billing.issue_invoice(uow, data["order"], data["terms_days"],
                                        date.fromisoformat(data["issue_date"]))
        order = uow.session.get(sales_models.Order, invoice.order_id)
        self._transition(order, step.at, order_key)
        self.ids[step.key] = invoice.id
        self.invoices[step.key] = [invoice.id, invoice.amount, invoice.outstanding, order_key]
        self.backdates.add("invoices", {"id": invoice.id}, created_at=step.at)

    def _payment_record(self, uow, step, data):
        invoice_id, amount, outstanding, order_key = self.invoices[step.key]
        payment_in = sales_demo.payment_input(step, invoice_id, amount, outstanding)
        if payment_in is None:
            raise BusinessRuleViolation("nothing left to pay", {"rule": "nothing_outstanding"})
        payment = billing.record_payment(uow, self._load(step.kind, payment_in))
        invoice = payment.invoice
        self.invoices[step.key][2] = invoice.outstanding
        self.backdates.add("payments", {"id": payment.id}, created_at=step.at)
        if invoice.outstanding <= 0:
            self._transition(uow.session.get(sales_models.Order, invoice.order_id), step.at, order_key)

    # ---- activities -------------------------------------------------------------------
    def _activity_log(self, uow, step, data):
        activity = activities.log_activity(uow, self._load(step.kind, data))
        self.ids[step.key] = activity.id
        self.backdates.add("activities", {"id": activity.id}, created_at=step.at)

    def _visits_plan(self, uow, step, data):
        plan = activities.plan_visits(uow, self._load(step.kind, data))
        self.backdates.add("visit_plans", {"id": plan["id"]}, created_at=step.at)
        made = {(v.customer_id, v.due_at): v.id for v in plan["visits"]}
        for key, visit in zip(step.creates, data["visits"]):
            due = datetime.fromisoformat(visit["due_at"]).astimezone(timezone.utc)
            activity_id = made.get((self.customer_ids.get(visit["customer"]), due))
            if activity_id is not None:
                self.ids[key] = activity_id
                self.backdates.add("activities", {"id": activity_id}, created_at=step.at)

    def _activity_complete(self, uow, step, data):
        activities.complete_activity(uow, self.ids[step.key], self._load(step.kind, data))


def sales_totals(sessions, now=None):
    """What the sales database holds now (all runs), for the summary."""
    m = sales_models
    today = sales_demo.office_day(now or datetime.now(timezone.utc))
    with sessions() as session:
        count = lambda model, *where: session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
        orders_by_status = dict(session.execute(select(m.Order.status, func.count()).group_by(m.Order.status)).all())
        overdue = (m.Invoice.outstanding > 0) & (m.Invoice.due_date < today)
        return {
            "products": count(m.Product), "replica": count(m.CustomerReplica),
            "opportunities": dict(session.execute(select(m.Opportunity.status, func.count())
                                                  .group_by(m.Opportunity.status)).all()),
            "quotes": dict(session.execute(select(m.Quote.status, func.count()).group_by(m.Quote.status)).all()),
            "orders": orders_by_status,
            "credit_holds": count(m.OrderTransition, m.OrderTransition.to_status == "credit_hold"),
            "released": count(m.Order, m.Order.released_by.isnot(None)),
            "credit_warnings": count(m.Order, m.Order.credit_outcome == "warn"),
            "invoices": dict(session.execute(select(m.Invoice.status, func.count()).group_by(m.Invoice.status)).all()),
            "overdue_invoices": count(m.Invoice, overdue),
            "overdue_amount": str(session.scalar(select(func.coalesce(func.sum(m.Invoice.outstanding), 0))
                                                 .where(overdue)) or 0),
            "payments": count(m.Payment), "activities": count(m.Activity),
            "visit_plans": count(m.VisitPlan),
            "order_span": [str(v)[:10] if v else None for v in session.execute(
                select(func.min(m.Order.ordered_at), func.max(m.Order.ordered_at))).one()],
        }


def _fmt(counts):
    return ", ".join(f"{v:,} {k}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"


def print_sales_summary(sales):
    db = sales["database"]
    print(f"sales: {sales['replica_applied']:,} customers into the replica, "
          f"{sum(sales['done'].values()):,} of {sales['planned_steps']:,} planned steps done "
          f"in {sales['seconds']} s")
    print(f"  done: {_fmt(sales['done'])}")
    if sales["skipped"]:
        print(f"  skipped: {_fmt(sales['skipped'])}")
    print(f"  the sales database now holds {db['products']} products, "
          f"{db['replica']:,} replica customers; opportunities {_fmt(db['opportunities'])}")
    print(f"  quotes {_fmt(db['quotes'])}")
    print(f"  orders {_fmt(db['orders'])} (placed {db['order_span'][0]} .. {db['order_span'][1]}); "
          f"{db['credit_holds']:,} went on credit hold, {db['released']:,} released by a credit manager, "
          f"{db['credit_warnings']:,} confirmed with a credit warning")
    print(f"  invoices {_fmt(db['invoices'])}; {db['overdue_invoices']:,} overdue "
          f"(CNY {db['overdue_amount']} outstanding); {db['payments']:,} payments; "
          f"{db['activities']:,} activities in {db['visit_plans']:,} visit plans and logs")


def main(argv=None):
    args = parse_args(argv)
    url = args.database_url or database_url("customer")
    sales_url = None if args.no_sales else (args.sales_database_url or database_url("sales"))
    shown = url.split("@")[-1] if "@" in url else url
    print(f"seeding {args.count:,} demo customers into {shown}"
          + ("" if sales_url is None else f", their sales history into "
             f"{sales_url.split('@')[-1] if '@' in sales_url else sales_url}"))
    log = (lambda *_: None) if args.quiet else print
    summary = seed(url, args.count, args.seed, args.batch, args.start, log=log, sales_url=sales_url)
    print(f"created {summary['created']:,} customers ({summary['companies']:,} companies, "
          f"{summary['persons']:,} persons, {summary['in_pool']:,} in the pool), "
          f"{summary['status_changes']:,} later lost/blocked, "
          f"{summary['relationships']:,} relationships in {summary['seconds']} s")
    print(f"skipped: {summary['skipped_conflicts']:,} customers on a conflict, "
          f"{summary['relationships_skipped']:,} relationships; "
          f"{summary['duplicate_warnings']:,} created with a likely-duplicate warning")
    if "sales" in summary:
        print_sales_summary(summary["sales"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
