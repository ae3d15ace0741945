"""System monitoring for ops staff: each worker's figures and the fleet's.

The workers of a pool already publish their Prometheus exposition to a shared directory
(``foundation.fleet_metrics``); this reads the same expositions, so the figures here
and a scrape of ``/metrics`` never disagree. What only the database knows (the newest
released change event, the outbox, due jobs, recent bookings) is read once per report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import asyncpg
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ConfigDict, Field

from domain.admin import examples
from domain.change_log import release_bounds
from foundation.fleet_metrics import Published

# Flat samples of one exposition: (sample name, sorted labels) -> value.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

_DATABASE = """
SELECT (SELECT count(*) FROM mail_outbox
         WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL) AS outbox_depth,
       (SELECT count(*) FROM scheduled_jobs WHERE done_at IS NULL AND due_at <= now())
           AS jobs_due,
       (SELECT count(*) FROM bookings WHERE created_at >= now() - interval '1 minute')
           AS bookings_last_minute,
       current_setting('server_version') AS database_version
"""


class Connections(BaseModel):
    sse: int = Field(description="Server-Sent Events streams.")
    websocket: int = Field(description="WebSocket connections (`/v1/ws`).")
    realtime_compat: int = Field(description="Supabase-compatible realtime sockets.")
    topics: int = Field(description="Topics with at least one subscriber.")
    subscriptions: int = Field(description="Topic subscriptions of all those clients.")


class Listener(BaseModel):
    up: bool = Field(description="The LISTEN connection listens (fleet: every worker's).")
    cursor: int = Field(description="Newest change event the hub published (fleet: lowest).")
    lag_events: int = Field(
        description="Newest released event in the log minus the cursor (fleet: largest)."
    )
    reconnects: int


class PoolUse(BaseModel):
    size: int = Field(description="Open connections of the request pool.")
    in_use: int
    max: int


class Errors(BaseModel):
    http_requests: int = Field(description="Requests answered since start.")
    http_5xx: int = Field(description="Of them, answered with a 5xx status.")
    task_restarts: int = Field(description="Background tasks restarted after a crash.")
    tasks_down: list[str] = Field(description="Supervised tasks not running now.")
    slow_disconnects: int = Field(description="Stream clients dropped for falling behind.")
    contained: int = Field(description="Failures of one client or listener the hub contained.")


class WorkerFigures(BaseModel):
    worker: str = Field(description="The worker's slot in its pool (`0` when alone).")
    as_of: datetime = Field(description="When these figures were taken (others: published).")
    uptime_seconds: float
    version: str
    python: str
    aiohttp: str
    connections: Connections
    listener: Listener
    pool: PoolUse
    errors: Errors


class FleetFigures(BaseModel):
    workers: int
    connections: Connections
    listener: Listener
    pool: PoolUse
    errors: Errors


class SystemReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SYSTEM_REPORT]})

    at: datetime
    released: int = Field(description="Newest released (commit-safe) event in the change log.")
    outbox_depth: int = Field(description="Mail waiting to be sent.")
    jobs_due: int = Field(description="Scheduled jobs due and not yet run.")
    bookings_last_minute: int = Field(description="Bookings made in the last 60 seconds.")
    database_version: str
    fleet: FleetFigures = Field(description="Every worker of this instance together.")
    workers: list[WorkerFigures] = Field(description="This worker first, then the others.")


def _samples(exposition: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def _one(samples: Samples, name: str) -> float:
    return samples.get((name, ()), 0.0)


def _labelled(samples: Samples, name: str) -> Iterable[tuple[dict[str, str], float]]:
    for (sample, labels), value in samples.items():
        if sample == name:
            yield dict(labels), value


def _worker(published: Published, s: Samples, released: int) -> WorkerFigures:
    build = next((labels for labels, _ in _labelled(s, "skybound_build_info")), {})
    cursor = int(_one(s, "skybound_stream_cursor"))
    size = int(_one(s, "skybound_db_pool_connections"))
    requests = list(_labelled(s, "skybound_http_requests_total"))
    started = _one(s, "process_start_time_seconds")  # absent where there is no /proc
    return WorkerFigures(
        worker=published.worker,
        as_of=datetime.fromtimestamp(published.at, UTC),
        uptime_seconds=max(0.0, published.at - started) if started else 0.0,
        version=build.get("version", ""),
        python=build.get("python", ""),
        aiohttp=build.get("aiohttp", ""),
        connections=Connections(
            sse=int(_one(s, "skybound_stream_sse_clients")),
            websocket=int(_one(s, "skybound_stream_ws_clients")),
            realtime_compat=int(_one(s, "skybound_realtime_compat_sockets")),
            topics=int(_one(s, "skybound_stream_topics")),
            subscriptions=int(_one(s, "skybound_stream_subscriptions")),
        ),
        listener=Listener(
            up=_one(s, "skybound_change_listener_up") == 1.0,
            cursor=cursor,
            lag_events=max(0, released - cursor),
            reconnects=int(_one(s, "skybound_change_listener_reconnects")),
        ),
        pool=PoolUse(
            size=size,
            in_use=size - int(_one(s, "skybound_db_pool_idle_connections")),
            max=int(_one(s, "skybound_db_pool_max_connections")),
        ),
        errors=Errors(
            http_requests=int(sum(value for _, value in requests)),
            http_5xx=int(sum(v for labels, v in requests if labels.get("status", "")[:1] == "5")),
            task_restarts=int(sum(v for _, v in _labelled(s, "skybound_task_restarts_total"))),
            tasks_down=sorted(
                labels["task"] for labels, v in _labelled(s, "skybound_task_up") if v == 0.0
            ),
            slow_disconnects=int(_one(s, "skybound_stream_slow_disconnects")),
            contained=int(_one(s, "skybound_stream_contained_errors")),
        ),
    )


def _total(models: Sequence[BaseModel]) -> dict[str, int]:
    """Field-wise sums of integer figures."""
    return {
        name: sum(getattr(m, name) for m in models)
        for name, value in models[0]
        if isinstance(value, int) and not isinstance(value, bool)
    }


def _fleet(workers: list[WorkerFigures]) -> FleetFigures:
    listeners = [w.listener for w in workers]
    return FleetFigures(
        workers=len(workers),
        connections=Connections(**_total([w.connections for w in workers])),
        listener=Listener(
            up=all(listener.up for listener in listeners),
            cursor=min(listener.cursor for listener in listeners),
            lag_events=max(listener.lag_events for listener in listeners),
            reconnects=sum(listener.reconnects for listener in listeners),
        ),
        pool=PoolUse(**_total([w.pool for w in workers])),
        errors=Errors(
            **_total([w.errors for w in workers]),
            tasks_down=sorted({task for w in workers for task in w.errors.tasks_down}),
        ),
    )


async def system_report(pool: asyncpg.Pool, figures: Sequence[Published]) -> SystemReport:
    """The report from each worker's exposition (this worker's first, taken now) and one
    look at the database. Another worker's cursor is as of its last publication, a few
    seconds old at most, so its lag may read a few events high while events flow."""
    parsed = [(published, _samples(published.exposition)) for published in figures]
    # The released bound is looked for above the lowest cursor: a short index range.
    lowest = min((int(_one(s, "skybound_stream_cursor")) for _, s in parsed), default=0)
    async with pool.acquire() as conn:
        released = (await release_bounds(conn, lowest)).released
        row = await conn.fetchrow(_DATABASE)
    workers = [_worker(published, s, released) for published, s in parsed]
    return SystemReport(
        at=datetime.now(UTC),
        released=released,
        outbox_depth=row["outbox_depth"],
        jobs_due=row["jobs_due"],
        bookings_last_minute=row["bookings_last_minute"],
        database_version=row["database_version"],
        fleet=_fleet(workers),
        workers=workers,
    )
