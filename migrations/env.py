"""Alembic environment: runs migrations on the URL ``ledger.db.alembic_config`` sets."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection, Engine

from ledger.claims import PARTY_ROLES
from ledger.db import make_engine
from ledger.models import Base

config = context.config
target_metadata = Base.metadata

CHECKED_PER_STATEMENT = frozenset({
    "fk_claim_payments_claim_pk_claims", "fk_claim_payments_remittance_id_remittances",
    "fk_service_payments_service_line_id_service_lines", "fk_claim_events_claim_pk_claims",
    "fk_service_lines_claim_pk_claims",
    *(f"fk_claims_{role}_id_parties" for role in PARTY_ROLES), "fk_claims_replaces_id_claims"})
"""Foreign keys the models declare (SQLite has them) that PostgreSQL checks per statement instead
(migrations 0015 and 0017): not compared there."""


IN_THE_PRIMARY_KEY = frozenset({"ix_adjustments_claim_payment_id_codes_amount", "ix_service_payments_claim_payment_id"})
"""Indexes the models declare (SQLite has them) whose columns PostgreSQL's primary key carries instead
(migrations 0016 and 0018): not compared there."""

AMOUNTS_INCLUDED = frozenset({"ix_claims_status_line_of_business_first_service_date_money"})
"""Indexes the models declare with key columns (SQLite has them) that PostgreSQL carries as INCLUDE
columns instead (migration 0019): not compared there.  Neither is 0019's ``COLLATE "C"`` (autogenerate
does not compare collations)."""


def _include_object(connection: Connection) -> Any:
    postgres = connection.dialect.name == "postgresql"

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if not postgres:
            return True
        return not ((type_ == "foreign_key_constraint" and name in CHECKED_PER_STATEMENT)
                    or (type_ == "index" and name in IN_THE_PRIMARY_KEY | AMOUNTS_INCLUDED))

    return include


def _run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_object=_include_object(connection))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if isinstance(connectable, Connection):
        _run_on(connectable)
        return
    if isinstance(connectable, Engine):  # pytest-alembic hands over an engine
        with connectable.connect() as connection:
            _run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("migrations: no sqlalchemy.url in the Alembic configuration")
    engine = make_engine(url)
    with engine.connect() as connection:
        _run_on(connection)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
