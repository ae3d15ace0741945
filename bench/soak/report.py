"""Results of the soak, minute by minute, and their Markdown report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.harness.report import commands_section, header, notes_section, number, percent
from bench.harness.stats import nearest_rank
from bench.soak.clients import BUCKET_BASE

# Flat after warm-up: from the end of minute WARMUP_MINUTES to the end of the run.
WARMUP_MINUTES = 2
GOAL_RSS_GROWTH = 0.05  # at most 5% more RSS at the end than after warm-up
GOAL_FD_GROWTH = 0.05  # open files, same


@dataclass
class Minute:
    """One minute of the run (minute 0: connecting the clients, before any event)."""

    index: int
    events: int = 0
    written_ok: int = 0
    deliveries: int = 0
    replayed: int = 0
    lost: int = 0
    dup: int = 0
    ooo: int = 0
    latency: Counter[int] = field(default_factory=Counter)
    connects: int = 0
    orderly: int = 0
    abrupt: int = 0
    resets: int = 0
    server_closes: Counter[str] = field(default_factory=Counter)
    connect_failures: Counter[str] = field(default_factory=Counter)
    ws_errors: Counter[str] = field(default_factory=Counter)
    loop_lag_s: float = 0.0
    rss_kb: int | None = None
    fds: int | None = None
    server_procs: int = 0
    server_cpu: float | None = None
    postgres_cpu: float | None = None
    loadgen_cpu: list[float] = field(default_factory=list)
    machine_cpu: float | None = None
    load_average: float | None = None
    ready: str = ""

    def add(self, counters: Mapping[str, Any]) -> None:
        """Fold one load generator's counters for this minute in."""
        for name in ("deliveries", "replayed", "dup", "ooo", "connects", "orderly", "abrupt"):
            setattr(self, name, getattr(self, name) + int(counters[name]))
        self.resets += int(counters["resets"])
        self.latency.update({int(k): v for k, v in counters["latency"].items()})
        self.server_closes.update(counters["server_closes"])
        self.connect_failures.update(counters["connect_failures"])
        self.ws_errors.update(counters["ws_errors"])
        self.loop_lag_s = max(self.loop_lag_s, float(counters["loop_lag"]))

    @property
    def disconnects(self) -> int:
        return self.orderly + self.abrupt

    def percentile_ms(self, fraction: float) -> float | None:
        return percentile_ms(self.latency, fraction)


def percentile_ms(histogram: Counter[int], fraction: float) -> float | None:
    """Nearest-rank percentile of a log-bucketed histogram (1% wide buckets), in ms."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = nearest_rank(fraction, total)
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return float(BUCKET_BASE**bucket * 1000)
    return None  # pragma: no cover - rank <= total


@dataclass
class Report:
    command: str
    settings: dict[str, str]
    minutes: list[Minute] = field(default_factory=list)
    expected: int = 0
    foreign: int = 0
    never_subscribed: int = 0
    lost_samples: list[str] = field(default_factory=list)
    verified: bool = False
    notes: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def measured(self) -> list[Minute]:
        return [m for m in self.minutes if m.index >= 1]

    def total(self, name: str) -> int:
        return sum(int(getattr(m, name)) for m in self.minutes)

    def latency(self) -> Counter[int]:
        merged: Counter[int] = Counter()
        for m in self.minutes:
            merged.update(m.latency)
        return merged


def _mib(kb: int | None) -> str:
    return "n/a" if kb is None else f"{kb / 1024:,.0f}"


def _int(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _counts(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1]))


def _growth(rows: list[Minute], value: str) -> tuple[float | None, str]:
    """Growth of a sampled value from the end of warm-up to the end, and how it is shown."""
    after = [m for m in rows if m.index >= WARMUP_MINUTES and getattr(m, value) is not None]
    if len(after) < 2:
        return None, f"needs {WARMUP_MINUTES + 1}+ minutes"
    first, last = getattr(after[0], value), getattr(after[-1], value)
    if not first:
        return None, "n/a"
    shown = f"{first:,} → {last:,}" if value == "fds" else f"{_mib(first)} → {_mib(last)} MiB"
    return (last - first) / first, shown


def _goals(report: Report) -> list[str]:
    lost, dup, ooo = report.total("lost"), report.total("dup"), report.total("ooo")
    rss, rss_shown = _growth(report.minutes, "rss_kb")
    fds, fds_shown = _growth(report.minutes, "fds")

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "**missed**")

    checked = report.verified
    out = ["## Goals", "", "| goal | measured | |", "|---|---:|---|"]
    out.append(
        f"| no lost event (every client, resumed ones too, has every event of its topics) "
        f"| {lost:,} of {report.expected:,} | {verdict(lost == 0 if checked else None)} |"
    )
    out.append(f"| no duplicate | {dup:,} | {verdict(dup == 0 if checked else None)} |")
    out.append(f"| nothing out of order | {ooo:,} | {verdict(ooo == 0 if checked else None)} |")
    out.append(
        f"| server RSS flat after warm-up (≤ {GOAL_RSS_GROWTH:.0%} from minute "
        f"{WARMUP_MINUTES} to the end) | {rss_shown} ({'n/a' if rss is None else f'{rss:+.1%}'}) "
        f"| {verdict(None if rss is None else rss <= GOAL_RSS_GROWTH)} |"
    )
    out.append(
        f"| server open files flat after warm-up (≤ {GOAL_FD_GROWTH:.0%}) | {fds_shown} "
        f"({'n/a' if fds is None else f'{fds:+.1%}'}) "
        f"| {verdict(None if fds is None else fds <= GOAL_FD_GROWTH)} |"
    )
    out.append("")
    return out


def _table(report: Report) -> list[str]:
    out = [
        "## Minute by minute",
        "",
        "| minute | events written | deliveries | lost | dup | out of order | p50 ms | p99 ms "
        "| RSS MiB | fds | connects | disconnects |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in report.minutes:
        label = "0 (connect)" if m.index == 0 else str(m.index)
        out.append(
            f"| {label} | {m.events:,} | {m.deliveries:,} | {m.lost:,} | {m.dup:,} | {m.ooo:,} "
            f"| {number(m.percentile_ms(0.5))} | {number(m.percentile_ms(0.99))} "
            f"| {_mib(m.rss_kb)} "
            f"| {_int(m.fds)} | {m.connects:,} | {m.disconnects:,} |"
        )
    merged = report.latency()
    out.append(
        f"| **all** | {report.total('events'):,} | {report.total('deliveries'):,} "
        f"| {report.total('lost'):,} | {report.total('dup'):,} | {report.total('ooo'):,} "
        f"| {number(percentile_ms(merged, 0.5))} | {number(percentile_ms(merged, 0.99))} | | "
        f"| {report.total('connects'):,} | {report.total('disconnects'):,} |"
    )
    out += [
        "",
        "*events written*: `change_events` rows of the run by the minute of their `created_at` "
        "(the capture's `clock_timestamp()`). *deliveries*: events the clients received that "
        "minute (live and replayed after a resume; snapshots not counted). *lost*: events of a "
        "client's topic after its first snapshot that it never received, by the minute the event "
        "was written, counted by id against `change_events` after the run has drained. *dup*: an "
        "event received again (or one older than the client's snapshot); *out of order*: an "
        "event older than one already received that was not received before. *p50/p99*: "
        "the client's `time.time()` at receipt minus the event's `at` (its `created_at`, a few "
        "hundred microseconds before the commit), over live deliveries: events written after "
        "the connection that received them was requested (catch-up replays after a resume are "
        "in *replayed* below). *RSS*, *fds*: VmRSS and entries of `/proc/<pid>/fd`, summed over "
        "the server's processes, sampled at the end of the minute. *connects*: handshakes that "
        "ended subscribed (minute 0: the first connection of every client); *disconnects*: "
        "clients that left, with an orderly close or a RST (details below). Deliveries and "
        "connects after the last minute (the final catch-up) count in the last minute.",
        "",
    ]
    return out


def _details(report: Report) -> list[str]:
    out = [
        "## Details",
        "",
        "| minute | replayed | orderly / RST leaves | server closes | connect failures "
        "| resets | server CPU | PostgreSQL CPU | load generator CPU | load generator lag ms "
        "| machine CPU | load average | server procs | `/readyz` |",
        "|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in report.minutes:
        gens = " / ".join(f"{c:.0%}" for c in m.loadgen_cpu) or "n/a"
        out.append(
            f"| {m.index} | {m.replayed:,} | {m.orderly:,} / {m.abrupt:,} "
            f"| {_counts(m.server_closes) or '0'} | {_counts(m.connect_failures) or '0'} "
            f"| {m.resets:,} | {percent(m.server_cpu)} | {percent(m.postgres_cpu)} | {gens} "
            f"| {m.loop_lag_s * 1000:,.0f} | {percent(m.machine_cpu)} "
            f"| {number(m.load_average, 2)} "
            f"| {m.server_procs} | {m.ready} |"
        )
    out += [
        "",
        "*CPU*: user+system time over the minute's wall time, 100% = one core; the load "
        "generator column gives each of its processes. *load generator lag*: the longest a "
        "50 ms sleep of a load generator overslept in the minute: how late its event loop "
        "ran, and so how much of a latency may be the client's own queueing. *server closes*: "
        "streams the server ended while the client meant to stay (an SSE `error` event's "
        "code, a WebSocket close code, or the socket error); those clients come back 1 s "
        "later and resume. *resets*: a `reset` + `snapshot` instead of a replay.",
        "",
    ]
    return out


def render(report: Report, extra_notes: Iterable[str] = ()) -> str:
    out = header("Soak benchmark", report.command, report.settings)
    out += ["", *_goals(report), *_table(report), *_details(report)]
    notes = [*report.notes, *extra_notes]
    ws_errors: Counter[str] = Counter()
    for m in report.minutes:
        ws_errors.update(m.ws_errors)
    if ws_errors:
        notes.append(f"WebSocket error frames received: {_counts(ws_errors)}")
    if report.lost_samples:
        notes.append("examples of lost events: " + "; ".join(report.lost_samples))
    return "\n".join([*out, *notes_section(notes), *commands_section(report.commands)])
