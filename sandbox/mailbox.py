"""The sandbox clearinghouse's side of a local mailbox: answer each 837P that arrived.

``DIR/inbound`` holds what practices uploaded; answers go to ``DIR/outbound`` as
``<stem>.ta1`` (broken envelope), ``<stem>.999``, ``<stem>.277`` (277CA) and
``<stem>.835``, each only when the clearinghouse has that answer; answered
inputs move to ``DIR/done``.  Control numbers of the sandbox's own
interchanges come from a counter file so they never repeat.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from domain import clock
from outbox.files import ensure_private_dir, write_private
from sandbox.clearinghouse import answer_837

COUNTER_NAME = ".sandbox-control-number"


def _next_control_numbers(root: Path, count: int) -> int:
    path = root / COUNTER_NAME
    current = int(path.read_text()) if path.exists() else 700000000
    temp = root / f"{COUNTER_NAME}.{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(str(current + count))
    os.replace(temp, path)
    return current + 1


def process_mailbox(root: Path, *, today: date | None = None) -> list[tuple[str, list[str]]]:
    inbound = ensure_private_dir(root / "inbound")
    outbound = ensure_private_dir(root / "outbound")
    done = ensure_private_dir(root / "done")
    answered = []
    for path in sorted(inbound.iterdir()):
        if not path.is_file() or path.name.endswith(".part") or path.name.startswith("."):
            continue
        text = path.read_bytes().decode("ascii", errors="replace")
        first = _next_control_numbers(root, 10)
        answer = answer_837(text, today=today or clock.today(), first_control_number=first)
        stem = path.stem
        outputs = []
        for suffix, text_out in (
            ("ta1", answer.ta1),
            ("999", answer.ack_999),
            ("277", answer.claim_ack_277),
            ("835", answer.remit_835),
        ):
            if text_out:
                write_private(outbound / f"{stem}.{suffix}", text_out.encode("ascii"))
                outputs.append(f"{stem}.{suffix}")
        path.rename(done / path.name)
        answered.append((path.name, outputs))
    return answered
