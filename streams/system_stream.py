"""The system report as a live SSE stream, for the ops dashboard's charts."""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
from aiohttp import web

from api.keys import metrics_key, pool_key, realtime_key, settings_key
from api.routes import ApiRoutes
from domain.admin.system import system_report
from domain.identity.tokens import Claims
from foundation.database import RIDE_OUT
from streams.sse import sse_event, sse_retry
from streams.sse_stream import (
    EVENT_STREAM,
    SSE_HEADERS,
    HttpVersionNotSupported,
    StreamsUnavailable,
)

routes = ApiRoutes()

_EXPIRED = orjson.dumps(
    {"code": "token_expired", "message": "The session ended: sign in again and reconnect."}
).decode()


@routes.get("/v1/admin/system/stream", summary="The system report every few seconds (SSE; "
            "role: ops)", response=str, response_content_type=EVENT_STREAM, roles=("ops",),
            errors=[StreamsUnavailable, HttpVersionNotSupported],
            tags=["admin: system", "streams"])  # fmt: skip
async def system_stream(request: web.Request, user: Claims) -> web.StreamResponse:
    """A `system` event (the body of `GET /v1/admin/system`) at once and then every
    `SKYBOUND_SYSTEM_STREAM_SECONDS`; it ends with an `error` event (`token_expired`)
    when the token does, and with a `retry` hint when the server shuts down. Send the
    token as a bearer header (read it with `fetch`; EventSource cannot send one)."""
    realtime = request.app[realtime_key]
    if realtime.closing:
        raise StreamsUnavailable("This instance is shutting down; reconnect.")
    if request.version < (1, 1):
        raise HttpVersionNotSupported("Server-Sent Events need chunked HTTP/1.1.")
    interval = request.app[settings_key].system_stream_seconds
    metrics, pool = request.app[metrics_key], request.app[pool_key]
    response = web.StreamResponse(headers=SSE_HEADERS)
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        await response.write(sse_retry(realtime.jittered_retry()))
        while not realtime.closing:
            if time.time() >= user.expires_at:
                await response.write(sse_event(_EXPIRED, event="error"))
                break
            try:
                report = await system_report(pool, metrics.by_worker())
            except RIDE_OUT:
                pass  # the database is away for now: the next tick tries again
            else:
                await response.write(sse_event(report.model_dump_json(), event="system"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(realtime.stopping.wait(), interval)
        else:
            await response.write(sse_retry(realtime.jittered_retry()))
    except ConnectionError:
        pass  # the client went away
    return response
