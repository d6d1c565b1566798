"""Code sets the rule pack checks against: ICD-10-CM, place of service, states, and
the procedure-code lists behind the Optum rules.

Each list names its source here or in README.md beside this file; the ICD-10-CM
table is data (one code a line), the short lists are Python constants.
"""

from domain.places import US_STATE_CODES
from validators.codesets.diagnoses import code_first, is_dsm_derived
from validators.codesets.geography import MGB_SERVICE_COUNTIES, massachusetts_counties
from validators.codesets.icd10cm import ICD10CM_RELEASE, icd10cm_billable, is_billable_icd10cm
from validators.codesets.places_of_service import PLACES_OF_SERVICE
from validators.codesets.procedures import (
    ABA_PROCEDURES,
    FACILITY_PLACES_OF_SERVICE,
    FACILITY_PROCEDURES,
    PEDIATRIC_PREVENTIVE_PROCEDURES,
    PSYCH_TESTING_PROCEDURES,
    PSYCHOTHERAPY_SESSION_CODES,
    TELEHEALTH_MODIFIERS,
)

__all__ = [
    "ABA_PROCEDURES",
    "FACILITY_PLACES_OF_SERVICE",
    "FACILITY_PROCEDURES",
    "ICD10CM_RELEASE",
    "MGB_SERVICE_COUNTIES",
    "PEDIATRIC_PREVENTIVE_PROCEDURES",
    "PLACES_OF_SERVICE",
    "PSYCH_TESTING_PROCEDURES",
    "PSYCHOTHERAPY_SESSION_CODES",
    "TELEHEALTH_MODIFIERS",
    "US_STATE_CODES",
    "code_first",
    "is_dsm_derived",
    "massachusetts_counties",
    "icd10cm_billable",
    "is_billable_icd10cm",
]
