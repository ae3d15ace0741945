"""Load generation: pools of load generator processes steered over stdin, what runs inside
them (the command loop, the open files limit, their own CPU), and wrk.

A load generator is a ``python -m bench.<name>.loadgen`` process of its own, so that the
load tool's CPU is measured apart from the driver's. Long-lived ones (fan-out, soak) take
JSON-line commands on stdin and answer each with one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypedDict

from bench.harness import BENCH_DIR, PROJECT_DIR, BenchError
from bench.harness.processes import end_group, tail

# Statuses a load generator records for a request that got no HTTP answer.
TIMEOUT = -1
CONNECTION_ERROR = -2
QUIT_SECONDS = 15.0
REPORT_LUA = BENCH_DIR / "lua" / "report.lua"


# --- in the driver ----------------------------------------------------------------------


def shares(clients: int, procs: int) -> list[int]:
    """``clients`` dealt over at most ``procs`` processes, as evenly as can be."""
    procs = max(1, min(procs, clients))
    return [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]


class LoadGenerators:
    """Load generator processes, asked the same thing (or one thing each) at once."""

    def __init__(self, argvs: list[list[str]], logs: list[Path]) -> None:
        self.argvs = argvs
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self._pending: list[bytes] = []

    def __enter__(self) -> LoadGenerators:
        for argv, log in zip(self.argvs, self.logs, strict=True):
            with log.open("wb") as err:
                self.procs.append(
                    subprocess.Popen(
                        argv,
                        cwd=PROJECT_DIR,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=err,
                        start_new_session=True,
                    )
                )
            self._pending.append(b"")
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def ask(self, command: dict[str, Any] | list[dict[str, Any]], timeout: float) -> list[Any]:
        """Send a command (one for all, or one each) and collect every reply."""
        commands = command if isinstance(command, list) else [command] * len(self.procs)
        for proc, one in zip(self.procs, commands, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(one).encode() + b"\n")
            proc.stdin.flush()
        deadline = time.monotonic() + timeout
        return [self._reply(i, deadline) for i in range(len(self.procs))]

    def _reply(self, i: int, deadline: float) -> Any:
        proc = self.procs[i]
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._pending[i]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(
                    f"load generator {i} gave no answer in time:\n{tail(self.logs[i])}"
                )
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise BenchError(f"load generator {i} exited:\n{tail(self.logs[i])}")
                self._pending[i] += chunk
        line, _, self._pending[i] = self._pending[i].partition(b"\n")
        return json.loads(line)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in self.procs:
            with contextlib.suppress(OSError, ValueError):
                assert proc.stdin is not None
                proc.stdin.write(b'{"cmd": "quit"}\n')
                proc.stdin.close()
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=QUIT_SECONDS)
            end_group(proc, signal.SIGTERM, QUIT_SECONDS)
            if proc.stdout is not None:
                proc.stdout.close()


# --- in a load generator ----------------------------------------------------------------

Handler = Callable[[dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any]]]


async def answer_commands(handlers: Mapping[str, Handler]) -> None:
    """Answer the driver's JSON-line commands on stdin, each with one JSON line on stdout,
    until ``{"cmd": "quit"}`` or the end of stdin."""
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():
        command = json.loads(line)
        name = command["cmd"]
        if name == "quit":
            return
        handler = handlers.get(name)
        if handler is None:
            reply = {"error": f"unknown command {name!r}"}
        else:
            answer = handler(command)
            reply = await answer if inspect.isawaitable(answer) else answer
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


class Instants:
    """Epoch seconds of ISO timestamps, each parsed once: every client of a load generator
    receives the same events, so one parse serves them all."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[bytes, float] = {}

    def __call__(self, text: bytes) -> float | None:
        value = self._seen.get(text)
        if value is None:
            try:
                value = datetime.fromisoformat(text.decode()).timestamp()
            except ValueError:
                return None
            self._seen[text] = value
        return value

    def clear(self) -> None:
        self._seen.clear()


def raise_open_files_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit (capped at 20,000); the new soft limit.
    Processes started afterwards inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 20_000 if hard == resource.RLIM_INFINITY else min(hard, 20_000)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def own_cpu() -> float:
    """User plus system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- wrk --------------------------------------------------------------------------------


class WrkResult(TypedDict):
    """The line ``lua/report.lua`` prints; latencies in microseconds."""

    requests: int
    duration_us: int
    bytes: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    errors: dict[str, int]


def wrk_argv(
    url: str,
    seconds: int,
    *,
    connections: int,
    threads: int = 1,
    script: Path = REPORT_LUA,
    headers: Sequence[str] = (),
    args: Sequence[str] = (),
) -> list[str]:
    """A wrk run that reports through a script printing ``BENCH_RESULT {json}``."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["-s", str(script)]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    return argv + (["--", *args] if args else [])


def parse_wrk(stdout: str, stderr: str = "", code: int | None = None) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: WrkResult = json.loads(line.removeprefix("BENCH_RESULT "))
            return result
    raise BenchError(f"wrk gave no result ({code}):\n{stdout}\n{stderr}")


def run_wrk(argv: list[str], seconds: float) -> WrkResult:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False, cwd=PROJECT_DIR
    )
    return parse_wrk(done.stdout, done.stderr, done.returncode)


def wrk_missing(command: str) -> str | None:
    """Advice when wrk is not installed, else None."""
    if shutil.which("wrk") is not None:
        return None
    return (
        f"{command}: wrk is not installed. Install it with `apt-get install -y wrk` "
        "(Debian/Ubuntu) or `brew install wrk` (macOS), then run again."
    )
