"""A boarding pass as a PDF: one passenger, one flight, with its PDF417 barcode.

A5 landscape, the core Helvetica font (no font file embedded), so a pass is a few
kilobytes and prints on half a sheet. Names outside Windows-1252 are transliterated
for the text; the barcode carries the BCBP's plain ASCII name either way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from domain.barcodes import MODULE_MM, pdf417_image
from domain.checkin.models import BoardingPassView
from domain.documents import pdf_text

A5_MM = (148, 210)
_CABINS = {"first": "First", "business": "Business", "premium_economy": "Premium economy",
           "economy": "Economy"}  # fmt: skip


def _box(pdf: FPDF, x: float, y: float, width: float, label: str, value: str) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Helvetica", size=7)
    pdf.set_text_color(90)
    pdf.cell(width, 4, label.upper(), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(width, 7, pdf_text(value))


def render_boarding_pass(boarding: BoardingPassView) -> bytes:
    """The pass as a PDF; the same pass gives the same bytes (the creation date is the
    check-in time)."""
    # A5 given as millimetres: fpdf2 warns about its named A5 (whose size it corrected).
    pdf = FPDF(orientation="landscape", unit="mm", format=A5_MM)
    pdf.core_fonts_encoding = "cp1252"
    pdf.set_creation_date(boarding.checked_in_at.astimezone(UTC))
    pdf.set_title(f"Boarding pass {boarding.designator} {boarding.family_name.upper()}")
    pdf.set_author(pdf_text(boarding.airline))
    pdf.set_creator("Skybound")
    pdf.set_lang("en")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(False)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 8, pdf_text(boarding.airline), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 6, "Boarding pass", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + pdf.epw, pdf.get_y() + 1)

    departs: datetime = boarding.departure.local
    boards: datetime = boarding.boarding_time.local
    name = f"{boarding.family_name.upper()}/{boarding.given_name.upper()}"
    top, left, column = 30.0, pdf.l_margin, pdf.epw / 4
    rows = (
        (("Passenger", name), None, None, None),
        (("Flight", boarding.designator), ("Date", f"{departs:%d %b %Y}"),
         ("From", boarding.origin), ("To", boarding.destination)),
        (("Departs", f"{departs:%H:%M}"), ("Boarding", f"{boards:%H:%M}"),
         ("Gate", boarding.gate or "See screens"), ("Zone", boarding.zone)),
        (("Seat", boarding.seat or ("On lap" if boarding.passenger_type == "infant"
                                     else "At gate")), ("Sequence", f"{boarding.sequence:03d}"),
         ("Cabin", _CABINS.get(boarding.cabin, boarding.cabin)),
         ("Booking", boarding.record_locator)),
    )  # fmt: skip
    for r, boxes in enumerate(rows):
        for c, box in enumerate(boxes):
            if box is not None:
                width = pdf.epw if boxes[1] is None else column
                _box(pdf, left + c * column, top + r * 13, width, *box)

    image = pdf417_image(boarding.bcbp)
    width, height = image.width * MODULE_MM, image.height * MODULE_MM
    y = top + 4 * 13 + 3
    pdf.image(image, x=left, y=y, w=width, h=height,
              alt_text=f"PDF417 boarding pass barcode, {boarding.designator}")  # fmt: skip
    pdf.set_xy(left + width + 8, y)
    pdf.set_font("Helvetica", size=8)
    notes = (
        f"E-ticket {boarding.ticket_number}"
        + (f"   Terminal {boarding.terminal}" if boarding.terminal else ""),
        "Times are local at the departure airport.",
        "Be at the gate when boarding begins; the gate closes",
        "15 minutes before departure.",
    )
    for line in notes:
        pdf.cell(0, 4, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
    return bytes(pdf.output())
