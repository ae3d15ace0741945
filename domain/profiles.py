"""Traveller profiles, keyed by the auth user's id."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from adapters.storage import Storage
from domain import examples
from domain.bookings.queries import load_user_bookings
from domain.cards import CardDetails, CardVault, InvalidCard
from domain.identity.accounts.erasure import end_account
from domain.identity.accounts.export import export_account
from domain.identity.roles import RoleDirectory
from domain.identity.tokens import Claims
from domain.travel_documents import TravelDocuments
from foundation.errors import FieldError, NotFound, ValidationFailed


class Profile(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PROFILE]})

    user_id: uuid.UUID
    email: str | None
    given_name: str | None = None
    family_name: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    nationality: str | None = None
    loyalty_numbers: dict[str, str] = Field(default_factory=dict)
    roles: list[str] = Field(default_factory=list)
    version: int
    created_at: datetime
    updated_at: datetime


# First sight of a user creates the profile; later calls keep it, refreshing a
# changed email from the token.
_ENSURE = """
INSERT INTO profiles (user_id, email) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET email = coalesce(EXCLUDED.email, profiles.email)
    WHERE profiles.email IS DISTINCT FROM coalesce(EXCLUDED.email, profiles.email)
RETURNING *
"""
_GET = "SELECT * FROM profiles WHERE user_id = $1"


async def ensure_profile(
    conn: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID, email: str | None,
    roles: frozenset[str],
) -> Profile:  # fmt: skip
    # The common case, a known user whose email has not changed, is one read.
    row = await conn.fetchrow(_GET, user_id)
    if row is None or (email is not None and row["email"] != email):
        row = await conn.fetchrow(_ENSURE, user_id, email) or await conn.fetchrow(_GET, user_id)
    data: dict[str, Any] = dict(row)
    return Profile(**data, roles=sorted(roles))


_SET_ROLES = """
WITH gone AS (
    DELETE FROM user_roles WHERE user_id = $1 AND NOT (role = ANY($2::text[]))
)
INSERT INTO user_roles (user_id, role, granted_by)
SELECT $1, r, $3 FROM unnest($2::text[]) AS r
ON CONFLICT (user_id, role) DO NOTHING
"""


async def set_roles(
    pool: asyncpg.Pool, directory: RoleDirectory, user_id: uuid.UUID,
    roles: Sequence[str], granted_by: uuid.UUID,
) -> list[str]:  # fmt: skip
    """Exactly these roles, granted by ``granted_by``; this worker's directory forgets the
    user's old ones at once."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_SET_ROLES, user_id, sorted(set(roles)), granted_by)
        rows = await conn.fetch(
            "SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role", user_id
        )
    directory.forget(user_id)
    return [row["role"] for row in rows]


async def granted_roles(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    rows = await pool.fetch("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role", user_id)
    return [row["role"] for row in rows]


# Profile updates -------------------------------------------------------------------

_UPDATABLE = ("given_name", "family_name", "phone", "date_of_birth", "nationality",
              "loyalty_numbers")  # fmt: skip


async def update_profile(pool: asyncpg.Pool, user: Claims, changes: dict[str, Any]) -> Profile:
    """Apply only the given fields (PATCH semantics); unknown names never reach SQL. A
    null ``loyalty_numbers`` clears them to none."""
    user_id = user.user_id
    await ensure_profile(pool, user_id, user.email, user.app_roles)
    if "loyalty_numbers" in changes and changes["loyalty_numbers"] is None:
        changes = {**changes, "loyalty_numbers": {}}
    fields = [name for name in _UPDATABLE if name in changes]
    if fields:
        assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(fields, start=2))
        await pool.execute(
            f"UPDATE profiles SET {assignments} WHERE user_id = $1",
            user_id,
            *(changes[name] for name in fields),
        )
    row = await pool.fetchrow(_GET, user_id)
    return Profile(**dict(row), roles=sorted(user.app_roles))


# Avatars ---------------------------------------------------------------------------


async def avatar_key(pool: asyncpg.Pool, user_id: uuid.UUID) -> str | None:
    """Where the user's profile image is stored, if they have one."""
    key: str | None = await pool.fetchval(
        "SELECT avatar_key FROM profiles WHERE user_id = $1", user_id
    )
    return key


async def set_avatar_key(pool: asyncpg.Pool, user_id: uuid.UUID, key: str) -> None:
    await pool.execute("UPDATE profiles SET avatar_key = $2 WHERE user_id = $1", user_id, key)


# Preferences ----------------------------------------------------------------------


class Preferences(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PREFERENCES]})

    seat: str = "no_preference"
    meal: str = "standard"
    language: str = "en"
    notification_channels: list[str] = Field(default_factory=lambda: ["email"])
    marketing_consent: bool = False
    marketing_consent_at: datetime | None = None
    version: int = 0
    updated_at: datetime | None = None


_GET_PREFERENCES = """
SELECT seat, meal, language, notification_channels, marketing_consent, marketing_consent_at,
       version, updated_at
FROM user_preferences WHERE user_id = $1
"""

# Consent time changes only when the consent itself does.
_PUT_PREFERENCES = """
INSERT INTO user_preferences (user_id, seat, meal, language, notification_channels,
                              marketing_consent, marketing_consent_at)
VALUES ($1, $2, $3, $4, $5, $6, now())
ON CONFLICT (user_id) DO UPDATE SET
    seat = EXCLUDED.seat, meal = EXCLUDED.meal, language = EXCLUDED.language,
    notification_channels = EXCLUDED.notification_channels,
    marketing_consent = EXCLUDED.marketing_consent,
    marketing_consent_at = CASE
        WHEN user_preferences.marketing_consent IS DISTINCT FROM EXCLUDED.marketing_consent
        THEN now() ELSE user_preferences.marketing_consent_at END,
    updated_at = now()
RETURNING seat, meal, language, notification_channels, marketing_consent, marketing_consent_at,
          version, updated_at
"""


async def get_preferences(pool: asyncpg.Pool, user_id: uuid.UUID) -> Preferences:
    row = await pool.fetchrow(_GET_PREFERENCES, user_id)
    return Preferences(**dict(row)) if row else Preferences()


async def put_preferences(
    pool: asyncpg.Pool, user: Claims, preferences: dict[str, Any]
) -> Preferences:
    """Replace the preferences; each notification channel counts once."""
    await ensure_profile(pool, user.user_id, user.email, user.app_roles)
    row = await pool.fetchrow(
        _PUT_PREFERENCES, user.user_id, preferences["seat"], preferences["meal"],
        preferences["language"], sorted(set(preferences["notification_channels"])),
        preferences["marketing_consent"],
    )  # fmt: skip
    return Preferences(**dict(row))


# Payment methods -------------------------------------------------------------------


class PaymentMethodNotFound(NotFound):
    slug = "payment-method-not-found"
    title = "Payment method not found"


class PaymentMethod(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PAYMENT_METHOD]})

    id: uuid.UUID
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    created_at: datetime


_ADD_CARD = """
INSERT INTO payment_methods (user_id, brand, last4, exp_month, exp_year, key_version, nonce,
                             ciphertext)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id, brand, last4, exp_month, exp_year, created_at
"""
_LIST_CARDS = """
SELECT id, brand, last4, exp_month, exp_year, created_at
FROM payment_methods WHERE user_id = $1 ORDER BY created_at, id
"""
# The owner in the WHERE clause: another user's id simply matches nothing (404).
_DELETE_CARD = "DELETE FROM payment_methods WHERE id = $1 AND user_id = $2"


async def add_payment_method(
    pool: asyncpg.Pool, user_id: uuid.UUID, brand: str, last4: str, exp_month: int,
    exp_year: int, key_version: str, nonce: bytes, ciphertext: bytes,
) -> PaymentMethod:  # fmt: skip
    row = await pool.fetchrow(
        _ADD_CARD, user_id, brand, last4, exp_month, exp_year, key_version, nonce, ciphertext
    )
    return PaymentMethod(**dict(row))


async def save_card(
    pool: asyncpg.Pool, vault: CardVault, user: Claims, card: CardDetails
) -> PaymentMethod:
    """Validate and keep a card: the number and holder sealed by the vault; brand, last
    four digits and expiry in clear for display; the CVC checked and discarded. Spaces
    and dashes in the number are ignored."""
    card = dataclasses.replace(card, number=card.number.replace(" ", "").replace("-", ""))
    try:
        brand = card.validate()
    except InvalidCard as exc:
        raise ValidationFailed([FieldError(f"{exc.field}", str(exc), "invalid_card")]) from None
    await ensure_profile(pool, user.user_id, user.email, user.app_roles)
    sealed = vault.seal(user.user_id, {"number": card.number, "holder_name": card.holder_name})
    return await add_payment_method(
        pool, user.user_id, brand, card.number[-4:], card.exp_month, card.exp_year,
        sealed.key_version, sealed.nonce, sealed.ciphertext,
    )  # fmt: skip


async def list_payment_methods(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[PaymentMethod]:
    return [PaymentMethod(**dict(row)) for row in await pool.fetch(_LIST_CARDS, user_id)]


async def delete_payment_method(
    pool: asyncpg.Pool, user_id: uuid.UUID, method_id: uuid.UUID
) -> None:
    if await pool.execute(_DELETE_CARD, method_id, user_id) != "DELETE 1":
        raise PaymentMethodNotFound("No such payment method.")


# GDPR ------------------------------------------------------------------------------


_EXPORT_TRAVELERS = """
SELECT id, given_name, family_name, date_of_birth, nationality, passport_number,
       passport_expiry, passport_number_sealed, passport_expiry_sealed, loyalty_numbers,
       created_at, updated_at
FROM travelers WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at
"""
_EXPORT_NOTES = """
SELECT id, booking_id, title, body, created_at, updated_at
FROM trip_notes WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at
"""
# Travel documents given at check-in: what is kept in clear (the number, nationality,
# date of birth and gender are sealed and, like card numbers, not exported).
_EXPORT_TRAVEL_DOCUMENTS = """
SELECT d.booking_id, p.passenger_no, d.document_type, d.expires_on, d.updated_at
FROM travel_documents d
JOIN bookings b ON b.id = d.booking_id
JOIN passengers p ON p.id = d.passenger_id
WHERE b.user_id = $1 ORDER BY d.booking_id, p.passenger_no
"""
_EXPORT_NOTIFICATIONS = """
SELECT id, kind, title, body, booking_id, flight_id, created_at, read_at
FROM notifications WHERE user_id = $1 ORDER BY id
"""


async def export_user_data(
    pool: asyncpg.Pool, user_id: uuid.UUID, documents: TravelDocuments
) -> dict[str, Any]:
    """Everything stored about the user, as one JSON-ready document (travel documents
    opened: the user is their owner)."""
    profile = await pool.fetchrow(_GET, user_id)
    bookings = await load_user_bookings(pool, user_id)
    return {
        "exported_at": datetime.now().astimezone().isoformat(),
        "profile": dict(profile) if profile else None,
        "auth_account": await export_account(pool, user_id),
        "preferences": (await get_preferences(pool, user_id)).model_dump(mode="json"),
        "payment_methods": [
            m.model_dump(mode="json") for m in await list_payment_methods(pool, user_id)
        ],
        "roles": await granted_roles(pool, user_id),
        "bookings": [booking.model_dump(mode="json") for booking in bookings],
        "travelers": [
            documents.reveal(user_id, r) for r in await pool.fetch(_EXPORT_TRAVELERS, user_id)
        ],
        "trip_notes": [dict(r) for r in await pool.fetch(_EXPORT_NOTES, user_id)],
        "notifications": [dict(r) for r in await pool.fetch(_EXPORT_NOTIFICATIONS, user_id)],
        "travel_documents": [dict(r) for r in await pool.fetch(_EXPORT_TRAVEL_DOCUMENTS, user_id)],
    }


# Personal data goes; bookings stay for accounting, anonymised: no names, no
# contacts, and no link back to the person. Stored copies of booking responses
# (idempotent replays, confirmed quotes), synced records (travellers with passport
# numbers, notes, the inbox), the user's private change events and unredeemed stream
# tickets go as well.
_ERASE = """
WITH own_bookings AS (
    SELECT id FROM bookings WHERE user_id = $1
), passengers_erased AS (
    UPDATE passengers SET given_name = 'ERASED', family_name = 'ERASED',
                          date_of_birth = '1900-01-01', email = NULL, phone = NULL
    WHERE booking_id IN (SELECT id FROM own_bookings)
), documents AS (
    UPDATE tickets t SET document_key = NULL
    FROM (SELECT ticket_number, document_key FROM tickets
          WHERE booking_id IN (SELECT id FROM own_bookings)
            AND document_key IS NOT NULL) AS old
    WHERE t.ticket_number = old.ticket_number
    RETURNING old.document_key
), quotes AS (
    UPDATE booking_quotes SET result = jsonb_build_object('erased', true)
    WHERE booking_id IN (SELECT id FROM own_bookings) AND result IS NOT NULL
), replays AS (
    DELETE FROM idempotency_keys WHERE user_id = $1
), travelers_erased AS (
    DELETE FROM travelers WHERE user_id = $1
), notes AS (
    DELETE FROM trip_notes WHERE user_id = $1
), inbox AS (
    DELETE FROM notifications WHERE user_id = $1
), devices AS (
    DELETE FROM sync_clients WHERE user_id = $1
), history AS (
    -- Events only this user could read carry their records (contacts, travellers);
    -- events shared with public topics (a flight's) carry none and stay.
    DELETE FROM change_events
    WHERE (topics @> ARRAY['user:' || $1::text] AND cardinality(topics) = 1)
       -- Row events of the user's bookings (the Supabase-compatible postgres_changes).
       OR topics && ARRAY['pg:public:bookings:' || $1::text,
                          'pg:public:booking_segments:' || $1::text]
), holds AS (
    DELETE FROM seat_holds WHERE user_id = $1
), stream_tickets_erased AS (
    DELETE FROM stream_tickets WHERE user_id = $1
), bookings_erased AS (
    UPDATE bookings SET contact_email = NULL, contact_phone = NULL, user_id = NULL
    WHERE user_id = $1
), travel_documents_erased AS (
    -- Passport data given at check-in; every part of this statement sees the bookings
    -- as they were before it, still the user's.
    DELETE FROM travel_documents
    WHERE booking_id IN (SELECT id FROM bookings WHERE user_id = $1)
), archived_erased AS (
    -- Archived bookings likewise, inside their stored documents.
    UPDATE archived_bookings a SET user_id = NULL, document_keys = '{}',
        booking = a.booking || jsonb_build_object(
            'user_id', NULL, 'contact_email', NULL, 'contact_phone', NULL,
            'trip_notes', '[]'::jsonb,
            'passengers', (SELECT coalesce(jsonb_agg(p || jsonb_build_object(
                                   'given_name', 'ERASED', 'family_name', 'ERASED',
                                   'date_of_birth', '1900-01-01', 'email', NULL, 'phone', NULL)
                               ORDER BY (p ->> 'passenger_no')::int), '[]')
                             FROM jsonb_array_elements(a.booking -> 'passengers') AS p))
    FROM (SELECT id, document_keys FROM archived_bookings WHERE user_id = $1) AS old
    WHERE a.id = old.id
    RETURNING old.document_keys
), cards AS (
    DELETE FROM payment_methods WHERE user_id = $1
), preferences AS (
    DELETE FROM user_preferences WHERE user_id = $1
), roles AS (
    DELETE FROM user_roles WHERE user_id = $1
), profile AS (
    UPDATE profiles SET email = NULL, given_name = NULL, family_name = NULL, phone = NULL,
                        date_of_birth = NULL, nationality = NULL, loyalty_numbers = '{}',
                        avatar_key = NULL, erased_at = now()
    WHERE user_id = $1
)
SELECT (SELECT avatar_key FROM profiles WHERE user_id = $1) AS avatar_key,
       ARRAY(SELECT document_key FROM documents
             UNION ALL SELECT unnest(document_keys) FROM archived_erased) AS documents
"""


async def erase_user_data(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    """Erase in one transaction, which also ends the account and every token of it, so
    the erased user cannot sign in or come back with an old token; return the storage
    keys (avatar, ticket documents) for the caller to delete. Idempotent."""
    async with pool.acquire() as conn, conn.transaction():
        # The erasure's own updates write no row events (migration 0015): an event of
        # unlinking a booking would keep the very link between user and booking it cuts.
        await conn.execute("SET LOCAL skybound.capture_rows = 'off'")
        row = await conn.fetchrow(_ERASE, user_id)
        await end_account(conn, user_id)
    keys: list[str] = list(row["documents"])
    if row["avatar_key"]:
        keys.append(row["avatar_key"])
    return keys


async def erase_user(
    pool: asyncpg.Pool, storage: Storage, directory: RoleDirectory, user_id: uuid.UUID
) -> None:
    """Erase the user's data (``erase_user_data``), then their stored files; this
    worker's directory forgets their roles at once."""
    for key in await erase_user_data(pool, user_id):
        await storage.delete(key)
    directory.forget(user_id)
