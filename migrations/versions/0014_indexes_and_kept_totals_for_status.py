"""what ``status`` counts, from indexes: open claim denials, member-charged claims, unpaid lines

``bhclaims status`` looked up the standing CLP of every denied claim, counted the
patient-responsibility worklist by grouping every SCO / One Care posting, and looked for denied
lines by reading every paid claim's newest posting (docs/scaling.md, "Reads").  This keeps on the
claim row, filled set-based from the postings already in the ledger:

- the payer's stated patient responsibility (Σ CLP05), with the other totals of 0011
  (``ledger.totals``);
- the standing CLP when it is a denial and its remittance date (``ledger.kept_denials``);

and adds three partial indexes:

- ``ix_claims_open_denials``: partial, the claims whose standing CLP is a denial, by plan and
  remittance date, with their status and id, so the open ones (status denied) are counted per plan
  and day and the nearest deadlines listed from it alone;
- ``ix_claims_member_charged``: partial, the SCO / One Care claims with money on the member
  (``ledger.models.MEMBER_CHARGED``), so the count is the size of an index that is empty on a
  ledger without the problem;
- ``ix_service_payments_unpaid``: partial, the service payments that paid nothing, where a denied
  line of a paid claim is looked for (its CAS are then found by their claim payment, through
  0009's index: an index on ``adjustments.service_payment_id`` would cost every posted CAS a
  write for a read that finds them already).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 02:20:00
"""

import sqlalchemy as sa
from alembic import op

from ledger.kept_denials import mark_all
from ledger.totals import add_posted_totals
from ledger.types import Money

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

MEMBER_CHARGED = "line_of_business IN ('one_care', 'sco') AND (patient_share > 0 OR patient_responsibility > 0)"
STANDING_DENIAL = "denial_payment_id IS NOT NULL"
UNPAID = "paid <= 0"


def upgrade() -> None:
    op.add_column('claims', sa.Column('patient_responsibility', Money(), nullable=False, server_default=sa.text('0')))
    add_posted_totals(op.get_bind(), ('patient_responsibility',))
    op.add_column('claims', sa.Column('denial_payment_id', sa.Integer(), nullable=True))
    op.add_column('claims', sa.Column('denial_remit_date', sa.Date(), nullable=True))
    mark_all(op.get_bind())
    op.create_index('ix_claims_open_denials', 'claims', ['line_of_business', 'denial_remit_date', 'claim_id',
                                                         'revision', 'status', 'denial_payment_id'], unique=False,
                    sqlite_where=sa.text(STANDING_DENIAL), postgresql_where=sa.text(STANDING_DENIAL))
    op.create_index('ix_claims_member_charged', 'claims', ['claim_id'], unique=False,
                    sqlite_where=sa.text(MEMBER_CHARGED), postgresql_where=sa.text(MEMBER_CHARGED))
    op.create_index('ix_service_payments_unpaid', 'service_payments', ['claim_payment_id'], unique=False,
                    sqlite_where=sa.text(UNPAID), postgresql_where=sa.text(UNPAID))


def downgrade() -> None:
    op.drop_index('ix_service_payments_unpaid', table_name='service_payments')
    op.drop_index('ix_claims_member_charged', table_name='claims')
    op.drop_index('ix_claims_open_denials', table_name='claims')
    # in place (SQLite >= 3.35), as 0011's downgrade: a batch copy of claims would lose its expression index
    for name in ('denial_remit_date', 'denial_payment_id', 'patient_responsibility'):
        op.execute(f'ALTER TABLE claims DROP COLUMN {name}')
