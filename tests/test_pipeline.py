"""The walking skeleton end to end: export → 837P → sandbox → 999 + 835 → ledger."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edi.x835 import read_835
from ledger.db import Ledger
from ledger.models import Batch, Claim, ClaimEvent, Remittance
from tests.cli_in_process import run_bhclaims
from usecases.demo import run_demo
from usecases.sample import DEMO_EXPORT

REPO = Path(__file__).resolve().parent.parent
BHCLAIMS = [sys.executable, "-c", "import cli; cli.main()"]


def _export_rows() -> list[dict[str, str]]:
    with DEMO_EXPORT.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_demo_loop_agrees_with_export_and_835(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "demo"
    summary = run_demo(folder, database_url=db_url, echo=lambda _line: None)
    rows = _export_rows()
    billed = sum((Decimal(r["charge"]) for r in rows), Decimal("0"))
    assert summary["claims"] == len({r["claim_id"] for r in rows})
    assert Decimal(summary["billed"]) == billed
    remits = [r for path in (folder / "inbox").glob("*.835") for r in read_835(path.read_text())]
    assert remits, "the sandbox answered with an 835 and it was fetched"
    paid_in_835 = sum((r.total_paid for r in remits), Decimal("0"))
    assert Decimal(summary["paid"]) == paid_in_835 > 0
    ledger = Ledger(db_url)
    with ledger.session() as session:
        assert session.scalar(select(func.sum(Remittance.total_paid))) == paid_in_835
        sent = list(session.scalars(select(Claim).where(Claim.status.in_(("paid", "partially_paid", "denied")))))
        assert sent and all(c.payer_claim_number for c in sent)
        # every claim went ready -> batched -> sent -> accepted -> adjudicated, each step in the audit log
        for claim in sent:
            path = [e.to_status for e in session.scalars(
                select(ClaimEvent).where(ClaimEvent.claim_pk == claim.id).order_by(ClaimEvent.id))]
            assert path[:4] == ["ready", "batched", "sent", "accepted"], path
            assert path[4] == claim.status
        assert session.scalar(select(Batch.status)) == "accepted"
    ledger.dispose()


def _cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command run in this process (``tests.cli_in_process``): what it does is the subject."""
    return run_bhclaims(args, cwd=cwd, env={**os.environ, **(env or {})})


def _process(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command as cron runs it, a process of its own: all it writes to stdout and stderr."""
    return subprocess.run(BHCLAIMS + args, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    folder = tmp_path / "practice"
    result = _cli(["init", str(folder)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return folder


def test_reingest_same_file_changes_nothing(practice: Path) -> None:
    first = _cli(["ingest", str(DEMO_EXPORT), "--json"], cwd=practice)
    again = _cli(["ingest", str(DEMO_EXPORT), "--json"], cwd=practice)
    import json

    one, two = json.loads(first.stdout)[0], json.loads(again.stdout)[0]
    claims_in_export = len({r["claim_id"] for r in _export_rows()})
    assert len(one["added"]) + len(one["held"]) == claims_in_export
    assert two["added"] == [] and two["updated"] == [] and len(two["unchanged"]) == claims_in_export
    ledger = Ledger(f"sqlite+pysqlite:///{practice / 'bhclaims.db'}")
    with ledger.session() as session:
        assert session.scalar(select(func.count()).select_from(Claim)) == claims_in_export
    ledger.dispose()


def test_changed_claim_updates_before_send_and_is_refused_after(practice: Path, tmp_path: Path) -> None:
    rows = _export_rows()
    fields = list(rows[0])
    target = "HL-260903"

    def write(path: Path, charge: str) -> Path:
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for row in rows:
                if row["claim_id"] == target:
                    writer.writerow({**row, "charge": charge})
        return path

    assert _cli(["ingest", str(write(tmp_path / "a.csv", "140.00"))], cwd=practice).returncode == 0
    changed = _cli(["ingest", str(write(tmp_path / "b.csv", "150.00"))], cwd=practice)
    assert changed.returncode == 0 and "1 updated" in changed.stdout
    assert _cli(["build"], cwd=practice).returncode == 0
    assert _cli(["send"], cwd=practice).returncode == 0
    refused = _cli(["ingest", str(write(tmp_path / "c.csv", "160.00"))], cwd=practice)
    assert refused.returncode == 1
    assert f"bhclaims correct {target}" in refused.stderr
    ledger = Ledger(f"sqlite+pysqlite:///{practice / 'bhclaims.db'}")
    with ledger.session() as session:
        claim = session.scalar(select(Claim).where(Claim.claim_id == target))
        assert claim is not None and claim.billed == Decimal("150.00") and claim.status == "sent"
        events = [e.event for e in session.scalars(select(ClaimEvent).where(ClaimEvent.claim_pk == claim.id))]
        assert events == ["ingested", "updated", "batched", "sent"]
    ledger.dispose()


def test_no_phi_in_logs_or_output(tmp_path: Path) -> None:
    """Names, member ids, dates of birth and street addresses of the export never reach logs."""
    folder = tmp_path / "demo"
    result = _process(["--log-format", "json", "-v", "demo", "--keep", str(folder)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    captured = result.stdout + result.stderr
    assert '"event": "batch.sent"' in captured  # the logs were captured at all
    markers = set()
    for row in _export_rows():
        for column in ("subscriber_id", "subscriber_last", "subscriber_first", "subscriber_dob",
                       "subscriber_address1", "patient_last", "patient_first", "patient_dob"):
            if row[column]:
                markers.add(row[column])
    assert len(markers) > 20
    leaked = sorted(m for m in markers if m in captured)
    assert leaked == []


def test_files_private_even_with_umask_000(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    code = f"import os, cli; os.umask(0); cli.main(['demo', '--keep', {str(folder)!r}])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    checked = 0
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path} is {mode:o}"
        else:
            assert mode == 0o600, f"{path} is {mode:o}"
        checked += 1
    assert checked > 10


def test_missing_config_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _cli(["--config", str(tmp_path / "nope.toml"), "claims"], cwd=tmp_path)
    assert result.returncode == 2
    assert "no such config file" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_database_is_one_line_exit_2(practice: Path) -> None:
    result = _cli(["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "claims"], cwd=practice)
    assert result.returncode == 2
    assert "cannot reach the ledger database" in result.stderr and "Traceback" not in result.stderr


def test_bad_rows_refused_with_location_exit_1(practice: Path, tmp_path: Path) -> None:
    rows = _export_rows()
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "service_date": "2026-02-30"} if row["claim_id"] == "HL-260905" else row)
    result = _cli(["ingest", str(bad)], cwd=practice)
    assert result.returncode == 1
    assert f"{bad}:" in result.stderr and "service_date" in result.stderr
    assert "HL-260905" in result.stderr
    assert f"{len({r['claim_id'] for r in rows}) - 1} new" in result.stdout


def test_today_is_not_hidden_in_demo_dates() -> None:
    from usecases.sample import shifted_export

    text = shifted_export(DEMO_EXPORT, date(2027, 3, 10)).decode()
    newest = max(date.fromisoformat(r["service_date"]) for r in csv.DictReader(text.splitlines()))
    assert date(2027, 2, 28) <= newest <= date(2027, 3, 7)


def test_resolve_upload_of_unknown_file_is_refused(practice: Path) -> None:
    result = _cli(["resolve-upload", "NOPE-000000001.837", "--delivered"], cwd=practice)
    assert result.returncode == 1 and "no batch waiting for a decision" in result.stderr
