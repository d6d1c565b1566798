"""The README's first day runs as written on any date (issue 18): the `sh` block under
"A first day" is run by `sh -e` with the clock pinned (``BHCLAIMS_TODAY``) to dates before,
on and long after the bundled export's own autumn (from March 2026: the sample's SCO claims
need dates after the plans' start); every command must succeed and the
day must end with the replacement and the void sent.

``make test`` runs the block on one date, 2026-03-02: before the export's own autumn, which no other
test covers (tests/test_clock.py runs ingest, build, send and a refused change through the CLI on three
days after it, up to two years on, 2028-02-29 included).  ``HYPOTHESIS_PROFILE=thorough`` adds
2027-02-14 and 2031-12-31 (each run of the block costs about a minute of CPU)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domain import clock
from tests.examples import thorough

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the environment's `bhclaims` script sits beside its python


def first_day_commands() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^## A first day.*?^```sh\n(.*?)^```", readme, flags=re.M | re.S)
    assert found is not None, "README has no `## A first day` section with an sh block"
    return found.group(1)


def test_first_day_block_starts_with_a_sample_init_and_ends_sending_the_corrections() -> None:
    commands = [line.split("#")[0].strip() for line in first_day_commands().splitlines()]
    assert commands[0].startswith("bhclaims init --sample ")
    assert any(c.startswith("bhclaims correct HL-260903 --from exports/fixed.csv") for c in commands)
    assert commands[-1] == "bhclaims build && bhclaims send"


@pytest.mark.slow
@pytest.mark.parametrize("today", ["2026-03-02", *(["2027-02-14", "2031-12-31"] if thorough() else [])])
def test_readme_first_day_succeeds_whatever_the_date(tmp_path: Path, today: str) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "BHCLAIMS_DATABASE_URL")}
    env.update({"HOME": str(tmp_path), "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
                clock.ENVIRONMENT_VARIABLE: today})
    day = subprocess.run(["sh", "-e", "-x", "-c", first_day_commands()], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert day.returncode == 0, day.stderr[-3000:]

    listed = subprocess.run(["bhclaims", "claims", "--json"], cwd=tmp_path / "billing", env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    latest = {row["claim_id"]: row for row in rows if row["revision"] == max(
        r["revision"] for r in rows if r["claim_id"] == row["claim_id"])}
    assert latest["HL-260903"]["frequency"] == "7" and latest["HL-260903"]["status"] == "sent"
    assert latest["HL-260904"]["frequency"] == "8" and latest["HL-260904"]["status"] == "sent"
    assert not [row["claim_id"] for row in rows if row["status"] == "held"]
