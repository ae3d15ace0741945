"""Results of the fan-out benchmark and their Markdown report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.harness.report import commands_section, header, notes_section, number, percent
from bench.harness.stats import median, ratio

SKYBOUND = "skybound"
WS = "ws"
COMPAT = "compat"
PEER = "peer"
BARE = "bare"
ORDER = {SKYBOUND: 0, WS: 1, COMPAT: 2, PEER: 3, BARE: 4}

# The goals Skybound is held to at 10,000 subscribers.
GOAL_CLIENTS = 10_000
GOAL_P50_MS = 46.0
GOAL_P99_MS = 159.0
GOAL_RATE = 100_000.0
GOAL_VS_BARE = 0.6
GOAL_VS_PEER = 2.0
GOAL_KB_PER_CLIENT = 30.0
# The Supabase-compatible endpoint's goals (issue 13), at the same client count.
GOAL_COMPAT_P99_MS = 159.0
GOAL_COMPAT_CHANGES = 50.0
GOAL_COMPAT_VS_WS = 0.7
# A sustained rate is held if the last client is this close behind the last commit.
SUSTAIN_LAG_MS = 1000.0


@dataclass
class Row:
    """One target at one client count, in one round."""

    target: str
    label: str
    clients: int
    round: int = 1
    connected: int = 0
    connect_seconds: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    latency_deliveries: int = 0
    latency_expected: int = 0
    peak_rate: float | None = None
    burst_deliveries: int = 0
    burst_expected: int = 0
    burst_seconds: float | None = None
    burst_events: int = 0
    burst_open: int = 0
    bytes_per_event: float | None = None
    rss_before_kb: int | None = None
    rss_connected_kb: int | None = None
    server_cpu: float | None = None
    server_cpu_seconds: float | None = None
    loadgen_cpu: float | None = None
    machine_cpu: float | None = None
    load_average: float | None = None
    burst_writes: int | None = None
    bulk_events: int = 0
    bulk_transactions: int = 0
    bulk_deliveries: int = 0
    bulk_expected: int = 0
    bulk_seconds: float = 0.0
    bulk_cpu_seconds: float | None = None
    bulk_writes: int | None = None
    bulk_pings: int = 0
    sustain_events: int = 0
    sustain_offered: float | None = None
    sustain_deliveries: int = 0
    sustain_expected: int = 0
    sustain_min_per_client: int = 0
    sustain_lag_ms: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def changes_per_client(self) -> float | None:
        """Burst changes per second every client received: its events over the time from
        the first delivery to the last (only when every client got them all)."""
        if (
            not self.burst_seconds
            or self.burst_open < self.connected
            or self.burst_deliveries < self.burst_expected
        ):
            return None
        return self.burst_events / self.burst_seconds

    @property
    def sustained(self) -> float | None:
        """The sustained phase's rate, if every client received every change and the last
        was at most SUSTAIN_LAG_MS behind the last commit; None if it was not held."""
        if (
            not self.sustain_events
            or self.sustain_offered is None
            or self.sustain_lag_ms is None
            or self.sustain_deliveries < self.sustain_expected
            or self.sustain_min_per_client < self.sustain_events
            or self.sustain_lag_ms > SUSTAIN_LAG_MS
        ):
            return None
        return self.sustain_offered

    @property
    def per_cpu_second(self) -> float | None:
        """Burst deliveries per second of server CPU: less sensitive to a busy machine."""
        if not self.server_cpu_seconds or not self.burst_deliveries:
            return None
        return self.burst_deliveries / self.server_cpu_seconds

    @property
    def burst_writes_per_delivery(self) -> float | None:
        if self.burst_writes is None or not self.burst_deliveries:
            return None
        return self.burst_writes / self.burst_deliveries

    @property
    def bulk_rate(self) -> float | None:
        if not self.bulk_seconds or not self.bulk_deliveries:
            return None
        return self.bulk_deliveries / self.bulk_seconds

    @property
    def bulk_cpu_us(self) -> float | None:
        """Server CPU per bulk delivery, in microseconds."""
        if self.bulk_cpu_seconds is None or not self.bulk_deliveries:
            return None
        return self.bulk_cpu_seconds / self.bulk_deliveries * 1e6

    @property
    def bulk_writes_per_delivery(self) -> float | None:
        if self.bulk_writes is None or not self.bulk_deliveries:
            return None
        return self.bulk_writes / self.bulk_deliveries

    @property
    def kb_per_client(self) -> float | None:
        if self.rss_before_kb is None or self.rss_connected_kb is None or not self.connected:
            return None
        return (self.rss_connected_kb - self.rss_before_kb) / self.connected


@dataclass(frozen=True)
class Summary:
    """One target at one client count: the median of its rounds."""

    target: str
    label: str
    clients: int
    rounds: int
    connected: int
    connect_seconds: float | None
    p50_ms: float | None
    p99_ms: float | None
    peak_rate: float | None
    kb_per_client: float | None
    per_cpu_second: float | None
    bulk_rate: float | None
    bulk_cpu_us: float | None
    bulk_writes_per_delivery: float | None
    changes_per_client: float | None
    sustained: float | None
    sustain_offered: float | None

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Summary:
        first = rows[0]
        return cls(
            target=first.target,
            label=first.label,
            clients=first.clients,
            rounds=len(rows),
            connected=min(r.connected for r in rows),
            connect_seconds=median(r.connect_seconds for r in rows),
            p50_ms=median(r.p50_ms for r in rows),
            p99_ms=median(r.p99_ms for r in rows),
            peak_rate=median(r.peak_rate for r in rows),
            kb_per_client=median(r.kb_per_client for r in rows),
            per_cpu_second=median(r.per_cpu_second for r in rows),
            bulk_rate=median(r.bulk_rate for r in rows),
            bulk_cpu_us=median(r.bulk_cpu_us for r in rows),
            bulk_writes_per_delivery=median(r.bulk_writes_per_delivery for r in rows),
            changes_per_client=median(r.changes_per_client for r in rows),
            # Held only if held in every round.
            sustained=None
            if any(r.sustained is None for r in rows)
            else median(r.sustained for r in rows),
            sustain_offered=median(r.sustain_offered for r in rows),
        )


@dataclass
class Report:
    command: str
    settings: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)

    def summaries(self) -> list[Summary]:
        groups: dict[tuple[int, int, str], list[Row]] = {}
        for row in self.rows:
            key = (row.clients, ORDER.get(row.target, 9), row.target)
            groups.setdefault(key, []).append(row)
        return [Summary.of(groups[key]) for key in sorted(groups)]

    def find(self, target: str, clients: int) -> Summary | None:
        for summary in self.summaries():
            if summary.target == target and summary.clients == clients:
                return summary
        return None

    def ratio(self, mine: Summary, other: str, *, per_cpu: bool = False) -> float | None:
        theirs = self.find(other, mine.clients)
        if theirs is None:
            return None
        if per_cpu:
            return ratio(mine.per_cpu_second, theirs.per_cpu_second)
        return ratio(mine.peak_rate, theirs.peak_rate)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _sustained(s: Summary) -> str:
    if s.sustain_offered is None:
        return ""
    return number(s.sustained, 1) if s.sustained is not None else "not held"


def _bulk(report: Report) -> list[str]:
    bulk_rows = [r for r in report.rows if r.bulk_events]
    if not bulk_rows:
        return []
    first = bulk_rows[0]
    out = [
        "## Bulk updates",
        "",
        f"{first.bulk_transactions} transactions, one at a time, each changing "
        f"{first.bulk_events} gates of the board's flights: Skybound's listener releases each "
        "transaction's events at once; the peers get one NOTIFY per row.",
        "",
        "| target | clients | deliveries/s | server CPU per delivery (us) "
        "| write syscalls per delivery |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in report.summaries():
        if s.bulk_rate is None and s.bulk_cpu_us is None:
            continue
        out.append(
            f"| {s.label} | {s.clients:,} | {number(s.bulk_rate, 0)} | {number(s.bulk_cpu_us, 2)} "
            f"| {number(s.bulk_writes_per_delivery, 3)} |"
        )
    out += [
        "",
        "*deliveries/s*: each transaction's deliveries over the time from its first to its "
        "last client receipt, summed over transactions. *CPU* and *write syscalls* "
        "(`syscw` of `/proc/<pid>/io`) cover the whole phase, heartbeats included "
        "(a `: ping` to every client every 15 s; the details count those received).",
        "",
        "| target | clients | round | deliveries | seconds | server CPU s | write syscalls "
        "| pings received |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(bulk_rows, key=lambda r: (r.clients, ORDER.get(r.target, 9), r.round)):
        out.append(
            f"| {row.label} | {row.clients:,} | {row.round} | {row.bulk_deliveries:,} / "
            f"{row.bulk_expected:,} | {number(row.bulk_seconds, 2)} | "
            f"{number(row.bulk_cpu_seconds, 2)} | "
            f"{'n/a' if row.bulk_writes is None else f'{row.bulk_writes:,}'} | "
            f"{row.bulk_pings:,} |"
        )
    out.append("")
    return out


Goal = tuple[str, str, float | None, float, str]
"""(what, shown value, value, bound, "<" or ">=")."""


def _goal_table(goals: Sequence[Goal]) -> list[str]:
    out = ["| goal | measured | |", "|---|---:|---|"]
    for name, shown, value, bound, op in goals:
        ok = None if value is None else (value < bound if op == "<" else value >= bound)
        verdict = "n/a" if ok is None else ("met" if ok else "**missed**")
        out.append(f"| {name} | {shown} | {verdict} |")
    return out


def _goals(report: Report) -> list[str]:
    row = report.find(SKYBOUND, GOAL_CLIENTS)
    out = [f"## Goals (Skybound at {GOAL_CLIENTS:,} subscribers)", ""]
    if row is None:
        return [*out, f"Skybound was not measured at {GOAL_CLIENTS:,} clients.", ""]
    vs_bare = report.ratio(row, BARE)
    vs_peer = report.ratio(row, PEER)
    goals: list[Goal] = [
        (f"p50 < {GOAL_P50_MS:g} ms", number(row.p50_ms), row.p50_ms, GOAL_P50_MS, "<"),
        (f"p99 < {GOAL_P99_MS:g} ms", number(row.p99_ms), row.p99_ms, GOAL_P99_MS, "<"),
        (
            f"≥ {GOAL_RATE:,.0f} deliveries/s per process",
            number(row.peak_rate, 0),
            row.peak_rate,
            GOAL_RATE,
            ">=",
        ),
        (f"≥ {GOAL_VS_BARE}x bare writer", _ratio(vs_bare) or "n/a", vs_bare, GOAL_VS_BARE, ">="),
        (f"≥ {GOAL_VS_PEER:g}x peer", _ratio(vs_peer) or "n/a", vs_peer, GOAL_VS_PEER, ">="),
        (
            f"< {GOAL_KB_PER_CLIENT:g} KB per idle connection",
            number(row.kb_per_client),
            row.kb_per_client,
            GOAL_KB_PER_CLIENT,
            "<",
        ),
    ]
    out += _goal_table(goals)
    out.append("")
    return out


def _compat_goals(report: Report) -> list[str]:
    row = report.find(COMPAT, GOAL_CLIENTS)
    out = [f"## Goals (Supabase-compatible endpoint at {GOAL_CLIENTS:,} subscribers)", ""]
    if row is None:
        return [*out, f"The compatible endpoint was not measured at {GOAL_CLIENTS:,} clients.", ""]
    vs_ws = report.ratio(row, WS)
    # Not held counts as none delivered: the goal is missed, not unmeasured.
    changes = row.sustained if row.sustained is not None or not row.sustain_offered else 0.0
    goals: list[Goal] = [
        (f"p99 < {GOAL_COMPAT_P99_MS:g} ms", number(row.p99_ms), row.p99_ms,
         GOAL_COMPAT_P99_MS, "<"),
        (f"≥ {GOAL_COMPAT_CHANGES:g} changes/s to every subscriber (sustained)",
         _sustained(row), changes,
         GOAL_COMPAT_CHANGES * 0.99, ">="),
        (f"≥ {GOAL_COMPAT_VS_WS}x native WebSocket deliveries/s", _ratio(vs_ws) or "n/a", vs_ws,
         GOAL_COMPAT_VS_WS, ">="),
    ]  # fmt: skip
    out += _goal_table(goals)
    out += [
        "",
        "The sustained rate is the paced phase's commit rate (its first to last commit), "
        "counted as met if it is within 1% of the goal and held.",
        "",
    ]
    return out


def _results(report: Report) -> list[str]:
    summaries = report.summaries()
    rounds = max((s.rounds for s in summaries), default=1)
    out = [
        "## Results",
        "",
        "| target | clients | connect time (s) | p50 ms | p99 ms | peak deliveries/s | "
        "changes/s to every client | sustained changes/s | RSS per client (KB) "
        "| vs bare | vs peer | vs WebSocket |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        clients = f"{s.clients:,}"
        if s.connected != s.clients:
            clients += f" ({s.connected:,} connected)"
        sky = s.target in (SKYBOUND, WS, COMPAT)
        out.append(
            f"| {s.label} | {clients} | {number(s.connect_seconds, 2)} | {number(s.p50_ms)} | "
            f"{number(s.p99_ms)} | {number(s.peak_rate, 0)} | "
            f"{number(s.changes_per_client, 0)} | {_sustained(s)} | {number(s.kb_per_client)} | "
            f"{_ratio(report.ratio(s, BARE)) if sky else ''} | "
            f"{_ratio(report.ratio(s, PEER)) if sky else ''} | "
            f"{_ratio(report.ratio(s, WS)) if s.target == COMPAT else ''} |"
        )
    out += [
        "",
        *(
            [f"Each figure is the median of {rounds} rounds; every round is in the details.", ""]
            if rounds > 1
            else []
        ),
        "*connect time*: from the first connection attempt until every client is subscribed "
        "(Skybound SSE and WebSocket: its `snapshot` arrived; Supabase-compatible: its "
        "`Subscribed to PostgreSQL` system message; peer: its `: subscribed` comment; bare "
        "writer: response headers). *p50/p99*: commit-to-client latency over every (client, event) "
        "delivery of the paced phase (client `time.time()` minus the event's `at`, or its "
        "`commit_timestamp` in a `postgres_changes` message). "
        "*peak deliveries/s*: events received by all clients in the burst, divided by the time "
        "from the first to the last of them. *changes/s to every client*: the burst's changes "
        "over that same span, when every client received every one (each client received "
        "them at least this fast). *sustained changes/s*: changes committed at a steady rate; "
        f"the rate is shown if every client received every change and the last one was at "
        f"most {SUSTAIN_LAG_MS / 1000:g} s behind the last commit, *not held* otherwise. "
        "*RSS per client*: growth of the server's VmRSS "
        "from before the first client to all clients connected and idle, divided by clients. "
        "*vs*: peak deliveries/s over the other target's in the same run and client count.",
        "",
    ]
    for s in summaries:
        if s.target not in (SKYBOUND, WS, COMPAT):
            continue
        vs_bare = report.ratio(s, BARE, per_cpu=True)
        vs_peer = report.ratio(s, PEER, per_cpu=True)
        if vs_bare is not None or vs_peer is not None:
            out += [
                f"Per second of server CPU at {s.clients:,} clients, {s.label} delivers "
                f"{_ratio(vs_bare) or 'n/a'} as much as the bare writer and "
                f"{_ratio(vs_peer) or 'n/a'} as much as the peer.",
                "",
            ]
    return out


def _details(report: Report) -> list[str]:
    out = [
        "## Details",
        "",
        "| target | clients | round | latency deliveries | max ms | burst deliveries "
        "| burst s | bytes/event | server CPU | load generator CPU | machine CPU | load average "
        "| deliveries per server CPU-s | write syscalls per delivery "
        "| RSS before → connected (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(report.rows, key=lambda r: (r.clients, ORDER.get(r.target, 9), r.round)):
        rss = (
            f"{row.rss_before_kb / 1024:,.0f} → {row.rss_connected_kb / 1024:,.0f}"
            if row.rss_before_kb is not None and row.rss_connected_kb is not None
            else "n/a"
        )
        out.append(
            f"| {row.label} | {row.clients:,} | {row.round} | {row.latency_deliveries:,} / "
            f"{row.latency_expected:,} | {number(row.max_ms)} | {row.burst_deliveries:,} / "
            f"{row.burst_expected:,} ({row.burst_events} events) | "
            f"{number(row.burst_seconds, 2)} | {number(row.bytes_per_event, 0)} | "
            f"{percent(row.server_cpu)} | {percent(row.loadgen_cpu)} | "
            f"{percent(row.machine_cpu)} | "
            f"{number(row.load_average)} | {number(row.per_cpu_second, 0)} | "
            f"{number(row.burst_writes_per_delivery, 3)} | {rss} |"
        )
    out += [
        "",
        "*CPU*: user+system time during the burst window (first commit until the last client "
        "is served) over that window's wall time; 100% is one core. *machine CPU* counts every "
        "process on the machine (PostgreSQL, and anything else running on the shared VM): "
        "200% means both cores were busy. *load average*: the 1-minute load average at the "
        "burst's end; the server and load generator account for about 2 of it, and well above "
        "that other processes competed for the two cores, so that round's wall-clock figures "
        "are unreliable. *deliveries per server "
        "CPU-s* divides the burst's deliveries by the server's CPU time, which a busy machine "
        "disturbs less than wall time. *write syscalls per delivery*: the server's `syscw` "
        "during the burst over its deliveries.",
        "",
    ]
    return out


def render(report: Report) -> str:
    out = header("Fan-out benchmark", report.command, report.settings)
    out += ["", *_results(report), *_bulk(report), *_goals(report), *_compat_goals(report)]
    out += _details(report)
    notes = [*report.notes]
    for row in report.rows:
        where = f"{row.label} at {row.clients:,} clients" + (
            f" (round {row.round})" if any(r.round > 1 for r in report.rows) else ""
        )
        notes += [f"{where}: {n}" for n in row.notes]
    out += notes_section(notes)
    if report.profile:
        out += ["## Profile", "", *report.profile, ""]
    return "\n".join([*out, *commands_section(report.commands)])
