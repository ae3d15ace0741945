"""A reader of one-leg IATA BCBP strings, item by item, driven by the field sizes the
string carries (as a gate reader is), to check what Skybound writes."""

from __future__ import annotations

_MANDATORY = (
    ("format_code", 1), ("legs", 1), ("name", 20), ("electronic_ticket", 1),
    ("pnr", 7), ("origin", 3), ("destination", 3), ("carrier", 3), ("flight_number", 5),
    ("julian_date", 3), ("compartment", 1), ("seat", 4), ("sequence", 5),
    ("passenger_status", 1), ("conditional_size", 2),
)  # fmt: skip
_UNIQUE = (
    ("passenger_description", 1), ("check_in_source", 1), ("issuance_source", 1),
    ("issue_date", 4), ("document_type", 1), ("issuer", 3), ("bag_tags", 13),
    ("bag_tags_2", 13), ("bag_tags_3", 13),
)  # fmt: skip
_REPEATED = (
    ("airline_numeric_code", 3), ("document_number", 10), ("selectee", 1),
    ("documentation_verification", 1), ("marketing_carrier", 3), ("ff_airline", 3),
    ("ff_number", 16), ("id_ad", 1), ("free_baggage", 3), ("fast_track", 1),
)  # fmt: skip


def _take(text: str, at: int, items: tuple[tuple[str, int], ...]) -> tuple[dict[str, str], int]:
    found = {}
    for name, size in items:
        found[name] = text[at : at + size]
        at += size
    return found, at


def parse_bcbp(text: str) -> dict[str, str]:
    """Every item by name; raises AssertionError when a size disagrees with the content."""
    fields, at = _take(text, 0, _MANDATORY)
    conditional = int(fields["conditional_size"], 16)
    assert len(text) == at + conditional, (len(text), at, conditional)
    if conditional == 0:
        return fields
    assert text[at] == ">", text[at:]
    fields["version"] = text[at + 1]
    unique_size = int(text[at + 2 : at + 4], 16)
    unique, end = _take(text, at + 4, _UNIQUE)
    assert end - (at + 4) == unique_size
    fields |= unique
    repeated_size = int(text[end : end + 2], 16)
    repeated, last = _take(text, end + 2, _REPEATED)
    assert last - (end + 2) == repeated_size
    fields |= repeated
    fields["airline_use"] = text[last:]
    return fields
