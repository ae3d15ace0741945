"""Prometheus metrics, one registry per application (so tests can build many apps)."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from foundation.fleet_metrics import Fleet, Published, fleet_exposition

if TYPE_CHECKING:
    import asyncpg

    from foundation.supervisor import Supervisor

# watch() hands back the collector it was given, as its own type.
_C = TypeVar("_C", bound=Collector)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _PoolCollector(Collector):
    """Reads pool use at scrape time instead of on every acquire."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = GaugeMetricFamily("skybound_db_pool_connections", "Connections in the pool.")
        size.add_metric([], self._pool.get_size())
        idle = GaugeMetricFamily("skybound_db_pool_idle_connections", "Idle pool connections.")
        idle.add_metric([], self._pool.get_idle_size())
        limit = GaugeMetricFamily("skybound_db_pool_max_connections", "Pool size limit.")
        limit.add_metric([], self._pool.get_max_size())
        yield from (size, idle, limit)


class _ReadAtScrape(Collector):
    """Values kept elsewhere, read from callables at scrape time."""

    family: type[GaugeMetricFamily] | type[CounterMetricFamily] = GaugeMetricFamily

    def __init__(self, values: dict[str, tuple[str, Callable[[], float]]]) -> None:
        self._values = values

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        for name, (help_text, read) in self._values.items():
            family = self.family(name, help_text)
            family.add_metric([], read())
            yield family


class GaugeCollector(_ReadAtScrape):
    """Gauges (cache sizes, hit ratios, stream clients)."""


class CounterCollector(_ReadAtScrape):
    """Counters kept by another object or process (worker restarts, say)."""

    family = CounterMetricFamily


class _TaskCollector(Collector):
    """Whether each supervised background task is running, read at scrape time."""

    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "skybound_task_up", "1 while a supervised background task runs.", labels=["task"]
        )
        for task in self._supervisor.tasks.values():
            up.add_metric([task.name], 1.0 if task.alive else 0.0)
        yield up


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # Set for a worker of a pool: /metrics then answers for every worker.
        self.fleet: Fleet | None = None
        self.requests = Counter(
            "skybound_http_requests",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "skybound_http_request_duration_seconds",
            "Time to the handler's response (streams: to the start of the stream).",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.task_restarts = Counter(
            "skybound_task_restarts",
            "Restarts of supervised background tasks after an unexpected exit.",
            ["task"],
            registry=self.registry,
        )
        # Uptime (process_start_time_seconds), memory and open files of this worker.
        ProcessCollector(registry=self.registry)
        Info("skybound_build", "Versions this worker runs.", registry=self.registry).info(
            {"version": version("skybound"), "python": platform.python_version(),
             "aiohttp": version("aiohttp")}
        )  # fmt: skip

    def watch_tasks(self, supervisor: Supervisor) -> Collector:
        return self.watch(_TaskCollector(supervisor))

    def watch(self, collector: _C) -> _C:
        self.registry.register(collector)
        return collector

    def watch_pool(self, pool: asyncpg.Pool) -> Collector:
        collector = _PoolCollector(pool)
        self.registry.register(collector)
        return collector

    def unwatch(self, collector: Collector) -> None:
        self.registry.unregister(collector)

    def render(self) -> bytes:
        if self.fleet is not None:
            return fleet_exposition(self.registry, self.fleet)
        return generate_latest(self.registry)

    def by_worker(self) -> list[Published]:
        """This worker's figures now, then every other worker's of the pool as last
        published: what the system monitoring reads."""
        own = Published(self.fleet.worker if self.fleet else "0", time.time(),
                        generate_latest(self.registry).decode())  # fmt: skip
        return [own, *(self.fleet.published() if self.fleet else ())]

    def publish(self) -> None:
        """This worker's own figures, where the pool's other workers read them."""
        if self.fleet is not None:
            self.fleet.publish(generate_latest(self.registry))
