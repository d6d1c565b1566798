"""A batch whose file is not in this host's outbox is said and skipped; the other batches go out.

Two hosts on one PostgreSQL ledger each build into their own outbox unless they share it
(docs/scaling.md); a batch built on one is listed on the other too.  Before, the first such
batch ended the whole `send` with a file-not-found error, so no batch behind it went out.
"""

from __future__ import annotations

from pathlib import Path

from ledger.db import Ledger
from outbox.local import LocalDirTransport
from outbox.sender import send_batches
from tests.ledger_helpers import practice_with_batches
from tests.test_send_fetch_sftp import send_states


def test_a_batch_missing_from_this_outbox_is_skipped_in_words_and_the_rest_are_sent(
    tmp_path: Path, ledger_url: str
) -> None:
    config = practice_with_batches(tmp_path / "practice", ledger_url, ["OUT-1", "OUT-2", "OUT-3"])
    names = sorted(p.name for p in config.outbox_dir.iterdir())
    assert len(names) == 3
    (config.outbox_dir / names[0]).unlink()  # built on "the other host": not in this outbox
    mailbox = LocalDirTransport(config.base_dir / "clearinghouse")
    ledger = Ledger(ledger_url)
    try:
        report = send_batches(ledger, config, mailbox, actor="test")
    finally:
        ledger.dispose()
    assert sorted(report.sent) == names[1:]
    assert [name for name, _why in report.failed] == [names[0]]
    assert "not in this host's outbox" in report.failed[0][1]
    assert sorted(p.name for p in mailbox.inbound.iterdir()) == names[1:]
    batches, _, _ = send_states(Ledger(ledger_url))
    assert batches == {names[0]: "built", names[1]: "sent", names[2]: "sent"}
