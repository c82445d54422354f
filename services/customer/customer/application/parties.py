"""Commands on parties (persons and companies): create, update, credit limit, merge.

Each function takes a unit of work and already-validated input, applies the domain rules,
records field-level history and emits the event other services react to, all in the
caller's transaction.
"""
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from customer import access
from customer.adapters import repository as repo
from customer.adapters.models import (Address, ContactPoint, Customer, CustomerRole, CustomerTag,
                                      FinancialSummary, Relationship)
from customer.application.roles import known_role_codes
from customer.application.changes import (comparable, emit, ensure_live, record_change,
                                          record_history, snapshot)
from customer.domain import history, lifecycle, names
from customer.queries import duplicates
from customer.queries.duplicates import match_key
from guanxi_common import identifiers
from guanxi_common.clock import utcnow
from guanxi_common.errors import (BusinessRuleViolation, Conflict, Forbidden, ValidationFailed,
                                  domain_rules)

CREDIT_FIELDS = ("credit_limit", "credit_currency", "credit_policy")
# fields the other party type does not have
PARTY_ONLY_FIELDS = {"company": ("gender", "birth_date", "marital_status"),
                     "person": ("industry", "founded_on", "registered_capital",
                                "registered_capital_currency", "credit_code", "financials")}


def raise_on_conflicts(conflicts):
    """The entry is refused whoever holds the value; the holder is named only to a caller
    who may read it (``hard_conflicts(..., actor=)`` leaves the number out otherwise)."""
    if not conflicts:
        return
    first = conflicts[0]
    if "existing_number" not in first:
        raise Conflict(f"{first['field']} {first['value']} already belongs to another customer",
                       {"conflicts": conflicts})
    raise Conflict(f"{first['field']} {first['value']} already belongs to customer "
                   f"{first['existing_number']}",
                   {"conflicts": conflicts, "existing_number": first["existing_number"]})



def create_customer(uow, data):
    session, actor = uow.session, uow.actor
    access.ensure_role(actor, *access.CREATORS, action="create a customer")
    owner = data.get("owner_id")
    if actor.has_role("sales_rep") and not actor.has_role("admin", "sales_manager"):
        if owner not in (None, actor.user_id):
            raise Forbidden("a sales rep creates customers they own", {"owner_id": owner})
        owner = actor.user_id  # what a rep creates is theirs, not the pool's
    if not access.can_write(actor, owner, data.get("province")):
        raise Forbidden(f"{actor.user_id} may not create customers in "
                               f"{data.get('province') or 'no region'}", {"province": data.get("province")})
    try:
        lifecycle.check_initial_status(data.get("status") or lifecycle.DEFAULT_STATUS)
    except lifecycle.LifecycleRuleError as exc:  # a bad value of a field, not a refusal
        raise ValidationFailed(exc.message, {"status": [exc.message]}) from exc
    if any(data.get(f) is not None for f in CREDIT_FIELDS if f != "credit_currency"):
        access.ensure_role(actor, "credit_manager", action="set a credit limit")
    raise_on_conflicts(duplicates.hard_conflicts(session, data, actor=actor))
    warnings = duplicates.likely_duplicates(session, data, actor=actor)
    roles = known_role_codes(session, data.get("roles") or [])
    now = utcnow()
    seq = repo.next_seq(session)
    customer = Customer(
        id=repo.new_id(), seq=seq, number=identifiers.format_customer_number(seq),
        party_type=data["party_type"], name=data["name"].strip(),
        name_normalized=names.search_normalize(data["name"]),
        match_key=match_key(data["party_type"], data["name"]),
        status=data.get("status") or "prospect", owner_id=owner, owned_since=now if owner else None,
        version=1, created_at=now, updated_at=now, created_by=actor.user_id,
        preferences=data.get("preferences") or {}, marketing_consent=data.get("marketing_consent", False),
        marketing_consent_at=now if data.get("marketing_consent") else None,
        credit_currency=data.get("credit_currency") or "CNY",
        credit_policy=data.get("credit_policy") or "none")
    for field in ("tier", "province", "city", "credit_limit", "gender", "birth_date",
                  "marital_status", "industry", "founded_on", "registered_capital",
                  "registered_capital_currency", "credit_code"):
        if data.get(field) is not None:
            setattr(customer, field, data[field])
    _apply_collections(customer, data)
    customer.roles = [CustomerRole(role_code=code, assigned_at=now) for code in roles]
    session.add(customer)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create took the same phone, email or code
        raise Conflict("a concurrent change took one of these contact points or the credit code",
                       {"conflicts": [], "reason": "unique_violation"}) from exc
    repo.reindex_name(session, customer)
    record = snapshot(customer)
    record_history(uow, customer, "created", history.diff({}, comparable(record)))
    emit(uow, "customer.created", customer, {"customer": record})
    return customer, warnings


def _apply_collections(customer, data):
    """Replace collections by diffing, so a kept phone is updated in place (the unique
    index on contact points would refuse a delete-and-insert of the same value)."""
    for kind, key in (("phone", "phones"), ("email", "emails")):
        if key not in data:
            continue
        wanted = {c["value"]: c for c in data[key]}
        for cp in [c for c in customer.contact_points if c.kind == kind]:
            if cp.value in wanted:
                item = wanted.pop(cp.value)
                cp.label, cp.is_primary = item.get("label"), item.get("is_primary", False)
            else:
                customer.contact_points.remove(cp)
        for item in wanted.values():
            customer.contact_points.append(ContactPoint(kind=kind, value=item["value"],
                                                        label=item.get("label"),
                                                        is_primary=item.get("is_primary", False)))
    if "addresses" in data:
        customer.addresses = [Address(**a) for a in data["addresses"]]
    if "tags" in data:
        wanted = list(dict.fromkeys(t.strip() for t in data["tags"] if t.strip()))
        customer.tags = [t for t in customer.tags if t.tag in wanted]
        have = {t.tag for t in customer.tags}
        customer.tags += [CustomerTag(tag=t) for t in wanted if t not in have]
    if "financials" in data:
        wanted = {f["fiscal_year"]: f for f in data["financials"]}
        for row in list(customer.financials):
            if row.fiscal_year in wanted:
                for k, v in wanted.pop(row.fiscal_year).items():
                    setattr(row, k, v)
            else:
                customer.financials.remove(row)
        customer.financials += [FinancialSummary(**f) for f in wanted.values()]


def update_customer(uow, ref, changes):
    session, actor = uow.session, uow.actor
    customer = repo.get_customer(session, ref, for_update=True)
    access.ensure_write(actor, customer, ref)
    ensure_live(customer)
    expected = changes.pop("expected_version", None)
    if expected is not None and expected != customer.version:
        raise Conflict(f"customer {customer.number} is at version {customer.version}, "
                       f"not {expected}", {"version": customer.version, "expected_version": expected})
    if any(f in changes for f in CREDIT_FIELDS):
        access.ensure_role(actor, "credit_manager", action="change a credit limit")
    wrong = PARTY_ONLY_FIELDS[customer.party_type]
    bad = {f: [f"not allowed for a {customer.party_type}"] for f in wrong
           if changes.get(f) not in (None, [])}
    if bad:
        raise ValidationFailed("fields not allowed for this party type", bad)
    if "status" in changes and changes["status"] != customer.status:
        with domain_rules(**{"rule": "status_transition", "from": customer.status,
                             "to": changes["status"]}):
            lifecycle.check_transition(customer.status, changes["status"])
    probe = {"phones": changes.get("phones"), "emails": changes.get("emails"),
             "credit_code": changes.get("credit_code")}
    raise_on_conflicts(duplicates.hard_conflicts(session, probe, exclude_id=customer.id,
                                                 actor=actor))
    before = snapshot(customer)
    for field, value in changes.items():
        if field in ("phones", "emails", "addresses", "tags", "financials"):
            continue
        if field == "name":
            value = value.strip()
        setattr(customer, field, value)
    if "marketing_consent" in changes and changes["marketing_consent"] != before["marketing_consent"]:
        customer.marketing_consent_at = utcnow()
    if "name" in changes:
        customer.name_normalized = names.search_normalize(customer.name)
        customer.match_key = match_key(customer.party_type, customer.name)
        repo.reindex_name(session, customer)
    _apply_collections(customer, changes)
    session.flush()
    session.refresh(customer)
    record_change(uow, customer, before, "updated")
    return customer


def set_credit_limit(uow, ref, data):
    access.ensure_role(uow.actor, "credit_manager", action="set a credit limit")
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_write(uow.actor, customer, ref)
    ensure_live(customer)
    before = snapshot(customer)
    customer.credit_limit = data["credit_limit"]
    customer.credit_currency = data["credit_currency"]
    customer.credit_policy = data["credit_policy"]
    record_change(uow, customer, before, "credit_limit_set", reason=data.get("reason"))
    return customer


def merge(uow, survivor_ref, victim_ref, reason=None):
    session = uow.session
    access.ensure_role(uow.actor, action="merge customers")
    survivor = repo.get_customer(session, survivor_ref, for_update=True)
    access.ensure_write(uow.actor, survivor, survivor_ref)
    victim = repo.get_customer(session, victim_ref, for_update=True)
    access.ensure_reference(uow.actor, victim, "victim", victim_ref)
    if survivor.id == victim.id:
        raise BusinessRuleViolation("a customer cannot be merged into itself",
                                    {"rule": "merge_self"})
    for c in (survivor, victim):
        ensure_live(c)
    if survivor.party_type != victim.party_type:
        raise BusinessRuleViolation("a person and a company cannot be merged",
                                    {"rule": "merge_party_type"})
    survivor_before, victim_before = snapshot(survivor), snapshot(victim)
    now = utcnow()
    for cp in list(victim.contact_points):
        victim.contact_points.remove(cp)
        survivor.contact_points.append(cp)
    have = {r.role_code for r in survivor.roles}
    survivor.roles += [CustomerRole(role_code=r.role_code, assigned_at=now)
                       for r in victim.roles if r.role_code not in have]
    victim.roles = []
    have = {t.tag for t in survivor.tags}
    survivor.tags += [CustomerTag(tag=t.tag) for t in victim.tags if t.tag not in have]
    victim.tags = []
    for address in list(victim.addresses):
        victim.addresses.remove(address)
        address.is_default = False
        survivor.addresses.append(address)
    years = {f.fiscal_year for f in survivor.financials}
    for row in list(victim.financials):
        victim.financials.remove(row)
        if row.fiscal_year not in years:
            survivor.financials.append(row)
    if not survivor.credit_code and victim.credit_code:
        code, victim.credit_code = victim.credit_code, None
        session.flush()
        survivor.credit_code = code
    for key, value in (victim.preferences or {}).items():
        survivor.preferences = {**{key: value}, **(survivor.preferences or {})}
    session.flush()
    moved = _repoint_relationships(session, victim.id, survivor.id)
    session.flush()
    if any(child == survivor.id for _, child in repo.hierarchical_edges_from(session, [survivor.id])):
        raise BusinessRuleViolation(
            f"merging {victim.number} into {survivor.number} would put {survivor.number} below itself",
            {"rule": "relationship_cycle", "survivor": survivor.number, "victim": victim.number})
    victim.status, victim.merged_into, victim.merged_at = "merged", survivor, now
    repo.reindex_name(session, victim)
    session.flush()
    session.refresh(survivor)
    session.refresh(victim)
    record_change(uow, victim, victim_before, "merged_away", reason=reason)
    record_change(uow, survivor, survivor_before, "merged_in", reason=reason)
    data = {"survivor": {"id": survivor.id, "number": survivor.number},
            "victim": {"id": victim.id, "number": victim.number},
            "relationships_moved": moved, "reason": reason}
    emit(uow, "customer.merged", survivor, data)
    return survivor, victim


def _repoint_relationships(session, victim_id, survivor_id):
    moved = 0
    for rel in session.scalars(select(Relationship).where(
            or_(Relationship.from_id == victim_id, Relationship.to_id == victim_id))).all():
        new_from = survivor_id if rel.from_id == victim_id else rel.from_id
        new_to = survivor_id if rel.to_id == victim_id else rel.to_id
        twin = session.scalar(select(Relationship.id).where(
            Relationship.type_code == rel.type_code, Relationship.from_id == new_from,
            Relationship.to_id == new_to, Relationship.id != rel.id))
        if new_from == new_to or twin:
            session.delete(rel)  # would be a self-link or a duplicate on the survivor
        else:
            rel.from_id, rel.to_id = new_from, new_to
            moved += 1
    return moved
