"""The signed-in user, and the roles admins grant."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from domain.profiles import Profile, ensure_profile, granted_roles, set_roles
from handlers.params import StrictModel
from server.api import ApiRoutes
from server.auth import Claims
from server.identity import roles_key
from server.keys import pool_key

routes = ApiRoutes()


@routes.get("/v1/me", summary="The signed-in user's profile", response=Profile, auth=True,
            tags=["users"])  # fmt: skip
async def me(request: web.Request, user: Claims) -> Profile:
    """Created on first use from the token's claims."""
    return await ensure_profile(request.app[pool_key], user.user_id, user.email, user.app_roles)


class UserPath(StrictModel):
    user_id: uuid.UUID


GrantableRole = Literal["agent", "ops", "admin"]


class RoleGrant(StrictModel):
    roles: Annotated[list[GrantableRole], Field(max_length=3)]


class UserRoles(BaseModel):
    user_id: uuid.UUID
    roles: list[str] = Field(description="Granted here; `passenger` is implicit for everyone.")


@routes.get(
    "/v1/admin/users/{user_id}/roles",
    summary="Roles granted to a user",
    path_params=UserPath,
    response=UserRoles,
    roles=("admin",),
    tags=["admin"],
)
async def user_roles(request: web.Request, path: UserPath, user: Claims) -> UserRoles:
    roles = await granted_roles(request.app[pool_key], path.user_id)
    return UserRoles(user_id=path.user_id, roles=roles)


@routes.put(
    "/v1/admin/users/{user_id}/roles",
    summary="Set the roles granted to a user",
    path_params=UserPath,
    body=RoleGrant,
    response=UserRoles,
    roles=("admin",),
    tags=["admin"],
)
async def grant_roles(
    request: web.Request, path: UserPath, body: RoleGrant, user: Claims
) -> UserRoles:
    roles = await set_roles(request.app[pool_key], path.user_id, sorted(set(body.roles)),
                            user.user_id)  # fmt: skip
    request.app[roles_key].forget(path.user_id)
    return UserRoles(user_id=path.user_id, roles=roles)
