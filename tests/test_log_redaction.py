"""No credential reaches a log line, not even from a request the HTTP parser refuses."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestServer

from foundation.logs import configure_logging
from foundation.settings import Settings
from server.app import create_app
from tests.tokens import access_token


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The handler configure_logging installs (JSON, with its filters), writing to a buffer."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", "json")
    installed = root.handlers[0]
    assert isinstance(installed, logging.StreamHandler)
    buffer = io.StringIO()
    installed.setStream(buffer)
    root.handlers[:] = [*handlers, installed]
    try:
        yield buffer
    finally:
        root.removeHandler(installed)
        root.setLevel(level)


def _records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in buffer.getvalue().splitlines() if line]


async def _raw_request(server: TestServer, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()


@pytest.fixture
async def server(aiohttp_server: Any, settings: Settings) -> TestServer:
    """The real app on a real port, for requests no HTTP client library would send."""
    return await aiohttp_server(create_app(settings))


async def test_a_huge_authorization_header_is_refused_without_logging_the_token(
    server: TestServer, log_lines: io.StringIO
) -> None:
    # A genuine token, made too long for the parser (8190 bytes) by its claims.
    token = access_token(uuid.uuid4(), user_metadata={"bio": "x" * 9000})
    secret = token.split(".")[0][:40]
    answer = await _raw_request(
        server,
        f"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.0 400 ") or answer.startswith(b"HTTP/1.1 400 ")
    records = _records(log_lines)
    refused = [r for r in records if r["logger"] == "aiohttp.server"]
    assert refused, records
    assert refused[0]["level"] == "WARNING"
    assert "not logged" in refused[0]["message"]
    assert secret not in log_lines.getvalue()
    assert "eyJ" not in log_lines.getvalue()


async def test_a_huge_url_with_a_ticket_is_refused_without_logging_the_ticket(
    server: TestServer, log_lines: io.StringIO
) -> None:
    ticket = "tkt_" + "s3cr3t" * 1500
    answer = await _raw_request(
        server, f"GET /v1/ws?ticket={ticket} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    assert b" 400 " in answer.split(b"\r\n", 1)[0]
    assert "s3cr3t" not in log_lines.getvalue()
    assert _records(log_lines)


@pytest.mark.parametrize(
    ("message", "args", "secret"),
    [
        ("headers: %s", ("Authorization: Bearer abc.def.ghi\r\nHost: x",), "abc.def.ghi"),
        ("headers: %r", ({"Cookie": "session=opaque-cookie-value"},), "opaque-cookie-value"),
        ("GET %s", ("/v1/streams/me?ticket=opaque-ticket&x=1",), "opaque-ticket"),
        ("GET %s", ("/rest?apikey=opaque-key",), "opaque-key"),
        ("GET %s", ("/auth/v1/callback?code=opaque-code&state=s",), "opaque-code"),
        ("GET %s", ("/auth/v1/callback?state=opaque-state",), "opaque-state"),
        ("to %s", ("/app#provider_token=opaque-provider",), "opaque-provider"),
        ("token was %s", (access_token(uuid.uuid4()),), "eyJ"),
        ("sent bearer %s", ("opaque-bearer-value",), "opaque-bearer-value"),
    ],
)
def test_credentials_in_any_log_line_are_redacted(
    log_lines: io.StringIO, message: str, args: tuple[Any, ...], secret: str
) -> None:
    logging.getLogger("skybound.test").warning(message, *args)
    (record,) = _records(log_lines)
    assert secret not in record["message"]
    assert "[REDACTED]" in record["message"]


def test_credentials_in_a_traceback_and_in_extras_are_redacted(log_lines: io.StringIO) -> None:
    try:
        raise RuntimeError("upstream said: Authorization: Bearer opaque-in-traceback")
    except RuntimeError:
        logging.getLogger("skybound.test").exception(
            "failed", extra={"url": "https://api.example/x?token=opaque-in-extra"}
        )
    text = log_lines.getvalue()
    assert "opaque-in-traceback" not in text
    assert "opaque-in-extra" not in text
    (record,) = _records(log_lines)
    assert "RuntimeError" in record["exc_info"]
    assert record["url"] == "https://api.example/x?token=[REDACTED]"


def test_ordinary_lines_are_left_alone(log_lines: io.StringIO) -> None:
    logging.getLogger("skybound.test").info("booked %s for %d passengers", "ABC123", 2)
    (record,) = _records(log_lines)
    assert record["message"] == "booked ABC123 for 2 passengers"
