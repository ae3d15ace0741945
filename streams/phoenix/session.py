"""One Supabase-compatible socket: its channels, and every message a client may send.

Nothing a client sends can raise out of here: a malformed frame is dropped, an unknown
event on a joined channel is ignored (as Supabase does), a push to a topic that is not
joined gets Phoenix's ``unmatched topic`` reply, and every limit answers with
Supabase's reply or system message, so the socket stays usable.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from domain.identity.api_keys import KeyRole
from domain.identity.roles import RoleDirectory, admit
from domain.identity.tokens import Claims, TokenVerifier, Unauthorized
from streams import changelog
from streams.caps import StreamPass, TooManyStreams
from streams.catchup import plan_catch_up
from streams.events import ChangeEvent
from streams.hub import Subscription
from streams.phoenix import bindings as pg
from streams.phoenix.relay import PayloadTooLarge, TopicKey
from streams.phoenix.serializer import (
    Message,
    UserBroadcast,
    Vsn,
    encode,
    encode_raw_payload,
    encode_user_broadcast,
)
from streams.phoenix.server import PhoenixServer
from streams.phoenix.wake import WAKE_TOPIC
from streams.positions import InvalidPosition, Position
from streams.sinks import TransportSink
from streams.topics import InvalidTopic, Topic, parse_topic

log = logging.getLogger(__name__)

PREFIX = "realtime:"
_channel_ids = itertools.count(1)


class JoinRefused(Exception):
    """A join answered with ``{"status": "error", "response": {"reason": ...}}``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a channel acts for: the apikey's role, or a verified user."""

    role: str
    claims: Claims | None = None

    @property
    def service(self) -> bool:
        return self.role == "service_role"


def token_reason(exc: Unauthorized) -> str:
    """Supabase's join error for a token that did not verify."""
    detail = exc.detail or ""
    if "Malformed" in detail:
        return "MalformedJWT: The token provided is not a valid JWT"
    if "expired" in detail:
        return "InvalidJWTToken: Token has expired"
    if "bad signature" in detail:
        return "JwtSignatureError: Failed to validate JWT signature"
    return f"Unauthorized: {detail or 'Invalid token'}"


@dataclass(eq=False)
class Channel:
    """A joined channel; the relay's member for broadcast and presence."""

    session: Session
    topic: str
    join_ref: str | None
    topic_key: TopicKey
    identity: Identity
    ack: bool = False
    self_broadcast: bool = False
    presence_enabled: bool = False
    presence_key: str = ""
    channel_id: str = ""
    subscriptions: list[Subscription] = field(default_factory=list)
    tracked: tuple[str, dict[str, Any]] | None = None
    expiry: asyncio.TimerHandle | None = None

    @property
    def sub_topic(self) -> str:
        return self.topic_key[1]

    def deliver_broadcast(
        self, event: str, payload: bytes, binary: bool, origin: str | None
    ) -> None:
        if origin == self.channel_id and not self.self_broadcast:
            return
        session = self.session
        if session.vsn == "2.0.0":
            session.sink.write(
                encode_user_broadcast(self.topic, UserBroadcast(event, payload, binary))
            )
        elif not binary:
            body = b'{"type":"broadcast","event":%b,"payload":%b}' % (orjson.dumps(event), payload)
            session.sink.write(encode_raw_payload("1.0.0", self.topic, "broadcast", body))

    def deliver_presence_diff(self, joins: dict[str, Any], leaves: dict[str, Any]) -> None:
        self.session.push(self.topic, "presence_diff", {"joins": joins, "leaves": leaves})


class Session:
    def __init__(
        self,
        server: PhoenixServer,
        sink: TransportSink,
        vsn: Vsn,
        key_role: KeyRole,
        verifier: TokenVerifier,
        roles: RoleDirectory,
        stream_pass: StreamPass | None = None,
    ) -> None:
        self.server = server
        self.stream_pass = stream_pass
        self.sink = sink
        self.vsn = vsn
        self.key_role = key_role
        self.verifier = verifier
        self.roles = roles
        self.channels: dict[str, Channel] = {}
        self._window_start = 0.0
        self._window_count = 0

    # Output ------------------------------------------------------------------------

    def send(self, message: Message) -> None:
        self.sink.write(encode(self.vsn, message))

    def push(self, topic: str, event: str, payload: Any) -> None:
        self.send(Message(topic, event, payload))

    def reply(self, message: Message, status: str, response: Any) -> None:
        self.send(Message(message.topic, "phx_reply", {"status": status, "response": response},
                          message.ref, message.join_ref))  # fmt: skip

    def system(self, channel: Channel, extension: str, status: str, text: str) -> None:
        body = {"extension": extension, "status": status, "message": text}
        self.push(channel.topic, "system", {**body, "channel": channel.sub_topic})

    # Input -------------------------------------------------------------------------

    def over_rate(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count > self.server.max_events_per_second

    async def handle(self, message: Message, size: int) -> None:
        if message.topic == "phoenix":
            if message.event == "heartbeat":
                self.reply(message, "ok", {})
            return
        if self.over_rate():
            if message.ref is not None:
                self.reply(message, "error", {"reason": "Too many messages per second"})
            return
        if message.event == "phx_join":
            await self.join(message)
            return
        channel = self.channels.get(message.topic)
        if channel is None or (message.join_ref and message.join_ref != channel.join_ref):
            if message.ref is not None:
                self.reply(message, "error", {"reason": "unmatched topic"})
            return
        if size > self.server.max_payload_bytes and message.event in ("broadcast", "presence"):
            if message.ref is not None:
                self.reply(message, "error", {"reason": "Payload size exceeded"})
            return
        if message.event == "phx_leave":
            self.leave(channel)
            self.reply(message, "ok", {})
        elif message.event == "broadcast":
            await self.broadcast(channel, message)
        elif message.event == "presence":
            await self.presence(channel, message)
        elif message.event == "access_token":
            await self.refresh(channel, message)
        # Anything else on a joined channel is ignored, as Supabase does.

    # Joining -----------------------------------------------------------------------

    async def join(self, message: Message) -> None:
        try:
            await self._join(message)
        except JoinRefused as refused:
            self.reply(message, "error", {"reason": refused.reason})

    async def _join(self, message: Message) -> None:
        topic = message.topic
        if not topic.startswith(PREFIX):
            raise JoinRefused("unmatched topic")
        sub_topic = topic[len(PREFIX) :]
        if not sub_topic:
            raise JoinRefused("TopicNameRequired: You must provide a topic name")
        if len(topic) > 255:
            raise JoinRefused("TopicNameTooLong: Topic names are at most 255 bytes")
        if topic in self.channels:
            # Phoenix closes the earlier join of the same topic and takes the new one.
            old = self.channels[topic]
            self.leave(old)
            self.send(Message(topic, "phx_close", {}, old.join_ref, old.join_ref))
        if len(self.channels) >= self.server.max_channels:
            raise JoinRefused("ChannelRateLimitReached: Too many channels")
        payload = _json_object(message.payload)
        config = _json_object(payload.get("config"))
        broadcast = _json_object(config.get("broadcast"))
        presence = _json_object(config.get("presence"))
        private = config.get("private") is True
        token = payload.get("access_token") or payload.get("user_token")
        identity = await self.identify(token)
        if identity.claims is not None and self.stream_pass is not None:
            try:  # the socket now serves this user: it counts against the user's cap
                await self.stream_pass.identify(identity.claims)
            except TooManyStreams:
                raise JoinRefused("ConnectionRateLimitReached: Too many open streams for "
                                  "this user") from None  # fmt: skip
        skybound_topic = _skybound_topic(sub_topic)
        if private:
            self._authorise_private(sub_topic, skybound_topic, identity)
        since = await self._replay_position(broadcast.get("replay"))
        bindings_error = None
        try:
            bindings = pg.parse_bindings(config.get("postgres_changes"), self.server.columns)
            hub_topics = _hub_topics(bindings, identity)
        except pg.BindingError as exc:
            bindings = []
            hub_topics = []
            bindings_error = str(exc)
            echoed = config.get("postgres_changes")
        else:
            echoed = [b.echo for b in bindings]
        key = presence.get("key")
        channel = Channel(
            self, topic, message.join_ref, (private, sub_topic), identity,
            ack=broadcast.get("ack") is True,
            self_broadcast=broadcast.get("self") is True,
            presence_enabled=presence.get("enabled") is not False,
            presence_key=key if isinstance(key, str) and key else str(uuid.uuid4()),
            channel_id=f"{self.server.relay.node}:{next(_channel_ids)}",
        )  # fmt: skip
        hub = self.server.realtime.hub
        # Register before replying: whatever is published meanwhile is held, then follows.
        for hub_topic in hub_topics:
            encoder = self.server.shared_encoder(
                ("pg", self.vsn, topic, tuple(b.id for b in bindings)),
                lambda: pg.row_encoder(
                    self.vsn, topic, bindings, self.server.columns, self.server.old_record_keys
                ),
            )
            channel.subscriptions.append(hub.subscribe(hub_topic, self.sink, encoder))
        if skybound_topic is not None and (private or skybound_topic.private_to is None):
            encoder = self.server.shared_encoder(
                ("topic", self.vsn, topic), lambda: _topic_encoder(self.vsn, topic)
            )
            channel.subscriptions.append(hub.subscribe(skybound_topic.name, self.sink, encoder))
        self.channels[topic] = channel
        self.server.relay.join(channel)
        if private and sub_topic == WAKE_TOPIC:
            self.server.wake_feed.add(channel)
        self._watch_expiry(channel)
        self.reply(message, "ok", {"postgres_changes": echoed if isinstance(echoed, list) else []})
        if bindings_error is not None:
            self.system(channel, "postgres_changes", "error", bindings_error)
        elif bindings:
            self.system(channel, "postgres_changes", "ok", "Subscribed to PostgreSQL")
        if channel.presence_enabled:
            self.push(topic, "presence_state", self.server.relay.presence_state(channel.topic_key))
        try:
            for subscription in tuple(channel.subscriptions):
                await self._catch_up(subscription, since)
        except Exception:
            # A subscription left holding live events would fill and cut the socket.
            log.exception("a realtime channel could not catch up")
            self.close_channel(channel, "UnableToReplayMessages: Realtime was unable to replay "
                               "messages")  # fmt: skip

    async def identify(self, token: object) -> Identity:
        if token is None or token == "":
            return Identity(self.key_role)
        if not isinstance(token, str) or len(token) > 8192:
            raise JoinRefused("MalformedJWT: The token provided is not a valid JWT")
        key_role = self.server.keys.role_of(token)
        if key_role is not None:
            return Identity(key_role)
        try:
            claims = await admit(self.roles, await self.verifier.verify(token))
        except Unauthorized as exc:
            raise JoinRefused(token_reason(exc)) from None
        return Identity(claims.role, claims)

    def _authorise_private(
        self, sub_topic: str, skybound_topic: Topic | None, identity: Identity
    ) -> None:
        if identity.service:
            return
        denied = (
            "Unauthorized: You do not have permissions to read from this Channel topic: "
            + sub_topic
        )
        if identity.claims is None or sub_topic == WAKE_TOPIC:
            raise JoinRefused(denied)
        owner = skybound_topic.private_to if skybound_topic is not None else None
        if owner is not None and owner != identity.claims.user_id:
            raise JoinRefused(denied)

    async def _replay_position(self, replay: object) -> Position | None:
        """``config.broadcast.replay.since``: a position (``epoch:id``) or, as Supabase
        has it, a Unix time in milliseconds."""
        if replay is None:
            return None
        since = replay.get("since") if isinstance(replay, dict) else None
        if isinstance(since, str):
            try:
                return Position.parse(since)
            except InvalidPosition:
                raise JoinRefused("UnableToReplayMessages: Replay params are not valid") from None
        if isinstance(since, int) and not isinstance(since, bool) and since >= 0:
            realtime = self.server.realtime
            event_id = await changelog.last_before(self.server.pool, since / 1000)
            return Position(realtime.hub.epoch, event_id)
        raise JoinRefused("UnableToReplayMessages: Replay params are not valid")

    async def _catch_up(self, subscription: Subscription, since: Position | None) -> None:
        realtime = self.server.realtime
        if since is None:
            subscription.go_live(realtime.hub.cursor)
            return
        plan = await plan_catch_up(realtime, self.server.pool, subscription.topic, since)
        if plan.reset_reason is not None or plan.snapshot:
            # Nothing to replay from (another epoch, purged, too far behind): live only.
            subscription.go_live(plan.live_after)
            return
        chunks = [subscription.encode(event, subscription.topic) for event in plan.history]
        if chunks:
            self.sink.write(b"".join(chunks))
        subscription.go_live(plan.live_after)

    # Leaving -----------------------------------------------------------------------

    def leave(self, channel: Channel) -> None:
        if self.channels.get(channel.topic) is not channel:
            return
        del self.channels[channel.topic]
        hub = self.server.realtime.hub
        for subscription in channel.subscriptions:
            hub.unsubscribe(subscription)
        channel.subscriptions.clear()
        self.server.relay.leave(channel)
        self.server.wake_feed.discard(channel)
        if channel.expiry is not None:
            channel.expiry.cancel()
        if channel.tracked is not None:
            ref = channel.tracked[0]
            channel.tracked = None
            self.server.relay.untrack_later(channel, channel.presence_key, ref)

    def close_channel(self, channel: Channel, reason: str) -> None:
        """Supabase's shutdown: a system error saying why, then phx_close."""
        if self.channels.get(channel.topic) is not channel:
            return
        self.system(channel, "system", "error", reason)
        self.leave(channel)
        self.send(Message(channel.topic, "phx_close", {}, channel.join_ref, channel.join_ref))

    def close(self) -> None:
        for channel in tuple(self.channels.values()):
            self.leave(channel)

    # Tokens ------------------------------------------------------------------------

    def _watch_expiry(self, channel: Channel) -> None:
        if channel.expiry is not None:
            channel.expiry.cancel()
            channel.expiry = None
        claims = channel.identity.claims
        if claims is None:
            return
        delay = max(0.0, claims.expires_at - time.time())
        channel.expiry = asyncio.get_running_loop().call_later(
            delay, self.close_channel, channel, "Token has expired"
        )

    async def refresh(self, channel: Channel, message: Message) -> None:
        payload = message.payload if isinstance(message.payload, dict) else {}
        token = payload.get("access_token")
        if token is None:
            return
        try:
            identity = await self.identify(token)
            if channel.topic_key[0]:
                self._authorise_private(channel.sub_topic, _skybound_topic(channel.sub_topic),
                                        identity)  # fmt: skip
        except JoinRefused as refused:
            self.close_channel(channel, refused.reason)
            return
        previous = channel.identity.claims
        if previous is not None and (identity.claims is None
                                     or identity.claims.user_id != previous.user_id):  # fmt: skip
            # A socket's channel keeps its user: its subscriptions were chosen for them.
            self.close_channel(channel, "Unauthorized: the token is another user's")
            return
        channel.identity = identity
        self._watch_expiry(channel)

    # Broadcast and presence ----------------------------------------------------------

    async def broadcast(self, channel: Channel, message: Message) -> None:
        payload = message.payload
        if isinstance(payload, UserBroadcast):
            event, body, binary = payload.event, payload.payload, payload.binary
        elif isinstance(payload, dict) and isinstance(payload.get("event"), str):
            event, body, binary = payload["event"], orjson.dumps(payload.get("payload")), False
        else:
            if channel.ack and message.ref is not None:
                self.reply(message, "error", {"reason": "Broadcast needs an event"})
            return
        try:
            await self.server.relay.broadcast(channel.topic_key, event, body, binary=binary,
                                              origin=channel.channel_id)  # fmt: skip
        except PayloadTooLarge:
            if channel.ack and message.ref is not None:
                self.reply(message, "error", {"reason": "Payload size exceeded"})
            return
        if channel.ack and message.ref is not None:
            self.reply(message, "ok", {})

    async def presence(self, channel: Channel, message: Message) -> None:
        payload = message.payload if isinstance(message.payload, dict) else {}
        event = str(payload.get("event", "")).lower()
        relay = self.server.relay
        if event == "track":
            meta = payload.get("payload", {})
            if not isinstance(meta, dict):
                self.reply(message, "error", {"reason": "Presence track payload must be a map"})
                return
            channel.presence_enabled = True
            if channel.tracked is not None and channel.tracked[1] == meta:
                self.reply(message, "ok", {})
                return
            previous, ref = channel.tracked, uuid.uuid4().hex[:20]
            try:
                await relay.track(channel, channel.presence_key, ref, meta)
            except PayloadTooLarge:
                self.reply(message, "error", {"reason": "Track message size exceeded"})
                return
            channel.tracked = (ref, meta)
            if previous is not None:
                await relay.untrack(channel, channel.presence_key, previous[0])
            self.reply(message, "ok", {})
        elif event == "untrack":
            if channel.tracked is not None:
                ref, channel.tracked = channel.tracked[0], None
                await relay.untrack(channel, channel.presence_key, ref)
            self.reply(message, "ok", {})
        else:
            self.reply(message, "error", {"reason": "unknown presence event"})


def _json_object(value: object) -> dict[str, Any]:
    """A client's JSON object, or an empty one in place of anything else."""
    return value if isinstance(value, dict) else {}


def _skybound_topic(sub_topic: str) -> Topic | None:
    try:
        return parse_topic(sub_topic)
    except InvalidTopic:
        return None


def _hub_topics(bindings: list[pg.Binding], identity: Identity) -> list[str]:
    """The change-log topics a channel's bindings read, as this identity may."""
    if not bindings:
        return []
    tables: set[str] = set()
    for binding in bindings:
        tables.update(pg.TABLES if binding.table is None else (binding.table,))
    topics = []
    for table in pg.TABLES:
        if table not in tables:
            continue
        if table in pg.PUBLIC_TABLES or identity.service:
            topics.append(f"pg:{pg.SCHEMA}:{table}")
        elif identity.claims is not None:
            topics.append(f"pg:{pg.SCHEMA}:{table}:{identity.claims.user_id}")
        elif any(b.table == table for b in bindings):
            raise pg.BindingError(
                f"Unauthorized: {table} rows are their owner's; join with an access_token"
            )
    return topics


def _topic_encoder(vsn: Vsn, channel_topic: str) -> Callable[[ChangeEvent, str], bytes]:
    """Skybound's own events on its topics, as broadcasts with their position in meta."""

    def encode_event(event: ChangeEvent, _topic: str) -> bytes:
        if event.type.startswith("row."):
            return b""
        body = b'{"type":"broadcast","event":%b,"payload":%b,"meta":{"id":%b}}' % (
            orjson.dumps(event.type),
            event.data,
            orjson.dumps(event.position),
        )
        return encode_raw_payload(vsn, channel_topic, "broadcast", body)

    return encode_event
