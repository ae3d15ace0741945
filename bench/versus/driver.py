"""``python -m bench.versus --before REV [--after REV] [--rounds N] -- bench.NAME ARGS``:
the bench run on both sides in turn, each in its own checkout and virtualenv (so each seeds
its own database with its own schema), and the report of the ratios."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.harness import RESULTS_DIR, BenchError
from bench.harness.processes import run_bounded
from bench.harness.report import display, invocation, now, write
from bench.harness.versions import machine, postgres
from bench.versus.checkout import Side, default_cache, prepared, this_checkout
from bench.versus.report import Run, Versus, render, reread
from bench.versus.tables import SPECS, figures


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def run_once(versus: Versus, side: Side, round_: int, work: Path, timeout: float) -> Run:
    label = f"{side.label}-{round_}"
    output = work / f"{label}.md"
    output.unlink(missing_ok=True)
    argv = [str(side.python), "-m", versus.bench, *versus.bench_args, "--output", str(output)]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = f"{side.python.parent}{os.pathsep}{env.get('PATH', '')}"
    started, load = now(), _load()
    print(f"round {round_}, {side.label} ({side.short}): {display(argv)}", flush=True)
    code, _output, wall = run_bounded(argv, env, timeout, work / f"{label}.log", cwd=side.directory)
    found = figures(versus.bench, output.read_text()) if output.exists() else None
    if found is None:
        versus.notes.append(f"{label}: no report (exit {code}; see {work / (label + '.log')})")
    else:
        shown = ", ".join(f"{k} {v:,.1f}" for k, v in found.values.items())
        print(f"  {wall:,.0f} s, exit {code}: {shown}", flush=True)
    return Run(round_, side.label, started, wall, load, code, str(output), found)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.versus",
        description="Run a bench on two commits in turn and report after/before per round.",
        epilog="Example: python -m bench.versus --before edd69ca --rounds 3 -- bench.booking "
        "--rounds 1. python -m bench.versus --reread bench/results/versus-NAME-A-B.json writes "
        "that report again from its runs' reports.",
    )
    add = parser.add_argument
    add("--before", required=True, help="the commit measured as before")
    add("--after", help="the commit measured as after (default: this checkout as it is)")
    add("--rounds", type=int, default=3, help="rounds, each one run of each side (3)")
    add("--cache-dir", type=Path, default=default_cache(), help="worktrees and virtualenvs")
    add("--timeout", type=float, default=3600.0, help="longest run of the bench, s (3600)")
    add("--output", type=Path, help="report (bench/results/versus-NAME-BEFORE-AFTER.md)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 2 and argv[0] == "--reread":
        saved = Path(argv[1])
        write(render(reread(json.loads(saved.read_text()))), saved.with_suffix(".md"))
        return 0
    if "--" not in argv:
        _parser().error("the bench follows --: -- bench.booking [its options]")
    split = argv.index("--")
    args = _parser().parse_args(argv[:split])
    bench, *bench_args = argv[split + 1 :] or [""]
    if bench not in SPECS:
        _parser().error(f"bench must be one of {', '.join(SPECS)}")
    name = bench.removeprefix("bench.")
    try:
        sides = {
            "before": prepared("before", args.before, args.cache_dir),
            "after": (
                prepared("after", args.after, args.cache_dir)
                if args.after
                else this_checkout("after")
            ),
        }
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pair = f"{name}-{sides['before'].short}-{sides['after'].short}"
    output = args.output or RESULTS_DIR / f"versus-{pair}.md"
    # Each report keeps its runs' reports apart, so that --reread finds them: another
    # --output for the same pair gets a directory of its own.
    work = RESULTS_DIR / "versus" / output.stem.removeprefix("versus-")
    work.mkdir(parents=True, exist_ok=True)
    versus = Versus(
        bench=bench,
        bench_args=bench_args,
        command=invocation("bench.versus", argv),
        settings={
            "date": now(),
            "machine": machine(postgres()),
            **{f"{k}": f"{s.short} ({s.subject}) in {s.directory}" for k, s in sides.items()},
            "rounds": f"{args.rounds}, the first side alternating (before first in odd rounds)",
        },
        sides=sides,
    )
    begun = time.monotonic()
    for n in range(1, args.rounds + 1):
        order = ("before", "after") if n % 2 else ("after", "before")
        for label in order:
            versus.runs.append(run_once(versus, sides[label], n, work, args.timeout))
    versus.notes.append(
        f"{len(versus.runs)} runs in {(time.monotonic() - begun) / 60:.1f} min; "
        f"each run's report and log are in {display([str(work)])}"
    )
    write(render(versus), output)
    output.with_suffix(".json").write_text(json.dumps(versus.as_json(), indent=1))
    failed = [r for r in versus.runs if r.figures is None or r.code != 0]
    return 1 if failed else 0
