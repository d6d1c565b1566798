"""Nothing at the clearinghouse is passed over in silence (reliability items 46 and 47).

Every regular file in the reply folder is fetched whatever its name (spaces,
parentheses, a newline, an escape sequence, 200 characters, bytes that are not
UTF-8) under a safe local name, with the remote name kept whole in the ledger.
Symlinks (never followed), folders and pipes are listed as needing a human and the
command exits 1.  A reply that never completes (half an 835, a NOTICE.txt) waits,
then is raised to a human once older than ``[transport] incomplete_reply_hours``.

Each case runs over SFTP against the real OpenSSH server and over the local-folder
mailbox, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from domain import clock
from ledger.db import Ledger
from ledger.models import InboundWaiting, Transmission
from outbox.fetcher import fetch_files
from outbox.transport import LOCAL_NAME_LIMIT, check_listed_name, local_name
from runtime.config import DEFAULT_CONFIG_NAME, load_config, starter_config
from runtime.escaping import visible
from tests.cli_in_process import run_bhclaims
from tests.sshd_server import SshdServer, sshd  # noqa: F401 - the fixture
from tests.test_send_fetch_sftp import Practice, reply
from usecases.app import App
from usecases.setup import create_ledger

SAFE_LOCAL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")

AWKWARD_NAMES = [
    "ERA 20261206 (1).835",
    "R" * 200 + ".835",
    "new\nline.ta1",
    "bell\x07and\x1b[31mred.999",
    "-rf.835",
    "percent%2F..%2Fx.835",
    "ERA_ÄÖ 2026.835",
]
LATIN1_NAME = b"caf\xe9 (latin-1).835"  # not UTF-8: the listing must not fail over it


@dataclass
class Mailbox:
    """A practice whose clearinghouse is the test sshd (``sftp``) or a local folder (``local``)."""

    folder: Path
    replies: Path  # where the clearinghouse leaves replies for us
    db_url: str

    @property
    def config_path(self) -> Path:
        return self.folder / DEFAULT_CONFIG_NAME

    def app(self) -> App:
        return App(load_config(self.config_path, self.db_url), actor="test")

    def fetch(self) -> object:
        app = self.app()
        transport = app.transport()
        try:
            return fetch_files(app.ledger, app.config, transport)
        finally:
            transport.close()
            app.close()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_bhclaims(["--db", self.db_url, *args], cwd=self.folder)

    def ledger(self) -> Ledger:
        return Ledger(self.db_url)

    def inbound_rows(self) -> list[tuple[str, str | None, str]]:
        ledger = self.ledger()
        try:
            with ledger.session() as session:
                return [
                    tuple(row)  # type: ignore[misc]
                    for row in session.execute(
                        select(Transmission.file_name, Transmission.remote_name, Transmission.local_path)
                        .where(Transmission.direction == "in")
                        .order_by(Transmission.id)
                    )
                ]
        finally:
            ledger.dispose()


@pytest.fixture(params=["sftp", "local"])
def mailbox(request: pytest.FixtureRequest, tmp_path: Path, ledger_url: str) -> Iterator[Mailbox]:
    folder = tmp_path / "practice"
    folder.mkdir(mode=0o700)
    if request.param == "sftp":
        server: SshdServer = request.getfixturevalue("sshd")
        box = server.root / "boxes" / uuid.uuid4().hex
        for sub in ("outbound", "inbound", "archive"):
            (box / sub).mkdir(parents=True)
        Practice(folder, box, server).configure(retries=0)
        replies = box / "inbound"
    else:
        (folder / DEFAULT_CONFIG_NAME).write_text(starter_config(transport_url="file://./clearinghouse"))
        replies = folder / "clearinghouse" / "outbound"
        replies.mkdir(parents=True, mode=0o700)
    create_ledger(folder / DEFAULT_CONFIG_NAME, ledger_url)  # a copy at the head: the folders made
    yield Mailbox(folder, replies, ledger_url)


def _offer(folder: Path, name: str | bytes, number: int) -> bytes:
    data = reply(number)
    path = os.path.join(os.fsencode(folder), name) if isinstance(name, bytes) else folder / name
    with open(path, "wb") as handle:
        handle.write(data)
    return data


def _inbox(mailbox: Mailbox) -> list[Path]:
    return sorted(p for p in (mailbox.folder / "inbox").iterdir() if p.is_file())


# ---- every regular file, any name -------------------------------------------------------


def test_every_reply_is_fetched_whatever_its_name(mailbox: Mailbox) -> None:
    contents = {name: _offer(mailbox.replies, name, n) for n, name in enumerate(AWKWARD_NAMES, start=1)}
    latin1 = _offer(mailbox.replies, LATIN1_NAME, 99)

    result = mailbox.cli("fetch")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr  # the escape sequence is shown, not sent
    assert "bell\\x07and\\x1b[31mred.999" in result.stdout
    assert "new\\nline.ta1" in result.stdout

    rows = mailbox.inbound_rows()
    assert len(rows) == len(AWKWARD_NAMES) + 1
    by_remote = {remote: (name, path) for name, remote, path in rows}
    expected_remote = [visible(name) for name in AWKWARD_NAMES] + [visible(os.fsdecode(LATIN1_NAME))]
    assert sorted(by_remote) == sorted(expected_remote)  # the remote name kept whole
    inbox = (mailbox.folder / "inbox").resolve()
    for name, data in [*contents.items(), (os.fsdecode(LATIN1_NAME), latin1)]:
        file_name, local_path = by_remote[visible(name)]
        assert SAFE_LOCAL.fullmatch(file_name) and len(file_name) <= 128, file_name
        kept = Path(local_path)
        assert kept.parent == inbox and SAFE_LOCAL.fullmatch(kept.name)  # never outside the inbox
        assert kept.read_bytes() == data
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert len(_inbox(mailbox)) == len(rows)
    assert os.listdir(mailbox.replies) == []  # each taken off the list once recorded

    again = mailbox.cli("fetch")
    assert again.returncode == 0 and len(mailbox.inbound_rows()) == len(rows)


def test_a_plain_name_keeps_its_name(mailbox: Mailbox) -> None:
    _offer(mailbox.replies, "R1.ta1", 1)
    report = mailbox.fetch()
    assert report.fetched == ["R1.ta1"]  # type: ignore[attr-defined]
    ((file_name, remote_name, local_path),) = mailbox.inbound_rows()
    assert (file_name, remote_name) == ("R1.ta1", "R1.ta1") and local_path.endswith("-R1.ta1")


# ---- what cannot be fetched is raised, never followed -----------------------------------


def test_symlinks_folders_and_pipes_need_a_human_and_are_never_followed(mailbox: Mailbox, tmp_path: Path) -> None:
    secret = tmp_path / "not-for-the-ledger.835"
    secret.write_bytes(reply(77))
    os.symlink(secret, mailbox.replies / "ERA-link.835")
    _offer(mailbox.replies, "inside.835", 5)
    os.symlink(mailbox.replies / "inside.835", mailbox.replies / "link-to-inside.835")
    (mailbox.replies / "a folder").mkdir()
    _offer(mailbox.replies / "a folder", "R9.835", 9)
    os.mkfifo(mailbox.replies / "pipe.835")

    result = mailbox.cli("fetch")
    assert result.returncode == 1, result.stdout + result.stderr
    needs = [line for line in result.stderr.splitlines() if line.startswith("needs a human: ")]
    assert len(needs) == 4, result.stderr
    for name, words in (
        ("ERA-link.835", "symbolic link"),
        ("link-to-inside.835", "symbolic link"),
        ("a folder", "is a folder"),
        ("pipe.835", "not a regular file"),
    ):
        assert any(line.startswith(f"needs a human: {name} ") and words in line for line in needs), name
    assert "fetched inside.835" in result.stdout

    rows = mailbox.inbound_rows()
    assert [remote for _, remote, _ in rows] == ["inside.835"]  # the links' targets were not read
    assert all(Path(local_path).read_bytes() != reply(77) for _, _, local_path in rows)
    assert secret.read_bytes() == reply(77)
    assert sorted(os.listdir(mailbox.replies)) == ["ERA-link.835", "a folder", "link-to-inside.835", "pipe.835"]

    nightly_line = mailbox.cli("fetch")
    assert nightly_line.returncode == 1  # raised again each run until a human acts


def test_a_name_that_is_not_a_file_name_never_reaches_our_disk(mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile server may list a path; it is raised, not fetched, and nothing is written for it."""
    from outbox import local, sftp
    from outbox.transport import RemoteFile

    def listing(_self: object) -> list[RemoteFile]:
        return [RemoteFile("../../escape.835", 10, 0.0), RemoteFile("dir/x.835", 10, 0.0), RemoteFile("..", 1, 0.0)]

    monkeypatch.setattr(sftp.SftpTransport, "list_inbound", listing)
    monkeypatch.setattr(local.LocalDirTransport, "list_inbound", listing)
    report = mailbox.fetch()
    assert [name for name, _ in report.needs_human] == ["../../escape.835", "dir/x.835", ".."]  # type: ignore[attr-defined]
    assert mailbox.inbound_rows() == [] and _inbox(mailbox) == []
    assert not (mailbox.folder / "escape.835").exists() and not (mailbox.folder.parent / "escape.835").exists()


def test_a_file_swapped_for_a_symlink_after_the_listing_is_not_followed(
    mailbox: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing said "file"; by the time it is opened it is a link: lstat (SFTP) / O_NOFOLLOW refuse it."""
    from dataclasses import replace

    from outbox import local, sftp

    secret = tmp_path / "not-for-the-ledger.835"
    secret.write_bytes(reply(78))
    os.symlink(secret, mailbox.replies / "R1.835")
    for transport in (sftp.SftpTransport, local.LocalDirTransport):
        listed = transport.list_inbound

        def as_files(self: object, listed: object = listed) -> list[object]:
            return [replace(entry, kind="file", settled=True) for entry in listed(self)]  # type: ignore[operator]

        monkeypatch.setattr(transport, "list_inbound", as_files)
    report = mailbox.fetch()
    assert report.fetched == []  # type: ignore[attr-defined]
    ((name, why),) = report.failed  # type: ignore[attr-defined]
    assert name == "R1.835" and ("symbolic link" in why or "not a regular file" in why), why
    assert mailbox.inbound_rows() == [] and _inbox(mailbox) == []
    assert os.path.islink(mailbox.replies / "R1.835")


# ---- replies that never complete ---------------------------------------------------------


def _backdate(mailbox: Mailbox, hours: float) -> None:
    ledger = mailbox.ledger()
    try:
        with ledger.session() as session:
            session.execute(update(InboundWaiting).values(first_seen=clock.now() - timedelta(hours=hours)))
    finally:
        ledger.dispose()


def _waiting_rows(mailbox: Mailbox) -> list[str]:
    ledger = mailbox.ledger()
    try:
        with ledger.session() as session:
            return sorted(session.scalars(select(InboundWaiting.remote_name)))
    finally:
        ledger.dispose()


def test_a_reply_that_never_completes_is_raised_after_the_settable_age(mailbox: Mailbox) -> None:
    whole = reply(3)
    half = whole[: whole.index(b"IEA")]
    (mailbox.replies / "ERA half.835").write_bytes(half)
    (mailbox.replies / "NOTICE.txt").write_bytes(b"Our SFTP server moves on 2026-12-01.\n")
    (mailbox.replies / "R4.835.part").write_bytes(reply(4))

    first = mailbox.cli("fetch")
    assert first.returncode == 0, first.stderr  # young: left for the next run
    assert "ERA half.835 is incomplete" in first.stdout and "NOTICE.txt is incomplete" in first.stdout
    assert "R4.835.part is incomplete" in first.stdout
    assert _waiting_rows(mailbox) == ["ERA half.835", "NOTICE.txt", "R4.835.part"]
    assert mailbox.inbound_rows() == []

    _backdate(mailbox, 23)
    assert mailbox.cli("fetch").returncode == 0  # 23 h < 24 h (the default)

    _backdate(mailbox, 25)
    late = mailbox.cli("fetch")
    assert late.returncode == 1, late.stdout
    raised = [line for line in late.stderr.splitlines() if line.startswith("needs a human: ")]
    assert len(raised) == 3, late.stderr
    assert any("ERA half.835 has no IEA trailer" in line and "25 h" in line for line in raised)
    assert any("NOTICE.txt has no IEA trailer" in line for line in raised)
    assert any("R4.835.part is still being written" in line for line in raised)
    assert mailbox.inbound_rows() == []  # raised, never imported half

    (mailbox.replies / "ERA half.835").write_bytes(whole)  # the clearinghouse finishes it
    (mailbox.replies / "NOTICE.txt").unlink()  # and takes the notice away
    (mailbox.replies / "R4.835.part").rename(mailbox.replies / "R4.835")
    done = mailbox.cli("fetch")
    assert done.returncode == 0, done.stderr
    assert sorted(remote for _, remote, _ in mailbox.inbound_rows()) == ["ERA half.835", "R4.835"]
    assert _waiting_rows(mailbox) == []  # fetched or gone: forgotten


def test_the_age_is_a_setting(mailbox: Mailbox) -> None:
    text = mailbox.config_path.read_text().replace("[transport]\n", "[transport]\nincomplete_reply_hours = 0\n", 1)
    mailbox.config_path.write_text(text)
    (mailbox.replies / "NOTICE.txt").write_bytes(b"not X12\n")
    result = mailbox.cli("fetch")
    assert result.returncode == 1 and "needs a human: NOTICE.txt has no IEA trailer" in result.stderr

    mailbox.config_path.write_text(text.replace("incomplete_reply_hours = 0", 'incomplete_reply_hours = "soon"'))
    refused = mailbox.cli("fetch")
    assert refused.returncode == 2 and "incomplete_reply_hours must be a number of hours" in refused.stderr


# ---- local names ---------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=300))
def test_local_names_are_safe_bounded_and_tell_remote_names_apart(name: str) -> None:
    local = local_name(name)
    assert SAFE_LOCAL.fullmatch(local) and len(local) <= LOCAL_NAME_LIMIT + 13
    assert local not in (".", "..")
    if local == name:
        assert SAFE_LOCAL.fullmatch(name)
    else:
        assert local_name(name + "x") != local  # the digest sets apart names that clean alike


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "nul\x00.835"])
def test_names_that_are_not_file_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_listed_name(name)
