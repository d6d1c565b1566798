"""A bounded atheris run over every X12 reader: only X12ParseError may escape (reliability 31)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.examples import scaled

REPO = Path(__file__).resolve().parent.parent
RUNS = scaled(2000)
"""Inputs atheris makes after the seeds: a smoke run in every suite (ten times as many under
``HYPOTHESIS_PROFILE=thorough``); a long run is ``fuzz/fuzz_x12_readers.py -runs=100000`` (its docstring)."""

pytest.importorskip("atheris", reason="atheris is in the test extras; install with pip install -e '.[test]'")


@pytest.mark.slow
def test_readers_survive_coverage_guided_fuzzing(tmp_path: Path, corpus_dir: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for path in [*sorted((REPO / "fixtures" / "golden").glob("*.837")), *sorted(corpus_dir.rglob("*.835")),
                 *sorted(corpus_dir.rglob("*999*")), *sorted(corpus_dir.rglob("*277CA*"))]:
        shutil.copy(path, seeds / f"{len(list(seeds.iterdir()))}-{path.name}")
    result = subprocess.run(
        [sys.executable, str(REPO / "fuzz" / "fuzz_x12_readers.py"), f"-runs={RUNS}", "-max_len=4096", "-seed=1",
         f"-artifact_prefix={tmp_path}/", str(seeds)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {RUNS} runs" in result.stderr
    assert not list(tmp_path.glob("crash-*"))
