"""claim money totals kept on each claim revision (paid, contractual, denied, patient share)

The claim list, the A/R aging, ``status`` and the headline figures summed every posting and CAS
of the ledger on every read (3.8 CPU-s for the aging of a million claims).  The four sums now live
on the claim row, kept by ``ledger.totals`` in the transaction that posts (docs/scaling.md,
"Reads"); this fills them for the postings already in the ledger, set-based (one grouped
``UPDATE … FROM``), and replaces 0009's (status, plan, date of service) index with one that also
holds the money, so those reads are answered from the index alone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:45:00
"""

import sqlalchemy as sa
from alembic import op

from ledger.totals import add_posted_totals
from ledger.types import Money

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TOTALS = ('paid', 'contractual', 'denied', 'patient_share')
OLD_INDEX = 'ix_claims_status_line_of_business_first_service_date'
NEW_INDEX = 'ix_claims_status_line_of_business_first_service_date_money'


def upgrade() -> None:
    for name in TOTALS:  # a plain ADD COLUMN on both databases (no table copy)
        op.add_column('claims', sa.Column(name, Money(), nullable=False, server_default=sa.text('0')))
    add_posted_totals(op.get_bind(), TOTALS)  # its own four: 0014 adds the fifth
    op.drop_index(OLD_INDEX, table_name='claims')
    op.create_index(NEW_INDEX, 'claims', ['status', 'line_of_business', 'first_service_date', 'billed', 'paid',
                                          'contractual', 'patient_share', 'denied'], unique=False)


def downgrade() -> None:
    op.drop_index(NEW_INDEX, table_name='claims')
    op.create_index(OLD_INDEX, 'claims', ['status', 'line_of_business', 'first_service_date'], unique=False)
    for name in TOTALS:  # in place (SQLite >= 3.35): a batch copy of claims would lose its expression index
        op.execute(f'ALTER TABLE claims DROP COLUMN {name}')
