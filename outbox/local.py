"""A clearinghouse mailbox that is a local folder pair: ``DIR/inbound`` and ``DIR/outbound``.

``inbound`` is what the clearinghouse receives (we upload there), ``outbound``
what it sends back (we fetch from there), as clearinghouse SFTP mailboxes are
usually named from their side.  Same protocol as SFTP: temp name, then a rename
that never overwrites; downloads are 0600, size-checked and flushed to disk before
they get their final name, a batch with one flush (``download_many``).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from outbox.files import ensure_private_dir
from outbox.transport import (
    DownloadBatch,
    Downloaded,
    RemoteExists,
    RemoteFile,
    TransportError,
    check_remote_name,
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

    def upload(self, local_path: Path, remote_name: str) -> None:
        check_remote_name(remote_name)
        final = self.inbound / remote_name
        temp = self.inbound / (remote_name + TEMP_SUFFIX)
        if final.exists():
            raise RemoteExists(f"{remote_name} already exists at the clearinghouse; refusing to overwrite")
        try:
            with local_path.open("rb") as src:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                    dst.flush()
                    os.fsync(dst.fileno())
            os.link(temp, final)  # atomic and refuses an existing name
            temp.unlink()
        except FileExistsError:
            raise RemoteExists(f"{remote_name} already exists at the clearinghouse; refusing to overwrite") from None
        except OSError as exc:
            raise TransportError(f"upload of {remote_name} failed: {exc.strerror}") from exc

    def remote_state(self, remote_name: str) -> str:
        if (self.inbound / remote_name).exists():
            return "final"
        if (self.inbound / (remote_name + TEMP_SUFFIX)).exists():
            return "partial"
        return "absent"

    def list_inbound(self) -> list[RemoteFile]:
        files = []
        for entry in sorted(self.outbound.iterdir()):
            if entry.is_file() and not entry.name.endswith(TEMP_SUFFIX) and not entry.name.startswith("."):
                stat = entry.stat()
                files.append(RemoteFile(name=entry.name, size=stat.st_size, mtime=stat.st_mtime))
        return files

    def download(self, remote_name: str, local_path: Path) -> None:
        check_remote_name(remote_name)
        local_path = Path(local_path)
        temp = _temp_beside(local_path)
        self._copy_out(remote_name, temp)
        publish_durably([(temp, local_path)], local_path.parent)

    def download_many(self, remote_names: Sequence[str], dest_dir: Path) -> DownloadBatch:
        names = [check_remote_name(name) for name in remote_names]
        dest_dir = ensure_private_dir(Path(dest_dir))
        batch = DownloadBatch()
        staged: list[tuple[Path, Path]] = []
        try:
            for name in names:
                final = dest_dir / name
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
        """Copy an outbound file to a fresh 0600 ``temp``; the whole of it, or nothing is left."""
        try:
            with (self.outbound / remote_name).open("rb") as src:
                size = os.fstat(src.fileno()).st_size
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                with os.fdopen(fd, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                    copied = dst.tell()
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise TransportError(f"download of {remote_name} failed: {exc.strerror}") from exc
        if copied != size:
            temp.unlink(missing_ok=True)
            raise TransportError(f"{remote_name}: changed while being copied ({copied} bytes, was {size})")
        return size

    def archive(self, remote_name: str) -> None:
        source = self.outbound / remote_name
        if source.exists():
            target = self.archive_dir / remote_name
            if target.exists():
                target = self.archive_dir / f"{remote_name}.{int(source.stat().st_mtime_ns)}"
            source.rename(target)

    def close(self) -> None:
        return None


def _temp_beside(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.part")
