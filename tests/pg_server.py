"""A real PostgreSQL server for the suite: initdb in a temp dir, listening on 127.0.0.1.

The cluster runs as the ``postgres`` OS user when the suite runs as root
(initdb refuses root).  Each test that asks for ``pg_url`` gets a new empty
database, so tests never see each other's rows; ``pg_ledger_url`` gets a new database
already at the head revision, copied (``CREATE DATABASE ... TEMPLATE``) from one the
server migrated once, because running Alembic for every test costs more than the test.

Under pytest-xdist every worker is its own session and starts its own cluster on its own
port and folder, so workers share nothing but the CPU.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PostgresServer:
    def __init__(self) -> None:
        bindir = _pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (run scripts/ensure-postgres.sh)")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="bhclaims-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                                        "--auth=trust", "--encoding=UTF8", "--no-sync"]),
                       check=True, capture_output=True)
        self.port = self._start()
        self.admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._ledger_template: str | None = None

    def _start(self) -> int:
        """Start on a free port; another try on another port if one was taken between probing and
        binding (several pytest-xdist workers start their clusters at the same moment)."""
        for _ in range(4):
            port = _free_port()
            if self._pg_ctl_start(port).returncode == 0:
                return port
        port = _free_port()
        self._pg_ctl_start(port).check_returncode()
        return port

    def _pg_ctl_start(self, port: int) -> subprocess.CompletedProcess[bytes]:
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.root} -c fsync=off -c full_page_writes=off"
        return subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                                               "-l", str(self.root / "server.log"), "-w", "-t", "60", "start"]),
                              capture_output=True)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template`` (which nobody may be connected to)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by ``create_database`` (nobody may be connected to it)."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}"')

    def create_ledger(self) -> str:
        """A new database at the head revision: a copy of the template migrated on first use."""
        if self._ledger_template is None:
            from ledger.db import upgrade

            url = self.create_database()
            upgrade(url)  # the migration's engine is disposed after: nobody stays connected
            self._ledger_template = url.rsplit("/", 1)[1]
        return self.create_database(template=self._ledger_template)

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                        "-w", "stop"]), capture_output=True)
        for _ in range(50):
            if not (self.data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A new empty database."""
    return postgres_server.create_database()


@pytest.fixture
def pg_ledger_url(postgres_server: PostgresServer) -> str:
    """A new database with the ledger schema at the head revision."""
    return postgres_server.create_ledger()
