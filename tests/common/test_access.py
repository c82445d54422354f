"""guanxi_common.access: generic record-level rules over a role policy (the CRM's by default)."""
import pytest

from guanxi_common import access
from guanxi_common.context import Actor
from guanxi_common.contracts.roles import DESCRIPTIONS, Role
from guanxi_common.errors import Forbidden


def actor(*roles, user_id="u-1", region="SH"):
    return Actor(user_id=user_id, roles=frozenset(roles), region=region)


@pytest.mark.parametrize("who, owner, province, reads, writes", [
    (Actor.system(), "someone", "GD", True, True),
    (actor("admin"), "someone", "GD", True, True),
    (actor("auditor"), "someone", "GD", True, False),
    (actor("sales_manager"), "someone", "SH", True, True),
    (actor("sales_manager"), "someone", "GD", False, False),
    (actor("sales_manager", region=None), "someone", "GD", True, True),
    (actor("service_agent"), "someone", "SH", True, False),
    (actor("marketer"), "someone", "SH", True, False),
    (actor("credit_manager"), "someone", "SH", True, True),
    (actor("regional_office"), "someone", "SH", True, True),
    (actor("sales_rep"), "u-1", "GD", True, True),
    (actor("sales_rep"), None, "GD", True, True),
    (actor("sales_rep"), "someone", "SH", False, False),
    (actor(), None, "SH", False, False),
])
def test_crm_rules(who, owner, province, reads, writes):
    assert access.can_read(who, owner, province) is reads
    assert access.can_write(who, owner, province) is writes


def test_search_scope():
    assert access.search_scope(actor("auditor")) is None
    assert access.search_scope(actor("admin")) is None
    assert access.search_scope(actor("marketer")) == {"province": "SH"}
    assert access.search_scope(actor("marketer", region=None)) is None
    assert access.search_scope(actor("sales_rep")) == {"owner_or_pool": "u-1"}
    assert access.search_scope(actor()) == {"nothing": True}


def test_ensure_role_names_what_is_missing():
    access.ensure_role(actor("admin"), action="merge")
    access.ensure_role(actor("credit_manager"), "credit_manager", action="release")
    with pytest.raises(Forbidden) as refused:
        access.ensure_role(actor("sales_rep"), action="merge")
    assert refused.value.details == {"action": "merge", "roles": ["admin"]}


def test_policy_is_a_parameter():
    desk = access.RolePolicy(admin="root", auditors=frozenset({"inspector"}),
                             regional_readers=frozenset({"agent"}),
                             owner_scoped=frozenset({"assignee"}))
    assert access.can_write(actor("root"), "x", "GD", policy=desk)
    assert not access.can_write(actor("admin"), "x", "GD", policy=desk)
    assert access.can_read(actor("inspector"), "x", "GD", policy=desk)
    assert access.can_read(actor("agent"), "x", "SH", policy=desk)
    assert not access.can_write(actor("agent"), "x", "SH", policy=desk)
    assert access.search_scope(actor("assignee"), policy=desk) == {"owner_or_pool": "u-1"}
    with pytest.raises(Forbidden) as refused:
        access.ensure_role(actor("admin"), action="purge", policy=desk)
    assert refused.value.details["roles"] == ["root"]


def test_catalogue_names_every_role_once_with_a_purpose():
    assert list(DESCRIPTIONS) == [role.value for role in Role]
    assert all(DESCRIPTIONS.values())
    policy = access.CRM_POLICY
    grouped = {policy.admin, *policy.auditors, *policy.regional_readers,
               *policy.regional_writers, *policy.owner_scoped}
    assert grouped == set(DESCRIPTIONS)
