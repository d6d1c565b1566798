"""The optional pay-to (2010AB) and service facility (2310C) columns of the PM export."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from domain.claim import Address
from edi.x837p import ControlNumbers, build_837p
from parsers.columns import ALL_COLUMNS, FACILITY_COLUMNS, PAY_TO_COLUMNS
from parsers.export import parse_export
from parsers.writer import claim_rows, csv_export_text, xml_export_bytes
from tests.claim_factory import (
    PAY_TO_LOCKBOX,
    SCHOOL_CLINIC,
    make_claim,
    make_line,
    without_sources,
)
from tests.regen_golden import RECEIVER, SETTINGS, SUBMITTER
from validators.x12_syntax import validate_x12

TODAY = date(2026, 11, 1)
NEW_COLUMNS = (*PAY_TO_COLUMNS, *FACILITY_COLUMNS)
ELSEWHERE = make_claim(
    "FAC1",
    pay_to=PAY_TO_LOCKBOX,
    service_facility=SCHOOL_CLINIC,
    lines=(make_line("L1"), make_line("L2", procedure_code="90785", place_of_service="03")),
)


def write_csv(tmp_path: Path, rows: list[dict[str, str]], columns=ALL_COLUMNS, name="export.csv") -> Path:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


def parse(path: Path):
    return parse_export(path, today=TODAY)


def test_pay_to_and_facility_columns_read_into_the_claim(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(csv_export_text([ELSEWHERE, make_claim("PLAIN1")]), encoding="utf-8", newline="")
    result = parse(path)
    assert result.errors == ()
    assert [without_sources(claim) for claim in result.claims] == [ELSEWHERE, make_claim("PLAIN1")]


def test_xml_export_carries_the_same_columns(tmp_path):
    path = tmp_path / "export.xml"
    path.write_bytes(xml_export_bytes([ELSEWHERE]))
    result = parse(path)
    assert result.errors == ()
    assert [without_sources(claim) for claim in result.claims] == [ELSEWHERE]


def test_an_export_without_the_new_columns_parses_as_before(tmp_path):
    old_columns = tuple(column for column in ALL_COLUMNS if column not in NEW_COLUMNS)
    claims = [make_claim("OLD1"), make_claim("OLD2", lines=(make_line("L1"), make_line("L2")))]
    rows = [row for claim in claims for row in claim_rows(claim)]
    result = parse(write_csv(tmp_path, rows, old_columns))
    assert result.errors == ()
    assert [without_sources(claim) for claim in result.claims] == claims
    assert all(claim.pay_to is None and claim.service_facility is None for claim in result.claims)


def test_facility_npi_is_optional(tmp_path):
    claim = replace(ELSEWHERE, service_facility=replace(SCHOOL_CLINIC, npi=None))
    path = tmp_path / "export.csv"
    path.write_text(csv_export_text([claim]), encoding="utf-8", newline="")
    assert [without_sources(c) for c in parse(path).claims] == [claim]


def test_dashed_zips_are_read_as_digits(tmp_path):
    rows = claim_rows(ELSEWHERE)
    for row in rows:
        row.update(pay_to_zip="01615-4410", facility_zip="02139-1234")
    result = parse(write_csv(tmp_path, rows))
    assert result.errors == ()
    assert result.claims[0].pay_to == PAY_TO_LOCKBOX
    assert result.claims[0].service_facility == SCHOOL_CLINIC


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"pay_to_city": ""}, "pay_to_city", "required value is missing"),
        ({"pay_to_zip": "1615"}, "pay_to_zip", "dropped a leading zero"),
        ({"pay_to_state": "Mass"}, "pay_to_state", "two capital letters"),
        ({"facility_name": ""}, "facility_name", "required value is missing"),
        ({"facility_address1": ""}, "facility_address1", "required value is missing"),
        ({"facility_zip": "02139"}, "facility_zip", "service facility's ZIP must be ZIP+4"),
        ({"facility_npi": "165432109"}, "facility_npi", "dropped a leading zero"),
        ({"facility_npi": "16543210X4"}, "facility_npi", "an NPI is 10 digits"),
        ({"facility_name": "SCHOOL*CLINIC"}, "facility_name", "'*'"),
        ({"facility_address1": "=A1"}, "facility_address1", "starts with '='"),
        ({"facility_name": "X" * 61}, "facility_name", "longer than 60"),
    ],
)
def test_bad_pay_to_or_facility_cell_refuses_the_claim(tmp_path, changes, column, reason):
    rows = claim_rows(ELSEWHERE) + claim_rows(make_claim("GOOD1"))
    for row in rows[:2]:
        row.update(changes)
    result = parse(write_csv(tmp_path, rows))
    assert [claim.claim_id for claim in result.claims] == ["GOOD1"]
    assert result.refused_claim_ids == ("FAC1",)
    assert [(error.line, error.column) for error in result.errors] == [
        (2, column)
    ]  # once, at the claim's first row
    assert all(reason in error.reason for error in result.errors)


def test_facility_columns_must_agree_across_the_rows_of_a_claim(tmp_path):
    rows = claim_rows(ELSEWHERE)
    rows[1]["facility_address1"] = "46 SCHOOL ST"
    result = parse(write_csv(tmp_path, rows))
    assert result.claims == ()
    assert [(e.line, e.column) for e in result.errors] == [(3, "facility_address1")]
    assert "claim-level columns must agree" in result.errors[0].reason


def test_a_facility_only_on_a_later_row_is_a_disagreement(tmp_path):
    rows = claim_rows(make_claim("FAC2", lines=(make_line("L1"), make_line("L2"))))
    rows[1].update(claim_rows(ELSEWHERE)[0], line_id="L2", claim_id="FAC2")
    result = parse(write_csv(tmp_path, rows))
    assert result.claims == ()
    assert {e.column for e in result.errors} == set(NEW_COLUMNS)


def test_parsed_facility_builds_a_pyx12_clean_837p(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(csv_export_text([ELSEWHERE]), encoding="utf-8", newline="")
    claims = parse(path).claims
    text = build_837p(
        list(claims),
        submitter=SUBMITTER,
        receiver=RECEIVER,
        control=ControlNumbers(interchange=5, group=5),
        settings=SETTINGS,
    )
    assert "NM1*87*2~" in text and "NM1*77*2*RIVERBEND SCHOOL CLINIC" in text
    assert validate_x12(text) == []


def test_pay_to_at_the_billing_address_is_kept_but_not_written(tmp_path):
    claim = make_claim("SAME1", pay_to=Address("100 MAIN ST STE 200", "BOSTON", "MA", "021081234"))
    path = tmp_path / "export.csv"
    path.write_text(csv_export_text([claim]), encoding="utf-8", newline="")
    parsed = parse(path).claims
    assert parsed[0].pay_to == claim.pay_to
    text = build_837p(
        list(parsed),
        submitter=SUBMITTER,
        receiver=RECEIVER,
        control=ControlNumbers(interchange=6, group=6),
        settings=SETTINGS,
    )
    assert "NM1*87" not in text
