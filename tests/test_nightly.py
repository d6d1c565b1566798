"""`bhclaims nightly`: the unattended loop, driven through a real subprocess (and once under a pty)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli import main_group
from domain import clock
from ledger.db import Ledger
from ledger.models import Claim, ClaimEvent
from outbox.lock import mailbox_lock
from tests.cli_in_process import run_bhclaims
from tests.terminal import read_until_closed
from usecases.sample import DEMO_EXPORT, shifted_export

REPO = Path(__file__).resolve().parent.parent
BHCLAIMS = [sys.executable, "-c", "import cli; cli.main()"]
FIXTURES = REPO / "fixtures"


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command in this process (``tests.cli_in_process``); the terminal tests start a process."""
    return run_bhclaims(args, cwd=cwd)


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    folder = tmp_path / "practice"
    result = _cli(["init", str(folder)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return folder


def _drop(practice: Path, name: str, data: bytes) -> Path:
    drop = practice / "drop"
    drop.mkdir(mode=0o700, exist_ok=True)
    path = drop / name
    path.write_bytes(data)
    return path


def _report(practice: Path, result: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    paths = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith("report: ")]
    json_path = Path(next(p for p in paths if p.endswith(".json")))
    assert json_path.parent == practice / "reports"
    assert json_path.stat().st_mode & 0o777 == 0o600 and json_path.parent.stat().st_mode & 0o777 == 0o700
    return json.loads(json_path.read_text())


def _events(practice: Path) -> int:
    ledger = Ledger(f"sqlite+pysqlite:///{practice / 'bhclaims.db'}")
    with ledger.session() as session:
        count = session.scalar(select(func.count()).select_from(ClaimEvent)) or 0
    ledger.dispose()
    return count


@pytest.mark.slow
def test_nightly_runs_the_loop_and_a_second_run_finishes_it(practice: Path) -> None:
    export = _drop(practice, "charges-today.csv", shifted_export(DEMO_EXPORT, clock.today()))
    first = _cli(["--log-format", "json", "nightly", "--settle-seconds", "0"], cwd=practice)
    assert first.returncode in (0, 1), first.stderr
    report = _report(practice, first)
    assert report["exit_code"] == first.returncode and (first.returncode == 1) == bool(report["attention"])
    steps = {s["step"]: s for s in report["steps"]}
    assert steps["ingest"]["detail"]["files"][0]["result"] == "ingested" and steps["send"]["detail"]["sent"]
    assert report["actor"] == "cron"
    # the export was filed away by its sha256, private
    assert not export.exists()
    [done] = list((practice / "drop" / "done").iterdir())
    assert done.name.endswith("-charges-today.csv") and done.stat().st_mode & 0o777 == 0o600
    # JSON log lines, every one bound to this run's id
    logs = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
    assert logs and {entry.get("run_id") for entry in logs} == {report["run_id"]}

    # the sandbox clearinghouse answers overnight; the next run fetches and posts the answers
    assert _cli(["sandbox", "process", str(practice / "clearinghouse")], cwd=practice).returncode == 0
    answers = sorted(p.name for p in (practice / "clearinghouse" / "outbound").iterdir() if p.is_file())
    assert any(name.endswith(".999") for name in answers) and any(name.endswith(".835") for name in answers)
    second = _cli(["nightly"], cwd=practice)
    report = _report(practice, second)
    steps = {s["step"]: s for s in report["steps"]}
    assert sorted(steps["post"]["detail"]["files"]) == answers, steps["post"]
    assert report["exit_code"] == second.returncode and (second.returncode == 1) == bool(report["attention"])
    ledger = Ledger(f"sqlite+pysqlite:///{practice / 'bhclaims.db'}")
    with ledger.session() as session:
        denied = list(session.scalars(select(Claim.claim_id).where(Claim.status == "denied")))
    ledger.dispose()
    assert all(any(claim_id in item for item in report["attention"]) for claim_id in denied)

    # the same export dropped again, and nothing else new: nothing changes, nothing needs a human
    before = _events(practice)
    _drop(practice, "charges-again.csv", shifted_export(DEMO_EXPORT, clock.today()))
    third = _cli(["nightly", "--json", "--settle-seconds", "0"], cwd=practice)
    assert third.returncode == 0, third.stdout + third.stderr
    report = json.loads(third.stdout)
    assert report["steps"][0]["detail"]["files"][0]["result"] == "already ingested"
    assert _events(practice) == before
    assert len(list((practice / "drop" / "done").iterdir())) == 2


def test_dry_run_changes_nothing(practice: Path) -> None:
    export = _drop(practice, "charges.csv", shifted_export(DEMO_EXPORT, clock.today()))
    result = CliRunner().invoke(
        main_group,
        [
            "--config",
            str(practice / "bhclaims.toml"),
            "nightly",
            "--dry-run",
            "--json",
            "--settle-seconds",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] and report["steps"][0]["detail"]["new"] == ["charges.csv"]
    assert (
        export.exists() and not (practice / "reports").exists() and not (practice / "drop" / "done").exists()
    )
    assert _events(practice) == 0


def test_a_file_still_being_written_waits_for_the_next_run(practice: Path) -> None:
    export = _drop(practice, "charges.csv", shifted_export(DEMO_EXPORT, clock.today()))
    result = CliRunner().invoke(
        main_group, ["--config", str(practice / "bhclaims.toml"), "nightly", "--json"]
    )
    report = json.loads(result.stdout)
    assert report["steps"][0]["detail"]["still_being_written"] == ["charges.csv"] and export.exists()
    assert result.exit_code == 0


def test_refused_rows_make_exit_1_and_are_in_the_report(practice: Path) -> None:
    _drop(practice, "bad.csv", (FIXTURES / "exports" / "bad" / "bad_dates.csv").read_bytes())
    result = CliRunner().invoke(
        main_group,
        ["--config", str(practice / "bhclaims.toml"), "nightly", "--json", "--settle-seconds", "0"],
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["exit_code"] == 1 and any(item.startswith("bad.csv") for item in report["attention"])


def test_a_second_run_while_one_holds_the_lock_exits_2(practice: Path) -> None:
    with mailbox_lock(practice / "state", "nightly"):
        result = _cli(["nightly"], cwd=practice)
    assert result.returncode == 2 and "nightly" in result.stderr, result.stderr


def _run_in_pty(args: list[str], cwd: Path) -> str:
    """stdout of the CLI when it is a terminal (stderr stays a pipe)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen(
        BHCLAIMS + args, cwd=cwd, stdin=follower, stdout=follower, stderr=subprocess.PIPE, env=env
    )
    os.close(follower)
    seen = read_until_closed(leader, 60)
    proc.wait(timeout=60)
    os.close(leader)
    return seen


def test_terminal_gets_a_rich_table_and_a_pipe_gets_tab_separated_lines(practice: Path) -> None:
    piped = _cli(["nightly", "--dry-run"], cwd=practice)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines()[0] == "step\tstatus\tsummary"
    assert "ingest\tok\t" in piped.stdout

    on_tty = _run_in_pty(["nightly", "--dry-run"], cwd=practice)
    assert "step\tstatus" not in on_tty and "\t" not in on_tty
    assert "nightly run" in on_tty and any(c in on_tty for c in "┃│━─"), on_tty


def test_a_reply_that_cannot_be_fetched_makes_the_run_need_a_human(practice: Path, tmp_path: Path) -> None:
    """Item 46 in the unattended run: a symlink in the reply folder is raised (exit 1), never followed."""
    outbound = practice / "clearinghouse" / "outbound"
    outbound.mkdir(mode=0o700, parents=True, exist_ok=True)
    outbound.parent.chmod(0o700)
    secret = tmp_path / "elsewhere.835"
    secret.write_text("ISA*not ours~IEA*1*000000001~")
    os.symlink(secret, outbound / "ERA \x1b[2J(1).835")
    result = _cli(["nightly", "--settle-seconds", "0"], cwd=practice)
    assert result.returncode == 1, result.stdout + result.stderr
    report = _report(practice, result)
    fetch = next(step for step in report["steps"] if step["step"] == "fetch")
    assert fetch["status"] == "attention"
    assert any("ERA \\x1b[2J(1).835" in item and "symbolic link" in item for item in report["attention"])
    text = Path(report["report_files"][1]).read_text()
    assert "ERA \\x1b[2J(1).835" in text and "\x1b" not in text and "\x1b" not in result.stdout
    assert os.path.islink(outbound / "ERA \x1b[2J(1).835") and secret.exists()
