"""Files leaving and arriving: the outbox/inbox on disk and the transports (edge)."""
