"""Outgoing email: an outbox in PostgreSQL, drained by a sender in every worker.

A request never talks to SMTP. It writes its message into ``mail_outbox`` in the
transaction that makes the message true (a recovery token and its email commit
or roll back together), and wakes its worker's sender. Each sender claims due
messages with ``FOR UPDATE SKIP LOCKED`` and pushes their ``next_attempt_at``
forward as a lease, so several workers (and instances) never send one message at
the same time; it sends through aiosmtplib and records the outcome: ``sent_at``,
or the error and the next attempt after an exponential backoff. A message whose
worker died mid-send is due again when its lease ends, so delivery is at least
once. Besides the in-process wake-up, every sender polls, for messages other
workers could not deliver.

A message is written out (subject and body: auth mail) or a template and its cause
(a booking, a flight): the sender asks its composer to render those when it sends,
so the causing transaction only writes one small row. A caused message carries an
idempotency key naming its recipient and cause; the key is unique, so the same cause
queued twice (a retry, another worker, another instance) is one message. Its
Message-ID derives from the row, so a resend after a crash mid-send carries the same
ID. After ``max_attempts`` failures a message is dead-lettered; a permanent refusal
(5xx) dead-letters it at once and marks the address undeliverable, and nothing more
is sent to that address.

One SMTP connection per message: auth emails are rare, and a held connection
would need keep-alives and reconnects for no gain. Without SMTP_HOST, messages
are given up with a warning (their bodies, which may hold a secret, never reach
the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib
import asyncpg

from foundation.database import RIDE_OUT
from foundation.settings import Settings

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10.0
# Port 465 speaks TLS from the first byte (SMTPS); others upgrade with STARTTLS.
IMPLICIT_TLS_PORT = 465

# Retries: 10 s, 20 s, 40 s ... at most 10 minutes apart; given up after this many
# attempts (about 40 minutes in all: a recovery code is valid for an hour).
RETRY_BASE_SECONDS = 10.0
RETRY_MAX_SECONDS = 600.0
MAX_ATTEMPTS = 9
# A claimed message is not due for anyone else this long: far beyond one send
# (every SMTP step has SEND_TIMEOUT_SECONDS, the whole send SEND_DEADLINE_SECONDS).
LEASE = timedelta(minutes=5)
SEND_DEADLINE_SECONDS = 60.0
BATCH_SIZE = 10
# How often an idle sender looks for due messages it was not woken for.
POLL_SECONDS = 5.0
# Sent and given-up messages are deleted after a week (checked about hourly).
KEEP = timedelta(days=7)
PURGE_EVERY_SECONDS = 3600.0
STOP_GRACE_SECONDS = 5.0
# A sender woken by a commit waits this long before its pass, so the mail of the commits
# right behind it joins the same claim: at a hundred bookings a second, a pass per
# booking cost four statements each. Nobody notices a confirmation 50 ms later.
GATHER_SECONDS = 0.05
OUTBOX_TASK = "mail-outbox"


class MailNotSent(RuntimeError):
    """The SMTP server could not be reached or refused the message."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Mailer:
    """Plain-text email through the configured SMTP server."""

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.sender = settings.smtp_sender
        self.directory = settings.mail_directory if self.host is None else None

    @property
    def configured(self) -> bool:
        return self.host is not None or self.directory is not None

    def message(self, to: str, subject: str, text: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject
        message.set_content(text)
        return self.addressed(message, to)

    def addressed(
        self, message: EmailMessage, to: str, message_id: str | None = None
    ) -> EmailMessage:
        """``message`` with its envelope headers: From, To, Date, Message-ID."""
        message["From"] = self.sender
        message["To"] = to
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id or make_msgid(domain="skybound")
        if "Auto-Submitted" not in message:
            message["Auto-Submitted"] = "auto-generated"
        return message

    async def send(self, to: str, subject: str, text: str) -> None:
        """Send one plain-text message; see ``send_message``."""
        await self.send_message(self.message(to, subject, text))

    async def send_message(self, message: EmailMessage) -> None:
        """Send one message; MailNotSent (``permanent`` for a 5xx answer) if it was not."""
        if self.host is None and self.directory is not None:
            await asyncio.to_thread(self._write, message)
            return
        if self.host is None:
            raise MailNotSent("mail is not configured (SKYBOUND_SMTP_HOST)", permanent=True)
        implicit_tls = self.port == IMPLICIT_TLS_PORT
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=implicit_tls,
                start_tls=self.starttls and not implicit_tls,
                timeout=SEND_TIMEOUT_SECONDS,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            raise MailNotSent(
                f"recipient refused ({codes}) by {self.host}:{self.port}",
                permanent=all(code >= 500 for code in codes),
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailNotSent(
                f"{type(exc).__name__} {exc.code} from {self.host}:{self.port}",
                permanent=exc.code >= 500,
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailNotSent(f"{type(exc).__name__} from {self.host}:{self.port}") from exc

    def _write(self, message: EmailMessage) -> None:
        """The message as ``<Message-ID>.eml`` in the mail directory, whole or not at all
        (written aside, then renamed), so a reader never sees half a message."""
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        name = "".join(c for c in str(message["Message-ID"]) if c.isalnum() or c in "-.@")
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(bytes(message))
        os.replace(partial, self.directory / f"{name}.eml")


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    id: int
    recipient: str
    subject: str | None
    body: str | None
    attempts: int
    template: str | None = None
    cause: dict[str, Any] = field(default_factory=dict)
    language: str = "en"
    idempotency_key: str | None = None
    undeliverable: bool = False

    @property
    def message_id(self) -> str:
        """The same for every attempt, so a receiver can tell a resend from new mail."""
        return f"<outbox-{self.id}@skybound>"


# Renders a templated message when it is sent: the message, or None when its cause
# no longer calls for it (the delay was taken back, the flight has left).
Composer = Callable[[OutgoingMail], Awaitable[EmailMessage | None]]


class OutboxCounts:
    """What this process's sender did, for /metrics; the queue's depth is read from the
    table on each pass (it is shared by every worker)."""

    def __init__(self) -> None:
        self.sent = 0
        self.failed = 0
        self.dead_lettered = 0
        self.dropped = 0
        self.depth = 0


# A recipient of NULL writes nothing: callers run the same statement whether or not
# there is anyone to write to, so the two cases cost the same.
_ENQUEUE = """
INSERT INTO mail_outbox (recipient, subject, body)
SELECT $1::text, $2, $3 WHERE $1::text IS NOT NULL
RETURNING id
"""
# A caused message: nothing when its key was queued before (whoever queued it).
_ENQUEUE_CAUSED = """
INSERT INTO mail_outbox (idempotency_key, recipient, template, cause, language, next_attempt_at)
SELECT $1, lower($2::text), $3, $4, $5, coalesce($6, now()) WHERE $2::text IS NOT NULL
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""
_CLAIM = """
WITH claimed AS (
    UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + $2::interval
    WHERE id IN (
        SELECT id FROM mail_outbox
        WHERE sent_at IS NULL AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, recipient, subject, body, attempts, template, cause, language,
              idempotency_key
)
SELECT claimed.*,
       EXISTS (SELECT 1 FROM mail_undeliverable u
               WHERE u.address = lower(claimed.recipient)) AS undeliverable
FROM claimed
"""
# A pass's sent messages, recorded together once its sends are done.
_SENT = """
UPDATE mail_outbox SET sent_at = now(), body = NULL, last_error = NULL
WHERE id = ANY($1::bigint[])
"""
_NOT_CONFIGURED = """
UPDATE mail_outbox SET last_error = 'mail is not configured', next_attempt_at = NULL,
    body = NULL, dead_lettered_at = NULL
WHERE id = ANY($1::bigint[])
"""
# $3: seconds until the next attempt; NULL gives up ($4: as a dead letter, or dropped).
_FAILED = """
UPDATE mail_outbox SET last_error = $2,
    next_attempt_at = now() + make_interval(secs => $3::float8),
    body = CASE WHEN $3::float8 IS NULL THEN NULL ELSE body END,
    dead_lettered_at = CASE WHEN $4 THEN now() END
WHERE id = $1
"""
_MARK_UNDELIVERABLE = """
INSERT INTO mail_undeliverable (address, reason) VALUES (lower($1), $2)
ON CONFLICT (address) DO UPDATE SET reason = EXCLUDED.reason, marked_at = now()
"""
# The depth (messages still to send) and the seconds until the next is due, in one trip.
_DEPTH_AND_NEXT_DUE = """
SELECT (SELECT count(*) FROM mail_outbox
         WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL) AS depth,
       (SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
          FROM mail_outbox WHERE sent_at IS NULL) AS due_in
"""
_PURGE = """
DELETE FROM mail_outbox
WHERE created_at < now() - $1::interval AND (sent_at IS NOT NULL OR next_attempt_at IS NULL)
"""

# Mail to an erased account's address: not yet sent, it is no longer wanted; sent,
# the row still names the address. A sender holding one finds it gone and moves on.
_DISCARD = "DELETE FROM mail_outbox WHERE lower(recipient) = lower($1)"


async def discard_mail_to(conn: asyncpg.Connection, recipient: str) -> None:
    """Delete every message to ``recipient``, sent or not, and any record that the address
    bounced (it is personal data too), in the caller's transaction."""
    await conn.execute(_DISCARD, recipient)
    await conn.execute("DELETE FROM mail_undeliverable WHERE address = lower($1)", recipient)


async def enqueue_caused(
    conn: asyncpg.Connection,
    key: str,
    recipient: str | None,
    template: str,
    cause: dict[str, Any],
    language: str = "en",
) -> bool:
    """Queue a templated message in the caller's transaction, once per ``key``; whether
    this call queued it. The sender renders it from ``cause`` when it sends."""
    row = await conn.fetchval(_ENQUEUE_CAUSED, key, recipient, template, cause, language, None)
    return row is not None


class MailOutbox:
    """The outbox of one worker: enqueue in a transaction, then a sender delivers."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        mailer: Mailer,
        *,
        batch_size: int = BATCH_SIZE,
        composer: Composer | None = None,
        max_attempts: int | None = None,
        lease: timedelta = LEASE,
        gather_seconds: float = GATHER_SECONDS,
    ) -> None:
        self.pool = pool
        self.gather_seconds = gather_seconds
        self.mailer = mailer
        self.batch_size = batch_size
        self.composer = composer
        self.max_attempts = max_attempts
        self.lease = lease
        self.counts = OutboxCounts()
        self._wake = asyncio.Event()
        self._stopping = False
        self._purged_at = 0.0
        self._warned_unconfigured = False

    async def enqueue(
        self, conn: asyncpg.Connection, recipient: str | None, subject: str, body: str
    ) -> bool:
        """Queue a message in the caller's transaction; nothing for a None recipient.
        Call ``wake`` once the transaction has committed."""
        return await conn.fetchval(_ENQUEUE, recipient, subject, body) is not None

    def wake(self) -> None:
        """Have this worker's sender look for due messages now."""
        self._wake.set()

    async def send_due(self) -> int:
        """Claim, send and record one batch of due messages; return how many were claimed."""
        rows = await self.pool.fetch(_CLAIM, self.batch_size, self.lease)
        claimed = [OutgoingMail(**{**dict(row), "cause": row["cause"] or {}}) for row in rows]
        if claimed and not self.mailer.configured:
            await self._drop_unconfigured(claimed)
            return len(claimed)
        outcomes = await asyncio.gather(
            *(self._deliver(mail) for mail in claimed), return_exceptions=True
        )
        # One statement for the pass's sent messages (one per message cost a booking a
        # statement of its own). They are recorded even when another delivery failed
        # unexpectedly, so they are not sent twice; that failure is raised after.
        sent = [mail.id for mail, outcome in zip(claimed, outcomes, strict=True) if outcome is True]
        if sent:
            await self.pool.execute(_SENT, sent)
            self.counts.sent += len(sent)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return len(claimed)

    async def _drop_unconfigured(self, claimed: list[OutgoingMail]) -> None:
        await self.pool.execute(_NOT_CONFIGURED, [mail.id for mail in claimed])
        self.counts.dropped += len(claimed)
        # Once per worker, not per message: every booking queues mail, and a warning each
        # would bury the log. The rest show in skybound_mail_dropped.
        if not self._warned_unconfigured:
            self._warned_unconfigured = True
            first = claimed[0]
            log.warning("mail is not configured (SKYBOUND_SMTP_HOST): not sending; further "
                        "messages are dropped without a word and counted in "
                        "skybound_mail_dropped",
                        extra={"mail_id": first.id, "subject": first.subject})  # fmt: skip

    async def _deliver(self, mail: OutgoingMail) -> bool:
        """Send one message; True when sent, for the caller to record. Anything else is
        recorded here."""
        if mail.undeliverable:
            await self.pool.execute(_FAILED, mail.id, "address is undeliverable", None, False)
            self.counts.dropped += 1
            return False
        try:
            message = await self._compose(mail)
        except Exception as exc:
            # A rendering bug must not stop the queue: this message retries and, if it
            # never renders, ends as a dead letter someone can look at.
            log.exception("mail not rendered", extra={"mail_id": mail.id})
            await self._failed(mail, f"not rendered: {type(exc).__name__}", permanent=False)
            return False
        if message is None:
            await self.pool.execute(_FAILED, mail.id, "no longer applies", None, False)
            self.counts.dropped += 1
            return False
        try:
            await asyncio.wait_for(self.mailer.send_message(message), SEND_DEADLINE_SECONDS)
        except (MailNotSent, TimeoutError) as exc:
            permanent = isinstance(exc, MailNotSent) and exc.permanent
            await self._failed(mail, str(exc) or type(exc).__name__, permanent=permanent)
            return False
        return True

    async def _compose(self, mail: OutgoingMail) -> EmailMessage | None:
        if mail.template is None:
            message = EmailMessage()
            message["Subject"] = mail.subject or ""
            message.set_content(mail.body or "")
        else:
            if self.composer is None:
                raise RuntimeError(f"no composer for template {mail.template}")
            composed = await self.composer(mail)
            if composed is None:
                return None
            message = composed
        return self.mailer.addressed(message, mail.recipient, mail.message_id)

    async def _failed(self, mail: OutgoingMail, error: str, *, permanent: bool) -> None:
        limit = MAX_ATTEMPTS if self.max_attempts is None else self.max_attempts
        give_up = permanent or mail.attempts >= limit
        delay = None if give_up else retry_delay(mail.attempts)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_FAILED, mail.id, error, delay, give_up)
            if permanent:
                await conn.execute(_MARK_UNDELIVERABLE, mail.recipient, error)
        self.counts.failed += 1
        if give_up:
            self.counts.dead_lettered += 1
        log.log(
            logging.ERROR if give_up else logging.WARNING,
            "mail not sent" + ("; dead-lettered" if give_up else "; will retry"),
            extra={"mail_id": mail.id, "attempts": mail.attempts, "error": error,
                   "retry_in_seconds": delay, "permanent": permanent},
        )  # fmt: skip

    async def refresh_depth(self) -> float:
        """Count the messages still to send; return the seconds until the next is due."""
        row = await self.pool.fetchrow(_DEPTH_AND_NEXT_DUE)
        assert row is not None
        self.counts.depth = int(row["depth"])
        seconds: float | None = row["due_in"]
        return POLL_SECONDS if seconds is None else max(0.0, seconds)

    async def _purge(self) -> None:
        if time.monotonic() - self._purged_at >= PURGE_EVERY_SECONDS:
            self._purged_at = time.monotonic()
            await self.pool.execute(_PURGE, KEEP)

    async def run(self) -> None:
        """Send whatever is due, then sleep until woken, the next message is due, or
        the poll interval ends."""
        while not self._stopping:
            self._wake.clear()  # before the pass: a wake-up during it is not lost
            try:
                while await self.send_due() == self.batch_size and not self._stopping:
                    pass
                await self._purge()
                sleep = min(POLL_SECONDS, await self.refresh_depth())
            except RIDE_OUT as exc:
                log.warning("mail outbox pass failed", extra={"error": repr(exc)})
                sleep = POLL_SECONDS
            except Exception:
                # The sender must outlive a bug in one pass; the messages stay queued.
                log.exception("mail outbox pass failed")
                sleep = POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), sleep)
            if self._wake.is_set() and not self._stopping:
                await asyncio.sleep(self.gather_seconds)

    def stop(self) -> None:
        """Ask ``run`` to end after the send under way (its supervisor waits briefly)."""
        self._stopping = True
        self._wake.set()
