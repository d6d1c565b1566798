"""One clock for the whole product, and a pipeline that works whatever day it runs.

The suite pins ``BHCLAIMS_TODAY`` (conftest); these tests move it years ahead and
run the billing day through the CLI, so an aged fixture or a module that reads the
real calendar fails here first.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from domain import clock
from ledger.db import Ledger
from ledger.models import Claim
from tests.cli_in_process import run_bhclaims
from tests.conftest import FIXTURE_TODAY
from usecases.demo import run_demo
from usecases.sample import DEMO_EXPORT, shifted_export

REPO = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("cli.py", "clerk", "domain", "edi", "ledger", "migrations", "outbox", "parsers", "remits",
                    "runtime", "sandbox", "usecases", "validators", "console")
# Days far apart over the next two years (leap day and year ends included).
FAR_DAYS = [FIXTURE_TODAY + timedelta(days=120), date(2028, 2, 29), FIXTURE_TODAY + timedelta(days=730)]


def _cli(args: list[str], cwd: Path, today: date) -> subprocess.CompletedProcess[str]:
    """The command in this process (``tests.cli_in_process``) on ``today``, set the way cron's environment sets it."""
    return run_bhclaims(args, cwd=cwd, env={**os.environ, clock.ENVIRONMENT_VARIABLE: today.isoformat()})


def _rows(text: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.decode())))


@pytest.mark.slow
@pytest.mark.parametrize("today", FAR_DAYS, ids=lambda d: d.isoformat())
def test_billing_day_through_the_cli_on_days_far_apart(tmp_path: Path, today: date) -> None:
    """init → ingest (an export dated relative to the day) → build → send → a change refused after send."""
    assert _cli(["init", str(tmp_path / "p")], cwd=tmp_path, today=today).returncode == 0
    practice = tmp_path / "p"
    export = shifted_export(DEMO_EXPORT, today)
    (practice / "charges.csv").write_bytes(export)
    claim_ids = {row["claim_id"] for row in _rows(export)}
    ingested = _cli(["ingest", "charges.csv", "--json"], cwd=practice, today=today)
    assert ingested.returncode == 0, ingested.stderr
    (result,) = json.loads(ingested.stdout)
    assert result["held"] == [] and len(result["added"]) == len(claim_ids)
    assert _cli(["build"], cwd=practice, today=today).returncode == 0
    assert _cli(["send"], cwd=practice, today=today).returncode == 0
    changed = [{**row, "charge": "999.00"} if row["claim_id"] == "HL-260903" else row for row in _rows(export)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(changed[0]))
    writer.writeheader()
    writer.writerows(changed)
    (practice / "changed.csv").write_text(out.getvalue())
    refused = _cli(["ingest", "changed.csv"], cwd=practice, today=today)
    assert refused.returncode == 1 and "bhclaims correct HL-260903" in refused.stderr
    ledger = Ledger(f"sqlite+pysqlite:///{practice / 'bhclaims.db'}")
    with ledger.session() as session:
        statuses = set(session.scalars(select(Claim.status)))
        created = {c.date() for c in session.scalars(select(Claim.created_at))}
    ledger.dispose()
    assert statuses == {"sent"}
    assert created == {today}, "ledger timestamps follow the same clock"


@pytest.mark.parametrize("today", FAR_DAYS, ids=lambda d: d.isoformat())
def test_demo_loop_on_days_far_apart(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                     today: date) -> None:
    monkeypatch.setenv(clock.ENVIRONMENT_VARIABLE, today.isoformat())
    summary = run_demo(tmp_path / "demo", database_url=db_url, echo=lambda _line: None)
    assert summary["claims"] == len({row["claim_id"] for row in _rows(DEMO_EXPORT.read_bytes())})
    assert Decimal(summary["paid"]) > 0


def test_the_pinned_clock_reaches_the_rules(tmp_path: Path) -> None:
    """The bundled export as written, half a year after its dates: timely filing holds every claim."""
    late = FIXTURE_TODAY + timedelta(days=200)
    assert _cli(["init", str(tmp_path / "p")], cwd=tmp_path, today=late).returncode == 0
    ingested = _cli(["ingest", str(DEMO_EXPORT), "--json"], cwd=tmp_path / "p", today=late)
    (result,) = json.loads(ingested.stdout)
    assert result["added"] == [] and len(result["held"]) > 20


def test_a_date_that_is_not_a_date_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), clock.ENVIRONMENT_VARIABLE: "next tuesday"}
    result = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "init", str(tmp_path / "p")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bhclaims: BHCLAIMS_TODAY='next tuesday' is not a date (YYYY-MM-DD)"]


def test_now_keeps_the_time_of_day_on_the_pinned_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENVIRONMENT_VARIABLE, "2028-02-29")
    first, second = clock.now(), clock.now()
    assert first.date() == date(2028, 2, 29) and first.tzinfo is not None and first <= second
    monkeypatch.delenv(clock.ENVIRONMENT_VARIABLE)
    assert clock.today() == date.today() and clock.pinned_today() is None


def _calendar_reads(path: Path) -> list[str]:
    """Calls that read the real calendar: ``date.today()``, ``datetime.now()/today()/utcnow()``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (owner_name, node.func.attr) in {("date", "today"), ("datetime", "now"), ("datetime", "today"),
                                                 ("datetime", "utcnow")}:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_only_the_clock_reads_the_calendar() -> None:
    files = [REPO / "cli.py"] + [p for pkg in PRODUCT_PACKAGES[1:] for p in (REPO / pkg).rglob("*.py")]
    reads = [where for path in files if path.name != "clock.py" for where in _calendar_reads(path)]
    assert reads == []
    assert _calendar_reads(REPO / "domain" / "clock.py"), "the scan finds calendar reads at all"
