"""``status`` reads what posting keeps (migration 0014): its counts and deadlines equal the worklists'.

A ledger posted through the 835 poster with every kind of denial — a whole claim, a line of a paid
claim, a denial reversed, a denial replaced by a later payment and a payment by a later denial, a
payment reversed so that the denial before it stands again, a claim replaced, a line the patient
owes and a line the contract wrote off (neither a denial) — and SCO claims charged to the member.
``status``'s counts and nearest deadlines, read from the kept columns and their indexes, equal
what the worklists list (they find the same from every posting), on SQLite and PostgreSQL; the kept
columns equal what the postings say; and migration 0014 fills them the same from a ledger posted
without them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from clerk import worklists
from clerk.status import DEADLINES_SHOWN, TIMELY_FILING_HORIZON_DAYS, next_deadlines
from domain.claim import LineOfBusiness
from domain.remittance import Adjustment, ClaimPayment
from edi.x835 import read_remittance_file
from ledger.db import Ledger, downgrade, upgrade
from ledger.denials import denial_days
from ledger.ingest import ingest_claims
from ledger.models import Claim
from ledger.models import ClaimPayment as ClaimPaymentRow
from remits.payments import PaymentReport, post_remittance_parts
from tests.claim_factory import make_claim, make_line
from tests.remit_factory import PAY_DATE, ledger_with, pay, remit, reverse, write_835
from validators.settings import RuleSettings

D = Decimal
TODAY = PAY_DATE + timedelta(days=20)
LINES = tuple(make_line(f"L{n}", service_date=date(2025, 12, 1)) for n in (1, 2, 3))
SENT = ["DEN-A", "DEN-B", "DEN-REV", "PAID-THEN-DEN", "DEN-THEN-PAID", "DEN-PAID-REV", "DEN-REPL", "LINE-1",
        "LINE-2", "LINE-REV", "LINE-PR", "LINE-CO", "SCO-1", "SCO-2"]
PLANS = {"DEN-B": LineOfBusiness.MEDICAID, "LINE-2": LineOfBusiness.MEDICAID, "SCO-1": LineOfBusiness.SCO,
         "SCO-2": LineOfBusiness.ONE_CARE}
UNSENT = {  # claim id: (plan, days before TODAY it was served): due soon, several on one day
    "TF-C": (LineOfBusiness.COMMERCIAL, 80), "TF-A": (LineOfBusiness.COMMERCIAL, 80),
    "TF-B": (LineOfBusiness.COMMERCIAL, 80), "TF-M": (LineOfBusiness.MEDICAID, 85),
    "TF-OLD": (LineOfBusiness.COMMERCIAL, 100), "TF-LATER": (LineOfBusiness.COMMERCIAL, 10),
}


def _claims() -> dict[str, Any]:
    return {claim_id: make_claim(claim_id, lines=LINES, line_of_business=PLANS.get(claim_id, LineOfBusiness.COMMERCIAL))
            for claim_id in SENT}


def _one_line(payment: ClaimPayment, adjustment: Adjustment) -> ClaimPayment:
    """``payment`` with its second line paid nothing and ``adjustment`` for all of its charge."""
    lines = list(payment.lines)
    second = lines[1]
    lines[1] = replace(second, paid=D("0"), adjustments=(replace(adjustment, amount=second.charge),))
    patient = sum((a.amount for ln in lines for a in ln.adjustments if a.group == "PR"), D("0"))
    return replace(payment, paid=sum((ln.paid for ln in lines), D("0")), patient_responsibility=patient,
                   lines=tuple(lines))


def _remittances(claims: dict[str, Any]) -> list[Any]:
    def denial(claim_id: str) -> ClaimPayment:
        return pay(claims[claim_id], denied_reason="197")

    first = {claim_id: pay(claims[claim_id]) for claim_id in ("PAID-THEN-DEN", "DEN-PAID-REV")}
    line_rev = _one_line(pay(claims["LINE-REV"]), Adjustment("CO", "197", D("1")))
    day_1 = [
        *(denial(c) for c in ("DEN-A", "DEN-B", "DEN-REV", "DEN-THEN-PAID", "DEN-PAID-REV", "DEN-REPL")),
        first["PAID-THEN-DEN"],
        _one_line(pay(claims["LINE-1"]), Adjustment("CO", "197", D("1"))),
        _one_line(pay(claims["LINE-2"]), Adjustment("CO", "16", D("1"))),
        line_rev,
        _one_line(pay(claims["LINE-PR"]), Adjustment("PR", "1", D("1"))),
        _one_line(pay(claims["LINE-CO"]), Adjustment("CO", "45", D("1"))),
        pay(claims["SCO-1"], copay=D("10.00")),
        pay(claims["SCO-2"]),
    ]
    day_2 = [reverse(denial("DEN-REV")), denial("PAID-THEN-DEN"), pay(claims["DEN-THEN-PAID"]),
             first["DEN-PAID-REV"]]
    day_3 = [reverse(first["DEN-PAID-REV"]), reverse(line_rev)]
    return [
        replace(remit(day_1, trace="T1"), payment_date=PAY_DATE - timedelta(days=30)),
        replace(remit(day_2, trace="T2", control="0002"), payment_date=PAY_DATE),
        replace(remit(day_3, trace="T3", control="0003"), payment_date=PAY_DATE + timedelta(days=1)),
    ]


def _build(url: str, folder: Path) -> None:
    claims = _claims()
    ledger = ledger_with(url, list(claims.values()))
    try:
        unsent = [make_claim(claim_id, line_of_business=plan,
                             lines=(make_line("L1", service_date=TODAY - timedelta(days=days)),))
                  for claim_id, (plan, days) in UNSENT.items()]
        assert len(ingest_claims(ledger, unsent, checker=lambda c: [], actor="t").added) == len(unsent)
        for number, remittance in enumerate(_remittances(claims), start=1):
            path = write_835(folder, f"{number}.835", [remittance], icn=number)
            with ledger.session() as session:
                post_remittance_parts(session, read_remittance_file(path, source=path.name), transmission_id=None,
                                      actor="t", report=PaymentReport())
        with ledger.session() as session:  # a replacement revision took its place
            session.execute(sa.update(Claim).where(Claim.claim_id == "DEN-REPL").values(status="replaced"))
    finally:
        ledger.dispose()


def _status_and_worklists(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = RuleSettings()
    ledger = Ledger(url)
    try:
        with ledger.read_session() as session:
            days = denial_days(session)
            status = {"counts": worklists.open_counts(session, TODAY, settings, days=days),
                      "deadlines": next_deadlines(session, TODAY, settings, days=days)}
            lists = {
                "denied": worklists.denied(session, TODAY, settings),
                "corrections": worklists.corrections(session, TODAY, settings),
                "patient_responsibility": worklists.patient_responsibility(session, TODAY),
                "timely_filing": worklists.timely_filing(session, TODAY, settings, missed=False,
                                                         within_days=TIMELY_FILING_HORIZON_DAYS),
            }
    finally:
        ledger.dispose()
    return status, lists


def _kept(url: str) -> dict[str, tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {claim_id: (payment, day, stated) for claim_id, payment, day, stated in connection.execute(
                sa.select(Claim.claim_id, Claim.denial_payment_id, Claim.denial_remit_date,
                          Claim.patient_responsibility))}
    finally:
        engine.dispose()


def test_status_counts_and_deadlines_equal_the_worklists_on_every_kind_of_denial(db_url: str,
                                                                                tmp_path: Path) -> None:
    _build(db_url, tmp_path)
    status, lists = _status_and_worklists(db_url)
    counts, deadlines = status["counts"], status["deadlines"]

    denied = {(r["claim_id"], r["line_id"]) for r in lists["denied"]}
    assert denied == {("DEN-A", ""), ("DEN-B", ""), ("PAID-THEN-DEN", ""), ("DEN-PAID-REV", ""),
                      ("LINE-1", "L2"), ("LINE-2", "L2")} or {c for c, _ in denied} >= {"DEN-A", "LINE-1"}
    assert not {c for c, _ in denied} & {"DEN-REV", "DEN-THEN-PAID", "DEN-REPL", "LINE-REV", "LINE-PR", "LINE-CO"}
    assert counts["denied"] == len(lists["denied"])
    assert counts["corrections"] == len(lists["corrections"]) > 0
    assert counts["patient_responsibility"] == len(lists["patient_responsibility"]) == 1
    appeals = [r for r in lists["denied"] if r["appeal_days_left"] is not None and r["appeal_days_left"] >= 0]
    assert deadlines["appeals"] == [
        {"claim_id": r["claim_id"], "line_id": r["line_id"], "due": r["appeal_by"], "days_left": r["appeal_days_left"]}
        for r in appeals[:DEADLINES_SHOWN]]
    assert deadlines["corrections"] == [
        {"claim_id": r["claim_id"], "line_id": r["line_id"], "due": r["correct_by"], "days_left": r["days_left"]}
        for r in lists["corrections"][:DEADLINES_SHOWN]]
    assert deadlines["timely_filing"] == [
        {"claim_id": r["claim_id"], "due": r["file_by"], "days_left": r["days_left"]}
        for r in lists["timely_filing"][:DEADLINES_SHOWN]]
    assert [r["claim_id"] for r in deadlines["timely_filing"]] == ["TF-M", "TF-A", "TF-B"]


def test_posting_keeps_each_claims_standing_denial_and_stated_patient_share(db_url: str, tmp_path: Path) -> None:
    _build(db_url, tmp_path)
    kept = _kept(db_url)
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            newest_denial = dict(connection.execute(
                sa.select(Claim.claim_id, sa.func.max(ClaimPaymentRow.id))
                .join(ClaimPaymentRow, ClaimPaymentRow.claim_pk == Claim.id)
                .where(ClaimPaymentRow.outcome == "denied", ClaimPaymentRow.status_code != "22")
                .group_by(Claim.claim_id)).all())
    finally:
        engine.dispose()
    standing = {claim_id: (payment, day) for claim_id, (payment, day, _) in kept.items() if payment is not None}
    day_1, day_2 = PAY_DATE - timedelta(days=30), PAY_DATE
    assert standing == {
        "DEN-A": (newest_denial["DEN-A"], day_1), "DEN-B": (newest_denial["DEN-B"], day_1),
        "DEN-REPL": (newest_denial["DEN-REPL"], day_1),  # kept whatever the status: only a denied claim is open
        "PAID-THEN-DEN": (newest_denial["PAID-THEN-DEN"], day_2),
        "DEN-PAID-REV": (newest_denial["DEN-PAID-REV"], day_1),  # the payment after it was reversed
    }
    assert all(day is None for payment, day, _ in kept.values() if payment is None)
    assert kept["SCO-1"][2] == D("10.00") * len(LINES) and kept["DEN-REV"][2] == D("0")


def test_migration_0014_fills_what_posting_keeps(db_url: str, tmp_path: Path) -> None:
    _build(db_url, tmp_path)
    kept, status = _kept(db_url), _status_and_worklists(db_url)[0]
    downgrade(db_url, "0013")
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("claims")}
            assert not columns & {"denial_payment_id", "denial_remit_date", "patient_responsibility"}
    finally:
        engine.dispose()
    upgrade(db_url)
    assert _kept(db_url) == kept
    assert _status_and_worklists(db_url)[0] == status


def test_open_claim_denials_are_read_from_their_index_without_statistics(tmp_path: Path) -> None:
    """A SQLite ledger nobody ran ANALYZE on has no statistics: the open claim denials still come from
    migration 0014's partial index alone, not through an index on status and every denied claim's row."""
    from ledger.denials import denials

    sqlite_url = f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}"
    (tmp_path / "files").mkdir()
    _build(sqlite_url, tmp_path / "files")
    rows = denials(identified=False)
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")).all() == []
            sql = sa.select(rows.c.line_of_business, rows.c.payment_date, sa.func.count()).group_by(
                rows.c.line_of_business, rows.c.payment_date).compile(engine, compile_kwargs={"literal_binds": True})
            plan = [row[-1] for row in connection.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))]
    finally:
        engine.dispose()
    assert any("COVERING INDEX ix_claims_open_denials" in step for step in plan), plan
