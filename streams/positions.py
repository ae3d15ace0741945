"""Stream positions: where a client is in the change log, as ``<epoch>:<event id>``.

The epoch changes when the log is recreated (a restored or new database), so
a position from another life of the log is recognised instead of silently
skipping events; the client gets a ``reset`` and a fresh snapshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_POSITION = re.compile(r"^([0-9a-f]{8}):([0-9]{1,19})$")


class InvalidPosition(ValueError):
    """Text that is not a position this server hands out."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    epoch: str
    event_id: int

    def __str__(self) -> str:
        return f"{self.epoch}:{self.event_id}"

    @classmethod
    def parse(cls, text: str) -> Position:
        match = _POSITION.match(text.strip())
        if match is None:
            raise InvalidPosition(text)
        event_id = int(match[2])
        if event_id >= 2**63:
            raise InvalidPosition(text)
        return cls(match[1], event_id)
