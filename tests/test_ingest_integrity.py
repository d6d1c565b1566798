"""Ingest never bills twice and never stores what one database refuses (reliability items 42-44).

On SQLite and PostgreSQL: after a void or a replacement, an export that still carries the original
is refused row by row; claim ids that differ only in case are refused (in one export and against
the ledger); a claim whose total overflows NUMERIC(12,2) is a row error and the other claims of
the chunk are stored; every free-length field is bounded by the parser to its column in
``ledger/models.py`` (the bounds are read from the models here, so they cannot drift apart).
"""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Numeric, func, select

from domain.claim import Claim as DomainClaim
from domain.claim import Frequency, Relationship
from ledger.corrections import create_correction
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import Claim, Party, ServiceLine
from ledger.types import Money
from parsers import cells
from parsers.columns import ALL_COLUMNS
from parsers.export import parse_export
from parsers.writer import claim_rows
from remits.inbound import post_files
from tests.claim_factory import SUPERVISOR, make_claim, make_line
from tests.conftest import FIXTURE_TODAY
from tests.remit_factory import ledger_with, pay, remit, write_835
from usecases.setup import ingest_export

D = Decimal


def no_findings(_claim: object) -> list[object]:
    return []


def write_export(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ALL_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def export_of(path: Path, claims: list[DomainClaim]) -> Path:
    return write_export(path, [row for claim in claims for row in claim_rows(claim)])


def revisions(ledger: Ledger, claim_id: str) -> list[tuple[int, str, str]]:
    with ledger.session() as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(Claim.revision, Claim.frequency, Claim.status).where(Claim.claim_id == claim_id)
            .order_by(Claim.revision))]


def paid_and_corrected(ledger_url: str, tmp_path: Path, frequency: Frequency) -> Ledger:
    claim = make_claim("HL-260904")
    ledger = ledger_with(ledger_url, [claim])
    report = post_files(ledger, [write_835(tmp_path, "a.835", [remit([pay(claim, payer_claim_number="PCN1")])])],
                        actor="t")
    assert report.files_posted == ["a.835"]
    with ledger.session() as session:
        create_correction(session, "HL-260904", frequency=frequency, today=FIXTURE_TODAY,
                          window_days=lambda _lob: 365, checker=no_findings, actor="clerk")
    return ledger


@pytest.mark.parametrize(("frequency", "verb"), [(Frequency.VOID, "voided"), (Frequency.REPLACEMENT, "replaced")])
def test_the_original_in_an_export_after_a_void_or_replacement_is_refused(
        db_url: str, tmp_path: Path, frequency: Frequency, verb: str) -> None:
    ledger = paid_and_corrected(db_url, tmp_path, frequency)
    before = revisions(ledger, "HL-260904")
    assert [(r, f) for r, f, _ in before] == [(0, "1"), (1, str(frequency))]
    export = export_of(tmp_path / "again.csv", [make_claim("HL-260904"), make_claim("HL-260905")])
    result = ingest_export(ledger, export, today=FIXTURE_TODAY, checker=no_findings, actor="nightly", workers=0)
    advice = ("a voided claim cannot be corrected: bill the service again as a new claim with a new claim id"
              if frequency == Frequency.VOID else "change it with `bhclaims correct HL-260904`")
    assert result["refused"] == [("HL-260904", f"HL-260904 was {verb} on {FIXTURE_TODAY.isoformat()}; {advice}")]
    assert result["added"] == ["HL-260905"] and result["refused_claims"] == ["HL-260904"]
    assert revisions(ledger, "HL-260904") == before  # no new original, the correction untouched
    ledger.dispose()


def test_a_replacement_row_after_a_void_is_refused_too(db_url: str, tmp_path: Path) -> None:
    ledger = paid_and_corrected(db_url, tmp_path, Frequency.VOID)
    replacement = make_claim("HL-260904", frequency=Frequency.REPLACEMENT, original_claim_number="PCN1")
    report = ingest_claims(ledger, [replacement], checker=no_findings, actor="t")
    assert [claim_id for claim_id, _ in report.refused] == ["HL-260904"] and "was voided on" in report.refused[0][1]
    assert [f for _, f, _ in revisions(ledger, "HL-260904")] == ["1", "8"]
    ledger.dispose()


def test_a_claim_id_differing_only_in_case_from_the_ledger_is_refused(ledger_url: str) -> None:
    ledger = Ledger(ledger_url)
    ingest_claims(ledger, [make_claim("hl-260904")], checker=no_findings, actor="t")
    report = ingest_claims(ledger, [make_claim("HL-260904", lines=(make_line("L2"),)), make_claim("HL-9")],
                           checker=no_findings, actor="t")
    assert report.refused == [("HL-260904", "claim id HL-260904 differs only in case from claim hl-260904 in the "
                               "ledger; payers upper-case claim ids, so the two could not be told apart")]
    assert report.added == ["HL-9"]
    # handed over together (not through the parser), the second is refused by the ledger all the same
    both = ingest_claims(ledger, [make_claim("ab-1"), make_claim("AB-1")], checker=no_findings, actor="t")
    assert both.added == ["ab-1"] and [c for c, _ in both.refused] == ["AB-1"]
    with ledger.session() as session:
        assert sorted(session.scalars(select(Claim.claim_id))) == ["HL-9", "ab-1", "hl-260904"]
    ledger.dispose()


@pytest.mark.parametrize("workers", [0, 3])  # 3: hl-7 and HL-7 fall in different thirds by exact id
def test_claim_ids_differing_only_in_case_in_one_export_refuse_the_later_one(ledger_url: str, tmp_path: Path,
                                                                              workers: int) -> None:
    claims = [make_claim(f"HL-{n}") for n in range(40)]
    claims.insert(5, make_claim("hl-7", lines=(make_line("L1"), make_line("L2"))))  # before HL-7
    export = export_of(tmp_path / "e.csv", claims)
    parsed = parse_export(export, today=FIXTURE_TODAY)
    assert [str(e) for e in parsed.errors] == [
        f"{export}:11: claim_id: claim id HL-7 differs only in case from claim hl-7 (line 7); payers upper-case "
        "claim ids, so the two could not be told apart (claim HL-7)"]
    ledger = Ledger(ledger_url)
    result = ingest_export(ledger, export, today=FIXTURE_TODAY, checker=no_findings, actor="t", workers=workers)
    assert result["errors"] == [str(e) for e in parsed.errors] and result["refused_claims"] == ["HL-7"]
    assert sorted(result["added"]) == sorted(c.claim_id for c in claims if c.claim_id != "HL-7")
    ledger.dispose()


def test_a_claim_total_over_what_the_ledger_keeps_is_a_row_error_and_the_chunk_is_kept(
        ledger_url: str, tmp_path: Path) -> None:
    big = D("9999999999.00")
    claims = [make_claim("OK-1"), make_claim("BIG-1", lines=(make_line("L1", charge=big), make_line("L2", charge=big))),
              make_claim("OK-2")]
    export = export_of(tmp_path / "e.csv", claims)
    ledger = Ledger(ledger_url)
    result = ingest_export(ledger, export, today=FIXTURE_TODAY, checker=no_findings, actor="t", workers=0)
    assert result["errors"] == [f"{export}:3: charge: the claim's lines add up to 19999999998.00, more than the "
                                "9999999999.99 a claim may bill (claim BIG-1)"]
    assert result["added"] == ["OK-1", "OK-2"]
    # claims handed to the ledger directly (not through the parser) meet the same bound there
    report = ingest_claims(ledger, [make_claim("OK-3"), claims[1]], checker=no_findings, actor="t")
    assert report.added == ["OK-3"] and report.refused == [
        ("BIG-1", "claim BIG-1: its lines total 19999999998.00, more than the 9,999,999,999.99 the ledger keeps "
                  "for a claim")]
    with ledger.session() as session:
        assert sorted(session.scalars(select(Claim.claim_id))) == ["OK-1", "OK-2", "OK-3"]
    ledger.dispose()


# --- the parser's bounds, read from the ledger's columns ----------------------------------------

# canonical column -> the column that stores it; (value maker) for the columns whose length is free
STORED_IN: dict[str, Any] = {
    "claim_id": Claim.__table__.c.claim_id,
    "original_claim_number": Claim.__table__.c.original_claim_number,
    "payer_id": Claim.__table__.c.payer_id,
    "payer_name": Claim.__table__.c.payer_name,
    "prior_auth": Claim.__table__.c.prior_auth,
    "subscriber_id": Party.__table__.c.member_id,
    "subscriber_last": Party.__table__.c.last_or_org,
    "subscriber_first": Party.__table__.c.first,
    "subscriber_address1": Party.__table__.c.address1,
    "subscriber_city": Party.__table__.c.city,
    "patient_last": Party.__table__.c.last_or_org,
    "patient_first": Party.__table__.c.first,
    "billing_name": Party.__table__.c.last_or_org,
    "billing_address1": Party.__table__.c.address1,
    "billing_city": Party.__table__.c.city,
    "rendering_last": Party.__table__.c.last_or_org,
    "rendering_first": Party.__table__.c.first,
    "supervising_last": Party.__table__.c.last_or_org,
    "supervising_first": Party.__table__.c.first,
    "line_id": ServiceLine.__table__.c.line_id,
    "units": ServiceLine.__table__.c.units,
}


def _filler(column: str, length: int) -> str:
    if column == "units":
        return "1" * length
    if column in ("claim_id", "original_claim_number", "line_id", "payer_id", "prior_auth"):
        return ("A1" * length)[:length]
    return ("Ab" * length)[:length]


def _row_for(column: str) -> dict[str, str]:
    """One row of a claim that uses ``column`` (patient and supervisor given, a 7 for the original number)."""
    claim = make_claim("B-1", relationship=Relationship.CHILD, supervising=SUPERVISOR, prior_auth="PA1")
    if column == "original_claim_number":
        claim = replace(claim, frequency=Frequency.REPLACEMENT, original_claim_number="PCN1")
    from tests.claim_factory import RENDERING_CLINICIAN

    return claim_rows(replace(claim, rendering=RENDERING_CLINICIAN))[0]


def _accepted(tmp_path: Path, column: str, value: str) -> bool:
    row = _row_for(column)
    row[column] = value
    parsed = parse_export(write_export(tmp_path / f"{column}.csv", [row]), today=FIXTURE_TODAY)
    return bool(parsed.claims) and not parsed.errors


def test_money_bounds_are_the_ledgers() -> None:
    from domain.remittance import MONEY_LIMIT
    from parsers.assemble import CLAIM_TOTAL_LIMIT

    impl = Money.impl
    assert isinstance(impl, Numeric) and impl.precision is not None and impl.scale is not None
    whole_digits = impl.precision - impl.scale
    assert cells.MAX_CHARGE_DIGITS == whole_digits
    assert CLAIM_TOTAL_LIMIT == MONEY_LIMIT == D(10) ** whole_digits


@pytest.mark.parametrize("column", sorted(STORED_IN))
def test_the_parser_refuses_what_its_column_cannot_hold(tmp_path: Path, column: str) -> None:
    limit = STORED_IN[column].type.length
    assert limit is not None
    assert not _accepted(tmp_path, column, _filler(column, limit + 1)), f"{column}: {limit + 1} characters accepted"


def test_the_longest_values_the_parser_accepts_are_stored_on_both_databases(ledger_url: str, tmp_path: Path) -> None:
    """Each free-length field at the longest the parser takes (found by asking it), the charges at the
    largest amount, and four two-digit pointers into twelve diagnoses: PostgreSQL stores it all."""
    claim = make_claim("B-1", relationship=Relationship.CHILD, supervising=SUPERVISOR, prior_auth="PA1",
                       diagnoses=tuple(f"F{n:02d}1" for n in range(30, 42)))
    from tests.claim_factory import RENDERING_CLINICIAN

    row = claim_rows(replace(claim, rendering=RENDERING_CLINICIAN))[0]
    for column in STORED_IN:
        if column == "original_claim_number":
            continue
        longest = max(n for n in range(1, STORED_IN[column].type.length + 1)
                      if n in (1, STORED_IN[column].type.length) or n % 5 == 0
                      if _accepted(tmp_path, column, _filler(column, n)))
        row[column] = _filler(column, longest)
    row.update(charge="9999999999.99", diagnosis_pointers="10,11,12,9")
    export = write_export(tmp_path / "longest.csv", [row])
    parsed = parse_export(export, today=FIXTURE_TODAY)
    assert not parsed.errors, [str(e) for e in parsed.errors]
    ledger = Ledger(ledger_url)
    result = ingest_export(ledger, export, today=FIXTURE_TODAY, checker=no_findings, actor="t", workers=0)
    assert len(result["added"]) == 1 and not result["errors"]
    with ledger.session() as session:
        line = session.scalars(select(ServiceLine)).one()
        assert (line.charge, line.diagnosis_pointers) == (D("9999999999.99"), "10,11,12,9")
        assert session.scalar(select(func.max(func.length(Party.last_or_org)))) == len(row["billing_name"])
    ledger.dispose()


def test_units_and_payer_ids_are_bounded_at_their_column_sizes(tmp_path: Path) -> None:
    """Units and payer ids are accepted up to what the ledger keeps, and refused one past it."""
    assert _accepted(tmp_path, "units", "1" * cells.MAX_UNITS_LENGTH)
    assert not _accepted(tmp_path, "units", "123456789012.125")
    assert _accepted(tmp_path, "payer_id", "A" * cells.MAX_PAYER_ID_LENGTH)
    assert not _accepted(tmp_path, "payer_id", "A" * 16)
    assert date(2025, 3, 3) < FIXTURE_TODAY
