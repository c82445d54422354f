"""Auth endpoints (``/api/v1/auth/...``) and the admin's management of users and API
tokens, declared with ``gateway.http.endpoint`` so they validate, dump and document from
the same schemas. Login, refresh and logout are public: a stale ``Authorization`` header
that a frontend attaches to every call must not stop it from logging in again."""
from flask import Blueprint, g

from guanxi_common.errors import NotFound

from gateway import users
from gateway.app import db_session, token_service
from gateway.http import endpoint
from gateway.models import User
from gateway.roles import ADMIN
from gateway.schemas import (ApiTokenCreatedSchema, ApiTokenCreateSchema, ApiTokenListQuerySchema,
                             ApiTokenSchema, LoginSchema, MeSchema, RefreshSchema,
                             TokenResponseSchema, UserCreateSchema, UserSchema)

blueprint = Blueprint("auth", __name__)

_api_token = ApiTokenSchema()
_no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 5.1


@endpoint(blueprint, "/auth/token", "POST", summary="Log in", tags="auth", auth=False,
          body=LoginSchema, response=TokenResponseSchema, errors=(401,))
def login(body):
    """Username and password for a short-lived access token and a refresh token."""
    with db_session() as session:
        user = users.authenticate(session, body["username"], body["password"])
        return users.issue_tokens(session, token_service(), user), 200, _no_store


@endpoint(blueprint, "/auth/refresh", "POST", summary="Refresh tokens", tags="auth",
          auth=False, body=RefreshSchema, response=TokenResponseSchema, errors=(401,))
def refresh(body):
    """A refresh token, usable once, for a new pair; replaying a used one ends the login."""
    with db_session() as session:
        return users.refresh(session, token_service(), body["refresh_token"]), 200, _no_store


@endpoint(blueprint, "/auth/logout", "POST", summary="Log out", tags="auth", auth=False,
          body=RefreshSchema, status=204, errors=(401,))
def logout(body):
    """End the login of this refresh token; access tokens lapse within their short TTL."""
    with db_session() as session:
        users.logout(session, token_service(), body["refresh_token"])
    return None, 204


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
                                 region=body["region"], active=body["active"])


@endpoint(blueprint, "/users", summary="List users", tags="users", roles=(ADMIN,),
          response=UserSchema, paginated=True)
def list_users(paging):
    with db_session() as session:
        return users.list_users(session, paging.page, paging.page_size)


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
