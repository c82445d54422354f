"""Commands on relationships between customers (a group's holdings, contacts of a
company, ...) and on the relationship-type catalogue."""
from datetime import date

from sqlalchemy import select

from customer import access
from customer.adapters import repository as repo
from customer.adapters.models import Relationship, RelationshipType
from customer.application.changes import emit, ensure_live, record_history, snapshot
from customer.domain import history, relationships
from guanxi_common.clock import utcnow
from guanxi_common.errors import (BusinessRuleViolation, Conflict, Forbidden, NotFound,
                                  ValidationFailed, domain_rules)


def define_relationship_type(uow, data):
    access.ensure_role(uow.actor, action="define a relationship type")
    taken = data.get("inverse_code") and uow.session.scalar(select(RelationshipType.code).where(
        RelationshipType.inverse_code == data["inverse_code"], RelationshipType.code != data["code"]))
    if taken or uow.session.get(RelationshipType, data.get("inverse_code") or "") is not None:
        raise Conflict(f"inverse code {data['inverse_code']!r} is already in use",
                       {"inverse_code": data["inverse_code"]})
    rel = uow.session.get(RelationshipType, data["code"]) or RelationshipType(code=data["code"])
    rel.name, rel.inverse_name = data["name"], data["inverse_name"]
    rel.inverse_code = data.get("inverse_code")
    rel.name_zh, rel.inverse_name_zh = data.get("name_zh"), data.get("inverse_name_zh")
    rel.from_party_types = ",".join(data["from_party_types"])
    rel.to_party_types = ",".join(data["to_party_types"])
    rel.hierarchical = data["hierarchical"]
    uow.session.add(rel)
    return rel


def _domain_type(row):
    return relationships.RelationshipType(
        code=row.code, name=row.name, inverse_name=row.inverse_name,
        from_party_types=frozenset(row.from_party_types.split(",")),
        to_party_types=frozenset(row.to_party_types.split(",")), hierarchical=row.hierarchical)


def add_relationship(uow, data):
    """Link two customers; an inverse code ("subsidiary_of") is stored the canonical way round."""
    session, actor = uow.session, uow.actor
    # the link changes both customers (history, version), so the caller must be able to
    # change both; the customer it is added on is checked before the one it names
    named = repo.get_customer(session, data["from_customer"], for_update=True)
    access.ensure_write(actor, named, data["from_customer"])
    other = repo.get_customer(session, data["to_customer"], for_update=True)
    access.ensure_reference(actor, other, "to_customer", data["to_customer"])
    source, target = named, other
    rel_type = session.get(RelationshipType, data["type"])
    if rel_type is None:
        rel_type = session.scalar(select(RelationshipType)
                                  .where(RelationshipType.inverse_code == data["type"]))
        source, target = target, source
    if rel_type is None:
        raise ValidationFailed("unknown relationship type",
                               {"type": [f"unknown relationship type {data['type']!r}"]})
    for c in (source, target):
        ensure_live(c)
    with domain_rules():
        relationships.check_relationship(_domain_type(rel_type), source.party_type,
                                         target.party_type, source.id, target.id)
    if rel_type.hierarchical:
        edges = repo.hierarchical_edges_from(session, [target.id])
        if relationships.would_create_cycle(edges, source.id, target.id):
            raise BusinessRuleViolation(
                f"{source.number} is already below {target.number}: the link would make a cycle",
                {"rule": "relationship_cycle", "from": source.number, "to": target.number})
    duplicate = session.scalar(select(Relationship.id).where(
        Relationship.type_code == rel_type.code, Relationship.from_id == source.id,
        Relationship.to_id == target.id, Relationship.valid_to.is_(None)))
    if duplicate:
        raise Conflict("this relationship exists already", {"relationship_id": duplicate})
    rel = Relationship(id=repo.new_id(), type_code=rel_type.code, from_id=source.id, to_id=target.id,
                       valid_from=data.get("valid_from"), valid_to=data.get("valid_to"),
                       note=data.get("note"), created_at=utcnow(), created_by=uow.actor.user_id)
    session.add(rel)
    session.flush()
    _relationship_history(uow, rel, source, target, "relationship_added")
    return rel


def end_relationship(uow, relationship_id, valid_to=None, remove=False):
    session = uow.session
    rel = session.get(Relationship, relationship_id)
    source, target = (rel.from_customer, rel.to_customer) if rel is not None else (None, None)
    actor = uow.actor
    if rel is None or not (access.readable(actor, source) or access.readable(actor, target)):
        raise NotFound(f"relationship {relationship_id} not found", {"relationship": relationship_id})
    # either end's keeper may end the link: it is part of both customers' records
    if not any(access.can_write(actor, c.owner_id, c.province) for c in (source, target)):
        raise Forbidden(f"{actor.user_id} may change neither customer of relationship "
                        f"{relationship_id}", {"relationship": relationship_id})
    if remove:
        session.delete(rel)
        action = "relationship_removed"
    else:
        rel.valid_to = valid_to or date.today()
        action = "relationship_ended"
    session.flush()
    _relationship_history(uow, rel, source, target, action)
    return rel


def _relationship_history(uow, rel, source, target, action):
    """Both ends get a history line; the relationship is part of each customer's picture."""
    value = {"id": rel.id, "type": rel.type_code, "from": source.number, "to": target.number,
             "valid_from": rel.valid_from, "valid_to": rel.valid_to}
    old = None if action == "relationship_added" else value
    new = None if action == "relationship_removed" else value
    for customer in (source, target):
        customer.version += 1
        customer.updated_at = utcnow()
        record_history(uow, customer, action, [history.Change(f"relationships.{rel.id}", old, new)])
        emit(uow, "customer.updated", customer, {"changed_fields": ["relationships"],
                                                 "customer": snapshot(customer)})
