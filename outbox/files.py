"""Local files that hold PHI: created 0600 in 0700 folders, written whole or not at all.

Modes are given at creation (``os.open`` with 0o600, ``mkdir`` with 0o700), so
a permissive umask never leaves a window where the file is readable by others.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents we create) 0700; refuse an existing group/world-accessible one."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        os.mkdir(folder, DIR_MODE)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"{path}: folder is accessible to other users (mode {mode:o}); run: chmod 700 {path}")
    return path


def write_private(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically (temp name, fsync, rename); returns its sha256.

    Refuses to replace an existing file: names in the outbox/inbox are never reused.
    """
    ensure_private_dir(path.parent)
    if path.exists():
        raise FileExistsError(f"{path}: already exists, refusing to overwrite")
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)  # fails if ``path`` appeared meanwhile: never overwrite
    finally:
        temp.unlink(missing_ok=True)
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_NOT_SUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP)


def rename_no_replace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` in one step, refusing (``FileExistsError``) to replace it.

    Linux ``renameat2(RENAME_NOREPLACE)``: the old name disappears exactly when the new
    one appears, so a crash leaves one of them, never both.  The sender relies on that
    to tell "renamed, then taken by the partner" from "never renamed".  Where the call or
    the filesystem lacks it, ``link`` + ``unlink`` (also never replaces, but a crash
    between the two leaves both names).
    """
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        failure = ctypes.get_errno()
        if failure not in _NOT_SUPPORTED:
            raise OSError(failure, os.strerror(failure), str(target))
    os.link(source, target)
    os.unlink(source)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)
