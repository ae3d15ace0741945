"""Ticketing identifiers: record locators, e-ticket numbers, and boarding-pass data.

- Record locator: six characters from an alphabet without look-alikes (no 0/O,
  1/I/L), read over a phone or off a screen without confusion.
- Ticket number: 13 digits, the airline's 3-digit accounting code and a 10-digit
  document number (0277198099386: Alaska's 027, document 7198099386). The check digit,
  the document number modulo 7, is not one of the 13: airlines print it after the
  number where they print it at all.
- Boarding pass: the mandatory items of an IATA BCBP (Resolution 792) string, the
  60 characters a PDF417 or QR code on a boarding pass carries.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

LOCATOR_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

COMPARTMENT_CODES = {"first": "F", "business": "J", "premium_economy": "W", "economy": "Y"}


def record_locator() -> str:
    return "".join(secrets.choice(LOCATOR_ALPHABET) for _ in range(6))


def ticket_number(airline_prefix: str, serial: int) -> str:
    """The airline's accounting code and the document number ``serial``."""
    if len(airline_prefix) != 3 or not airline_prefix.isdigit():
        raise ValueError("the airline prefix is three digits")
    if not 0 <= serial < 10**10:
        raise ValueError("the serial (document number) has at most ten digits")
    return f"{airline_prefix}{serial:010d}"


def check_digit(number: str) -> int:
    """The check digit of a 13-digit ticket or EMD number: its document number modulo 7."""
    return int(number[3:13]) % 7


def valid_ticket_number(number: str) -> bool:
    """13 digits; or 14, the last being the check digit as some airlines print it."""
    if not number.isdigit() or len(number) not in (13, 14):
        return False
    return len(number) == 13 or check_digit(number) == int(number[13])


# Letters that Unicode does not decompose to an ASCII base letter, spelled as
# passports' machine-readable zones spell them.
PLAIN_LETTERS = str.maketrans(
    {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "\u0131": "i", "Ŧ": "T",
     "ŧ": "t", "Ŋ": "N", "ŋ": "n", "ĸ": "k", "Ŀ": "L", "ŀ": "l", "→": "-"}
)  # fmt: skip


def _bcbp_name(family_name: str, given_name: str) -> str:
    """SURNAME/GIVEN in plain upper-case ASCII, cut or padded to 20 characters."""

    def plain(text: str) -> str:
        ascii_text = (
            unicodedata.normalize("NFKD", text.translate(PLAIN_LETTERS))
            .encode("ascii", "ignore")
            .decode()
        )
        return "".join(c for c in ascii_text.upper() if c.isalpha() or c in " -")

    return f"{plain(family_name)}/{plain(given_name)}"[:20].ljust(20)


@dataclass(frozen=True, slots=True)
class BoardingPass:
    family_name: str
    given_name: str
    record_locator: str
    origin: str
    destination: str
    carrier: str
    flight_number: int
    flight_date: date
    cabin: str
    seat: str | None
    sequence: int

    def bcbp(self) -> str:
        """The BCBP mandatory items (format M, one leg), exactly 60 characters."""
        seat = self.seat or ""
        if seat:
            row, letter = seat[:-1], seat[-1]
            seat = f"{int(row):03d}{letter}"
        text = (
            "M1"
            + _bcbp_name(self.family_name, self.given_name)
            + "E"  # electronic ticket
            + self.record_locator.ljust(7)
            + self.origin
            + self.destination
            + self.carrier.ljust(3)
            + f"{self.flight_number:04d} "
            + f"{self.flight_date.timetuple().tm_yday:03d}"
            + COMPARTMENT_CODES[self.cabin]
            + seat.ljust(4)
            + f"{self.sequence:04d} "
            + "1"  # passenger status: checked in, no bags yet
            + "00"  # no conditional items follow
        )
        assert len(text) == 60
        return text
