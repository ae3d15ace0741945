"""Server-Sent Events framing: bytes on the wire, built once per event.

Field values have CR and LF removed (they would end the field early), data
spans several ``data:`` lines when it has newlines, and an event ends with a
blank line. Bodies are sent with chunked transfer encoding, so each event is
also pre-framed as one HTTP chunk that can be written as-is to every client.
"""

from __future__ import annotations

_STRIP = str.maketrans("", "", "\r\n")


def sse_event(data: str, *, event: str | None = None, event_id: str | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id.translate(_STRIP)}")
    if event is not None:
        lines.append(f"event: {event.translate(_STRIP)}")
    for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        lines.append(f"data: {line}")
    return ("\n".join(lines) + "\n\n").encode()


def sse_retry(milliseconds: int) -> bytes:
    return f"retry: {int(milliseconds)}\n\n".encode()


def sse_comment(text: str) -> bytes:
    return f": {text.translate(_STRIP)}\n\n".encode()


def http_chunk(payload: bytes) -> bytes:
    """``payload`` as one chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%b\r\n" % (len(payload), payload)
