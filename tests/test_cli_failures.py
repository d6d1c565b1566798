"""Failures of the machine and of the input: one line, the right exit code, nothing left running
(reliability item 52).

- ``kill -9`` of an ingest takes its worker processes along, and the next ingest completes;
- a full disk (a tiny tmpfs in a private mount namespace) under the outbox or under the SQLite
  ledger, a PostgreSQL server stopped in the middle of an ingest, a broken mapping profile, an
  unknown quarantine id: one line naming the cause, exit 2, never "internal error (OSError)";
- paramiko never prints a traceback without ``-v`` (its transport thread logs one when a server
  answers with garbage); with ``-v`` it does;
- a database password on ``--db`` or in a config file others can read is warned about, and
  never shown.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger.db import Ledger
from ledger.models import Claim, ClaimStatus
from runtime.config import DEFAULT_CONFIG_NAME, starter_config
from tests.pg_server import PostgresServer
from tests.sshd_server import SshdServer, sshd  # noqa: F401 - the fixture
from tests.test_send_fetch_sftp import Practice
from usecases.setup import create_ledger

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from gen_export import synthetic_claims  # noqa: E402

from parsers.writer import write_csv_export  # noqa: E402
from tests.cli_in_process import run_bhclaims  # noqa: E402

BHCLAIMS = [sys.executable, "-c", "import cli; cli.main()"]
DEMO = REPO / "usecases" / "sample_charges.csv"
AFTER_EVERY_SERVICE = "2030-01-01"  # no service date of the large export is in the future then


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def _cli(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command run in this process (``tests.cli_in_process``): its words and exit code are the subject."""
    return run_bhclaims(args, cwd=folder, env=_env(**env))


def _process(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own: everything that reaches its stderr, libraries' threads included."""
    return subprocess.run([*BHCLAIMS, *args], cwd=folder, env=_env(), capture_output=True, text=True, timeout=300)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command's own words on stderr (log lines aside): exactly one line."""
    ours = [line for line in result.stderr.splitlines() if line.startswith("bhclaims: ")]
    assert len(ours) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return ours[0]


def _practice(folder: Path, db_url: str | None, *, claims_per_file: int = 5000) -> Path:
    folder.mkdir(mode=0o700)
    text = starter_config(transport_url="file://./clearinghouse")
    (folder / DEFAULT_CONFIG_NAME).write_text(text.replace("claims_per_file = 5000", f"claims_per_file = {claims_per_file}"))
    create_ledger(folder / DEFAULT_CONFIG_NAME, db_url)
    return folder


def _count_claims(db_url: str) -> int:
    ledger = Ledger(db_url)
    try:
        with ledger.read_session() as session:
            return session.scalar(select(func.count()).select_from(Claim)) or 0
    finally:
        ledger.dispose()


@pytest.fixture(scope="module")
def large_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A valid export big enough that its ingest is still writing a few seconds in."""
    path = tmp_path_factory.mktemp("large") / "large.csv"
    claims = synthetic_claims(30_000, 3)  # 2 workers of 5,000-claim chunks: killed with most of it unwritten
    with open(path, "w", newline="", encoding="utf-8") as out:
        write_csv_export(claims, out)
    return path, len({claim.claim_id for claim in claims})


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    if int(fh.read().rsplit(b")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")  # a zombie has stopped; only its exit status waits


def _wait_for(condition: object, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, what
        time.sleep(0.05)


# ---- ingest workers die with their parent ------------------------------------------------


@pytest.mark.slow
def test_kill_9_of_ingest_takes_its_workers_along(tmp_path: Path, ledger_url: str, large_export: tuple[Path, int]) -> None:
    export, claim_count = large_export
    folder = _practice(tmp_path / "practice", ledger_url)
    proc = subprocess.Popen([*BHCLAIMS, "--db", ledger_url, "ingest", str(export)], cwd=folder,
                            env=_env(BHCLAIMS_INGEST_WORKERS="2", BHCLAIMS_TODAY=AFTER_EVERY_SERVICE),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(_children(proc.pid)) >= 2 or proc.poll() is not None, 60, "no workers started")
        workers = _children(proc.pid)
        _wait_for(lambda: _count_claims(ledger_url) > 0 or proc.poll() is not None, 60, "the workers stored nothing")
        assert proc.poll() is None, "the ingest finished before it could be killed; make the export larger"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(workers) == 2
    _wait_for(lambda: not any(_alive(pid) for pid in workers), 10, "a worker outlived the killed ingest")
    stored = _count_claims(ledger_url)
    assert 0 < stored < claim_count  # the kill came mid-way

    again = subprocess.run([*BHCLAIMS, "--db", ledger_url, "ingest", str(export)], cwd=folder,
                           env=_env(BHCLAIMS_INGEST_WORKERS="2", BHCLAIMS_TODAY=AFTER_EVERY_SERVICE),
                           capture_output=True, text=True, timeout=600)
    assert again.returncode in (0, 1), again.stderr  # not kept waiting by a lock of the dead
    assert _count_claims(ledger_url) == claim_count


# ---- a full disk ---------------------------------------------------------------------------

SMALL_DISK = r"""
set -e
mount -t tmpfs -o size="$SMALL_DISK_SIZE",mode=0700 tmpfs "$SMALL_DISK"
if [ -n "$SMALL_DISK_COPY" ]; then cp -p "$SMALL_DISK_COPY" "$SMALL_DISK/"; fi
set +e
"$@"
status=$?
ls -A "$SMALL_DISK" > "$SMALL_DISK_LISTING"
exit $status
"""


def _on_a_small_disk(folder: Path, mount: Path, size: str, *args: str, copy: Path | None = None,
                     ) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the CLI with a ``size`` tmpfs over ``mount`` (a private mount namespace; nothing outside
    it sees the mount); the command's result and what was left on the small disk."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is needed to mount a small private tmpfs")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no user and mount namespaces here: {probe.stderr.decode().strip()}")
    listing = folder.parent / f"listing-{uuid.uuid4().hex}"
    env = _env(SMALL_DISK=str(mount), SMALL_DISK_SIZE=size, SMALL_DISK_COPY=str(copy or ""),
               SMALL_DISK_LISTING=str(listing))
    result = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", SMALL_DISK, "sh",
                             *BHCLAIMS, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    left = listing.read_text().split() if listing.exists() else []
    return result, left


def test_a_full_disk_under_the_outbox_is_one_line_and_the_next_build_finishes(tmp_path: Path, ledger_url: str) -> None:
    folder = _practice(tmp_path / "practice", ledger_url)
    assert _cli(folder, "--db", ledger_url, "ingest", str(DEMO)).returncode in (0, 1)
    outbox = folder / "outbox"
    result, left = _on_a_small_disk(folder, outbox, "4k", "--db", ledger_url, "build")
    assert result.returncode == 2, result.stdout + result.stderr
    line = _one_line(result)
    assert "No space left on device" in line and "the disk is full" in line, line
    assert left == []  # no half-written 837P, no temp file

    rebuilt = _cli(folder, "--db", ledger_url, "build")  # the disk has room again: the same batch is built
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert len(list(outbox.iterdir())) == 1
    ledger = Ledger(ledger_url)
    try:
        with ledger.read_session() as session:
            statuses = set(session.scalars(select(Claim.status)))
    finally:
        ledger.dispose()
    assert ClaimStatus.BATCHED in statuses and ClaimStatus.READY not in statuses


def test_a_full_disk_under_the_sqlite_ledger_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "practice"
    ledger_dir = tmp_path / "ledger"
    ledger_dir.mkdir(mode=0o700)
    db_file = ledger_dir / "ledger.db"
    _practice(folder, f"sqlite+pysqlite:///{db_file}")
    size = f"{(db_file.stat().st_size // 4096 + 12) * 4}k"  # the ledger, its 32k -shm, and a little
    staged = tmp_path / "staged"
    staged.mkdir()
    shutil.copy2(db_file, staged / "ledger.db")  # copied onto the small disk, which hides the folder
    result, left = _on_a_small_disk(folder, ledger_dir, size, "--db", f"sqlite+pysqlite:///{db_file}",
                                    "ingest", str(DEMO), copy=staged / "ledger.db")
    assert result.returncode == 2, result.stdout + result.stderr
    line = _one_line(result)
    assert "database or disk is full" in line, line
    assert "ledger.db" in left


# ---- the database goes away mid-command -----------------------------------------------------


@pytest.mark.postgres
def test_postgresql_stopped_in_the_middle_of_an_ingest_is_one_line(tmp_path: Path,
                                                                  large_export: tuple[Path, int]) -> None:
    export, claim_count = large_export
    server = PostgresServer()
    try:
        url = server.create_database()
        folder = _practice(tmp_path / "practice", url)
        proc = subprocess.Popen([*BHCLAIMS, "--db", url, "ingest", str(export)], cwd=folder,
                                env=_env(BHCLAIMS_INGEST_WORKERS="0", BHCLAIMS_TODAY=AFTER_EVERY_SERVICE),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: _count_claims(url) > 0 or proc.poll() is not None, 60, "nothing stored")
        assert proc.poll() is None, "the ingest finished before the server could be stopped"
    finally:
        server.stop()
    out, err = proc.communicate(timeout=120)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert result.returncode == 2, out + err
    line = _one_line(result)
    assert "the ledger database failed" in line or "cannot reach the ledger database" in line, line
    assert 0 < claim_count


@pytest.mark.postgres
def test_postgresql_that_is_down_is_one_line(tmp_path: Path) -> None:
    server = PostgresServer()
    try:
        url = server.create_database()
        folder = _practice(tmp_path / "practice", url)
    finally:
        server.stop()
    result = _cli(folder, "--db", url, "claims")
    assert result.returncode == 2
    assert "cannot reach the ledger database" in _one_line(result)


# ---- bad input at the edge -------------------------------------------------------------------

BROKEN_PROFILES = {
    "not_toml": b"[columns\n",
    "columns_not_a_table": b'columns = "claim_id"\n',
    "delimiter_a_number": b"[profile]\ndelimiter = 5\n",
    "not_a_canonical_column": b'[columns]\n"Client" = "client_name"\n',
    "value_not_text": b'[columns]\n"Client" = 5\n',
    "split_not_a_pair": b'[split_names]\n"Client" = ["subscriber_last"]\n',
    "values_not_a_table": b'[values]\nline_of_business = "x"\n',
    "date_format_without_year": b'[profile]\ndate_format = "MM/DD"\n',
    "not_utf8": b'[profile]\nname = "caf\xe9"\n',
}


@pytest.mark.parametrize("name", sorted(BROKEN_PROFILES))
def test_a_broken_mapping_profile_is_one_line_naming_the_file(tmp_path: Path, name: str) -> None:
    folder = _practice(tmp_path / "practice", None)
    profile = tmp_path / f"{name}.toml"
    profile.write_bytes(BROKEN_PROFILES[name])
    result = _cli(folder, "ingest", "--profile", str(profile), str(DEMO))
    assert result.returncode == 2, result.stdout + result.stderr
    assert _one_line(result).startswith(f"bhclaims: {profile}: ")


def test_releasing_an_unknown_quarantine_id_is_one_line(tmp_path: Path, ledger_url: str) -> None:
    folder = _practice(tmp_path / "practice", ledger_url)
    result = _cli(folder, "--db", ledger_url, "quarantine", "--release", "99999")
    assert result.returncode == 2
    assert "no transmission 99999" in _one_line(result)


# ---- paramiko is quiet without -v ------------------------------------------------------------


@pytest.fixture
def babbling_server() -> Iterator[int]:
    """Answers every connection with an HTTP error instead of an SSH banner, then hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"x" * 300 + b"\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def test_paramiko_prints_no_traceback_without_verbose(tmp_path: Path, sshd: SshdServer,  # noqa: F811
                                                      babbling_server: int) -> None:
    folder = tmp_path / "practice"
    folder.mkdir(mode=0o700)
    practice = Practice(folder, sshd.root / "boxes" / uuid.uuid4().hex, sshd)
    practice.configure(port=babbling_server, retries=0, op_timeout=5.0, connect_timeout=2.0)
    create_ledger(practice.config_path)
    quiet = _process(folder, "--log-format", "console", "fetch")
    assert quiet.returncode in (1, 2), quiet.stderr
    assert "Traceback" not in quiet.stderr and "paramiko" not in quiet.stderr, quiet.stderr
    assert "protocol banner" in quiet.stderr  # said once, in our words
    loud = _process(folder, "-v", "--log-format", "console", "fetch")
    assert "Traceback" in loud.stderr  # paramiko's own account, for whoever asked for it


# ---- database passwords ---------------------------------------------------------------------


def test_a_database_password_on_the_command_line_is_warned_about_and_never_shown(tmp_path: Path) -> None:
    folder = _practice(tmp_path / "practice", f"sqlite+pysqlite:///{tmp_path / 'l.db'}")
    result = _cli(folder, "--db", "postgresql+psycopg://billing:s3cretpw@127.0.0.1:1/none", "claims")
    assert result.returncode == 2
    warnings = [line for line in result.stderr.splitlines() if line.startswith("bhclaims: warning: ")]
    assert len(warnings) == 1 and "--db carries a database password" in warnings[0]
    assert "s3cretpw" not in result.stdout + result.stderr


def test_a_database_password_in_a_config_others_can_read_is_warned_about(tmp_path: Path) -> None:
    folder = _practice(tmp_path / "practice", f"sqlite+pysqlite:///{tmp_path / 'l.db'}")
    config = folder / DEFAULT_CONFIG_NAME
    config.write_text(config.read_text().replace('url = ""', 'url = "postgresql+psycopg://billing:s3cretpw@127.0.0.1:1/x"'))
    env = {k: v for k, v in os.environ.items() if k != "BHCLAIMS_DATABASE_URL"}
    for mode, warned in ((0o644, True), (0o640, True), (0o600, False)):
        config.chmod(mode)
        result = run_bhclaims(["claims"], cwd=folder, env=env)
        assert result.returncode == 2
        warnings = [line for line in result.stderr.splitlines() if line.startswith("bhclaims: warning: ")]
        assert len(warnings) == (1 if warned else 0), result.stderr
        if warned:
            assert f"mode {mode:o}" in warnings[0] and "chmod 600" in warnings[0]
        assert "s3cretpw" not in result.stdout + result.stderr
