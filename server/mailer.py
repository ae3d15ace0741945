"""Outgoing email through the configured SMTP server (aiosmtplib).

One connection per message: auth emails are rare, and a held connection would
need keep-alives and reconnects for no gain. Without SMTP_HOST nothing is sent
and the skipped message is logged (without its body, which may hold a secret).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from server.settings import Settings

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10.0
# Port 465 speaks TLS from the first byte (SMTPS); others upgrade with STARTTLS.
IMPLICIT_TLS_PORT = 465


class MailNotSent(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


class Mailer:
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

    async def send(self, to: str, subject: str, text: str) -> bool:
        """Send a plain-text email; False when mail is not configured (nothing sent)."""
        if self.host is None:
            log.warning(
                "mail is not configured (SKYBOUND_SMTP_HOST): not sending",
                extra={"subject": subject},
            )
            return False
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
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailNotSent(f"{type(exc).__name__} from {self.host}:{self.port}") from exc
        return True
