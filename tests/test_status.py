"""`bhclaims status`: claims and money by status, the last nightly run, the next deadlines, the
work waiting for a human — on SQLite and PostgreSQL, against figures computed here."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert, select

from cli import main_group
from ledger.db import Ledger
from ledger.models import Adjustment, Claim, ClaimPayment, Party, Remittance, ServicePayment
from tests.test_ledger_reads_sql import TODAY, ZERO, PlainClaim, build_ledger, expected_totals

HELD_SERVED = TODAY - timedelta(days=80)  # commercial, 90 days to file: due in 10 days


def _add_held_claim(url: str) -> PlainClaim:
    held = PlainClaim("HELD-1", 1, "held", "commercial", Decimal("140.00"), HELD_SERVED)
    ledger = Ledger(url)
    now = datetime.now(UTC)
    try:
        with ledger.session() as session:
            billing = session.scalar(select(Party.id))
            session.execute(insert(Claim), {
                "claim_id": held.claim_id, "revision": 1, "frequency": "1", "status": "held",
                "line_of_business": "commercial", "payer_id": "87726", "payer_name": "OPTUM",
                "relationship_code": "18", "rendering_license": "independent", "diagnoses": "F331",
                "billed": held.billed, "first_service_date": held.served, "billing_id": billing,
                "subscriber_id": billing, "content_hash": "x" * 64, "created_at": now, "updated_at": now})
    finally:
        ledger.dispose()
    return held


def _nightly_report(folder: Path, stamp: str, run_id: str, exit_code: int, body: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = body if body is not None else json.dumps({
        "run_id": run_id, "dry_run": False, "started": f"{stamp}+00:00", "finished": f"{stamp}+00:00",
        "exit_code": exit_code, "attention": ["HL-1 held: SNIP4"] * exit_code, "steps": []})
    (folder / f"nightly-{stamp.replace('-', '').replace(':', '')}Z-{run_id}.json").write_text(text)


def _status(url: str, folder: Path, *extra: str) -> str:
    result = CliRunner().invoke(main_group, ["--config", str(folder / "bhclaims.toml"), "--db", url, "status",
                                             *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_status_adds_up_to_the_ledger(ledger_url: str, tmp_path: Path) -> None:
    plain = build_ledger(ledger_url)
    claims = [*plain.claims, _add_held_claim(ledger_url)]
    folder = tmp_path / "practice"
    made = CliRunner().invoke(main_group, ["--db", ledger_url, "init", str(folder)])
    assert made.exit_code == 0, made.output
    _nightly_report(folder / "reports", "2026-11-21T02:00:00", "older0000001", 0)
    _nightly_report(folder / "reports", "2026-11-22T02:00:00", "newest000002", 1)
    _nightly_report(folder / "reports", "2026-11-23T02:00:00", "cutshort0003", 0, body='{"run_id": "cut')

    status = json.loads(_status(ledger_url, folder, "--json"))

    counts: dict[str, int] = defaultdict(int)
    for claim in claims:
        counts[claim.status] += 1
    assert {s["status"]: s["claims"] for s in status["by_status"]} == counts
    assert status["claims"] == len(claims)
    current = [c for c in claims if c.status not in ("replaced", "voided")]
    totals = [expected_totals(c) for c in claims]
    assert status["money"] == {
        "billed": f"{sum((c.billed for c in current), ZERO):.2f}",
        "paid": f"{sum((t['paid'] for t in totals), ZERO):.2f}",
        "open_ar": f"{sum((t['balance'] for t in totals), ZERO):.2f}",
        "denied": f"{sum((expected_totals(c)['denied'] for c in current), ZERO):.2f}",
    }
    run = status["last_nightly"]
    assert (run["run_id"], run["exit_code"], run["needed_a_human"]) == ("newest000002", 1, 1)  # cut one skipped
    deadlines = status["next_deadlines"]
    assert deadlines["timely_filing"] == [{"claim_id": "HELD-1", "due": (HELD_SERVED + timedelta(days=90)).isoformat(),
                                           "days_left": 10}]
    appeal = next(row for row in deadlines["appeals"] if row["claim_id"] == "DENY-1")
    assert appeal["due"] == (TODAY + timedelta(days=20)).isoformat() and appeal["days_left"] == 20  # medicaid: 60 days
    waiting = status["needs_a_human"]
    assert (waiting["held"], waiting["unmatched"], waiting["quarantined"]) == (1, 1, 0)
    assert waiting["denied"] >= 1

    text = _status(ledger_url, folder)
    assert "run newest000002" in text and "(exit 1)" in text
    assert f"open A/R {status['money']['open_ar']}" in text
    assert "file     HELD-1 by" in text


def test_status_of_an_empty_ledger_says_so(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "practice"
    made = CliRunner().invoke(main_group, ["--db", db_url, "init", str(folder)])
    assert made.exit_code == 0, made.output
    status = json.loads(_status(db_url, folder, "--json"))
    assert (status["claims"], status["by_status"], status["last_nightly"]) == (0, [], None)
    assert status["money"] == {"billed": "0.00", "paid": "0.00", "open_ar": "0.00", "denied": "0.00"}
    text = _status(db_url, folder)
    assert "Last nightly run: none recorded" in text and "Needs a human: nothing" in text


def test_worklist_counts_equal_the_worklists(ledger_url: str) -> None:
    from clerk import worklists
    from validators.settings import RuleSettings

    build_ledger(ledger_url)
    _add_held_claim(ledger_url)
    settings = RuleSettings()
    ledger = Ledger(ledger_url)
    try:
        with ledger.read_session() as session:
            counts = worklists.open_counts(session, TODAY, settings)
            lists = {
                "rejected": worklists.rejected(session, TODAY),
                "timely_filing": worklists.timely_filing(session, TODAY, settings),
                "corrections": worklists.corrections(session, TODAY, settings),
                "unmatched": [r for r in worklists.unmatched(session, TODAY) if r["kind"] == "claim"],
                "patient_responsibility": worklists.patient_responsibility(session, TODAY),
            }
    finally:
        ledger.dispose()
    assert {name: counts[name] for name in lists} == {name: len(rows) for name, rows in lists.items()}
    charged = lists["patient_responsibility"]
    assert [(r["claim_id"], r["revision"], r["patient_responsibility"], r["adjustments"]) for r in charged] == [
        ("CORR-1", 2, "10.00", "PR-3 10.00")]  # an SCO member charged: listed once, with its CAS
    assert [r["claim_id"] for r in lists["timely_filing"]] == ["HELD-1"]


def _add_denials(url: str) -> None:
    """Denials on both sides of each plan's appeal and correction limits, several remitted the same
    day (the pick among equal deadlines goes by claim id), a plan the settings do not know, and
    lines denied inside paid claims — one of them on a remittance without a BPR16 date."""
    posted = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)
    year_ago = date(2025, 11, 23)  # commercial: 12 months to appeal, so due today
    whole = [  # (claim id, plan, remit date)
        ("DC-D", "commercial", year_ago), ("DC-B", "commercial", year_ago), ("DC-A", "commercial", year_ago), ("DC-OLD", "commercial",
                                                                              year_ago - timedelta(days=1)),
        ("DM-Z", "medicaid", TODAY - timedelta(days=60)), ("DM-OLD", "medicaid", TODAY - timedelta(days=61)),
        ("DM-NEW", "medicaid", TODAY - timedelta(days=3)), ("DX-A", "tricare", year_ago + timedelta(days=1)),
        ("DS-A", "sco", TODAY - timedelta(days=59)), ("DC-C", "commercial", year_ago),
    ]
    lines = [  # (claim id, plan, remit date or None, [(paid, [(group, reason, amount)])])
        ("LP-1", "commercial", year_ago + timedelta(days=2),
         [(Decimal("80.00"), [("CO", "45", Decimal("20.00"))]), (ZERO, [("CO", "197", Decimal("100.00"))])]),
        ("LP-2", "medicaid", None, [(ZERO, [("CO", "16", Decimal("50.00"))]), (ZERO, [("PR", "1", Decimal("5.00"))])]),
    ]
    ledger = Ledger(url)
    try:
        with ledger.session() as session:
            billing = session.scalar(select(Party.id))

            def claim(claim_id: str, plan: str, status: str) -> int:
                return session.execute(insert(Claim).returning(Claim.id), {
                    "claim_id": claim_id, "revision": 1, "frequency": "1", "status": status,
                    "line_of_business": plan, "payer_id": "87726", "payer_name": "OPTUM", "relationship_code": "18",
                    "rendering_license": "independent", "diagnoses": "F331", "billed": Decimal("100.00"),
                    "first_service_date": TODAY - timedelta(days=400), "billing_id": billing,
                    "subscriber_id": billing, "content_hash": "x" * 64, "created_at": posted,
                    "updated_at": posted}).scalar_one()

            def remittance(paid_on: date | None, trace: str) -> int:
                return session.execute(insert(Remittance).returning(Remittance.id), {
                    "payer_id": "87726", "payer_name": "OPTUM BH", "trace_number": trace, "total_paid": ZERO,
                    "payment_method": "ACH", "payment_date": paid_on, "content_sha256": trace,
                    "created_at": posted}).scalar_one()

            def payment(remit: int, claim_pk: int, claim_id: str, code: str, outcome: str) -> int:
                return session.execute(insert(ClaimPayment).returning(ClaimPayment.id), {
                    "remittance_id": remit, "claim_pk": claim_pk, "patient_control_number": claim_id,
                    "status_code": code, "charge": Decimal("100.00"), "paid": ZERO, "patient_responsibility": ZERO,
                    "outcome": outcome, "created_at": posted}).scalar_one()

            for claim_id, plan, paid_on in whole:
                clp = payment(remittance(paid_on, f"T-{claim_id}"), claim(claim_id, plan, "denied"), claim_id, "4",
                              "denied")
                session.execute(insert(Adjustment), {"claim_payment_id": clp, "group_code": "CO",
                                                     "reason_code": "197", "amount": Decimal("100.00")})
            for claim_id, plan, paid_on, services in lines:
                clp = payment(remittance(paid_on, f"T-{claim_id}"), claim(claim_id, plan, "partially_paid"), claim_id,
                              "1", "partially_paid")
                for position, (paid, cas) in enumerate(services, start=1):
                    svc = session.execute(insert(ServicePayment).returning(ServicePayment.id), {
                        "claim_payment_id": clp, "procedure_code": "HC:90837", "charge": Decimal("100.00"),
                        "paid": paid, "line_ref": f"L{position}"}).scalar_one()
                    for group, reason, amount in cas:
                        session.execute(insert(Adjustment), {
                            "claim_payment_id": clp, "service_payment_id": svc, "group_code": group,
                            "reason_code": reason, "amount": amount})
    finally:
        ledger.dispose()


def test_next_deadlines_and_denied_count_equal_the_denial_worklists(ledger_url: str) -> None:
    """The database's picks (per-plan remittance dates) equal sorting every denial in Python."""
    from clerk import worklists
    from clerk.status import DEADLINES_SHOWN, next_deadlines
    from validators.settings import RuleSettings

    build_ledger(ledger_url)
    _add_denials(ledger_url)
    settings = RuleSettings()
    ledger = Ledger(ledger_url)
    try:
        with ledger.read_session() as session:
            counts = worklists.open_counts(session, TODAY, settings)
            deadlines = next_deadlines(session, TODAY, settings)
            denied = worklists.denied(session, TODAY, settings)
            corrections = worklists.corrections(session, TODAY, settings)
    finally:
        ledger.dispose()
    assert counts["denied"] == len(denied) > 0
    appeals = [r for r in denied if r["appeal_days_left"] is not None and r["appeal_days_left"] >= 0]
    assert len(appeals) > DEADLINES_SHOWN and len(corrections) > DEADLINES_SHOWN
    assert counts["corrections"] == len(corrections)
    assert {r["claim_id"] for r in denied} >= {"LP-1", "LP-2", "DX-A"} and "DC-OLD" not in {
        r["claim_id"] for r in appeals}
    assert deadlines["appeals"] == [
        {"claim_id": r["claim_id"], "line_id": r["line_id"], "due": r["appeal_by"], "days_left": r["appeal_days_left"]}
        for r in appeals[:DEADLINES_SHOWN]
    ]
    assert deadlines["corrections"] == [
        {"claim_id": r["claim_id"], "line_id": r["line_id"], "due": r["correct_by"], "days_left": r["days_left"]}
        for r in corrections[:DEADLINES_SHOWN]
    ]


def test_first_remit_date_is_the_earliest_whose_deadline_has_not_passed() -> None:
    from clerk.worklists import add_months, first_remit_date

    for today in (date(2026, 2, 28), date(2026, 3, 31), date(2026, 11, 23), date(2024, 2, 29)):
        for months in (1, 6, 12):
            first = first_remit_date(today, lambda day, m=months: add_months(day, m))  # type: ignore[misc]
            assert add_months(first, months) >= today > add_months(first - timedelta(days=1), months)
        first = first_remit_date(today, lambda day: day + timedelta(days=90))
        assert first == today - timedelta(days=90)
