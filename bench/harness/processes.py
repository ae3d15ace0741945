"""Processes in a group of their own: stopped with everything they started, and commands
run to an end within a time limit."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

from bench.harness import PROJECT_DIR, BenchError

STOP_TIMEOUT_S = 30.0


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies awaiting their reaper do not)."""
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state, ppid, pgrp, ...
        state, _ppid, pgrp = stat.rpartition(")")[2].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            return True
    return False


def end_group(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> bool:
    """Signal the group leader and wait for it; SIGKILL whatever of its group outlives it.

    True when the leader exited within ``timeout`` and took its whole group with it.
    """
    exited = True
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            exited = False
    # Helpers such as multiprocessing's resource tracker leave just after the leader.
    deadline = time.monotonic() + 2.0
    while exited and group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    leftovers = group_alive(proc.pid)
    if leftovers or not exited:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return exited and not leftovers


def run_bounded(
    argv: list[str], env: dict[str, str], timeout: float, log: Path, cwd: Path | None = None
) -> tuple[int, str, float]:
    """Run a command to completion in its own process group, in ``cwd`` (the project by
    default); (exit code, output, wall seconds)."""
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd or PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{shlex.join(argv)} still running after {timeout:.0f} s") from exc
    finally:
        # SIGINT, not SIGTERM: the CLI then leaves its contexts and stops the embedded database.
        end_group(proc, signal.SIGINT, STOP_TIMEOUT_S)
    return proc.returncode, log.read_text(errors="replace"), time.monotonic() - started


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])
