"""Reading the customer replica: how much it holds, and one customer as sales sees it."""
from datetime import datetime

from sqlalchemy import func, select

from sales.access import ensure_read
from sales.adapters.models import CustomerReplica
from sales.adapters.repository import caught_up_at, find_customer


def status(session):
    """How much the replica holds: customers, highest version, last change applied."""
    count, max_version, last = session.execute(select(
        func.count(CustomerReplica.id), func.max(CustomerReplica.version),
        func.max(CustomerReplica.updated_at))).one()
    caught_up = caught_up_at(session)
    return {"customers": count, "max_version": max_version,
            "last_applied_at": _iso(last), "caught_up": caught_up is not None,
            "caught_up_at": _iso(caught_up)}


def replica_customer(session, actor, ref):
    """The replica row of a customer (number or id); the caller must be allowed to read it."""
    customer = find_customer(session, ref)
    ensure_read(actor, customer, ref)
    return customer


def _iso(value):
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands max() of a timestamp back as text
        return value
    return value.isoformat() if isinstance(value, datetime) else str(value)
