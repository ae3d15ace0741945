"""Who is calling an HTTP endpoint: the bearer token, verified and admitted once per
request.

Handlers declare ``auth=True`` or ``roles=(...)`` on their route; the route wrapper
calls ``authenticate`` and passes the claims as ``user``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from api import keys
from api.middleware import request_id_key
from api.rate_limiting import limit_user
from domain.admin.audit import Actor
from domain.identity.roles import admit
from domain.identity.tokens import Claims, Forbidden, Unauthorized, bearer_token

claims_key: web.RequestKey[Claims] = web.RequestKey("claims")


async def authenticate(request: web.Request, roles: Sequence[str] = ()) -> Claims:
    """The caller's claims (401 without a valid token; 403 without one of ``roles``;
    429 once the caller's own budget is spent)."""
    claims = request.get(claims_key)
    if claims is None:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise Unauthorized("Send Authorization: Bearer <access token>.")
        verified = await request.app[keys.verifier_key].verify(token)
        claims = await admit(request.app[keys.roles_key], verified)
        request[claims_key] = claims
        await limit_user(request, claims)
    if roles and not set(roles) & claims.app_roles:
        raise Forbidden(f"Needs one of the roles: {', '.join(roles)}.")
    return claims


def staff_actor(request: web.Request, claims: Claims) -> Actor:
    """Who the audit log records for a staff action carried by this request."""
    return Actor.of(claims, request.get(request_id_key))
