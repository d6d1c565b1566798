"""Procedure-code lists behind the Optum (payer 87726) rules.

Sources: payer-87726.md (what may go on an 837P, prior authorization, ABA);
code meanings from the HCPCS Level II and AMA CPT code sets.  The facility lists
are defaults: a practice may replace them in ``[rules]`` of bhclaims.toml.
"""

FACILITY_PROCEDURES: dict[str, str] = {
    # HCPCS Level II per-diem / program codes for facility-based levels of care.
    "H0010": "residential sub-acute detoxification",
    "H0011": "residential acute detoxification",
    "H0012": "residential-program sub-acute detoxification",
    "H0013": "residential-program acute detoxification",
    "H0015": "substance-use intensive outpatient (IOP)",
    "H0017": "residential treatment (hospital program)",
    "H0018": "short-term residential treatment",
    "H0019": "long-term residential treatment",
    "H0035": "mental-health partial hospitalization (PHP)",
    "H2013": "psychiatric health facility per diem",
    "H2036": "substance-use treatment program per diem",
    "S0201": "partial hospitalization (PHP)",
    "S9475": "ambulatory substance-use treatment per diem",
    "S9480": "psychiatric intensive outpatient (IOP)",
}
"""HCPCS code -> the level of care it bills; these belong on an 837I."""

FACILITY_PLACES_OF_SERVICE: dict[str, str] = {
    "21": "inpatient hospital",
    "51": "inpatient psychiatric facility",
    "55": "residential substance-use treatment facility",
    "56": "psychiatric residential treatment center",
}
"""Inpatient and residential places of service.  Not refused by default: the level of care is
the procedure or revenue code, and a psychiatrist's professional visit at such a place (99232
at POS 21, 99223 at POS 51) is an 837P claim.  A practice may list them in
``[rules] facility_places_of_service``; the words are used in the message then."""

PSYCH_TESTING_PROCEDURES: frozenset[str] = frozenset(
    {
        "96112",  # developmental test administration, first hour
        "96116",
        "96121",  # neurobehavioral status exam, first hour / each additional
        "96130",
        "96131",  # psychological testing evaluation
        "96132",
        "96133",  # neuropsychological testing evaluation
        "96136",
        "96137",  # test administration by a professional
        "96138",
        "96139",  # test administration by a technician
        "96146",  # single automated instrument
    }
)
"""Psychological and neuropsychological testing: Optum requires prior authorization."""

ABA_PROCEDURES: frozenset[str] = frozenset(
    {
        "97151",
        "97152",
        "97153",
        "97154",
        "97155",
        "97156",
        "97157",
        "97158",
        "0362T",
        "0373T",  # Category III exposure-adaptive behavior codes
    }
)
"""Adaptive behavior (ABA) assessment and treatment; not supported by Optum's claim entry."""

PEDIATRIC_PREVENTIVE_PROCEDURES: frozenset[str] = frozenset(
    {
        "96110",  # developmental screening
        "96127",  # brief emotional/behavioral assessment
        "96160",
        "96161",  # health risk assessment (patient / caregiver-focused)
        "99381",
        "99382",
        "99383",
        "99384",  # preventive visit, new patient, under 18
        "99391",
        "99392",
        "99393",
        "99394",  # preventive visit, established, under 18
        "99401",
        "99402",
        "99403",
        "99404",  # preventive counselling
        "99408",
        "99409",  # SBIRT: alcohol/substance screening and brief intervention
        "H0049",  # alcohol and/or drug screening
    }
)
"""Behavioral-health preventive and screening services that may carry a Z code alone
when the patient is under 18 (payer-87726.md, Codes)."""

TELEHEALTH_MODIFIERS: dict[str, str] = {
    "95": "synchronous audio-video telemedicine",
    "GT": "interactive audio and video",
    "93": "audio-only",
    "FQ": "audio-only (Medicare)",
}
"""Modifiers Optum accepts on a telehealth line (POS 02 or 10)."""

PSYCHOTHERAPY_SESSION_CODES: frozenset[str] = frozenset(
    {
        "90791",
        "90792",  # diagnostic evaluation
        "90832",
        "90833",
        "90834",
        "90836",
        "90837",
        "90838",  # psychotherapy by time, with or without E/M
        "90839",  # crisis, first 60 minutes
        "90845",  # psychoanalysis
        "90846",
        "90847",
        "90849",  # family
        "90853",  # group
    }
)
"""Session codes: one per session, so one unit; more units on one line are paid as one."""

PSYCHOTHERAPY_WITH_EM_ADD_ONS: frozenset[str] = frozenset({"90833", "90836", "90838"})
"""Psychotherapy add-ons reported with an evaluation and management (E/M) service the same day."""

INTERACTIVE_COMPLEXITY = "90785"
INTERACTIVE_COMPLEXITY_PRIMARIES: frozenset[str] = frozenset(
    {"90791", "90792", "90832", "90833", "90834", "90836", "90837", "90838", "90853"}
)
"""The services interactive complexity (90785) is added to."""

CRISIS_ADD_ON = "90840"
CRISIS_PRIMARY = "90839"


def is_evaluation_and_management(code: str) -> bool:
    """CPT E/M codes 99202-99499 (office, hospital, nursing facility, home, consultations)."""
    return len(code) == 5 and code.isdigit() and 99202 <= int(code) <= 99499
