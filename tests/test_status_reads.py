"""`status` reads the money by status on a second connection while it reads the rest
(``clerk.status.read_status``), and on PostgreSQL reads that money from the money index
(``ledger.bulk.scanning_by_index``) — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from clerk import worklists
from clerk.status import next_deadlines, read_status
from ledger.bulk import scanning_by_index, search_by_index
from ledger.db import Ledger
from ledger.denials import denial_days
from ledger.status import ledger_figures
from tests.test_database_connections import REPO, _config
from tests.test_ledger_reads_sql import TODAY, build_ledger
from validators.settings import RuleSettings

FIGURES = ("sum(claims.billed)", "GROUP BY claims.status")  # money by status (``ledger.status.ledger_figures``)
WAIT_S = 10.0


def _is_figures(statement: str) -> bool:
    return all(part in statement for part in FIGURES)


def test_the_reads_equal_the_same_reads_one_after_another(ledger_url: str) -> None:
    build_ledger(ledger_url)
    ledger = Ledger(ledger_url)
    try:
        settings = RuleSettings()
        with ledger.read_session() as session:
            figures = ledger_figures(session)
            days = denial_days(session)
            counts = worklists.open_counts(session, TODAY, settings, days=days)
            deadlines = next_deadlines(session, TODAY, settings, days=days)
        reads = read_status(ledger, TODAY, settings)
    finally:
        ledger.dispose()
    assert figures.claims > 0 and any(counts.values())
    assert reads == (figures, counts, deadlines)


def test_the_money_by_status_is_read_while_the_rest_is(ledger_url: str) -> None:
    """The figures' statement waits until this thread's half has sent a statement of its own: read one
    after the other it would wait in vain."""
    build_ledger(ledger_url)
    ledger = Ledger(ledger_url)
    here = threading.get_ident()
    other_half_read = threading.Event()
    seen: list[tuple[bool, int, int]] = []  # (the figures' statement, thread, DBAPI connection)

    def watch(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append((_is_figures(statement), threading.get_ident(), id(conn.connection.dbapi_connection)))
        if _is_figures(statement):
            assert other_half_read.wait(WAIT_S), "the money by status was read alone"
        elif threading.get_ident() == here:
            other_half_read.set()

    event.listen(ledger.engine, "before_cursor_execute", watch)
    try:
        read_status(ledger, TODAY, RuleSettings())
    finally:
        event.remove(ledger.engine, "before_cursor_execute", watch)
        ledger.dispose()
    figures = [(thread, conn) for is_figures, thread, conn in seen if is_figures]
    rest = [(thread, conn) for is_figures, thread, conn in seen if thread == here]
    assert len(figures) == 1 and rest
    (thread, conn), = figures
    assert thread != here and conn not in {c for _, c in rest}


@pytest.mark.parametrize("failing", ["figures", "rest"])
def test_an_error_in_either_half_is_raised_once_both_have_ended(ledger_url: str, failing: str) -> None:
    build_ledger(ledger_url)
    ledger = Ledger(ledger_url)

    def fail(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if _is_figures(statement) == (failing == "figures") and "claims" in statement:
            raise RuntimeError(f"{failing} cut short")

    event.listen(ledger.engine, "before_cursor_execute", fail)
    try:
        with pytest.raises(RuntimeError, match=f"{failing} cut short"):
            read_status(ledger, TODAY, RuleSettings())
        assert ledger.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert not [t for t in threading.enumerate() if t.name.startswith("status-figures")]
    finally:
        event.remove(ledger.engine, "before_cursor_execute", fail)
        ledger.dispose()


@pytest.mark.postgres
def test_the_money_by_status_is_planned_on_the_money_index(pg_ledger_url: str) -> None:
    """Whatever the planner would choose: on this small analysed ledger it would scan the table."""
    build_ledger(pg_ledger_url)
    ledger = Ledger(pg_ledger_url)
    settings: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if _is_figures(statement):
            settings.append(cursor.connection.execute("SHOW enable_seqscan").fetchone()[0])

    try:
        with ledger.session() as session:
            session.execute(text("ANALYZE"))
        event.listen(ledger.engine, "before_cursor_execute", watch)
        read_status(ledger, TODAY, RuleSettings())
        with ledger.read_session() as session:
            assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "on"
            ledger_figures(session)
            assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "on"  # the transaction's again
            search_by_index(session.connection())
            ledger_figures(session)
            assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "off"  # and its own setting kept
    finally:
        event.remove(ledger.engine, "before_cursor_execute", watch)
        ledger.dispose()
    assert settings == ["off", "off", "off"]


def test_scanning_by_index_changes_nothing_on_sqlite(tmp_path: Any, sqlite_ledger_at: Any) -> None:
    ledger = Ledger(sqlite_ledger_at(tmp_path / "ledger.db"))
    statements: list[str] = []
    event.listen(ledger.engine, "before_cursor_execute", lambda c, cur, statement, *_: statements.append(statement))
    try:
        with ledger.read_session() as session, scanning_by_index(session.connection()):
            session.execute(text("SELECT 1"))
    finally:
        ledger.dispose()
    assert statements == ["BEGIN", "SELECT 1"]  # the read transaction's own BEGIN, nothing more


@pytest.mark.postgres
def test_status_whose_reads_time_out_exits_2_in_words(pg_ledger_url: str, tmp_path: Any) -> None:
    """Both halves wait on a locked claims table until ``statement_timeout`` cancels them: one line on
    stderr, exit 2, no traceback from either thread."""
    build_ledger(pg_ledger_url)
    config = _config(tmp_path / "practice", pg_ledger_url, "statement_timeout_seconds = 1")
    admin_engine = create_engine(pg_ledger_url, poolclass=NullPool)
    try:
        with admin_engine.connect() as admin:
            admin.execute(text("LOCK TABLE claims IN ACCESS EXCLUSIVE MODE"))  # held until the rollback
            done = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "--config", str(config), "status"],
                                  cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                                  text=True, timeout=120, check=False)
            admin.rollback()
    finally:
        admin_engine.dispose()
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "statement_timeout_seconds" in lines[0], done.stderr
