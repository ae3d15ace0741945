"""One /metrics for all the workers of an instance.

``skybound serve --workers N`` runs N processes on one port: a scrape reaches whichever
worker the kernel picks, and each has its own registry. So every worker publishes its
exposition to a directory the pool shares (one file per worker slot, replaced whole every
few seconds), and a scrape of any worker answers with all of them: its own figures live,
the others' from their files, each sample labelled ``worker="<slot>"``. A file older than
a few publish periods belongs to a worker that died and is left out until its
replacement publishes. Prometheus sums the fleet with ``sum without (worker) (...)``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

PUBLISH_SECONDS = 2.0
# A worker's figures older than this are a dead worker's: left out.
STALE_SECONDS = 5 * PUBLISH_SECONDS


@dataclass(frozen=True, slots=True)
class Fleet:
    """Where the workers of one pool publish, and which of them this process is."""

    directory: Path
    worker: str

    def path_of(self, worker: str) -> Path:
        return self.directory / f"worker-{worker}.prom"

    def publish(self, exposition: bytes) -> None:
        """This worker's figures, replaced whole (a reader never sees half a file)."""
        target = self.path_of(self.worker)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(exposition)
        partial.replace(target)

    def others(self, now: float | None = None) -> Iterator[tuple[str, str]]:
        """(worker, exposition) of every other worker that published recently."""
        for published in self.published(now):
            yield published.worker, published.exposition

    def published(self, now: float | None = None) -> Iterator[Published]:
        """Every other worker's recent figures, with when it published them."""
        now = time.time() if now is None else now
        for path in sorted(self.directory.glob("worker-*.prom")):
            worker = path.stem.removeprefix("worker-")
            if worker == self.worker:
                continue
            try:
                at = path.stat().st_mtime
                if now - at > STALE_SECONDS:
                    continue
                yield Published(worker, at, path.read_text(encoding="utf-8"))
            except FileNotFoundError:  # replaced or removed while we looked
                continue


@dataclass(frozen=True, slots=True)
class Published:
    """One worker's exposition (text format) as of ``at`` (Unix seconds)."""

    worker: str
    at: float
    exposition: str


def _labelled(families: Iterable[Metric], worker: str) -> Iterator[Metric]:
    for family in families:
        samples = [
            Sample(s.name, {**s.labels, "worker": worker}, s.value, s.timestamp, s.exemplar)
            for s in family.samples
        ]
        yield _with_samples(family, samples)


def _with_samples(family: Metric, samples: list[Sample]) -> Metric:
    copy = Metric(family.name, family.documentation, family.type, family.unit)
    copy.samples = samples
    return copy


class _Merged(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def fleet_exposition(registry: CollectorRegistry, fleet: Fleet) -> bytes:
    """This worker's registry and the other workers' published figures, as one
    exposition, each sample labelled with its worker."""
    merged: dict[str, Metric] = {}

    def add(families: Iterable[Metric]) -> None:
        for family in families:
            found = merged.get(family.name)
            if found is None:
                merged[family.name] = family
            else:
                found.samples.extend(family.samples)

    # Our own figures go through the text format too, so that every worker's families
    # have the same shape (the text format splits a counter's _created samples off).
    own = generate_latest(registry).decode()
    add(_labelled(text_string_to_metric_families(own), fleet.worker))
    for worker, text in fleet.others():
        add(_labelled(text_string_to_metric_families(text), worker))
    out = CollectorRegistry(auto_describe=False)
    out.register(_Merged(list(merged.values())))
    return generate_latest(out)
