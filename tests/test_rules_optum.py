"""SNIP 7 rules for Optum Behavioral Health (payer 87726)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.claim import Address, Frequency, LineOfBusiness, Relationship, RenderingLicense, SupervisedBilling
from tests.rule_claims import (
    BILLING_NPI,
    CHILD,
    RENDERING,
    SERVICE_DATE,
    SUBSCRIBER,
    SUPERVISED_MEDICAID,
    SUPERVISING,
    TODAY,
    clean_claim,
    codes,
    context,
    findings_of,
    line,
)
from validators.engine import rule_settings
from validators.findings import OriginalClaim
from validators.settings import RuleSettings

MA = LineOfBusiness.MEDICARE_ADVANTAGE
FIXTURES_GOOD = Path(__file__).resolve().parent.parent / "fixtures" / "exports" / "good"
SENIOR = replace(SUBSCRIBER, dob=date(1955, 2, 1))
REPLACEMENT = {"frequency": Frequency.REPLACEMENT, "original_claim_number": "2026010700042"}
VOID = {"frequency": Frequency.VOID, "original_claim_number": "2026010700042"}
RECENT = {"2026010700042": date(2026, 1, 15)}
TEEN_19 = replace(CHILD, dob=date(2007, 1, 5))  # 19 on the date of service
WORCESTER = Address("1 MAIN ST", "WORCESTER", "MA", "01608")  # Worcester county
NASHUA = Address("1 MAIN ST", "NASHUA", "NH", "03060")
PO_BOX = Address("PO BOX 9", "BOSTON", "MA", "02205")  # a PO-box ZIP: no ZCTA, county unknown
SUPERVISED_UNDERSTOOD = {"rendering_license": RenderingLicense.SUPERVISED, "supervising": SUPERVISING}
LATE_REMIT = context(remits={"2026010700042": date(2025, 10, 1)})  # 212 days before TODAY
RECENT_REMIT = context(remits={"2026010700042": date(2026, 1, 15)})
SUPERVISED_U5 = {
    "supervising": SUPERVISING,
    "rendering_license": RenderingLicense.SUPERVISED,
    "lines": (line("1", modifiers=("U5",)),),
}
DEFAULT = context()
NO_U5_NOTE = context(settings=rule_settings({"OPT-SUPV-U5": "off"}))
"""A context without the info note that a supervised commercial claim goes under its supervisor."""


def case(code, failing, passing, failing_ctx, passing_ctx=None, *, id):
    """A rule's failing and passing claim, each checked in its own context (default: the failing one's)."""
    return pytest.param(code, failing, passing, failing_ctx, passing_ctx or failing_ctx, id=id)


CASES = [
    case(
        "OPT-PAYER-ID",
        clean_claim(payer_id="04293"),
        clean_claim(payer_id="87726"),
        DEFAULT,
        id="routed-to-mgb-medical",
    ),
    case(
        "OPT-TF-90",
        clean_claim(lines=(line("1"), line("2", service_date=date(2026, 1, 30)))),
        clean_claim(lines=(line("1"), line("2", service_date=date(2026, 1, 31)))),  # day 90
        DEFAULT,
        id="timely-filing-day-91",
    ),
    case(
        "OPT-TF-90",
        clean_claim(
            line_of_business=LineOfBusiness.MEDICAID, lines=(line("1", service_date=date(2026, 1, 1)),)
        ),
        clean_claim(
            line_of_business=LineOfBusiness.MEDICAID, lines=(line("1", service_date=date(2026, 1, 1)),)
        ),
        DEFAULT,
        context(settings=rule_settings({"timely_filing_days": {"medicaid": 180}})),
        id="timely-filing-configured-per-line-of-business",
    ),
    case(
        "OPT-DX-PRIMARY",
        clean_claim(diagnoses=("I10", "F411")),
        clean_claim(diagnoses=("F411", "I10")),
        DEFAULT,
        id="primary-not-behavioral",
    ),
    case(
        "OPT-DX-PRIMARY",
        clean_claim(diagnoses=("G4701", "F411")),  # insomnia due to a medical condition: not DSM-5-TR's
        clean_claim(diagnoses=("G4700", "F411")),  # unspecified insomnia disorder: DSM-5-TR's G47.00
        DEFAULT,
        id="sleep-wake-primary-from-the-crosswalk",
    ),
    case(
        "OPT-DX-PRIMARY",
        clean_claim(diagnoses=("G2589", "F411")),  # other extrapyramidal disorder: not DSM-5-TR's
        clean_claim(diagnoses=("G2571", "F200")),  # medication-induced akathisia, schizophrenia
        DEFAULT,
        id="movement-disorder-primary-from-the-crosswalk",
    ),
    case(
        "OPT-DX-PRIMARY",
        clean_claim(
            line_of_business=LineOfBusiness.COMMERCIAL,
            diagnoses=("Z1331",),
            relationship=Relationship.CHILD,
            patient=TEEN_19,
            lines=(line("1", procedure_code="96127", charge=Decimal("10.00")),),
        ),
        clean_claim(
            line_of_business=LineOfBusiness.MEDICAID,
            diagnoses=("Z1331",),
            relationship=Relationship.CHILD,
            patient=TEEN_19,
            lines=(line("1", procedure_code="96127", charge=Decimal("10.00")),),
        ),
        DEFAULT,
        id="z-code-preventive-to-21-for-masshealth-epsdt",
    ),
    case(
        "OPT-DX-PRIMARY",
        clean_claim(
            line_of_business=LineOfBusiness.MEDICAID,
            diagnoses=("Z1331",),
            relationship=Relationship.CHILD,
            patient=replace(CHILD, dob=SERVICE_DATE.replace(year=SERVICE_DATE.year - 21)),  # 21 that day
            lines=(line("1", procedure_code="96127", charge=Decimal("10.00")),),
        ),
        clean_claim(
            line_of_business=LineOfBusiness.MEDICAID,
            diagnoses=("Z1331",),
            relationship=Relationship.CHILD,
            patient=replace(CHILD, dob=SERVICE_DATE.replace(year=SERVICE_DATE.year - 21) + timedelta(days=1)),
            lines=(line("1", procedure_code="96127", charge=Decimal("10.00")),),
        ),
        DEFAULT,
        id="z-code-masshealth-boundary-21st-birthday",
    ),
    case(
        "OPT-DX-CODE-FIRST",
        clean_claim(diagnoses=("F0280", "F411")),
        clean_claim(diagnoses=("F0280", "G309")),
        DEFAULT,
        id="dementia-without-its-etiology",
    ),
    case(
        "OPT-DX-CODE-FIRST",
        clean_claim(diagnoses=("F061", "F200")),
        clean_claim(diagnoses=("F061", "E039")),  # the note names no codes: any non-F condition answers it
        DEFAULT,
        id="catatonia-due-to-a-physiological-condition",
    ),
    case(
        "OPT-DX-PRIMARY",
        clean_claim(
            diagnoses=("Z1331",), lines=(line("1", procedure_code="96127", charge=Decimal("10.00")),)
        ),
        clean_claim(
            diagnoses=("Z1331",),
            relationship=Relationship.CHILD,
            patient=CHILD,
            lines=(line("1", procedure_code="96127", charge=Decimal("10.00")),),
        ),
        DEFAULT,
        id="z-code-adult-vs-child-screening",
    ),
    case(
        "OPT-DX-PRIMARY",
        clean_claim(diagnoses=("Z1331",), relationship=Relationship.CHILD, patient=CHILD),
        clean_claim(diagnoses=("F900",), relationship=Relationship.CHILD, patient=CHILD),
        DEFAULT,
        id="z-code-child-psychotherapy",
    ),
    case(
        "OPT-FACILITY",
        clean_claim(lines=(line("1", procedure_code="H0035"),)),
        clean_claim(lines=(line("1", procedure_code="90853"),)),
        DEFAULT,
        id="php-code",
    ),
    case(
        "OPT-FACILITY",
        clean_claim(lines=(line("1", procedure_code="S9480"),)),
        clean_claim(lines=(line("1", procedure_code="90847"),)),
        DEFAULT,
        id="iop-code",
    ),
    case(
        "OPT-FACILITY",
        clean_claim(lines=(line("1", procedure_code="99223", place_of_service="51"),)),
        clean_claim(lines=(line("1", procedure_code="99223", place_of_service="51"),)),
        context(settings=rule_settings({"facility_places_of_service": ["21", "51"]})),
        DEFAULT,
        id="inpatient-pos-only-when-the-practice-lists-it",
    ),
    case(
        "OPT-FACILITY",
        clean_claim(lines=(line("1", procedure_code="H0015"),)),
        clean_claim(lines=(line("1", procedure_code="99232", place_of_service="21"),)),
        DEFAULT,
        id="sud-iop-code-vs-psychiatrist-hospital-visit",
    ),
    case(
        "OPT-FACILITY",
        clean_claim(lines=(line("1", procedure_code="H0019"),)),
        clean_claim(lines=(line("1", procedure_code="90837", place_of_service="55"),)),
        DEFAULT,
        id="residential-code-vs-therapy-at-a-residential-place",
    ),
    case(
        "OPT-FACILITY",
        clean_claim(lines=(line("1", procedure_code="0912"),)),
        clean_claim(lines=(line("1", procedure_code="90791"),)),
        DEFAULT,
        id="revenue-code",
    ),
    case(
        "OPT-AUTH-TESTING",
        clean_claim(lines=(line("1", procedure_code="96130"),)),
        clean_claim(lines=(line("1", procedure_code="96130"),), prior_auth="A778899"),
        DEFAULT,
        id="testing-without-auth",
    ),
    case(
        "OPT-AUTH-TESTING",
        clean_claim(lines=(line("1", procedure_code="96112"),)),
        clean_claim(lines=(line("1", procedure_code="96112"),), prior_auth="A778899"),
        DEFAULT,
        id="developmental-testing-96112-without-auth",
    ),
    case(
        "OPT-SUPV-MEDICARE",
        clean_claim(line_of_business=MA, supervising=SUPERVISING),
        clean_claim(line_of_business=MA),
        DEFAULT,
        id="medicare-advantage-supervisor",
    ),
    case(
        "OPT-SUPV-MEDICARE",
        clean_claim(line_of_business=MA, rendering_license=RenderingLicense.SUPERVISED),
        clean_claim(line_of_business=LineOfBusiness.SCO, subscriber=SENIOR, **SUPERVISED_UNDERSTOOD),
        DEFAULT,
        context(settings=rule_settings({}, supervision={LineOfBusiness.SCO: SupervisedBilling.SUPERVISEE_RENDERS})),
        id="supervised-without-supervisor-vs-sco-set-to-supervisee",
    ),
    case(
        "OPT-SUPV-MEDICARE",
        clean_claim(
            line_of_business=LineOfBusiness.SCO,
            subscriber=SENIOR,
            rendering_license=RenderingLicense.SUPERVISED,
        ),
        clean_claim(line_of_business=LineOfBusiness.SCO, subscriber=SENIOR),
        DEFAULT,
        id="sco-supervised-clinician",
    ),
    case(
        "OPT-SUPV-MEDICAID",
        clean_claim(line_of_business=LineOfBusiness.MEDICAID, rendering_license=RenderingLicense.SUPERVISED),
        clean_claim(
            line_of_business=LineOfBusiness.MEDICAID,
            rendering_license=RenderingLicense.SUPERVISED,
            supervising=SUPERVISING,
        ),
        DEFAULT,
        id="medicaid-supervised-without-supervisor",
    ),
    case(
        "OPT-SUPV-MEDICAID",
        clean_claim(**SUPERVISED_MEDICAID, rendering=replace(RENDERING, npi=BILLING_NPI)),
        clean_claim(**SUPERVISED_MEDICAID),
        DEFAULT,
        id="medicaid-rendering-npi-is-the-groups",
    ),
    case(
        "OPT-SUPV-MEDICAID",
        clean_claim(**{**SUPERVISED_MEDICAID, "supervising": replace(SUPERVISING, npi=RENDERING.npi)}),
        clean_claim(**SUPERVISED_MEDICAID),
        DEFAULT,
        id="medicaid-supervisor-is-the-rendering-clinician",
    ),
    case(
        "OPT-SUPV-MEDICAID",
        clean_claim(
            line_of_business=LineOfBusiness.MEDICAID,
            rendering_license=RenderingLicense.SUPERVISED,
            supervising=SUPERVISING,
            rendering=replace(RENDERING, entity_type="2"),
        ),
        clean_claim(
            line_of_business=LineOfBusiness.MEDICAID,
            rendering_license=RenderingLicense.SUPERVISED,
            supervising=SUPERVISING,
            rendering=RENDERING,
        ),
        DEFAULT,
        id="medicaid-rendering-type-2",
    ),
    case(
        "OPT-SUPV-COMMERCIAL",
        clean_claim(rendering_license=RenderingLicense.SUPERVISED),
        clean_claim(**SUPERVISED_U5),
        DEFAULT,
        NO_U5_NOTE,
        id="commercial-supervised-without-supervisor",
    ),
    case(
        "OPT-SUPV-COMMERCIAL",
        clean_claim(**{**SUPERVISED_U5, "lines": (line("1", modifiers=("HO", "GT", "59", "XU")),)}),
        clean_claim(**{**SUPERVISED_U5, "lines": (line("1", modifiers=("HO", "GT", "59", "U5")),)}),
        DEFAULT,
        NO_U5_NOTE,
        id="commercial-supervised-line-without-room-for-u5",
    ),
    case(
        "OPT-SUPV-U5",
        clean_claim(supervising=SUPERVISING, rendering_license=RenderingLicense.SUPERVISED),
        clean_claim(supervising=SUPERVISING, rendering_license=RenderingLicense.SUPERVISED),
        DEFAULT,
        NO_U5_NOTE,
        id="commercial-supervised-goes-under-the-supervisor",
    ),
    case(
        "OPT-DSNP-START",
        clean_claim(line_of_business=LineOfBusiness.SCO, subscriber=SENIOR, lines=(line("1", service_date=date(2025, 12, 31)),)),
        clean_claim(line_of_business=LineOfBusiness.SCO, subscriber=SENIOR, lines=(line("1", service_date=date(2026, 1, 1)),)),
        context(today=date(2026, 2, 1)),
        id="sco-before-optums-start",
    ),
    case(
        "OPT-DSNP-START",
        clean_claim(line_of_business=LineOfBusiness.ONE_CARE),
        clean_claim(line_of_business=LineOfBusiness.ONE_CARE),
        context(settings=rule_settings({"sco_one_care_start": date(2026, 4, 15)})),
        context(settings=rule_settings({"sco_one_care_start": "2026-04-14"})),
        id="one-care-start-settable",
    ),
    case(
        "OPT-SERVICE-AREA",
        clean_claim(line_of_business=LineOfBusiness.SCO, subscriber=replace(SENIOR, address=WORCESTER)),
        clean_claim(line_of_business=LineOfBusiness.SCO, subscriber=SENIOR),  # Salem, Essex county
        DEFAULT,
        id="sco-member-outside-the-eight-counties",
    ),
    case(
        "OPT-SERVICE-AREA",
        clean_claim(line_of_business=LineOfBusiness.ONE_CARE, subscriber=replace(SUBSCRIBER, address=NASHUA)),
        clean_claim(line_of_business=LineOfBusiness.ONE_CARE, subscriber=replace(SUBSCRIBER, address=PO_BOX)),
        DEFAULT,
        id="one-care-member-out-of-state-vs-unplaceable-zip",
    ),
    case(
        "OPT-AGE-PLAN",
        clean_claim(line_of_business=LineOfBusiness.SCO),
        clean_claim(line_of_business=LineOfBusiness.SCO, subscriber=SENIOR),
        DEFAULT,
        id="sco-under-65",
    ),
    case(
        "OPT-AGE-PLAN",
        clean_claim(line_of_business=LineOfBusiness.ONE_CARE, subscriber=SENIOR),
        clean_claim(line_of_business=LineOfBusiness.ONE_CARE),
        DEFAULT,
        id="one-care-over-64",
    ),
    case(
        "OPT-AGE-PLAN",
        clean_claim(
            line_of_business=LineOfBusiness.ONE_CARE,
            relationship=Relationship.CHILD,
            patient=replace(CHILD, dob=date(2005, 4, 15)),
        ),  # 20 on 2026-04-14
        clean_claim(
            line_of_business=LineOfBusiness.ONE_CARE,
            relationship=Relationship.CHILD,
            patient=replace(CHILD, dob=date(2005, 4, 14)),
        ),  # 21 that day
        DEFAULT,
        id="one-care-patient-age-from-patient-dob",
    ),
    case(
        "OPT-CORR-WINDOW",
        clean_claim(**REPLACEMENT),
        clean_claim(**REPLACEMENT),
        LATE_REMIT,
        RECENT_REMIT,
        id="commercial-correction-after-180-days",
    ),
    case(
        "OPT-CORR-WINDOW",
        clean_claim(**REPLACEMENT),
        clean_claim(line_of_business=LineOfBusiness.MEDICAID, **REPLACEMENT),
        LATE_REMIT,
        id="medicaid-correction-window-365",
    ),
    case(
        "OPT-CORR-UNVERIFIED",
        clean_claim(**REPLACEMENT),
        clean_claim(**REPLACEMENT),
        context(remits={}),
        RECENT_REMIT,
        id="correction-without-remit-on-file",
    ),
    case(
        "OPT-ORIGINAL-NUMBER",
        clean_claim(**REPLACEMENT),
        clean_claim(**REPLACEMENT),
        context(remits={"2026010700042": date(2026, 1, 15)}, originals={"C1001": OriginalClaim("2026010799999")}),
        context(remits={"2026010700042": date(2026, 1, 15)}, originals={"C1001": OriginalClaim("2026010700042")}),
        id="replacement-names-another-claim-number",
    ),
    case(
        "OPT-ORIGINAL-NUMBER",
        clean_claim(**VOID),
        clean_claim(**VOID),
        context(originals={"C1001": OriginalClaim(None)}),
        context(originals={"C1001": OriginalClaim("2026010700042")}),
        id="void-of-an-original-not-finalized",
    ),
    case(
        "OPT-ORIGINAL-UNKNOWN",
        clean_claim(**VOID),
        clean_claim(**VOID),
        context(originals={}),
        context(originals={"C1001": OriginalClaim("2026010700042")}),
        id="void-for-a-claim-never-sent",
    ),
    case(
        "OPT-CORR-RECEIPT",
        clean_claim(**REPLACEMENT),
        clean_claim(**REPLACEMENT),
        context(remits=RECENT, originals={"C1001": OriginalClaim("2026010700042", TODAY - timedelta(days=91))}),
        context(remits=RECENT, originals={"C1001": OriginalClaim("2026010700042", TODAY - timedelta(days=90))}),
        id="correction-91-days-after-receipt",
    ),
    case(
        "OPT-DUP-LINE",
        clean_claim(lines=(line("1", modifiers=("HO", "95")), line("2", modifiers=("95", "HO")))),
        clean_claim(lines=(line("1"), line("2", service_date=SERVICE_DATE - timedelta(days=7)))),
        DEFAULT,
        id="same-code-date-and-modifiers",
    ),
    case(
        "OPT-SESSION-UNITS",
        clean_claim(lines=(line("1", units=Decimal("2")),)),
        clean_claim(lines=(line("1", procedure_code="90840", units=Decimal("2")), line("2", procedure_code="90839"))),
        DEFAULT,
        id="psychotherapy-two-units",
    ),
    case(
        "OPT-ADD-ON",
        clean_claim(lines=(line("1", procedure_code="90833"), line("2", procedure_code="90834"))),
        clean_claim(lines=(line("1", procedure_code="90833"), line("2", procedure_code="99214"))),
        DEFAULT,
        id="psychotherapy-add-on-without-em",
    ),
    case(
        "OPT-ADD-ON",
        clean_claim(lines=(line("1", procedure_code="90785"),)),
        clean_claim(lines=(line("1", procedure_code="90785"), line("2", procedure_code="90791"))),
        DEFAULT,
        id="interactive-complexity-alone",
    ),
    case(
        "OPT-ADD-ON",
        clean_claim(lines=(line("1", procedure_code="90839"), line("2", procedure_code="90840", service_date=SERVICE_DATE - timedelta(days=1)))),
        clean_claim(lines=(line("1", procedure_code="90839"), line("2", procedure_code="90840"))),
        DEFAULT,
        id="crisis-add-on-on-another-day",
    ),
    case(
        "OPT-NONPAR",
        clean_claim(extra=(("participation", "non_participating"),)),
        clean_claim(extra=(("participation", "participating"),)),
        DEFAULT,
        id="non-participating",
    ),
    case(
        "OPT-ABA",
        clean_claim(lines=(line("1", procedure_code="97153"),)),
        clean_claim(lines=(line("1", procedure_code="90837"),)),
        DEFAULT,
        id="aba-code",
    ),
]


@pytest.mark.parametrize(("code", "failing", "passing", "failing_ctx", "passing_ctx"), CASES)
def test_optum_rule_fires_on_failing_claim_only(code, failing, passing, failing_ctx, passing_ctx):
    assert code in codes(findings_of(failing, failing_ctx))
    assert findings_of(passing, passing_ctx) == []


def test_misrouted_message_names_both_payer_ids():
    [finding] = findings_of(clean_claim(payer_id="04293"))
    assert "Misrouted" in finding.message and "87726" in finding.message and "04293" in finding.message


def test_timely_filing_message_names_the_limit_and_its_source():
    [finding] = findings_of(clean_claim(lines=(line("1", service_date=date(2026, 1, 2)),)))
    assert "90-day" in finding.message and "due by 2026-04-02" in finding.message
    assert finding.line_id == "1" and "payer-87726.md" in finding.rule_source


def test_corrected_claim_is_not_held_to_timely_filing():
    old = clean_claim(lines=(line("1", service_date=date(2025, 9, 2)),), **REPLACEMENT)
    assert findings_of(old, RECENT_REMIT) == []


def test_medicaid_window_message_names_both_sources():
    claim = clean_claim(line_of_business=LineOfBusiness.MEDICAID, **REPLACEMENT)
    [finding] = findings_of(claim, context(remits={"2026010700042": date(2025, 4, 1)}))
    assert finding.code == "OPT-CORR-WINDOW"
    assert "365 days" in finding.message and "portal" in finding.message


def test_correction_without_remit_lookup_is_a_warning():
    [finding] = findings_of(clean_claim(**REPLACEMENT), context())
    assert (finding.code, finding.severity) == ("OPT-CORR-UNVERIFIED", "warning")


def test_facility_message_says_bill_on_837i():
    [finding] = findings_of(clean_claim(lines=(line("1", procedure_code="H0035"),)))
    assert "837I" in finding.message and "partial hospitalization" in finding.message


def test_testing_without_auth_is_a_warning_by_default():
    [finding] = findings_of(clean_claim(lines=(line("1", procedure_code="96132"),)))
    assert finding.severity == "warning"


def test_primary_diagnosis_is_read_without_its_dot_and_case():
    assert findings_of(clean_claim(diagnoses=("f41.1",))) == []
    [finding] = findings_of(clean_claim(diagnoses=("z13.31",)))
    assert finding.code == "OPT-DX-PRIMARY" and "Z13.31 is a Z code" in finding.message


def test_timely_filing_follows_today_under_one_settings_object():
    rule_settings = RuleSettings()
    day_90, day_91 = SERVICE_DATE + timedelta(days=90), SERVICE_DATE + timedelta(days=91)
    claim = clean_claim()
    assert findings_of(claim, context(rule_settings, today=day_90)) == []
    assert codes(findings_of(claim, context(rule_settings, today=day_91))) == {"OPT-TF-90"}
    assert findings_of(claim, context(rule_settings, today=day_90)) == []


def test_timely_filing_days_follow_each_claims_plan_under_one_context():
    ctx = context(
        rule_settings({"timely_filing_days": {"medicaid": 120}}),
        today=SERVICE_DATE + timedelta(days=100),
    )
    commercial, medicaid = clean_claim(), clean_claim(line_of_business=LineOfBusiness.MEDICAID)
    assert codes(findings_of(commercial, ctx)) == {"OPT-TF-90"}
    assert findings_of(medicaid, ctx) == []
    assert codes(findings_of(commercial, ctx)) == {"OPT-TF-90"}


# --- the words of the supervision, telehealth and facility rules -----------------------------


def test_medicare_advantage_supervised_row_without_supervisor_is_told_to_bill_a_licensed_clinician(tmp_path):
    """The export's supervised row with no supervisor parses; the rule pack, not the parser, says why
    it cannot go (Medicare takes no supervisory billing) — and never asks for supervising_npi."""
    import csv

    from parsers.export import parse_export

    source = FIXTURES_GOOD / "canonical.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["line_of_business"] == "medicare_advantage"]
    rows = [{**row, "rendering_license": "supervised"} for row in rows]
    export = tmp_path / "ma.csv"
    with export.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    served = date.fromisoformat(rows[-1]["service_date"])
    result = parse_export(export, today=served)
    assert not result.errors and len(result.claims) == 1
    [claim] = result.claims
    [finding] = [f for f in findings_of(claim, context(today=claim.last_service_date)) if f.code.startswith("OPT-SUPV")]
    assert finding.code == "OPT-SUPV-MEDICARE" and finding.severity == "error"
    assert "independently licensed clinician" in finding.message and "supervising_npi" not in finding.message


def test_medicaid_supervision_messages_say_how_to_fix():
    same_as_group = clean_claim(**SUPERVISED_MEDICAID, rendering=replace(RENDERING, npi=BILLING_NPI))
    [finding] = findings_of(same_as_group)
    assert "is the billing provider's" in finding.message and "own Type 1 NPI in rendering_npi" in finding.message
    self_supervised = clean_claim(**{**SUPERVISED_MEDICAID, "supervising": replace(SUPERVISING, npi=RENDERING.npi)})
    [finding] = findings_of(self_supervised)
    assert "is the rendering clinician's" in finding.message
    organisation = clean_claim(**SUPERVISED_MEDICAID, rendering=replace(RENDERING, entity_type="2"))
    [finding] = findings_of(organisation)
    assert "Type 2 (organisation) NPI" in finding.message


def test_commercial_supervised_note_names_the_supervisor_and_the_lines_given_u5():
    claim = clean_claim(
        supervising=SUPERVISING,
        rendering_license=RenderingLicense.SUPERVISED,
        lines=(line("1", modifiers=("U5",)), line("2", procedure_code="90785")),
    )
    [note] = findings_of(claim)
    assert (note.code, note.severity) == ("OPT-SUPV-U5", "info")
    assert f"NPI {SUPERVISING.npi} as rendering (2310B) and supervising (2310D)" in note.message
    assert "U5 added to line 2" in note.message and f"keeps NPI {RENDERING.npi}" in note.message


@pytest.mark.parametrize("modifier", ["95", "GT", "93", "FQ"])
@pytest.mark.parametrize("lob", [LineOfBusiness.COMMERCIAL, MA, LineOfBusiness.MEDICAID])
def test_telehealth_with_any_accepted_modifier_goes_out(modifier, lob):
    claim = clean_claim(line_of_business=lob, lines=(line("1", place_of_service="10", modifiers=(modifier,)),))
    assert findings_of(claim) == []


def test_telehealth_without_modifier_is_a_warning_unless_the_plan_says_error():
    claim = clean_claim(line_of_business=LineOfBusiness.MEDICAID, lines=(line("1", place_of_service="02"),))
    [default] = findings_of(claim)
    strict = context(settings=rule_settings({"telehealth_missing_modifier": {"medicaid": "error"}}))
    [held] = findings_of(claim, strict)
    assert (default.severity, held.severity) == ("warning", "error")
    assert findings_of(clean_claim(lines=(line("1", place_of_service="02"),)), strict)[0].severity == "warning"
    quiet = context(settings=rule_settings({"telehealth_missing_modifier": {"medicaid": "off"}}))
    assert findings_of(claim, quiet) == []


@pytest.mark.parametrize(("code", "place"), [("99232", "21"), ("99223", "51"), ("90792", "56")])
def test_a_psychiatrists_facility_visit_is_a_professional_claim(code, place):
    assert findings_of(clean_claim(lines=(line("1", procedure_code=code, place_of_service=place),))) == []


def test_code_first_message_quotes_the_tabular_note():
    [finding] = findings_of(clean_claim(diagnoses=("F0280",)))
    assert finding.code == "OPT-DX-CODE-FIRST" and finding.severity == "warning"
    assert "Alzheimer's (G30.-)" in finding.message and "F02.80" in finding.message
