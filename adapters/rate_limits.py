"""Request budgets, counted by the `limits` library: in this process's memory, or in
Redis so that every worker and instance shares one budget.

A budget (a policy) is a name and a limit ("120/minute"); it is counted per key (a
client address, a user id) with a sliding window counter, which costs one counter
pair per key however busy it is. Large budgets are taken from the storage a share at
a time and spent locally (see SHARE_OF_LIMIT), in memory as in Redis. A storage that
fails (Redis down) fails open: the request goes through and a warning is logged, since
refusing every request would turn a cache outage into an API outage.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

log = logging.getLogger(__name__)

# Policies and their defaults. `address.<class>` budgets one client address for one
# class of endpoints (`address` for the rest); `user`/`user.<class>` one passenger;
# `staff` one user with a staff role, for everything.
DEFAULT_LIMITS: dict[str, str] = {
    "address": "600/minute",
    "address.auth": "60/minute",
    "address.search": "120/minute",
    "address.bookings": "120/minute",
    "address.sync": "240/minute",
    "address.admin": "1200/minute",
    "user": "300/minute",
    "user.search": "60/minute",
    "user.bookings": "30/minute",
    "staff": "3000/minute",
}
KEY_PREFIX = "skybound:ratelimit"
# Redis must answer fast or not at all: a budget is not worth a slow request.
REDIS_TIMEOUT_SECONDS = 0.25
# At most one warning about a failing storage per this many seconds.
WARN_EVERY_SECONDS = 10.0


@dataclass(frozen=True, slots=True, eq=False)
class Verdict:
    """One budget's answer for one request; how soon it resets is read only for a
    refusal (another round trip to the storage, which an allowed request is spared).
    Compared and hashed by identity: an allowed verdict is one shared object per policy,
    which makes it a cheap cache key."""

    policy: str
    limit: int
    window_seconds: int
    allowed: bool
    reset_seconds: int = 0


def parse_limits(overrides: Mapping[str, str]) -> dict[str, RateLimitItem]:
    """The default limits with ``overrides`` on top; ValueError names a bad one."""
    unknown = set(overrides) - set(DEFAULT_LIMITS)
    if unknown:
        raise ValueError(f"unknown rate limit policies {sorted(unknown)}; "
                         f"known: {sorted(DEFAULT_LIMITS)}")  # fmt: skip
    parsed = {}
    for name, text in {**DEFAULT_LIMITS, **overrides}.items():
        try:
            parsed[name] = parse(text)
        except ValueError:
            raise ValueError(f"rate limit {name}={text!r} is not like '120/minute'") from None
    return parsed


def limits_storage_uri(redis_url: str) -> str:
    """The `limits` URI of a REDIS_URL (redis://, rediss:// or unix://)."""
    if redis_url.startswith("unix://"):
        return "async+redis+" + redis_url
    return "async+" + redis_url


# One hit waiting for its batch: (previous window key, current window key, limit, expiry
# seconds, amount), and the future its verdict resolves.
_Hit = tuple[str, str, int, int, int]
_Waiting = list[tuple[_Hit, "asyncio.Future[bool]"]]


def _fail(batch: _Waiting, exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


class HitBatch:
    """Budget hits sent to Redis together: every hit that concurrent requests make before
    the loop comes round goes in one pipeline, one round trip for all of them.

    Each hit is the `limits` library's own sliding-window step (its Lua script, on its
    keys), exactly as ``SlidingWindowCounterRateLimiter.hit`` runs it one call at a time,
    so the shared budget counts the same; only the round trips are shared.
    """

    def __init__(self, storage: RedisStorage) -> None:
        if not isinstance(storage.bridge, RedispyBridge):
            raise TypeError("batched hits need the redis-py implementation")
        self._storage = storage
        self._bridge = storage.bridge
        self._redis = cast(Redis, storage.bridge.get_connection())
        self._pending: _Waiting = []
        self._sending: set[asyncio.Task[None]] = set()
        self.round_trips = 0

    def hit(self, item: RateLimitItem, *identifiers: str, amount: int = 1) -> asyncio.Future[bool]:
        key = item.key_for(*identifiers)
        previous = self._bridge.prefixed_key(self._storage._previous_window_key(key))
        current = self._bridge.prefixed_key(self._storage._current_window_key(key))
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(((previous, current, item.amount, item.get_expiry(), amount), future))
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)
        return future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: _Waiting) -> None:
        script = self._bridge.lua_acquire_sliding_window
        try:
            results = await self._run(script.sha, [hit for hit, _ in batch])
            if any(isinstance(r, NoScriptError) for r in results):  # a restarted Redis
                await self._redis.script_load(script.script)
                results = await self._run(script.sha, [hit for hit, _ in batch])
        except (RedisError, OSError, TimeoutError) as exc:
            _fail(batch, StorageError(exc))
            return
        except Exception as exc:
            # Anything else is a bug: the requests waiting on this batch answer with it
            # (logged as a 500 where they are) rather than wait on their futures forever.
            _fail(batch, exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(StorageError(result))
            else:
                future.set_result(bool(result))

    async def _run(self, sha: str, hits: list[_Hit]) -> list[object]:
        self.round_trips += 1
        async with self._redis.pipeline(transaction=False) as pipe:
            for previous, current, limit, expiry, amount in hits:
                pipe.evalsha(sha, 2, previous, current, limit, expiry, amount)
            return list(await pipe.execute(raise_on_error=False))

    async def close(self) -> None:
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


# Large budgets are taken from the storage a share at a time (1% of the limit, at most 50)
# and spent locally; a share not spent within a second is dropped. A worker never admits a
# request the storage did not count, so the budget holds; at most one share less one per
# worker and key may be refused early, or counted up to a second early. With Redis this
# spares round trips; in memory it spares the library's per-hit work (a lock, a dozen
# calls and an expiry task per hit), which cost more than the rest of a cheap request.
SHARE_OF_LIMIT = 100
MAX_SHARE = 50
SHARE_SECONDS = 1.0
MAX_SHARES_KEPT = 10_000


@dataclass(slots=True)
class _Share:
    left: int
    until: float


class RateLimiter:
    def __init__(self, limits: Mapping[str, RateLimitItem], redis_url: str | None = None) -> None:
        self.limits = dict(limits)
        self.shared = redis_url is not None
        self._storage: MemoryStorage | RedisStorage
        if redis_url is None:
            self._storage = MemoryStorage()
        else:
            self._storage = RedisStorage(
                limits_storage_uri(redis_url), wrap_exceptions=True, implementation="redispy",
                key_prefix=KEY_PREFIX, socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )  # fmt: skip
        self._strategy = SlidingWindowCounterRateLimiter(self._storage)
        self.batch = HitBatch(self._storage) if isinstance(self._storage, RedisStorage) else None
        # An allowed request's verdict depends only on its policy: built once.
        self._allowed = {name: Verdict(name, item.amount, item.get_expiry(), allowed=True)
                         for name, item in self.limits.items()}  # fmt: skip
        self._named: dict[tuple[str, str], str] = {}
        self._shares: dict[tuple[str, str], _Share] = {}
        self._asking: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._warned_at = -math.inf
        self.failures = 0

    def has(self, policy: str) -> bool:
        return policy in self.limits

    def policy_of(self, scope: str, kind: str) -> str:
        """``scope.kind`` (``address.search``) when that budget exists, else ``scope``."""
        named = self._named.get((scope, kind))
        if named is None:
            named = f"{scope}.{kind}"
            self._named[scope, kind] = named = named if named in self.limits else scope
        return named

    async def take(self, policy: str, key: str) -> Verdict | None:
        """Count one request of ``key`` against ``policy``; None when the storage failed
        (the request goes through)."""
        item = self.limits[policy]
        try:
            if await self._take_shared(item, policy, key):
                return self._allowed[policy]
            stats = await self._strategy.get_window_stats(item, policy, key)
        except (StorageError, OSError, TimeoutError) as exc:
            self._storage_failed(exc)
            return None
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(policy, item.amount, item.get_expiry(), allowed=False, reset_seconds=reset)

    async def _take_shared(self, item: RateLimitItem, policy: str, key: str) -> bool:
        """One unit of a share held here, or a new share from the storage (one request
        asks for a key at a time; the others wait and spend it), or near the limit a
        single hit."""
        slot = (policy, key)
        while (asking := self._asking.get(slot)) is not None:
            await asyncio.shield(asking)
        share = self._shares.get(slot)
        now = time.monotonic()
        if share is not None and share.left > 0 and now < share.until:
            share.left -= 1
            return True
        size = min(MAX_SHARE, item.amount // SHARE_OF_LIMIT)
        if size <= 1:
            return await self._hit(item, policy, key)
        asked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._asking[slot] = asked
        try:
            if await self._hit(item, policy, key, size):
                if len(self._shares) >= MAX_SHARES_KEPT:
                    self._forget_spent(now)
                self._shares[slot] = _Share(size - 1, now + SHARE_SECONDS)
                return True
            self._shares.pop(slot, None)
            return await self._hit(item, policy, key)  # what is left, one at a time
        finally:
            del self._asking[slot]
            asked.set_result(None)

    async def _hit(self, item: RateLimitItem, policy: str, key: str, amount: int = 1) -> bool:
        if self.batch is None:
            return await self._strategy.hit(item, policy, key, cost=amount)
        return await self.batch.hit(item, policy, key, amount=amount)

    def _forget_spent(self, now: float) -> None:
        for slot, share in tuple(self._shares.items()):
            if share.left <= 0 or share.until <= now:
                del self._shares[slot]
        if len(self._shares) >= MAX_SHARES_KEPT:
            self._shares.clear()

    def _storage_failed(self, exc: BaseException) -> None:
        self.failures += 1
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("rate limit storage failed; letting requests through",
                        extra={"error": repr(exc), "failures": self.failures})  # fmt: skip

    async def close(self) -> None:
        if isinstance(self._storage, MemoryStorage):
            timer = self._storage.timer
            if timer is not None and not timer.done():
                timer.cancel()
        else:
            if self.batch is not None:
                await self.batch.close()
            # implementation="redispy" (see __init__) makes the bridge redis-py's and its client
            # a redis.asyncio.Redis, which limits types by the commands it sends (no aclose).
            bridge = cast(RedispyBridge, self._storage.bridge)
            await cast(Redis, bridge.get_connection()).aclose()
