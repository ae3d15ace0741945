"""The wire for the end-to-end tests: HTTP/1.1, chunked SSE and WebSocket frames on raw
sockets, so a test decides exactly how a connection ends (RST or FIN)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import struct
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

# How long an orderly close waits for the server to close its side.
FIN_GRACE_SECONDS = 5.0
HEADER_LINES = 100


class StreamRefused(Exception):
    """The server answered with something other than the stream (a 503 while stopping)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"status {status}")
        self.status = status


class RawConnection:
    """One TCP connection to the server under test, closable with RST or FIN."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        return cls(reader, writer)

    @property
    def local_port(self) -> int:
        return int(self.writer.get_extra_info("sockname")[1])

    async def request(self, path: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str]]:
        """Send a GET; return the status and headers of the response (its body follows)."""
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = await self.reader.readline()
        if not status_line:
            raise EOFError("no response")
        status = int(status_line.split()[1])
        response_headers: dict[str, str] = {}
        for _ in range(HEADER_LINES):
            line = (await self.reader.readline()).decode("latin-1").strip()
            if not line:
                return status, response_headers
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        raise EOFError("endless headers")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The chunks of a chunked body; EOFError when the connection ends first."""
        while True:
            size_line = await self.reader.readline()
            if not size_line:
                raise EOFError("connection closed mid-body")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                return
            data = await self.reader.readexactly(size + 2)
            yield data[:-2]

    def reset(self) -> None:
        """Abortive close: SO_LINGER 0 makes the close send RST instead of FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def finish(self) -> None:
        """Orderly close: FIN, read until the server closes its side too, then close."""
        with contextlib.suppress(OSError, TimeoutError):
            if self.writer.can_write_eof():
                self.writer.write_eof()

            async def drain() -> None:
                while await self.reader.read(65536):
                    pass

            await asyncio.wait_for(drain(), FIN_GRACE_SECONDS)
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class SseParser:
    """Turns body bytes into (event, id) pairs exactly as EventSource dispatches them."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event = "message"
        self._id: str | None = None
        self._has_data = False

    def feed(self, data: bytes) -> list[tuple[str, str | None]]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        dispatched = []
        for raw in lines:
            line = raw.rstrip(b"\r").decode()
            if not line:
                if self._has_data:
                    dispatched.append((self._event, self._id))
                self._event, self._id, self._has_data = "message", None, False
                continue
            name, _, value = line.partition(":")
            if name == "event":
                self._event = value.strip()
            elif name == "id":
                self._id = value.strip()
            elif name == "data":
                self._has_data = True
        return dispatched


class WsClosed(EOFError):
    """The server sent a close frame."""


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked frame, as every client frame must be (RFC 6455, 5.3)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
    return head + mask + masked


async def ws_upgrade(conn: RawConnection, path: str) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    status, _ = await conn.request(
        path,
        {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key,
         "Sec-WebSocket-Version": "13"},
    )  # fmt: skip
    if status != 101:
        raise StreamRefused(status)


def ws_send(conn: RawConnection, message: dict[str, Any]) -> None:
    conn.writer.write(_client_frame(0x1, orjson.dumps(message)))


async def ws_messages(conn: RawConnection) -> AsyncIterator[dict[str, Any]]:
    """Text messages from the server; pings are answered; a close frame ends with WsClosed."""
    reader = conn.reader
    message = b""
    while True:
        first, second = await reader.readexactly(2)
        opcode, size = first & 0x0F, second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await reader.readexactly(8))
        mask = await reader.readexactly(4) if second & 0x80 else b""
        payload = await reader.readexactly(size)
        if mask:
            payload = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
        if opcode == 0x8:
            conn.writer.write(_client_frame(0x8, payload[:2]))
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            raise WsClosed(f"close frame {code}")
        if opcode == 0x9:
            conn.writer.write(_client_frame(0xA, payload))
            continue
        if opcode == 0xA:
            continue
        message += payload
        if first & 0x80:
            yield orjson.loads(message)
            message = b""
