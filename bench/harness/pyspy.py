"""py-spy: recording a server while a pass runs, and its raw stacks summarised (CPU samples
by area of the code, and the top frames).

py-spy samples Python frames only: time in C (uvloop, orjson, pydantic-core, asyncpg's
protocol, the garbage collector) is charged to the Python frame that called it. Idle time
is not sampled.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench.harness.processes import end_group

Areas = Sequence[tuple[str, str]]
RATE = 200
MISSING = "py-spy not installed (pip install py-spy): no profile"


def py_spy_bin() -> str | None:
    """py-spy of this virtualenv (``pip install py-spy``), if installed."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else None


@contextlib.contextmanager
def recording(
    pid: int, raw: Path, log: Path, options: Sequence[str] = ("--nolineno",), rate: int = RATE
) -> Iterator[list[str]]:
    """py-spy sampling ``pid`` into ``raw`` (collapsed stacks) during the block; yields its
    command line. Attached a second before the block starts; SIGINT makes it write out."""
    spy = py_spy_bin()
    if spy is None:
        raise FileNotFoundError(MISSING)
    argv = [spy, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw"]
    argv += [*options, "--output", str(raw)]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(1.0)
        yield argv
    finally:
        end_group(proc, signal.SIGINT, 60)


def summarise(
    raw: Path,
    areas: Areas,
    *,
    other: str,
    project: Sequence[str] = ("domain/", "handlers/"),
    top: int = 12,
    samples_of: str = "",
) -> list[str]:
    """Markdown lines: samples by area (first matching part of the own frame wins; no
    table without areas), the top own frames, and the top inclusive frames of the
    project's code (of all code, with ``project=("",)``)."""

    def area_of(frame: str) -> str:
        return next((name for part, name in areas if part in frame), other)

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_area: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        n = int(count)
        total += n
        own[frames[-1]] += n
        by_area[area_of(frames[-1])] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return ["py-spy recorded no samples."]
    out = [f"{total:,} CPU samples{samples_of} (idle time not sampled).", ""]
    if areas:
        out += ["| area (where the sampled frame's code lives) | share |", "|---|---:|"]
        out += [f"| {name} | {n / total:.1%} |" for name, n in by_area.most_common()]
        out += [""]
    out += ["| own % | frame |", "|---:|---|"]
    out += [f"| {n / total:.1%} | `{frame}` |" for frame, n in own.most_common(top)]
    ours = Counter({f: n for f, n in inclusive.items() if any(p in f for p in project)})
    label = "frame (project code)" if any(project) else "frame"
    out += ["", f"| inclusive % | {label} |", "|---:|---|"]
    out += [f"| {n / total:.1%} | `{frame}` |" for frame, n in ours.most_common(top)]
    return out
