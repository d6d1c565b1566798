"""A clearinghouse mailbox that is a local folder pair: ``DIR/inbound`` and ``DIR/outbound``.

``inbound`` is what the clearinghouse receives (we upload there), ``outbound``
what it sends back (we fetch from there), as clearinghouse SFTP mailboxes are
usually named from their side.  Same protocol as SFTP: temp name, then a rename
that never overwrites; downloads are 0600, size-checked and flushed to disk before
they get their final name, a batch with one flush (``download_many``).

The rename is one step (``rename_no_replace``): the temp name disappears exactly when
the final name appears.  The sender records that it is about to rename
(``before_rename``), so after a crash "neither name is there" can only mean the
partner already took the file, and it is not uploaded twice.

Replies are listed as they are (files, symlinks, folders; ``lstat``), opened with
``O_NOFOLLOW`` and checked to be regular files, and copied under ``local_name``: a
name in the mailbox never chooses a path on our side.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from outbox.files import ensure_private_dir, rename_no_replace
from outbox.transport import (
    DownloadBatch,
    Downloaded,
    FolderCheck,
    MailboxCheck,
    RemoteExists,
    RemoteFile,
    TransportError,
    archive_name,
    check_listed_name,
    check_remote_name,
    entry_kind,
    flush_dir,
    local_name,
    publish_durably,
)

TEMP_SUFFIX = ".part"


def local_mailbox_root(url: str, base: Path) -> Path:
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise ValueError(f"not a file:// URL: {url}")
    raw = unquote(parsed.netloc + parsed.path)
    path = Path(raw)
    return path if path.is_absolute() else (base / path).resolve()


class LocalDirTransport:
    def __init__(self, root: Path):
        self.root = root
        self.inbound = ensure_private_dir(root / "inbound")
        self.outbound = ensure_private_dir(root / "outbound")
        self.archive_dir = ensure_private_dir(root / "fetched")

    def upload(self, local_path: Path, remote_name: str, *, before_rename: Callable[[], None] | None = None) -> None:
        """Copy to ``NAME.part`` (flushed), call ``before_rename``, rename to ``NAME`` in one step."""
        check_remote_name(remote_name)
        final = self.inbound / remote_name
        temp = self.inbound / (remote_name + TEMP_SUFFIX)
        if os.path.lexists(final):
            raise RemoteExists(f"{remote_name} already exists at the clearinghouse; refusing to overwrite")
        try:
            with local_path.open("rb") as src:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                    dst.flush()
                    os.fsync(dst.fileno())
            if before_rename is not None:
                before_rename()
            rename_no_replace(temp, final)
            flush_dir(self.inbound)
        except FileExistsError:
            temp.unlink(missing_ok=True)
            raise RemoteExists(f"{remote_name} already exists at the clearinghouse; refusing to overwrite") from None
        except OSError as exc:
            raise TransportError(f"upload of {remote_name} failed: {exc.strerror}") from exc

    def remote_state(self, remote_name: str) -> str:
        if os.path.lexists(self.inbound / remote_name):
            return "final"
        if os.path.lexists(self.inbound / (remote_name + TEMP_SUFFIX)):
            return "partial"
        return "absent"

    def check_mailbox(self) -> MailboxCheck:
        """The folder pair (and the archive) as `bhclaims transport test` reports them; this
        transport creates them when it starts, so only a folder we may not list is a problem."""
        folders = []
        for role, path in (("upload folder", self.inbound), ("reply folder", self.outbound),
                           ("archive folder", self.archive_dir)):
            try:
                folders.append(FolderCheck(role, str(path), None, len(os.listdir(path))))
            except OSError as exc:
                folders.append(FolderCheck(role, str(path), f"cannot be listed: {exc.strerror}"))
        return MailboxCheck(str(self.root), None, tuple(folders))

    def list_inbound(self) -> list[RemoteFile]:
        """Every entry of ``outbound`` by lstat; temp names (dot first, ``.part``) are not settled."""
        files = []
        try:
            entries = sorted(os.scandir(self.outbound), key=lambda entry: entry.name)
        except OSError as exc:
            raise TransportError(f"cannot list {self.outbound}: {exc.strerror}") from exc
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # taken away while we looked
            except OSError as exc:
                raise TransportError(f"cannot look at a file in {self.outbound}: {exc.strerror}") from exc
            settled = not (entry.name.startswith(".") or entry.name.endswith(TEMP_SUFFIX))
            files.append(RemoteFile(entry.name, info.st_size, info.st_mtime, entry_kind(info.st_mode), settled))
        return files

    def download(self, remote_name: str, local_path: Path) -> None:
        check_listed_name(remote_name)
        local_path = Path(local_path)
        temp = _temp_beside(local_path)
        self._copy_out(remote_name, temp)
        publish_durably([(temp, local_path)], local_path.parent)

    def download_many(self, remote_names: Sequence[str], dest_dir: Path) -> DownloadBatch:
        names = [check_listed_name(name) for name in remote_names]
        dest_dir = ensure_private_dir(Path(dest_dir))
        batch = DownloadBatch()
        staged: list[tuple[Path, Path]] = []
        try:
            for name in names:
                final = dest_dir / local_name(name)
                temp = _temp_beside(final)
                try:
                    size = self._copy_out(name, temp)
                except TransportError as exc:
                    batch.failed.append((name, exc))
                    continue
                staged.append((temp, final))
                batch.done.append(Downloaded(name=name, path=final, size=size))
        except BaseException:
            for temp, _ in staged:
                temp.unlink(missing_ok=True)
            raise
        publish_durably(staged, dest_dir)
        return batch

    def _copy_out(self, remote_name: str, temp: Path) -> int:
        """Copy a regular outbound file (never through a symlink) to a fresh 0600 ``temp``, whole or not at all."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO must not hang us
        try:
            fd = os.open(self.outbound / remote_name, flags)
        except OSError as exc:
            if os.path.islink(self.outbound / remote_name):
                raise TransportError("is a symbolic link; not followed") from None
            raise TransportError(f"cannot open: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "rb") as src:
                info = os.fstat(src.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise TransportError(f"is a {entry_kind(info.st_mode)}, not a regular file; not fetched")
                size = info.st_size
                out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                with os.fdopen(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                    copied = dst.tell()
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise TransportError(f"download failed: {exc.strerror}") from exc
        except TransportError:
            temp.unlink(missing_ok=True)
            raise
        if copied != size:
            temp.unlink(missing_ok=True)
            raise TransportError(f"changed while being copied ({copied} bytes, was {size})")
        return size

    def archive(self, remote_name: str) -> None:
        """Move a recorded reply to ``fetched/`` (a recycled name gets a suffix); gone already is fine."""
        check_listed_name(remote_name)
        source = self.outbound / remote_name
        try:
            if not os.path.lexists(source):
                return
            stamp = str(source.lstat().st_mtime_ns)
            for attempt in range(100):
                try:
                    rename_no_replace(source, self.archive_dir / archive_name(remote_name, stamp, attempt))
                    return
                except FileExistsError:
                    continue
        except FileNotFoundError:
            return  # taken away meanwhile
        except OSError as exc:
            raise TransportError(f"cannot archive: {exc.strerror}") from exc
        raise TransportError("cannot find a free archive name")

    def close(self) -> None:
        return None


def _temp_beside(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.part")
