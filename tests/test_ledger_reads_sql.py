"""The set-based reads (``ledger.money``) equal the per-claim definition, on SQLite and PostgreSQL.

A varied ledger is written row by row (paid, partly paid, denied, voided with a reversal,
corrected, never posted, an unmatched CLP, a PLB, claims in every aging bucket and one served
in the future); the expected claim list, A/R aging, deposits and denials are computed here,
in plain Python over the same rows, the way the reports were defined claim by claim.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from clerk import reports
from cli import main_group
from domain.codes import describe_carc
from ledger.db import Ledger
from ledger.models import Adjustment, Claim, ClaimPayment, Party, ProviderAdjustment, Remittance
from ledger.queries import list_claims

TODAY = date(2026, 11, 23)
ZERO = Decimal("0")
CONTRACTUAL = {("CO", "45"), ("CO", "253")}


@dataclass
class PlainClaim:
    claim_id: str
    revision: int
    status: str
    lob: str
    billed: Decimal
    served: date
    payments: list[tuple[Decimal, list[tuple[str, str, Decimal]]]] = field(default_factory=list)
    pk: int = 0


@dataclass
class PlainLedger:
    claims: list[PlainClaim]
    remittances: dict[str, tuple[date, Decimal]]  # trace -> (date, BPR02)
    claim_payments: list[tuple[str, int | None, Decimal, list[tuple[str, str, Decimal]]]]  # trace, pk
    plb: dict[str, Decimal]


def _d(text: str) -> Decimal:
    return Decimal(text)


def _claims() -> list[PlainClaim]:
    day = TODAY.toordinal()
    return [
        PlainClaim("PAID-1", 1, "paid", "commercial", _d("200.00"), date.fromordinal(day - 10)),
        PlainClaim("PART-1", 1, "partially_paid", "medicaid", _d("300.00"), date.fromordinal(day - 45)),
        PlainClaim("DENY-1", 1, "denied", "medicaid", _d("180.00"), date.fromordinal(day - 70)),
        PlainClaim("VOID-1", 1, "replaced", "commercial", _d("120.00"), date.fromordinal(day - 120)),
        PlainClaim("VOID-1", 2, "voided", "commercial", _d("120.00"), date.fromordinal(day - 120)),
        PlainClaim("CORR-1", 1, "replaced", "sco", _d("250.00"), date.fromordinal(day - 95)),
        PlainClaim("CORR-1", 2, "partially_paid", "sco", _d("250.00"), date.fromordinal(day - 95)),
        PlainClaim("SENT-1", 1, "sent", "commercial", _d("90.00"), date.fromordinal(day - 31)),
        PlainClaim("SENT-2", 1, "accepted", "medicare_advantage", _d("75.50"), date.fromordinal(day - 61)),
        PlainClaim("SOON-1", 1, "ready", "commercial", _d("60.00"), date.fromordinal(day + 3)),
        PlainClaim("ZERO-1", 1, "paid", "commercial", _d("100.00"), date.fromordinal(day - 5)),
    ]


def build_ledger(url: str) -> PlainLedger:
    """The plain ledger's claims written into the head-revision ledger at ``url``."""
    ledger = Ledger(url)
    now = datetime.now(UTC)
    claims = _claims()
    by_key = {(c.claim_id, c.revision): c for c in claims}
    remittances = {"TRN-A": (TODAY - timedelta(days=40), _d("0")), "TRN-B": (TODAY - timedelta(days=5), _d("0")),
                   "TRN-EMPTY": (TODAY - timedelta(days=2), _d("0.00"))}
    # (trace, claim key or None, CLP02, paid, [CAS])
    clps: list[tuple[str, tuple[str, int] | None, str, Decimal, list[tuple[str, str, Decimal]]]] = [
        ("TRN-A", ("PAID-1", 1), "1", _d("150.00"), [("CO", "45", _d("50.00"))]),
        ("TRN-A", ("PART-1", 1), "1", _d("100.00"),
         [("CO", "45", _d("50.00")), ("PR", "2", _d("30.00")), ("CO", "197", _d("120.00"))]),
        ("TRN-A", ("DENY-1", 1), "4", _d("0.00"), [("CO", "197", _d("180.00"))]),
        ("TRN-A", ("VOID-1", 1), "1", _d("100.00"), [("CO", "45", _d("20.00"))]),
        ("TRN-B", ("VOID-1", 1), "22", _d("-100.00"), [("CO", "45", _d("-20.00"))]),
        ("TRN-A", ("CORR-1", 1), "1", _d("150.00"), [("CO", "45", _d("25.00")), ("OA", "23", _d("75.00"))]),
        ("TRN-B", ("CORR-1", 2), "1", _d("200.00"),
         [("CO", "45", _d("25.00")), ("PR", "3", _d("10.00")), ("CO", "16", _d("15.00"))]),
        ("TRN-B", None, "4", _d("0.00"), [("CO", "16", _d("40.00"))]),
        ("TRN-B", ("ZERO-1", 1), "1", _d("90.00"), [("CO", "253", _d("2.00")), ("PR", "1", _d("8.00"))]),
    ]
    plb = {"TRN-B": _d("12.34")}
    with ledger.session() as session:
        party = {"role": "provider", "fingerprint": "b" * 64, "npi": "1234567893", "entity_type": "2",
                 "last_or_org": "RIVERBEND"}
        billing = session.execute(insert(Party).returning(Party.id), party).scalar_one()
        for claim in claims:
            claim.pk = session.execute(insert(Claim).returning(Claim.id), {
                "claim_id": claim.claim_id, "revision": claim.revision,
                "frequency": "1" if claim.revision == 1 else ("8" if claim.status == "voided" else "7"),
                "status": claim.status, "line_of_business": claim.lob, "payer_id": "87726", "payer_name": "OPTUM",
                "relationship_code": "18", "rendering_license": "independent", "diagnoses": "F331",
                "billed": claim.billed, "first_service_date": claim.served, "billing_id": billing,
                "subscriber_id": billing, "content_hash": "x" * 64, "created_at": now, "updated_at": now,
            }).scalar_one()
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for trace, _key, _status, paid, _cas in clps:
            totals[trace] += paid
        remit_pk = {}
        for trace, (paid_on, _) in remittances.items():
            bpr = totals[trace] - plb.get(trace, ZERO)
            if trace == "TRN-B":
                bpr += _d("0.01")  # a deposit that does not reconcile
            remittances[trace] = (paid_on, bpr)
            remit_pk[trace] = session.execute(insert(Remittance).returning(Remittance.id), {
                "payer_id": "87726", "payer_name": "OPTUM BH" if trace != "TRN-A" else None, "trace_number": trace,
                "total_paid": bpr, "payment_method": "ACH", "payment_date": paid_on, "content_sha256": trace,
                "created_at": now}).scalar_one()
        for trace, amount in plb.items():
            session.execute(insert(ProviderAdjustment), {"remittance_id": remit_pk[trace], "provider_id": "1234567893",
                                                         "reason_code": "WO", "amount": amount})
        plain_payments = []
        for trace, key, status, paid, cas in clps:
            claim_pk = by_key[key].pk if key else None
            payment = session.execute(insert(ClaimPayment).returning(ClaimPayment.id), {
                "remittance_id": remit_pk[trace], "claim_pk": claim_pk, "patient_control_number": key[0] if key else "X",
                "status_code": status, "charge": paid, "paid": paid, "patient_responsibility": ZERO,
                "outcome": {"4": "denied", "22": "reversal"}.get(status, by_key[key].status if key else None),
                "created_at": now}).scalar_one()
            for group, reason, amount in cas:
                session.execute(insert(Adjustment), {"claim_payment_id": payment, "group_code": group,
                                                     "reason_code": reason, "amount": amount})
            if key:
                by_key[key].payments.append((paid, cas))
            plain_payments.append((trace, claim_pk, paid, cas))
    ledger.dispose()
    return PlainLedger(claims, remittances, plain_payments, plb)


# --- the per-claim definitions, in plain Python ---------------------------------------------------


def expected_totals(claim: PlainClaim) -> dict[str, Decimal]:
    cas = [c for _, adjustments in claim.payments for c in adjustments]
    paid = sum((p for p, _ in claim.payments), ZERO)
    patient = sum((a for g, _, a in cas if g == "PR"), ZERO)
    contractual = sum((a for g, r, a in cas if (g, r) in CONTRACTUAL), ZERO)
    denied = sum((a for g, r, a in cas if g != "PR" and (g, r) not in CONTRACTUAL), ZERO)
    closed = claim.status in ("replaced", "voided")
    return {"billed": claim.billed, "paid": paid, "adjusted": contractual, "denied": denied,
            "patient_responsibility": patient, "balance": ZERO if closed else claim.billed - paid - contractual - patient}


def expected_aging(plain: PlainLedger) -> list[dict[str, Any]]:
    def bucket(days: int) -> str:
        return "0-30" if days <= 30 else "31-60" if days <= 60 else "61-90" if days <= 90 else "90+"

    cells: dict[str, dict[str, Decimal]] = {}
    counts: dict[str, int] = defaultdict(int)
    for claim in plain.claims:
        balance = expected_totals(claim)["balance"]
        if claim.status in ("replaced", "voided") or balance == ZERO:
            continue
        row = cells.setdefault(claim.lob, dict.fromkeys(("0-30", "31-60", "61-90", "90+"), ZERO))
        row[bucket((TODAY - claim.served).days)] += balance
        counts[claim.lob] += 1
    out = []
    total = dict.fromkeys(("0-30", "31-60", "61-90", "90+"), ZERO)
    for lob in sorted(cells):
        for name, value in cells[lob].items():
            total[name] += value
        out.append({"line_of_business": lob, "claims": counts[lob], **{k: f"{v:.2f}" for k, v in cells[lob].items()},
                    "total": f"{sum(cells[lob].values(), ZERO):.2f}"})
    out.append({"line_of_business": "TOTAL", "claims": sum(counts.values()),
                **{k: f"{v:.2f}" for k, v in total.items()}, "total": f"{sum(total.values(), ZERO):.2f}"})
    return out


def expected_payments(plain: PlainLedger, date_from: date | None = None) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for trace, (paid_on, bpr) in sorted(plain.remittances.items(), key=lambda item: item[1][0]):
        if date_from and paid_on < date_from:
            continue
        claims_paid = sum((paid for t, _, paid, _ in plain.claim_payments if t == trace), ZERO)
        plb = plain.plb.get(trace, ZERO)
        reconciled = "yes" if claims_paid - plb == bpr else "NO"
        rows.append((trace, f"{bpr:.2f}", f"{claims_paid:.2f}", f"{plb:.2f}", reconciled))
    return rows


def expected_denials(plain: PlainLedger) -> list[dict[str, Any]]:
    amounts: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    claims: dict[tuple[str, str], set[int | None]] = defaultdict(set)
    for _, claim_pk, _, cas in plain.claim_payments:
        for group, reason, amount in cas:
            if group == "PR" or (group, reason) in CONTRACTUAL:
                continue
            amounts[(group, reason)] += amount
            claims[(group, reason)].add(claim_pk)
    ranked = sorted(amounts, key=lambda k: (-amounts[k], k))
    return [{"carc": f"{g}-{r}", "reason": describe_carc(g, r), "claims": len(claims[(g, r)]),
             "amount": f"{amounts[(g, r)]:.2f}"} for g, r in ranked]


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture
def plain_ledger(ledger_url: str) -> Iterator[tuple[str, PlainLedger]]:
    yield ledger_url, build_ledger(ledger_url)


def test_claim_list_money_equals_the_per_claim_definition(plain_ledger: tuple[str, PlainLedger]) -> None:
    url, plain = plain_ledger
    ledger = Ledger(url)
    try:
        with ledger.read_session() as session:
            listed = list_claims(session)
    finally:
        ledger.dispose()
    expected = sorted(plain.claims, key=lambda c: (c.claim_id, c.revision))
    assert [(r["claim_id"], r["revision"], r["status"]) for r in listed] == [
        (c.claim_id, c.revision, c.status) for c in expected]
    for row, claim in zip(listed, expected, strict=True):
        assert {k: row[k] for k in expected_totals(claim)} == {
            k: f"{v:.2f}" for k, v in expected_totals(claim).items()}, claim.claim_id
    by_id = {(r["claim_id"], r["revision"]): r for r in listed}
    assert by_id[("VOID-1", 1)]["paid"] == "0.00"  # the reversal netted the payment out
    assert by_id[("PART-1", 1)]["balance"] == "120.00"  # denied money stays open


def test_reports_equal_the_per_claim_definitions(plain_ledger: tuple[str, PlainLedger]) -> None:
    url, plain = plain_ledger
    ledger = Ledger(url)
    try:
        with ledger.read_session() as session:
            aging = reports.ar_aging(session, TODAY)
            deposits = reports.payments(session)
            recent = reports.payments(session, TODAY - timedelta(days=10))
            denials = reports.denials(session)
            dated_denials = reports.denials(session, TODAY - timedelta(days=10), TODAY)
    finally:
        ledger.dispose()
    assert aging == expected_aging(plain)
    # ZERO-1 is settled and CORR-1 rev 1 closed; rev 2 (95 days) keeps its CO-16 15.00 open
    assert aging[-1]["claims"] == 6 and aging[-1]["90+"] == "15.00"
    shape = [(d["trace_number"], d["deposit"], d["claims_paid"], d["provider_adjustments"], d["reconciled"])
             for d in deposits]
    assert shape == expected_payments(plain)
    assert [d["trace_number"] for d in recent] == [t for t, *_ in expected_payments(plain, TODAY - timedelta(days=10))]
    assert next(d for d in deposits if d["trace_number"] == "TRN-B")["difference"] == "0.01"
    assert denials == expected_denials(plain)
    assert {d["carc"] for d in dated_denials} == {"CO-16"}  # TRN-A's denials are older than ten days
    co16 = next(d for d in dated_denials if d["carc"] == "CO-16")
    assert (co16["claims"], co16["amount"]) == (2, "55.00")  # CORR-1 rev 2 and the unmatched CLP


def test_claims_json_streams_one_object_per_line(plain_ledger: tuple[str, PlainLedger], tmp_path: Any) -> None:
    url, plain = plain_ledger
    folder = tmp_path / "practice"
    made = CliRunner().invoke(main_group, ["--db", url, "init", str(folder)])
    assert made.exit_code == 0, made.output
    result = CliRunner().invoke(main_group, ["--config", str(folder / "bhclaims.toml"), "--db", url,
                                             "claims", "--json", "--status", "partially_paid"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["claim_id"], r["revision"]) for r in rows] == [("CORR-1", 2), ("PART-1", 1)]
    corrected = next(c for c in plain.claims if (c.claim_id, c.revision) == ("CORR-1", 2))
    assert rows[0]["balance"] == f"{expected_totals(corrected)['balance']:.2f}"
