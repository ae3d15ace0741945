"""Fixed-window throttles kept in PostgreSQL, so every worker and instance shares them.

An attempt is counted *before* the work it guards (an upsert returns the new
count atomically), so concurrent guesses cannot slip past the limit between a
check and an increment. A sign-in that succeeds is then forgiven: its account
bucket is cleared and its IP hit given back, so only failures add up.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from domain.identity.accounts import Executor
from domain.identity.accounts.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Limit:
    hits: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class Limits:
    # Failed sign-ins: per account against guessing one password, per IP against
    # trying one password on many accounts.
    login_per_account: Limit = Limit(5, timedelta(minutes=15))
    login_per_ip: Limit = Limit(30, timedelta(minutes=15))
    # Every sign-up hashes a password (CPU) and every recovery may send an email.
    signup_per_ip: Limit = Limit(30, timedelta(hours=1))
    recover_per_ip: Limit = Limit(30, timedelta(hours=1))


LIMITS = Limits()

# Stale buckets are deleted by the occasional request rather than a scheduled job.
PRUNE_PROBABILITY = 0.01
_PRUNE_AFTER = timedelta(days=1)


def login_account_bucket(email: str) -> str:
    return f"login:account:{email.lower()}"


def login_ip_bucket(ip: str) -> str:
    return f"login:ip:{ip}"


def signup_ip_bucket(ip: str) -> str:
    return f"signup:ip:{ip}"


def recover_ip_bucket(ip: str) -> str:
    return f"recover:ip:{ip}"


_HIT = """
INSERT INTO auth_throttle AS t (bucket, window_started_at, hits) VALUES ($1, now(), 1)
ON CONFLICT (bucket) DO UPDATE SET
    window_started_at = CASE WHEN t.window_started_at > now() - $2::interval
                             THEN t.window_started_at ELSE now() END,
    hits = CASE WHEN t.window_started_at > now() - $2::interval THEN t.hits + 1 ELSE 1 END
RETURNING hits, extract(epoch FROM window_started_at + $2::interval - now()) AS resets_in
"""


async def take(conn: Executor, buckets: Sequence[tuple[str, Limit]]) -> None:
    """Count one attempt in each bucket; 429 (RateLimited) if any is over its limit."""
    retry_after = 0
    for bucket, limit in buckets:
        row = await conn.fetchrow(_HIT, bucket, limit.window)
        assert row is not None
        if row["hits"] > limit.hits:
            retry_after = max(retry_after, math.ceil(float(row["resets_in"])), 1)
    if random.random() < PRUNE_PROBABILITY:
        await conn.execute(
            "DELETE FROM auth_throttle WHERE window_started_at < now() - $1::interval",
            _PRUNE_AFTER,
        )
    if retry_after:
        raise RateLimited(retry_after)


async def forgive(conn: Executor, clear: Sequence[str], give_back: Sequence[str]) -> None:
    """Forget the ``clear`` buckets and return one hit to each of ``give_back``."""
    await conn.execute("DELETE FROM auth_throttle WHERE bucket = ANY($1::text[])", clear)
    await conn.execute(
        "UPDATE auth_throttle SET hits = greatest(hits - 1, 0) WHERE bucket = ANY($1::text[])",
        give_back,
    )
