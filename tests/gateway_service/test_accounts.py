"""Accounts at the gateway's HTTP edge: brute-force lock-out, user administration, password
changes, and how fast a revoked login's or a disabled user's access tokens stop working.

The real app on a migrated SQLite database holding the callers of ``gateway_fake_kit``
(conftest.py); "another worker" is a second app on the same database, as a second gunicorn
process would be. Clocks of the lock-out and of the session guard are moved by hand.
"""
import base64
import hashlib
from datetime import timedelta

import jwt
import pytest

from guanxi_common.events import utcnow

from gateway.app import db_session
from gateway.lockout import LockoutPolicy
from gateway.models import User

from gateway_fake_kit import assert_problem

ADMIN_PASSWORD, REP_PASSWORD = "admin-password", "rep-password"


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds) if not isinstance(self.now, float) else seconds


@pytest.fixture
def gw(make_gateway):
    return make_gateway()


@pytest.fixture
def lock_clock(gw):
    clock = Clock(utcnow())
    gw.app.extensions["guanxi_lockout"].clock = clock
    return clock


def login(gw, username, password, address="10.0.0.1"):
    return gw.client.post("/api/v1/auth/token", json={"username": username, "password": password},
                          environ_base={"REMOTE_ADDR": address})


def tokens_of(gw, username, password):
    response = login(gw, username, password)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def me(gw, token, client=None):
    return (client or gw.client).get("/api/v1/auth/me", headers=bearer(token))


def reason(response):
    return assert_problem(response, 401, "invalid_token")["reason"]


def stored_hash(gw, user_id):
    with gw.app.app_context(), db_session() as session:
        return session.get(User, user_id).password_hash


# --- brute force ---------------------------------------------------------------------------

def test_forty_wrong_passwords_lock_the_account_with_429_then_the_lock_ends(gw, lock_clock):
    statuses = [login(gw, "rep", f"wrong-guess-{i}").status_code for i in range(40)]
    assert statuses == [401] * 5 + [429] * 35
    locked = login(gw, "rep", REP_PASSWORD)  # the right password is refused while locked
    body = assert_problem(locked, 429, "login_locked")
    assert int(locked.headers["Retry-After"]) == body["retry_after"] == 2
    # attempts during the lock were not counted: it ends after the first back-off
    lock_clock.advance(2.1)
    assert login(gw, "rep", REP_PASSWORD).status_code == 200
    # a success starts the account's count again
    assert [login(gw, "rep", "wrong").status_code for _ in range(5)] == [401] * 5


def test_the_back_off_doubles_up_to_the_cap(gw, lock_clock):
    policy = LockoutPolicy()
    assert [policy.lock_seconds(n, 5) for n in (4, 5, 6, 7, 12, 13, 1000)] == \
        [0, 2, 4, 8, 256, 300, 300]
    for _ in range(5):
        login(gw, "rep", "wrong")
    waits = []
    for _ in range(10):  # each time the lock ends, one more wrong guess
        locked = login(gw, "rep", "wrong")
        waits.append(int(locked.headers["Retry-After"]))
        lock_clock.advance(waits[-1] + 0.1)
        assert login(gw, "rep", "wrong").status_code == 401
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]  # never locked for longer
    lock_clock.advance(900)  # failures older than the window are forgotten
    assert login(gw, "rep", REP_PASSWORD).status_code == 200


def test_unknown_usernames_lock_like_real_ones(gw, lock_clock):
    for name in ("rep", "no-such-user"):
        answers = [login(gw, name, "wrong", address=f"10.1.0.{len(name)}").status_code
                   for _ in range(6)]
        assert answers == [401] * 5 + [429]


def test_one_address_spraying_many_accounts_is_locked(gw, lock_clock):
    for i in range(20):
        assert login(gw, f"user-{i}", "wrong", address="10.9.9.9").status_code == 401
    sprayed = login(gw, "admin", ADMIN_PASSWORD, address="10.9.9.9")
    assert_problem(sprayed, 429, "login_locked")
    assert login(gw, "admin", ADMIN_PASSWORD, address="10.0.0.2").status_code == 200
    lock_clock.advance(3)
    assert login(gw, "admin", ADMIN_PASSWORD, address="10.9.9.9").status_code == 200


def test_the_lock_holds_in_every_worker(make_gateway, lock_clock, gw):
    other = make_gateway()  # same database, as another gunicorn worker or replica
    other.app.extensions["guanxi_lockout"].clock = lock_clock
    for _ in range(5):
        login(gw, "rep", "wrong")
    assert_problem(login(other, "rep", REP_PASSWORD), 429, "login_locked")


def test_wrong_current_passwords_count_toward_the_lock(gw, lock_clock):
    access = tokens_of(gw, "rep", REP_PASSWORD)["access_token"]
    for _ in range(5):
        wrong = gw.client.post("/api/v1/auth/password", headers=bearer(access),
                               json={"current_password": "guess", "new_password": "x" * 12})
        assert "current_password" in assert_problem(wrong, 422)["errors"]
    assert_problem(login(gw, "rep", REP_PASSWORD), 429, "login_locked")


# --- passwords -----------------------------------------------------------------------------

def scrypt_hash(password):
    salt = b"legacy-salt-0001"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2 ** 14, r=8, p=1, dklen=32)
    return "$".join(["scrypt", "16384", "8", "1", base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


def test_a_stored_scrypt_hash_is_rehashed_with_argon2id_on_login(gw):
    with gw.app.app_context(), db_session() as session:
        session.get(User, gw.ids["rep"]).password_hash = scrypt_hash(REP_PASSWORD)
    assert_problem(login(gw, "rep", "not-the-password"), 401)
    assert stored_hash(gw, gw.ids["rep"]).startswith("scrypt$")  # a failure changes nothing
    assert login(gw, "rep", REP_PASSWORD).status_code == 200
    assert stored_hash(gw, gw.ids["rep"]).startswith("$argon2id$")
    assert login(gw, "rep", REP_PASSWORD).status_code == 200


def test_password_change_needs_the_current_one_and_ends_every_login(gw):
    first = tokens_of(gw, "rep", REP_PASSWORD)
    second = tokens_of(gw, "rep", REP_PASSWORD)  # another device
    weak = gw.client.post("/api/v1/auth/password", headers=bearer(first["access_token"]),
                          json={"current_password": REP_PASSWORD, "new_password": "short"})
    assert "new_password" in assert_problem(weak, 422)["errors"]
    changed = gw.client.post("/api/v1/auth/password", headers=bearer(first["access_token"]),
                             json={"current_password": REP_PASSWORD,
                                   "new_password": "a much better password"})
    assert changed.status_code == 200 and changed.headers["Cache-Control"] == "no-store"
    fresh = changed.get_json()
    for old in (first, second):
        assert reason(me(gw, old["access_token"])) == "revoked"
        assert_problem(gw.client.post("/api/v1/auth/refresh",
                                      json={"refresh_token": old["refresh_token"]}), 401)
    assert me(gw, fresh["access_token"]).status_code == 200
    assert_problem(login(gw, "rep", REP_PASSWORD), 401)
    assert login(gw, "rep", "a much better password").status_code == 200


# --- revocation and its bound ---------------------------------------------------------------

def test_logout_stops_access_tokens_at_once_here_and_within_the_bound_elsewhere(
        make_gateway, gw):
    other = make_gateway()  # another worker: it has seen the token before the logout
    guard = other.app.extensions["guanxi_sessions"]
    assert guard.check_seconds == 5
    clock = guard.clock = Clock(1000.0)
    tokens = tokens_of(gw, "rep", REP_PASSWORD)
    assert me(other, tokens["access_token"], other.client).status_code == 200
    assert gw.client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]),
                          json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert reason(me(gw, tokens["access_token"])) == "revoked"  # the worker that logged out
    clock.advance(4.9)
    assert me(other, tokens["access_token"], other.client).status_code == 200
    clock.advance(0.2)  # past GATEWAY_SESSION_CHECK_SECONDS: read again
    assert reason(me(other, tokens["access_token"], other.client)) == "revoked"


def test_logout_refuses_someone_elses_refresh_token(gw):
    admin = tokens_of(gw, "admin", ADMIN_PASSWORD)
    rep = tokens_of(gw, "rep", REP_PASSWORD)
    assert_problem(gw.client.post("/api/v1/auth/logout",
                                  json={"refresh_token": admin["refresh_token"]}), 401)
    stolen = gw.client.post("/api/v1/auth/logout", headers=bearer(rep["access_token"]),
                            json={"refresh_token": admin["refresh_token"]})
    assert_problem(stolen, 403, "forbidden")
    assert gw.client.post("/api/v1/auth/refresh",
                          json={"refresh_token": admin["refresh_token"]}).status_code == 200
    assert me(gw, rep["access_token"]).status_code == 200


def test_refresh_token_reuse_ends_the_logins_access_tokens(gw):
    first = tokens_of(gw, "rep", REP_PASSWORD)
    rotated = gw.client.post("/api/v1/auth/refresh",
                             json={"refresh_token": first["refresh_token"]}).get_json()
    assert me(gw, rotated["access_token"]).status_code == 200
    replay = gw.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reason(replay) == "revoked"
    assert reason(me(gw, rotated["access_token"])) == "revoked"
    assert reason(me(gw, first["access_token"])) == "revoked"


def test_disabling_a_user_stops_their_access_refresh_and_api_tokens(gw):
    rep = tokens_of(gw, "rep", REP_PASSWORD)
    api_token = gw.ok("POST", "admin", "/api-tokens", 201,
                      json={"name": "rep's script", "username": "rep"})["token"]
    assert me(gw, api_token).status_code == 200
    disabled = gw.ok("PATCH", "admin", f"/users/{gw.ids['rep']}", json={"active": False})
    assert disabled["active"] is False
    assert reason(me(gw, rep["access_token"])) == "user_disabled"
    assert reason(me(gw, api_token)) == "user_disabled"
    assert_problem(gw.client.post("/api/v1/auth/refresh",
                                  json={"refresh_token": rep["refresh_token"]}), 401)
    assert_problem(login(gw, "rep", REP_PASSWORD), 401, "unauthenticated")
    gw.ok("PATCH", "admin", f"/users/{gw.ids['rep']}", json={"active": True})
    assert reason(me(gw, rep["access_token"])) == "revoked"  # its login stays ended
    assert login(gw, "rep", REP_PASSWORD).status_code == 200


def test_new_roles_make_old_access_tokens_stale_and_a_refresh_brings_them(gw):
    rep = tokens_of(gw, "rep", REP_PASSWORD)
    api_token = gw.ok("POST", "admin", "/api-tokens", 201,
                      json={"name": "rep's script", "username": "rep"})["token"]
    gw.ok("PATCH", "admin", f"/users/{gw.ids['rep']}", json={"roles": ["auditor"]})
    assert reason(me(gw, rep["access_token"])) == "stale"
    assert reason(me(gw, api_token)) == "stale"  # it held a role its user no longer has
    renewed = gw.client.post("/api/v1/auth/refresh", json={"refresh_token": rep["refresh_token"]})
    assert me(gw, renewed.get_json()["access_token"]).get_json()["roles"] == ["auditor"]


# --- tokens signed with the key -------------------------------------------------------------

def forged(gw, **claims):
    real = tokens_of(gw, "rep", REP_PASSWORD)["access_token"]
    payload = jwt.decode(real, options={"verify_signature": False})
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, "s" * 48, algorithm="HS256")


def test_tokens_signed_with_the_key_are_refused_for_unknown_users_and_long_lives(gw):
    now = int(utcnow().timestamp())
    assert reason(me(gw, forged(gw, sub="no-such-user"))) == "unknown_user"
    assert reason(me(gw, forged(gw, exp=now + 10 * 365 * 86400))) == "lifetime_too_long"
    assert reason(me(gw, forged(gw, sid=None))) == "no_session"
    assert reason(me(gw, forged(gw, roles=["admin"]))) == "stale"
    assert reason(me(gw, forged(gw, sid="a-login-that-never-was"))) == "revoked"
    ten_year_refresh = jwt.decode(tokens_of(gw, "rep", REP_PASSWORD)["refresh_token"],
                                  options={"verify_signature": False})
    ten_year_refresh["exp"] = now + 10 * 365 * 86400
    refused = gw.client.post("/api/v1/auth/refresh", json={
        "refresh_token": jwt.encode(ten_year_refresh, "s" * 48, algorithm="HS256")})
    assert reason(refused) == "lifetime_too_long"


# --- user administration --------------------------------------------------------------------

def test_admin_reads_changes_and_deletes_users(gw):
    rep_id = gw.ids["rep"]
    user = gw.ok("GET", "admin", f"/users/{rep_id}")
    assert user["username"] == "rep" and user["region"] == "广东" and "password_hash" not in user
    changed = gw.ok("PATCH", "admin", f"/users/{rep_id}",
                    json={"display_name": "  李销售 ", "region": "上海"})
    assert (changed["display_name"], changed["region"], changed["roles"]) == \
        ("李销售", "上海", ["sales_rep"])
    assert gw.ok("GET", "admin", f"/users/{rep_id}")["display_name"] == "李销售"
    assert "roles.0" in assert_problem(gw.call("PATCH", "admin", f"/users/{rep_id}",
                                             json={"roles": ["wizard"]}), 422)["errors"]
    assert "password" in assert_problem(gw.call("PATCH", "admin", f"/users/{rep_id}",
                                                json={"password": "x"}), 422)["errors"]
    gw.ok("PUT", "admin", f"/users/{rep_id}/password", 204, json={"password": "reset-by-admin"})
    assert login(gw, "rep", "reset-by-admin").status_code == 200
    gw.ok("DELETE", "admin", f"/users/{rep_id}", 204)
    assert_problem(gw.call("GET", "admin", f"/users/{rep_id}"), 404, "not_found")
    assert_problem(gw.call("DELETE", "admin", f"/users/{rep_id}"), 404)
    assert_problem(login(gw, "rep", "reset-by-admin"), 401)
    for method, path in (("GET", "/users/x"), ("PATCH", "/users/x"), ("DELETE", "/users/x"),
                         ("PUT", "/users/x/password")):
        assert_problem(gw.call(method, "manager", path, json={}), 403, "forbidden")


def test_nobody_locks_the_admins_out(gw):
    admin_id = gw.ids["admin"]
    for change in ({"active": False}, {"roles": ["auditor"]}):
        assert_problem(gw.call("PATCH", "admin", f"/users/{admin_id}", json=change), 409)
    assert_problem(gw.call("DELETE", "admin", f"/users/{admin_id}"), 409, "conflict")
    gw.ok("POST", "admin", "/users", 201, json={
        "username": "second-admin", "password": "second-admin-pw", "roles": ["admin"]})
    assert_problem(gw.call("PATCH", "admin", f"/users/{admin_id}", json={"active": False}), 409)
    gw.ok("PATCH", "admin", f"/users/{admin_id}", json={"roles": ["admin", "auditor"]})


def test_a_created_users_display_name_is_kept(gw):
    created = gw.ok("POST", "admin", "/users", 201, json={
        "username": "zhang", "display_name": "张三", "password": "zhang-password",
        "roles": ["marketer"]})
    assert created["display_name"] == "张三"
    listed = gw.ok("GET", "admin", "/users?page_size=100")["items"]
    assert {"zhang": "张三"}.items() <= {u["username"]: u["display_name"] for u in listed}.items()


# --- the HTTP edge -------------------------------------------------------------------------

def test_metrics_are_not_on_the_public_port(gw):
    assert_problem(gw.client.get("/metrics"), 404, "not_found")


def test_docs_load_swagger_ui_from_the_gateway_with_integrity_and_csp(gw):
    page = gw.client.get("/api/v1/docs")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    html = page.get_data(as_text=True)
    assert "unpkg" not in html and "https://" not in html
    for path in ("/api/v1/docs/assets/swagger-ui-bundle.js", "/api/v1/docs/assets/swagger-ui.css",
                 "/api/v1/docs/init.js"):
        asset = gw.client.get(path)
        assert asset.status_code == 200, path
        digest = base64.b64encode(hashlib.sha384(asset.data).digest()).decode()
        assert f'{path}" integrity="sha384-{digest}"' in html
    assert gw.client.get("/api/v1/docs/assets/index.html").status_code == 404
    assert gw.client.get("/api/v1/docs/assets/..%2Fvendor").status_code == 404
