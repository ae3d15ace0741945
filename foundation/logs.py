"""Structured logs: one JSON object per line, each carrying the request id, no secret."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import traceback

from aiohttp.http_exceptions import HttpProcessingError
from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


REDACTED = "[REDACTED]"
_SECRETS = [
    # A credential header on the wire, in a repr or in a dict: the value up to its end.
    re.compile(
        r"(?i)\b((?:proxy-)?authorization|(?:set-)?cookie|apikey|x-api-key)"
        r"(['\"]?\s*[:=]\s*['\"]?)(?:(?!\\r|\\n)[^\r\n'\"])+"
    ),
    # A token in a query string or a form: ?ticket=..., &token=..., apikey=...; and an
    # OAuth sign-in's code, state and verifier (/auth/v1/callback, the pkce grant).
    re.compile(
        r"(?i)\b(ticket|token|access_token|refresh_token|id_token|token_hash|apikey|api_key"
        r"|password|code|auth_code|code_verifier|state|provider_token|provider_refresh_token)"
        r"(=)[^&\s'\"#]+"
    ),
    # Whatever is left of a bearer token or a JWT, wherever it stands.
    re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"()()\beyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}"),
]


def redact(text: str) -> str:
    """``text`` with credentials (headers, query tokens, bearer tokens, JWTs) replaced."""
    for pattern in _SECRETS:
        text = pattern.sub(rf"\1\2{REDACTED}", text)
    return text


def _redacted(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of ``record`` with credentials kept out of the message, its arguments, the
    traceback and string extras. A request the HTTP parser refused is logged without its
    bytes at all: aiohttp quotes the offending line, which may be any header's value
    without its name (a too-long ``Authorization`` shows as ``b'Bearer eyJ...'``), and it
    is the client's mistake, so a warning rather than an error.

    A copy, because a record is shared by every handler (pytest's capture, say) and a
    filter that changed it in place would take the traceback from all of them."""
    record = logging.makeLogRecord(vars(record))
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, HttpProcessingError):
        record.msg = (
            f"{record.getMessage()}: {type(exc).__name__} ({exc.code}); the "
            "request's bytes are not logged"
        )
        record.args = None
        record.exc_info = record.exc_text = None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return record
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit: logging reports it
        return record
    record.msg, record.args = redact(message), None
    if record.exc_info:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
        record.exc_text = record.exc_text.rstrip("\n")
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for name, value in vars(record).items():
        if name not in _PLAIN and isinstance(value, str):
            setattr(record, name, redact(value))
    return record


class _RedactingFormatter(logging.Formatter):
    """Formats with ``inner`` what ``_redacted`` leaves of a record."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return self._inner.format(_redacted(record))


# Attributes every record has and the filter has already handled or that hold no input.
_PLAIN = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger to stderr in the chosen format; safe to call more than once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        )
    handler.setFormatter(_RedactingFormatter(formatter))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pgserver narrates every pg_ctl call at INFO; its warnings still get through.
    logging.getLogger("pgserver").setLevel(max(logging.WARNING, root.level))
