"""Posting 835 remittances: the ledger agrees with the bank to the cent, once.

What is posted, per transaction set (ST..SE), streamed claim by claim so that a
remittance of 100,000 claims is never held in memory whole:

- **Balances first.**  Every CLP's line and claim balances are checked before its
  rows are queued, and the transaction balance (Σ CLP04 − Σ PLB = BPR02) at the
  SE, before anything is committed.  Any broken balance refuses the *whole file*:
  ``post_remittance_parts`` raises ``RemittanceRefused`` and the caller rolls the
  transaction back, so nothing of it is ever visible (reliability test 23).
- **Exactly once.**  A remittance is keyed by payer (TRN03, else the payer id) and
  TRN02, unique in ``remittances``; its ``content_sha256`` fingerprints the
  segments between ST and SE (BPR02 included, separators and envelope not).  The
  same key with the same fingerprint is a duplicate and posts nothing (renamed
  file, new ISA13, second process); the same key with another fingerprint is a
  conflict and refuses the file for review.  Two processes racing on PostgreSQL:
  the loser's INSERT fails on the unique key and ``remits.inbound`` retries it
  as a duplicate; SQLite serialises writers with ``BEGIN IMMEDIATE``.
- **Matching.**  CLP01 → the claim's current revision; SVC → service line by
  REF*6R, else procedure + date (+ modifiers when they agree; an 835 that drops a
  billed modifier still matches a single candidate).  Unmatched rows keep a NULL
  ``claim_pk`` / ``service_line_id``: that is the unmatched queue.
- **Reversals.**  CLP02 22 cancels exactly one earlier posting of the same payer
  whose CLP07 (or the reversal's REF*F8) and negated CLP03/CLP04 agree;
  ``reverses_id`` links it, and it is filed under the claim row of the posting it
  cancels, so claim totals net out.  A reversal of something never posted refuses
  the whole file (its BPR02 counts the reversal, so posting the rest would make
  the ledger disagree with the bank).
- **Flags.**  SCO / One Care members cannot be charged: a posting with patient
  responsibility on such a claim gets a ``patient_responsibility_flagged`` event.

Rows are written with SQLAlchemy Core executemany (ids the child rows need are
allocated up front: see ``_allocate_ids``), a chunk of claims at a time, inside the caller's one
transaction per file.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import exists, func, insert, select, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, aliased

from domain.adjudication import adjudicated_status
from domain.claim import NO_COST_SHARE_PLANS
from domain.remittance import ClaimPayment as ClaimPaymentRecord
from domain.remittance import Remittance as RemittanceRecord
from edi.x12stream import (
    RemittanceEnd,
    RemittanceHeader,
    RemittancePart,
    read_remittance_file,
    read_remittance_text,
)
from ledger.models import (
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
)
from ledger.types import utcnow
from validators.remit_balance import TRANSACTION, BalanceError, check_claim_balances, check_line_balances

ZERO = Decimal("0")
NO_CHARGE_PLANS = frozenset(lob.value for lob in NO_COST_SHARE_PLANS)
"""Lines of business whose members cannot be charged (payer-87726.md, "Plans and members")."""
REVERSAL = "reversal"
MAX_REASONS = 200


@dataclass
class PaymentReport:
    posted: int = 0
    duplicates: int = 0
    quarantined: list[str] = field(default_factory=list)
    claims_posted: int = 0
    unmatched_claims: list[str] = field(default_factory=list)
    total_paid: Decimal = ZERO
    reversals: int = 0
    denied: list[str] = field(default_factory=list)
    unmatched_lines: int = 0
    flagged: list[str] = field(default_factory=list)  # SCO / One Care claims with patient responsibility
    provider_adjustments: int = 0


class RemittanceRefused(Exception):
    """The file must not be posted; ``reasons`` say why (amounts, trace and claim numbers; no names)."""

    def __init__(self, reasons: list[str]):
        super().__init__(reasons[0] if reasons else "refused")
        self.reasons = reasons


def remittance_payer_key(remit: RemittanceRecord) -> str:
    return remit.trace_payer_id or remit.payer_id


def quarantine(session: Session, transmission_id: int | None, reason: str, detail: Any = None) -> None:
    session.add(Quarantine(transmission_id=transmission_id, reason=reason[:200],
                           detail=None if detail is None else json.dumps(detail, default=str)))


# --- what we need to know about claims and lines while posting ------------------------------


@dataclass(slots=True)
class _ClaimInfo:
    pk: int
    claim_id: str
    revision: int
    status: str
    line_of_business: str
    frequency: str
    payer_claim_number: str | None


class _LineInfo(NamedTuple):
    id: int
    line_id: str
    procedure_code: str
    modifiers: tuple[str, ...]
    service_date: date


def match_line(lines: list[_LineInfo], line_id: str | None, code: str, modifiers: tuple[str, ...],
               service_date: date | None) -> _LineInfo | None:
    """REF*6R first; else procedure and date, exact modifiers preferred, a single candidate otherwise."""
    if line_id:
        for line in lines:
            if line.line_id == line_id:
                return line
    candidates = [ln for ln in lines if ln.procedure_code == code
                  and (service_date is None or ln.service_date == service_date)]
    exact = [ln for ln in candidates if ln.modifiers == modifiers]
    chosen = exact or candidates
    return chosen[0] if len(chosen) == 1 else None


# Rows are tuples in the column order below, their values already in database form (``_Bind``); the
# ids are put in front when they are allocated (``_write``).
_CLAIM_PAYMENT_COLUMNS = ("id", "remittance_id", "claim_pk", "patient_control_number", "status_code", "charge",
                          "paid", "patient_responsibility", "payer_claim_number", "created_at", "outcome",
                          "reverses_id", "remark_codes")
_SERVICE_PAYMENT_COLUMNS = ("id", "claim_payment_id", "service_line_id", "procedure_code", "charge", "paid",
                            "line_ref", "service_date", "remark_codes")
_ADJUSTMENT_COLUMNS = ("claim_payment_id", "service_payment_id", "group_code", "reason_code", "amount", "quantity")
_EVENT_COLUMNS = ("claim_pk", "at", "actor", "event", "from_status", "to_status", "detail")
_CACHE_LIMIT = 50_000


@dataclass(slots=True)
class _PendingLine:
    row: tuple[Any, ...]  # _SERVICE_PAYMENT_COLUMNS after id and claim_payment_id
    adjustments: list[tuple[Any, ...]]  # _ADJUSTMENT_COLUMNS after the two ids


@dataclass(slots=True)
class _PendingClaim:
    row: tuple[Any, ...]  # _CLAIM_PAYMENT_COLUMNS after id
    adjustments: list[tuple[Any, ...]]
    lines: list[_PendingLine]


class _Bind:
    """Values in the form the DBAPI gets them, made by the columns' own bind processors (``Money``:
    cents on SQLite, its refusal of fractions of a cent everywhere), so that rows can go to the
    driver's ``executemany`` without SQLAlchemy handling each parameter.  Amounts and dates repeat
    a lot in a remittance: their conversions are cached."""

    def __init__(self, session: Session):
        self.connection = session.connection()
        self.dialect = self.connection.dialect
        self.placeholder = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self._money = self._processor(ClaimPayment.__table__.c.paid)
        self._date = self._processor(ServicePayment.__table__.c.service_date)
        self._timestamp = self._processor(ClaimPayment.__table__.c.created_at)
        self._money_cache: dict[Any, Any] = {}
        self._date_cache: dict[Any, Any] = {}
        for table, columns in ((ClaimPayment.__table__, _CLAIM_PAYMENT_COLUMNS),
                               (ServicePayment.__table__, _SERVICE_PAYMENT_COLUMNS),
                               (Adjustment.__table__, _ADJUSTMENT_COLUMNS), (ClaimEvent.__table__, _EVENT_COLUMNS)):
            for name in columns:
                column = table.c[name]
                kind = type(column.type).__name__
                if kind not in ("Money", "Date", "UtcDateTime") and self._processor(column) is not None:
                    raise NotImplementedError(f"{table.name}.{name} needs a bind processor on {self.dialect.name}")

    def _processor(self, column: Any) -> Any:
        return column.type.dialect_impl(self.dialect).bind_processor(self.dialect)

    def money(self, value: Decimal | None) -> Any:
        if value is None:
            return None
        cache = self._money_cache
        found = cache.get(value, cache)
        if found is cache:
            try:
                found = self._money(value) if self._money else value
            except (TypeError, ValueError) as exc:  # as SQLAlchemy reports a failed bind processor
                raise StatementError(str(exc), None, None, exc, hide_parameters=True) from exc
            if len(cache) < _CACHE_LIMIT:
                cache[value] = found
        return found

    def date(self, value: date | None) -> Any:
        if value is None or self._date is None:
            return value
        cache = self._date_cache
        found = cache.get(value)
        if found is None:
            found = self._date(value)
            if len(cache) < _CACHE_LIMIT:
                cache[value] = found
        return found

    def timestamp(self, value: Any) -> Any:
        return self._timestamp(value) if self._timestamp else value

    def insert_many(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if self.dialect.name == "postgresql" and self.dialect.driver == "psycopg":
            # COPY: one stream instead of a round trip per row.  Same transaction (same connection).
            driver = self.connection.connection.driver_connection
            with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join([self.placeholder] * len(columns))})")
        self.connection.exec_driver_sql(sql, rows)

    def update_claims(self, rows: list[tuple[Any, ...]]) -> None:
        """rows: (status, payer_claim_number, updated_at, id), one per claim id."""
        p = self.placeholder
        if self.dialect.name == "postgresql":  # one statement over arrays instead of a statement per claim
            statuses, numbers, times, ids = (list(column) for column in zip(*rows, strict=True))
            self.connection.exec_driver_sql(
                "UPDATE claims SET status = v.status, payer_claim_number = v.number, updated_at = v.at "
                f"FROM unnest({p}::bigint[], {p}::varchar[], {p}::varchar[], {p}::timestamptz[]) "
                "AS v(id, status, number, at) WHERE claims.id = v.id", (ids, statuses, numbers, times))
            return
        self.connection.exec_driver_sql(
            f"UPDATE claims SET status={p}, payer_claim_number={p}, updated_at={p} WHERE claims.id = {p}", rows)


class _Poster:
    def __init__(self, session: Session, *, transmission_id: int | None, actor: str, report: PaymentReport,
                 chunk_size: int):
        self.session = session
        self.transmission_id = transmission_id
        self.actor = actor
        self.report = report
        self.chunk_size = chunk_size
        self.now = utcnow()
        self.reasons: list[str] = []
        # per remittance
        self.header: RemittanceRecord | None = None
        self.payer = ""
        self.remittance_id: int | None = None
        self.existing_fingerprint: str | None = None
        self.claims_paid = ZERO
        self.claim_count = 0
        self.chunk: list[ClaimPaymentRecord] = []
        # pending writes
        self.pending: list[_PendingClaim] = []
        self.claim_updates: dict[int, tuple[Any, ...]] = {}
        self.events: list[tuple[Any, ...]] = []
        self.reversed_ids: set[int] = set()
        self.claim_infos: dict[int, _ClaimInfo] = {}  # the claims of the current chunk, by pk
        self.next_id: dict[str, int] = {}
        self.bind = _Bind(session)
        self.now_db = self.bind.timestamp(self.now)

    # --- the stream ---------------------------------------------------------------------------

    def refuse(self, reason: str) -> None:
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)

    @property
    def writing(self) -> bool:
        return not self.reasons and self.remittance_id is not None

    def take(self, part: RemittancePart) -> None:
        if isinstance(part, ClaimPaymentRecord):
            self._claim(part)
        elif isinstance(part, RemittanceHeader):
            self._start(part.remittance)
        elif isinstance(part, RemittanceEnd):
            self._end(part)

    def _start(self, header: RemittanceRecord) -> None:
        self.header = header
        self.payer = remittance_payer_key(header)
        self.claims_paid = ZERO
        self.claim_count = 0
        self.remittance_id = None
        self.existing_fingerprint = None
        found = self.session.execute(select(Remittance.id, Remittance.content_sha256).where(
            Remittance.payer_id == self.payer, Remittance.trace_number == header.trace_number)).first()
        if found is not None:
            self.existing_fingerprint = found.content_sha256
            return
        if self.reasons:
            return
        # Inserted now, so that a second process posting the same payment waits (PostgreSQL: on
        # the unique key) instead of doing all the work twice.
        self.remittance_id = self.session.execute(insert(Remittance.__table__).returning(Remittance.id), {
            "transmission_id": self.transmission_id, "payer_id": self.payer, "payer_name": header.payer_name,
            "trace_number": header.trace_number, "total_paid": header.total_paid,
            "payment_method": header.payment_method or None, "payment_date": header.payment_date,
            "content_sha256": "pending", "created_at": self.now,
        }).scalar_one()

    def _claim(self, clp: ClaimPaymentRecord) -> None:
        assert self.header is not None
        self.claims_paid += clp.paid
        self.claim_count += 1
        if not _balanced(clp):
            one = replace(self.header, claims=(clp,))
            for error in check_line_balances(one) + check_claim_balances(one):
                self.refuse(f"does not balance: {error.message}")
        if self.writing:
            self.chunk.append(clp)
            if len(self.chunk) >= self.chunk_size:
                self._post_chunk()

    def _end(self, end: RemittanceEnd) -> None:
        remit = end.remittance
        expected = self.claims_paid - remit.provider_adjusted
        if expected != remit.total_paid:
            error = BalanceError(TRANSACTION, remit.trace_number, None, None, expected, remit.total_paid,
                                 remit.source)
            self.refuse(f"does not balance: {error.message}")
        if self.existing_fingerprint is not None:
            if self.existing_fingerprint == end.fingerprint:
                self.report.duplicates += 1
            else:
                self.refuse(f"trace number {remit.trace_number} from payer {self.payer} was already posted "
                            "with different content")
            return
        if not self.writing:
            self.chunk = []
            return
        self._post_chunk()
        self._post_provider_adjustments(remit)
        self._write()
        self.session.execute(update(Remittance.__table__).where(Remittance.id == self.remittance_id)
                             .values(content_sha256=end.fingerprint))
        self.report.posted += 1
        self.report.total_paid += remit.total_paid

    def finish(self) -> None:
        if self.reasons:
            raise RemittanceRefused(self.reasons)

    # --- one chunk of claims -----------------------------------------------------------------

    def _post_chunk(self) -> None:
        clps, self.chunk = self.chunk, []
        if not clps or not self.writing:
            return
        claims = self._current_revisions({c.patient_control_number for c in clps})
        lines = self._lines({info.pk for info in claims.values()})
        for clp in clps:
            if clp.is_reversal:
                self._post_reversal(clp, claims, lines)
            else:
                self._post_claim(clp, claims.get(clp.patient_control_number), lines)
        self._write()

    def _current_revisions(self, claim_ids: Iterable[str]) -> dict[str, _ClaimInfo]:
        found: dict[str, _ClaimInfo] = {}
        wanted = list(claim_ids)
        for start in range(0, len(wanted), 900):
            rows = self.session.execute(select(
                Claim.id, Claim.claim_id, Claim.revision, Claim.status, Claim.line_of_business, Claim.frequency,
                Claim.payer_claim_number).where(Claim.claim_id.in_(wanted[start:start + 900])))
            for row in rows:
                current = found.get(row[1])
                if current is None or row[2] > current.revision:
                    found[row[1]] = _ClaimInfo(*row)
        self.claim_infos = {info.pk: info for info in found.values()}
        return found

    def _claim_by_pk(self, pk: int) -> _ClaimInfo:
        if pk in self.claim_infos:
            return self.claim_infos[pk]
        row = self.session.execute(select(
            Claim.id, Claim.claim_id, Claim.revision, Claim.status, Claim.line_of_business, Claim.frequency,
            Claim.payer_claim_number).where(Claim.id == pk)).one()
        info = self.claim_infos[pk] = _ClaimInfo(*row)
        return info

    def _lines(self, claim_pks: set[int]) -> dict[int, list[_LineInfo]]:
        found: dict[int, list[_LineInfo]] = {}
        wanted = list(claim_pks)
        for start in range(0, len(wanted), 900):
            rows = self.session.execute(select(
                ServiceLine.claim_pk, ServiceLine.id, ServiceLine.line_id, ServiceLine.procedure_code,
                ServiceLine.modifiers, ServiceLine.service_date).where(
                ServiceLine.claim_pk.in_(wanted[start:start + 900])).order_by(ServiceLine.position))
            for claim_pk, line_pk, line_id, procedure_code, modifiers, service_date in rows:
                found.setdefault(claim_pk, []).append(_LineInfo(
                    line_pk, line_id, procedure_code, tuple(m for m in modifiers.split(":") if m) if modifiers else (),
                    service_date))
        return found

    def _queue(self, clp: ClaimPaymentRecord, claim_pk: int | None, outcome: str, reverses_id: int | None,
               lines: list[_LineInfo]) -> _PendingClaim:
        patient = clp.patient_responsibility
        if patient is None:
            patient = sum((a.amount for a in clp.all_adjustments if a.group == "PR"), ZERO)
        money = self.bind.money
        pending = _PendingClaim(
            row=(self.remittance_id, claim_pk, clp.patient_control_number, clp.status, money(clp.charge),
                 money(clp.paid), money(patient), clp.payer_claim_number or None, self.now_db, outcome,
                 reverses_id, ",".join(clp.remark_codes)[:200] or None),
            adjustments=[self._adjustment_row(a) for a in clp.adjustments],
            lines=[],
        )
        for svc in clp.lines:
            when = svc.service_date or svc.service_start
            matched = match_line(lines, svc.line_id, svc.procedure_code, svc.modifiers, when) if lines else None
            if matched is None:
                self.report.unmatched_lines += 1
            pending.lines.append(_PendingLine(
                row=(matched.id if matched else None,
                     ":".join((svc.procedure_code, *svc.modifiers))[:48] if svc.modifiers else svc.procedure_code[:48],
                     money(svc.charge), money(svc.paid), svc.line_id, self.bind.date(when),
                     ",".join(svc.remark_codes)[:200] or None),
                adjustments=[self._adjustment_row(a) for a in svc.adjustments],
            ))
        self.pending.append(pending)
        return pending

    def _adjustment_row(self, adjustment: Any) -> tuple[Any, ...]:
        return (adjustment.group, adjustment.reason, self.bind.money(adjustment.amount),
                None if adjustment.quantity is None else str(adjustment.quantity))

    def _post_claim(self, clp: ClaimPaymentRecord, claim: _ClaimInfo | None,
                    lines: dict[int, list[_LineInfo]]) -> None:
        outcome = adjudicated_status(clp)
        self._queue(clp, claim.pk if claim else None, outcome, None, lines.get(claim.pk, []) if claim else [])
        if outcome == ClaimStatus.DENIED:
            self.report.denied.append(clp.patient_control_number)
        if claim is None:
            self.report.unmatched_claims.append(clp.patient_control_number)
            return
        self._transition(claim, outcome, "remit_posted",
                         f"CLP02 {clp.status} paid {clp.paid} of {clp.charge}; payer claim {clp.payer_claim_number}",
                         payer_claim_number=clp.payer_claim_number or None)
        self.report.claims_posted += 1
        if claim.line_of_business in NO_CHARGE_PLANS:
            patient = sum((a.amount for a in clp.all_adjustments if a.group == "PR"), ZERO)
            patient = max(patient, clp.patient_responsibility or ZERO)
            if patient > ZERO:
                self._event(claim, "patient_responsibility_flagged",
                            f"patient responsibility {patient} on a {claim.line_of_business} claim: "
                            "the member cannot be charged")
                self.report.flagged.append(clp.patient_control_number)

    def _post_reversal(self, clp: ClaimPaymentRecord, claims: dict[str, _ClaimInfo],
                       lines: dict[int, list[_LineInfo]]) -> None:
        self._write()  # earlier postings of this chunk must be visible to the lookup
        numbers = [n for n in (clp.payer_claim_number, clp.reference("F8")) if n]
        original = self._reversed_posting(clp, numbers)
        if original is None:
            self.refuse(f"835 trace {self.header.trace_number if self.header else ''} claim "
                        f"{clp.patient_control_number}: reversal (CLP02 22) of payer claim "
                        f"{' / '.join(numbers) or '(none)'} paid {-clp.paid} that was never posted")
            return
        original_id, claim_pk = original
        self.reversed_ids.add(original_id)
        self._queue(clp, claim_pk, REVERSAL, original_id, lines.get(claim_pk, []) if claim_pk else [])
        self.report.reversals += 1
        if claim_pk is None:
            self.report.unmatched_claims.append(clp.patient_control_number)
            return
        target = self._claim_by_pk(claim_pk)
        current = claims.get(clp.patient_control_number)
        detail = f"CLP02 22 reverses payment of {-clp.paid}; payer claim {' / '.join(numbers)}"
        if current is not None and current.pk != target.pk and current.frequency == "8":
            self._event(target, "remit_reversed", detail)
            self._transition(current, ClaimStatus.VOIDED, "remit_posted", detail)
        else:
            self._transition(target, ClaimStatus.ACCEPTED, "remit_reversed",
                             detail + "; awaiting the payer's new adjudication")
        self.report.claims_posted += 1

    def _reversed_posting(self, clp: ClaimPaymentRecord, numbers: list[str]) -> tuple[int, int | None] | None:
        if not numbers:
            return None
        later = aliased(ClaimPayment)
        rows = self.session.execute(
            select(ClaimPayment.id, ClaimPayment.claim_pk, ClaimPayment.patient_control_number)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(Remittance.payer_id == self.payer, ClaimPayment.payer_claim_number.in_(numbers),
                   ClaimPayment.status_code != "22", ClaimPayment.paid == -clp.paid,
                   ClaimPayment.charge == -clp.charge,
                   ~exists().where(later.reverses_id == ClaimPayment.id))
            .order_by(ClaimPayment.id.desc())).all()
        rows = [r for r in rows if r.id not in self.reversed_ids]
        same_claim = [r for r in rows if r.patient_control_number == clp.patient_control_number]
        chosen = (same_claim or rows)[:1]
        return (chosen[0].id, chosen[0].claim_pk) if chosen else None

    def _transition(self, claim: _ClaimInfo, to_status: str, event: str, detail: str, *,
                    payer_claim_number: str | None = None) -> None:
        self.events.append((claim.pk, self.now_db, self.actor, event, claim.status, to_status, detail[:2000]))
        claim.status = to_status
        if payer_claim_number:
            claim.payer_claim_number = payer_claim_number
        self.claim_updates[claim.pk] = (to_status, claim.payer_claim_number, self.now_db, claim.pk)

    def _event(self, claim: _ClaimInfo, event: str, detail: str) -> None:
        self.events.append((claim.pk, self.now_db, self.actor, event, claim.status, claim.status, detail[:2000]))

    # --- provider-level adjustments ------------------------------------------------------------

    def _post_provider_adjustments(self, remit: RemittanceRecord) -> None:
        rows = []
        for plb in remit.provider_adjustments:
            claim_pk, payment_id = self._plb_target(plb.reference)
            rows.append({"remittance_id": self.remittance_id, "provider_id": plb.provider_id[:50],
                         "fiscal_period_date": plb.fiscal_period_end, "reason_code": plb.reason[:2],
                         "reference": plb.reference[:50] or None, "amount": plb.amount,
                         "claim_pk": claim_pk, "claim_payment_id": payment_id})
        if rows:
            self._write()
            self.session.execute(insert(ProviderAdjustment.__table__), rows)
            self.report.provider_adjustments += len(rows)

    def _plb_target(self, reference: str) -> tuple[int | None, int | None]:
        """PLB03-2 names a payer claim number (WO, 72, L6 on most payers) or our CLP01; else nothing."""
        reference = reference.strip()
        if not reference:
            return None, None
        self._write()
        found = self.session.execute(
            select(ClaimPayment.claim_pk, ClaimPayment.id)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(Remittance.payer_id == self.payer, ClaimPayment.payer_claim_number == reference)
            .order_by(ClaimPayment.id.desc()).limit(1)).first()
        if found is not None:
            return found.claim_pk, found.id
        latest = select(func.max(Claim.revision)).where(Claim.claim_id == reference).scalar_subquery()
        pk = self.session.scalar(select(Claim.id).where(Claim.claim_id == reference, Claim.revision == latest))
        return pk, None

    # --- writing -----------------------------------------------------------------------------

    def _allocate_ids(self, table: Any, n: int) -> list[int]:
        """Primary keys for ``n`` new rows, so that child rows can name them without RETURNING.

        SQLite: the transaction began with ``BEGIN IMMEDIATE`` and holds the only write lock, so
        ids above the current maximum are ours.  PostgreSQL: taken from the column's sequence.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            return list(self.session.scalars(text(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
                {"n": n}))
        start = self.next_id.get(table.name)
        if start is None:
            start = int(self.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
        self.next_id[table.name] = start + n
        return list(range(start, start + n))

    def _write(self) -> None:
        """The queued rows, a table at a time, through the driver's executemany (see ``_Bind``)."""
        bind = self.bind
        pending, self.pending = self.pending, []
        if pending:
            claim_rows: list[tuple[Any, ...]] = []
            line_rows: list[tuple[Any, ...]] = []
            adjustment_rows: list[tuple[Any, ...]] = []
            lines: list[tuple[int, _PendingLine]] = []
            ids = self._allocate_ids(ClaimPayment.__table__, len(pending))
            for claim_payment_id, p in zip(ids, pending, strict=True):
                claim_rows.append((claim_payment_id, *p.row))
                adjustment_rows.extend((claim_payment_id, None, *adj) for adj in p.adjustments)
                lines.extend((claim_payment_id, line) for line in p.lines)
            bind.insert_many("claim_payments", _CLAIM_PAYMENT_COLUMNS, claim_rows)
            if lines:
                line_ids = self._allocate_ids(ServicePayment.__table__, len(lines))
                for line_id, (claim_payment_id, line) in zip(line_ids, lines, strict=True):
                    line_rows.append((line_id, claim_payment_id, *line.row))
                    adjustment_rows.extend((claim_payment_id, line_id, *adj) for adj in line.adjustments)
                bind.insert_many("service_payments", _SERVICE_PAYMENT_COLUMNS, line_rows)
            if adjustment_rows:
                bind.insert_many("adjustments", _ADJUSTMENT_COLUMNS, adjustment_rows)
        if self.claim_updates:
            bind.update_claims(list(self.claim_updates.values()))
            self.claim_updates = {}
        if self.events:
            bind.insert_many("claim_events", _EVENT_COLUMNS, self.events)
            self.events = []


def _balanced(clp: ClaimPaymentRecord) -> bool:
    """The line and claim balances of ``check_line_balances`` / ``check_claim_balances``, without
    building their errors: only a CLP that fails here goes through them (for the messages)."""
    adjusted = ZERO  # summed in the order of ``claim_expected_paid``: claim level, then each line's
    for adjustment in clp.adjustments:
        adjusted += adjustment.amount
    for line in clp.lines:
        line_adjusted = ZERO
        for adjustment in line.adjustments:
            line_adjusted += adjustment.amount
            adjusted += adjustment.amount
        if line.charge - line_adjusted != line.paid:
            return False
    return clp.charge - adjusted == clp.paid


# --- entry points --------------------------------------------------------------------------------


def post_remittance_parts(session: Session, parts: Iterable[RemittancePart], *, transmission_id: int | None,
                          actor: str, report: PaymentReport, chunk_size: int = 2000) -> None:
    """Post a stream of remittance parts inside the caller's transaction.

    Raises ``RemittanceRefused`` (balances, a reused trace number, a reversal of nothing) and
    ``X12ParseError`` (a broken or cut file); on either the caller must roll back, which leaves
    nothing of the file in the ledger.  Report counters are only meaningful after a commit.
    """
    with _bulk_posting(session):
        poster = _Poster(session, transmission_id=transmission_id, actor=actor, report=report,
                         chunk_size=chunk_size)
        for part in parts:
            poster.take(part)
        poster.finish()


SQLITE_POSTING_CACHE_KIB = 65_536


@contextmanager
def _bulk_posting(session: Session) -> Iterator[None]:
    """Settings for a stream of millions of small rows; nothing here changes what is written.

    - The cyclic garbage collector is paused: the reader and the poster allocate millions of small
      acyclic objects (segments, records, row tuples) whose reference counts free them, and the
      collector's generation-0 passes over them cost about a quarter of the posting time.
    - SQLite: a 64 MiB page cache instead of 2 MiB, so that the indexes being appended to in this
      one transaction are not spilled to the WAL and read back every few thousand rows.
    Both are restored afterwards, whatever happens.
    """
    collecting = gc.isenabled()
    gc.disable()
    cache_size = None
    connection = session.connection()
    try:
        if connection.dialect.name == "sqlite":
            cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_POSTING_CACHE_KIB}")
        yield
    finally:
        if cache_size is not None:
            try:
                connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")
            except Exception:  # noqa: BLE001 - the connection may be gone; the pool then drops it
                pass
        if collecting:
            gc.enable()


def post_835_text(session: Session, text: str, *, source: str = "<835>", transmission_id: int | None = None,
                  actor: str, report: PaymentReport) -> None:
    post_remittance_parts(session, read_remittance_text(text, source=source),
                          transmission_id=transmission_id, actor=actor, report=report)


def post_835_file(session: Session, path: Any, *, source: str | None = None, transmission_id: int | None = None,
                  actor: str, report: PaymentReport) -> None:
    """Stream an 835 file into the ledger (bounded memory whatever its size)."""
    post_remittance_parts(session, read_remittance_file(path, source=source), transmission_id=transmission_id,
                          actor=actor, report=report)

