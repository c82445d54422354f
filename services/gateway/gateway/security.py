"""Authentication primitives of the gateway, free of any web framework so they are
unit-tested alone: password hashing, JWT access/refresh tokens, API tokens for service
accounts, and the mapping from a verified principal to the ``Actor`` every RPC carries.

Signing secret (``load_secret``): ``GATEWAY_JWT_SECRET`` (at least 32 bytes) in any real
deployment, shared by every gateway replica. Without it a random secret is generated once
and kept in ``var/gateway-jwt-secret`` (mode 0600), so that in development tokens survive a
restart and all gunicorn workers of one host agree; deleting that file logs everybody out.
"""
import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import threading
import time
import uuid
from pathlib import Path

import argon2
import jwt
from nameko.exceptions import deserialize_to_instance

from guanxi_common import config
from guanxi_common.context import SYSTEM_USER, Actor
from guanxi_common.errors import GuanxiError, ValidationFailed

from gateway.roles import ROLES

# --- errors -----------------------------------------------------------------------------

EXPIRED, NOT_YET_VALID, BAD_SIGNATURE = "expired", "not_yet_valid", "bad_signature"
WRONG_AUDIENCE, WRONG_ISSUER, WRONG_TYPE = "wrong_audience", "wrong_issuer", "wrong_type"
MALFORMED, ALGORITHM_NOT_ALLOWED = "malformed", "algorithm_not_allowed"
#: signed with our key but living longer than the gateway issues tokens for
LIFETIME_TOO_LONG = "lifetime_too_long"


@deserialize_to_instance
class TokenInvalid(GuanxiError):
    """A bearer token was refused; ``reason`` says why (one of the constants above).

    ``args`` is just ``(reason,)`` so Nameko rebuilds it as ``TokenInvalid(reason)``.
    """

    status = 401
    code = "invalid_token"

    def __init__(self, reason=MALFORMED):
        super().__init__(f"token refused: {reason}", {"reason": reason})
        self.args = (reason,)
        self.reason = reason


# --- passwords --------------------------------------------------------------------------

#: argon2id with OWASP's recommended minimum (19 MiB, two passes, one lane): a login costs
#: ~40 ms and 19 MiB, so 2 workers x 8 threads hashing at once stay within the pod's memory.
ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM = 2, 19 * 1024, 1
_password_hasher = argon2.PasswordHasher(time_cost=ARGON2_TIME_COST,
                                         memory_cost=ARGON2_MEMORY_KIB,
                                         parallelism=ARGON2_PARALLELISM,
                                         type=argon2.Type.ID)
#: Bounds on parameters read back from a stored encoding, so a corrupt row cannot make one
#: login allocate gigabytes or spin for minutes.
_MAX_ARGON2_MEMORY_KIB, _MAX_ARGON2_TIME_COST, _MAX_ARGON2_PARALLELISM = 256 * 1024, 16, 8
_MAX_MEMORY, _MAX_P = 64 * 1024 * 1024, 4  # the same for legacy scrypt encodings
_SALT_BYTES = 16
PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 10, 1024


def hash_password(password):
    """The PHC string ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``: the parameters travel
    with the hash, so raising them later only re-hashes on the next login."""
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    return _password_hasher.hash(password)


@functools.lru_cache(maxsize=1)
def _dummy_hash():
    """Verified against when there is no usable stored hash (an unknown user), so that
    answer costs what a real check costs."""
    return _password_hasher.hash(secrets.token_urlsafe(16))


def verify_password(password, encoded):
    """True only for the right password, for argon2id and for the scrypt encodings written
    before it. A malformed or missing encoding (pass ``None`` for an unknown user) still
    costs one hash, so the answer time does not reveal which usernames exist; it never
    raises."""
    if not isinstance(password, str):
        password, encoded = "", None
    if isinstance(encoded, str) and encoded.startswith("scrypt$"):
        return _verify_scrypt(password, encoded)
    if not _acceptable_argon2(encoded):
        _verify_argon2(password, _dummy_hash())
        return False
    return _verify_argon2(password, encoded)


def needs_rehash(encoded):
    """True when a stored hash is not argon2id with today's parameters (a scrypt hash, or
    argon2 with weaker settings): re-hash it with the password just verified."""
    if not _acceptable_argon2(encoded):
        return True
    return _password_hasher.check_needs_rehash(encoded)


def _acceptable_argon2(encoded):
    if not isinstance(encoded, str) or not encoded.startswith("$argon2id$"):
        return False
    try:
        params = argon2.extract_parameters(encoded)
    except (argon2.exceptions.InvalidHashError, ValueError):
        return False
    return (params.memory_cost <= _MAX_ARGON2_MEMORY_KIB
            and params.time_cost <= _MAX_ARGON2_TIME_COST
            and params.parallelism <= _MAX_ARGON2_PARALLELISM)


def _verify_argon2(password, encoded):
    try:
        return _password_hasher.verify(encoded, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError,
            ValueError, MemoryError):
        return False


def _scrypt(password, salt, n, r, p, dklen):
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=256 * r * (n + p) + 1024 * 1024)


def _parse_scrypt_hash(encoded):
    """``scrypt$n$r$p$salt_b64$hash_b64`` (the gateway's format before argon2id), or None."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    if not all(re.fullmatch(r"[1-9][0-9]{0,7}", part) for part in parts[1:4]):
        return None
    n, r, p = (int(part) for part in parts[1:4])
    if n < 2 or n & (n - 1) or 128 * r * n > _MAX_MEMORY or p > _MAX_P:
        return None
    try:
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not 8 <= len(salt) <= 64 or not 16 <= len(digest) <= 128:
        return None
    return n, r, p, salt, digest


def _verify_scrypt(password, encoded):
    parsed = _parse_scrypt_hash(encoded)
    if parsed is None:
        _verify_argon2(password, _dummy_hash())
        return False
    n, r, p, salt, digest = parsed
    try:
        candidate = _scrypt(password, salt, n, r, p, len(digest))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, digest)


def check_password_policy(password, field="password"):
    """The minimum policy: 10 to 1024 characters (Unicode characters, so a Chinese
    passphrase counts per character), not only whitespace."""
    reasons = []
    if not isinstance(password, str):
        reasons.append("must be a string")
    elif len(password) < PASSWORD_MIN_LENGTH:
        reasons.append(f"must be at least {PASSWORD_MIN_LENGTH} characters")
    elif len(password) > PASSWORD_MAX_LENGTH:
        reasons.append(f"must be at most {PASSWORD_MAX_LENGTH} characters")
    elif not password.strip():
        reasons.append("must not be only whitespace")
    if reasons:
        raise ValidationFailed(f"{field} does not meet the password policy", {field: reasons})


# --- JWT --------------------------------------------------------------------------------

ALGORITHM = "HS256"
ACCESS, REFRESH = "access", "refresh"
KINDS = ("user", "service")
MIN_SECRET_BYTES = 32
LEEWAY_SECONDS = 5
#: Longer than any token we issue; refusing bigger input caps the parsing work.
MAX_TOKEN_LENGTH = 8192
#: Decoded tokens remembered per process (a few hundred bytes each).
VERIFIED_CACHE_SIZE = 4096
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "nbf", "jti", "typ", "roles", "kind"]


def _secret_bytes(secret):
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)


class TokenService:
    """Issues and verifies the gateway's HS256 JWTs.

    Only HS256 is accepted on the way in, whatever the token's header says: that refuses
    ``alg: none`` and the RS/HS key-confusion trick. Times are checked against ``clock``
    (not PyJWT's own) so tests and the refresh logic share one notion of now.
    """

    def __init__(self, secret, issuer="guanxi", audience="guanxi-api", access_ttl=900,
                 refresh_ttl=14 * 86400, clock=time.time):
        key = _secret_bytes(secret)
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        self._key = key
        self.issuer, self.audience = issuer, audience
        self.access_ttl, self.refresh_ttl = int(access_ttl), int(refresh_ttl)
        self.clock = clock
        self._verified = {}  # token -> decoded claims, see _decode
        self._cache_lock = threading.Lock()

    def issue_access(self, principal):
        """An access token; ``principal["session_id"]`` (the login it belongs to) becomes
        its ``sid`` claim, which the gateway checks against the database."""
        return self._issue(principal, ACCESS, self.access_ttl)

    def issue_refresh(self, principal):
        """A refresh token carries the same identity; the caller should re-read the user
        (disabled? roles changed?) before trading it for a new access token."""
        return self._issue(principal, REFRESH, self.refresh_ttl)

    def token_response(self, principal):
        """The body of ``POST /api/v1/auth/token``."""
        return {"access_token": self.issue_access(principal),
                "refresh_token": self.issue_refresh(principal),
                "token_type": "bearer", "expires_in": self.access_ttl}

    def _issue(self, principal, token_type, ttl):
        user_id, roles, region, kind = _check_principal(principal)
        now = int(self.clock())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": user_id,
                  "iat": now, "nbf": now, "exp": now + ttl, "jti": str(uuid.uuid4()),
                  "typ": token_type, "roles": roles, "region": region, "kind": kind}
        session_id = principal.get("session_id")
        if session_id is not None:
            claims["sid"] = str(session_id)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def _max_lifetime(self, token_type):
        return self.refresh_ttl if token_type == REFRESH else self.access_ttl

    def verify(self, token, expected_type=ACCESS):
        """The claims of a valid token of ``expected_type``, else ``TokenInvalid(reason)``."""
        if isinstance(token, bytes):
            try:
                token = token.decode("ascii")
            except UnicodeDecodeError:
                raise TokenInvalid(MALFORMED) from None
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalid(MALFORMED)
        claims = self._decode(token)
        self._check_times(claims)  # on every use: the decoded claims are cached, not time
        if claims["typ"] != expected_type:
            raise TokenInvalid(WRONG_TYPE)
        # A token minted with the key for ten years is refused: none we issue lives longer
        # than the configured lifetime of its type.
        if claims["exp"] - claims["iat"] > self._max_lifetime(expected_type):
            raise TokenInvalid(LIFETIME_TOO_LONG)
        return dict(claims)

    def _decode(self, token):
        """The time-independent part of verification, cached per token string: the same
        string under the same key always decodes to the same claims, and a frontend sends
        one access token many times. Failures are not cached, so bad tokens cost a decode
        each and cannot fill the cache (a valid one needs the secret)."""
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], audience=self.audience,
                issuer=self.issuer,
                options={"require": _REQUIRED_CLAIMS, "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False, "strict_aud": True})
        except jwt.InvalidAlgorithmError:
            raise TokenInvalid(ALGORITHM_NOT_ALLOWED) from None
        except jwt.InvalidSignatureError:
            raise TokenInvalid(BAD_SIGNATURE) from None
        except jwt.InvalidAudienceError:
            raise TokenInvalid(WRONG_AUDIENCE) from None
        except jwt.InvalidIssuerError:
            raise TokenInvalid(WRONG_ISSUER) from None
        except (jwt.InvalidTokenError, jwt.InvalidKeyError, ValueError, TypeError):
            raise TokenInvalid(MALFORMED) from None
        try:
            _check_principal({"user_id": claims["sub"], "roles": claims["roles"],
                              "region": claims.get("region"), "kind": claims["kind"]})
        except ValueError:
            raise TokenInvalid(MALFORMED) from None
        sid = claims.get("sid")
        if sid is not None and (not isinstance(sid, str) or not 0 < len(sid) <= 64):
            raise TokenInvalid(MALFORMED)
        with self._cache_lock:
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))  # the oldest entry
            self._verified[token] = claims
        return claims

    def _check_times(self, claims):
        exp, nbf, iat = claims["exp"], claims["nbf"], claims["iat"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   for v in (exp, nbf, iat)):
            raise TokenInvalid(MALFORMED)
        now = self.clock()
        if exp <= now - LEEWAY_SECONDS:
            raise TokenInvalid(EXPIRED)
        if nbf > now + LEEWAY_SECONDS or iat > now + LEEWAY_SECONDS:
            raise TokenInvalid(NOT_YET_VALID)


def _check_principal(principal):
    """The identity a token may carry: never the internal system actor (which
    ``guanxi_common.access`` treats as unrestricted), only catalogue roles."""
    user_id = principal.get("user_id")
    roles = principal.get("roles")
    region = principal.get("region")
    kind = principal.get("kind", "user")
    if not isinstance(user_id, str) or not user_id or user_id == SYSTEM_USER:
        raise ValueError("user_id must be a non-empty string other than 'system'")
    if isinstance(roles, str) or not isinstance(roles, (list, tuple, set, frozenset)):
        raise ValueError("roles must be a list")
    if not all(isinstance(role, str) and role in ROLES for role in roles):
        raise ValueError(f"roles outside the catalogue: {roles!r}")
    if region is not None and (not isinstance(region, str) or not region):
        raise ValueError("region must be a non-empty string or None")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    return user_id, sorted(set(roles)), region, kind


def principal_to_actor(claims, request_id):
    """The ``Actor`` for verified JWT claims (``sub``) or an API-token principal
    (``user_id``); it travels in the RPC context so the services apply the same scope."""
    user_id = claims.get("sub", claims.get("user_id"))
    try:
        user_id, roles, region, _ = _check_principal(
            {"user_id": user_id, "roles": claims.get("roles"), "region": claims.get("region"),
             "kind": claims.get("kind", "user")})
    except ValueError:
        raise TokenInvalid(MALFORMED) from None
    return Actor(user_id=user_id, roles=frozenset(roles), region=region, request_id=request_id)


def load_secret(environ=None, path=None):
    """``GATEWAY_JWT_SECRET`` (refused when shorter than 32 bytes rather than silently
    replaced), else the secret persisted at ``var/gateway-jwt-secret``, created once.

    Creation goes through a temporary file hard-linked into place, so concurrent gunicorn
    workers starting together all end up with the one secret that won."""
    environ = os.environ if environ is None else environ
    value = environ.get("GATEWAY_JWT_SECRET")
    if value:
        if len(value.encode("utf-8")) < MIN_SECRET_BYTES:
            raise ValueError(f"GATEWAY_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return value
    path = Path(path) if path else config.VAR_DIR / "gateway-jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jwt-secret-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    secret = path.read_text().strip()
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise ValueError(f"{path} holds a secret shorter than {MIN_SECRET_BYTES} bytes")
    return secret


# --- API tokens for service accounts ---------------------------------------------------

API_TOKEN_PREFIX = "gx"
_API_TOKEN_RE = re.compile(r"gx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


def new_api_token():
    """``(token_id, plaintext)``. The plaintext is shown once; store ``token_id`` (to find
    the row) and ``hash_api_token(plaintext)`` only. Revocation is a flag on that row."""
    token_id = secrets.token_hex(8)
    return token_id, f"{API_TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"


def hash_api_token(plaintext):
    """SHA-256 is enough here: the secret has 256 random bits, nothing to brute-force."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def parse_api_token(plaintext):
    """``(token_id, secret)`` for a well-formed API token, else None (e.g. a JWT)."""
    if not isinstance(plaintext, str):
        return None
    match = _API_TOKEN_RE.fullmatch(plaintext)
    return (match.group(1), match.group(2)) if match else None


def verify_api_token(plaintext, stored_hash):
    """Constant-time comparison of a presented token with the stored hash."""
    if not isinstance(stored_hash, str) or parse_api_token(plaintext) is None:
        return False
    return hmac.compare_digest(hash_api_token(plaintext), stored_hash)
