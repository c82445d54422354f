"""Gateway security primitives: passwords, JWTs, API tokens, roles. Pure, no broker."""
import base64
import hashlib
import hmac
import json
import os
import stat

import argon2
import jwt
import pytest
from nameko.exceptions import deserialize, serialize

from guanxi_common import access
from guanxi_common.context import Actor
from guanxi_common.errors import ValidationFailed

from gateway import roles as gw_roles
from gateway import security
from gateway.security import TokenInvalid, TokenService

SECRET = "s" * 64  # long enough for HS512 too, so that test is about the algorithm alone
T0 = 1_800_000_000
PRINCIPAL = {"user_id": "u-123", "roles": ["sales_rep"], "region": "GD", "kind": "user"}


class FakeClock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


def b64url(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_for(service, **overrides):
    """Claims exactly as the service would issue them, for hand-made tokens."""
    token = service.issue_access(PRINCIPAL)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(overrides)
    return claims


def refused(service, token, expected_type="access"):
    with pytest.raises(TokenInvalid) as info:
        service.verify(token, expected_type)
    assert info.value.status == 401 and info.value.code == "invalid_token"
    return info.value.reason


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def tokens(clock):
    return TokenService(SECRET, clock=clock)


# --- passwords ----------------------------------------------------------------------------

def scrypt_hash(password, salt=b"0123456789abcdef", n=2 ** 14, r=8, p=1):
    """A hash as the gateway stored them before argon2id: ``scrypt$n$r$p$salt$hash``."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return "$".join(["scrypt", str(n), str(r), str(p), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


def test_password_hash_round_trip_and_wrong_password():
    encoded = security.hash_password("correct horse 电池")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # OWASP's minimum
    assert security.verify_password("correct horse 电池", encoded)
    assert not security.verify_password("correct horse 电", encoded)
    assert not security.verify_password("", encoded)
    assert not security.needs_rehash(encoded)


def test_password_salts_are_unique():
    first, second = security.hash_password("same password"), security.hash_password("same password")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]
    assert len(base64.b64decode(first.split("$")[4] + "==")) == 16


def test_legacy_scrypt_hashes_still_verify_and_ask_for_a_rehash():
    encoded = scrypt_hash("correct horse 电池")
    assert security.verify_password("correct horse 电池", encoded)
    assert not security.verify_password("correct horse 电", encoded)
    assert security.needs_rehash(encoded)
    weaker = argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    assert security.needs_rehash(weaker.hash("some password"))


def test_tampered_or_malformed_encodings_are_refused_without_raising():
    encoded = scrypt_hash("a fine password")
    parts = encoded.split("$")
    digest = bytearray(base64.b64decode(parts[5]))
    digest[0] ^= 1
    flipped = "$".join(parts[:5] + [base64.b64encode(bytes(digest)).decode()])
    other_salt = "$".join(parts[:4] + [base64.b64encode(b"x" * 16).decode(), parts[5]])
    malformed = [
        flipped, other_salt, "", None, 42, "plain text", "bcrypt$16384$8$1$a$b",
        "$".join(parts[:5]),                                  # no hash
        "$".join(["scrypt", "16385"] + parts[2:]),            # n not a power of two
        "$".join(["scrypt", str(2 ** 30)] + parts[2:]),       # n beyond the bound
        "$".join(parts[:2] + ["64"] + parts[3:]),             # r: 128 MiB, beyond the bound
        "$".join(parts[:3] + ["99"] + parts[4:]),             # p beyond the bound
        "$".join(["scrypt", "-16384"] + parts[2:]),
        "$".join(parts[:4] + ["!!notbase64!!", parts[5]]),
        encoded + "$extra",
    ]
    argon = security.hash_password("a fine password")
    head, salt, argon_digest = argon.rsplit("$", 2)
    malformed += [
        f"{head}${salt}${'A' + argon_digest[1:] if argon_digest[0] != 'A' else 'B' + argon_digest[1:]}",
        argon.replace("m=19456", "m=4194304"),                # 4 GiB: beyond the bound
        argon.replace("t=2", "t=1000"),                       # minutes of work
        argon.replace("$argon2id$", "$argon2i$"),             # another variant
        argon[:-10], "$argon2id$v=19$m=19456,t=2,p=1$$",
    ]
    for bad in malformed:
        assert security.verify_password("a fine password", bad) is False, bad
    assert security.verify_password(None, encoded) is False
    assert security.verify_password(None, argon) is False


def test_password_policy_names_the_field():
    security.check_password_policy("ten chars!")
    security.check_password_policy("十个汉字的密码短语很长")
    for bad in ("short", " " * 12, "x" * 1025, None):
        with pytest.raises(ValidationFailed) as info:
            security.check_password_policy(bad, field="new_password")
        assert list(info.value.field_errors) == ["new_password"]


# --- JWT ----------------------------------------------------------------------------------

def test_access_token_round_trip(tokens):
    claims = tokens.verify(tokens.issue_access(PRINCIPAL), "access")
    assert claims["sub"] == "u-123" and claims["roles"] == ["sales_rep"]
    assert claims["region"] == "GD" and claims["kind"] == "user"
    assert claims["iss"] == "guanxi" and claims["aud"] == "guanxi-api"
    assert claims["typ"] == "access"
    assert claims["iat"] == claims["nbf"] == T0 and claims["exp"] == T0 + 900
    header = jwt.get_unverified_header(tokens.issue_access(PRINCIPAL))
    assert header["alg"] == "HS256"


def test_every_token_has_its_own_jti(tokens):
    jtis = {tokens.verify(tokens.issue_access(PRINCIPAL))["jti"] for _ in range(5)}
    assert len(jtis) == 5


def test_token_response_shape(tokens):
    body = tokens.token_response(PRINCIPAL)
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert tokens.verify(body["refresh_token"], "refresh")["typ"] == "refresh"


def test_tampered_payload_is_refused(tokens):
    header, payload, signature = tokens.issue_access(PRINCIPAL).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    assert refused(tokens, f"{header}.{b64url(claims)}.{signature}") == "bad_signature"


def test_token_signed_with_another_secret_is_refused(tokens, clock):
    other = TokenService("o" * 40, clock=clock)
    assert refused(tokens, other.issue_access(PRINCIPAL)) == "bad_signature"


def test_expired_token_is_refused_after_the_leeway(tokens, clock):
    token = tokens.issue_access(PRINCIPAL)
    clock.now = T0 + 900 + 4
    assert tokens.verify(token)["sub"] == "u-123"
    clock.now = T0 + 900 + 5
    assert refused(tokens, token) == "expired"


def test_a_token_is_decoded_once_but_its_times_and_type_are_checked_on_every_use(
        tokens, clock, monkeypatch):
    decoded = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k))
    token = tokens.issue_access(PRINCIPAL)
    first = tokens.verify(token)
    first["sub"] = "changed by a caller"
    assert tokens.verify(token)["sub"] == "u-123"  # callers get copies
    assert refused(tokens, token, "refresh") == "wrong_type"
    clock.now = T0 + 900 + 5
    assert refused(tokens, token) == "expired"
    assert len(decoded) == 1

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(3):
        assert refused(tokens, tampered) == "bad_signature"
    assert len(decoded) == 4  # failures are never remembered


def test_the_decoded_token_cache_is_bounded(tokens, monkeypatch):
    monkeypatch.setattr(security, "VERIFIED_CACHE_SIZE", 3)
    issued = [tokens.issue_access(PRINCIPAL) for _ in range(5)]
    for token in issued:
        tokens.verify(token)
    assert list(tokens._verified) == issued[2:]


def test_refresh_token_lives_longer(tokens, clock):
    token = tokens.issue_refresh(PRINCIPAL)
    clock.now = T0 + 13 * 86400
    assert tokens.verify(token, "refresh")["sub"] == "u-123"
    clock.now = T0 + 14 * 86400 + 10
    assert refused(tokens, token, "refresh") == "expired"


def test_token_from_the_future_is_refused(tokens, clock):
    clock.now = T0 + 60
    future = tokens.issue_access(PRINCIPAL)
    clock.now = T0
    assert refused(tokens, future) == "not_yet_valid"


def test_alg_none_token_is_refused(tokens):
    claims = claims_for(tokens, roles=["admin"])
    unsigned = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."
    assert refused(tokens, unsigned) == "algorithm_not_allowed"
    for alg in ("None", "NONE", ""):
        token = f"{b64url({'alg': alg, 'typ': 'JWT'})}.{b64url(claims)}."
        assert refused(tokens, token) in ("algorithm_not_allowed", "malformed")


def test_hs512_token_with_the_right_secret_is_refused(tokens):
    token = jwt.encode(claims_for(tokens), SECRET, algorithm="HS512")
    assert refused(tokens, token) == "algorithm_not_allowed"


def test_rs256_header_is_refused_key_confusion(tokens):
    """An attacker signs with HMAC over the 'public key' and claims RS256."""
    signing_input = f"{b64url({'alg': 'RS256', 'typ': 'JWT'})}.{b64url(claims_for(tokens))}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert refused(tokens, f"{signing_input}.{b64url(signature)}") == "algorithm_not_allowed"


def test_wrong_audience_and_issuer_are_refused(tokens, clock):
    other_audience = TokenService(SECRET, audience="someone-else", clock=clock)
    other_issuer = TokenService(SECRET, issuer="evil", clock=clock)
    assert refused(tokens, other_audience.issue_access(PRINCIPAL)) == "wrong_audience"
    assert refused(tokens, other_issuer.issue_access(PRINCIPAL)) == "wrong_issuer"


def test_refresh_token_is_not_an_access_token(tokens):
    assert refused(tokens, tokens.issue_refresh(PRINCIPAL), "access") == "wrong_type"
    assert refused(tokens, tokens.issue_access(PRINCIPAL), "refresh") == "wrong_type"


def test_malformed_tokens(tokens):
    claims = claims_for(tokens)
    del claims["jti"]
    missing_claim = jwt.encode(claims, SECRET, algorithm="HS256")
    system_sub = jwt.encode(claims_for(tokens, sub="system"), SECRET, algorithm="HS256")
    unknown_role = jwt.encode(claims_for(tokens, roles=["system"]), SECRET, algorithm="HS256")
    for bad in ("", "abc", "a.b.c", "a.b", None, 7, b"\xff\xfe", "x" * 10000,
                missing_claim, system_sub, unknown_role):
        assert refused(tokens, bad) == "malformed", bad


def test_token_service_refuses_weak_secrets_and_bad_principals(tokens):
    with pytest.raises(ValueError):
        TokenService("too short")
    for principal in ({**PRINCIPAL, "user_id": "system"}, {**PRINCIPAL, "roles": ["root"]},
                      {**PRINCIPAL, "roles": "admin"}, {**PRINCIPAL, "kind": "robot"},
                      {**PRINCIPAL, "user_id": ""}):
        with pytest.raises(ValueError):
            tokens.issue_access(principal)


def test_token_invalid_crosses_rpc_as_itself():
    error = deserialize(serialize(TokenInvalid("expired")))
    assert type(error) is TokenInvalid
    assert error.reason == "expired" and error.details == {"reason": "expired"}
    assert error.to_dict()["code"] == "invalid_token"


def test_principal_to_actor(tokens):
    claims = tokens.verify(tokens.issue_access(PRINCIPAL))
    actor = security.principal_to_actor(claims, "req-1")
    assert actor == Actor(user_id="u-123", roles=frozenset({"sales_rep"}), region="GD",
                          request_id="req-1")
    service = security.principal_to_actor(
        {"user_id": "svc-1", "roles": ["regional_office"], "region": "SH", "kind": "service"},
        "req-2")
    assert service.user_id == "svc-1" and not service.is_system
    with pytest.raises(TokenInvalid):
        security.principal_to_actor({"sub": "system", "roles": ["admin"]}, "req-3")


def test_load_secret_from_env(tmp_path):
    value = "e" * 32
    assert security.load_secret({"GATEWAY_JWT_SECRET": value}, tmp_path / "f") == value
    assert not (tmp_path / "f").exists()
    with pytest.raises(ValueError):
        security.load_secret({"GATEWAY_JWT_SECRET": "short"}, tmp_path / "f")


def test_load_secret_is_generated_once_and_private(tmp_path):
    path = tmp_path / "var" / "gateway-jwt-secret"
    first = security.load_secret({}, path)
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert security.load_secret({}, path) == first
    assert [p.name for p in path.parent.iterdir()] == ["gateway-jwt-secret"]
    TokenService(first)
    path.write_text("tiny")
    with pytest.raises(ValueError):
        security.load_secret({}, path)


# --- API tokens -----------------------------------------------------------------------------

def test_api_token_hash_and_parse():
    token_id, plaintext = security.new_api_token()
    assert plaintext.startswith(f"gx_{token_id}_")
    assert security.parse_api_token(plaintext) == (token_id, plaintext.split("_", 2)[2])
    stored = security.hash_api_token(plaintext)
    assert stored == hashlib.sha256(plaintext.encode()).hexdigest() and plaintext not in stored
    assert security.verify_api_token(plaintext, stored)
    assert not security.verify_api_token(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"),
                                         stored)
    other_id, other = security.new_api_token()
    assert other_id != token_id and not security.verify_api_token(other, stored)


def test_parse_api_token_refuses_other_shapes(tokens):
    _, plaintext = security.new_api_token()
    for bad in (None, "", "gx_", plaintext + "x", plaintext.replace("gx_", "gy_", 1),
                "gx_NOTHEX0000000000_" + "a" * 43, tokens.issue_access(PRINCIPAL)):
        assert security.parse_api_token(bad) is None, bad


# --- roles ----------------------------------------------------------------------------------

def test_catalogue_covers_the_shared_access_rules():
    policy = access.CRM_POLICY
    shared = {policy.admin, "auditor", *policy.auditors, *policy.regional_readers,
              *policy.regional_writers, *policy.owner_scoped}
    assert shared <= set(gw_roles.ROLES)
    assert len(gw_roles.ROLES) == 9 and all(gw_roles.ROLES.values())


def test_validate_roles():
    assert gw_roles.validate_roles(["sales_rep", "auditor", "sales_rep"]) == ["auditor", "sales_rep"]
    with pytest.raises(ValidationFailed) as info:
        gw_roles.validate_roles(["sales_rep", "root", 3])
    assert set(info.value.field_errors) == {"roles.1", "roles.2"}
    for bad in ([], "admin", None):
        with pytest.raises(ValidationFailed) as info:
            gw_roles.validate_roles(bad)
        assert list(info.value.field_errors) == ["roles"]
