"""Mail through the real CLI: a worker killed while it sends neither loses nor duplicates
the message, and a reminder that came due while the server was down goes out once
after start-up."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import asyncpg
import psutil

from tests.e2e.harness import running_server
from tests.mail_helpers import ControlledSmtp, a_flight, book_in_sql, controlled_smtp, parts
from tests.smtp import Mailbox
from tests.waiting import eventually

_ = controlled_smtp  # the fixture, from its helper module


def _mail_env(mailbox: Mailbox, **extra: str) -> dict[str, str]:
    return {
        "SKYBOUND_SMTP_HOST": mailbox.host,
        "SKYBOUND_SMTP_PORT": str(mailbox.port),
        "SKYBOUND_SMTP_STARTTLS": "false",
        "SKYBOUND_MAIL_FLIGHT_NOTICE_WINDOW_SECONDS": "0",
        **extra,
    }


def _process_with_client_port(pids: set[int], port: int) -> int:
    """The worker holding the client side of the TCP connection from ``port``."""
    for pid in pids:
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port:
                return pid
    raise AssertionError(f"no worker has a connection from port {port}")


async def _outbox(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return await db.fetch("SELECT id, attempts, sent_at FROM mail_outbox ORDER BY id")


async def test_a_worker_killed_mid_send_neither_loses_nor_duplicates_the_message(
    db: asyncpg.Connection, database_url: str, tmp_path: Path,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, smtp = controlled_smtp
    flight = await a_flight(db)
    await book_in_sql(db, flight, locator="KILL01", passengers=[("Ada", "ada@example.com")])
    # A short lease: the killed worker's claim lapses soon after the kill.
    env = _mail_env(mailbox, SKYBOUND_MAIL_LEASE_SECONDS="2")
    async with running_server(database_url, tmp_path / "home", workers=2, env=env) as server:
        await eventually(lambda: len(server.worker_pids()) == 2, 90, what="two workers")
        smtp.hold.clear()  # the server takes the message and keeps its answer back
        await db.execute("UPDATE flights SET departure_gate = 'K1' WHERE id = $1", flight)
        await eventually(smtp.data_started.is_set, 60, what="a worker sending the message")
        assert smtp.sender_port is not None
        victim = _process_with_client_port(server.worker_pids(), smtp.sender_port)
        os.kill(victim, signal.SIGKILL)
        # The server sees the client vanish before its 250: the message was not taken.
        await eventually(smtp.abandoned.is_set, 60, what="the SMTP session abandoned")
        smtp.hold.set()
        assert mailbox.messages == []

        async def replaced() -> bool:
            workers = server.worker_pids()
            return len(workers) == 2 and victim not in workers

        await eventually(replaced, 90, what="a new worker")
        await eventually(server.is_ready, 90, what="ready again")

        async def sent() -> bool:
            rows = await _outbox(db)
            return len(rows) == 1 and rows[0]["sent_at"] is not None

        await eventually(sent, 60, what="the message sent by the new worker")
        [message] = mailbox.messages
        assert message["To"] == "ada@example.com"
        assert message["Subject"] == "SB100 now departs from gate K1"
        [row] = await _outbox(db)
        assert row["attempts"] == 2  # the killed attempt, and the one that delivered
        assert message["Message-ID"] == f"<outbox-{row['id']}@skybound>"
        await server.assert_sane()
    assert len(mailbox.messages) == 1


async def test_a_reminder_due_while_the_server_was_down_goes_out_once_after_start_up(
    db: asyncpg.Connection, database_url: str, tmp_path: Path,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _smtp = controlled_smtp
    soon = await a_flight(db, hours=10)
    gone = await a_flight(db, hours=-2, number=101)
    booked = await book_in_sql(db, soon, locator="DOWN01",
                               passengers=[("Ada", "ada@example.com")])  # fmt: skip
    left = await book_in_sql(db, gone, locator="DOWN02", passengers=[("Bob", "bob@example.com")])
    # Scheduled while no server ran: check-in opened 14 h ago; the other flight has left.
    await db.execute(
        "INSERT INTO scheduled_jobs (kind, job_key, payload, flight_id, lead, due_at) VALUES"
        " ('checkin_open', 'checkin_open:a', $1, $2, '24 hours', now() - interval '14 hours'),"
        " ('departure_reminder', 'departure_reminder:b', $3, $4, '3 hours',"
        "  now() - interval '5 hours')",
        {"booking_id": str(booked.booking), "flight_id": soon}, soon,
        {"booking_id": str(left.booking), "flight_id": gone}, gone,
    )  # fmt: skip
    env = _mail_env(mailbox)
    for start in range(2):  # started, stopped, started again: still once
        async with running_server(database_url, tmp_path / "home", env=env) as server:

            async def done() -> bool:
                return not await db.fetchval(
                    "SELECT count(*) FROM scheduled_jobs WHERE done_at IS NULL"
                ) and bool(await db.fetchval(
                    "SELECT bool_and(sent_at IS NOT NULL) FROM mail_outbox"
                ))  # fmt: skip

            await eventually(done, 90, what=f"jobs run and mail sent (start {start + 1})")
            await server.assert_sane()
    [message] = mailbox.messages
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Check in now for SB100 to London"
    assert "Check in now" in parts(message)["html"]
    outcomes = await db.fetch("SELECT kind, outcome FROM scheduled_jobs ORDER BY kind")
    assert [tuple(o) for o in outcomes] == [
        ("checkin_open", "queued 1"), ("departure_reminder", "too late"),
    ]  # fmt: skip
