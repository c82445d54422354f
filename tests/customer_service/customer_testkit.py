"""Shared by the customer tests: the callers they act as, where the migrations live, a fake
unit of work with the catalogue loaded, and commands run from wire-shaped input."""
from pathlib import Path

from customer.adapters.models import Base
from customer.application import catalogue, parties
from guanxi_common.context import Actor
from guanxi_common.contracts.customer import CustomerCreateSchema, CustomerUpdateSchema
from guanxi_common.messaging_models import messaging_metadata
from guanxi_common.testing import FakeUnitOfWork
from guanxi_common.validation import load

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "services" / "customer" / "alembic.ini"

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}), request_id="req-admin")
REP = Actor(user_id="rep-1", roles=frozenset({"sales_rep"}), region="广东", request_id="req-rep")
REP2 = Actor(user_id="rep-2", roles=frozenset({"sales_rep"}), region="广东", request_id="req-rep2")
MANAGER = Actor(user_id="mgr-1", roles=frozenset({"sales_manager"}), region="广东")
CREDIT = Actor(user_id="cm-1", roles=frozenset({"credit_manager"}))
AUDITOR = Actor(user_id="aud-1", roles=frozenset({"auditor"}))


def fake_customer_uow(actor=ADMIN):
    """A :class:`FakeUnitOfWork` on the service's tables and the messaging tables (erasure
    clears published outbox rows), with the default catalogue the migrations load."""
    fake = FakeUnitOfWork((Base.metadata, messaging_metadata), "customer", actor)
    with fake:
        catalogue.ensure_catalogue(fake.session)
    return fake


def create(uow, **fields):
    """``create_customer`` on the input the contract loads (a company unless told)."""
    fields.setdefault("party_type", "company")
    data = load(CustomerCreateSchema(), fields)
    with uow:
        customer, warnings = parties.create_customer(uow, data)
    return customer, warnings


def update(uow, ref, **changes):
    data = load(CustomerUpdateSchema(), changes, partial=True)
    with uow:
        return parties.update_customer(uow, ref, data)
