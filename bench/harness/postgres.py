"""The bench's home and its embedded PostgreSQL, and the guard around a run: the one place
that decides what to do about a PostgreSQL that outlived it.

A benchmark seeds a temporary ``SKYBOUND_HOME`` (or serves one it was given), holds that
home's embedded PostgreSQL for the whole run (``skybound serve`` attaches to it through
``SKYBOUND_HOME`` and leaves it running when it exits), and at the end checks that nothing
is left running on the home's data directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.harness import BenchError


def dsn_for(pgdata: Path) -> str:
    """A URL for the embedded server, read from postmaster.pid (socket directory and port)."""
    # postmaster.pid: pid, data dir, start time, port, socket directory, ...
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    port, socket_dir = int(lines[3]), lines[4]
    return f"postgresql://postgres@/skybound?host={socket_dir}&port={port}"


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


@contextlib.contextmanager
def bench_home(given: Path | None) -> Iterator[tuple[Path, bool]]:
    """The SKYBOUND_HOME to use, and whether the bench made it (and so may clean it up)."""
    if given is not None:
        yield given.resolve(), False
        return
    home = Path(tempfile.mkdtemp(prefix="skybound-bench-"))
    try:
        yield home, True
    finally:
        shutil.rmtree(home, ignore_errors=True)


def stray_postgres(home: Path) -> list[int]:
    """Postmasters still running on the bench's data directory."""
    try:
        found = subprocess.run(
            ["pgrep", "-f", str(home / "pgdata")],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except FileNotFoundError:  # pragma: no cover - procps missing
        return []
    return [int(pid) for pid in found.stdout.split() if int(pid) != os.getpid()]


def no_stray_postgres(home: Path, owned: bool, notes: list[str]) -> None:
    """Note whether a PostgreSQL outlived the run on the bench home; stop it if the bench
    created that home (one it was given may be in use by someone else)."""
    strays = stray_postgres(home)
    if not strays:
        notes.append("no PostgreSQL left running on the bench home afterwards")
        return
    notes.append(f"stray PostgreSQL left on {home}/pgdata: pids {strays}")
    if owned:
        for pid in strays:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)  # fast shutdown
        time.sleep(3)


class _Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class GuardedRun:
    """How a run ended (0, 1 aborted, 130 interrupted) and the PostgreSQL it holds."""

    home: Path
    code: int = 0
    postgres: _Stoppable | None = None

    def hold_postgres(self) -> str:
        """Start the home's embedded PostgreSQL for the rest of the run; its URL."""
        from foundation.embedded import EmbeddedPostgres

        self.postgres = pg = EmbeddedPostgres(self.home / "pgdata")
        pg.start()
        return dsn_for(self.home / "pgdata")


@contextlib.contextmanager
def guarded_run(home: Path, owned: bool, notes: list[str]) -> Iterator[GuardedRun]:
    """Turn a BenchError or Ctrl-C into a note and an exit code, so the report still covers
    what ran; then stop the run's PostgreSQL and check none outlived it."""
    run = GuardedRun(home)
    try:
        yield run
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        lines = [line for line in str(exc).splitlines() if line.strip()]
        cause = f" … {lines[-1].strip()}" if len(lines) > 1 else ""
        notes.append(f"run aborted: {lines[0] if lines else repr(exc)}{cause}")
        run.code = 1
    except KeyboardInterrupt:
        notes.append("run interrupted: the report covers what ran so far")
        run.code = 130
    finally:
        if run.postgres is not None:
            run.postgres.stop()
        no_stray_postgres(home, owned, notes)
