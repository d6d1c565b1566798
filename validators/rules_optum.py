"""WEDI SNIP level 7: Optum Behavioral Health (payer 87726) business rules.

Each rule's ``rule_source`` names the fact of payer-87726.md it enforces; the
numbers that Optum states in two ways come from ``RuleSettings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from domain.claim import OPTUM_BH_PAYER_ID, Claim, Frequency, LineOfBusiness, RenderingLicense
from validators.codesets import (
    ABA_PROCEDURES,
    FACILITY_PLACES_OF_SERVICE,
    FACILITY_PROCEDURES,
    PEDIATRIC_PREVENTIVE_PROCEDURES,
    PSYCH_TESTING_PROCEDURES,
)
from validators.findings import CheckContext, Finding, Rule

if TYPE_CHECKING:
    from validators.settings import RuleSettings

# Each check tests the clean claim first and returns () (how a rule is written: validators/engine.py).

_DOC = "payer-87726.md"
# Enum members read once: looking one up on its class costs as much as a whole clean rule.
_ORIGINAL = Frequency.ORIGINAL
_REPLACEMENT = Frequency.REPLACEMENT
_COMMERCIAL = LineOfBusiness.COMMERCIAL
_MEDICAID = LineOfBusiness.MEDICAID
_SCO = LineOfBusiness.SCO
_ONE_CARE = LineOfBusiness.ONE_CARE
_SUPERVISED = RenderingLicense.SUPERVISED
_MEDICARE_PLANS = (LineOfBusiness.MEDICARE_ADVANTAGE, LineOfBusiness.SCO, LineOfBusiness.ONE_CARE)
_PLAN_NAMES = {
    LineOfBusiness.COMMERCIAL: "commercial",
    LineOfBusiness.MEDICAID: "Medicaid",
    LineOfBusiness.MEDICARE_ADVANTAGE: "Medicare Advantage",
    LineOfBusiness.SCO: "Senior Care Options (SCO)",
    LineOfBusiness.ONE_CARE: "One Care",
}
MASS_GENERAL_BRIGHAM_MEDICAL_PAYER_ID = "04293"
NON_PARTICIPATING_STATUSES = {
    "non_participating": "a non-participating clinician",
    "specialized_arrangement": "a specialized-arrangement clinician",
}
"""Values of ``("participation", ...)`` in ``Claim.extra`` that Optum's claim entry does not support."""


@lru_cache(maxsize=8192)
def age_on(dob: date, day: date) -> int:
    """Whole years of age on ``day``."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def patient_dob(claim: Claim) -> date:
    """The patient's date of birth: the Patient's when present, else the subscriber's."""
    return claim.patient.dob if claim.patient is not None else claim.subscriber.dob


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def check_payer_id(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.payer_id == OPTUM_BH_PAYER_ID:
        return ()
    if claim.payer_id == MASS_GENERAL_BRIGHAM_MEDICAL_PAYER_ID:
        why = "04293 is Mass General Brigham Health Plan's medical payer id"
    else:
        why = f"{claim.payer_id!r} is not Optum Behavioral Health's payer id"
    return (
        PAYER_ID.finding(
            claim, f"Misrouted: {why}; behavioral-health claims go to payer id 87726 — change the payer id."
        ),
    )


_timely_filing_starts: tuple[RuleSettings, date, dict[LineOfBusiness, date]] | None = None


def _earliest_timely_service_date(ctx: CheckContext, lob: LineOfBusiness) -> date:
    """The earliest date of service still within timely filing on ``ctx.today`` for a plan.

    A run checks all its claims under one settings object and one today, so the dates
    are kept for the previous claim's (settings found by identity: they are frozen),
    and a claim costs a dict lookup instead of two calls into the settings.
    """
    global _timely_filing_starts
    starts = _timely_filing_starts
    if starts is None or starts[0] is not ctx.settings or starts[1] != ctx.today:
        starts = _timely_filing_starts = (ctx.settings, ctx.today, {})
    earliest = starts[2].get(lob)
    if earliest is None:
        earliest = ctx.today - timedelta(days=ctx.settings.timely_filing_days(lob))
        starts[2][lob] = earliest
    return earliest


def check_timely_filing(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.frequency != _ORIGINAL:
        return ()  # corrections and voids run on the corrected-claim window, not the date of service
    earliest = _earliest_timely_service_date(ctx, claim.line_of_business)
    for line in claim.lines:
        if line.service_date < earliest:
            return _timely_filing_findings(claim, ctx, earliest)
    return ()


def _timely_filing_findings(claim: Claim, ctx: CheckContext, earliest: date) -> list[Finding]:
    days = ctx.settings.timely_filing_days(claim.line_of_business)
    return [
        TIMELY_FILING.finding(
            claim,
            f"Line {line.line_id} ({line.procedure_code}, {line.service_date}) is past Optum's {days}-day "
            f"timely filing limit for {_PLAN_NAMES[claim.line_of_business]} (due by "
            f"{line.service_date + timedelta(days=days)}); send it only with proof of timely filing or a "
            "plan exception, else it will be denied.",
            line,
        )
        for line in claim.lines
        if line.service_date < earliest
    ]


def _preventive_pediatric(claim: Claim) -> bool:
    dob = patient_dob(claim)
    return all(
        line.procedure_code in PEDIATRIC_PREVENTIVE_PROCEDURES and age_on(dob, line.service_date) < 18
        for line in claim.lines
    )


def check_primary_diagnosis(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if not claim.diagnoses:
        return ()
    if claim.diagnoses[0][:1] == "F":
        return ()  # the usual claim, without normalising its code
    primary = claim.diagnoses[0].replace(".", "").upper()
    if primary.startswith("F"):
        return ()
    if primary.startswith("Z"):
        if _preventive_pediatric(claim):
            return ()
        message = (
            f"The primary diagnosis {_dotted(primary)} is a Z code; Optum accepts a Z code alone only for "
            "preventive behavioral-health services to a patient under 18. Put the mental or "
            "behavioral (F01-F99) diagnosis first."
        )
    else:
        message = (
            f"The primary diagnosis {_dotted(primary)} is outside the mental, behavioral and neurodevelopmental "
            "chapter; put the DSM-5 derived F01-F99 diagnosis first."
        )
    return (PRIMARY_DX.finding(claim, message),)


def _facility_reason(code: str, place: str, ctx: CheckContext) -> str:
    settings = ctx.settings
    if code in settings.facility_procedure_codes:
        return f"{code} bills {FACILITY_PROCEDURES.get(code, 'a facility-based level of care')}"
    if len(code) == 4 and code.isdigit():
        return f"{code} is a revenue code, which only an institutional claim carries"
    return f"place of service {place} is {FACILITY_PLACES_OF_SERVICE.get(place, 'a facility')}"


def check_facility_level_of_care(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    codes = ctx.settings.facility_procedure_codes
    places = ctx.settings.facility_places_of_service
    for line in claim.lines:
        code = line.procedure_code
        if code in codes or line.place_of_service in places or (len(code) == 4 and code.isdigit()):
            return _facility_findings(claim, ctx, codes, places)
    return ()


def _facility_findings(
    claim: Claim, ctx: CheckContext, codes: frozenset[str], places: frozenset[str]
) -> list[Finding]:
    return [
        FACILITY.finding(
            claim,
            f"Line {line.line_id} ({line.service_date}): "
            f"{_facility_reason(line.procedure_code, line.place_of_service, ctx)}. "
            "Residential, inpatient, partial hospitalization and intensive outpatient care is billed "
            "on an 837I (UB-04), not on this professional claim; remove the line and bill it on the "
            "facility claim.",
            line,
        )
        for line in claim.lines
        if line.procedure_code in codes
        or line.place_of_service in places
        or (len(line.procedure_code) == 4 and line.procedure_code.isdigit())
    ]


def _procedures_among(claim: Claim, wanted: frozenset[str]) -> list[str]:
    return sorted({line.procedure_code for line in claim.lines if line.procedure_code in wanted})


def check_testing_authorization(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.prior_auth:
        return ()
    for line in claim.lines:
        if line.procedure_code in PSYCH_TESTING_PROCEDURES:
            return _testing_authorization_findings(claim)
    return ()


def _testing_authorization_findings(claim: Claim) -> tuple[Finding, ...]:
    codes = _procedures_among(claim, PSYCH_TESTING_PROCEDURES)
    return (
        TESTING_AUTH.finding(
            claim,
            f"Psychological/neuropsychological testing ({', '.join(codes)}) needs Optum's prior authorization "
            "and the claim has no authorization number; add it (REF*G1) or expect a denial.",
        ),
    )


def _is_supervised(claim: Claim) -> bool:
    return claim.supervising is not None or claim.rendering_license == _SUPERVISED


def check_medicare_supervision(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.line_of_business not in _MEDICARE_PLANS or not _is_supervised(claim):
        return ()
    plan = _PLAN_NAMES[claim.line_of_business]
    if claim.supervising is not None:
        what = f"names a supervising clinician (NPI {claim.supervising.npi})"
    else:
        what = "is rendered by a clinician who is not independently licensed"
    return (
        SUPV_MEDICARE.finding(
            claim,
            f"This {plan} claim {what}; Medicare does not permit supervisory billing. Bill under an "
            "independently licensed clinician as rendering provider and remove the supervising provider.",
        ),
    )


def check_medicaid_supervision(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.line_of_business != _MEDICAID or claim.rendering_license != _SUPERVISED:
        return ()
    missing = []
    if claim.rendering is None:
        missing.append("the supervised clinician's Type 1 NPI as rendering provider (box 24J)")
    elif claim.rendering.entity_type != "1":
        missing.append("a Type 1 (individual) NPI for the rendering clinician, not an organisation's")
    if claim.supervising is None:
        missing.append("the licensed supervising clinician's NPI (box 31, loop 2310D)")
    if not missing:
        return ()
    return (
        SUPV_MEDICAID.finding(
            claim,
            f"A Medicaid claim by a clinician who is not independently licensed needs {' and '.join(missing)}.",
        ),
    )


def check_commercial_supervision(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.line_of_business != _COMMERCIAL or not _is_supervised(claim):
        return ()
    missing = []
    if claim.supervising is None:
        missing.append("add the supervising clinician's NPI (loop 2310D)")
    without_u5 = [line.line_id for line in claim.lines if "U5" not in line.modifiers]
    if without_u5:
        missing.append(f"add modifier U5 to line {', '.join(without_u5)}")
    if not missing:
        return ()
    return (
        SUPV_COMMERCIAL.finding(
            claim,
            f"Supervised commercial claim: {'; '.join(missing)} (Optum commercial supervision policy).",
        ),
    )


def check_member_age_for_plan(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    lob = claim.line_of_business
    if lob == _SCO:
        if age_on(patient_dob(claim), claim.first_service_date) < 65:
            return (
                AGE_PLAN.finding(
                    claim,
                    f"Senior Care Options members are 65 or older, and this member is not on "
                    f"{claim.first_service_date}; check the member's plan (line of business) on the card.",
                ),
            )
    elif lob == _ONE_CARE:
        dob = patient_dob(claim)
        if age_on(dob, claim.first_service_date) < 21 or age_on(dob, claim.last_service_date) > 64:
            return (
                AGE_PLAN.finding(
                    claim,
                    "One Care members are 21 to 64 on the date of service, and this member is not; check the "
                    "member's plan (line of business) on the card.",
                ),
            )
    return ()


def _remit_date(claim: Claim, ctx: CheckContext) -> date | None:
    if ctx.original_remit_date is None or not claim.original_claim_number:
        return None
    return ctx.original_remit_date(claim.original_claim_number)


def _window_words(claim: Claim, ctx: CheckContext) -> str:
    days = ctx.settings.corrected_claim_days(claim.line_of_business)
    words = f"{days} days of the original's remittance (PRA) date for {_PLAN_NAMES[claim.line_of_business]}"
    if claim.line_of_business == _MEDICAID:
        words += "; the Optum portal says 365 days from the denial"
    return words


def check_correction_window(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.frequency != _REPLACEMENT:
        return ()
    remitted = _remit_date(claim, ctx)
    if remitted is None:
        return ()
    days = ctx.settings.corrected_claim_days(claim.line_of_business)
    deadline = remitted + timedelta(days=days)
    if ctx.today <= deadline:
        return ()
    return (
        CORRECTION_WINDOW.finding(
            claim,
            f"This corrected claim is late: Optum takes corrections within {_window_words(claim, ctx)}; the "
            f"original was remitted {remitted}, so the window closed {deadline}. File an appeal instead.",
        ),
    )


def check_correction_window_known(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.frequency != _REPLACEMENT or not claim.original_claim_number:
        return ()
    if _remit_date(claim, ctx) is not None:
        return ()
    return (
        CORRECTION_UNVERIFIED.finding(
            claim,
            f"Cannot verify the correction window: no remittance on file for original claim "
            f"{claim.original_claim_number}. Optum takes corrections within {_window_words(claim, ctx)}; "
            "check the date on the original's remittance before sending.",
        ),
    )


def check_participation(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for key, value in claim.extra:
        if key == "participation" and value in NON_PARTICIPATING_STATUSES:
            return (
                NON_PARTICIPATING.finding(
                    claim,
                    f"The claim is from {NON_PARTICIPATING_STATUSES[value]}; Optum's own claim entry does not "
                    "support these claims — confirm the arrangement with Optum before sending.",
                ),
            )
    return ()


def check_aba(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for line in claim.lines:
        if line.procedure_code in ABA_PROCEDURES:
            return _aba_findings(claim)
    return ()


def _aba_findings(claim: Claim) -> tuple[Finding, ...]:
    codes = _procedures_among(claim, ABA_PROCEDURES)
    return (
        ABA.finding(
            claim,
            f"Autism/ABA services ({', '.join(codes)}) are not supported by Optum's claim entry; confirm how "
            "the member's plan takes ABA claims before sending.",
        ),
    )


PAYER_ID = Rule(
    "OPT-PAYER-ID",
    7,
    "error",
    "The claim goes to payer id 87726 (04293 is misrouted)",
    f"Optum BH payer id 87726; MGB Health Plan medical 04293 ({_DOC}, Who gets the claim)",
    check_payer_id,
)
TIMELY_FILING = Rule(
    "OPT-TF-90",
    7,
    "error",
    "Original claims within 90 days of each date of service (days per line of business)",
    f"Optum timely filing: 90 days from date of service ({_DOC}, Deadlines)",
    check_timely_filing,
)
PRIMARY_DX = Rule(
    "OPT-DX-PRIMARY",
    7,
    "error",
    "Primary diagnosis is F01-F99, or a Z code for preventive services to a patient under 18",
    f"Optum: primary diagnosis ICD-10-CM derived from DSM-5 ({_DOC}, Codes)",
    check_primary_diagnosis,
)
FACILITY = Rule(
    "OPT-FACILITY",
    7,
    "error",
    "PHP, IOP, residential and inpatient services (codes, revenue codes, POS) are refused: bill an 837I",
    f"Optum: facility-based levels of care are institutional claims ({_DOC}, What may go on an 837P)",
    check_facility_level_of_care,
)
TESTING_AUTH = Rule(
    "OPT-AUTH-TESTING",
    7,
    "warning",
    "Psychological/neuropsychological testing carries a prior authorization number",
    f"Optum: prior authorization for psychological and neuropsychological testing ({_DOC}, Codes)",
    check_testing_authorization,
)
SUPV_MEDICARE = Rule(
    "OPT-SUPV-MEDICARE",
    7,
    "error",
    "Medicare Advantage, SCO and One Care claims have no supervising or supervised clinician",
    f"Medicare does not permit supervisory billing ({_DOC}, Rendering, billing and supervising)",
    check_medicare_supervision,
)
SUPV_MEDICAID = Rule(
    "OPT-SUPV-MEDICAID",
    7,
    "error",
    "A Medicaid supervised clinician bills a Type 1 rendering NPI with a supervising NPI",
    f"MA Medicaid: non-independently licensed clinician in box 24J, supervisor in box 31 ({_DOC})",
    check_medicaid_supervision,
)
SUPV_COMMERCIAL = Rule(
    "OPT-SUPV-COMMERCIAL",
    7,
    "warning",
    "A supervised commercial claim has a supervising provider (2310D) and modifier U5",
    f"Optum commercial reimbursement policy on supervision; [rules] commercial_supervision ({_DOC})",
    check_commercial_supervision,
)
AGE_PLAN = Rule(
    "OPT-AGE-PLAN",
    7,
    "error",
    "SCO members are 65+, One Care members 21-64 on the date of service",
    f"Massachusetts SCO and One Care eligibility ({_DOC}, Plans and members)",
    check_member_age_for_plan,
)
CORRECTION_WINDOW = Rule(
    "OPT-CORR-WINDOW",
    7,
    "error",
    "A corrected claim (7) is within its window from the original's remittance date",
    f"Optum corrected claims: commercial 180, Medicare 180, Medicaid 365 days of PRA ({_DOC}, Deadlines)",
    check_correction_window,
)
CORRECTION_UNVERIFIED = Rule(
    "OPT-CORR-UNVERIFIED",
    7,
    "warning",
    "A corrected claim whose original's remittance date is unknown is flagged",
    f"Optum corrected-claim windows ({_DOC}, Deadlines)",
    check_correction_window_known,
)
NON_PARTICIPATING = Rule(
    "OPT-NONPAR",
    7,
    "warning",
    "Claims marked non-participating or specialized-arrangement are flagged",
    f"Optum claim entry does not support them ({_DOC}, What may go on an 837P)",
    check_participation,
)
ABA = Rule(
    "OPT-ABA",
    7,
    "warning",
    "Autism/ABA codes (97151-97158, 0362T, 0373T) are flagged",
    f"Optum claim entry does not support autism/ABA programs ({_DOC}, What may go on an 837P)",
    check_aba,
)

RULES: tuple[Rule, ...] = (
    PAYER_ID,
    TIMELY_FILING,
    PRIMARY_DX,
    FACILITY,
    TESTING_AUTH,
    SUPV_MEDICARE,
    SUPV_MEDICAID,
    SUPV_COMMERCIAL,
    AGE_PLAN,
    CORRECTION_WINDOW,
    CORRECTION_UNVERIFIED,
    NON_PARTICIPATING,
    ABA,
)
