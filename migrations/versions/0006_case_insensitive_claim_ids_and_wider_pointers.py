"""claim ids found whatever their case; four two-digit diagnosis pointers fit

An index on upper(claim_id): ingest refuses a claim id that differs from one in the
ledger only in case, and posting finds CLP01 (which payers upper-case) by it.
service_lines.diagnosis_pointers widens from 8 to 11 characters: four pointers into
twelve diagnoses ("10,11,12,9") did not fit, and PostgreSQL refused what SQLite kept.

SQLite cannot reflect an index on an expression: a later migration that rebuilds
``claims`` in batch mode on SQLite must create ix_claims_upper_claim_id again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_lines', schema=None) as batch_op:
        batch_op.alter_column('diagnosis_pointers', existing_type=sa.String(length=8), type_=sa.String(length=11),
                              existing_nullable=False)
    # after the batch (which reflects claims for the foreign key, and SQLite cannot reflect this index)
    op.create_index('ix_claims_upper_claim_id', 'claims', [sa.text('upper(claim_id)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_claims_upper_claim_id', table_name='claims')
    with op.batch_alter_table('service_lines', schema=None) as batch_op:
        batch_op.alter_column('diagnosis_pointers', existing_type=sa.String(length=11), type_=sa.String(length=8),
                              existing_nullable=False)
