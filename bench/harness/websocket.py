"""The client side of RFC 6455 that the load generators need: the upgrade request and
masked frames. Servers' frames are read by each load generator its own way (the soak
parses every frame, the fan-out only counts events)."""

from __future__ import annotations

import base64
import os

TEXT = 0x1
CLOSE = 0x8
PING = 0x9
PONG = 0xA


def upgrade_request(host: str, port: int, target: str) -> bytes:
    """``GET target`` asking to switch to WebSocket, with a fresh key."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def ws_client_frame(payload: bytes, opcode: int = TEXT) -> bytes:
    """A masked, unfragmented client frame (RFC 6455 5.3: clients must mask)."""
    key = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    repeated = (key * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )
    return header + key + masked
