"""Batched downloads: one disk flush per batch, and the fetcher's order on top of it.

``download_many`` (SFTP against the real OpenSSH server, and the local-folder mailbox)
must hand back only files that are whole, 0600 and on disk; ``fetch_files`` must
record a file only after its data and inbox name are flushed, and archive it on the
far side only after it is recorded — whether a batch succeeds whole, loses one file,
loses the link half way, or the fetcher is killed between the flush and the ledger.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from paramiko.message import Message
from paramiko.sftp import CMD_DATA

import outbox.fetcher as fetcher
import outbox.sftp as sftp_module
import outbox.transport as transport_module
from outbox.fetcher import fetch_batches, fetch_files
from outbox.local import LocalDirTransport
from outbox.sftp import SftpSettings, SftpTransport
from outbox.transport import RemoteFile, TransportError
from tests.cli_in_process import run_bhclaims
from tests.sshd_server import SshdServer, sshd  # noqa: F401 - the fixture
from tests.test_send_fetch_sftp import REPO, Practice, inbound_rows, kill_9, remote_names, reply, wait_reached
from usecases.app import App
from usecases.setup import create_ledger

pytestmark = pytest.mark.sftp

KILL_BEFORE_RECORD = r"""
import os, pathlib, time
import outbox.fetcher as fetcher

signals = pathlib.Path(os.environ["BHCLAIMS_TEST_SIGNALS"])
original = fetcher._record

def _record(*args, **kwargs):
    (signals / "reached").write_text(str(os.getpid()))
    time.sleep(60)
    return original(*args, **kwargs)

fetcher._record = _record

import cli
cli.main()
"""


# ---- a practice with an empty ledger, fetching from its own mailbox on the test sshd -----


@pytest.fixture
def practice(tmp_path: Path, sshd: SshdServer) -> Practice:  # noqa: F811
    folder = tmp_path / "practice"
    folder.mkdir(mode=0o700)
    box = sshd.root / "boxes" / uuid.uuid4().hex
    for sub in ("outbound", "inbound", "archive"):
        (box / sub).mkdir(parents=True)
    p = Practice(folder, box, sshd)
    p.configure(retries=0)  # a dropped connection is the link going down, not a retry
    create_ledger(p.config_path)
    return p


@pytest.fixture
def app(practice: Practice) -> Iterator[App]:
    app = practice.app()
    yield app
    app.close()


@pytest.fixture
def sftp_transport(practice: Practice, app: App) -> Iterator[SftpTransport]:
    transport = app.transport()
    assert isinstance(transport, SftpTransport)
    yield transport
    transport.close()


def offer(practice: Practice, *numbers: int) -> list[str]:
    names = [f"R{n}.ta1" for n in numbers]
    for n, name in zip(numbers, names, strict=True):
        (practice.inbound / name).write_bytes(reply(n))
    return names


def inbox_files(practice: Practice) -> list[str]:
    return sorted(p.name for p in (practice.folder / "inbox").iterdir() if p.is_file())


def incoming_left(practice: Practice) -> list[str]:
    return sorted(p.name for p in (practice.folder / "inbox" / ".incoming").iterdir())


def fail_once_for(monkeypatch: pytest.MonkeyPatch, name: str, fault: Callable[[Any], None]) -> None:
    """Make the SFTP read of remote file ``name`` fail once, the way ``fault(sftp)`` does."""
    original = sftp_module._read_remote
    done: list[bool] = []

    def read_remote(sftp: paramiko.SFTPClient, remote: str, fd: int, remote_name: str) -> int:
        if remote_name == name and not done:
            done.append(True)
            fault(sftp)
        return original(sftp, remote, fd, remote_name)

    monkeypatch.setattr(sftp_module, "_read_remote", read_remote)


# ---- the fetcher's order: flushed -> recorded -> archived ---------------------------------


@pytest.mark.parametrize("kind", ["sftp", "local"])
def test_batch_is_flushed_before_it_is_recorded_and_recorded_before_it_is_archived(
    practice: Practice, app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    events: list[tuple[str, str]] = []
    inbox = practice.folder / "inbox"

    original_fsync = transport_module._fsync_path
    original_keep = fetcher._keep
    original_record = fetcher._record

    def fsync_path(path: Path, flags: int = 0) -> None:
        original_fsync(path, flags)
        events.append(("flushed", str(path)))

    def keep(temp: Path, final: Path, digest: str) -> Path:
        kept = original_keep(temp, final, digest)
        events.append(("linked", final.name.split("-", 1)[1]))
        return kept

    def record(ledger: Any, arrival: Any) -> int | None:
        # durable means: its data flushed (under the temp name) and the inbox folder flushed since the link
        data_flushed = any(e == "flushed" and Path(p).name.startswith(f".{arrival.name}.") for e, p in events)
        linked_at = events.index(("linked", arrival.name))
        assert data_flushed, f"{arrival.name} recorded before its data was flushed"
        assert ("flushed", str(inbox)) in events[linked_at:], f"{arrival.name} recorded before its inbox name"
        events.append(("recorded", arrival.name))
        return original_record(ledger, arrival)

    monkeypatch.setattr(transport_module, "_fsync_path", fsync_path)
    monkeypatch.setattr(fetcher, "_keep", keep)
    monkeypatch.setattr(fetcher, "_record", record)

    if kind == "sftp":
        names = offer(practice, 1, 2, 3)
        transport: Any = app.transport()
        remote_folder = practice.inbound
    else:
        transport = LocalDirTransport(tmp_path / "localbox")
        remote_folder = transport.outbound
        names = [f"R{n}.ta1" for n in (1, 2, 3)]
        for n, name in enumerate(names, start=1):
            (remote_folder / name).write_bytes(reply(n))
    original_archive = transport.archive

    def archive(name: str) -> None:
        assert ("recorded", name) in events, f"{name} archived before it was recorded"
        events.append(("archived", name))
        original_archive(name)

    monkeypatch.setattr(transport, "archive", archive)
    try:
        report = fetch_files(app.ledger, app.config, transport)
    finally:
        transport.close()

    assert report.fetched == names and report.failed == []
    assert [e for e in events if e[0] == "archived"] == [("archived", name) for name in names]
    # one barrier for the batch: each file once, then its folder once -- not a folder flush per file
    incoming_flushes = [p for e, p in events if e == "flushed" and Path(p).parent.name == ".incoming"]
    assert len(incoming_flushes) == len(names)
    assert events.count(("flushed", str(inbox / ".incoming"))) == 1
    assert events.count(("flushed", str(inbox))) == 1
    assert [name for name, _ in inbound_rows(practice)] == names
    assert len(inbox_files(practice)) == 3 and incoming_left(practice) == []
    assert [p.name for p in remote_folder.iterdir()] == []


def test_kill_9_between_the_flush_and_the_ledger_then_rerun_imports_each_file_once(
    practice: Practice, tmp_path: Path
) -> None:
    offer(practice, 1, 2)
    signals = tmp_path / "signals"
    signals.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "BHCLAIMS_TEST_SIGNALS": str(signals)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_BEFORE_RECORD, "fetch"],
        cwd=practice.folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_reached(proc, signals)
    assert len(inbox_files(practice)) == 2  # linked and flushed, not yet recorded
    kill_9(proc)
    assert inbound_rows(practice) == [] and remote_names(practice.inbound) == ["R1.ta1", "R2.ta1"]

    again = run_bhclaims(["fetch"], cwd=practice.folder, env=env)  # the rerun: in this process
    assert again.returncode == 0, again.stderr
    rows = inbound_rows(practice)
    assert sorted(name for name, _ in rows) == ["R1.ta1", "R2.ta1"] and len({d for _, d in rows}) == 2
    assert len(inbox_files(practice)) == 2  # the killed run's copies reused, not doubled
    assert incoming_left(practice) == [] and remote_names(practice.inbound) == []


# ---- partial batches ---------------------------------------------------------------------


def test_file_failing_mid_batch_is_retried_next_run_and_the_rest_recorded_once(
    practice: Practice, app: App, sftp_transport: SftpTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer(practice, 1, 2, 3)

    def refuse(sftp: paramiko.SFTPClient) -> None:
        raise PermissionError(13, "Permission denied")  # as the server's status would say

    fail_once_for(monkeypatch, "R2.ta1", refuse)
    first = fetch_files(app.ledger, app.config, sftp_transport)
    assert first.fetched == ["R1.ta1", "R3.ta1"]
    assert [name for name, _ in first.failed] == ["R2.ta1"] and "Permission denied" in first.failed[0][1]
    assert remote_names(practice.inbound) == ["R2.ta1"]  # left for the next run
    assert incoming_left(practice) == []

    second = fetch_files(app.ledger, app.config, sftp_transport)
    assert (second.fetched, second.duplicates, second.failed) == (["R2.ta1"], [], [])
    rows = inbound_rows(practice)
    assert sorted(name for name, _ in rows) == ["R1.ta1", "R2.ta1", "R3.ta1"]
    assert len({digest for _, digest in rows}) == 3
    assert len(inbox_files(practice)) == 3 and remote_names(practice.inbound) == []


def test_link_lost_mid_batch_records_what_is_on_disk_and_archives_it_next_run(
    practice: Practice, app: App, sftp_transport: SftpTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer(practice, 1, 2, 3)

    def cut(sftp: paramiko.SFTPClient) -> None:
        sftp.get_channel().get_transport().close()  # the connection dies under the read

    fail_once_for(monkeypatch, "R2.ta1", cut)
    first = fetch_files(app.ledger, app.config, sftp_transport)
    assert first.fetched == ["R1.ta1"]  # on disk before the link went: recorded
    assert [name for name, _ in first.failed] == ["R2.ta1"]
    assert remote_names(practice.inbound) == ["R1.ta1", "R2.ta1", "R3.ta1"]  # R1 not archived, R3 not tried
    assert incoming_left(practice) == []

    second = fetch_files(app.ledger, app.config, sftp_transport)
    assert second.duplicates == ["R1.ta1"] and second.fetched == ["R2.ta1", "R3.ta1"]
    rows = inbound_rows(practice)
    assert sorted(name for name, _ in rows) == ["R1.ta1", "R2.ta1", "R3.ta1"]
    assert len(inbox_files(practice)) == 3 and remote_names(practice.inbound) == []


def test_download_many_reports_the_link_going_down_and_leaves_the_rest(
    practice: Practice, sftp_transport: SftpTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = offer(practice, 1, 2, 3)
    fail_once_for(monkeypatch, "R2.ta1", lambda sftp: sftp.get_channel().get_transport().close())
    got = sftp_transport.download_many(names, tmp_path / "dest")
    assert [f.name for f in got.done] == ["R1.ta1"] and [n for n, _ in got.failed] == ["R2.ta1"]
    assert got.link_down and got.not_tried == ["R3.ta1"]
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["R1.ta1"]


# ---- what download_many hands back -------------------------------------------------------


def _sftp_box(practice: Practice, app: App) -> tuple[Any, Path]:
    return app.transport(), practice.inbound


def _local_box(practice: Practice, app: App) -> tuple[Any, Path]:
    transport = LocalDirTransport(practice.folder / "localbox")
    return transport, transport.outbound


@pytest.mark.parametrize("make_box", [_sftp_box, _local_box], ids=["sftp", "local"])
def test_download_many_gives_whole_private_files_even_with_umask_000(
    practice: Practice, app: App, tmp_path: Path, make_box: Callable[[Practice, App], tuple[Any, Path]]
) -> None:
    transport, remote = make_box(practice, app)
    contents = {
        "R1.835": os.urandom(3 * 1024 * 1024 + 7),  # more than one window of reads in flight
        "R2.999": b"",
        "R3.ta1": reply(3),
    }
    for name, data in contents.items():
        (remote / name).write_bytes(data)
    dest = tmp_path / "new" / "inbox"
    old = os.umask(0)
    try:
        got = transport.download_many(list(contents), dest)
    finally:
        os.umask(old)
        transport.close()
    assert got.failed == [] and not got.link_down
    assert [(f.name, f.size) for f in got.done] == [(name, len(data)) for name, data in contents.items()]
    assert sorted(p.name for p in dest.iterdir()) == sorted(contents)  # no temp names left
    for name, data in contents.items():
        assert (dest / name).read_bytes() == data
        assert stat.S_IMODE((dest / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    assert stat.S_IMODE(dest.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("make_box", [_sftp_box, _local_box], ids=["sftp", "local"])
def test_download_many_reports_a_missing_file_and_keeps_the_others(
    practice: Practice, app: App, tmp_path: Path, make_box: Callable[[Practice, App], tuple[Any, Path]]
) -> None:
    transport, remote = make_box(practice, app)
    (remote / "R1.ta1").write_bytes(reply(1))
    (remote / "R3.ta1").write_bytes(reply(3))
    try:
        got = transport.download_many(["R1.ta1", "R2.ta1", "R3.ta1"], tmp_path / "dest")
    finally:
        transport.close()
    assert [f.name for f in got.done] == ["R1.ta1", "R3.ta1"]
    ((name, error),) = got.failed
    assert name == "R2.ta1" and isinstance(error, TransportError)
    assert not got.link_down and got.not_tried == []
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["R1.ta1", "R3.ta1"]


@pytest.mark.parametrize("change", ["grows", "shrinks"])
def test_a_file_that_changes_size_while_downloading_is_refused(
    practice: Practice,
    sftp_transport: SftpTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    path = practice.inbound / "R1.835"
    path.write_bytes(os.urandom(200_000))
    original = sftp_module._copy_measured

    def copy_measured(remote_file: paramiko.SFTPFile, fd: int, size: int, name: str) -> None:
        # the server measured the file; now it changes before the first byte is read
        if change == "grows":
            with path.open("ab") as handle_:
                handle_.write(b"more")
        else:
            os.truncate(path, 150_000)
        original(remote_file, fd, size, name)

    monkeypatch.setattr(sftp_module, "_copy_measured", copy_measured)
    got = sftp_transport.download_many(["R1.835"], tmp_path / "dest")
    ((name, error),) = got.failed
    assert name == "R1.835" and ("grew" if change == "grows" else "shrank") in str(error)
    assert got.done == [] and list((tmp_path / "dest").iterdir()) == []


def test_short_read_replies_are_completed_by_asking_again(
    practice: Practice, sftp_transport: SftpTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(300_000)
    (practice.inbound / "R1.835").write_bytes(data)
    original_response = paramiko.SFTPFile._async_response
    halved: list[int] = []

    def short_response(self: Any, kind: int, msg: Message, number: int) -> None:
        if kind == CMD_DATA and len(halved) < 3:  # a server may answer with fewer bytes than asked for
            chunk = msg.get_string()
            short = Message()
            short.add_string(chunk[: max(1, len(chunk) // 2)])
            halved.append(len(chunk))
            msg = Message(short.asbytes())
        original_response(self, kind, msg, number)

    # the reply side of paramiko's prefetch: the only place a test can shorten what sshd sent
    monkeypatch.setattr(paramiko.SFTPFile, "_async_response", short_response)
    got = sftp_transport.download_many(["R1.835"], tmp_path / "dest")
    assert got.failed == [] and halved
    assert (tmp_path / "dest" / "R1.835").read_bytes() == data


def test_no_flush_setting_still_checks_and_renames(sshd: SshdServer, tmp_path: Path) -> None:  # noqa: F811
    (sshd.inbound / "R1.ta1").write_bytes(reply(1))
    settings = SftpSettings(**sshd.settings_kwargs(), fsync_downloads=False)  # type: ignore[arg-type]
    try:
        with SftpTransport(settings) as transport:
            got = transport.download_many(["R1.ta1"], tmp_path / "dest")
    finally:
        (sshd.inbound / "R1.ta1").unlink()
    assert [f.name for f in got.done] == ["R1.ta1"]
    assert [p.name for p in (tmp_path / "dest").iterdir()] == ["R1.ta1"]


# ---- batching ------------------------------------------------------------------------------


def test_fetch_batches_are_bounded_in_files_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetcher, "BATCH_FILES", 3)
    monkeypatch.setattr(fetcher, "BATCH_BYTES", 100)
    sizes = [10, 10, 10, 10, 60, 50, 500, 1]
    listing = [RemoteFile(f"R{i}", size, 0.0) for i, size in enumerate(sizes)]
    groups = [[remote.size for remote in batch] for batch in fetch_batches(listing)]
    assert groups == [[10, 10, 10], [10, 60], [50], [500], [1]]
    assert [r for batch in fetch_batches(listing) for r in batch] == listing
    assert list(fetch_batches([])) == []


def test_local_download_is_whole_or_absent(tmp_path: Path) -> None:
    transport = LocalDirTransport(tmp_path / "box")
    (transport.outbound / "R1.ta1").write_bytes(reply(1))
    target = tmp_path / "in" / "R1.ta1"
    target.parent.mkdir(mode=0o700)
    transport.download("R1.ta1", target)
    assert target.read_bytes() == reply(1) and stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(TransportError):
        transport.download("R9.ta1", target.with_name("R9.ta1"))
    assert sorted(p.name for p in target.parent.iterdir()) == ["R1.ta1"]
    shutil.rmtree(tmp_path / "box")
