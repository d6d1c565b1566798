"""PostgreSQL: a new claim's parties and the revision it replaces checked once per statement

Ingest writes a chunk of claims with one COPY; each claim row names up to seven parties (billing,
subscriber, patient, rendering, supervising, pay-to, facility) and, for a new revision, the row it
replaces.  As foreign keys these were checked by a trigger per row and link (a query on the parent's
primary key that also locks the parent row): ≈ 0.5 s of the ≈ 2.5 s of server CPU an ingest of
100,000 lines cost (docs/scaling.md, "seventh pass").  As 0015 did for posting's links:

- an ``AFTER INSERT … FOR EACH STATEMENT`` check over the statement's new rows: the distinct party ids
  they name counted among the parties' primary keys by one index search, the same for ``replaces_id``
  among the claims'; a missing one refuses the statement with ``foreign_key_violation`` (SQLSTATE 23503),
  naming the column and the id, as the foreign key would have;
- an ``AFTER UPDATE OF`` those columns ``FOR EACH ROW`` check, fired only for a row whose link changed
  (ingest's update of a claim never sent; a transition table cannot go with a column list, and a
  statement-level update check would collect every row of posting's claim updates, which set none of
  these columns);
- parties are kept: never deleted, truncated or renumbered (nothing in bhclaims does; equal parties are
  found again by fingerprint), so there is nothing for the foreign key's lock on the parent row to hold
  off.  Claims were kept already (0015).

SQLite keeps its foreign keys.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 17:40:00
"""

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

PARTY_LINKS = ("billing_id", "subscriber_id", "patient_id", "rendering_id", "supervising_id", "pay_to_id",
               "service_facility_id")
LINKS = (*((column, "parties") for column in PARTY_LINKS), ("replaces_id", "claims"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column, parent in LINKS:
        op.drop_constraint(f"fk_claims_{column}_{parent}", "claims", type_="foreignkey")
    op.execute(_statement_check())
    op.execute("CREATE TRIGGER claims_parents_insert AFTER INSERT ON claims REFERENCING NEW TABLE AS new_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION claims_parents_exist()")
    op.execute(_row_check())
    changed = " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column, _ in LINKS)
    op.execute(f"CREATE TRIGGER claims_parents_update AFTER UPDATE OF {', '.join(c for c, _ in LINKS)} ON claims "
               f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION claims_row_parents_exist()")
    op.execute("CREATE FUNCTION parties_kept() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "RAISE EXCEPTION 'parties rows are kept: they are neither deleted nor renumbered' "
               "USING ERRCODE = 'restrict_violation'; END $$")
    op.execute("CREATE TRIGGER parties_no_delete BEFORE DELETE ON parties FOR EACH ROW EXECUTE FUNCTION parties_kept()")
    op.execute("CREATE TRIGGER parties_no_truncate BEFORE TRUNCATE ON parties "
               "FOR EACH STATEMENT EXECUTE FUNCTION parties_kept()")
    op.execute("CREATE TRIGGER parties_no_renumber BEFORE UPDATE OF id ON parties "
               "FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION parties_kept()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in ("no_delete", "no_truncate", "no_renumber"):
        op.execute(f"DROP TRIGGER IF EXISTS parties_{name} ON parties")
    op.execute("DROP FUNCTION IF EXISTS parties_kept()")
    op.execute("DROP TRIGGER IF EXISTS claims_parents_update ON claims")
    op.execute("DROP FUNCTION IF EXISTS claims_row_parents_exist()")
    op.execute("DROP TRIGGER IF EXISTS claims_parents_insert ON claims")
    op.execute("DROP FUNCTION IF EXISTS claims_parents_exist()")
    for column, parent in LINKS:
        op.create_foreign_key(f"fk_claims_{column}_{parent}", "claims", parent, [column], ["id"])


def _statement_check() -> str:
    """One statement's new claims against their parents: the party ids of all seven links in one array and
    one index search (``= ANY``, as 0015's checks), then the replaced revisions; when one is missing, the
    first (by id, then column) is named with its column."""
    party_values = ", ".join(f"('{column}', {column})" for column in PARTY_LINKS)
    return f"""CREATE FUNCTION claims_parents_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[]; first_missing bigint; link text;
BEGIN
  ids := ARRAY(SELECT DISTINCT party FROM new_rows, unnest(ARRAY[{', '.join(PARTY_LINKS)}]) AS party
               WHERE party IS NOT NULL);
  IF (SELECT count(*) FROM parties WHERE id = ANY(ids)) <> cardinality(ids) THEN
    SELECT l.name, l.id INTO link, first_missing FROM new_rows, LATERAL (VALUES {party_values}) AS l(name, id)
      WHERE l.id IS NOT NULL AND NOT EXISTS (SELECT FROM parties p WHERE p.id = l.id) ORDER BY l.id, l.name LIMIT 1;
    RAISE EXCEPTION 'claims.% names parties row %, which does not exist', link, first_missing
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  ids := ARRAY(SELECT DISTINCT replaces_id FROM new_rows WHERE replaces_id IS NOT NULL);
  IF cardinality(ids) > 0 AND (SELECT count(*) FROM claims WHERE id = ANY(ids)) <> cardinality(ids) THEN
    SELECT missing INTO first_missing FROM unnest(ids) AS missing
      WHERE NOT EXISTS (SELECT FROM claims c WHERE c.id = missing) ORDER BY missing LIMIT 1;
    RAISE EXCEPTION 'claims.replaces_id names claims row %, which does not exist', first_missing
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$"""


def _row_check() -> str:
    """One updated claim's links (the trigger fires only when one of them changed)."""
    checks = "".join(f"""
  IF NEW.{column} IS NOT NULL AND NOT EXISTS (SELECT FROM {parent} WHERE id = NEW.{column}) THEN
    RAISE EXCEPTION 'claims.{column} names {parent} row %, which does not exist', NEW.{column}
      USING ERRCODE = 'foreign_key_violation';
  END IF;""" for column, parent in LINKS)
    return ("CREATE FUNCTION claims_row_parents_exist() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN"
            + checks + "\n  RETURN NULL;\nEND $$")
