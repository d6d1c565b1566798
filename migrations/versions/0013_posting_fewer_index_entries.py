"""posting writes: no status index the money index repeats, no index entry for a posting that reverses nothing

Every claim an 835 posts changes status, and a status change writes a new entry in each index
of ``claims`` that holds the status.  ``ix_claims_status`` holds nothing else, and
``ix_claims_status_line_of_business_first_service_date_money`` (0011) leads with the same
column, so every lookup by status can use the wider one; the narrow one goes.  One read
changes plan: the claims ready to batch (``status = 'ready' ORDER BY id LIMIT n``), which SQLite
read in id order from the narrow index, are now sorted after the search (PostgreSQL sorted them
before too) — the claims waiting for the next batch, a few thousand at most.

``ix_claim_payments_reverses_id`` indexed every claim payment, although only a CLP02 22
reversal names the payment it cancels: every other row added an entry for NULL.  It now holds
the reversals only (``WHERE reverses_id IS NOT NULL``); the lookups by it (is this payment
reversed? — ``reverses_id = <id>``) imply that condition, so PostgreSQL and SQLite still use it
(checked with EXPLAIN on both: the poster's "not yet reversed" anti-join searches it).

Measured on PostgreSQL, an 835 of 20,000 CLPs posted on copies of one seeded ledger, alternated:
the server's CPU 1.81–1.89 s without the two against 1.92–2.21 s with them (docs/scaling.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

REVERSALS_ONLY = sa.text("reverses_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_status')
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_payments_reverses_id')
        batch_op.create_index('ix_claim_payments_reverses_id', ['reverses_id'], unique=False,
                              postgresql_where=REVERSALS_ONLY, sqlite_where=REVERSALS_ONLY)


def downgrade() -> None:
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_payments_reverses_id')
        batch_op.create_index('ix_claim_payments_reverses_id', ['reverses_id'], unique=False)
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_status', ['status'], unique=False)
