"""WEDI SNIP level 5: external code sets — every code is one that exists.

NPIs pass the Luhn check with the 80840 prefix; diagnoses are billable
ICD-10-CM codes of the shipped release; procedure codes have CPT/HCPCS shape;
places of service, states, ZIP codes and taxonomy codes have their real shapes.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache

from domain.claim import Address, Claim, Provider
from domain.npi import npi_is_valid
from validators.codesets import ICD10CM_RELEASE, PLACES_OF_SERVICE, US_STATE_CODES, icd10cm_billable
from validators.findings import CheckContext, Finding, Rule

# Each check tests the clean claim first and returns () (how a rule is written: validators/engine.py).
_PROCEDURE = re.compile(r"\d{5}|\d{4}[FTU]|[A-Z]\d{4}")
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_TAXONOMY = re.compile(r"[0-9A-Z]{9}X")


def _providers(claim: Claim) -> list[tuple[str, Provider]]:
    providers = [("billing provider", claim.billing)]
    if claim.rendering is not None:
        providers.append(("rendering clinician", claim.rendering))
    if claim.supervising is not None:
        providers.append(("supervising clinician", claim.supervising))
    return providers


def check_npis(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    rendering, supervising = claim.rendering, claim.supervising
    if (
        npi_is_valid(claim.billing.npi)
        and (rendering is None or npi_is_valid(rendering.npi))
        and (supervising is None or npi_is_valid(supervising.npi))
    ):
        return ()
    return _npi_findings(claim)


def _npi_findings(claim: Claim) -> list[Finding]:
    return [
        NPI.finding(
            claim,
            f"The {role}'s NPI {provider.npi!r} is not a valid NPI (10 digits with a correct check "
            "digit); copy it again from NPPES — a spreadsheet may have dropped a leading digit.",
        )
        for role, provider in _providers(claim)
        if not npi_is_valid(provider.npi)
    ]


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


@cache
def _icd10cm_sorted() -> tuple[str, ...]:
    return tuple(sorted(icd10cm_billable()))


def _is_icd10cm_header(code: str) -> bool:
    """A category or subcategory with billable codes beneath it (F32, F431)."""
    ordered = _icd10cm_sorted()
    index = bisect_left(ordered, code)
    return len(code) >= 3 and index < len(ordered) and ordered[index].startswith(code)


def check_icd10cm(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    billable = icd10cm_billable()
    if billable.issuperset(claim.diagnoses):
        return ()
    return list(_icd10cm_findings(claim, billable))


def _icd10cm_findings(claim: Claim, billable: frozenset[str]) -> Iterator[Finding]:
    for position, code in enumerate(claim.diagnoses, start=1):
        if code in billable:
            continue
        normal = code.replace(".", "").strip().upper()
        if normal in billable:
            continue
        if _is_icd10cm_header(normal):
            why = "is a category, not a billable code; choose the specific code beneath it"
        else:
            why = "is not an ICD-10-CM code; check the diagnosis in the chart and the PM system"
        yield ICD10.finding(
            claim,
            f"Diagnosis {position} ({_dotted(normal) or 'blank'}) {why} "
            f"(ICD-10-CM {ICD10CM_RELEASE} release).",
        )


@lru_cache(maxsize=4096)
def _procedure_code_ok(procedure_code: str) -> bool:
    return _PROCEDURE.fullmatch(procedure_code) is not None


@lru_cache(maxsize=1024)
def _modifiers_ok(modifiers: tuple[str, ...]) -> bool:
    return len(modifiers) <= 4 and all(_MODIFIER.fullmatch(modifier) for modifier in modifiers)


def check_procedure_codes(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for line in claim.lines:
        # most lines have no modifier: skip the cache lookup, whose key is a tuple
        if not (
            _procedure_code_ok(line.procedure_code) and (not line.modifiers or _modifiers_ok(line.modifiers))
        ):
            return list(_procedure_code_findings(claim))
    return ()


def _procedure_code_findings(claim: Claim) -> Iterator[Finding]:
    for line in claim.lines:
        if not _procedure_code_ok(line.procedure_code):
            yield PROCEDURE.finding(
                claim,
                f"Line {line.line_id}: procedure code {line.procedure_code!r} is neither a CPT code "
                "(5 digits, or 4 digits and F/T/U) nor a HCPCS code (a letter and 4 digits); correct it.",
                line,
            )
        if not _modifiers_ok(line.modifiers):
            yield PROCEDURE.finding(
                claim,
                f"Line {line.line_id} ({line.procedure_code}): modifiers {', '.join(map(repr, line.modifiers))} "
                "must be at most 4 two-character codes (e.g. HO, 95).",
                line,
            )


def check_places_of_service(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for line in claim.lines:
        if line.place_of_service not in PLACES_OF_SERVICE:
            return _place_of_service_findings(claim)
    return ()


def _place_of_service_findings(claim: Claim) -> list[Finding]:
    return [
        POS.finding(
            claim,
            f"Line {line.line_id} ({line.procedure_code}): place of service {line.place_of_service!r} "
            "is not a CMS place-of-service code; use two digits such as 11 (office) or 10 (telehealth "
            "at home).",
            line,
        )
        for line in claim.lines
        if line.place_of_service not in PLACES_OF_SERVICE
    ]


def _addresses(claim: Claim) -> list[tuple[str, Address]]:
    addresses = [("subscriber", claim.subscriber.address)]
    for role, provider in _providers(claim):
        if provider.address is not None:
            addresses.append((role, provider.address))
    return addresses


@lru_cache(maxsize=4096)
def _zip_ok(zip_code: str) -> bool:
    return (len(zip_code) == 5 or len(zip_code) == 9) and zip_code.isdigit() and zip_code.isascii()


@lru_cache(maxsize=1024)
def _billing_zip_ok(zip_code: str) -> bool:
    return len(zip_code) == 9 and _zip_ok(zip_code) and not zip_code.endswith("0000")


def check_states(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    billing, rendering, supervising = claim.billing.address, claim.rendering, claim.supervising
    if (
        claim.subscriber.address.state in US_STATE_CODES
        and (billing is None or billing.state in US_STATE_CODES)
        and (rendering is None or rendering.address is None or rendering.address.state in US_STATE_CODES)
        and (
            supervising is None or supervising.address is None or supervising.address.state in US_STATE_CODES
        )
    ):
        return ()  # the clean case, read off the claim without building _addresses
    return _state_findings(claim)


def _state_findings(claim: Claim) -> list[Finding]:
    return [
        STATE.finding(
            claim,
            f"The {whose}'s address has state {address.state!r}; use the two-letter USPS code (e.g. MA).",
        )
        for whose, address in _addresses(claim)
        if address.state not in US_STATE_CODES
    ]


def check_zip_codes(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    billing, rendering, supervising = claim.billing.address, claim.rendering, claim.supervising
    if (
        _zip_ok(claim.subscriber.address.zip)
        and (billing is None or _billing_zip_ok(billing.zip))  # which implies _zip_ok
        and (rendering is None or rendering.address is None or _zip_ok(rendering.address.zip))
        and (supervising is None or supervising.address is None or _zip_ok(supervising.address.zip))
    ):
        return ()  # the clean case, read off the claim without building _addresses
    return _zip_findings(claim)


def _zip_findings(claim: Claim) -> list[Finding]:
    addresses = _addresses(claim)
    billing = claim.billing.address
    # The subscriber's ZIP is PHI-adjacent; say what is wrong without repeating it.
    findings = [
        ZIP.finding(
            claim,
            f"The {whose}'s ZIP code has {len(address.zip)} characters; enter 5 or 9 digits (a "
            "spreadsheet may have dropped a leading zero).",
        )
        for whose, address in addresses
        if not _zip_ok(address.zip)
    ]
    if billing is not None and _zip_ok(billing.zip) and not _billing_zip_ok(billing.zip):
        findings.append(
            ZIP.finding(
                claim,
                f"The billing provider's ZIP code {billing.zip} needs its full ZIP+4 (9 digits, not ending "
                "in 0000); look it up on usps.com.",
            )
        )
    return findings


@lru_cache(maxsize=1024)
def _taxonomy_ok(taxonomy: str) -> bool:
    return _TAXONOMY.fullmatch(taxonomy) is not None


def check_taxonomy_codes(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    rendering, supervising = claim.rendering, claim.supervising
    if (
        (not claim.billing.taxonomy or _taxonomy_ok(claim.billing.taxonomy))
        and (rendering is None or not rendering.taxonomy or _taxonomy_ok(rendering.taxonomy))
        and (supervising is None or not supervising.taxonomy or _taxonomy_ok(supervising.taxonomy))
    ):
        return ()
    return _taxonomy_findings(claim)


def _taxonomy_findings(claim: Claim) -> list[Finding]:
    return [
        TAXONOMY.finding(
            claim,
            f"The {role}'s taxonomy code {provider.taxonomy!r} is not a taxonomy code (10 characters "
            "ending in X, e.g. 101YP2500X); copy it from NPPES.",
        )
        for role, provider in _providers(claim)
        if provider.taxonomy and not _taxonomy_ok(provider.taxonomy)
    ]


NPI = Rule(
    "SNIP5-NPI",
    5,
    "error",
    "Billing, rendering and supervising NPIs pass the Luhn check (80840 prefix)",
    "CMS NPI standard, 45 CFR 162.406; Optum: NPIs must pass the Luhn check (payer-87726.md)",
    check_npis,
)
ICD10 = Rule(
    "SNIP5-ICD10",
    5,
    "error",
    "Every diagnosis is a billable ICD-10-CM code",
    f"CMS/CDC ICD-10-CM {ICD10CM_RELEASE} tabular list (validators/codesets/README.md)",
    check_icd10cm,
)
PROCEDURE = Rule(
    "SNIP5-PROCEDURE",
    5,
    "error",
    "Procedure codes have CPT or HCPCS shape; at most 4 two-character modifiers",
    "837P SV101: HC qualifier, CPT/HCPCS Level II",
    check_procedure_codes,
)
POS = Rule(
    "SNIP5-POS",
    5,
    "error",
    "Place of service is a CMS place-of-service code",
    "CMS Place of Service code set (validators/codesets/places_of_service.py)",
    check_places_of_service,
)
STATE = Rule(
    "SNIP5-STATE",
    5,
    "error",
    "Address states are USPS state/territory codes",
    "837P N402: state code; USPS abbreviations",
    check_states,
)
ZIP = Rule(
    "SNIP5-ZIP",
    5,
    "error",
    "ZIP codes are 5 or 9 digits; the billing provider's is a full ZIP+4",
    "837P N403; loop 2010AA requires the 9-digit ZIP",
    check_zip_codes,
)
TAXONOMY = Rule(
    "SNIP5-TAXONOMY",
    5,
    "error",
    "Taxonomy codes have the NUCC shape (10 characters ending in X)",
    "NUCC Health Care Provider Taxonomy code set; 837P PRV03",
    check_taxonomy_codes,
)

RULES: tuple[Rule, ...] = (NPI, ICD10, PROCEDURE, POS, STATE, ZIP, TAXONOMY)
