"""A batch whose file is not in this host's outbox is said and skipped; the other batches go out.

Two hosts on one PostgreSQL ledger each build into their own outbox unless they share it
(docs/scaling.md); a batch built on one is listed on the other too.  Before, the first such
batch ended the whole `send` with a file-not-found error, so no batch behind it went out.
"""

from __future__ import annotations

from pathlib import Path

from domain import clock
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from outbox.batches import build_batches
from outbox.local import LocalDirTransport
from outbox.sender import send_batches
from runtime.config import DEFAULT_CONFIG_NAME, load_config, starter_config
from tests.claim_factory import make_claim
from tests.ledger_helpers import no_findings
from tests.test_send_fetch_sftp import send_states
from usecases.setup import create_ledger


def test_a_batch_missing_from_this_outbox_is_skipped_in_words_and_the_rest_are_sent(
    tmp_path: Path, ledger_url: str
) -> None:
    folder = tmp_path / "practice"
    folder.mkdir(mode=0o700)
    path = folder / DEFAULT_CONFIG_NAME
    path.write_text(starter_config(transport_url="file://./clearinghouse")
                    .replace("claims_per_file = 5000", "claims_per_file = 1"))
    config = create_ledger(path, ledger_url)
    ledger = Ledger(ledger_url)
    try:
        ingest_claims(ledger, [make_claim(f"OUT-{n}") for n in (1, 2, 3)], checker=no_findings, actor="test")
        built = build_batches(ledger, load_config(path, ledger_url), checker=no_findings, actor="test",
                              now=clock.now())
        names = sorted(Path(f).name for f in built.files)
        assert len(names) == 3
        (config.outbox_dir / names[0]).unlink()  # built on "the other host": not in this outbox
        mailbox = LocalDirTransport(folder / "clearinghouse")
        report = send_batches(ledger, config, mailbox, actor="test")
    finally:
        ledger.dispose()
    assert sorted(report.sent) == names[1:]
    assert [name for name, _why in report.failed] == [names[0]]
    assert "not in this host's outbox" in report.failed[0][1]
    assert sorted(p.name for p in mailbox.inbound.iterdir()) == names[1:]
    batches, _, _ = send_states(Ledger(ledger_url))
    assert batches == {names[0]: "built", names[1]: "sent", names[2]: "sent"}
