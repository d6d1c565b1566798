"""What every clearinghouse link offers, whatever carries the bytes.

The sender and the fetcher (``outbox/sender.py``, ``outbox/fetcher.py``) own the
exactly-once bookkeeping in the ledger; a transport only moves bytes and answers
truthfully about what is on the far side.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file copied to ``path``, whole (``size`` bytes, as the far side said), data and name on disk."""

    name: str
    path: Path
    size: int


@dataclass
class DownloadBatch:
    """What ``download_many`` did: every ``done`` file is durable; the others left nothing behind."""

    done: list[Downloaded] = field(default_factory=list)
    failed: list[tuple[str, TransportError]] = field(default_factory=list)
    link_down: bool = False  # the connection is gone: stop, archive nothing more this run
    not_tried: list[str] = field(default_factory=list)  # left for the next run once the link went down


class Transport(Protocol):
    def upload(self, local_path: Path, remote_name: str) -> None:
        """Deliver ``local_path`` as ``remote_name``: temp name then rename, never overwrite."""

    def remote_state(self, remote_name: str) -> str:
        """'final', 'partial' (temp name present), 'absent' — for crash recovery."""

    def list_inbound(self) -> list[RemoteFile]:
        """Files waiting for us, temp names excluded."""

    def download(self, remote_name: str, local_path: Path) -> None:
        """Copy a waiting file to ``local_path`` (created 0600), durable when this returns."""

    def download_many(self, remote_names: Sequence[str], dest_dir: Path) -> DownloadBatch:
        """Copy waiting files to ``dest_dir/NAME`` (0600, via temp names), then one disk barrier.

        When this returns, each file in ``done`` is whole under its final name and flushed to
        disk, data and directory entry, so the caller may record it.  A failed file leaves no
        file behind.  Costs one flush of the batch instead of a journal commit per file.
        """

    def archive(self, remote_name: str) -> None:
        """Take a file we have recorded off the inbound list (delete or move, per config)."""

    def close(self) -> None: ...


def flush_files(paths: Iterable[Path]) -> None:
    """fsync every file in ``paths`` (one flush for the lot), raising the first failure.

    The fsyncs run side by side: the filesystem folds concurrent fsyncs into shared
    journal commits, where one after another each waits for a commit of its own.
    """
    paths = list(paths)
    if len(paths) <= 1:
        for path in paths:
            _fsync_path(path)
        return
    with ThreadPoolExecutor(max_workers=min(_FLUSH_WORKERS, len(paths))) as pool:
        for outcome in [pool.submit(_fsync_path, path) for path in paths]:
            outcome.result()


def flush_dir(path: Path) -> None:
    """fsync a folder, so names created or renamed in it survive a crash."""
    _fsync_path(path, os.O_DIRECTORY)


def publish_durably(staged: Sequence[tuple[Path, Path]], folder: Path, *, flush: bool = True) -> None:
    """Rename each ``(temp, final)`` pair in ``folder`` with the data flushed first, then the folder.

    So a final name never holds bytes that are not on disk, and one barrier serves the
    whole batch.  On failure every temp not yet renamed is removed and the error raised.
    """
    try:
        if flush:
            flush_files(temp for temp, _ in staged)
        for temp, final in staged:
            os.replace(temp, final)
        if flush and staged:
            flush_dir(folder)
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise


_FLUSH_WORKERS = 8


def _fsync_path(path: Path, flags: int = 0) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_remote_name(name: str) -> str:
    if not SAFE_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"unsafe remote file name {name!r}: use [A-Za-z0-9._-] only")
    return name
