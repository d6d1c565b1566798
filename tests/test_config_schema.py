"""bhclaims.toml is checked against its schema (issue 18): an unknown section or key is named
with the file (and the nearest known name), an sftp:// link's missing key is said in words,
an unknown database kind is said as such — never a Python error's words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.config import DATABASE_URL_ENV, ConfigError, load_config, starter_config

REPO = Path(__file__).resolve().parent.parent
SFTP_URL = "sftp://billing@sftp.example.test:2222/"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bhclaims.toml"
    path.write_text(text)
    return path


def _starter(**replace: str) -> str:
    text = starter_config(transport_url="file://./clearinghouse")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


def test_the_starter_config_passes_the_schema(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, _starter()))
    assert config.transport_url == "file://./clearinghouse"


def test_an_unknown_section_is_named_with_the_file_and_the_nearest_section(tmp_path: Path) -> None:
    path = _config(tmp_path, _starter() + '\n[transprot]\nurl = "file://x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: unknown section [transprot] (did you mean 'transport'?)"


def test_every_unknown_key_is_named_in_one_message(tmp_path: Path) -> None:
    path = _config(tmp_path, _starter(**{'name = "SANDBOX CLEARINGHOUSE"\n': 'name = "SANDBOX CLEARINGHOUSE"\ncolour = "blue"\n',
                                         'drop = "drop"': 'outbx = "o"\ndrop = "drop"'}))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "unknown key 'colour' in [receiver]" in message
    assert "unknown key 'outbx' in [paths] (did you mean 'outbox'?)" in message


def test_a_scalar_where_a_section_belongs_is_said(tmp_path: Path) -> None:
    path = _config(tmp_path, 'payer = "87726"\n' + _starter(**{"[payer]\n": "\n"}))
    with pytest.raises(ConfigError, match=r"\[payer\] must be a table"):
        load_config(path)


def test_rule_codes_and_lines_of_business_are_left_to_their_own_readers(tmp_path: Path) -> None:
    path = _config(tmp_path, _starter(**{"[rules]\n": '[rules]\n"OPT-TF-90" = "warning"\n'}))
    assert load_config(path).rules == {"OPT-TF-90": "warning"}


@pytest.mark.parametrize("missing", ["key_path", "known_hosts"])
def test_a_missing_sftp_key_is_said_in_words(tmp_path: Path, missing: str) -> None:
    keys = {"key_path": '"/etc/bhclaims/id_ed25519"', "known_hosts": '"/etc/bhclaims/known_hosts"'}
    lines = "".join(f"{key} = {value}\n" for key, value in keys.items() if key != missing)
    path = _config(tmp_path, _starter(**{'url = "file://./clearinghouse"\n': f'url = "{SFTP_URL}"\n{lines}'}))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert f"[transport] {missing} is missing: an sftp:// link needs" in message
    assert "__init__" not in message and "SftpSettings" not in message


def test_a_complete_sftp_transport_loads(tmp_path: Path) -> None:
    path = _config(tmp_path, _starter(**{'url = "file://./clearinghouse"\n':
                                         f'url = "{SFTP_URL}"\nkey_path = "id"\nknown_hosts = "kh"\nretries = 1\n'}))
    config = load_config(path)
    assert config.transport_options == {"key_path": "id", "known_hosts": "kh", "retries": 1}


@pytest.mark.parametrize("url, said", [("mysql://billing@db/bhclaims", "database kind 'mysql'"),
                                       ("oracle+cx_oracle://billing@db/x", "database kind 'oracle'"),
                                       ("/var/lib/bhclaims.db", "database URL with no kind (no '://')")])
def test_an_unknown_database_kind_is_said_as_such(tmp_path: Path, url: str, said: str) -> None:
    path = _config(tmp_path, _starter(**{'url = ""': f'url = "{url}"'}))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: [database] url: unknown {said}: ")
    assert "SQLite" in str(caught.value) and "PostgreSQL" in str(caught.value)


def test_a_database_driver_not_installed_is_said_and_the_url_never_shown(tmp_path: Path) -> None:
    path = _config(tmp_path, _starter())
    with pytest.raises(ConfigError) as caught:
        load_config(path, "postgresql+psycopg2://billing:s3cret@db/bhclaims")
    assert str(caught.value) == ("--db: database driver 'psycopg2' is not installed with bhclaims: "
                                 "write postgresql+psycopg://")
    assert "s3cret" not in str(caught.value)


def test_a_postgresql_url_without_a_driver_uses_the_installed_one(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://billing@db.internal/bhclaims")
    assert load_config(_config(tmp_path, _starter())).database_url == "postgresql+psycopg://billing@db.internal/bhclaims"


def test_the_cli_says_a_config_problem_in_one_line_exit_2(tmp_path: Path) -> None:
    _config(tmp_path, _starter(**{'url = ""': 'url = "mysql://billing@db/bhclaims"'}))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(DATABASE_URL_ENV, None)
    result = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "claims"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"bhclaims: {tmp_path / 'bhclaims.toml'}: [database] url: unknown database kind 'mysql': the ledger runs "
        "on SQLite (sqlite:///PATH, or an empty [database] url for bhclaims.db beside the config) or PostgreSQL "
        "(postgresql+psycopg://user@host/dbname)"]
