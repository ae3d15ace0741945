"""E-ticket receipts as PDFs, for the booking's owner and staff, or through a signed link."""

from __future__ import annotations

import uuid
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from api.auth import authenticate
from api.keys import documents_key
from api.routes import ApiRoutes
from domain.documents import (
    PDF_CONTENT_TYPE,
    DocumentLink,
    DocumentLinkInvalid,
    DocumentNotFound,
)
from domain.identity.tokens import Claims
from foundation.models import StrictModel

routes = ApiRoutes()


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
    documents = request.app[documents_key]
    if query.expires is None and query.signature is None:
        user = await authenticate(request)
        ticket = await documents.readable(path.booking_id, path.ticket_number, user.user_id,
                                          user.app_roles)  # fmt: skip
    else:
        ticket = await documents.linked(path.booking_id, path.ticket_number, query.expires,
                                        query.signature)  # fmt: skip
    pdf = await documents.pdf(ticket)
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
    return await request.app[documents_key].link(
        path.booking_id, path.ticket_number, user.user_id, user.app_roles
    )
