"""Foundation benchmark: seed rate, then HTTP throughput against a bare aiohttp peer.

One run seeds a fresh embedded PostgreSQL with ``skybound seed``, serves that
database with ``skybound serve --workers W`` for each worker count, loads
``/healthz`` and ``/v1/flights/{id}`` with wrk, and loads the peer
(``bench/peers/hello.py``) with the same settings. Absolute figures drift on a
shared machine; the ratio to the peer measured in the same run is the number to
compare across runs.

    .venv/bin/python -m bench.foundation [--seed-flights N] [--duration 10s]

Prints a Markdown report and writes it to ``bench/results/foundation.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, TypedDict

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
LUA_DIR = BENCH_DIR / "lua"
HELLO = BENCH_DIR / "peers" / "hello.py"
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"
PEER_LABEL = "peer: bare aiohttp hello"

SEED_LINE = re.compile(
    r"seeded (?P<flights>[\d,]+) flights \((?P<cabins>[\d,]+) cabins\) in "
    r"(?P<seconds>[\d.]+) s: (?P<rate>[\d,.]+) legs/s"
)
# Environment that would point the server somewhere other than the bench's own home.
FOREIGN_ENV = ("DATABASE_URL", "LISTEN_DATABASE_URL", "TEST_DATABASE_URL")

READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0


class BenchError(RuntimeError):
    """A step failed in a way that makes the rest of the run meaningless."""


@dataclass(frozen=True)
class SeedResult:
    command: str
    flights: int
    cabins: int
    seconds: float
    legs_per_second: float
    wall_seconds: float


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


# --- processes --------------------------------------------------------------------------


def _group_alive(pgid: int) -> bool:
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


def _end_group(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> bool:
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
    while exited and _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    leftovers = _group_alive(proc.pid)
    if leftovers or not exited:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return exited and not leftovers


def _env(home: Path) -> dict[str, str]:
    """The environment of every skybound command: our home, quiet logs, no inherited settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SKYBOUND_") and k not in FOREIGN_ENV
    }
    env.update(
        SKYBOUND_HOME=str(home),
        SKYBOUND_ACCESS_LOG="false",
        SKYBOUND_LOG_LEVEL="WARNING",
    )
    return env


def _env_shown(home: Path) -> str:
    shown = {k: v for k, v in _env(home).items() if k.startswith("SKYBOUND_")}
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in shown.items())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _get_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


class Service:
    """A server in its own process group: started, awaited until ready, stopped by SIGTERM."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], ready_url: str, log: Path
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.ready_url = ready_url
        self.log = log
        self.ready_seconds = 0.0
        self.stop_seconds = 0.0
        self.exit_code: int | None = None
        self.stopped_cleanly = False
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Service:
        started = time.monotonic()
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(
                self.argv,
                cwd=PROJECT_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(started)
        except BaseException:
            # Interrupted or never ready: SIGINT unwinds the embedded database even mid-startup.
            _end_group(self._proc, signal.SIGINT, STOP_TIMEOUT_S)
            raise
        return self

    def _wait_ready(self, started: float) -> None:
        assert self._proc is not None
        deadline = started + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self._proc.returncode} before it was ready:\n"
                    + _tail(self.log)
                )
            if _get_status(self.ready_url) == 200:
                self.ready_seconds = time.monotonic() - started
                return
            time.sleep(0.1)
        raise BenchError(f"{self.name} not ready after {READY_TIMEOUT_S:.0f} s:\n{_tail(self.log)}")

    def stop(self) -> None:
        if self._proc is None or self.exit_code is not None:
            return
        started = time.monotonic()
        self.stopped_cleanly = _end_group(self._proc, signal.SIGTERM, STOP_TIMEOUT_S)
        self.stop_seconds = time.monotonic() - started
        self.exit_code = self._proc.returncode

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_bounded(
    argv: list[str], env: dict[str, str], timeout: float, log: Path
) -> tuple[int, str, float]:
    """Run a command to completion in its own process group; (exit code, output, wall seconds)."""
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=PROJECT_DIR,
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
        _end_group(proc, signal.SIGINT, STOP_TIMEOUT_S)
    return proc.returncode, log.read_text(errors="replace"), time.monotonic() - started


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
    created that home."""
    strays = stray_postgres(home)
    if not strays:
        notes.append("no PostgreSQL left running on the bench home afterwards")
        return
    notes.append(f"stray PostgreSQL left on {home}/pgdata: pids {strays}")
    if owned:
        for pid in strays:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
        time.sleep(3)


class _Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class GuardedRun:
    """How a run ended (0, 1 aborted, 130 interrupted) and the PostgreSQL it started."""

    code: int = 0
    postgres: _Stoppable | None = None


@contextlib.contextmanager
def guarded_run(home: Path, owned: bool, notes: list[str]) -> Iterator[GuardedRun]:
    """Turn a BenchError or Ctrl-C into a note and an exit code, so the report still covers
    what ran; then stop the run's PostgreSQL and check none outlived it."""
    run = GuardedRun()
    try:
        yield run
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        lines = [line for line in str(exc).splitlines() if line.strip()]
        notes.append(f"run aborted: {lines[0] if lines else exc!r}")
        run.code = 1
    except KeyboardInterrupt:
        notes.append("run interrupted: the report covers what ran so far")
        run.code = 130
    finally:
        if run.postgres is not None:
            run.postgres.stop()
        no_stray_postgres(home, owned, notes)


# --- wrk --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration_s: int
    warmup_s: int

    def argv(self, url: str, script: Path, args: Sequence[str], seconds: int) -> list[str]:
        argv = ["wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds}s"]
        argv += ["--latency", "-s", str(script), url]
        return argv + (["--", *args] if args else [])

    def run(
        self, label: str, workers: int, url: str, script: Path, args: Sequence[str] = ()
    ) -> tuple[LoadResult, str]:
        if self.warmup_s:
            _wrk(self.argv(url, script, args, self.warmup_s), self.warmup_s)
        argv = self.argv(url, script, args, self.duration_s)
        raw = _wrk(argv, self.duration_s)
        return (
            LoadResult(
                label=label,
                workers=workers,
                requests=raw["requests"],
                requests_per_second=raw["requests"] / (raw["duration_us"] / 1e6),
                p50_us=raw["p50_us"],
                p99_us=raw["p99_us"],
                errors={k: v for k, v in raw["errors"].items() if v},
                is_peer=label == PEER_LABEL,
            ),
            _display(argv),
        )


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


def _wrk(argv: list[str], seconds: int) -> WrkResult:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False, cwd=PROJECT_DIR
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: WrkResult = json.loads(line.removeprefix("BENCH_RESULT "))
            return result
    raise BenchError(f"wrk gave no result ({done.returncode}):\n{done.stdout}\n{done.stderr}")


# --- the benchmark steps ----------------------------------------------------------------


def _display(argv: Sequence[str]) -> str:
    """A command line as a user would type it from the project directory."""
    shown = []
    for part in argv:
        if part.startswith(str(PROJECT_DIR) + os.sep):
            part = os.path.relpath(part, PROJECT_DIR)
        shown.append(part)
    return shlex.join(shown)


def skybound_bin() -> str:
    beside = Path(sys.executable).parent / "skybound"
    if beside.exists():
        return str(beside)
    found = shutil.which("skybound")
    if found is None:
        raise BenchError("skybound command not found: pip install -e . in this virtualenv")
    return found


def seed(home: Path, flights: int, days: int, timeout: float, logs: Path) -> SeedResult:
    argv = [skybound_bin(), "seed", "--flights", str(flights), "--days", str(days), "--seed", "1"]
    code, output, wall = run_bounded(argv, _env(home), timeout, logs / "seed.log")
    if code != 0:
        raise BenchError(f"{_display(argv)} failed with {code}:\n{output[-4000:]}")
    match = SEED_LINE.search(output)
    if match is None:
        raise BenchError(f"no 'seeded ...' line in the seed output:\n{output[-2000:]}")
    return SeedResult(
        command=_display(argv),
        flights=int(match["flights"].replace(",", "")),
        cabins=int(match["cabins"].replace(",", "")),
        seconds=float(match["seconds"]),
        legs_per_second=float(match["rate"].replace(",", "")),
        wall_seconds=wall,
    )


async def _flight_range(pgdata: Path) -> tuple[int, int, int]:
    import asyncpg

    # postmaster.pid: pid, data dir, start time, port, socket directory, ...
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    port, socket_dir = int(lines[3]), lines[4]
    conn = await asyncpg.connect(
        host=socket_dir or "127.0.0.1", port=port, user="postgres", database="skybound"
    )
    try:
        row = await conn.fetchrow("SELECT min(id), max(id), count(*) FROM flights")
    finally:
        await conn.close()
    assert row is not None
    return int(row[0] or 0), int(row[1] or 0), int(row[2])


def measure_peer(load: Load, workers: int, when: str, logs: Path, report: Report) -> LoadResult:
    port = _free_port()
    argv = [sys.executable, str(HELLO), "--port", str(port), "--workers", str(workers)]
    url = f"http://{HOST}:{port}/"
    log = logs / f"peer-w{workers}-{when}.log"
    with Service(f"peer --workers {workers}", argv, dict(os.environ), url, log) as peer:
        result, wrk_cmd = load.run(PEER_LABEL, workers, url, LUA_DIR / "report.lua")
        peer.stop()
    report.commands += [f"{_display(argv)} &", wrk_cmd]
    if peer.exit_code != 0 or not peer.stopped_cleanly:
        report.notes.append(
            f"peer with {workers} worker(s) stopped with exit code {peer.exit_code}"
        )
    return result


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


def measure_skybound(load: Load, workers: int, home: Path, logs: Path, report: Report) -> None:
    port = _free_port()
    argv = [skybound_bin(), "serve", "--port", str(port), "--workers", str(workers)]
    base = f"http://{HOST}:{port}"
    log = logs / f"skybound-w{workers}.log"
    with Service(
        f"skybound serve --workers {workers}", argv, _env(home), f"{base}/readyz", log
    ) as server:
        report.commands.append(f"{_env_shown(home)} {_display(argv)} &")
        result, wrk_cmd = load.run(
            "`GET /healthz`", workers, f"{base}/healthz", LUA_DIR / "report.lua"
        )
        report.loads.append(result)
        report.commands.append(wrk_cmd)

        low, high, count = asyncio.run(_flight_range(home / "pgdata"))
        if count == 0:
            report.notes.append("no flights in the database: `/v1/flights/{id}` not measured")
        else:
            if count != high - low + 1:
                report.notes.append(
                    f"flight ids {low}..{high} have gaps ({count:,} rows): some requests are 404"
                )
            status = _get_status(f"{base}/v1/flights/{low}")
            if status != 200:
                report.notes.append(f"`GET /v1/flights/{low}` answered {status} before the load")
            result, wrk_cmd = load.run(
                "`GET /v1/flights/{id}`",
                workers,
                f"{base}/",
                LUA_DIR / "flights.lua",
                [str(low), str(high)],
            )
            report.loads.append(result)
            report.commands.append(wrk_cmd)
        server.stop()

    report.notes.append(
        f"`skybound serve --workers {workers}`: ready (`/readyz` 200) {server.ready_seconds:.1f} s "
        f"after start; exited {server.stop_seconds:.1f} s after SIGTERM with code "
        f"{server.exit_code}" + ("" if server.stopped_cleanly else " (had to be killed)")
    )
    logged = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    if logged:
        report.notes.append(
            f"`skybound serve --workers {workers}` logged {len(logged)} line(s) at WARNING or "
            f"above; first: `{logged[0][:300]}` (full log: {_display([str(log)])})"
        )


# --- rendering --------------------------------------------------------------------------


def _ms(us: int) -> str:
    return f"{us / 1000:.2f} ms"


def render(report: Report) -> str:
    out = ["# Foundation benchmark", ""]
    out.append(f"Command: `{report.command}`")
    out.append("")
    out += [f"- {k}: {v}" for k, v in report.settings.items()]
    out.append("")
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
    out += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    out += ["## Commands run", "", "```sh", *report.commands, "```", ""]
    return "\n".join(out)


# --- main -------------------------------------------------------------------------------


def _seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*(s|m)?", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 10s or 1m)")
    return int(match[1]) * (60 if match[2] == "m" else 1)


def _workers(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of worker counts: {text!r}") from exc
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("worker counts must be 1 or more")
    return counts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.foundation", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seed-flights", type=int, default=1_000_000, help="legs to seed")
    parser.add_argument("--seed-days", type=int, default=365, help="days of schedule")
    parser.add_argument(
        "--seed-timeout", type=_seconds, default=3600, help="give up seeding after this long"
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="serve this already-seeded SKYBOUND_HOME instead of seeding a fresh one",
    )
    parser.add_argument("--duration", type=_seconds, default=10, help="wrk run length (10s)")
    parser.add_argument("--warmup", type=_seconds, default=2, help="unmeasured wrk run first")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t")
    parser.add_argument("--workers", type=_workers, default=[1, 2], help="e.g. 1,2")
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "foundation.md", help="report file"
    )
    return parser


def _invocation(argv: Sequence[str]) -> str:
    python = os.path.relpath(sys.executable, PROJECT_DIR)
    if __spec__ is not None and __spec__.name == "bench.foundation":
        return shlex.join([python, "-m", "bench.foundation", *argv])
    return shlex.join([python, os.path.relpath(__file__, PROJECT_DIR), *argv])


def _versions() -> str:
    import aiohttp

    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout or wrk.stderr).split("Copyright")[0].strip()
    return (
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}, {wrk_version}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
    )


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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "bench: wrk is not installed. Install it with `apt-get install -y wrk` "
            "(Debian/Ubuntu) or `brew install wrk` (macOS), then run again.",
            file=sys.stderr,
        )
        return 2

    load = Load(args.threads, args.connections, args.duration, args.warmup)
    logs = RESULTS_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for stale in logs.glob("*.log"):
        stale.unlink()
    report = Report(
        command=_invocation(argv),
        settings={
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": _versions(),
            "load": (
                f"wrk -t{load.threads} -c{load.connections} -d{load.duration_s}s --latency "
                f"after a {load.warmup_s} s warm-up, against 127.0.0.1"
            ),
            "server": "SKYBOUND_ACCESS_LOG=false SKYBOUND_LOG_LEVEL=WARNING, embedded PostgreSQL",
        },
    )
    code = 0
    with bench_home(args.home) as (home, owned):
        try:
            if owned:
                print(f"seeding {args.seed_flights:,} legs into {home} ...", flush=True)
                report.seed = seed(home, args.seed_flights, args.seed_days, args.seed_timeout, logs)
                report.commands.append(f"{_env_shown(home)} {report.seed.command}")
            for workers in args.workers:
                print(f"measuring the peer with {workers} worker(s) ...", flush=True)
                before = measure_peer(load, workers, "before", logs, report)
                print(f"measuring skybound with {workers} worker(s) ...", flush=True)
                measure_skybound(load, workers, home, logs, report)
                print(f"measuring the peer with {workers} worker(s) again ...", flush=True)
                after = measure_peer(load, workers, "after", logs, report)
                report.loads.append(bracket(before, after))
                report.notes.append(
                    f"peer with {workers} worker(s): {before.requests_per_second:,.0f} requests/s "
                    f"before Skybound, {after.requests_per_second:,.0f} after "
                    f"({after.requests_per_second / before.requests_per_second - 1:+.0%}); "
                    "the table gives their mean"
                )
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            lines = [line for line in str(exc).splitlines() if line.strip()]
            cause = f" … {lines[-1].strip()}" if len(lines) > 1 else ""
            report.notes.append(f"run aborted: {lines[0]}{cause}")
            code = 1
        finally:
            strays = stray_postgres(home)
            if strays:
                report.notes.append(f"stray PostgreSQL left on {home}/pgdata: pids {strays}")
                if owned:
                    for pid in strays:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGINT)  # fast shutdown
                    time.sleep(3)
            else:
                report.notes.append("no PostgreSQL left running on the bench home afterwards")

    text = render(report)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {_display([str(args.output.resolve())])}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
