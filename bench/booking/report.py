"""Passes of the load generator summarised, and the Markdown report."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from bench.booking.database import RaceCheck
from bench.harness.load import CONNECTION_ERROR, TIMEOUT
from bench.harness.report import commands_section, header, notes_section
from bench.harness.stats import percentile

GOAL_BOOKINGS_PER_SECOND = 200.0


def outcome(status: int, problem: str) -> str:
    if status == TIMEOUT:
        return "client timeout"
    if status == CONNECTION_ERROR:
        return "connection error"
    return f"{status} {problem}".strip()


@dataclass
class Pass:
    """One run of the load generator, with the CPU its processes used meanwhile."""

    name: str
    wall: float
    results: list[tuple[int, str, int, str, float, float]]
    cpu_server: float = 0.0
    cpu_postgres: float = 0.0
    cpu_loadgen: float = 0.0
    other_cores: float = 0.0
    charges: dict[str, int] = field(default_factory=dict)
    waits: list[str] = field(default_factory=list)
    postgres_roles: dict[str, float] = field(default_factory=dict)

    def roles_line(self) -> str:
        parts = [
            f"{role} {self.per_booking_ms(seconds):.2f}"
            for role, seconds in self.postgres_roles.items()
            if seconds >= 0.005
        ]
        return "PostgreSQL CPU ms per booking by process: " + (", ".join(parts) or "none")

    def bookings(self) -> list[tuple[int, str, int, str, float, float]]:
        return [r for r in self.results if r[1] == "book"]

    @property
    def booked(self) -> int:
        return sum(1 for r in self.bookings() if r[2] == 201)

    @property
    def rate(self) -> float:
        return self.booked / self.wall if self.wall else 0.0

    def latencies_ms(self, status: int | None = 201) -> list[float]:
        return sorted(
            (end - start) * 1000
            for _c, _k, s, _p, start, end in self.bookings()
            if status is None or s == status
        )

    def p(self, fraction: float, status: int | None = 201) -> float:
        return percentile(self.latencies_ms(status), fraction)

    def outcomes(self) -> Counter[str]:
        return Counter(outcome(s, p) for _c, _k, s, p, _a, _b in self.bookings())

    def errors(self) -> Counter[str]:
        return Counter({k: n for k, n in self.outcomes().items() if not k.startswith("201")})

    def searches(self) -> int:
        return sum(1 for r in self.results if r[1] == "search")

    def per_booking_ms(self, cpu: float) -> float:
        return cpu / self.booked * 1000 if self.booked else float("nan")


@dataclass
class Race:
    pass_: Pass
    clients: int
    seats: int
    flight_id: int
    check: RaceCheck

    @property
    def settle(self) -> float:
        return max((r[5] for r in self.pass_.bookings()), default=float("nan"))

    def nth_success(self, n: int) -> float:
        ends = sorted(r[5] for r in self.pass_.bookings() if r[2] == 201)
        return ends[n - 1] if len(ends) >= n else float("nan")

    def invariants(self) -> list[tuple[str, bool]]:
        c, outcomes = self.check, self.pass_.outcomes()
        created = outcomes.get("201", 0)
        sold_out = outcomes.get("409 sold-out", 0)
        return [
            (f"201 Created answers == {self.seats} (got {created})", created == self.seats),
            (
                f"every other answer is 409 sold-out ({sold_out} of {self.clients - created})",
                sold_out == self.clients - created,
            ),
            (
                f"seats_sold == capacity ({c.seats_sold} of {c.capacity})",
                c.seats_sold == c.capacity,
            ),
            (
                f"confirmed bookings of the race on the flight == {self.seats} (got {c.bookings}), "
                f"passengers {c.passengers}, open tickets {c.tickets}",
                c.bookings == c.passengers == c.tickets == self.seats,
            ),
            (f"double seat assignments == 0 (got {c.duplicate_seats})", c.duplicate_seats == 0),
            (
                f"captured simulated charges == {self.seats} (got {c.charges_succeeded}; voided "
                f"{c.charges_voided}, declined {c.charges_declined})",
                c.charges_succeeded == self.seats,
            ),
            (
                f"charged amount == amount of the bookings' payments ({c.charged_minor:,} vs "
                f"{c.paid_minor:,} minor units, {c.payments} payments)",
                c.charged_minor == c.paid_minor and c.payments == self.seats,
            ),
        ]

    @property
    def passed(self) -> bool:
        return all(ok for _text, ok in self.invariants())


@dataclass
class Report:
    command: str
    settings: dict[str, str]
    throughput: list[Pass] = field(default_factory=list)
    races: list[Race] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    breakdown: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    clients: int = 0
    workers: int = 0


def _errors(counter: Counter[str]) -> str:
    return ", ".join(f"{k}: {n}" for k, n in counter.most_common()) or "none"


def _cpu(p: Pass) -> str:
    return (
        f"{p.per_booking_ms(p.cpu_server):.1f} / {p.per_booking_ms(p.cpu_postgres):.1f} / "
        f"{p.per_booking_ms(p.cpu_loadgen):.1f}"
    )


def render(report: Report) -> str:
    out = header("Booking benchmark", report.command, report.settings)
    out += ["", "## Throughput", ""]
    out += [
        f"{report.clients} clients, each booking one seat at a time on its own flight, "
        f"`--workers {report.workers}`. Latency of the 201 answers in ms; CPU per booking "
        "in ms of CPU time (server processes / PostgreSQL / load generator); *other load*: "
        "cores kept busy by everything else on the machine meanwhile.",
        "",
        "| pass | s | bookings | bookings/s | p50 | p95 | p99 | errors | searches | "
        "CPU ms per booking | other load | charges captured |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for p in report.throughput:
        out.append(
            f"| {p.name} | {p.wall:.1f} | {p.booked:,} | {p.rate:,.0f} | {p.p(0.5):.1f} | "
            f"{p.p(0.95):.1f} | {p.p(0.99):.1f} | {_errors(p.errors())} | {p.searches()} | "
            f"{_cpu(p)} | {p.other_cores:.2f} | {p.charges.get('succeeded', 0):,} |"
        )
    if report.throughput:
        best = max(p.rate for p in report.throughput)
        met = best >= GOAL_BOOKINGS_PER_SECOND
        cpu_ms = sum(
            p.per_booking_ms(p.cpu_server + p.cpu_postgres + p.cpu_loadgen)
            for p in report.throughput
        ) / len(report.throughput)
        out += [
            "",
            f"Goal: at least {GOAL_BOOKINGS_PER_SECOND:.0f} bookings/s with {report.workers} "
            f"workers: **{'met' if met else 'not met'}** (best pass {best:,.0f}/s; passes "
            + ", ".join(f"{p.rate:,.0f}" for p in report.throughput)
            + f"). Server, PostgreSQL and load generator together used {cpu_ms:.1f} ms of CPU "
            f"per booking: {os.cpu_count()} otherwise idle cores would allow at most about "
            f"{(os.cpu_count() or 1) * 1000 / cpu_ms:,.0f} bookings/s.",
        ]
    for p in report.throughput:
        if p.waits:
            out += ["", f"Database sessions during {p.name}:", "", *p.waits]
        if p.postgres_roles:
            out += ["", p.roles_line()]
    out += ["", "## Contention", ""]
    if report.races:
        out += [
            "| race | clients | seats left | time to settle | last seat sold at | first answer "
            "| median answer | answers | invariants |",
            "|---|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for n, race in enumerate(report.races, 1):
            p = race.pass_
            ends = sorted(r[5] for r in p.bookings())
            out.append(
                f"| {n} (flight {race.flight_id}) | {race.clients} | {race.seats} | "
                f"{race.settle * 1000:,.0f} ms | {race.nth_success(race.seats) * 1000:,.0f} ms | "
                f"{ends[0] * 1000:,.0f} ms | {percentile(ends, 0.5) * 1000:,.0f} ms | "
                f"{_errors(p.outcomes())} | {'PASS' if race.passed else 'FAIL'} |"
            )
        out += [
            "",
            "Times from the moment every booking was released at once (each client had already "
            "read `GET /v1/me` over its own open connection) to the answers, as the clients saw "
            "them.",
        ]
        for n, race in enumerate(report.races, 1):
            out += ["", f"Race {n} invariants (checked in SQL after the race):", ""]
            out += [f"- {'PASS' if ok else 'FAIL'}: {text}" for text, ok in race.invariants()]
    else:
        out.append("No race ran.")
    if report.breakdown:
        out += ["", "## Where a booking's time goes", "", *report.breakdown]
    if report.profile:
        out += ["", "## Profile of one worker", "", *report.profile]
    out += ["", *notes_section(report.notes), *commands_section(report.commands)]
    return "\n".join(out)


def summary_line(p: Pass) -> str:
    return (
        f"    {p.booked:,} bookings in {p.wall:.1f} s = {p.rate:,.0f}/s, p50 {p.p(0.5):.1f} ms, "
        f"p99 {p.p(0.99):.1f} ms, errors {_errors(p.errors())}, other load "
        f"{p.other_cores:.2f} cores"
    )
