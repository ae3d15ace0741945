"""Figures read back from a benchmark's own Markdown report: its tables, found by their first
header cell, each row's cells by column name. Old commits write the same report, so reading
it needs nothing of them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.harness.stats import median

HIGHER, LOWER, NOISE = "higher", "lower", "noise"
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Metric:
    column: str
    name: str
    better: str
    # Which of "a / b / c" in the cell (the search report's p50 / p95 / p99).
    part: int = 0


@dataclass(frozen=True)
class Table:
    first: str
    keys: tuple[str, ...]
    metrics: tuple[Metric, ...]
    # Columns whose every row must read PASS.
    checks: tuple[str, ...] = ()


_OTHER_LOAD = Metric("other load", "other load (cores)", NOISE)
_SEARCH_CPU = "CPU ms per search: server / PostgreSQL / loadgen"
_SEARCH_LOAD = Metric("other load (cores)", "other load (cores)", NOISE)
SPECS: dict[str, tuple[Table, ...]] = {
    "bench.booking": (
        Table(
            "pass",
            (),
            (
                Metric("bookings/s", "bookings/s", HIGHER),
                Metric("p50", "p50 ms", LOWER),
                Metric("p95", "p95 ms", LOWER),
                # CPU per booking drifts much less with the machine's load than the rate.
                Metric("CPU ms per booking", "server CPU ms per booking", LOWER, 0),
                Metric("CPU ms per booking", "PostgreSQL CPU ms per booking", LOWER, 1),
                _OTHER_LOAD,
            ),
        ),
        Table(
            "race",
            (),
            (Metric("time to settle", "race: time to settle ms", LOWER),),
            checks=("invariants",),
        ),
    ),
    "bench.search": (
        Table(
            "variant",
            ("variant", "workers", "clients"),
            (
                Metric("searches/s", "searches/s", HIGHER),
                Metric("all p50 / p95 / p99", "p50 ms", LOWER, 0),
                Metric("all p50 / p95 / p99", "p95 ms", LOWER, 1),
                Metric(_SEARCH_CPU, "server CPU ms per search", LOWER, 0),
                Metric(_SEARCH_CPU, "PostgreSQL CPU ms per search", LOWER, 1),
                _SEARCH_LOAD,
            ),
        ),
    ),
}


@dataclass
class Figures:
    """One run's figures by name (a median over the rows that share a key) and its checks."""

    values: dict[str, float]
    better: dict[str, str]
    checks: dict[str, str]


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table in ``text``: its rows of cells, header first, rule left out."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= set("-:") for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def number(cell: str, part: int = 0) -> float | None:
    pieces = cell.replace("*", "").split(" / ")
    if part >= len(pieces):
        return None
    match = _NUMBER.search(pieces[part])
    return float(match.group().replace(",", "")) if match else None


def figures(bench: str, text: str) -> Figures:
    out = Figures({}, {}, {})
    for spec in SPECS[bench]:
        for table in tables(text):
            header, rows = table[0], table[1:]
            if header[0] != spec.first:
                continue
            column = {name: n for n, name in enumerate(header)}
            grouped: dict[str, list[float | None]] = {}
            for row in rows:
                key = " ".join(row[column[k]] for k in spec.keys)
                for metric in spec.metrics:
                    name = f"{key} {metric.name}".strip()
                    grouped.setdefault(name, []).append(
                        number(row[column[metric.column]], metric.part)
                    )
                    out.better[name] = metric.better
            for name, values in grouped.items():
                value = median(values)
                if value is not None:
                    out.values[name] = value
            for check in spec.checks:
                cells = [row[column[check]] for row in rows]
                passed = sum(cell == "PASS" for cell in cells)
                out.checks[f"{spec.first} {check}"] = f"{passed} of {len(cells)} PASS"
    return out
