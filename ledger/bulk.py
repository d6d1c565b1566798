"""Many rows into one table, without SQLAlchemy handling each parameter.

Ingest and posting write tens of thousands of rows per file; SQLAlchemy's
per-parameter bookkeeping costs more than SQLite's own work.  ``BulkWriter`` gives
each value to the column type's own bind processor (``Money`` makes cents on SQLite
and refuses fractions of a cent everywhere; dates become text on SQLite), then
hands the rows to the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.
It writes on the session's connection, inside the caller's transaction.

Child rows need their parents' keys, and reading them back by natural key costs a
query per few hundred rows: ``allocate_ids`` hands out primary keys first.
``execute_rows`` puts many rows in one SQLite statement, and ``bulk_writes`` holds the
connection settings ingest and posting write under.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from ledger.types import UtcDateTime

try:  # psycopg's own formatter of a COPY row (C in psycopg-binary), by the module it lives in since 3.2
    from psycopg._copy_base import format_row_text as _format_row_text
except ImportError:  # another release: rows are formatted by the driver as they are sent (``insert_rows``)
    _format_row_text = None

Processor = Callable[[Any], Any]

ROWS_PER_STATEMENT = 100
SQLITE_MAX_VARIABLES = 999  # the lowest limit a SQLite build may have (32766 since 3.32)


def execute_rows(connection: Connection, sql: str, values: str, rows: Sequence[Sequence[Any]],
                 leading: Sequence[Any] = ()) -> None:
    """``sql`` with ``{}`` replaced by ``values`` (one row's placeholders), for every row; ``leading``:
    the parameters that come before the rows' in ``sql`` (the same for every statement).

    SQLite: many rows per statement, so that its cost per executed statement (reset, bind,
    step, the library's mutex) is paid once per ``per`` rows instead of once per row (about
    a third of the write time); the rows that do not fill a statement go one per statement.
    """
    head = tuple(leading)
    if connection.dialect.name == "sqlite" and len(rows) >= 2:
        per = min(ROWS_PER_STATEMENT, (SQLITE_MAX_VARIABLES - len(head)) // values.count("?"))
        full = len(rows) - len(rows) % per
        if full >= per:
            connection.exec_driver_sql(sql.format(", ".join([values] * per)), [
                head + tuple(chain.from_iterable(rows[start:start + per])) for start in range(0, full, per)])
            rows = rows[full:]
            if not rows:
                return
    connection.exec_driver_sql(sql.format(values), [head + tuple(row) for row in rows]
                               if head else rows)  # type: ignore[arg-type]


def _copies(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def insert_rows(connection: Connection, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
    """Rows already in the driver's terms into ``table``, on ``connection`` (the caller's transaction):
    ``COPY`` on PostgreSQL (one stream instead of a round trip per row), ``execute_rows`` elsewhere."""
    if not rows:
        return
    if _copies(connection):
        driver = connection.connection.driver_connection
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                if _format_row_text is None:
                    for row in rows:
                        copy.write_row(row)
                else:
                    for block in _copy_blocks(connection, rows):
                        copy.write(block)
        except connection.dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(connection, statement, exc) from exc
        return
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    execute_rows(connection, f"INSERT INTO {table} ({', '.join(columns)}) VALUES {{}}",
                 f"({', '.join([placeholder] * len(columns))})", rows)


def copy_data(connection: Connection, rows: Sequence[Sequence[Any]]) -> bytes | None:
    """``rows`` (values in the driver's terms) as COPY's text, made by the driver's own formatter on the
    caller's thread, so that the thread that sends them (``insert_copy_data``) needs the interpreter
    for nothing else; None where there is no COPY or no such formatter (then ``insert_rows``)."""
    if _format_row_text is None or not _copies(connection):
        return None
    return b"".join(_copy_blocks(connection, rows))


COPY_BLOCK = 128 * 1024  # bytes: the most psycopg hands libpq at once


def _copy_blocks(connection: Connection, rows: Sequence[Sequence[Any]]) -> Iterator[bytearray]:
    """``rows`` as COPY's text in blocks of about ``COPY_BLOCK`` bytes, by the driver's own formatter (C in
    psycopg-binary) with the connection's dumpers.  ``Copy.write_row`` makes the same text, but through two
    Python calls per row: 0.64-0.71 CPU-s to send one 100,000-line ingest's 220,000 rows against 0.39 s
    for their text alone."""
    from psycopg.adapt import Transformer

    assert _format_row_text is not None
    transformer = Transformer(connection.connection.driver_connection)
    data = bytearray()
    for row in rows:
        _format_row_text(row, transformer, data)
        if len(data) >= COPY_BLOCK:
            yield data
            data = bytearray()
    if data:
        yield data


def insert_copy_data(connection: Connection, table: str, columns: tuple[str, ...], data: bytes) -> None:
    """Rows made by ``copy_data`` into ``table`` (one COPY, on ``connection``)."""
    if not data:
        return
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            copy.write(data)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(connection, statement, exc) from exc


def _as_sqlalchemy_error(connection: Connection, statement: str, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy would have raised it for a statement of its own (``DataError``,
    ``IntegrityError``, ``OperationalError`` ...), so callers tell a bad value from a lost connection
    or a deadlock the same way for a COPY as for any other statement; no parameters are shown."""
    return DBAPIError.instance(statement, None, exc, connection.dialect.loaded_dbapi.Error,
                               hide_parameters=True, dialect=connection.dialect)


def _array_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)  # an int, or a Decimal in database form (two places: no exponent)


def number_array_literal(values: Sequence[Any]) -> str:
    """``array_literal`` of ints or Decimals in database form, none of them None: their own text, joined
    (the common case, without a Python call per value)."""
    return "{" + ",".join(map(str, values)) + "}"


def array_literal(values: Sequence[Any]) -> str:
    """``values`` (ints, Decimals in database form, text, None) as a PostgreSQL array's text, which the
    statement casts (``%s::numeric[]``): psycopg adapts a list element by element in Python, at about
    ten times the cost of this join (posting sends a few arrays of a chunk's size per chunk)."""
    return "{" + ",".join(map(_array_element, values)) + "}"


IN_LIST_SIZE = 500  # values per IN list, under SQLite's lowest limit of bound values (999)
ARRAY_SIZE = 20_000  # values per array on PostgreSQL: one statement for an ingest chunk's or a file's keys
_ARRAY_TYPES = {str: "text[]", int: "bigint[]"}  # what psycopg cannot tell the server of a list


def search_by_index(connection: Connection) -> None:
    """For the rest of ``connection``'s transaction (PostgreSQL), plan every read as an index search where
    an index serves it, whatever the tables' statistics.  For transactions whose reads are all key searches
    (a posting chunk's or an ingest chunk's claim ids, parties, line and claim ids): on a ledger nobody has
    analysed yet (just loaded, a first export) the planner had no statistics for ``upper(claim_id)``, took
    a chunk's ids to match most claims and scanned every claim for each chunk (posting at 100,000 claims: 26
    ms a chunk against 8 by the index; an ingest's claim lookups 0.29 s against 0.06).  Ends with the
    transaction (commit, rollback, or a pooled connection's reset)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")


@contextmanager
def scanning_by_index(connection: Connection) -> Iterator[None]:
    """For the statements inside (PostgreSQL), plan a read that an index covers as a scan of that index,
    then give the transaction its own setting back.  For a pass over every claim that a covering index
    holds (status's money by status): the planner prices the index's leaf pages as random reads
    (``random_page_cost``) and at a million claims chose a parallel scan of the 412 MB table over the 111 MB
    index — 0.64–0.70 s against 0.33–0.52 s, the table's in three processes at ≈ 0.62 CPU-s each, the index
    read by one in 0.58–0.69 s.  After a failed statement the transaction is lost, and its setting with it."""
    if connection.dialect.name != "postgresql":
        yield
        return
    before = connection.exec_driver_sql("SELECT current_setting('enable_seqscan')").scalar_one()
    connection.exec_driver_sql("SELECT set_config('enable_seqscan', 'off', true)")
    yield
    connection.exec_driver_sql("SELECT set_config('enable_seqscan', %(before)s, true)", {"before": before})


def rows_where_in(connection: Connection, sql: str, values: Sequence[Any],
                  leading: Sequence[Any] = (), *, search: bool = False) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` for ``values``, as the driver's tuples.

    ``sql`` marks the parameters ``leading`` gives with ``{mark}`` and the IN list with
    ``{marks}``.  SQLite: a few hundred values per IN list.  PostgreSQL: all of them in one
    array, ``IN (SELECT unnest(%s))``, which the planner joins (a hash or an index search per
    value).  A long IN list of parameters would not do: once psycopg prepares the statement
    the server may keep a generic plan, which compares every row it scans with each of the
    list's values in turn (seconds per ingest chunk while the parties table is new).
    Straight to the driver: SQLAlchemy coerces and renders each value of an expanded IN list
    and makes a row object of each result, which together cost about as much as the
    database's searches.

    ``search``: the keys are few against the table (a posting's chunk of claims in the ledger), so on
    PostgreSQL ``IN ({marks})`` becomes ``= ANY(array)``, an index search per key once the table has
    statistics.  The join ``IN (SELECT unnest(…))`` is planned from them too.  On a table nobody has
    analysed yet (a ledger just loaded, lines ingested just before the 835 is posted) the planner can
    take each key to match a large share of the rows and scan the whole table, once per chunk: the
    poster's lookup connection and ingest's chunk transactions ask for index searches
    (``search_by_index``).  Either way the keys go as one array text (``array_literal``)."""
    if connection.dialect.name == "postgresql":
        if not values:
            return
        kind = _ARRAY_TYPES[type(values[0])]
        if search:
            statement = sql.replace("IN ({marks})", "= ANY({marks})").format(mark="%s", marks=f"%s::{kind}")
        else:
            statement = sql.format(mark="%s", marks=f"SELECT unnest(%s::{kind})")
        for start in range(0, len(values), ARRAY_SIZE):
            with connection.exec_driver_sql(statement, (*leading, array_literal(values[start:start + ARRAY_SIZE]))) \
                    as result:
                yield from result.cursor.fetchall()
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    for start in range(0, len(values), IN_LIST_SIZE):
        batch = values[start:start + IN_LIST_SIZE]
        statement = sql.format(mark=mark, marks=", ".join([mark] * len(batch)))
        with connection.exec_driver_sql(statement, (*leading, *batch)) as result:
            yield from result.cursor.fetchall()


class _Converted(dict[Any, Any]):
    """A processor's results by value; None stays None, as SQLAlchemy leaves it."""

    def __init__(self, processor: Processor) -> None:
        super().__init__({None: None})
        self.processor = processor

    def __missing__(self, value: Any) -> Any:
        try:
            found = self.processor(value)
        except (TypeError, ValueError) as exc:  # as SQLAlchemy reports a failed bind processor
            raise StatementError(str(exc), None, None, exc, hide_parameters=True) from exc
        self[value] = found
        return found


def _same(value: Any) -> Any:
    return value


def _copy_text(value: Any) -> Any:
    """A value in database form as COPY's text: dates and timestamps in ISO 8601 (which PostgreSQL
    reads whatever its DateStyle), Decimals (two places, no exponent) as written; text and ints as
    they are (the driver escapes text)."""
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    raise TypeError(f"no COPY text for a {type(value).__name__}")


class BulkWriter:
    """Set-based inserts on one session's connection (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect
        self._next_id: dict[str, int] = {}
        self._processors: dict[tuple[str, tuple[str, ...]], list[tuple[int, Processor]]] = {}
        self._written: dict[Any, _Converted] = {}
        self._sent: dict[Any, _Converted] = {}
        self._read: dict[Any, _Converted] = {}

    def written(self, column: Any) -> _Converted:
        """``column``'s database form of each value, by value (``found[value]``), kept for the writer's
        life: a caller that builds rows itself (posting) converts each distinct amount or date once."""
        found = self._written.get(column)
        if found is None:
            processor = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
            found = self._written[column] = _Converted(processor or _same)
        return found

    def sent(self, column: Any) -> _Converted:
        """``written``, as ``insert_written`` hands it to the driver: on PostgreSQL the COPY text of an
        amount, a date or a timestamp, made once per distinct value (the driver would make it again
        for every row: posting sends 1.5 million amounts per 100,000 CLPs, a few thousand distinct)."""
        if not _copies(self.connection):
            return self.written(column)
        found = self._sent.get(column)
        if found is None:
            database_form = self.written(column)
            found = self._sent[column] = _Converted(lambda value: _copy_text(database_form[value]))
        return found

    def read(self, column: Any) -> _Converted:
        """``column``'s value as the ORM reads it from the driver's form (``found[driver_value]``)."""
        found = self._read.get(column)
        if found is None:
            processor = column.type.dialect_impl(self.dialect).result_processor(self.dialect, None)
            found = self._read[column] = _Converted(processor or _same)
        return found

    def insert_written(self, table: Any, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` whose values are already in database form (made with ``written``)."""
        insert_rows(self.connection, table.name, columns, rows)

    def prepare_insert_written(self, table: Any, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
                               ) -> Callable[[], None]:
        """``insert_written`` of ``rows``, run when the returned function is called (posting calls it on its
        writing thread, ``WriteBehind``), with the COPY text made now (``copy_data``) where it can be."""
        data = copy_data(self.connection, rows) if rows else b""
        if data is None:
            return lambda: self.insert_written(table, columns, rows)
        return lambda: insert_copy_data(self.connection, table.name, columns, data)

    def _converters(self, table: Any, columns: tuple[str, ...]) -> list[tuple[int, Processor]]:
        key = (table.name, columns)
        found = self._processors.get(key)
        if found is None:
            found = []
            for position, name in enumerate(columns):
                column_type = table.c[name].type
                processor = column_type.dialect_impl(self.dialect).bind_processor(self.dialect)
                if processor is not None:
                    found.append((position, processor))
            self._processors[key] = found
        return found

    def insert(self, table: Any, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (values in ``columns`` order, as Python values) into ``table``."""
        if not rows:
            return
        converters = self._converters(table, columns)
        if _copies(self.connection):
            # psycopg adapts Decimal, date and datetime itself: there the processors only check.  The rows
            # are streamed (the server inserts while the driver formats the rest).
            self._check(rows, converters)
            insert_rows(self.connection, table.name, columns, self._timestamps_sent(table, columns, rows))
            return
        insert_rows(self.connection, table.name, columns, self._convert(rows, converters=converters))

    def prepare_insert(self, table: Any, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
                       ) -> Callable[[], None]:
        """``insert``, its rows checked (a refused value raises now) and made ready now, written when the
        returned function is called (``prepare_insert_written``): for a writing thread that should need the
        interpreter for nothing but sending (posting); a writer in line streams with ``insert``."""
        if _copies(self.connection):
            # psycopg adapts Decimal, date and datetime itself: there the processors only check.
            self._check(rows, self._converters(table, columns))
            return self.prepare_insert_written(table, columns, rows)
        converted = self._convert(rows, converters=self._converters(table, columns)) if rows else []
        return lambda: insert_rows(self.connection, table.name, columns, converted)

    def _timestamps_sent(self, table: Any, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
                         ) -> Sequence[Sequence[Any]]:
        """``rows`` (checked) with their timestamps as COPY text, made once per distinct value (``sent``): the
        driver formats a timezone-aware datetime at about a microsecond a value, and the rows a chunk writes
        share one or two (an ingest's ``created_at``, ``updated_at`` and events' ``at``: a third of its
        COPY formatting).  Amounts and dates are left to the driver, which formats them about as fast as
        they could be looked up."""
        stamped = [(position, self.sent(table.c[name])) for position, name in enumerate(columns)
                   if isinstance(table.c[name].type, UtcDateTime)]
        if not stamped or not rows:
            return rows
        out = []
        for row in rows:
            row = list(row)
            for position, sent in stamped:
                row[position] = sent[row[position]]
            out.append(row)
        return out

    @staticmethod
    def _check(rows: Sequence[Sequence[Any]], converters: list[tuple[int, Processor]]) -> None:
        """Each distinct value of each converted column through its processor, for its refusals only."""
        for position, processor in converters:
            checked = _Converted(processor)
            for value in {row[position] for row in rows}:
                checked[value]  # noqa: B018 - converting is the check

    @staticmethod
    def _convert(rows: Sequence[Sequence[Any]], converters: list[tuple[int, Processor]]) -> list[tuple[Any, ...]]:
        if not converters:
            return [tuple(row) for row in rows]
        # Column by column (the transpositions run in C), each distinct value converted once per
        # call: amounts, dates and timestamps repeat across rows, and a processor's result depends
        # only on the value (Decimal("100.5") and Decimal("100.50") are the same cents).
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for position, processor in converters:
            columns[position] = list(map(_Converted(processor).__getitem__, columns[position]))
        return list(zip(*columns, strict=True))

    def allocate_ids(self, table: Any, n: int, connection: Connection | None = None) -> list[int]:
        """Primary keys for ``n`` new rows of ``table``.

        SQLite: the ledger's writers begin with ``BEGIN IMMEDIATE`` and so hold the only
        write lock; ids above the current maximum are ours until commit.  PostgreSQL: the
        column's sequence, on ``connection`` if given (a sequence is not transactional: any
        connection of the ledger hands out ids no other will).
        """
        if n == 0:
            return []
        if self.dialect.name == "postgresql":
            # The sequence looked up once: pg_get_serial_sequence in the select list would be evaluated (a
            # catalog search) for every id, which cost more than the nextval itself.  One array back, read
            # by the driver: a result row per id cost the client more than the server's nextvals.
            statement = (f"WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('{table.name}', 'id')::regclass "
                         "AS seq) SELECT array_agg(id ORDER BY id) FROM (SELECT nextval(s.seq) AS id "
                         "FROM s, generate_series(1, %s)) AS taken")
            with (connection or self.connection).exec_driver_sql(statement, (n,)) as result:
                ids: list[int] = result.scalar_one()
            return ids
        start = self._next_id.get(table.name)
        if start is None:
            start = int(self.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
        self._next_id[table.name] = start + n
        return list(range(start, start + n))


SQLITE_BULK_CACHE_KIB = 65_536


@contextmanager
def bulk_writes(session: Session) -> Iterator[None]:
    """The connection's settings for a stream of many small rows (a posting, an ingest chunk);
    nothing here changes what is written, and nothing outside this connection changes.

    SQLite: a 64 MiB page cache instead of 2 MiB, so that the indexes being appended to in this one
    transaction are not spilled to the WAL and read back every few thousand rows.  Restored
    afterwards, whatever happens.
    """
    cache_size = None
    connection = session.connection()
    try:
        if connection.dialect.name == "sqlite":
            cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
        yield
    finally:
        if cache_size is not None:
            try:
                connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")
            except Exception:  # noqa: BLE001 - the connection may be gone; the pool then drops it
                pass
