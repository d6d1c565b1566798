"""Issue 18's exit-code policy at the command line: input paths checked by click before any work,
a clearinghouse that cannot be reached is exit 2 from ``fetch`` (and an error step in nightly)."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

from runtime.config import DEFAULT_CONFIG_NAME
from tests.sshd_server import SshdServer, sshd  # noqa: F401 - the fixture
from tests.test_cli_failures import _cli, _practice
from tests.test_send_fetch_sftp import Practice
from usecases.setup import create_ledger


def test_input_paths_are_checked_before_any_work(tmp_path: Path) -> None:
    folder = _practice(tmp_path / "practice", f"sqlite+pysqlite:///{tmp_path / 'l.db'}")
    absent = str(tmp_path / "absent.csv")
    for args in (["ingest", absent], ["ingest", str(tmp_path)], ["post", absent], ["validate", absent],
                 ["correct", "HL-1", "--from", absent], ["ingest", "--profile", absent, absent]):
        result = _cli(folder, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "does not exist" in result.stderr or "is a directory" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nobody listens once it is closed


def test_fetch_exits_2_when_the_clearinghouse_cannot_be_reached(tmp_path: Path, sshd: SshdServer) -> None:  # noqa: F811
    folder = tmp_path / "practice"
    folder.mkdir(mode=0o700)
    practice = Practice(folder, sshd.root / "boxes" / uuid.uuid4().hex, sshd)
    practice.configure(port=_closed_port(), retries=0, connect_timeout=2.0)
    create_ledger(practice.config_path)
    result = _cli(folder, "fetch")
    assert result.returncode == 2, result.stderr
    said = [line for line in result.stderr.splitlines() if line.startswith("bhclaims: ")]
    assert len(said) == 1 and "Traceback" not in result.stderr, result.stderr
    nightly = _cli(folder, "nightly", "--json")
    assert nightly.returncode == 2, nightly.stderr


def test_fetch_from_a_reachable_clearinghouse_exits_0(tmp_path: Path, sshd: SshdServer) -> None:  # noqa: F811
    folder = tmp_path / "practice"
    folder.mkdir(mode=0o700)
    box = sshd.root / "boxes" / uuid.uuid4().hex
    for sub in ("outbound", "inbound", "archive"):
        (box / sub).mkdir(parents=True)
    practice = Practice(folder, box, sshd)
    practice.configure()
    create_ledger(practice.config_path)
    result = _cli(folder, "fetch")
    assert result.returncode == 0, result.stderr


def test_an_unknown_database_kind_is_said_as_such(tmp_path: Path) -> None:
    folder = _practice(tmp_path / "practice", f"sqlite+pysqlite:///{tmp_path / 'l.db'}")
    by_option = _cli(folder, "--db", "mysql://billing@db.internal/bhclaims", "claims")
    by_env = _cli(folder, "claims", BHCLAIMS_DATABASE_URL="mysql://billing@db.internal/bhclaims")
    config = folder / DEFAULT_CONFIG_NAME
    config.write_text(config.read_text().replace('url = ""', 'url = "mysql://billing@db.internal/bhclaims"'))
    by_config = _cli(folder, "claims", BHCLAIMS_DATABASE_URL="")
    init = _cli(tmp_path, "--db", "mysql://billing@db.internal/bhclaims", "init", str(tmp_path / "new"))
    for result in (by_option, by_env, by_config, init):
        assert result.returncode == 2, result.stderr
        said = [line for line in result.stderr.splitlines() if line.startswith("bhclaims: ")]
        assert len(said) == 1 and "unknown database kind 'mysql'" in said[0], result.stderr
        assert "billing@db.internal" not in result.stderr and "Traceback" not in result.stderr
    no_kind = _cli(folder, "--db", "billing-db", "claims")
    assert no_kind.returncode == 2 and "database URL with no kind" in no_kind.stderr
    driver = _cli(folder, "--db", "postgresql+asyncpg://db.internal/bhclaims", "claims")
    assert driver.returncode == 2 and "database driver 'asyncpg' is not installed" in driver.stderr
