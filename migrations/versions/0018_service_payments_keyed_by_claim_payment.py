"""PostgreSQL: a service payment's primary key leads with its claim payment

A posting of 100,000 CLPs writes about 300,000 service payments (its SVCs).  Each had three index
entries besides the partial index of unpaid lines: its primary key (``id``), the claim payment's index
(``ix_service_payments_claim_payment_id``, 0003) and the service line's (0009).  As 0016 did for
adjustments, the primary key becomes ``(claim_payment_id, id)`` and serves the reads by claim payment
(a claim payment's lines, the denied lines' join); the separate index goes.  COPYing 300,000 service
payments into copies of the table (docs/scaling.md, "seventh pass"): 1.27–1.76 s of server CPU with
both, 1.00–1.07 s with the one key.  ``id`` stays the column the ORM knows a service payment by, taken
from its sequence; nothing looks a service payment up by ``id`` alone (lists sort by it), and no
foreign key names it (0012).

SQLite keeps its layout.  ``migrations/env.py`` does not compare the claim payment's index on PostgreSQL.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 18:40:00
"""

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE service_payments DROP CONSTRAINT pk_service_payments")
    op.execute("ALTER TABLE service_payments ADD CONSTRAINT pk_service_payments PRIMARY KEY (claim_payment_id, id)")
    op.execute("DROP INDEX ix_service_payments_claim_payment_id")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_service_payments_claim_payment_id ON service_payments (claim_payment_id)")
    op.execute("ALTER TABLE service_payments DROP CONSTRAINT pk_service_payments")
    op.execute("ALTER TABLE service_payments ADD CONSTRAINT pk_service_payments PRIMARY KEY (id)")
