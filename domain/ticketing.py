"""Ticketing identifiers: record locators, e-ticket numbers, and boarding-pass data.

- Record locator: six characters from an alphabet without look-alikes (no 0/O,
  1/I/L), read over a phone or off a screen without confusion.
- Ticket number: 13 digits, the airline's 3-digit accounting code and a 10-digit
  document number (0277198099386: Alaska's 027, document 7198099386). The check digit,
  the document number modulo 7, is not one of the 13: airlines print it after the
  number where they print it at all.
- Boarding pass: an IATA BCBP (Resolution 792) string for one leg, the text a PDF417
  or QR code on a boarding pass carries: the 60 characters of mandatory items and,
  once the passenger is checked in, the version 6 conditional items.
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


# BCBP passenger status: the ticket is issued; checked in or not, no bags checked yet.
NOT_CHECKED_IN = "0"
CHECKED_IN = "1"
BCBP_VERSION = "6"
# Passenger description codes of the conditional items.
PASSENGER_DESCRIPTIONS = {"adult": "0", "male": "1", "female": "2", "child": "3", "infant": "4"}


@dataclass(frozen=True, slots=True)
class BcbpConditional:
    """The conditional items of a one-leg BCBP, version 6: who issued the pass and when,
    and the ticket it was issued against. Items Skybound has no data for (baggage tags,
    frequent flyer numbers) are sent blank, as the standard allows."""

    passenger_description: str
    issued_on: date
    issuer: str  # airline designator of the boarding pass issuer
    airline_numeric_code: str  # the ticket's first three digits
    document_number: str  # the ticket's other ten digits
    selectee: bool
    documents_required: bool  # international documentation verification
    marketing_carrier: str
    free_baggage: str = ""  # "1PC", "20K"
    source_of_check_in: str = "W"  # web
    source_of_issuance: str = "W"

    def text(self) -> str:
        """From the version marker on, each structured part led by its size in hex."""
        unique = (
            self.passenger_description
            + self.source_of_check_in
            + self.source_of_issuance
            + f"{self.issued_on.year % 10}{self.issued_on.timetuple().tm_yday:03d}"
            + "B"  # document type: boarding pass
            + self.issuer.ljust(3)
            + " " * 13 * 3  # baggage tag licence plates: none
        )
        repeated = (
            self.airline_numeric_code
            + self.document_number.rjust(10, "0")
            + ("1" if self.selectee else "0")
            + ("1" if self.documents_required else "0")
            + self.marketing_carrier.ljust(3)
            + " " * 3  # frequent flyer airline
            + " " * 16  # frequent flyer number
            + " "  # ID/AD indicator
            + self.free_baggage.ljust(3)[:3]
            + " "  # fast track
        )
        sized = f"{len(unique):02X}{unique}{len(repeated):02X}{repeated}"
        return ">" + BCBP_VERSION + sized


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
    status: str = CHECKED_IN
    conditional: BcbpConditional | None = None

    def bcbp(self) -> str:
        """Format M, one leg: the 60 characters of mandatory items, then the conditional
        items when there are any."""
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
            + self.status
        )
        conditional = self.conditional.text() if self.conditional is not None else ""
        text += f"{len(conditional):02X}" + conditional
        assert len(text) == 60 + len(conditional)
        return text
