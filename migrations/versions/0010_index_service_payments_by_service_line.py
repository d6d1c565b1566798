"""index service_payments by service line

``service_payments.service_line_id`` references ``service_lines``; without an index on it,
every service line deleted (ingest replaces the lines of a claim still ready, held or
rejected) makes the database check that no payment names it by reading the whole
``service_payments`` table, on PostgreSQL (the foreign key's NO ACTION check) as on SQLite.
The ledger's largest table grows with every 835 posted, so each such update got slower with
the ledger's age.  The index costs posting about what the one on ``claim_payment_id`` does
(docs/scaling.md, "Measured").

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:00:00
"""

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_payments_service_line_id'), ['service_line_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_payments_service_line_id'))
