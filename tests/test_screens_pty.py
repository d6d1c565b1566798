"""Screens that fit (issue 18): the real CLI in a pseudo-terminal 80 columns wide, and in a pipe.

Tables keep claim ids whole, colour statuses unless NO_COLOR, go through the pager when taller
than the screen; progress is drawn on a terminal and nowhere else; every listing takes --json,
--csv and --limit; send and fetch take --json; per-file log lines wait for -v on a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_in_process import run_bhclaims
from tests.terminal import read_until_closed

REPO = Path(__file__).resolve().parent.parent
BHCLAIMS = [sys.executable, "-c", "import cli; cli.main()"]
DEMO_EXPORT = REPO / "usecases" / "sample_charges.csv"
TODAY = "2026-11-25"
ESCAPE = "\x1b["

LISTINGS = [
    ["claims"],
    ["worklist", "rejected"],
    ["worklist", "denied"],
    ["worklist", "timely-filing"],
    ["worklist", "corrections"],
    ["worklist", "unmatched"],
    ["worklist", "patient-responsibility"],
    ["report", "ar-aging"],
    ["report", "payments"],
    ["report", "denials"],
    ["quarantine"],
]


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "PAGER", "LESS")}
    return {**env, "PYTHONPATH": str(REPO), "BHCLAIMS_TODAY": TODAY, "COLUMNS": "80", "LINES": "200",
            "TERM": "xterm-256color", **extra}


def _piped(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The command with stdout and stderr not a terminal (in this process: the terminal is not the subject)."""
    return run_bhclaims(args, cwd=cwd, env=_env(**env))


def _in_pty(args: list[str], cwd: Path, **env: str) -> str:
    """What a person at an 80-column terminal sees: stdout and stderr both on the pseudo-terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(BHCLAIMS + args, cwd=cwd, stdin=follower, stdout=follower, stderr=follower,
                            env=_env(**env))
    os.close(follower)
    seen = read_until_closed(leader, 120)
    proc.wait(timeout=60)
    os.close(leader)
    return seen


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo day, ingested, built and sent; the sandbox's replies waiting to be fetched."""
    root = tmp_path_factory.mktemp("screens")
    _ok(_piped(["init", str(root / "p")], cwd=root))
    folder = root / "p"
    _ok(_piped(["ingest", str(DEMO_EXPORT)], cwd=folder))
    _ok(_piped(["build"], cwd=folder))
    _ok(_piped(["send"], cwd=folder))
    _ok(_piped(["sandbox", "process", "clearinghouse"], cwd=folder))
    return folder


@pytest.fixture(scope="module")
def posted(practice: Path) -> Path:
    _ok(_piped(["fetch"], cwd=practice))
    _ok(_piped(["post"], cwd=practice))
    return practice


def _visible_lines(shown: str) -> list[str]:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown).replace("\r", "").splitlines()


def test_the_claims_table_fits_80_columns_and_keeps_every_claim_id_whole(posted: Path) -> None:
    claim_ids = [row["claim_id"] for row in json.loads(_ok(_piped(["claims", "--json"], cwd=posted)).stdout)]
    assert len(claim_ids) == 24
    lines = _visible_lines(_in_pty(["claims"], cwd=posted))
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    table = "\n".join(lines)
    for claim_id in claim_ids:
        assert re.search(rf"│ {re.escape(claim_id)} +│", table), (claim_id, table)
    assert "revision" not in table and "frequency" not in table
    wide = "\n".join(_visible_lines(_in_pty(["claims", "--wide"], cwd=posted)))
    assert wide.splitlines()[1].count("┳") == 9 and table.splitlines()[1].count("┳") == 7  # 10 columns, 8
    assert all(claim_id in wide for claim_id in claim_ids)


def test_no_color_gives_no_escape_codes_and_colour_is_there_otherwise(posted: Path) -> None:
    plain = _in_pty(["claims"], cwd=posted, NO_COLOR="1")
    assert ESCAPE not in plain and "HL-260901" in plain
    coloured = _in_pty(["claims"], cwd=posted)
    assert re.search(r"\x1b\[[0-9;]*32m\s*paid", coloured), coloured  # a paid claim in green
    assert re.search(r"\x1b\[[0-9;]*31m\s*denied", coloured), coloured  # a denied one in red


def test_a_pipe_gets_tab_separated_lines_with_every_column_and_no_colour(posted: Path) -> None:
    out = _ok(_piped(["claims"], cwd=posted)).stdout
    assert ESCAPE not in out
    assert out.splitlines()[0].split("\t")[:4] == ["claim_id", "revision", "status", "frequency"]
    assert len(out.splitlines()) == 25


def test_a_table_taller_than_the_terminal_goes_through_the_pager(posted: Path, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    script = tmp_path / "pager"
    script.write_text(f"#!/bin/sh\ncat > {paged}\n")
    script.chmod(0o700)
    pager = str(script)
    short = _in_pty(["claims", "--limit", "2"], cwd=posted, LINES="24", PAGER=pager)
    assert not paged.exists() and "HL-260901" in short
    _in_pty(["claims"], cwd=posted, LINES="24", PAGER=pager)
    assert paged.exists()
    assert all(f"HL-2609{n:02d}" in paged.read_text() for n in range(1, 25))


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda args: " ".join(args))
def test_every_listing_takes_json_csv_and_limit(posted: Path, listing: list[str]) -> None:
    one = json.loads(_ok(_piped([*listing, "--json", "--limit", "1"], cwd=posted)).stdout)
    assert isinstance(one, list) and len(one) <= 1
    table = list(csv.reader(io.StringIO(_ok(_piped([*listing, "--csv", "--limit", "1"], cwd=posted)).stdout)))
    assert len(table) == 1 + len(one)
    if one:
        assert set(table[0]) <= set(one[0])
    assert _ok(_piped([*listing, "--limit", "0"], cwd=posted)).stdout.count("\n") == 1  # the header row


def test_limit_keeps_the_first_rows(posted: Path) -> None:
    every = json.loads(_ok(_piped(["claims", "--json"], cwd=posted)).stdout)
    assert len(every) == 24
    assert json.loads(_ok(_piped(["claims", "--json", "--limit", "3"], cwd=posted)).stdout) == every[:3]
    for args in (["worklist", "denied"], ["report", "payments"], ["report", "ar-aging"]):
        assert json.loads(_ok(_piped([*args, "--json", "--limit", "1"], cwd=posted)).stdout), args  # has rows
    piped = _ok(_piped(["claims", "--limit", "5"], cwd=posted)).stdout.splitlines()
    assert len(piped) == 6 and piped[1].startswith(every[0]["claim_id"] + "\t")


def test_check_prints_claims_with_findings_and_a_summary_and_draws_progress_only_on_a_terminal(
        tmp_path: Path) -> None:
    practice = tmp_path / "p"
    _ok(_piped(["init", str(practice)], cwd=tmp_path))
    _ok(_piped(["ingest", str(DEMO_EXPORT)], cwd=practice))
    piped = _piped(["check"], cwd=practice)
    assert piped.returncode in (0, 1), piped.stderr
    assert "checking claims" not in piped.stdout + piped.stderr and ESCAPE not in piped.stdout + piped.stderr
    assert "no finding" not in piped.stdout
    assert piped.stdout.splitlines()[-1] == "24 claims checked, 1 with findings: 0 errors, 1 warning", piped.stdout
    claims_said = [line for line in piped.stdout.splitlines() if line.startswith("claim ")]
    assert claims_said and all("finding(s)" in line and "no finding" not in line for line in claims_said)
    shown = _in_pty(["check"], cwd=practice)
    assert "checking claims" in shown and "/24" in shown, shown


@pytest.mark.parametrize("command", [["ingest", str(DEMO_EXPORT)], ["build"], ["post"]])
def test_progress_is_drawn_on_a_terminal_and_absent_from_a_pipe(practice: Path, command: list[str]) -> None:
    word = {"ingest": "ingesting", "build": "building", "post": "posting"}[command[0]]
    piped = _piped(command, cwd=practice)
    assert word not in piped.stdout + piped.stderr
    assert word in _in_pty(command, cwd=practice)


def _built(folder: Path) -> Path:
    _ok(_piped(["init", str(folder)], cwd=folder.parent))
    _ok(_piped(["ingest", str(DEMO_EXPORT)], cwd=folder))
    _ok(_piped(["build"], cwd=folder))
    return folder


def test_send_and_fetch_say_json_and_the_json_log_keeps_a_line_per_file(tmp_path: Path) -> None:
    folder = _built(tmp_path / "p")
    sending = _piped(["--log-format", "json", "send", "--json"], cwd=folder)
    sent = json.loads(_ok(sending).stdout)
    assert sent["in_doubt"] == [] and sent["failed"] == [] and len(sent["sent"]) == 1
    assert sending.stderr.count('"batch.sent"') == 1
    assert json.loads(_ok(_piped(["send", "--json"], cwd=folder)).stdout)["sent"] == []
    _ok(_piped(["sandbox", "process", "clearinghouse"], cwd=folder))
    fetched = _piped(["--log-format", "json", "fetch", "--json"], cwd=folder)
    body = json.loads(_ok(fetched).stdout)
    assert sorted(Path(name).suffix for name in body["fetched"]) == [".277", ".835", ".999"]
    assert body["failed"] == [] and body["needs_human"] == [] and body["waiting"] == []
    assert fetched.stderr.count('"file.fetched"') == 3
    on_terminal = _in_pty(["post"], cwd=folder)
    assert "file.posted" not in on_terminal and "posted 3 file(s)" in on_terminal


def test_per_file_log_lines_show_on_a_terminal_with_verbose(tmp_path: Path) -> None:
    folder = _built(tmp_path / "p")
    quiet = _in_pty(["send"], cwd=folder)
    assert "sent HARBORLIGHT" in quiet and "batch.sent" not in quiet
    _ok(_piped(["sandbox", "process", "clearinghouse"], cwd=folder))
    verbose = _in_pty(["-v", "fetch"], cwd=folder)
    assert verbose.count("file.fetched") == 3, verbose
