"""Broadcast and presence across every worker and instance, through PostgreSQL.

A client broadcast or a presence change is sent as one NOTIFY on
``skybound_realtime``; every process hears it on its one LISTEN connection (the
change listener's) and hands it to its own channels joined to that topic, the
sender's process included, so local and remote delivery are one path. NOTIFY keeps
its order per sending transaction and carries at most 8,000 bytes, which bounds a
broadcast's payload (``SKYBOUND_REALTIME_MAX_PAYLOAD_BYTES``).

Presence: every process mirrors the presences of every process, keyed by
(topic, key, phx_ref). A process announces itself when it starts and after its
LISTEN connection comes back (``hello``); every other process answers by announcing
its local presences again, so a newcomer (or one that may have missed some) learns
the whole state. A process that stops says ``bye`` and its presences leave
everywhere; a socket that dies untracks its own.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import orjson

from foundation.database import UNREACHABLE

log = logging.getLogger(__name__)

CHANNEL = "skybound_realtime"
# NOTIFY's limit is 8,000 bytes; the envelope takes a few hundred.
NOTIFY_LIMIT = 7900
RETRY_MIN_SECONDS = 0.1
RETRY_MAX_SECONDS = 10.0

TopicKey = tuple[bool, str]
"""(private, sub-topic): Supabase keeps public and private channels of one name apart."""


class Notifications(Protocol):
    def add_channel(
        self, name: str, on_notify: Callable[[str], None], on_missed: Callable[[], None]
    ) -> None: ...


class Member(Protocol):
    """A joined channel as the relay sees it."""

    channel_id: str
    topic_key: TopicKey
    presence_enabled: bool

    def deliver_broadcast(
        self, event: str, payload: bytes, binary: bool, origin: str | None
    ) -> None: ...

    def deliver_presence_diff(self, joins: dict[str, Any], leaves: dict[str, Any]) -> None: ...


class PayloadTooLarge(ValueError):
    pass


@dataclass
class Presence:
    node: str
    channel_id: str
    meta: dict[str, Any]


@dataclass
class Relay:
    pool: asyncpg.Pool
    node: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    members: dict[TopicKey, set[Member]] = field(default_factory=dict)
    # topic -> presence key -> phx_ref -> presence, for every process.
    presences: dict[TopicKey, dict[str, dict[str, Presence]]] = field(default_factory=dict)
    broadcasts: int = 0
    dropped: int = 0
    # What the relay sends on its own (hello, re-announcements, the untracks of sockets
    # that died): sent in order by ``run``, the one supervised task.
    _outbox: deque[dict[str, Any]] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, notifications: Notifications) -> None:
        """Listen on the relay's channel and say hello (``run`` sends it)."""
        notifications.add_channel(CHANNEL, self._on_notify, self._on_missed)
        self._enqueue({"k": "hello", "n": self.node})

    def _enqueue(self, message: dict[str, Any]) -> None:
        if message["k"] == "hello" and message in self._outbox:
            return  # one pending hello is enough, however often the connection dropped
        self._outbox.append(message)
        self._wake.set()

    async def run(self) -> None:
        """Send queued messages in order. While the database is out of reach a message
        stays first in line and is retried with jittered backoff: an outage is routine,
        not a failure of this task."""
        backoff = RETRY_MIN_SECONDS
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                try:
                    await self._send(self._outbox[0])
                except UNREACHABLE as exc:
                    log.warning("realtime relay cannot reach the database; retrying",
                                extra={"error": repr(exc)})  # fmt: skip
                    await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                    backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                    continue
                except PayloadTooLarge:
                    log.error("a realtime relay message was too large to send")
                self._outbox.popleft()
                backoff = RETRY_MIN_SECONDS

    def pending(self) -> int:
        return len(self._outbox)

    # Membership ----------------------------------------------------------------

    def join(self, member: Member) -> None:
        self.members.setdefault(member.topic_key, set()).add(member)

    def leave(self, member: Member) -> None:
        members = self.members.get(member.topic_key)
        if members is not None:
            members.discard(member)
            if not members:
                del self.members[member.topic_key]

    def member_count(self) -> int:
        return sum(len(m) for m in self.members.values())

    # Sending -------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        body = orjson.dumps(message).decode()
        if len(body.encode()) > NOTIFY_LIMIT:
            raise PayloadTooLarge(len(body))
        await self.pool.execute("SELECT pg_notify($1, $2)", CHANNEL, body)

    async def broadcast(
        self,
        topic_key: TopicKey,
        event: str,
        payload: bytes,
        *,
        binary: bool,
        origin: str | None,
    ) -> None:
        """Send to every channel joined to the topic on every process (not ``origin``,
        the sending channel, unless it asked for its own broadcasts)."""
        await self._send({
            "k": "b", "n": self.node, "t": topic_key[1], "p": topic_key[0], "e": event,
            "d": base64.b64encode(payload).decode() if binary else orjson.loads(payload),
            "bin": binary, "o": origin,
        })  # fmt: skip

    async def track(self, member: Member, key: str, ref: str, meta: dict[str, Any]) -> None:
        await self._send({"k": "pj", "n": self.node, "c": member.channel_id,
                          "t": member.topic_key[1], "p": member.topic_key[0],
                          "key": key, "ref": ref, "meta": meta})  # fmt: skip

    async def untrack(self, member: Member, key: str, ref: str) -> None:
        await self._send(self._untrack_message(member, key, ref))

    def untrack_later(self, member: Member, key: str, ref: str) -> None:
        """For a socket that died: sent by ``run``, after anything queued before it."""
        self._enqueue(self._untrack_message(member, key, ref))

    def _untrack_message(self, member: Member, key: str, ref: str) -> dict[str, Any]:
        return {"k": "pl", "n": self.node, "t": member.topic_key[1], "p": member.topic_key[0],
                "key": key, "ref": ref}  # fmt: skip

    async def bye(self) -> None:
        await self._send({"k": "bye", "n": self.node})

    # Receiving -----------------------------------------------------------------

    def _on_notify(self, payload: str) -> None:
        try:
            message = orjson.loads(payload)
            kind = message["k"]
            if kind == "b":
                self._on_broadcast(message)
            elif kind == "pj":
                self._on_presence_join(message)
            elif kind == "pl":
                self._on_presence_leave((message["p"], message["t"]), message["key"],
                                        message["ref"])  # fmt: skip
            elif kind == "hello" and message["n"] != self.node:
                self._announce()
            elif kind == "bye" and message["n"] != self.node:
                self._forget_node(message["n"])
        except Exception:
            # One bad notification must not stop the listener's other channels.
            self.dropped += 1
            log.exception("a realtime relay notification could not be handled")

    def _on_missed(self) -> None:
        # Notifications may have been lost: every process announces its presences again.
        self._enqueue({"k": "hello", "n": self.node})

    def _on_broadcast(self, message: dict[str, Any]) -> None:
        members = self.members.get((message["p"], message["t"]))
        if not members:
            return
        binary = bool(message["bin"])
        data = base64.b64decode(message["d"]) if binary else orjson.dumps(message["d"])
        self.broadcasts += 1
        for member in tuple(members):
            member.deliver_broadcast(message["e"], data, binary, message.get("o"))

    def _on_presence_join(self, message: dict[str, Any]) -> None:
        topic_key: TopicKey = (message["p"], message["t"])
        key, ref = message["key"], message["ref"]
        entries = self.presences.setdefault(topic_key, {}).setdefault(key, {})
        if ref in entries:
            return  # an announcement of what we already know
        meta = {**message["meta"], "phx_ref": ref}
        entries[ref] = Presence(message["n"], message["c"], meta)
        self._diff(topic_key, {key: {"metas": [meta]}}, {})

    def _on_presence_leave(self, topic_key: TopicKey, key: str, ref: str) -> None:
        entries = self.presences.get(topic_key, {}).get(key)
        if not entries or ref not in entries:
            return
        presence = entries.pop(ref)
        if not entries:
            del self.presences[topic_key][key]
            if not self.presences[topic_key]:
                del self.presences[topic_key]
        self._diff(topic_key, {}, {key: {"metas": [presence.meta]}})

    def _forget_node(self, node: str) -> None:
        for topic_key, keys in tuple(self.presences.items()):
            for key, entries in tuple(keys.items()):
                for ref, presence in tuple(entries.items()):
                    if presence.node == node:
                        self._on_presence_leave(topic_key, key, ref)

    def _announce(self) -> None:
        """Re-announce this process's presences (another process asked)."""
        for topic_key, keys in self.presences.items():
            for key, entries in keys.items():
                for ref, presence in entries.items():
                    if presence.node != self.node:
                        continue
                    meta = {k: v for k, v in presence.meta.items() if k != "phx_ref"}
                    self._enqueue({"k": "pj", "n": self.node, "c": presence.channel_id,
                                   "t": topic_key[1], "p": topic_key[0], "key": key,
                                   "ref": ref, "meta": meta})  # fmt: skip

    def _diff(self, topic_key: TopicKey, joins: dict[str, Any], leaves: dict[str, Any]) -> None:
        for member in tuple(self.members.get(topic_key, ())):
            if member.presence_enabled:
                member.deliver_presence_diff(joins, leaves)

    def presence_state(self, topic_key: TopicKey) -> dict[str, Any]:
        """Phoenix's presence_state: ``{key: {metas: [...]}}``."""
        return {
            key: {"metas": [p.meta for p in entries.values()]}
            for key, entries in self.presences.get(topic_key, {}).items()
        }
