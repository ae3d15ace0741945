"""One SSE stream, whatever its topic: the response and its headers, the retry hint,
catch-up, live events from the hub, and the farewell when the server ends it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial

import orjson
from aiohttp import web

from api.keys import pool_key, realtime_key, revocations_key
from domain.identity.tokens import Claims
from foundation.errors import ProtocolNotSupported, ServiceUnavailable
from streams.caps import admit_stream, release
from streams.catchup import catch_up
from streams.events import ChangeEvent
from streams.positions import Position
from streams.realtime import Realtime
from streams.sinks import TransportSink
from streams.sse import http_chunk, sse_event, sse_retry
from streams.topics import Snapshot

EVENT_STREAM = "text/event-stream"
SSE_HEADERS = {
    "Content-Type": EVENT_STREAM,
    "Cache-Control": "no-cache, no-transform",
    # nginx and similar proxies buffer responses unless told not to.
    "X-Accel-Buffering": "no",
}


class StreamsUnavailable(ServiceUnavailable):
    slug = "streams-unavailable"
    title = "Streams are shutting down"


class HttpVersionNotSupported(ProtocolNotSupported):
    slug = "http-version-not-supported"
    title = "Streams need HTTP/1.1"


_FAREWELLS = {
    "slow_consumer": "Reconnect and resume from your last id.",
    "token_expired": "The session ended: get a fresh ticket or token and reconnect.",
    "token_revoked": "The token was revoked: the account was erased.",
}


def _farewell(realtime: Realtime) -> Callable[[str], bytes | None]:
    def farewell(reason: str) -> bytes | None:
        if reason == "client_gone":
            return None
        retry = sse_retry(realtime.jittered_retry())
        if reason == "shutdown":
            return http_chunk(retry)
        message = _FAREWELLS.get(reason, "Reconnect.")
        data = orjson.dumps({"code": reason, "message": message})
        return http_chunk(retry + sse_event(data.decode(), event="error"))

    return farewell


class _SseFraming:
    """Catch-up as SSE chunks: the reset has no id, the snapshot carries the position."""

    def subscribed(self, topic: str, position: str) -> None:
        return None

    def reset(self, topic: str, position: str, data: bytes) -> bytes:
        return http_chunk(sse_event(data.decode(), event="reset"))

    def snapshot(self, topic: str, position: str, data: bytes) -> bytes:
        return http_chunk(sse_event(data.decode(), event="snapshot", event_id=position))


SSE_FRAMING = _SseFraming()


def _sse_chunk(event: ChangeEvent, _topic: str) -> bytes:
    return event.sse_chunk()


async def stream(
    request: web.Request,
    topic: str,
    since: Position | None,
    snapshot: Snapshot,
    *,
    owner: Claims | None = None,
) -> web.StreamResponse:
    """Serve ``topic`` as an SSE stream until the client, the hub or shutdown ends it
    (or, for a private stream, the ``owner``'s token expiring or being revoked)."""
    realtime = request.app[realtime_key]
    if realtime.closing:
        raise StreamsUnavailable("This instance is shutting down; reconnect.")
    if request.version < (1, 1):
        raise HttpVersionNotSupported("Server-Sent Events need chunked HTTP/1.1.")
    stream_pass = await admit_stream(request, owner)  # 429 beyond a cap, before any byte
    try:
        return await _serve(request, realtime, topic, since, snapshot, owner)
    finally:
        release(stream_pass)


async def _serve(
    request: web.Request,
    realtime: Realtime,
    topic: str,
    since: Position | None,
    snapshot: Snapshot,
    owner: Claims | None,
) -> web.StreamResponse:
    response = web.StreamResponse(headers=SSE_HEADERS)
    response.enable_chunked_encoding()
    await response.prepare(request)
    transport = request.transport
    if transport is None:
        return response
    sink = TransportSink(transport, _farewell(realtime))
    subscription = realtime.hub.subscribe(topic, sink, _sse_chunk)
    realtime.sse_sinks.add(sink)
    expiry = unwatch = None
    if owner is not None:
        loop = asyncio.get_running_loop()
        delay = max(0.0, owner.expires_at - time.time())
        expiry = loop.call_later(delay, sink.close, "token_expired")
        unwatch = request.app[revocations_key].watch(owner, partial(sink.close, "token_revoked"))
    try:
        # The first write goes through aiohttp so the headers leave with it;
        # every later one is a raw, pre-framed chunk on the transport.
        await response.write(sse_retry(realtime.jittered_retry()))
        pool = request.app[pool_key]
        await catch_up(realtime, pool, subscription, since, snapshot, SSE_FRAMING)
        reason = await sink.closed
    finally:
        if expiry is not None:
            expiry.cancel()
        if unwatch is not None:
            unwatch()
        realtime.hub.unsubscribe(subscription)
        realtime.sse_sinks.discard(sink)
    if reason != "client_gone":
        response.force_close()
    if reason == "slow_consumer":
        sink.cut()
    return response
