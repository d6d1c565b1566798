"""`bhclaims send`: every built batch reaches the clearinghouse exactly once.

Each upload is recorded in the ledger before it starts (``uploading``) and
after it ends (``sent``).  A rerun after a crash asks the far side what it has
before uploading again: the final name means the rename went through and only
its reply was lost; a temp name or nothing means upload again.  Partners that
move files away on arrival cannot be asked, so an interrupted upload to them is
left ``in_doubt`` for a human instead of risking a duplicate claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ledger.claims import transition
from ledger.db import Ledger
from ledger.models import Batch, BatchClaim, Claim, ClaimStatus, Transmission
from outbox.files import sha256_file
from outbox.lock import mailbox_lock
from outbox.transport import TransportError
from runtime.config import Config
from runtime.logs import get_logger

log = get_logger("bhclaims.send")


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    in_doubt: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def send_batches(ledger: Ledger, config: Config, transport: Any, *, actor: str, lock_wait: float = 0.0) -> SendReport:
    report = SendReport()
    with mailbox_lock(config.state_dir, "clearinghouse", wait_seconds=lock_wait):
        with ledger.session() as session:
            batch_ids = list(session.scalars(
                select(Batch.id).where(Batch.status.in_(("built", "uploading"))).order_by(Batch.id)))
        for batch_id in batch_ids:
            _send_one(ledger, config, transport, batch_id, actor=actor, report=report)
    return report


def _send_one(ledger: Ledger, config: Config, transport: Any, batch_id: int, *, actor: str, report: SendReport) -> None:
    with ledger.session() as session:
        batch = session.get_one(Batch, batch_id)
        name = batch.file_name
        assert name is not None
        path = config.outbox_dir / name
        interrupted = batch.status == "uploading"
        if not interrupted:
            if sha256_file(path) != batch.sha256:
                report.failed.append((name, "outbox file differs from what was built; not sent"))
                return
            session.add(Transmission(direction="out", kind="837P", batch_id=batch.id, file_name=name,
                                     local_path=str(path), sha256=batch.sha256 or "", size=path.stat().st_size,
                                     state="uploading"))
            batch.status = "uploading"
    try:
        state = transport.remote_state(name) if interrupted else "absent"
        if interrupted and state == "absent" and getattr(transport, "moves_on_arrival", False):
            _mark(ledger, batch_id, "in_doubt", actor=actor)
            report.in_doubt.append((name, "upload was interrupted and the partner moves files on arrival: "
                                          "confirm with the clearinghouse, then `bhclaims resolve-upload`"))
            return
        if state != "final":
            transport.upload(path, name)
    except TransportError as exc:
        log.warning("batch.send_failed", batch_id=batch_id, file=name, error=str(exc))
        report.failed.append((name, str(exc)))
        return
    _mark(ledger, batch_id, "sent", actor=actor)
    log.info("batch.sent", batch_id=batch_id, file=name)
    report.sent.append(name)


def _mark(ledger: Ledger, batch_id: int, state: str, *, actor: str) -> None:
    with ledger.session() as session:
        batch = session.get_one(Batch, batch_id)
        batch.status = state
        for transmission in session.scalars(select(Transmission).where(
                Transmission.batch_id == batch_id, Transmission.direction == "out",
                Transmission.state == "uploading")):
            transmission.state = state
        if state == "sent":
            claims = session.scalars(select(Claim).join(BatchClaim, BatchClaim.claim_pk == Claim.id)
                                     .where(BatchClaim.batch_id == batch_id, Claim.status == ClaimStatus.BATCHED))
            for claim in claims:
                transition(session, claim, ClaimStatus.SENT, actor=actor, event="sent",
                           detail=f"file {batch.file_name}")
