"""The three 835 balancing rules, checked before anything is posted.

005010X221A1 section 1.10.2.1 ("Balancing") requires, exactly, to the cent:

1. per service line:  SVC02 charge − Σ line CAS = SVC03 paid
2. per claim:         CLP03 charge − Σ claim CAS − Σ line CAS = CLP04 paid
3. per transaction:   Σ CLP04 − Σ PLB = BPR02 total paid

A remittance that breaks any of them is not posted: money that does not add up
would make the ledger disagree with the bank (reliability test 23).  Errors name
the trace number, CLP01 and the line (REF*6R or its ordinal) and give the amounts;
never a patient name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from domain.adjudication import ClaimSums, claim_sums
from domain.claim import Source
from domain.remittance import ClaimPayment, Remittance

LINE, CLAIM, TRANSACTION = "line", "claim", "transaction"


@dataclass(frozen=True, slots=True)
class BalanceError:
    """One broken balance: ``expected`` is what the arithmetic gives, ``reported`` what the file says."""

    level: str  # line, claim, transaction
    trace_number: str  # TRN02 of the remittance
    claim_id: str | None  # CLP01
    line_id: str | None  # REF*6R, else "#n" (1-based ordinal within the claim)
    expected: Decimal
    reported: Decimal
    source: Source | None = field(default=None, compare=False)

    @property
    def difference(self) -> Decimal:
        return self.reported - self.expected

    @property
    def message(self) -> str:
        where = f"835 trace {self.trace_number}"
        if self.claim_id is not None:
            where += f" claim {self.claim_id}"
        if self.line_id is not None:
            where += f" line {self.line_id}"
        what = {
            LINE: "SVC02 - line CAS",
            CLAIM: "CLP03 - claim and line CAS",
            TRANSACTION: "sum of CLP04 - PLB",
        }[self.level]
        paid = {LINE: "SVC03", CLAIM: "CLP04", TRANSACTION: "BPR02"}[self.level]
        return f"{where}: {what} = {self.expected} but {paid} = {self.reported}"

    def __str__(self) -> str:
        return self.message


def claim_balance_errors(trace_number: str, claim: ClaimPayment, sums: ClaimSums | None = None) -> list[BalanceError]:
    """The broken line balances of one CLP, then its broken claim balance; ``sums``: its
    ``claim_sums`` when the caller has them already."""
    if sums is None:
        sums = claim_sums(claim)
    errors = [
        BalanceError(LINE, trace_number, claim.patient_control_number,
                     claim.lines[ordinal - 1].line_id or f"#{ordinal}", expected, claim.lines[ordinal - 1].paid,
                     claim.lines[ordinal - 1].source)
        for ordinal, expected in sums.unbalanced_lines
    ]
    if sums.expected_paid != claim.paid:
        errors.append(BalanceError(CLAIM, trace_number, claim.patient_control_number, None, sums.expected_paid,
                                   claim.paid, claim.source))
    return errors


def check_line_balances(remittance: Remittance) -> list[BalanceError]:
    return [error for claim in remittance.claims
            for error in claim_balance_errors(remittance.trace_number, claim) if error.level == LINE]


def check_claim_balances(remittance: Remittance) -> list[BalanceError]:
    return [error for claim in remittance.claims
            for error in claim_balance_errors(remittance.trace_number, claim) if error.level == CLAIM]


def check_transaction_balance(remittance: Remittance) -> list[BalanceError]:
    expected = remittance.claims_paid - remittance.provider_adjusted
    if expected == remittance.total_paid:
        return []
    return [
        BalanceError(
            TRANSACTION,
            remittance.trace_number,
            None,
            None,
            expected,
            remittance.total_paid,
            remittance.source,
        )
    ]


BALANCE_CHECKS: list[Callable[[Remittance], list[BalanceError]]] = [
    check_line_balances,
    check_claim_balances,
    check_transaction_balance,
]


def check_balances(remittance: Remittance) -> list[BalanceError]:
    """Every broken balance of one remittance (lines, claims, then the transaction); an empty list
    means it may be posted."""
    return [error for check in BALANCE_CHECKS for error in check(remittance)]
