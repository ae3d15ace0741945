"""Phoenix channel messages on the wire, as Supabase's clients speak them.

vsn 1.0.0: text frames of JSON objects ``{join_ref, ref, topic, event, payload}``.
vsn 2.0.0: text frames of JSON arrays ``[join_ref, ref, topic, event, payload]``, and
binary frames for broadcasts: a client pushes kind 3 ("user broadcast push": lengths of
join_ref, ref, topic, event and metadata, an encoding byte, then those strings and the
payload) and the server sends kind 4 ("user broadcast": lengths of topic, event and
metadata, the encoding byte, the strings, the payload). Encoding 1 is JSON, 0 raw
bytes. Lengths are single bytes, so every string in a binary header is at most 255 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from streams.events import websocket_text_frame

Vsn = Literal["1.0.0", "2.0.0"]
VERSIONS: tuple[Vsn, ...] = ("1.0.0", "2.0.0")

PUSH = 0
USER_BROADCAST_PUSH = 3
USER_BROADCAST = 4
BINARY_ENCODING = 0
JSON_ENCODING = 1


class MalformedMessage(ValueError):
    """Bytes that are not a message of the socket's serializer."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    event: str
    payload: Any
    ref: str | None = None
    join_ref: str | None = None


@dataclass(frozen=True, slots=True)
class UserBroadcast:
    """A broadcast whose payload travels as it came: JSON text or opaque bytes."""

    event: str
    payload: bytes
    binary: bool


def _ref(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise MalformedMessage("refs are strings")


def decode_text(vsn: Vsn, text: str | bytes) -> Message:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise MalformedMessage("not JSON") from None
    if vsn == "2.0.0":
        if not isinstance(raw, list) or len(raw) != 5:
            raise MalformedMessage("a message is [join_ref, ref, topic, event, payload]")
        join_ref, ref, topic, event, payload = raw
    else:
        if not isinstance(raw, dict):
            raise MalformedMessage("a message is a JSON object")
        join_ref, ref = raw.get("join_ref"), raw.get("ref")
        topic, event, payload = raw.get("topic"), raw.get("event"), raw.get("payload")
    if not isinstance(topic, str) or not isinstance(event, str):
        raise MalformedMessage("topic and event are strings")
    return Message(topic, event, payload, _ref(ref), _ref(join_ref))


def decode_binary(data: bytes) -> Message:
    """A binary push: kind 0 (payload bytes) or kind 3 (a user broadcast, whose header
    also carries the lengths of a JSON metadata object and the payload's encoding)."""
    try:
        kind = data[0]
        if kind == USER_BROADCAST_PUSH:
            *sizes, encoding = data[1:7]
            offset = 7
        elif kind == PUSH:
            sizes, encoding, offset = list(data[1:5]), BINARY_ENCODING, 5
        else:
            raise MalformedMessage(f"binary kind {kind} is not a push")
        if len(sizes) != (5 if kind == USER_BROADCAST_PUSH else 4):
            raise MalformedMessage("truncated header")
        fields = []
        for size in sizes:
            if offset + size > len(data):
                raise MalformedMessage("header longer than the message")
            fields.append(data[offset : offset + size].decode())
            offset += size
        body = bytes(data[offset:])
        if kind == PUSH:
            join_ref, ref, topic, event = fields
            return Message(topic, event, body, ref or None, join_ref or None)
        join_ref, ref, topic, event, metadata = fields
        if metadata:
            orjson.loads(metadata)  # only checked: no metadata key changes delivery here
        if encoding == JSON_ENCODING:
            orjson.loads(body)
    except (IndexError, UnicodeDecodeError, orjson.JSONDecodeError):
        raise MalformedMessage("truncated or undecodable binary message") from None
    broadcast = UserBroadcast(event, body, binary=encoding != JSON_ENCODING)
    return Message(topic, "broadcast", broadcast, ref or None, join_ref or None)


def encode(vsn: Vsn, message: Message) -> bytes:
    """The message as a complete WebSocket text frame."""
    return websocket_text_frame(encode_text(vsn, message))


def encode_text(vsn: Vsn, message: Message) -> bytes:
    if vsn == "2.0.0":
        return orjson.dumps(
            [message.join_ref, message.ref, message.topic, message.event, message.payload]
        )
    return orjson.dumps(
        {
            "topic": message.topic,
            "event": message.event,
            "payload": message.payload,
            "ref": message.ref,
            "join_ref": message.join_ref,
        }
    )


def encode_raw_payload(vsn: Vsn, topic: str, event: str, payload: bytes) -> bytes:
    """A server push (no refs) whose payload is already JSON, as a text frame."""
    if vsn == "2.0.0":
        text = b"[null,null,%b,%b,%b]" % (orjson.dumps(topic), orjson.dumps(event), payload)
    else:
        text = b'{"topic":%b,"event":%b,"payload":%b,"ref":null}' % (
            orjson.dumps(topic),
            orjson.dumps(event),
            payload,
        )
    return websocket_text_frame(text)


def encode_user_broadcast(topic: str, broadcast: UserBroadcast, meta: bytes = b"") -> bytes:
    """Kind 4, for vsn 2.0.0 clients, as a complete WebSocket binary frame."""
    topic_bytes, event_bytes = topic.encode(), broadcast.event.encode()
    if max(len(topic_bytes), len(event_bytes), len(meta)) > 255:
        raise ValueError("binary header fields are at most 255 bytes")
    header = bytes(
        (
            USER_BROADCAST,
            len(topic_bytes),
            len(event_bytes),
            len(meta),
            BINARY_ENCODING if broadcast.binary else JSON_ENCODING,
        )
    )
    return websocket_binary_frame(header + topic_bytes + event_bytes + meta + broadcast.payload)


def websocket_binary_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented RFC 6455 binary frame (server to client)."""
    length = len(payload)
    if length < 126:
        header = bytes((0x82, length))
    elif length < 1 << 16:
        header = bytes((0x82, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x82, 127)) + length.to_bytes(8, "big")
    return header + payload
