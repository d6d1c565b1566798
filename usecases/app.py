"""The pieces a command needs, built once from the config: ledger, rules, transport.

CLI commands are thin: they ask ``App`` for what they need and call one
function of an edge module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from domain import clock
from domain.claim import Claim as DomainClaim
from ledger.db import Ledger, open_ledger
from ledger.queries import original_claim_facts, original_remit_date
from runtime.actor import current_actor
from runtime.config import Config, ConfigError
from validators.engine import CheckContext, RuleSettings, check_claim
from validators.engine import rule_settings as settings_from_rules_table
from validators.findings import OriginalClaim


class App:
    def __init__(self, config: Config, *, today: date | None = None, actor: str | None = None):
        self.config = config
        self.today = today or clock.today()
        self.actor = actor or current_actor()

    @cached_property
    def ledger(self) -> Ledger:
        return open_ledger(
            self.config.database_url,
            pool_size=self.config.database_pool_size,
            statement_timeout_seconds=self.config.database_statement_timeout_seconds,
        )

    @cached_property
    def rule_settings(self) -> RuleSettings:
        try:
            return settings_from_rules_table(self.config.rules, supervision=self.config.supervision)
        except ValueError as exc:
            raise ConfigError(f"{self.config.path}: [rules] {exc}") from None

    def check(self, claim: DomainClaim) -> Sequence[Any]:
        """Run the rule pack on one claim; what it asks of the ledger (the original's remittance
        date and payer claim number, for a 7 or 8) is looked up here, so the rules stay pure."""

        def remit_date(number: str) -> date | None:
            with self.ledger.read_session() as session:
                return original_remit_date(session, number)

        def original_claim(claim_id: str) -> OriginalClaim | None:
            with self.ledger.read_session() as session:
                facts = original_claim_facts(session, claim_id)
            return None if facts is None else OriginalClaim(*facts)

        return check_claim(claim, CheckContext(today=self.today, settings=self.rule_settings,
                                               original_remit_date=remit_date, original_claim=original_claim))

    def now(self) -> datetime:
        return clock.now()

    def transport(self) -> Any:
        url = self.config.transport_url
        if url.startswith("file:"):
            from outbox.local import LocalDirTransport, local_mailbox_root

            return LocalDirTransport(local_mailbox_root(url, self.config.base_dir))
        if url.startswith("sftp:"):
            from outbox.sftp import SftpSettings, SftpTransport

            options = dict(self.config.transport_options)
            for key in ("key_path", "known_hosts", "passphrase_file"):
                if key in options:
                    options[key] = (self.config.base_dir / str(options[key])).resolve()
            try:
                settings = SftpSettings.from_url(url, **options)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{self.config.path}: [transport] {exc}") from None
            return SftpTransport(settings)
        raise ConfigError(f"{self.config.path}: [transport] url must start with file:// or sftp://")

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.dispose()


def resolve_path(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()
