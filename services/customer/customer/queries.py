"""Reads of the customer service: search, history, relationships, group tree, export."""
import csv
import io
import json
from datetime import date

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from customer import access, records, repository as repo
from customer.domain import identifiers, names, relationships
from guanxi_common import contact
from customer.models import (ContactPoint, Customer, CustomerRole, CustomerTag, HistoryEntry,
                             NameToken, Relationship, RelationshipType, RoleType)
from customer.schemas import CustomerOut, CustomerSummaryOut, HistoryOut, RelationshipOut
from guanxi_common.errors import Forbidden, NotFound

#: Totals are counted exactly up to this many hits; beyond it the answer says "more than".
COUNT_CAP = 1_000
EXPORT_FORMAT_VERSION = 1
CSV_COLUMNS = ("number", "id", "party_type", "name", "status", "tier", "province", "city",
               "owner_id", "roles", "tags", "phones", "emails", "credit_code", "credit_limit",
               "credit_currency", "credit_policy", "gender", "birth_date", "industry",
               "founded_on", "registered_capital", "marketing_consent", "merged_into", "version",
               "created_at", "updated_at")


def get(session, actor, ref):
    found = records.load(session, repo.ref_condition(ref))
    if found is None:
        raise NotFound(f"customer {ref} not found", {"customer": ref})
    record, owner_id, province, number = found
    if not access.can_read(actor, owner_id, province):
        raise Forbidden(f"{actor.user_id} may not read customer {number}", {"customer": number})
    return record


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
    """Customers matching every criterion, newest first, with a total capped at COUNT_CAP.

    The query is driven by the most selective posting list available — name n-grams, a
    role, a tag, a contact point — whose rows are keyed by the customer's seq, so a page
    is the first hits of an index walk and a count stops at the cap: the cost follows the
    page size and the cap, not the number of customers.
    """
    criteria = dict(criteria)
    page, size = criteria.pop("page", 1), criteria.pop("page_size", 20)
    if criteria.get("q"):
        criteria.update(interpret_q(criteria.pop("q")))
    plan = _SearchPlan(actor)
    if criteria.get("name"):
        plan.name(criteria["name"])
    if criteria.get("role"):
        plan.posting(CustomerRole, lambda t: t.role_code == criteria["role"])
    if criteria.get("tag"):
        plan.posting(CustomerTag, lambda t: t.tag == criteria["tag"])
    if criteria.get("phone"):
        plan.contact("phone", contact.phone_search_key(criteria["phone"]))
    if criteria.get("email"):
        try:
            plan.contact("email", contact.normalize_email(criteria["email"]))
        except contact.InvalidContact:
            plan.contact("email", None)
    if criteria.get("number"):
        seq = identifiers.parse_customer_number(criteria["number"])
        plan.where(Customer.number == (identifiers.format_customer_number(seq) if seq else None))
    if criteria.get("credit_code"):
        plan.where(Customer.credit_code == identifiers.normalize_credit_code(criteria["credit_code"]))
    for field in ("status", "party_type", "province", "city", "tier", "owner_id"):
        if criteria.get(field):
            plan.where(getattr(Customer, field) == criteria[field])
    if "in_pool" in criteria:
        plan.where(Customer.owner_id.is_(None) if criteria["in_pool"] else Customer.owner_id.isnot(None))
    if not criteria.get("include_merged") and not criteria.get("status"):
        plan.live_only()
    plan.scope(access.search_scope(actor))
    if plan.empty:
        return {"items": [], "total": 0, "total_exact": True, "page": page, "page_size": size}
    stmt = plan.statement()
    capped = session.scalar(select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery()))
    seqs = session.scalars(stmt.order_by(plan.order_column.desc()).limit(size)
                           .offset((page - 1) * size)).all()
    rows = {c.seq: c for c in session.scalars(select(Customer).where(Customer.seq.in_(seqs)))} if seqs else {}
    return {"items": CustomerSummaryOut(many=True).dump([rows[s] for s in seqs]),
            "total": min(capped, COUNT_CAP), "total_exact": capped <= COUNT_CAP,
            "page": page, "page_size": size}


class _SearchPlan:
    """Collects the criteria of one search and builds its statement over customer seqs."""

    def __init__(self, actor):
        self.actor = actor
        self.driver = None          # (seq column, condition) of the driving posting list
        self.postings = []          # further posting lists: seq IN (...)
        self.conditions = []        # conditions on the customers table
        self.name_only_live = False  # name tokens exist for live customers only
        self.empty = False

    def name(self, text):
        normalized = names.search_normalize(text)
        tokens = sorted(names.query_tokens(text), key=len, reverse=True)
        if not normalized:
            self.empty = True
        elif not tokens:  # one character, e.g. a surname: a prefix range on the index
            self.where(Customer.name_normalized >= normalized,
                       Customer.name_normalized < normalized + "\U0010ffff")
        else:
            for token in tokens:
                self.posting(NameToken, lambda t, token=token: t.token == token)
            self.name_only_live = True
            if tokens != [normalized]:  # the tokens prefilter; the substring decides
                self.where(Customer.name_normalized.like(f"%{_like_escape(normalized)}%",
                                                         escape="\\"))

    def posting(self, table, condition_for):
        """A table of (key, seq) rows; the first one drives, the others are probed."""
        if self.driver is None:
            self.driver = (table.seq, condition_for(table))
        else:
            inner = aliased(table)
            self.postings.append((inner.seq, condition_for(inner)))

    def contact(self, kind, value):
        if value is None:
            self.empty = True
            return
        self.conditions.append(Customer.id.in_(select(ContactPoint.customer_id).where(
            ContactPoint.kind == kind, ContactPoint.value == value)))

    def where(self, *conditions):
        self.conditions.extend(conditions)

    def live_only(self):
        if not self.name_only_live:  # the name index already leaves merged/erased out
            self.conditions.append(Customer.status.notin_(("merged", "erased")))

    def scope(self, scope):
        if not scope:
            return
        if scope.get("nothing"):
            self.empty = True
        if scope.get("province"):
            self.conditions.append(Customer.province == scope["province"])
        if scope.get("owner_or_pool"):
            self.conditions.append(or_(Customer.owner_id.is_(None),
                                       Customer.owner_id == scope["owner_or_pool"]))

    @property
    def order_column(self):
        return self.driver[0] if self.driver else Customer.seq

    def statement(self):
        if self.driver is None:
            return select(Customer.seq).where(*self.conditions)
        seq_column, condition = self.driver
        stmt = select(seq_column).where(condition)
        for inner_seq, inner_condition in self.postings:  # a key lookup per candidate
            stmt = stmt.where(exists().where(inner_condition, inner_seq == seq_column))
        if self.conditions:
            stmt = stmt.join(Customer, Customer.seq == seq_column).where(*self.conditions)
        return stmt


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
