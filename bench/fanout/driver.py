"""Runs the fan-out benchmark: database, targets, load generators, phases, report."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.fanout.database import Board, GateChanges, prepare
from bench.fanout.report import BARE, COMPAT, PEER, SKYBOUND, WS, Report, Row, render
from bench.harness import BENCH_DIR, HOST, RESULTS_DIR, BenchError
from bench.harness.load import LoadGenerators, raise_open_files_limit, shares
from bench.harness.options import positive, positive_list
from bench.harness.postgres import bench_home, guarded_run
from bench.harness.processes import tail
from bench.harness.pyspy import MISSING, py_spy_bin, recording
from bench.harness.pyspy import summarise as summarise_stacks
from bench.harness.report import LOGS_DIR, display, fresh_dir, invocation, now, write
from bench.harness.servers import (
    Server,
    free_port,
    peer_env,
    seed_home,
    shown_env,
    skybound_bin,
    skybound_env,
)
from bench.harness.stats import percentile
from bench.harness.usage import machine_busy, pids_cpu, rss_and_fds
from bench.harness.versions import machine

PEERS_DIR = BENCH_DIR / "peers"
TARGETS = (SKYBOUND, WS, COMPAT, PEER, BARE)
# The anon key the compatible endpoint is started with (a bench-only server, 127.0.0.1).
COMPAT_ANON_KEY = "sb_publishable_bench_fanout"
# Client heartbeats, as Supabase's clients send them (realtime-js: every 25 s), so the
# server's own WebSocket heartbeat (a ping after 30 s without a frame) stays quiet.
HEARTBEAT_SECONDS = 20
# Unlike /v1/ws, the compatible socket is in the rate limiter's default class (600
# requests a minute per address): every load generator client shares 127.0.0.1, so
# the bench lifts that budget (the limiter still counts every connection).
COMPAT_RATE_LIMITS = '{"address": "1000000/minute"}'
# Whose versions the report gives: Skybound's stack and the peer's.
PACKAGES = ("aiohttp", "asyncpg", "uvloop", "starlette", "sse-starlette", "broadcaster", "uvicorn")
# Clients settle this long after the last one connected before the server's RSS is read.
SETTLE_SECONDS = 2.0


# --- targets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    ready_marker: str | None
    at_key: str = "at"

    @property
    def skybound(self) -> bool:
        return self.name in (SKYBOUND, WS, COMPAT)

    def argv(self, port: int, dsn: str, board: Board) -> list[str]:
        if self.skybound:
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
        if self.name == COMPAT:
            return skybound_env(
                home,
                SUPABASE_ANON_KEY=COMPAT_ANON_KEY,
                SKYBOUND_REALTIME_TABLES="flights",
                SKYBOUND_RATE_LIMITS=COMPAT_RATE_LIMITS,
            )
        if self.skybound:
            # Attaches to the bench's embedded PostgreSQL through SKYBOUND_HOME.
            return skybound_env(home)
        return peer_env()

    def client(self, board: Board, vsn: str) -> list[str]:
        """The load generator's options for this target's stream."""
        if self.name == WS:
            subscribe = {"type": "subscribe", "topic": f"board:{board.iata}:departures"}
            return [
                "--path", "/v1/ws",
                "--send", json.dumps(subscribe),
                "--heartbeat", json.dumps({"type": "ping"}),
            ]  # fmt: skip
        if self.name == COMPAT:
            return [
                "--path", f"/realtime/v1/websocket?apikey={COMPAT_ANON_KEY}&vsn={vsn}",
                "--send", json.dumps(compat_join(board, vsn)),
                "--heartbeat", json.dumps(phoenix_message(vsn, None, "hb", "phoenix",
                                                          "heartbeat", {})),
            ]  # fmt: skip
        return ["--path", f"/v1/streams/boards/{board.iata}"]


def phoenix_message(
    vsn: str, join_ref: str | None, ref: str, topic: str, event: str, payload: Any
) -> Any:
    """A Phoenix message in the serializer ``vsn`` (1.0.0: an object, 2.0.0: an array)."""
    if vsn == "2.0.0":
        return [join_ref, ref, topic, event, payload]
    return {"join_ref": join_ref, "ref": ref, "topic": topic, "event": event, "payload": payload}


def compat_join(board: Board, vsn: str) -> Any:
    """The join supabase-js sends for ``channel('fanout').on('postgres_changes',
    {event: '*', schema: 'public', table: 'flights', filter: 'origin=eq.XXX'})``."""
    config = {
        "broadcast": {"ack": False, "self": False},
        "presence": {"key": "", "enabled": False},
        "postgres_changes": [
            {"event": "*", "schema": "public", "table": "flights",
             "filter": f"origin=eq.{board.iata}"}
        ],
        "private": False,
    }  # fmt: skip
    return phoenix_message(vsn, "1", "1", "realtime:fanout", "phx_join", {"config": config})


TARGET_INFO = {
    SKYBOUND: Target(SKYBOUND, "Skybound SSE", "event: snapshot"),
    WS: Target(WS, "Skybound WebSocket", '"event":"snapshot"'),
    COMPAT: Target(
        COMPAT, "Skybound Supabase-compatible", "Subscribed to PostgreSQL", "commit_timestamp"
    ),
    PEER: Target(PEER, "peer: Starlette + broadcaster", ": subscribed"),
    BARE: Target(BARE, "bare writer", None),
}


def rss_kb(pid: int) -> int:
    return rss_and_fds([pid])[0]


def write_syscalls(pid: int) -> int:
    """write(2)-family syscalls of a process so far: uvloop writes sockets with write/writev,
    so for these servers it counts their socket writes (send(2) would not be counted)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise BenchError(f"no syscw for pid {pid}")


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
    sustain_rate: float
    sustain_seconds: float
    vsn: str
    logs: Path
    work: Path


def burst_size(plan: Plan, clients: int) -> int:
    if plan.burst_events is not None:
        return plan.burst_events
    # About a million deliveries, without letting a client fall more than 300 events behind.
    return max(50, min(300, 1_000_000 // clients))


def loadgen_argvs(plan: Plan, target: Target, port: int, clients: int) -> list[list[str]]:
    split = shares(clients, plan.loadgen_procs)
    argvs = []
    for share in split:
        argv = [
            sys.executable,
            "-m",
            "bench.fanout.loadgen",
            "--port",
            str(port),
            *target.client(plan.board, plan.vsn),
            "--at-key",
            target.at_key,
            "--heartbeat-seconds",
            str(HEARTBEAT_SECONDS),
            "--clients",
            str(share),
            "--concurrency",
            str(max(1, plan.concurrency // len(split))),
        ]
        if target.ready_marker:
            argv += ["--ready-marker", target.ready_marker]
        argvs.append(argv)
    return argvs


def measure(
    plan: Plan, target: Target, clients: int, round_: int, report: Report, *, profile: bool
) -> Row:
    row = Row(target=target.name, label=target.label, clients=clients, round=round_)
    port = free_port()
    argv = target.argv(port, plan.dsn, plan.board)
    log = plan.logs / f"{target.name}-{clients}-{round_}.log"
    env = target.env(plan.home)
    prefix = f"{shown_env(env)} " if target.skybound else ""
    report.commands.append(f"{prefix}{display(argv)} &")
    server = Server(target.label, argv, env, f"http://{HOST}:{port}/readyz", log)
    try:
        with server:
            _measure_running(plan, target, server, port, row, report, profile=profile)
            server.stop()
        if not server.stopped_cleanly:
            row.notes.append(
                f"server did not stop within 30 s of SIGTERM (exit {server.exit_code})"
            )
    except BenchError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        row.notes.append("run aborted: " + " … ".join(lines[:1] + lines[-2:]))
    logged = server.logged()
    if logged:
        row.notes.append(
            f"server logged {len(logged)} line(s); first: `{logged[0][:240]}` "
            f"(full log: {display([str(log)])})"
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
    report.commands += [display(a) for a in argvs]
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
            note = f"{sum(failures.values()):,} clients failed to connect: {dict(failures)}"
            row.notes.append(note)
            print(f"  {note}", flush=True)
        if not server.alive:
            raise BenchError(f"{target.label} exited while clients connected:\n{tail(server.log)}")
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
        # Last: a rate the server cannot hold ends with slow consumers cut, which would
        # leave any later phase fewer clients than it is measured against.
        if plan.sustain_rate > 0:
            _sustain_phase(plan, load, row)
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
    _behind(row, waited, "latency phase: {:,} clients still missed events after "
            f"{plan.drain_timeout:.0f} s (their latencies are not in p50/p99)")  # fmt: skip
    _lost(row, "latency", replies)
    durations = sorted(commits.durations)
    if durations:
        row.notes.append(
            f"latency phase: {commits.count} events at {plan.rate:g}/s, median commit "
            f"{percentile(durations, 0.5) * 1000:.2f} ms"
        )


def _sustain_phase(plan: Plan, load: LoadGenerators, row: Row) -> None:
    """Changes at a steady ``sustain_rate`` for ``sustain_seconds``: does every client get
    every one, and how far behind is the last client when the last change is committed?"""
    load.ask({"cmd": "phase", "mode": "burst"}, 30)
    count = max(1, round(plan.sustain_rate * plan.sustain_seconds))
    commits = asyncio.run(plan.events.paced(count, plan.sustain_rate))
    waited = load.ask(
        {"cmd": "wait", "per_client": commits.count, "timeout": plan.drain_timeout},
        plan.drain_timeout + 30,
    )
    replies = load.ask({"cmd": "report"}, 60)
    row.sustain_events = commits.count
    row.sustain_offered = (commits.count - 1) / max(commits.ended - commits.started, 1e-9)
    row.sustain_deliveries = sum(r["events"] for r in replies)
    row.sustain_expected = commits.count * sum(r["open"] for r in replies)
    row.sustain_min_per_client = min((r["min_per_client"] for r in replies), default=0)
    lasts = [r["last"] for r in replies if r["last"]]
    if lasts:
        row.sustain_lag_ms = (max(lasts) - commits.ended) * 1000
    row.notes.append(
        f"sustained: {commits.count} changes at {plan.sustain_rate:g}/s, "
        f"{row.sustain_deliveries:,} / {row.sustain_expected:,} deliveries, the last "
        f"{row.sustain_lag_ms or 0:,.0f} ms after the last commit"
    )
    _behind(row, waited, "sustained: {:,} clients had not received all "
            f"{commits.count} changes after {plan.drain_timeout:.0f} s")  # fmt: skip
    _lost(row, "sustained", replies)


def _burst_phase(plan: Plan, load: LoadGenerators, server: Server, clients: int, row: Row) -> None:
    load.ask({"cmd": "phase", "mode": "burst"}, 30)
    wall0 = time.monotonic()
    server_cpu0, load_cpu0 = pids_cpu([server.pid]), pids_cpu(load.pids)
    machine0 = machine_busy()
    writes0 = write_syscalls(server.pid)
    commits = asyncio.run(plan.events.burst(burst_size(plan, clients), plan.burst_seconds))
    waited = load.ask(
        {"cmd": "wait", "per_client": commits.count, "timeout": plan.drain_timeout},
        plan.drain_timeout + 30,
    )
    wall = time.monotonic() - wall0
    row.burst_writes = write_syscalls(server.pid) - writes0
    row.server_cpu_seconds = pids_cpu([server.pid]) - server_cpu0
    row.server_cpu = row.server_cpu_seconds / wall
    row.loadgen_cpu = (pids_cpu(load.pids) - load_cpu0) / wall
    row.machine_cpu = (machine_busy() - machine0) / wall
    row.load_average = os.getloadavg()[0]
    replies = load.ask({"cmd": "report"}, 60)
    row.burst_events = commits.count
    row.burst_deliveries = sum(r["events"] for r in replies)
    row.burst_open = sum(r["open"] for r in replies)
    row.burst_expected = commits.count * row.burst_open
    firsts = [r["first"] for r in replies if r["first"]]
    lasts = [r["last"] for r in replies if r["last"]]
    if firsts and lasts and max(lasts) > min(firsts):
        row.burst_seconds = max(lasts) - min(firsts)
        row.peak_rate = row.burst_deliveries / row.burst_seconds
    if row.burst_open < row.connected:
        # Fewer clients than connected: not a rate to set beside the other targets'.
        row.peak_rate = None
        row.notes.append(
            f"burst: only {row.burst_open:,} of {row.connected:,} clients were still open; "
            "no peak rate"
        )
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
    server_pings = sum(r.get("server_pings", 0) for r in replies)
    if server_pings:
        row.notes.append(f"{server_pings:,} server pings answered (client heartbeats were late)")
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
    server_cpu0 = pids_cpu([server.pid])
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
    row.bulk_cpu_seconds = pids_cpu([server.pid]) - server_cpu0
    row.bulk_writes = write_syscalls(server.pid) - writes0
    row.bulk_events = plan.bulk_events
    row.bulk_transactions = plan.bulk_transactions
    _lost(row, "bulk", lost)


def _behind(row: Row, waited: list[Any], note: str) -> None:
    """Note how many clients a wait left behind (``note`` has a ``{}`` for the count)."""
    behind = sum(w["behind"] for w in waited)
    if behind:
        row.notes.append(note.format(behind))


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
    if py_spy_bin() is None:
        report.notes.append(MISSING)
        return
    raw = plan.work / "skybound-profile.txt"
    with recording(server.pid, raw, plan.logs / "py-spy.log", ["--function"]) as argv:
        load.ask({"cmd": "phase", "mode": "burst"}, 30)
        commits = asyncio.run(plan.events.burst(burst_size(plan, clients), plan.burst_seconds))
        load.ask(
            {"cmd": "wait", "per_client": commits.count, "timeout": plan.drain_timeout},
            plan.drain_timeout + 30,
        )
        reply = load.ask({"cmd": "report"}, 60)
    report.commands.append(display(argv))
    if not raw.exists():
        report.profile = [f"py-spy wrote no profile:\n\n```\n{tail(plan.logs / 'py-spy.log')}\n```"]
        return
    delivered = sum(r["events"] for r in reply)
    report.profile = [
        f"py-spy (`{display(argv)}`) on `skybound serve` during an extra, "
        f"unmeasured burst of {commits.count} events to {clients:,} clients "
        f"({delivered:,} deliveries), frames aggregated by function. Idle time is not sampled.",
        "",
        *summarise_stacks(raw, (), other="", project=("",), top=15),
    ]


# --- main ------------------------------------------------------------------------------


def _targets(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"targets are {', '.join(TARGETS)}; got {text!r}")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        description="Fan-out of database changes: Skybound (SSE, WebSocket, Supabase-compatible), "
        "a Starlette peer, a bare writer.",
    )
    p.add_argument("--clients", type=positive_list, default=[1000, 10000], help="e.g. 1000,10000")
    p.add_argument("--targets", type=_targets, default=list(TARGETS), help=",".join(TARGETS))
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
        "--bulk-transactions", type=positive, default=3, help="transactions of the bulk phase"
    )
    p.add_argument(
        "--drain-timeout", type=float, default=120.0, help="longest wait for a phase's deliveries"
    )
    p.add_argument("--connect-timeout", type=float, default=180.0, help="to connect all clients")
    p.add_argument("--concurrency", type=int, default=100, help="client handshakes in flight")
    p.add_argument(
        "--loadgen-procs",
        type=positive,
        default=1,
        help="load generator processes sharing the clients",
    )
    p.add_argument(
        "--rounds",
        type=positive,
        default=1,
        help="measure every target this many times, interleaved; the table gives medians",
    )
    p.add_argument(
        "--sustain",
        type=float,
        default=50.0,
        metavar="RATE",
        help="changes/s of the sustained phase (0: none)",
    )
    p.add_argument(
        "--sustain-seconds", type=float, default=10.0, help="length of the sustained phase"
    )
    p.add_argument(
        "--vsn",
        choices=("1.0.0", "2.0.0"),
        default="2.0.0",
        help="the compat target's Phoenix serializer (realtime-js 2.91+ uses 2.0.0)",
    )
    p.add_argument("--seed-flights", type=int, default=2000)
    p.add_argument("--seed-days", type=int, default=3)
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy a Skybound server in an extra burst at the largest client count",
    )
    p.add_argument(
        "--profile-target",
        choices=(SKYBOUND, WS, COMPAT),
        default=SKYBOUND,
        help="which Skybound target --profile samples",
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
    # Servers and load generators inherit it: 10,000 clients are 10,000 sockets each side.
    open_files = raise_open_files_limit()
    run_logs = fresh_dir(LOGS_DIR / "fanout")
    report = Report(
        command=invocation("bench.fanout", argv),
        settings={
            "date": now(),
            "machine": machine(packages=PACKAGES),
            "servers": "one process each on 127.0.0.1; Skybound with SKYBOUND_ACCESS_LOG=false "
            "SKYBOUND_LOG_LEVEL=WARNING and every other setting at its default (the compat "
            "target adds SUPABASE_ANON_KEY, SKYBOUND_REALTIME_TABLES=flights and a per-address "
            "budget its sockets from one address fit in); open files "
            f"limit {open_files:,} per process",
        },
    )
    with (
        bench_home(None) as (home, _owned),
        guarded_run(home, True, report.notes) as outcome,
    ):
        seed_home(home, True, args.seed_flights, args.seed_days, 600, run_logs, report.commands)
        # Skybound attaches to the held PostgreSQL through SKYBOUND_HOME, the peers use its URL.
        dsn = outcome.hold_postgres()
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
            sustain_rate=max(0.0, args.sustain),
            sustain_seconds=args.sustain_seconds,
            vsn=args.vsn,
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
                f"then {args.sustain:g} changes/s for {args.sustain_seconds:g} s (sustained); "
                if args.sustain > 0
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
                        and name == args.profile_target
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
    write(render(report), args.output)
    return code
