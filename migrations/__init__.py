"""Alembic migrations for the ledger (SQLite and PostgreSQL share them)."""
