"""Rendering a trip message from data already read: templates, Babel formatting, the
e-ticket PDFs and calendar entries. Pure CPU work with no database, so it runs in a
process of its own (``Renderer``), at a low scheduling priority.

Why a process: a confirmation's PDFs cost several times the CPU of the booking itself.
Rendered on a worker's thread they would hold its GIL against the requests it serves;
in a process niced below the workers (in a scheduling group of its own), the operating
system gives requests the CPU first, and under saturation confirmations queue up in
the outbox and mostly go out when the load eases, instead of slowing bookings down.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from domain.documents import render_eticket
from domain.notifications.calendar import flight_calendar
from domain.notifications.locale import Speaker
from domain.notifications.trips import Leg, Trip
from domain.receipts import TicketReceipt

# Below every worker (nice 0): weight 110 against their 1024, so under saturation the
# renderer takes about a tenth of what a worker's session gets, and more when they
# idle. Not 19 or SCHED_IDLE: on a machine busy with other work, mail would then wait
# for as long as that work lasts (seen in the benchmark: nothing rendered in 10 min).
RENDER_NICENESS = 10

Attachment = tuple[bytes, str, str, str]  # data, maintype, subtype, file name


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message before addressing: subject, text, HTML and attachments."""

    subject: str
    text: str
    html: str
    language: str
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()

    def message(self) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = self.subject
        for name, value in self.headers:
            message[name] = value
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        for data, maintype, subtype, filename in self.attachments:
            if maintype == "text":  # with its charset, so UTF-8 (an arrow, a name) survives
                message.add_attachment(data.decode(), subtype=subtype, filename=filename)
            else:
                message.add_attachment(data, maintype=maintype, subtype=subtype,
                                       filename=filename)  # fmt: skip
        # After the content: setting content clears every Content-* header.
        message["Content-Language"] = self.language
        return message


@dataclass(frozen=True, slots=True)
class Draft:
    """Everything a trip message shows, read from the database by the composer."""

    template: str
    language: str
    trip: Trip
    link: str
    leg: Leg | None = None
    receipts: tuple[TicketReceipt, ...] = ()
    calendar_legs: tuple[Leg, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    return Environment(
        loader=PackageLoader("domain.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(template: str, values: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of ``template``."""
    environment = template_environment()
    text = environment.get_template(f"{template}.txt").render(values)
    html = environment.get_template(f"{template}.html").render(values)
    return text, html


def calendar_attachment(trip: Trip, leg: Leg) -> Attachment:
    name = f"{leg.designator}-{leg.origin.iata}-{leg.destination.iata}.ics"
    return flight_calendar(trip, leg), "text", "calendar", name


def render_draft(draft: Draft) -> Rendered:
    """The message ``draft`` describes, attachments included."""
    t = Speaker(draft.language)
    trip, leg = draft.trip, draft.leg
    subject_values: dict[str, Any] = {"locator": trip.record_locator}
    if leg is not None:
        subject_values |= {
            "flight": leg.designator,
            "time": t.time(leg.departure),
            "gate": leg.departure_gate or "",
            "city": leg.destination.city,
        }
    subject = t(f"subject.{draft.template}", **subject_values)
    values = {"t": t, "subject": subject, "trip": trip, "leg": leg, "name": trip.lead_passenger,
              "link": draft.link, "action": None, **draft.context}  # fmt: skip
    if values["action"]:
        values["action"] = t(values["action"])
    text, html = render_template(draft.template, values)
    attachments = [
        (render_eticket(receipt), "application", "pdf", f"e-ticket-{receipt.ticket_number}.pdf")
        for receipt in draft.receipts
    ] + [calendar_attachment(trip, one) for one in draft.calendar_legs]
    return Rendered(subject, text, html, t.language, tuple(attachments))


def _lower_priority() -> None:
    """Run below the workers. Where the kernel shares CPU time by session first
    (autogroup), a niced process in the server's session still takes that session's
    fair share from PostgreSQL whenever the workers wait on it; so the renderer gets a
    session, and so a group, of its own, and that group is niced."""
    with contextlib.suppress(OSError):
        os.setsid()
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(f"{RENDER_NICENESS}\n")
    with contextlib.suppress(OSError):
        os.nice(RENDER_NICENESS)


class Renderer:
    """``render_draft`` in a low-priority process, started on first use; ``processes=0``
    renders on a thread of the calling process instead."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def __call__(self, draft: Draft) -> Rendered:
        if self.processes == 0:
            return await asyncio.to_thread(render_draft, draft)
        if self._pool is None:
            # spawn, not fork: the worker runs an event loop and holds sockets.
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, render_draft, draft)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
