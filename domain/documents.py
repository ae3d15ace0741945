"""E-ticket receipt PDFs: rendering, lazy storage, and short-lived signed links.

A receipt is rendered on its first request, kept through the storage interface
under ``tickets/{booking_id}/{ticket_number}.pdf`` and served from there
afterwards. A receipt carries no boarding barcode: a boarding pass is issued only at
check-in (domain/checkin/), with its own PDF.

Fonts: the PDF uses the core Helvetica font (no font file embedded, so a
receipt is a few kilobytes). Core fonts encode Windows-1252, which covers
Western European names; other characters are transliterated (``Ł`` -> ``L``)
or shown as ``?``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
import unicodedata
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import asyncpg
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pydantic import BaseModel, ConfigDict, Field

from adapters.storage import Storage
from domain import examples
from domain.bookings.queries import document_url, may_read
from domain.receipts import (
    LIVE_TICKET_STATUSES,
    FareConditions,
    Place,
    ReceiptSegment,
    TicketReceipt,
    format_money,
    load_receipts,
)
from domain.ticketing import PLAIN_LETTERS, check_digit
from foundation.errors import NotFound, NotPermitted
from foundation.secrets import app_secret

PDF_CONTENT_TYPE = "application/pdf"
LINK_TTL = timedelta(minutes=5)

_PASSENGER_TYPES = {"adult": "Adult", "child": "Child", "infant": "Infant"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Latin letters that Unicode does not decompose into a base letter and a mark.
_PDF_ENCODING = "cp1252"


class DocumentNotFound(NotFound):
    """Unknown booking or ticket, a void ticket, or one the caller may not read: all alike,
    so that nobody learns which bookings exist."""

    slug = "document-not-found"
    title = "Document not found"


class DocumentLinkInvalid(NotPermitted):
    slug = "document-link-invalid"
    title = "Document link invalid"


class DocumentLinkExpired(DocumentLinkInvalid):
    slug = "document-link-expired"
    title = "Document link expired"


# Rendering -------------------------------------------------------------------------------


def pdf_text(text: str) -> str:
    """``text`` in the core fonts' encoding: kept where it can be, else transliterated."""
    out = []
    for char in text.translate(PLAIN_LETTERS):
        try:
            char.encode(_PDF_ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in base if not unicodedata.combining(c))
            try:
                base.encode(_PDF_ENCODING)
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _day(value: date) -> str:
    return f"{_WEEKDAYS[value.weekday()]} {value.day:02d} {_MONTHS[value.month - 1]} {value.year}"


def _time(moment: datetime, since: date | None = None) -> str:
    text = f"{moment:%H:%M}"
    if since is not None and moment.date() != since:
        text += f" {(moment.date() - since).days:+d}"
    return text


def _cabin(cabin: str) -> str:
    return cabin.replace("_", " ").capitalize()


def _conditions(conditions: FareConditions) -> str:
    def fee(amount: int) -> str:
        return "free of charge" if amount == 0 else format_money(amount, conditions.fee_currency)

    changes = (
        f"changes allowed, {fee(conditions.change_fee_minor)}"
        if conditions.changeable
        else "no changes"
    )
    refunds = (
        f"refundable, cancellation {fee(conditions.cancellation_fee_minor)}"
        if conditions.refundable
        else "not refundable"
    )
    bags = {0: "no checked bag", 1: "1 checked bag"}.get(
        conditions.checked_bags, f"{conditions.checked_bags} checked bags"
    )
    return f"{conditions.brand} ({_cabin(conditions.cabin)}): {changes}; {refunds}; {bags}."


class _Receipt(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.core_fonts_encoding = _PDF_ENCODING

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        self.set_text_color(110)
        self.cell(0, 4, self.footer_text, align="L")
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=9)


def _details(pdf: FPDF, pairs: list[tuple[str, str]]) -> None:
    """Label and value pairs, two to a line."""
    half = pdf.epw / 2
    for i, (label, value) in enumerate(pairs):
        pdf.set_font("Helvetica", size=8)
        pdf.set_text_color(90)
        pdf.cell(34, 6, label)
        pdf.set_text_color(0)
        pdf.set_font("Helvetica", "B", 10)
        last = i % 2 == 1 or i == len(pairs) - 1
        pdf.cell(half - 34, 6, pdf_text(value),
                 new_x=XPos.LMARGIN if last else XPos.RIGHT,
                 new_y=YPos.NEXT if last else YPos.TOP)  # fmt: skip


def _place(place: Place) -> str:
    terminal = f" T{place.terminal}" if place.terminal else ""
    return f"{place.iata} {place.city}{terminal}\n{place.name}"


def _itinerary(pdf: FPDF, segments: tuple[ReceiptSegment, ...]) -> None:
    pdf.set_font("Helvetica", size=8)
    headings = ("Flight", "Date", "From", "To", "Departs", "Arrives", "Cabin", "Fare", "Seat")
    with pdf.table(
        col_widths=(15, 27, 35, 35, 13, 15, 14, 16, 10),
        text_align="LEFT",
        line_height=4,
        padding=1,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        table.row(headings)
        for s in segments:
            table.row(
                (
                    pdf_text(
                        f"{s.marketed_as}\noperated by {s.carrier_name}"
                        if s.marketed_as
                        else s.designator
                    ),
                    _day(s.departure.date()),
                    pdf_text(_place(s.origin)),
                    pdf_text(_place(s.destination)),
                    _time(s.departure),
                    _time(s.arrival, s.departure.date()),
                    f"{_cabin(s.cabin)} {s.booking_class}",
                    pdf_text(f"{s.conditions.brand}\n{s.fare_basis}\n{s.baggage}"),
                    s.seat or "-",
                )
            )
    pdf.set_font("Helvetica", size=7)
    pdf.cell(0, 5, "Times are local at each airport; +1 means the next day.",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip


def render_eticket(receipt: TicketReceipt) -> bytes:
    """The receipt as an A4 PDF. The same receipt gives the same bytes (for one fpdf2
    version): the creation date is the ticket's issue time."""
    airline = pdf_text(receipt.issuing_airline)
    pdf = _Receipt(f"{airline} - e-ticket {receipt.ticket_number} - "
                   f"booking reference {receipt.record_locator}")  # fmt: skip
    pdf.set_creation_date(receipt.issued_at.astimezone(UTC))
    pdf.set_title(f"Electronic ticket receipt {receipt.ticket_number}")
    pdf.set_author(airline)
    pdf.set_creator("Skybound")
    pdf.set_lang("en")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 9, airline, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 7, "Electronic ticket receipt", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + pdf.epw, pdf.get_y() + 1)
    pdf.ln(4)

    name = f"{receipt.family_name.upper()}/{receipt.given_name.upper()}"
    _details(
        pdf,
        [
            (
                "Ticket number",
                f"{receipt.ticket_number}  (check digit {check_digit(receipt.ticket_number)})",
            ),
            ("Booking reference", receipt.record_locator),
            ("Passenger", name),
            ("Passenger type", _PASSENGER_TYPES.get(receipt.passenger_type, "Passenger")),
            ("Issue date", _day(receipt.issued_at.astimezone(UTC).date())),
            ("Issued by", receipt.issuing_airline),
            ("Form of payment", receipt.form_of_payment or "-"),
        ],
    )
    pdf.set_font("Helvetica", size=7)
    pdf.cell(0, 4, "Name as on the passport: it must match the travel document.",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip

    _heading(pdf, "Itinerary")
    _itinerary(pdf, receipt.segments)

    _heading(pdf, "Fare")
    ticket = receipt.ticket_amounts
    if ticket is not None:
        money = receipt.money
        pairs = [("Base fare", money(ticket["base_minor"]))]
        pairs += [(f"{t['code']} {t['name']}", money(t["amount_minor"])) for t in ticket["taxes"]]
        unit = ticket["base_minor"] + sum(t["amount_minor"] for t in ticket["taxes"])
        _details(pdf, [*pairs, ("Ticket total", money(unit))])
        if ticket.get("fare_calculation"):
            pdf.set_font("Courier", size=8)
            pdf.multi_cell(0, 4, pdf_text(f"Fare calculation: {ticket['fare_calculation']}"),
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
            pdf.set_font("Helvetica", size=10)
    share = (
        f"Total paid for the booking ({receipt.passengers_on_booking} passengers)"
        if receipt.passengers_on_booking > 1
        else "Total paid"
    )
    pdf.cell(0, 5, f"{share}: {receipt.total}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    if receipt.emds:
        _heading(pdf, "Paid services (EMD)")
        for emd in receipt.emds:
            pdf.cell(0, 5, pdf_text(f"EMD {emd.emd_number}  {emd.description}  "
                                    f"{receipt.money(emd.amount_minor)}  ({emd.status})"),
                     new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip

    _heading(pdf, "Fare conditions")
    for conditions in receipt.conditions:
        pdf.multi_cell(0, 4.5, pdf_text(_conditions(conditions)),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.multi_cell(
        0, 4.5,
        "Fees are per passenger, in the operating carrier's currency. Carriage is subject "
        "to the operating carrier's conditions of carriage.",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip

    _heading(pdf, "Check-in")
    pdf.multi_cell(
        0, 4.5,
        "This receipt is not a boarding pass. Check in online once check-in opens (24 hours "
        "before departure, unless the airline says otherwise): boarding passes are issued "
        "then.",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    return bytes(pdf.output())


# Storage ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    ticket_number: str
    booking_id: uuid.UUID
    owner_id: uuid.UUID | None
    document_key: str | None


_FIND_TICKET = """
SELECT t.ticket_number, t.booking_id, b.user_id, t.document_key
FROM tickets t JOIN bookings b ON b.id = t.booking_id
WHERE t.booking_id = $1 AND t.ticket_number = $2 AND t.status = ANY($3::text[])
"""


def document_key(booking_id: uuid.UUID, ticket_number: str) -> str:
    return f"tickets/{booking_id}/{ticket_number}.pdf"


async def find_ticket(
    conn: asyncpg.Connection | asyncpg.Pool, booking_id: uuid.UUID, ticket_number: str
) -> IssuedTicket | None:
    """A live ticket of this booking, or None."""
    row = await conn.fetchrow(_FIND_TICKET, booking_id, ticket_number, list(LIVE_TICKET_STATUSES))
    if row is None:
        return None
    return IssuedTicket(row["ticket_number"], row["booking_id"], row["user_id"],
                        row["document_key"])  # fmt: skip


async def ticket_pdf(pool: asyncpg.Pool, storage: Storage, ticket: IssuedTicket) -> bytes:
    """The ticket's receipt: from storage, or rendered, stored and recorded on first use.

    Two first requests at once both render and store the same bytes under the same key;
    the storage replaces files atomically, so either result is whole.
    """
    if ticket.document_key is not None:
        stored = await storage.get(ticket.document_key)
        if stored is not None:
            return stored
    receipts = await load_receipts(pool, ticket.booking_id, ticket_number=ticket.ticket_number)
    if not receipts:
        raise DocumentNotFound("This ticket has no flights to show.")
    pdf = await asyncio.to_thread(render_eticket, receipts[0])
    key = document_key(ticket.booking_id, ticket.ticket_number)
    await storage.put(key, pdf, PDF_CONTENT_TYPE)
    await pool.execute(
        "UPDATE tickets SET document_key = $2 WHERE ticket_number = $1", ticket.ticket_number, key
    )
    return pdf


async def forget_documents(conn: asyncpg.Connection | asyncpg.Pool, booking_id: uuid.UUID) -> None:
    """Render a booking's receipts afresh on their next request (after a seat or schedule
    change that keeps the ticket numbers)."""
    await conn.execute("UPDATE tickets SET document_key = NULL WHERE booking_id = $1", booking_id)


# Signed links ----------------------------------------------------------------------------


async def link_secret(conn: asyncpg.Connection | asyncpg.Pool) -> bytes:
    """The fleet-wide HMAC key of document links, created on first use."""
    return (await app_secret(conn, "document_links")).encode()


def link_signature(secret: bytes, booking_id: uuid.UUID, ticket_number: str, expires: int) -> str:
    message = f"ticket-document:{booking_id}:{ticket_number}:{expires}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_link(
    secret: bytes,
    booking_id: uuid.UUID,
    ticket_number: str,
    expires: int,
    signature: str,
    *,
    now: float | None = None,
) -> None:
    """Raise unless the signature is ours for exactly this document and expiry, and the
    expiry has not passed. The signature is checked first: a forged link learns nothing."""
    expected = link_signature(secret, booking_id, ticket_number, expires).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise DocumentLinkInvalid("The link's signature does not match; ask for a new link.")
    if expires <= (time.time() if now is None else now):
        raise DocumentLinkExpired("The link has expired; ask for a new one.")


# Access ---------------------------------------------------------------------------------


class DocumentLink(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DOCUMENT_LINK]})

    url: str = Field(
        description="Path and query of the PDF, relative to the API's base URL (a proxy in "
        "front may change scheme and host); opens without a bearer token until expires_at.",
        examples=["/v1/bookings/6f1c.../documents/9011000000013.pdf?expires=1796000000"
                  "&signature=..."],
    )  # fmt: skip
    expires_at: datetime


class DocumentService:
    """E-ticket receipts: who may read one, signed links to one, and the PDF itself."""

    def __init__(self, pool: asyncpg.Pool, storage: Storage) -> None:
        self._pool = pool
        self._storage = storage

    async def readable(
        self, booking_id: uuid.UUID, ticket_number: str, viewer: uuid.UUID,
        roles: Collection[str],
    ) -> IssuedTicket:  # fmt: skip
        """The ticket, for those who may read its booking (the owner, an agent or an
        admin); anyone else gets DocumentNotFound, as for an unknown ticket."""
        ticket = await find_ticket(self._pool, booking_id, ticket_number)
        if ticket is None or not may_read(ticket.owner_id, viewer, roles):
            raise DocumentNotFound("No such ticket document.")
        return ticket

    async def linked(
        self, booking_id: uuid.UUID, ticket_number: str, expires: int | None,
        signature: str | None,
    ) -> IssuedTicket:  # fmt: skip
        """The ticket a signed link opens, for anyone holding the link. The link is checked
        before any lookup, so a bad one says nothing about the booking."""
        if expires is None or signature is None:
            raise DocumentLinkInvalid("A signed link has both `expires` and `signature`.")
        check_link(await link_secret(self._pool), booking_id, ticket_number, expires,
                   signature)  # fmt: skip
        ticket = await find_ticket(self._pool, booking_id, ticket_number)
        if ticket is None:
            raise DocumentNotFound("No such ticket document.")
        return ticket

    async def pdf(self, ticket: IssuedTicket) -> bytes:
        return await ticket_pdf(self._pool, self._storage, ticket)

    async def link(
        self, booking_id: uuid.UUID, ticket_number: str, viewer: uuid.UUID,
        roles: Collection[str], *, now: float | None = None,
    ) -> DocumentLink:  # fmt: skip
        """A link to the receipt that opens without a token for LINK_TTL; the same access
        as the document itself."""
        ticket = await self.readable(booking_id, ticket_number, viewer, roles)
        expires = int((time.time() if now is None else now) + LINK_TTL.total_seconds())
        signature = link_signature(await link_secret(self._pool), ticket.booking_id,
                                   ticket.ticket_number, expires)  # fmt: skip
        query = urlencode({"expires": str(expires), "signature": signature})
        return DocumentLink(
            url=f"{document_url(ticket.booking_id, ticket.ticket_number)}?{query}",
            expires_at=datetime.fromtimestamp(expires, UTC),
        )
