"""Ticketing identifiers: check digits, locator alphabet, and the BCBP string."""

from __future__ import annotations

from datetime import date

import pytest

from domain.ticketing import (
    LOCATOR_ALPHABET,
    BcbpConditional,
    BoardingPass,
    check_digit,
    record_locator,
    ticket_number,
    valid_ticket_number,
)
from tests.bcbp import parse_bcbp


def test_ticket_number_is_accounting_code_and_ten_digit_document_number() -> None:
    number = ticket_number("901", 123456789)
    assert number == "9010123456789"
    assert check_digit(number) == 1  # 123456789 = 7 x 17636684 + 1
    assert valid_ticket_number(number)
    assert valid_ticket_number(number + "1")
    assert not valid_ticket_number(number + "5")


@pytest.mark.parametrize(
    "number", ["0277198099386", "02771980993862", "1251234567890", "2201234567890"]
)
def test_real_ticket_numbers_validate(number: str) -> None:
    """Alaska's 027 with document 7198099386 (check digit 2, printed separately), BA, LH."""
    assert valid_ticket_number(number)


@pytest.mark.parametrize("number", ["027719809938", "02771980993863", "02771980993a6", ""])
def test_malformed_ticket_numbers_do_not(number: str) -> None:
    assert not valid_ticket_number(number)


@pytest.mark.parametrize(("prefix", "serial"), [("90", 1), ("9a1", 1), ("901", 10**10)])
def test_ticket_number_rejects_bad_parts(prefix: str, serial: int) -> None:
    with pytest.raises(ValueError, match=r"prefix|serial"):
        ticket_number(prefix, serial)


def test_record_locators_avoid_look_alikes() -> None:
    locators = {record_locator() for _ in range(500)}
    assert len(locators) > 495
    for locator in locators:
        assert len(locator) == 6
        assert set(locator) <= set(LOCATOR_ALPHABET)
    assert not set("01ILO") & set(LOCATOR_ALPHABET)


def test_bcbp_matches_the_specifications_example() -> None:
    """The example of IATA's BCBP implementation guide, item for item."""
    boarding = BoardingPass(
        family_name="Desmarais", given_name="Luc", record_locator="ABC123", origin="YUL",
        destination="FRA", carrier="AC", flight_number=834, flight_date=date(2026, 11, 22),
        cabin="business", seat="1A", sequence=25,
    )  # fmt: skip
    assert boarding.bcbp() == "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100"


def test_bcbp_names_are_plain_ascii_and_cut_to_twenty() -> None:
    boarding = BoardingPass(
        family_name="Ñúñez-Bärenstein-Oyelaran", given_name="José", record_locator="XK7Q9P",
        origin="MAD", destination="JFK", carrier="SB", flight_number=7,
        flight_date=date(2027, 1, 1), cabin="economy", seat=None, sequence=1,
    )  # fmt: skip
    text = boarding.bcbp()
    assert len(text) == 60
    assert text[2:22] == "NUNEZ-BARENSTEIN-OYE"
    # Offsets per Resolution 792: date 44-46, compartment 47, seat 48-51.
    assert text[44:47] == "001"
    assert text[47] == "Y"
    assert text[48:52] == "    "  # no seat yet


def test_bcbp_names_spell_letters_without_an_ascii_base() -> None:
    boarding = BoardingPass(
        family_name="Łukasiewicz", given_name="Jan", record_locator="ABC123", origin="WAW",
        destination="LHR", carrier="LO", flight_number=281, flight_date=date(2026, 3, 1),
        cabin="economy", seat="12A", sequence=1,
    )  # fmt: skip
    assert boarding.bcbp()[2:22] == "LUKASIEWICZ/JAN     "


def test_bcbp_conditional_items_follow_the_mandatory_ones_with_their_sizes() -> None:
    """Version 6: the variable field size, the version, then the unique and the repeated
    structured parts, each led by its own size in hex, as the specification's example
    lays them out."""
    boarding = BoardingPass(
        family_name="Desmarais", given_name="Luc", record_locator="ABC123", origin="YUL",
        destination="FRA", carrier="AC", flight_number=834, flight_date=date(2026, 11, 22),
        cabin="business", seat="1A", sequence=25,
        conditional=BcbpConditional(
            passenger_description="1", issued_on=date(2026, 11, 21), issuer="AC",
            airline_numeric_code="014", document_number="1234567890", selectee=True,
            documents_required=True, marketing_carrier="AC", free_baggage="2PC",
        ),
    )  # fmt: skip
    text = boarding.bcbp()
    unique = "1WW6325BAC " + " " * 39
    repeated = "0141234567890" + "11" + "AC " + " " * 20 + "2PC "
    conditional = ">6" + "32" + unique + "2A" + repeated
    assert text == "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 1" + "62" + conditional
    assert (len(unique), len(repeated), len(conditional)) == (0x32, 0x2A, 0x62)
    assert parse_bcbp(text)["selectee"] == "1"
