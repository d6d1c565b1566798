"""inbound remote names and waiting replies

An inbound file keeps its clearinghouse name whole (``transmissions.remote_name``,
any length) beside the bounded local name in ``file_name``; replies that are not
complete yet get a first-seen time (``inbound_waiting``) so one that never
completes is raised to a human.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import ledger.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbound_waiting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name_sha256', sa.String(length=64), nullable=False),
        sa.Column('remote_name', sa.Text(), nullable=False),
        sa.Column('first_seen', ledger.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_waiting')),
        sa.UniqueConstraint('name_sha256', name=op.f('uq_inbound_waiting_name_sha256')),
    )
    with op.batch_alter_table('transmissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remote_name', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transmissions', schema=None) as batch_op:
        batch_op.drop_column('remote_name')
    op.drop_table('inbound_waiting')
