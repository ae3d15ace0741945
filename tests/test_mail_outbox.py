"""The outbox's delivery rules: one message per recipient and cause however often the
cause is queued, retries with backoff up to a dead letter, a permanent refusal that
marks the address undeliverable, and the counts in /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from adapters import mail as mailer
from adapters.mail import Mailer, MailOutbox, enqueue_caused
from api.keys import outbox_key, pool_key
from foundation.database import create_pool
from foundation.settings import Settings
from server.app import create_app
from tests.mail_helpers import ControlledSmtp, arrived, controlled_smtp
from tests.smtp import Mailbox, with_smtp
from tests.waiting import eventually

_ = controlled_smtp  # the fixture, from its helper module


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two pools on this test's database, as two workers (or instances) have."""
    first = await create_pool(database_url, min_size=1, max_size=3)
    second = await create_pool(database_url, min_size=1, max_size=3)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def _queue(pool: asyncpg.Pool, key: str, recipient: str) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        return await enqueue_caused(conn, key, recipient, "x", {"n": 1})


async def test_one_cause_queued_by_racing_writers_is_one_message(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], db: asyncpg.Connection
) -> None:
    """Ten writers on two pools (two instances) queue the same cause at once."""
    results = await asyncio.gather(
        *(_queue(pools[n % 2], "booking.confirmed:42:ada@example.com", "Ada@Example.com")
          for n in range(10))
    )  # fmt: skip
    assert sorted(results) == [False] * 9 + [True]
    rows = await db.fetch("SELECT recipient, template, cause FROM mail_outbox")
    assert [tuple(r) for r in rows] == [("ada@example.com", "x", {"n": 1})]
    # Another recipient of the same cause is another message.
    assert await _queue(pools[0], "booking.confirmed:42:bob@example.com", "bob@example.com")
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 2


async def test_a_rolled_back_cause_leaves_no_message(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], db: asyncpg.Connection
) -> None:
    async with pools[0].acquire() as conn:
        with contextlib.suppress(RuntimeError):
            async with conn.transaction():
                await enqueue_caused(conn, "k", "ada@example.com", "x", {})
                raise RuntimeError("the booking failed")
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 0
    assert await _queue(pools[0], "k", "ada@example.com")  # the key is free again


def _refused_port() -> socket.socket:
    """A bound socket nobody listens on: connections to it are refused."""
    reserved = socket.socket()
    reserved.bind(("127.0.0.1", 0))
    return reserved


async def test_failures_back_off_and_end_as_a_dead_letter(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], settings: Settings, db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(mailer, "RETRY_BASE_SECONDS", 0.01)
    with contextlib.closing(_refused_port()) as reserved:
        down = Mailbox("127.0.0.1", reserved.getsockname()[1], [])
        outbox = MailOutbox(pools[0], Mailer(with_smtp(settings, down)), max_attempts=3)
        async with pools[0].acquire() as conn:
            await outbox.enqueue(conn, "ada@example.com", "Hello", "Body")

        async def dead() -> bool:
            await outbox.send_due()
            row = await db.fetchrow("SELECT * FROM mail_outbox")
            return row["dead_lettered_at"] is not None

        await eventually(dead, what="dead letter")
    row = await db.fetchrow("SELECT * FROM mail_outbox")
    assert (row["attempts"], row["sent_at"], row["next_attempt_at"]) == (3, None, None)
    assert str(down.port) in row["last_error"]
    assert (outbox.counts.failed, outbox.counts.dead_lettered, outbox.counts.sent) == (3, 1, 0)
    # A dead letter is not due again, and its address is not marked: the server was down.
    assert await outbox.send_due() == 0
    assert await db.fetchval("SELECT count(*) FROM mail_undeliverable") == 0


async def test_a_permanent_refusal_marks_the_address_and_stops_mail_to_it(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], settings: Settings, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, server = controlled_smtp
    server.refused.add("gone@example.com")
    outbox = MailOutbox(pools[0], Mailer(with_smtp(settings, mailbox)))
    async with pools[0].acquire() as conn:
        await outbox.enqueue(conn, "gone@example.com", "First", "Body")
    await outbox.send_due()
    row = await db.fetchrow("SELECT * FROM mail_outbox")
    assert row["dead_lettered_at"] is not None
    assert row["attempts"] == 1
    assert "550" in row["last_error"]
    marked = await db.fetchrow("SELECT address, reason FROM mail_undeliverable")
    assert marked["address"] == "gone@example.com"
    assert "550" in marked["reason"]

    # Later mail to the address is dropped without asking the server; others go.
    server.recipients_seen.clear()
    async with pools[1].acquire() as conn:
        await outbox.enqueue(conn, "Gone@Example.com", "Second", "Body")
        await outbox.enqueue(conn, "ada@example.com", "Third", "Body")
    assert await outbox.send_due() == 2
    assert server.recipients_seen == ["ada@example.com"]
    [message] = await arrived(mailbox, 1)
    assert message["Subject"] == "Third"
    second = await db.fetchrow("SELECT * FROM mail_outbox WHERE subject = 'Second'")
    assert (second["sent_at"], second["next_attempt_at"]) == (None, None)
    assert second["last_error"] == "address is undeliverable"
    assert outbox.counts.dropped == 1


def _samples(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("skybound_mail")
    }


async def test_metrics_show_sent_failed_dead_lettered_and_the_outbox_depth(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, server = controlled_smtp
    server.refused.add("gone@example.com")
    # Two messages due in an hour: the depth counts them.
    await db.execute(
        "INSERT INTO mail_outbox (recipient, subject, body, next_attempt_at)"
        " SELECT 'later' || n || '@example.com', 'Later', 'Body', now() + interval '1 hour'"
        " FROM generate_series(1, 2) AS n"
    )
    client: TestClient = await aiohttp_client(create_app(with_smtp(settings, mailbox)))
    outbox = client.app[outbox_key]
    async with client.app[pool_key].acquire() as conn:
        await outbox.enqueue(conn, "ada@example.com", "Hello", "Body")
        await outbox.enqueue(conn, "gone@example.com", "Hello", "Body")
    outbox.wake()

    async def counted() -> bool:
        response = await client.get("/metrics")
        samples = _samples(await response.text())
        return (
            samples.get("skybound_mail_sent_total") == 1
            and samples.get("skybound_mail_dead_lettered_total") == 1
            and samples.get("skybound_mail_outbox_depth") == 2
        )

    await eventually(counted, what="mail metrics")
    response = await client.get("/metrics")
    samples = _samples(await response.text())
    assert samples["skybound_mail_failed_total"] == 1
    assert samples["skybound_mail_dropped_total"] == 0


async def test_without_smtp_one_warning_and_every_message_counted(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
    db: asyncpg.Connection,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every booking queues mail: a deployment without SMTP warns once, not per message,
    and still gives every message up (none is left to retry) and counts it."""
    unconfigured = settings.model_copy(update={"smtp_host": None, "mail_directory": None})
    outbox = MailOutbox(pools[0], Mailer(unconfigured))
    for n in range(3):
        assert await _queue(pools[0], f"k{n}", f"traveller{n}@example.com")
    with caplog.at_level(logging.WARNING, logger="adapters.mail"):
        assert await outbox.send_due() == 3
    warnings = [r for r in caplog.records if "not configured" in r.getMessage()]
    assert len(warnings) == 1
    assert outbox.counts.dropped == 3
    given_up = await db.fetchval(
        "SELECT count(*) FROM mail_outbox WHERE last_error = 'mail is not configured'"
        " AND next_attempt_at IS NULL AND sent_at IS NULL"
    )
    assert given_up == 3
