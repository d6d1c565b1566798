"""Secrets (an SSH key passphrase) read from a private file or an environment variable.

Never from argv: anything on the command line is visible in ``/proc/PID/cmdline`` and
``ps`` to every user of the machine.  A secret file must be as private as an SSH key:
OpenSSH refuses a key whose mode grants group or others any access, and so do we.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class SecretError(ValueError):
    """A configured secret is missing, unreadable or stored too openly."""


def check_private_file(path: Path, what: str) -> os.stat_result:
    """Refuse a file that group or others may access (mode & 0o077), like ssh does for keys."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SecretError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise SecretError(f"{what} {path} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretError(f"{what} {path} is not a regular file")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise SecretError(
            f"{what} {path} has permissions {mode:04o}, which are too open: "
            f"it must not be accessible by group or others (run: chmod 600 {path})"
        )
    return st


def read_secret_file(path: Path) -> str:
    """The file's text without its trailing newline; the mode is checked on the open descriptor."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise SecretError(f"secret file {path} cannot be opened: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
        if mode & 0o077:
            raise SecretError(
                f"secret file {path} has permissions {mode:04o}, which are too open (run: chmod 600 {path})"
            )
        text = fh.read().decode("utf-8")
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def read_secret(*, env: str | None = None, file: Path | None = None) -> str | None:
    """The secret from ``file`` if configured, else from the variable ``env``; None if neither is set.

    A configured source that is absent is an error, not a silent "no passphrase".
    """
    if file is not None:
        return read_secret_file(Path(file))
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise SecretError(f"environment variable {env} is not set")
        return value
    return None
