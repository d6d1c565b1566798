"""``bhclaims.toml``: who we are on the wire, where files live, which database, which link.

Paths in the file are relative to the file's own folder, so a config can be
moved with its data.  Secrets are never stored here: the SFTP key passphrase
comes from a file or an environment variable named in the config.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.claim import DEFAULT_SUPERVISED_BILLING, LineOfBusiness, SupervisedBilling
from domain.remittance import OurPayer
from runtime.config_names import DATABASE_URL_ENV
from runtime.config_names import (
    DEFAULT_CONFIG_NAME as DEFAULT_CONFIG_NAME,  # re-exported for callers of the config
)
from runtime.config_schema import missing_sftp_keys, schema_problems
from validators.settings import supervision_from_mapping

DEFAULT_INCOMPLETE_REPLY_HOURS = 24.0

DEFAULT_FILING_CODES = {
    LineOfBusiness.COMMERCIAL: "CI",
    LineOfBusiness.MEDICAID: "MC",
    LineOfBusiness.MEDICARE_ADVANTAGE: "16",
    LineOfBusiness.SCO: "16",
    LineOfBusiness.ONE_CARE: "16",
}


DEFAULT_POOL_SIZE = 5


class ConfigError(ValueError):
    """The configuration file is missing or says something we cannot use."""


@dataclass(frozen=True)
class Config:
    path: Path
    submitter_id: str
    submitter_name: str
    contact_name: str
    contact_phone: str
    receiver_id: str
    receiver_name: str
    usage_indicator: str
    claims_per_transaction: int
    claims_per_file: int
    database_url: str
    outbox_dir: Path
    inbox_dir: Path
    state_dir: Path
    drop_dir: Path
    reports_dir: Path
    transport_url: str
    transport_options: dict[str, Any]
    filing_codes: dict[LineOfBusiness, str]
    rules: dict[str, Any] = field(default_factory=dict)
    supervision: dict[LineOfBusiness, SupervisedBilling] = field(
        default_factory=lambda: dict(DEFAULT_SUPERVISED_BILLING)
    )
    # [transport] incomplete_reply_hours: a reply still incomplete this long needs a human
    incomplete_reply_hours: float = DEFAULT_INCOMPLETE_REPLY_HOURS
    payer: OurPayer = field(default_factory=OurPayer)
    # [database] pool_size: connections each process keeps open (PostgreSQL and SQLite alike)
    database_pool_size: int = DEFAULT_POOL_SIZE
    # [database] statement_timeout_seconds: PostgreSQL cancels a statement running longer; None = no limit
    database_statement_timeout_seconds: float | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _required(section: dict[str, Any], table: str, key: str) -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"[{table}] {key} is required")
    return value.strip()


def _id_list(section: dict[str, Any], key: str, default: frozenset[str], where: str) -> frozenset[str]:
    value = section.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: [payer] {key} must be a list of ids in quotes, e.g. [\"87726\"]")
    return frozenset(v.strip() for v in value)


def _our_payer(section: dict[str, Any], where: str) -> OurPayer:
    """``[payer]``: who Optum BH is on an 835 (see ``domain.remittance.OurPayer``)."""
    default = OurPayer()
    name = section.get("name", default.name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: [payer] name must be text")
    ids = _id_list(section, "ids", default.ids, where)
    if not ids:
        raise ConfigError(f"{where}: [payer] ids must name at least one id (nothing would ever be posted)")
    return OurPayer(name.strip(), ids, _id_list(section, "trn03_ids", default.trace_ids, where))


# The databases the ledger runs on, and the drivers installed with bhclaims for each ("": the
# URL names none; SQLAlchemy's default for postgresql is psycopg2, which is not installed).
DATABASE_DRIVERS = {"sqlite": ("pysqlite", ("", "pysqlite")), "postgresql": ("psycopg", ("psycopg",))}


def known_database_url(url: str, said_by: str) -> str:
    """The URL, if its database kind and driver are ones the ledger runs on; ``postgresql://``
    becomes ``postgresql+psycopg://``.  Only the kind is ever quoted: a URL may hold a password."""
    scheme, separator, rest = url.partition("://")
    kind, _, driver = scheme.lower().partition("+")
    if not separator or kind not in DATABASE_DRIVERS:
        shown = f"database kind {kind!r}" if separator else "database URL with no kind (no '://')"
        raise ConfigError(f"{said_by}: unknown {shown}: the ledger runs on SQLite (sqlite:///PATH, or an "
                          "empty [database] url for bhclaims.db beside the config) or PostgreSQL "
                          "(postgresql+psycopg://user@host/dbname)")
    installed, accepted = DATABASE_DRIVERS[kind]
    if kind == "postgresql" and not driver:
        return f"{kind}+{installed}://{rest}"
    if driver not in accepted:
        raise ConfigError(f"{said_by}: database driver {driver!r} is not installed with bhclaims: "
                          f"write {kind}+{installed}://")
    return url


def load_config(path: Path, database_url: str | None = None) -> Config:
    """Read and check the config; ``database_url`` (from --db) wins over env and file."""
    path = path.resolve()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (create one with `bhclaims init DIR`)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    problems = schema_problems(data)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    base = path.parent
    submitter = _section(data, "submitter")
    receiver = _section(data, "receiver")
    interchange = _section(data, "interchange")
    database = _section(data, "database")
    paths = _section(data, "paths")
    transport = dict(_section(data, "transport"))
    codes = _section(data, "claim_filing_codes")

    usage = str(interchange.get("usage", "T"))
    if usage not in ("T", "P"):
        raise ConfigError(f"{path}: [interchange] usage must be \"T\" (test) or \"P\" (production)")
    for key in ("claims_per_transaction", "claims_per_file"):
        value = interchange.get(key, 5000)
        if not isinstance(value, int) or not 1 <= value <= 5000:
            raise ConfigError(f"{path}: [interchange] {key} must be a whole number from 1 to 5000")

    filing = dict(DEFAULT_FILING_CODES)
    for key, value in codes.items():
        try:
            filing[LineOfBusiness(key)] = str(value)
        except ValueError:
            raise ConfigError(f"{path}: [claim_filing_codes] unknown line of business {key!r}") from None

    try:
        supervision = supervision_from_mapping(_section(data, "supervision"))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None

    if database_url:
        url, said_by = database_url, "--db"
    elif os.environ.get(DATABASE_URL_ENV):
        url, said_by = os.environ[DATABASE_URL_ENV], DATABASE_URL_ENV
    else:
        url, said_by = str(database.get("url", "")).strip(), f"{path}: [database] url"
    url = known_database_url(url, said_by) if url else f"sqlite+pysqlite:///{base / 'bhclaims.db'}"

    pool_size, statement_timeout = _database_limits(database, str(path))

    transport_url = str(transport.pop("url", "")).strip()
    if not transport_url:
        raise ConfigError(f"{path}: [transport] url is required (file://DIR or sftp://user@host:port/path)")
    if transport_url.startswith("sftp:"):
        missing = missing_sftp_keys(transport)
        if missing:
            raise ConfigError(f"{path}: " + "; ".join(missing))
    incomplete_hours = transport.pop("incomplete_reply_hours", DEFAULT_INCOMPLETE_REPLY_HOURS)
    if isinstance(incomplete_hours, bool) or not isinstance(incomplete_hours, int | float) or incomplete_hours < 0:
        raise ConfigError(f"{path}: [transport] incomplete_reply_hours must be a number of hours (0 or more)")

    def _dir(key: str, default: str) -> Path:
        return (base / str(paths.get(key, default))).resolve()

    return Config(
        path=path,
        submitter_id=_required(submitter, "submitter", "id"),
        submitter_name=_required(submitter, "submitter", "name"),
        contact_name=_required(submitter, "submitter", "contact_name"),
        contact_phone=_required(submitter, "submitter", "contact_phone"),
        receiver_id=_required(receiver, "receiver", "id"),
        receiver_name=_required(receiver, "receiver", "name"),
        usage_indicator=usage,
        claims_per_transaction=int(interchange.get("claims_per_transaction", 5000)),
        claims_per_file=int(interchange.get("claims_per_file", 5000)),
        database_url=url,
        outbox_dir=_dir("outbox", "outbox"),
        inbox_dir=_dir("inbox", "inbox"),
        state_dir=_dir("state", "state"),
        drop_dir=_dir("drop", "drop"),
        reports_dir=_dir("reports", "reports"),
        transport_url=transport_url,
        transport_options=transport,
        filing_codes=filing,
        rules=dict(_section(data, "rules")),
        supervision=supervision,
        incomplete_reply_hours=float(incomplete_hours),
        payer=_our_payer(_section(data, "payer"), str(path)),
        database_pool_size=pool_size,
        database_statement_timeout_seconds=statement_timeout,
    )


def _database_limits(database: dict[str, Any], where: str) -> tuple[int, float | None]:
    """(pool_size, statement_timeout_seconds or None) from ``[database]``."""
    pool_size = database.get("pool_size", DEFAULT_POOL_SIZE)
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or not 1 <= pool_size <= 100:
        raise ConfigError(f"{where}: [database] pool_size must be a whole number from 1 to 100")
    timeout = database.get("statement_timeout_seconds", 0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise ConfigError(f"{where}: [database] statement_timeout_seconds must be a number of seconds (0: no limit)")
    return pool_size, (float(timeout) if timeout else None)


STARTER_CONFIG = """\
# bhclaims configuration.  Paths are relative to this file.
# Secrets never go here: the SFTP key passphrase is read from a file or an
# environment variable named below.

[submitter]                 # loop 1000A and ISA06/GS02: you, as the clearinghouse knows you
id = "{submitter_id}"
name = "{submitter_name}"
contact_name = "BILLING OFFICE"
contact_phone = "6175550100"

[receiver]                  # loop 1000B and ISA08/GS03: the clearinghouse
id = "{receiver_id}"
name = "{receiver_name}"

[interchange]
usage = "T"                 # T test, P production (ISA15)
claims_per_transaction = 5000
claims_per_file = 5000

[database]
# Empty: SQLite file bhclaims.db next to this config.
# PostgreSQL: url = "postgresql+psycopg://user@host/dbname" (or set BHCLAIMS_DATABASE_URL;
# put the password in ~/.pgpass, not here).
url = "{database_url}"
# pool_size = 5                     # connections each bhclaims process keeps open to the database
# statement_timeout_seconds = 0     # PostgreSQL only: cancel any one statement running longer
#                                   # (the command then exits 2 and changes nothing); 0: no limit

[paths]
outbox = "outbox"           # built 837P files (0600, folder 0700)
inbox = "inbox"             # fetched 999/277CA/835 files
state = "state"             # locks
drop = "drop"               # where the PM system drops exports for `bhclaims nightly`
reports = "reports"         # nightly run reports

[transport]
# file://DIR talks to a local folder pair DIR/inbound (we write) and DIR/outbound (we read):
# the sandbox clearinghouse (`bhclaims sandbox process DIR`) answers there.
url = "{transport_url}"
# incomplete_reply_hours = 24       # a reply still incomplete (no IEA trailer, still growing, a temp
#                                   # name) after this many hours is raised to a human (fetch exit 1)
# For SFTP:
# url = "sftp://billing@sftp.example-clearinghouse.com:22/"
# key_path = "/etc/bhclaims/id_ed25519"
# known_hosts = "/etc/bhclaims/known_hosts"
# passphrase_env = "BHCLAIMS_SFTP_PASSPHRASE"   # or passphrase_file = "/etc/bhclaims/passphrase"
# remote_outbound_dir = "inbound"   # where we upload
# remote_inbound_dir = "outbound"   # where replies wait
# archive_dir = "outbound/archive"  # fetched replies are moved here; unset: deleted after recording
# moves_on_arrival = false          # true if the clearinghouse takes uploads away at once
# connect_timeout = 15              # seconds
# op_timeout = 60                   # hard bound on any one operation, retries included
# retries = 3                       # network faults only; a refused key is never retried
# stable_interval = 2.0             # a reply whose size changes over this many seconds is still arriving

[claim_filing_codes]        # SBR09 per line of business
commercial = "CI"
medicaid = "MC"
medicare_advantage = "16"
sco = "16"
one_care = "16"

[supervision]               # how a supervised clinician's claim is billed, per line of business
commercial = "supervisor"           # Optum commercial (MA, since 2024-10): under the supervisor, modifier U5
medicaid = "supervisee"             # MassHealth: supervisee's Type 1 NPI renders, supervisor in 2310D
medicare_advantage = "not_permitted"  # Medicare: no supervisory billing
sco = "not_permitted"               # Medicare-like by default; "supervisee" if MGB says so
one_care = "not_permitted"

[rules]
# Re-level or switch off a rule by its code ("error", "warning", "info", "off"), e.g.:
# "OPT-TF-90" = "warning"
# telehealth_modifiers = ["95", "GT", "93", "FQ"]
# sco_one_care_start = 2026-01-01        # Optum's first day for SCO / One Care
# correction_receipt_days = 90           # warn on corrections later than this after receipt
#
# [rules.telehealth_missing_modifier]    # per line of business; default "warning"
# medicaid = "error"
#
# [rules.appeal_windows]                 # from the remittance date; defaults below
# medicaid = "60 days"
# commercial = "12 months"
# medicare_advantage = "12 months"
# sco = "60 days"
# one_care = "60 days"

[payer]
# Whose 835s may post onto our claims.  An 835 is Optum BH's when its ISA06, GS02,
# N1*PR N104 or REF*2U is one of `ids`, or its TRN03 is one of `trn03_ids`; it must
# also be paid to the claim's billing provider (N1*PE NPI or TIN).  Anything else is
# quarantined whole ("from another payer: ...", "paid to NPI ..., not ours").
# name = "OPTUM BEHAVIORAL HEALTH"    # shown in messages
# ids = ["87726"]
# trn03_ids = []                      # e.g. ["1411289245"]: "1" + the payer's EIN
"""


def starter_config(*, transport_url: str, database_url: str = "", submitter_id: str = "HARBORLIGHT", submitter_name: str = "HARBOR LIGHT BEHAVIORAL HEALTH",
                   receiver_id: str = "SANDBOXCH", receiver_name: str = "SANDBOX CLEARINGHOUSE") -> str:
    return STARTER_CONFIG.format(
        submitter_id=submitter_id,
        submitter_name=submitter_name,
        receiver_id=receiver_id,
        receiver_name=receiver_name,
        transport_url=transport_url,
        database_url=database_url.replace("\\", "\\\\").replace('"', '\\"'),
    )
