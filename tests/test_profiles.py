"""Mapping profiles: PM-specific layouts read as the canonical export."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from parsers.export import parse_export
from parsers.profiles import ProfileError, date_pattern, load_profile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOOD = FIXTURES / "exports" / "good"
PROFILES = FIXTURES / "profiles"
TODAY = date(2026, 11, 1)
SIMPLEPRACTICE = PROFILES / "simplepractice_style.toml"


def without_sources(claims):
    return [
        replace(c, source=None, lines=tuple(replace(line, source=None) for line in c.lines)) for c in claims
    ]


@pytest.mark.parametrize(
    ("export", "profile"),
    [
        ("simplepractice_style.csv", "simplepractice_style.toml"),
        ("therapynotes_style.tsv", "therapynotes_style.toml"),
    ],
)
def test_profile_export_parses_to_the_canonical_claims(export: str, profile: str) -> None:
    mapped = parse_export(GOOD / export, today=TODAY, profile=PROFILES / profile)
    canonical = parse_export(GOOD / "canonical.csv", today=TODAY)
    assert mapped.errors == ()
    assert without_sources(mapped.claims) == without_sources(canonical.claims)
    assert {c.frequency.value for c in mapped.claims} == {"1", "7"}


def _rewrite(tmp_path: Path, old: str, new: str) -> Path:
    text = (GOOD / "simplepractice_style.csv").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "export.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8", newline="")
    return path


def test_errors_name_the_exports_own_column(tmp_path: Path) -> None:
    path = _rewrite(tmp_path, "09/01/2026", "2026-09-01")
    result = parse_export(path, today=TODAY, profile=SIMPLEPRACTICE)
    (error,) = result.errors
    assert error.column == "Date of Service" and error.reason == "not a date in MM/DD/YYYY form"
    assert result.refused_claim_ids == ("HL-260901",)


def test_impossible_date_after_conversion_is_refused(tmp_path: Path) -> None:
    path = _rewrite(tmp_path, "09/01/2026", "02/30/2026")
    (error,) = parse_export(path, today=TODAY, profile=SIMPLEPRACTICE).errors
    assert error.column == "Date of Service" and "calendar date" in error.reason


def test_name_without_comma_is_refused_not_guessed(tmp_path: Path) -> None:
    path = _rewrite(tmp_path, '"Delacroix, Nadia"', "Nadia Delacroix")
    errors = parse_export(path, today=TODAY, profile=SIMPLEPRACTICE).errors
    assert {e.column for e in errors} == {"Clinician Name"}
    assert "Nadia" not in " ".join(str(e) for e in errors)


def test_unmapped_code_value_is_a_vocabulary_error(tmp_path: Path) -> None:
    path = _rewrite(tmp_path, ",Commercial,", ",Self-pay,")
    (error,) = parse_export(path, today=TODAY, profile=SIMPLEPRACTICE).errors
    assert error.column == "Plan Type" and "value is not one of commercial" in error.reason
    assert "Self-pay" not in str(error)  # a cell is never quoted: under a wrong mapping it could be PHI


def test_unknown_export_column_is_named(tmp_path: Path) -> None:
    path = _rewrite(tmp_path, "Client Notes", "Copay Collected")
    (error,) = parse_export(path, today=TODAY, profile=SIMPLEPRACTICE).errors
    assert error.line == 1 and error.column == "Copay Collected" and "unknown column" in error.reason


def test_profile_targets_must_be_canonical(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[columns]\n"Client" = "client_name"\n')
    with pytest.raises(ProfileError, match="client_name"):
        load_profile(path)


def test_date_pattern_tokens() -> None:
    assert date_pattern("M/D/YYYY").fullmatch("9/1/2026").group("y", "m", "d") == ("2026", "9", "1")
    assert date_pattern("YYYYMMDD").fullmatch("20260901") is not None
    with pytest.raises(ProfileError):
        date_pattern("MM/YYYY")
