"""`bhclaims send`: every built batch reaches the clearinghouse exactly once.

Each upload is recorded in the ledger before it starts (batch ``uploading``, a
Transmission ``uploading``) and after it ends (``sent``).  A rerun after a crash
(kill -9 included) asks the far side what it has before uploading again: the
final name means the rename went through and only its reply was lost; a temp
name or nothing means upload again (the transport truncates a stale temp name).

What can go wrong, and what the ledger then says:

- The upload timed out or the link broke mid-call (``TransportTimeout``, any
  network ``TransportError``): the outcome is in doubt.  The Transmission says
  ``in_doubt``, the batch stays ``uploading``, so the next run resolves it with
  ``remote_state``.  The run stops there: the next batch would only wait out
  the same dead link (and a refused key must not be offered again).
- The final name already exists and is not ours (``RemoteExists``): never
  overwritten.  Batch and Transmission say ``conflict``; the batch is not
  retried until a person finds out whose file that is.
- The rename from the temp name to the final name is recorded just before it is
  asked for (Transmission ``renaming``): the whole file is then under its temp name,
  and the rename takes the temp name away in the same step as the final name
  appears.  So when a rerun finds neither name, the rename happened and the partner
  has already taken the file (a local-folder clearinghouse, or one that moves files
  on arrival): it is marked sent, not uploaded again.
- Without that record, partners that move files away on arrival
  (``moves_on_arrival``) cannot be asked: an upload interrupted before its rename is
  left ``in_doubt`` (batch and Transmission) for a human instead of risking a
  duplicate claim; ``resolve_in_doubt`` records the answer the clearinghouse gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ledger.claims import transition
from ledger.db import Ledger
from ledger.models import Batch, BatchClaim, Claim, ClaimStatus, Transmission
from outbox.files import sha256_file
from outbox.lock import LockHold, mailbox_lock
from outbox.transport import RemoteExists, TransportError
from runtime.config import Config
from runtime.logs import get_logger

log = get_logger("bhclaims.send")

SENDABLE = ("built", "uploading")
OPEN_TRANSMISSION = ("uploading", "renaming", "in_doubt", "conflict")


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    in_doubt: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def moves_on_arrival(transport: Any) -> bool:
    """Whether the partner takes files away as they arrive (SFTP keeps it in its settings)."""
    settings = getattr(transport, "settings", None)
    return bool(getattr(transport, "moves_on_arrival", False) or getattr(settings, "moves_on_arrival", False))


def send_batches(
    ledger: Ledger, config: Config, transport: Any, *, actor: str, lock_wait: float = 0.0
) -> SendReport:
    report = SendReport()
    with mailbox_lock(
        config.state_dir, "clearinghouse", wait_seconds=lock_wait, database_url=ledger.url
    ) as hold:
        with ledger.session() as session:
            batches = list(
                session.execute(
                    select(Batch.id, Batch.file_name).where(Batch.status.in_(SENDABLE)).order_by(Batch.id)
                )
            )
        for index, (batch_id, _name) in enumerate(batches):
            hold.confirm()
            if not _send_one(ledger, config, transport, batch_id, actor=actor, report=report, hold=hold):
                stopped_at = report.in_doubt[-1][0]
                report.failed += [
                    (
                        str(name),
                        f"not attempted: the link failed on {stopped_at}; the next `bhclaims send` sends it",
                    )
                    for _id, name in batches[index + 1 :]
                ]
                break
    return report


def _send_one(
    ledger: Ledger, config: Config, transport: Any, batch_id: int, *, actor: str, report: SendReport,
    hold: LockHold,
) -> bool:
    """Send one batch; False when the link itself failed and the run should stop.

    The lock is confirmed again just before the rename that delivers the file: a lost lock
    leaves the batch 'uploading' with its temp file, which the next run finishes.
    """
    with ledger.session() as session:
        batch = session.get_one(Batch, batch_id)
        name = batch.file_name
        assert name is not None
        path = config.outbox_dir / name
        interrupted = batch.status == "uploading"
        renamed = interrupted and _rename_was_asked(session, batch_id)
        if not interrupted:
            if not path.is_file():
                _not_here(config, batch_id, name, report)
                return True
            if sha256_file(path) != batch.sha256:
                report.failed.append((name, "outbox file differs from what was built; not sent"))
                return True
            session.add(
                Transmission(
                    direction="out",
                    kind="837P",
                    batch_id=batch.id,
                    file_name=name,
                    local_path=str(path),
                    sha256=batch.sha256 or "",
                    size=path.stat().st_size,
                    state="uploading",
                )
            )
            batch.status = "uploading"
    try:
        state = transport.remote_state(name) if interrupted else "absent"
        if renamed and state == "absent":
            state = "taken"  # renamed whole, then taken away by the partner: delivered
        elif interrupted and state == "absent" and moves_on_arrival(transport):
            why = (
                "an earlier upload was interrupted and the clearinghouse moves files on arrival, so it "
                "cannot be asked whether the file arrived: confirm with the clearinghouse, then run "
                f"`bhclaims resolve-upload {name} --delivered` or `--not-delivered`"
            )
            _mark(ledger, batch_id, "in_doubt", batch_state="in_doubt", actor=actor, detail=why)
            log.warning("batch.in_doubt", batch_id=batch_id, file=name)
            report.in_doubt.append((name, why))
            return True
        if state not in ("final", "taken"):
            if not path.is_file():  # an interrupted upload of a file this host does not have
                _not_here(config, batch_id, name, report)
                return True
            transport.upload(path, name, before_rename=lambda: _renaming(ledger, batch_id, hold))
    except RemoteExists as exc:
        why = (
            f"{exc}. Someone else's file has this name at the clearinghouse; it was not replaced. "
            f"Batch marked 'conflict': ask the clearinghouse whose file it is, then run "
            f"`bhclaims resolve-upload {name} --delivered` or `--not-delivered`"
        )
        _mark(ledger, batch_id, "conflict", batch_state="conflict", actor=actor, detail=why)
        log.warning("batch.conflict", batch_id=batch_id, file=name)
        report.failed.append((name, why))
        return True
    except TransportError as exc:
        why = (
            f"{exc}. Outcome in doubt: the next `bhclaims send` asks the clearinghouse whether the file "
            f"arrived before sending it again"
        )
        _mark(ledger, batch_id, "in_doubt", batch_state="uploading", actor=actor, detail=str(exc))
        log.warning("batch.send_in_doubt", batch_id=batch_id, file=name, error=str(exc))
        report.in_doubt.append((name, why))
        return False
    _mark(ledger, batch_id, "sent", batch_state="sent", actor=actor)
    log.info("batch.sent", batch_id=batch_id, file=name, resolved=state if interrupted else None)
    report.sent.append(name)
    return True


def _not_here(config: Config, batch_id: int, name: str, report: SendReport) -> None:
    """A batch whose file is not in this host's outbox: said, left for the host that has it."""
    report.failed.append((name, f"not in this host's outbox ({config.outbox_dir}): built on another host, "
                                "or removed; not sent (the other batches go on)"))
    log.warning("batch.outbox_file_missing", batch_id=batch_id, file=name)


def _rename_was_asked(session: Any, batch_id: int) -> bool:
    found = session.scalar(
        select(Transmission.id)
        .where(
            Transmission.batch_id == batch_id,
            Transmission.direction == "out",
            Transmission.state == "renaming",
        )
        .limit(1)
    )
    return found is not None


def _renaming(ledger: Ledger, batch_id: int, hold: LockHold) -> None:
    hold.confirm()
    _record_rename(ledger, batch_id)


def _record_rename(ledger: Ledger, batch_id: int) -> None:
    """The whole file is under its temp name and its rename is next: say so first (see the module doc)."""
    with ledger.session() as session:
        for transmission in session.scalars(
            select(Transmission).where(
                Transmission.batch_id == batch_id,
                Transmission.direction == "out",
                Transmission.state.in_(("uploading", "in_doubt")),
            )
        ):
            transmission.state = "renaming"


def _mark(
    ledger: Ledger, batch_id: int, state: str, *, batch_state: str, actor: str, detail: str | None = None
) -> None:
    with ledger.session() as session:
        batch = session.get_one(Batch, batch_id)
        batch.status = batch_state
        for transmission in session.scalars(
            select(Transmission).where(
                Transmission.batch_id == batch_id,
                Transmission.direction == "out",
                Transmission.state.in_(OPEN_TRANSMISSION),
            )
        ):
            if not (state == "in_doubt" and transmission.state == "renaming"):  # keep: the rename was asked
                transmission.state = state
            transmission.detail = detail
        if state == "sent":
            claims = session.scalars(
                select(Claim)
                .join(BatchClaim, BatchClaim.claim_pk == Claim.id)
                .where(BatchClaim.batch_id == batch_id, Claim.status == ClaimStatus.BATCHED)
            )
            for claim in claims:
                transition(
                    session,
                    claim,
                    ClaimStatus.SENT,
                    actor=actor,
                    event="sent",
                    detail=f"file {batch.file_name}",
                )


def resolve_in_doubt(ledger: Ledger, file_name: str, *, delivered: bool, actor: str) -> str:
    """Record what the clearinghouse said about an ``in_doubt``/``conflict`` batch.

    ``delivered``: they have our file → ``sent``.  Otherwise the batch goes back to
    ``built`` and the next send uploads it (for a ``conflict``, only after the
    other file is gone: the transport still refuses to overwrite).
    """
    with ledger.session() as session:
        batch = session.scalar(select(Batch).where(Batch.file_name == file_name))
        if batch is None or batch.status not in ("in_doubt", "conflict", "uploading"):
            raise ValueError(f"{file_name}: no batch waiting for a decision")
        batch_id = batch.id
        if not delivered:
            batch.status = "built"
            for transmission in session.scalars(
                select(Transmission).where(
                    Transmission.batch_id == batch_id,
                    Transmission.direction == "out",
                    Transmission.state.in_(OPEN_TRANSMISSION),
                )
            ):
                transmission.state = "not_delivered"
            return "built"
    _mark(ledger, batch_id, "sent", batch_state="sent", actor=actor)
    return "sent"
