"""POST /v1/sync/pull and /v1/sync/push (docs/sync.md)."""

from __future__ import annotations

from aiohttp import web

from api.keys import sync_key
from api.routes import JSON_CONTENT_TYPE, ApiRoutes
from domain.identity.tokens import Claims
from sync.errors import MutationInvalid, PushInterrupted, SchemaMismatch
from sync.protocol import PullRequest, PullResponse, PushRequest, PushResponse

routes = ApiRoutes()


@routes.post(
    "/v1/sync/pull",
    summary="Offline sync: the user's records, or what changed since a cursor",
    body=PullRequest,
    response=PullResponse,
    auth=True,
    errors=[SchemaMismatch],
    tags=["sync"],
)
async def sync_pull(request: web.Request, body: PullRequest, user: Claims) -> web.Response:
    """A null cursor gives the whole current state; a cursor gives what changed since, with
    tombstones for deleted records and records that left the user's scope. Page with
    `has_more`. A cursor from before the change log's retention gives `reset: true` and a
    whole state."""
    body_bytes = await request.app[sync_key].pull(user, body)
    return web.Response(body=body_bytes, content_type=JSON_CONTENT_TYPE)


@routes.post(
    "/v1/sync/push",
    summary="Offline sync: apply a device's mutations in order, each exactly once",
    body=PushRequest,
    response=PushResponse,
    auth=True,
    errors=[SchemaMismatch, MutationInvalid, PushInterrupted],
    tags=["sync"],
)
async def sync_push(request: web.Request, body: PushRequest, user: Claims) -> web.Response:
    """Each mutation is `applied`, `conflict` (with the server's record) or `rejected` (with
    a reason and the server's record). Ids at or below the device's last processed one are
    retries, answered with their first outcome. A bad mutation stops the push with a 422
    whose `results` report the mutations before it."""
    body_bytes = await request.app[sync_key].push(user, body)
    return web.Response(body=body_bytes, content_type=JSON_CONTENT_TYPE)
