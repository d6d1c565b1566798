"""`bhclaims fetch`: every reply file from the clearinghouse is taken in exactly once.

List → refuse unsafe names → download to a temp name → check the IEA trailer →
sha256 → record in the ledger (Transmission ``fetched``) → archive on the far side.

- A file already recorded (same sha256) is only archived again, so a crash
  (kill -9) between recording and archiving imports nothing twice; a recycled
  remote name with new content is a new file.
- A crash between download and recording leaves only a temp file in
  ``inbox/.incoming``; the next run (holding the same mailbox lock, so no other
  fetcher is writing there) clears it and downloads again.
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
from outbox.transport import TransportError, check_remote_name
from runtime.config import Config
from runtime.logs import get_logger

log = get_logger("bhclaims.fetch")

HEAD_BYTES = 1 << 16
TAIL_BYTES = 1 << 12


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
        for remote in listing:
            try:
                check_remote_name(remote.name)
            except ValueError as exc:
                log.warning("file.unsafe_name_refused")
                report.failed.append((repr(remote.name), f"{exc}; left at the clearinghouse, not imported"))
                continue
            try:
                _fetch_one(ledger, transport, remote.name, inbox, incoming, report)
            except TransportError as exc:
                log.warning("file.fetch_failed", file=remote.name, error=str(exc))
                report.failed.append((remote.name, str(exc)))
                if _link_down(exc):
                    break
    return report


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


def _fetch_one(
    ledger: Ledger, transport: Any, name: str, inbox: Path, incoming: Path, report: FetchReport
) -> None:
    temp = incoming / f"{name}.{os.getpid()}"
    temp.unlink(missing_ok=True)
    transport.download(name, temp)
    try:
        size = temp.stat().st_size
        complete, head = _looks_complete(temp, size)
        if not complete:
            report.waiting.append(name)
            return
        digest = sha256_file(temp)
        try:
            known = _record(ledger, temp, name, inbox, digest, head, size)
        except IntegrityError:  # another fetcher (another machine) recorded the same file first
            known = -1
        if known is None:
            report.fetched.append(name)
            log.info("file.fetched", file=name, sha256=digest[:12])
        else:
            report.duplicates.append(name)
            log.info("file.duplicate", file=name, sha256=digest[:12])
        transport.archive(name)
    finally:
        temp.unlink(missing_ok=True)


def _record(
    ledger: Ledger, temp: Path, name: str, inbox: Path, digest: str, head: str, size: int
) -> int | None:
    """Record the file unless its content is known; returns the known transmission id, or None if new."""
    with ledger.session() as session:
        known = session.scalar(
            select(Transmission.id)
            .where(Transmission.direction == "in", Transmission.sha256 == digest)
            .limit(1)
        )
        if known is None:
            final = _keep(temp, inbox / f"{digest[:16]}-{name}", digest)
            session.add(
                Transmission(
                    direction="in",
                    kind=sniff_kind(head),
                    file_name=name,
                    local_path=str(final),
                    sha256=digest,
                    size=size,
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
