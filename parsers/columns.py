"""The canonical PM-export columns (docs/pm-export.md lists them with their meaning).

One row is one service line; the *claim-level* columns repeat on every row of a
claim and must agree, the *line-level* columns belong to the row alone.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_DIAGNOSES = 12
MAX_MODIFIERS = 4
MAX_POINTERS = 4

DIAGNOSIS_COLUMNS = tuple(f"diagnosis_{n}" for n in range(1, MAX_DIAGNOSES + 1))
MODIFIER_COLUMNS = tuple(f"modifier_{n}" for n in range(1, MAX_MODIFIERS + 1))

BILLING_COLUMNS = (
    "billing_npi",
    "billing_name",
    "billing_tax_id",
    "billing_taxonomy",
    "billing_address1",
    "billing_city",
    "billing_state",
    "billing_zip",
)
RENDERING_COLUMNS = ("rendering_npi", "rendering_last", "rendering_first", "rendering_taxonomy")
SUPERVISING_COLUMNS = ("supervising_npi", "supervising_last", "supervising_first")
# Optional, all or none: where payment goes (2010AB) and where the service was given (2310C).
PAY_TO_COLUMNS = ("pay_to_address1", "pay_to_city", "pay_to_state", "pay_to_zip")
FACILITY_COLUMNS = (
    "facility_name",
    "facility_npi",
    "facility_address1",
    "facility_city",
    "facility_state",
    "facility_zip",
)

CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "frequency",
    "original_claim_number",
    "line_of_business",
    "payer_id",
    "payer_name",
    "subscriber_id",
    "subscriber_last",
    "subscriber_first",
    "subscriber_dob",
    "subscriber_sex",
    "subscriber_address1",
    "subscriber_city",
    "subscriber_state",
    "subscriber_zip",
    "patient_relationship",
    "patient_last",
    "patient_first",
    "patient_dob",
    "patient_sex",
    "billing_npi",
    "billing_name",
    "billing_tax_id",
    "billing_taxonomy",
    "billing_address1",
    "billing_city",
    "billing_state",
    "billing_zip",
    "rendering_npi",
    "rendering_last",
    "rendering_first",
    "rendering_taxonomy",
    "rendering_license",
    "supervising_npi",
    "supervising_last",
    "supervising_first",
    "prior_auth",
    *DIAGNOSIS_COLUMNS,
    *PAY_TO_COLUMNS,
    *FACILITY_COLUMNS,
)

LINE_COLUMNS: tuple[str, ...] = (
    "line_id",
    "service_date",
    "procedure_code",
    *MODIFIER_COLUMNS,
    "units",
    "charge",
    "place_of_service",
    "diagnosis_pointers",
)

ALL_COLUMNS: tuple[str, ...] = CLAIM_COLUMNS + LINE_COLUMNS

# Columns the header must carry (the spec's "yes"); an absent optional column reads as empty.
REQUIRED_COLUMNS: frozenset[str] = frozenset(
    {
        "claim_id",
        "line_of_business",
        "payer_id",
        "subscriber_id",
        "subscriber_last",
        "subscriber_first",
        "subscriber_dob",
        "subscriber_sex",
        "subscriber_address1",
        "subscriber_city",
        "subscriber_state",
        "subscriber_zip",
        "billing_npi",
        "billing_name",
        "billing_tax_id",
        "billing_taxonomy",
        "billing_address1",
        "billing_city",
        "billing_state",
        "billing_zip",
        "diagnosis_1",
        "line_id",
        "service_date",
        "procedure_code",
        "units",
        "charge",
        "place_of_service",
    }
)

DATE_COLUMNS: frozenset[str] = frozenset({"subscriber_dob", "patient_dob", "service_date"})

# Cells whose value may be quoted in an error: codes and vocabularies, never PHI.
QUOTABLE_COLUMNS: frozenset[str] = frozenset(
    {
        "frequency",
        "line_of_business",
        "patient_relationship",
        "rendering_license",
        "procedure_code",
        "place_of_service",
        "service_date",
        "units",
        "charge",
        "diagnosis_pointers",
        *MODIFIER_COLUMNS,
    }
)

POSITION: dict[str, int] = {column: position for position, column in enumerate(ALL_COLUMNS)}
"""Where each canonical column sits in a canonical row: readers hand rows over as
lists in ``ALL_COLUMNS`` order ("" for a column the file does not have), so a
cell is found by its position, not looked up by name, row after row."""
CLAIM_WIDTH = len(CLAIM_COLUMNS)
"""The claim-level columns come first: ``row[:CLAIM_WIDTH]`` is a row's claim-level part."""


def span(columns: tuple[str, ...]) -> slice:
    """Where a run of ``columns`` sits in a canonical row; they must be contiguous, in order."""
    start = POSITION[columns[0]]
    if ALL_COLUMNS[start : start + len(columns)] != columns:
        raise ValueError(f"columns {columns} are not contiguous in ALL_COLUMNS")
    return slice(start, start + len(columns))


def canonical_cells(cells: Mapping[str, str]) -> list[str]:
    """A row given by column name as a canonical row (what the XML reader and tests have)."""
    return [cells.get(column) or "" for column in ALL_COLUMNS]
