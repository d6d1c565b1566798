"""posting writes: no index written twice, no per-row check of keys the poster itself gives

Two indexes were the leading column of a wider one that serves the same lookups
(``ix_claim_payments_claim_pk`` of ``ix_claim_payments_claim_pk_paid``,
``ix_adjustments_claim_payment_id`` of ``ix_adjustments_claim_payment_id_codes_amount``):
every posted row paid for both.  They go.

Three foreign keys link a posting's rows to each other: a service payment and an adjustment
to their claim payment, a line-level adjustment to its service payment.  PostgreSQL checks
each with a query per inserted row (a trigger; 360,000 for an 835 of 20,000 CLPs with 3
SVCs and 6 CAS each, about 40 % of the server's posting time, docs/scaling.md).  These keys
come from the poster alone, and the poster guarantees them without a check: the only writer
of the three tables (``remits.payments``) gives a child row the id it reserved for the parent
in the same call that queues the parent, and writes parents before children in the same
transaction.  What a foreign key would still add is that a parent never goes away or
changes its id afterwards; the guards below refuse exactly that (DELETE, and an UPDATE of
``id``) on both parent tables, on SQLite and PostgreSQL.  The keys that point outside the
posting (a claim, a service line, the remittance, the payment a reversal cancels) keep their
foreign keys: the rows they name are written by others (ingest replaces a claim's lines).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:45:00
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ONLY_THIS_TABLE = {"resolve_fks": False}  # SQLite's copy of a table need not reflect the tables it names
GUARDED = ("claim_payments", "service_payments")  # the parents of the links whose foreign keys go


def upgrade() -> None:
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_payments_claim_pk')
    with op.batch_alter_table('adjustments', schema=None, reflect_kwargs=ONLY_THIS_TABLE) as batch_op:
        batch_op.drop_index('ix_adjustments_claim_payment_id')
        batch_op.drop_constraint('fk_adjustments_claim_payment_id_claim_payments', type_='foreignkey')
        batch_op.drop_constraint('fk_adjustments_service_payment_id_service_payments', type_='foreignkey')
    with op.batch_alter_table('service_payments', schema=None, reflect_kwargs=ONLY_THIS_TABLE) as batch_op:
        batch_op.drop_constraint('fk_service_payments_claim_payment_id_claim_payments', type_='foreignkey')
    for table in GUARDED:
        _create_guard(table)


def downgrade() -> None:
    for table in GUARDED:
        _drop_guard(table)
    with op.batch_alter_table('service_payments', schema=None, reflect_kwargs=ONLY_THIS_TABLE) as batch_op:
        batch_op.create_foreign_key('fk_service_payments_claim_payment_id_claim_payments', 'claim_payments',
                                    ['claim_payment_id'], ['id'])
    with op.batch_alter_table('adjustments', schema=None, reflect_kwargs=ONLY_THIS_TABLE) as batch_op:
        batch_op.create_foreign_key('fk_adjustments_service_payment_id_service_payments', 'service_payments',
                                    ['service_payment_id'], ['id'])
        batch_op.create_foreign_key('fk_adjustments_claim_payment_id_claim_payments', 'claim_payments',
                                    ['claim_payment_id'], ['id'])
        batch_op.create_index('ix_adjustments_claim_payment_id', ['claim_payment_id'], unique=False)
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.create_index('ix_claim_payments_claim_pk', ['claim_pk'], unique=False)


def _create_guard(table: str) -> None:
    """DELETE and an UPDATE of ``id`` refused by the database: what the dropped foreign keys still
    guarded once the poster had written a file (an INSERT is not slowed: the triggers fire on
    neither)."""
    message = f"{table} rows are kept: posted rows are neither deleted nor renumbered"
    if op.get_bind().dialect.name == "sqlite":
        for verb, name in (("DELETE", "delete"), ("UPDATE OF id", "renumber")):
            op.execute(f"CREATE TRIGGER {table}_no_{name} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
        return
    op.execute(f"CREATE FUNCTION {table}_kept() RETURNS trigger LANGUAGE plpgsql AS "
               f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$")
    op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION {table}_kept()")
    op.execute(f"CREATE TRIGGER {table}_no_renumber BEFORE UPDATE OF id ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION {table}_kept()")


def _drop_guard(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("delete", "renumber"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{name}")
        return
    for name in ("delete", "renumber"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{name} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {table}_kept()")
