"""The rule engine: settings overrides, check_claims, PHI-free messages, and a property test."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.claim import DEFAULT_SUPERVISED_BILLING, LineOfBusiness, RenderingLicense, SupervisedBilling
from tests import test_rules_optum, test_rules_snip3, test_rules_snip4, test_rules_snip5
from tests.examples import scaled
from tests.rule_claims import (
    BILLING,
    SUBSCRIBER,
    SUPERVISING,
    TODAY,
    clean_claim,
    codes,
    context,
    findings_of,
    line,
)
from validators import rules_optum
from validators.engine import RULE_CODES, RULES, check_claim, check_claims, rule_settings
from validators.findings import has_errors
from validators.settings import supervision_from_mapping

OLD_LINE = (line("1", service_date=date(2026, 1, 2)),)


def test_every_rule_has_a_failing_case():
    cases = test_rules_snip3.CASES + test_rules_snip4.CASES + test_rules_snip5.CASES + test_rules_optum.CASES
    assert {case.values[0] for case in cases} == RULE_CODES


def test_severity_override_relevels_an_error_to_a_warning():
    ctx = context(settings=rule_settings({"OPT-TF-90": "warning"}))
    [finding] = findings_of(clean_claim(lines=OLD_LINE), ctx)
    assert (finding.code, finding.severity) == ("OPT-TF-90", "warning")
    assert not has_errors([finding])


def test_severity_override_off_silences_the_rule():
    ctx = context(settings=rule_settings({"OPT-TF-90": "off", "OPT-ABA": "off"}))
    claim = clean_claim(lines=(line("1", procedure_code="97153", service_date=date(2026, 1, 2)),))
    assert findings_of(claim, ctx) == []
    assert codes(findings_of(claim)) == {"OPT-TF-90", "OPT-ABA"}


def test_commercial_supervision_setting_relevels_the_missing_supervisor():
    claim = clean_claim(rendering_license=RenderingLicense.SUPERVISED)  # no supervisor to bill under
    [default] = findings_of(claim)
    [lenient] = findings_of(
        claim, context(settings=rule_settings({"commercial_supervision": "warning"}))
    )
    assert default.code == lenient.code == "OPT-SUPV-COMMERCIAL"
    assert (default.severity, lenient.severity) == ("error", "warning")


def test_new_settings_are_read_from_the_rules_table():
    settings = rule_settings(
        {
            "telehealth_missing_modifier": {"medicaid": "error"},
            "preventive_z_code_under_age": {"commercial": 19},
            "appeal_windows": {"medicaid": "90 days", "commercial": "6 months"},
            "sco_one_care_start": date(2026, 3, 1),
            "correction_receipt_days": 120,
        },
        supervision={LineOfBusiness.SCO: SupervisedBilling.SUPERVISEE_RENDERS},
    )
    assert settings.telehealth_level(LineOfBusiness.MEDICAID) == "error"
    assert settings.telehealth_level(LineOfBusiness.COMMERCIAL) == "warning"
    assert settings.preventive_z_code_age(LineOfBusiness.COMMERCIAL) == 19
    assert settings.preventive_z_code_age(LineOfBusiness.MEDICAID) == 21
    assert settings.appeal_window(LineOfBusiness.MEDICAID) == (90, "days")
    assert settings.appeal_window(LineOfBusiness.COMMERCIAL) == (6, "months")
    assert settings.appeal_window(LineOfBusiness.MEDICARE_ADVANTAGE) == (12, "months")
    assert (settings.sco_one_care_start, settings.correction_receipt_days) == (date(2026, 3, 1), 120)
    assert settings.supervised_billing(LineOfBusiness.SCO) is SupervisedBilling.SUPERVISEE_RENDERS
    assert settings.supervised_billing(LineOfBusiness.ONE_CARE) is SupervisedBilling.NOT_PERMITTED
    assert settings.supervised_billing_by_plan[LineOfBusiness.COMMERCIAL] is SupervisedBilling.UNDER_SUPERVISOR


def test_supervision_table_is_checked():
    assert supervision_from_mapping({})[LineOfBusiness.MEDICAID] is SupervisedBilling.SUPERVISEE_RENDERS
    assert supervision_from_mapping({"sco": "supervisee"})[LineOfBusiness.SCO] is SupervisedBilling.SUPERVISEE_RENDERS
    with pytest.raises(ValueError, match=r"\[supervision\] sco: 'maybe' is not one of supervisor, supervisee"):
        supervision_from_mapping({"sco": "maybe"})
    with pytest.raises(ValueError, match=r"\[supervision\] 'medicare': not a line of business"):
        supervision_from_mapping({"medicare": "not_permitted"})


def test_telehealth_modifiers_are_configurable():
    claim = clean_claim(lines=(line("1", place_of_service="10", modifiers=("GT",)),))
    only_95 = context(settings=rule_settings({"telehealth_modifiers": ["95"]}))
    assert findings_of(claim) == []
    assert codes(findings_of(claim, only_95)) == {"SNIP4-TELEHEALTH-MOD"}


def test_timely_filing_days_merge_with_defaults():
    settings = rule_settings({"timely_filing_days": {"medicaid": 120}})
    assert settings.timely_filing_days(LineOfBusiness.MEDICAID) == 120
    assert settings.timely_filing_days(LineOfBusiness.COMMERCIAL) == 90
    assert settings.corrected_claim_days(LineOfBusiness.MEDICAID) == 365


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ({"OPT-TF-30": "warning"}, "'OPT-TF-30': not a rule code"),
        ({"opt-tf-90": "warning"}, "upper case"),
        ({"OPT-TF-90": "fatal"}, "not one of error, warning, info, off"),
        ({"telehealth_missing_modifier": {"medicaid": "fatal"}}, "medicaid: 'fatal' is not one of"),
        ({"appeal_windows": {"medicaid": "2 weeks"}}, "is not a window such as"),
        ({"appeal_windows": {"medicaid": 60}}, "is not a window such as"),
        ({"preventive_z_code_under_age": {"medicaid": 99}}, "is not an age"),
        ({"sco_one_care_start": "next year"}, "is not a date"),
        ({"correction_receipt_days": 0}, "is not a number of days"),
        ({"commercial_supervision": "maybe"}, "not one of"),
        ({"timely_filing_days": {"medicare": 90}}, "'medicare': not a line of business"),
        ({"timely_filing_days": {"medicaid": "90"}}, "not a number of days"),
        ({"corrected_claim_days": {"commercial": True}}, "not a number of days"),
        ({"telehealth_modifiers": "95"}, "must be a list"),
        ({"facility_places_of_service": ["5"]}, "not a two-digit place of service"),
    ],
)
def test_bad_settings_are_refused_with_the_key_named(table, complaint):
    with pytest.raises(ValueError, match="rules") as refused:
        rule_settings(table)
    assert complaint in str(refused.value)


def test_check_claims_answers_every_claim_by_id():
    clean = clean_claim(claim_id="A1")
    misrouted = clean_claim(claim_id="B2", payer_id="04293")
    results = check_claims([clean, misrouted], context())
    assert results["A1"] == [] and codes(results["B2"]) == {"OPT-PAYER-ID"}
    assert has_errors(results["B2"]) and not has_errors(results["A1"])


def test_all_problems_of_a_claim_are_reported_together():
    claim = clean_claim(
        payer_id="04293", diagnoses=("F32",), lines=(line("1", units=Decimal(0), place_of_service="10"),)
    )
    assert codes(findings_of(claim)) >= {"OPT-PAYER-ID", "SNIP5-ICD10", "SNIP3-UNITS", "SNIP4-TELEHEALTH-MOD"}


PHI = re.compile(
    r"\b(DOE|JANE|SAM|OPT12345678|1980-06-15|2016-03-02|1955-02-01|5 ELM ST|SALEM|01970)\b", re.I
)


def test_messages_carry_no_phi():
    cases = test_rules_snip3.CASES + test_rules_snip4.CASES + test_rules_snip5.CASES + test_rules_optum.CASES
    for case in cases:
        claim = case.values[1]
        ctx = case.values[3] if len(case.values) > 3 else context()
        for finding in findings_of(claim, ctx):
            assert not PHI.search(finding.message), finding.message
            assert finding.rule_source and finding.claim_id == claim.claim_id


def test_rule_codes_name_their_snip_level():
    for rule in RULES:
        assert rule.snip_level in (3, 4, 5, 7)
        prefix = "OPT-" if rule.snip_level == 7 else f"SNIP{rule.snip_level}-"
        assert rule.code.startswith(prefix)


# --- property: a valid claim raises no error -------------------------------------------------

BEHAVIORAL_DX = ["F411", "F331", "F321", "F4310", "F900", "F4322", "F17210", "F5101", "F1020", "F840"]
PROCEDURES = ["90791", "90832", "90834", "90837", "90846", "90847", "90853", "99214", "H0004", "90785"]
ADULT_PLANS = [LineOfBusiness.COMMERCIAL, LineOfBusiness.MEDICAID, LineOfBusiness.MEDICARE_ADVANTAGE]


@st.composite
def valid_claims(draw):
    lob = draw(st.sampled_from([*ADULT_PLANS, LineOfBusiness.SCO, LineOfBusiness.ONE_CARE]))
    # Age on TODAY is `years`; on a service date up to 90 days earlier it may be one less.
    years = draw(
        st.integers(*{LineOfBusiness.SCO: (66, 95), LineOfBusiness.ONE_CARE: (22, 64)}.get(lob, (19, 90)))
    )
    dob = TODAY.replace(year=TODAY.year - years) - timedelta(days=draw(st.integers(0, 300)))
    diagnoses = tuple(draw(st.lists(st.sampled_from(BEHAVIORAL_DX), min_size=1, max_size=12, unique=True)))
    supervised = lob in (LineOfBusiness.COMMERCIAL, LineOfBusiness.MEDICAID) and draw(st.booleans())
    lines = []
    for number in range(1, draw(st.integers(1, 6)) + 1):
        place = draw(st.sampled_from(["11", "53", "02", "10", "12", "03"]))
        modifiers = [draw(st.sampled_from(["95", "GT", "93", "FQ"]))] if place in ("02", "10") else []
        modifiers += ["U5"] if supervised else []
        modifiers += draw(
            st.lists(st.sampled_from(["HO", "HN", "AJ", "59"]), max_size=4 - len(modifiers), unique=True)
        )
        pointers = draw(st.lists(st.integers(1, len(diagnoses)), min_size=1, max_size=4, unique=True))
        lines.append(
            line(
                str(number),
                service_date=TODAY - timedelta(days=draw(st.integers(0, 90))),
                procedure_code=draw(st.sampled_from(PROCEDURES)),
                charge=Decimal(draw(st.integers(1, 99_999))) / 100,
                units=Decimal(draw(st.integers(1, 8))),
                place_of_service=place,
                modifiers=tuple(modifiers),
                diagnosis_pointers=tuple(pointers),
            )
        )
    return clean_claim(
        line_of_business=lob,
        subscriber=replace(SUBSCRIBER, dob=dob),
        billing=BILLING,
        diagnoses=diagnoses,
        lines=tuple(lines),
        supervising=SUPERVISING if supervised else None,
        rendering_license=RenderingLicense.SUPERVISED if supervised else RenderingLicense.INDEPENDENT,
        extra=(("stated_total", str(sum((ln.charge for ln in lines), Decimal(0)))),),
    )


@settings(max_examples=scaled(150), deadline=None)
@given(valid_claims())
def test_a_valid_claim_raises_no_error(claim):
    findings = findings_of(claim)
    assert not has_errors(findings), [str(finding) for finding in findings]


def test_rule_table_in_docs_lists_every_rule():
    table = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    assert {code for code in RULE_CODES if f"| `{code}` |" not in table} == set()


def test_check_claim_runs_only_the_rules_given_and_then_the_pack_again():
    claim = clean_claim(payer_id="04293", lines=OLD_LINE)
    ctx = context()
    assert codes(check_claim(claim, ctx)) == {"OPT-PAYER-ID", "OPT-TF-90"}
    assert codes(check_claim(claim, ctx, rules=(rules_optum.TIMELY_FILING,))) == {"OPT-TF-90"}
    assert codes(check_claim(claim, ctx)) == {"OPT-PAYER-ID", "OPT-TF-90"}


def test_supervision_table_of_the_config_reaches_rules_and_builder(tmp_path):
    from runtime.config import ConfigError, load_config, starter_config
    from usecases.app import App

    path = tmp_path / "bhclaims.toml"
    starter = starter_config(transport_url="file://./clearinghouse")
    path.write_text(starter, encoding="utf-8")
    config = load_config(path)
    assert config.supervision == dict(DEFAULT_SUPERVISED_BILLING)  # the starter spells out the defaults

    path.write_text(starter.replace('sco = "not_permitted"', 'sco = "supervisee"'), encoding="utf-8")
    config = load_config(path)
    assert config.supervision[LineOfBusiness.SCO] is SupervisedBilling.SUPERVISEE_RENDERS
    app = App(config, today=TODAY)
    assert app.rule_settings.supervised_billing(LineOfBusiness.SCO) is SupervisedBilling.SUPERVISEE_RENDERS

    path.write_text(starter.replace('sco = "not_permitted"', 'sco = "yes"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[supervision\] sco: 'yes' is not one of"):
        load_config(path)
