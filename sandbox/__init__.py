"""A stand-in clearinghouse and payer that answers our 837Ps with 999s and 835s."""
