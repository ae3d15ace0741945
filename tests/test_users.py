"""Profiles, preferences, encrypted cards, avatars and GDPR export and erasure."""

from __future__ import annotations

import base64
import io
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from cryptography.exceptions import InvalidTag
from PIL import Image

from api.keys import storage_key, vault_key
from domain.cards import CardVault, Sealed
from tests.problems import assert_problem
from tests.tokens import access_token

VISA = "4242424242424242"
NEXT_YEAR = datetime.now(UTC).year + 1


class User:
    """A signed-in user for these tests."""

    def __init__(self, client: TestClient, email: str = "ada@example.com") -> None:
        self.client = client
        self.id = uuid.uuid4()
        self.headers = {"Authorization": f"Bearer {access_token(self.id, email=email)}"}

    async def call(
        self, method: str, path: str, *, content_type: str | None = None, **kwargs: Any
    ) -> Any:
        headers = dict(self.headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        return await self.client.request(method, path, headers=headers, **kwargs)


def _card(**overrides: Any) -> dict[str, Any]:
    return {"number": VISA, "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123",
            "holder_name": "Ada Lovelace", **overrides}  # fmt: skip


def _image(fmt: str, size: tuple[int, int] = (800, 600), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(out, format=fmt, **save)
    return out.getvalue()


async def test_profile_patch_changes_only_what_is_sent(client: TestClient) -> None:
    user = User(client)
    response = await user.call("PATCH", "/v1/me", json={"given_name": "Ada", "nationality": "gb",
                                                         "phone": "+442071234567"})  # fmt: skip
    assert response.status == 200
    profile = await response.json()
    assert (profile["given_name"], profile["nationality"]) == ("Ada", "GB")
    again = await (await user.call("PATCH", "/v1/me", json={"family_name": "Lovelace"})).json()
    assert (again["given_name"], again["family_name"]) == ("Ada", "Lovelace")
    assert again["version"] > profile["version"]
    cleared = await (await user.call("PATCH", "/v1/me", json={"phone": None})).json()
    assert cleared["phone"] is None
    assert cleared["given_name"] == "Ada"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"phone": "0207 123"}, "body.phone"),
        ({"date_of_birth": "1899-12-31"}, "body.date_of_birth"),
        ({"nationality": "GBR"}, "body.nationality"),
        ({"given_name": ""}, "body.given_name"),
        ({"role": "admin"}, "body.role"),
    ],
)
async def test_bad_profile_patch_is_422(
    client: TestClient, patch: dict[str, Any], field: str
) -> None:
    user = User(client)
    await assert_problem(await user.call("PATCH", "/v1/me", json=patch), 422, field=field)


async def test_preferences_and_consent_timestamp(client: TestClient) -> None:
    user = User(client)
    default = await (await user.call("GET", "/v1/me/preferences")).json()
    assert default["seat"] == "no_preference"
    assert default["marketing_consent"] is False
    first = await (await user.call("PUT", "/v1/me/preferences", json={
        "seat": "aisle", "meal": "vegan", "language": "pt-BR",
        "notification_channels": ["push", "email", "push"], "marketing_consent": True,
    })).json()  # fmt: skip
    assert first["notification_channels"] == ["email", "push"]
    consented_at = first["marketing_consent_at"]
    assert consented_at is not None
    same = await (await user.call("PUT", "/v1/me/preferences", json={
        "seat": "window", "marketing_consent": True})).json()  # fmt: skip
    assert same["marketing_consent_at"] == consented_at  # consent unchanged: time kept
    withdrawn = await (await user.call("PUT", "/v1/me/preferences", json={
        "marketing_consent": False})).json()  # fmt: skip
    assert withdrawn["marketing_consent_at"] != consented_at
    bad = await user.call("PUT", "/v1/me/preferences", json={"seat": "wing"})
    await assert_problem(bad, 422, field="body.seat")


async def test_card_is_stored_encrypted_and_shown_masked(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = User(client)
    response = await user.call("POST", "/v1/me/payment-methods", json=_card())
    assert response.status == 201
    card = await response.json()
    assert (card["brand"], card["last4"], card["exp_year"]) == ("visa", "4242", NEXT_YEAR)
    assert "number" not in card
    row = await db.fetchrow("SELECT * FROM payment_methods WHERE user_id = $1", user.id)
    stored = repr(dict(row)).encode()
    assert VISA.encode() not in stored
    assert b"123" not in row["ciphertext"]  # the CVC is nowhere
    vault = client.app[vault_key]
    sealed = Sealed(row["key_version"], row["nonce"], row["ciphertext"])
    assert vault.open(user.id, sealed) == {"number": VISA, "holder_name": "Ada Lovelace"}
    # Bound to its owner: the same ciphertext does not open for another user.
    with pytest.raises(InvalidTag):
        vault.open(uuid.uuid4(), sealed)
    listing = await (await user.call("GET", "/v1/me/payment-methods")).json()
    assert [m["last4"] for m in listing["payment_methods"]] == ["4242"]


def test_old_keys_still_decrypt_after_rotation() -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    owner = uuid.uuid4()
    before = CardVault({"v1": old_key}, "v1").seal(owner, {"number": VISA})
    rotated = CardVault.from_setting(
        f"v2:{base64.b64encode(new_key).decode()},v1:{base64.b64encode(old_key).decode()}"
    )
    assert rotated.current == "v2"
    assert rotated.open(owner, before) == {"number": VISA}
    assert rotated.seal(owner, {"number": VISA}).key_version == "v2"


@pytest.mark.parametrize(
    ("card", "field"),
    [
        (_card(number="4242424242424241"), "body.number"),
        (_card(number="1234"), "body.number"),
        (_card(exp_year=2001), "body.exp_year"),
        (_card(exp_month=13), "body.exp_month"),
        (_card(cvc="12"), "body.cvc"),
        (_card(number="378282246310005", cvc="123"), "body.cvc"),  # amex needs 4 digits
    ],
)
async def test_invalid_cards_are_422_and_not_stored(
    client: TestClient, db: asyncpg.Connection, card: dict[str, Any], field: str
) -> None:
    user = User(client)
    response = await user.call("POST", "/v1/me/payment-methods", json=card)
    await assert_problem(response, 422, field=field)
    assert await db.fetchval("SELECT count(*) FROM payment_methods") == 0


async def test_cards_of_another_user_are_404(client: TestClient) -> None:
    owner, stranger = User(client), User(client, "eve@example.com")
    card = await (await owner.call("POST", "/v1/me/payment-methods", json=_card())).json()
    response = await stranger.call("DELETE", f"/v1/me/payment-methods/{card['id']}")
    await assert_problem(response, 404)
    mine = await owner.call("DELETE", f"/v1/me/payment-methods/{card['id']}")
    assert mine.status == 204
    listing = await (await owner.call("GET", "/v1/me/payment-methods")).json()
    assert listing["payment_methods"] == []


async def test_avatar_is_reencoded_without_metadata(client: TestClient) -> None:
    user = User(client)
    exif = Image.Exif()
    exif[0x8825] = {1: "N"}  # a GPS block that must not survive
    exif[0x010F] = "SpyCam"
    photo = _image("JPEG", exif=exif.tobytes())
    response = await user.call("PUT", "/v1/me/avatar", data=photo,
                               content_type="image/jpeg")  # fmt: skip
    assert response.status == 204
    served = await user.call("GET", "/v1/me/avatar")
    assert served.headers["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(await served.read())) as image:
        assert image.format == "WEBP"
        assert max(image.size) == 512
        assert not image.getexif()


async def test_oversized_avatar_is_413(client: TestClient) -> None:
    user = User(client)
    # A real PNG header followed by more than 2 MB: refused before it is decoded.
    big = io.BytesIO(_image("PNG") + os.urandom(2 * 1024 * 1024))
    response = await user.call("PUT", "/v1/me/avatar", data=big,
                               content_type="image/png")  # fmt: skip
    await assert_problem(response, 413)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"),  # disguised
        (_image("GIF"), "image/png"),  # a real image, but not an accepted kind
        (_image("PNG"), "text/plain"),
    ],
)
async def test_disguised_or_unsupported_avatar_is_415(
    client: TestClient, data: bytes, content_type: str
) -> None:
    user = User(client)
    response = await user.call("PUT", "/v1/me/avatar", data=data,
                               content_type=content_type)  # fmt: skip
    await assert_problem(response, 415)


async def test_export_then_erase(client: TestClient, db: asyncpg.Connection) -> None:
    user = User(client)
    await user.call("PATCH", "/v1/me", json={"given_name": "Ada", "family_name": "Lovelace"})
    await user.call("POST", "/v1/me/payment-methods", json=_card())
    await user.call("PUT", "/v1/me/avatar", data=_image("PNG"),
                    content_type="image/png")  # fmt: skip
    booking = await db.fetchval(
        "INSERT INTO bookings (record_locator, user_id, total_minor, currency, contact_email)"
        " VALUES ('ERASE1', $1, 12345, 'USD', 'ada@example.com') RETURNING id",
        user.id,
    )
    await db.execute(
        "INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name,"
        " family_name, date_of_birth) VALUES ($1, 1, 'adult', 'Ada', 'Lovelace', '1990-12-10')",
        booking,
    )
    export = await user.call("GET", "/v1/me/export")
    assert export.status == 200
    document = await export.json()
    assert document["profile"]["given_name"] == "Ada"
    assert [m["last4"] for m in document["payment_methods"]] == ["4242"]
    assert document["bookings"][0]["record_locator"] == "ERASE1"
    assert document["bookings"][0]["passengers"][0]["family_name"] == "Lovelace"
    assert VISA not in await export.text()

    assert (await user.call("DELETE", "/v1/me")).status == 204
    profile = await db.fetchrow("SELECT * FROM profiles WHERE user_id = $1", user.id)
    assert profile["given_name"] is None
    assert profile["email"] is None
    assert profile["erased_at"] is not None
    assert await db.fetchval("SELECT count(*) FROM payment_methods") == 0
    kept = await db.fetchrow("SELECT * FROM bookings WHERE id = $1", booking)
    assert kept["total_minor"] == 12345  # accounting keeps the booking
    assert kept["user_id"] is None
    assert kept["contact_email"] is None
    names = await db.fetchrow("SELECT given_name, family_name FROM passengers")
    assert tuple(names) == ("ERASED", "ERASED")
    # The token ended with the account; the image is gone from storage as well.
    await assert_problem(await user.call("GET", "/v1/me/avatar"), 401)
    assert await client.app[storage_key].get(f"avatars/{user.id}.webp") is None
