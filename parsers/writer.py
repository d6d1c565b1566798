"""Claims back into the canonical export (CSV or XML).

Used by round-trip tests, the benchmark generator and demos: whatever
``parse_export`` reads, these write, so that write → parse → write is stable.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import TextIO

from lxml import etree

from domain.claim import Address, Claim, RenderingLicense
from parsers.columns import ALL_COLUMNS, CLAIM_COLUMNS, LINE_COLUMNS, MAX_DIAGNOSES, MAX_MODIFIERS


def _number(value: Decimal) -> str:
    return format(value, "f")


def _address(prefix: str, address: Address) -> dict[str, str]:
    return {
        f"{prefix}_address1": address.line1,
        f"{prefix}_city": address.city,
        f"{prefix}_state": address.state,
        f"{prefix}_zip": address.zip,
    }


def claim_rows(claim: Claim) -> list[dict[str, str]]:
    """One canonical row (all columns, '' when empty) per service line."""
    sub, billing = claim.subscriber, claim.billing
    assert billing.address is not None
    head: dict[str, str] = dict.fromkeys(ALL_COLUMNS, "")
    head.update(
        claim_id=claim.claim_id,
        frequency=claim.frequency.value,
        original_claim_number=claim.original_claim_number or "",
        line_of_business=claim.line_of_business.value,
        payer_id=claim.payer_id,
        payer_name=claim.payer_name,
        subscriber_id=sub.member_id,
        subscriber_last=sub.last,
        subscriber_first=sub.first,
        subscriber_dob=sub.dob.isoformat(),
        subscriber_sex=sub.sex,
        patient_relationship=claim.relationship.value,
        billing_npi=billing.npi,
        billing_name=billing.last_or_org,
        billing_tax_id=billing.tax_id or "",
        billing_taxonomy=billing.taxonomy or "",
        rendering_license=claim.rendering_license.value,
        prior_auth=claim.prior_auth or "",
    )
    head.update(_address("subscriber", sub.address))
    head.update(_address("billing", billing.address))
    if claim.patient is not None:
        head.update(
            patient_last=claim.patient.last,
            patient_first=claim.patient.first,
            patient_dob=claim.patient.dob.isoformat(),
            patient_sex=claim.patient.sex,
        )
    if claim.rendering is not None:
        head.update(
            rendering_npi=claim.rendering.npi,
            rendering_last=claim.rendering.last_or_org,
            rendering_first=claim.rendering.first or "",
            rendering_taxonomy=claim.rendering.taxonomy or "",
        )
    if claim.rendering_license is RenderingLicense.SUPERVISED and claim.supervising is not None:
        head.update(
            supervising_npi=claim.supervising.npi,
            supervising_last=claim.supervising.last_or_org,
            supervising_first=claim.supervising.first or "",
        )
    for number, code in enumerate(claim.diagnoses[:MAX_DIAGNOSES], 1):
        head[f"diagnosis_{number}"] = code
    if claim.pay_to is not None:
        head.update(_address("pay_to", claim.pay_to))
    if claim.service_facility is not None:
        head.update(_address("facility", claim.service_facility.address))
        head.update(facility_name=claim.service_facility.name, facility_npi=claim.service_facility.npi or "")
    rows = []
    for line in claim.lines:
        row = dict(head)
        row.update(
            line_id=line.line_id,
            service_date=line.service_date.isoformat(),
            procedure_code=line.procedure_code,
            units=_number(line.units),
            charge=_number(line.charge),
            place_of_service=line.place_of_service,
            diagnosis_pointers=",".join(str(p) for p in line.diagnosis_pointers),
        )
        for number, code in enumerate(line.modifiers[:MAX_MODIFIERS], 1):
            row[f"modifier_{number}"] = code
        rows.append(row)
    return rows


def write_csv_export(claims: Iterable[Claim], out: TextIO) -> None:
    """Canonical CSV with ``\\r\\n`` line ends (RFC 4180); open ``out`` with newline=''."""
    writer = csv.DictWriter(out, fieldnames=ALL_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for claim in claims:
        writer.writerows(claim_rows(claim))


def csv_export_text(claims: Iterable[Claim]) -> str:
    buffer = io.StringIO(newline="")
    write_csv_export(claims, buffer)
    return buffer.getvalue()


def xml_export_bytes(claims: Iterable[Claim]) -> bytes:
    """The XML form (``pm-export.xsd``); empty optional elements are left out."""
    root = etree.Element("pm_export")
    for claim in claims:
        rows = claim_rows(claim)
        element = etree.SubElement(root, "claim")
        for column in CLAIM_COLUMNS:
            value = rows[0][column]
            if column.startswith("diagnosis_") or not value:
                continue
            etree.SubElement(element, column).text = value
        for code in claim.diagnoses:
            etree.SubElement(element, "diagnosis").text = code
        for row in rows:
            line = etree.SubElement(element, "line")
            for column in LINE_COLUMNS:
                if column == "modifier_1":
                    for number in range(1, MAX_MODIFIERS + 1):
                        if row[f"modifier_{number}"]:
                            etree.SubElement(line, "modifier").text = row[f"modifier_{number}"]
                if column.startswith("modifier_") or not row[column]:
                    continue
                etree.SubElement(line, column).text = row[column]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
