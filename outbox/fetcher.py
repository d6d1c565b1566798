"""`bhclaims fetch`: every reply file from the clearinghouse is taken in exactly once.

List → sort the listing → download a batch into ``inbox/.incoming`` (one disk flush
for the batch) → check each IEA trailer → sha256 → link into the inbox and flush the
inbox folder → record in the ledger (Transmission ``fetched``) → archive on the far
side.  Every file is on disk, data and name, before it is recorded, and recorded
before it leaves the far side.

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
- Nothing listed is passed over in silence.  Any name is fetched (spaces,
  parentheses, newlines, 200 characters, bytes that are not UTF-8): a remote name
  never chooses a local path — the copy is ``<sha256 prefix>-<local_name>`` and the
  ledger keeps the remote name whole (``Transmission.remote_name``).  A copy left by
  a run killed before its commit has exactly the content a rerun would write, so it
  is reused, never doubled.
- What cannot be fetched is listed as needing a human (the command exits 1): a
  symlink (never followed), a folder, a device, a name that is not a file name.
- A file still being written (no IEA trailer yet, a size that moved, a temp name) is
  left for the next run; its first sighting is recorded (``InboundWaiting``) and one
  that is still incomplete after ``[transport] incomplete_reply_hours`` (half an 835,
  a NOTICE.txt that is not X12) is raised to a human instead of being looked at
  forever.

Files are written 0600 in 0700 folders (``outbox.files``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import clock
from edi.sniff import sniff
from edi.x12 import X12ParseError, interchange_complete
from ledger.db import Ledger
from ledger.models import InboundWaiting, Transmission
from outbox.files import ensure_private_dir, sha256_file
from outbox.lock import mailbox_lock
from outbox.transport import (
    DIRECTORY,
    FILE,
    SYMLINK,
    Downloaded,
    RemoteFile,
    TransportError,
    check_listed_name,
    flush_dir,
    local_name,
    remote_name_bytes,
)
from runtime.config import Config
from runtime.escaping import visible
from runtime.logs import get_logger

log = get_logger("bhclaims.fetch")

HEAD_BYTES = 1 << 16
TAIL_BYTES = 1 << 12
# One disk flush per batch; bounded so a large backlog needs no more room in .incoming
# than this, and a failure late in a long listing does not hold back what came before.
BATCH_FILES = 256
BATCH_BYTES = 64 << 20

NOT_A_FILE = {
    SYMLINK: "is a symbolic link at the clearinghouse; links are never followed, so it is not fetched: "
    "ask the clearinghouse to put the file itself there",
    DIRECTORY: "is a folder in the reply folder; nothing inside it is fetched: ask the clearinghouse "
    "to put replies in the reply folder itself",
}
NOT_REGULAR = "is not a regular file (a device, pipe or socket); not fetched: ask the clearinghouse what it is"
NO_TRAILER = "has no IEA trailer (cut off, or not X12 at all)"
BEING_WRITTEN = "is still being written (a temporary name, or a size that moved while we looked)"


@dataclass
class FetchReport:
    """What a fetch did, by the clearinghouse's names (``visible`` them before printing)."""

    fetched: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # incomplete, left for the next run
    failed: list[tuple[str, str]] = field(default_factory=list)  # tried, failed; tried again next run
    needs_human: list[tuple[str, str]] = field(default_factory=list)  # never fetched without a human


def sniff_kind(text: str) -> str:
    try:
        return str(sniff(text).kind)
    except X12ParseError:
        return "unknown"


def fetch_files(ledger: Ledger, config: Config, transport: Any, *, lock_wait: float = 0.0) -> FetchReport:
    report = FetchReport()
    inbox = ensure_private_dir(config.inbox_dir)
    with mailbox_lock(
        config.state_dir, "clearinghouse", wait_seconds=lock_wait, database_url=ledger.url
    ) as hold:
        incoming = ensure_private_dir(inbox / ".incoming")
        for stale in incoming.iterdir():  # left by a killed run; we hold the lock, nobody else writes here
            stale.unlink(missing_ok=True)
        # A clearinghouse that cannot be listed cannot be fetched from: the TransportError goes to the
        # caller (exit 2 from `fetch`, an "error" step in nightly), not into the report as one failed file.
        listing = transport.list_inbound()
        ready, incomplete = _sort_listing(listing, report)
        for batch in fetch_batches(ready):
            hold.confirm()  # a lost lock: stop before taking more files another host may be taking
            names = [remote.name for remote in batch]
            if not _fetch_batch(ledger, transport, names, inbox, incoming, report, incomplete):
                break
        _track_incomplete(ledger, listing, incomplete, report, hours=config.incomplete_reply_hours)
    return report


def _sort_listing(listing: Sequence[RemoteFile], report: FetchReport) -> tuple[list[RemoteFile], dict[str, str]]:
    """(files to download now, incomplete files with why); the rest goes to ``needs_human``."""
    ready: list[RemoteFile] = []
    incomplete: dict[str, str] = {}
    for remote in listing:
        try:
            check_listed_name(remote.name)
        except ValueError as exc:
            report.needs_human.append((remote.name, f"{exc}; not fetched"))
            continue
        if remote.kind != FILE:
            report.needs_human.append((remote.name, NOT_A_FILE.get(remote.kind, NOT_REGULAR)))
            log.warning("file.not_a_file", file=visible(remote.name), kind=remote.kind)
        elif not remote.settled:
            incomplete[remote.name] = BEING_WRITTEN
        else:
            ready.append(remote)
    return ready, incomplete


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
    inbox_path: Path  # <sha256 prefix>-<local_name(remote name)>
    kept: Path | None  # inbox_path once linked; None when the ledger already knew the content


def _fetch_batch(
    ledger: Ledger,
    transport: Any,
    names: list[str],
    inbox: Path,
    incoming: Path,
    report: FetchReport,
    incomplete: dict[str, str],
) -> bool:
    """Download, keep, record and archive one batch; False once the link is down."""
    got = transport.download_many(names, incoming)  # every file in got.done is on disk
    for name, exc in got.failed:
        log.warning("file.fetch_failed", file=visible(name), error=visible(exc))
        report.failed.append((name, str(exc)))
    try:
        arrivals = [
            a for a in (_arrive(ledger, file, inbox, incomplete) for file in got.done) if a is not None
        ]
        if any(arrival.kept is not None for arrival in arrivals):
            flush_dir(inbox)  # the inbox names are on disk before the ledger points at them
        for arrival in arrivals:
            _record_arrival(ledger, arrival, report)
            if got.link_down:
                continue  # recorded; the next run finds it known and archives it
            try:
                transport.archive(arrival.name)
            except TransportError as exc:
                log.warning("file.archive_failed", file=visible(arrival.name), error=visible(exc))
                report.failed.append((arrival.name, str(exc)))
                if _link_down(exc):
                    return False
    finally:
        for file in got.done:
            file.path.unlink(missing_ok=True)
    return not got.link_down


def _arrive(ledger: Ledger, file: Downloaded, inbox: Path, incomplete: dict[str, str]) -> _Arrival | None:
    """Check the trailer and hash; link new content into the inbox (not yet flushed)."""
    complete, head = _looks_complete(file.path, file.size)
    if not complete:
        incomplete[file.name] = NO_TRAILER
        return None
    digest = sha256_file(file.path)
    inbox_path = inbox / f"{digest[:16]}-{local_name(file.name)}"
    kept = _keep(file.path, inbox_path, digest) if _known(ledger, digest) is None else None
    return _Arrival(file.name, file.path, file.size, digest, head, inbox_path, kept)


def _record_arrival(ledger: Ledger, arrival: _Arrival, report: FetchReport) -> None:
    try:
        known = _record(ledger, arrival)
    except IntegrityError:  # another fetcher (another machine) recorded the same file first
        known = -1
    if known is None:
        report.fetched.append(arrival.name)
        log.info("file.fetched", file=visible(arrival.name), sha256=arrival.digest[:12])
    else:
        report.duplicates.append(arrival.name)
        log.info("file.duplicate", file=visible(arrival.name), sha256=arrival.digest[:12])


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
                    file_name=local_name(arrival.name),
                    remote_name=visible(arrival.name),
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


def _name_key(name: str) -> str:
    return hashlib.sha256(remote_name_bytes(name)).hexdigest()


def _track_incomplete(
    ledger: Ledger, listing: Sequence[RemoteFile], incomplete: dict[str, str], report: FetchReport, *, hours: float
) -> None:
    """Remember when each incomplete reply was first seen; raise the ones older than ``hours``.

    A reply taken in (or gone from the reply folder) is forgotten; one listed but not
    looked at this run (the link went down) keeps its first sighting.
    """
    now = clock.now()
    limit = timedelta(hours=hours)
    listed = {_name_key(remote.name) for remote in listing}
    taken = {_name_key(name) for name in report.fetched + report.duplicates}
    waiting = {_name_key(name): name for name in incomplete}
    first_seen: dict[str, datetime] = {}
    for attempt in range(2):  # a second fetcher (another machine) may record the same name first
        try:
            with ledger.session() as session:
                rows = {row.name_sha256: row for row in session.scalars(select(InboundWaiting))}
                for key, stale in rows.items():
                    if key not in listed or key in taken:
                        session.delete(stale)
                for key, name in waiting.items():
                    row = rows.get(key)
                    if row is None:
                        row = InboundWaiting(name_sha256=key, remote_name=visible(name), first_seen=now)
                        session.add(row)
                    first_seen[name] = row.first_seen
            break
        except IntegrityError:
            if attempt:
                raise
    for name, why in incomplete.items():
        seen = first_seen[name]
        if now - seen >= limit:
            age = (now - seen).total_seconds() / 3600
            report.needs_human.append((
                name,
                f"{why}, and has been since {seen:%Y-%m-%d %H:%M} UTC ({age:.0f} h; the limit, "
                f"incomplete_reply_hours, is {hours:g}): not imported; ask the clearinghouse to send it "
                "again whole, or to take it away",
            ))
            log.warning("file.never_completed", file=visible(name), hours=round(age, 1))
        else:
            report.waiting.append(name)
