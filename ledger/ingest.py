"""Putting parsed claims into the ledger: new, unchanged, updated or refused.

Re-ingesting the same export changes nothing.  A claim whose content changed
may still be updated while it has not left the office (ready, held) or after
its transmission was rejected; once sent, a change must go through
``bhclaims correct`` (a frequency-7 replacement) and is refused here.

The revision chain never goes backwards: after a void (8) any other row for the
claim, and after a replacement (7) an original (1), is refused — an export that
still carries the original must not bill it again.  A claim id that differs from
one in the ledger only in case is refused (payers upper-case CLP01, so the two
could not be told apart on a remittance), and so is a claim whose total charge
is more than the ledger's NUMERIC(12,2) holds: each a row of ``refused``, the
chunk's other claims stored as usual, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.claim import Claim as DomainClaim
from domain.remittance import MONEY_LIMIT, storable_money
from ledger.bulk import BulkWriter, bulk_writes, rows_where_in, search_by_index
from ledger.claims import (
    LINE_COLUMNS,
    PARTY_ROLES,
    PartyCache,
    party_links,
    record_event,
    replace_claim_content,
    transition,
)
from ledger.db import Ledger
from ledger.kept_denials import NO_STANDING_DENIAL, STANDING_DENIAL
from ledger.models import Claim, ClaimEvent, ClaimStatus
from ledger.models import ServiceLine as LineRow
from ledger.prepared import Checker, PreparedClaim, findings_json, prepare_claim
from ledger.totals import NOTHING_POSTED, TOTALS
from ledger.types import utcnow

__all__ = ["Checker", "IngestReport", "findings_json", "ingest_claims", "ingest_prepared"]

CHUNK_SIZE = 5000  # claims per transaction
INGEST_LOCK_KEY = 0x62686331  # "bhc1": PostgreSQL advisory lock held by each ingest chunk
UPDATABLE = (ClaimStatus.READY, ClaimStatus.HELD, ClaimStatus.REJECTED)
_COLUMN_OF = {attr.key: attr.columns[0].name for attr in Claim.__mapper__.column_attrs}
_ORIGINAL = "1"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (claim id, reason)


def ingest_claims(ledger: Ledger, claims: Iterable[DomainClaim], *, checker: Checker, actor: str,
                  chunk_size: int = CHUNK_SIZE) -> IngestReport:
    """Check ``claims``, store them in chunks (one transaction each), report what happened to each."""
    return ingest_prepared(ledger, (prepare_claim(claim, checker) for claim in claims), actor=actor,
                           chunk_size=chunk_size)


class WriteTurn(Protocol):
    """Whose turn it is to write, among processes sharing one ingest (a ``multiprocessing.Lock``)."""

    def acquire(self, block: bool = True) -> bool: ...

    def release(self) -> None: ...


def ingest_prepared(ledger: Ledger, claims: Iterable[PreparedClaim], *, actor: str,
                    chunk_size: int = CHUNK_SIZE, turn: WriteTurn | None = None,
                    chunk_target: Callable[[], int] | None = None) -> IngestReport:
    """Store prepared claims in chunks (one transaction each) and report what happened to each.

    ``turn``: processes storing shares of one export take turns to write.  A full chunk is
    written when the turn is free; while another process writes, this one goes on reading
    and writes when its turn comes or its chunk is twice the size, instead of waiting idle
    on the database's write lock.  ``chunk_target``, asked before each claim, sets the
    chunk size instead of ``chunk_size`` (a worker's chunks shrink towards the end of its
    share).  The chunks' sizes do not change what is stored.
    """
    report = IngestReport()
    chunk: list[PreparedClaim] = []
    ids: set[str] = set()

    def write(*, waiting: bool) -> bool:
        if turn is None:
            _ingest_chunk(ledger, chunk, actor, report)
            return True
        if not turn.acquire(waiting):
            return False
        try:
            _ingest_chunk(ledger, chunk, actor, report)
        finally:
            turn.release()
        return True

    for claim in claims:
        size = chunk_size if chunk_target is None else chunk_target()
        key = claim.claim_id.upper()
        repeated = key in ids  # one revision of a claim (whatever its case) per chunk: write the first now
        if (repeated or len(chunk) >= size) and write(waiting=repeated or len(chunk) >= 2 * size):
            chunk, ids = [], set()
        chunk.append(claim)
        ids.add(key)
    if chunk:
        write(waiting=True)
    return report


@dataclass(frozen=True)
class _Latest:
    id: int
    claim_id: str
    revision: int
    content_hash: str
    status: str
    frequency: str
    created_at: Any  # as the driver returns it: ``_created_on`` reads it


def _latest_revisions(session: Session, claim_ids: list[str]) -> dict[str, _Latest]:
    """The latest revision of each claim, by upper-cased claim id (found whatever its case)."""
    latest: dict[str, _Latest] = {}
    rows = rows_where_in(session.connection(), "SELECT id, claim_id, revision, content_hash, status, frequency, "
                         "created_at FROM claims WHERE upper(claim_id) IN ({marks})", [c.upper() for c in claim_ids])
    for row in rows:
        key = row[1].upper()
        if key not in latest or latest[key].revision < row[2]:
            latest[key] = _Latest(*row)
    return latest


def _created_on(value: Any) -> date:
    """``claims.created_at`` as the driver returns it (SQLite: UTC text; PostgreSQL: an aware datetime)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return date.fromisoformat(str(value)[:10])


def _refusal(claim: PreparedClaim, existing: _Latest | None) -> str | None:
    """Why ``claim`` may not be stored whatever the state of its latest revision, or None.
    (``_ingest_chunk`` asks only about a claim the ledger knows or with a total beyond its limit.)"""
    if not storable_money(claim.columns["billed"]):
        return (f"claim {claim.claim_id}: its lines total {claim.columns['billed']}, more than the "
                "9,999,999,999.99 the ledger keeps for a claim")
    if existing is None:
        return None
    if existing.claim_id != claim.claim_id:
        return (f"claim id {claim.claim_id} differs only in case from claim {existing.claim_id} in the ledger; "
                "payers upper-case claim ids, so the two could not be told apart")
    backwards = (existing.frequency == "8" and claim.frequency != "8") or (
        existing.frequency == "7" and claim.frequency == _ORIGINAL)
    if backwards:
        verb = "voided" if existing.frequency == "8" else "replaced"
        return (f"{claim.claim_id} was {verb} on {_created_on(existing.created_at).isoformat()}; "
                f"{_how_to_change(claim.claim_id, existing)}")
    return None


def _how_to_change(claim_id: str, existing: _Latest) -> str:
    """What the clerk can do about a sent claim that changed: a replacement (`bhclaims correct`),
    except for a voided claim, which the payer takes nothing more for (``corrections`` refuses it)."""
    if existing.frequency == "8" or existing.status == ClaimStatus.VOIDED:
        return "a voided claim cannot be corrected: bill the service again as a new claim with a new claim id"
    return f"change it with `bhclaims correct {claim_id}`"


@dataclass
class _NewRow:
    claim: PreparedClaim
    revision: int
    replaces_id: int | None
    status: str


def _ingest_chunk(ledger: Ledger, claims: list[PreparedClaim], actor: str, report: IngestReport) -> None:
    """One transaction: set-based inserts for new claims, the ORM for the rare update."""
    with ledger.session() as session, bulk_writes(session):
        if session.get_bind().dialect.name == "postgresql":
            # One ingest chunk at a time, as SQLite's BEGIN IMMEDIATE has it: two writers (worker
            # processes, two clerks) must not both store a party the other is storing.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INGEST_LOCK_KEY})
            search_by_index(session.connection())  # the chunk's reads are key searches; for its transaction
        parties = PartyCache(session)
        latest = _latest_revisions(session, [c.claim_id for c in claims])
        new_rows: list[_NewRow] = []
        for claim in claims:
            existing = latest.get(claim.claim_id.upper())
            if existing is not None or not -MONEY_LIMIT < claim.columns["billed"] < MONEY_LIMIT:
                refusal = _refusal(claim, existing)
                if refusal is not None:
                    report.refused.append((claim.claim_id, refusal))
                    continue
            if existing is not None and existing.content_hash == claim.digest:
                report.unchanged.append(claim.claim_id)
                continue
            is_new_revision = existing is not None and claim.frequency != _ORIGINAL \
                and existing.frequency != claim.frequency and existing.status in ClaimStatus.ADJUDICATED
            if existing is not None and not is_new_revision and existing.status not in UPDATABLE:
                report.refused.append((
                    claim.claim_id,
                    f"claim {claim.claim_id} changed but was already {existing.status}: "
                    f"{_how_to_change(claim.claim_id, existing)}",
                ))
                continue
            status = ClaimStatus.HELD if claim.blocking else ClaimStatus.READY
            if existing is not None and not is_new_revision:
                _update(session, parties, session.get_one(Claim, existing.id), claim, status, actor, report)
                continue
            new_rows.append(_NewRow(claim, 0 if existing is None else existing.revision + 1,
                                    None if existing is None else existing.id, status))
            (report.held if status == ClaimStatus.HELD else report.added).append(claim.claim_id)
        if new_rows:
            session.flush()  # the updates' ORM rows first: the bulk writer hands out keys above them
            parties.resolve(record for new in new_rows for record in new.claim.parties.values())
            _insert_new(session, parties, new_rows, actor)


def _insert_new(session: Session, parties: PartyCache, new_rows: list[_NewRow], actor: str) -> None:
    # Straight to the driver (ledger.bulk): same transaction, none of the per-row bookkeeping.
    now = utcnow()
    writer = BulkWriter(session)
    claims_table, lines_table, events_table = Claim.__table__, LineRow.__table__, ClaimEvent.__table__
    ids = writer.allocate_ids(claims_table, len(new_rows))
    first = new_rows[0].claim
    columns = ("id", *(_COLUMN_OF[key] for key in first.columns), *(f"{role}_id" for role in PARTY_ROLES),
               "content_hash", "revision", "replaces_id", "status", "findings", "payer_claim_number",
               "created_at", "updated_at", *TOTALS, *STANDING_DENIAL)
    if sorted(columns) != sorted(claims_table.columns.keys()):
        raise ValueError("a new claim row must name every column of the claims table")
    rows = []
    for pk, new in zip(ids, new_rows, strict=True):
        claim = new.claim
        links = parties.ids_of(claim.parties).values()
        rows.append((pk, *claim.columns.values(), *links, claim.digest, new.revision, new.replaces_id, new.status,
                     claim.findings, None, now, now, *NOTHING_POSTED, *NO_STANDING_DENIAL))
    writer.insert(claims_table, columns, rows)
    line_rows = [(pk, *line) for pk, new in zip(ids, new_rows, strict=True) for line in new.claim.lines]
    line_ids = writer.allocate_ids(lines_table, len(line_rows))
    writer.insert(lines_table, ("id", "claim_pk", *LINE_COLUMNS),
                  [(line_id, *row) for line_id, row in zip(line_ids, line_rows, strict=True)])
    event_ids = writer.allocate_ids(events_table, len(new_rows))
    writer.insert(events_table, _EVENT_COLUMNS, [
        (event_id, pk, actor, "ingested", None, new.status, new.claim.where, now)
        for event_id, pk, new in zip(event_ids, ids, new_rows, strict=True)
    ])


_EVENT_COLUMNS = ("id", "claim_pk", "actor", "event", "from_status", "to_status", "detail", "at")


def _update(session: Session, parties: PartyCache, row: Claim, claim: PreparedClaim, status: str, actor: str,
            report: IngestReport) -> None:
    parties.resolve(claim.parties.values())
    values = {**claim.columns, **party_links(parties.ids_of(claim.parties)), "content_hash": claim.digest}
    replace_claim_content(row, values, claim.lines)
    row.findings = claim.findings
    session.flush()
    if row.status != status:
        transition(session, row, status, actor=actor, event="updated", detail=claim.where)
    else:
        record_event(session, row, actor=actor, event="updated", detail=claim.where)
    report.updated.append(claim.claim_id)
    if status == ClaimStatus.HELD:
        report.held.append(claim.claim_id)
