"""Search patterns shared by the staff listings."""

from __future__ import annotations


def like_prefix(text: str) -> str:
    """A LIKE pattern matching values that start with ``text`` in any case (compare it
    with ``lower(column)``); the user's own ``%``, ``_`` and ``\\`` match only themselves."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
