"""indexes for the set-based reads (claim money, A/R aging, status, worklists)

The claim list, the A/R aging and ``bhclaims status`` sum every claim's postings and CAS in one
query (``ledger.money``); these indexes hold what those sums read, so the database answers from
the index alone instead of visiting each payment and adjustment row, and the timely-filing
worklist finds unsent claims by plan and date of service.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 12:00:00.000000
"""

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.create_index('ix_claim_payments_claim_pk_paid', ['claim_pk', 'paid'], unique=False)
    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_adjustments_claim_payment_id_codes_amount',
                              ['claim_payment_id', 'group_code', 'reason_code', 'amount'], unique=False)
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_status_line_of_business_first_service_date',
                              ['status', 'line_of_business', 'first_service_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_status_line_of_business_first_service_date')
    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_adjustments_claim_payment_id_codes_amount')
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_payments_claim_pk_paid')
