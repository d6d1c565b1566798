"""Two hosts, one PostgreSQL ledger, one SFTP mailbox (issue 19).

Each "host" is a folder with its own config and its own state folder (where a file
lock would live, so a file lock would not stop the other host).  They share the
PostgreSQL ledger, the clearinghouse mailbox on the real sshd, and the outbox and
inbox folders (the files the ledger's rows name).  The locks are PostgreSQL
advisory locks: one host holding one makes the other busy, and ``send`` / ``fetch``
run from both hosts at once deliver each batch once and fetch each reply once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import Batch, Transmission
from outbox.batches import build_batches
from outbox.lock import MailboxBusy, mailbox_lock
from runtime.config import DEFAULT_CONFIG_NAME, load_config, starter_config
from tests.claim_factory import make_claim
from tests.ledger_helpers import no_findings
from tests.sshd_server import SshdServer
from usecases.app import App
from usecases.setup import create_ledger

pytestmark = [pytest.mark.postgres, pytest.mark.sftp]

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
BATCHES = 6
REPLIES = 8


@dataclass
class Hosts:
    a: Path
    b: Path
    box: Path
    url: str

    @property
    def outbound(self) -> Path:
        return self.box / "outbound"

    @property
    def inbound(self) -> Path:
        return self.box / "inbound"


def _config(host: Path, sshd: SshdServer, box: Path, url: str) -> Path:
    settings = {
        "key_path": str(sshd.client_key),
        "known_hosts": str(sshd.known_hosts),
        "remote_outbound_dir": str(box / "outbound"),
        "remote_inbound_dir": str(box / "inbound"),
        "stable_interval": 0.2,
        "op_timeout": 20.0,
        "connect_timeout": 5.0,
        "backoff": 0.05,
    }
    lines = [f'url = "sftp://{sshd.user}@127.0.0.1:{sshd.port}/"'] + [
        f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}" for key, value in settings.items()
    ]
    text = starter_config(transport_url="PLACEHOLDER").replace('url = "PLACEHOLDER"', "\n".join(lines))
    text = text.replace('url = ""', f'url = "{url}"', 1)  # [database]
    text = text.replace('outbox = "outbox"', 'outbox = "../shared/outbox"')
    text = text.replace('inbox = "inbox"', 'inbox = "../shared/inbox"')
    text = text.replace("claims_per_file = 5000", "claims_per_file = 1")
    host.mkdir(mode=0o700)
    path = host / DEFAULT_CONFIG_NAME
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def hosts(tmp_path: Path, sshd: SshdServer, pg_ledger_url: str) -> Hosts:
    box = sshd.root / "boxes" / uuid.uuid4().hex
    for sub in ("outbound", "inbound", "archive"):
        (box / sub).mkdir(parents=True)
    pg_url = pg_ledger_url  # at the head revision already: each host's create_ledger makes its folders
    found = Hosts(tmp_path / "host-a", tmp_path / "host-b", box, pg_url)
    for host in (found.a, found.b):
        create_ledger(_config(host, sshd, box, pg_url))
    app = App(load_config(found.a / DEFAULT_CONFIG_NAME), actor="test")
    try:
        claims = [make_claim(f"ENC-{n}") for n in range(1, BATCHES + 1)]
        ingest_claims(app.ledger, claims, checker=no_findings, actor="t")
        built = build_batches(app.ledger, app.config, checker=no_findings, actor="t", now=NOW)
        assert len(built.files) == BATCHES
    finally:
        app.close()
    assert (found.a / "state") != (found.b / "state")
    return found


def _start(host: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "import cli; cli.main()", *args],
        cwd=host,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(host: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _start(host, *args)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _rows(url: str, direction: str) -> list[tuple[str, str]]:
    ledger = Ledger(url)
    try:
        with ledger.session() as session:
            return [
                (str(name), str(state))
                for name, state in session.execute(
                    select(Transmission.file_name, Transmission.state)
                    .where(Transmission.direction == direction)
                    .order_by(Transmission.id)
                )
            ]
    finally:
        ledger.dispose()


def _batch_states(url: str) -> dict[str, str]:
    ledger = Ledger(url)
    try:
        with ledger.session() as session:
            return {str(name): str(status) for name, status in session.execute(select(Batch.file_name, Batch.status))}
    finally:
        ledger.dispose()


def _reply(number: int) -> bytes:
    isa = (
        f"ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*HARBORLIGHT    *261123*0930*^*00501*"
        f"{number:09d}*0*T*:~"
    )
    return f"{isa}\nTA1*{number:09d}*261123*0930*A*000~\nIEA*0*{number:09d}~\n".encode()


@pytest.mark.parametrize("lock", ["clearinghouse", "nightly"])
def test_a_lock_held_on_one_host_makes_the_other_host_busy(hosts: Hosts, lock: str) -> None:
    command = {"clearinghouse": ["send"], "nightly": ["nightly", "--settle-seconds", "0"]}[lock]
    with mailbox_lock(hosts.a / "state", lock, database_url=hosts.url):
        # host A's state folder holds no file lock at all, so only the database can stop host B
        assert not (hosts.a / "state" / f"{lock}.lock").exists()
        busy = _run(hosts.b, *command)
        with pytest.raises(MailboxBusy, match="advisory lock"):  # and a second holder on this host too
            with mailbox_lock(hosts.b / "state", lock, database_url=hosts.url):
                pass
    assert busy.returncode == 2, busy.stderr
    assert "mailbox" in busy.stderr and "Traceback" not in busy.stderr
    assert _rows(hosts.url, "out") == [] and sorted(os.listdir(hosts.outbound)) == []
    # released: host B may now send
    after = _run(hosts.b, "send")
    assert after.returncode == 0, after.stderr
    assert len(os.listdir(hosts.outbound)) == BATCHES


def test_a_killed_holder_releases_the_lock(hosts: Hosts) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from outbox.lock import mailbox_lock\n"
            "with mailbox_lock(Path(sys.argv[1]), 'clearinghouse', database_url=sys.argv[2]):\n"
            "    print('held', flush=True); time.sleep(120)",
            str(hosts.a / "state"),
            hosts.url,
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert _run(hosts.b, "send").returncode == 2
    finally:
        holder.kill()
        holder.wait(timeout=10)
    again = _run(hosts.b, "send", "--wait", "10")
    assert again.returncode == 0, again.stderr


def test_both_hosts_sending_at_once_deliver_each_batch_once(hosts: Hosts) -> None:
    procs = [_start(host, "send", "--wait", "60") for host in (hosts.a, hosts.b, hosts.a, hosts.b)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], outputs
    sent = sorted(line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("sent "))
    batches = _batch_states(hosts.url)
    assert sent == sorted(batches) and len(sent) == BATCHES  # each batch sent by exactly one process
    assert set(batches.values()) == {"sent"}
    rows = _rows(hosts.url, "out")
    assert sorted(name for name, _ in rows) == sorted(batches) and {state for _, state in rows} == {"sent"}
    assert sorted(os.listdir(hosts.outbound)) == sorted(batches)  # no .part, nothing twice
    for name in batches:
        assert (hosts.outbound / name).read_bytes() == (hosts.a.parent / "shared" / "outbox" / name).read_bytes()


def test_both_hosts_fetching_at_once_fetch_each_reply_once(hosts: Hosts) -> None:
    names = [f"R{n}.ta1" for n in range(1, REPLIES + 1)]
    for n, name in enumerate(names, start=1):
        (hosts.inbound / name).write_bytes(_reply(n))
    procs = [_start(host, "fetch", "--wait", "60") for host in (hosts.a, hosts.b, hosts.a, hosts.b)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], outputs
    fetched = sorted(
        line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("fetched ")
    )
    assert fetched == names
    assert sorted(name for name, _ in _rows(hosts.url, "in")) == names
    inbox = hosts.a.parent / "shared" / "inbox"
    assert len([p for p in inbox.iterdir() if p.is_file()]) == REPLIES
    assert os.listdir(hosts.inbound) == []
