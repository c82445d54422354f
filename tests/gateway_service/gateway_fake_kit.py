"""Helpers of the fake-pool endpoint tests (fixtures in conftest.py): callers signed in with
access tokens the app's own token service issues, and the problem+json check."""
from guanxi_common.config import PROJECT_ROOT
from guanxi_common.migrations import upgrade
from guanxi_common.unit_of_work import session_scope

from gateway import users
from gateway.app import db_session, token_service
from gateway.models import User

PROBLEM = "application/problem+json"
#: The callers of the endpoint tests: ``{name: (user id, roles, region)}``.
CALLERS = {
    "admin": ("u-admin", ["admin"], None),
    "rep": ("u-rep", ["sales_rep"], "广东"),
    "rep2": ("u-rep2", ["sales_rep"], "广东"),
    "auditor": ("u-auditor", ["auditor"], None),
    "manager": ("u-manager", ["sales_manager"], "广东"),
    "credit": ("u-credit", ["credit_manager"], "广东"),
}


def make_callers_database(path):
    """A migrated gateway database at ``path`` holding every caller of :data:`CALLERS`
    (username = the caller's name, password ``<name>-password``)."""
    url = f"sqlite:///{path}"
    upgrade("gateway", PROJECT_ROOT / "services" / "gateway" / "alembic.ini", url)
    with session_scope(url, service_name="gateway") as uow:
        for name, (user_id, roles, region) in CALLERS.items():
            users.create_user(uow.session, name, f"{name}-password", roles, region=region,
                              user_id=user_id)
    return path


class FakeGateway:
    """The app's test client with a token per caller of :data:`CALLERS`."""

    def __init__(self, app, pool):
        self.app, self.pool, self.client = app, pool, app.test_client()
        self.ids = {name: user_id for name, (user_id, _, _) in CALLERS.items()}
        self._tokens = {}

    def headers(self, caller):
        if caller not in self._tokens:
            with self.app.app_context(), db_session() as session:
                user = session.get(User, self.ids[caller])
                self._tokens[caller] = users.issue_tokens(
                    session, token_service(), user)["access_token"]
        return {"Authorization": f"Bearer {self._tokens[caller]}"}

    def call(self, method, caller, path, **kwargs):
        headers = {**self.headers(caller), **kwargs.pop("headers", {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def ok(self, method, caller, path, status=200, **kwargs):
        response = self.call(method, caller, path, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        if status == 204:
            return None
        assert response.mimetype == "application/json", response.mimetype
        return response.get_json()


def assert_problem(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    return body
