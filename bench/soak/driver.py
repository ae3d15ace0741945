"""Runs the soak: database, server, load generators, the writer, minute samples, the check."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import HOST, RESULTS_DIR, BenchError
from bench.harness.load import LoadGenerators, raise_open_files_limit
from bench.harness.options import non_negative, positive
from bench.harness.postgres import bench_home, guarded_run, postmaster_pid
from bench.harness.processes import tail
from bench.harness.report import LOGS_DIR, display, fresh_dir, invocation, now, write
from bench.harness.servers import (
    Server,
    free_port,
    get_status,
    seed_home,
    shown_env,
    skybound_bin,
    skybound_env,
)
from bench.harness.stats import percentile
from bench.harness.usage import machine_busy, pids_cpu, process_tree, rss_and_fds, tree_cpu
from bench.harness.versions import code_version, machine
from bench.soak import database
from bench.soak.report import Minute, Report, percentile_ms, render

WRITER_GRACE_SECONDS = 90.0
# Shares of the SSE clients: departures boards, arrivals boards, the rest single flights.
SSE_DEPARTURES = 0.60
SSE_ARRIVALS = 0.15
WS_FLIGHTS = 2  # each WebSocket client: one departures board and this many flights


# --- the clients -----------------------------------------------------------------------


def client_plans(
    watched: database.Watched, sse: int, ws: int, procs: int, seed: int
) -> list[dict[str, Any]]:
    """Who watches what, dealt round-robin to the load generators (same seed, same plan)."""
    rng = random.Random(seed)
    airports, flights = watched.airports, watched.flights
    plans: list[dict[str, Any]] = [{"sse": [], "ws": []} for _ in range(procs)]
    for i in range(sse):
        pick = rng.random()
        if pick < SSE_DEPARTURES:
            iata = rng.choice(airports)
            entry = [f"board:{iata}:departures", f"/v1/streams/boards/{iata}?kind=departures"]
        elif pick < SSE_DEPARTURES + SSE_ARRIVALS:
            iata = rng.choice(airports)
            entry = [f"board:{iata}:arrivals", f"/v1/streams/boards/{iata}?kind=arrivals"]
        else:
            flight = rng.choice(flights)
            entry = [f"flight:{flight}", f"/v1/streams/flights/{flight}"]
        plans[i % procs]["sse"].append(entry)
    for i in range(ws):
        topics = [f"board:{rng.choice(airports)}:departures"]
        topics += [f"flight:{f}" for f in rng.sample(flights, min(WS_FLIGHTS, len(flights)))]
        plans[i % procs]["ws"].append(topics)
    return plans


def watched_topics(plans: Sequence[dict[str, Any]]) -> set[str]:
    topics = {topic for plan in plans for topic, _path in plan["sse"]}
    return topics | {topic for plan in plans for topics in plan["ws"] for topic in topics}


# --- minute samples --------------------------------------------------------------------


class Sampler:
    """CPU, memory and open files of the server, PostgreSQL and the load generators."""

    def __init__(self, server: Server, postmaster: int, loadgens: Sequence[int]) -> None:
        self.server = server
        self.postmaster = postmaster
        self.loadgens = list(loadgens)
        self._last = self._cpu()

    def _cpu(self) -> tuple[float, float, float, list[float], float]:
        return (
            time.monotonic(),
            tree_cpu(self.server.pid),
            tree_cpu(self.postmaster),
            [pids_cpu([pid]) for pid in self.loadgens],
            machine_busy(),
        )

    def sample(self, row: Minute, base_url: str) -> None:
        pids = process_tree(self.server.pid)
        row.rss_kb, row.fds = rss_and_fds(pids)
        row.server_procs = len(pids)
        now = self._cpu()
        wall = now[0] - self._last[0]
        if wall > 0:
            row.server_cpu = (now[1] - self._last[1]) / wall
            row.postgres_cpu = (now[2] - self._last[2]) / wall
            row.loadgen_cpu = [(b - a) / wall for a, b in zip(self._last[3], now[3], strict=True)]
            row.machine_cpu = (now[4] - self._last[4]) / wall
        self._last = now
        row.load_average = os.getloadavg()[0]
        status = get_status(f"{base_url}/readyz")
        row.ready = "200" if status == 200 else f"**{status}**"


# --- the run ---------------------------------------------------------------------------


def _progress(row: Minute) -> str:
    p99 = percentile_ms(row.latency, 0.99)
    return (
        f"minute {row.index}: {row.deliveries:,} deliveries, dup {row.dup}, ooo {row.ooo}, "
        f"p99 {'n/a' if p99 is None else f'{p99:,.1f} ms'}, "
        f"RSS {(row.rss_kb or 0) / 1024:,.0f} MiB, "
        f"fds {row.fds}, {row.connects:,} connects, {row.disconnects:,} disconnects, "
        f"server closes {sum(row.server_closes.values()):,}, load gen CPU "
        + " / ".join(f"{c:.0%}" for c in row.loadgen_cpu)
    )


def soak(args: argparse.Namespace, home: Path, dsn: str, report: Report, logs: Path) -> None:
    watched = asyncio.run(database.watched(dsn, args.airports))
    procs = max(1, min(args.loadgen_procs, args.sse + args.ws))
    plans = client_plans(watched, args.sse, args.ws, procs, args.seed)
    topics = watched_topics(plans)
    report.settings["clients"] = (
        f"{args.sse:,} SSE ({SSE_DEPARTURES:.0%} departures boards, {SSE_ARRIVALS:.0%} arrivals "
        f"boards, the rest single flights) and {args.ws:,} WebSocket (one departures board and "
        f"{WS_FLIGHTS} flights each) over {len(topics):,} topics: the boards of "
        f"{len(watched.airports)} airports ({', '.join(watched.airports)}) and "
        f"{len(watched.flights):,} of their live departures; {procs} load generator process(es)"
    )
    report.settings["load"] = (
        f"{args.rate:g} events/s for {args.minutes} min, each an autocommit UPDATE of one of those "
        f"{len(watched.flights):,} flights (alternately `departure_gate` and "
        f"`estimated_departure`); {args.churn:g} clients/s leave (half orderly, half RST) and "
        "come back 0.5-3 s later, resuming (SSE `Last-Event-ID`, WebSocket `since`)"
    )
    work = home / "work"
    work.mkdir(exist_ok=True)
    plan_files = []
    for i, plan in enumerate(plans):
        path = work / f"plan-{i}.json"
        path.write_text(json.dumps(plan))
        plan_files.append(path)

    port = free_port()
    argv = [skybound_bin(), "serve", "--port", str(port), "--workers", str(args.workers)]
    base = f"http://{HOST}:{port}"
    env = skybound_env(home)
    report.commands.append(f"{shown_env(env)} {display(argv)} &")
    baseline_id = asyncio.run(database.newest_event(dsn))
    name = f"skybound serve --workers {args.workers}"
    with Server(name, argv, env, f"{base}/readyz", logs / "skybound.log") as server:
        gen_argvs = [
            [sys.executable, "-m", "bench.soak.loadgen", "--port", str(port), "--plan", str(f)]
            for f in plan_files
        ]
        report.commands += [display(a) for a in gen_argvs]
        gen_logs = [logs / f"loadgen-{i}.log" for i in range(len(gen_argvs))]
        with LoadGenerators(gen_argvs, gen_logs) as load:
            sampler = Sampler(server, postmaster_pid(home / "pgdata"), load.pids)
            rows = {0: Minute(0)}
            print(f"connecting {args.sse:,} SSE and {args.ws:,} WebSocket clients ...", flush=True)
            replies = load.ask({"cmd": "connect", "timeout": args.connect_timeout},
                               args.connect_timeout + 60)  # fmt: skip
            connected = sum(r["connected"] for r in replies)
            seconds = max((r["seconds"] or 0 for r in replies), default=0)
            report.notes.append(
                f"{connected:,} of {args.sse + args.ws:,} clients subscribed in {seconds:.1f} s "
                "at the start"
                + "".join(f"; failures: {r['failures']}" for r in replies if r["failures"])
            )
            print(f"  {connected:,} subscribed in {seconds:.1f} s", flush=True)
            if not server.alive:
                raise BenchError(f"the server exited while clients connected:\n{tail(server.log)}")
            sampler.sample(rows[0], base)

            t0 = time.time() + 1.0
            load.ask(
                [
                    {"cmd": "start", "t0": t0, "minutes": args.minutes,
                     "churn": args.churn / procs, "seed": args.seed * 1000 + i}
                    for i in range(procs)
                ],
                30,
            )  # fmt: skip
            writer = database.Writer(dsn, watched.flights, args.rate, args.seed)
            outcome: dict[str, database.Written] = {}
            thread = threading.Thread(
                target=lambda: outcome.setdefault(
                    "written", asyncio.run(writer.run(t0, args.minutes * 60))
                ),
                name="soak-writer",
                daemon=True,
            )
            thread.start()
            for i in range(1, args.minutes + 1):
                time.sleep(max(0.0, t0 + 60 * i + 0.5 - time.time()))
                row = rows[i] = Minute(i)
                sampler.sample(row, base)
                for counters in load.ask({"cmd": "minute", "index": i}, 60):
                    row.add(counters)
                report.minutes = [rows[k] for k in sorted(rows)]
                print(f"  {_progress(row)}", flush=True)
                if not server.alive:
                    report.notes.append(f"the server exited during minute {i}")
                    break
            thread.join(WRITER_GRACE_SECONDS)
            written = outcome.get("written")
            if written is None:
                report.notes.append("the writer did not finish within 90 s of the end")
            else:
                _writer_notes(written, args, report)

            print("bringing every client back and draining ...", flush=True)
            away = sum(r["away"] for r in load.ask({"cmd": "finish", "timeout": 60}, 90))
            if away:
                report.notes.append(f"{away:,} clients could not come back after the run")
            log = asyncio.run(database.change_log(dsn, baseline_id, t0, args.minutes, topics))
            drained = load.ask(
                {"cmd": "drain", "finals": log.finals(), "timeout": args.drain_timeout},
                args.drain_timeout + 30,
            )
            behind = sum(r["behind"] for r in drained)
            if behind:
                why = (
                    "when no client had received anything for 20 s"
                    if any(r["stalled"] for r in drained)
                    else f"{args.drain_timeout:.0f} s after the run"
                )
                report.notes.append(
                    f"{behind:,} subscriptions had not reached the last event of their topic {why}"
                )
            expected_path = work / "expected.json"
            expected_path.write_text(
                json.dumps(
                    {"first_id": log.first_id, "minute_of": log.minute_of, "topics": log.topics}
                )
            )
            verified = load.ask({"cmd": "verify", "expected": str(expected_path)}, 300)
            final = load.ask({"cmd": "minutes"}, 60)
            _fold(rows, final, verified, log, report)
            report.minutes = [rows[i] for i in sorted(rows)]
        server.stop()
    report.notes.append(server.lifetime_note())
    report.notes.append(
        server.logged_note(width=400) or "the server logged nothing at WARNING or above"
    )


def _writer_notes(written: database.Written, args: argparse.Namespace, report: Report) -> None:
    commits = sorted(written.commit_seconds)
    if commits:
        report.notes.append(
            f"writer: {sum(written.ok.values()):,} UPDATEs of "
            f"{int(args.rate * args.minutes * 60):,} planned, median "
            f"{percentile(commits, 0.5) * 1000:.2f} ms, p99 "
            f"{percentile(commits, 0.99) * 1000:.2f} ms each; at most "
            f"{written.behind_max:.2f} s behind its schedule"
        )
    if written.failed:
        report.notes.append(f"writer failures: {dict(written.failed)}")


def _fold(
    rows: dict[int, Minute],
    final: list[dict[str, Any]],
    verified: list[dict[str, Any]],
    log: database.ChangeLog,
    report: Report,
) -> None:
    """The load generators' final counters (they include the catch-up after the last
    minute), the losses they found, and the events written, into the minute rows."""
    for i, row in rows.items():
        keep = (row.rss_kb, row.fds, row.server_procs, row.server_cpu, row.postgres_cpu,
                row.loadgen_cpu, row.machine_cpu, row.load_average, row.ready)  # fmt: skip
        fresh = Minute(i)
        (fresh.rss_kb, fresh.fds, fresh.server_procs, fresh.server_cpu, fresh.postgres_cpu,
         fresh.loadgen_cpu, fresh.machine_cpu, fresh.load_average, fresh.ready) = keep  # fmt: skip
        for counters in final:
            if str(i) in counters:
                fresh.add(counters[str(i)])
        fresh.events = log.per_minute.get(i, 0)
        rows[i] = fresh
    for reply in verified:
        for minute, count in reply["lost"].items():
            rows.setdefault(int(minute), Minute(int(minute))).lost += count
        report.expected += reply["expected"]
        report.foreign += reply["foreign"]
        report.never_subscribed += reply["never_subscribed"]
        report.lost_samples += reply["samples"][: max(0, 5 - len(report.lost_samples))]
    report.verified = True
    if report.foreign:
        report.notes.append(f"{report.foreign:,} deliveries were events not of the client's topic")
    if report.never_subscribed:
        report.notes.append(f"{report.never_subscribed:,} subscriptions never got a snapshot")


# --- main ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description="A bounded soak: SSE and WebSocket clients that leave and resume, "
        "events written by SQL, losses counted by id against change_events.",
    )
    p.add_argument("--minutes", type=positive, default=10, help="length of the run (10)")
    p.add_argument("--sse", type=non_negative, default=2000, help="SSE clients (2000)")
    p.add_argument("--ws", type=non_negative, default=500, help="WebSocket clients (500)")
    p.add_argument("--churn", type=float, default=50.0, help="clients leaving per second (50)")
    p.add_argument("--rate", type=float, default=200.0, help="events written per second (200)")
    p.add_argument("--workers", type=positive, default=1, help="skybound serve --workers (1)")
    p.add_argument("--loadgen-procs", type=positive, default=2, help="load generator processes (2)")
    p.add_argument(
        "--airports", type=positive, default=8, help="airports whose boards are watched (8)"
    )
    p.add_argument("--seed", type=int, default=1, help="seeds the data, the plan and the churn")
    p.add_argument("--seed-flights", type=positive, default=4000)
    p.add_argument("--seed-days", type=positive, default=2)
    p.add_argument("--connect-timeout", type=float, default=180.0, help="to connect all clients")
    p.add_argument(
        "--drain-timeout", type=float, default=120.0, help="longest wait for the last events"
    )
    p.add_argument("--output", type=Path, default=RESULTS_DIR / "soak.md", help="report file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    if args.sse + args.ws < 1:
        print("bench: no clients (--sse and --ws are both 0)", file=sys.stderr)
        return 2
    # The server and the load generators inherit this limit.
    files = raise_open_files_limit()
    logs = fresh_dir(LOGS_DIR / "soak")
    report = Report(
        command=invocation("bench.soak", argv),
        settings={
            "date": now(),
            "commit": code_version(),
            "machine": machine(),
            "server": f"`skybound serve --workers {args.workers}` on 127.0.0.1, "
            "SKYBOUND_ACCESS_LOG=false SKYBOUND_LOG_LEVEL=WARNING, every other setting at its "
            f"default; open files limit {files:,}",
        },
    )
    with bench_home(None) as (home, _owned), guarded_run(home, True, report.notes) as outcome:
        seed_home(home, True, args.seed_flights, args.seed_days, 600, logs, report.commands,
                  seed_value=args.seed)  # fmt: skip
        soak(args, home, outcome.hold_postgres(), report, logs)
    write(render(report), args.output)
    return outcome.code
