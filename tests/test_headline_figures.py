"""The HTML report's headline figures (``ledger.headline``) equal their definitions computed here
in plain Python over the same ledger, on SQLite and PostgreSQL; the page shows them with
thousands separators and lists the rows behind each worklist count.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from cli import main_group
from ledger.db import Ledger
from ledger.headline import headline_figures
from ledger.models import ClaimEvent
from tests.test_ledger_reads_sql import TODAY, PlainClaim, PlainLedger, build_ledger, expected_totals

ZERO = Decimal("0")
NOT_WITH_THE_PAYER = ("ready", "held", "batched", "replaced", "voided")

EVENTS: dict[tuple[str, int], list[tuple[str, str | None]]] = {
    # (claim, revision) -> [(event, to_status)] in order
    ("PAID-1", 1): [("sent", "sent"), ("accepted_999", "accepted")],
    ("PART-1", 1): [("sent", "sent"), ("transmission_rejected", "ready"), ("sent", "sent"),
                    ("accepted_999", "accepted")],
    ("DENY-1", 1): [("sent", "sent")],  # no acknowledgement kept, but the 835 adjudicated it
    ("CORR-1", 2): [("sent", "sent"), ("rejected_277ca", "rejected"), ("sent", "sent")],
    ("SENT-1", 1): [("sent", "sent")],  # no answer yet
    ("SENT-2", 1): [("sent", "sent"), ("accepted_277ca", "accepted")],
    ("VOID-1", 1): [("sent", "sent"), ("accepted_999", "accepted")],
    ("SOON-1", 1): [("checked", None)],  # never sent
}


def _add_events(url: str, plain: PlainLedger) -> None:
    by_key = {(c.claim_id, c.revision): c for c in plain.claims}
    ledger = Ledger(url)
    try:
        with ledger.session() as session:
            at = datetime(2026, 11, 1, tzinfo=UTC)
            for key, events in EVENTS.items():
                for event, to_status in events:
                    at += timedelta(minutes=1)
                    session.execute(insert(ClaimEvent), {"claim_pk": by_key[key].pk, "at": at, "actor": "test",
                                                         "event": event, "to_status": to_status})
    finally:
        ledger.dispose()


def _with_the_payer(plain: PlainLedger) -> list[PlainClaim]:
    return [c for c in plain.claims if c.status not in NOT_WITH_THE_PAYER]


def expected_figures(plain: PlainLedger) -> dict[str, Decimal | None]:
    claims = _with_the_payer(plain)
    totals = [expected_totals(c) for c in claims]
    billed = sum((t["billed"] for t in totals), ZERO)
    paid = sum((t["paid"] for t in totals), ZERO)
    contractual = sum((t["adjusted"] for t in totals), ZERO)
    open_ar = sum((t["balance"] for t in totals), ZERO)
    recent = sum((c.billed for c in claims if (TODAY - c.served).days < 90), ZERO)
    adjudicated = [c for c in claims if c.status in ("paid", "partially_paid", "denied")]
    denied = [c for c in adjudicated if c.status == "denied"]
    paid_keys = {(c.claim_id, c.revision) for c in plain.claims if c.payments}
    submitted = [k for k, events in EVENTS.items() if any(to == "sent" for _, to in events)]
    first_try = [k for k in submitted
                 if not any(e in ("transmission_rejected", "rejected_277ca") for e, _ in EVENTS[k])
                 and (any(e.startswith("accepted_") for e, _ in EVENTS[k]) or k in paid_keys)]
    return {
        "billed": billed, "collected": paid, "net_collection_rate": paid / (billed - contractual),
        "first_pass_acceptance_rate": Decimal(len(first_try)) / len(submitted),
        "denial_rate": Decimal(len(denied)) / len(adjudicated), "days_in_ar": open_ar / (recent / 90),
    }


@pytest.fixture
def figures_ledger(ledger_url: str) -> tuple[str, PlainLedger]:
    plain = build_ledger(ledger_url)
    _add_events(ledger_url, plain)
    return ledger_url, plain


def test_headline_figures_equal_their_definitions(figures_ledger: tuple[str, PlainLedger]) -> None:
    url, plain = figures_ledger
    ledger = Ledger(url)
    try:
        with ledger.read_session() as session:
            got = headline_figures(session, TODAY)
    finally:
        ledger.dispose()
    expected = expected_figures(plain)
    assert {
        "billed": got.billed, "collected": got.collected, "net_collection_rate": got.net_collection_rate,
        "first_pass_acceptance_rate": got.first_pass_acceptance_rate, "denial_rate": got.denial_rate,
        "days_in_ar": got.days_in_ar,
    } == expected
    # the definitions pick what they should: 7 claims with the payer; 4 of 7 submissions taken first time
    assert (got.billed, got.claims_submitted, got.accepted_first_pass) == (Decimal("1195.50"), 7, 4)
    assert (got.claims_adjudicated, got.claims_denied) == (5, 1)


def test_the_report_opens_with_the_figures_and_lists_worklist_rows(
    figures_ledger: tuple[str, PlainLedger], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, plain = figures_ledger
    monkeypatch.setenv("BHCLAIMS_TODAY", TODAY.isoformat())
    folder = tmp_path / "practice"
    made = CliRunner().invoke(main_group, ["--db", url, "init", str(folder)])
    assert made.exit_code == 0, made.output
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main_group, ["--config", str(folder / "bhclaims.toml"), "--db", url,
                                             "report", "html", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    shown = dict(re.findall(r'data-figure="(\w+)"><div class="label">[^<]*</div><div class="value">([^<]*)<', page))
    expected = expected_figures(plain)
    assert shown["billed"] == f"${expected['billed']:,.2f}" == "$1,195.50"
    assert shown["collected"] == f"${expected['collected']:,.2f}"
    assert shown["denial_rate"] == "20.0%"
    assert shown["first_pass_acceptance_rate"] == f"{Decimal(4) / 7 * 100:.1f}%"
    assert page.index('id="headline"') < page.index("<svg")  # the page opens with them
    assert "How the headline figures are counted" in page and "Days in A/R" in page
    # every worklist count is followed by a table of its rows (or says there is nothing)
    sections = re.findall(r'data-worklist="(\w+)"><h3>[^<]*<span class="count">([\d,]+)</span></h3>(<table|<p>)',
                          page)
    assert [name for name, _, _ in sections] == [
        "rejected", "denied", "timely_filing", "corrections", "unmatched", "patient_responsibility"]
    for name, count, starts in sections:
        assert (starts == "<table") == (count != "0"), name
    denied = page[page.index('data-worklist="denied"'):page.index('data-worklist="timely_filing"')]
    assert "DENY-1" in denied and "<td>DENY-1</td>" in denied
