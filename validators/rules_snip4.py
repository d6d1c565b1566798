"""WEDI SNIP level 4: situational requirements — "when X is present, Y must be"."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

from domain.claim import Claim, Frequency, Relationship
from validators.findings import CheckContext, Finding, Rule

# Each check tests the clean claim first and returns () (how a rule is written: validators/engine.py).
_MAX_POINTERS = 4  # SV107-1..4
_MAX_DIAGNOSES = 12  # HI: ABK + 11 ABF
_CORRECTIONS = (Frequency.REPLACEMENT, Frequency.VOID)
_SELF = Relationship.SELF  # read once: an enum class attribute costs more than this whole rule


def check_patient_demographics(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.relationship == _SELF:
        return ()
    patient = claim.patient
    if patient is None:
        return (
            PATIENT.finding(
                claim,
                f"The patient is not the subscriber (relationship: {claim.relationship.value}) but the claim has no patient "
                "name, date of birth or sex; add the patient's demographics in the PM system.",
            ),
        )
    missing = [
        label
        for label, value in (("last name", patient.last), ("first name", patient.first))
        if not value.strip()
    ]
    if patient.sex not in ("M", "F", "U"):
        missing.append("sex (M, F or U)")
    if missing:
        return (
            PATIENT.finding(
                claim, f"The patient's {', '.join(missing)} is missing; complete the patient's demographics."
            ),
        )
    return ()


def check_original_claim_number(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.frequency in _CORRECTIONS and not (claim.original_claim_number or "").strip():
        kind = "replacement" if claim.frequency == Frequency.REPLACEMENT else "void"
        return (
            ORIGINAL_REF.finding(
                claim,
                f"This {kind} claim (frequency {claim.frequency.value}) has no original claim number; add "
                "Optum's claim number of the claim being replaced or voided, from its remittance (835) or 277CA.",
            ),
        )
    return ()


def check_supervising_needs_rendering(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    if claim.supervising is not None and claim.rendering is None:
        return (
            SUPV_RENDERING.finding(
                claim,
                f"The claim names a supervising clinician (NPI {claim.supervising.npi}) but no rendering "
                "clinician; add the rendering clinician who saw the patient.",
            ),
        )
    return ()


def check_telehealth_modifier(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    settings = ctx.settings
    places = settings.telehealth_places_of_service
    wanted = settings.telehealth_modifiers
    for line in claim.lines:
        if line.place_of_service in places and wanted.isdisjoint(line.modifiers):
            return _telehealth_findings(claim, ctx, places, wanted)
    return ()


def _telehealth_findings(
    claim: Claim, ctx: CheckContext, places: frozenset[str], wanted: frozenset[str]
) -> list[Finding]:
    level = ctx.settings.telehealth_level(claim.line_of_business)
    if level == "off":
        return []
    return [
        TELEHEALTH.finding(
            claim,
            f"Line {line.line_id} ({line.procedure_code}, {line.service_date}) is telehealth "
            f"(place of service {line.place_of_service}) without a telehealth modifier; add modifier "
            f"{', '.join(sorted(wanted))} (93 or FQ for audio-only).",
            line,
            severity=level,
        )
        for line in claim.lines
        if line.place_of_service in places and wanted.isdisjoint(line.modifiers)
    ]


@lru_cache(maxsize=1024)
def _pointers_ok(pointers: tuple[int, ...], count: int) -> bool:
    return (
        0 < len(pointers) <= _MAX_POINTERS
        and all(1 <= pointer <= count for pointer in pointers)
        and len(set(pointers)) == len(pointers)
    )


def check_diagnosis_pointers(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    count = len(claim.diagnoses)
    if not 0 < count <= _MAX_DIAGNOSES:
        return list(_diagnosis_pointer_findings(claim, count))
    for line in claim.lines:
        pointers = line.diagnosis_pointers
        if len(pointers) == 1:  # the usual line: checked here, without the cache lookup
            if not 1 <= pointers[0] <= count:
                return list(_diagnosis_pointer_findings(claim, count))
        elif not _pointers_ok(pointers, count):
            return list(_diagnosis_pointer_findings(claim, count))
    return ()


def _diagnosis_pointer_findings(claim: Claim, count: int) -> Iterator[Finding]:
    if count == 0:
        yield DX_POINTER.finding(claim, "The claim has no diagnosis; add the primary diagnosis code.")
        return
    if count > _MAX_DIAGNOSES:
        yield DX_POINTER.finding(
            claim, f"The claim has {count} diagnoses; an 837P carries at most 12, remove the extra ones."
        )
    for line in claim.lines:
        pointers = line.diagnosis_pointers
        if not pointers:
            yield DX_POINTER.finding(
                claim,
                f"Line {line.line_id} ({line.procedure_code}) points at no diagnosis; point it at "
                "the diagnosis it treats (e.g. 1).",
                line,
            )
        elif len(pointers) > _MAX_POINTERS:
            yield DX_POINTER.finding(
                claim,
                f"Line {line.line_id} ({line.procedure_code}) points at {len(pointers)} diagnoses; "
                "a line may point at 4 at most.",
                line,
            )
        else:
            bad = [p for p in pointers if not 1 <= p <= count]
            if bad:
                yield DX_POINTER.finding(
                    claim,
                    f"Line {line.line_id} ({line.procedure_code}) points at diagnosis "
                    f"{', '.join(map(str, bad))} but the claim has {count}; fix the diagnosis pointers.",
                    line,
                )
            elif len(set(pointers)) != len(pointers):
                yield DX_POINTER.finding(
                    claim,
                    f"Line {line.line_id} ({line.procedure_code}) points at the same diagnosis twice; "
                    "list each pointer once.",
                    line,
                )


def check_rendering_taxonomy(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    rendering = claim.rendering
    if rendering is not None and not rendering.taxonomy:
        return (
            RENDERING_TAXONOMY.finding(
                claim,
                f"The rendering clinician (NPI {rendering.npi}) has no taxonomy code; add the clinician's "
                "taxonomy from NPPES (e.g. 101YP2500X).",
            ),
        )
    return ()


_IG = "837P implementation guide 005010X222A1"
PATIENT = Rule(
    "SNIP4-PATIENT",
    4,
    "error",
    "A patient who is not the subscriber has name, date of birth and sex",
    f"{_IG}: loop 2010CA is required when the patient is not the subscriber",
    check_patient_demographics,
)
ORIGINAL_REF = Rule(
    "SNIP4-ORIGINAL-REF",
    4,
    "error",
    "A replacement (7) or void (8) claim carries the original claim number",
    f"{_IG}: REF*F8 required for frequency 7/8; Optum (payer-87726.md, Deadlines)",
    check_original_claim_number,
)
SUPV_RENDERING = Rule(
    "SNIP4-SUPV-RENDERING",
    4,
    "error",
    "A supervising provider appears only with a rendering provider",
    "Optum (payer-87726.md, Rendering, billing and supervising providers): box 24J "
    "rendering, box 31 supervising",
    check_supervising_needs_rendering,
)
TELEHEALTH = Rule(
    "SNIP4-TELEHEALTH-MOD",
    4,
    "warning",
    "A telehealth line (POS 02/10) carries modifier 95, GT, 93 (audio-only) or FQ; level per line of business",
    "Optum telehealth billing: POS 02/10 with 95, GT, 93 or FQ ([rules] telehealth_modifiers, "
    "[rules.telehealth_missing_modifier])",
    check_telehealth_modifier,
)
DX_POINTER = Rule(
    "SNIP4-DX-POINTER",
    4,
    "error",
    "Diagnosis pointers point at existing diagnoses, 1 to 4 per line, at most 12 diagnoses",
    f"{_IG}: SV107 pointers into HI, at most 4",
    check_diagnosis_pointers,
)
RENDERING_TAXONOMY = Rule(
    "SNIP4-RENDERING-TAXONOMY",
    4,
    "error",
    "A rendering provider has a taxonomy code",
    f"{_IG}: PRV*PE in loop 2310B; pm-export-csv.md rendering_taxonomy",
    check_rendering_taxonomy,
)

RULES: tuple[Rule, ...] = (PATIENT, ORIGINAL_REF, SUPV_RENDERING, TELEHEALTH, DX_POINTER, RENDERING_TAXONOMY)
