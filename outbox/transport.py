"""What every clearinghouse link offers, whatever carries the bytes.

The sender and the fetcher (``outbox/sender.py``, ``outbox/fetcher.py``) own the
exactly-once bookkeeping in the ledger; a transport only moves bytes and answers
truthfully about what is on the far side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class TransportError(RuntimeError):
    """The far side could not be reached or refused an operation (network, auth, disk)."""


class RemoteExists(TransportError):
    """An upload would overwrite a name that already exists remotely."""


@dataclass(frozen=True, slots=True)
class RemoteFile:
    name: str
    size: int
    mtime: float


class Transport(Protocol):
    def upload(self, local_path: Path, remote_name: str) -> None:
        """Deliver ``local_path`` as ``remote_name``: temp name then rename, never overwrite."""

    def remote_state(self, remote_name: str) -> str:
        """'final', 'partial' (temp name present), 'absent' — for crash recovery."""

    def list_inbound(self) -> list[RemoteFile]:
        """Files waiting for us, temp names excluded."""

    def download(self, remote_name: str, local_path: Path) -> None:
        """Copy a waiting file to ``local_path`` (created 0600)."""

    def archive(self, remote_name: str) -> None:
        """Take a file we have recorded off the inbound list (delete or move, per config)."""

    def close(self) -> None: ...


def check_remote_name(name: str) -> str:
    if not SAFE_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"unsafe remote file name {name!r}: use [A-Za-z0-9._-] only")
    return name
