"""E-ticket receipts as PDFs, for the booking's owner and staff, or through a signed link."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, Field, StringConstraints
from yarl import URL

from api.auth import authenticate
from api.keys import pool_key, storage_key
from api.routes import ApiRoutes
from domain.documents import (
    LINK_TTL,
    PDF_CONTENT_TYPE,
    DocumentLinkInvalid,
    DocumentNotFound,
    IssuedTicket,
    check_link,
    find_ticket,
    link_secret,
    link_signature,
    ticket_pdf,
)
from domain.identity.tokens import Claims
from foundation.models import StrictModel

routes = ApiRoutes()

# Staff read any booking's documents; everyone else only their own bookings'.
STAFF_ROLES = frozenset({"agent", "admin"})


class DocumentPath(StrictModel):
    booking_id: uuid.UUID
    ticket_number: Annotated[
        str,
        StringConstraints(pattern=r"^[0-9]{13}$"),
        Field(description="The 13-digit e-ticket number.", examples=["9011000000013"]),
    ]


class DocumentQuery(StrictModel):
    """Both or neither: a signed link's expiry and signature, from POST .../links."""

    expires: int | None = Field(default=None, ge=0, description="Unix time the link expires.")
    signature: Annotated[str | None, StringConstraints(max_length=100)] = None


class DocumentLink(BaseModel):
    url: str = Field(
        description="Path and query of the PDF, relative to the API's base URL (a proxy in "
        "front may change scheme and host); opens without a bearer token until expires_at.",
        examples=["/v1/bookings/6f1c.../documents/9011000000013.pdf?expires=1796000000"
                  "&signature=..."],
    )  # fmt: skip
    expires_at: datetime


async def _readable_ticket(request: web.Request, path: DocumentPath, user: Claims) -> IssuedTicket:
    ticket = await find_ticket(request.app[pool_key], path.booking_id, path.ticket_number)
    if ticket is None or not (ticket.owner_id == user.user_id or user.app_roles & STAFF_ROLES):
        raise DocumentNotFound("No such ticket document.")
    return ticket


@routes.get(
    "/v1/bookings/{booking_id}/documents/{ticket_number:[0-9]+}.pdf",
    summary="A ticket's e-ticket receipt (PDF)",
    path_params=DocumentPath,
    query=DocumentQuery,
    response=bytes,
    response_content_type=PDF_CONTENT_TYPE,
    errors=[DocumentNotFound, DocumentLinkInvalid],
    security=("bearerAuth",),
    tags=["bookings"],
)
async def ticket_document(
    request: web.Request, path: DocumentPath, query: DocumentQuery
) -> web.Response:
    """With a bearer token: the booking's owner, an agent or an admin; anyone else gets 404,
    as for an unknown booking. With `expires` and `signature` from a link: no token; a
    signature that does not match or has expired is a 403 (checked before any lookup, so
    it says nothing about the booking). Rendered on first request, then served as stored."""
    pool = request.app[pool_key]
    if query.expires is None and query.signature is None:
        ticket = await _readable_ticket(request, path, await authenticate(request))
    else:
        if query.expires is None or query.signature is None:
            raise DocumentLinkInvalid("A signed link has both `expires` and `signature`.")
        check_link(await link_secret(pool), path.booking_id, path.ticket_number,
                   query.expires, query.signature)  # fmt: skip
        found = await find_ticket(pool, path.booking_id, path.ticket_number)
        if found is None:
            raise DocumentNotFound("No such ticket document.")
        ticket = found
    pdf = await ticket_pdf(pool, request.app[storage_key], ticket)
    return web.Response(
        body=pdf,
        content_type=PDF_CONTENT_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="e-ticket-{ticket.ticket_number}.pdf"',
            "Cache-Control": "private, max-age=300",
        },
    )


@routes.post(
    "/v1/bookings/{booking_id}/documents/{ticket_number:[0-9]+}/links",
    summary="A link to a ticket's receipt that works without a token for 5 minutes",
    path_params=DocumentPath,
    response=DocumentLink,
    auth=True,
    errors=[DocumentNotFound],
    tags=["bookings"],
)
async def ticket_document_link(
    request: web.Request, path: DocumentPath, user: Claims
) -> DocumentLink:
    """For a browser tab, a share sheet or a download manager, which cannot send the
    bearer token. Same access as the document itself."""
    ticket = await _readable_ticket(request, path, user)
    expires = int(time.time() + LINK_TTL.total_seconds())
    signature = link_signature(
        await link_secret(request.app[pool_key]), ticket.booking_id, ticket.ticket_number, expires
    )
    url = URL.build(
        path=f"/v1/bookings/{ticket.booking_id}/documents/{ticket.ticket_number}.pdf",
        query={"expires": str(expires), "signature": signature},
    )
    return DocumentLink(url=str(url), expires_at=datetime.fromtimestamp(expires, UTC))
