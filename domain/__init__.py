"""Immutable records shared by the core: what a claim and a remittance *are*.

Parsers produce these, validators and the EDI builder consume them, the ledger
stores them.  Nothing here touches files, the database or the network.
"""
