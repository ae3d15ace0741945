"""Measured passes and the Markdown report: latency per category, throughput, goals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.harness.load import CONNECTION_ERROR, TIMEOUT
from bench.harness.report import commands_section, header, notes_section
from bench.harness.stats import percentile
from bench.search.mix import CATEGORIES, LABELS, ONE_WAY_1, ROUND_TRIP

UNCACHED = "uncached"
CACHED = "cached"
CACHED_SLICES = "cached slices"
NAIVE = "naive"
VARIANTS = (UNCACHED, CACHED, CACHED_SLICES, NAIVE)

# Goals of the issue, on this 2-core machine.
GOAL_UNCACHED_P50_MS = 20.0
GOAL_UNCACHED_P95_MS = 60.0
GOAL_CACHED_P50_MS = 2.0
GOAL_UNCACHED_RATE_2W = 300.0


@dataclass
class Pass:
    """One measured run of a mix against one server."""

    variant: str
    workers: int
    concurrency: int
    categories: dict[int, str]  # search index -> category
    wall: float
    results: list[tuple[int, int, float, int, bool]]
    timeout: float
    cpu_server: float = 0.0
    cpu_postgres: float = 0.0
    cpu_loadgen: float = 0.0
    hit_ratio: float | None = None
    response_hit_ratio: float | None = None
    other_cores: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.results) / self.wall if self.wall else 0.0

    def latencies(self, category: str | None = None, only: set[int] | None = None) -> list[float]:
        """Seconds to an answer of any status, sorted; a client timeout counts as its limit."""
        out = []
        for index, status, seconds, _offers, _complete in self.results:
            if category is not None and self.categories[index] != category:
                continue
            if only is not None and index not in only:
                continue
            out.append(self.timeout if status == TIMEOUT else seconds)
        return sorted(out)

    def p(self, fraction: float, category: str | None = None) -> float:
        return percentile(self.latencies(category), fraction) * 1000

    def statuses(self) -> Counter[int]:
        return Counter(status for _i, status, *_rest in self.results)

    def empty(self) -> int:
        return sum(
            1 for _i, status, _s, offers, _c in self.results if status == 200 and offers == 0
        )

    def partial(self) -> int:
        return sum(
            1 for _i, status, _s, _o, complete in self.results if status == 200 and not complete
        )

    def cpu_ms(self) -> tuple[float, float, float]:
        n = max(1, len(self.results))
        return (
            self.cpu_server / n * 1000,
            self.cpu_postgres / n * 1000,
            self.cpu_loadgen / n * 1000,
        )


@dataclass
class Report:
    command: str
    settings: dict[str, str]
    passes: list[Pass] = field(default_factory=list)
    breakdown: list[str] = field(default_factory=list)
    profiles: dict[str, list[str]] = field(default_factory=dict)
    explain: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def find(self, variant: str, workers: int, concurrency: int) -> Pass | None:
        for p in self.passes:
            if (p.variant, p.workers, p.concurrency) == (variant, workers, concurrency):
                return p
        return None


def _ms(value: float) -> str:
    if value != value:  # NaN
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _triple(p: Pass, category: str | None) -> str:
    return " / ".join(_ms(p.p(f, category)) for f in (0.5, 0.95, 0.99))


def _errors(p: Pass) -> str:
    statuses = p.statuses()
    s503 = statuses.get(503, 0)
    timeouts = statuses.get(TIMEOUT, 0)
    other = sum(n for s, n in statuses.items() if s not in (200, 503, TIMEOUT))
    refused = statuses.get(CONNECTION_ERROR, 0)
    text = f"{s503} / {timeouts} / {other}"
    return text + (f" ({refused} connection errors)" if refused else "")


def _versus_naive(report: Report, p: Pass) -> tuple[str, str]:
    naive = report.find(NAIVE, p.workers, p.concurrency)
    if naive is None or p.variant == NAIVE:
        return "1.00" if p.variant == NAIVE else "-", "1.00" if p.variant == NAIVE else "-"
    # p50 over the same searches the baseline ran (all of them unless it ran a subset).
    same = {index for index, *_rest in naive.results}
    mine = percentile(p.latencies(only=same), 0.5)
    theirs = percentile(naive.latencies(), 0.5)
    rate = f"{p.rate / naive.rate:.1f}x" if naive.rate else "-"
    p50 = f"{theirs / mine:.1f}x" if mine else "-"
    return rate, p50


def results_table(report: Report) -> list[str]:
    cats = " | ".join(LABELS[c] for c in CATEGORIES)
    out = [
        f"| variant | workers | clients | searches | searches/s | all p50 / p95 / p99 | {cats} "
        "| 503 / timeout / other | searches/s vs naive | p50 vs naive "
        "| CPU ms per search: server / PostgreSQL / loadgen | other load (cores) |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * len(CATEGORIES) + "---:|---:|---:|---:|---:|",
    ]
    order = {v: n for n, v in enumerate(VARIANTS)}
    for p in sorted(report.passes, key=lambda p: (p.workers, order[p.variant], p.concurrency)):
        rate, p50 = _versus_naive(report, p)
        per_category = " | ".join(_triple(p, c) for c in CATEGORIES)
        server, postgres, loadgen = p.cpu_ms()
        out.append(
            f"| {p.variant} | {p.workers} | {p.concurrency} | {len(p.results):,} | {p.rate:,.0f} "
            f"| {_triple(p, None)} | {per_category} | {_errors(p)} | {rate} | {p50} "
            f"| {server:.1f} / {postgres:.1f} / {loadgen:.1f} | {p.other_cores:.2f} |"
        )
    return out


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def goals(report: Report) -> list[str]:
    out = [
        "| goal | workers | clients | measured | |",
        "|---|---:|---:|---|---|",
    ]
    order = {v: n for n, v in enumerate(VARIANTS)}
    for p in sorted(report.passes, key=lambda p: (order[p.variant], p.workers, p.concurrency)):
        if p.variant == UNCACHED:
            for category in (ONE_WAY_1, ROUND_TRIP):
                p50, p95 = p.p(0.5, category), p.p(0.95, category)
                ok = p50 < GOAL_UNCACHED_P50_MS and p95 < GOAL_UNCACHED_P95_MS
                out.append(
                    f"| uncached {LABELS[category]}: p50 < {GOAL_UNCACHED_P50_MS:g} ms, "
                    f"p95 < {GOAL_UNCACHED_P95_MS:g} ms | {p.workers} | {p.concurrency} "
                    f"| p50 {_ms(p50)} ms, p95 {_ms(p95)} ms | {_mark(ok)} |"
                )
        elif p.variant in (CACHED, CACHED_SLICES):
            p50 = p.p(0.5)
            worst = max(CATEGORIES, key=lambda c: p.p(0.5, c))
            out.append(
                f"| {p.variant} p50 < {GOAL_CACHED_P50_MS:g} ms | {p.workers} | {p.concurrency} "
                f"| all {_ms(p50)} ms (slowest category: {LABELS[worst]} "
                f"{_ms(p.p(0.5, worst))} ms) | {_mark(p50 < GOAL_CACHED_P50_MS)} |"
            )
    for p in report.passes:
        if p.variant == UNCACHED and p.workers == 2 and p.concurrency > 1:
            out.append(
                f"| uncached ≥ {GOAL_UNCACHED_RATE_2W:g} searches/s | 2 | {p.concurrency} "
                f"| {p.rate:,.0f} searches/s | {_mark(p.rate >= GOAL_UNCACHED_RATE_2W)} |"
            )
    return out


def queueing(report: Report) -> list[str]:
    """Little's law for the loaded passes: how much of their latency is waiting."""
    loaded = [p for p in report.passes if p.concurrency > 1 and p.rate]
    if not loaded:
        return []
    parts = []
    for p in loaded:
        mean = sum(p.latencies()) / len(p.results) * 1000
        parts.append(
            f"{p.variant} {p.workers}w: {_ms(p.concurrency / p.rate * 1000)} ms expected, "
            f"{_ms(mean)} ms measured"
        )
    return [
        "With more clients than cores every pass here is CPU-bound, so its latency is mostly "
        "queueing: by Little's law the mean latency is clients / throughput ("
        + "; ".join(parts)
        + "). The one-client rows give the time a search itself takes.",
        "",
    ]


def answers(report: Report) -> list[str]:
    """What the searches found: empty and partial answers per pass."""
    out = []
    for p in report.passes:
        ok = p.statuses().get(200, 0)
        out.append(
            f"{p.variant}, {p.workers} worker(s), {p.concurrency} client(s): {ok:,} answered 200, "
            f"{p.empty():,} of them with no offer, {p.partial():,} incomplete (budget ran out)"
            + (f"; slice cache hit ratio {p.hit_ratio:.1%}" if p.hit_ratio is not None else "")
            + (
                f"; {p.response_hit_ratio:.1%} answered whole from the response cache"
                if p.response_hit_ratio is not None
                else ""
            )
        )
    return out


def render(report: Report) -> str:
    out = header("Search benchmark", report.command, report.settings)
    out += ["", "## Results", "", *results_table(report), ""]
    out += [
        "Latencies in ms, from the load generator: request sent to response read, any status "
        "(a client timeout counts as the timeout). *clients*: requests in flight. *vs naive*: "
        "searches/s over the baseline's, and the baseline's p50 over this row's p50 on the same "
        "searches, at the same workers and clients. *CPU*: user + system seconds of the server "
        "processes, of PostgreSQL (postmaster, backends, reaped parallel workers) and of the "
        "load generator during the pass, per search. *other load*: cores kept busy by every "
        "other process on the machine during the pass (from /proc/stat), the noise in that row.",
        "",
        "## Goals",
        "",
        *goals(report),
        "",
        *queueing(report),
        "## Answers",
        "",
        *[f"- {line}" for line in answers(report)],
        "",
    ]
    if report.breakdown:
        out += ["## Where the time goes (in process, no HTTP)", "", *report.breakdown]
    for title, lines in report.profiles.items():
        out += [f"## Profile: {title}", "", *lines, ""]
    if report.explain:
        out += ["## Plans", "", *report.explain, ""]
    return "\n".join([*out, *notes_section(report.notes), *commands_section(report.commands)])
