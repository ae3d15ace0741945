"""A py-spy profile of one server worker during bookings, summarised by area and frame.

py-spy samples Python frames only: time in C (uvloop, orjson, pydantic-core, asyncpg's
protocol) is charged to the Python frame that called it. Idle time is not sampled.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness.pyspy import summarise as summarise_stacks

# First match wins: a frame's own code, by where it lives.
AREAS = (
    ("run_app (aiohttp/web.py", "event loop and sockets (uvloop, C code under run_app)"),
    ("domain/bookings/queries.py", "bookings: the booking read back and its models"),
    ("domain/bookings/", "bookings: service, offers, idempotency, payments"),
    ("domain/search/", "search: offer token, pricing"),
    ("domain/profiles.py", "profiles"),
    ("domain/", "domain: other"),
    ("handlers/", "handlers"),
    ("domain/identity/tokens.py", "auth: bearer tokens"),
    ("streams/", "realtime: change listener, hub"),
    ("asyncpg/", "asyncpg: protocol, records, pool"),
    ("pydantic", "pydantic: models, validation, JSON"),
    ("jwt/", "PyJWT"),
    ("aiohttp/", "aiohttp: HTTP"),
    ("api/", "api: middleware, API wrapper"),
    ("foundation/", "foundation: metrics, logs, database"),
    ("prometheus_client/", "prometheus_client"),
)


def summarise(raw: Path, top: int = 15) -> list[str]:
    return summarise_stacks(
        raw,
        AREAS,
        other="other (stdlib: asyncio, json, uuid, hashlib...)",
        project=("domain/", "handlers/", "api/", "foundation/", "streams/"),
        top=top,
        samples_of="",
    )
