"""User administration for the `admin` role: find, inspect, ban, end sessions, erase."""

from __future__ import annotations

import uuid
from typing import Annotated

from aiohttp import web
from pydantic import ConfigDict, Field, StringConstraints

from api.auth import staff_actor
from api.keys import pool_key, roles_key, storage_key
from api.routes import ApiRoutes
from domain.admin import users as admin
from domain.identity.tokens import Claims
from foundation.models import StrictModel
from handlers import examples

routes = ApiRoutes()

ADMIN = ("admin",)
TAGS = ["admin: users"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class UserQuery(StrictModel):
    q: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
        Field(description="A user id, or the start of an email, given or family name."),
    ] | None = None  # fmt: skip
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class UserPath(StrictModel):
    user_id: uuid.UUID


class ActionReason(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.ACTION_REASON]})

    reason: Reason | None = None


@routes.get("/v1/admin/users", summary="Find users by id, email or name (role: admin)",
            query=UserQuery, response=admin.UserPage, roles=ADMIN, tags=TAGS)  # fmt: skip
async def find_users(request: web.Request, query: UserQuery, user: Claims) -> admin.UserPage:
    """In id order, a page at a time."""
    return await admin.search_users(request.app[pool_key], query.q, query.cursor, query.limit)


@routes.get("/v1/admin/users/{user_id}", summary="One user with roles, sessions and bookings "
            "(role: admin)", path_params=UserPath, response=admin.UserDetail,
            errors=[admin.UserNotFound], roles=ADMIN, tags=TAGS)  # fmt: skip
async def user_detail(request: web.Request, path: UserPath, user: Claims) -> admin.UserDetail:
    return await admin.user_detail(request.app[pool_key], path.user_id)


@routes.put("/v1/admin/users/{user_id}/ban", summary="Ban a user until a time (role: admin)",
            path_params=UserPath, body=admin.BanRequest, response=admin.Ban,
            errors=[admin.UserNotFound, admin.NotOnYourself], roles=ADMIN,
            tags=TAGS)  # fmt: skip
async def ban_user(
    request: web.Request, path: UserPath, body: admin.BanRequest, user: Claims
) -> admin.Ban:
    """Every token of the user is refused from their next request on, on every worker,
    and their open streams end; built-in sessions end. Banning again replaces the ban."""
    return await admin.ban_user(request.app[pool_key], request.app[roles_key],
                                staff_actor(request, user), path.user_id, body)  # fmt: skip


@routes.delete("/v1/admin/users/{user_id}/ban", summary="Lift a user's ban (role: admin)",
               path_params=UserPath, body=admin.Unban, status=204,
               errors=[admin.UserNotFound], roles=ADMIN, tags=TAGS)  # fmt: skip
async def unban_user(request: web.Request, path: UserPath, body: admin.Unban, user: Claims) -> None:
    """The user may sign in again; tokens from before the ban stay revoked."""
    await admin.unban_user(request.app[pool_key], request.app[roles_key],
                           staff_actor(request, user), path.user_id, body)  # fmt: skip


@routes.post("/v1/admin/users/{user_id}/sessions/revoke",
             summary="End every session and token of a user (role: admin)",
             path_params=UserPath, body=ActionReason, response=admin.SessionsRevoked,
             errors=[admin.UserNotFound], roles=ADMIN, tags=TAGS)  # fmt: skip
async def revoke_user_sessions(
    request: web.Request, path: UserPath, body: ActionReason, user: Claims
) -> admin.SessionsRevoked:
    """Their open streams end too; the user may sign in again."""
    return await admin.revoke_sessions(request.app[pool_key], request.app[roles_key],
                                       staff_actor(request, user), path.user_id,
                                       body.reason)  # fmt: skip


@routes.post("/v1/admin/users/{user_id}/erase",
             summary="Erase a user, as DELETE /v1/me does (role: admin)",
             path_params=UserPath, body=ActionReason, status=204,
             errors=[admin.UserNotFound, admin.NotOnYourself], roles=ADMIN,
             tags=TAGS)  # fmt: skip
async def erase_user(
    request: web.Request, path: UserPath, body: ActionReason, user: Claims
) -> None:
    """Personal data erased, bookings anonymised, the account and every token ended."""
    await admin.erase(request.app[pool_key], request.app[storage_key], request.app[roles_key],
                      staff_actor(request, user), path.user_id, body.reason)  # fmt: skip
