"""Reads of relationships: a customer's links, its group tree, the relationship types."""
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from customer import access
from customer.adapters import records, repository as repo
from customer.adapters.models import Customer, Relationship, RelationshipType
from customer.domain import relationships
from guanxi_common.contracts.customer import RelationshipListItemSchema

LIST_ITEMS = RelationshipListItemSchema(many=True)


def list_relationships(session, actor, ref, include_ended=False, on=None):
    customer = repo.get_customer(session, ref, full=False)
    access.ensure_read(actor, customer, ref)
    stmt = (select(Relationship)
            .where(or_(Relationship.from_id == customer.id, Relationship.to_id == customer.id))
            .options(selectinload(Relationship.type), selectinload(Relationship.from_customer),
                     selectinload(Relationship.to_customer))
            .order_by(Relationship.created_at))
    rows = session.scalars(stmt).all()
    if not include_ended:
        today = on or date.today()
        rows = [r for r in rows if relationships.is_active(r.valid_from, r.valid_to, today)]
    items = []
    for row in rows:
        # seen from this customer: the outgoing name or the inverse name
        outgoing = row.from_id == customer.id
        items.append({**visible_relationship(actor, row),
                      "direction": "outgoing" if outgoing else "incoming",
                      "label": row.type.name if outgoing else row.type.inverse_name})
    return LIST_ITEMS.dump(items)


def visible_relationship(actor, row):
    """A link is part of both customers' pictures, so either side sees it and the other
    end's number; the other end's name only when the caller may read that customer."""
    item = records.relationship_of(row)
    for end, customer in (("from_name", row.from_customer), ("to_name", row.to_customer)):
        if not access.readable(actor, customer):
            del item[end]
    return item


def group_tree(session, actor, ref):
    root = repo.get_customer(session, ref, full=False)
    access.ensure_read(actor, root, ref)
    edges = repo.hierarchical_edges_from(session, [root.id])
    tree = relationships.group_tree(root.id, edges)
    ids = {root.id} | {child for _, child in edges}
    info = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}

    def decorate(node):
        c = info[node["id"]]
        shown = {"id": c.id, "number": c.number, "status": c.status,
                 "children": [decorate(child) for child in node.get("children", [])]}
        if access.readable(actor, c):  # the group's shape is the root's; names are not
            shown["name"] = c.name
        return shown

    return {"root": decorate(tree), "size": len(ids)}


def relationship_types(session):
    return [{"code": r.code, "name": r.name, "inverse_name": r.inverse_name,
             "inverse_code": r.inverse_code, "name_zh": r.name_zh,
             "inverse_name_zh": r.inverse_name_zh,
             "from_party_types": r.from_party_types.split(","),
             "to_party_types": r.to_party_types.split(","), "hierarchical": r.hierarchical}
            for r in session.scalars(select(RelationshipType).order_by(RelationshipType.code))]
