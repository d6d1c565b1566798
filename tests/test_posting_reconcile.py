"""835 posting on SQLite and PostgreSQL: balances, exactly once, matching, reversals, denials, PLB, flags."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clerk.worklists import (
    denial_worklist,
    provider_adjustment_items,
    quarantine_items,
    unmatched_items,
)
from domain import clock
from domain.claim import LineOfBusiness
from ledger.db import Ledger
from ledger.models import (
    Adjustment,
    Claim,
    ClaimEvent,
    ClaimPayment,
    ProviderAdjustment,
    Quarantine,
    Remittance,
    ServicePayment,
    Transmission,
)
from ledger.queries import claim_totals
from remits.inbound import post_files, release_quarantined
from tests.claim_factory import make_claim, make_line
from tests.remit_factory import ledger_with, pay, plb, remit, reverse, write_835

D = Decimal


def count(ledger: Ledger, model: type) -> int:
    with ledger.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def money_rows(ledger: Ledger) -> dict[str, int]:
    return {m.__tablename__: count(ledger, m)
            for m in (Remittance, ClaimPayment, ServicePayment, Adjustment, ProviderAdjustment)}


def totals(ledger: Ledger, claim_id: str, revision: int = 0) -> dict[str, Decimal]:
    with ledger.session() as session:
        claim = session.scalar(select(Claim).where(Claim.claim_id == claim_id, Claim.revision == revision))
        assert claim is not None
        return {**claim_totals(session, claim), "status": claim.status}  # type: ignore[dict-item]


@pytest.fixture
def claims() -> list:
    return [
        make_claim("C1"),
        make_claim("C2", lines=(make_line("L1", modifiers=("HJ",)), make_line("L2", procedure_code="90785",
                                                                                charge=D("40.00")))),
        make_claim("C3"),
    ]


def test_balanced_835_posts_and_ledger_equals_bpr02(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    payments = [pay(claims[0]), pay(claims[1], copay=D("10.00")), pay(claims[2], contractual=D("0"))]
    path = write_835(tmp_path, "a.835", [remit(payments, "T1")])
    report = post_files(ledger, [path], actor="t")
    assert report.files_posted == ["a.835"] and report.payments.posted == 1
    with ledger.session() as session:
        bpr02 = session.scalar(select(Remittance.total_paid))
        assert session.scalar(select(func.sum(ClaimPayment.paid))) == bpr02 == D("150") + D("140") + D("180")
        assert session.scalar(select(func.count()).where(ServicePayment.service_line_id.is_(None))) == 0
    c2 = totals(ledger, "C2")
    assert (c2["paid"], c2["adjusted"], c2["patient_responsibility"], c2["balance"]) == (
        D("140"), D("60"), D("20"), D("0"))
    assert c2["status"] == "paid"


def test_same_835_renamed_reenveloped_posts_once(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    remittance = remit([pay(c) for c in claims], "T1")
    first = write_835(tmp_path, "a.835", [remittance], icn=1)
    renamed = tmp_path / "renamed.835"
    renamed.write_bytes(first.read_bytes())
    reenveloped = write_835(tmp_path, "b.835", [remittance], icn=77)
    assert reenveloped.read_bytes() != first.read_bytes()
    post_files(ledger, [first], actor="t")
    before = money_rows(ledger)
    again = post_files(ledger, [renamed, reenveloped, first], actor="t")
    assert again.already_posted == ["renamed.835", "a.835"]
    assert again.payments.duplicates == 1 and again.payments.posted == 0 and not again.failed
    assert money_rows(ledger) == before
    assert totals(ledger, "C1")["paid"] == D("150")


def test_reused_trace_with_different_content_is_quarantined(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([pay(claims[0])], "T1")])], actor="t")
    before = money_rows(ledger)
    other = write_835(tmp_path, "b.835", [remit([pay(claims[0], contractual=D("31.00"))], "T1")])
    report = post_files(ledger, [other], actor="t")
    assert report.files_posted == [] and report.failed and "different content" in report.failed[0][1]
    assert money_rows(ledger) == before
    with ledger.session() as session:
        assert session.scalar(select(Transmission.state).where(Transmission.file_name == "b.835")) == "quarantined"
        (item,) = quarantine_items(session)
        assert "T1" in item["reason"] and item["state"] == "quarantined"


def test_same_trace_from_another_payer_posts(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([pay(claims[0])], "T1")])], actor="t")
    report = post_files(ledger, [write_835(tmp_path, "b.835", [remit([pay(claims[1])], "T1",
                                                                       trace_payer="1999999999")])], actor="t")
    assert report.payments.posted == 1
    assert count(ledger, Remittance) == 2


def test_unbalanced_835_is_quarantined_whole_with_amounts(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    good = pay(claims[0])
    bad_line = replace(good.lines[0], paid=good.lines[0].paid + D("0.01"))
    bad = replace(good, lines=(bad_line,), paid=good.paid + D("0.01"))
    path = write_835(tmp_path, "a.835", [remit([pay(claims[1]), bad], "T1")])
    report = post_files(ledger, [path], actor="t")
    assert money_rows(ledger) == dict.fromkeys(money_rows(ledger), 0)
    reasons = report.payments.quarantined
    assert any("claim C1 line L1" in r and "149.99" not in r and "150.01" in r for r in reasons), reasons
    assert all("RIVERA" not in r and "MARIA" not in r for r in reasons)
    with ledger.session() as session:
        assert session.scalar(select(Claim.status).where(Claim.claim_id == "C2")) == "sent"
        assert session.scalar(select(func.count()).select_from(Quarantine)) == 1


def test_modifier_dropped_still_matches_and_unmatched_queue(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    stranger = make_claim("NOPE1")
    c3_extra = replace(pay(claims[2], line_ids=False), lines=(
        *pay(claims[2], line_ids=False).lines,
        replace(pay(claims[2]).lines[0], procedure_code="90791", line_id=None, charge=D("0"), paid=D("0"),
                adjustments=())))
    payments = [pay(claims[1], drop_modifiers=True, line_ids=False), pay(stranger), c3_extra]
    report = post_files(ledger, [write_835(tmp_path, "a.835", [remit(payments, "T1")])], actor="t")
    assert report.payments.unmatched_claims == ["NOPE1"] and report.payments.unmatched_lines == 2
    with ledger.session() as session:
        lines = session.execute(select(ServicePayment.procedure_code, ServicePayment.service_line_id)
                                .join(ClaimPayment, ClaimPayment.id == ServicePayment.claim_payment_id)
                                .where(ClaimPayment.patient_control_number == "C2")).all()
        assert all(line_pk is not None for _, line_pk in lines) and lines[0][0] == "90837"
        items = unmatched_items(session)
    assert [(i["kind"], i["claim_id"], i["procedure"]) for i in items] == [
        ("claim", "NOPE1", None), ("line", "C3", "90791")]


def test_reversal_cancels_original_posting_and_correction_posts(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    original = pay(claims[0], payer_claim_number="PCN1")
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([original], "T1")])], actor="t")
    corrected = pay(claims[0], contractual=D("50.00"), payer_claim_number="PCN2")
    report = post_files(ledger, [write_835(tmp_path, "b.835", [remit([reverse(original), corrected], "T2")])],
                        actor="t")
    assert report.payments.reversals == 1 and not report.failed
    c1 = totals(ledger, "C1")
    assert (c1["paid"], c1["adjusted"], c1["balance"], c1["status"]) == (D("130"), D("50"), D("0"), "paid")
    with ledger.session() as session:
        first, reversal, new = session.scalars(select(ClaimPayment).order_by(ClaimPayment.id)).all()
        assert reversal.reverses_id == first.id and reversal.outcome == "reversal" and new.reverses_id is None
        statuses = [e.to_status for e in session.scalars(select(ClaimEvent).join(Claim).where(
            Claim.claim_id == "C1").order_by(ClaimEvent.id))]
    assert statuses == ["ready", "sent", "paid", "accepted", "paid"]
    # the same reversal again (another trace) finds nothing left to reverse
    again = post_files(ledger, [write_835(tmp_path, "c.835", [remit([reverse(original)], "T3",
                                                                      plb=(plb("FB", "T3", D("-150")),))])],
                       actor="t")
    assert again.failed and "never posted" in again.failed[0][1]


def test_reversal_of_unknown_posting_quarantines_whole_file(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    ghost = reverse(pay(claims[0], payer_claim_number="NEVER"))
    path = write_835(tmp_path, "a.835", [remit([pay(claims[1]), ghost, pay(claims[2])], "T1")])
    report = post_files(ledger, [path], actor="t")
    assert report.files_posted == [] and "never posted" in report.failed[0][1]
    assert money_rows(ledger) == dict.fromkeys(money_rows(ledger), 0)
    with ledger.session() as session:
        assert set(session.scalars(select(Claim.status))) == {"sent"}
        transmission_id = session.scalar(select(Transmission.id))
    # once the original is posted, the clerk releases the file and it posts
    post_files(ledger, [write_835(tmp_path, "orig.835", [remit([pay(claims[0], payer_claim_number="NEVER")],
                                                                "T0")])], actor="t")
    release_quarantined(ledger, transmission_id, actor="clerk")
    from remits.inbound import post_pending

    assert post_pending(ledger, actor="t").payments.posted == 1
    assert totals(ledger, "C1")["paid"] == D("0")


def test_void_reversal_with_negative_net_carried_as_forward_balance(ledger_url: str, tmp_path: Path,
                                                                    claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    original = pay(claims[0], payer_claim_number="PCN1")
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([original], "T1")])], actor="t")
    forward = plb("FB", "PCN1", D("-150"))
    path = write_835(tmp_path, "b.835", [remit([reverse(original)], "T2", plb=(forward,))])
    report = post_files(ledger, [path], actor="t")
    assert not report.failed and report.payments.provider_adjustments == 1
    with ledger.session() as session:
        assert session.scalar(select(Remittance.total_paid).where(Remittance.trace_number == "T2")) == D("0")
        (item,) = provider_adjustment_items(session)
    assert (item["reason"], item["amount"], item["claim_id"]) == ("FB", D("-150"), "C1")
    assert totals(ledger, "C1")["paid"] == D("0")


def test_plb_interest_recovery_and_return_tied_to_claims(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([pay(claims[0], payer_claim_number="PCN1")], "T1")])],
               actor="t")
    adjustments = (plb("L6", "PCN1", D("-1.27")), plb("WO", "PCN1", D("20.00")), plb("72", "C2", D("5.00")),
                   plb("FB", "", D("3.00")))
    path = write_835(tmp_path, "b.835", [remit([pay(claims[1]), pay(claims[2])], "T2", plb=adjustments)])
    report = post_files(ledger, [path], actor="t")
    assert not report.failed
    with ledger.session() as session:
        items = provider_adjustment_items(session)
        bpr02 = session.scalar(select(Remittance.total_paid).where(Remittance.trace_number == "T2"))
    assert [(i["reason"], i["amount"], i["claim_id"]) for i in items] == [
        ("L6", D("-1.27"), "C1"), ("WO", D("20.00"), "C1"), ("72", D("5.00"), "C2"), ("FB", D("3.00"), None)]
    assert bpr02 == D("160") + D("150") - D("26.73")


def test_denial_records_carc_rarc_on_worklist(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    denial = pay(claims[0], denied_reason="197", remark_codes=("N54",))
    denial = replace(denial, remark_codes=("M62",))
    report = post_files(ledger, [write_835(tmp_path, "a.835", [remit([denial, pay(claims[1])], "T1")])], actor="t")
    assert report.payments.denied == ["C1"]
    with ledger.session() as session:
        (item,) = denial_worklist(session)
    assert item["claim_id"] == "C1" and item["denied"] == D("180")
    assert item["carcs"][0]["code"] == "197" and "authorization" in item["carcs"][0]["description"].lower()
    assert [r["code"] for r in item["rarcs"]] == ["M62", "N54"]
    assert "authorized" in item["rarcs"][1]["description"]
    assert totals(ledger, "C1")["status"] == "denied"


def test_sco_patient_responsibility_is_flagged(ledger_url: str, tmp_path: Path) -> None:
    sco = make_claim("S1", line_of_business=LineOfBusiness.SCO)
    commercial = make_claim("S2")
    ledger = ledger_with(ledger_url, [sco, commercial])
    path = write_835(tmp_path, "a.835", [remit([pay(sco, copay=D("15")), pay(commercial, copay=D("15"))], "T1")])
    report = post_files(ledger, [path], actor="t")
    assert report.payments.flagged == ["S1"]
    from clerk.worklists import patient_responsibility

    with ledger.session() as session:
        (item,) = patient_responsibility(session, clock.today())
        events = list(session.scalars(select(ClaimEvent.event).where(ClaimEvent.event == "patient_responsibility_flagged")))
    assert (item["claim_id"], item["patient_responsibility"]) == ("S1", "15.00") and len(events) == 1


def test_several_clps_for_one_claim_and_several_sets_in_one_interchange(ledger_url: str, tmp_path: Path,
                                                                       claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    c2 = claims[1]
    first_line = replace(c2, lines=c2.lines[:1])
    second_line = replace(c2, lines=c2.lines[1:])
    split = [pay(first_line, payer_claim_number="S-A"), pay(second_line, payer_claim_number="S-B")]
    split = [replace(p, charge=p.charge) for p in split]
    remittances = [remit(split, "T1", control="0001"),
                   remit([pay(claims[0])], "T2", control="0002", trace_payer="1999999999")]
    report = post_files(ledger, [write_835(tmp_path, "a.835", remittances)], actor="t")
    assert report.payments.posted == 2 and not report.failed
    c2_totals = totals(ledger, "C2")
    assert c2_totals["paid"] == D("150") + D("10") and c2_totals["balance"] == D("0")
    assert c2_totals["status"] == "paid"


def test_file_cut_before_its_end_posts_nothing(ledger_url: str, tmp_path: Path, claims: list) -> None:
    ledger = ledger_with(ledger_url, claims)
    path = write_835(tmp_path, "a.835", [remit([pay(c) for c in claims], "T1")])
    data = path.read_bytes()
    cut = tmp_path / "cut.835"
    cut.write_bytes(data[: len(data) - 30])
    report = post_files(ledger, [cut], actor="t")
    assert report.failed and money_rows(ledger) == dict.fromkeys(money_rows(ledger), 0)
    with ledger.session() as session:
        assert set(session.scalars(select(Claim.status))) == {"sent"}


def test_worklist_commands_run_in_process(tmp_path: Path, claims: list) -> None:

    import click
    from click.testing import CliRunner

    from clerk.posting_commands import COMMANDS

    url = f"sqlite+pysqlite:///{tmp_path / 'cmd.db'}"
    ledger = ledger_with(url, claims)
    denial = pay(claims[0], denied_reason="29")
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([denial, pay(make_claim("ZZ9"))], "T1")])], actor="t")

    class State:
        class app:  # noqa: N801 - stands in for cli.State().app
            pass

    State.app.ledger, State.app.actor = ledger, "clerk"  # type: ignore[attr-defined]
    group = click.Group(commands=COMMANDS)
    runner = CliRunner()
    assert runner.invoke(group, ["quarantine"], obj=State).output.splitlines() == ["transmission_id\tfile\tstate\treason"]


def test_posted_rows_name_their_parents_and_the_parents_are_kept(ledger_url: str, tmp_path: Path,
                                                                claims: list) -> None:
    """Service payments and adjustments link to their claim and service payment without foreign keys
    (migration 0012): the poster gives the links, the database refuses to delete or renumber a parent."""
    from sqlalchemy import delete, exc, update

    ledger = ledger_with(ledger_url, claims)
    payments = [pay(claims[0]), pay(claims[1], copay=D("10.00")), pay(claims[2], contractual=D("0"))]
    post_files(ledger, [write_835(tmp_path, "a.835", [remit(payments, "T1")])], actor="t")
    with ledger.session() as session:
        line_parents = session.execute(select(ServicePayment.claim_payment_id, ClaimPayment.id).outerjoin(
            ClaimPayment, ClaimPayment.id == ServicePayment.claim_payment_id)).all()
        adjustment_parents = session.execute(
            select(Adjustment.service_payment_id, ServicePayment.id, ServicePayment.claim_payment_id,
                   Adjustment.claim_payment_id, ClaimPayment.id)
            .outerjoin(ServicePayment, ServicePayment.id == Adjustment.service_payment_id)
            .outerjoin(ClaimPayment, ClaimPayment.id == Adjustment.claim_payment_id)).all()
    assert len(line_parents) == 4 and all(child == parent for child, parent in line_parents)
    assert adjustment_parents and all(
        cp_id == cp and (sp_id is None or (sp_id == sp and sp_cp == cp_id))
        for sp_id, sp, sp_cp, cp_id, cp in adjustment_parents)
    for statement in (delete(ClaimPayment), delete(ServicePayment), update(ClaimPayment).values(id=ClaimPayment.id + 100),
                      update(ServicePayment).values(id=ServicePayment.id + 100)):
        with pytest.raises(exc.DatabaseError, match="kept"), ledger.session() as session:
            session.execute(statement)
    with ledger.session() as session:  # any other column may still change (e.g. an unmatched CLP matched later)
        session.execute(update(ClaimPayment).values(remark_codes="N1"))
    assert money_rows(ledger)["claim_payments"] == 3 and money_rows(ledger)["service_payments"] == 4
