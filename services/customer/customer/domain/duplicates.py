"""Hard conflicts and likely duplicates between a new (or edited) customer and others.

Why: a customer master is only useful with one record per real party.  A shared
normalised phone, e-mail or credit code is a *hard conflict*: the service refuses it
and names the existing number.  Everything weaker is a *likely duplicate*, returned as
a warning with a score and the reasons, for a human to decide (and maybe merge).

Signals and scores (a match's score is its best signal's; best first):
  * same credit code / phone / e-mail ............................. 1.0
  * company: same normalised name (legal forms ignored) ............ 0.95
  * person: same normalised name and same birth date ............... 0.95
  * person: same normalised name, a birth date unknown ............. 0.9
  * similar name: name similarity >= ``threshold`` ........ 0.9 x similarity
    (so a similar name always ranks below an equal one)
Evidence against: two persons with different birth dates, or two companies with
different valid credit codes, are different parties; their names are then not compared.
Parties of different types are never duplicates of each other by name.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from guanxi_common.contact import InvalidContact, normalize_email, phone_search_key
from guanxi_common.identifiers import normalize_credit_code, validate_credit_code
from .names import name_similarity, normalize_company_name, normalize_person_name

PARTY_TYPES = ("person", "company")
SCORE_CONTACT = 1.0
SCORE_SAME_NAME = 0.95
SCORE_SAME_NAME_UNKNOWN_BIRTH = 0.9
SIMILAR_NAME_WEIGHT = 0.9


@dataclass(frozen=True)
class Candidate:
    id: Any
    number: str | None
    party_type: str  # 'person' | 'company'
    name: str
    birth_date: date | None = None
    credit_code: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: float
    reasons: list[str] = field(default_factory=list)


def hard_conflicts(new: Candidate, existing: Iterable[Candidate]) -> list[tuple[str, str, str | None]]:
    """``(field, normalised value, existing number)`` for every contact point already taken."""
    mine = _keys(new)
    conflicts = []
    for other in existing:
        if other.id == new.id:
            continue
        theirs = _keys(other)
        for fld in ("credit_code", "phone", "email"):
            for value in sorted(mine[fld] & theirs[fld]):
                conflicts.append((fld, value, other.number))
    return conflicts


def find_likely_duplicates(new: Candidate, existing: Iterable[Candidate], threshold: float = 0.85) -> list[Match]:
    """Likely duplicates of ``new``, best first (ties by number).

    ``threshold`` is the name similarity (0..1) from which names count as similar.
    """
    mine = _keys(new)
    matches = []
    for other in existing:
        if other.id == new.id:
            continue
        reasons, score = _score(new, mine, other, threshold)
        if reasons:
            matches.append(Match(other, score, reasons))
    matches.sort(key=lambda m: (-m.score, str(m.candidate.number)))
    return matches


def _score(new: Candidate, mine: dict, other: Candidate, threshold: float) -> tuple[list[str], float]:
    theirs = _keys(other)
    reasons, scores = [], []
    for fld in ("credit_code", "phone", "email"):
        if mine[fld] & theirs[fld]:
            reasons.append(f"same_{fld}")
            scores.append(SCORE_CONTACT)
    if new.party_type == other.party_type and not _contradicted(new, mine, other, theirs):
        name_reasons, name_score = _name_signal(new, other, threshold)
        reasons += name_reasons
        if name_reasons:
            scores.append(name_score)
    return reasons, max(scores, default=0.0)


def _contradicted(new: Candidate, mine: dict, other: Candidate, theirs: dict) -> bool:
    if new.party_type == "person":
        return bool(new.birth_date and other.birth_date and new.birth_date != other.birth_date)
    return bool(mine["credit_code"] and theirs["credit_code"] and not mine["credit_code"] & theirs["credit_code"])


def _name_signal(new: Candidate, other: Candidate, threshold: float) -> tuple[list[str], float]:
    normalize = normalize_company_name if new.party_type == "company" else normalize_person_name
    left, right = normalize(new.name), normalize(other.name)
    if not left or not right:
        return [], 0.0
    if left == right:
        if new.party_type == "company":
            return ["same_normalized_company_name"], SCORE_SAME_NAME
        if new.birth_date and other.birth_date:
            return ["same_name_and_birth_date"], SCORE_SAME_NAME
        return ["same_name"], SCORE_SAME_NAME_UNKNOWN_BIRTH
    similarity = name_similarity(left, right)
    if similarity >= threshold:
        if new.party_type == "person" and new.birth_date and other.birth_date:
            return ["similar_name", "same_birth_date"], similarity * SIMILAR_NAME_WEIGHT
        return ["similar_name"], similarity * SIMILAR_NAME_WEIGHT
    return [], 0.0


def _keys(candidate: Candidate) -> dict[str, set[str]]:
    """Normalised contact keys; values that do not normalise cannot conflict."""
    phones = {key for key in map(phone_search_key, candidate.phones) if key}
    emails = set()
    for email in candidate.emails:
        try:
            emails.add(normalize_email(email))
        except InvalidContact:
            continue
    code = normalize_credit_code(candidate.credit_code) if candidate.credit_code else ""
    codes = {code} if code and not validate_credit_code(code) else set()
    return {"credit_code": codes, "phone": phones, "email": emails}
