"""Caps on open streams: per client address and per user (staff have their own), for SSE,
the WebSocket and the Realtime socket alike.

A stream takes a pass when it is admitted (the address's slot, and the user's when the
caller is known then) and may add the user's slot later, when a socket authenticates.
Beyond a cap the answer is 429 with ``Retry-After`` and the RateLimit fields (before a
socket is upgraded) or a refusal on the socket. The pass is released in the stream's
``finally``, however it ends: the client vanished, the hub cut it, the server drained.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from aiohttp import web

from adapters.stream_slots import LEASE_SECONDS, SlotCounter
from api.keys import stream_caps_key
from api.middleware import client_ip
from domain.identity.tokens import Claims
from foundation.errors import RateLimitExceeded, TooManyRequests

STAFF_ROLES = frozenset({"agent", "ops", "admin"})
# A full cap frees when someone's stream ends, which nobody can predict: retry soon.
RETRY_AFTER_SECONDS = 5


class TooManyStreams(RateLimitExceeded):
    """A cap of streams open at once is reached."""

    slug = "too-many-streams"
    title = "Too many open streams"

    def __init__(self, policy: str, cap: int) -> None:
        TooManyRequests.__init__(
            self, f"At most {cap} streams open at once ({policy}); close one, or retry in "
            f"{RETRY_AFTER_SECONDS} s.", policy=policy,
        )  # fmt: skip
        self.policy, self.limit, self.window = policy, cap, 0
        self.retry_after = RETRY_AFTER_SECONDS


@dataclass(frozen=True, slots=True)
class Caps:
    per_address: int
    per_user: int
    per_staff: int


class StreamPass:
    """The slots one stream holds; ``release`` gives them all back, once."""

    def __init__(self, caps: StreamCaps, address: str) -> None:
        self._caps = caps
        self.address = address
        self.slot = uuid.uuid4().hex
        self.held: list[str] = []
        self.user: uuid.UUID | None = None

    async def identify(self, claims: Claims) -> None:
        """Take the user's slot the first time the stream learns who it serves."""
        if self.user is not None:
            return
        staff = bool(claims.app_roles & STAFF_ROLES)
        policy, cap = ("streams.staff", self._caps.caps.per_staff) if staff else (
            "streams.user", self._caps.caps.per_user)  # fmt: skip
        await self._take(policy, f"user:{claims.user_id}", cap)
        self.user = claims.user_id

    async def _take(self, policy: str, key: str, cap: int) -> None:
        if not await self._caps.counter.acquire(key, self.slot, cap):
            self._caps.refused[policy] = self._caps.refused.get(policy, 0) + 1
            raise TooManyStreams(policy, cap)
        self.held.append(key)
        self._caps.open[self.slot] = self

    def release(self) -> None:
        """Give the slots back (in the background: a stream's end must not wait on Redis)."""
        self._caps.open.pop(self.slot, None)
        held, self.held = self.held, []
        for key in held:
            task = asyncio.ensure_future(self._caps.counter.release(key, self.slot))
            self._caps.releasing.add(task)
            task.add_done_callback(self._caps.releasing.discard)


class StreamCaps:
    """This process's open streams and the counter (memory or Redis) of their slots."""

    def __init__(self, counter: SlotCounter, caps: Caps) -> None:
        self.counter = counter
        self.caps = caps
        self.open: dict[str, StreamPass] = {}
        self.refused: dict[str, int] = {}
        self.releasing: set[asyncio.Future[None]] = set()

    async def admit(self, address: str, claims: Claims | None = None) -> StreamPass:
        """A pass for a new stream, or TooManyStreams; nothing is held after a refusal."""
        stream_pass = StreamPass(self, address)
        try:
            await stream_pass._take("streams.address", f"address:{address}",
                                    self.caps.per_address)  # fmt: skip
            if claims is not None:
                await stream_pass.identify(claims)
        except TooManyStreams:
            stream_pass.release()
            raise
        return stream_pass

    async def renew_leases(self) -> None:
        """Keep the shared slots of this worker's open streams alive; runs supervised."""
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            held = [(key, p.slot) for p in tuple(self.open.values()) for key in p.held]
            await self.counter.renew(held)

    async def close(self) -> None:
        if self.releasing:
            await asyncio.gather(*self.releasing, return_exceptions=True)
        await self.counter.close()


async def admit_stream(request: web.Request, claims: Claims | None = None) -> StreamPass | None:
    """The pass of a stream about to open (None when streams are not capped)."""
    caps = request.app.get(stream_caps_key)
    if caps is None:
        return None
    return await caps.admit(client_ip(request), claims)


def release(stream_pass: StreamPass | None) -> None:
    if stream_pass is not None:
        stream_pass.release()
