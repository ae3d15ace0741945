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

One SMTP connection per message: auth emails are rare, and a held connection
would need keep-alives and reconnects for no gain. Without SMTP_HOST, messages
are given up with a warning (their bodies, which may hold a secret, never reach
the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
import asyncpg

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

    @property
    def configured(self) -> bool:
        return self.host is not None

    def message(self, to: str, subject: str, text: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain="skybound")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        return message

    async def send(self, to: str, subject: str, text: str) -> None:
        """Send one message; MailNotSent (``permanent`` for a 5xx answer) if it was not."""
        if self.host is None:
            raise MailNotSent("mail is not configured (SKYBOUND_SMTP_HOST)", permanent=True)
        implicit_tls = self.port == IMPLICIT_TLS_PORT
        try:
            await aiosmtplib.send(
                self.message(to, subject, text),
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


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    id: int
    recipient: str
    subject: str
    body: str
    attempts: int


# A recipient of NULL writes nothing: callers run the same statement whether or not
# there is anyone to write to, so the two cases cost the same.
_ENQUEUE = """
INSERT INTO mail_outbox (recipient, subject, body)
SELECT $1::text, $2, $3 WHERE $1::text IS NOT NULL
RETURNING id
"""
_CLAIM = """
UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + $2::interval
WHERE id IN (
    SELECT id FROM mail_outbox
    WHERE sent_at IS NULL AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, recipient, subject, body, attempts
"""
_SENT = """
UPDATE mail_outbox SET sent_at = now(), body = NULL, last_error = NULL WHERE id = $1
"""
# $3: seconds until the next attempt; NULL gives up.
_FAILED = """
UPDATE mail_outbox SET last_error = $2,
    next_attempt_at = now() + make_interval(secs => $3::float8),
    body = CASE WHEN $3::float8 IS NULL THEN NULL ELSE body END
WHERE id = $1
"""
_NEXT_DUE = """
SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
FROM mail_outbox WHERE sent_at IS NULL
"""
_PURGE = """
DELETE FROM mail_outbox
WHERE created_at < now() - $1::interval AND (sent_at IS NOT NULL OR next_attempt_at IS NULL)
"""

# Mail to an erased account's address: not yet sent, it is no longer wanted; sent,
# the row still names the address. A sender holding one finds it gone and moves on.
_DISCARD = "DELETE FROM mail_outbox WHERE lower(recipient) = lower($1)"


async def discard_mail_to(conn: asyncpg.Connection, recipient: str) -> None:
    """Delete every message to ``recipient``, sent or not, in the caller's transaction."""
    await conn.execute(_DISCARD, recipient)


class MailOutbox:
    """The outbox of one worker: enqueue in a transaction, then a sender delivers."""

    def __init__(self, pool: asyncpg.Pool, mailer: Mailer, *, batch_size: int = BATCH_SIZE) -> None:
        self.pool = pool
        self.mailer = mailer
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        self._stopping = False
        self._purged_at = 0.0

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
        rows = await self.pool.fetch(_CLAIM, self.batch_size, LEASE)
        claimed = [OutgoingMail(**dict(row)) for row in rows]
        await asyncio.gather(*(self._deliver(mail) for mail in claimed))
        return len(claimed)

    async def _deliver(self, mail: OutgoingMail) -> None:
        if not self.mailer.configured:
            await self.pool.execute(_FAILED, mail.id, "mail is not configured", None)
            log.warning("mail is not configured (SKYBOUND_SMTP_HOST): not sending",
                        extra={"mail_id": mail.id, "subject": mail.subject})  # fmt: skip
            return
        try:
            await asyncio.wait_for(
                self.mailer.send(mail.recipient, mail.subject, mail.body), SEND_DEADLINE_SECONDS
            )
        except (MailNotSent, TimeoutError) as exc:
            permanent = isinstance(exc, MailNotSent) and exc.permanent
            give_up = permanent or mail.attempts >= MAX_ATTEMPTS
            delay = None if give_up else retry_delay(mail.attempts)
            error = str(exc) or type(exc).__name__
            await self.pool.execute(_FAILED, mail.id, error, delay)
            log.log(
                logging.ERROR if give_up else logging.WARNING,
                "mail not sent" + ("; giving up" if give_up else "; will retry"),
                extra={"mail_id": mail.id, "attempts": mail.attempts, "error": error,
                       "retry_in_seconds": delay},
            )  # fmt: skip
        else:
            await self.pool.execute(_SENT, mail.id)

    async def _next_due_in(self) -> float:
        seconds: float | None = await self.pool.fetchval(_NEXT_DUE)
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
                sleep = min(POLL_SECONDS, await self._next_due_in())
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("mail outbox pass failed", extra={"error": repr(exc)})
                sleep = POLL_SECONDS
            except Exception:
                # The sender must outlive a bug in one pass; the messages stay queued.
                log.exception("mail outbox pass failed")
                sleep = POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), sleep)

    def stop(self) -> None:
        """Ask ``run`` to end after the send under way (its supervisor waits briefly)."""
        self._stopping = True
        self._wake.set()
