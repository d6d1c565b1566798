"""The clerk's worklists: what needs a human today, each row with its deadline.

Read-only views of the ledger.  Every function takes a session, the ``today``
the deadlines count from, and (where a window applies) the practice's
``RuleSettings``, so timely-filing, corrected-claim and appeal windows come from the
one place the claim scrubber reads them (``[rules]`` of bhclaims.toml).  Rows are plain dicts of strings and ints,
ready for a table, CSV or JSON; money is text with two decimals.

What posting leaves for a person to do (no ``today``: these have no deadline of their own).
Each function is a read-only query over one session and returns plain dicts
(amounts as ``Decimal``), ready for a rich table or ``--json``:

- ``unmatched_items``: CLPs whose CLP01 matched no claim (``claim_payments.claim_pk``
  NULL) and SVCs that matched no billed line (``service_payments.service_line_id`` NULL).
- ``denial_worklist``: claims whose latest standing adjudication is a denial, with
  every CARC/RARC and its description.
- ``provider_adjustment_items``: PLB rows with the claim they name, if any.
- ``quarantine_items``: files waiting for review and why.

"Standing" means not cancelled: a CLP02 22 reversal and the posting it reverses
(``claim_payments.reverses_id``) cancel each other and drop out of the worklists.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Subquery

from domain.adjudication import is_contractual
from domain.claim import NO_COST_SHARE_PLANS, LineOfBusiness
from domain.codes import describe_carc, describe_group, describe_rarc
from ledger import denials as open_denials
from ledger.denials import line_denial_query
from ledger.kept_denials import not_reversed
from ledger.models import (
    Acknowledgement,
    Adjustment,
    Claim,
    ClaimEvent,
    ClaimPayment,
    ClaimStatus,
    ProviderAdjustment,
    Quarantine,
    Remittance,
    ServiceLine,
    ServicePayment,
    Transmission,
    member_charged,
)
from ledger.money import as_money
from ledger.queries import unmatched_money
from validators.settings import RuleSettings

ZERO = Decimal("0")


# --- what posting leaves to do -----------------------------------------------------------------


def _standing():  # type: ignore[no-untyped-def]
    """Claim payments that are neither a reversal nor reversed."""
    return and_(ClaimPayment.status_code != "22", not_reversed())


def _unmatched(
    kind: str,
    payment: ClaimPayment,
    remit: Remittance,
    claim_id: str,
    charge: Decimal,
    paid: Decimal,
    line_ref: str | None,
    procedure: str | None,
) -> dict[str, Any]:
    """One row of ``unmatched_items``: a CLP (``kind`` claim) or an SVC (``kind`` line)."""
    return {
        "kind": kind,
        "claim_payment_id": payment.id,
        "claim_id": claim_id,
        "payer_claim_number": payment.payer_claim_number,
        "status_code": payment.status_code,
        "charge": charge,
        "paid": paid,
        "trace_number": remit.trace_number,
        "payer_id": remit.payer_id,
        "line_ref": line_ref,
        "procedure": procedure,
        "payment_date": remit.payment_date,
        "payment_method": remit.payment_method,
    }


def unmatched_items(session: Session) -> list[dict[str, Any]]:
    items = [
        _unmatched(
            "claim", payment, remit, payment.patient_control_number, payment.charge, payment.paid, None, None
        )
        for payment, remit in session.execute(
            select(ClaimPayment, Remittance)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(ClaimPayment.claim_pk.is_(None))
            .order_by(ClaimPayment.id)
        )
    ]
    items.extend(
        _unmatched(
            "line", payment, remit, claim.claim_id, line.charge, line.paid, line.line_ref, line.procedure_code
        )
        for line, payment, claim, remit in session.execute(
            select(ServicePayment, ClaimPayment, Claim, Remittance)
            .join(ClaimPayment, ClaimPayment.id == ServicePayment.claim_payment_id)
            .join(Claim, Claim.id == ClaimPayment.claim_pk)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(ServicePayment.service_line_id.is_(None))
            .order_by(ServicePayment.id)
        )
    )
    return items


def _codes(session: Session, payment_ids: list[int]) -> dict[int, list[Adjustment]]:
    found: dict[int, list[Adjustment]] = {}
    if payment_ids:
        for adj in session.scalars(
            select(Adjustment).where(Adjustment.claim_payment_id.in_(payment_ids)).order_by(Adjustment.id)
        ):
            found.setdefault(adj.claim_payment_id, []).append(adj)
    return found


def denial_worklist(session: Session) -> list[dict[str, Any]]:
    """Denied claims (status ``denied``) with the standing denial that put them there."""
    latest = (
        select(ClaimPayment.claim_pk, func.max(ClaimPayment.id).label("id"))
        .where(_standing(), ClaimPayment.claim_pk.is_not(None))
        .group_by(ClaimPayment.claim_pk)
        .subquery()
    )
    rows = list(
        session.execute(
            select(Claim, ClaimPayment, Remittance)
            .join(latest, latest.c.claim_pk == Claim.id)
            .join(ClaimPayment, ClaimPayment.id == latest.c.id)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(Claim.status == ClaimStatus.DENIED, ClaimPayment.outcome == ClaimStatus.DENIED)
            .order_by(Remittance.payment_date, Claim.claim_id)
        )
    )
    adjustments = _codes(session, [payment.id for _, payment, _ in rows])
    remarks_by_payment: dict[int, list[str]] = {}
    for payment_id, codes in session.execute(  # remark_codes IS NOT NULL: codes is a string
        select(ServicePayment.claim_payment_id, ServicePayment.remark_codes).where(
            ServicePayment.claim_payment_id.in_([p.id for _, p, _ in rows]),
            ServicePayment.remark_codes.is_not(None),
        )
    ):
        remarks_by_payment.setdefault(payment_id, []).extend((codes or "").split(","))
    items = []
    for claim, payment, remit in rows:
        remarks = [c for c in (payment.remark_codes or "").split(",") if c] + remarks_by_payment.get(
            payment.id, []
        )
        adjs = adjustments.get(payment.id, [])
        items.append(
            {
                "claim_id": claim.claim_id,
                "revision": claim.revision,
                "line_of_business": claim.line_of_business,
                "first_service_date": claim.first_service_date,
                "payer_claim_number": payment.payer_claim_number,
                "billed": claim.billed,
                "paid": payment.paid,
                "denied": sum((a.amount for a in adjs if a.group_code != "PR"), ZERO),
                "trace_number": remit.trace_number,
                "payment_date": remit.payment_date,
                "carcs": [
                    {
                        "group": a.group_code,
                        "group_description": describe_group(a.group_code),
                        "code": a.reason_code,
                        "amount": a.amount,
                        "description": describe_carc(a.group_code, a.reason_code),
                    }
                    for a in adjs
                ],
                "rarcs": [
                    {"code": code, "description": describe_rarc(code)} for code in dict.fromkeys(remarks)
                ],
            }
        )
    return items


def provider_adjustment_items(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ProviderAdjustment, Remittance, Claim)
        .join(Remittance, Remittance.id == ProviderAdjustment.remittance_id)
        .outerjoin(Claim, Claim.id == ProviderAdjustment.claim_pk)
        .order_by(ProviderAdjustment.id)
    )
    return [
        {
            "trace_number": remit.trace_number,
            "payer_id": remit.payer_id,
            "provider_id": plb.provider_id,
            "reason": plb.reason_code,
            "reference": plb.reference,
            "amount": plb.amount,
            "fiscal_period_date": plb.fiscal_period_date,
            "claim_id": claim.claim_id if claim else None,
            "claim_payment_id": plb.claim_payment_id,
        }
        for plb, remit, claim in rows
    ]


def quarantine_items(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Quarantine, Transmission)
        .outerjoin(Transmission, Transmission.id == Quarantine.transmission_id)
        .order_by(Quarantine.id)
    )
    return [
        {
            "id": q.id,
            "transmission_id": q.transmission_id,
            "file": t.file_name if t else None,
            "state": t.state if t else None,
            "reason": q.reason,
            "details": json.loads(q.detail) if q.detail and q.detail.startswith("[") else q.detail,
            "at": q.created_at,
        }
        for q, t in rows
    ]


# --- the clerk's worklists, with deadlines ------------------------------------------------------

NO_COST_SHARE = tuple(sorted(lob.value for lob in NO_COST_SHARE_PLANS))
"""Plans whose members cannot be charged: patient responsibility must be zero."""

REJECTION_EVENTS = ("transmission_rejected", "rejected_277ca")

CATEGORY_277CA = {
    "A3": "returned as unprocessable",
    "A4": "not found",
    "A6": "rejected for missing information",
    "A7": "rejected for invalid information",
    "A8": "rejected for relational field in error",
}
"""277CA STC01-1 rejection categories (code source 507)."""

SEGMENT_ERRORS_999 = {
    "1": "unrecognized segment",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs too many times",
    "5": "segment exceeds maximum use",
    "6": "segment not in the transaction set",
    "7": "segment out of sequence",
    "8": "segment has element errors",
}
"""999 IK304 segment syntax error codes."""


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def appeal_deadline(lob: str, remit_date: date, settings: RuleSettings) -> date:
    """The last day to appeal a denial remitted on ``remit_date`` (``[rules.appeal_windows]``)."""
    amount, unit = settings.appeal_window(_lob(lob))
    return add_months(remit_date, amount) if unit == "months" else remit_date + timedelta(days=amount)


def _lob(value: str) -> LineOfBusiness:
    try:
        return LineOfBusiness(value)
    except ValueError:
        return LineOfBusiness.COMMERCIAL


def _remit_date(session: Session, claim: Claim) -> date | None:
    """The date of the newest remittance that adjudicated this claim (BPR16, else when we posted it)."""
    row = session.execute(
        select(Remittance.payment_date, Remittance.created_at)
        .join(ClaimPayment, ClaimPayment.remittance_id == Remittance.id)
        .where(ClaimPayment.claim_pk == claim.id)
        .order_by(ClaimPayment.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return row.payment_date or row.created_at.date()


def _reasons(carcs: Iterable[dict[str, Any]]) -> tuple[str, str, Decimal]:
    """('CO-197; CO-16', 'words; words', denied amount) from a denial's CAS codes (PR and contractual left out)."""
    totals: dict[tuple[str, str], Decimal] = {}
    for c in carcs:
        key = (c["group"], c["code"])
        if key[0] != "PR" and not is_contractual(*key):
            totals[key] = totals.get(key, ZERO) + c["amount"]
    codes = "; ".join(f"{g}-{r}" for g, r in totals)
    words = "; ".join(f"{g}-{r}: {d}" for (g, r), d in ((k, describe_carc(*k)) for k in totals) if d)
    return codes, words, sum(totals.values(), ZERO)


def _rejected_claims() -> Select[Claim, ClaimEvent]:
    """Claims back at ready (or rejected) whose newest event is a 999 or 277CA rejection."""
    latest = (
        select(ClaimEvent.claim_pk, func.max(ClaimEvent.id).label("id"))
        .join(Claim, Claim.id == ClaimEvent.claim_pk)
        .where(Claim.status.in_((ClaimStatus.READY, ClaimStatus.REJECTED)))
        .group_by(ClaimEvent.claim_pk)
        .subquery("latest_event")
    )
    return (
        select(Claim, ClaimEvent)
        .join(latest, latest.c.claim_pk == Claim.id)
        .join(ClaimEvent, ClaimEvent.id == latest.c.id)
        .where(ClaimEvent.event.in_(REJECTION_EVENTS))
    )


def rejected(session: Session, today: date) -> list[dict[str, Any]]:
    """Claims a 999 or 277CA sent back and nobody has resent yet, with the reason and the fix."""
    rows = []
    for claim, event in session.execute(_rejected_claims().order_by(Claim.claim_id, Claim.revision)):
        if event.event == "rejected_277ca":
            source, reason, fix = (
                "277CA",
                _reason_277ca(session, claim, event.detail),
                ("correct the claim in the PM system, export it again; nightly ingests and sends it"),
            )
        else:
            source, reason = "999", _reason_999(event.detail or "")
            fix = (
                "the claim is queued again and goes out in the next build; if the same error comes back, "
                "correct the named segment in the PM system or the config"
            )
        rows.append(
            {
                "claim_id": claim.claim_id,
                "revision": claim.revision,
                "status": claim.status,
                "line_of_business": claim.line_of_business,
                "source": source,
                "rejected_on": event.at.date().isoformat(),
                "days_ago": (today - event.at.date()).days,
                "reason": reason,
                "fix": fix,
                "billed": money(claim.billed),
            }
        )
    return rows


def _reason_277ca(session: Session, claim: Claim, detail: str | None) -> str:
    codes = detail or ""
    ack = session.scalar(
        select(Acknowledgement)
        .where(Acknowledgement.claim_pk == claim.id, Acknowledgement.kind == "277CA")
        .order_by(Acknowledgement.id.desc())
        .limit(1)
    )
    if ack is not None and ack.detail:
        try:
            codes = json.loads(ack.detail).get("statuses", codes)
        except ValueError:
            pass
    parts = []
    for pair in filter(None, codes.split(",")):
        category, _, status = pair.partition(":")
        words = CATEGORY_277CA.get(category.strip(), "")
        parts.append(f"{category}{' ' + words if words else ''}{f' (status {status})' if status else ''}")
    return "; ".join(parts) or "277CA rejection"


def _reason_999(detail: str) -> str:
    """The 999's segment errors in words: 'NM1 at 12 (loop 2010BA) error 8' gains its meaning."""
    out = []
    for part in detail.split("; "):
        head, sep, code = part.rpartition(" error ")
        if sep and code in SEGMENT_ERRORS_999:
            out.append(f"{head}: {SEGMENT_ERRORS_999[code]}")
        else:
            out.append(part)
    return "; ".join(out)


def _line_denials(session: Session) -> list[dict[str, Any]]:
    """Lines denied inside a claim the payer otherwise paid (e.g. testing denied CO-197, the rest paid).

    Which lines are denied is ``ledger.denials.line_denial_query``'s one definition (also what
    ``status`` counts); here each gets its CARC/RARC words.
    """
    query = line_denial_query(ServicePayment, ClaimPayment, Claim, Remittance, ServiceLine).order_by(ServicePayment.id)
    found = list(session.execute(query))
    by_line: dict[int, list[Adjustment]] = {}
    if found:
        ids = [row[0].id for row in found]
        payments = sorted({row[1].id for row in found})  # a line's CAS carry its CLP's id: that one is indexed
        for adjustment in session.scalars(select(Adjustment).where(Adjustment.claim_payment_id.in_(payments),
                                                                   Adjustment.service_payment_id.in_(ids))):
            by_line.setdefault(adjustment.service_payment_id or 0, []).append(adjustment)
    items = []
    for line, payment, claim, remit, billed_line in found:
        carcs = [
            {"group": a.group_code, "code": a.reason_code, "amount": a.amount}
            for a in by_line.get(line.id, [])
        ]
        if _reasons(carcs)[2] <= ZERO:
            continue  # nothing denied: a $0 line paid in full by contract or by the patient
        remarks = [c for c in (line.remark_codes or "").split(",") if c]
        items.append(
            {
                "claim_id": claim.claim_id,
                "revision": claim.revision,
                "line_of_business": claim.line_of_business,
                "first_service_date": claim.first_service_date,
                "line_id": billed_line.line_id if billed_line is not None else (line.line_ref or ""),
                "procedure": line.procedure_code,
                "service_date": line.service_date or (billed_line.service_date if billed_line else None),
                "payer_claim_number": payment.payer_claim_number,
                "payment_date": remit.payment_date or remit.created_at.date(),
                "carcs": carcs,
                "rarcs": [
                    {"code": code, "description": describe_rarc(code)} for code in dict.fromkeys(remarks)
                ],
            }
        )
    return items


def denial_items(session: Session) -> list[dict[str, Any]]:
    """Whole-claim denials (the posting side's worklist, reversals netted) and denied lines of paid claims
    (``denied`` and ``corrections`` read them; a caller wanting both reads them once and passes them)."""
    claims = [
        {**item, "level": "claim", "line_id": "", "procedure": "", "service_date": None}
        for item in denial_worklist(session)
    ]
    return claims + [{**item, "level": "line"} for item in _line_denials(session)]


def denied(
    session: Session, today: date, settings: RuleSettings, *, denials: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Denied claims and denied lines of paid claims, with the reasons in words and the appeal
    deadline of ``[rules.appeal_windows]`` (days left may be negative)."""
    rows = []
    for item in denial_items(session) if denials is None else denials:
        remit_date = item["payment_date"]
        codes, words, amount = _reasons(item["carcs"])
        remarks = item["rarcs"]
        deadline = appeal_deadline(item["line_of_business"], remit_date, settings) if remit_date else None
        rows.append(
            {
                "claim_id": item["claim_id"],
                "revision": item["revision"],
                "line_id": item["line_id"],
                "procedure": item["procedure"],
                "line_of_business": item["line_of_business"],
                "first_service_date": item["first_service_date"].isoformat(),
                "remit_date": remit_date.isoformat() if remit_date else "",
                "carc": codes,
                "reason": words or codes,
                "rarc": ", ".join(r["code"] for r in remarks),
                "remarks": "; ".join(f"{r['code']}: {r['description']}" for r in remarks),
                "denied": money(amount),
                "appeal_by": deadline.isoformat() if deadline else "",
                "appeal_days_left": (deadline - today).days if deadline else None,
                "payer_claim_number": item["payer_claim_number"] or "",
            }
        )
    rows.sort(
        key=lambda r: (r["appeal_days_left"] is None, r["appeal_days_left"] or 0, r["claim_id"], r["line_id"])
    )
    return rows


def _filing_windows(
    today: date, settings: RuleSettings, within_days: int, *, missed: bool = True
) -> list[tuple[ColumnElement[bool], int]]:
    """Per plan, (the unsent claims whose filing limit falls within ``within_days`` and, unless
    ``missed``, has not passed; the plan's limit in days): the limit turned into dates of service,
    so the database picks them out."""
    known = [lob.value for lob in LineOfBusiness]

    def window(lob: LineOfBusiness) -> ColumnElement[bool]:
        limit = settings.timely_filing_days(lob)
        served = Claim.first_service_date <= today + timedelta(days=within_days - limit)
        return served if missed else and_(served, Claim.first_service_date >= today - timedelta(days=limit))

    unsent = Claim.status.in_(ClaimStatus.NOT_YET_SENT)
    commercial = settings.timely_filing_days(LineOfBusiness.COMMERCIAL)
    return [
        *((and_(unsent, Claim.line_of_business == lob.value, window(lob)), settings.timely_filing_days(lob))
          for lob in LineOfBusiness),
        # a plan the settings do not know is filed as commercial (``_lob``)
        (and_(unsent, Claim.line_of_business.not_in(known), window(LineOfBusiness.COMMERCIAL)), commercial),
    ]


def _filing_soon(
    today: date, settings: RuleSettings, within_days: int, *, missed: bool = True
) -> ColumnElement[bool]:
    """Unsent claims whose filing limit (per line of business) falls within ``within_days`` (and,
    unless ``missed``, has not passed)."""
    return or_(*(picked for picked, _ in _filing_windows(today, settings, within_days, missed=missed)))


def nearest_filing_deadlines(
    session: Session, today: date, settings: RuleSettings, *, within_days: int, limit: int
) -> list[dict[str, Any]]:
    """The first ``limit`` rows of ``timely_filing(..., missed=False)`` (claim id, file by, days left),
    read as the database's few nearest per plan instead of every unsent claim: within a plan the
    deadline is the date of service plus one limit, so the nearest are the earliest dates of service
    (the (status, plan, date of service) index), all of each date taken, as claim ids break ties."""
    found: list[tuple[date, str]] = []
    for picked, days in _filing_windows(today, settings, within_days, missed=False):
        earliest = (select(Claim.first_service_date).where(picked).order_by(Claim.first_service_date)
                    .limit(limit).correlate(None).subquery("earliest"))  # its own claims, not the outer row
        last = select(func.max(earliest.c.first_service_date)).scalar_subquery()
        query = select(Claim.claim_id, Claim.first_service_date).where(picked, Claim.first_service_date <= last)
        found.extend((served + timedelta(days=days), claim_id) for claim_id, served in session.execute(query))
    found.sort()
    return [{"claim_id": claim_id, "file_by": due.isoformat(), "days_left": (due - today).days}
            for due, claim_id in found[:limit]]


def timely_filing(
    session: Session, today: date, settings: RuleSettings, *, within_days: int = 30, missed: bool = True
) -> list[dict[str, Any]]:
    """Claims not yet sent whose filing limit (from the first date of service) is within ``within_days``
    (``missed``: also those whose limit has passed)."""
    rows = []
    query = select(Claim).where(_filing_soon(today, settings, within_days, missed=missed))
    for claim in session.scalars(query):
        limit = settings.timely_filing_days(_lob(claim.line_of_business))
        deadline = claim.first_service_date + timedelta(days=limit)
        days_left = (deadline - today).days
        rows.append(
            {
                "claim_id": claim.claim_id,
                "revision": claim.revision,
                "status": claim.status,
                "line_of_business": claim.line_of_business,
                "first_service_date": claim.first_service_date.isoformat(),
                "file_by": deadline.isoformat(),
                "days_left": days_left,
                "limit_days": limit,
                "billed": money(claim.billed),
                "why_held": _held_codes(claim),
            }
        )
    rows.sort(key=lambda r: (r["days_left"], r["claim_id"]))
    return rows


def _held_codes(claim: Claim) -> str:
    if claim.status != ClaimStatus.HELD or not claim.findings:
        return ""
    try:
        findings = json.loads(claim.findings)
    except ValueError:
        return ""
    return "; ".join(f.get("code", "") for f in findings if f.get("severity") == "error")


def corrections(
    session: Session, today: date, settings: RuleSettings, *, denials: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Denied claims and denied lines whose corrected-claim window (from the remittance date) is still open."""
    rows = []
    for item in denial_items(session) if denials is None else denials:
        remit_date = item["payment_date"]
        if remit_date is None:
            continue
        window = settings.corrected_claim_days(_lob(item["line_of_business"]))
        deadline = correction_deadline(item["line_of_business"], remit_date, settings)
        days_left = (deadline - today).days
        if days_left < 0:
            continue
        codes, words, amount = _reasons(item["carcs"])
        rows.append(
            {
                "claim_id": item["claim_id"],
                "revision": item["revision"],
                "line_id": item["line_id"],
                "procedure": item["procedure"],
                "line_of_business": item["line_of_business"],
                "remit_date": remit_date.isoformat(),
                "correct_by": deadline.isoformat(),
                "days_left": days_left,
                "window_days": window,
                "carc": codes,
                "reason": words or codes,
                "denied": money(amount),
                "original_claim_number": item["payer_claim_number"] or "",
            }
        )
    rows.sort(key=lambda r: (r["days_left"], r["claim_id"], r["line_id"]))
    return rows


def unmatched(session: Session, today: date) -> list[dict[str, Any]]:
    """835 money not tied to a claim we billed: whole CLPs (unknown CLP01) and single SVC lines."""
    rows = []
    for item in unmatched_items(session):
        remit_date = item["payment_date"]
        rows.append(
            {
                "kind": item["kind"],
                "patient_control_number": item["claim_id"],
                "line_ref": item["line_ref"] or "",
                "procedure": item["procedure"] or "",
                "payer_claim_number": item["payer_claim_number"] or "",
                "status_code": item["status_code"],
                "charge": money(item["charge"]),
                "paid": money(item["paid"]),
                "trace_number": item["trace_number"],
                "payment_method": item["payment_method"] or "",
                "remit_date": remit_date.isoformat() if remit_date else "",
                "days_waiting": (today - remit_date).days if remit_date else None,
            }
        )
    return rows


def _charged_members() -> Subquery:
    """SCO / One Care claims with money put on the member: per claim, the larger of Σ PR CAS and Σ CLP05
    over all its postings (a reversal nets out: the claim's kept ``patient_share`` and
    ``patient_responsibility``, ``ledger.totals``), and its first and newest posting."""
    charged = case((Claim.patient_share >= Claim.patient_responsibility, Claim.patient_share),
                   else_=Claim.patient_responsibility)
    return (
        select(Claim.id.label("claim_pk"), as_money(charged).label("charged"),
               func.min(ClaimPayment.id).label("first_payment"), func.max(ClaimPayment.id).label("last_payment"))
        .join(ClaimPayment, ClaimPayment.claim_pk == Claim.id)
        .where(member_charged())
        .group_by(Claim.id, Claim.patient_share, Claim.patient_responsibility)
        .subquery("charged_members")
    )


def patient_responsibility(session: Session, today: date) -> list[dict[str, Any]]:
    """SCO / One Care claims on which the payer put money on the member (must be zero).

    PR adjustments are summed over all of a claim's postings, so a charge the payer
    later reversed (CLP02 22 with negative amounts) nets out and leaves the list.
    """
    charged = _charged_members()
    codes: dict[int | None, list[str]] = {}
    for claim_pk, reason, amount in session.execute(
        select(ClaimPayment.claim_pk, Adjustment.reason_code, Adjustment.amount)
        .join(ClaimPayment, ClaimPayment.id == Adjustment.claim_payment_id)
        .join(charged, charged.c.claim_pk == ClaimPayment.claim_pk)
        .where(Adjustment.group_code == "PR")
        .order_by(Adjustment.id)
    ):
        codes.setdefault(claim_pk, []).append(f"PR-{reason} {money(amount)}")
    rows = []
    for claim, amount, payment, remit in session.execute(
        select(Claim, charged.c.charged, ClaimPayment, Remittance)
        .join(charged, charged.c.claim_pk == Claim.id)
        .join(ClaimPayment, ClaimPayment.id == charged.c.last_payment)
        .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
        .order_by(Claim.claim_id, charged.c.first_payment)
    ):
        remit_date = remit.payment_date or remit.created_at.date()
        rows.append(
            {
                "claim_id": claim.claim_id,
                "revision": claim.revision,
                "line_of_business": claim.line_of_business,
                "patient_responsibility": money(amount),
                "adjustments": "; ".join(codes.get(claim.id, [])),
                "trace_number": remit.trace_number,
                "remit_date": remit_date.isoformat(),
                "payer_claim_number": payment.payer_claim_number or "",
                "action": "SCO/One Care members have $0 cost share: ask Optum to reprocess; do not bill the member",
            }
        )
    return rows


def _count(session: Session, query: Select[*tuple[Any, ...]]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def first_remit_date(today: date, last_day: Callable[[date], date]) -> date:
    """The earliest remittance date whose deadline (``last_day``, never earlier for a later date)
    is today or later: "deadline not passed" as a date the database can compare with."""
    low, high = today.toordinal() - 20 * 366, today.toordinal()  # last_day(today) >= today
    while low < high:
        middle = (low + high) // 2
        if last_day(date.fromordinal(middle)) >= today:
            high = middle
        else:
            low = middle + 1
    return date.fromordinal(low)


def _still_open_since(today: date, last_day: Callable[[str, date], date]) -> dict[str, date]:
    """Per plan, the first remittance date whose deadline has not passed."""
    return {lob.value: first_remit_date(today, lambda day, lob=lob: last_day(lob.value, day))  # type: ignore[misc]
            for lob in LineOfBusiness}


def correction_deadline(lob: str, remit_date: date, settings: RuleSettings) -> date:
    """The last day to send a corrected claim for a denial remitted on ``remit_date``."""
    return remit_date + timedelta(days=settings.corrected_claim_days(_lob(lob)))


def _window(
    plan: str, dated: dict[date, int], since: date, last_day: Callable[[str, date], date], limit: int
) -> tuple[date, date] | None:
    """The remittance dates, from ``since``, of a plan's ``limit`` nearest deadlines and of every
    denial whose deadline ties with the last of them (a later date may share it: a month's end)."""
    total, until = 0, None
    for day in sorted(d for d in dated if d >= since):
        total, until = total + dated[day], day
        if total >= limit:
            break
    if until is None:
        return None
    due = last_day(plan, until)
    for _ in range(31):
        if last_day(plan, until + timedelta(days=1)) > due:
            break
        until += timedelta(days=1)
    return since, until


def nearest_denial_deadlines(
    session: Session,
    today: date,
    kinds: dict[str, Callable[[str, date], date]],
    limit: int,
    *,
    days: list[open_denials.DenialDay] | None = None,
) -> dict[str, list[tuple[open_denials.DenialDate, date]]]:
    """For each kind of deadline (``last_day(plan, remit date)``), the ``limit`` open denials whose
    deadline comes soonest and has not passed, in (deadline, claim id, line id) order: the
    denials per plan and day (``days``, ``denial_days``) say which remittance dates hold them and
    one query reads those denials, so every denial is not listed."""
    if days is None:
        days = open_denials.denial_days(session)
    dated: dict[str, dict[date, int]] = {}
    for day in days:
        if day.remit_date is not None:
            per_plan = dated.setdefault(_lob(day.line_of_business).value, {})
            per_plan[day.remit_date] = per_plan.get(day.remit_date, 0) + day.denials
    windows: dict[str, list[tuple[date, date]]] = {}
    for last_day in kinds.values():  # each kind's own window: the kinds' windows lie months apart
        for plan, since in _still_open_since(today, last_day).items():
            window = _window(plan, dated.get(plan, {}), since, last_day, limit)
            if window is not None:
                windows.setdefault(plan, []).append(window)
    found = open_denials.remitted_between(session, windows, windows.get(LineOfBusiness.COMMERCIAL.value, []))
    nearest = {}
    for kind, last_day in kinds.items():
        due = [(row, last_day(row.line_of_business, row.remit_date)) for row in found]
        due = sorted((pair for pair in due if pair[1] >= today), key=lambda p: (p[1], p[0].claim_id, p[0].line_id))
        nearest[kind] = due[:limit]
    return nearest


def open_counts(
    session: Session, today: date, settings: RuleSettings, *, days: list[open_denials.DenialDay] | None = None
) -> dict[str, int]:
    """How many rows each worklist has now (for the nightly summary and ``status``), each counted
    by the database, so a big ledger is not read row by row (``days``: ``denial_days`` when the
    caller has them already)."""
    if days is None:
        days = open_denials.denial_days(session)
    since = _still_open_since(today, lambda lob, day: correction_deadline(lob, day, settings))
    return {
        "rejected": _count(session, _rejected_claims()),
        "denied": (
            session.scalar(select(func.count()).select_from(Claim).where(Claim.status == ClaimStatus.DENIED))
            or 0
        )
        + sum(day.denials for day in days if day.level == "line"),
        "timely_filing": session.scalar(
            select(func.count()).select_from(Claim).where(_filing_soon(today, settings, 30))) or 0,
        "corrections": sum(
            day.denials for day in days
            if day.remit_date is not None and day.remit_date >= since[_lob(day.line_of_business).value]
        ),
        "unmatched": unmatched_money(session).count,  # the rows of `worklist unmatched` (issue 18)
        # the claims of ``_charged_members`` (kept totals come only from postings), from the partial index
        "patient_responsibility": session.scalar(
            select(func.count()).select_from(Claim).where(member_charged())) or 0,
    }


WORKLISTS = {
    "rejected": rejected,
    "unmatched": unmatched,
    "patient-responsibility": patient_responsibility,
}
"""Worklists that need only the session and today (the others also take RuleSettings)."""


WORKLIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "rejected": ("claim_id", "status", "source", "rejected_on", "reason", "fix"),
    "denied": ("claim_id", "line_of_business", "remit_date", "reason", "rarc", "denied", "appeal_by",
               "appeal_days_left"),
    "timely_filing": ("claim_id", "status", "line_of_business", "first_service_date", "file_by", "days_left",
                      "why_held"),
    "corrections": ("claim_id", "line_of_business", "remit_date", "correct_by", "days_left", "reason",
                    "original_claim_number"),
    "unmatched": ("patient_control_number", "payer_claim_number", "status_code", "paid", "trace_number",
                  "remit_date", "days_waiting"),
    "patient_responsibility": ("claim_id", "line_of_business", "patient_responsibility", "adjustments",
                               "trace_number", "remit_date", "action"),
}
"""The columns each worklist shows (on the terminal and in ``report html``): no member names."""


def open_rows(session: Session, today: date, settings: RuleSettings) -> dict[str, list[dict[str, Any]]]:
    """Every worklist's rows now, keyed as ``open_counts`` (the report lists the rows behind each count)."""
    denials = denial_items(session)
    return {
        "rejected": rejected(session, today),
        "denied": denied(session, today, settings, denials=denials),
        "timely_filing": timely_filing(session, today, settings, within_days=30),
        "corrections": corrections(session, today, settings, denials=denials),
        "unmatched": unmatched(session, today),
        "patient_responsibility": patient_responsibility(session, today),
    }
