"""Runs the fan-out benchmark: database, targets, load generators, phases, report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import select
import shlex
import signal
import subprocess
import sys
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.fanout.database import Board, GateChanges, dsn_for, prepare
from bench.fanout.report import BARE, PEER, SKYBOUND, Report, Row, render
from bench.foundation import (
    FOREIGN_ENV,
    HOST,
    PROJECT_DIR,
    RESULTS_DIR,
    BenchError,
    Service,
    _display,
    _end_group,
    _env,
    _env_shown,
    _free_port,
    _tail,
    bench_home,
    guarded_run,
    run_bounded,
    skybound_bin,
)
from bench.pyspy import summarise as summarise_stacks

PEERS_DIR = PROJECT_DIR / "bench" / "peers"
TARGETS = (SKYBOUND, PEER, BARE)
# Clients settle this long after the last one connected before the server's RSS is read.
SETTLE_SECONDS = 2.0
LOADGEN_QUIT_SECONDS = 15.0


# --- targets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    ready_marker: str | None

    def argv(self, port: int, dsn: str, board: Board) -> list[str]:
        if self.name == SKYBOUND:
            return [skybound_bin(), "serve", "--port", str(port)]
        if self.name == PEER:
            script = PEERS_DIR / "starlette_broadcaster.py"
            return [sys.executable, str(script), "--port", str(port), "--dsn", dsn]
        script = PEERS_DIR / "bare_writer.py"
        return [
            sys.executable,
            str(script),
            "--port",
            str(port),
            "--dsn",
            dsn,
            "--boards",
            board.iata,
        ]

    def env(self, home: Path) -> dict[str, str]:
        if self.name == SKYBOUND:
            return _env(home)  # attaches to the bench's embedded PostgreSQL through SKYBOUND_HOME
        return {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}


TARGET_INFO = {
    SKYBOUND: Target(SKYBOUND, "Skybound (aiohttp hub)", "event: snapshot"),
    PEER: Target(PEER, "peer: Starlette + broadcaster", ": subscribed"),
    BARE: Target(BARE, "bare writer", None),
}


class Server(Service):
    """A target server; its pid is the process whose memory and CPU are measured."""

    @property
    def pid(self) -> int:
        proc = self._proc
        if proc is None:
            raise BenchError(f"{self.name} is not running")
        return proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


# --- processes -------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy so far (anything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def write_syscalls(pid: int) -> int:
    """write(2)-family syscalls of a process so far: uvloop writes sockets with write/writev,
    so for these servers it counts their socket writes (send(2) would not be counted)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise BenchError(f"no syscw for pid {pid}")


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system time of these processes so far."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class LoadGenerators:
    """Load generator processes (``bench.fanout.loadgen``), asked the same thing at once."""

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
                    f"load generator {i} gave no answer in time:\n{_tail(self.logs[i])}"
                )
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise BenchError(f"load generator {i} exited:\n{_tail(self.logs[i])}")
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
                proc.wait(timeout=LOADGEN_QUIT_SECONDS)
            _end_group(proc, signal.SIGTERM, LOADGEN_QUIT_SECONDS)
            if proc.stdout is not None:
                proc.stdout.close()


# --- profile ---------------------------------------------------------------------------


def py_spy_bin() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else None


def summarise_profile(raw: Path, top: int = 15) -> list[str]:
    """Top frames of a py-spy raw (collapsed stacks) file: by own samples and inclusive."""
    return summarise_stacks(raw, (), other="", project=("",), top=top)


# --- one target at one client count ----------------------------------------------------


@dataclass
class Plan:
    home: Path
    dsn: str
    board: Board
    events: GateChanges
    latency_events: int
    rate: float
    burst_events: int | None
    burst_seconds: float
    bulk_events: int
    bulk_transactions: int
    drain_timeout: float
    connect_timeout: float
    concurrency: int
    loadgen_procs: int
    logs: Path
    work: Path


def burst_size(plan: Plan, clients: int) -> int:
    if plan.burst_events is not None:
        return plan.burst_events
    # About a million deliveries, without letting a client fall more than 300 events behind.
    return max(50, min(300, 1_000_000 // clients))


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def loadgen_argvs(plan: Plan, target: Target, port: int, clients: int) -> list[list[str]]:
    procs = max(1, min(plan.loadgen_procs, clients))
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    argvs = []
    for share in shares:
        argv = [
            sys.executable,
            "-m",
            "bench.fanout.loadgen",
            "--port",
            str(port),
            "--path",
            f"/v1/streams/boards/{plan.board.iata}",
            "--clients",
            str(share),
            "--concurrency",
            str(max(1, plan.concurrency // procs)),
        ]
        if target.ready_marker:
            argv += ["--ready-marker", target.ready_marker]
        argvs.append(argv)
    return argvs


def measure(
    plan: Plan, target: Target, clients: int, round_: int, report: Report, *, profile: bool
) -> Row:
    row = Row(target=target.name, label=target.label, clients=clients, round=round_)
    port = _free_port()
    argv = target.argv(port, plan.dsn, plan.board)
    log = plan.logs / f"{target.name}-{clients}-{round_}.log"
    shown_env = f"{_env_shown(plan.home)} " if target.name == SKYBOUND else ""
    report.commands.append(f"{shown_env}{_display(argv)} &")
    try:
        with Server(
            target.label, argv, target.env(plan.home), f"http://{HOST}:{port}/readyz", log
        ) as server:
            _measure_running(plan, target, server, port, row, report, profile=profile)
            server.stop()
        if not server.stopped_cleanly:
            row.notes.append(
                f"server did not stop within 30 s of SIGTERM (exit {server.exit_code})"
            )
    except BenchError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        row.notes.append("run aborted: " + " … ".join(lines[:1] + lines[-2:]))
    logged = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    if logged:
        row.notes.append(
            f"server logged {len(logged)} line(s); first: `{logged[0][:240]}` "
            f"(full log: {_display([str(log)])})"
        )
    return row


def _measure_running(
    plan: Plan,
    target: Target,
    server: Server,
    port: int,
    row: Row,
    report: Report,
    *,
    profile: bool,
) -> None:
    clients = row.clients
    argvs = loadgen_argvs(plan, target, port, clients)
    logs = [
        plan.logs / f"loadgen-{target.name}-{clients}-{row.round}-{i}.log"
        for i in range(len(argvs))
    ]
    report.commands += [_display(a) for a in argvs]
    if len(argvs) > 1:
        row.notes.append(f"clients spread over {len(argvs)} load generator processes")
    row.rss_before_kb = rss_kb(server.pid)
    with LoadGenerators(argvs, logs) as load:
        replies = load.ask(
            {"cmd": "connect", "timeout": plan.connect_timeout}, plan.connect_timeout + 60
        )
        row.connected = sum(r["connected"] for r in replies)
        times = [r["seconds"] for r in replies if r["seconds"] is not None]
        row.connect_seconds = max(times) if times else None
        failures: Counter[str] = Counter()
        for r in replies:
            failures.update(r["failures"])
        if failures:
            row.notes.append(
                f"{sum(failures.values()):,} clients failed to connect: {dict(failures)}"
            )
        if not server.alive:
            raise BenchError(f"{target.label} exited while clients connected:\n{_tail(server.log)}")
        if not row.connected:
            return
        time.sleep(SETTLE_SECONDS)
        row.rss_connected_kb = rss_kb(server.pid)

        _latency_phase(plan, load, row)
        _burst_phase(plan, load, server, clients, row)
        if plan.bulk_events:
            _bulk_phase(plan, load, server, row)
        if profile:
            _profile_burst(plan, load, server, clients, report)
        if not server.alive:
            row.notes.append("server exited during the run")


def _latency_phase(plan: Plan, load: LoadGenerators, row: Row) -> None:
    load.ask({"cmd": "phase", "mode": "latency"}, 30)
    commits = asyncio.run(plan.events.paced(plan.latency_events, plan.rate))
    # Every latency event must have arrived (or the wait given up) before the burst starts,
    # or late ones would be counted as burst deliveries.
    waited = load.ask(
        {"cmd": "wait", "per_client": commits.count, "timeout": plan.drain_timeout},
        plan.drain_timeout + 30,
    )
    files = [plan.work / f"latency-{i}.bin" for i in range(len(load.procs))]
    replies = load.ask([{"cmd": "report", "latencies": str(f)} for f in files], 60)
    latencies = array("d")
    for f in files:
        with f.open("rb") as data:
            latencies.frombytes(data.read())
        f.unlink()
    ordered = sorted(latencies)
    open_clients = sum(r["open"] for r in replies)
    row.latency_deliveries = len(ordered)
    row.latency_expected = commits.count * open_clients
    if ordered:
        row.p50_ms = percentile(ordered, 0.50) * 1000
        row.p99_ms = percentile(ordered, 0.99) * 1000
        row.max_ms = ordered[-1] * 1000
    behind = sum(w["behind"] for w in waited)
    if behind:
        row.notes.append(
            f"latency phase: {behind:,} clients still missed events after "
            f"{plan.drain_timeout:.0f} s (their latencies are not in p50/p99)"
        )
    _lost(row, "latency", replies)
    durations = sorted(commits.durations)
    if durations:
        row.notes.append(
            f"latency phase: {commits.count} events at {plan.rate:g}/s, median commit "
            f"{percentile(durations, 0.5) * 1000:.2f} ms"
        )


def _burst_phase(plan: Plan, load: LoadGenerators, server: Server, clients: int, row: Row) -> None:
    load.ask({"cmd": "phase", "mode": "burst"}, 30)
    wall0 = time.monotonic()
    server_cpu0, load_cpu0 = cpu_seconds([server.pid]), cpu_seconds(load.pids)
    machine0 = machine_busy_seconds()
    writes0 = write_syscalls(server.pid)
    commits = asyncio.run(plan.events.burst(burst_size(plan, clients), plan.burst_seconds))
    waited = load.ask(
        {"cmd": "wait", "per_client": commits.count, "timeout": plan.drain_timeout},
        plan.drain_timeout + 30,
    )
    wall = time.monotonic() - wall0
    row.burst_writes = write_syscalls(server.pid) - writes0
    row.server_cpu_seconds = cpu_seconds([server.pid]) - server_cpu0
    row.server_cpu = row.server_cpu_seconds / wall
    row.loadgen_cpu = (cpu_seconds(load.pids) - load_cpu0) / wall
    row.machine_cpu = (machine_busy_seconds() - machine0) / wall
    row.load_average = os.getloadavg()[0]
    replies = load.ask({"cmd": "report"}, 60)
    row.burst_events = commits.count
    row.burst_deliveries = sum(r["events"] for r in replies)
    row.burst_expected = commits.count * sum(r["open"] for r in replies)
    firsts = [r["first"] for r in replies if r["first"]]
    lasts = [r["last"] for r in replies if r["last"]]
    if firsts and lasts and max(lasts) > min(firsts):
        row.burst_seconds = max(lasts) - min(firsts)
        row.peak_rate = row.burst_deliveries / row.burst_seconds
    total_bytes = sum(r["bytes"] for r in replies)
    if row.burst_deliveries:
        row.bytes_per_event = total_bytes / row.burst_deliveries
    behind = sum(w["behind"] for w in waited)
    if behind:
        row.notes.append(
            f"burst: {behind:,} clients had not received all {commits.count} events after "
            f"{plan.drain_timeout:.0f} s"
        )
    if row.burst_deliveries > row.burst_expected:
        row.notes.append(
            f"burst: {row.burst_deliveries - row.burst_expected:,} more deliveries than expected "
            "(late events of the latency phase)"
        )
    _lost(row, "burst", replies)
    row.notes.append(
        f"burst: {commits.count} events committed in {commits.ended - commits.started:.2f} s "
        f"({commits.count / max(commits.ended - commits.started, 1e-9):,.0f}/s)"
    )


def _bulk_phase(plan: Plan, load: LoadGenerators, server: Server, row: Row) -> None:
    """Bulk updates: each transaction changes ``plan.bulk_events`` flights of the board.

    Transactions go one at a time, each waited for until every client has all its events,
    so each is one release of many events at once. Deliveries/s is per transaction (first
    to last client receipt), summed; CPU and write syscalls cover the whole phase.
    """
    server_cpu0 = cpu_seconds([server.pid])
    writes0 = write_syscalls(server.pid)
    lost: list[Any] = []
    for _ in range(plan.bulk_transactions):
        load.ask({"cmd": "phase", "mode": "burst"}, 30)
        commits = asyncio.run(plan.events.bulk(plan.bulk_events))
        waited = load.ask(
            {"cmd": "wait", "per_client": commits.count, "timeout": plan.drain_timeout},
            plan.drain_timeout + 30,
        )
        replies = load.ask({"cmd": "report"}, 60)
        lost += replies
        row.bulk_deliveries += sum(r["events"] for r in replies)
        row.bulk_expected += commits.count * sum(r["open"] for r in replies)
        row.bulk_pings += sum(r.get("pings", 0) for r in replies)
        firsts = [r["first"] for r in replies if r["first"]]
        lasts = [r["last"] for r in replies if r["last"]]
        if firsts and lasts:
            row.bulk_seconds += max(lasts) - min(firsts)
        behind = sum(w["behind"] for w in waited)
        if behind:
            row.notes.append(
                f"bulk: {behind:,} clients had not received all {commits.count} events of a "
                f"transaction after {plan.drain_timeout:.0f} s"
            )
    row.bulk_cpu_seconds = cpu_seconds([server.pid]) - server_cpu0
    row.bulk_writes = write_syscalls(server.pid) - writes0
    row.bulk_events = plan.bulk_events
    row.bulk_transactions = plan.bulk_transactions
    _lost(row, "bulk", lost)


def _lost(row: Row, phase: str, replies: list[Any]) -> None:
    lost: Counter[str] = Counter()
    for r in replies:
        lost.update(r["lost"])
    if lost:
        row.notes.append(
            f"{phase}: {sum(lost.values()):,} connections closed by the server: {dict(lost)}"
        )


def _profile_burst(
    plan: Plan, load: LoadGenerators, server: Server, clients: int, report: Report
) -> None:
    """An extra, unmeasured burst with py-spy sampling the server."""
    spy = py_spy_bin()
    if spy is None:
        report.notes.append("py-spy is not installed: no profile (pip install py-spy)")
        return
    raw = plan.work / "skybound-profile.txt"
    argv = [spy, "record", "--pid", str(server.pid), "--rate", "200", "--format", "raw"]
    argv += ["--function", "--output", str(raw)]
    log = plan.logs / "py-spy.log"
    with log.open("wb") as out:
        spy_proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        time.sleep(1.0)
        load.ask({"cmd": "phase", "mode": "burst"}, 30)
        commits = asyncio.run(plan.events.burst(burst_size(plan, clients), plan.burst_seconds))
        load.ask(
            {"cmd": "wait", "per_client": commits.count, "timeout": plan.drain_timeout},
            plan.drain_timeout + 30,
        )
        reply = load.ask({"cmd": "report"}, 60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(spy_proc.pid, signal.SIGINT)
        try:
            spy_proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            _end_group(spy_proc, signal.SIGKILL, 5)
    report.commands.append(_display(argv))
    if not raw.exists():
        report.profile = [f"py-spy wrote no profile:\n\n```\n{_tail(log)}\n```"]
        return
    delivered = sum(r["events"] for r in reply)
    report.profile = [
        f"py-spy (`{_display(argv)}`) on `skybound serve` during an extra, "
        f"unmeasured burst of {commits.count} events to {clients:,} clients "
        f"({delivered:,} deliveries), frames aggregated by function. Idle time is not sampled.",
        "",
        *summarise_profile(raw),
    ]


# --- main ------------------------------------------------------------------------------


def _client_counts(text: str) -> list[int]:
    try:
        counts = [int(part.replace("_", "")) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of client counts: {text!r}") from exc
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("client counts must be 1 or more")
    return counts


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _targets(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"targets are {', '.join(TARGETS)}; got {text!r}")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        description="SSE fan-out of database changes: Skybound, a Starlette peer, a bare writer.",
    )
    p.add_argument("--clients", type=_client_counts, default=[1000, 10000], help="e.g. 1000,10000")
    p.add_argument("--targets", type=_targets, default=list(TARGETS), help="skybound,peer,bare")
    p.add_argument("--events", type=int, default=30, help="events of the paced latency phase")
    p.add_argument("--rate", type=float, default=1.0, help="events/s of the latency phase")
    p.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help="longest the burst keeps committing, in seconds (it stops at --burst-events first)",
    )
    p.add_argument(
        "--burst-events",
        type=int,
        help="events of the burst (default: 1,000,000 / clients, between 50 and 300)",
    )
    p.add_argument(
        "--bulk",
        type=int,
        default=0,
        metavar="EVENTS",
        help="then a bulk phase: transactions that each change this many of the board's "
        "flights (0: none)",
    )
    p.add_argument(
        "--bulk-transactions", type=_positive, default=3, help="transactions of the bulk phase"
    )
    p.add_argument(
        "--drain-timeout", type=float, default=120.0, help="longest wait for a phase's deliveries"
    )
    p.add_argument("--connect-timeout", type=float, default=180.0, help="to connect all clients")
    p.add_argument("--concurrency", type=int, default=100, help="client handshakes in flight")
    p.add_argument(
        "--loadgen-procs",
        type=_positive,
        default=1,
        help="load generator processes sharing the clients",
    )
    p.add_argument(
        "--rounds",
        type=_positive,
        default=1,
        help="measure every target this many times, interleaved; the table gives medians",
    )
    p.add_argument("--seed-flights", type=int, default=2000)
    p.add_argument("--seed-days", type=int, default=3)
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the Skybound server in an extra burst at the largest client count",
    )
    p.add_argument("--output", type=Path, default=RESULTS_DIR / "fanout.md", help="report file")
    return p


def _progress(row: Row) -> str:
    def show(value: float | None, unit: str, digits: int = 1) -> str:
        return "n/a" if value is None else f"{value:,.{digits}f}{unit}"

    return (
        f"{row.connected:,} connected in {show(row.connect_seconds, ' s', 2)}; "
        f"p50 {show(row.p50_ms, ' ms')}, p99 {show(row.p99_ms, ' ms')}; "
        f"peak {show(row.peak_rate, ' deliveries/s', 0)}; {show(row.kb_per_client, ' KB/client')}"
    )


def _invocation(argv: Sequence[str]) -> str:
    python = os.path.relpath(sys.executable, PROJECT_DIR)
    return shlex.join([python, "-m", "bench.fanout", *argv])


def _versions() -> str:
    names = ("aiohttp", "asyncpg", "uvloop", "starlette", "sse-starlette", "broadcaster", "uvicorn")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return (
        f"Python {platform.python_version()}, {', '.join(found)}; {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}"
    )


def _check_installed(targets: Sequence[str]) -> str | None:
    if PEER in targets:
        for module in ("starlette", "sse_starlette", "broadcaster", "uvicorn", "httptools"):
            try:
                __import__(module)
            except ImportError:
                return (
                    f"the peer needs {module}: .venv/bin/pip install sse-starlette "
                    "'broadcaster[postgres]' starlette 'uvicorn[standard]'"
                )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    problem = _check_installed(args.targets)
    if problem:
        print(f"bench: {problem}", file=sys.stderr)
        return 2
    run_logs = RESULTS_DIR / "logs" / "fanout"
    run_logs.mkdir(parents=True, exist_ok=True)
    for stale in run_logs.glob("*"):
        stale.unlink()

    report = Report(
        command=_invocation(argv),
        settings={
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": _versions(),
            "servers": "one process each on 127.0.0.1; Skybound with SKYBOUND_ACCESS_LOG=false "
            "SKYBOUND_LOG_LEVEL=WARNING and every other setting at its default",
        },
    )
    with (
        bench_home(None) as (home, _owned),
        guarded_run(home, True, report.notes) as outcome,
    ):
        print(f"seeding {args.seed_flights:,} legs into {home} ...", flush=True)
        seed_argv = [skybound_bin(), "seed", "--flights", str(args.seed_flights)]
        seed_argv += ["--days", str(args.seed_days), "--seed", "1"]
        status, output, _wall = run_bounded(seed_argv, _env(home), 600, run_logs / "seed.log")
        if status != 0:
            raise BenchError(f"{_display(seed_argv)} failed with {status}:\n{output[-2000:]}")
        report.commands.append(f"{_env_shown(home)} {_display(seed_argv)}")

        # The bench holds the embedded PostgreSQL for the whole run: Skybound attaches to
        # it through SKYBOUND_HOME (and leaves it running on exit), the peers use its URL.
        from foundation.embedded import EmbeddedPostgres

        outcome.postgres = pg = EmbeddedPostgres(home / "pgdata")
        pg.start()
        dsn = dsn_for(home / "pgdata")
        board = asyncio.run(prepare(dsn))
        work = home / "work"
        work.mkdir()
        plan = Plan(
            home=home,
            dsn=dsn,
            board=board,
            events=GateChanges(dsn, board),
            latency_events=args.events,
            rate=args.rate,
            burst_events=args.burst_events,
            burst_seconds=args.duration,
            bulk_events=max(0, args.bulk),
            bulk_transactions=args.bulk_transactions,
            drain_timeout=args.drain_timeout,
            connect_timeout=args.connect_timeout,
            concurrency=args.concurrency,
            loadgen_procs=args.loadgen_procs,
            logs=run_logs,
            work=work,
        )
        report.settings["board"] = (
            f"`/v1/streams/boards/{board.iata}` (departures; {len(board.flight_ids)} flights "
            f"on the live board of the {args.seed_flights:,}-leg seed); each event is "
            f"`UPDATE flights SET departure_gate = $1 WHERE id = $2`, autocommit"
        )
        report.settings["phases"] = (
            f"connect (≤ {args.concurrency} handshakes in flight), {SETTLE_SECONDS:g} s idle, "
            f"{args.events} events at {args.rate:g}/s (latency), then a burst of back-to-back "
            "events (peak deliveries/s); "
            + (
                f"then {args.bulk_transactions} transactions of {args.bulk} gate changes "
                "each (bulk), one at a time; "
                if args.bulk > 0
                else ""
            )
            + (
                f"{args.rounds} rounds, targets interleaved within each"
                if args.rounds > 1
                else "one round"
            )
        )
        for clients in args.clients:
            for round_ in range(1, args.rounds + 1):
                for name in args.targets:
                    target = TARGET_INFO[name]
                    print(
                        f"measuring {target.label} with {clients:,} clients "
                        f"(round {round_} of {args.rounds}) ...",
                        flush=True,
                    )
                    profile = (
                        args.profile
                        and name == SKYBOUND
                        and clients == max(args.clients)
                        and round_ == args.rounds
                    )
                    row = measure(plan, target, clients, round_, report, profile=profile)
                    report.rows.append(row)
                    print(f"  {_progress(row)}", flush=True)
    code = outcome.code
    report.notes.append(
        "every target's events are the same UPDATE; Skybound's capture trigger and the peers' "
        "NOTIFY trigger both fire for each, so the database does the same work for every target"
    )
    text = render(report)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {_display([str(args.output.resolve())])}")
    return code
