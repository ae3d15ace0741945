"""The Supabase-compatible endpoints: the Realtime WebSocket (cloud and self-hosted
paths) and the broadcast API."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from api.keys import phoenix_key, realtime_key, roles_key, verifier_key
from api.routes import ApiRoutes
from domain.identity.api_keys import KeyRole
from domain.identity.roles import admit
from domain.identity.tokens import Claims, Unauthorized, bearer_token
from foundation.database import UNREACHABLE
from foundation.errors import NotPermitted, TooLarge, Unauthenticated, UnsupportedFormat
from foundation.supervisor import end_scoped_task
from streams import examples
from streams.caps import StreamPass, TooManyStreams, admit_stream, release
from streams.phoenix.relay import PayloadTooLarge
from streams.phoenix.serializer import MalformedMessage, decode_binary, decode_text
from streams.phoenix.server import PhoenixServer
from streams.phoenix.session import Session
from streams.sinks import TransportSink
from streams.topics import InvalidTopic, parse_topic

log = logging.getLogger(__name__)

routes = ApiRoutes()

HEARTBEAT_SECONDS = 30.0
CLOSE_RESTARTING = 1012
CLOSE_TRY_AGAIN_LATER = 1013
# Frames past this close the socket (1009); below it, a message over the payload limit
# gets Supabase's error reply and the socket carries on.
MAX_FRAME_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Broadcaster:
    """Who calls the broadcast API: a key's role, a verified user, or both."""

    service: bool
    user: Claims | None


async def _broadcaster(request: web.Request) -> Broadcaster:
    """The caller of the broadcast API: 401 without a key of ours or a valid token."""
    server = request.app[phoenix_key]
    key_role = server.keys.role_of(request.headers.get("apikey"))
    token = bearer_token(request.headers.get("Authorization"))
    token_role = server.keys.role_of(token)
    user = None
    if token is not None and token_role is None:
        try:
            user = await admit(
                request.app[roles_key], await request.app[verifier_key].verify(token)
            )
        except Unauthorized as exc:
            raise MissingToken(exc.detail or "Invalid token.") from None
    if key_role is None and token_role is None and user is None:
        raise MissingToken("Send an API key (`apikey`) or a bearer token.")
    return Broadcaster("service_role" in (key_role, token_role), user)


def _check_private(caller: Broadcaster, private: bool, topic: str) -> None:
    """Private channels: the service role, or a user (and `user:{id}` only its owner)."""
    if not private or caller.service:
        return
    owner = _skybound_owner(topic)
    if caller.user is None or (owner is not None and owner != caller.user.user_id):
        raise NotAllowed("Private channels need the service-role key or their user's token.")


class RealtimeSocketQuery(BaseModel):
    # Clients add parameters of their own (log_level, ...): they are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)

    # Keys are printable ASCII (new-style keys and JWTs alike); the bound keeps a URL
    # within what an HTTP request line may be.
    apikey: str | None = Field(
        default=None,
        max_length=1024,
        pattern=r"^[!-~]*$",
        description="The anon or service-role key (or the `apikey` header).",
    )
    vsn: Literal["1.0.0", "2.0.0"] = Field(default="1.0.0", description="Serializer version.")


class InvalidApiKey(NotPermitted):
    slug = "invalid-api-key"
    title = "Invalid API key"


class MissingToken(Unauthenticated):
    slug = "unauthorized"
    title = "Unauthorized"


class NotAllowed(NotPermitted):
    slug = "private-channel"
    title = "Not allowed on this channel"


class BroadcastTooLarge(TooLarge):
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedBody(UnsupportedFormat):
    slug = "unsupported-media-type"
    title = "Unsupported body"


def _skybound_owner(topic: str) -> uuid.UUID | None:
    try:
        return parse_topic(topic).private_to
    except InvalidTopic:
        return None


async def _socket(request: web.Request, query: RealtimeSocketQuery) -> web.WebSocketResponse:
    server = request.app[phoenix_key]
    key_role = server.keys.role_of(query.apikey or request.headers.get("apikey"))
    if key_role is None:
        raise InvalidApiKey("Send one of this server's API keys as `apikey`.")
    stream_pass = await admit_stream(request)  # 429 beyond the address's cap, before the upgrade
    try:
        return await _serve(request, server, key_role, query, stream_pass)
    finally:
        release(stream_pass)


async def _serve(
    request: web.Request,
    server: PhoenixServer,
    key_role: KeyRole,
    query: RealtimeSocketQuery,
    stream_pass: StreamPass | None,
) -> web.WebSocketResponse:
    realtime = request.app[realtime_key]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    transport = request.transport
    if transport is None or realtime.closing:
        await ws.close(code=CLOSE_RESTARTING, message=b"shutting down")
        return ws
    sink = TransportSink(transport, lambda _reason: None)
    session = Session(server, sink, query.vsn, key_role, request.app[verifier_key],
                      request.app[roles_key], stream_pass)  # fmt: skip
    realtime.ws_sinks.add(sink)
    server.sockets += 1
    reader = asyncio.create_task(_read(session, ws), name="realtime-socket-reader")
    try:
        waiting: set[asyncio.Future[Any]] = {reader, sink.closed}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if sink.closed.done() and not ws.closed:
            reason = sink.closed.result()
            code = CLOSE_RESTARTING if reason == "shutdown" else CLOSE_TRY_AGAIN_LATER
            if reason != "client_gone":
                await ws.close(code=code, message=reason.encode())
    finally:
        await end_scoped_task(reader, "the realtime socket reader")
        session.close()
        server.sockets -= 1
        realtime.ws_sinks.discard(sink)
        if not sink.closed.done():
            sink.closed.set_result("client_gone")
    return ws


async def _read(session: Session, ws: web.WebSocketResponse) -> None:
    async for frame in ws:
        try:
            if frame.type == WSMsgType.TEXT:
                message = decode_text(session.vsn, frame.data)
                size = len(frame.data)
            elif frame.type == WSMsgType.BINARY:
                message = decode_binary(frame.data)
                size = len(frame.data)
            elif frame.type == WSMsgType.ERROR:
                return  # aiohttp has closed an oversized frame with 1009
            else:
                continue
            await session.handle(message, size)
        except MalformedMessage as exc:
            # Phoenix has no reply for a message it cannot read; the socket carries on.
            log.info("malformed realtime frame dropped", extra={"error": str(exc)})
        except UNREACHABLE as exc:
            log.warning("realtime message met an unreachable database",
                        extra={"error": repr(exc)})  # fmt: skip
        except Exception:
            log.exception("realtime message failed")


_SOCKET_DOC = dict(
    query=RealtimeSocketQuery,
    status=101,
    responses={101: "Switching protocols to WebSocket (Phoenix channels, Supabase Realtime)."},
    errors=[InvalidApiKey, TooManyStreams],
    tags=["realtime-compat"],
)


@routes.get("/realtime/v1/websocket", summary="Supabase Realtime WebSocket", **_SOCKET_DOC)
async def realtime_websocket(
    request: web.Request, query: RealtimeSocketQuery
) -> web.WebSocketResponse:
    """Phoenix channels as Supabase Realtime speaks them: postgres_changes from the change
    log, broadcast and presence across workers. See docs/realtime.md."""
    return await _socket(request, query)


@routes.get("/socket/websocket", summary="Supabase Realtime WebSocket (self-hosted path)",
            **_SOCKET_DOC)  # fmt: skip
async def realtime_websocket_self_hosted(
    request: web.Request, query: RealtimeSocketQuery
) -> web.WebSocketResponse:
    """The same socket at the path self-hosted Supabase Realtime serves."""
    return await _socket(request, query)


class BroadcastMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    topic: str = Field(min_length=1, max_length=255)
    event: str = Field(min_length=1, max_length=255)
    payload: dict[str, Any] = Field(default_factory=dict)
    private: bool = False


class BroadcastBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [examples.BROADCAST_BODY]}, extra="forbid", frozen=True
    )

    messages: list[BroadcastMessage] = Field(min_length=1, max_length=100)


@routes.post(
    "/realtime/v1/api/broadcast",
    summary="Broadcast messages to Realtime channels",
    body=BroadcastBody,
    status=202,
    response=None,
    responses={202: "Accepted: sent to every worker's channels."},
    errors=[MissingToken, NotAllowed, BroadcastTooLarge],
    headers=[("apikey", "The anon or service-role key.", False)],
    tags=["realtime-compat"],
)
async def broadcast_api(request: web.Request, body: BroadcastBody) -> web.Response:
    """Supabase's broadcast API: each message reaches the channels joined to its topic
    (private ones only with the service-role key or a user's token)."""
    server = request.app[phoenix_key]
    caller = await _broadcaster(request)
    for message in body.messages:
        _check_private(caller, message.private, message.topic)
        try:
            await server.relay.broadcast((message.private, message.topic), message.event,
                                         orjson.dumps(message.payload), binary=False,
                                         origin=None)  # fmt: skip
        except PayloadTooLarge:
            raise BroadcastTooLarge(
                f"A message's payload is at most {server.max_payload_bytes} bytes."
            ) from None
    return web.Response(status=202)


class SingleBroadcastPath(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(min_length=1, max_length=255)
    event: str = Field(min_length=1, max_length=255)


class SingleBroadcastQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    private: bool = False


@routes.post(
    "/realtime/v1/api/broadcast/{topic}/events/{event}",
    summary="Broadcast one message (JSON or bytes) to a Realtime channel",
    path_params=SingleBroadcastPath,
    query=SingleBroadcastQuery,
    status=202,
    response=None,
    responses={202: "Accepted: sent to every worker's channels."},
    errors=[MissingToken, NotAllowed, BroadcastTooLarge, UnsupportedBody],
    headers=[("apikey", "The anon or service-role key.", False)],
    tags=["realtime-compat"],
)
async def broadcast_one(
    request: web.Request, path: SingleBroadcastPath, query: SingleBroadcastQuery
) -> web.Response:
    """The single-message form realtime-py's `http_send` uses: the body is the payload,
    `application/json` or `application/octet-stream` (bytes reach vsn 2.0.0 clients)."""
    server = request.app[phoenix_key]
    caller = await _broadcaster(request)
    limit = server.max_payload_bytes
    if (request.content_length or 0) > limit:
        raise BroadcastTooLarge(f"A payload is at most {limit} bytes.")
    body = await request.read()
    if len(body) > limit:
        raise BroadcastTooLarge(f"A payload is at most {limit} bytes.")
    if request.content_type == "application/octet-stream":
        binary = True
    elif request.content_type == "application/json":
        binary = False
        try:
            body = orjson.dumps(orjson.loads(body))
        except orjson.JSONDecodeError:
            raise UnsupportedBody("The body is not JSON.") from None
    else:
        raise UnsupportedBody("Send application/json or application/octet-stream.")
    _check_private(caller, query.private, path.topic)
    try:
        await server.relay.broadcast((query.private, path.topic), path.event, body,
                                     binary=binary, origin=None)  # fmt: skip
    except PayloadTooLarge:
        raise BroadcastTooLarge(f"A payload is at most {limit} bytes.") from None
    return web.Response(status=202)
