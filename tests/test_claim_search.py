"""``claims --patient --member --payer-claim-number --since --status --lob`` narrow the list in SQL,
on SQLite and PostgreSQL, and a search by person names the patient on the clerk's screen only.

A small ledger of people and claims is written; each search's expected claims are picked here
in plain Python over the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from cli import main_group
from ledger.db import Ledger
from ledger.models import Claim, Party


@dataclass(frozen=True)
class Person:
    last: str
    first: str
    member_id: str


ALVAREZ = Person("ALVAREZ", "MARIA", "M100")
OBRIEN = Person("O'BRIEN", "SEAN", "M200")
PERCENT = Person("50%OFF", "ANN", "M300")  # a name with an SQL wildcard in it
CHILD = Person("ALVAREZ-KIM", "LEO", "M101")


@dataclass(frozen=True)
class Row:
    claim_id: str
    status: str
    lob: str
    served: date
    entered: datetime
    subscriber: Person
    patient: Person | None
    payer_claim_number: str | None


ENTERED_OLD = datetime(2026, 9, 1, 12, tzinfo=UTC)
ENTERED_NEW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ROWS = (
    Row("S-1", "paid", "commercial", date(2026, 8, 10), ENTERED_OLD, ALVAREZ, None, "PCN-1"),
    Row("S-2", "denied", "medicaid", date(2026, 11, 2), ENTERED_NEW, ALVAREZ, CHILD, "PCN-2"),
    Row("S-3", "sent", "commercial", date(2026, 8, 20), ENTERED_NEW, OBRIEN, None, None),
    Row("S-4", "denied", "sco", date(2026, 10, 15), ENTERED_OLD, PERCENT, None, "PCN-4"),
    Row("S-5", "ready", "medicaid", date(2026, 7, 1), ENTERED_OLD, OBRIEN, None, None),
)


def _write_ledger(url: str) -> None:
    ledger = Ledger(url)
    try:
        with ledger.session() as session:
            def party(role: str, fingerprint: str, **fields: object) -> int:
                return int(session.execute(insert(Party).returning(Party.id),
                                           {"role": role, "fingerprint": fingerprint, **fields}).scalar_one())

            billing = party("provider", "b" * 64, npi="1234567893", entity_type="2", last_or_org="RIVERBEND")
            people: dict[tuple[str, Person], int] = {}
            for role, person in [("subscriber", p) for p in (ALVAREZ, OBRIEN, PERCENT)] + [("patient", CHILD)]:
                people[(role, person)] = party(role, f"{role}{person.member_id}".ljust(64, "x"), entity_type="1",
                                               last_or_org=person.last, first=person.first,
                                               member_id=person.member_id)
            for row in ROWS:
                session.execute(insert(Claim), {
                    "claim_id": row.claim_id, "revision": 1, "frequency": "1", "status": row.status,
                    "line_of_business": row.lob, "payer_id": "87726", "payer_name": "OPTUM",
                    "relationship_code": "18" if row.patient is None else "19", "rendering_license": "independent",
                    "diagnoses": "F331", "billed": Decimal("100.00"), "first_service_date": row.served,
                    "billing_id": billing, "subscriber_id": people[("subscriber", row.subscriber)],
                    "patient_id": people[("patient", row.patient)] if row.patient else None,
                    "payer_claim_number": row.payer_claim_number, "content_hash": "x" * 64,
                    "created_at": row.entered, "updated_at": row.entered})
    finally:
        ledger.dispose()


@pytest.fixture
def practice(ledger_url: str, tmp_path: Path) -> tuple[str, Path]:
    db_url = ledger_url
    _write_ledger(db_url)
    folder = tmp_path / "practice"
    made = CliRunner().invoke(main_group, ["--db", db_url, "init", str(folder)])
    assert made.exit_code == 0, made.output
    return db_url, folder / "bhclaims.toml"


def _claims(practice: tuple[str, Path], *args: str) -> list[dict[str, str]]:
    url, config = practice
    result = CliRunner().invoke(main_group, ["--config", str(config), "--db", url, "claims", "--json", *args])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, str]] = json.loads(result.output)
    return rows


def _names(person: Person | None) -> str:
    return "" if person is None else f"{person.first} {person.last} {person.last}, {person.first}".lower()


SEARCHES: list[tuple[list[str], Callable[[Row], bool]]] = [
    (["--patient", "alvarez"], lambda r: "alvarez" in _names(r.subscriber) + _names(r.patient)),
    (["--patient", "leo"], lambda r: "leo" in _names(r.subscriber) + _names(r.patient)),
    (["--patient", "Sean O'Brien"], lambda r: r.subscriber == OBRIEN),
    (["--patient", "50%"], lambda r: r.subscriber == PERCENT),
    (["--patient", "%"], lambda r: r.subscriber == PERCENT),  # a literal percent sign, not "anything"
    (["--member", "M101"], lambda r: r.patient == CHILD),
    (["--member", "M10"], lambda r: False),  # exact, not a prefix
    (["--payer-claim-number", "PCN-4"], lambda r: r.payer_claim_number == "PCN-4"),
    (["--since", "2026-10-01"], lambda r: r.served >= date(2026, 10, 1) or r.entered.date() >= date(2026, 10, 1)),
    (["--status", "denied", "--lob", "sco"], lambda r: r.status == "denied" and r.lob == "sco"),
    (["--lob", "medicaid", "--patient", "o'brien"], lambda r: r.lob == "medicaid" and r.subscriber == OBRIEN),
]


def test_each_search_finds_exactly_the_claims_that_match(practice: tuple[str, Path]) -> None:
    for args, wanted in SEARCHES:
        found = [r["claim_id"] for r in _claims(practice, *args)]
        assert found == [r.claim_id for r in ROWS if wanted(r)], args


def test_a_search_by_person_names_the_patient_and_others_do_not(practice: tuple[str, Path]) -> None:
    by_member = _claims(practice, "--member", "M100")
    assert [(r["claim_id"], r["patient"]) for r in by_member] == [
        ("S-1", "ALVAREZ, MARIA"), ("S-2", "ALVAREZ-KIM, LEO")]  # S-2's patient is the subscriber's child
    assert all("patient" not in r for r in _claims(practice, "--status", "denied"))


def test_patient_names_stay_out_of_the_json_log(practice: tuple[str, Path]) -> None:
    url, config = practice
    result = CliRunner().invoke(main_group, ["--config", str(config), "--db", url, "--log-format", "json", "-v",
                                             "claims", "--patient", "alvarez"])
    assert result.exit_code == 0, result.output
    log_lines = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert "ALVAREZ" in result.stdout
    assert not any("ALVAREZ" in line or "alvarez" in line for line in log_lines)
