"""The ingest benchmark cleans up after itself: its temporary folder (export and SQLite ledger, tens of
MB at full size) is gone when a run ends, unless it is asked to keep it."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
import ingest as bench  # noqa: E402


@pytest.mark.parametrize("keep", [False, True])
def test_the_benchmark_removes_its_folder_unless_kept(tmp_path, monkeypatch, capsys, keep):
    made: list[Path] = []

    def mkdtemp(prefix: str = "") -> str:
        folder = tmp_path / f"{prefix}run"
        folder.mkdir()
        made.append(folder)
        return str(folder)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    bench.main(["--lines", "60", "--workers", "0"] + (["--keep"] if keep else []))
    out = capsys.readouterr().out
    assert "ingest 60 lines" in out
    assert len(made) == 1
    assert made[0].exists() is keep
    if keep:
        assert (made[0] / "export.csv").exists()
        assert f"kept {made[0]}" in out
