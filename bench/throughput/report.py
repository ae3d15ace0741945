"""Results of the throughput benchmark and their Markdown report."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.harness.report import commands_section, header, notes_section
from bench.harness.servers import SeedResult

PEER_LABEL = "peer: bare aiohttp hello"


@dataclass(frozen=True)
class LoadResult:
    label: str
    workers: int
    requests: int
    requests_per_second: float
    p50_us: int
    p99_us: int
    errors: dict[str, int]
    is_peer: bool = False


@dataclass
class Report:
    command: str
    settings: dict[str, str]
    seed: SeedResult | None = None
    loads: list[LoadResult] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def bracket(before: LoadResult, after: LoadResult) -> LoadResult:
    """The peer measured before and after Skybound, averaged: drift hits both sides alike."""
    errors = {
        k: before.errors.get(k, 0) + after.errors.get(k, 0) for k in {*before.errors, *after.errors}
    }
    return LoadResult(
        label=before.label,
        workers=before.workers,
        requests=before.requests + after.requests,
        requests_per_second=(before.requests_per_second + after.requests_per_second) / 2,
        p50_us=(before.p50_us + after.p50_us) // 2,
        p99_us=(before.p99_us + after.p99_us) // 2,
        errors=errors,
        is_peer=True,
    )


def _ms(us: int) -> str:
    return f"{us / 1000:.2f} ms"


def render(report: Report) -> str:
    out = [*header("Foundation benchmark", report.command, report.settings), ""]
    if report.seed is not None:
        s = report.seed
        out += [
            "## Seed",
            "",
            "| step | legs | cabins | seed s | legs/s | command wall s |",
            "|---|---:|---:|---:|---:|---:|",
            f"| `{s.command}` | {s.flights:,} | {s.cabins:,} | {s.seconds:.1f} | "
            f"{s.legs_per_second:,.0f} | {s.wall_seconds:.1f} |",
            "",
            "*seed s* and *legs/s* are what the command reports; *command wall s* adds starting "
            "a fresh embedded PostgreSQL and migrating.",
            "",
        ]
    peers = {r.workers: r.requests_per_second for r in report.loads if r.is_peer}
    out += [
        "## HTTP",
        "",
        "| endpoint | workers | requests/s | p50 | p99 | ratio to hello |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(report.loads, key=lambda r: (r.workers, not r.is_peer)):
        peer = peers.get(r.workers)
        ratio = f"{r.requests_per_second / peer:.2f}" if peer else "n/a"
        out.append(
            f"| {r.label} | {r.workers} | {r.requests_per_second:,.0f} | {_ms(r.p50_us)} | "
            f"{_ms(r.p99_us)} | {ratio} |"
        )
    out.append("")
    errors = [f"{r.label} ({r.workers} workers): {r.errors}" for r in report.loads if r.errors]
    notes = [*report.notes, "wrk errors: " + ("; ".join(errors) if errors else "none")]
    return "\n".join([*out, *notes_section(notes), *commands_section(report.commands)])
