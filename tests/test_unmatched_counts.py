"""Issue 18: unmatched money is counted one way everywhere.  A void's reversal (CLP02 22) pairs
with the void and the posting it cancels: its lines are matched, so `worklist unmatched`, the
post summary, nightly and the HTML report all say 0; a truly unknown CLP or SVC is 1 in all of them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

from sqlalchemy import select

from clerk.worklists import open_counts, unmatched
from domain.claim import Frequency
from ledger.corrections import create_correction
from ledger.db import Ledger
from ledger.models import ServicePayment
from ledger.queries import unmatched_money
from remits.inbound import post_files
from tests.claim_factory import make_claim
from tests.remit_factory import ledger_with, mark_sent, pay, remit, reverse, write_835
from validators.settings import RuleSettings

TODAY = date(2026, 11, 23)


def _void(ledger: Ledger, claim_id: str) -> None:
    with ledger.session() as session:
        create_correction(session, claim_id, frequency=Frequency.VOID, today=TODAY, window_days=lambda _lob: 180,
                          checker=lambda _claim: [], actor="clerk")
    mark_sent(ledger, [claim_id])


def _everywhere(ledger: Ledger) -> tuple[int, int, int]:
    """(the ledger's count, the worklist's rows, the nightly / HTML report count)."""
    with ledger.read_session() as session:
        return (unmatched_money(session).count, len(unmatched(session, TODAY)),
                open_counts(session, TODAY, RuleSettings())["unmatched"])


def test_a_voids_reversal_is_matched_and_counted_nowhere(db_url: str, tmp_path: Path) -> None:
    claim = make_claim("V1")
    ledger = ledger_with(db_url, [claim])
    original = pay(claim, payer_claim_number="PCN-V1")
    assert not post_files(ledger, [write_835(tmp_path, "a.835", [remit([original], "T1")])], actor="t").failed
    _void(ledger, "V1")
    report = post_files(ledger, [write_835(tmp_path, "b.835", [remit([reverse(original)], "T2")])], actor="t")
    assert not report.failed and report.payments.reversals == 1
    with ledger.read_session() as session:
        assert unmatched_money(session, report.payments.remittance_ids).count == 0  # what `post` says
        assert None not in set(session.scalars(select(ServicePayment.service_line_id)))
    assert _everywhere(ledger) == (0, 0, 0)


def test_an_unknown_claim_and_an_unknown_line_count_the_same_everywhere(db_url: str, tmp_path: Path) -> None:
    known = make_claim("K1")
    ledger = ledger_with(db_url, [known])
    stranger = pay(make_claim("NOPE1"))
    paid = pay(known)
    odd_line = replace(paid.lines[0], line_id="ZZ9", procedure_code="99999")
    paid = replace(paid, lines=(*paid.lines, odd_line), charge=paid.charge + odd_line.charge,
                   paid=paid.paid + odd_line.paid)
    report = post_files(ledger, [write_835(tmp_path, "a.835", [remit([stranger, paid], "T1")])], actor="t")
    assert not report.failed, report.failed
    with ledger.read_session() as session:
        run = unmatched_money(session, report.payments.remittance_ids)
    assert (run.claims, run.lines, run.count) == (("NOPE1",), 1, 2)
    assert run.paid == stranger.paid + odd_line.paid
    assert _everywhere(ledger) == (2, 2, 2)


def test_post_and_worklist_unmatched_agree_at_the_command_line(db_url: str, tmp_path: Path) -> None:
    from tests.test_cli_failures import _cli, _practice

    folder = _practice(tmp_path / "practice", db_url)
    void, known = make_claim("V2"), make_claim("K2")
    ledger = ledger_with(db_url, [void, known])
    original = pay(void, payer_claim_number="PCN-V2")
    assert _cli(folder, "--db", db_url, "post", str(write_835(tmp_path, "a.835", [remit([original], "T1")]))
                ).returncode == 0
    _void(ledger, "V2")
    ledger.dispose()
    later = write_835(tmp_path, "b.835", [remit([reverse(original), pay(known), pay(make_claim("NOPE2"))], "T2")])
    posted = _cli(folder, "--db", db_url, "post", "--json", str(later))
    assert posted.returncode == 0, posted.stderr
    summary = json.loads(posted.stdout)
    rows = json.loads(_cli(folder, "--db", db_url, "worklist", "unmatched", "--json").stdout)
    assert summary["reversals"] == 1
    assert summary["unmatched"] == len(rows) == 1 and summary["unmatched_claims"] == ["NOPE2"]
    assert [row["patient_control_number"] for row in rows] == ["NOPE2"]
