"""Users, logins, refresh-token rotation and API tokens, on a SQLAlchemy session.

Functions take the session and leave the transaction to the caller (a ``UnitOfWork`` in
the app, ``session_scope`` in scripts), so a login and its refresh-token row commit
together. The password checks of :func:`login` and :func:`change_password` take
``open_session`` (a context manager factory) instead: the slow hash runs between two short
transactions, and a failure is recorded in a transaction of its own that is not rolled
back with the refused request. Failures a client may cause are ``GuanxiError``s:
``Unauthenticated`` says the same thing for an unknown user, a wrong password and a
disabled account.

A login is the family of its refresh tokens (``RefreshToken.family``, the access tokens'
``sid``): ending a login revokes the family (see ``gateway.sessions``).
"""
import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update

from guanxi_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from guanxi_common.events import utcnow

from gateway import security
from gateway.models import ApiToken, RefreshToken, User
from gateway.problems import Unauthenticated
from gateway.roles import ADMIN, ROLES, validate_roles

REVOKED, UNKNOWN, USER_DISABLED, STALE = "revoked", "unknown", "user_disabled", "stale"
#: ``last_used_at`` of an API token is written at most this often: a write per request
#: would serialise every service-account call on SQLite's single writer.
LAST_USED_RESOLUTION = timedelta(seconds=60)
DEMO_REGION = "广东"
#: ``make seed`` users, one per role: username ``demo_<role>``, password ``demo-<role>-pw``.
DEMO_PASSWORD = "demo-{role}-pw"


def _region(region):
    if region is None:
        return None
    if not isinstance(region, str) or not region.strip() or len(region) > 40:
        raise ValidationFailed("region is not valid", {"region": ["must be 1 to 40 characters"]})
    return region.strip()


def get_user(session, user_id):
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", {"user_id": user_id})
    return user


def find_user(session, username):
    return session.scalar(select(User).where(User.username == username))


def create_user(session, username, password, roles, region=None, active=True,
                display_name=None, user_id=None):
    """A new user; the password policy and the role catalogue are checked here so every
    way in (API, bootstrap, seed) applies them."""
    security.check_password_policy(password)
    roles = validate_roles(roles)
    if find_user(session, username) is not None:
        raise Conflict(f"username {username!r} is taken", {"username": username})
    user = User(id=user_id or str(uuid.uuid4()), username=username,
                display_name=_display_name(display_name),
                password_hash=security.hash_password(password), roles=roles,
                region=_region(region), active=bool(active), created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def _display_name(value):
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise ValidationFailed("display_name is not valid",
                               {"display_name": ["must be 1 to 100 characters"]})
    return value.strip()


def set_password(session, user, password):
    """Replace the password and end every login of the user (their refresh tokens)."""
    security.check_password_policy(password)
    user.password_hash = security.hash_password(password)
    end_logins(session, user.id)


def end_logins(session, user_id):
    """End every login of the user: their refresh tokens are revoked, and their access
    tokens are refused as soon as ``gateway.sessions`` next reads the database."""
    _revoke_where(session, RefreshToken.user_id == user_id)


def _other_active_admins(session, user_id):
    return [u for u in session.scalars(select(User).where(User.active.is_(True),
                                                          User.id != user_id))
            if ADMIN in (u.roles or [])]


def _keep_an_admin(session, user, action):
    if ADMIN in (user.roles or []) and user.active and not _other_active_admins(session, user.id):
        raise Conflict(f"cannot {action} the last active admin", {"user_id": user.id})


#: What an admin may change on a user with :func:`update_user`.
UPDATABLE = ("display_name", "roles", "region", "active")


def update_user(session, user, changes, caller_id):
    """Apply ``changes`` (keys of :data:`UPDATABLE`). Disabling a user ends their logins;
    new roles or a new region reach their access tokens within ``gateway.sessions``'
    bound (older tokens are refused as stale, a refresh gives current ones). Nobody
    disables themselves or removes the last active admin."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValidationFailed("unknown fields", {name: ["unknown field"] for name in unknown})
    roles = validate_roles(changes["roles"]) if "roles" in changes else user.roles
    active = bool(changes["active"]) if "active" in changes else user.active
    if (ADMIN in (user.roles or []) and user.active) and (ADMIN not in roles or not active):
        _keep_an_admin(session, user, "disable or demote")
    if user.id == caller_id and not active:
        raise Conflict("you cannot disable yourself", {"user_id": user.id})
    if "display_name" in changes:
        user.display_name = _display_name(changes["display_name"])
    if "region" in changes:
        user.region = _region(changes["region"])
    user.roles = roles
    if user.active and not active:
        end_logins(session, user.id)
    user.active = active
    session.flush()
    return user


def delete_user(session, user_id, caller_id):
    """Remove the user with their API tokens and logins. The services' records keep the
    user id they were written with (history, ownership), which no longer resolves."""
    user = get_user(session, user_id)
    if user.id == caller_id:
        raise Conflict("you cannot delete yourself", {"user_id": user.id})
    _keep_an_admin(session, user, "delete")
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    session.execute(delete(RefreshToken).where(RefreshToken.user_id == user.id))
    session.delete(user)
    session.flush()


def list_users(session, page=1, page_size=50):
    total = session.scalar(select(func.count()).select_from(User))
    users = session.scalars(select(User).order_by(User.username)
                            .offset((page - 1) * page_size).limit(page_size)).all()
    return {"items": users, "total": total, "page": page, "page_size": page_size}


def principal(user, kind="user", session_id=None):
    return {"user_id": user.id, "roles": list(user.roles), "region": user.region, "kind": kind,
            "session_id": session_id}


def authenticate(session, username, password):
    """The active user with this password, else ``Unauthenticated``. An unknown username
    still costs one password hash, so timing does not tell which usernames exist. A hash
    of an older kind (scrypt) is replaced by argon2id of the password just verified."""
    user = find_user(session, username) if isinstance(username, str) else None
    ok = security.verify_password(password, user.password_hash if user else None)
    if not ok or not user.active:
        raise Unauthenticated("wrong username or password")
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    return user


_WRONG_CREDENTIALS = "wrong username or password"


def login(open_session, tokens, lockout, username, password, address):
    """``POST /auth/token``: the token pair for the right password of an active user,
    else ``Unauthenticated``; ``LoginLocked`` (429) while the account or the address is
    locked (``gateway.lockout``), whatever the password."""
    with open_session() as session:
        lockout.check(session, username, address)
        user = find_user(session, username)
        stored = user.password_hash if user is not None else None
        user_id = user.id if user is not None else None
    if not security.verify_password(password, stored):
        with open_session() as session:
            lockout.failed(session, username, address)
        raise Unauthenticated(_WRONG_CREDENTIALS)
    new_hash = security.hash_password(password) if security.needs_rehash(stored) else None
    with open_session() as session:
        user = session.get(User, user_id)
        if user is None or not user.active or user.password_hash != stored:
            raise Unauthenticated(_WRONG_CREDENTIALS)  # disabled, or changed meanwhile
        lockout.succeeded(session, username)
        if new_hash is not None:
            user.password_hash = new_hash
        return issue_tokens(session, tokens, user)


def change_password(open_session, tokens, lockout, user_id, current_password, new_password,
                    address):
    """Self-service: the current password (checked and throttled like a login) for a new
    one. Every login of the user ends; the answer is a new token pair for the caller."""
    security.check_password_policy(new_password, field="new_password")
    with open_session() as session:
        user = get_user(session, user_id)
        username, stored = user.username, user.password_hash
        lockout.check(session, username, address)
    if not security.verify_password(current_password, stored):
        with open_session() as session:
            lockout.failed(session, username, address)
        raise ValidationFailed("the current password is wrong",
                               {"current_password": ["is not the current password"]})
    new_hash = security.hash_password(new_password)
    with open_session() as session:
        user = get_user(session, user_id)
        if not user.active or user.password_hash != stored:
            raise Conflict("the account changed meanwhile; try again", {"user_id": user_id})
        lockout.succeeded(session, username)
        user.password_hash = new_hash
        end_logins(session, user.id)
        return issue_tokens(session, tokens, user)


# --- JWTs -------------------------------------------------------------------------------

def _from_timestamp(value):
    return datetime.fromtimestamp(value, timezone.utc)


def issue_tokens(session, tokens, user, family=None):
    """The ``POST /auth/token`` answer for ``user``; its refresh token is recorded (in
    ``family``, the login, when rotating; else a new login) so it can be used exactly
    once, and the access token names the login (``sid``)."""
    family = family or str(uuid.uuid4())
    response = tokens.token_response(principal(user, session_id=family))
    claims = tokens.verify(response["refresh_token"], security.REFRESH)
    session.add(RefreshToken(jti=claims["jti"], user_id=user.id, family=family,
                             expires_at=_from_timestamp(claims["exp"])))
    # Housekeeping on the user's own rows: expired tokens are no longer needed to detect reuse.
    session.execute(delete(RefreshToken).where(
        RefreshToken.user_id == user.id,
        RefreshToken.expires_at < utcnow() - timedelta(days=1)))
    session.flush()
    return response


def _revoke_where(session, *criteria):
    session.execute(update(RefreshToken).where(*criteria, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def _refresh_row(session, tokens, refresh_token):
    claims = tokens.verify(refresh_token, security.REFRESH)
    row = session.scalar(select(RefreshToken).where(RefreshToken.jti == claims["jti"])
                         .with_for_update())
    if row is None or row.user_id != claims["sub"]:
        raise security.TokenInvalid(UNKNOWN)
    return row


def refresh(session, tokens, refresh_token):
    """Trade a refresh token for a new pair. The presented token is revoked (rotation); a
    token that was already revoked means a copy is in someone else's hands, so its whole
    family is revoked and the call refused. The user is re-read: a disabled account or
    changed roles take effect here."""
    row = _refresh_row(session, tokens, refresh_token)
    if row.revoked_at is not None:
        _revoke_where(session, RefreshToken.family == row.family)
        # Committed before refusing: the caller rolls back on the error, and this
        # revocation is the point of detecting the replay.
        session.commit()
        raise security.TokenInvalid(REVOKED)
    row.revoked_at = utcnow()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise security.TokenInvalid(USER_DISABLED)
    return issue_tokens(session, tokens, user, family=row.family)


def logout(session, tokens, caller_id, refresh_token):
    """End the caller's login that ``refresh_token`` belongs to (its whole family).
    Another user's refresh token is refused (403) and left alone. The login's access
    tokens are refused within the bound of ``gateway.sessions``."""
    row = _refresh_row(session, tokens, refresh_token)
    if row.user_id != caller_id:
        raise Forbidden("this refresh token belongs to another user")
    _revoke_where(session, RefreshToken.family == row.family)


# --- API tokens -------------------------------------------------------------------------

def create_api_token(session, user, name, roles=None, region=None):
    """``(row, plaintext)``; the plaintext exists only in this answer. A token can hold
    at most its user's roles, and a region only if the user has none or the same."""
    if not user.active:
        raise Conflict(f"user {user.username!r} is disabled", {"username": user.username})
    roles = list(user.roles) if roles is None else validate_roles(roles)
    beyond = sorted(set(roles) - set(user.roles))
    if beyond:
        raise ValidationFailed("a token cannot hold roles its user does not have",
                               {"roles": [f"not held by {user.username}: {', '.join(beyond)}"]})
    region = user.region if region is None else _region(region)
    if user.region is not None and region != user.region:
        raise ValidationFailed("a token cannot leave its user's region",
                               {"region": [f"must be {user.region}"]})
    token_id, plaintext = security.new_api_token()
    row = ApiToken(id=token_id, name=name, user_id=user.id,
                   token_hash=security.hash_api_token(plaintext), roles=roles, region=region,
                   created_at=utcnow())
    session.add(row)
    session.flush()
    return row, plaintext


def list_api_tokens(session, include_revoked=False):
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return session.scalars(query).all()


def revoke_api_token(session, token_id):
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"API token {token_id} not found", {"token_id": token_id})
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def authenticate_api_token(session, plaintext):
    """The principal of a valid, unrevoked API token of an active user (``kind``
    service, ``token_id`` for rate limiting and audit), else ``TokenInvalid``."""
    parsed = security.parse_api_token(plaintext)
    if parsed is None:
        raise security.TokenInvalid(security.MALFORMED)
    row = session.get(ApiToken, parsed[0])
    if row is None or not security.verify_api_token(plaintext, row.token_hash):
        raise security.TokenInvalid(UNKNOWN)
    if row.revoked_at is not None:
        raise security.TokenInvalid(REVOKED)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise security.TokenInvalid(USER_DISABLED)
    # The token never does more than its user may today (roles or region taken away
    # after the token was made).
    roles = [role for role in row.roles if role in (user.roles or [])]
    if not roles or (user.region is not None and row.region != user.region):
        raise security.TokenInvalid(STALE)
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return {"user_id": user.id, "roles": roles, "region": row.region,
            "kind": "service", "token_id": row.id}


# --- bootstrap --------------------------------------------------------------------------

def ensure_admin(session, username=None, password=None, out=print):
    """Create the first admin when no active admin exists; ``(user, generated_password)``
    or ``(None, None)`` when there already is one. ``ADMIN_USERNAME`` / ``ADMIN_PASSWORD``
    (defaults ``admin`` and a random password, printed once through ``out``)."""
    admins = [u for u in session.scalars(select(User).where(User.active.is_(True)))
              if ADMIN in (u.roles or [])]
    if admins:
        return None, None
    username = username or os.environ.get("ADMIN_USERNAME") or "admin"
    password = password or os.environ.get("ADMIN_PASSWORD") or None
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(18)
    user = find_user(session, username)
    if user is None:
        user = create_user(session, username, password, [ADMIN])
    else:  # e.g. the admin was disabled or lost the role: restore it with the new password
        user.roles = sorted(set(user.roles or []) | {ADMIN})
        user.active = True
        set_password(session, user, password)
    if generated is not None and out is not None:
        out(f"Created the first gateway admin: username {username!r}, password {generated!r} "
            "(shown only this once; change it or set ADMIN_PASSWORD)")
    return user, generated


def seed_demo_users(session, region=DEMO_REGION):
    """One user per role for demos: ``demo_<role>`` / ``demo-<role>-pw``. Existing
    users are left alone; returns the usernames created."""
    created = []
    for role in ROLES:
        username = f"demo_{role}"
        if find_user(session, username) is None:
            regional = role not in (ADMIN, "auditor")
            create_user(session, username, DEMO_PASSWORD.format(role=role), [role],
                        region=region if regional else None)
            created.append(username)
    return created
