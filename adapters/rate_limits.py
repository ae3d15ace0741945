"""Request budgets, counted by the `limits` library: in this process's memory, or in
Redis so that every worker and instance shares one budget.

A budget (a policy) is a name and a limit ("120/minute"); it is counted per key (a
client address, a user id) with a sliding window counter, which costs one counter
pair per key however busy it is. A storage that fails (Redis down) fails open: the
request goes through and a warning is logged, since refusing every request would
turn a cache outage into an API outage.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

if TYPE_CHECKING:
    from redis.asyncio import Redis

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


@dataclass(frozen=True, slots=True)
class Verdict:
    """One budget's answer for one request; how soon it resets is read only for a
    refusal (another round trip to the storage, which an allowed request is spared)."""

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
        self._warned_at = -math.inf
        self.failures = 0

    def has(self, policy: str) -> bool:
        return policy in self.limits

    async def take(self, policy: str, key: str) -> Verdict | None:
        """Count one request of ``key`` against ``policy``; None when the storage failed
        (the request goes through)."""
        item = self.limits[policy]
        verdict = Verdict(policy, item.amount, item.get_expiry(), allowed=True)
        try:
            if await self._strategy.hit(item, policy, key):
                return verdict
            stats = await self._strategy.get_window_stats(item, policy, key)
        except (StorageError, OSError, TimeoutError) as exc:
            self._storage_failed(exc)
            return None
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(policy, item.amount, item.get_expiry(), allowed=False, reset_seconds=reset)

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
            # implementation="redispy" (see __init__) makes the bridge redis-py's and its client
            # a redis.asyncio.Redis, which limits types by the commands it sends (no aclose).
            bridge = cast(RedispyBridge, self._storage.bridge)
            await cast("Redis", bridge.get_connection()).aclose()
