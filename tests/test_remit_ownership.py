"""An 835 touches a claim only when it is ours (reliability items 39, 40, 42, 45), on SQLite and PostgreSQL.

Ours: from the payer ``[payer]`` names (ISA06, GS02, N1*PR N104, REF*2U or a TRN03 of its list), paid
to the claim's billing provider (N1*PE NPI, or TIN), for a claim revision that was sent.  Anything else
is quarantined whole with the reason in words, and nothing of it is posted — not even a payer claim
number.  A late CLP for an original lands on the revision it pays, never on an unsent void.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.acks import Envelope
from domain.claim import Address, Frequency, Provider
from domain.remittance import OurPayer, paid_to
from domain.remittance import Remittance as RemittanceRecord
from edi.x835 import read_835
from ledger.corrections import create_correction
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import Claim, ClaimPayment, Quarantine, Remittance, Transmission
from remits.inbound import post_files, post_pending, release_quarantined
from tests.claim_factory import make_claim, make_npi
from tests.remit_factory import ledger_with, mark_sent, pay, remit, reverse, write_835

D = Decimal
OTHER_NPI = "1497758544"


def money_rows(ledger: Ledger) -> int:
    with ledger.session() as session:
        return sum(int(session.scalar(select(func.count()).select_from(m)) or 0) for m in (Remittance, ClaimPayment))


def claim_row(ledger: Ledger, claim_id: str, revision: int = 0) -> tuple[str, str | None]:
    with ledger.session() as session:
        row = session.scalars(select(Claim).where(Claim.claim_id == claim_id, Claim.revision == revision)).one()
        return row.status, row.payer_claim_number


def quarantined(ledger: Ledger) -> list[tuple[str, str]]:
    with ledger.session() as session:
        return [(t.file_name, t.state) for t in session.scalars(select(Transmission).order_by(Transmission.id))
                if t.state != "posted"]


def masshealth(remittance: RemittanceRecord) -> RemittanceRecord:
    """The same payment as MassHealth would send it through the same clearinghouse."""
    return replace(remittance, payer_name="MASSHEALTH", payer_id="04293", trace_payer_id="1046002284",
                   envelope=Envelope("ZZ", "CLEARINGHOUSE", "ZZ", "RIVERBEND", "7", "T", "HP", "CLEARINGHOUSE",
                                     "RIVERBEND", "7", "005010X221A1"))


def test_another_payers_835_for_our_claim_ids_is_quarantined_and_changes_nothing(ledger_url: str,
                                                                                 tmp_path: Path) -> None:
    ledger = ledger_with(ledger_url, [make_claim("C1"), make_claim("C2")])
    foreign = masshealth(remit([pay(make_claim("C1"), payer_claim_number="MH-999")], "MH1"))
    report = post_files(ledger, [write_835(tmp_path, "era.835", [foreign])], actor="t")
    assert report.files_posted == [] and report.failed == [
        ("era.835", "835 trace MH1: from another payer: MASSHEALTH (not OPTUM BEHAVIORAL HEALTH)")]
    assert money_rows(ledger) == 0
    assert claim_row(ledger, "C1") == ("sent", None)  # no payer claim number from a foreign remittance
    assert quarantined(ledger) == [("era.835", "quarantined")]
    ledger.dispose()


def test_payer_is_recognised_by_any_of_its_ids_or_a_configured_trn03(ledger_url: str, tmp_path: Path) -> None:
    claims = [make_claim("C1"), make_claim("C2"), make_claim("C3")]
    ledger = ledger_with(ledger_url, claims)
    by_trace = masshealth(remit([pay(claims[0])], "T1"))
    optum_by_trace = OurPayer(trace_ids=frozenset({"1046002284"}))
    assert post_files(ledger, [write_835(tmp_path, "a.835", [by_trace])], actor="t", payer=optum_by_trace).files_posted
    by_gs02 = replace(masshealth(remit([pay(claims[1])], "T2")), payer_id="")
    by_gs02 = replace(by_gs02, envelope=replace(by_gs02.envelope, group_sender="87726"))
    assert post_files(ledger, [write_835(tmp_path, "b.835", [by_gs02])], actor="t").files_posted == ["b.835"]
    renamed = OurPayer(name="OPTUM", ids=frozenset({"04293"}))
    by_ref = masshealth(remit([pay(claims[2])], "T3"))
    assert post_files(ledger, [write_835(tmp_path, "c.835", [by_ref])], actor="t", payer=renamed).files_posted
    assert [claim_row(ledger, c.claim_id)[0] for c in claims] == ["paid", "paid", "paid"]
    ledger.dispose()


def test_835_paid_to_another_provider_is_quarantined(ledger_url: str, tmp_path: Path) -> None:
    ledger = ledger_with(ledger_url, [make_claim("C1")])
    elsewhere = replace(remit([pay(make_claim("C1"))], "T1"), payee_npi=OTHER_NPI)
    report = post_files(ledger, [write_835(tmp_path, "a.835", [elsewhere])], actor="t")
    assert report.failed == [("a.835", f"835 trace T1: paid to NPI {OTHER_NPI}, not ours")]
    by_tin = replace(remit([pay(make_claim("C1"))], "T2"), payee_npi="", payee_tax_id="999999999")
    report = post_files(ledger, [write_835(tmp_path, "b.835", [by_tin])], actor="t")
    assert report.failed == [("b.835", "835 trace T2: paid to TIN 999999999, not ours")]
    ours_by_tin = replace(remit([pay(make_claim("C1"))], "T3"), payee_npi="", payee_tax_id="041234567")
    assert post_files(ledger, [write_835(tmp_path, "c.835", [ours_by_tin])], actor="t").files_posted == ["c.835"]
    assert money_rows(ledger) == 2
    ledger.dispose()


def test_a_claim_billed_by_another_of_our_providers_refuses_the_file(ledger_url: str, tmp_path: Path) -> None:
    solo = Provider(npi=OTHER_NPI, last_or_org="HARBOR SOLO", entity_type="2", taxonomy="261QM0801X",
                    tax_id="049999999", address=Address("1 HARBOR WAY", "SALEM", "MA", "019701234"))
    ledger = ledger_with(ledger_url, [make_claim("C1"), make_claim("S1", billing=solo)])
    mixed = remit([pay(make_claim("C1")), pay(make_claim("S1"))], "T1")  # paid to the group's NPI
    report = post_files(ledger, [write_835(tmp_path, "a.835", [mixed])], actor="t")
    assert report.failed == [("a.835", f"835 trace T1 pays claim S1: paid to NPI {make_npi('123456789')}, "
                              "not ours (the claim's billing provider is another)")]
    assert money_rows(ledger) == 0 and claim_row(ledger, "C1") == ("sent", None)
    ledger.dispose()


def test_a_claim_never_sent_is_not_paid(ledger_url: str, tmp_path: Path) -> None:
    ledger = ledger_with(ledger_url, [make_claim("C1"), make_claim("C2")], sent=False)
    mark_sent(ledger, ["C1"])
    report = post_files(ledger, [write_835(tmp_path, "a.835",
                                           [remit([pay(make_claim("C1")), pay(make_claim("C2"))], "T1")])], actor="t")
    assert report.failed == [("a.835", "835 trace T1 pays claim C2, which was never sent (it is ready)")]
    assert money_rows(ledger) == 0 and claim_row(ledger, "C1") == ("sent", None)
    ledger.dispose()


def test_upper_cased_clp01_pays_our_lower_case_claim(ledger_url: str, tmp_path: Path) -> None:
    ledger = ledger_with(ledger_url, [make_claim("hl-260904")])
    upper = replace(pay(make_claim("hl-260904")), patient_control_number="HL-260904")
    assert post_files(ledger, [write_835(tmp_path, "a.835", [remit([upper], "T1")])], actor="t").files_posted
    assert claim_row(ledger, "hl-260904") == ("paid", "Phl-260904")
    ledger.dispose()


def _corrected(ledger: Ledger, claim_id: str, frequency: Frequency) -> None:
    with ledger.session() as session:
        create_correction(session, claim_id, frequency=frequency, today=date(2026, 3, 1),
                          window_days=lambda _lob: 180, checker=lambda _c: [], actor="clerk")


def test_late_clp_for_the_original_posts_to_it_never_to_the_unsent_void(ledger_url: str, tmp_path: Path) -> None:
    claim = make_claim("C1")
    ledger = ledger_with(ledger_url, [claim])
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([pay(claim, payer_claim_number="PCN1")], "T1")])],
               actor="t")
    _corrected(ledger, "C1", Frequency.VOID)  # revision 1, not sent yet
    late = pay(claim, payer_claim_number="PCN1", contractual=D("40.00"))  # the payer's second look at the original
    report = post_files(ledger, [write_835(tmp_path, "b.835", [remit([late], "T2")])], actor="t")
    assert report.files_posted == ["b.835"] and report.payments.claims_posted == 1
    with ledger.session() as session:
        on_revision = dict(session.execute(select(Claim.revision, func.count(ClaimPayment.id))
                                           .outerjoin(ClaimPayment, ClaimPayment.claim_pk == Claim.id)
                                           .group_by(Claim.revision)).all())
    assert on_revision == {0: 2, 1: 0}
    assert claim_row(ledger, "C1", 0) == ("voided", "PCN1") and claim_row(ledger, "C1", 1) == ("ready", None)
    # a reversal of the original while the void waits to be sent leaves the void alone too
    report = post_files(ledger, [write_835(tmp_path, "c.835", [remit([reverse(late)], "T3")])], actor="t")
    assert report.payments.reversals == 1 and claim_row(ledger, "C1", 1) == ("ready", None)
    assert claim_row(ledger, "C1", 0) == ("voided", "PCN1")
    ledger.dispose()


def test_a_sent_replacement_is_paid_by_its_ref_f8_and_the_original_keeps_its_late_clp(ledger_url: str,
                                                                                         tmp_path: Path) -> None:
    claim = make_claim("C1")
    ledger = ledger_with(ledger_url, [claim])
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([pay(claim, payer_claim_number="PCN1")], "T1")])],
               actor="t")
    _corrected(ledger, "C1", Frequency.REPLACEMENT)
    mark_sent(ledger, ["C1"])  # revision 1 went out with REF*F8 PCN1
    new = replace(pay(claim, payer_claim_number="PCN2", contractual=D("20.00")), references=(("F8", "PCN1"),))
    late = pay(claim, payer_claim_number="PCN1", contractual=D("45.00"))
    report = post_files(ledger, [write_835(tmp_path, "b.835", [remit([new, late], "T2")])], actor="t")
    assert report.files_posted == ["b.835"]
    with ledger.session() as session:
        paid = dict(session.execute(select(ClaimPayment.payer_claim_number, Claim.revision)
                                    .join(Claim, Claim.id == ClaimPayment.claim_pk)
                                    .where(ClaimPayment.remittance_id == select(Remittance.id).where(
                                        Remittance.trace_number == "T2").scalar_subquery())).all())
    assert paid == {"PCN2": 1, "PCN1": 0}
    assert claim_row(ledger, "C1", 1) == ("paid", "PCN2") and claim_row(ledger, "C1", 0) == ("replaced", "PCN1")
    ledger.dispose()


def test_a_negative_deposit_that_is_not_a_reversal_is_quarantined(ledger_url: str, tmp_path: Path) -> None:
    claim = make_claim("C1")
    ledger = ledger_with(ledger_url, [claim])
    clawback = replace(pay(claim, contractual=D("230.00")), status="1")  # pays -50 without reversing anything
    assert clawback.paid == D("-50.00")
    report = post_files(ledger, [write_835(tmp_path, "a.835", [remit([clawback], "T1")])], actor="t")
    assert report.failed == [("a.835", "835 trace T1: a negative deposit (BPR02 -50; claims net -50) "
                              "that is not a reversal")]
    debit = replace(remit([pay(claim)], "T2"), credit_debit="D")
    report = post_files(ledger, [write_835(tmp_path, "b.835", [debit])], actor="t")
    assert report.failed[0][1].startswith("835 trace T2: a negative deposit (BPR02 150, a debit;")
    assert money_rows(ledger) == 0
    with ledger.session() as session:
        assert session.scalar(select(func.count()).select_from(Quarantine)) == 2
    ledger.dispose()


def test_corpus_835s_are_other_payers_and_other_payees(ledger_url: str, corpus_dir: Path) -> None:
    """The public 835s are not Optum BH's: quarantined by default.  A config that names their payers
    explicitly (the test's choice, to reach the next check) gets them past the payer test, and then
    they are paid to providers that are not ours: quarantined again, nothing posted either way."""
    by_content = {path.read_bytes(): path for path in sorted(corpus_dir.glob("**/*.835"))}
    files = sorted(by_content.values())  # demo.835 and medicare-part-a.835 are one file
    assert len(files) == 5
    ledger = ledger_with(ledger_url, [make_claim("666123"), make_claim("0001000054")])  # their CLP01s, our claims
    report = post_files(ledger, files, actor="t")
    assert report.files_posted == [] and len(report.failed) == len(files)
    assert all(": from another payer: " in why for _, why in report.failed), report.failed
    assert any("INSURANCE COMPANY OF TIMBUCKTU" in why for _, why in report.failed)
    with ledger.session() as session:
        ids = list(session.scalars(select(Transmission.id).where(Transmission.direction == "in")))
    for transmission_id in ids:
        release_quarantined(ledger, transmission_id, actor="clerk")
    theirs = OurPayer(name="CORPUS PAYERS", ids=frozenset({"999", "000000005"}),
                      trace_ids=frozenset({"1512345678", "1566339911", "1935665544", "1559123456"}))
    again = post_pending(ledger, actor="t", payer=theirs)
    assert again.files_posted == [] and len(again.failed) == len(files)
    assert all(": paid to " in why and why.endswith(", not ours") for _, why in again.failed), again.failed
    assert money_rows(ledger) == 0 and claim_row(ledger, "666123") == ("sent", None)
    ledger.dispose()


def test_the_sandbox_835_is_ours() -> None:
    """The demo's stand-in payer writes N1*PR with REF*2U 87726 and N1*PE with our billing NPI."""
    from sandbox.clearinghouse import answer_837
    from tests.test_x837p_build import build

    claim = make_claim("C1")
    answer = answer_837(build([claim]), today=date(2026, 11, 23), first_control_number=5)
    assert answer.remit_835 is not None
    (remittance,) = read_835(answer.remit_835)
    assert OurPayer().pays(remittance) and remittance.payer_reference == "87726"
    assert (remittance.payee_qualifier, remittance.payee_identifier) == ("XX", claim.billing.npi)


def test_ingest_claims_helper_is_unchanged_for_unsent_claims(ledger_url: str) -> None:
    """``ledger_with(sent=False)`` leaves claims as ingest stores them (a guard for the helper itself)."""
    ledger = ledger_with(ledger_url, [make_claim("C9")], sent=False)
    assert claim_row(ledger, "C9") == ("ready", None)
    assert ingest_claims(ledger, [make_claim("C9")], checker=lambda _c: [], actor="t").unchanged == ["C9"]
    ledger.dispose()


@pytest.mark.parametrize("where", ["payee", "payer"])
def test_refusal_reasons_never_name_the_patient(ledger_url: str, tmp_path: Path, where: str) -> None:
    ledger = ledger_with(ledger_url, [make_claim("C1")])
    base = remit([pay(make_claim("C1"))], "T1")
    bad = replace(base, payee_npi=OTHER_NPI) if where == "payee" else masshealth(base)
    report = post_files(ledger, [write_835(tmp_path, "a.835", [bad])], actor="t")
    text = repr(report) + repr(quarantined(ledger))
    with ledger.session() as session:
        text += " ".join(q.reason + (q.detail or "") for q in session.scalars(select(Quarantine)))
    assert report.failed and not any(marker in text for marker in ("RIVERA", "MARIA", "987654321", "1980"))
    ledger.dispose()


MANAGED_CARE_HEAD = (
    "ISA*00*          *00*          *ZZ*87726          *ZZ*RIVERBEND      *260202*1200*^*00501*000000001*0*T*:~"
    "GS*HP*OPTUMGS*RIVERBEND*20260202*1200*1*X*005010X221A1~ST*835*0001~BPR*H*0*C*NON************20260202~"
    "TRN*1*T9*1411289245~N1*PR*OPTUM BEHAVIORAL HEALTH*XV*87726~REF*2U*OBH~N1*PE*RIVERBEND*FI*041234567~"
    "SE*7*0001~GE*1*1~IEA*1*000000001~")


def test_the_readers_expose_who_pays_whom() -> None:
    """Both 835 readers give the header the fields ``OurPayer`` and the poster judge."""
    from edi.x835 import RemittanceHeader, read_remittance_text

    (remittance,) = read_835(MANAGED_CARE_HEAD)
    header = next(p for p in read_remittance_text(MANAGED_CARE_HEAD) if isinstance(p, RemittanceHeader)).remittance
    for record in (remittance, header):
        assert (record.envelope.sender_id, record.envelope.group_sender) == ("87726", "OPTUMGS")
        assert (record.payer_qualifier, record.payer_identifier, record.payer_reference) == ("XV", "87726", "OBH")
        assert (record.trace_payer_id, record.payee_qualifier, record.payee_identifier) == ("1411289245", "FI",
                                                                                            "041234567")
        assert paid_to(record, "1234567893", "041234567") and not paid_to(record, "1234567893", "049999999")
    assert OurPayer(ids=frozenset({"OPTUMGS"})).pays(remittance)
    assert not OurPayer(ids=frozenset({"04293"})).pays(remittance)
    assert OurPayer(ids=frozenset({"04293"})).refusal(remittance) == (
        "from another payer: OPTUM BEHAVIORAL HEALTH (not OPTUM BEHAVIORAL HEALTH)")


def test_the_payer_section_of_the_config(tmp_path: Path) -> None:
    from runtime.config import ConfigError, load_config, starter_config

    path = tmp_path / "bhclaims.toml"
    starter = starter_config(transport_url="file://./ch")
    path.write_text(starter)
    assert load_config(path).payer == OurPayer()  # the starter config names it only in comments
    path.write_text(starter.replace("[payer]\n", '[payer]\nname = "OPTUM BH"\nids = ["87726", " OBH "]\n'
                                    'trn03_ids = ["1411289245"]\n'))
    assert load_config(path).payer == OurPayer("OPTUM BH", frozenset({"87726", "OBH"}), frozenset({"1411289245"}))
    for bad, why in [('ids = "87726"', "[payer] ids must be a list"), ("ids = []", "[payer] ids must name at least"),
                     ("trn03_ids = [1411289245]", "[payer] trn03_ids must be a list")]:
        path.write_text(starter.replace("[payer]\n", f"[payer]\n{bad}\n"))
        with pytest.raises(ConfigError, match=why.replace("[", r"\[").replace("]", r"\]")):
            load_config(path)
