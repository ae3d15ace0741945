"""A py-spy profile of one server worker during bookings, summarised by area and frame.

py-spy samples Python frames only: time in C (uvloop, orjson, pydantic-core, asyncpg's
protocol) is charged to the Python frame that called it. Idle time is not sampled.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# First match wins: a frame's own code, by where it lives.
AREAS = (
    ("run_app (aiohttp/web.py", "event loop and sockets (uvloop, C code under run_app)"),
    ("domain/bookings/queries.py", "bookings: the booking read back and its models"),
    ("domain/bookings/", "bookings: service, offers, idempotency, payments"),
    ("domain/search/", "search: offer token, pricing"),
    ("domain/profiles.py", "profiles"),
    ("domain/", "domain: other"),
    ("handlers/", "handlers"),
    ("server/auth.py", "auth: bearer tokens"),
    ("streams/", "realtime: change listener, hub"),
    ("asyncpg/", "asyncpg: protocol, records, pool"),
    ("pydantic", "pydantic: models, validation, JSON"),
    ("jwt/", "PyJWT"),
    ("aiohttp/", "aiohttp: HTTP"),
    ("server/", "server: middleware, metrics, logs, API wrapper"),
    ("prometheus_client/", "prometheus_client"),
)


def _area(frame: str) -> str:
    for part, area in AREAS:
        if part in frame:
            return area
    return "other (stdlib: asyncio, json, uuid, hashlib...)"


def summarise(raw: Path, top: int = 15) -> list[str]:
    """py-spy raw stacks: samples by area (own frame), top frames own and inclusive."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        n = int(count)
        total += n
        own[frames[-1]] += n
        areas[_area(frames[-1])] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return ["py-spy recorded no samples."]
    out = [f"{total:,} CPU samples (idle time not sampled).", ""]
    out += ["| area (where the sampled frame's code lives) | share |", "|---|---:|"]
    out += [f"| {area} | {n / total:.1%} |" for area, n in areas.most_common()]
    out += ["", "| own % | frame |", "|---:|---|"]
    out += [f"| {n / total:.1%} | `{frame}` |" for frame, n in own.most_common(top)]
    project = Counter(
        {
            f: n
            for f, n in inclusive.items()
            if any(p in f for p in ("domain/", "handlers/", "server/", "streams/"))
        }
    )
    out += ["", "| inclusive % | frame (project code) |", "|---:|---|"]
    out += [f"| {n / total:.1%} | `{frame}` |" for frame, n in project.most_common(top)]
    return out
