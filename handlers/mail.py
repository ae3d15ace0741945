"""Mail for admins (template previews, promotional campaigns) and the one-click
unsubscribe link every promotion carries."""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Literal, get_args

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.keys import notifications_key
from api.params import IataCode
from api.routes import ApiRoutes
from domain.identity.tokens import Claims
from domain.notifications.campaigns import (
    Audience,
    Campaign,
    CampaignContent,
    CampaignNotFound,
    UnsubscribeLinkInvalid,
)
from domain.notifications.composer import TEMPLATES
from domain.notifications.service import PreviewNotFound
from foundation.models import StrictModel
from handlers import examples

routes = ApiRoutes()

TemplateName = Literal[
    "booking_confirmation", "booking_changed", "booking_cancelled",
    "flight_delay", "flight_gate", "flight_cancelled", "flight_diverted",
    "checkin_open", "departure_reminder",
]  # fmt: skip
if set(get_args(TemplateName)) != set(TEMPLATES):  # the domain's list is the truth
    raise ImportError("handlers.mail.TemplateName differs from the composer's TEMPLATES")

Language = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$"),
    Field(description="BCP 47 language; an unsupported one falls back to English.",
          examples=["fr"]),
]  # fmt: skip
Address = Annotated[
    str,
    StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320),
    Field(examples=["ada@example.com"]),
]


# Previews ------------------------------------------------------------------------------


class PreviewPath(StrictModel):
    template: TemplateName


class PreviewQuery(StrictModel):
    booking_id: uuid.UUID
    language: Language = "en"


class TemplatePreview(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.TEMPLATE_PREVIEW]})

    subject: str
    text: str
    html: str
    attachments: list[str] = Field(description="File names of the attachments.")


@routes.get(
    "/v1/admin/mail/templates/{template}/preview",
    summary="Render an email template for a booking",
    path_params=PreviewPath,
    query=PreviewQuery,
    response=TemplatePreview,
    roles=("admin",),
    errors=[PreviewNotFound],
    tags=["admin"],
)
async def preview_template(
    request: web.Request, path: PreviewPath, query: PreviewQuery, user: Claims
) -> TemplatePreview:
    """As the booking's email would be now (its first flight, its latest quote), whether
    or not the cause holds: a delay notice renders for a flight on time."""
    rendered = await request.app[notifications_key].preview(
        path.template, query.booking_id, query.language
    )
    return TemplatePreview(subject=rendered.subject, text=rendered.text, html=rendered.html,
                           attachments=[name for *_, name in rendered.attachments])  # fmt: skip


# Campaigns -----------------------------------------------------------------------------


class ContentInput(StrictModel):
    """Jinja2 templates (sandboxed) that may use `name` and `unsubscribe_url`."""

    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    html: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


class RouteInput(StrictModel):
    origin: IataCode
    destination: IataCode


class AudienceInput(StrictModel):
    """Always only users whose marketing consent is on; narrowed to those who booked a
    flight from `home_airport`, and to those who booked `route`."""

    home_airport: IataCode | None = None
    route: RouteInput | None = None


class CampaignInput(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CAMPAIGN_INPUT]})

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    content: Annotated[
        dict[Language, ContentInput],
        Field(min_length=1, max_length=20, description="By language; `en` is required."),
    ]
    audience: AudienceInput = AudienceInput()


class CampaignPath(StrictModel):
    campaign_id: uuid.UUID


class TestMessage(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.TEST_MESSAGE]})

    email: Address
    language: Language = "en"


class Queued(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.QUEUED]})

    queued: bool = True


@routes.post(
    "/v1/admin/campaigns",
    summary="Create a promotional campaign",
    body=CampaignInput,
    response=Campaign,
    status=201,
    roles=("admin",),
    tags=["admin"],
)
async def create_campaign(request: web.Request, body: CampaignInput, user: Claims) -> Campaign:
    route = body.audience.route
    return await request.app[notifications_key].create_campaign(
        body.name,
        {language: CampaignContent(**c.model_dump()) for language, c in body.content.items()},
        Audience(body.audience.home_airport, (route.origin, route.destination) if route else None),
        user.user_id,
    )


@routes.get(
    "/v1/admin/campaigns/{campaign_id}",
    summary="A promotional campaign",
    path_params=CampaignPath,
    response=Campaign,
    roles=("admin",),
    errors=[CampaignNotFound],
    tags=["admin"],
)
async def get_campaign(request: web.Request, path: CampaignPath, user: Claims) -> Campaign:
    return await request.app[notifications_key].campaign(path.campaign_id)


@routes.post(
    "/v1/admin/campaigns/{campaign_id}/test",
    summary="Send a campaign's message to one address",
    path_params=CampaignPath,
    body=TestMessage,
    response=Queued,
    status=202,
    roles=("admin",),
    errors=[CampaignNotFound],
    tags=["admin"],
)
async def test_campaign(
    request: web.Request, path: CampaignPath, body: TestMessage, user: Claims
) -> Queued:
    """Whatever that address's consent: it is the admin's own check. Its unsubscribe link
    is the admin's."""
    await request.app[notifications_key].send_test(path.campaign_id, body.email, body.language,
                                                   user.user_id)  # fmt: skip
    return Queued()


@routes.post(
    "/v1/admin/campaigns/{campaign_id}/send",
    summary="Send a campaign to its audience",
    path_params=CampaignPath,
    response=Campaign,
    roles=("admin",),
    errors=[CampaignNotFound],
    tags=["admin"],
)
async def send_campaign(request: web.Request, path: CampaignPath, user: Claims) -> Campaign:
    """Each consenting user of the audience once: sending again reaches only users who
    have consented since."""
    return await request.app[notifications_key].send_campaign(path.campaign_id)


# Unsubscribe ---------------------------------------------------------------------------


class UnsubscribeQuery(StrictModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Unsubscribed(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.UNSUBSCRIBED]})

    unsubscribed: bool = True


@routes.post(
    "/v1/unsubscribe",
    summary="One-click unsubscribe (RFC 8058): withdraw marketing consent",
    query=UnsubscribeQuery,
    response=Unsubscribed,
    errors=[UnsubscribeLinkInvalid],
    tags=["mail"],
)
async def unsubscribe(request: web.Request, query: UnsubscribeQuery) -> Unsubscribed:
    """What a mail client POSTs (body `List-Unsubscribe=One-Click`) to the promotion's
    List-Unsubscribe link, and what the page's button does. No token needed: the link is
    signed. Answering twice changes nothing."""
    await request.app[notifications_key].unsubscribe(query.token)
    return Unsubscribed()


@routes.get(
    "/v1/unsubscribe",
    summary="Unsubscribe page: a button that withdraws marketing consent",
    query=UnsubscribeQuery,
    response=str,
    response_content_type="text/html",
    examples={200: examples.UNSUBSCRIBE_PAGE},
    tags=["mail"],
)
async def unsubscribe_page(request: web.Request, query: UnsubscribeQuery) -> web.Response:
    """Changes nothing by itself: link scanners open every link in a message, so only
    the button's POST unsubscribes."""
    action = html.escape(f"/v1/unsubscribe?token={query.token}", quote=True)
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Unsubscribe</title></head><body style='font-family:sans-serif'>"
        "<h1>Sky-Bound Journeys offers</h1>"
        f"<form method='post' action='{action}'>"
        "<input type='hidden' name='List-Unsubscribe' value='One-Click'>"
        "<button type='submit'>Unsubscribe from offers</button></form></body></html>"
    )
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})
