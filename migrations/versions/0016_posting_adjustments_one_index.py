"""PostgreSQL: an adjustment in one index, a payer claim number in a hash index

A posting of 100,000 CLPs writes about 600,000 adjustments (the CAS triples of its claims and lines).
Each had two index entries: its primary key (``id``) and ``ix_adjustments_claim_payment_id_codes_amount``,
which the sums per claim payment read without the table.  COPYing the same 600,000 rows into copies of
the table (docs/scaling.md, "sixth pass"): 1.26–1.48 s of server CPU with both, 0.85–0.91 s when the
primary key itself leads with the claim payment and carries what the sums read — ``(claim_payment_id,
id) INCLUDE (group_code, reason_code, amount)`` — and is the only index.  ``id`` stays the column the
ORM knows an adjustment by, taken from its sequence; only the uniqueness of ``id`` alone is no longer
checked by an index of its own (no statement of bhclaims sets it).

A claim payment's payer claim number (CLP07) is only ever looked up by equality (a reversal's, a PLB's
reference): a hash index instead of a B-tree, 0.52–0.57 → 0.40–0.42 s for 100,000 rows with random
numbers.

SQLite keeps its layout (``id`` is its rowid; it has no INCLUDE).  The models declare the SQLite
layout; ``migrations/env.py`` does not compare the adjustments' index on PostgreSQL.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:20:00
"""

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE adjustments DROP CONSTRAINT pk_adjustments")
    op.execute("ALTER TABLE adjustments ADD CONSTRAINT pk_adjustments PRIMARY KEY (claim_payment_id, id) "
               "INCLUDE (group_code, reason_code, amount)")
    op.execute("DROP INDEX ix_adjustments_claim_payment_id_codes_amount")
    op.execute("DROP INDEX ix_claim_payments_payer_claim_number")
    op.execute("CREATE INDEX ix_claim_payments_payer_claim_number ON claim_payments USING hash (payer_claim_number)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_claim_payments_payer_claim_number")
    op.execute("CREATE INDEX ix_claim_payments_payer_claim_number ON claim_payments (payer_claim_number)")
    op.execute("CREATE INDEX ix_adjustments_claim_payment_id_codes_amount ON adjustments "
               "(claim_payment_id, group_code, reason_code, amount)")
    op.execute("ALTER TABLE adjustments DROP CONSTRAINT pk_adjustments")
    op.execute("ALTER TABLE adjustments ADD CONSTRAINT pk_adjustments PRIMARY KEY (id)")
