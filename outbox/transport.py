"""What every clearinghouse link offers, whatever carries the bytes.

The sender and the fetcher (``outbox/sender.py``, ``outbox/fetcher.py``) own the
exactly-once bookkeeping in the ledger; a transport only moves bytes and answers
truthfully about what is on the far side.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# A reply keeps its own name on our disk only when it is already short and plain; any
# other name gets a digest of itself and a cleaned copy (``local_name``).
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._-]+")
LOCAL_NAME_LIMIT = 100

# What a listing entry is, from lstat (a symlink is never followed).
FILE, SYMLINK, DIRECTORY, OTHER = "file", "symlink", "directory", "other"


def entry_kind(mode: int) -> str:
    """What an lstat mode says a folder entry is."""
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISLNK(mode):
        return SYMLINK
    if stat.S_ISDIR(mode):
        return DIRECTORY
    return OTHER


class TransportError(RuntimeError):
    """The far side could not be reached or refused an operation (network, auth, disk)."""


class RemoteExists(TransportError):
    """An upload would overwrite a name that already exists remotely."""


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One entry of the far side's reply folder, whatever it is.

    ``name`` is the far side's name as text (bytes that are not UTF-8 kept as lone
    surrogates, ``errors="surrogateescape"``); it never chooses a local path
    (``local_name``).  ``kind`` comes from lstat.  ``settled`` is False for a file still
    being written: a temp name (dot first, or the temp suffix) or a size or mtime that
    moved while we looked.
    """

    name: str
    size: int
    mtime: float
    kind: str = FILE
    settled: bool = True


@dataclass(frozen=True, slots=True)
class FolderCheck:
    """One folder of the mailbox as `bhclaims transport test` found it (``problem`` None: there,
    a folder, listed, holding ``entries`` entries)."""

    role: str
    path: str
    problem: str | None = None
    entries: int = 0


@dataclass(frozen=True, slots=True)
class MailboxCheck:
    """What `bhclaims transport test` found: who answered (``host_key``: the key it proved, which
    known_hosts pins; None for a local folder) and each folder the link uses."""

    where: str
    host_key: str | None
    folders: tuple[FolderCheck, ...]

    @property
    def problems(self) -> list[str]:
        return [f"the {f.role} {f.path} {f.problem}" for f in self.folders if f.problem is not None]


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
        """Every entry of the reply folder (files, symlinks, folders), none skipped."""

    def download(self, remote_name: str, local_path: Path) -> None:
        """Copy a waiting regular file to ``local_path`` (created 0600), durable when this returns."""

    def download_many(self, remote_names: Sequence[str], dest_dir: Path) -> DownloadBatch:
        """Copy waiting files to ``dest_dir/local_name(NAME)`` (0600, via temp names), then one barrier.

        When this returns, each file in ``done`` is whole under its final name and flushed to
        disk, data and directory entry, so the caller may record it.  A failed file leaves no
        file behind.  Costs one flush of the batch instead of a journal commit per file.
        """

    def archive(self, remote_name: str) -> None:
        """Take a file we have recorded off the inbound list (delete or move, per config)."""

    def check_mailbox(self) -> MailboxCheck:
        """Reach the far side and look at every folder the link uses, writing nothing."""

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
    """A name we give a file we upload: plain characters only, so every partner accepts it."""
    if not SAFE_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"unsafe remote file name {name!r}: use [A-Za-z0-9._-] only")
    return name


def check_listed_name(name: str) -> str:
    """A reply's name as listed: anything a folder can hold, but never a path (``/``, NUL, ``..``).

    A listing comes from the far side; a hostile or broken server could put a path in it.
    """
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError("the far side listed a name that is not a file name (empty, '.', '..', '/' or NUL)")
    return name


def remote_name_bytes(name: str) -> bytes:
    """The far side's bytes for a listed name (undecodable bytes were kept as surrogates)."""
    return name.encode("utf-8", "surrogateescape")


def local_name(remote_name: str) -> str:
    """The name a reply gets on our disk: its own when short and plain, else digest + cleaned.

    Only ``[A-Za-z0-9._-]``, never starting with a dot or a dash, at most
    ``LOCAL_NAME_LIMIT + 13`` characters; distinct remote names never share a local
    name (the digest of the remote bytes sets apart those that clean alike).  The
    remote name itself is kept in the ledger (``Transmission.remote_name``).
    """
    if _PLAIN_LOCAL.fullmatch(remote_name) and remote_name not in (".", ".."):
        return remote_name
    digest = hashlib.sha256(remote_name_bytes(remote_name)).hexdigest()[:12]
    cleaned = _NOT_PLAIN.sub("_", remote_name).strip("._-") or "file"
    if len(cleaned) > LOCAL_NAME_LIMIT:
        stem, dot, suffix = cleaned.rpartition(".")
        suffix = f".{suffix}" if dot and 0 < len(suffix) <= 8 else ""
        cleaned = cleaned[: LOCAL_NAME_LIMIT - len(suffix)].rstrip("._-") + suffix
    return f"{digest}-{cleaned}"


ARCHIVE_NAME_BYTES = 200


def archive_name(remote_name: str, stamp: str, attempt: int) -> str:
    """The name a fetched reply gets in the archive folder: its own first, then with a suffix.

    A recycled name (a second ``R1.835``) must not replace the first one archived; the
    suffix makes it unique, and a name too long to take a suffix is shortened first.
    """
    if attempt == 0:
        return remote_name
    base = remote_name if len(remote_name_bytes(remote_name)) <= ARCHIVE_NAME_BYTES else local_name(remote_name)
    return f"{base}.{stamp}.{attempt}"
