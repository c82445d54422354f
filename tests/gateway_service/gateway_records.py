"""Canned service answers for the fake-pool endpoint tests: records shaped as the customer
and sales services send them on the wire (strings for money and times, every field
present), so the gateway's response schemas dump them as they would a real answer.

Each one is checked against the service's answer schema in ``guanxi_common.contracts``
(:func:`as_the_contract_says`): a field the contract adds, drops, renames or stops
allowing null in breaks these fixtures, not only the services' own tests."""
import itertools
import uuid

from guanxi_common.contracts import customer as customer_contract
from guanxi_common.contracts.sales import activities, billing, orders, products

NOW = "2026-03-02T08:00:00.000000Z"
_history_ids = itertools.count(1)


def as_the_contract_says(schema, record):
    """``record``, once it is shown to carry exactly the fields of the contract's answer
    ``schema`` and to load in it (kinds, choices, nulls)."""
    declared = {field.data_key or name for name, field in schema().fields.items()}
    assert set(record) == declared, (schema.__name__, set(record) ^ declared)
    schema().load(record)
    return record


def customer_record(number="C00000001", name="深圳华为技术有限公司", **changes):
    """The customer record (version 1) as ``customer.get`` answers it."""
    record = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, number)), "number": number,
        "party_type": "company", "name": name, "status": "prospect", "tier": None,
        "province": "广东", "city": None, "owner_id": "u-rep", "in_pool": False,
        "owned_since": NOW, "last_follow_up_at": None, "tags": [], "roles": [],
        "phones": [{"value": "+8675528780808", "label": None, "is_primary": True}],
        "emails": [], "addresses": [], "preferences": {}, "marketing_consent": False,
        "credit_limit": None, "credit_currency": "CNY", "credit_policy": "warn",
        "gender": None, "birth_date": None, "marital_status": None, "industry": None,
        "founded_on": None, "registered_capital": None, "registered_capital_currency": None,
        "credit_code": None, "financials": [], "merged_into": None, "erased": False,
        "version": 1, "created_at": NOW, "updated_at": NOW,
    }
    record.update(changes)
    return as_the_contract_says(customer_contract.CustomerRecordSchema, record)


def customer_summary(record):
    keys = ("id", "number", "party_type", "name", "status", "tier", "province", "city",
            "owner_id", "credit_code", "version")
    return as_the_contract_says(customer_contract.CustomerSummarySchema,
                                {key: record[key] for key in keys})


def page(items, total=None, page_number=1, page_size=20, total_exact=True):
    return {"items": list(items), "total": len(items) if total is None else total,
            "total_exact": total_exact, "page": page_number, "page_size": page_size}


def history_entry(version, action, field="name", actor_id="u-admin"):
    return as_the_contract_says(customer_contract.HistoryEntrySchema, {
        "id": next(_history_ids), "version": version, "action": action, "field": field,
        "old_value": None, "new_value": None, "actor_id": actor_id, "request_id": "r-1",
        "reason": None, "changed_at": NOW})


def relationship(from_customer, to_customer, type_="holding_of", direction="outgoing",
                 **changes):
    record = {"id": str(uuid.uuid4()), "type": type_, "name": "holding of",
              "from_customer": from_customer, "to_customer": to_customer,
              "from_name": "华南控股集团", "to_name": "华南控股深圳分公司",
              "valid_from": None, "valid_to": None, "note": None, "created_at": NOW,
              "direction": direction, "label": "holding of"}
    record.update(changes)
    return as_the_contract_says(customer_contract.RelationshipListItemSchema, record)


def product(sku="TEA-1", **changes):
    record = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, sku)), "sku": sku,
              "name": "铁观音 500g", "unit": "box", "currency": "CNY", "list_price": "100.00",
              "unit_cost": "55.00", "tax_rate": "0.1300", "active": True,
              "created_at": NOW, "updated_at": NOW}
    record.update(changes)
    return as_the_contract_says(products.ProductOut, record)


def party(number="C00000001", name="深圳华为技术有限公司"):
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, number)), "number": number, "name": name}


def order(number="SO-2026-000001", status="confirmed", sold_to="C00000001", **changes):
    record = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, number)), "number": number, "status": status,
        "owner_id": "u-manager", "region": "广东", "quote_id": None, "currency": "CNY",
        "net": "100.00", "tax": "13.00", "gross": "113.00", "cost": "55.00", "margin": "45.00",
        "credit": {"outcome": "ok", "exposure": "0.00", "limit": "100000.00", "note": None,
                   "released_by": None, "released_at": None, "release_reason": None},
        "lines": [{"position": 1, "product_id": product()["id"], "sku": "TEA-1",
                   "description": "铁观音 500g", "quantity": "1.000", "unit_price": "100.00",
                   "discount": "0.0000", "tax_rate": "0.1300", "unit_cost": "55.00",
                   "net": "100.00", "tax": "13.00", "gross": "113.00", "cost": "55.00",
                   "margin": "45.00"}],
        "transitions": [{"from_status": None, "to_status": status, "actor_id": "u-manager",
                         "request_id": "r-1", "reason": None, "at": NOW}],
        "ordered_at": NOW, "created_by": "u-manager", "version": 1,
        "created_at": NOW, "updated_at": NOW,
        "sold_to": party(sold_to), "ship_to": party(sold_to), "bill_to": party(sold_to),
        "payer": party(sold_to),
    }
    record.update(changes)
    return as_the_contract_says(orders.OrderOut, record)


def order_summary(record):
    keys = ("id", "number", "status", "owner_id", "region", "currency", "net", "gross",
            "margin", "ordered_at", "version")
    return as_the_contract_says(orders.OrderSummaryOut, {
        **{key: record[key] for key in keys}, "credit_outcome": record["credit"]["outcome"],
        "sold_to": record["sold_to"]["number"], "payer": record["payer"]["number"]})


def invoice(number="INV-2026-000001", order_number="SO-2026-000001", customer="C00000001",
            **changes):
    record = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, number)), "number": number,
              "owner_id": "u-manager", "currency": "CNY", "amount": "113.00",
              "paid_amount": "0.00", "outstanding": "113.00", "issue_date": "2026-03-02",
              "terms_days": 30, "due_date": "2026-04-01", "status": "open",
              "created_at": NOW, "order": order_number, "customer": customer}
    record.update(changes)
    return as_the_contract_says(billing.InvoiceOut, record)


def payment(invoice_number="INV-2026-000001", amount="50.00", **changes):
    record = {"id": str(uuid.uuid4()), "number": "PAY-2026-000001", "amount": amount,
              "currency": "CNY", "received_at": "2026-02-10T02:00:00.000000Z",
              "method": "bank_transfer", "reference": None, "created_by": "u-manager",
              "created_at": NOW, "invoice": invoice_number, "order": "SO-2026-000001",
              "customer": "C00000001"}
    record.update(changes)
    return as_the_contract_says(billing.PaymentOut, record)


def activity(subject="电话回访", customer_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "C00000001")),
             **changes):
    record = {"id": str(uuid.uuid4()), "kind": "call", "customer_id": customer_id,
              "owner_id": "u-rep", "subject": subject, "due_at": "2030-01-01T02:00:00.000000Z",
              "done_at": None, "outcome": None, "notes": None, "opportunity_id": None,
              "visit_plan_id": None, "created_at": NOW}
    record.update(changes)
    return as_the_contract_says(activities.ActivityOut, record)
