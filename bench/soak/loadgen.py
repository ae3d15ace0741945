"""The soak's load generator: SSE and WebSocket clients (``clients.py``) that leave and
come back, in one uvloop process, steered by the driver over stdin.

    python -m bench.soak.loadgen --port P --plan FILE

Commands are JSON lines on stdin; each gets one JSON line back on stdout:

- ``{"cmd": "connect", "timeout": S}``: open every client (at most ``--concurrency``
  handshakes in flight); how many are subscribed, failures.
- ``{"cmd": "start", "t0": EPOCH, "minutes": M, "churn": PER_SECOND, "seed": N}``: from
  ``t0`` on, counters go to minute ``1 + (now - t0) // 60`` (minute 0 before); until
  ``t0 + 60 M`` about ``churn`` live clients a second leave (half with an orderly
  close, half with a RST) and come back 0.5 to 3 s later. Replies at once.
- ``{"cmd": "minute", "index": I}``: that minute's counters so far.
- ``{"cmd": "finish", "timeout": S}``: stop the churn and wait until every client is
  back and subscribed.
- ``{"cmd": "drain", "finals": {TOPIC: ID}, "timeout": S}``: wait until every client has
  reached the last event of each of its topics.
- ``{"cmd": "verify", "expected": PATH}``: compare what each client received with the
  change log (a JSON file the driver wrote); losses by the minute the event was written.
- ``{"cmd": "quit"}``: close every client and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
import uvloop

from bench.harness.load import answer_commands, raise_open_files_limit
from bench.soak.clients import SSE, WS, Client, Clock, Minute

AWAY_SECONDS = (0.5, 3.0)
RECONNECT_TIMEOUT = 10.0
RETRY_SECONDS = 1.0
MAX_ATTEMPTS = 30
TICK_SECONDS = 0.1
# The final drain gives up once no client has received anything for this long.
STALL_SECONDS = 20.0


class LoadGenerator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.host: str = args.host
        self.port: int = args.port
        self.concurrency: int = args.concurrency
        self.clock = Clock()
        with open(args.plan, "rb") as plan_file:
            plan = orjson.loads(plan_file.read())
        self.clients = [Client(self, SSE, [topic], path) for topic, path in plan["sse"]]
        self.clients += [Client(self, WS, topics, "/v1/ws") for topics in plan["ws"]]
        self.rng = random.Random(0)
        self.churning = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.end = 0.0

    async def connect(self, within: float) -> dict[str, Any]:
        gate = asyncio.Semaphore(self.concurrency)
        started = time.monotonic()
        deadline = started + within
        failures: Counter[str] = Counter()
        done: list[float] = []

        async def one(client: Client) -> None:
            async with gate:
                remaining = deadline - time.monotonic()
                failure = await client.connect(remaining) if remaining > 0 else "timeout"
                if failure is None:
                    done.append(time.monotonic() - started)
                else:
                    failures[failure] += 1

        await asyncio.gather(*(one(c) for c in self.clients))
        return {
            "connected": len(done),
            "failures": dict(failures),
            "seconds": max(done, default=None),
        }

    def minute(self, index: int) -> dict[str, Any]:
        """One minute's counters so far."""
        return (self.clock.rows.get(index) or Minute()).as_dict()

    def minutes(self) -> dict[str, Any]:
        """Every minute's counters, the catch-up after the last one included."""
        return {str(k): v.as_dict() for k, v in self.clock.rows.items()}

    def start(self, t0: float, minutes: int, churn: float, seed: int) -> dict[str, Any]:
        self.clock.t0 = t0
        self.clock.minutes = minutes
        self.end = t0 + minutes * 60
        self.rng = random.Random(seed)
        self.churning = True
        self._spawn(self._churn(churn))
        self._spawn(self._watch_loop())
        return {"started": True}

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _churn(self, per_second: float) -> None:
        assert self.clock.t0 is not None
        await asyncio.sleep(max(0.0, self.clock.t0 - time.time()))
        owed = 0.0
        while self.churning and time.time() < self.end:
            await asyncio.sleep(TICK_SECONDS)
            owed += per_second * TICK_SECONDS
            live = [c for c in self.clients if c.live] if owed >= 1 else []
            while owed >= 1 and live:
                owed -= 1
                client = live.pop(self.rng.randrange(len(live)))
                client.leave(abrupt=self.rng.random() < 0.5)
                self.come_back(client, self.rng.uniform(*AWAY_SECONDS))
            owed = min(owed, per_second)  # no backlog of churn if the loop fell behind

    async def _watch_loop(self) -> None:
        """The longest this process's event loop was late by, each minute."""
        while time.time() < self.end + 120:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            lag = time.perf_counter() - before - 0.05
            row = self.clock.minute()
            row.loop_lag = max(row.loop_lag, lag)

    def come_back(self, client: Client, after: float = RETRY_SECONDS) -> None:
        if client.coming_back:
            return
        client.coming_back = True
        self._spawn(self._return(client, after))

    async def _return(self, client: Client, after: float) -> None:
        try:
            for _attempt in range(MAX_ATTEMPTS):
                await asyncio.sleep(after)
                failure = await client.connect(RECONNECT_TIMEOUT)
                if failure is None:
                    return
                self.clock.minute().connect_failures[failure] += 1
                after = RETRY_SECONDS
        finally:
            client.coming_back = False

    async def finish(self, within: float) -> dict[str, Any]:
        self.churning = False
        for client in self.clients:
            if not client.live and not client.coming_back:
                self.come_back(client, 0.0)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            away = sum(1 for c in self.clients if not c.live)
            if not away:
                break
            await asyncio.sleep(0.1)
        return {"away": sum(1 for c in self.clients if not c.live)}

    async def drain(self, finals: dict[str, int], within: float) -> dict[str, Any]:
        """Wait until every subscription has its topic's last event, or until ``within``
        seconds pass, or until none made progress for STALL_SECONDS (nothing is coming)."""
        deadline = time.monotonic() + within
        progress_at = time.monotonic()
        seen = -1
        while True:
            behind = 0
            reached = 0
            for client in self.clients:
                for sub in client.subscriptions:
                    reached += len(sub.ids)
                    if sub.topic in finals and (sub.last or 0) < finals[sub.topic]:
                        behind += 1
            now = time.monotonic()
            if reached != seen:
                seen, progress_at = reached, now
            if not behind or now >= deadline or now - progress_at >= STALL_SECONDS:
                return {"behind": behind, "stalled": bool(behind) and now < deadline}
            await asyncio.sleep(0.1)

    def verify(self, path: str) -> dict[str, Any]:
        """Every event of a subscription's topic after its first snapshot, up to the end,
        must have been received: count what was not, by the minute it was written."""
        with open(path, "rb") as expected_file:
            expected = orjson.loads(expected_file.read())
        first_id: int = expected["first_id"]
        minute_of: list[int] = expected["minute_of"]
        topics: dict[str, list[int]] = expected["topics"]
        lost: Counter[int] = Counter()
        foreign = 0
        subscriptions = 0
        never = 0
        expected_total = 0
        samples: list[str] = []
        for client in self.clients:
            for sub in client.subscriptions:
                subscriptions += 1
                if sub.start is None:
                    never += 1
                    continue
                ids = topics.get(sub.topic, [])
                wanted = ids[bisect.bisect_right(ids, sub.start) :]
                for after, through in sub.gaps:
                    wanted = [i for i in wanted if not after < i <= through]
                expected_total += len(wanted)
                got = sub.ids.tolist()
                if got == wanted and not sub.late:
                    continue
                have = set(got) | set(sub.late)
                missing = [i for i in wanted if i not in have]
                foreign += len(have - set(wanted))
                for i in missing:
                    lost[minute_of[i - first_id] if 0 <= i - first_id < len(minute_of) else 0] += 1
                if missing and len(samples) < 5:
                    samples.append(
                        f"{client.kind} {sub.topic}: {len(missing)} of {len(wanted)} missing, "
                        f"first {missing[:3]}, last received {sub.last}"
                    )
        return {
            "subscriptions": subscriptions,
            "never_subscribed": never,
            "expected": expected_total,
            "lost": {str(k): v for k, v in lost.items()},
            "foreign": foreign,
            "samples": samples,
        }

    def close(self) -> None:
        self.churning = False
        for client in self.clients:
            conn = client.conn
            if conn is not None and conn.transport is not None:
                conn.leaving = True
                conn.transport.abort()


async def run(args: argparse.Namespace) -> None:
    generator = LoadGenerator(args)
    try:
        await answer_commands(
            {
                "connect": lambda c: generator.connect(float(c["timeout"])),
                "start": lambda c: generator.start(
                    float(c["t0"]), int(c["minutes"]), float(c["churn"]), int(c["seed"])
                ),
                "minute": lambda c: generator.minute(int(c["index"])),
                "minutes": lambda c: generator.minutes(),
                "finish": lambda c: generator.finish(float(c["timeout"])),
                "drain": lambda c: generator.drain(c["finals"], float(c["timeout"])),
                "verify": lambda c: generator.verify(c["expected"]),
            }
        )
    finally:
        generator.close()
        for task in tuple(generator.tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.sleep(0.1)  # let the aborts reach the server


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak.loadgen", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--plan", required=True, help="JSON: the clients and their topics")
    parser.add_argument("--concurrency", type=int, default=50, help="handshakes in flight")
    raise_open_files_limit()
    uvloop.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
