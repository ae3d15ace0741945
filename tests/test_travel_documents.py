"""Travel documents (saved travellers' passport numbers and expiries) are encrypted at
rest with the card keys, and only their owner sees them."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from cryptography.exceptions import InvalidTag

from domain.cards import CardVault
from domain.travel_documents import TravelDocuments
from foundation.settings import Settings
from server.app import create_app
from tests.booking_helpers import bearer
from tests.test_sync_devices import Device, traveler

NUMBER = "X1234567"


def key_setting(*versions: str) -> tuple[str, dict[str, bytes]]:
    keys = {version: os.urandom(32) for version in versions}
    value = ",".join(f"{v}:{base64.b64encode(k).decode()}" for v, k in keys.items())
    return value, keys


async def stored_text(db: asyncpg.Connection) -> str:
    """Every travelers row as PostgreSQL prints it: what someone holding the table sees."""
    rows = await db.fetch("SELECT t::text AS row FROM travelers t")
    return "\n".join(row["row"] for row in rows)


async def test_a_synced_passport_number_is_not_in_the_table_but_its_owner_gets_it(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user, grace = uuid.uuid4(), str(uuid.uuid4())
    phone = Device(client, user)
    phone.mutate("travelers.upsert", {"id": grace, "fields": traveler(
        passport_number=NUMBER, passport_expiry="2031-05-17")})  # fmt: skip
    [result] = (await phone.push())["results"]
    assert result["records"][0]["data"]["passport_number"] == NUMBER
    text = await stored_text(db)
    assert "Grace" in text  # the row is there, and the check below can see into it
    assert NUMBER not in text
    assert "2031-05-17" not in text
    row = await db.fetchrow("SELECT * FROM travelers")
    assert (row["passport_number"], row["passport_expiry"]) == (None, None)
    assert row["passport_number_sealed"].startswith("dev:")

    tablet = Device(client, user)
    await tablet.pull()
    synced = tablet.records("travelers")[grace]
    assert (synced["passport_number"], synced["passport_expiry"]) == (NUMBER, "2031-05-17")
    export = await (await client.get("/v1/me/export", headers=bearer(user))).json()
    assert [(t["passport_number"], t["passport_expiry"]) for t in export["travelers"]] == [
        (NUMBER, "2031-05-17")
    ]
    assert "passport_number_sealed" not in export["travelers"][0]

    # An edit of another field keeps the document; erasure removes it with the traveller.
    phone.mutate("travelers.upsert", {"id": grace, "base_version": 1,
                                      "fields": {"nationality": "US"}})  # fmt: skip
    [edited] = (await phone.push())["results"]
    assert edited["records"][0]["data"]["passport_number"] == NUMBER
    assert (await client.delete("/v1/me", headers=bearer(user))).status == 204
    assert await db.fetchval("SELECT count(*) FROM travelers") == 0


async def test_the_same_number_sent_again_changes_nothing(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user, grace = uuid.uuid4(), str(uuid.uuid4())
    phone = Device(client, user)
    phone.mutate("travelers.upsert", {"id": grace, "fields": traveler(passport_number=NUMBER)})
    await phone.push()
    sealed = await db.fetchval("SELECT passport_number_sealed FROM travelers")
    phone.mutate("travelers.upsert", {"id": grace, "base_version": 1,
                                      "fields": {"passport_number": NUMBER}})  # fmt: skip
    [result] = (await phone.push())["results"]
    assert (result["status"], result["records"][0]["version"]) == ("applied", 1)
    assert await db.fetchval("SELECT passport_number_sealed FROM travelers") == sealed


async def test_plain_rows_from_before_are_sealed_at_start_up_without_a_new_version(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection
) -> None:
    user, grace = uuid.uuid4(), uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", user)
    await db.execute(
        """INSERT INTO travelers (user_id, id, given_name, family_name, passport_number,
                                  passport_expiry)
           VALUES ($1, $2, 'Charles', 'Babbage', $3, '2030-01-31')""",
        user, grace, NUMBER,
    )  # fmt: skip
    assert NUMBER in await stored_text(db)
    setting, _ = key_setting("v1")
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"payment_encryption_key": setting}))
    )
    text = await stored_text(db)
    assert "Charles" in text
    assert NUMBER not in text
    row = await db.fetchrow("SELECT * FROM travelers")
    assert row["version"] == 1
    assert row["field_versions"] == {}
    assert row["passport_number_sealed"].startswith("v1:")
    export = await (await client.get("/v1/me/export", headers=bearer(user))).json()
    assert [(t["passport_number"], t["passport_expiry"]) for t in export["travelers"]] == [
        (NUMBER, "2030-01-31")
    ]


async def test_documents_are_resealed_under_a_new_key_at_start_up(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection
) -> None:
    old, _ = key_setting("v1")
    first = await aiohttp_client(
        create_app(settings.model_copy(update={"payment_encryption_key": old}))
    )
    user, grace = uuid.uuid4(), str(uuid.uuid4())
    phone = Device(first, user)
    phone.mutate("travelers.upsert", {"id": grace, "fields": traveler(passport_number=NUMBER)})
    await phone.push()
    await first.close()
    assert (await db.fetchval("SELECT passport_number_sealed FROM travelers")).startswith("v1:")

    new, new_keys = key_setting("v2")
    rotated = f"{new},{old}"
    second = await aiohttp_client(
        create_app(settings.model_copy(update={"payment_encryption_key": rotated}))
    )
    sealed = await db.fetchval("SELECT passport_number_sealed FROM travelers")
    assert sealed.startswith("v2:")
    # The old key is no longer needed: the new one alone opens it.
    documents = TravelDocuments(CardVault(new_keys, "v2"))
    assert documents.open(user, "passport_number", sealed) == NUMBER
    tablet = Device(second, user)
    await tablet.pull()
    assert tablet.records("travelers")[grace]["passport_number"] == NUMBER


def test_a_sealed_value_opens_only_as_its_own_field_of_its_own_owner() -> None:
    documents = TravelDocuments(CardVault({"v1": os.urandom(32)}, "v1"))
    owner, other = uuid.uuid4(), uuid.uuid4()
    sealed = documents.seal(owner, "passport_number", NUMBER)
    assert sealed is not None
    assert NUMBER not in sealed
    assert documents.open(owner, "passport_number", sealed) == NUMBER
    with pytest.raises(ValueError, match="stored as passport_expiry"):
        documents.open(owner, "passport_expiry", sealed)
    with pytest.raises(InvalidTag):  # the owner is the ciphertext's associated data
        documents.open(other, "passport_number", sealed)
    expiry = documents.seal(owner, "passport_expiry", date(2031, 5, 17))
    assert expiry is not None
    assert documents.open(owner, "passport_expiry", expiry) == date(2031, 5, 17)
