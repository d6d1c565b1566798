"""835 (005010X221A1) builder: ``Remittance`` records to remittance text.

The sandbox payer writes its answers with this, and tests use it to make 835s
of any shape.  One interchange, one GS*HP, one ST per remittance (all sharing the
first remittance's envelope).  Loops written, in guide order:

    ST BPR TRN [DTM*405] | 1000A N1*PR N3 N4 [REF*2U] PER*BL | 1000B N1*PE [REF*TJ]
    LX | 2100 CLP [CAS] NM1*QC [NM1*82] [MOA] [REF] [DTM*232/233] [DTM*050] [AMT]
       | 2110 SVC [DTM*472|150/151] [CAS] [REF] [REF*6R] [AMT*B6] [LQ]
    [PLB] SE

The builder does not balance anything: it writes what the records say, and
``validators.remit_balance`` says whether that adds up.  Payment methods CHK
(and NON with no payment) are written; ACH needs bank data the records do not
hold and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from domain.remittance import Adjustment, ClaimPayment, Remittance, ServicePayment
from edi.build999 import Elements, interchange_text
from edi.x12 import (
    DEFAULT_SEPARATORS,
    Separators,
    composite,
    format_amount,
    format_date,
    format_quantity,
)

REMIT_VERSION = "005010X221A1"
OPTUM_PAYER_ADDRESS = ("PO BOX 30760", "SALT LAKE CITY", "UT", "841300760")
PAYER_TECHNICAL_CONTACT = ("EDI SUPPORT", "8005550100")
WRITTEN_METHODS = frozenset({"CHK", "NON"})


def _money(value: Decimal | None) -> str:
    return "" if value is None else format_amount(value)


def _cas(adjustments: Sequence[Adjustment]) -> list[Elements]:
    """CAS segments: one per group code, at most six triples each."""
    rows: list[Elements] = []
    by_group: dict[str, list[Adjustment]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group, []).append(adjustment)
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            row = ["CAS", group]
            for item in items[start : start + 6]:
                quantity = "" if item.quantity is None else format_quantity(item.quantity)
                row += [item.reason, format_amount(item.amount), quantity]
            rows.append(row)
    return rows


def _line(line: ServicePayment, separators: Separators) -> list[Elements]:
    procedure = composite([line.procedure_qualifier, line.procedure_code, *line.modifiers], separators)
    units = "" if line.units is None else format_quantity(line.units)
    rows: list[Elements] = [
        [
            "SVC",
            procedure,
            format_amount(line.charge),
            format_amount(line.paid),
            line.revenue_code,
            units,
            line.original_procedure,
        ]
    ]
    if line.service_date is not None:
        rows.append(["DTM", "472", format_date(line.service_date)])
    if line.service_start is not None:
        rows.append(["DTM", "150", format_date(line.service_start)])
    if line.service_end is not None:
        rows.append(["DTM", "151", format_date(line.service_end)])
    rows += _cas(line.adjustments)
    rows += [["REF", qualifier, value] for qualifier, value in line.references]
    if line.line_id:
        rows.append(["REF", "6R", line.line_id])
    if line.allowed is not None:
        rows.append(["AMT", "B6", format_amount(line.allowed)])
    rows += [["LQ", "HE", code] for code in line.remark_codes]
    return rows


def _claim(claim: ClaimPayment, separators: Separators) -> list[Elements]:
    rows: list[Elements] = [
        [
            "CLP", claim.patient_control_number, claim.status, format_amount(claim.charge), format_amount(claim.paid),
            _money(claim.patient_responsibility), claim.filing_indicator, claim.payer_claim_number,
            claim.facility_code, claim.frequency,
        ]
    ]  # fmt: skip
    rows += _cas(claim.adjustments)
    member = ["MI", claim.member_id] if claim.member_id else []
    rows.append(["NM1", "QC", "1", claim.patient_last, claim.patient_first, "", "", "", *member])
    if claim.rendering_provider_id:
        rows.append(["NM1", "82", "2", "", "", "", "", "XX", claim.rendering_provider_id])
    if claim.remark_codes:
        rows.append(["MOA", "", "", *claim.remark_codes[:5]])
    rows += [["REF", qualifier, value] for qualifier, value in claim.references]
    if claim.statement_start is not None:
        rows.append(["DTM", "232", format_date(claim.statement_start)])
    if claim.statement_end is not None:
        rows.append(["DTM", "233", format_date(claim.statement_end)])
    if claim.received is not None:
        rows.append(["DTM", "050", format_date(claim.received)])
    rows += [["AMT", qualifier, format_amount(value)] for qualifier, value in claim.amounts]
    for line in claim.lines:
        rows += _line(line, separators)
    return rows


def _transaction(
    remittance: Remittance,
    separators: Separators,
    payer_address: tuple[str, str, str, str],
    contact: tuple[str, str],
) -> list[Elements]:
    if remittance.payment_method not in WRITTEN_METHODS:
        raise ValueError(
            f"payment method {remittance.payment_method!r} is not written by this builder (CHK, NON)"
        )
    if remittance.payment_date is None:
        raise ValueError("BPR16 (payment date) is required")
    rows: list[Elements] = [["ST", "835", remittance.control_number]]
    rows.append(
        [
            "BPR",
            remittance.handling_code,
            format_amount(remittance.total_paid),
            remittance.credit_debit,
            remittance.payment_method,
        ]
        + [""] * 11
        + [format_date(remittance.payment_date)]
    )
    rows.append(["TRN", "1", remittance.trace_number, remittance.trace_payer_id])
    if remittance.production_date is not None:
        rows.append(["DTM", "405", format_date(remittance.production_date)])
    rows.append(["N1", "PR", remittance.payer_name])
    rows.append(["N3", payer_address[0]])
    rows.append(["N4", *payer_address[1:]])
    if remittance.payer_id:
        rows.append(["REF", "2U", remittance.payer_id])
    rows.append(["PER", "BL", contact[0], "TE", contact[1]])
    if remittance.payee_npi:
        rows.append(["N1", "PE", remittance.payee_name, "XX", remittance.payee_npi])
        if remittance.payee_tax_id:
            rows.append(["REF", "TJ", remittance.payee_tax_id])
    else:
        rows.append(["N1", "PE", remittance.payee_name, "FI", remittance.payee_tax_id])
    if remittance.claims:
        rows.append(["LX", "1"])
    for claim in remittance.claims:
        rows += _claim(claim, separators)
    by_provider: dict[tuple[str, str], list[Elements]] = {}
    for adjustment in remittance.provider_adjustments:
        reason = composite([adjustment.reason, adjustment.reference], separators)
        key = (adjustment.provider_id, format_date(adjustment.fiscal_period_end))
        by_provider.setdefault(key, []).append([reason, format_amount(adjustment.amount)])
    for (provider_id, period), pairs in by_provider.items():
        for start in range(0, len(pairs), 6):
            rows.append(
                [
                    "PLB",
                    provider_id,
                    period,
                    *(element for pair in pairs[start : start + 6] for element in pair),
                ]
            )
    return rows


def build_835(
    remittances: Sequence[Remittance],
    *,
    created: datetime,
    separators: Separators = DEFAULT_SEPARATORS,
    payer_address: tuple[str, str, str, str] = OPTUM_PAYER_ADDRESS,
    payer_technical_contact: tuple[str, str] = PAYER_TECHNICAL_CONTACT,
) -> str:
    """One interchange holding each remittance as its own ST..SE."""
    if not remittances:
        raise ValueError("an 835 interchange needs at least one remittance")
    envelope = remittances[0].envelope
    if envelope.functional_id != "HP" or envelope.version != REMIT_VERSION:
        raise ValueError("an 835 envelope needs GS01 HP and GS08 " + REMIT_VERSION)
    transactions = [_transaction(r, separators, payer_address, payer_technical_contact) for r in remittances]
    return interchange_text(envelope, transactions, created=created, separators=separators)
