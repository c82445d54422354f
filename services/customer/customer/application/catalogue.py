"""The default catalogue: the role and relationship types every installation starts with
(run by migration 0002 and by the test fakes that build the schema without migrations)."""
from sqlalchemy import select

from customer.adapters.models import RelationshipType, RoleType
from customer.domain import relationships


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
