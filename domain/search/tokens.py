"""Signed, self-contained tokens: offer ids and page cursors.

An offer id carries what the booking step must re-check (legs, cabin, brand,
passengers, price, expiry) under an HMAC, so the server trusts nothing the
client could have edited and keeps no per-search state. A cursor is bound to
its search, so a cursor from another search or an edited one is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

_MAC_BYTES = 16


class TamperedToken(ValueError):
    """Not a token this server signed (edited, truncated, or from another search)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, key: bytes, purpose: str) -> None:
        # One key, separate sub-keys per purpose: a cursor never verifies as an offer.
        self._key = hmac.new(key, purpose.encode(), hashlib.sha256).digest()
        self.prefix = purpose[:1]

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def sign(self, payload: Any) -> str:
        body = orjson.dumps(payload)
        return f"{self.prefix}1.{_b64(body)}.{_b64(self._mac(body))}"

    def verify(self, token: str) -> Any:
        try:
            version, body_text, mac_text = token.split(".")
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (ValueError, TypeError) as exc:
            raise TamperedToken("malformed token") from exc
        if version != f"{self.prefix}1" or not hmac.compare_digest(mac, self._mac(body)):
            raise TamperedToken("signature mismatch")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise TamperedToken("malformed payload") from exc
