"""`bhclaims fetch`: every reply file from the clearinghouse is taken in exactly once.

List → refuse unsafe names → download a batch into ``inbox/.incoming`` (one disk
flush for the batch) → check each IEA trailer → sha256 → link into the inbox and
flush the inbox folder → record in the ledger (Transmission ``fetched``) → archive on
the far side.  Every file is on disk, data and name, before it is recorded, and
recorded before it leaves the far side.

- A file already recorded (same sha256) is only archived again, so a crash
  (kill -9) between recording and archiving imports nothing twice; a recycled
  remote name with new content is a new file.
- A crash between download and recording leaves only temp files in
  ``inbox/.incoming`` (and perhaps an unrecorded inbox copy); the next run (holding
  the same mailbox lock, so no other fetcher is writing there) clears them and
  downloads again.
- A file that fails mid-batch stays on the far side for the next run; the others
  of its batch are recorded and archived.  Once the link is down, what is already
  on disk is still recorded, and archiving waits for the next run (which finds the
  files known and only archives them).
- The kept copy is named ``<sha256 prefix>-<remote name>``: a copy left by a run
  killed before its commit has exactly the content a rerun would write, so it is
  reused, never doubled.
- A file without its IEA trailer is still being written and is left for the next
  run (SFTP also skips files whose size or mtime is still moving).
- A remote name outside ``[A-Za-z0-9._-]`` is refused before it touches our disk.

Files are written 0600 in 0700 folders (``outbox.files``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from edi.sniff import sniff
from edi.x12 import X12ParseError, interchange_complete
from ledger.db import Ledger
from ledger.models import Transmission
from outbox.files import ensure_private_dir, sha256_file
from outbox.lock import mailbox_lock
from outbox.transport import Downloaded, RemoteFile, TransportError, check_remote_name, flush_dir
from runtime.config import Config
from runtime.logs import get_logger

log = get_logger("bhclaims.fetch")

HEAD_BYTES = 1 << 16
TAIL_BYTES = 1 << 12
# One disk flush per batch; bounded so a large backlog needs no more room in .incoming
# than this, and a failure late in a long listing does not hold back what came before.
BATCH_FILES = 256
BATCH_BYTES = 64 << 20


@dataclass
class FetchReport:
    fetched: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def sniff_kind(text: str) -> str:
    try:
        return str(sniff(text).kind)
    except X12ParseError:
        return "unknown"


def fetch_files(ledger: Ledger, config: Config, transport: Any, *, lock_wait: float = 0.0) -> FetchReport:
    report = FetchReport()
    inbox = ensure_private_dir(config.inbox_dir)
    with mailbox_lock(config.state_dir, "clearinghouse", wait_seconds=lock_wait):
        incoming = ensure_private_dir(inbox / ".incoming")
        for stale in incoming.iterdir():  # left by a killed run; we hold the lock, nobody else writes here
            stale.unlink(missing_ok=True)
        try:
            listing = transport.list_inbound()
        except TransportError as exc:
            report.failed.append(("(listing)", str(exc)))
            return report
        waiting = []
        for remote in listing:
            try:
                check_remote_name(remote.name)
            except ValueError as exc:
                log.warning("file.unsafe_name_refused")
                report.failed.append((repr(remote.name), f"{exc}; left at the clearinghouse, not imported"))
                continue
            waiting.append(remote)
        for batch in fetch_batches(waiting):
            names = [remote.name for remote in batch]
            if not _fetch_batch(ledger, transport, names, inbox, incoming, report):
                break
    return report


def fetch_batches(listing: Sequence[RemoteFile]) -> Iterator[list[RemoteFile]]:
    """Consecutive groups of at most ``BATCH_FILES`` files and ``BATCH_BYTES`` (or one larger file)."""
    batch: list[RemoteFile] = []
    size = 0
    for remote in listing:
        if batch and (len(batch) >= BATCH_FILES or size + remote.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(remote)
        size += remote.size
    if batch:
        yield batch


def _link_down(exc: TransportError) -> bool:
    """A timeout means the link is gone: every further file would only wait out the same bound."""
    return type(exc).__name__ == "TransportTimeout"


def _looks_complete(path: Path, size: int) -> tuple[bool, str]:
    """(has its IEA trailer, the head for sniffing), reading only both ends of a large file."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        if size <= HEAD_BYTES:
            text = head.decode("ascii", errors="replace")
            return interchange_complete(text), text
        handle.seek(max(size - TAIL_BYTES, 0))
        tail = handle.read()
    head_text = head.decode("ascii", errors="replace")
    return interchange_complete(head_text[:TAIL_BYTES] + tail.decode("ascii", errors="replace")), head_text


@dataclass(frozen=True, slots=True)
class _Arrival:
    """A complete downloaded file, with what recording it needs."""

    name: str
    temp: Path
    size: int
    digest: str
    head: str
    inbox_path: Path  # <sha256 prefix>-<remote name>
    kept: Path | None  # inbox_path once linked; None when the ledger already knew the content


def _fetch_batch(
    ledger: Ledger, transport: Any, names: list[str], inbox: Path, incoming: Path, report: FetchReport
) -> bool:
    """Download, keep, record and archive one batch; False once the link is down."""
    got = transport.download_many(names, incoming)  # every file in got.done is on disk
    for name, exc in got.failed:
        log.warning("file.fetch_failed", file=name, error=str(exc))
        report.failed.append((name, str(exc)))
    try:
        arrivals = [a for a in (_arrive(ledger, file, inbox, report) for file in got.done) if a is not None]
        if any(arrival.kept is not None for arrival in arrivals):
            flush_dir(inbox)  # the inbox names are on disk before the ledger points at them
        for arrival in arrivals:
            _record_arrival(ledger, arrival, report)
            if got.link_down:
                continue  # recorded; the next run finds it known and archives it
            try:
                transport.archive(arrival.name)
            except TransportError as exc:
                log.warning("file.archive_failed", file=arrival.name, error=str(exc))
                report.failed.append((arrival.name, str(exc)))
                if _link_down(exc):
                    return False
    finally:
        for file in got.done:
            file.path.unlink(missing_ok=True)
    return not got.link_down


def _arrive(ledger: Ledger, file: Downloaded, inbox: Path, report: FetchReport) -> _Arrival | None:
    """Check the trailer and hash; link new content into the inbox (not yet flushed)."""
    complete, head = _looks_complete(file.path, file.size)
    if not complete:
        report.waiting.append(file.name)
        return None
    digest = sha256_file(file.path)
    inbox_path = inbox / f"{digest[:16]}-{file.name}"
    kept = _keep(file.path, inbox_path, digest) if _known(ledger, digest) is None else None
    return _Arrival(file.name, file.path, file.size, digest, head, inbox_path, kept)


def _record_arrival(ledger: Ledger, arrival: _Arrival, report: FetchReport) -> None:
    try:
        known = _record(ledger, arrival)
    except IntegrityError:  # another fetcher (another machine) recorded the same file first
        known = -1
    if known is None:
        report.fetched.append(arrival.name)
        log.info("file.fetched", file=arrival.name, sha256=arrival.digest[:12])
    else:
        report.duplicates.append(arrival.name)
        log.info("file.duplicate", file=arrival.name, sha256=arrival.digest[:12])


def _known(ledger: Ledger, digest: str) -> int | None:
    with ledger.read_session() as session:
        return session.scalar(
            select(Transmission.id)
            .where(Transmission.direction == "in", Transmission.sha256 == digest)
            .limit(1)
        )


def _record(ledger: Ledger, arrival: _Arrival) -> int | None:
    """Record the file unless its content is known; returns the known transmission id, or None if new."""
    with ledger.session() as session:
        known = session.scalar(
            select(Transmission.id)
            .where(Transmission.direction == "in", Transmission.sha256 == arrival.digest)
            .limit(1)
        )
        if known is None:
            kept = arrival.kept
            if kept is None:  # known when we looked, not any more (a rolled-back writer): keep it now
                kept = _keep(arrival.temp, arrival.inbox_path, arrival.digest)
                flush_dir(kept.parent)
            session.add(
                Transmission(
                    direction="in",
                    kind=sniff_kind(arrival.head),
                    file_name=arrival.name,
                    local_path=str(kept),
                    sha256=arrival.digest,
                    size=arrival.size,
                    state="fetched",
                )
            )
    return known


def _keep(temp: Path, final: Path, digest: str) -> Path:
    """Link the download into the inbox; reuse a copy a killed run left with the same content."""
    try:
        os.link(temp, final)
    except FileExistsError:
        if sha256_file(final) != digest:
            raise FileExistsError(f"{final}: exists with other content; refusing to overwrite") from None
    return final
