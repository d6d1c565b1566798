"""Posting from real processes: kill -9 mid-post then rerun, and two processes posting at once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from benchmarks.post835 import seed_claims, write_835
from ledger.db import Ledger
from ledger.models import Adjustment, Claim, ClaimEvent, ClaimPayment, Remittance, ServiceLine, ServicePayment

REPO = Path(__file__).resolve().parent.parent
POST = "import sys; from pathlib import Path; from ledger.db import Ledger; from remits.inbound import post_files; " \
       "post_files(Ledger(sys.argv[1]), [Path(p) for p in sys.argv[2:]], actor='proc')"
N = 800


def start_post(url: str, *paths: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", POST, url, *map(str, paths)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def ledger_dump(url: str) -> dict[str, list[tuple]]:
    """Everything posting writes, with database ids replaced by what they point at."""
    ledger = Ledger(url)
    with ledger.session() as session:
        dump = {
            "remittances": sorted(session.execute(select(Remittance.payer_id, Remittance.trace_number,
                                                         Remittance.total_paid, Remittance.content_sha256)).all()),
            "claim_payments": sorted(session.execute(select(
                ClaimPayment.patient_control_number, Claim.claim_id, ClaimPayment.paid, ClaimPayment.charge,
                ClaimPayment.outcome).outerjoin(Claim, Claim.id == ClaimPayment.claim_pk)).all()),
            "service_payments": sorted(session.execute(select(
                ClaimPayment.patient_control_number, ServiceLine.line_id, ServicePayment.paid)
                .join(ClaimPayment, ClaimPayment.id == ServicePayment.claim_payment_id)
                .outerjoin(ServiceLine, ServiceLine.id == ServicePayment.service_line_id)).all()),
            "adjustments": sorted(session.execute(select(
                ClaimPayment.patient_control_number, Adjustment.group_code, Adjustment.reason_code,
                Adjustment.amount).join(ClaimPayment, ClaimPayment.id == Adjustment.claim_payment_id)).all()),
            "claims": sorted(session.execute(select(Claim.claim_id, Claim.status, Claim.payer_claim_number)).all()),
            "events": sorted(session.execute(select(Claim.claim_id, ClaimEvent.event, ClaimEvent.to_status)
                                             .join(Claim, Claim.id == ClaimEvent.claim_pk)).all()),
        }
    ledger.dispose()
    return dump


def reference_dump(tmp_path: Path, path: Path) -> dict[str, list[tuple]]:
    url = f"sqlite+pysqlite:///{tmp_path / 'reference.db'}"
    seed_claims(url, N)
    from remits.inbound import post_files

    ledger = Ledger(url)
    post_files(ledger, [path], actor="proc")
    ledger.dispose()
    return ledger_dump(url)


def test_kill_9_during_posting_then_rerun_equals_one_clean_import(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "big.835"
    write_835(path, N)
    seed_claims(db_url, N)
    rng = random.Random(os.getpid())
    for _ in range(2):
        process = start_post(db_url, path)
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        half = ledger_dump(db_url)
        assert len(half["claim_payments"]) in (0, N)  # never a part of the file
    process = start_post(db_url, path)
    assert process.wait(timeout=120) == 0
    got = ledger_dump(db_url)
    assert len(got["remittances"]) == 1 and len(got["claim_payments"]) == N
    assert got == reference_dump(tmp_path, path)


def test_two_processes_posting_same_and_reenveloped_file_post_once(db_url: str, tmp_path: Path) -> None:
    first, second = tmp_path / "a.835", tmp_path / "b.835"
    write_835(first, 200)
    text = first.read_text().replace("000000001", "000000777")  # a new ISA13/IEA02: another envelope
    second.write_text(text)
    seed_claims(db_url, 200)
    processes = [start_post(db_url, first), start_post(db_url, second), start_post(db_url, first)]
    for process in processes:
        assert process.wait(timeout=120) == 0, process.stderr.read() if process.stderr else ""
    got = ledger_dump(db_url)
    assert len(got["remittances"]) == 1 and len(got["claim_payments"]) == 200
    assert len(got["service_payments"]) == 600
    assert sum(1 for e in got["events"] if e[1] == "remit_posted") == 200
