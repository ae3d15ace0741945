"""The rounds and the ratio of every figure after / before within each round, as Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness.report import header, notes_section
from bench.harness.stats import median
from bench.versus.checkout import Side
from bench.versus.tables import HIGHER, NOISE, Figures, figures


@dataclass
class Run:
    round: int
    side: str
    started: str
    wall: float
    load: float
    code: int
    report: str
    figures: Figures | None


@dataclass
class Versus:
    bench: str
    bench_args: list[str]
    command: str
    settings: dict[str, str]
    sides: dict[str, Side]
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def value(self, round_: int, side: str, name: str) -> float | None:
        for run in self.runs:
            if run.round == round_ and run.side == side and run.figures:
                return run.figures.values.get(name)
        return None

    def rounds(self) -> list[int]:
        return sorted({run.round for run in self.runs})

    def names(self) -> list[str]:
        seen: dict[str, str] = {}
        for run in self.runs:
            if run.figures:
                seen.update(run.figures.better)
        return list(seen)

    def better(self, name: str) -> str:
        for run in self.runs:
            if run.figures and name in run.figures.better:
                return run.figures.better[name]
        return NOISE

    def ratios(self, name: str) -> list[float | None]:
        out: list[float | None] = []
        for n in self.rounds():
            before, after = self.value(n, "before", name), self.value(n, "after", name)
            out.append(after / before if before and after is not None else None)
        return out

    def as_json(self) -> dict[str, object]:
        return {
            "bench": self.bench,
            "bench_args": self.bench_args,
            "command": self.command,
            "settings": self.settings,
            "sides": {
                k: {
                    "commit": s.commit,
                    "subject": s.subject,
                    "directory": str(s.directory),
                    "python": str(s.python),
                }
                for k, s in self.sides.items()
            },
            "runs": [
                {
                    "round": r.round,
                    "side": r.side,
                    "started": r.started,
                    "wall": r.wall,
                    "loadavg_1min": r.load,
                    "exit": r.code,
                    "report": r.report,
                    "figures": r.figures.values if r.figures else None,
                    "checks": r.figures.checks if r.figures else None,
                }
                for r in self.runs
            ],
            "notes": self.notes,
            "ratios": {name: self.ratios(name) for name in self.names()},
        }


def reread(saved: dict[str, Any]) -> Versus:
    """A finished comparison from its JSON, its figures read again from the runs' reports
    (so a figure added to the table specs later shows for runs already made)."""
    sides = {
        label: Side(
            label,
            s["commit"],
            s["subject"],
            Path(s.get("directory", "")),
            Path(s.get("python", "")),
        )
        for label, s in saved["sides"].items()
    }
    versus = Versus(saved["bench"], saved["bench_args"], saved.get("command", ""),
                    saved.get("settings", {}),
                    sides, notes=saved.get("notes", []))  # fmt: skip
    for r in saved["runs"]:
        report = Path(r["report"])
        found = figures(saved["bench"], report.read_text()) if report.exists() else None
        versus.runs.append(Run(r["round"], r["side"], r["started"], r["wall"],
                               r["loadavg_1min"], r["exit"], r["report"], found))  # fmt: skip
    return versus


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio_table(versus: Versus) -> list[str]:
    rounds = versus.rounds()
    out = [
        "| figure | better | "
        + " | ".join(f"round {n}" for n in rounds)
        + " | median | range | before (median) | after (median) |",
        "|---|---|" + "---:|" * len(rounds) + "---:|---|---:|---:|",
    ]
    for name in versus.names():
        better = versus.better(name)
        befores = [versus.value(n, "before", name) for n in rounds]
        afters = [versus.value(n, "after", name) for n in rounds]
        if better == NOISE:
            cells = [f"{_num(b)} / {_num(a)}" for b, a in zip(befores, afters, strict=True)]
            mid, spread = "", ""
        else:
            ratios = versus.ratios(name)
            cells = [_num(r) for r in ratios]
            measured = [r for r in ratios if r is not None]
            mid = _num(median(measured))
            spread = f"{min(measured):.2f}-{max(measured):.2f}" if measured else "-"
        digits = 1 if better != NOISE else 2
        out.append(
            f"| {name} | {better if better != NOISE else 'before / after'} | "
            + " | ".join(cells)
            + f" | {mid} | {spread} | {_num(median(befores), digits)} "
            f"| {_num(median(afters), digits)} |"
        )
    return out


def runs_table(versus: Versus) -> list[str]:
    out = [
        "| round | side | commit | started | wall s | load average (1 min) | exit | checks |",
        "|---:|---|---|---|---:|---:|---:|---|",
    ]
    for run in versus.runs:
        found = run.figures.checks if run.figures else {}
        checks = "; ".join(f"{k}: {v}" for k, v in found.items())
        out.append(
            f"| {run.round} | {run.side} | {versus.sides[run.side].short} | {run.started} "
            f"| {run.wall:,.0f} | {run.load:.2f} | {run.code} | {checks or '-'} |"
        )
    return out


def render(versus: Versus) -> str:
    out = header(f"Before and after: {versus.bench}", versus.command, versus.settings)
    out += [
        "",
        "## After / before, round by round",
        "",
        "Each round runs the bench once on each side, back to back (the side that goes first "
        "alternates), so both meet about the same machine. A ratio above 1 is more of the "
        f"figure after: wanted for *{HIGHER}*, unwanted for *lower* (latencies). *Other load* "
        "is the bench's own figure for the cores other processes kept busy (before / after).",
        "",
        *ratio_table(versus),
        "",
        "## Runs",
        "",
        *runs_table(versus),
        "",
    ]
    return "\n".join([*out, *notes_section(versus.notes)])
