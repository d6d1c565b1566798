"""Engines, sessions and migrations for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every transaction starts with
``BEGIN IMMEDIATE``: a writer takes the lock up front instead of failing with
"database is locked" when it upgrades a read lock while cron and a clerk work
at the same time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ledger.totals import recompute_on_execute, recompute_on_flush
from runtime.config import ConfigError, known_database_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
READONLY_OPTION = "bhclaims_readonly"



class DatabaseError(RuntimeError):
    """The ledger could not be reached or is not at the expected schema."""


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


def check_database_url(url: str) -> None:
    """Refuse a URL for a database the ledger does not run on, in words (``runtime.config`` says which
    kinds and drivers), before SQLAlchemy would name a missing module.  Only the kind is quoted."""
    try:
        known_database_url(url, "database URL")
    except ConfigError as exc:
        raise DatabaseError(str(exc)) from None


def make_engine(url: str, *, pool_size: int | None = None, statement_timeout_seconds: float | None = None) -> Engine:
    """``hide_parameters``: a database error message must never carry a member's data (PHI).

    ``pool_size``: connections kept open by this process.  ``statement_timeout_seconds``:
    PostgreSQL cancels any one statement that runs longer (SQLite has no such setting;
    its writers wait at most the busy timeout for each other instead).
    """
    pool = {} if pool_size is None else {"pool_size": pool_size}
    check_database_url(url)
    if url.startswith("sqlite"):
        _create_private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True,
                               **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # FULL: a commit is on disk when it returns, also across a power cut.  The fetcher
            # archives a file on the clearinghouse once its receipt is committed, and posting
            # and sending lean the same way; NORMAL could lose that commit after the fact.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # Readers take no lock up front: in WAL mode they see the last commit while a writer works.
            readonly = conn.get_execution_options().get(READONLY_OPTION, False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    connect_args: dict[str, str] = {}
    if statement_timeout_seconds:
        connect_args["options"] = f"-c statement_timeout={max(1, round(statement_timeout_seconds * 1000))}"
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args, **pool)


def _create_private_sqlite_file(url: str) -> None:
    """SQLite creates its file with the umask's mode; the ledger holds PHI, so create it 0600 first.

    SQLite gives its -wal and -shm files the main file's mode.
    """
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:" and not Path(database).exists():
        Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, when it does not exist (None: PostgreSQL, in memory, or there)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path.resolve()


def open_ledger(url: str, *, pool_size: int | None = None, statement_timeout_seconds: float | None = None) -> Ledger:
    """The ledger at ``url``, which must already exist and have its schema.

    Only ``bhclaims init`` and ``migrate`` (``upgrade``) create a SQLite file: any other command
    (a read above all) run in the wrong folder or with a mistyped ``--db`` leaves nothing behind.
    """
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise DatabaseError(f"no ledger at {missing}; run `bhclaims init`")
    ledger = Ledger(url, pool_size=pool_size, statement_timeout_seconds=statement_timeout_seconds)
    ledger.check_schema()
    return ledger


def alembic_config(url: str) -> Config:
    """Alembic's configuration for ``url``.  Alembic (with mako and pygments behind it) is imported
    here, not at the top: only ``init`` and ``migrate`` migrate, and every other command would pay
    for the import on start-up."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (creating the database file when needed)."""
    from alembic import command

    check_database_url(url)
    try:
        command.upgrade(alembic_config(url), revision)
    except OperationalError as exc:
        raise DatabaseError(f"cannot open the ledger database: {exc.orig}") from exc


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


class Ledger:
    """A connection to one ledger database: hands out sessions, one per unit of work."""

    def __init__(self, url: str, *, pool_size: int | None = None, statement_timeout_seconds: float | None = None):
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, statement_timeout_seconds=statement_timeout_seconds)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.engine.execution_options(**{READONLY_OPTION: True}),
                                           expire_on_commit=False)
        # postings written through a session keep their claims' totals (``ledger.totals``)
        event.listen(self._sessions, "after_flush", recompute_on_flush)
        event.listen(self._sessions, "do_orm_execute", recompute_on_execute)

    def check_schema(self) -> None:
        try:
            with self.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot reach the ledger database ({self.redacted_url}): {type(exc).__name__}") from exc
        if "claims" not in tables:
            raise DatabaseError(f"the ledger at {self.redacted_url} has no schema: run `bhclaims init` or `bhclaims migrate`")

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only look that never waits for (or blocks) a writer on SQLite; rolled back at the end."""
        with self._read_sessions() as session, session.begin():
            yield session
            session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()

    def forget_connections(self) -> None:
        """In a forked child: open connections of its own, leave the parent's alone."""
        self.engine.dispose(close=False)
