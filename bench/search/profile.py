"""A py-spy profile of a server worker, summarised: CPU samples by area and by frame.

py-spy samples Python frames only: time spent in C (the cyclic garbage collector, orjson,
pydantic-core, uvloop) is charged to the Python frame that called or triggered it.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness.pyspy import summarise as summarise_stacks

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
    ("api/", "api: middleware, API wrapper"),
    ("foundation/", "foundation: metrics, logs, database"),
    ("prometheus_client/", "prometheus_client"),
)


def summarise_profile(raw: Path, top: int = 12) -> list[str]:
    return summarise_stacks(
        raw,
        AREAS,
        other="other (stdlib: datetime, heapq, hmac, json...)",
        project=("domain/", "handlers/"),
        top=top,
        samples_of=" of the worker",
    )
