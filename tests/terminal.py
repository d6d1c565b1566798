"""Reading what a program wrote to a pseudo-terminal, for tests of what a person at a terminal sees."""

from __future__ import annotations

import os
import select


def read_until_closed(leader: int, wait_seconds: float) -> str:
    """Everything written to the terminal whose leader end is ``leader``, until the program closes it
    (or says nothing for ``wait_seconds``)."""
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], wait_seconds)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")
