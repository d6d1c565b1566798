"""`bhclaims fetch`: every reply file from the clearinghouse is taken in exactly once.

List → download to a temp name → sha256 → record in the ledger → archive on the
far side.  A file already recorded (same sha256) is only archived again, so a
crash between recording and archiving imports nothing twice; a recycled name
with new content is a new file; a file without its IEA trailer is still being
written and is left for the next run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from edi.sniff import sniff
from edi.x12 import X12ParseError, interchange_complete
from ledger.db import Ledger
from ledger.models import Transmission
from outbox.files import ensure_private_dir
from outbox.lock import mailbox_lock
from outbox.transport import TransportError
from runtime.config import Config
from runtime.logs import get_logger

log = get_logger("bhclaims.fetch")


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
    incoming = ensure_private_dir(inbox / ".incoming")
    with mailbox_lock(config.state_dir, "clearinghouse", wait_seconds=lock_wait):
        try:
            listing = transport.list_inbound()
        except TransportError as exc:
            report.failed.append(("(listing)", str(exc)))
            return report
        for remote in listing:
            try:
                _fetch_one(ledger, transport, remote.name, inbox, incoming, report)
            except TransportError as exc:
                log.warning("file.fetch_failed", file=remote.name, error=str(exc))
                report.failed.append((remote.name, str(exc)))
    return report


def _fetch_one(ledger: Ledger, transport: Any, name: str, inbox: Path, incoming: Path, report: FetchReport) -> None:
    temp = incoming / f"{name}.{os.getpid()}"
    temp.unlink(missing_ok=True)
    transport.download(name, temp)
    try:
        data = temp.read_bytes()
        text = data.decode("ascii", errors="replace")
        if not interchange_complete(text):
            report.waiting.append(name)
            return
        digest = hashlib.sha256(data).hexdigest()
        with ledger.session() as session:
            known = session.scalar(select(Transmission.id).where(
                Transmission.direction == "in", Transmission.sha256 == digest))
            if known is None:
                stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
                final = inbox / f"{stamp}-{digest[:12]}-{name}"
                os.link(temp, final)
                session.add(Transmission(direction="in", kind=sniff_kind(text), file_name=name,
                                         local_path=str(final), sha256=digest, size=len(data), state="fetched"))
        if known is None:
            report.fetched.append(name)
            log.info("file.fetched", file=name, sha256=digest[:12])
        else:
            report.duplicates.append(name)
        transport.archive(name)
    finally:
        temp.unlink(missing_ok=True)
