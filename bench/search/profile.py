"""A py-spy profile of a server worker, summarised: CPU samples by area and by frame.

py-spy samples Python frames only: time spent in C (the cyclic garbage collector, orjson,
pydantic-core, uvloop) is charged to the Python frame that called or triggered it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

AREAS = (
    ("run_app (aiohttp/web.py", "event loop and sockets (uvloop, C code under run_app)"),
    ("domain/search/itineraries.py", "itineraries: legs and connections"),
    ("domain/search/pricing.py", "pricing"),
    ("domain/reference.py", "currency conversion, reference data"),
    ("domain/search/service.py", "search service: combine, offers, filters"),
    ("domain/search/", "search: cache, tokens, models"),
    ("handlers/", "handlers"),
    ("asyncpg/", "asyncpg: protocol, records"),
    ("pydantic", "pydantic: models, validation, JSON"),
    ("aiohttp/", "aiohttp: HTTP"),
    ("server/", "server: middleware, metrics, logs"),
    ("prometheus_client/", "prometheus_client"),
)


def _area(frame: str) -> str:
    for part, area in AREAS:
        if part in frame:
            return area
    return "other (stdlib: datetime, heapq, hmac, json...)"


def summarise_profile(raw: Path, top: int = 12) -> list[str]:
    """py-spy raw stacks: CPU samples by area (own frame), top frames own and inclusive."""
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
    out = [f"{total:,} CPU samples of the worker (idle time not sampled).", ""]
    out += ["| area (where the sampled frame's code lives) | share |", "|---|---:|"]
    out += [f"| {area} | {n / total:.1%} |" for area, n in areas.most_common()]
    out += ["", "| own % | frame |", "|---:|---|"]
    out += [f"| {n / total:.1%} | `{frame}` |" for frame, n in own.most_common(top)]
    project = Counter(
        {f: n for f, n in inclusive.items() if any(p in f for p in ("domain/", "handlers/"))}
    )
    out += ["", "| inclusive % | frame (project code) |", "|---:|---|"]
    out += [f"| {n / total:.1%} | `{frame}` |" for frame, n in project.most_common(top)]
    return out
