"""Reads of the role-type catalogue."""
from sqlalchemy import select

from customer.adapters.models import RoleType


def role_types(session):
    return [{"code": r.code, "label_en": r.label_en, "label_zh": r.label_zh, "active": r.active}
            for r in session.scalars(select(RoleType).order_by(RoleType.code))]
