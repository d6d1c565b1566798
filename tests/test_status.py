"""`bhclaims status`: claims and money by status, the last nightly run, the next deadlines, the
work waiting for a human — on SQLite and PostgreSQL, against figures computed here."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert, select

from cli import main_group
from ledger.db import Ledger
from ledger.models import Claim, Party
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


def test_status_adds_up_to_the_ledger(db_url: str, tmp_path: Path) -> None:
    plain = build_ledger(db_url)
    claims = [*plain.claims, _add_held_claim(db_url)]
    folder = tmp_path / "practice"
    made = CliRunner().invoke(main_group, ["--db", db_url, "init", str(folder)])
    assert made.exit_code == 0, made.output
    _nightly_report(folder / "reports", "2026-11-21T02:00:00", "older0000001", 0)
    _nightly_report(folder / "reports", "2026-11-22T02:00:00", "newest000002", 1)
    _nightly_report(folder / "reports", "2026-11-23T02:00:00", "cutshort0003", 0, body='{"run_id": "cut')

    status = json.loads(_status(db_url, folder, "--json"))

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

    text = _status(db_url, folder)
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


def test_worklist_counts_equal_the_worklists(db_url: str) -> None:
    from clerk import worklists
    from validators.settings import RuleSettings

    build_ledger(db_url)
    _add_held_claim(db_url)
    settings = RuleSettings()
    ledger = Ledger(db_url)
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
