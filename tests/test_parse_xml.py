"""The XML form of the export: schema, hardening against XXE, equality with CSV."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from parsers.export import parse_export, sniff_format

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "exports"
TODAY = date(2026, 11, 1)
XXE_SECRET = (FIXTURES / "bad" / "xxe_secret.txt").read_text().strip()


def without_sources(claims):
    return [
        replace(c, source=None, lines=tuple(replace(line, source=None) for line in c.lines)) for c in claims
    ]


def test_xml_export_gives_the_same_claims_as_the_csv() -> None:
    from_xml = parse_export(FIXTURES / "good" / "canonical.xml", today=TODAY)
    from_csv = parse_export(FIXTURES / "good" / "canonical.csv", today=TODAY)
    assert from_xml.errors == () and from_csv.errors == ()
    assert without_sources(from_xml.claims) == without_sources(from_csv.claims)
    assert from_xml.rows_read == from_csv.rows_read


def test_truncated_xml_is_a_clear_error() -> None:
    result = parse_export(FIXTURES / "bad" / "truncated.xml", today=TODAY)
    assert result.claims == ()
    (error,) = result.errors
    assert "truncated" in error.reason and error.line is not None


def test_external_entity_is_never_resolved() -> None:
    result = parse_export(FIXTURES / "bad" / "xxe.xml", today=TODAY)
    assert result.claims == ()
    assert "DOCTYPE" in result.errors[0].reason
    assert XXE_SECRET not in repr(result)


def test_hardened_parser_leaves_entities_unexpanded_even_if_asked_to_parse() -> None:
    from lxml import etree

    from parsers.xml_export import hardened_parser

    root = etree.fromstring((FIXTURES / "bad" / "xxe.xml").read_bytes(), hardened_parser())
    assert XXE_SECRET not in etree.tostring(root, encoding="unicode")


def test_schema_error_names_the_line_and_refuses_the_file() -> None:
    result = parse_export(FIXTURES / "bad" / "schema_error.xml", today=TODAY)
    assert result.claims == ()
    (error,) = result.errors
    assert error.line == 10 and "subscriber_lastname" in error.reason and "pm-export.xsd" in error.reason


def test_bad_value_refuses_only_its_claim() -> None:
    result = parse_export(FIXTURES / "bad" / "bad_value.xml", today=TODAY)
    assert [c.claim_id for c in result.claims] == ["HL-260901", "HL-260905"]
    assert result.refused_claim_ids == ("HL-260904",)
    (error,) = result.errors
    assert error.column == "service_date" and "calendar date" in error.reason


def test_format_is_sniffed_from_content_not_extension(tmp_path: Path) -> None:
    xml_named_csv = tmp_path / "export.csv"
    shutil.copy(FIXTURES / "good" / "canonical.xml", xml_named_csv)
    csv_named_xml = tmp_path / "export.xml"
    shutil.copy(FIXTURES / "good" / "canonical.csv", csv_named_xml)
    assert sniff_format(xml_named_csv) == "xml" and sniff_format(csv_named_xml) == "csv"
    assert len(parse_export(xml_named_csv, today=TODAY).claims) == 7
    assert len(parse_export(csv_named_xml, today=TODAY).claims) == 7


def test_profiles_do_not_apply_to_xml() -> None:
    with pytest.raises(ValueError, match="CSV exports only"):
        parse_export(FIXTURES / "good" / "canonical.xml", today=TODAY, profile=Path("x.toml"))
