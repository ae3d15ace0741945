"""Merging the workers' published metrics into one exposition."""

from __future__ import annotations

import os
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from foundation.fleet_metrics import STALE_SECONDS, Fleet, fleet_exposition


def _registry(requests: int) -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = Counter("skybound_http_requests", "Requests.", ["route"], registry=registry)
    counter.labels("/v1/search").inc(requests)
    return registry


def test_a_scrape_labels_each_workers_samples_and_leaves_out_the_dead(tmp_path: Path) -> None:
    Fleet(tmp_path, "1").publish(generate_latest(_registry(5)))
    Fleet(tmp_path, "2").publish(generate_latest(_registry(7)))
    dead = tmp_path / "worker-2.prom"
    old = time.time() - STALE_SECONDS - 1
    os.utime(dead, (old, old))

    text = fleet_exposition(_registry(3), Fleet(tmp_path, "0")).decode()
    samples = {
        (s.labels["worker"], s.labels["route"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "skybound_http_requests_total"
    }
    assert samples == {("0", "/v1/search"): 3.0, ("1", "/v1/search"): 5.0}
    # One family each, whatever the number of workers: a valid exposition.
    assert text.count("# TYPE skybound_http_requests_total counter") == 1
    assert text.count("# TYPE skybound_http_requests_created gauge") == 1


def test_publishing_replaces_the_file_whole(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path, "0")
    fleet.publish(b"first\n")
    fleet.publish(b"second\n")
    assert [p.name for p in tmp_path.iterdir()] == ["worker-0.prom"]
    assert fleet.path_of("0").read_bytes() == b"second\n"
