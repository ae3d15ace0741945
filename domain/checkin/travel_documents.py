"""Travel documents given at check-in: validated, then sealed like payment cards.

An international leg needs each passenger's document (the data airlines send to
border agencies before departure). Type and expiry are kept in clear, to tell whether
a stored document still covers a later leg; number, nationality, date of birth and
gender are sealed with the card vault, bound to the passenger.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

import asyncpg
import iso3166
from pydantic import Field, StringConstraints

from domain.cards import CardVault, Sealed
from foundation.errors import FieldError
from foundation.models import StrictModel

DocumentType = Literal["passport", "national_id"]


class TravelDocumentInput(StrictModel):
    passenger_no: int = Field(ge=1, description="The passenger this document belongs to.")
    document_type: DocumentType
    number: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Z0-9]{5,20}$"),
        Field(description="As printed, upper-case letters and digits.", examples=["X1234567"]),
    ]
    expires_on: date = Field(description="Must be after the last flight of the booking.")
    nationality: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Z]{2}$"),
        Field(description="ISO 3166-1 alpha-2 code.", examples=["FR"]),
    ]
    date_of_birth: date = Field(description="Must match the passenger's on the booking.")
    gender: Literal["M", "F", "X"] = Field(description="As on the document (ICAO 9303).")


@dataclass(frozen=True, slots=True)
class StoredDocument:
    document_type: str
    expires_on: date


def document_errors(
    index: int, document: TravelDocumentInput, born: date, trip_ends: date
) -> list[FieldError]:
    """What is wrong with ``documents[index]`` for a passenger born on ``born`` whose
    trip ends (lands) on ``trip_ends``, each naming its field."""
    where = f"documents.{index}"
    errors = []
    if document.nationality not in iso3166.countries_by_alpha2:
        errors.append(
            FieldError(
                f"{where}.nationality",
                f"'{document.nationality}' is not an ISO 3166-1 country code.",
                "unknown_country",
            )
        )
    if document.expires_on <= trip_ends:
        errors.append(
            FieldError(
                f"{where}.expires_on",
                f"The document must be valid after the trip ends on {trip_ends.isoformat()}.",
                "expires_before_trip_ends",
            )
        )
    if document.date_of_birth != born:
        errors.append(
            FieldError(
                f"{where}.date_of_birth",
                "Does not match the passenger's date of birth on the booking.",
                "date_of_birth_mismatch",
            )
        )
    return errors


_STORED = """
SELECT passenger_id, document_type, expires_on FROM travel_documents WHERE booking_id = $1
"""

_STORE = """
INSERT INTO travel_documents (passenger_id, booking_id, document_type, expires_on,
                              key_version, nonce, ciphertext)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (passenger_id) DO UPDATE
    SET document_type = EXCLUDED.document_type, expires_on = EXCLUDED.expires_on,
        key_version = EXCLUDED.key_version, nonce = EXCLUDED.nonce,
        ciphertext = EXCLUDED.ciphertext, updated_at = now()
"""


async def stored_documents(
    conn: asyncpg.Connection, booking_id: uuid.UUID
) -> dict[uuid.UUID, StoredDocument]:
    rows = await conn.fetch(_STORED, booking_id)
    return {r["passenger_id"]: StoredDocument(r["document_type"], r["expires_on"]) for r in rows}


async def store_documents(
    conn: asyncpg.Connection,
    vault: CardVault,
    booking_id: uuid.UUID,
    documents: Sequence[tuple[uuid.UUID, TravelDocumentInput]],
) -> None:
    """Seal and keep each (passenger, document), replacing one given before."""
    rows = []
    for passenger_id, document in documents:
        sealed = vault.seal(
            passenger_id,
            {
                "number": document.number,
                "nationality": document.nationality,
                "date_of_birth": document.date_of_birth.isoformat(),
                "gender": document.gender,
            },
        )
        rows.append(
            (
                passenger_id,
                booking_id,
                document.document_type,
                document.expires_on,
                sealed.key_version,
                sealed.nonce,
                sealed.ciphertext,
            )
        )
    await conn.executemany(_STORE, rows)


async def open_document(
    conn: asyncpg.Connection | asyncpg.Pool, vault: CardVault, passenger_id: uuid.UUID
) -> dict[str, str] | None:
    """The sealed fields of a passenger's document, for whoever must send them on."""
    row = await conn.fetchrow(
        "SELECT key_version, nonce, ciphertext FROM travel_documents WHERE passenger_id = $1",
        passenger_id,
    )
    if row is None:
        return None
    return vault.open(passenger_id, Sealed(row["key_version"], row["nonce"], row["ciphertext"]))
