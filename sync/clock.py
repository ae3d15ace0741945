"""Hybrid logical clocks: the order of edits made on devices that were offline.

A clock reads ``<wall ms, 13 digits>:<counter, 4 digits>:<node>`` and orders by
(wall, counter, node); the node is the device's client id (``server`` for writes
that did not come through sync). A device advances its clock past every clock it
pulls, so an edit made after seeing another one orders after it even when the
device's wall clock is behind. Field clocks decide last-writer-wins per field.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

CLOCK_PATTERN = r"^[0-9]{13}:[0-9]{4}:[A-Za-z0-9_-]{1,64}$"
_STORED = re.compile(r"^([0-9]{13}):([0-9]{4,}):([A-Za-z0-9_-]{1,64})$")

# A device clock further ahead of the server than this is wrong, not early: its
# wall time is capped here so that one device set to next year cannot win every
# field for a year. The counter and node still order its edits among themselves.
MAX_AHEAD_MS = 60_000

SERVER_NODE = "server"


@dataclass(frozen=True, slots=True, order=True)
class Clock:
    wall_ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.wall_ms:013d}:{self.counter:04d}:{self.node}"

    @classmethod
    def parse(cls, text: str) -> Clock:
        match = _STORED.match(text)
        if match is None:
            raise ValueError(f"not a clock: {text!r}")
        return cls(int(match[1]), int(match[2]), match[3])


def capped(clock: Clock, now_ms: int | None = None) -> Clock:
    """The clock, with a wall time no further than MAX_AHEAD_MS past the server's."""
    limit = (now_ms if now_ms is not None else time.time_ns() // 1_000_000) + MAX_AHEAD_MS
    if clock.wall_ms <= limit:
        return clock
    return Clock(limit, clock.counter, clock.node)


def wins(incoming: Clock, stored: str | None) -> bool:
    """Whether an edit stamped ``incoming`` overwrites a field stamped ``stored``.

    A field without a clock holds its default and loses to any edit. Equal clocks
    come from the same device, whose later mutation wins.
    """
    return stored is None or incoming >= Clock.parse(stored)
