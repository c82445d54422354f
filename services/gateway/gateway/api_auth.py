"""Auth endpoints (``/api/v1/auth/...``) and the admin's management of users and API
tokens, declared with ``gateway.http.endpoint`` so they validate, dump and document from
the same schemas. Login and refresh are public: a stale ``Authorization`` header that a
frontend attaches to every call must not stop it from logging in again. Logout needs the
caller's access token: a user ends only their own logins."""
from flask import Blueprint, g, request

from guanxi_common.errors import Forbidden, NotFound

from gateway import users
from gateway.account_schemas import PasswordChangeSchema, PasswordSetSchema, UserUpdateSchema
from gateway.app import db_session, lockout, session_guard, token_service
from gateway.http import endpoint
from gateway.models import User
from gateway.roles import ADMIN
from gateway.schemas import (ApiTokenCreatedSchema, ApiTokenCreateSchema, ApiTokenListQuerySchema,
                             ApiTokenSchema, LoginSchema, MeSchema, RefreshSchema,
                             TokenResponseSchema, UserCreateSchema, UserSchema)
from gateway.security import REFRESH, TokenInvalid

blueprint = Blueprint("auth", __name__)

_api_token = ApiTokenSchema()
_no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 5.1


@endpoint(blueprint, "/auth/token", "POST", summary="Log in", tags="auth", auth=False,
          body=LoginSchema, response=TokenResponseSchema, errors=(401,))
def login(body):
    """Username and password for a short-lived access token and a refresh token. Failed
    attempts lock the account and the client address for a while (429, Retry-After)."""
    answer = users.login(db_session, token_service(), lockout(), body["username"],
                         body["password"], request.remote_addr)
    return answer, 200, _no_store


@endpoint(blueprint, "/auth/refresh", "POST", summary="Refresh tokens", tags="auth",
          auth=False, body=RefreshSchema, response=TokenResponseSchema, errors=(401,))
def refresh(body):
    """A refresh token, usable once, for a new pair; replaying a used one ends the login."""
    try:
        with db_session() as session:
            answer = users.refresh(session, token_service(), body["refresh_token"])
    except TokenInvalid as exc:
        if exc.reason == users.REVOKED:  # a replay ended the login: this process sees it now
            session_guard().forget(token_service().verify(body["refresh_token"], REFRESH)["sub"])
        raise
    return answer, 200, _no_store


@endpoint(blueprint, "/auth/logout", "POST", summary="Log out", tags="auth",
          body=RefreshSchema, status=204, errors=(403,))
def logout(body):
    """End the caller's login that this refresh token belongs to; another user's is
    refused. Its access tokens are refused within seconds (docs/api.md)."""
    caller = g.principal["user_id"]
    with db_session() as session:
        users.logout(session, token_service(), caller, body["refresh_token"])
    session_guard().forget(caller)
    return None, 204


@endpoint(blueprint, "/auth/password", "POST", summary="Change my password", tags="auth",
          body=PasswordChangeSchema, response=TokenResponseSchema, errors=(403, 409))
def change_password(body):
    """The current password for a new one. Every login of the caller ends (other devices
    too); the answer is a new token pair for this one. Wrong current passwords count
    toward the login lock-out."""
    if g.principal.get("kind") != "user":
        raise Forbidden("an API token cannot change its user's password")
    caller = g.principal["user_id"]
    answer = users.change_password(db_session, token_service(), lockout(), caller,
                                   body["current_password"], body["new_password"],
                                   request.remote_addr)
    session_guard().forget(caller)
    return answer, 200, _no_store


@endpoint(blueprint, "/auth/me", summary="Who am I", tags="auth", response=MeSchema)
def me():
    """The caller as the services see it (roles and region scope every call)."""
    with db_session() as session:
        user = session.get(User, g.principal["user_id"])
        username = user.username if user is not None else None
    return {**g.principal, "username": username, "roles": sorted(g.actor.roles),
            "region": g.actor.region}


@endpoint(blueprint, "/users", "POST", summary="Create a user", tags="users", roles=(ADMIN,),
          body=UserCreateSchema, response=UserSchema, status=201, errors=(409,))
def create_user(body):
    with db_session() as session:
        return users.create_user(session, body["username"], body["password"], body["roles"],
                                 region=body["region"], active=body["active"],
                                 display_name=body["display_name"])


@endpoint(blueprint, "/users", summary="List users", tags="users", roles=(ADMIN,),
          response=UserSchema, paginated=True)
def list_users(paging):
    with db_session() as session:
        return users.list_users(session, paging.page, paging.page_size)


@endpoint(blueprint, "/users/<user_id>", summary="Get a user", tags="users", roles=(ADMIN,),
          response=UserSchema)
def get_user(user_id):
    with db_session() as session:
        return users.get_user(session, user_id)


@endpoint(blueprint, "/users/<user_id>", "PATCH", summary="Change a user", tags="users",
          roles=(ADMIN,), body=UserUpdateSchema, response=UserSchema, errors=(409,))
def update_user(user_id, body):
    """Display name, roles, region, active. ``active: false`` disables the user: their
    logins end and their tokens are refused within seconds. Nobody disables themselves,
    and the last active admin stays one."""
    with db_session() as session:
        user = users.update_user(session, users.get_user(session, user_id), body,
                                 g.actor.user_id)
    session_guard().forget(user_id)
    return user


@endpoint(blueprint, "/users/<user_id>", "DELETE", summary="Delete a user", tags="users",
          roles=(ADMIN,), status=204, errors=(409,))
def delete_user(user_id):
    """The user, their API tokens and logins. Records in the services keep the user id."""
    with db_session() as session:
        users.delete_user(session, user_id, g.actor.user_id)
    session_guard().forget(user_id)
    return None, 204


@endpoint(blueprint, "/users/<user_id>/password", "PUT", summary="Set a user's password",
          tags="users", roles=(ADMIN,), body=PasswordSetSchema, status=204)
def set_password(user_id, body):
    """An admin's reset (a forgotten password); every login of the user ends."""
    with db_session() as session:
        users.set_password(session, users.get_user(session, user_id), body["password"])
    session_guard().forget(user_id)
    return None, 204


@endpoint(blueprint, "/api-tokens", "POST", summary="Create an API token", tags="api-tokens",
          roles=(ADMIN,), body=ApiTokenCreateSchema, response=ApiTokenCreatedSchema,
          status=201, errors=(404, 409))
def create_api_token(body):
    """The plaintext token is in this answer only; the database keeps its hash."""
    with db_session() as session:
        if body["username"]:
            user = users.find_user(session, body["username"])
            if user is None:
                raise NotFound(f"user {body['username']!r} not found",
                               {"username": body["username"]})
        else:
            user = users.get_user(session, g.actor.user_id)
        row, plaintext = users.create_api_token(session, user, body["name"],
                                                roles=body["roles"], region=body["region"])
        answer = {name: getattr(row, name) for name in _api_token.fields}
        return {**answer, "token": plaintext}, 201, _no_store


@endpoint(blueprint, "/api-tokens", summary="List API tokens", tags="api-tokens",
          roles=(ADMIN,), query=ApiTokenListQuerySchema, response=ApiTokenSchema, many=True)
def list_api_tokens(query):
    with db_session() as session:
        return users.list_api_tokens(session, query["include_revoked"])


@endpoint(blueprint, "/api-tokens/<token_id>", "DELETE", summary="Revoke an API token",
          tags="api-tokens", roles=(ADMIN,), status=204)
def revoke_api_token(token_id):
    with db_session() as session:
        users.revoke_api_token(session, token_id)
    return None, 204
