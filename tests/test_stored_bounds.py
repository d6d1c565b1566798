"""Reply files are bounded when read to what both databases store; one bad file never blocks the rest.

The readers' bounds (``domain.remittance.STORED_LENGTHS``, ``domain.acks.STORED_LENGTHS``, the money
limit) are compared here with the columns of ``ledger/models.py``, so the two cannot drift apart.
Posting on SQLite and PostgreSQL: an 835 with a value no ledger column holds is quarantined with the
reason, the other files of the run are posted, and ``bhclaims post`` exits 1 (reliability item 44).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import BigInteger, func, select

from domain import acks as ack_fields
from domain import remittance as remit_fields
from edi.x12 import X12ParseError
from edi.x835 import read_835, read_remittance_text
from ledger.models import (
    Acknowledgement,
    Adjustment,
    Batch,
    Claim,
    ClaimPayment,
    Remittance,
    ServicePayment,
    Transmission,
)
from remits.inbound import post_files, post_pending
from runtime.config import starter_config
from tests.claim_factory import make_claim
from tests.cli_in_process import run_bhclaims
from tests.remit_factory import ledger_with, pay, remit, text_835, write_835

D = Decimal

REMITTANCE_COLUMNS = {
    "patient_control_number": ClaimPayment.__table__.c.patient_control_number,
    "status": ClaimPayment.__table__.c.status_code,
    "payer_claim_number": ClaimPayment.__table__.c.payer_claim_number,
    "trace_number": Remittance.__table__.c.trace_number,
    "payer_key": Remittance.__table__.c.payer_id,
    "payer_name": Remittance.__table__.c.payer_name,
    "payment_method": Remittance.__table__.c.payment_method,
    "line_id": ServicePayment.__table__.c.line_ref,
    "adjustment_group": Adjustment.__table__.c.group_code,
    "adjustment_reason": Adjustment.__table__.c.reason_code,
    "adjustment_quantity": Adjustment.__table__.c.quantity,
}
ACK_COLUMNS = {
    "set_control_number": Acknowledgement.__table__.c.set_control_number,
    "code": Acknowledgement.__table__.c.code,
    "payer_claim_number": Claim.__table__.c.payer_claim_number,
}


def test_reader_bounds_are_the_ledgers_columns() -> None:
    assert set(remit_fields.STORED_LENGTHS) == set(REMITTANCE_COLUMNS)
    for field, column in REMITTANCE_COLUMNS.items():
        assert remit_fields.STORED_LENGTHS[field] == column.type.length, field
    assert set(ack_fields.STORED_LENGTHS) == set(ACK_COLUMNS)
    for field, column in ACK_COLUMNS.items():
        assert ack_fields.STORED_LENGTHS[field] == column.type.length, field
    for column in (Batch.__table__.c.interchange_control_number, Batch.__table__.c.group_control_number):
        assert isinstance(column.type, BigInteger) and 10 ** ack_fields.CONTROL_NUMBER_DIGITS < 2 ** 63


def _one(text: str) -> list[object]:
    """Both ways of reading an 835 (whole remittances, and the parts the poster takes) refuse, with the same message."""
    errors = []
    for read in (lambda: list(read_835(text)), lambda: list(read_remittance_text(text))):
        try:
            read()
        except X12ParseError as exc:
            errors.append(str(exc))
        else:
            errors.append(None)
    assert errors[0] == errors[1]
    return errors


BASE = remit([pay(make_claim("C1"))], "T1")


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: replace(r, claims=(replace(r.claims[0], patient_control_number="C" * 39),)),
     "CLP01 is longer than the 38 characters the ledger keeps"),
    (lambda r: replace(r, claims=(replace(r.claims[0], payer_claim_number="P" * 51),)),
     "CLP07 is longer than the 50 characters the ledger keeps"),
    (lambda r: replace(r, trace_number="T" * 51), "TRN02 is longer than the 50 characters the ledger keeps"),
    (lambda r: replace(r, trace_payer_id="1" * 16), "TRN03 is longer than the 15 characters the ledger keeps"),
    (lambda r: replace(r, claims=(replace(r.claims[0], lines=(replace(r.claims[0].lines[0], line_id="L" * 51),)),)),
     "REF02 is longer than the 50 characters the ledger keeps"),
])
def test_text_longer_than_its_column_is_refused_when_read(change, message: str) -> None:  # type: ignore[no-untyped-def]
    assert _one(text_835([BASE])) == [None, None]
    (error, _) = _one(text_835([change(BASE)]))
    assert error is not None and message in error


@pytest.mark.parametrize("amount", ["10000000000", "-10000000000", "1.005"])
def test_money_no_column_holds_is_refused_when_read(amount: str) -> None:
    text = text_835([BASE]).replace("CLP*C1*1*180*150", f"CLP*C1*1*{amount}*150")
    (error, _) = _one(text)
    assert error is not None and "CLP03 is beyond what the ledger stores" in error


@pytest.fixture
def posting(ledger_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    claims = [make_claim("C1"), make_claim("C2"), make_claim("C3")]
    ledger = ledger_with(ledger_url, claims)
    yield ledger, claims
    ledger.dispose()


def test_one_bad_file_never_blocks_the_others(posting, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, claims = posting
    long_id = replace(pay(claims[0]), patient_control_number="C" * 39)
    files = [write_835(tmp_path, "1-long.835", [remit([long_id], "T1")]),
             write_835(tmp_path, "2-good.835", [remit([pay(claims[1])], "T2")]),
             tmp_path / "3-huge.835", write_835(tmp_path, "4-good.835", [remit([pay(claims[2])], "T4")])]
    files[2].write_text(text_835([remit([pay(claims[0])], "T3")]).replace("BPR*I*150*", "BPR*I*10000000150*")
                        .replace("CLP*C1*1*180*150", "CLP*C1*1*10000000180*10000000150"))
    report = post_files(ledger, files, actor="t")
    assert report.files_posted == ["2-good.835", "4-good.835"]
    assert [name for name, _ in report.failed] == ["1-long.835", "3-huge.835"]
    assert "CLP01 is longer than the 38 characters" in report.failed[0][1]
    assert "BPR02 is beyond what the ledger stores" in report.failed[1][1]
    with ledger.session() as session:
        states = dict(session.execute(select(Transmission.file_name, Transmission.state)).all())
        assert session.scalar(select(func.sum(Remittance.total_paid))) == D("300")
    assert states == {"1-long.835": "quarantined", "2-good.835": "posted", "3-huge.835": "quarantined",
                      "4-good.835": "posted"}


def test_what_only_postgresql_refuses_quarantines_the_file_there(posting, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With the reader's TRN02 bound lifted, SQLite keeps a 60-character trace number and PostgreSQL
    refuses it (StringDataRightTruncation): the bound is what makes them agree, and a refusal by
    the database still quarantines that one file and lets the run go on."""
    ledger, claims = posting
    monkeypatch.setitem(remit_fields.STORED_LENGTHS, "trace_number", 60)
    files = [write_835(tmp_path, "long.835", [remit([pay(claims[0])], "T" * 60)]),
             write_835(tmp_path, "good.835", [remit([pay(claims[1])], "T2")])]
    report = post_files(ledger, files, actor="t")
    if ledger.engine.dialect.name == "sqlite":
        assert report.files_posted == ["long.835", "good.835"]
    else:
        assert report.files_posted == ["good.835"] and report.failed == [
            ("long.835", "the ledger cannot store a value of this file (StringDataRightTruncation); "
                         "nothing of it was posted")]


def test_post_exits_1_when_a_file_was_quarantined_and_posts_the_rest(posting, ledger_url: str,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    from cli import main_group

    ledger, claims = posting
    config = tmp_path / "bhclaims.toml"
    config.write_text(starter_config(transport_url="file://./ch"))
    foreign = replace(remit([pay(claims[0])], "T1"), payee_npi="1497758544")
    bad, good = write_835(tmp_path, "bad.835", [foreign]), write_835(tmp_path, "good.835", [remit([pay(claims[1])], "T2")])
    result = CliRunner().invoke(main_group, ["--config", str(config), "--db", ledger_url, "post", str(bad), str(good)])
    assert result.exit_code == 1, result.output
    assert "bad.835: not posted: 835 trace T1: paid to NPI 1497758544, not ours" in result.output
    with ledger.session() as session:
        assert dict(session.execute(select(Transmission.file_name, Transmission.state)).all()) == {
            "bad.835": "quarantined", "good.835": "posted"}
    assert post_pending(ledger, actor="t").failed == []  # nothing left waiting


@pytest.mark.slow
def test_nightly_exits_1_when_a_reply_is_quarantined(tmp_path: Path) -> None:
    """`bhclaims nightly` posts what it fetched; another payer's 835 is quarantined and asks for a human."""
    import json
    import os
    import subprocess

    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_bhclaims(args, cwd=tmp_path / "practice", env=env)

    (tmp_path / "practice").mkdir(mode=0o700)
    assert cli("init", ".").returncode == 0
    outbound = tmp_path / "practice" / "clearinghouse" / "outbound"
    for folder in (outbound.parent, outbound):
        folder.mkdir(mode=0o700, exist_ok=True)
    from tests.test_remit_ownership import masshealth

    foreign = masshealth(remit([pay(make_claim("C1"))], "MH1"))
    (outbound / "era.835").write_text(text_835([foreign]))
    result = cli("--log-format", "json", "nightly", "--settle-seconds", "0")
    assert result.returncode == 1, result.stderr
    report_path = next(line.split(": ", 1)[1] for line in result.stdout.splitlines()
                       if line.startswith("report: ") and line.endswith(".json"))
    attention = json.loads(Path(report_path).read_text())["attention"]
    assert any("era.835: not posted: 835 trace MH1: from another payer: MASSHEALTH" in item for item in attention)
