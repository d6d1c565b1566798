"""PostgreSQL: a posting's links to claims, remittances and service lines checked once per statement

A foreign key is checked by PostgreSQL with a trigger per inserted row: a query on the parent's
primary key that also locks the parent row.  An 835 of 100,000 CLPs with 3 SVCs each inserts
600,000 rows that name a parent outside the posting (a claim payment its claim and remittance, a
service payment its service line, a claim event its claim): those checks were about a third of the
server's posting time (docs/scaling.md, "Writes on PostgreSQL, fifth pass").  Ingest's service lines
name their claim the same way.

On PostgreSQL these five foreign keys become

- a check per statement (``AFTER INSERT OR UPDATE … FOR EACH STATEMENT`` with the statement's new
  rows as a transition table): the distinct parent ids the statement wrote are looked up in one
  indexed search, and a missing one refuses the statement with ``foreign_key_violation`` (SQLSTATE
  23503), as the foreign key would have;
- guards on the parents.  A claim or a remittance is never deleted, truncated or renumbered
  (nothing in bhclaims does; the ledger keeps them), so there is nothing for the foreign key's lock
  on the parent row to hold off.  A service line is replaced when ingest updates a claim that was
  never sent; deleting one that a service payment names is refused (the statement's deleted rows
  against the payments' index), as the foreign key refused it.  The foreign key's lock also held off
  a delete racing with an uncommitted payment of the same line; here that race cannot start: a
  payment is posted only to a claim that was sent, and ingest refuses to change a sent claim.

SQLite keeps its foreign keys: they cost it about 3 % (``benchmarks/post835.py --no-fk``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:20:00
"""

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

LINKS = {  # child table: (column, parent table) of the foreign keys checked per statement instead
    "claim_payments": (("claim_pk", "claims"), ("remittance_id", "remittances")),
    "service_payments": (("service_line_id", "service_lines"),),
    "claim_events": (("claim_pk", "claims"),),
    "service_lines": (("claim_pk", "claims"),),  # ingest's: three or so per claim
}
ON_DELETE = {("service_lines", "claim_pk"): "CASCADE"}  # as the foreign keys were (downgrade)
PARENTS = ("claims", "remittances", "service_lines")
KEPT = ("claims", "remittances")  # never deleted; service lines: only those a payment names
UPDATED = ("claim_payments", "service_payments", "service_lines")  # claim_events is append-only (0001)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for child, links in LINKS.items():
        for column, parent in links:
            op.drop_constraint(f"fk_{child}_{column}_{parent}", child, type_="foreignkey")
        op.execute(_check_function(child, links))
        verbs = ["INSERT", "UPDATE"] if child in UPDATED else ["INSERT"]
        for verb in verbs:
            op.execute(f"CREATE TRIGGER {child}_parents_{verb.lower()} AFTER {verb} ON {child} "
                       f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {child}_parents_exist()")
    for parent in PARENTS:
        op.execute(f"CREATE FUNCTION {parent}_kept() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"RAISE EXCEPTION '{parent} rows are kept: they are neither deleted nor renumbered' "
                   "USING ERRCODE = 'restrict_violation'; END $$")
        if parent in KEPT:
            op.execute(f"CREATE TRIGGER {parent}_no_delete BEFORE DELETE ON {parent} "
                       f"FOR EACH ROW EXECUTE FUNCTION {parent}_kept()")
        op.execute(f"CREATE TRIGGER {parent}_no_truncate BEFORE TRUNCATE ON {parent} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {parent}_kept()")
        op.execute(f"CREATE TRIGGER {parent}_no_renumber BEFORE UPDATE OF id ON {parent} "
                   f"FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION {parent}_kept()")
    op.execute("CREATE FUNCTION service_lines_paid_kept() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "IF EXISTS (SELECT FROM service_payments WHERE service_line_id = ANY(ARRAY(SELECT id FROM old_rows))) "
               "THEN RAISE EXCEPTION 'service_lines: a line a service payment names is kept' "
               "USING ERRCODE = 'foreign_key_violation'; END IF; RETURN NULL; END $$")
    op.execute("CREATE TRIGGER service_lines_paid_kept AFTER DELETE ON service_lines REFERENCING OLD TABLE AS old_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION service_lines_paid_kept()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS service_lines_paid_kept ON service_lines")
    op.execute("DROP FUNCTION IF EXISTS service_lines_paid_kept()")
    for parent in PARENTS:
        for name in ("no_delete", "no_truncate", "no_renumber"):
            op.execute(f"DROP TRIGGER IF EXISTS {parent}_{name} ON {parent}")
        op.execute(f"DROP FUNCTION IF EXISTS {parent}_kept()")
    for child, links in LINKS.items():
        for verb in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {child}_parents_{verb} ON {child}")
        op.execute(f"DROP FUNCTION IF EXISTS {child}_parents_exist()")
        for column, parent in links:
            op.create_foreign_key(f"fk_{child}_{column}_{parent}", child, parent, [column], ["id"],
                                  ondelete=ON_DELETE.get((child, column)))


def _check_function(child: str, links: tuple[tuple[str, str], ...]) -> str:
    """One statement's new rows against their parents: per link, the distinct ids it names (NULL names
    nothing) counted among the parent's primary keys by one index search (``= ANY``: a plan that does
    not depend on the tables' statistics); the first missing id is named when one is."""
    checks = []
    for column, parent in links:
        checks.append(f"""
  ids := ARRAY(SELECT DISTINCT {column} FROM new_rows WHERE {column} IS NOT NULL);
  IF (SELECT count(*) FROM {parent} WHERE id = ANY(ids)) <> cardinality(ids) THEN
    SELECT missing INTO first_missing FROM unnest(ids) AS missing
      WHERE NOT EXISTS (SELECT FROM {parent} p WHERE p.id = missing) ORDER BY missing LIMIT 1;
    RAISE EXCEPTION '{child}.{column} names {parent} row %, which does not exist', first_missing
      USING ERRCODE = 'foreign_key_violation';
  END IF;""")
    return (f"CREATE FUNCTION {child}_parents_exist() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "DECLARE ids bigint[]; first_missing bigint;\nBEGIN" + "".join(checks) + "\n  RETURN NULL;\nEND $$")
