"""Change events as the streams carry them: rendered once, encoded once per wire format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.flights import flight_from_row
from streams.sse import http_chunk, sse_event

# Flight state arrives from the change log as JSON; these fields become datetimes.
_FLIGHT_TIMES = (
    "scheduled_departure",
    "estimated_departure",
    "actual_departure",
    "scheduled_arrival",
    "estimated_arrival",
    "actual_arrival",
    "actual_takeoff",
    "actual_landing",
    "updated_at",
)


def flight_from_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The API's Flight shape from a captured row (see flight_state() in the capture SQL)."""
    row = dict(state)
    for name in _FLIGHT_TIMES:
        if row.get(name) is not None:
            row[name] = datetime.fromisoformat(row[name])
    return flight_from_row(row).model_dump(mode="json")


def render_data(entity: str, payload: Mapping[str, Any], at: datetime) -> bytes:
    """The JSON ``data`` of an event: full current state, what changed, and when."""
    data: dict[str, Any] = {}
    if entity == "flight":
        data["flight"] = flight_from_state(payload["flight"])
    else:
        data[entity] = payload.get(entity)
    data["changes"] = payload.get("changes", {})
    data["at"] = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps(data)


@dataclass(slots=True)
class ChangeEvent:
    """One released change-log event. ``data`` is rendered once; wire forms are cached."""

    id: int
    type: str
    topics: tuple[str, ...]
    position: str
    data: bytes
    _sse: bytes | None = field(default=None, repr=False)
    _ws: dict[str, bytes] = field(default_factory=dict, repr=False)
    # Other wire forms a transport derives once per event (the Supabase-compatible one).
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def sse_chunk(self) -> bytes:
        """The event as one HTTP chunk of an SSE body, identical for every subscriber."""
        if self._sse is None:
            self._sse = http_chunk(
                sse_event(self.data.decode(), event=self.type, event_id=self.position)
            )
        return self._sse

    def ws_frame(self, topic: str) -> bytes:
        """The event as a complete WebSocket text frame for subscribers of ``topic``."""
        frame = self._ws.get(topic)
        if frame is None:
            frame = self._ws[topic] = websocket_text_frame(
                ws_event_message(topic, self.position, self.type, self.data)
            )
        return frame


def ws_event_message(topic: str, position: str, event_type: str, data: bytes) -> bytes:
    return b'{"type":"event","topic":%b,"id":%b,"event":%b,"data":%b}' % (
        orjson.dumps(topic),
        orjson.dumps(position),
        orjson.dumps(event_type),
        data,
    )


def websocket_text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented RFC 6455 text frame (server to client)."""
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 1 << 16:
        header = bytes((0x81, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + length.to_bytes(8, "big")
    return header + payload
