"""WEDI SNIP level 7: Optum Behavioral Health (payer 87726) business rules.

Each rule's ``rule_source`` names the fact of payer-87726.md it enforces; the
numbers that Optum states in two ways come from ``RuleSettings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from domain.claim import (
    OPTUM_BH_PAYER_ID,
    SUPERVISION_MODIFIER,
    Claim,
    Frequency,
    LineOfBusiness,
    RenderingLicense,
    SupervisedBilling,
)
from validators.codesets import (
    ABA_PROCEDURES,
    FACILITY_PLACES_OF_SERVICE,
    FACILITY_PROCEDURES,
    MGB_SERVICE_COUNTIES,
    PEDIATRIC_PREVENTIVE_PROCEDURES,
    PSYCH_TESTING_PROCEDURES,
    PSYCHOTHERAPY_SESSION_CODES,
    code_first,
    is_dsm_derived,
    massachusetts_counties,
)
from validators.codesets.diagnoses import code_first_notes
from validators.codesets.procedures import (
    CRISIS_ADD_ON,
    CRISIS_PRIMARY,
    INTERACTIVE_COMPLEXITY,
    INTERACTIVE_COMPLEXITY_PRIMARIES,
    PSYCHOTHERAPY_WITH_EM_ADD_ONS,
    is_evaluation_and_management,
)
from validators.findings import CheckContext, Finding, OriginalClaim, Rule

if TYPE_CHECKING:
    from validators.settings import RuleSettings

# Each check tests the clean claim first and returns () (how a rule is written: validators/engine.py).

_DOC = "payer-87726.md"
# Enum members read once: looking one up on its class costs as much as a whole clean rule.
_ORIGINAL = Frequency.ORIGINAL
_REPLACEMENT = Frequency.REPLACEMENT
_VOID = Frequency.VOID
_MEDICAID = LineOfBusiness.MEDICAID
_SCO = LineOfBusiness.SCO
_ONE_CARE = LineOfBusiness.ONE_CARE
_DSNP_PLANS = (LineOfBusiness.SCO, LineOfBusiness.ONE_CARE)
_SUPERVISED = RenderingLicense.SUPERVISED
_UNDER_SUPERVISOR = SupervisedBilling.UNDER_SUPERVISOR
_SUPERVISEE_RENDERS = SupervisedBilling.SUPERVISEE_RENDERS
_NOT_PERMITTED = SupervisedBilling.NOT_PERMITTED
_PLAN_NAMES = {
    LineOfBusiness.COMMERCIAL: "commercial",
    LineOfBusiness.MEDICAID: "Medicaid",
    LineOfBusiness.MEDICARE_ADVANTAGE: "Medicare Advantage",
    LineOfBusiness.SCO: "Senior Care Options (SCO)",
    LineOfBusiness.ONE_CARE: "One Care",
}
_ADD_ON_CODES = PSYCHOTHERAPY_WITH_EM_ADD_ONS | {INTERACTIVE_COMPLEXITY, CRISIS_ADD_ON}
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


def _preventive_pediatric(claim: Claim, ctx: CheckContext) -> bool:
    dob = patient_dob(claim)
    under = ctx.settings.preventive_z_code_age(claim.line_of_business)
    return all(
        line.procedure_code in PEDIATRIC_PREVENTIVE_PROCEDURES and age_on(dob, line.service_date) < under
        for line in claim.lines
    )


def check_primary_diagnosis(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if not claim.diagnoses:
        return ()
    if claim.diagnoses[0][:1] == "F":
        return ()  # the usual claim, without normalising its code
    primary = claim.diagnoses[0].replace(".", "").upper()
    if primary.startswith("F") or is_dsm_derived(primary):
        return ()
    if primary.startswith("Z"):
        if _preventive_pediatric(claim, ctx):
            return ()
        under = ctx.settings.preventive_z_code_age(claim.line_of_business)
        message = (
            f"The primary diagnosis {_dotted(primary)} is a Z code; Optum accepts a Z code alone only for "
            f"preventive behavioral-health services to a patient under {under} "
            f"({_PLAN_NAMES[claim.line_of_business]}). Put the DSM-5-TR diagnosis first."
        )
    else:
        message = (
            f"The primary diagnosis {_dotted(primary)} is not a code DSM-5-TR assigns to a mental disorder "
            "(F01-F99, or e.g. G47.x sleep-wake and G21/G24/G25 medication-induced movement disorders); "
            "put the DSM-5-TR diagnosis first and the medical condition after it."
        )
    return (PRIMARY_DX.finding(claim, message),)


def check_code_first_etiology(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    notes = code_first_notes()
    for code in claim.diagnoses:
        if code in notes or (code[:1] in "Ff." and code.replace(".", "").upper() in notes):
            return _code_first_findings(claim)
    return ()


def _code_first_findings(claim: Claim) -> list[Finding]:
    codes = [code.replace(".", "").upper() for code in claim.diagnoses]
    findings = []
    for code in codes:
        note = code_first(code) if code.startswith("F") else None
        if note is None or any(note.is_etiology(other) for other in codes if other != code):
            continue
        findings.append(
            CODE_FIRST.finding(
                claim,
                f"Diagnosis {_dotted(code)} carries the ICD-10-CM note \"{note.note}\"; add the underlying "
                "condition as a secondary diagnosis (the DSM-5-TR code stays primary for Optum).",
            )
        )
    return findings


def _facility_reason(code: str, place: str, ctx: CheckContext) -> str:
    settings = ctx.settings
    if code in settings.facility_procedure_codes:
        return f"{code} bills {FACILITY_PROCEDURES.get(code, 'a facility-based level of care')}"
    if len(code) == 4 and code.isdigit():
        return f"{code} is a revenue code, which only an institutional claim carries"
    return f"place of service {place} is {FACILITY_PLACES_OF_SERVICE.get(place, 'a facility')}"


def check_facility_level_of_care(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    codes = ctx.settings.facility_procedure_codes
    places = ctx.settings.facility_places_of_service  # empty by default: the code decides
    for line in claim.lines:
        code = line.procedure_code
        if code in codes or (len(code) == 4 and code.isdigit()) or line.place_of_service in places:
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


def _supervised_billing(claim: Claim, ctx: CheckContext) -> SupervisedBilling | None:
    """How this supervised claim is billed under ``[supervision]``, or None when it is not supervised."""
    if claim.supervising is None and claim.rendering_license is not _SUPERVISED:
        return None
    return ctx.settings.supervised_billing(claim.line_of_business)


def check_supervision_not_permitted(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if _supervised_billing(claim, ctx) is not _NOT_PERMITTED:
        return ()
    plan = _PLAN_NAMES[claim.line_of_business]
    if claim.supervising is not None:
        what = f"names a supervising clinician (NPI {claim.supervising.npi})"
    else:
        what = "is rendered by a clinician who is not independently licensed"
    return (
        SUPV_MEDICARE.finding(
            claim,
            f"This {plan} claim {what}; Medicare does not permit supervisory billing. Bill the service under "
            "an independently licensed clinician who saw the patient (rendering provider), without a "
            "supervising provider; a service by a clinician who is not independently licensed cannot be "
            "billed to this plan.",
        ),
    )


def check_supervisee_renders(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if _supervised_billing(claim, ctx) is not _SUPERVISEE_RENDERS:
        return ()
    rendering, supervising, billing = claim.rendering, claim.supervising, claim.billing
    if (
        rendering is not None
        and supervising is not None
        and rendering.entity_type == "1"
        and rendering.npi != billing.npi
        and supervising.npi != rendering.npi
    ):
        return ()
    return (SUPV_MEDICAID.finding(claim, _supervisee_problems(claim)),)


def _supervisee_problems(claim: Claim) -> str:
    rendering, supervising, billing = claim.rendering, claim.supervising, claim.billing
    plan = _PLAN_NAMES[claim.line_of_business]
    fixes = []
    if rendering is None:
        fixes.append("put the supervised clinician's own Type 1 NPI in rendering_npi (box 24J, loop 2310B)")
    elif rendering.entity_type != "1":
        fixes.append(
            f"the rendering NPI {rendering.npi} is a Type 2 (organisation) NPI: put the supervised "
            "clinician's own Type 1 NPI in rendering_npi"
        )
    elif rendering.npi == billing.npi:
        fixes.append(
            f"the rendering NPI {rendering.npi} is the billing provider's: put the supervised clinician's own "
            "Type 1 NPI in rendering_npi and keep the group's NPI as billing provider"
        )
    if supervising is None:
        fixes.append("add the licensed supervising clinician's NPI (box 31, loop 2310D)")
    elif rendering is not None and supervising.npi == rendering.npi:
        fixes.append(
            f"the supervising NPI {supervising.npi} is the rendering clinician's: the supervisor is the licensed "
            "clinician who supervises, put their NPI in supervising_npi"
        )
    return f"A {plan} claim by a clinician who is not independently licensed: {'; '.join(fixes)}."


def check_under_supervisor(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if _supervised_billing(claim, ctx) is not _UNDER_SUPERVISOR:
        return ()
    if claim.supervising is not None:
        for line in claim.lines:
            if len(line.modifiers) >= 4 and SUPERVISION_MODIFIER not in line.modifiers:
                break
        else:
            return ()
    return _under_supervisor_findings(claim)


def _under_supervisor_findings(claim: Claim) -> list[Finding]:
    plan = _PLAN_NAMES[claim.line_of_business]
    if claim.supervising is None:
        return [
            SUPV_COMMERCIAL.finding(
                claim,
                f"A {plan} claim by a clinician who is not independently licensed goes out under the licensed "
                "supervising clinician (Optum pays the licensed, contracted clinician); add the supervisor "
                "(supervising_npi, supervising_last, supervising_first).",
            )
        ]
    return [
        SUPV_COMMERCIAL.finding(
            claim,
            f"Line {line.line_id} ({line.procedure_code}) has four modifiers and no room for U5, which a "
            f"{plan} claim of a supervised clinician needs; drop a modifier the payer does not need.",
            line,
        )
        for line in claim.lines
        if len(line.modifiers) >= 4 and SUPERVISION_MODIFIER not in line.modifiers
    ]


def check_billed_under_supervisor(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    supervisor = claim.supervising
    if supervisor is None or _supervised_billing(claim, ctx) is not _UNDER_SUPERVISOR:
        return ()
    without = [line.line_id for line in claim.lines if SUPERVISION_MODIFIER not in line.modifiers]
    seen_by = f" (the ledger keeps NPI {claim.rendering.npi} as who saw the patient)" if claim.rendering else ""
    added = f"; modifier U5 added to line {', '.join(without)}" if without else ""
    return (
        SUPV_BILLED_UNDER.finding(
            claim,
            f"Sent under the supervising clinician: NPI {supervisor.npi} as rendering (2310B) and supervising "
            f"(2310D) provider{seen_by}{added}.",
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


def _correction_kind(claim: Claim) -> str:
    return "replacement" if claim.frequency == _REPLACEMENT else "void"


def _original(claim: Claim, ctx: CheckContext) -> tuple[bool, OriginalClaim | None]:
    """(asked, what the ledger knows) of the original a 7/8 names; asked is False without a ledger."""
    if ctx.original_claim is None:
        return False, None
    return True, ctx.original_claim(claim.claim_id)


def check_original_claim_number(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.frequency == _ORIGINAL or not claim.original_claim_number:
        return ()
    _, original = _original(claim, ctx)
    if original is None:
        return ()
    given = claim.original_claim_number.strip()
    if original.payer_claim_number == given:
        return ()
    kind = _correction_kind(claim)
    if original.payer_claim_number is None:
        message = (
            f"This {kind} names claim {claim.claim_id}, which Optum has not finalized yet (no 835 on file); "
            "Optum takes a replacement or void only for an adjudicated claim: wait for its remittance."
        )
    else:
        message = (
            f"This {kind} carries original claim number {given} (REF*F8), but Optum's claim number for "
            f"claim {claim.claim_id} is {original.payer_claim_number} (from its 835); correct "
            "original_claim_number in the PM system, or it will be rejected."
        )
    return (ORIGINAL_NUMBER.finding(claim, message),)


def check_original_claim_known(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.frequency == _ORIGINAL:
        return ()
    asked, original = _original(claim, ctx)
    if not asked or original is not None:
        return ()
    kind = _correction_kind(claim)
    return (
        ORIGINAL_UNKNOWN.finding(
            claim,
            f"This {kind} is for claim {claim.claim_id}, which the ledger has never sent; check that original "
            f"claim number {claim.original_claim_number or '(none)'} is Optum's number for the claim it replaces.",
        ),
    )


def check_correction_after_receipt(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.frequency != _REPLACEMENT:
        return ()
    _, original = _original(claim, ctx)
    if original is None or original.received is None:
        return ()
    days = ctx.settings.correction_receipt_days
    if (ctx.today - original.received).days <= days:
        return ()
    return (
        CORRECTION_RECEIPT.finding(
            claim,
            f"Optum asks for corrections or additions within {days} days of receipt of the initial claim; "
            f"the original was received {original.received} ({(ctx.today - original.received).days} days ago). "
            "Send it if the corrected-claim window is still open, else file an appeal.",
        ),
    )


def check_dsnp_start(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.line_of_business not in _DSNP_PLANS:
        return ()
    start = ctx.settings.sco_one_care_start
    if claim.first_service_date >= start:
        return ()
    plan = _PLAN_NAMES[claim.line_of_business]
    early = ", ".join(line.line_id for line in claim.lines if line.service_date < start)
    return (
        DSNP_START.finding(
            claim,
            f"Line {early}: Optum administers {plan} behavioral health from {start}; services before that date "
            "go to the plan that covered the member then, not to payer 87726.",
        ),
    )


def check_service_area(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.line_of_business not in _DSNP_PLANS:
        return ()
    address = claim.subscriber.address
    if address.state == "MA":
        counties = massachusetts_counties(address.zip)
        if not counties or not counties.isdisjoint(MGB_SERVICE_COUNTIES):
            return ()  # inside, or a ZIP without an area (PO box): nothing to say
        where = f"ZIP {address.zip[:5]} lies in {' / '.join(sorted(counties))} county"
    else:
        where = f"the member's address is in {address.state}"
    plan = _PLAN_NAMES[claim.line_of_business]
    return (
        SERVICE_AREA.finding(
            claim,
            f"{plan} with Mass General Brigham Health Plan serves Bristol, Dukes, Essex, Middlesex, Nantucket, "
            f"Norfolk, Plymouth and Suffolk counties, and {where}; check the member's plan and address.",
        ),
    )


def check_duplicate_lines(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if len(claim.lines) < 2:
        return ()
    seen: set[tuple[str, date, tuple[str, ...]]] = set()
    for line in claim.lines:
        modifiers = line.modifiers
        key = (line.procedure_code, line.service_date, modifiers if len(modifiers) < 2 else tuple(sorted(modifiers)))
        if key in seen:
            return _duplicate_findings(claim)
        seen.add(key)
    return ()


def _duplicate_findings(claim: Claim) -> list[Finding]:
    first: dict[tuple[str, date, tuple[str, ...]], str] = {}
    findings = []
    for line in claim.lines:
        key = (line.procedure_code, line.service_date, tuple(sorted(line.modifiers)))
        if key in first:
            findings.append(
                DUPLICATE_LINE.finding(
                    claim,
                    f"Line {line.line_id} repeats line {first[key]} ({line.procedure_code}, {line.service_date}, "
                    "same modifiers); Optum's payment-integrity review denies the repeat. Remove it, or add the "
                    "modifier that tells the services apart (e.g. 59 or 76).",
                    line,
                )
            )
        else:
            first[key] = line.line_id
    return findings


def check_session_units(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for line in claim.lines:
        if line.procedure_code in PSYCHOTHERAPY_SESSION_CODES and line.units > 1:
            return [
                SESSION_UNITS.finding(
                    claim,
                    f"Line {line.line_id} bills {line.procedure_code} with {line.units} units; it is one session "
                    "(1 unit), and more units are paid as one. Bill 1 unit, or each session on its own line.",
                    line,
                )
                for line in claim.lines
                if line.units > 1 and line.procedure_code in PSYCHOTHERAPY_SESSION_CODES
            ]
    return ()


def check_add_on_primary(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for line in claim.lines:
        if line.procedure_code in _ADD_ON_CODES:
            return _add_on_findings(claim)
    return ()


def _add_on_findings(claim: Claim) -> list[Finding]:
    codes_by_day: dict[date, set[str]] = {}
    for line in claim.lines:
        codes_by_day.setdefault(line.service_date, set()).add(line.procedure_code)
    findings = []
    for line in claim.lines:
        code, day_codes = line.procedure_code, codes_by_day[line.service_date]
        if code in PSYCHOTHERAPY_WITH_EM_ADD_ONS:
            if any(is_evaluation_and_management(other) for other in day_codes):
                continue
            wants = "an evaluation and management (E/M) service (99202-99499)"
        elif code == INTERACTIVE_COMPLEXITY:
            if not day_codes.isdisjoint(INTERACTIVE_COMPLEXITY_PRIMARIES):
                continue
            wants = "the service it adds to (90791, 90792, 90832-90838 or 90853)"
        elif code == CRISIS_ADD_ON:
            if CRISIS_PRIMARY in day_codes:
                continue
            wants = "90839 (psychotherapy for crisis, first 60 minutes)"
        else:
            continue
        findings.append(
            ADD_ON.finding(
                claim,
                f"Line {line.line_id}: {code} is an add-on code and the claim has no {wants} on {line.service_date}; "
                "add the primary service or the add-on will be denied.",
                line,
            )
        )
    return findings


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
    "Primary diagnosis is a DSM-5-TR code (F01-F99, G47.x, G21/G24/G25 ...), or a Z code for preventive "
    "services to a patient under 21 (Medicaid, EPSDT) or 18",
    f"Optum: primary diagnosis ICD-10-CM derived from DSM-5 ({_DOC}, Codes); "
    "validators/codesets/dsm5tr_icd10cm.csv",
    check_primary_diagnosis,
)
CODE_FIRST = Rule(
    "OPT-DX-CODE-FIRST",
    7,
    "warning",
    "An F code under a \"Code first\" note has its underlying condition as a secondary diagnosis",
    "CDC ICD-10-CM tabular list, \"Code first\" instructional notes (validators/codesets/README.md)",
    check_code_first_etiology,
)
FACILITY = Rule(
    "OPT-FACILITY",
    7,
    "error",
    "PHP, IOP, residential and inpatient services (HCPCS level-of-care and revenue codes) are refused: bill an 837I",
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
    "Plans without supervisory billing ([supervision] not_permitted: Medicare Advantage, SCO, One Care) "
    "have no supervising or supervised clinician",
    f"Medicare does not permit supervisory billing ({_DOC}, Rendering, billing and supervising)",
    check_supervision_not_permitted,
)
SUPV_MEDICAID = Rule(
    "OPT-SUPV-MEDICAID",
    7,
    "error",
    "Supervisee-renders plans (Medicaid): the supervisee's own Type 1 NPI renders (not the billing NPI), "
    "a different supervisor in 2310D",
    f"MA Medicaid: non-independently licensed clinician in box 24J, supervisor in box 31 ({_DOC})",
    check_supervisee_renders,
)
SUPV_COMMERCIAL = Rule(
    "OPT-SUPV-COMMERCIAL",
    7,
    "error",
    "Bill-under-supervisor plans (commercial): a supervised claim names its supervisor and each line has room "
    "for U5",
    "Optum commercial (Massachusetts, since 2024-10): services of a supervised clinician are billed under the "
    "licensed, contracted supervisor with modifier U5 (issue 15); [supervision], [rules] commercial_supervision",
    check_under_supervisor,
)
SUPV_BILLED_UNDER = Rule(
    "OPT-SUPV-U5",
    7,
    "info",
    "A supervised commercial claim is sent under its supervisor (2310B and 2310D), U5 added where missing",
    "Optum commercial supervision policy (issue 15); edi/x837p.py claim_as_billed",
    check_billed_under_supervisor,
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
ORIGINAL_NUMBER = Rule(
    "OPT-ORIGINAL-NUMBER",
    7,
    "error",
    "A replacement or void's REF*F8 is the payer claim number of the finalized original the ledger holds",
    f"Corrected or void claims carry the original claim number; the original must be finalized ({_DOC}, Deadlines)",
    check_original_claim_number,
)
ORIGINAL_UNKNOWN = Rule(
    "OPT-ORIGINAL-UNKNOWN",
    7,
    "warning",
    "A replacement or void for a claim the ledger never sent is flagged",
    f"Corrected or void claims carry the original claim number ({_DOC}, Deadlines)",
    check_original_claim_known,
)
CORRECTION_RECEIPT = Rule(
    "OPT-CORR-RECEIPT",
    7,
    "warning",
    "A corrected claim more than 90 days after the payer received the original is flagged",
    f"Optum: \"Corrections or additions within 90 days of receipt of the initial claim\" ({_DOC}, Deadlines)",
    check_correction_after_receipt,
)
DSNP_START = Rule(
    "OPT-DSNP-START",
    7,
    "error",
    "SCO and One Care dates of service are on or after Optum's start (2026-01-01, settable)",
    f"Optum administers the Massachusetts D-SNPs SCO and One Care from 2026-01-01 ({_DOC}, Plans and members)",
    check_dsnp_start,
)
SERVICE_AREA = Rule(
    "OPT-SERVICE-AREA",
    7,
    "warning",
    "SCO and One Care members live in the eight MGB counties (ZIP to county, US Census 2020)",
    f"2026 SCO/One Care service area ({_DOC}, Plans and members); validators/codesets/README.md",
    check_service_area,
)
DUPLICATE_LINE = Rule(
    "OPT-DUP-LINE",
    7,
    "warning",
    "No two lines bill the same code on the same date with the same modifiers",
    f"Optum payment-integrity reviews reduce payments ({_DOC}, Remittances)",
    check_duplicate_lines,
)
SESSION_UNITS = Rule(
    "OPT-SESSION-UNITS",
    7,
    "warning",
    "Psychotherapy and evaluation session codes (90791-90853) bill 1 unit",
    f"CPT: one session per code; Optum payment-integrity reviews ({_DOC}, Remittances)",
    check_session_units,
)
ADD_ON = Rule(
    "OPT-ADD-ON",
    7,
    "warning",
    "Add-on codes come with their primary the same day: 90833/90836/90838 with an E/M, 90785 with a "
    "psychiatric service, 90840 with 90839",
    f"CPT add-on code rules; Optum payment-integrity reviews ({_DOC}, Remittances)",
    check_add_on_primary,
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
    CODE_FIRST,
    FACILITY,
    TESTING_AUTH,
    SUPV_MEDICARE,
    SUPV_MEDICAID,
    SUPV_COMMERCIAL,
    SUPV_BILLED_UNDER,
    AGE_PLAN,
    DSNP_START,
    SERVICE_AREA,
    ORIGINAL_NUMBER,
    ORIGINAL_UNKNOWN,
    CORRECTION_WINDOW,
    CORRECTION_UNVERIFIED,
    CORRECTION_RECEIPT,
    DUPLICATE_LINE,
    SESSION_UNITS,
    ADD_ON,
    NON_PARTICIPATING,
    ABA,
)
