"""Duplicate checks: contact points and credit codes another customer holds (hard
conflicts) and customers whose name and data look alike (likely duplicates, scored by
customer.domain.duplicates). Reads only; ``create`` and ``update`` refuse or warn with them."""
from sqlalchemy import select

from customer import access
from customer.adapters import repository as repo
from customer.adapters.models import Customer
from customer.domain import duplicates, names

#: merged and erased customers are nobody's duplicate
LIVE_EXCLUDED = ("merged", "erased")


def hard_conflicts(session, data, exclude_id=None, actor=None):
    """Values another customer holds already; with ``actor``, the holder's number only
    where the actor may read that customer."""
    found = []
    for kind, key in (("phone", "phones"), ("email", "emails")):
        values = [c["value"] for c in data.get(key) or []]
        for value, number in repo.contact_owners(session, kind, values, exclude_id).items():
            found.append({"field": key, "value": value, "existing_number": number})
    number = repo.credit_code_owner(session, data.get("credit_code"), exclude_id)
    if number:
        found.append({"field": "credit_code", "value": data["credit_code"], "existing_number": number})
    if actor is not None:
        visible = _readable_numbers(session, actor, {f["existing_number"] for f in found})
        for conflict in found:
            if conflict["existing_number"] not in visible:
                del conflict["existing_number"]
    return found


def _readable_numbers(session, actor, numbers):
    if not numbers:
        return set()
    rows = session.execute(select(Customer.number, Customer.owner_id, Customer.province)
                           .where(Customer.number.in_(sorted(numbers)))).all()
    return {number for number, owner_id, province in rows
            if access.can_read(actor, owner_id, province)}


def likely_duplicates(session, data, exclude_id=None, limit=200, actor=None):
    """Candidates sharing the start of the match key (index range scan), scored by the domain.
    With ``actor``, a candidate the actor may not read keeps its score and reasons (a
    record like it exists) but not its number or name."""
    party = data["party_type"]
    key = match_key(party, data["name"])
    prefix = key[:2] if len(key) >= 2 else key
    stmt = (select(Customer).where(Customer.party_type == party,
                                   Customer.status.notin_(LIVE_EXCLUDED),
                                   Customer.match_key >= prefix,
                                   Customer.match_key < prefix + "\U0010ffff").limit(limit))
    if exclude_id:
        stmt = stmt.where(Customer.id != exclude_id)
    existing = list(session.scalars(stmt))
    if party == "person" and data.get("birth_date"):
        existing += session.scalars(select(Customer).where(
            Customer.party_type == "person", Customer.birth_date == data["birth_date"],
            Customer.status.notin_(LIVE_EXCLUDED), Customer.match_key >= key[:1],
            Customer.match_key < key[:1] + "\U0010ffff").limit(limit)).all()
    new = duplicates.Candidate(id=exclude_id, number=None, party_type=party, name=data["name"],
                               birth_date=data.get("birth_date"), credit_code=data.get("credit_code"),
                               phones=[], emails=[])
    seen, candidates, hidden = set(), [], set()
    for c in existing:
        if c.id not in seen:
            seen.add(c.id)
            if actor is not None and not access.can_read(actor, c.owner_id, c.province):
                hidden.add(c.id)
            candidates.append(duplicates.Candidate(
                id=c.id, number=c.number, party_type=c.party_type, name=c.name,
                birth_date=c.birth_date, credit_code=c.credit_code, phones=[], emails=[]))
    found = []
    for match in duplicates.find_likely_duplicates(new, candidates):
        item = {"score": round(match.score, 3), "reasons": list(match.reasons)}
        if match.candidate.id not in hidden:
            item = {"number": match.candidate.number, "name": match.candidate.name, **item}
        found.append(item)
    return found


def check_duplicates(session, actor, data):
    access.ensure_role(actor, *access.CREATORS, action="check for duplicates")
    return {"conflicts": hard_conflicts(session, data, actor=actor),
            "likely": likely_duplicates(session, data, actor=actor)}


def match_key(party_type, name):
    return (names.normalize_company_name(name) if party_type == "company"
            else names.normalize_person_name(name))
