"""claim fingerprints in the canonical encoding

A claim's content fingerprint (``claims.content_hash``, ``ledger.content``) was the sha256
of a Python ``repr``; it is now the sha256 of a documented canonical JSON encoding, in which
an amount read back from the ledger (``100.00``) equals the one read from an export
(``100``).  Every stored claim's fingerprint is recomputed from its stored rows, so that
re-ingesting an unchanged export still finds its claims unchanged.

The recomputation uses the application's ``ledger.claims.load_domain_claims`` and
``ledger.content.content_hash`` (one definition, not a frozen copy), reading only the claim
columns this revision of the schema has.  Downgrade keeps the new fingerprints: the earlier
definition is not in this release, and after a downgrade a re-ingested unchanged claim that
was already sent is reported as changed until the next upgrade.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session, load_only

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CHUNK = 500


def upgrade() -> None:
    from ledger.claims import load_domain_claims
    from ledger.content import content_hash
    from ledger.models import Claim

    bind = op.get_bind()
    present = {column["name"] for column in sa.inspect(bind).get_columns("claims")}
    columns = [getattr(Claim, attr.key) for attr in sa.inspect(Claim).column_attrs
               if attr.columns[0].name in present]
    session = Session(bind=bind)
    last_id = 0
    while True:
        rows = list(session.scalars(
            sa.select(Claim).options(load_only(*columns, raiseload=True))
            .where(Claim.id > last_id).order_by(Claim.id).limit(CHUNK)))
        if not rows:
            break
        digests = [{"pk": row.id, "digest": content_hash(claim)}
                   for row, claim in zip(rows, load_domain_claims(session, rows), strict=True)]
        bind.execute(sa.text("UPDATE claims SET content_hash = :digest WHERE id = :pk"), digests)
        last_id = rows[-1].id
        session.expunge_all()


def downgrade() -> None:
    pass
