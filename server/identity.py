"""Who is calling: the verified token of a request, and the roles it carries.

Handlers declare ``auth=True`` or ``roles=(...)`` on their route; the route
wrapper calls ``authenticate`` and passes the claims as ``user``.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Sequence

import asyncpg
from aiohttp import web

from server import keys
from server.auth import Claims, Forbidden, TokenVerifier, Unauthorized, bearer_token
from server.settings import Settings

ROLE_CACHE_SECONDS = 30.0
claims_key: web.RequestKey[Claims] = web.RequestKey("claims")


class RoleDirectory:
    """Roles granted in the user_roles table, cached briefly per user."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._cache: dict[uuid.UUID, tuple[float, frozenset[str]]] = {}

    async def granted(self, user_id: uuid.UUID) -> frozenset[str]:
        cached = self._cache.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < ROLE_CACHE_SECONDS:
            return cached[1]
        rows = await self.pool.fetch("SELECT role FROM user_roles WHERE user_id = $1", user_id)
        roles = frozenset(row["role"] for row in rows)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[user_id] = (time.monotonic(), roles)
        return roles

    def forget(self, user_id: uuid.UUID) -> None:
        self._cache.pop(user_id, None)


roles_key: web.AppKey[RoleDirectory] = web.AppKey("role_directory")


async def authenticate(request: web.Request, roles: Sequence[str] = ()) -> Claims:
    """The caller's claims (401 without a valid token; 403 without one of ``roles``)."""
    claims = request.get(claims_key)
    if claims is None:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise Unauthorized("Send Authorization: Bearer <access token>.")
        claims = await request.app[keys.verifier_key].verify(token)
        granted = await request.app[roles_key].granted(claims.user_id)
        if granted - claims.app_roles:
            claims = dataclasses.replace(claims, app_roles=claims.app_roles | granted)
        request[claims_key] = claims
    if roles and not set(roles) & claims.app_roles:
        raise Forbidden(f"Needs one of the roles: {', '.join(roles)}.")
    return claims


async def jwt_secret(settings: Settings, pool: asyncpg.Pool) -> str | None:
    """The HS256 secret: configured, or (running on our own, without Supabase) one the
    database generated once, so every worker and restart signs and verifies alike."""
    if settings.jwt_secret or settings.supabase_url:
        return settings.jwt_secret
    await pool.execute(
        """INSERT INTO app_secrets (name, secret)
           VALUES ('jwt_secret', replace(gen_random_uuid()::text || gen_random_uuid()::text,
                                         '-', ''))
           ON CONFLICT (name) DO NOTHING"""
    )
    secret: str = await pool.fetchval("SELECT secret FROM app_secrets WHERE name = 'jwt_secret'")
    return secret


async def auth_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.settings_key]
    verifier = TokenVerifier(
        secret=await jwt_secret(settings, app[keys.pool_key]),
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        jwks_url=settings.effective_jwks_url,
    )
    app[keys.verifier_key] = verifier
    app[roles_key] = RoleDirectory(app[keys.pool_key])
    try:
        yield
    finally:
        await verifier.close()
