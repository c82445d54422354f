"""The gateway app through Flask's test client on a real, migrated SQLite database
(no broker): login, refresh rotation, bad tokens, API tokens, roles, and the request
pipeline (413, 415, CORS, 429, request ids, problem+json)."""
import io
import re

import jwt
import pytest
import requests

from guanxi_common.config import PROJECT_ROOT
from guanxi_common.unit_of_work import session_scope
from guanxi_common.migrations import upgrade
from guanxi_common.testing import find_free_port

from gateway import metrics as gateway_metrics
from gateway import users
from gateway.app import create_app
from gateway.security import TokenService

SECRET = "s" * 48
ADMIN_PASSWORD = "admin-password-1"
REP_PASSWORD = "sales-rep-password"
ORIGIN = "https://crm.example.cn"
PROBLEM = "application/problem+json"


@pytest.fixture
def db_file_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade("gateway", PROJECT_ROOT / "services" / "gateway" / "alembic.ini", url)
    with session_scope(url, service_name="gateway") as uow:
        users.ensure_admin(uow.session, "admin", ADMIN_PASSWORD, out=None)
        users.create_user(uow.session, "rep", REP_PASSWORD, ["sales_rep"], region="广东")
        users.create_user(uow.session, "office", "office-password", ["regional_office"],
                          region="广东")
    return url


@pytest.fixture
def make_app(db_file_url):
    def make(**overrides):
        config = {"GATEWAY_DATABASE_URL": db_file_url, "GATEWAY_JWT_SECRET": SECRET,
                  "LOG_JSON": False, "GATEWAY_ACCESS_LOG": False, "GATEWAY_RATE_LIMIT": "off",
                  "GATEWAY_CORS_ORIGINS": ORIGIN, "GATEWAY_MAX_BODY_BYTES": 4096,
                  "AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}
        config.update(overrides)
        return create_app(config)
    return make


@pytest.fixture
def client(make_app):
    return make_app().test_client()


def login(client, username="admin", password=ADMIN_PASSWORD):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if code:
        assert body["code"] == code
    return body


def test_login_and_me(client):
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert response.headers["Cache-Control"] == "no-store"
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).get_json()
    assert me["username"] == "admin" and me["roles"] == ["admin"] and me["kind"] == "user"


@pytest.mark.parametrize("username,password", [("admin", "wrong-password"),
                                               ("nobody", "wrong-password")])
def test_wrong_credentials_are_one_401(client, username, password):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    body = assert_problem(response, 401, "unauthenticated")
    assert body["detail"] == "wrong username or password"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_login_validation_names_fields(client):
    body = assert_problem(client.post("/api/v1/auth/token", json={"usename": "admin"}), 422)
    assert set(body["errors"]) == {"usename", "username", "password"}


def test_refresh_rotates_and_refuses_reuse(client):
    first = login(client)
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(second["access_token"])).status_code == 200
    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert assert_problem(reuse, 401, "invalid_token")["reason"] == "revoked"
    # A replay means a stolen copy: the whole login (its newer token too) is ended.
    after = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(after, 401, "invalid_token")


def test_logout_ends_the_login(client):
    tokens = login(client)
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]),
                       json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(again, 401, "invalid_token")


def _forged_tokens(access):
    claims = jwt.decode(access, options={"verify_signature": False})
    header, payload, signature = access.split(".")
    tampered_claims = dict(claims, roles=["admin"], sub="someone-else")
    tampered = jwt.encode(tampered_claims, "x" * 48, algorithm="HS256").split(".")
    expired = TokenService(SECRET, clock=lambda: claims["iat"] - 3600).issue_access(
        {"user_id": claims["sub"], "roles": claims["roles"], "region": None})
    return {
        "tampered_payload": f"{header}.{tampered[1]}.{signature}",
        "wrong_key": ".".join(tampered),
        "expired": expired,
        "alg_none": jwt.encode(claims, None, algorithm="none"),
        "garbage": "not-a-token",
    }


def test_bad_access_tokens_are_refused(client):
    tokens = login(client, "rep", REP_PASSWORD)
    for name, token in _forged_tokens(tokens["access_token"]).items():
        response = client.get("/api/v1/auth/me", headers=bearer(token))
        assert_problem(response, 401, "invalid_token")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], name
    # a refresh token is not an access token
    wrong_type = client.get("/api/v1/auth/me", headers=bearer(tokens["refresh_token"]))
    assert assert_problem(wrong_type, 401)["reason"] == "wrong_type"
    assert_problem(client.get("/api/v1/auth/me"), 401, "unauthenticated")
    assert_problem(client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}), 401)


def test_api_token_create_use_revoke(client):
    admin = bearer(login(client)["access_token"])
    created = client.post("/api/v1/api-tokens", headers=admin,
                          json={"name": "guangdong erp", "username": "office"})
    assert created.status_code == 201, created.get_json()
    created = created.get_json()
    assert created["token"].startswith("gx_") and created["roles"] == ["regional_office"]
    assert created["region"] == "广东"
    me = client.get("/api/v1/auth/me", headers=bearer(created["token"])).get_json()
    assert me["kind"] == "service" and me["token_id"] == created["id"] and me["username"] == "office"
    listed = client.get("/api/v1/api-tokens", headers=admin).get_json()
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    assert client.delete(f"/api/v1/api-tokens/{created['id']}", headers=admin).status_code == 204
    refused = client.get("/api/v1/auth/me", headers=bearer(created["token"]))
    assert assert_problem(refused, 401, "invalid_token")["reason"] == "revoked"
    wrong_secret = created["token"][:-4] + ("AAAA" if not created["token"].endswith("AAAA") else "BBBB")
    assert_problem(client.get("/api/v1/auth/me", headers=bearer(wrong_secret)), 401)
    assert_problem(client.delete("/api/v1/api-tokens/0000000000000000", headers=admin), 404)
    beyond = client.post("/api/v1/api-tokens", headers=admin,
                         json={"name": "x", "username": "office", "roles": ["admin"]})
    assert "roles" in assert_problem(beyond, 422)["errors"]


def test_admin_endpoints_need_admin(client):
    rep = bearer(login(client, "rep", REP_PASSWORD)["access_token"])
    assert_problem(client.get("/api/v1/users", headers=rep), 403, "forbidden")
    assert_problem(client.post("/api/v1/users", headers=rep, json={}), 403)
    assert_problem(client.get("/api/v1/api-tokens", headers=rep), 403)
    assert_problem(client.delete("/api/v1/api-tokens/abc", headers=rep), 403)
    assert_problem(client.get("/api/v1/users"), 401)


def test_admin_creates_and_lists_users(client):
    admin = bearer(login(client)["access_token"])
    created = client.post("/api/v1/users", headers=admin, json={
        "username": "王经理", "password": "经理的密码很长很长很长", "roles": ["sales_manager"],
        "region": "广东"})
    assert created.status_code == 201, created.get_json()
    assert "password_hash" not in created.get_json()
    login(client, "王经理", "经理的密码很长很长很长")
    taken = client.post("/api/v1/users", headers=admin, json={
        "username": "rep", "password": "another-password", "roles": ["sales_rep"]})
    assert_problem(taken, 409, "conflict")
    bad = client.post("/api/v1/users", headers=admin, json={
        "username": "x y", "password": "short", "roles": ["wizard"]})
    assert set(assert_problem(bad, 422)["errors"]) == {"username", "roles.0"}
    weak = client.post("/api/v1/users", headers=admin, json={
        "username": "newbie", "password": "short", "roles": ["marketer"]})
    assert "password" in assert_problem(weak, 422)["errors"]
    page = client.get("/api/v1/users?page_size=2", headers=admin).get_json()
    assert page["total"] == 4 and len(page["items"]) == 2 and page["page_size"] == 2
    assert_problem(client.get("/api/v1/users?page_size=1000", headers=admin), 422)


def test_body_too_large_and_not_json(client):
    big = client.post("/api/v1/auth/token", json={"username": "a" * 5000, "password": "x"})
    assert_problem(big, 413)
    text = client.post("/api/v1/auth/token", data="username=admin",
                       content_type="application/x-www-form-urlencoded")
    assert_problem(text, 415)
    broken = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert_problem(broken, 400)


def test_cors_only_for_configured_origins(client):
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    allowed = client.options("/api/v1/customers", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = client.options("/api/v1/auth/token",
                           headers={"Origin": "https://evil.example", **preflight})
    assert_problem(other, 403)
    assert "Access-Control-Allow-Origin" not in other.headers
    simple = client.post("/api/v1/auth/token", headers={"Origin": ORIGIN},
                         json={"username": "admin", "password": ADMIN_PASSWORD})
    assert simple.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Origin" not in client.get(
        "/healthz", headers={"Origin": "https://evil.example"}).headers


def test_rate_limit_per_principal(make_app):
    client = make_app(GATEWAY_RATE_LIMIT="3/m", GATEWAY_RATE_BURST=3).test_client()
    admin = login(client)  # anonymous: takes one of the address's tokens
    rep = login(client, "rep", REP_PASSWORD)
    statuses = [client.get("/api/v1/auth/me", headers=bearer(admin["access_token"])).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/auth/me", headers=bearer(admin["access_token"]))
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/auth/me", headers=bearer(rep["access_token"])).status_code == 200
    # the address has spent its burst on the two logins and this one
    client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
    assert_problem(client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}), 429)


def test_request_id_health_metrics_and_404(client):
    echoed = client.get("/healthz", headers={"X-Request-ID": "frontend-42"})
    assert echoed.status_code == 200 and echoed.get_json() == {"status": "ok"}
    assert echoed.headers["X-Request-ID"] == "frontend-42"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\x7f" + "x" * 200})
    assert re.fullmatch(r"[0-9a-f-]{36}", replaced.headers["X-Request-ID"])
    missing = client.get("/api/v1/nowhere", headers={"X-Request-ID": "r-1"})
    assert assert_problem(missing, 404, "not_found")["request_id"] == "r-1"
    assert_problem(client.put("/api/v1/auth/token", json={}), 405)
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/auth/token", "/api/v1/users", "/api/v1/api-tokens/{token_id}"} <= set(paths)
    # metrics are not on the public port but on the internal one (gateway.metrics)
    assert_problem(client.get("/metrics"), 404)
    port = find_free_port()
    server = gateway_metrics.serve(port, "127.0.0.1")
    try:
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
        server.server_close()
    assert 'guanxi_gateway_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics


def test_readyz_is_503_fast_without_a_broker(make_app):
    client = make_app(READY_CHECK_TIMEOUT=1.0).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "ok"
    assert response.get_json()["checks"]["broker"] != "ok"


def test_ensure_admin_only_once_and_demo_users(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade("gateway", PROJECT_ROOT / "services" / "gateway" / "alembic.ini", url)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("ADMIN_USERNAME", raising=False)
    printed = io.StringIO()
    with session_scope(url, service_name="gateway") as uow:
        user, password = users.ensure_admin(uow.session, out=lambda line: printed.write(line))
        assert user.username == "admin" and password in printed.getvalue()
        assert users.ensure_admin(uow.session, out=printed.write) == (None, None)
        created = users.seed_demo_users(uow.session)
        assert len(created) == 9 and users.seed_demo_users(uow.session) == []
        assert users.authenticate(uow.session, "admin", password).roles == ["admin"]
        assert users.authenticate(uow.session, "demo_sales_rep", "demo-sales_rep-pw")
