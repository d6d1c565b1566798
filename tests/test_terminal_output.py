"""What came from a file cannot drive a terminal or a spreadsheet (reliability item 50).

An 835 decides CLP01, CLP07, TRN02; a clearinghouse decides file names; a quarantine
reason quotes what it refused.  Rows holding escape sequences (CSI, OSC hyperlinks,
C1 controls, bidi overrides), rich markup and formula starts are put in the ledger,
and every renderer is looked at: CSV (``--csv``), the tab-separated lines a pipe gets,
the rich table a terminal gets, the quarantine list, the console log.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy import update

from ledger.db import Ledger
from ledger.models import Claim, ClaimPayment, Quarantine, Remittance, Transmission
from runtime.escaping import FORMULA_STARTS, spreadsheet_cell, terminal_cell, visible
from tests.cli_in_process import run_bhclaims
from tests.ledger_helpers import ingest_one
from tests.test_nightly import _run_in_pty

REPO = Path(__file__).resolve().parent.parent

HOSTILE = {
    "formula": '=HYPERLINK("http://e.x","hi")',
    "plus": "+1+1",
    "minus": "-2+3",
    "at": "@SUM(A1)",
    "osc8": "\x1b]8;;http://e.x\x07hi\x1b]8;;\x07",
    "markup": "[bold red]LOUD[/bold red]",
    "c1_csi": "\x9b2J",
    "bidi": "\u202eexe.txt",
    "tab": "\tTAB",
}
RAW_SEQUENCES = ("\x1b]8;;http", "\x9b2J", "\u202e", "\x1b[2J", "\x07")


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command in this process (``tests.cli_in_process``), its output a pipe's; terminals get a pty."""
    return run_bhclaims(args, cwd=cwd)


@pytest.fixture
def backend() -> str:
    """SQLite only (this module overrides conftest's two databases): the subject is what the renderers
    do with text after it is read, the same code whichever database held it.  Money and posting on
    PostgreSQL are tested in their own modules."""
    return "sqlite"


@pytest.fixture
def practice(tmp_path: Path, db_url: str) -> Path:
    """A ledger holding one claim and, from a hostile 835, unmatched payments and a quarantined file."""
    folder = tmp_path / "practice"
    assert _cli(["--db", db_url, "init", str(folder)], cwd=tmp_path).returncode == 0
    ledger = Ledger(db_url)
    try:
        ingest_one(ledger, "ENC-1")
        with ledger.session() as session:
            received = Transmission(direction="in", kind="835", file_name="ERA\x1b[2J.835", sha256="a" * 64, size=1,
                                    state="quarantined", remote_name="ERA\x1b[2J.835")
            session.add(received)
            session.flush()
            session.add(Quarantine(transmission_id=received.id, reason="refused: [link=http://e.x]click[/link] \x1b[2J"))
            remit = Remittance(transmission_id=received.id, payer_id="87726", payer_name=HOSTILE["markup"],
                               trace_number="\x1b[2JTRACE", total_paid=Decimal("-17.35"), content_sha256="b" * 64,
                               payment_date=date(2026, 11, 20))
            session.add(remit)
            session.flush()
            for value in HOSTILE.values():
                session.add(ClaimPayment(remittance_id=remit.id, patient_control_number=value, status_code="1",
                                         charge=Decimal("100"), paid=Decimal("-17.35"),
                                         patient_responsibility=Decimal("0"), payer_claim_number=value))
            session.execute(update(Claim).values(payer_claim_number=HOSTILE["formula"]))
    finally:
        ledger.dispose()
    return folder


def _assert_inert(text: str) -> None:
    for sequence in RAW_SEQUENCES:
        assert sequence not in text, (sequence, text)


def _assert_spreadsheet_safe(cells: list[str]) -> None:
    for cell in cells:
        if cell.startswith(FORMULA_STARTS):
            assert re.fullmatch(r"[-+]?\d+(\.\d*)?", cell), cell  # only numbers may start so


def test_csv_escapes_formula_starts_and_keeps_negative_money_a_number(practice: Path, db_url: str) -> None:
    result = _cli(["--db", db_url, "worklist", "unmatched", "--csv"], cwd=practice)
    assert result.returncode == 0, result.stderr
    _assert_inert(result.stdout)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header, body = rows[0], rows[1:]
    assert len(body) == len(HOSTILE)
    for row in body:
        _assert_spreadsheet_safe(row)
    column = header.index("patient_control_number")
    shown = [row[column] for row in body]
    assert "'" + HOSTILE["formula"] in shown and "'+1+1" in shown and "'-2+3" in shown and "'@SUM(A1)" in shown
    assert "[bold red]LOUD[/bold red]" in shown  # markup is only text here
    assert all(row[header.index("paid")] == "-17.35" for row in body)  # a number, not a formula


def test_tab_separated_lines_escape_the_same_way(practice: Path, db_url: str) -> None:
    unmatched = _cli(["--db", db_url, "worklist", "unmatched"], cwd=practice)
    claims = _cli(["--db", db_url, "claims"], cwd=practice)
    quarantined = _cli(["--db", db_url, "quarantine"], cwd=practice)
    for result in (unmatched, claims, quarantined):
        assert result.returncode == 0, result.stderr
        _assert_inert(result.stdout)
        lines = result.stdout.splitlines()
        width = len(lines[0].split("\t"))
        for line in lines[1:]:
            cells = line.split("\t")
            assert len(cells) == width, line  # a tab in the data did not make a column
            _assert_spreadsheet_safe(cells)
    assert "'" + HOSTILE["formula"] in claims.stdout
    assert "\\x9b2J" in unmatched.stdout and "\\u202eexe.txt" in unmatched.stdout
    assert "\nTAB\t" in unmatched.stdout  # the worklists fold a cell's whitespace (tab included) away
    assert quarantined.stdout.splitlines()[0] == "transmission_id\tfile\tstate\treason"
    assert "\tERA\\x1b[2J.835\t" in quarantined.stdout  # one row, tab-separated, like every other list


def test_a_terminal_gets_no_control_sequence_and_no_markup_from_data(practice: Path, db_url: str) -> None:
    for args in (["worklist", "unmatched"], ["claims"], ["quarantine"]):
        shown = _run_in_pty(["--db", db_url, *args], cwd=practice)
        _assert_inert(shown)
    table = re.sub(r"\x1b\[[0-9;]*m", "", _run_in_pty(["--db", db_url, "worklist", "unmatched"], cwd=practice))
    assert "[bold red]LOUD[/bold red]" in table and "\\x1b]8;;http://e.x\\x07hi" in table  # as typed
    quarantined = _run_in_pty(["--db", db_url, "quarantine"], cwd=practice)
    assert "ERA\\x1b[2J.835" in quarantined and "[link=http://e.x]click[/link]" in quarantined


def test_the_console_log_shows_a_file_name_s_escapes_as_text(tmp_path: Path) -> None:
    folder = tmp_path / "practice"
    assert _cli(["init", str(folder)], cwd=tmp_path).returncode == 0
    outbound = folder / "clearinghouse" / "outbound"
    outbound.mkdir(parents=True, mode=0o700)
    (folder / "clearinghouse").chmod(0o700)
    (outbound / "R\x1b[31m1.ta1").write_bytes(
        b"ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*HARBORLIGHT    *261123*0930*^*00501*000000001*0*T*:~"
        b"TA1*000000001*261123*0930*A*000~IEA*0*000000001~"
    )
    result = _cli(["--log-format", "console", "fetch"], cwd=folder)
    assert result.returncode == 0, result.stderr
    _assert_inert(result.stdout + result.stderr)
    assert "\x1b[31m" not in result.stdout + result.stderr
    assert "R\\x1b[31m1.ta1" in result.stdout and "R\\x1b[31m1.ta1" in result.stderr


# ---- the escaping itself -----------------------------------------------------------------------


@given(st.text())
def test_visible_text_holds_nothing_a_terminal_would_act_on(text: str) -> None:
    shown = visible(text)
    assert shown.isprintable()
    assert visible(shown) == shown
    if text.isprintable():
        assert shown == text


@given(st.text())
def test_a_spreadsheet_cell_never_starts_a_formula(text: str) -> None:
    cell = spreadsheet_cell(text)
    assert not cell.startswith(FORMULA_STARTS) or re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", cell)


@pytest.mark.parametrize("number", ["-17.35", "+2", "-0.5", "-.5", "12"])
def test_numbers_stay_numbers(number: str) -> None:
    assert spreadsheet_cell(number) == number


def test_a_rich_cell_is_printed_as_typed() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=200, color_system="truecolor")
    console.print(terminal_cell("[bold]x[/bold] \x1b]0;title\x07"))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[bold]x[/bold]" in out and "\x1b]0;title" not in out and "\\x1b]0;title\\x07" in out
