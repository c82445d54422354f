"""Shared by the sales tests: callers, migrations, customers put into the replica, a fake
unit of work with the default pipeline, a sales service class of chosen areas, and a
session on a service's database."""
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from guanxi_common.chassis import ServiceBase
from guanxi_common.context import Actor
from guanxi_common.engine import make_engine
from guanxi_common.messaging_models import messaging_metadata
from guanxi_common.rpc import ServiceRpc
from guanxi_common.testing import FakeUnitOfWork
from guanxi_common.unit_of_work import UnitOfWorkProvider, make_session_factory

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "services" / "sales" / "alembic.ini"

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}), request_id="req-admin")
REP = Actor(user_id="rep-1", roles=frozenset({"sales_rep"}), region="广东", request_id="req-rep")
REP2 = Actor(user_id="rep-2", roles=frozenset({"sales_rep"}), region="广东")
MANAGER = Actor(user_id="mgr-1", roles=frozenset({"sales_manager"}), region="广东")
CREDIT = Actor(user_id="cm-1", roles=frozenset({"credit_manager"}))

_counter = iter(range(1, 10_000_000))


def add_customer(session, *, roles=("sold_to", "ship_to", "bill_to", "payer"), status="active",
                 credit_limit=None, credit_policy="none", owner_id="rep-1", province="广东",
                 name=None, version=1, **extra):
    """Put a customer into the sales replica directly (as the customer events would)."""
    from sales.adapters.models import CustomerReplica

    n = next(_counter)
    customer = CustomerReplica(
        id=extra.pop("id", f"00000000-0000-4000-8000-{n:012d}"), number=f"C{n:08d}",
        name=name or f"测试客户{n}有限公司", party_type=extra.pop("party_type", "company"),
        status=status, roles=list(roles),
        credit_limit=Decimal(credit_limit) if credit_limit is not None else None,
        credit_currency="CNY", credit_policy=credit_policy, owner_id=owner_id, province=province,
        version=version, updated_at=datetime.now(timezone.utc), **extra)
    session.add(customer)
    session.flush()
    return customer


def add_default_pipeline(session):
    """The pipeline stages migration 0002 loads."""
    from sales.adapters.models import PipelineStage
    from sales.domain.funnel import DEFAULT_PIPELINE

    for stage in DEFAULT_PIPELINE:
        session.add(PipelineStage(code=stage.code, name=stage.name, position=stage.order,
                                  probability=stage.probability, is_won=stage.is_won,
                                  is_lost=stage.is_lost))


def fake_sales_uow(actor=ADMIN):
    """A :class:`FakeUnitOfWork` on the service's tables and the messaging tables (the
    replica's catch-up marker is an inbox row), with the default pipeline."""
    from sales.adapters.models import Base

    fake = FakeUnitOfWork((Base.metadata, messaging_metadata), "sales", actor)
    with fake:
        add_default_pipeline(fake.session)
    return fake


def sales_serving(*areas):
    """A service class named ``sales`` with the dependencies of ``SalesService`` and only
    the given entrypoint areas (e.g. ``ReportEntrypoints``)."""
    return type("SalesUnderTest", (ServiceBase, *areas), {
        "name": "sales", "uow": UnitOfWorkProvider("sales"),
        "customer_rpc": ServiceRpc("customer")})


@contextmanager
def sales_session(url):
    """A session on the sales database at ``url``, committed on a clean exit."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            yield session
            session.commit()
    finally:
        engine.dispose()
