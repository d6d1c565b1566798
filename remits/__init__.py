"""Posting acknowledgements and remittances into the ledger (edge)."""
