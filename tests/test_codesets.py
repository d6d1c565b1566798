"""The shipped code tables: the DSM-5-TR crosswalk, the code-first notes and the ZIP-to-county rows."""

from __future__ import annotations

from validators.codesets import icd10cm_billable
from validators.codesets.diagnoses import (
    CodePattern,
    code_first_notes,
    dsm5tr_codes,
    dsm5tr_patterns,
    is_dsm_derived,
)
from validators.codesets.geography import MGB_SERVICE_COUNTIES, massachusetts_counties


def test_every_crosswalk_entry_is_in_the_shipped_icd10cm_release():
    billable = icd10cm_billable()
    for pattern in dsm5tr_patterns():
        assert any(pattern.matches(code) for code in billable), pattern
        if not pattern.prefix and not pattern.high:
            assert pattern.low in billable, pattern


def test_crosswalk_holds_chapter_f_and_the_named_non_f_codes():
    codes = dsm5tr_codes()
    assert {code for code in icd10cm_billable() if code.startswith("F")} <= codes
    for code in ("G47.33", "G47.411", "G25.81", "G21.11", "G24.01", "G25.71", "T43.205A", "L98.1", "G31.84"):
        assert is_dsm_derived(code), code
    for code in ("G47.01", "I10", "Z13.31", "Z63.0", "G25.89"):  # medical, screening, "other conditions"
        assert not is_dsm_derived(code), code


def test_code_patterns_read_codes_prefixes_and_ranges():
    assert CodePattern.parse("E00-E03").matches("E039") and not CodePattern.parse("E00-E03").matches("E040")
    assert CodePattern.parse("G30*").matches("G309") and CodePattern.parse("B20").matches("B20")
    assert CodePattern.parse("G31.09").matches("G3109") and not CodePattern.parse("G31.09").matches("G3101")


def test_code_first_notes_come_from_the_tabular_list():
    notes = code_first_notes()
    assert len(notes) == 52 and all(code.startswith("F") for code in notes)
    assert notes["F0280"].is_etiology("G309") and not notes["F0280"].is_etiology("F411")
    assert "F0150" not in notes  # F01: "Code first, if applicable" is not checked


def test_massachusetts_zip_to_county_rows():
    assert massachusetts_counties("01970") == {"Essex"}  # Salem
    assert massachusetts_counties("02169") == {"Norfolk"}  # Quincy
    assert massachusetts_counties("01608") == {"Worcester"}
    assert massachusetts_counties("02554") == {"Nantucket"}
    assert len(massachusetts_counties("01002")) == 2  # Amherst lies in two counties
    assert massachusetts_counties("03060") == frozenset()  # New Hampshire: not in the Massachusetts rows
    assert len(MGB_SERVICE_COUNTIES) == 8
