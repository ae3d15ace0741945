"""The signed-in user, and the roles admins grant."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.keys import pool_key, roles_key, storage_key, travel_documents_key, vault_key
from api.routes import ApiRoutes
from domain.avatars import (
    AVATAR_CONTENT_TYPE,
    AVATAR_MAX_BYTES,
    AvatarTooLarge,
    UnsupportedImage,
    check_upload,
    load_avatar,
    save_avatar,
)
from domain.cards import CardDetails
from domain.identity.tokens import Claims
from domain.profiles import (
    PaymentMethod,
    PaymentMethodNotFound,
    Preferences,
    Profile,
    delete_payment_method,
    ensure_profile,
    erase_user,
    export_user_data,
    get_preferences,
    granted_roles,
    list_payment_methods,
    put_preferences,
    save_card,
    set_roles,
    update_profile,
)
from foundation.errors import NotFound
from foundation.models import StrictModel
from handlers import examples

routes = ApiRoutes()


@routes.get("/v1/me", summary="The signed-in user's profile", response=Profile, auth=True,
            tags=["users"])  # fmt: skip
async def me(request: web.Request, user: Claims) -> Profile:
    """Created on first use from the token's claims."""
    return await ensure_profile(request.app[pool_key], user.user_id, user.email, user.app_roles)


class UserPath(StrictModel):
    user_id: uuid.UUID


GrantableRole = Literal["agent", "ops", "admin"]


class RoleGrant(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.ROLE_GRANT]})

    roles: Annotated[list[GrantableRole], Field(max_length=3)]


class UserRoles(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.USER_ROLES]})

    user_id: uuid.UUID
    roles: list[str] = Field(description="Granted here; `passenger` is implicit for everyone.")


@routes.get(
    "/v1/admin/users/{user_id}/roles",
    summary="Roles granted to a user",
    path_params=UserPath,
    response=UserRoles,
    roles=("admin",),
    tags=["admin"],
)
async def user_roles(request: web.Request, path: UserPath, user: Claims) -> UserRoles:
    roles = await granted_roles(request.app[pool_key], path.user_id)
    return UserRoles(user_id=path.user_id, roles=roles)


@routes.put(
    "/v1/admin/users/{user_id}/roles",
    summary="Set the roles granted to a user",
    path_params=UserPath,
    body=RoleGrant,
    response=UserRoles,
    roles=("admin",),
    tags=["admin"],
)
async def grant_roles(
    request: web.Request, path: UserPath, body: RoleGrant, user: Claims
) -> UserRoles:
    roles = await set_roles(request.app[pool_key], request.app[roles_key], path.user_id,
                            body.roles, user.user_id)  # fmt: skip
    return UserRoles(user_id=path.user_id, roles=roles)


# Profile ---------------------------------------------------------------------------

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ProfilePatch(StrictModel):
    """Only the fields sent change; send null to clear one."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PROFILE_PATCH]})

    given_name: Name | None = None
    family_name: Name | None = None
    phone: Annotated[
        str | None, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$"),
        Field(description="E.164, e.g. +442071234567."),
    ] = None  # fmt: skip
    date_of_birth: date | None = None
    nationality: Annotated[
        str | None, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True),
        Field(description="ISO 3166-1 alpha-2."),
    ] = None  # fmt: skip
    loyalty_numbers: Annotated[
        dict[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")],
             Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{4,20}$")]] | None,
        Field(max_length=20, description="Carrier code to membership number."),
    ] = None  # fmt: skip

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth(cls, value: date | None) -> date | None:
        if value is not None and not date(1900, 1, 1) <= value <= datetime.now(UTC).date():
            raise ValueError("Date of birth must be between 1900 and today.")
        return value


@routes.patch("/v1/me", summary="Update the signed-in user's profile", body=ProfilePatch,
              response=Profile, auth=True, tags=["users"])  # fmt: skip
async def patch_me(request: web.Request, body: ProfilePatch, user: Claims) -> Profile:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    return await update_profile(request.app[pool_key], user, changes)


# Preferences -------------------------------------------------------------------------


class PreferencesInput(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PREFERENCES_INPUT]})

    seat: Literal["window", "aisle", "no_preference"] = "no_preference"
    meal: Literal["standard", "vegetarian", "vegan", "halal", "kosher", "gluten_free", "child"] = (
        "standard"
    )
    language: Annotated[
        str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$"),
        Field(description="BCP 47 language, e.g. en or pt-BR."),
    ] = "en"  # fmt: skip
    notification_channels: Annotated[list[Literal["email", "push", "sms"]], Field(max_length=3)] = [
        "email"
    ]
    marketing_consent: bool = False


@routes.get("/v1/me/preferences", summary="Travel and notification preferences",
            response=Preferences, auth=True, tags=["users"])  # fmt: skip
async def my_preferences(request: web.Request, user: Claims) -> Preferences:
    return await get_preferences(request.app[pool_key], user.user_id)


@routes.put("/v1/me/preferences", summary="Replace the preferences", body=PreferencesInput,
            response=Preferences, auth=True, tags=["users"])  # fmt: skip
async def put_my_preferences(
    request: web.Request, body: PreferencesInput, user: Claims
) -> Preferences:
    """Marketing consent records when it was last given or withdrawn."""
    return await put_preferences(request.app[pool_key], user, body.model_dump())


# Payment methods ------------------------------------------------------------------------


class CardInput(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CARD_INPUT]})

    number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=23)]
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=2000, le=2100)]
    cvc: Annotated[
        str, StringConstraints(max_length=4), Field(description="Checked, never stored.")
    ]
    holder_name: Name


class PaymentMethodList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PAYMENT_METHOD_LIST]})

    payment_methods: list[PaymentMethod]


class PaymentMethodPath(StrictModel):
    method_id: uuid.UUID


@routes.post("/v1/me/payment-methods", summary="Save a card", body=CardInput,
             response=PaymentMethod, status=201, auth=True, tags=["users"])  # fmt: skip
async def add_card(request: web.Request, body: CardInput, user: Claims) -> PaymentMethod:
    """The number and holder are encrypted (AES-256-GCM); brand, last four digits and expiry
    are kept for display; the CVC is validated and discarded."""
    card = CardDetails(body.number, body.exp_month, body.exp_year, body.cvc, body.holder_name)
    return await save_card(request.app[pool_key], request.app[vault_key], user, card)


@routes.get("/v1/me/payment-methods", summary="Saved cards (masked)",
            response=PaymentMethodList, auth=True, tags=["users"])  # fmt: skip
async def my_cards(request: web.Request, user: Claims) -> PaymentMethodList:
    methods = await list_payment_methods(request.app[pool_key], user.user_id)
    return PaymentMethodList(payment_methods=methods)


@routes.delete("/v1/me/payment-methods/{method_id}", summary="Forget a saved card",
               path_params=PaymentMethodPath, status=204, auth=True,
               errors=[PaymentMethodNotFound], tags=["users"])  # fmt: skip
async def forget_card(request: web.Request, path: PaymentMethodPath, user: Claims) -> None:
    await delete_payment_method(request.app[pool_key], user.user_id, path.method_id)


# Avatar -------------------------------------------------------------------------------------


@routes.put("/v1/me/avatar", summary="Upload a profile image (PNG, JPEG or WebP, up to 2 MB)",
            status=204, auth=True, errors=[AvatarTooLarge, UnsupportedImage],
            tags=["users"])  # fmt: skip
async def put_avatar(request: web.Request, user: Claims) -> None:
    """Send the image bytes as the body. The real type is read from the bytes, not the
    Content-Type; the image is re-encoded to strip its metadata."""
    check_upload(request.content_type, request.content_length)
    data = await request.content.read(AVATAR_MAX_BYTES + 1)
    await save_avatar(request.app[pool_key], request.app[storage_key], user, data,
                      request.content_type)  # fmt: skip


@routes.get("/v1/me/avatar", summary="The profile image (WebP)", response=str,
            response_content_type="image/webp", auth=True, errors=[NotFound],
            tags=["users"])  # fmt: skip
async def get_avatar(request: web.Request, user: Claims) -> web.Response:
    data = await load_avatar(request.app[pool_key], request.app[storage_key], user.user_id)
    return web.Response(body=data, content_type=AVATAR_CONTENT_TYPE,
                        headers={"Cache-Control": "private, max-age=300"})  # fmt: skip


# GDPR ------------------------------------------------------------------------------------------


@routes.get("/v1/me/export", summary="Everything stored about the signed-in user (JSON)",
            response=dict[str, Any], auth=True, tags=["users"],
            examples={200: examples.DATA_EXPORT})  # fmt: skip
async def export_me(request: web.Request, user: Claims) -> web.Response:
    """A download of the user's profile, preferences, masked cards, roles and bookings."""
    document = await export_user_data(
        request.app[pool_key], user.user_id, request.app[travel_documents_key]
    )
    return web.json_response(
        document,
        dumps=lambda value: orjson.dumps(value, default=str).decode(),
        headers={"Content-Disposition": 'attachment; filename="skybound-export.json"'},
    )


@routes.delete("/v1/me", summary="Erase the signed-in user's personal data and end the account",
               status=204, auth=True, tags=["users"])  # fmt: skip
async def erase_me(request: web.Request, user: Claims) -> None:
    """Profile details, preferences, cards, roles and avatar are erased; bookings stay for
    accounting, anonymised (no names, contacts or link to the user). The account ends
    with them: the built-in auth user is deleted, and every token, session, refresh
    token and stream ticket of the user stops working on every worker."""
    await erase_user(request.app[pool_key], request.app[storage_key], request.app[roles_key],
                     user.user_id)  # fmt: skip
