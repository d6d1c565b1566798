"""Local-folder clearinghouse: a crash at any step of `send` never bills twice (reliability item 48).

The partner (here the sandbox clearinghouse) takes each uploaded file out of
``inbound`` as soon as it answers it.  ``bhclaims send`` is killed with SIGKILL at
each step of an upload; the partner may or may not run before the rerun; the rerun
must leave every batch delivered exactly once — answered once by the partner — and
the ledger saying "sent".

Fault points are reached through ``FAULT_RUNNER``, which wraps one function in the
child process only and waits there to be killed.  Production code has no test hooks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain import clock
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from outbox.batches import build_batches
from runtime.config import DEFAULT_CONFIG_NAME, load_config, starter_config
from sandbox.mailbox import process_mailbox
from tests.claim_factory import make_claim
from tests.cli_in_process import run_bhclaims
from tests.ledger_helpers import no_findings
from tests.test_send_fetch_sftp import send_states
from usecases.app import App
from usecases.setup import create_ledger

REPO = Path(__file__).resolve().parent.parent

FAULT_RUNNER = r"""
import os, pathlib, time
import outbox.local as local
import outbox.sender as sender

point = os.environ["BHCLAIMS_TEST_FAULT"]
signals = pathlib.Path(os.environ["BHCLAIMS_TEST_SIGNALS"])

def reached():
    (signals / "reached").write_text(str(os.getpid()))
    time.sleep(120)  # killed here

def before(owner, name):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        reached()
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)

def after(owner, name):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        reached()
        return result
    setattr(owner, name, wrapper)

if point == "before_upload":
    before(local.LocalDirTransport, "upload")
elif point == "mid_copy":
    original_copy = local.shutil.copyfileobj
    def copy(src, dst, *args):
        data = src.read()
        dst.write(data[: len(data) // 2])
        dst.flush()
        os.fsync(dst.fileno())
        reached()
    local.shutil.copyfileobj = copy
elif point == "before_recording_the_rename":
    before(sender, "_record_rename")
elif point == "before_rename":
    before(local, "rename_no_replace")
elif point == "after_rename":
    after(local, "rename_no_replace")
elif point == "after_sent":
    after(sender, "_mark")
else:
    raise SystemExit(f"unknown fault point {point}")

import cli
cli.main()
"""

POINTS = ["before_upload", "mid_copy", "before_recording_the_rename", "before_rename", "after_rename", "after_sent"]


def _cli(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The rerun, in this process (``tests.cli_in_process``); the killed send is a process of its own."""
    return run_bhclaims(args, cwd=folder, env={**os.environ, **(env or {})})


@pytest.fixture
def practice(tmp_path: Path, ledger_url: str) -> Path:
    """Three claims built into one 837P file each, not yet sent, on a local-folder clearinghouse."""
    folder = tmp_path / "practice"
    folder.mkdir(mode=0o700)
    config = folder / DEFAULT_CONFIG_NAME
    text = starter_config(transport_url="file://./clearinghouse").replace("claims_per_file = 5000", "claims_per_file = 1")
    config.write_text(text)
    create_ledger(config, ledger_url)
    app = App(load_config(config, ledger_url), actor="test")
    try:
        claims = [make_claim(f"ENC-{n}") for n in (1, 2, 3)]
        ingest_claims(app.ledger, claims, checker=no_findings, actor="test")
        built = build_batches(app.ledger, app.config, checker=no_findings, actor="test", now=clock.now())
        assert len(built.files) == 3
    finally:
        app.close()
    return folder


def _partner_answers(folder: Path) -> list[str]:
    """The clearinghouse's turn: it answers (and takes away) every file that arrived."""
    return [name for name, _outputs in process_mailbox(folder / "clearinghouse")]


@pytest.mark.parametrize(
    ("point", "partner_runs_between"),
    [(point, True) for point in POINTS] + [("before_rename", False), ("after_rename", False)],
    ids=[f"{point}-partner-took-it" for point in POINTS] + ["before_rename-partner-idle", "after_rename-partner-idle"],
)
def test_kill_9_at_each_step_of_a_local_send_then_rerun_bills_each_batch_once(
    practice: Path, ledger_url: str, tmp_path: Path, point: str, partner_runs_between: bool
) -> None:
    batches, _, _ = send_states(Ledger(ledger_url))
    assert len(batches) >= 2 and set(batches.values()) == {"built"}
    signals = tmp_path / "signals"
    signals.mkdir()
    env = {"PYTHONPATH": str(REPO), "BHCLAIMS_TEST_FAULT": point, "BHCLAIMS_TEST_SIGNALS": str(signals)}
    child = subprocess.Popen(
        [sys.executable, "-c", FAULT_RUNNER, "--db", ledger_url, "send"],
        cwd=practice,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    end = time.monotonic() + 60
    while not (signals / "reached").exists():
        if child.poll() is not None:
            pytest.fail(f"send ended before {point}: {child.communicate()}")
        assert time.monotonic() < end, "fault point not reached"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=10)

    answered = _partner_answers(practice) if partner_runs_between else []
    again = _cli(practice, "--db", ledger_url, "send")
    assert again.returncode == 0, again.stdout + again.stderr
    answered += _partner_answers(practice)

    assert sorted(answered) == sorted(batches)  # every batch reached the payer, none twice
    done = practice / "clearinghouse" / "done"
    assert sorted(p.name for p in done.iterdir()) == sorted(batches)
    inbound = practice / "clearinghouse" / "inbound"
    assert list(inbound.iterdir()) == []  # no temp name left behind
    for name in batches:
        assert (done / name).read_bytes() == (practice / "outbox" / name).read_bytes()
    final_batches, transmissions, _ = send_states(Ledger(ledger_url))
    assert set(final_batches.values()) == {"sent"}
    assert all(states == ["sent"] for states in transmissions.values()), transmissions
