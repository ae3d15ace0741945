"""The system report as a live SSE stream, for the ops dashboard's charts."""

from __future__ import annotations

import asyncio
import time

import orjson
from aiohttp import web

from api.keys import metrics_key, pool_key, realtime_key, revocations_key, settings_key
from api.routes import ApiRoutes
from domain.admin.system import system_report
from domain.identity.tokens import Claims
from foundation.database import RIDE_OUT
from streams import examples
from streams.sse import sse_event, sse_retry
from streams.sse_stream import (
    EVENT_STREAM,
    SSE_HEADERS,
    HttpVersionNotSupported,
    StreamsUnavailable,
)

routes = ApiRoutes()

_ENDINGS = {
    "token_expired": "The session ended: sign in again and reconnect.",
    "token_revoked": "The token was revoked: sign in again.",
}


@routes.get("/v1/admin/system/stream", summary="The system report every few seconds (SSE; "
            "role: ops)", response=str, response_content_type=EVENT_STREAM, roles=("ops",),
            errors=[StreamsUnavailable, HttpVersionNotSupported],
            examples={200: examples.SYSTEM_STREAM},
            tags=["admin: system", "streams"])  # fmt: skip
async def system_stream(request: web.Request, user: Claims) -> web.StreamResponse:
    """A `system` event (the body of `GET /v1/admin/system`) at once and then every
    `SKYBOUND_SYSTEM_STREAM_SECONDS`. It ends with an `error` event when the token expires
    (`token_expired`) or is revoked or the user banned (`token_revoked`), and with a
    `retry` hint when the server shuts down. Send the token as a bearer header (read the
    stream with `fetch`; EventSource cannot send one)."""
    realtime = request.app[realtime_key]
    if realtime.closing:
        raise StreamsUnavailable("This instance is shutting down; reconnect.")
    if request.version < (1, 1):
        raise HttpVersionNotSupported("Server-Sent Events need chunked HTTP/1.1.")
    interval = request.app[settings_key].system_stream_seconds
    metrics, pool = request.app[metrics_key], request.app[pool_key]
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[str] = loop.create_future()

    def end(reason: str) -> None:
        if not ended.done():
            ended.set_result(reason)

    expiry = loop.call_later(max(0.0, user.expires_at - time.time()), end, "token_expired")
    unwatch = request.app[revocations_key].watch(user, lambda: end("token_revoked"))
    stopping = asyncio.ensure_future(realtime.stopping.wait())
    response = web.StreamResponse(headers=SSE_HEADERS)
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        await response.write(sse_retry(realtime.jittered_retry()))
        while not (ended.done() or stopping.done()):
            try:
                report = await system_report(pool, metrics.by_worker())
            except RIDE_OUT:
                pass  # the database is away for now: the next tick tries again
            else:
                await response.write(sse_event(report.model_dump_json(), event="system"))
            await asyncio.wait((ended, stopping), timeout=interval,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if ended.done():
            reason = ended.result()
            body = orjson.dumps({"code": reason, "message": _ENDINGS[reason]}).decode()
            await response.write(sse_event(body, event="error"))
        else:
            await response.write(sse_retry(realtime.jittered_retry()))
    except ConnectionError:
        pass  # the client went away
    finally:
        expiry.cancel()
        unwatch()
        stopping.cancel()
    return response
