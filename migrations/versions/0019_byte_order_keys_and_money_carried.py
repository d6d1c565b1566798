"""PostgreSQL: the text keys compared byte by byte, the money index's amounts carried, not compared

Every row ingest or posting writes is placed in each of its table's B-trees by comparing keys.  Two
costs in those comparisons were not needed:

- Text keys compared under the database's collation.  A cluster made with a locale such as
  ``C.UTF-8`` or ``en_US.UTF-8`` compares text through the C library's ``strcoll`` (the key copied
  and terminated first), where the ``"C"`` collation compares bytes.  The keys below are codes,
  ASCII identifiers and hex digests; only their equality and a stable order matter, and byte order
  is the order SQLite gives them (its ``BINARY`` collation), so both databases now list claims by
  claim id alike.  ``COLLATE "C"`` for ``parties.role`` and ``parties.fingerprint`` (a sha256 in
  hex), ``claims.claim_id`` (``[A-Za-z0-9-]``, as the readers accept it: ``upper`` maps the same
  letters under either collation), ``claims.status`` and ``claims.line_of_business`` (codes), and
  ``service_lines.line_id``.  Every comparison bhclaims makes on them is with a value it sends, never
  with another table's column (which would need one collation named).  The indexes on them are
  rebuilt; the rows are not rewritten.
- ``ix_claims_status_line_of_business_first_service_date_money`` (0011) kept the five kept totals as
  key columns, so a new entry among claims of one status, plan and date of service (an ingest's
  claims, a posting's moved ones) was placed by comparing NUMERICs as well.  Nothing reads the index
  in the order of the amounts: the status figures and A/R aging read them from it alone, grouped by
  status or plan and bucket.  On PostgreSQL the amounts become ``INCLUDE`` columns — still in every
  leaf entry, so those reads stay index-only, but never compared.

Measured (docs/scaling.md, "ninth pass"): COPYing one 100,000-line ingest's rows (39,954 parties,
39,933 claims, 100,000 service lines, 39,933 events) into an empty ledger, the server's CPU 1.48–1.55 s
before, 1.17–1.20 s after (claims 0.65–0.71 → 0.44–0.46 s, parties 0.24–0.25 → 0.19–0.20 s).

SQLite keeps its layout (it has no INCLUDE, and compares bytes already).  The models declare the
SQLite layout; ``migrations/env.py`` compares neither the money index nor these columns' collation on
PostgreSQL.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 21:40:00
"""

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

MONEY_INDEX = "ix_claims_status_line_of_business_first_service_date_money"
AMOUNTS = "billed, paid, contractual, patient_share, denied"
BYTE_ORDER = {  # table -> (column, type)
    "parties": (("role", "varchar(16)"), ("fingerprint", "varchar(64)")),
    "claims": (("claim_id", "varchar(20)"), ("status", "varchar(16)"), ("line_of_business", "varchar(24)")),
    "service_lines": (("line_id", "varchar(50)"),),
}


def _collate(collation: str) -> None:
    for table, columns in BYTE_ORDER.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {column} TYPE {kind} COLLATE {collation}" for column, kind in columns))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX {MONEY_INDEX}")
    _collate('"C"')
    op.execute(f"CREATE INDEX {MONEY_INDEX} ON claims (status, line_of_business, first_service_date) "
               f"INCLUDE ({AMOUNTS})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX {MONEY_INDEX}")
    _collate('"default"')
    op.execute(f"CREATE INDEX {MONEY_INDEX} ON claims (status, line_of_business, first_service_date, {AMOUNTS})")
