"""Commands that only read never create a file or a folder (issue 18): without a ledger they
say `no ledger at PATH; run \\`bhclaims init\\`` in one line, exit 2, and leave the folder as
they found it — also with a `--db` naming a file in a folder that does not exist."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from runtime.config import DATABASE_URL_ENV, DEFAULT_CONFIG_NAME, starter_config
from tests.cli_in_process import run_bhclaims

REPO = Path(__file__).resolve().parent.parent
READ_ONLY = [
    ["claims"], ["claims", "--json"], ["claim", "HL-260903"], ["report", "ar-aging"], ["report", "payments"],
    ["report", "denials"], ["worklist", "rejected"], ["worklist", "denied"], ["worklist", "timely-filing"],
    ["worklist", "corrections"], ["worklist", "unmatched"], ["worklist", "patient-responsibility"],
    ["unmatched"], ["quarantine"], ["check"],
]


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in this process (``tests.cli_in_process``), with no database named by the environment."""
    env = dict(os.environ)
    env.pop(DATABASE_URL_ENV, None)
    return run_bhclaims(args, cwd=folder, env=env)


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("bhclaims:")]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_without_a_ledger_says_so_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / DEFAULT_CONFIG_NAME).write_text(starter_config(transport_url="file://./clearinghouse"))
    before = _tree(tmp_path)
    result = _cli(tmp_path, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert _stderr_lines(result) == [f"bhclaims: no ledger at {tmp_path / 'bhclaims.db'}; run `bhclaims init`"]
    assert _tree(tmp_path) == before


def test_a_db_option_naming_a_missing_folder_creates_neither_folder_nor_file(tmp_path: Path) -> None:
    (tmp_path / DEFAULT_CONFIG_NAME).write_text(starter_config(transport_url="file://./clearinghouse"))
    target = tmp_path / "typo" / "ledger.db"
    result = _cli(tmp_path, "--db", f"sqlite:///{target}", "claims")
    assert result.returncode == 2
    assert _stderr_lines(result) == [f"bhclaims: no ledger at {target}; run `bhclaims init`"]
    assert _tree(tmp_path) == [DEFAULT_CONFIG_NAME]


def test_without_a_config_a_read_creates_nothing(tmp_path: Path) -> None:
    result = _cli(tmp_path, "claims")
    assert result.returncode == 2
    assert _stderr_lines(result) == [f"bhclaims: {tmp_path / DEFAULT_CONFIG_NAME}: no such config file "
                                     "(create one with `bhclaims init DIR`)"]
    assert _tree(tmp_path) == []


def test_after_init_the_same_read_works(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init", "practice").returncode == 0
    result = _cli(tmp_path / "practice", "claims", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
