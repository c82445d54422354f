"""Commands on roles (partner functions: sold_to, ship_to, bill_to, payer, ...): a
customer's roles and the role-type catalogue."""
from sqlalchemy import select

from customer import access
from customer.adapters import repository as repo
from customer.adapters.models import CustomerRole, RoleType
from customer.application.changes import ensure_live, record_change, snapshot
from guanxi_common.clock import utcnow
from guanxi_common.errors import ValidationFailed


def known_role_codes(session, codes):
    """The codes, each once, if every one is an active role type; else ValidationFailed."""
    known = set(session.scalars(select(RoleType.code).where(RoleType.code.in_(codes),
                                                            RoleType.active.is_(True))))
    errors = {f"roles.{i}": [f"unknown role {code!r}"] for i, code in enumerate(codes)
              if code not in known}
    if errors:
        raise ValidationFailed("unknown roles", errors)
    return list(dict.fromkeys(codes))


def add_role(uow, ref, role_code):
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_write(uow.actor, customer, ref)
    ensure_live(customer)
    code = known_role_codes(uow.session, [role_code])[0]
    if code in {r.role_code for r in customer.roles}:
        return customer
    before = snapshot(customer)
    customer.roles.append(CustomerRole(role_code=code, assigned_at=utcnow()))
    uow.session.flush()
    record_change(uow, customer, before, "role_added")
    return customer


def remove_role(uow, ref, role_code):
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_write(uow.actor, customer, ref)
    ensure_live(customer)
    before = snapshot(customer)
    customer.roles = [r for r in customer.roles if r.role_code != role_code]
    uow.session.flush()
    record_change(uow, customer, before, "role_removed")
    return customer


def define_role_type(uow, data):
    access.ensure_role(uow.actor, action="define a role type")
    role = uow.session.get(RoleType, data["code"]) or RoleType(code=data["code"])
    role.label_en, role.label_zh, role.active = data["label_en"], data["label_zh"], True
    uow.session.add(role)
    return role
