"""SftpTransport against a real OpenSSH server (tests/sshd_server.py).

Items 1-4, 7-10, 13, 34 and 35 of shared/domain/reliability-tests.md.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest

from outbox.sftp import (
    AuthRejected,
    ConfigError,
    HostKeyRejected,
    SftpSettings,
    SftpTransport,
    TransportTimeout,
)
from outbox.transport import RemoteExists, RemoteFile, TransportError
from tests.sshd_server import SshdServer, keygen, sshd  # noqa: F401 - the fixture

pytestmark = pytest.mark.sftp

MakeTransport = Callable[..., SftpTransport]


@pytest.fixture
def make_transport(sshd: SshdServer) -> Iterator[MakeTransport]:  # noqa: F811
    made: list[SftpTransport] = []

    def make(**overrides: object) -> SftpTransport:
        kw = {**sshd.settings_kwargs(), "stable_interval": 0.2, "op_timeout": 20, "backoff": 0.05}
        kw.update(overrides)
        transport = SftpTransport(SftpSettings(**kw))  # type: ignore[arg-type]
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()
    for folder in (sshd.outbound, sshd.inbound, sshd.mailbox / "archive"):
        for entry in folder.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


@pytest.fixture
def claim_file(tmp_path: Path) -> Path:
    path = tmp_path / "batch.x12"
    path.write_bytes(b"ISA*00*          *00*          *ZZ*SUBMITTER~" * 2000)
    return path


def _key_attempts(log: str) -> int:
    return sum(line.startswith(("Failed publickey", "Accepted publickey")) for line in log.splitlines())


# ---- happy path and upload semantics ----------------------------------------------------


def test_round_trip_upload_list_download_archive(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    claim_file: Path,
    tmp_path: Path,
) -> None:
    transport = make_transport()
    transport.upload(claim_file, "B0001.x12")
    assert (sshd.outbound / "B0001.x12").read_bytes() == claim_file.read_bytes()
    assert not (sshd.outbound / "B0001.x12.part").exists()
    assert transport.remote_state("B0001.x12") == "final"

    (sshd.inbound / "R0001.999").write_bytes(b"ISA*999 reply~IEA*1*000000001~")
    listed = transport.list_inbound()
    assert [f.name for f in listed] == ["R0001.999"]
    assert listed[0].size == 30

    target = tmp_path / "inbox" / "R0001.999"
    transport.download("R0001.999", target)
    assert target.read_bytes() == b"ISA*999 reply~IEA*1*000000001~"
    assert [p.name for p in target.parent.iterdir()] == ["R0001.999"]  # no temp left

    transport.archive("R0001.999")
    assert not (sshd.inbound / "R0001.999").exists()
    assert transport.list_inbound() == []
    transport.archive("R0001.999")  # already gone: an earlier run lost the reply


def test_archive_moves_to_archive_dir_and_keeps_recycled_names_apart(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
) -> None:
    transport = make_transport(archive_dir=str(sshd.mailbox / "archive"))
    for content in (b"first", b"second"):
        (sshd.inbound / "R7.835").write_bytes(content)
        transport.archive("R7.835")
    archived = sorted(p.read_bytes() for p in (sshd.mailbox / "archive").iterdir())
    assert archived == [b"first", b"second"]
    assert not (sshd.inbound / "R7.835").exists()


def test_upload_refuses_to_overwrite_an_existing_name(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    claim_file: Path,
) -> None:
    (sshd.outbound / "B0002.x12").write_bytes(b"already delivered")
    with pytest.raises(RemoteExists):
        make_transport().upload(claim_file, "B0002.x12")
    assert (sshd.outbound / "B0002.x12").read_bytes() == b"already delivered"
    assert not (sshd.outbound / "B0002.x12.part").exists()


def test_upload_refuses_a_name_that_appears_just_before_the_rename(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    claim_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another sender wins the race between our existence check and our rename."""
    original = paramiko.SFTPClient.rename

    def rival_first(self: paramiko.SFTPClient, old: str, new: str) -> None:
        (sshd.outbound / "B0003.x12").write_bytes(b"the other sender's file")
        original(self, old, new)

    monkeypatch.setattr(paramiko.SFTPClient, "rename", rival_first)
    with pytest.raises(RemoteExists):
        make_transport().upload(claim_file, "B0003.x12")
    assert (sshd.outbound / "B0003.x12").read_bytes() == b"the other sender's file"
    assert not (sshd.outbound / "B0003.x12.part").exists()


def test_upload_replaces_a_leftover_part_from_a_killed_run(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    claim_file: Path,
) -> None:
    (sshd.outbound / "B0004.x12.part").write_bytes(b"X" * (claim_file.stat().st_size * 2))
    transport = make_transport()
    assert transport.remote_state("B0004.x12") == "partial"
    transport.upload(claim_file, "B0004.x12")
    assert (sshd.outbound / "B0004.x12").read_bytes() == claim_file.read_bytes()
    assert not (sshd.outbound / "B0004.x12.part").exists()
    assert transport.remote_state("B0004.x12") == "final"
    assert transport.remote_state("B9999.x12") == "absent"


def test_lost_rename_reply_is_not_a_failure_and_sends_once(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    claim_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = paramiko.SFTPClient.rename
    renames: list[str] = []

    def rename_then_drop(self: paramiko.SFTPClient, old: str, new: str) -> None:
        original(self, old, new)
        renames.append(new)
        self.get_channel().get_transport().close()
        raise EOFError("connection lost before the rename reply")

    monkeypatch.setattr(paramiko.SFTPClient, "rename", rename_then_drop)
    make_transport().upload(claim_file, "B0005.x12")
    assert len(renames) == 1
    assert (sshd.outbound / "B0005.x12").read_bytes() == claim_file.read_bytes()


@pytest.mark.parametrize("moves_on_arrival", [True, False])
def test_server_that_takes_files_on_arrival(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    claim_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    moves_on_arrival: bool,
) -> None:
    original = paramiko.SFTPClient.rename

    def server_takes_it(self: paramiko.SFTPClient, old: str, new: str) -> None:
        (sshd.outbound / "B0006.x12.part").unlink()  # picked up as soon as it was closed
        original(self, old, new)

    monkeypatch.setattr(paramiko.SFTPClient, "rename", server_takes_it)
    transport = make_transport(moves_on_arrival=moves_on_arrival)
    if moves_on_arrival:
        transport.upload(claim_file, "B0006.x12")
    else:
        with pytest.raises(TransportError, match="refused to rename"):
            transport.upload(claim_file, "B0006.x12")


def test_unsafe_names_are_refused_before_any_network(make_transport: MakeTransport, claim_file: Path) -> None:
    transport = make_transport(port=1)  # nothing listens there: a connect attempt would fail differently
    for name in ("../etc/passwd", "a b.x12", "", ".", "x/y"):
        with pytest.raises(ValueError, match="unsafe remote file name"):
            transport.upload(claim_file, name)


# ---- host keys --------------------------------------------------------------------------


def _assert_no_auth_attempted(sshd: SshdServer, offset: int) -> None:  # noqa: F811
    log = sshd.wait_for_log(offset, "[preauth]")
    assert "Connection from 127.0.0.1" in log
    assert "publickey" not in log, log


def test_unknown_host_key_aborts_before_authentication(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    offset = sshd.log_offset()
    with pytest.raises(HostKeyRejected) as caught:
        make_transport(known_hosts=empty, retries=3).remote_state("B1.x12")
    message = str(caught.value)
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {empty}" in message
    assert sshd.fingerprint("ed25519") in message
    _assert_no_auth_attempted(sshd, offset)
    assert sshd.log_since(offset).count("Connection from") == 1


def test_changed_host_key_aborts_before_authentication(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    impostor = keygen(tmp_path / "impostor", "ed25519")
    pinned = tmp_path / "known_hosts"
    kind, blob = Path(str(impostor) + ".pub").read_text().split()[:2]
    pinned.write_text(f"{sshd.known_hosts_name} {kind} {blob}\n")
    offset = sshd.log_offset()
    with pytest.raises(HostKeyRejected, match="HOST KEY CHANGED") as caught:
        make_transport(known_hosts=pinned).remote_state("B1.x12")
    assert sshd.fingerprint("ed25519") in str(caught.value)
    _assert_no_auth_attempted(sshd, offset)


def test_only_the_pinned_host_key_type_is_negotiated(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    """ECDSA pinned, ed25519 also on the server: we must ask for (and check) the ECDSA key."""
    pinned = tmp_path / "known_hosts"
    pinned.write_text(sshd.host_key_line("ecdsa"))
    transport = make_transport(known_hosts=pinned)
    assert transport.remote_state("B1.x12") == "absent"
    used = transport._conn.transport.get_remote_server_key()  # type: ignore[union-attr]
    assert used.get_name() == "ecdsa-sha2-nistp256"


def test_pinned_type_the_server_does_not_offer_is_rejected(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    """RSA pinned, the server has only ECDSA and ed25519: rejected, not accepted as 'another type'."""
    rsa = keygen(tmp_path / "rsa_host", "rsa")
    pinned = tmp_path / "known_hosts"
    kind, blob = Path(str(rsa) + ".pub").read_text().split()[:2]
    pinned.write_text(f"{sshd.known_hosts_name} {kind} {blob}\n")
    offset = sshd.log_offset()
    with pytest.raises(HostKeyRejected, match="none of the host key types pinned"):
        make_transport(known_hosts=pinned).remote_state("B1.x12")
    assert "publickey" not in sshd.wait_for_log(offset, "[preauth]")


# ---- client credentials -----------------------------------------------------------------


def test_rejected_key_is_tried_exactly_once(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    stranger = keygen(tmp_path / "stranger", "ed25519")
    offset = sshd.log_offset()
    with pytest.raises(AuthRejected, match="not retried"):
        make_transport(key_path=stranger, retries=3).remote_state("B1.x12")
    log = sshd.wait_for_log(offset, "[preauth]")
    assert _key_attempts(log) == 1, log
    assert log.count("Connection from") == 1


def test_world_readable_key_is_refused_without_connecting(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    loose = tmp_path / "loose_key"
    shutil.copyfile(sshd.client_key, loose)
    os.chmod(loose, 0o644)
    offset = sshd.log_offset()
    with pytest.raises(ConfigError, match="too open"):
        make_transport(key_path=loose).remote_state("B1.x12")
    time.sleep(0.2)
    assert "Connection from" not in sshd.log_since(offset)


@pytest.mark.parametrize("source", ["env", "file"])
def test_encrypted_key_unlocks_with_passphrase_from_env_or_private_file(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    locked = keygen(tmp_path / "locked", "ed25519", passphrase="correct horse")
    with open(sshd.root / "authorized_keys", "a") as fh:
        fh.write(Path(str(locked) + ".pub").read_text())
    with pytest.raises(ConfigError, match="encrypted"):
        make_transport(key_path=locked).remote_state("B1.x12")
    if source == "env":
        monkeypatch.setenv("BHCLAIMS_SFTP_PASSPHRASE", "correct horse")
        transport = make_transport(key_path=locked, passphrase_env="BHCLAIMS_SFTP_PASSPHRASE")
    else:
        secret = tmp_path / "passphrase"
        secret.write_text("correct horse\n")
        os.chmod(secret, 0o644)
        with pytest.raises(ConfigError, match="too open"):
            make_transport(key_path=locked, passphrase_file=secret).remote_state("B1.x12")
        os.chmod(secret, 0o600)
        transport = make_transport(key_path=locked, passphrase_file=secret)
    assert transport.remote_state("B1.x12") == "absent"


# ---- network faults ---------------------------------------------------------------------


@pytest.fixture(params=["silent", "banner-then-silent"])
def silent_server(request: pytest.FixtureRequest) -> Iterator[int]:
    """Accepts TCP connections and never answers (or answers the banner only)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if request.param == "banner-then-silent":
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_silent_server_gives_a_bounded_error(make_transport: MakeTransport, silent_server: int) -> None:
    transport = make_transport(port=silent_server, connect_timeout=30, op_timeout=1.5, retries=3)
    started = time.monotonic()
    with pytest.raises(TransportTimeout, match="in doubt"):
        transport.remote_state("B1.x12")
    assert time.monotonic() - started < 1.5 + 1.0


def test_refused_connection_is_retried_a_bounded_number_of_times(make_transport: MakeTransport) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pauses: list[float] = []
    settings = SftpSettings(**{**make_transport().settings.__dict__, "port": port, "retries": 3})
    with pytest.raises(TransportError, match="after 4 attempt"):
        SftpTransport(settings, sleep=pauses.append).remote_state("B1.x12")
    assert pauses == [0.05, 0.1, 0.2]


def _kill_session_when_part_grows(sshd: SshdServer, part: Path, threshold: int) -> threading.Thread:  # noqa: F811
    def watch() -> None:
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                if part.stat().st_size >= threshold:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.002)
        for pid in sshd.session_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_connection_killed_mid_upload_leaves_only_the_part_and_a_rerun_completes(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.x12"
    big.write_bytes(os.urandom(24 * 1024 * 1024))
    part, final = sshd.outbound / "B0010.x12.part", sshd.outbound / "B0010.x12"

    watcher = _kill_session_when_part_grows(sshd, part, threshold=1024 * 1024)
    with pytest.raises(TransportError):
        make_transport(retries=0).upload(big, "B0010.x12")
    watcher.join()
    assert not final.exists()
    assert 0 < part.stat().st_size < big.stat().st_size

    transport = make_transport(retries=0)
    assert transport.remote_state("B0010.x12") == "partial"
    transport.upload(big, "B0010.x12")
    assert final.read_bytes() == big.read_bytes()
    assert not part.exists()


@pytest.mark.slow
def test_upload_retries_by_itself_after_the_session_is_killed(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.x12"
    big.write_bytes(os.urandom(16 * 1024 * 1024))
    watcher = _kill_session_when_part_grows(sshd, sshd.outbound / "B0011.x12.part", threshold=1024 * 1024)
    make_transport(retries=2).upload(big, "B0011.x12")
    watcher.join()
    assert (sshd.outbound / "B0011.x12").read_bytes() == big.read_bytes()
    assert not (sshd.outbound / "B0011.x12.part").exists()


# ---- inbound listing and local files ----------------------------------------------------


def test_listing_shows_every_entry_for_what_it_is(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
) -> None:
    """Nothing is left out: temp names are unsettled, links and folders are what lstat says."""
    (sshd.inbound / "R1.835").write_bytes(b"ready")
    (sshd.inbound / "R2.835.part").write_bytes(b"being written")
    (sshd.inbound / ".R3.835").write_bytes(b"hidden temp")
    (sshd.inbound / "has space.835").write_bytes(b"any name")
    (sshd.inbound / "folder").mkdir()
    os.symlink(sshd.inbound / "R1.835", sshd.inbound / "link.835")
    listed = {f.name: (f.kind, f.settled) for f in make_transport().list_inbound()}
    assert listed == {
        ".R3.835": ("file", False),
        "R1.835": ("file", True),
        "R2.835.part": ("file", False),
        "folder": ("directory", True),
        "has space.835": ("file", True),
        "link.835": ("symlink", True),
    }


def test_growing_file_is_not_settled_until_its_size_holds(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
) -> None:
    growing = sshd.inbound / "R5.835"
    growing.write_bytes(b"ISA*")
    stop = threading.Event()

    def keep_writing() -> None:
        with open(growing, "ab") as fh:
            while not stop.is_set():
                fh.write(b"CLP*1*1*100*0~")
                fh.flush()
                time.sleep(0.02)

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    try:
        transport = make_transport(stable_interval=0.3)
        assert [(f.name, f.settled) for f in transport.list_inbound()] == [("R5.835", False)]
    finally:
        stop.set()
        writer.join()
    listed = transport.list_inbound()
    assert listed == [RemoteFile("R5.835", growing.stat().st_size, listed[0].mtime, kind="file", settled=True)]


def test_downloads_are_private_even_with_umask_000(
    sshd: SshdServer,  # noqa: F811
    make_transport: MakeTransport,
    tmp_path: Path,
) -> None:
    (sshd.inbound / "R6.835").write_bytes(b"PHI inside")
    target = tmp_path / "inbox" / "2026" / "R6.835"
    old = os.umask(0)
    try:
        make_transport().download("R6.835", target)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(target.parent.parent.stat().st_mode) == 0o700


def test_failed_download_leaves_no_local_file(make_transport: MakeTransport, tmp_path: Path) -> None:
    target = tmp_path / "in" / "R404.835"
    with pytest.raises(TransportError):
        make_transport().download("R404.835", target)
    assert list(target.parent.iterdir()) == []


def test_settings_from_url() -> None:
    s = SftpSettings.from_url(
        "sftp://bh%2Dclinic@sftp.example.net:2222/mail",
        key_path="/k",
        known_hosts="/kh",
        remote_inbound_dir="/out/999",
    )
    assert (s.host, s.port, s.username) == ("sftp.example.net", 2222, "bh-clinic")
    assert (s.remote_outbound_dir, s.remote_inbound_dir) == ("/mail/outbound", "/out/999")
    assert s.key_path == Path("/k")
    with pytest.raises(ValueError, match="passwords"):
        SftpSettings.from_url("sftp://u:secret@h/x", key_path="/k", known_hosts="/kh")
