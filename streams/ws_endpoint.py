"""WebSocket transport at ``/v1/ws``: many topics on one connection, JSON text frames.

Client messages::

    {"type": "subscribe", "topic": "board:JFK:departures", "since": "<position>"}
    {"type": "unsubscribe", "topic": "..."}
    {"type": "auth", "token": "<JWT>"}          (first frame, or any time to refresh)
    {"type": "ping"}

Server messages: ``subscribed``, ``unsubscribed``, ``authenticated``, ``pong``,
``event`` (``{"type":"event","topic","id","event","data"}``; ``snapshot`` and
``reset`` arrive as events too) and ``error`` (``{"type":"error","code",...}``).
A bad message gets an error frame and the connection stays usable; a binary
frame closes it with 1003, an oversized one with 1009.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from api.keys import (
    pool_key,
    realtime_key,
    revocations_key,
    roles_key,
    settings_key,
    verifier_key,
)
from api.routes import ApiRoutes
from domain.identity.roles import admit
from domain.identity.tickets import redeem_ticket
from domain.identity.tokens import Claims, Unauthorized
from foundation.database import UNREACHABLE
from foundation.errors import SkyboundError
from foundation.supervisor import end_scoped_task
from streams.caps import StreamPass, TooManyStreams, admit_stream, release
from streams.catchup import catch_up
from streams.events import ChangeEvent, websocket_text_frame, ws_event_message
from streams.hub import Subscription
from streams.positions import InvalidPosition, Position
from streams.realtime import Realtime
from streams.sinks import TransportSink
from streams.topics import InvalidTopic, Topic, parse_topic, snapshot_for

log = logging.getLogger(__name__)

routes = ApiRoutes()

HEARTBEAT_SECONDS = 30.0
# Close codes (RFC 6455 and the IANA registry): restarting, and "try again later"
# for a client too slow to keep up (it resumes from its last id).
CLOSE_RESTARTING = 1012
CLOSE_TRY_AGAIN_LATER = 1013
# Access tokens carry their claims (metadata, amr, session): 400-700 characters is usual
# and custom claims add more, so a token may be far longer than a topic (256).
MAX_TOKEN_CHARS = 8192


def _frame(message: dict[str, Any]) -> bytes:
    return websocket_text_frame(orjson.dumps(message))


def _ws_frame(event: ChangeEvent, topic: str) -> bytes:
    return event.ws_frame(topic)


class _WebSocketFraming:
    """Catch-up as text frames, after ``subscribed`` tells the client its position."""

    def subscribed(self, topic: str, position: str) -> bytes:
        return _frame({"type": "subscribed", "topic": topic, "position": position})

    def reset(self, topic: str, position: str, data: bytes) -> bytes:
        return websocket_text_frame(ws_event_message(topic, position, "reset", data))

    def snapshot(self, topic: str, position: str, data: bytes) -> bytes:
        return websocket_text_frame(ws_event_message(topic, position, "snapshot", data))


WS_FRAMING = _WebSocketFraming()


class ClientError(Exception):
    """A message the connection answers with an error frame."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extra = extra


class WebSocketSession:
    """One connection's subscriptions and identity."""

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        sink: TransportSink,
        stream_pass: StreamPass | None = None,
    ) -> None:
        self.request = request
        self.stream_pass = stream_pass
        self.ws = ws
        self.sink = sink
        self.realtime: Realtime = request.app[realtime_key]
        self.settings = request.app[settings_key]
        self.subscriptions: dict[str, Subscription] = {}
        self.claims: Claims | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._unwatch: Callable[[], None] | None = None

    def send(self, message: dict[str, Any]) -> None:
        self.sink.write(_frame(message))

    def error(self, code: str, message: str, **extra: Any) -> None:
        self.send({"type": "error", "code": code, "message": message, **extra})

    async def handle(self, raw: str) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ClientError("invalid_message", "Frames must be JSON objects.") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ClientError("invalid_message", "Frames need a string `type`.")
        kind = message["type"]
        if kind == "ping":
            self.send({"type": "pong"})
        elif kind == "subscribe":
            await self.subscribe(_text(message, "topic"), message.get("since"))
        elif kind == "unsubscribe":
            self.unsubscribe(_text(message, "topic"))
        elif kind == "auth":
            await self.authenticate(_text(message, "token", MAX_TOKEN_CHARS))
        else:
            raise ClientError("unknown_type", f"Unknown message type {kind!r}.")

    async def authenticate(self, token: str) -> None:
        try:
            verified = await self.request.app[verifier_key].verify(token)
            claims = await admit(self.request.app[roles_key], verified)
        except Unauthorized as exc:
            raise ClientError("unauthorized", exc.detail or "Invalid token.") from None
        if self.claims is not None and claims.user_id != self.claims.user_id:
            raise ClientError("unauthorized", "A connection keeps one identity.")
        if self.stream_pass is not None:
            try:
                await self.stream_pass.identify(claims)
            except TooManyStreams as exc:
                raise ClientError("too_many_streams", exc.detail or exc.title) from None
        self.adopt(claims)

    def adopt(self, claims: Claims) -> None:
        """Take ``claims`` as this connection's identity until they expire or are revoked."""
        self.claims = claims
        if self._expiry is not None:
            self._expiry.cancel()
        if self._unwatch is not None:
            self._unwatch()
        delay = max(0.0, claims.expires_at - time.time())
        self._expiry = asyncio.get_running_loop().call_later(delay, self._token_expired)
        self._unwatch = self.request.app[revocations_key].watch(claims, self._token_revoked)
        self.send({"type": "authenticated", "user_id": str(claims.user_id),
                   "expires_at": claims.expires_at})  # fmt: skip

    def _token_expired(self) -> None:
        self._end_private("token_expired", "Send a fresh token and subscribe again.")

    def _token_revoked(self) -> None:
        self._unwatch = None
        self._end_private("token_revoked", "The token was revoked: the account was erased.")

    def _end_private(self, code: str, message: str) -> None:
        """Private subscriptions end with the identity; public ones carry on."""
        self.claims = None
        for name, subscription in tuple(self.subscriptions.items()):
            if name.startswith("user:"):
                self.realtime.hub.unsubscribe(subscription)
                del self.subscriptions[name]
                self.error(code, message, topic=name)

    async def subscribe(self, name: str, since_text: object) -> None:
        if name in self.subscriptions:
            raise ClientError("already_subscribed", "Already subscribed.", topic=name)
        if len(self.subscriptions) >= self.settings.ws_max_topics:
            raise ClientError(
                "too_many_topics",
                f"At most {self.settings.ws_max_topics} topics per connection.",
                topic=name,
            )
        try:
            topic = parse_topic(name)
        except InvalidTopic as exc:
            raise ClientError("invalid_topic", exc.detail or "Unknown topic.", topic=name) from None
        since = _position(since_text, name)
        self._authorise(topic)
        pool = self.request.app[pool_key]
        try:
            snapshot = await snapshot_for(topic, pool)
        except SkyboundError as exc:
            raise ClientError("not_found", exc.detail or exc.title, topic=name) from None
        hub = self.realtime.hub
        subscription = hub.subscribe(name, self.sink, _ws_frame)
        self.subscriptions[name] = subscription
        try:
            await catch_up(self.realtime, pool, subscription, since, snapshot, WS_FRAMING)
        except BaseException:
            hub.unsubscribe(subscription)
            self.subscriptions.pop(name, None)
            raise

    def _authorise(self, topic: Topic) -> None:
        owner = topic.private_to
        if owner is None:
            return
        if self.claims is None:
            raise ClientError("unauthorized", "Authenticate before subscribing.", topic=topic.name)
        if self.claims.user_id != owner:
            # Same answer as for a topic that does not exist: ids cannot be probed.
            raise ClientError("not_found", "No such topic.", topic=topic.name)

    def unsubscribe(self, name: str) -> None:
        subscription = self.subscriptions.pop(name, None)
        if subscription is None:
            raise ClientError("not_subscribed", "Not subscribed.", topic=name)
        self.realtime.hub.unsubscribe(subscription)
        self.send({"type": "unsubscribed", "topic": name})

    def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        if self._unwatch is not None:
            self._unwatch()
        for subscription in self.subscriptions.values():
            self.realtime.hub.unsubscribe(subscription)
        self.subscriptions.clear()


def _text(message: dict[str, Any], key: str, limit: int = 256) -> str:
    value = message.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ClientError(
            "invalid_message", f"`{key}` must be a non-empty string of at most {limit} characters."
        )
    return value


def _position(since: object, topic: str) -> Position | None:
    if since is None:
        return None
    if not isinstance(since, str):
        raise ClientError("invalid_position", "`since` must be a position string.", topic=topic)
    try:
        return Position.parse(since)
    except InvalidPosition:
        raise ClientError("invalid_position", "Unknown position format.", topic=topic) from None


@routes.get(
    "/v1/ws",
    summary="WebSocket: subscribe to several topics on one connection",
    status=101,
    responses={101: "Switching protocols to WebSocket."},
    errors=[TooManyStreams],
    tags=["streams"],
)
async def websocket(request: web.Request) -> web.WebSocketResponse:
    """See the module description in docs/realtime.md for the message protocol."""
    claims = refusal = None
    ticket = request.query.get("ticket")
    if ticket is not None:
        try:
            claims = await admit(
                request.app[roles_key], await redeem_ticket(request.app[pool_key], ticket)
            )
        except Unauthorized as exc:
            refusal = exc.detail or "Invalid ticket."
    stream_pass = await admit_stream(request, claims)  # 429 beyond a cap, before the upgrade
    try:
        return await _serve(request, claims, refusal, stream_pass)
    finally:
        release(stream_pass)


async def _serve(
    request: web.Request,
    claims: Claims | None,
    refusal: str | None,
    stream_pass: StreamPass | None,
) -> web.WebSocketResponse:
    realtime = request.app[realtime_key]
    settings = request.app[settings_key]
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT_SECONDS, max_msg_size=settings.ws_max_message_bytes
    )
    await ws.prepare(request)
    transport = request.transport
    if transport is None or realtime.closing:
        await ws.close(code=CLOSE_RESTARTING, message=b"shutting down")
        return ws
    sink = TransportSink(transport, lambda _reason: None)
    session = WebSocketSession(request, ws, sink, stream_pass)
    if claims is not None:
        session.adopt(claims)
    elif refusal is not None:
        session.error("unauthorized", refusal)
    realtime.ws_sinks.add(sink)
    reader = asyncio.create_task(_read(session), name="ws-reader")
    try:
        waiting: set[asyncio.Future[Any]] = {reader, sink.closed}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if sink.closed.done() and not ws.closed:
            reason = sink.closed.result()
            code = CLOSE_RESTARTING if reason == "shutdown" else CLOSE_TRY_AGAIN_LATER
            if reason != "client_gone":
                await ws.close(code=code, message=reason.encode())
    finally:
        await end_scoped_task(reader, "the WebSocket reader")
        session.close()
        realtime.ws_sinks.discard(sink)
        if not sink.closed.done():
            sink.closed.set_result("client_gone")
    return ws


async def _read(session: WebSocketSession) -> None:
    ws = session.ws
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            try:
                await session.handle(message.data)
            except ClientError as exc:
                session.error(exc.code, str(exc), **exc.extra)
            except UNREACHABLE as exc:
                # One message failed, not the connection: its live subscriptions go on.
                log.warning("websocket message met an unreachable database",
                            extra={"error": repr(exc)})  # fmt: skip
                session.error("unavailable", "The database cannot be reached; try again.")
            except Exception:
                log.exception("websocket message failed")
                session.error("internal_error", "The message could not be handled.")
        elif message.type == WSMsgType.BINARY:
            await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"text frames only")
            return
        elif message.type == WSMsgType.ERROR:
            # aiohttp has already closed oversized frames with 1009.
            return
