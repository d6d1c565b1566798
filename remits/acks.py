"""Posting what the clearinghouse says about our files: TA1, 999 and 277CA.

A 999 is matched to our batch by the group control number it acknowledges
(AK102 = our GS06) *and* by the sender/receiver pair (its GS03/GS02 = our
GS02/GS03), so another submitter's 999 can never move our claims.  Rejected
transaction sets put their claims back to ``ready``: the next build sends them
with new control numbers and the same CLM01.  A 277CA only moves a claim
forward (sent → accepted or rejected), so 277CAs arriving out of order cannot
undo a later answer; every 277CA is kept as an acknowledgement row, and the
payer's claim number (REF*1K) of an accepted claim is stored on the claim.

A TA1 is matched by our ISA13 and the ISA06/ISA08 pair.  An acknowledgement
that arrives while a batch is still ``uploading`` (the upload's reply was lost
and no rerun has happened yet) proves the file arrived: its claims are moved
to ``sent`` first, so the audit log still reads batched → sent → accepted.

An acknowledgement of something we never sent — a batch that does not exist, was
never uploaded, or a transaction set or claim not in what we sent (another
submitter's mail, a stale or forged file) — changes nothing: ``AckRefused`` rolls
the file back and ``remits.inbound`` quarantines it whole with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.acks import ClaimStatusReport, FunctionalAck, InterchangeAck
from domain.remittance import OurPayer
from ledger.claims import record_event, transition
from ledger.models import Acknowledgement, Batch, BatchClaim, Claim, ClaimStatus
from remits.refusals import FileRefused

SENT_BATCHES = frozenset({"uploading", "in_doubt", "sent", "accepted", "rejected", "partial"})
"""Batch statuses of a file that went (or may have gone) to the clearinghouse: the only ones an
acknowledgement may answer (``uploading`` / ``in_doubt``: the answer proves it arrived)."""
UPLOAD_UNCONFIRMED = ("uploading", "in_doubt")


class AckRefused(FileRefused):
    """The acknowledgement names something we never sent; nothing of its file is posted."""


@dataclass
class AckReport:
    accepted_claims: int = 0
    requeued_claims: list[str] = field(default_factory=list)
    rejected_claims: list[tuple[str, str]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def _batch_claims(session: Session, batch_id: int, st: str | None = None) -> list[Claim]:
    query = (
        select(Claim).join(BatchClaim, BatchClaim.claim_pk == Claim.id).where(BatchClaim.batch_id == batch_id)
    )
    if st is not None:
        query = query.where(BatchClaim.st_control_number == st)
    return list(session.scalars(query))


def _requeue(session: Session, claims: list[Claim], *, actor: str, reason: str, report: AckReport) -> None:
    """The rejected batch's sent or batched claims back to ready, in one bulk transition."""
    requeued = [claim for claim in claims if claim.status in (ClaimStatus.SENT, ClaimStatus.BATCHED)]
    transition(session, requeued, ClaimStatus.READY, actor=actor, event="transmission_rejected", detail=reason)
    report.requeued_claims.extend(claim.claim_id for claim in requeued)


def post_functional_ack(
    session: Session, ack: FunctionalAck, *, transmission_id: int | None, actor: str, report: AckReport
) -> None:
    group = ack.group_control_number
    batch = (
        None
        if not group.isdigit()
        else session.scalar(
            select(Batch).where(
                Batch.group_control_number == int(group),
                Batch.sender_id == ack.envelope.group_receiver,
                Batch.receiver_id == ack.envelope.group_sender,
            )
        )
    )
    if batch is None:
        raise AckRefused([f"999 for group {ack.group_control_number} from {ack.envelope.group_sender} to "
                          f"{ack.envelope.group_receiver}: we never sent a batch with that group control number"])
    _check_sent(batch, f"999 for group {ack.group_control_number}")
    uploading = batch.status in UPLOAD_UNCONFIRMED
    sets = {s.control_number: s for s in ack.sets}
    st_numbers = sorted(
        {
            bc.st_control_number
            for bc in session.scalars(select(BatchClaim).where(BatchClaim.batch_id == batch.id))
        }
    )
    strangers = sorted(set(sets) - set(st_numbers))
    if strangers:
        raise AckRefused([f"999 for group {ack.group_control_number} answers transaction set(s) "
                          f"{', '.join(strangers)}, which batch {batch.file_name} never held"])
    any_rejected = any_accepted = False
    for st in st_numbers:
        set_ack = sets.get(st)
        rejected = set_ack.rejected if set_ack is not None else ack.group_rejected
        code = set_ack.code if set_ack is not None else ack.code
        errors = _set_errors(set_ack) if set_ack is not None else f"group {ack.code}"
        session.add(
            Acknowledgement(
                transmission_id=transmission_id,
                kind="999",
                batch_id=batch.id,
                set_control_number=st,
                code=code,
                detail=errors,
            )
        )
        claims = _batch_claims(session, batch.id, st)
        if rejected:
            any_rejected = True
            _requeue(session, claims, actor=actor, reason=f"999 rejected ST {st}: {errors}", report=report)
        else:
            any_accepted = True
            for claim in claims:
                if uploading:
                    _arrived(session, claim, actor=actor, evidence=f"999 for ST {st}")
                if claim.status == ClaimStatus.SENT:
                    transition(
                        session,
                        claim,
                        ClaimStatus.ACCEPTED,
                        actor=actor,
                        event="accepted_999",
                        detail=f"999 accepted ST {st} ({code})",
                    )
                    report.accepted_claims += 1
    batch.status = (
        "partial" if any_rejected and any_accepted else ("rejected" if any_rejected else "accepted")
    )


def _check_sent(batch: Batch, what: str) -> None:
    if batch.status not in SENT_BATCHES:
        raise AckRefused([f"{what} answers batch {batch.file_name or batch.id}, which was never sent "
                          f"(it is {batch.status})"])


def _arrived(session: Session, claim: Claim, *, actor: str, evidence: str) -> None:
    """A claim still ``batched`` whose file the clearinghouse answered was sent: say so first."""
    if claim.status == ClaimStatus.BATCHED:
        transition(
            session,
            claim,
            ClaimStatus.SENT,
            actor=actor,
            event="sent",
            detail=f"confirmed by {evidence} (the upload's reply was lost)",
        )


def _latest_batch_status(session: Session, claim: Claim) -> str | None:
    return session.scalar(
        select(Batch.status)
        .join(BatchClaim, BatchClaim.batch_id == Batch.id)
        .where(BatchClaim.claim_pk == claim.id)
        .order_by(Batch.id.desc())
        .limit(1)
    )


def _set_errors(set_ack: object) -> str:
    segments = getattr(set_ack, "segment_errors", ())
    reasons = getattr(set_ack, "reasons", ())
    parts = [f"IK5 {getattr(set_ack, 'code', '')} {','.join(reasons)}".strip()]
    parts += [f"{s.segment_id} at {s.position} (loop {s.loop_id}) error {s.code}" for s in segments]
    return "; ".join(parts)


def post_interchange_ack(
    session: Session, ack: InterchangeAck, *, transmission_id: int | None, actor: str, report: AckReport
) -> None:
    batch = session.scalar(
        select(Batch).where(
            Batch.interchange_control_number == int(ack.control_number or "0"),
            Batch.sender_id == ack.envelope.receiver_id,
            Batch.receiver_id == ack.envelope.sender_id,
        )
    )
    if batch is None:
        raise AckRefused([f"TA1 for interchange {ack.control_number} from {ack.envelope.sender_id} to "
                          f"{ack.envelope.receiver_id}: we never sent an interchange with that control number"])
    _check_sent(batch, f"TA1 for interchange {ack.control_number}")
    session.add(
        Acknowledgement(
            transmission_id=transmission_id,
            kind="TA1",
            batch_id=batch.id,
            code=ack.code,
            detail=f"TA1 {ack.code} note {ack.note_code}",
        )
    )
    if ack.rejected:
        batch.status = "rejected"
        _requeue(
            session,
            _batch_claims(session, batch.id),
            actor=actor,
            reason=f"TA1 rejected interchange {ack.control_number} (note {ack.note_code})",
            report=report,
        )


FORWARD_FROM = (ClaimStatus.SENT, ClaimStatus.ACCEPTED)


def _acknowledged_revision(session: Session, claim_id: str) -> Claim | None:
    """The latest revision of ``claim_id`` (whatever its case: CLM01 may come back upper-cased) that
    went to the clearinghouse — an unsent replacement or void is never what a 277CA answers."""
    revisions = session.scalars(select(Claim).where(func.upper(Claim.claim_id) == claim_id.upper())
                                .order_by(Claim.revision.desc()))
    for claim in revisions:
        if claim.status not in ClaimStatus.NEVER_SENT:
            return claim
        if claim.status == ClaimStatus.BATCHED and _latest_batch_status(session, claim) in UPLOAD_UNCONFIRMED:
            return claim
    return None


def post_claim_status(
    session: Session,
    report_277: ClaimStatusReport,
    *,
    transmission_id: int | None,
    actor: str,
    report: AckReport,
    payer: OurPayer,
) -> None:
    foreign = payer.claim_status_refusal(report_277)
    if foreign is not None:
        raise AckRefused([foreign])
    for status in report_277.claims:
        claim = _acknowledged_revision(session, status.patient_control_number)
        if claim is None:
            raise AckRefused([f"277CA for claim {status.patient_control_number}, which we never sent"])
        codes = ",".join(f"{s.category}:{s.status}" for s in status.statuses)
        session.add(
            Acknowledgement(
                transmission_id=transmission_id,
                kind="277CA",
                claim_pk=claim.id,
                code=status.category,
                detail=json.dumps({"statuses": codes}),
            )
        )
        if claim.status == ClaimStatus.BATCHED and _latest_batch_status(session, claim) in UPLOAD_UNCONFIRMED:
            _arrived(session, claim, actor=actor, evidence="a 277CA")
        if claim.status not in FORWARD_FROM:
            record_event(
                session,
                claim,
                actor=actor,
                event="status_277ca_ignored",
                detail=f"277CA {codes} arrived after the claim was {claim.status}",
            )
            continue
        if status.payer_claim_number and status.accepted and not claim.payer_claim_number:
            claim.payer_claim_number = status.payer_claim_number
        if status.rejected:
            transition(
                session, claim, ClaimStatus.REJECTED, actor=actor, event="rejected_277ca", detail=codes
            )
            report.rejected_claims.append((claim.claim_id, codes))
        elif status.accepted and claim.status == ClaimStatus.SENT:
            transition(
                session, claim, ClaimStatus.ACCEPTED, actor=actor, event="accepted_277ca", detail=codes
            )
            report.accepted_claims += 1
