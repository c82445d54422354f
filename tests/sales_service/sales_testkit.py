"""Shared by the sales tests: callers, migrations, and customers put into the replica."""
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from guanxi_common.context import Actor

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
