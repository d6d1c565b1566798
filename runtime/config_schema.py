"""Which sections and keys a ``bhclaims.toml`` may hold, and what a missing one means.

A typo in the config (``[transprot]``, ``keypath``) would otherwise be read as "not set"
and the default used in silence; every unknown name is said, with the file and the
nearest known name.  ``[rules]``, ``[supervision]`` and ``[claim_filing_codes]`` name rule
codes and lines of business: their own readers check them (``validators.settings``,
``runtime.config``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

# Keys of the [transport] table for an sftp:// link (outbox.sftp.SftpSettings, less the
# url's own parts); they may stay in the file while the url is file://.
SFTP_KEYS = frozenset({
    "key_path", "known_hosts", "passphrase_env", "passphrase_file", "remote_outbound_dir", "remote_inbound_dir",
    "archive_dir", "moves_on_arrival", "connect_timeout", "op_timeout", "retries", "backoff", "stable_interval",
    "temp_suffix",
})

# What an sftp:// link cannot work without, in words a clerk can act on.
SFTP_REQUIRED = {
    "key_path": 'the private key file we log in with, e.g. key_path = "/etc/bhclaims/id_ed25519"',
    "known_hosts": "the known_hosts file that pins the clearinghouse's host key, "
                   'e.g. known_hosts = "/etc/bhclaims/known_hosts" (see docs/sftp.md)',
}

SECTIONS: Mapping[str, frozenset[str] | None] = {
    "submitter": frozenset({"id", "name", "contact_name", "contact_phone"}),
    "receiver": frozenset({"id", "name"}),
    "interchange": frozenset({"usage", "claims_per_transaction", "claims_per_file"}),
    "database": frozenset({"url", "pool_size", "statement_timeout_seconds"}),
    "paths": frozenset({"outbox", "inbox", "state", "drop", "reports"}),
    "transport": frozenset({"url", "incomplete_reply_hours"}) | SFTP_KEYS,
    "payer": frozenset({"name", "ids", "trn03_ids"}),
    "claim_filing_codes": None,
    "supervision": None,
    "rules": None,
}


def schema_problems(data: Mapping[str, Any]) -> list[str]:
    """Every section and key of ``data`` the config does not know, in file order, in words."""
    problems: list[str] = []
    for section, table in data.items():
        if section not in SECTIONS:
            problems.append(f"unknown section [{section}]{_nearest(section, SECTIONS)}")
            continue
        keys = SECTIONS[section]
        if not isinstance(table, dict):
            problems.append(f"[{section}] must be a table (a [{section}] header with keys under it)")
            continue
        if keys is None:
            continue
        for key in table:
            if key not in keys:
                problems.append(f"unknown key {key!r} in [{section}]{_nearest(key, keys)}")
    return problems


def missing_sftp_keys(transport: Mapping[str, Any]) -> list[str]:
    """What an sftp:// link lacks, each said as what it is for."""
    return [f"[transport] {key} is missing: an sftp:// link needs {meaning}"
            for key, meaning in SFTP_REQUIRED.items() if not str(transport.get(key) or "").strip()]


def _nearest(name: str, known: Mapping[str, Any] | frozenset[str]) -> str:
    close = difflib.get_close_matches(name.lower(), sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
