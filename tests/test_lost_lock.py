"""A mailbox lock whose PostgreSQL session ends mid-run stops the run before its next step.

On a PostgreSQL ledger the mailbox lock is an advisory lock held by one session; the
server lets it go when that session ends (a restart, `pg_terminate_backend`, a dropped
network).  The process that thought it held the lock must not go on uploading while
another host may now hold it: it confirms the lock before each batch and before the
rename that delivers a file, and the rerun finishes what it left, exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.advisory import LockLost, advisory_key, advisory_lock
from ledger.db import Ledger
from outbox.local import LocalDirTransport
from outbox.lock import mailbox_lock
from outbox.sender import send_batches
from runtime.config import Config
from tests.ledger_helpers import practice_with_batches
from tests.test_send_fetch_sftp import send_states


def _end_the_lock_session(url: str, name: str) -> None:
    """End the session holding advisory lock ``name``, as a server restart would (other sessions live on)."""
    key = advisory_key(name)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        ended = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 1",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        ).fetchall()
    assert ended == [(True,)], ended


def test_confirm_raises_once_the_holding_session_ended_and_the_lock_is_free_again(pg_ledger_url: str) -> None:
    with advisory_lock(pg_ledger_url, "probe") as hold:
        hold.confirm()  # held: nothing to say
        _end_the_lock_session(pg_ledger_url, "probe")
        with pytest.raises(LockLost, match="probe lock ended") as lost:
            hold.confirm()
        assert "run it again" in str(lost.value)
        with advisory_lock(pg_ledger_url, "probe"):  # what makes going on dangerous: someone else can take it
            pass


def test_a_file_lock_is_never_lost(tmp_path: Path) -> None:
    with mailbox_lock(tmp_path / "state", "clearinghouse") as hold:
        hold.confirm()


class _LockEndsBeforeRename:
    """A local clearinghouse where the lock's session ends after the first file's temp copy is written."""

    def __init__(self, inner: LocalDirTransport, url: str) -> None:
        self.inner = inner
        self.url = url
        self.cut = False

    def upload(self, local_path: Path, remote_name: str, *, before_rename: Any = None) -> None:
        def cut_then_continue() -> None:
            if not self.cut:
                self.cut = True
                _end_the_lock_session(self.url, "mailbox:clearinghouse")
            before_rename()

        self.inner.upload(local_path, remote_name, before_rename=cut_then_continue)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def practice(tmp_path: Path, pg_ledger_url: str) -> Config:
    """Two claims built into two 837P files, not yet sent, on a PostgreSQL ledger."""
    return practice_with_batches(tmp_path / "practice", pg_ledger_url, ["LOCK-1", "LOCK-2"])


def test_a_send_whose_lock_session_ends_stops_before_the_rename_and_the_rerun_delivers_once(
    practice: Config, pg_ledger_url: str
) -> None:
    mailbox = LocalDirTransport(practice.base_dir / "clearinghouse")
    cutting = _LockEndsBeforeRename(mailbox, pg_ledger_url)
    ledger = Ledger(pg_ledger_url)
    try:
        with pytest.raises(LockLost):
            send_batches(ledger, practice, cutting, actor="test")
    finally:
        ledger.dispose()
    assert cutting.cut
    assert [p.name for p in mailbox.inbound.iterdir() if not p.name.endswith(".part")] == []  # not delivered
    batches, _, _ = send_states(Ledger(pg_ledger_url))
    assert sorted(batches.values()) == ["built", "uploading"]  # the second batch was never started

    ledger = Ledger(pg_ledger_url)
    try:
        again = send_batches(ledger, practice, mailbox, actor="test")
    finally:
        ledger.dispose()
    assert sorted(again.sent) == sorted(batches)
    delivered = sorted(p.name for p in mailbox.inbound.iterdir())
    assert delivered == sorted(batches)  # each file once, no temp name left
    final, transmissions, _ = send_states(Ledger(pg_ledger_url))
    assert set(final.values()) == {"sent"}
    assert all(states[-1] == "sent" for states in transmissions.values()), transmissions
