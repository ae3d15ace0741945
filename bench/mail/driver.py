"""The mail benchmark, against `skybound serve` on a freshly seeded embedded PostgreSQL:

1. **Outbox.** ``--messages`` plain messages written to ``mail_outbox`` at once, delivered
   by the server's own senders (``--workers`` 1, then 2) to a local aiosmtpd that accepts
   and discards (``aiosmtpd.handlers.Sink``, its own process). Rate: messages over the
   span from the first ``sent_at`` to the last (what the database recorded).
2. **Bookings with email on and off**, in the same run, passes alternating: the server
   with ``SKYBOUND_MAIL_TRIP_NOTICES=false``, then ``true`` sending to the sink (each
   booking then queues its confirmation and two reminder jobs in its transaction, and the
   senders render it, PDFs and calendar entries, beside the requests). ``--clients``
   concurrent clients book one seat at a time on their own flights for ``--duration``
   seconds. Reported: bookings/s of each pass, the ratio on/off, and the confirmations
   sent during and after the on pass.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.harness import HOST, RESULTS_DIR, BenchError
from bench.harness.postgres import bench_home, dsn_for
from bench.harness.report import fresh_dir, write
from bench.harness.servers import Server, free_port, seed, skybound_bin, skybound_env

WORK_DIR = RESULTS_DIR / "mail"
# Each client's own flights, taken in turn as they sell out.
FLIGHTS_PER_CLIENT = 12
# How long the confirmations of an on pass are waited for once the load stops.
DRAIN_LIMIT_SECONDS = 300.0
SECRET = "bench-mail-secret-for-hs256-0123456789abcdef0123"
CARD = {"type": "card", "number": "4242424242424242", "exp_month": 12, "exp_year": 2035,
        "cvc": "123", "holder_name": "Bench Mail"}  # fmt: skip

_CANDIDATES = """
SELECT f.id, f.carrier, f.origin, f.destination,
       (f.scheduled_departure AT TIME ZONE o.time_zone)::date AS local_date,
       to_char(f.scheduled_departure AT TIME ZONE o.time_zone, 'HH24:MI') AS local_time
FROM flights f
JOIN flight_cabins c ON c.flight_id = f.id AND c.cabin = 'economy'
JOIN airports o ON o.iata = f.origin
WHERE f.status = 'scheduled'
  AND f.scheduled_departure BETWEEN now() + interval '2 days' AND now() + interval '28 days'
  AND c.capacity - c.seats_sold >= 100
ORDER BY c.capacity - c.seats_sold DESC, f.id
LIMIT $1
"""


@contextlib.contextmanager
def smtp_sink(port: int, log: Path) -> Iterator[None]:
    """aiosmtpd accepting and discarding every message, in its own process."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{HOST}:{port}",
             "-c", "aiosmtpd.handlers.Sink"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        give_up = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                import socket

                socket.create_connection((HOST, port), timeout=1).close()
                break
            if time.monotonic() > give_up or process.poll() is not None:
                raise BenchError("the aiosmtpd sink did not start")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def server(home: Path, workers: int, **env: str) -> tuple[Server, str]:
    port = free_port()
    argv = [skybound_bin(), "serve", "--port", str(port), "--workers", str(workers)]
    base = f"http://{HOST}:{port}"
    name = f"skybound serve --workers {workers}"
    log = WORK_DIR / f"serve-{workers}-{len(list(WORK_DIR.glob('serve-*')))}.log"
    full_env = skybound_env(home, SUPABASE_JWT_SECRET=SECRET, **env)
    return Server(name, argv, full_env, f"{base}/readyz", log), base


# --- outbox ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxPass:
    workers: int
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


async def outbox_pass(dsn: str, workers: int, messages: int) -> OutboxPass:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM mail_outbox")
        await conn.execute(
            "INSERT INTO mail_outbox (recipient, subject, body)"
            " SELECT 'bench' || n || '@example.com', 'Bench ' || n, 'A bench message.'"
            " FROM generate_series(1, $1) AS n",
            messages,
        )
        give_up = time.monotonic() + 1800
        while await conn.fetchval("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL"):
            if time.monotonic() > give_up:
                raise BenchError("the outbox did not drain in 30 minutes")
            await asyncio.sleep(0.5)
        span = await conn.fetchval(
            "SELECT extract(epoch FROM max(sent_at) - min(sent_at)) FROM mail_outbox"
        )
    finally:
        await conn.close()
    return OutboxPass(workers, messages, float(span))


# --- bookings ----------------------------------------------------------------------------


def tokens(count: int) -> list[str]:
    from foundation.settings import Settings
    from server.cli import mint_token

    settings = Settings.from_env(jwt_secret=SECRET).model_copy(update={"jwt_issuer": None})
    return [mint_token(settings, sub=str(uuid.uuid4()), roles=(), ttl=3600, email=None)
            for _ in range(count)]  # fmt: skip


def search_body(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "slices": [{"origin": row["origin"], "destination": row["destination"],
                    "date": row["local_date"].isoformat(),
                    "departure_window": {"from": row["local_time"], "to": row["local_time"]}}],
        "max_connections": 0, "filters": {"airlines": [row["carrier"].strip()]}, "limit": 100,
    }  # fmt: skip


@dataclass
class BookingPass:
    mode: str
    booked: int
    seconds: float
    other: dict[str, int]
    mail: MailDrain | None = None

    @property
    def rate(self) -> float:
        return self.booked / self.seconds


@dataclass(frozen=True)
class MailDrain:
    """The on pass's confirmations: queued, sent by the end of the pass, and how long the
    rest took to go out once the load stopped."""

    queued: int
    sent_during: int
    drain_seconds: float
    dead: int
    left: int = 0


async def booking_pass(
    base: str, mode: str, searches: list[dict[str, Any]], keys: list[str], duration: float
) -> BookingPass:
    """Each client books its own flights (``searches[i::clients]``) one seat at a time, and
    moves to its next flight when one has no offer left."""
    booked = 0
    other: dict[str, int] = {}
    deadline = time.monotonic() + duration
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def offer(search: dict[str, Any]) -> str | None:
            async with session.post(f"{base}/v1/search", json=search) as response:
                found = await response.json()
            offers = [o for o in found.get("offers", []) if o["fare"]["brand"] == "Light"]
            return str(offers[0]["id"]) if offers else None

        async def client(i: int) -> None:
            nonlocal booked
            headers = {"Authorization": f"Bearer {keys[i]}"}
            own = searches[i :: len(keys)]
            search = own.pop(0)
            offer_id = await offer(search)
            n = 0
            while time.monotonic() < deadline:
                if offer_id is None:
                    if not own:
                        return
                    search = own.pop(0)
                    offer_id = await offer(search)
                    continue
                n += 1
                body = {"offer_id": offer_id, "payment": CARD,
                        "contact": {"email": f"client{i}@example.com"},
                        "passengers": [{"type": "adult", "given_name": "Bench",
                                        "family_name": "Mail" + "abcdefghij"[i % 10] * (n % 5 + 1),
                                        "date_of_birth": "1985-12-10"}]}  # fmt: skip
                async with session.post(
                    f"{base}/v1/bookings", json=body,
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                ) as response:  # fmt: skip
                    await response.read()
                    if response.status == 201:
                        booked += 1
                        continue
                    other[str(response.status)] = other.get(str(response.status), 0) + 1
                    if response.status in (409, 410):
                        offer_id = await offer(search)

        started = time.monotonic()
        await asyncio.gather(*(client(i) for i in range(len(keys))))
        seconds = time.monotonic() - started
    return BookingPass(mode, booked, seconds, other)


async def candidates(dsn: str, count: int) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [search_body(row) for row in await conn.fetch(_CANDIDATES, count)]
    finally:
        await conn.close()


# The pass's confirmations: rows after the last id before it.
_CONFIRMATIONS = """
SELECT count(*), count(*) FILTER (WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL),
       count(dead_lettered_at)
FROM mail_outbox WHERE template = 'booking_confirmation' AND id > $1
"""


async def last_id(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM mail_outbox"))
    finally:
        await conn.close()


async def drain(dsn: str, after: int) -> MailDrain:
    """The pass's confirmations (ids above ``after``): how many went out while the load
    ran, and how long the rest (and any earlier ones) took afterwards (waited for at
    most ``DRAIN_LIMIT_SECONDS``; ``left`` says how many were still waiting then)."""
    conn = await asyncpg.connect(dsn)
    try:
        queued, unsent, dead = await conn.fetchrow(_CONFIRMATIONS, after)
        began = time.monotonic()
        left = await conn.fetchval(_UNSENT_ANY)
        while left and time.monotonic() - began < DRAIN_LIMIT_SECONDS:
            await asyncio.sleep(0.25)
            left = await conn.fetchval(_UNSENT_ANY)
        _queued, _unsent, dead = await conn.fetchrow(_CONFIRMATIONS, after)
        return MailDrain(int(queued), int(queued) - int(unsent), time.monotonic() - began,
                         int(dead), int(left))  # fmt: skip
    finally:
        await conn.close()


_UNSENT_ANY = """
SELECT count(*) FROM mail_outbox
WHERE template = 'booking_confirmation' AND sent_at IS NULL AND next_attempt_at IS NOT NULL
"""


# --- main --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mail",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="unmeasured seconds at the start of a pass"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed-flights", type=int, default=5000)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "mail.md")
    args = parser.parse_args(argv)
    fresh_dir(WORK_DIR)
    lines: list[str] = []
    with bench_home(None) as (home, _owned):
        seeded = seed(home, args.seed_flights, 30, 1800, WORK_DIR)
        print(f"seeded {seeded.flights:,} legs", flush=True)
        sink_port = free_port()
        smtp = {"SKYBOUND_SMTP_HOST": HOST, "SKYBOUND_SMTP_PORT": str(sink_port),
                "SKYBOUND_SMTP_STARTTLS": "false"}  # fmt: skip
        with smtp_sink(sink_port, WORK_DIR / "smtp.log"):
            outbox: list[OutboxPass] = []
            for workers in (1, 2):
                srv, _base = server(home, workers, **smtp)
                with srv:
                    dsn = dsn_for(home / "pgdata")
                    print(f"outbox: {args.messages:,} messages, {workers} worker(s) ...",
                          flush=True)  # fmt: skip
                    done = asyncio.run(outbox_pass(dsn, workers, args.messages))
                    print(f"  {done.rate:,.0f} messages/s", flush=True)
                    outbox.append(done)
                    srv.stop()
            passes: list[BookingPass] = []
            keys = tokens(args.clients)
            searches: list[dict[str, Any]] = []
            for round_no in range(args.rounds):
                for mode, env in (("off", {"SKYBOUND_MAIL_TRIP_NOTICES": "false"}),
                                  ("on", {"SKYBOUND_MAIL_TRIP_NOTICES": "true"})):  # fmt: skip
                    srv, base = server(home, 2, **smtp, **env)
                    with srv:
                        dsn = dsn_for(home / "pgdata")
                        if not searches:
                            searches = asyncio.run(
                                candidates(dsn, args.clients * FLIGHTS_PER_CLIENT)
                            )
                            if len(searches) < args.clients * FLIGHTS_PER_CLIENT:
                                raise BenchError("not enough flights with seats to book")
                        print(f"bookings, email {mode} (round {round_no + 1}) ...", flush=True)
                        # Unmeasured: first bookings make profiles; the renderer process starts.
                        asyncio.run(booking_pass(base, mode, searches, keys, args.warmup))
                        before = asyncio.run(last_id(dsn))
                        done_pass = asyncio.run(
                            booking_pass(base, mode, searches, keys, args.duration)
                        )
                        print(f"  {done_pass.rate:,.1f} bookings/s {done_pass.other}", flush=True)
                        if mode == "on":
                            done_pass.mail = asyncio.run(drain(dsn, before))
                            print(f"  mail: {done_pass.mail}", flush=True)
                        passes.append(done_pass)
                        srv.stop()
    lines += report(args, outbox, passes)
    text = "\n".join(lines) + "\n"
    write(text, args.output)
    print(text)
    return 0


def report(
    args: argparse.Namespace, outbox: list[OutboxPass], passes: list[BookingPass]
) -> list[str]:
    lines = ["# Mail benchmark", "", "## Outbox delivery", "",
             f"{args.messages:,} plain messages, one SMTP connection each, to a local aiosmtpd "
             "sink (its own process), sent by the server's outbox senders.", "",
             "| workers | messages | seconds | messages/s |", "|---:|---:|---:|---:|"]  # fmt: skip
    for done in outbox:
        lines.append(f"| {done.workers} | {done.messages:,} | {done.seconds:.1f} | "
                     f"{done.rate:,.0f} |")  # fmt: skip
    lines += ["", "## Bookings with email on and off", "",
              f"`skybound serve --workers 2`, {args.clients} clients each booking one seat at a "
              f"time on its own flight for {args.duration:.0f} s per pass (after "
              f"{args.warmup:.0f} s unmeasured); passes alternate.", "",
              "| pass | email | bookings | seconds | bookings/s | other answers |",
              "|---:|---|---:|---:|---:|---|"]  # fmt: skip
    for n, done in enumerate(passes, 1):
        lines.append(f"| {n} | {done.mode} | {done.booked:,} | {done.seconds:.1f} | "
                     f"{done.rate:,.1f} | {done.other or '-'} |")  # fmt: skip
    off = [p.rate for p in passes if p.mode == "off"]
    on = [p.rate for p in passes if p.mode == "on"]
    if off and on:
        ratio = (sum(on) / len(on)) / (sum(off) / len(off))
        mean_off, mean_on = sum(off) / len(off), sum(on) / len(on)
        lines += [
            "",
            f"Mean bookings/s: email off {mean_off:,.1f}, email on {mean_on:,.1f}: "
            f"**{ratio:.2f}x** with email on (goal: at least 0.9x).",
            "",
        ]
    for done in passes:
        if done.mail is not None:
            m = done.mail
            lines.append(
                f"- email on: {m.queued:,} confirmations queued (receipt PDF and .ics each), "
                f"{m.sent_during:,} sent while the load ran; {m.drain_seconds:.0f} s after it "
                f"stopped, {m.left:,} confirmations (of all passes) were still waiting; "
                f"{m.dead} dead-lettered."
            )
    return lines
