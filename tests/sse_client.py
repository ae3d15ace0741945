"""A small SSE reader for tests: parses the stream exactly as EventSource does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import ClientResponse


@dataclass
class SseEvent:
    event: str = "message"
    id: str | None = None
    data_lines: list[str] = field(default_factory=list)
    retry: int | None = None

    @property
    def data(self) -> str:
        return "\n".join(self.data_lines)

    def json(self) -> Any:
        return orjson.loads(self.data)


class SseReader:
    def __init__(self, response: ClientResponse) -> None:
        self.response = response
        self.retry: int | None = None
        self.comments: list[str] = []

    async def next(self, wait: float = 5.0) -> SseEvent:
        """The next dispatched event (comments and retry-only blocks are recorded, not returned)."""
        return await asyncio.wait_for(self._next(), wait)

    async def _next(self) -> SseEvent:
        event = SseEvent()
        while True:
            raw = await self.response.content.readline()
            if not raw:
                raise EOFError("stream ended")
            line = raw.decode().rstrip("\n").rstrip("\r")
            if line == "":
                if event.data_lines:
                    return event
                event = SseEvent()
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                event.data_lines.append(value)
            elif name == "event":
                event.event = value
            elif name == "id":
                event.id = value
            elif name == "retry":
                self.retry = event.retry = int(value)

    async def expect_silence(self, seconds: float = 0.3) -> None:
        """Assert that no event arrives within ``seconds``."""
        try:
            event = await asyncio.wait_for(self._next(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected event {event.event} {event.data[:200]}")
