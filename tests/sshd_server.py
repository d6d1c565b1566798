"""A real OpenSSH server on 127.0.0.1 for the SFTP tests and benchmark.

``start_sshd(workdir)`` / ``stop_sshd(server)`` are plain functions (the benchmark uses
them); the session fixture ``sshd`` wraps them.  Each server gets its own host keys
(ed25519 and ECDSA), a client key authorized for the current user, a ``known_hosts``
that pins both host keys, and a mailbox whose folders are named from our side:
``mailbox/outbound`` is where we upload, ``mailbox/inbound`` is where replies wait.
sshd logs at VERBOSE to ``sshd.log`` so tests can count connections and key attempts.

Enable in a test module with ``from tests.sshd_server import sshd  # noqa: F401`` or
for the whole suite with ``pytest_plugins = ["tests.sshd_server"]`` in the root conftest.
"""

from __future__ import annotations

import atexit
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ENSURE_SSHD = REPO / "scripts" / "ensure-sshd.sh"
SSHD = Path(os.environ.get("SSHD", "/usr/sbin/sshd"))


class SshdUnavailable(RuntimeError):
    """No sshd binary and it could not be installed."""


@dataclass
class SshdServer:
    root: Path
    port: int
    user: str
    proc: subprocess.Popen[bytes]
    client_key: Path
    known_hosts: Path
    host_keys: dict[str, Path]  # "ed25519"/"ecdsa" -> private key path
    log_path: Path
    host: str = "127.0.0.1"
    _log_file: object = field(default=None, repr=False)

    @property
    def mailbox(self) -> Path:
        return self.root / "mailbox"

    @property
    def outbound(self) -> Path:
        return self.mailbox / "outbound"

    @property
    def inbound(self) -> Path:
        return self.mailbox / "inbound"

    @property
    def known_hosts_name(self) -> str:
        return f"[{self.host}]:{self.port}"

    def log_offset(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def wait_for_log(self, offset: int, needle: str, timeout: float = 5.0) -> str:
        """The log after ``offset`` once it contains ``needle`` (sshd children log asynchronously)."""
        end = time.monotonic() + timeout
        while True:
            text = self.log_since(offset)
            if needle in text or time.monotonic() > end:
                return text
            time.sleep(0.02)

    def host_key_line(self, kind: str) -> str:
        """A known_hosts line pinning this server's ``kind`` host key."""
        pub = Path(str(self.host_keys[kind]) + ".pub").read_text().split()
        return f"{self.known_hosts_name} {pub[0]} {pub[1]}\n"

    def fingerprint(self, kind: str) -> str:
        out = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(self.host_keys[kind]) + ".pub"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return out.split()[1]

    def session_pids(self) -> list[int]:
        """Processes sshd forked for client connections (not the listener itself)."""
        return _descendants(self.proc.pid)

    def settings_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``outbox.sftp.SftpSettings`` pointing at this server."""
        return {
            "host": self.host,
            "port": self.port,
            "username": self.user,
            "key_path": self.client_key,
            "known_hosts": self.known_hosts,
            "remote_outbound_dir": str(self.outbound),
            "remote_inbound_dir": str(self.inbound),
        }


def ensure_sshd() -> Path:
    """The sshd binary, installing Debian's openssh-server if needed."""
    if SSHD.is_file() and os.access(SSHD, os.X_OK):
        return SSHD
    if ENSURE_SSHD.is_file():
        done = subprocess.run(["sh", str(ENSURE_SSHD)], capture_output=True, text=True, timeout=600)
        if done.returncode == 0 and SSHD.is_file():
            return SSHD
        raise SshdUnavailable(f"{SSHD} missing and scripts/ensure-sshd.sh failed: {done.stderr.strip()}")
    raise SshdUnavailable(f"{SSHD} missing and {ENSURE_SSHD} not found")


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "", comment: str = "bhclaims-test") -> Path:
    """A new key pair at ``path`` / ``path.pub`` (passphrase via argv: test keys only)."""
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", comment, "-f", str(path)]
    if kind in ("ecdsa", "rsa"):
        args[4:4] = ["-b", "256" if kind == "ecdsa" else "2048"]
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _sshd_config(root: Path, port: int, user: str, host_keys: dict[str, Path]) -> str:
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            *(f"HostKey {p}" for p in host_keys.values()),
            f"PidFile {root / 'sshd.pid'}",
            f"AuthorizedKeysFile {root / 'authorized_keys'}",
            f"AllowUsers {user}",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "HostbasedAuthentication no",
            "UsePAM no",
            "StrictModes no",  # the temp dir sits under world-writable /tmp
            "UseDNS no",
            "PrintMotd no",
            "MaxAuthTries 6",
            "MaxStartups 50:30:100",
            "LoginGraceTime 30",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


def start_sshd(workdir: Path | None = None, *, user: str | None = None) -> SshdServer:
    """Start ``sshd -D -e`` on a free 127.0.0.1 port; returns once it answers with its banner."""
    sshd = ensure_sshd()
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="bhclaims-sshd-"))
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    user = user or getpass.getuser()
    host_keys = {kind: keygen(root / f"ssh_host_{kind}_key", kind) for kind in ("ed25519", "ecdsa")}
    client_key = keygen(root / "client_ed25519", "ed25519")
    (root / "authorized_keys").write_text(Path(str(client_key) + ".pub").read_text())
    for sub in ("mailbox/outbound", "mailbox/inbound", "mailbox/archive"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege-separation directory

    log_path = root / "sshd.log"
    last_error = ""
    for _ in range(5):  # a free port can be taken between probing and binding
        port = _free_port()
        config = root / "sshd_config"
        config.write_text(_sshd_config(root, port, user, host_keys))
        check = subprocess.run([str(sshd), "-t", "-f", str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"sshd rejected its test config: {check.stderr.strip()}")
        log_file = open(log_path, "ab")  # noqa: SIM115 - lives as long as the server
        proc = subprocess.Popen(
            [str(sshd), "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
        server = SshdServer(
            root=root,
            port=port,
            user=user,
            proc=proc,
            client_key=client_key,
            known_hosts=root / "known_hosts",
            host_keys=host_keys,
            log_path=log_path,
            _log_file=log_file,
        )
        server.known_hosts.write_text("".join(server.host_key_line(k) for k in host_keys))
        if _wait_for_banner(server, timeout=10):
            atexit.register(stop_sshd, server)
            return server
        last_error = server.log_since(0)[-500:]
        stop_sshd(server, remove=False)
    raise RuntimeError(f"sshd did not start: {last_error}")


def _wait_for_banner(server: SshdServer, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.proc.poll() is not None:
            return False
        try:
            with socket.create_connection((server.host, server.port), timeout=1) as s:
                if s.recv(64).startswith(b"SSH-2.0-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_sshd(server: SshdServer, *, remove: bool = True) -> None:
    """Stop the listener and every session process it forked; idempotent."""
    sessions = _descendants(server.proc.pid) if server.proc.poll() is None else []
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(5)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)
    for pid in sessions:  # sessions call setsid(), so they outlive the listener otherwise
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if server._log_file is not None:
        server._log_file.close()  # type: ignore[attr-defined]
        server._log_file = None
    if remove:
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    """A running OpenSSH server for the whole session; skipped only if sshd cannot be installed."""
    try:
        ensure_sshd()
    except SshdUnavailable as exc:
        pytest.skip(f"OpenSSH server unavailable: {exc}")
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        stop_sshd(server)
