"""Commands of the customer service (the application layer).

Each function takes a unit of work and already-validated input, applies the
domain rules, records field-level history and emits the event other services
react to — all in the caller's transaction.
"""
import json
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from customer import access, records, repository as repo
from customer.domain import duplicates, history, identifiers, lifecycle, names, pool, relationships
from customer.models import (Address, ContactPoint, Customer, CustomerRole, CustomerTag,
                             FinancialSummary, HistoryEntry, Relationship, RelationshipType,
                             RoleType)
from guanxi_common.db import serialize_on
from guanxi_common.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound, ValidationFailed
from guanxi_common.messaging_models import outbox_events

PERSONAL_FIELDS = ("name", "gender", "birth_date", "marital_status", "phones", "emails",
                   "addresses", "preferences", "tags")
TERMINAL = ("merged", "erased")
CREDIT_FIELDS = ("credit_limit", "credit_currency", "credit_policy")
# fields the other party type does not have
PARTY_ONLY_FIELDS = {"company": ("gender", "birth_date", "marital_status"),
                     "person": ("industry", "founded_on", "registered_capital",
                                "registered_capital_currency", "credit_code", "financials")}


def utcnow():
    return datetime.now(timezone.utc)


def snapshot(customer):
    return records.dump(customer)


def _json(value):
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def record_history(uow, customer, action, changes, reason=None):
    at = utcnow()
    for change in changes:
        uow.session.add(HistoryEntry(
            customer_id=customer.id, version=customer.version, action=action, field=change.field,
            old_value=_json(change.old), new_value=_json(change.new), actor_id=uow.actor.user_id,
            request_id=uow.actor.request_id, reason=reason, changed_at=at))


def emit(uow, event_type, customer, data):
    return uow.emit(event_type, "customer", customer.id, data, number=customer.number,
                    version=customer.version)


def _changed(uow, customer, before, action, reason=None, event_type="customer.updated"):
    """Bump the version, write history and emit ``customer.updated`` if anything changed."""
    after = snapshot(customer)
    changes = history.diff(_comparable(before), _comparable(after))
    if not changes:
        return []
    customer.version += 1
    customer.updated_at = utcnow()
    uow.session.flush()
    record_history(uow, customer, action, changes, reason)
    data = {"changed_fields": sorted({c.field.split(".")[0] for c in changes}),
            "customer": snapshot(customer)}
    emit(uow, event_type, customer, data)
    return changes


def _comparable(record):
    return {k: v for k, v in record.items() if k not in ("version", "updated_at", "created_at")}


def _ensure_live(customer):
    if customer.status in TERMINAL:
        detail = {"rule": f"customer_{customer.status}", "customer": customer.number}
        if customer.merged_into_id:
            detail["merged_into"] = customer.merged_into.number
        raise BusinessRuleViolation(f"customer {customer.number} is {customer.status}", detail)


# ---- duplicates -------------------------------------------------------------------------------

def hard_conflicts(session, data, exclude_id=None):
    found = []
    for kind, key in (("phone", "phones"), ("email", "emails")):
        values = [c["value"] for c in data.get(key) or []]
        for value, number in repo.contact_owners(session, kind, values, exclude_id).items():
            found.append({"field": key, "value": value, "existing_number": number})
    number = repo.credit_code_owner(session, data.get("credit_code"), exclude_id)
    if number:
        found.append({"field": "credit_code", "value": data["credit_code"], "existing_number": number})
    return found


def raise_on_conflicts(conflicts):
    if conflicts:
        first = conflicts[0]
        raise Conflict(f"{first['field']} {first['value']} already belongs to customer "
                       f"{first['existing_number']}",
                       {"conflicts": conflicts, "existing_number": first["existing_number"]})


def likely_duplicates(session, data, exclude_id=None, limit=200):
    """Candidates sharing the start of the match key (index range scan), scored by the domain."""
    party = data["party_type"]
    key = _match_key(party, data["name"])
    prefix = key[:2] if len(key) >= 2 else key
    stmt = (select(Customer).where(Customer.party_type == party,
                                   Customer.status.notin_(TERMINAL),
                                   Customer.match_key >= prefix,
                                   Customer.match_key < prefix + "\U0010ffff").limit(limit))
    if exclude_id:
        stmt = stmt.where(Customer.id != exclude_id)
    existing = list(session.scalars(stmt))
    if party == "person" and data.get("birth_date"):
        existing += session.scalars(select(Customer).where(
            Customer.party_type == "person", Customer.birth_date == data["birth_date"],
            Customer.status.notin_(TERMINAL), Customer.match_key >= key[:1],
            Customer.match_key < key[:1] + "\U0010ffff").limit(limit)).all()
    new = duplicates.Candidate(id=exclude_id, number=None, party_type=party, name=data["name"],
                               birth_date=data.get("birth_date"), credit_code=data.get("credit_code"),
                               phones=[], emails=[])
    seen, candidates = set(), []
    for c in existing:
        if c.id not in seen:
            seen.add(c.id)
            candidates.append(duplicates.Candidate(
                id=c.id, number=c.number, party_type=c.party_type, name=c.name,
                birth_date=c.birth_date, credit_code=c.credit_code, phones=[], emails=[]))
    return [{"number": m.candidate.number, "name": m.candidate.name, "score": round(m.score, 3),
             "reasons": list(m.reasons)}
            for m in duplicates.find_likely_duplicates(new, candidates)]


def check_duplicates(session, actor, data):
    access.ensure_role(actor, *access.CREATORS, action="check for duplicates")
    return {"conflicts": hard_conflicts(session, data),
            "likely": likely_duplicates(session, data)}


def _match_key(party_type, name):
    return (names.normalize_company_name(name) if party_type == "company"
            else names.normalize_person_name(name))


# ---- create / update --------------------------------------------------------------------------

def _role_codes(session, codes):
    known = set(session.scalars(select(RoleType.code).where(RoleType.code.in_(codes),
                                                            RoleType.active.is_(True))))
    errors = {f"roles.{i}": [f"unknown role {code!r}"] for i, code in enumerate(codes)
              if code not in known}
    if errors:
        raise ValidationFailed("unknown roles", errors)
    return list(dict.fromkeys(codes))


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
    except lifecycle.LifecycleRuleError as exc:
        raise ValidationFailed(str(exc), {"status": [str(exc)]}) from exc
    if any(data.get(f) is not None for f in CREDIT_FIELDS if f != "credit_currency"):
        access.ensure_role(actor, "credit_manager", action="set a credit limit")
    raise_on_conflicts(hard_conflicts(session, data))
    warnings = likely_duplicates(session, data)
    roles = _role_codes(session, data.get("roles") or [])
    now = utcnow()
    seq = repo.next_seq(session)
    customer = Customer(
        id=repo.new_id(), seq=seq, number=identifiers.format_customer_number(seq),
        party_type=data["party_type"], name=data["name"].strip(),
        name_normalized=names.search_normalize(data["name"]),
        match_key=_match_key(data["party_type"], data["name"]),
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
    record_history(uow, customer, "created", history.diff({}, _comparable(record)))
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
    access.ensure_write(actor, customer)
    _ensure_live(customer)
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
        try:
            lifecycle.check_transition(customer.status, changes["status"])
        except lifecycle.LifecycleRuleError as exc:
            raise BusinessRuleViolation(str(exc), {"rule": "status_transition",
                                                   "from": customer.status,
                                                   "to": changes["status"]}) from exc
    probe = {"phones": changes.get("phones"), "emails": changes.get("emails"),
             "credit_code": changes.get("credit_code")}
    raise_on_conflicts(hard_conflicts(session, probe, exclude_id=customer.id))
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
        customer.match_key = _match_key(customer.party_type, customer.name)
        repo.reindex_name(session, customer)
    _apply_collections(customer, changes)
    session.flush()
    session.refresh(customer)
    _changed(uow, customer, before, "updated")
    return customer


def set_credit_limit(uow, ref, data):
    access.ensure_role(uow.actor, "credit_manager", action="set a credit limit")
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_write(uow.actor, customer)
    _ensure_live(customer)
    before = snapshot(customer)
    customer.credit_limit = data["credit_limit"]
    customer.credit_currency = data["credit_currency"]
    customer.credit_policy = data["credit_policy"]
    _changed(uow, customer, before, "credit_limit_set", reason=data.get("reason"))
    return customer


# ---- roles ------------------------------------------------------------------------------------

def add_role(uow, ref, role_code):
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_write(uow.actor, customer)
    _ensure_live(customer)
    code = _role_codes(uow.session, [role_code])[0]
    if code in {r.role_code for r in customer.roles}:
        return customer
    before = snapshot(customer)
    customer.roles.append(CustomerRole(role_code=code, assigned_at=utcnow()))
    uow.session.flush()
    _changed(uow, customer, before, "role_added")
    return customer


def remove_role(uow, ref, role_code):
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_write(uow.actor, customer)
    _ensure_live(customer)
    before = snapshot(customer)
    customer.roles = [r for r in customer.roles if r.role_code != role_code]
    uow.session.flush()
    _changed(uow, customer, before, "role_removed")
    return customer


def define_role_type(uow, data):
    access.ensure_role(uow.actor, action="define a role type")
    role = uow.session.get(RoleType, data["code"]) or RoleType(code=data["code"])
    role.label_en, role.label_zh, role.active = data["label_en"], data["label_zh"], True
    uow.session.add(role)
    return role


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


def ensure_catalogue(session):
    """Insert the default roles and relationship types that are missing (data, not code:
    what is already there, including edits, is left alone)."""
    have = set(session.scalars(select(RoleType.code)))
    for role in relationships.DEFAULT_ROLES:
        if role.code not in have:
            session.add(RoleType(code=role.code, label_en=role.label_en, label_zh=role.label_zh,
                                 active=True))
    have = set(session.scalars(select(RelationshipType.code)))
    for rt in relationships.DEFAULT_RELATIONSHIP_TYPES:
        if rt.code not in have:
            inverse = rt.inverse_code if rt.inverse_code != rt.code else None
            session.add(RelationshipType(code=rt.code, name=rt.name, inverse_name=rt.inverse_name,
                                         inverse_code=inverse, name_zh=rt.name_zh,
                                         inverse_name_zh=rt.inverse_name_zh,
                                         from_party_types=",".join(sorted(rt.from_party_types)),
                                         to_party_types=",".join(sorted(rt.to_party_types)),
                                         hierarchical=rt.hierarchical))


# ---- relationships ----------------------------------------------------------------------------

def _domain_type(row):
    return relationships.RelationshipType(
        code=row.code, name=row.name, inverse_name=row.inverse_name,
        from_party_types=frozenset(row.from_party_types.split(",")),
        to_party_types=frozenset(row.to_party_types.split(",")), hierarchical=row.hierarchical)


def add_relationship(uow, data):
    """Link two customers; an inverse code ("subsidiary_of") is stored the canonical way round."""
    session = uow.session
    source_ref, target_ref = data["from_customer"], data["to_customer"]
    rel_type = session.get(RelationshipType, data["type"])
    if rel_type is None:
        rel_type = session.scalar(select(RelationshipType)
                                  .where(RelationshipType.inverse_code == data["type"]))
        source_ref, target_ref = target_ref, source_ref
    if rel_type is None:
        raise ValidationFailed("unknown relationship type",
                               {"type": [f"unknown relationship type {data['type']!r}"]})
    source = repo.get_customer(session, source_ref, for_update=True)
    target = repo.get_customer(session, target_ref, for_update=True)
    access.ensure_write(uow.actor, source)
    for c in (source, target):
        _ensure_live(c)
    try:
        relationships.check_relationship(_domain_type(rel_type), source.party_type,
                                         target.party_type, source.id, target.id)
    except relationships.RelationshipRuleError as exc:
        raise BusinessRuleViolation(str(exc), {"rule": exc.code}) from exc
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
    if rel is None:
        raise NotFound(f"relationship {relationship_id} not found", {"relationship": relationship_id})
    access.ensure_write(uow.actor, rel.from_customer)
    source, target = rel.from_customer, rel.to_customer
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


# ---- merge ------------------------------------------------------------------------------------

def merge(uow, survivor_ref, victim_ref, reason=None):
    session = uow.session
    access.ensure_role(uow.actor, action="merge customers")
    survivor = repo.get_customer(session, survivor_ref, for_update=True)
    victim = repo.get_customer(session, victim_ref, for_update=True)
    if survivor.id == victim.id:
        raise BusinessRuleViolation("a customer cannot be merged into itself",
                                    {"rule": "merge_self"})
    for c in (survivor, victim):
        _ensure_live(c)
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
    _changed(uow, victim, victim_before, "merged_away", reason=reason)
    _changed(uow, survivor, survivor_before, "merged_in", reason=reason)
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


# ---- pool -------------------------------------------------------------------------------------

def _owned_count(session, owner_id):
    return session.scalar(select(func.count()).select_from(Customer).where(
        Customer.owner_id == owner_id, Customer.status.notin_(TERMINAL)))


def _set_owner(uow, customer, owner_id, action, reason=None, now=None):
    """``action`` is the code (claimed, released, assigned, no_follow_up); ``reason`` free text."""
    old = customer.owner_id
    before = snapshot(customer)
    now = now or utcnow()
    if old and not owner_id:
        customer.last_owner_id, customer.released_at = old, now
    customer.owner_id = owner_id
    customer.owned_since = now if owner_id else None
    customer.last_follow_up_at = None
    _changed(uow, customer, before, action, reason)
    emit(uow, "customer.owner_changed", customer,
         {"old_owner_id": old, "new_owner_id": owner_id, "reason": action, "note": reason})
    return customer


def claim(uow, ref, policy, now=None):
    actor = uow.actor
    access.ensure_role(actor, "sales_rep", "sales_manager", action="claim from the pool")
    customer = repo.get_customer(uow.session, ref, for_update=True)
    _ensure_live(customer)
    # Two claims by one rep on different customers must not both see the count below the
    # limit: they queue on the rep (the row lock above only covers the customer).
    serialize_on(uow.session, f"pool-claims:{actor.user_id}")
    try:
        pool.can_claim(customer.owner_id, actor.user_id, _owned_count(uow.session, actor.user_id),
                       customer.last_owner_id, customer.released_at, now or utcnow(), policy)
    except pool.PoolRuleError as exc:
        raise BusinessRuleViolation(str(exc), {"rule": exc.code, "customer": customer.number}) from exc
    access.ensure_write(actor, customer)  # a manager claims only in their region
    return _set_owner(uow, customer, actor.user_id, "claimed", now=now)


def release(uow, ref, reason=None):
    customer = repo.get_customer(uow.session, ref, for_update=True)
    _ensure_live(customer)
    if customer.owner_id is None:
        raise BusinessRuleViolation(f"customer {customer.number} is already in the pool",
                                    {"rule": "not_owned"})
    if customer.owner_id != uow.actor.user_id:
        access.ensure_role(uow.actor, "sales_manager", action="release another rep's customer")
        access.ensure_write(uow.actor, customer)
    return _set_owner(uow, customer, None, "released", reason)


def assign(uow, ref, owner_id):
    access.ensure_role(uow.actor, "sales_manager", action="assign a customer")
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_write(uow.actor, customer)
    _ensure_live(customer)
    if customer.owner_id == owner_id:
        return customer
    return _set_owner(uow, customer, owner_id, "assigned" if owner_id else "released")


def record_follow_up(uow, ref, occurred_at, authorize=True):
    """A logged activity restarts the pool clock; older news never moves it back.

    ``authorize=False`` for ``activity.logged`` events: a fact sales reports, not a request.
    """
    if authorize:
        access.ensure_role(uow.actor, "sales_rep", "sales_manager", action="record a follow-up")
    customer = repo.get_customer(uow.session, ref, full=False)
    if authorize:
        access.ensure_write(uow.actor, customer)
    if customer.merged_into_id:
        customer = repo.get_customer(uow.session, customer.merged_into_id, full=False)
    last = customer.last_follow_up_at
    if last is None or occurred_at > last:
        customer.last_follow_up_at = occurred_at
    return customer


def return_idle_customers(uow, policy, now=None, batch=500):
    """Owned customers with no follow-up for ``follow_up_days`` go back to the pool."""
    access.ensure_role(uow.actor, "sales_manager", action="return idle customers to the pool")
    now = now or utcnow()
    cutoff = now - timedelta(days=policy.follow_up_days)
    stmt = (select(Customer).where(
        Customer.owner_id.isnot(None), Customer.status.notin_(TERMINAL),
        or_(Customer.last_follow_up_at < cutoff,
            Customer.last_follow_up_at.is_(None) & (Customer.owned_since < cutoff)))
        .limit(batch).with_for_update(skip_locked=True))  # replicas sweep disjoint rows
    returned = []
    for customer in uow.session.scalars(stmt).all():
        if pool.due_for_return(customer.owner_id, customer.last_follow_up_at,
                               customer.owned_since, now, policy):
            _set_owner(uow, customer, None, "no_follow_up", now=now)
            returned.append(customer.number)
    return returned


# ---- privacy ----------------------------------------------------------------------------------

def erase(uow, ref, reason):
    access.ensure_role(uow.actor, action="erase personal data")
    session = uow.session
    customer = repo.get_customer(session, ref, for_update=True)
    if customer.party_type != "person":
        raise BusinessRuleViolation("only a person's personal data can be erased",
                                    {"rule": "erase_person_only"})
    if customer.erased_at:
        return customer
    now = utcnow()
    customer.name = f"已删除 {customer.number}"
    customer.name_normalized = customer.match_key = customer.number.lower()
    customer.gender = customer.birth_date = customer.marital_status = None
    customer.preferences, customer.marketing_consent = {}, False
    customer.contact_points, customer.addresses, customer.tags = [], [], []
    customer.status, customer.erased_at = "erased", now
    customer.erased_by, customer.erase_reason = uow.actor.user_id, reason
    customer.version += 1
    customer.updated_at = now
    repo.reindex_name(session, customer)
    # the history keeps that a change happened, not the personal values it carried
    session.execute(update(HistoryEntry).where(
        HistoryEntry.customer_id == customer.id,
        or_(*[HistoryEntry.field.startswith(f) for f in PERSONAL_FIELDS]))
        .values(old_value=_json("[erased]"), new_value=_json("[erased]")))
    # published events carried snapshots with the personal data; unpublished ones must still go
    session.execute(delete(outbox_events).where(outbox_events.c.aggregate_id == customer.id,
                                                outbox_events.c.published_at.isnot(None)))
    session.flush()
    record_history(uow, customer, "erased", [history.Change("erased", None, True)], reason)
    emit(uow, "customer.erased", customer,
         {"customer": {"id": customer.id, "number": customer.number}, "reason": reason})
    return customer
