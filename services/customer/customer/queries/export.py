"""The export (every customer, batch by batch, JSON Lines or CSV) and the privacy export
(everything held on one person)."""
import csv
import io
import json

from sqlalchemy import select

from customer import access
from customer.adapters import records, repository as repo
from customer.adapters.models import Customer
from customer.queries.parties import history
from customer.queries.relationships import list_relationships
from guanxi_common.contracts.customer import EXPORT_FORMAT_VERSION

CSV_COLUMNS = ("number", "id", "party_type", "name", "status", "tier", "province", "city",
               "owner_id", "roles", "tags", "phones", "emails", "credit_code", "credit_limit",
               "credit_currency", "credit_policy", "gender", "birth_date", "industry",
               "founded_on", "registered_capital", "marketing_consent", "merged_into", "version",
               "created_at", "updated_at")


def export_batch(session, actor, after_seq=0, limit=1000, fmt="jsonl", include_merged=False):
    """One keyset-paginated batch of the export; callers loop on ``next_after`` until ``done``.

    JSON Lines carry the customer record (CustomerExportLineSchema, customer-record.v1) plus
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
    dumped = [records.dump(row) for row in rows]
    if fmt == "csv":
        lines = [csv_line(CSV_COLUMNS)] if after_seq == 0 else []
        lines += [csv_line(csv_row(r)) for r in dumped]
    else:
        lines = [json.dumps({"_format": EXPORT_FORMAT_VERSION, **r}, ensure_ascii=False)
                 for r in dumped]
    next_after = rows[-1].seq if rows else after_seq
    return {"lines": lines, "next_after": next_after, "done": len(rows) < limit,
            "format": fmt, "format_version": EXPORT_FORMAT_VERSION}


def csv_row(record):
    flat = dict(record)
    flat["roles"] = "|".join(record["roles"])
    flat["tags"] = "|".join(record["tags"])
    flat["phones"] = "|".join(p["value"] for p in record["phones"])
    flat["emails"] = "|".join(e["value"] for e in record["emails"])
    return [spreadsheet_safe("" if flat.get(col) is None else flat.get(col)) for col in CSV_COLUMNS]


#: what makes a spreadsheet read a cell as a formula (OWASP "CSV Injection"), with the
#: full-width forms Chinese input methods type
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(value):
    """A text cell that would start a formula gets a leading apostrophe, so Excel and
    LibreOffice show it as text (a phone ``+86...`` too: the CSV is for people, the JSON
    Lines export keeps values as they are). Numbers and dates are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_line(values):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def privacy_export(session, actor, ref):
    """Everything the service holds on one customer (data subject access)."""
    access.ensure_role(actor, *access.PRIVACY_OFFICERS, action="export a customer's personal data")
    customer = repo.get_customer(session, ref)
    record = records.dump(customer)
    return {"customer": record,
            "relationships": list_relationships(session, actor, ref, include_ended=True),
            "history": history(session, actor, ref, page_size=100000)["items"],
            "consent": {"marketing_consent": customer.marketing_consent,
                        "marketing_consent_at": record.get("marketing_consent_at")
                        or (customer.marketing_consent_at.isoformat()
                            if customer.marketing_consent_at else None)},
            "erasure": {"erased_at": customer.erased_at.isoformat() if customer.erased_at else None,
                        "erased_by": customer.erased_by, "reason": customer.erase_reason}}
