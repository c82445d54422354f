"""Persistence helpers of the customer service: lookups, numbers, the name index."""
import uuid
from datetime import date

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import selectinload

from customer.adapters.models import (ContactPoint, Customer, NameToken, NumberSequence,
                                      Relationship, RelationshipType)
from customer.domain import names
from guanxi_common import identifiers, sequences
from guanxi_common.errors import NotFound

CUSTOMER_SEQUENCE = "customer"
FULL_RECORD = (selectinload(Customer.contact_points), selectinload(Customer.addresses),
               selectinload(Customer.roles), selectinload(Customer.tags),
               selectinload(Customer.financials), selectinload(Customer.merged_into))


def new_id():
    return str(uuid.uuid4())


def next_seq(session, name=CUSTOMER_SEQUENCE):
    """Allocate the next customer sequence number (after any rows loaded without one)."""
    return sequences.next_value(session, NumberSequence, name,
                                initial=lambda: (session.scalar(select(func.max(Customer.seq))) or 0) + 1)


def ref_condition(ref):
    """Where-clause for a reference: a number (any written form) or an id."""
    ref = (ref or "").strip()
    seq = identifiers.parse_customer_number(ref)  # also full-width and lower-case forms
    if seq is not None:
        return Customer.number == identifiers.format_customer_number(seq)
    return Customer.id == ref


def get_customer(session, ref, for_update=False, full=True):
    """Find by number (C00001234) or id; NotFound otherwise."""
    stmt = select(Customer).where(ref_condition(ref))
    if full:
        stmt = stmt.options(*FULL_RECORD)
    if for_update:
        stmt = stmt.with_for_update()
    customer = session.scalars(stmt).first()
    if customer is None:
        raise NotFound(f"customer {ref} not found", {"customer": ref})
    return customer


def reindex_name(session, customer):
    """Replace the name index entries of a customer: n-grams and pinyin keys."""
    session.execute(delete(NameToken).where(NameToken.seq == customer.seq))
    live = customer.status not in ("merged", "erased")
    tokens = names.index_tokens(customer.party_type, customer.name) if live else ()
    if tokens:
        session.execute(insert(NameToken), [{"token": t, "seq": customer.seq} for t in tokens])


def contact_owners(session, kind, values, exclude_id=None):
    """{value: customer number} for contact points already held by another customer."""
    if not values:
        return {}
    stmt = (select(ContactPoint.value, Customer.number)
            .join(Customer, Customer.id == ContactPoint.customer_id)
            .where(ContactPoint.kind == kind, ContactPoint.value.in_(list(values))))
    if exclude_id:
        stmt = stmt.where(ContactPoint.customer_id != exclude_id)
    return dict(session.execute(stmt).all())


def credit_code_owner(session, code, exclude_id=None):
    if not code:
        return None
    stmt = select(Customer.number).where(Customer.credit_code == code)
    if exclude_id:
        stmt = stmt.where(Customer.id != exclude_id)
    return session.scalar(stmt)


def hierarchical_edges_from(session, root_ids, on=None, max_nodes=100_000):
    """All hierarchical edges in force ``on`` (default today) reachable downwards from
    ``root_ids``: breadth first, each node expanded once, so stored cycles cannot loop."""
    on = on or date.today()
    hierarchical = select(RelationshipType.code).where(RelationshipType.hierarchical.is_(True))
    in_force = and_(or_(Relationship.valid_from.is_(None), Relationship.valid_from <= on),
                    or_(Relationship.valid_to.is_(None), Relationship.valid_to >= on))
    edges, seen, frontier = [], set(root_ids), list(root_ids)
    while frontier and len(seen) < max_nodes:
        rows = session.execute(select(Relationship.from_id, Relationship.to_id)
                               .where(Relationship.type_code.in_(hierarchical), in_force,
                                      Relationship.from_id.in_(frontier[:500]))).all()
        frontier = frontier[500:]
        for parent, child in rows:
            edges.append((parent, child))
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return edges
