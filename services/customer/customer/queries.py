"""Reads of the customer service: search, history, relationships, group tree, export."""
import csv
from datetime import date
import io
import json

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from customer import access, repository as repo
from customer.domain import contact, identifiers, names, relationships
from customer.models import (ContactPoint, Customer, CustomerRole, CustomerTag, HistoryEntry,
                             NameToken, Relationship, RelationshipType, RoleType)
from customer.schemas import (CustomerOut, CustomerSummaryOut, HistoryOut, RelationshipOut)

#: Totals are counted exactly up to this many hits; beyond it the answer says "more than".
COUNT_CAP = 10_000
EXPORT_FORMAT_VERSION = 1
CSV_COLUMNS = ("number", "id", "party_type", "name", "status", "tier", "province", "city",
               "owner_id", "roles", "tags", "phones", "emails", "credit_code", "credit_limit",
               "credit_currency", "credit_policy", "gender", "birth_date", "industry",
               "founded_on", "registered_capital", "marketing_consent", "merged_into", "version",
               "created_at", "updated_at")


def get(session, actor, ref):
    customer = repo.get_customer(session, ref)
    access.ensure_read(actor, customer)
    return CustomerOut().dump(customer)


def _like_escape(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def interpret_q(q):
    """A single search box: a number, email, credit code or phone by shape, else a name."""
    q = q.strip()
    seq = identifiers.parse_customer_number(q)
    if seq is not None:
        return {"number": identifiers.format_customer_number(seq)}
    if "@" in q or "＠" in q:
        return {"email": q}
    code = identifiers.normalize_credit_code(q)
    if len(code) == 18 and identifiers.is_valid_credit_code(code):
        return {"credit_code": code}
    digits = sum(ch.isdigit() for ch in q)
    if digits >= 5 and digits >= len(q.replace(" ", "")) * 0.7 and contact.phone_search_key(q):
        return {"phone": q}
    return {"name": q}


def search(session, actor, criteria):
    criteria = dict(criteria)
    page, size = criteria.pop("page", 1), criteria.pop("page_size", 20)
    if criteria.get("q"):
        criteria.update(interpret_q(criteria.pop("q")))
    stmt = select(Customer.id)
    empty = False
    if not criteria.pop("include_merged", False) and not criteria.get("status"):
        stmt = stmt.where(Customer.status.notin_(("merged", "erased")))
    if criteria.get("name"):
        text = names.search_normalize(criteria["name"])
        tokens = names.query_tokens(criteria["name"])
        for token in tokens:
            stmt = stmt.where(Customer.id.in_(select(NameToken.customer_id)
                                              .where(NameToken.token == token)))
        if tokens:  # the tokens prefilter; the substring check removes false positives
            stmt = stmt.where(Customer.name_normalized.like(f"%{_like_escape(text)}%", escape="\\"))
        elif text:  # one character (a surname): a prefix, an index range scan
            stmt = stmt.where(Customer.name_normalized >= text,
                              Customer.name_normalized < text + "\U0010ffff")
        else:
            empty = True
    if criteria.get("number"):
        seq = identifiers.parse_customer_number(criteria["number"])
        empty = empty or seq is None
        stmt = stmt.where(Customer.number == (identifiers.format_customer_number(seq) if seq else None))
    if criteria.get("phone"):
        key = contact.phone_search_key(criteria["phone"])
        empty = empty or key is None
        stmt = stmt.where(Customer.id.in_(select(ContactPoint.customer_id).where(
            ContactPoint.kind == "phone", ContactPoint.value == key)))
    if criteria.get("email"):
        try:
            email = contact.normalize_email(criteria["email"])
        except contact.InvalidContact:
            email, empty = None, True
        stmt = stmt.where(Customer.id.in_(select(ContactPoint.customer_id).where(
            ContactPoint.kind == "email", ContactPoint.value == email)))
    if criteria.get("credit_code"):
        stmt = stmt.where(Customer.credit_code ==
                          identifiers.normalize_credit_code(criteria["credit_code"]))
    if criteria.get("role"):
        stmt = stmt.where(Customer.id.in_(select(CustomerRole.customer_id)
                                          .where(CustomerRole.role_code == criteria["role"])))
    if criteria.get("tag"):
        stmt = stmt.where(Customer.id.in_(select(CustomerTag.customer_id)
                                          .where(CustomerTag.tag == criteria["tag"])))
    for field in ("status", "party_type", "province", "city", "tier", "owner_id"):
        if criteria.get(field):
            stmt = stmt.where(getattr(Customer, field) == criteria[field])
    if "in_pool" in criteria:
        stmt = stmt.where(Customer.owner_id.is_(None) if criteria["in_pool"]
                          else Customer.owner_id.isnot(None))
    scope = access.search_scope(actor)
    if scope:
        if scope.get("nothing"):
            empty = True
        if scope.get("province"):
            stmt = stmt.where(Customer.province == scope["province"])
        if scope.get("owner_or_pool"):
            stmt = stmt.where(or_(Customer.owner_id.is_(None),
                                  Customer.owner_id == scope["owner_or_pool"]))
    if empty:
        return {"items": [], "total": 0, "total_exact": True, "page": page, "page_size": size}
    capped = session.scalar(select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery()))
    ids = session.scalars(stmt.order_by(Customer.seq.desc()).limit(size)
                          .offset((page - 1) * size)).all()
    rows = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))} if ids else {}
    return {"items": CustomerSummaryOut(many=True).dump([rows[i] for i in ids]),
            "total": min(capped, COUNT_CAP), "total_exact": capped <= COUNT_CAP,
            "page": page, "page_size": size}


def history(session, actor, ref, page=1, page_size=50):
    customer = repo.get_customer(session, ref, full=False)
    if not actor.has_role("auditor"):
        access.ensure_read(actor, customer)
    stmt = select(HistoryEntry).where(HistoryEntry.customer_id == customer.id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(HistoryEntry.id.desc()).limit(page_size)
                           .offset((page - 1) * page_size)).all()
    items = HistoryOut(many=True).dump(rows)
    for item in items:
        for key in ("old_value", "new_value"):
            item[key] = json.loads(item[key]) if item[key] is not None else None
    return {"customer": customer.number, "items": items, "total": total, "page": page,
            "page_size": page_size}


def list_relationships(session, actor, ref, include_ended=False, on=None):
    customer = repo.get_customer(session, ref, full=False)
    access.ensure_read(actor, customer)
    stmt = (select(Relationship)
            .where(or_(Relationship.from_id == customer.id, Relationship.to_id == customer.id))
            .options(selectinload(Relationship.type), selectinload(Relationship.from_customer),
                     selectinload(Relationship.to_customer))
            .order_by(Relationship.created_at))
    rows = session.scalars(stmt).all()
    if not include_ended:
        today = on or date.today()
        rows = [r for r in rows if relationships.is_active(r.valid_from, r.valid_to, today)]
    items = RelationshipOut(many=True).dump(rows)
    for item, row in zip(items, rows):
        # seen from this customer: the outgoing name or the inverse name
        item["direction"] = "outgoing" if row.from_id == customer.id else "incoming"
        item["label"] = row.type.name if row.from_id == customer.id else row.type.inverse_name
    return items


def group_tree(session, actor, ref):
    root = repo.get_customer(session, ref, full=False)
    access.ensure_read(actor, root)
    edges = repo.hierarchical_edges_from(session, [root.id])
    tree = relationships.group_tree(root.id, edges)
    ids = {root.id} | {child for _, child in edges}
    info = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}

    def decorate(node):
        c = info[node["id"]]
        return {"id": c.id, "number": c.number, "name": c.name, "status": c.status,
                "children": [decorate(child) for child in node.get("children", [])]}

    return {"root": decorate(tree), "size": len(ids)}


def role_types(session):
    return [{"code": r.code, "label_en": r.label_en, "label_zh": r.label_zh, "active": r.active}
            for r in session.scalars(select(RoleType).order_by(RoleType.code))]


def relationship_types(session):
    return [{"code": r.code, "name": r.name, "inverse_name": r.inverse_name,
             "inverse_code": r.inverse_code, "name_zh": r.name_zh,
             "inverse_name_zh": r.inverse_name_zh,
             "from_party_types": r.from_party_types.split(","),
             "to_party_types": r.to_party_types.split(","), "hierarchical": r.hierarchical}
            for r in session.scalars(select(RelationshipType).order_by(RelationshipType.code))]


# ---- export -----------------------------------------------------------------------------------

def export_batch(session, actor, after_seq=0, limit=1000, fmt="jsonl", include_merged=False):
    """One keyset-paginated batch of the export; callers loop on ``next_after`` until ``done``.

    JSON Lines carry the record of CustomerOut (schema customer-record.v1.json) plus
    ``_format`` = the format version. CSV repeats the header in the first batch only.
    """
    access.ensure_role(actor, "auditor", "sales_manager", "marketer", action="export customers")
    stmt = (select(Customer).where(Customer.seq > after_seq).options(*repo.FULL_RECORD)
            .order_by(Customer.seq).limit(limit))
    if not include_merged:
        stmt = stmt.where(Customer.status.notin_(("merged", "erased")))
    scope = access.search_scope(actor)
    if scope and scope.get("province"):
        stmt = stmt.where(Customer.province == scope["province"])
    rows = session.scalars(stmt).all()
    records = CustomerOut(many=True).dump(rows)
    if fmt == "csv":
        lines = [csv_line(CSV_COLUMNS)] if after_seq == 0 else []
        lines += [csv_line(csv_row(r)) for r in records]
    else:
        lines = [json.dumps({"_format": EXPORT_FORMAT_VERSION, **r}, ensure_ascii=False)
                 for r in records]
    next_after = rows[-1].seq if rows else after_seq
    return {"lines": lines, "next_after": next_after, "done": len(rows) < limit,
            "format": fmt, "format_version": EXPORT_FORMAT_VERSION}


def csv_row(record):
    flat = dict(record)
    flat["roles"] = "|".join(record["roles"])
    flat["tags"] = "|".join(record["tags"])
    flat["phones"] = "|".join(p["value"] for p in record["phones"])
    flat["emails"] = "|".join(e["value"] for e in record["emails"])
    return ["" if flat.get(col) is None else flat.get(col) for col in CSV_COLUMNS]


def csv_line(values):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def privacy_export(session, actor, ref):
    """Everything the service holds on one customer (data subject access)."""
    access.ensure_role(actor, *access.PRIVACY_OFFICERS, action="export a customer's personal data")
    customer = repo.get_customer(session, ref)
    record = CustomerOut().dump(customer)
    return {"customer": record,
            "relationships": list_relationships(session, actor, ref, include_ended=True),
            "history": history(session, actor, ref, page_size=100000)["items"],
            "consent": {"marketing_consent": customer.marketing_consent,
                        "marketing_consent_at": record.get("marketing_consent_at")
                        or (customer.marketing_consent_at.isoformat()
                            if customer.marketing_consent_at else None)},
            "erasure": {"erased_at": customer.erased_at.isoformat() if customer.erased_at else None,
                        "erased_by": customer.erased_by, "reason": customer.erase_reason}}
