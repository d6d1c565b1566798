"""The clearinghouse link over SFTP (paramiko), with the guarantees the ledger relies on.

What this module promises the sender and fetcher (``outbox/sender.py``, ``outbox/fetcher.py``):

- The server is who ``known_hosts`` says it is, checked before we authenticate: an
  unknown or changed host key aborts the connection before any key of ours is offered.
  Only the host-key algorithms pinned for that host are negotiated, so a server holding
  an ECDSA key we know cannot slip through by offering an ed25519 key we do not.
- Key authentication only, one attempt per connection, and a rejected key is never
  retried (clearinghouses lock accounts after a few failures).  Network faults are
  retried with exponential backoff.
- Every public call returns or raises ``TransportError`` within ``op_timeout`` seconds of
  wall-clock time, retries included, even against a server that accepts the TCP
  connection and then says nothing.  A timed-out upload is "in doubt": ask
  ``remote_state`` before sending again.
- An upload is written as ``NAME.part`` and renamed to ``NAME``; ``NAME`` never exists
  half-written and an existing ``NAME`` is never replaced (``RemoteExists``).
- The reply folder is listed whole, names as raw bytes (a name that is not UTF-8 is
  kept, not a reason to fail the listing), each entry with its lstat attributes: a
  symlink or a folder is reported as such and never opened, and a file is opened only
  if its lstat (sent with the open) says it is a regular file.  A remote name never
  chooses a local path (``outbox.transport.local_name``).
- Downloaded files are created 0600 (no window where they are wider), directories we
  create are 0700, whatever the process umask.  A download is written under a temp name,
  checked against the size the server gives, flushed to disk and only then renamed:
  a final name never holds a partial file, nor one a crash could still take back.
  ``download_many`` flushes a whole batch with one barrier instead of a journal commit
  per file (the fetcher's path).
- Reads go through paramiko's public API: ``SFTPFile.prefetch`` with a bounded number of
  requests in flight for a file larger than one read; uploads through ``set_pipelined``.
"""

from __future__ import annotations

import errno
import functools
import os
import posixpath
import socket
import stat
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import paramiko
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_HANDLE,
    CMD_NAME,
    CMD_OPENDIR,
    CMD_READDIR,
)
from paramiko.sftp_attr import SFTPAttributes

from outbox.secrets import SecretError, check_private_file, read_secret
from outbox.timeouts import Deadline, DeadlineExceeded, call_with_deadline
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
    local_name,
    publish_durably,
    remote_name_bytes,
)
from runtime.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")

# Host-key algorithms that can prove possession of a key of each known_hosts type.
_HOSTKEY_ALGORITHMS: dict[str, tuple[str, ...]] = {
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
}
# AEAD first: no separate HMAC pass in Python, which is most of paramiko's per-packet cost.
_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr")
_MACS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512")
_CHUNK = 32768  # paramiko's largest SFTP write request; reads of this size every server answers
_READ_WINDOW = 64  # read requests in flight per file (2 MiB), as OpenSSH's sftp
_COPY_BLOCK = 1 << 20  # bytes taken from paramiko's read buffer per local write
_PAST_THE_DEADLINE = 0.5  # seconds a connection step may outlast the call's deadline (which aborts it first)


class HostKeyRejected(TransportError):
    """The server's host key is unknown, changed, or of a type not pinned for the host."""


class AuthRejected(TransportError):
    """The server refused our key; not retried."""


class ConfigError(TransportError):
    """Local configuration (key file, passphrase, known_hosts) is unusable."""


class TransportTimeout(TransportError):
    """The operation hit its wall-clock bound; an upload's outcome is in doubt."""


@dataclass(frozen=True)
class SftpSettings:
    host: str
    port: int
    username: str
    key_path: Path
    known_hosts: Path
    remote_outbound_dir: str  # where we upload
    remote_inbound_dir: str  # where replies wait for us
    passphrase_env: str | None = None
    passphrase_file: Path | None = None
    connect_timeout: float = 15
    op_timeout: float = 60  # hard wall-clock bound per public call, retries included
    retries: int = 3  # further attempts after the first, on network faults only
    backoff: float = 1.0  # first pause; doubles each retry
    temp_suffix: str = ".part"
    moves_on_arrival: bool = False  # the server takes files away as they arrive
    archive_dir: str | None = None  # None: delete fetched files
    stable_interval: float = 2.0  # a file listed must keep its size this long
    # File and directory flushed to disk before download/download_many return.  Off only to
    # measure what the flush costs: the fetcher's exactly-once pickup relies on it.
    fsync_downloads: bool = True

    def __post_init__(self) -> None:
        if not self.host or not self.username:
            raise ValueError("SFTP host and username are required")
        if not 0 < self.port < 65536:
            raise ValueError(f"bad SFTP port {self.port}")
        if self.connect_timeout <= 0 or self.op_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.retries < 0 or self.backoff < 0 or self.stable_interval < 0:
            raise ValueError("retries, backoff and stable_interval must not be negative")
        if not self.temp_suffix or not check_remote_name("x" + self.temp_suffix):
            raise ValueError(f"bad temp suffix {self.temp_suffix!r}")

    @classmethod
    def from_url(cls, url: str, **kw: object) -> SftpSettings:
        """``sftp://user@host:port/mailbox`` plus keyword settings.

        The path is the mailbox root; ``remote_outbound_dir`` and ``remote_inbound_dir``
        default to its ``outbound`` and ``inbound`` folders, and relative ones given as
        keywords are taken inside it.  A password in the URL is refused: keys only.
        """
        parts = urlsplit(url)
        if parts.scheme != "sftp":
            raise ValueError(f"not an sftp:// URL: {url!r}")
        if parts.password is not None:
            raise ValueError("passwords are not accepted in the SFTP URL; configure a key")
        if not parts.hostname or not parts.username:
            raise ValueError(f"SFTP URL needs user@host: {url!r}")
        root = unquote(parts.path) or "/"
        values: dict[str, object] = {
            "host": parts.hostname,
            "port": parts.port or 22,
            "username": unquote(parts.username),
        }
        for key, default in (("remote_outbound_dir", "outbound"), ("remote_inbound_dir", "inbound")):
            given = str(kw.pop(key, default))
            values[key] = given if given.startswith("/") else posixpath.join(root, given)
        for key in ("key_path", "known_hosts", "passphrase_file"):
            if kw.get(key) is not None:
                kw[key] = Path(kw[key])  # type: ignore[arg-type]
        return cls(**values, **kw)  # type: ignore[arg-type]

    @property
    def known_hosts_name(self) -> str:
        """How OpenSSH names this server in known_hosts."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    @property
    def keyscan_hint(self) -> str:
        return f"ssh-keyscan -p {self.port} {self.host} >> {self.known_hosts}"


class _PinnedHostKeys(paramiko.RejectPolicy):
    """RejectPolicy whose error tells the operator how to pin the key after checking it."""

    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings

    def missing_host_key(self, client: object, hostname: str, key: paramiko.PKey) -> None:
        s = self.settings
        raise HostKeyRejected(
            f"host key for {hostname} is not in {s.known_hosts}: server offered "
            f"{key.get_name()} {key.fingerprint}. If the clearinghouse confirms that "
            f"fingerprint, pin it with: {s.keyscan_hint}"
        )


@dataclass
class _Connection:
    sock: socket.socket
    transport: paramiko.Transport | None = None
    sftp: paramiko.SFTPClient | None = None

    def usable(self) -> bool:
        return self.sftp is not None and self.transport is not None and self.transport.is_active()

    def abort(self) -> None:
        """Tear down from any thread; a call blocked on this connection then fails promptly."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for closable in (self.sftp, self.transport, self.sock):
            try:
                if closable is not None:
                    closable.close()
            except Exception:  # noqa: BLE001 - already broken; nothing more to do
                pass


@dataclass
class _UploadProgress:
    """What an upload has done so far, so a retry after a lost rename reply is not a failure."""

    rename_sent: bool = False


class SftpTransport:
    """``outbox.transport.Transport`` over SFTP; one lazily opened connection, reused."""

    def __init__(self, settings: SftpSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._lock = threading.Lock()
        self._conn: _Connection | None = None
        self._pkey: paramiko.PKey | None = None

    # ---- public API -------------------------------------------------------------------

    def upload(self, local_path: Path, remote_name: str, *, before_rename: Callable[[], None] | None = None) -> None:
        """``NAME.part``, then ``before_rename()`` (the sender records it), then the rename to ``NAME``."""
        check_remote_name(remote_name)
        size = os.stat(local_path).st_size
        progress = _UploadProgress()
        self._run(
            f"upload {remote_name}",
            lambda sftp: self._upload_once(sftp, Path(local_path), remote_name, size, progress, before_rename),
        )
        log.info("sftp.uploaded", remote_name=remote_name, size=size)

    def remote_state(self, remote_name: str) -> str:
        check_remote_name(remote_name)
        final = self._outbound(remote_name)
        part = final + self.settings.temp_suffix

        def look(sftp: paramiko.SFTPClient) -> str:
            if _exists(sftp, final):
                return "final"
            return "partial" if _exists(sftp, part) else "absent"

        return self._run(f"remote_state {remote_name}", look)

    def list_inbound(self) -> list[RemoteFile]:
        """Every entry of the reply folder; a file is ``settled`` once its size and mtime held still.

        A name ending in the temp suffix or starting with a dot is some writer's temp file,
        and a file still growing is being written by the server: both are listed unsettled
        (the fetcher waits for them, and raises them to a human if they never settle).
        Symlinks and folders are listed as what they are, from lstat.
        """
        inbound = remote_name_bytes(self.settings.remote_inbound_dir)
        suffix = self.settings.temp_suffix

        def settling(name: str, attr: SFTPAttributes) -> bool:
            return stat.S_ISREG(attr.st_mode or 0) and not (name.startswith(".") or name.endswith(suffix))

        def stable(sftp: paramiko.SFTPClient) -> list[RemoteFile]:
            first = dict(_list_folder(sftp, inbound))
            if any(settling(name, attr) for name, attr in first.items()):
                time.sleep(self.settings.stable_interval)
                second = dict(_list_folder(sftp, inbound))
            else:
                second = first
            files = []
            for name, attr in sorted(second.items()):
                before = first.get(name)
                moved = before is None or (before.st_size, before.st_mtime) != (attr.st_size, attr.st_mtime)
                settled = settling(name, attr) and not moved
                if settling(name, attr) and moved:
                    log.info("sftp.inbound.still_growing", file=local_name(name))
                files.append(
                    RemoteFile(
                        name=name,
                        size=attr.st_size or 0,
                        mtime=float(attr.st_mtime or 0),
                        kind=entry_kind(attr.st_mode or 0),
                        settled=settled or not stat.S_ISREG(attr.st_mode or 0),
                    )
                )
            return files

        return self._run("list_inbound", stable)

    def download(self, remote_name: str, local_path: Path) -> None:
        """Copy an inbound file to ``local_path`` via a 0600 temp file beside it, then rename."""
        check_listed_name(remote_name)
        local_path = Path(local_path)
        make_private_dirs(local_path.parent)
        temp = _temp_beside(local_path)
        try:
            size = self._run(f"download {remote_name}", lambda sftp: self._get(sftp, remote_name, temp))
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        publish_durably([(temp, local_path)], local_path.parent, flush=self.settings.fsync_downloads)
        log.info("sftp.downloaded", file=local_name(remote_name), size=size)

    def download_many(self, remote_names: Sequence[str], dest_dir: Path) -> DownloadBatch:
        """Copy inbound files to ``dest_dir/local_name(NAME)``, then flush the batch to disk with one barrier.

        Each file is fetched within its own ``op_timeout`` (and retries).  A file the server
        refuses is reported and the batch goes on; once the connection is gone (a timeout,
        retries spent, a key refused) the rest is left untried, so a dead link is not waited
        out once per file and a refused key is not offered again.
        """
        names = [check_listed_name(name) for name in remote_names]
        dest_dir = Path(dest_dir)
        make_private_dirs(dest_dir)
        batch = DownloadBatch()
        staged: list[tuple[Path, Path]] = []
        fetched: list[Downloaded] = []
        try:
            for index, name in enumerate(names):
                final = dest_dir / local_name(name)
                temp = _temp_beside(final)
                try:
                    size = self._run(f"download {name}", functools.partial(self._get, name=name, temp=temp))
                except TransportError as exc:
                    temp.unlink(missing_ok=True)
                    batch.failed.append((name, exc))
                    if not self._transport_alive():
                        batch.link_down = True
                        batch.not_tried = names[index + 1 :]
                        break
                    continue
                except BaseException:
                    temp.unlink(missing_ok=True)
                    raise
                staged.append((temp, final))
                fetched.append(Downloaded(name=name, path=final, size=size))
        except BaseException:
            for temp, _ in staged:
                temp.unlink(missing_ok=True)
            raise
        publish_durably(staged, dest_dir, flush=self.settings.fsync_downloads)
        batch.done = fetched
        log.info("sftp.downloaded", files=len(fetched), failed=len(batch.failed), left=len(batch.not_tried))
        return batch

    def archive(self, remote_name: str) -> None:
        """Move to ``archive_dir`` (a recycled name gets a timestamp suffix) or delete.

        Idempotent: a file already gone (an earlier run archived it and lost the reply)
        is success.
        """
        check_listed_name(remote_name)
        remote = self._inbound_path(remote_name)
        archive_dir = self.settings.archive_dir

        def take(sftp: paramiko.SFTPClient) -> None:
            if not _exists(sftp, remote):
                return
            if archive_dir is None:
                _tolerate_missing(lambda: sftp.remove(remote))  # type: ignore[arg-type]
                return
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            for attempt in range(100):
                target = posixpath.join(
                    remote_name_bytes(archive_dir), remote_name_bytes(archive_name(remote_name, stamp, attempt))
                )
                try:
                    sftp.rename(remote, target)  # type: ignore[arg-type]  # SFTPv3 rename: fails if target exists
                    return
                except OSError:
                    if not _exists(sftp, remote):
                        return
                    if not _exists(sftp, target):
                        raise
            raise TransportError("cannot find a free archive name")

        self._run(f"archive {local_name(remote_name)}", take)
        log.info("sftp.archived", file=local_name(remote_name), to=archive_dir or "deleted")

    def check_mailbox(self) -> MailboxCheck:
        """Connect (the host key checked against known_hosts, our key offered once) and look at
        every folder the link uses, writing nothing: `bhclaims transport test`.  A refused host
        key or login raises (``HostKeyRejected``, ``AuthRejected``); a folder's problem is returned."""
        s = self.settings
        folders = [("upload folder (remote_outbound_dir)", s.remote_outbound_dir),
                   ("reply folder (remote_inbound_dir)", s.remote_inbound_dir)]
        if s.archive_dir:
            folders.append(("archive folder (archive_dir)", s.archive_dir))

        def look(sftp: paramiko.SFTPClient) -> tuple[FolderCheck, ...]:
            return tuple(_check_folder(sftp, role, path) for role, path in folders)

        checked = self._run("transport test", look)
        conn = self._conn
        offered = conn.transport.get_remote_server_key() if conn is not None and conn.transport else None
        proved = f"{offered.get_name()} {offered.fingerprint}" if offered is not None else None
        return MailboxCheck(f"{s.username}@{s.known_hosts_name}", proved, checked)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> SftpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- download ---------------------------------------------------------------------

    def _inbound_path(self, name: str) -> bytes:
        return posixpath.join(remote_name_bytes(self.settings.remote_inbound_dir), remote_name_bytes(name))

    def _get(self, sftp: paramiko.SFTPClient, name: str, temp: Path) -> int:
        """One attempt: the inbound file ``name`` into a fresh 0600 ``temp``; returns its size."""
        remote = self._inbound_path(name)
        temp.unlink(missing_ok=True)  # left by an attempt that failed
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            return _read_remote(sftp, remote, fd, name)
        finally:
            os.close(fd)

    # ---- upload -----------------------------------------------------------------------

    def _outbound(self, name: str) -> str:
        return posixpath.join(self.settings.remote_outbound_dir, name)

    def _upload_once(
        self,
        sftp: paramiko.SFTPClient,
        local_path: Path,
        name: str,
        size: int,
        progress: _UploadProgress,
        before_rename: Callable[[], None] | None = None,
    ) -> None:
        final = self._outbound(name)
        part = final + self.settings.temp_suffix
        try:
            existing = sftp.stat(final)
        except FileNotFoundError:
            existing = None
        if existing is not None:
            if progress.rename_sent and existing.st_size == size:
                return  # our rename landed; only its reply was lost
            raise RemoteExists(f"{name} already exists on the server; refusing to overwrite it")
        if progress.rename_sent and not _exists(sftp, part):
            if self.settings.moves_on_arrival:
                return  # renamed, and the server has already taken it
            raise TransportError(
                f"{name}: rename was sent, then the connection failed, and neither {name} nor "
                f"{name}{self.settings.temp_suffix} is on the server; outcome in doubt, not re-sent"
            )

        sent = 0
        with open(local_path, "rb") as src, sftp.open(part, "wb") as dst:  # truncates a stale .part
            dst.set_pipelined(True)
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
                sent += len(chunk)
        # close() has waited for every pipelined write's status: an error would have raised.
        if sent != size:
            raise TransportError(f"{name}: local file changed size during upload ({sent} of {size} bytes)")

        if before_rename is not None:
            before_rename()
        progress.rename_sent = True
        try:
            sftp.rename(part, final)  # SFTPv3 rename refuses an existing target; posix-rename would not
        except OSError as exc:
            if not self._transport_alive():
                raise
            if _exists(sftp, final):
                if not _exists(sftp, part):
                    return  # the server moved it into place (or took it) as we asked
                _tolerate_missing(lambda: sftp.remove(part))
                raise RemoteExists(f"{name} appeared on the server during upload; not overwritten") from None
            if self.settings.moves_on_arrival and not _exists(sftp, part):
                return  # the server took the file as it arrived
            raise TransportError(
                f"server refused to rename {name}{self.settings.temp_suffix}: {exc}"
            ) from None

    # ---- connection, retries, deadline ------------------------------------------------

    def _run(self, what: str, op: Callable[[paramiko.SFTPClient], T]) -> T:
        """Run ``op`` on a live connection, retrying network faults, all within op_timeout."""
        s = self.settings
        deadline = Deadline(s.op_timeout)
        with self._lock:
            attempt = 0
            while True:
                attempt += 1
                try:
                    return self._attempt(what, op, deadline)
                except DeadlineExceeded:
                    self._drop()
                    raise TransportTimeout(
                        f"{what}: no result from {s.host}:{s.port} within {s.op_timeout:g} s "
                        f"(attempt {attempt}); outcome in doubt"
                    ) from None
                except (TransportError, ValueError):
                    raise
                except paramiko.AuthenticationException as exc:
                    self._drop()
                    raise AuthRejected(
                        f"{s.host}:{s.port} refused key {s.key_path} for user {s.username!r} ({exc}); "
                        "not retried, to avoid locking the account"
                    ) from None
                except (OSError, EOFError, paramiko.SSHException) as exc:
                    if (
                        isinstance(exc, OSError)
                        and not isinstance(exc, TimeoutError)
                        and self._transport_alive()
                    ):
                        raise TransportError(f"{what}: server refused: {exc}") from None
                    self._drop()
                    pause = s.backoff * (2 ** (attempt - 1))
                    if attempt > s.retries or pause >= deadline.remaining():
                        raise TransportError(
                            f"{what}: {s.host}:{s.port} unreachable after {attempt} attempt(s): "
                            f"{type(exc).__name__}: {exc}"
                        ) from None
                    log.warning("sftp.retry", what=what, attempt=attempt, error=str(exc), pause=pause)
                    self._sleep(pause)

    def _attempt(self, what: str, op: Callable[[paramiko.SFTPClient], T], deadline: Deadline) -> T:
        cancelled = threading.Event()

        def abort() -> None:
            cancelled.set()
            self._abort_current()

        return call_with_deadline(
            lambda: op(self._connected(deadline, cancelled)), deadline.remaining(), abort=abort, what=what
        )

    def _transport_alive(self) -> bool:
        conn = self._conn
        return conn is not None and conn.usable()

    def _abort_current(self) -> None:
        conn = self._conn
        if conn is not None:
            conn.abort()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()

    def _connected(self, deadline: Deadline, cancelled: threading.Event) -> paramiko.SFTPClient:
        if self._conn is not None and self._conn.usable():
            return self._conn.sftp  # type: ignore[return-value]
        self._drop()
        pkey = self._client_key()
        pinned = self._pinned_host_keys()
        # Past the call's deadline, not at it: when the deadline binds, it must fire first (the call is
        # "in doubt", TransportTimeout); a banner or handshake timeout ending at the same instant raced it
        # and made a silent server "unreachable" now and then (tests/test_sftp_transport.py, silent server).
        timeout = max(0.1, min(self.settings.connect_timeout, deadline.remaining() + _PAST_THE_DEADLINE))
        sock = socket.create_connection((self.settings.host, self.settings.port), timeout=timeout)
        if cancelled.is_set():  # the deadline passed while we were connecting
            sock.close()
            raise TimeoutError("connect finished after the deadline")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small SFTP requests: no Nagle wait
        conn = self._conn = _Connection(sock=sock)
        try:
            conn.sftp = self._handshake(conn, pkey, pinned, timeout)
        except BaseException:
            conn.abort()
            if self._conn is conn:
                self._conn = None
            raise
        return conn.sftp

    def _handshake(
        self, conn: _Connection, pkey: paramiko.PKey, pinned: dict[str, paramiko.PKey], timeout: float
    ) -> paramiko.SFTPClient:
        """SSH handshake, host key check, one key authentication, sftp subsystem."""
        s = self.settings
        t = conn.transport = paramiko.Transport(conn.sock)
        t.banner_timeout = t.handshake_timeout = t.auth_timeout = t.channel_timeout = timeout
        opts = t.get_security_options()
        opts.ciphers = tuple(c for c in _CIPHERS if c in opts.ciphers) or opts.ciphers
        opts.digests = tuple(m for m in _MACS if m in opts.digests) or opts.digests
        if pinned:
            wanted = [a for kind in pinned for a in _HOSTKEY_ALGORITHMS.get(kind, (kind,))]
            opts.key_types = tuple(a for a in wanted if a in opts.key_types) or tuple(wanted)
        try:
            t.start_client(timeout=timeout)
        except paramiko.SSHException as exc:
            if pinned and "host key" in str(exc).lower():
                raise HostKeyRejected(
                    f"{s.known_hosts_name} offered none of the host key types pinned in {s.known_hosts} "
                    f"({', '.join(sorted(pinned))}): the server key may have changed. Verify with the "
                    f"clearinghouse, then re-pin with: {s.keyscan_hint}"
                ) from None
            raise
        self._check_host_key(t.get_remote_server_key(), pinned)
        t.auth_publickey(s.username, pkey)  # one attempt; AuthenticationException is not retried
        sftp = paramiko.SFTPClient.from_transport(t)
        if sftp is None:
            raise paramiko.SSHException("server refused the sftp subsystem")
        sftp.get_channel().settimeout(s.connect_timeout)  # any single reply; op_timeout bounds the whole
        log.debug("sftp.connected", host=s.host, port=s.port)
        return sftp

    def _pinned_host_keys(self) -> dict[str, paramiko.PKey]:
        s = self.settings
        keys = paramiko.HostKeys()
        try:
            keys.load(str(s.known_hosts))
        except FileNotFoundError:
            raise ConfigError(
                f"known_hosts file {s.known_hosts} does not exist; create it with: {s.keyscan_hint}"
            ) from None
        except (OSError, paramiko.SSHException) as exc:
            raise ConfigError(f"cannot read known_hosts {s.known_hosts}: {exc}") from None
        found = keys.lookup(s.known_hosts_name)
        return dict(found.items()) if found else {}

    def _check_host_key(self, offered: paramiko.PKey, pinned: dict[str, paramiko.PKey]) -> None:
        s = self.settings
        if not pinned:
            _PinnedHostKeys(s).missing_host_key(None, s.known_hosts_name, offered)
        known = pinned.get(offered.get_name())
        if known is None or known != offered:
            expected = ", ".join(f"{k.get_name()} {k.fingerprint}" for k in pinned.values())
            raise HostKeyRejected(
                f"HOST KEY CHANGED for {s.known_hosts_name}: server offered {offered.get_name()} "
                f"{offered.fingerprint}, {s.known_hosts} pins {expected}. This could be an attack. "
                f"Only if the clearinghouse confirms the new key: "
                f"ssh-keygen -R '{s.known_hosts_name}' -f {s.known_hosts} && {s.keyscan_hint}"
            )

    def _client_key(self) -> paramiko.PKey:
        if self._pkey is not None:
            return self._pkey
        s = self.settings
        try:
            check_private_file(s.key_path, "private key")
            passphrase = read_secret(env=s.passphrase_env, file=s.passphrase_file)
        except SecretError as exc:
            raise ConfigError(str(exc)) from None
        try:
            self._pkey = paramiko.PKey.from_path(
                s.key_path, password=None if passphrase is None else passphrase.encode("utf-8")
            )
        except (paramiko.PasswordRequiredException, TypeError):  # cryptography: TypeError, no password
            if passphrase is not None:
                raise
            raise ConfigError(
                f"private key {s.key_path} is encrypted: set passphrase_env or passphrase_file"
            ) from None
        except (paramiko.SSHException, ValueError, OSError) as exc:
            raise ConfigError(f"cannot load private key {s.key_path} (wrong passphrase?): {exc}") from None
        return self._pkey


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and missing parents with mode 0700 (``os.makedirs`` gives parents 0777&~umask)."""
    missing = []
    p = Path(path)
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)  # umask can only remove bits from 0700
        except FileExistsError:
            pass


def _temp_beside(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.part")


def _read_remote(sftp: paramiko.SFTPClient, remote: bytes, fd: int, name: str) -> int:
    """Copy ``remote`` into ``fd``: open it, then lstat the path, then read what lstat measured.

    The lstat comes after the open and is what the size comes from; it must say
    "regular file", so a symlink put in the file's place after the listing is not followed.
    """
    with sftp.open(remote, "rb") as remote_file:  # type: ignore[arg-type]  # paramiko takes bytes paths
        attributes = sftp.lstat(remote)  # type: ignore[arg-type]
        if not stat.S_ISREG(attributes.st_mode or 0):
            raise TransportError(f"is a {entry_kind(attributes.st_mode or 0)}, not a regular file; not fetched")
        size = attributes.st_size or 0
        _copy_measured(remote_file, fd, size, name)
    return size


def _copy_measured(remote_file: paramiko.SFTPFile, fd: int, size: int, name: str) -> None:
    """Copy bytes ``[0, size)`` of an open remote file into ``fd``, then make sure it ends there.

    ``prefetch`` keeps up to ``_READ_WINDOW`` reads in flight (paramiko asks again for
    what a short reply left out).  End of file before ``size`` means the file shrank;
    a byte after it means it grew: either way it is refused.
    """
    if size > _CHUNK:
        remote_file.prefetch(size, max_concurrent_requests=_READ_WINDOW)
    copied = 0
    while copied < size:
        data = remote_file.read(min(_COPY_BLOCK, size - copied))
        if not data:
            raise TransportError(
                f"{name}: shrank while being downloaded (ends at {copied}, server said {size} bytes)"
            )
        _write_all(fd, data)
        copied += len(data)
    if remote_file.read(1):
        raise TransportError(f"{name}: grew while being downloaded (server said {size} bytes)")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _list_folder(sftp: paramiko.SFTPClient, folder: bytes) -> list[tuple[str, SFTPAttributes]]:
    """(name, lstat attributes) of every entry but ``.`` and ``..``, as the server sends them.

    paramiko's ``listdir_attr`` decodes names strictly, so one name that is not UTF-8
    would fail the whole listing; here such bytes survive as lone surrogates.
    """
    kind, msg = sftp._request(CMD_OPENDIR, folder)
    if kind != CMD_HANDLE:
        raise TransportError("the server answered opening the reply folder with something else than a handle")
    handle = msg.get_binary()
    entries = []
    try:
        while True:
            try:
                kind, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:
                break
            if kind != CMD_NAME:
                raise TransportError("the server answered reading the reply folder with something else than names")
            for _ in range(msg.get_int()):
                name = msg.get_string().decode("utf-8", "surrogateescape")
                msg.get_string()  # the long (ls -l) form
                attributes = SFTPAttributes._from_msg(msg)
                if name not in (".", ".."):
                    entries.append((name, attributes))
    finally:
        sftp._request(CMD_CLOSE, handle)
    return entries


def _check_folder(sftp: paramiko.SFTPClient, role: str, path: str) -> FolderCheck:
    """Whether ``path`` is a folder we may list, said in words when it is not."""
    try:
        attributes = sftp.stat(path)
        if not stat.S_ISDIR(attributes.st_mode or 0):
            return FolderCheck(role, path, "is not a folder")
        return FolderCheck(role, path, None, len(_list_folder(sftp, remote_name_bytes(path))))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
            return FolderCheck(role, path, "does not exist on the server")
        if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
            return FolderCheck(role, path, "may not be read by this login (permission denied)")
        raise


def _exists(sftp: paramiko.SFTPClient, path: str | bytes) -> bool:
    try:
        sftp.lstat(path)  # type: ignore[arg-type]
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def _tolerate_missing(action: Callable[[], object]) -> None:
    try:
        action()
    except FileNotFoundError:
        pass


__all__ = [
    "AuthRejected",
    "ConfigError",
    "HostKeyRejected",
    "SftpSettings",
    "SftpTransport",
    "TransportTimeout",
    "make_private_dirs",
]
