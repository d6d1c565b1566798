"""Exactly once each way against the real OpenSSH server, with real faults.

Items 1-5, 9-14 of shared/domain/reliability-tests.md at the level of the ledger:
``bhclaims send`` / ``bhclaims fetch`` run in subprocesses and are killed with
SIGKILL at chosen points; a rerun must leave each file delivered (or imported)
once, never partial, and the ledger must say so.

Fault points are reached through ``FAULT_RUNNER``: it wraps one method of the
transport (or of paramiko) *in the child process only*, writes ``reached`` into a
signal folder and waits there until the test kills it (or writes ``release``).
Production code has no test hooks.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import Batch, Claim, Transmission
from outbox.batches import build_batches
from outbox.fetcher import fetch_files
from outbox.lock import mailbox_lock
from outbox.sender import send_batches
from runtime.config import DEFAULT_CONFIG_NAME, load_config, starter_config
from tests.claim_factory import make_claim
from tests.cli_in_process import run_bhclaims
from tests.ledger_helpers import no_findings
from tests.sshd_server import SshdServer, sshd  # noqa: F401 - the fixture
from usecases.app import App
from usecases.setup import create_ledger

pytestmark = pytest.mark.sftp

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)

FAULT_RUNNER = r"""
import os, pathlib, time
import paramiko
import outbox.sftp as sftp

point = os.environ["BHCLAIMS_TEST_FAULT"]
signals = pathlib.Path(os.environ["BHCLAIMS_TEST_SIGNALS"])

def reached():
    (signals / "reached").write_text(str(os.getpid()))
    end = time.monotonic() + 60
    while not (signals / "release").exists() and time.monotonic() < end:
        time.sleep(0.02)

def before(cls, name):
    original = getattr(cls, name)
    def wrapper(self, *args, **kwargs):
        reached()
        return original(self, *args, **kwargs)
    setattr(cls, name, wrapper)

def after(cls, name):
    original = getattr(cls, name)
    def wrapper(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        reached()
        return result
    setattr(cls, name, wrapper)

if point == "before_upload":
    before(sftp.SftpTransport, "upload")
elif point == "mid_upload":
    original_write = paramiko.SFTPFile.write
    def write(self, data):
        half = max(1, len(data) // 2)
        original_write(self, data[:half])
        self.flush()
        reached()
        return original_write(self, data[half:])
    paramiko.SFTPFile.write = write
elif point == "after_rename":
    after(paramiko.SFTPClient, "rename")
elif point == "after_download":
    after(sftp.SftpTransport, "download_many")  # the batch is on disk, nothing recorded yet
elif point == "before_archive":
    before(sftp.SftpTransport, "archive")
else:
    raise SystemExit(f"unknown fault point {point}")

import cli
cli.main()
"""


# ---- a practice whose clearinghouse is the test sshd ------------------------------------


@dataclass
class Practice:
    folder: Path
    box: Path  # on the sshd host: outbound (we upload), inbound (replies), archive
    sshd: SshdServer

    @property
    def config_path(self) -> Path:
        return self.folder / DEFAULT_CONFIG_NAME

    @property
    def outbound(self) -> Path:
        return self.box / "outbound"

    @property
    def inbound(self) -> Path:
        return self.box / "inbound"

    def configure(self, *, port: int | None = None, **options: object) -> None:
        url = f"sftp://{self.sshd.user}@127.0.0.1:{port or self.sshd.port}/"
        settings = {
            "key_path": str(self.sshd.client_key),
            "known_hosts": str(self.sshd.known_hosts),
            "remote_outbound_dir": str(self.outbound),
            "remote_inbound_dir": str(self.inbound),
            "stable_interval": 0.2,
            "op_timeout": 20.0,
            "connect_timeout": 5.0,
            "backoff": 0.05,
            **options,
        }
        lines = [f'url = "{url}"'] + [
            f"{key} = {str(value).lower() if isinstance(value, bool) else repr(value)}".replace("'", '"')
            for key, value in settings.items()
        ]
        text = starter_config(transport_url="PLACEHOLDER").replace('url = "PLACEHOLDER"', "\n".join(lines))
        text = text.replace("claims_per_file = 5000", "claims_per_file = 1")
        self.config_path.write_text(text)

    def app(self) -> App:
        return App(load_config(self.config_path), actor="test")

    def ledger(self) -> Ledger:
        return Ledger(f"sqlite+pysqlite:///{self.folder / 'bhclaims.db'}")

    def batch_files(self) -> list[str]:
        with self.ledger().session() as session:
            return list(session.scalars(select(Batch.file_name).order_by(Batch.id)))

    def states(self) -> tuple[dict[str, str], dict[str, list[str]], dict[str, str]]:
        """(batch status by file, out-transmission states by file, claim status by claim id)."""
        return send_states(self.ledger())


def send_states(ledger: Ledger) -> tuple[dict[str, str], dict[str, list[str]], dict[str, str]]:
    """(batch status by file, out-transmission states by file, claim status by claim id); disposes ``ledger``."""
    try:
        with ledger.session() as session:
            batches = dict(session.execute(select(Batch.file_name, Batch.status)).all())
            transmissions: dict[str, list[str]] = {}
            for name, state in session.execute(
                select(Transmission.file_name, Transmission.state)
                .where(Transmission.direction == "out")
                .order_by(Transmission.id)
            ):
                transmissions.setdefault(name, []).append(state)
            claims = dict(session.execute(select(Claim.claim_id, Claim.status)).all())
    finally:
        ledger.dispose()
    return batches, transmissions, claims


@pytest.fixture(scope="module")
def built_practice(tmp_path_factory: pytest.TempPathFactory, sshd: SshdServer) -> Path:  # noqa: F811
    """Two claims built into two 837P files (claims_per_file = 1), once per module; tests get copies."""
    folder = tmp_path_factory.mktemp("template") / "practice"
    folder.mkdir(mode=0o700)
    template = Practice(folder, sshd.root / "boxes" / "unused", sshd)
    template.configure()
    create_ledger(template.config_path)
    app = template.app()
    ingest_claims(app.ledger, [make_claim("ENC-1"), make_claim("ENC-2")], checker=no_findings, actor="t")
    built = build_batches(app.ledger, app.config, checker=no_findings, actor="t", now=NOW)
    assert len(built.files) == 2
    app.close()
    return folder


@pytest.fixture
def practice(tmp_path: Path, sshd: SshdServer, built_practice: Path) -> Practice:  # noqa: F811
    """A fresh copy of the built practice with its own mailbox on the sshd host; nothing sent yet."""
    folder = tmp_path / "practice"
    shutil.copytree(built_practice, folder)
    box = sshd.root / "boxes" / uuid.uuid4().hex
    for sub in ("outbound", "inbound", "archive"):
        (box / sub).mkdir(parents=True)
    p = Practice(folder, box, sshd)
    p.configure()
    return p


def _env(signals: Path | None = None, fault: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if fault:
        env |= {"BHCLAIMS_TEST_FAULT": fault, "BHCLAIMS_TEST_SIGNALS": str(signals)}
    return env


def run(practice: Practice, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in this process (``tests.cli_in_process``): what it does to the mailbox and the ledger."""
    return run_bhclaims(args, cwd=practice.folder, env=_env())


def run_process(practice: Practice, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The command as a process of its own, stopped after ``timeout`` seconds whatever it waits for."""
    return subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", *args],
        cwd=practice.folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(
    practice: Practice,
    *args: str,
    fault: str | None = None,
    signals: Path | None = None,
) -> subprocess.Popen[str]:
    code = FAULT_RUNNER if fault else "import cli; cli.main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=practice.folder,
        env=_env(signals, fault),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_reached(proc: subprocess.Popen[str], signals: Path, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not (signals / "reached").exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"child ended before the fault point: rc {proc.returncode}\n{out}\n{err}")
        assert time.monotonic() < end, "fault point not reached"
        time.sleep(0.02)


def kill_9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def remote_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- send ------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["before_upload", "mid_upload", "after_rename"])
def test_kill_9_while_sending_then_rerun_delivers_each_file_once(
    practice: Practice, tmp_path: Path, point: str
) -> None:
    first, second = practice.batch_files()
    signals = tmp_path / "signals"
    signals.mkdir()
    proc = start(practice, "send", fault=point, signals=signals)
    wait_reached(proc, signals)
    part = practice.outbound / f"{first}.part"
    if point == "mid_upload":  # the first half of the chunk is on the server's disk
        end = time.monotonic() + 10
        while not (part.exists() and part.stat().st_size > 0):
            assert time.monotonic() < end, "no partial upload on the server"
            time.sleep(0.02)
    kill_9(proc)

    batches, transmissions, _ = practice.states()
    assert batches == {first: "uploading", second: "built"}
    # the rename is recorded before it is asked for (a partner that takes the file is then no doubt)
    assert transmissions == {first: ["renaming" if point == "after_rename" else "uploading"]}
    expected_remote = {"before_upload": [], "mid_upload": [part.name], "after_rename": [first]}[point]
    assert remote_names(practice.outbound) == expected_remote
    delivered_before = (practice.outbound / first).stat() if point == "after_rename" else None

    again = run(practice, "send")
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["sent", first, "sent", second]
    assert remote_names(practice.outbound) == [first, second]  # no .part, nothing twice
    for name in (first, second):
        assert (practice.outbound / name).read_bytes() == (practice.folder / "outbox" / name).read_bytes()
    if delivered_before is not None:  # the lost reply was resolved by asking, not by uploading again
        after = (practice.outbound / first).stat()
        assert (after.st_ino, after.st_mtime_ns) == (delivered_before.st_ino, delivered_before.st_mtime_ns)
    batches, transmissions, claims = practice.states()
    assert batches == {first: "sent", second: "sent"}
    assert transmissions == {first: ["sent"], second: ["sent"]}
    assert claims == {"ENC-1": "sent", "ENC-2": "sent"}


def test_clerk_and_cron_sending_together_upload_each_file_once(practice: Practice, tmp_path: Path) -> None:
    signals = tmp_path / "signals"
    signals.mkdir()
    cron = start(practice, "send", fault="before_upload", signals=signals)
    wait_reached(cron, signals)  # cron holds the mailbox lock, about to upload

    clerk = run(practice, "send")
    assert clerk.returncode == 2
    assert "another bhclaims process is using the clearinghouse mailbox" in clerk.stderr
    assert "Traceback" not in clerk.stderr

    patient_clerk = start(practice, "send", "--wait", "30")
    time.sleep(0.5)
    assert patient_clerk.poll() is None  # waiting for the lock, not failing
    (signals / "release").write_text("go")
    cron_out, cron_err = cron.communicate(timeout=60)
    clerk_out, clerk_err = patient_clerk.communicate(timeout=60)
    assert cron.returncode == 0, cron_err
    assert patient_clerk.returncode == 0, clerk_err
    assert cron_out.count("sent ") == 2 and clerk_out.strip() == "nothing to send"
    assert remote_names(practice.outbound) == practice.batch_files()
    batches, transmissions, _ = practice.states()
    assert set(batches.values()) == {"sent"}
    assert all(states == ["sent"] for states in transmissions.values()) and len(transmissions) == 2


def test_existing_final_name_is_never_overwritten(practice: Practice) -> None:
    first, second = practice.batch_files()
    (practice.outbound / first).write_bytes(b"someone else's file")

    result = run(practice, "send")
    assert result.returncode == 1
    assert f"not sent {first}:" in result.stderr and "refusing to overwrite" in result.stderr
    assert "'conflict'" in result.stderr and "Traceback" not in result.stderr
    assert f"sent {second}" in result.stdout  # the other batch went on
    assert (practice.outbound / first).read_bytes() == b"someone else's file"
    assert remote_names(practice.outbound) == [first, second]
    batches, transmissions, claims = practice.states()
    assert batches == {first: "conflict", second: "sent"}
    assert transmissions == {first: ["conflict"], second: ["sent"]}
    assert claims == {"ENC-1": "batched", "ENC-2": "sent"}

    again = run(practice, "send")  # a conflict waits for a person; it is not retried into "sent"
    assert again.returncode == 0 and again.stdout.strip() == "nothing to send"
    assert practice.states()[0][first] == "conflict"
    assert (practice.outbound / first).read_bytes() == b"someone else's file"


@dataclass
class SilentServer:
    port: int
    accepted_at: list[float] = field(default_factory=list)


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """Accepts TCP connections and never says a word; notes when each connection arrived."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    server = SilentServer(port=listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
                server.accepted_at.append(time.monotonic())
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_silent_server_gives_a_bounded_exit_and_an_upload_in_doubt(
    practice: Practice, silent_server: SilentServer
) -> None:
    first, second = practice.batch_files()
    op_timeout = 3.0
    practice.configure(port=silent_server.port, op_timeout=op_timeout, connect_timeout=1.0)
    result = run_process(practice, "send", timeout=60)
    ended = time.monotonic()
    assert result.returncode == 1
    # Timed from the first connection, so a slow interpreter start on a loaded machine does not
    # count: one op_timeout for the whole run ends well before a second one (one per file) could.
    assert silent_server.accepted_at, "send never connected"
    assert ended - silent_server.accepted_at[0] < 2 * op_timeout
    assert f"not sent {first}:" in result.stderr and "in doubt" in result.stderr
    assert f"not sent {second}: not attempted" in result.stderr
    batches, transmissions, _ = practice.states()
    assert batches == {first: "uploading", second: "built"}  # a rerun asks remote_state first
    assert transmissions == {first: ["in_doubt"]}
    with mailbox_lock(practice.folder / "state", "clearinghouse"):  # released, without waiting
        pass

    practice.configure()  # the server is back
    again = run(practice, "send")
    assert again.returncode == 0, again.stderr
    assert remote_names(practice.outbound) == [first, second]
    batches, transmissions, _ = practice.states()
    assert batches == {first: "sent", second: "sent"}
    assert transmissions == {first: ["sent"], second: ["sent"]}


class _Mover(threading.Thread):
    """The partner's side of ``moves_on_arrival``: final names are taken away as they appear."""

    def __init__(self, outbound: Path, taken: Path):
        super().__init__(daemon=True)
        self.outbound, self.taken, self.halt = outbound, taken, threading.Event()
        taken.mkdir(exist_ok=True)

    def run(self) -> None:
        while not self.halt.is_set():
            self.take()
            time.sleep(0.005)

    def take(self) -> None:
        for entry in self.outbound.iterdir():
            if not entry.name.endswith(".part"):
                entry.rename(self.taken / entry.name)

    def stop(self) -> None:
        """Stop watching; a file that arrived after the last look is taken too, as the partner would."""
        self.halt.set()
        self.join()
        self.take()


class _Crash(BaseException):
    pass


class _CrashAfterUpload:
    """The process dies right after the upload returned, before the ledger says 'sent'."""

    def __init__(self, inner: object):
        self.inner = inner
        self.settings = inner.settings  # type: ignore[attr-defined]

    def remote_state(self, name: str) -> str:
        return self.inner.remote_state(name)  # type: ignore[attr-defined]

    def upload(self, path: Path, name: str, **options: object) -> None:
        self.inner.upload(path, name, **options)  # type: ignore[attr-defined]
        raise _Crash


class _CrashBeforeUpload(_CrashAfterUpload):
    """The process dies after the ledger said 'uploading', before a byte went out."""

    def upload(self, path: Path, name: str, **options: object) -> None:
        raise _Crash


def test_partner_that_moves_files_on_arrival(practice: Practice) -> None:
    first, second = practice.batch_files()
    practice.configure(moves_on_arrival=True)
    taken = practice.box / "taken"
    mover = _Mover(practice.outbound, taken)
    mover.start()
    app = practice.app()
    transport = app.transport()
    try:
        assert transport.settings.moves_on_arrival is True  # the config key reaches the transport
        with pytest.raises(_Crash):
            send_batches(app.ledger, app.config, _CrashAfterUpload(transport), actor="t")
        end = time.monotonic() + 5
        while first not in remote_names(taken):
            assert time.monotonic() < end
            time.sleep(0.01)
        # rerun: the rename was recorded before it was asked for, and neither name is on the
        # server, so the partner took it: sent, not uploaded again; the second goes up
        # normally although the partner takes it at once: no false failure
        report = send_batches(app.ledger, app.config, transport, actor="t")
    finally:
        transport.close()
        app.close()
        mover.stop()
    assert report.sent == [first, second] and report.failed == [] and report.in_doubt == []
    assert remote_names(taken) == [first, second] and remote_names(practice.outbound) == []
    batches, transmissions, claims = practice.states()
    assert batches == {first: "sent", second: "sent"}
    assert transmissions == {first: ["sent"], second: ["sent"]}
    assert claims == {"ENC-1": "sent", "ENC-2": "sent"}


def test_partner_that_moves_files_on_arrival_and_an_upload_never_renamed(practice: Practice) -> None:
    """Interrupted before any rename was asked: nothing says whether the partner has it -> a human."""
    first, second = practice.batch_files()
    practice.configure(moves_on_arrival=True)
    app = practice.app()
    transport = app.transport()
    try:
        with pytest.raises(_Crash):
            send_batches(app.ledger, app.config, _CrashBeforeUpload(transport), actor="t")
        report = send_batches(app.ledger, app.config, transport, actor="t")
    finally:
        transport.close()
        app.close()
    assert report.sent == [second] and report.failed == []
    assert [name for name, _ in report.in_doubt] == [first]
    assert "moves files on arrival" in report.in_doubt[0][1]
    batches, transmissions, claims = practice.states()
    assert batches == {first: "in_doubt", second: "sent"}
    assert transmissions == {first: ["in_doubt"], second: ["sent"]}
    assert claims == {"ENC-1": "batched", "ENC-2": "sent"}


# ---- fetch -----------------------------------------------------------------------------


def reply(number: int, note: str = "000") -> bytes:
    """A complete little TA1 interchange (any X12 with an IEA will do for fetching)."""
    isa = (
        f"ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*HARBORLIGHT    *261123*0930*^*00501*"
        f"{number:09d}*0*T*:~"
    )
    return f"{isa}\nTA1*{number:09d}*261123*0930*A*{note}~\nIEA*0*{number:09d}~\n".encode()


def inbound_rows(practice: Practice) -> list[tuple[str, str]]:
    ledger = practice.ledger()
    try:
        with ledger.session() as session:
            return list(
                session.execute(
                    select(Transmission.file_name, Transmission.sha256)
                    .where(Transmission.direction == "in")
                    .order_by(Transmission.id)
                )
            )
    finally:
        ledger.dispose()


def inbox_files(practice: Practice) -> list[str]:
    return sorted(p.name for p in (practice.folder / "inbox").iterdir() if p.is_file())


@pytest.mark.parametrize("point", ["after_download", "before_archive"])
def test_kill_9_while_fetching_then_rerun_imports_each_file_once(
    practice: Practice, tmp_path: Path, point: str
) -> None:
    for n in (1, 2):
        (practice.inbound / f"R{n}.ta1").write_bytes(reply(n))
    signals = tmp_path / "signals"
    signals.mkdir()
    proc = start(practice, "fetch", fault=point, signals=signals)
    wait_reached(proc, signals)
    kill_9(proc)
    assert len(inbound_rows(practice)) == (1 if point == "before_archive" else 0)

    again = run(practice, "fetch")
    assert again.returncode == 0, again.stderr
    rows = inbound_rows(practice)
    assert sorted(name for name, _ in rows) == ["R1.ta1", "R2.ta1"]
    assert len({digest for _, digest in rows}) == 2
    assert len(inbox_files(practice)) == 2
    assert list((practice.folder / "inbox" / ".incoming").iterdir()) == []  # the killed run's temp is gone
    assert remote_names(practice.inbound) == []  # archived (deleted) on the far side
    if point == "before_archive":
        assert "already have R1.ta1 (same content): skipped" in again.stdout


def test_recycled_name_with_new_content_is_imported_and_same_content_skipped(practice: Practice) -> None:
    app = practice.app()
    transport = app.transport()
    try:
        (practice.inbound / "R1.ta1").write_bytes(reply(1))
        assert fetch_files(app.ledger, app.config, transport).fetched == ["R1.ta1"]
        (practice.inbound / "R1.ta1").write_bytes(reply(1))  # the same file offered again
        again = fetch_files(app.ledger, app.config, transport)
        assert (again.fetched, again.duplicates) == ([], ["R1.ta1"])
        assert remote_names(practice.inbound) == []  # taken off the list all the same
        (practice.inbound / "R1.ta1").write_bytes(reply(2))  # the name recycled for a new file
        assert fetch_files(app.ledger, app.config, transport).fetched == ["R1.ta1"]
    finally:
        transport.close()
        app.close()
    rows = inbound_rows(practice)
    assert [name for name, _ in rows] == ["R1.ta1", "R1.ta1"] and rows[0][1] != rows[1][1]
    assert len(inbox_files(practice)) == 2


def test_file_without_iea_or_still_growing_waits_for_the_next_run(practice: Practice) -> None:
    text = reply(3)
    body, trailer = text[: text.index(b"IEA")], text[text.index(b"IEA") :]
    path = practice.inbound / "R3.ta1"
    path.write_bytes(body)
    app = practice.app()
    transport = app.transport()
    try:
        report = fetch_files(app.ledger, app.config, transport)
        assert report.waiting == ["R3.ta1"] and report.fetched == []
        assert path.exists() and inbound_rows(practice) == []

        def grow() -> None:  # the server is still writing: a byte at a time, then the trailer
            with path.open("ab") as handle:
                for _ in range(30):
                    handle.write(b"\n")
                    handle.flush()
                    time.sleep(0.04)
                handle.write(trailer)

        writer = threading.Thread(target=grow)
        writer.start()
        time.sleep(0.05)
        growing = fetch_files(app.ledger, app.config, transport)
        writer.join()
        assert growing.fetched == [] and inbound_rows(practice) == []
        done = fetch_files(app.ledger, app.config, transport)
        assert done.fetched == ["R3.ta1"]
    finally:
        transport.close()
        app.close()
    assert len(inbound_rows(practice)) == 1 and remote_names(practice.inbound) == []


def test_two_fetchers_at_once_import_each_file_once(practice: Practice) -> None:
    names = [f"R{n}.ta1" for n in range(1, 4)]
    for n, name in enumerate(names, start=1):
        (practice.inbound / name).write_bytes(reply(n))
    procs = [start(practice, "fetch", "--wait", "30") for _ in range(2)]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    fetched = sorted(
        line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("fetched ")
    )
    assert fetched == names
    assert sorted(name for name, _ in inbound_rows(practice)) == names
    assert len(inbox_files(practice)) == 3


def test_fetched_files_are_0600_in_0700_folders_even_with_umask_000(practice: Practice) -> None:
    (practice.inbound / "R5.ta1").write_bytes(reply(5))
    app = practice.app()
    transport = app.transport()
    old = os.umask(0)
    try:
        assert fetch_files(app.ledger, app.config, transport).fetched == ["R5.ta1"]
    finally:
        os.umask(old)
        transport.close()
        app.close()
    inbox = practice.folder / "inbox"
    for path in [inbox, *inbox.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {mode:o}"
    assert len(inbox_files(practice)) == 1
