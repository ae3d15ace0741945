"""Card data: validation (Luhn, expiry, brand) and AES-GCM encryption with key versions.

Only brand, last four digits and expiry are kept in clear, for display. The
number and holder name are encrypted under the current key, bound to the
owner (associated data), so a ciphertext copied to another user's row does not
decrypt. Old keys stay listed for decryption until every row is re-encrypted;
the CVC is checked for shape and never stored.
"""

from __future__ import annotations

import base64
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_DIGITS = re.compile(r"^[0-9]{12,19}$")
_BRANDS = (
    ("amex", re.compile(r"^3[47]")),
    ("visa", re.compile(r"^4")),
    ("mastercard", re.compile(r"^(5[1-5]|2(2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720))")),
    ("discover", re.compile(r"^(6011|65|64[4-9])")),
)


class InvalidCard(ValueError):
    """Card details that fail validation; ``field`` names the offending one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    for brand, pattern in _BRANDS:
        if pattern.match(number):
            return brand
    return "unknown"


@dataclass(frozen=True, slots=True)
class CardDetails:
    number: str
    exp_month: int
    exp_year: int
    cvc: str
    holder_name: str

    def validate(self, now: datetime | None = None) -> str:
        """The card's brand, or InvalidCard naming the bad field."""
        if not _DIGITS.match(self.number) or not luhn_valid(self.number):
            raise InvalidCard("number", "Not a valid card number.")
        brand = card_brand(self.number)
        cvc_length = 4 if brand == "amex" else 3
        if not (self.cvc.isdigit() and len(self.cvc) == cvc_length):
            raise InvalidCard("cvc", f"The security code has {cvc_length} digits.")
        today = (now or datetime.now(UTC)).date()
        if (self.exp_year, self.exp_month) < (today.year, today.month):
            raise InvalidCard("exp_year", "The card has expired.")
        return brand


@dataclass(frozen=True, slots=True)
class Sealed:
    key_version: str
    nonce: bytes
    ciphertext: bytes


class CardVault:
    """Encrypts with the current key; decrypts with any listed key."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key must be listed")
        for version, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {version} must be 32 bytes (AES-256)")
        self._keys = {version: AESGCM(key) for version, key in keys.items()}
        self.current = current

    @classmethod
    def from_setting(cls, value: str) -> CardVault:
        """``"v2:<base64 key>,v1:<base64 key>"``: the first key is current."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for part in value.split(","):
            version, _, encoded = part.strip().partition(":")
            if not version or not encoded:
                raise ValueError("PAYMENT_ENCRYPTION_KEY entries are version:base64key")
            keys[version] = base64.b64decode(encoded)
            order.append(version)
        return cls(keys, order[0])

    def seal(self, owner: uuid.UUID, secret: dict[str, str]) -> Sealed:
        nonce = os.urandom(12)
        data = self._keys[self.current].encrypt(nonce, orjson.dumps(secret), owner.bytes)
        return Sealed(self.current, nonce, data)

    def open(self, owner: uuid.UUID, sealed: Sealed) -> dict[str, str]:
        key = self._keys[sealed.key_version]
        opened: dict[str, str] = orjson.loads(key.decrypt(sealed.nonce, sealed.ciphertext,
                                                          owner.bytes))  # fmt: skip
        return opened
