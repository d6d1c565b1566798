"""The claim list's fast JSON Lines and money text equal what ``json.dumps`` and ``Decimal`` write."""

from __future__ import annotations

import json
from decimal import Decimal

from console.output import JsonLines
from ledger.money import CLAIM_LIST_FIELDS, cents_text


def test_a_json_line_is_json_dumps_of_the_dict() -> None:
    fields = (("claim_id", str), ("revision", int), ("note", str), ("count", int))
    rows = [
        ("HL-1", 1, 'quote " backslash \\ tab \t newline \n', 0),
        ("Ünïcödé-✓", 12, "\x00\x1f control", None),
        ("", -3, None, 10**12),
    ]
    writer = JsonLines(fields)
    for row in rows:
        expected = json.dumps(dict(zip((name for name, _ in fields), row, strict=True))) + "\n"
        assert writer.line(row) == expected
        assert json.loads(writer.line(row)) == dict(zip((name for name, _ in fields), row, strict=True))


def test_the_claim_list_fields_make_one_object_per_row() -> None:
    row = ("C1", 2, "paid", "7", "sco", "2026-01-02", "1.00", "0.50", "0.25", "0.00", "0.25", "0.00", None)
    parsed = json.loads(JsonLines(CLAIM_LIST_FIELDS).line(row))
    assert list(parsed) == [name for name, _ in CLAIM_LIST_FIELDS]
    assert parsed["revision"] == 2 and parsed["payer_claim_number"] is None


def test_cents_text_is_the_decimal_with_two_places() -> None:
    for cents in (0, 1, 9, 10, 99, 100, 101, 12345, -1, -99, -100, -12345, 10**13 + 7, -(10**13) - 7):
        assert cents_text(cents) == f"{Decimal(cents).scaleb(-2):.2f}"
