"""What the use cases return: JSON-shaped records with their keys and types named.

TypedDicts rather than dataclasses because the CLI prints them as JSON as they are (the
``--json`` output is a contract the tests pin) and the nightly run embeds them in its report."""

from typing import TypedDict


class IngestResult(TypedDict):
    """One export read into the ledger: every claim id by what happened to it."""

    file: str
    rows_read: int
    errors: list[str]  # "file:line: column: reason (claim ID)", in file order
    refused_claims: list[str]  # sorted: refused by a row error or by the ledger
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    held: list[str]  # stored, but held by the rule pack
    refused: list[tuple[str, str]]  # (claim id, reason) refused by the ledger


class FindingRecord(TypedDict):
    """One rule's finding on a claim, as `bhclaims check --json` prints it."""

    code: str
    severity: str
    message: str
    line_id: str | None
    source: str | None
    rule_source: str


class CheckResult(TypedDict):
    """One claim checked: its status after the check and every finding."""

    claim_id: str
    status: str
    findings: list[FindingRecord]
