"""Posting 835 remittances: the ledger agrees with the bank to the cent, once.

What is posted, per transaction set (ST..SE), streamed claim by claim so that a
remittance of 100,000 claims is never held in memory whole:

- **Ours only.**  The remittance must come from the payer the config names (``OurPayer``:
  ISA06, GS02, N1*PR N104 or REF*2U among its ids, or its TRN03), be paid to a billing
  provider of the ledger (N1*PE NPI, else TIN) — the billing provider of every claim it
  pays — and pay only claim revisions that were sent.  Anything else refuses the whole
  file (``RemittanceRefused``), and with it any payer claim number it carries.  So does a
  negative deposit (BPR02 below zero, a debit, or claims netting below zero) that is not
  a reversal.
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
- **Matching.**  CLP01 → the claim whatever its case, then the revision it pays: among
  those sent, by CLP07, else by the REF*F8 a replacement named, else the latest sent (a
  late CLP for an original never lands on an unsent void or replacement); SVC → service line by
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

Rows are written a chunk of claims at a time, inside the caller's one transaction per file,
through the ledger's ``BulkWriter`` (COPY on PostgreSQL, many rows per statement on SQLite), with the
ids child rows need reserved when the chunk is looked up (``_reserve_ids``).  The fast reader hands
the poster ``ClaimPaymentDraft``s (the claim as read, not yet a record); the few CLPs that need
the record (a broken balance, a reversal) are made one.  docs/posting.md, "Performance".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, exists, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from domain.adjudication import ClaimSums, adjudicated_status, claim_sums
from domain.claim import NO_COST_SHARE_PLANS
from domain.remittance import REVERSAL_STATUS, OurPayer, paid_to, payee_label
from domain.remittance import ClaimPayment as ClaimPaymentRecord
from domain.remittance import Remittance as RemittanceRecord
from edi.x835 import (
    ClaimPaymentDraft,
    RemittanceEnd,
    RemittanceHeader,
    RemittancePart,
    read_remittance_file,
    read_remittance_text,
)
from ledger import postings
from ledger.bulk import BulkWriter, bulk_writes
from ledger.claims import prepare_events, prepare_transition
from ledger.kept_denials import mark_claims
from ledger.models import (
    Adjustment,
    Claim,
    ClaimPayment,
    ClaimStatus,
    ProviderAdjustment,
    Quarantine,
    Remittance,
    ServiceLine,
    ServicePayment,
)
from ledger.postings import prepare_claims_update
from ledger.types import utcnow
from ledger.write_behind import WriteBehind
from remits.refusals import FileRefused
from validators.remit_balance import TRANSACTION, BalanceError, claim_balance_errors

ZERO = Decimal("0")
NO_CHARGE_PLANS = frozenset(lob.value for lob in NO_COST_SHARE_PLANS)
"""Lines of business whose members cannot be charged (payer-87726.md, "Plans and members")."""
REVERSAL = "reversal"
MAX_REASONS = 200
CHUNK_CLAIMS = 4000
"""CLPs looked up, matched and written together.  Each chunk costs a few statements (and on PostgreSQL
a parent check per statement); 4,000 against 2,000, posting 100,000 CLPs, four pairs alternated:
PostgreSQL 13,977–14,847 against 11,637–14,592 CLP/s, server CPU 5.6–5.7 against 5.6–7.3 s; peak RSS
+10 MB (SQLite 182 MB; the 1 GB 835 211 MB, was 185–197 MB)."""
MAX_MOVED = 200_000
"""Claims moved by one remittance kept in memory while the lookups are made on their own connection
(≈ 250 bytes each); past it the lookups go in line (``_Poster._look_up_in_line``)."""
OUR_PAYER = OurPayer()
_REMITTANCES = cast(Table, Remittance.__table__)
_PROVIDER_ADJUSTMENTS = cast(Table, ProviderAdjustment.__table__)
"""Optum BH as the starter config names it (``[payer]``)."""


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
    remittance_ids: list[int] = field(default_factory=list)  # for ``ledger.queries.unmatched_money``


class RemittanceRefused(FileRefused):
    """The 835 must not be posted; ``reasons`` say why (amounts, trace and claim numbers; no names)."""


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
    original_claim_number: str | None  # REF*F8 of a 7 or 8: the payer claim number it replaces
    billing_id: int
    denial_payment_id: int | None  # its standing denial (``ledger.kept_denials``) before this remittance

    @property
    def sent(self) -> bool:
        return self.status not in ClaimStatus.NEVER_SENT


class _LineInfo(NamedTuple):
    id: int
    line_id: str
    procedure_code: str
    modifiers: tuple[str, ...]
    service_date: date | None


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


# Rows are tuples in the column order below, their values already in database form (``BulkWriter.written``); the
# ids are put in front when they are allocated (``_write``).
_CLAIM_PAYMENT_COLUMNS = ("id", "remittance_id", "claim_pk", "patient_control_number", "status_code", "charge",
                          "paid", "patient_responsibility", "payer_claim_number", "created_at", "outcome",
                          "reverses_id", "remark_codes")
_SERVICE_PAYMENT_COLUMNS = ("id", "claim_payment_id", "service_line_id", "procedure_code", "charge", "paid",
                            "line_ref", "service_date", "remark_codes")
_ADJUSTMENT_COLUMNS = ("claim_payment_id", "service_payment_id", "group_code", "reason_code", "amount", "quantity")


class _Change(NamedTuple):
    """A queued status change (``moves``) or event of one claim; ``status`` is the one it moves from."""

    id: int
    status: str
    to_status: str
    event: str
    detail: str
    moves: bool
    payer_claim_number: str | None = None  # a move's new CLP07 for the claim, set with its status


def _by_revision(info: _ClaimInfo) -> int:
    return info.revision


class _ChunkLines:
    """The service lines of a chunk's claims (their current revisions), to match SVCs to (``match``).

    Most SVCs carry the REF*6R we sent, and matching those needs only (claim, id, REF*6R), which SQLite
    reads from the unique index on ``(claim_pk, line_id)`` without the table (``refs``).  Procedure,
    modifiers and date are read only for the claims with an SVC that REF*6R does not match, in one
    query for the chunk (a reversal's claim is read on demand when it is not one of those).
    """

    def __init__(self, writer: BulkWriter, targets: list[tuple[_ClaimPayment, _ClaimInfo | None]],
                 connection: Callable[[], Any] | None = None):
        """``targets``: each CLP of the chunk with the claim revision it pays (None: unmatched);
        ``connection``: the poster's, asked for at each read (so that no write is in flight then);
        by default the writer's."""
        self.connection = connection or (lambda: writer.connection)
        self.service_date = writer.read(ServiceLine.__table__.c.service_date).__getitem__
        self.pks = {info.pk for _, info in targets if info is not None}
        self.refs: dict[int, dict[str, int]] = {}
        for claim_pk, line_pk, line_id in postings.line_refs(self.connection(), list(self.pks)):
            refs = self.refs.get(claim_pk)
            if refs is None:
                self.refs[claim_pk] = {line_id: line_pk}
            else:
                refs[line_id] = line_pk
        whole = set()
        for clp, info in targets:
            if info is None:
                continue
            refs = self.refs.get(info.pk)
            if clp.status == REVERSAL_STATUS or refs is None or any(
                    not svc.line_id or svc.line_id not in refs for svc in clp.lines):
                whole.add(info.pk)
        self.lines: dict[int, list[_LineInfo]] = {pk: [] for pk in whole}
        self._read(whole)

    def match(self, claim_pk: int | None, svc: Any, when: date | None) -> int | None:
        """The id of the line ``svc`` pays (``match_line`` over the claim's lines), else None."""
        if claim_pk is None:
            return None  # an unmatched CLP: its lines are counted with it
        # A reversal is filed under the posting it cancels, which may be an older revision than the
        # chunk's claims (a void's reversal cancels the original's payment): that revision's lines are
        # read on demand, so the reversal's SVCs pair with the lines the cancelled payment paid.
        line_id = svc.line_id
        refs = self.refs.get(claim_pk)  # type: ignore[arg-type]
        if line_id and refs is not None and line_id in refs:
            return refs[line_id]
        lines = self.lines.get(claim_pk)  # type: ignore[arg-type]
        if lines is None:
            lines = self.lines[claim_pk] = []  # type: ignore[index]
            self._read({claim_pk})  # type: ignore[arg-type]
        matched = match_line(lines, line_id, svc.procedure_code, svc.modifiers, when) if lines else None
        return matched.id if matched else None

    def _read(self, claim_pks: set[int]) -> None:
        service_date = self.service_date
        modifier_sets: dict[str, tuple[str, ...]] = {"": ()}
        # In no particular order: match_line takes the one line with the REF*6R (unique per claim) or
        # the only candidate, never the first of several (no sort by position needed).
        for claim_pk, line_pk, line_id, procedure_code, modifiers, when in postings.lines(
                self.connection(), list(claim_pks)):
            modifiers = modifiers or ""
            split = modifier_sets.get(modifiers)
            if split is None:
                split = modifier_sets[modifiers] = tuple(m for m in modifiers.split(":") if m)
            self.lines[claim_pk].append(_LineInfo(line_pk, line_id, procedure_code, split, service_date(when)))


class _Poster:
    def __init__(self, session: Session, *, transmission_id: int | None, actor: str, report: PaymentReport,
                 chunk_size: int, payer: OurPayer, lookups_apart: bool = False):
        self._session = session
        self.transmission_id = transmission_id
        self.actor = actor
        self.report = report
        self.chunk_size = chunk_size
        self.our_payer = payer
        self.now = utcnow()
        self.reasons: list[str] = []
        # per remittance
        self.header: RemittanceRecord | None = None
        self.payer = ""
        self.remittance_id: int | None = None
        self.existing_fingerprint: str | None = None
        self.claims_paid = ZERO
        self.claim_count = 0
        self.reversal_count = 0
        self.negative_claims = 0  # CLPs paying less than nothing that are not reversals
        self.payee_of: dict[int, bool] = {}  # billing party id -> is the payee of this remittance
        self.chunk: list[tuple[_ClaimPayment, ClaimSums]] = []
        # pending writes: rows in database form, ids included (see ``_reserve_ids``)
        self.claim_rows: list[tuple[Any, ...]] = []
        self.line_rows: list[tuple[Any, ...]] = []
        self.claim_adjustment_rows: list[tuple[Any, ...]] = []
        self.line_adjustment_rows: list[tuple[Any, ...]] = []
        self.claim_payment_ids: Iterator[int] = iter(())
        self.service_payment_ids: Iterator[int] = iter(())
        self.changes: list[_Change] = []  # transitions and events, in the order they happened
        # per claim id, the money (``ledger.totals.TOTALS``: paid ... patient responsibility) the CLPs queued since the last
        # write add to its kept totals: written with the claim's move, or alone (``_write_changes``)
        self.claim_money: dict[int, list[Decimal]] = {}
        self.reversed_ids: set[int] = set()
        # the claims whose standing denial this remittance can change, marked at its end (``mark_claims``)
        self.marked: set[int] = set()
        self.claim_infos: dict[int, _ClaimInfo] = {}  # the claims of the current chunk, by pk
        self.writer = BulkWriter(session)
        self._connection = self.writer.connection
        # PostgreSQL: a chunk's rows are written on a thread while the next chunk is read and matched,
        # and, ``lookups_apart``, its lookups are made on a connection of their own
        # (``postings.lookup_connection``); the claims this file moved are then kept in ``moved``, which
        # that connection cannot see until the commit.
        postgres = self._connection.dialect.name == "postgresql"
        self.writes = WriteBehind(behind=postgres, ahead=2)
        self._lookups = postings.lookup_connection(session) if postgres and lookups_apart else None
        self.moved: dict[int, _ClaimInfo] = {}
        self._ahead = False  # a chunk's lookups: on ``_lookups``, or before the previous chunk's rows are written
        self.money = self.writer.sent(ClaimPayment.__table__.c.paid).__getitem__
        self.kept_money = self.writer.written(Claim.__table__.c.paid).__getitem__  # for the claims UPDATE's arrays
        self.date = self.writer.sent(ServicePayment.__table__.c.service_date).__getitem__
        self.now_db = self.writer.sent(ClaimPayment.__table__.c.created_at)[self.now]

    @property
    def session(self) -> Session:
        """The session, once every queued write is done (``WriteBehind``), except for a chunk's lookups
        (``_post_chunk``)."""
        if not self._ahead:
            self.writes.settle()
        return self._session

    @property
    def connection(self) -> Any:
        """The session's connection, as ``session``; for a chunk's lookups, the lookup connection if any."""
        if self._ahead:
            return self._lookups or self._connection
        self.writes.settle()
        return self._connection

    def _look_up_in_line(self) -> None:
        """From now on the lookups see this file's own writes: made on the writing connection, once the
        rows before them are written (``_post_chunk``).  For a second remittance of the file (the
        first's claims and standing denials have moved), or when the claims moved so far would take
        more memory than ``MAX_MOVED``."""
        if self._lookups is not None:
            self._lookups.close()
            self._lookups = None
        self.moved = {}

    # --- the stream ---------------------------------------------------------------------------

    def refuse(self, reason: str) -> None:
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)

    @property
    def writing(self) -> bool:
        return not self.reasons and self.remittance_id is not None

    def take(self, part: RemittancePart | ClaimPaymentDraft) -> None:
        if type(part) is ClaimPaymentDraft or isinstance(part, ClaimPaymentRecord):
            self._claim(part)
        elif isinstance(part, RemittanceHeader):
            self._start(part.remittance)
        elif isinstance(part, RemittanceEnd):
            self._end(part)

    def _start(self, header: RemittanceRecord) -> None:
        if self.header is not None:  # not the file's first remittance
            self._look_up_in_line()
        self.header = header
        self.payer = remittance_payer_key(header)
        self.claims_paid = ZERO
        self.claim_count = self.reversal_count = self.negative_claims = 0
        self.marked = set()
        self.payee_of = {}
        self.remittance_id = None
        self.existing_fingerprint = None
        self.claim_infos = {}  # the last remittance's: their standing denials may have moved since
        foreign = self.our_payer.refusal(header)
        if foreign is None and not self._payee_is_ours(header):
            foreign = f"paid to {payee_label(header)}, not ours"
        if foreign is not None:  # nothing of it is looked at further: its claims may share our ids
            self.refuse(f"835 trace {header.trace_number}: {foreign}")
            return
        found = self.session.execute(select(Remittance.id, Remittance.content_sha256).where(
            Remittance.payer_id == self.payer, Remittance.trace_number == header.trace_number)).first()
        if found is not None:
            self.existing_fingerprint = found.content_sha256
            return
        if self.reasons:
            return
        # Inserted now, so that a second process posting the same payment waits (PostgreSQL: on
        # the unique key) instead of doing all the work twice.
        self.remittance_id = self.session.execute(insert(_REMITTANCES).returning(Remittance.id), {
            "transmission_id": self.transmission_id, "payer_id": self.payer, "payer_name": header.payer_name,
            "trace_number": header.trace_number, "total_paid": header.total_paid,
            "payment_method": header.payment_method or None, "payment_date": header.payment_date,
            "content_sha256": "pending", "created_at": self.now,
        }).scalar_one()

    def _payee_is_ours(self, header: RemittanceRecord) -> bool:
        """The payee bills at least one claim of the ledger (each claim is checked again when matched)."""
        column, value = ("npi", header.payee_npi) if header.payee_npi else ("tax_id", header.payee_tax_id)
        if not value:
            return False
        return postings.provider_bills_claims(self.connection, column, value)

    def _claim(self, clp: _ClaimPayment) -> None:
        assert self.header is not None
        self.claims_paid += clp.paid
        self.claim_count += 1
        if clp.status == REVERSAL_STATUS:
            self.reversal_count += 1
        elif clp.paid < 0:
            self.negative_claims += 1
        sums = claim_sums(clp)
        if not sums.balanced(clp.paid):
            for error in claim_balance_errors(self.header.trace_number, _record(clp), sums):
                self.refuse(f"does not balance: {error.message}")
        if self.remittance_id is not None and not self.reasons:  # self.writing, inline: once per CLP
            self.chunk.append((clp, sums))
            if len(self.chunk) >= self.chunk_size:
                self._post_chunk()

    def _end(self, end: RemittanceEnd) -> None:
        remit = end.remittance
        expected = self.claims_paid - remit.provider_adjusted
        if expected != remit.total_paid:
            error = BalanceError(TRANSACTION, remit.trace_number, None, None, expected, remit.total_paid,
                                 remit.source)
            self.refuse(f"does not balance: {error.message}")
        debit = remit.credit_debit == "D" and remit.total_paid != 0
        if (remit.total_paid < 0 or debit or self.claims_paid < 0) and (
                self.negative_claims or not self.reversal_count):
            self.refuse(f"835 trace {remit.trace_number}: a negative deposit (BPR02 {remit.total_paid}"
                        f"{', a debit' if debit else ''}; claims net {self.claims_paid}) that is not a reversal")
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
        assert self.remittance_id is not None  # self.writing
        mark_claims(self.connection, self.marked)
        self.session.execute(update(_REMITTANCES).where(Remittance.id == self.remittance_id)
                             .values(content_sha256=end.fingerprint))
        self.report.posted += 1
        self.report.total_paid += remit.total_paid
        if self.remittance_id is not None:
            self.report.remittance_ids.append(self.remittance_id)

    def finish(self) -> None:
        self.writes.settle()
        if self.reasons:
            raise RemittanceRefused(self.reasons)

    def close(self, *, failing: bool = False) -> None:
        """No write left in flight: before the caller commits or rolls back."""
        try:
            self.writes.close(failing=failing)
        finally:
            self._look_up_in_line()

    # --- one chunk of claims -----------------------------------------------------------------

    def _post_chunk(self) -> None:
        clps, self.chunk = self.chunk, []
        if not clps or not self.writing:
            return
        # The lookups read what a posting's rows do not change — service lines, parties, ids — and the
        # claims, whose changes by this file (status, CLP07) ``_revisions`` takes from memory.  On their own
        # connection they run while the earlier chunks' rows are written; else they run before the previous
        # chunk's rows are written (held, ``WriteBehind.stage``) and after all others, and the previous
        # chunk's ``_ClaimInfo``s hold what the held rows change.
        in_line = self._lookups is None
        if in_line:
            self.writes.settle_running()
        self._ahead = True
        try:
            targets, lines = self._look_up(clps)
        finally:
            self._ahead = False
        if in_line:
            self.writes.release()
        if targets is None or lines is None:  # a CLP refused the file
            return
        for (clp, sums), (_, claim) in zip(clps, targets, strict=True):
            if clp.status == REVERSAL_STATUS:
                self._post_reversal(_record(clp), sums, claim, lines)
            else:
                self._post_claim(clp, sums, claim, lines)
        self._write()

    def _look_up(self, clps: list[tuple[_ClaimPayment, ClaimSums]]) -> tuple[
            list[tuple[_ClaimPayment, _ClaimInfo | None]] | None, _ChunkLines | None]:
        """Each CLP of a chunk with the claim revision it pays (None: unmatched), and the chunk's lines;
        (None, None) when a CLP refused the file."""
        keys = [c.patient_control_number.upper() for c, _ in clps]
        revisions = self._revisions(set(keys))
        payee_of = self.payee_of
        never_sent = ClaimStatus.NEVER_SENT
        targets: list[tuple[ClaimPaymentRecord | ClaimPaymentDraft, _ClaimInfo | None]] = []
        for (clp, _), key in zip(clps, keys, strict=True):
            found = revisions.get(key)
            if not found:
                targets.append((clp, None))
            elif clp.status == REVERSAL_STATUS:  # filed under the posting it cancels (``_post_reversal``)
                targets.append((clp, found[-1]))
            elif len(found) == 1 and found[0].status not in never_sent and payee_of.get(found[0].billing_id):
                targets.append((clp, found[0]))  # the usual claim: one revision, sent, billed by the payee
            else:
                targets.append((clp, self._paid_revision(clp, found)))
        if not self.writing:
            return None, None
        lines = _ChunkLines(self.writer, targets, lambda: self.connection)
        self._reserve_ids([c for c, _ in clps])
        return targets, lines

    def _revisions(self, keys: Iterable[str]) -> dict[str, list[_ClaimInfo]]:
        """Every revision of the claims whose upper-cased ids are ``keys`` (payers upper-case CLP01;
        ingest refuses ids that differ only in case), oldest first, by upper-cased id."""
        found: dict[str, list[_ClaimInfo]] = {}
        kept = self.claim_infos  # the previous chunk's claims, as its rows (maybe not written yet) leave them
        moved = self.moved  # on the lookup connection: every claim this file moved
        for row in postings.claim_revisions(self.connection, list(keys)):
            info = kept.get(row[0]) or moved.get(row[0]) or _ClaimInfo(*row)
            chain = found.get(key := row[1].upper())
            if chain is None:
                found[key] = [info]
            else:
                chain.append(info)
                chain.sort(key=_by_revision)
        self.claim_infos = {info.pk: info for chain in found.values() for info in chain}
        return found

    def _paid_revision(self, clp: _ClaimPayment, chain: list[_ClaimInfo]) -> _ClaimInfo | None:
        """The revision a CLP pays: one we sent, by CLP07 (the payer's number for it), else by the
        REF*F8 a replacement named, else the latest sent.  An unsent void or replacement is never
        paid: a late CLP for the original lands on the original.  None (and the file refused) when
        no revision was sent or the payee does not bill the claim."""
        trace = self.header.trace_number if self.header else ""
        sent = [info for info in chain if info.sent]
        if not sent:
            self.refuse(f"835 trace {trace} pays claim {clp.patient_control_number}, which was never sent "
                        f"(it is {chain[-1].status})")
            return None
        number = clp.payer_claim_number
        chosen = next((info for info in reversed(sent) if number and info.payer_claim_number == number), None)
        if chosen is None:
            original = next((value for qualifier, value in clp.references if qualifier == "F8"), None)
            chosen = next((info for info in reversed(sent)
                           if original and info.original_claim_number == original), sent[-1])
        if not self._billed_by_payee(chosen):
            assert self.header is not None
            self.refuse(f"835 trace {trace} pays claim {clp.patient_control_number}: paid to "
                        f"{payee_label(self.header)}, not ours (the claim's billing provider is another)")
            return None
        return chosen

    def _billed_by_payee(self, claim: _ClaimInfo) -> bool:
        found = self.payee_of.get(claim.billing_id)
        if found is None:
            assert self.header is not None
            npi, tax_id = postings.party_ids(self.connection, claim.billing_id)
            found = self.payee_of[claim.billing_id] = paid_to(self.header, npi, tax_id)
        return found

    def _claim_by_pk(self, pk: int) -> _ClaimInfo:
        info = self.claim_infos.get(pk) or self.moved.get(pk)
        if info is None:
            info = _ClaimInfo(*postings.claim_revision(self.connection, pk))
        self.claim_infos[pk] = info
        return info

    def _queue(self, clp: _ClaimPayment, sums: ClaimSums, claim_pk: int | None, outcome: str,
               reverses_id: int | None, lines: _ChunkLines) -> None:
        """The rows of one CLP: its claim payment, service payments and adjustments (the hot loop of
        posting: the writer's conversions of amounts and dates are read inline)."""
        patient = clp.patient_responsibility
        if patient is None:
            patient = sums.patient
        if claim_pk is not None:
            added = sums.claim_money(clp.charge, clp.paid, patient)
            kept = self.claim_money.get(claim_pk)
            if kept is None:
                self.claim_money[claim_pk] = list(added)
            else:
                for k, amount in enumerate(added):
                    kept[k] += amount
        money = self.money
        claim_payment_id = next(self.claim_payment_ids)
        self.claim_rows.append((
            claim_payment_id, self.remittance_id, claim_pk, clp.patient_control_number, clp.status,
            money(clp.charge), money(clp.paid), money(patient), clp.payer_claim_number or None, self.now_db,
            outcome, reverses_id, ",".join(clp.remark_codes)[:200] or None))
        if clp.adjustments:
            rows = self.claim_adjustment_rows
            for adjustment in clp.adjustments:
                quantity = adjustment.quantity
                rows.append((claim_payment_id, None, adjustment.group, adjustment.reason,
                             money(adjustment.amount), None if quantity is None else str(quantity)))
        line_rows = self.line_rows
        rows = self.line_adjustment_rows
        line_ids = self.service_payment_ids
        date_of = self.date
        refs = lines.refs.get(claim_pk) if claim_pk is not None else None  # type: ignore[arg-type]
        for svc in clp.lines:
            when = svc.service_date or svc.service_start
            line_id = svc.line_id
            matched = refs.get(line_id) if refs is not None and line_id else None  # match_line's first rule
            if matched is None:
                matched = lines.match(claim_pk, svc, when)
            if matched is None:
                self.report.unmatched_lines += 1
            service_payment_id = next(line_ids)
            modifiers = svc.modifiers
            line_rows.append((
                service_payment_id, claim_payment_id, matched,
                ":".join((svc.procedure_code, *modifiers))[:48] if modifiers else svc.procedure_code[:48],
                money(svc.charge), money(svc.paid), svc.line_id, date_of(when), ",".join(svc.remark_codes)[:200] or None))
            for adjustment in svc.adjustments:
                quantity = adjustment.quantity
                rows.append((claim_payment_id, service_payment_id, adjustment.group, adjustment.reason,
                             money(adjustment.amount), None if quantity is None else str(quantity)))

    def _post_claim(self, clp: _ClaimPayment, sums: ClaimSums, claim: _ClaimInfo | None,
                    lines: _ChunkLines) -> None:
        outcome = adjudicated_status(clp, sums)
        patient_adjusted = sums.patient
        self._queue(clp, sums, claim.pk if claim else None, outcome, None, lines)
        if outcome == ClaimStatus.DENIED:
            self.report.denied.append(clp.patient_control_number)
        if claim is None:
            self.report.unmatched_claims.append(clp.patient_control_number)
            return
        if outcome == ClaimStatus.DENIED or claim.denial_payment_id is not None:
            # its newest CLP is a denial now, or the one it had may no longer stand; any other
            # claim still has none (its newest CLP is not a denial)
            self.marked.add(claim.pk)
        detail = f"CLP02 {clp.status} paid {clp.paid} of {clp.charge}; payer claim {clp.payer_claim_number}"
        if claim.status in (ClaimStatus.REPLACED, ClaimStatus.VOIDED):  # a late CLP: the chain has moved on
            self._event(claim, "remit_posted", detail + f"; revision {claim.revision} stays {claim.status}")
        else:
            self._transition(claim, outcome, "remit_posted", detail,
                             payer_claim_number=clp.payer_claim_number or None)
        self.report.claims_posted += 1
        if claim.line_of_business in NO_CHARGE_PLANS:
            patient = max(patient_adjusted, clp.patient_responsibility or ZERO)
            if patient > ZERO:
                self._event(claim, "patient_responsibility_flagged",
                            f"patient responsibility {patient} on a {claim.line_of_business} claim: "
                            "the member cannot be charged")
                self.report.flagged.append(clp.patient_control_number)

    def _post_reversal(self, clp: ClaimPaymentRecord, sums: ClaimSums, current: _ClaimInfo | None,
                       lines: _ChunkLines) -> None:
        """``current``: the latest revision of CLP01's claim, if any."""
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
        self._queue(clp, sums, claim_pk, REVERSAL, original_id, lines)
        if claim_pk is not None:  # the claim of the cancelled posting: an older CLP may stand again
            self.marked.add(claim_pk)
        self.report.reversals += 1
        if claim_pk is None:
            self.report.unmatched_claims.append(clp.patient_control_number)
            return
        target = self._claim_by_pk(claim_pk)
        if not self._billed_by_payee(target):
            self.refuse(f"835 trace {self.header.trace_number if self.header else ''} reverses a payment of claim "
                        f"{target.claim_id} billed by another provider than the payee")
            return
        detail = f"CLP02 22 reverses payment of {-clp.paid}; payer claim {' / '.join(numbers)}"
        if current is not None and current.pk != target.pk and current.frequency == "8" and current.sent:
            self._event(target, "remit_reversed", detail)
            self._transition(current, ClaimStatus.VOIDED, "remit_posted", detail)
        elif target.status in (ClaimStatus.REPLACED, ClaimStatus.VOIDED):
            self._event(target, "remit_reversed", detail + f"; revision {target.revision} stays {target.status}")
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
        """Queued for ``transition`` (``_write_changes``), with the CLP07 it gives the claim when that is new;
        later CLPs of the chunk see the new status and number."""
        if not payer_claim_number or payer_claim_number == claim.payer_claim_number:
            payer_claim_number = None
        self.changes.append(_Change(claim.pk, claim.status, to_status, event, detail[:2000], True, payer_claim_number))
        claim.status = to_status
        if payer_claim_number:
            claim.payer_claim_number = payer_claim_number
        if self._lookups is not None:
            self.moved[claim.pk] = claim
            if len(self.moved) > MAX_MOVED:
                self._look_up_in_line()

    def _event(self, claim: _ClaimInfo, event: str, detail: str) -> None:
        self.changes.append(_Change(claim.pk, claim.status, claim.status, event, detail[:2000], False))

    def _prepare_changes(self, changes: list[_Change], claim_money: dict[int, list[Decimal]]) -> list[Callable[[], None]]:
        """The queued transitions and events as writes to make in order (``_write``), their rows made now:
        in order for each claim, a run in which no claim appears twice at a time, its transitions grouped
        by (status, event) into bulk ``prepare_transition``s, each with the money its claims' postings add
        to their kept totals; then the money of the claims that did not move (a late CLP, a reversal filed
        under an older revision) on its own."""
        writes: list[Callable[[], None]] = []
        run: list[_Change] = []
        seen: set[int] = set()
        for change in changes:
            if change.id in seen:
                writes += self._prepare_run(run, claim_money)
                run, seen = [], set()
            run.append(change)
            seen.add(change.id)
        writes += self._prepare_run(run, claim_money)
        if claim_money:
            money = self.kept_money
            writes.append(prepare_claims_update(self._connection, [
                (pk, None, *map(money, added)) for pk, added in claim_money.items()]))
        return writes

    def _prepare_run(self, run: list[_Change], claim_money: dict[int, list[Decimal]]) -> list[Callable[[], None]]:
        moves: dict[tuple[str, str], list[_Change]] = {}
        for change in run:
            if change.moves:
                moves.setdefault((change.to_status, change.event), []).append(change)
        writes = [prepare_transition(self.writer, changes, to_status, actor=self.actor, event=event,
                                     detail=[change.detail for change in changes],
                                     payer_claim_numbers=[change.payer_claim_number for change in changes],
                                     posted=[claim_money.pop(change.id, None) for change in changes])
                  for (to_status, event), changes in moves.items()]
        now = utcnow()
        events = [(change.id, now, self.actor, change.event, change.status, change.to_status, change.detail)
                  for change in run if not change.moves]
        if events:
            writes.append(prepare_events(self.writer, events))
        return writes

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
            self.session.execute(insert(_PROVIDER_ADJUSTMENTS), rows)
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

    def _reserve_ids(self, clps: list[_ClaimPayment]) -> None:
        """Ids for every claim and service payment ``clps`` can queue, taken in queueing order (the
        ids of a reversal refused later are left unused: its file is rolled back)."""
        connection = self.connection
        self.claim_payment_ids = iter(self.writer.allocate_ids(ClaimPayment.__table__, len(clps), connection))
        self.service_payment_ids = iter(self.writer.allocate_ids(ServicePayment.__table__,
                                                                 sum(len(clp.lines) for clp in clps), connection))

    def _write(self) -> None:
        """The queued rows, a table at a time: parents first; the adjustments of what was queued since
        the last write, claim level first, then line level; then the claims' moves and events.  Their
        rows and statements are made here (``BulkWriter.prepare_insert_written``, ``_prepare_changes``),
        and the writes handed to ``WriteBehind``, whose thread, which the poster's work would keep
        waiting for the interpreter, then only sends them."""
        if not (self.claim_rows or self.changes or self.claim_money):
            return
        claims, lines = self.claim_rows, self.line_rows
        adjustments = self.claim_adjustment_rows + self.line_adjustment_rows
        changes, claim_money = self.changes, self.claim_money
        self.claim_rows, self.line_rows = [], []
        self.claim_adjustment_rows, self.line_adjustment_rows = [], []
        self.changes, self.claim_money = [], {}
        writer = self.writer
        writes = [writer.prepare_insert_written(ClaimPayment.__table__, _CLAIM_PAYMENT_COLUMNS, claims),
                  writer.prepare_insert_written(ServicePayment.__table__, _SERVICE_PAYMENT_COLUMNS, lines),
                  writer.prepare_insert_written(Adjustment.__table__, _ADJUSTMENT_COLUMNS, adjustments)] if claims else []
        writes += self._prepare_changes(changes, claim_money)

        def job() -> None:
            for write in writes:
                write()

        if self._lookups is not None:
            self.writes.submit(job)  # the lookups do not use this connection: no need to hold it
        else:
            self.writes.stage(job)


_ClaimPayment = ClaimPaymentRecord | ClaimPaymentDraft
"""A CLP as the 835 reader yields it: a draft when read for posting (``drafts=True``), else a record;
the poster reads only attributes both have (the rest goes through ``_record``)."""


def _record(clp: _ClaimPayment) -> ClaimPaymentRecord:
    return clp.record() if isinstance(clp, ClaimPaymentDraft) else clp


# --- entry points --------------------------------------------------------------------------------


def post_remittance_parts(session: Session, parts: Iterable[RemittancePart | ClaimPaymentDraft], *, transmission_id: int | None,
                          actor: str, report: PaymentReport, chunk_size: int = CHUNK_CLAIMS,
                          payer: OurPayer = OUR_PAYER, lookups_apart: bool = False) -> None:
    """Post a stream of remittance parts inside the caller's transaction.

    ``lookups_apart``: the caller's transaction has changed no claim, service line or party before
    this call (what the lookups read), so on PostgreSQL the chunks' lookups may be made on a
    connection of their own, which sees only what was committed, while the rows are written.

    Raises ``RemittanceRefused`` (another payer or payee, a claim never sent, balances, a negative
    deposit, a reused trace number, a reversal of nothing) and ``X12ParseError`` (a broken or cut
    file); on either the caller must roll back, which leaves nothing of the file in the ledger.
    Report counters are only meaningful after a commit.
    """
    with bulk_writes(session):
        poster = _Poster(session, transmission_id=transmission_id, actor=actor, report=report,
                         chunk_size=chunk_size, payer=payer, lookups_apart=lookups_apart)
        try:
            for part in parts:
                poster.take(part)
            poster.finish()
        except BaseException:
            poster.close(failing=True)
            raise
        poster.close()




def post_835_text(session: Session, text: str, *, source: str = "<835>", transmission_id: int | None = None,
                  actor: str, report: PaymentReport, payer: OurPayer = OUR_PAYER) -> None:
    post_remittance_parts(session, read_remittance_text(text, source=source, drafts=True),
                          transmission_id=transmission_id, actor=actor, report=report, payer=payer)


def post_835_file(session: Session, path: Any, *, source: str | None = None, transmission_id: int | None = None,
                  actor: str, report: PaymentReport, payer: OurPayer = OUR_PAYER) -> None:
    """Stream an 835 file into the ledger (bounded memory whatever its size)."""
    post_remittance_parts(session, read_remittance_file(path, source=source, drafts=True),
                          transmission_id=transmission_id, actor=actor, report=report, payer=payer)

