"""Who may call the gateway's privileged endpoints: the roles each route declares in
``endpoint(roles=...)`` are the gate (``access.ensure_role``, admin always passes), and
history is not gated by role at the edge: the service reads it record by record."""
import pytest

from guanxi_common import access
from guanxi_common.context import Actor
from guanxi_common.errors import Forbidden

from gateway.http import Registry


def actor(*roles, user_id="u-1", region="GD"):
    return Actor(user_id=user_id, roles=frozenset(roles), region=region)


@pytest.fixture
def declared(gateway):
    """``declared(METHOD, path)`` -> the roles that route lets in."""
    routes = {(route.method, route.path): route.operation.roles
              for route in Registry.from_app(gateway.app)}
    return lambda method, path: routes[(method, path)]


def passes(roles, caller):
    try:
        access.ensure_role(caller, *roles, action="test")
    except Forbidden:
        return False
    return True


def test_privileged_actions(declared):
    admin, credit, rep = actor("admin"), actor("credit_manager"), actor("sales_rep")
    auditor, manager = actor("auditor"), actor("sales_manager")
    merge = declared("POST", "/api/v1/customers/{number}/merge")
    erase = declared("POST", "/api/v1/customers/{number}/erase")
    release = declared("POST", "/api/v1/orders/{number}/release")
    assert passes(merge, admin) and passes(erase, admin)
    for other in (credit, rep, auditor, manager):
        assert not passes(merge, other) and not passes(erase, other)
    assert passes(release, credit) and passes(release, admin)
    for other in (rep, auditor, manager):
        assert not passes(release, other)


def test_history_readers(declared):
    assert declared("GET", "/api/v1/customers/{number}/history") == ()
    assert access.can_read(actor("auditor", region=None), "someone", "SH")
    assert access.can_read(actor("admin"), "someone", "SH")
    assert access.can_read(actor("sales_rep"), "u-1", "SH")
    assert not access.can_read(actor("sales_rep"), "someone", "SH")
    assert access.can_read(actor("sales_manager"), "someone", "GD")
    assert not access.can_read(actor("sales_manager"), "someone", "SH")
