"""`bhclaims transport test` against the suite's real OpenSSH server (issue 18): it connects,
verifies the host key against known_hosts, logs in with the key and lists the mailbox folders;
what is wrong is said in words with exit 2 — an unknown host key, a refused key, a missing
folder — and nothing is written, here or on the server."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from runtime.config import DATABASE_URL_ENV, DEFAULT_CONFIG_NAME, starter_config
from tests.cli_in_process import run_bhclaims
from tests.sshd_server import SshdServer, keygen, sshd  # noqa: F401 - the fixture

pytestmark = pytest.mark.sftp
REPO = Path(__file__).resolve().parent.parent


def _mailbox(server: SshdServer) -> Path:
    box = server.root / "boxes" / uuid.uuid4().hex
    for sub in ("outbound", "inbound", "archive"):
        (box / sub).mkdir(parents=True)
    (box / "inbound" / "waiting.999").write_text("ISA*")
    return box


def _configure(folder: Path, server: SshdServer, box: Path, **override: str) -> None:
    settings = {
        "key_path": str(server.client_key),
        "known_hosts": str(server.known_hosts),
        "remote_outbound_dir": str(box / "outbound"),
        "remote_inbound_dir": str(box / "inbound"),
        "archive_dir": str(box / "archive"),
        **override,
    }
    lines = [f'url = "sftp://{server.user}@127.0.0.1:{server.port}/"',
             *(f'{key} = "{value}"' for key, value in settings.items()), "connect_timeout = 5", "op_timeout = 20"]
    text = starter_config(transport_url="PLACEHOLDER").replace('url = "PLACEHOLDER"', "\n".join(lines))
    (folder / DEFAULT_CONFIG_NAME).write_text(text)


def _transport_test(folder: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(DATABASE_URL_ENV, None)
    return run_bhclaims(["transport", "test"], cwd=folder, env=env)


def _said(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("bhclaims:")]


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_working_link_is_reached_verified_and_listed(tmp_path: Path, sshd: SshdServer) -> None:  # noqa: F811
    box = _mailbox(sshd)
    _configure(tmp_path, sshd, box)
    before = (_tree(tmp_path), _tree(box))
    result = _transport_test(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"reached {sshd.user}@{sshd.known_hosts_name}; its host key ")
    assert any(sshd.fingerprint(kind) in lines[0] for kind in sshd.host_keys), lines[0]
    assert lines[1:] == [f"  upload folder (remote_outbound_dir) {box / 'outbound'}: 0 entries",
                         f"  reply folder (remote_inbound_dir) {box / 'inbound'}: 1 entry",
                         f"  archive folder (archive_dir) {box / 'archive'}: 0 entries"]
    assert (_tree(tmp_path), _tree(box)) == before


def test_an_unknown_host_key_is_said_with_how_to_pin_it(tmp_path: Path, sshd: SshdServer) -> None:  # noqa: F811
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    _configure(tmp_path, sshd, _mailbox(sshd), known_hosts=str(empty))
    result = _transport_test(tmp_path)
    assert result.returncode == 2
    (line,) = _said(result)
    assert line.startswith(f"bhclaims: host key for {sshd.known_hosts_name} is not in {empty}: server offered ")
    assert "ssh-keyscan" in line and "Traceback" not in result.stderr


def test_a_changed_host_key_is_refused(tmp_path: Path, sshd: SshdServer) -> None:  # noqa: F811
    impostor = keygen(tmp_path / "impostor", "ed25519")
    pinned = tmp_path / "known_hosts"
    pinned.write_text(f"{sshd.known_hosts_name} {' '.join(Path(f'{impostor}.pub').read_text().split()[:2])}\n")
    _configure(tmp_path, sshd, _mailbox(sshd), known_hosts=str(pinned))
    result = _transport_test(tmp_path)
    assert result.returncode == 2
    (line,) = _said(result)
    assert "host key" in line.lower() and str(pinned) in line


def test_a_refused_key_is_said_and_not_retried(tmp_path: Path, sshd: SshdServer) -> None:  # noqa: F811
    stranger = keygen(tmp_path / "stranger", "ed25519")
    _configure(tmp_path, sshd, _mailbox(sshd), key_path=str(stranger))
    result = _transport_test(tmp_path)
    assert result.returncode == 2
    (line,) = _said(result)
    assert line.startswith(f"bhclaims: 127.0.0.1:{sshd.port} refused key {stranger} for user '{sshd.user}'")
    assert "not retried" in line


def test_a_missing_folder_is_named(tmp_path: Path, sshd: SshdServer) -> None:  # noqa: F811
    box = _mailbox(sshd)
    (box / "archive").rmdir()
    _configure(tmp_path, sshd, box, remote_inbound_dir=str(box / "replies"))
    result = _transport_test(tmp_path)
    assert result.returncode == 2
    assert f"  upload folder (remote_outbound_dir) {box / 'outbound'}: 0 entries" in result.stdout.splitlines()
    assert _said(result) == [
        f"bhclaims: the reply folder (remote_inbound_dir) {box / 'replies'} does not exist on the server; "
        f"the archive folder (archive_dir) {box / 'archive'} does not exist on the server"]


def test_a_file_where_a_folder_belongs_is_named(tmp_path: Path, sshd: SshdServer) -> None:  # noqa: F811
    box = _mailbox(sshd)
    _configure(tmp_path, sshd, box, remote_outbound_dir=str(box / "inbound" / "waiting.999"))
    result = _transport_test(tmp_path)
    assert result.returncode == 2
    assert _said(result) == [f"bhclaims: the upload folder (remote_outbound_dir) {box / 'inbound' / 'waiting.999'} "
                             "is not a folder"]


def test_the_local_sandbox_link_is_listed(tmp_path: Path) -> None:
    (tmp_path / DEFAULT_CONFIG_NAME).write_text(starter_config(transport_url="file://./clearinghouse"))
    result = _transport_test(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"reached {tmp_path / 'clearinghouse'}"
