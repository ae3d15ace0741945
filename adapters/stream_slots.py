"""Counting open streams against a cap: in this process's memory, or in Redis so that
every worker and instance counts the same streams.

A slot is held from the moment a stream is admitted until it ends. In Redis each key
(a user, a client address) is a sorted set of its open streams scored by a lease
expiry, which the holder renews while the stream lives: a worker that dies without
releasing its slots loses them when their leases run out, instead of leaking them
forever. A storage that fails fails open (the stream is admitted), like the request
budgets: a cache outage must not become a streaming outage.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.rate_limits import KEY_PREFIX, REDIS_TIMEOUT_SECONDS, WARN_EVERY_SECONDS

log = logging.getLogger(__name__)

# A slot in Redis lives this long unless renewed; renewed every third of it.
LEASE_SECONDS = 60.0

# Drop expired leases, then take a slot if fewer than the cap are held.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


class SlotCounter(Protocol):
    shared: bool

    async def acquire(self, key: str, slot: str, cap: int) -> bool: ...

    async def release(self, key: str, slot: str) -> None: ...

    async def renew(self, held: list[tuple[str, str]]) -> None: ...

    async def close(self) -> None: ...


class MemorySlots:
    """This worker's streams only: with several workers each counts its own."""

    shared = False

    def __init__(self) -> None:
        self.held: Counter[str] = Counter()

    async def acquire(self, key: str, slot: str, cap: int) -> bool:
        if self.held[key] >= cap:
            return False
        self.held[key] += 1
        return True

    async def release(self, key: str, slot: str) -> None:
        self.held[key] -= 1
        if self.held[key] <= 0:
            del self.held[key]

    async def renew(self, held: list[tuple[str, str]]) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisSlots:
    """Every worker's and instance's streams, one sorted set per key."""

    shared = True

    def __init__(self, redis_url: str) -> None:
        self.redis = Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                    socket_connect_timeout=REDIS_TIMEOUT_SECONDS)  # fmt: skip
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._warned_at = -math.inf
        self.failures = 0

    def _key(self, key: str) -> str:
        return f"{KEY_PREFIX}:streams:{key}"

    async def acquire(self, key: str, slot: str, cap: int) -> bool:
        now = time.time()
        try:
            taken = await self._acquire(
                keys=[self._key(key)],
                args=[now, now + LEASE_SECONDS, cap, slot, int(LEASE_SECONDS * 2000)],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return True
        return bool(taken)

    async def release(self, key: str, slot: str) -> None:
        try:
            await self.redis.zrem(self._key(key), slot)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)  # the lease runs out by itself

    async def renew(self, held: list[tuple[str, str]]) -> None:
        """Push the leases of this worker's open streams forward, in one round trip."""
        if not held:
            return
        expiry = time.time() + LEASE_SECONDS
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, slot in held:
                pipe.zadd(self._key(key), {slot: expiry}, xx=True)
                pipe.pexpire(self._key(key), int(LEASE_SECONDS * 2000))
            await pipe.execute()

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("stream cap storage failed; admitting streams",
                        extra={"error": repr(exc), "failures": self.failures})  # fmt: skip

    async def close(self) -> None:
        await self.redis.aclose()
