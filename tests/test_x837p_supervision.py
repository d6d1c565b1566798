"""Who the 837P names for a supervised clinician, per ``[supervision]``, and a solo Type 1 biller."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.claim import DEFAULT_SUPERVISED_BILLING, LineOfBusiness, RenderingLicense, SupervisedBilling
from edi.read837 import read_837p
from edi.x837p import BuildSettings, ClaimNotWritable, claim_as_billed
from tests.claim_factory import RENDERING_CLINICIAN, SOLO_CLINICIAN, SUPERVISOR, make_claim, make_line
from tests.regen_golden import GOLDEN_DIR, SETTINGS
from tests.test_x837p_build import build, ids_with

SUPERVISED = {"rendering": RENDERING_CLINICIAN, "supervising": SUPERVISOR}


def _providers(text: str) -> dict[str, tuple[str, ...]]:
    return {nm1[1]: nm1 for nm1 in ids_with(text, "NM1") if nm1[1] in ("82", "DQ", "85")}


def test_commercial_supervised_claim_goes_out_under_the_supervisor_with_u5():
    claim = make_claim("C1", lines=(make_line("L1"), make_line("L2", procedure_code="90785", modifiers=("U5",))), **SUPERVISED)
    text = build([claim])
    providers = _providers(text)
    assert providers["82"][3:5] == ("OKAFOR", "ADA") and providers["82"][-1] == SUPERVISOR.npi
    assert providers["DQ"][-1] == SUPERVISOR.npi
    assert RENDERING_CLINICIAN.npi not in text  # the supervisee is not on the claim
    assert [sv1[1] for sv1 in ids_with(text, "SV1")] == ["HC:90837:U5", "HC:90785:U5"]  # U5 once each


def test_masshealth_supervisee_renders_and_supervisor_supervises():
    text = build([make_claim("C1", line_of_business=LineOfBusiness.MEDICAID, **SUPERVISED)])
    providers = _providers(text)
    assert providers["82"][-1] == RENDERING_CLINICIAN.npi and providers["DQ"][-1] == SUPERVISOR.npi
    assert ("PRV", "PE", "PXC", RENDERING_CLINICIAN.taxonomy) in ids_with(text, "PRV")
    assert "U5" not in "".join(sv1[1] for sv1 in ids_with(text, "SV1"))


def test_supervision_follows_the_settings_not_the_plan_name():
    as_masshealth = replace(
        SETTINGS,
        supervised_billing={**DEFAULT_SUPERVISED_BILLING, LineOfBusiness.COMMERCIAL: SupervisedBilling.SUPERVISEE_RENDERS},
    )
    text = build([make_claim("C1", **SUPERVISED)], settings=as_masshealth)
    assert _providers(text)["82"][-1] == RENDERING_CLINICIAN.npi


def test_a_line_without_room_for_u5_is_not_written():
    claim = make_claim("C1", lines=(make_line(modifiers=("HO", "GT", "59", "XU")),), **SUPERVISED)
    with pytest.raises(ClaimNotWritable, match="claim C1: line L1: more than 4 modifiers"):
        build([claim])


def test_claim_as_billed_leaves_other_claims_alone():
    independent = make_claim("C1", rendering=RENDERING_CLINICIAN)
    medicaid = make_claim("C2", line_of_business=LineOfBusiness.MEDICAID, **SUPERVISED)
    assert claim_as_billed(independent, DEFAULT_SUPERVISED_BILLING) is independent
    assert claim_as_billed(medicaid, DEFAULT_SUPERVISED_BILLING) is medicaid
    billed = claim_as_billed(make_claim("C3", **SUPERVISED), DEFAULT_SUPERVISED_BILLING)
    assert billed.rendering == SUPERVISOR and billed.supervising == SUPERVISOR
    assert billed.rendering_license is RenderingLicense.SUPERVISED
    assert claim_as_billed(billed, DEFAULT_SUPERVISED_BILLING) == billed  # idempotent


def test_build_settings_default_to_the_issue_defaults():
    assert BuildSettings(created=SETTINGS.created).supervised_billing == DEFAULT_SUPERVISED_BILLING


def test_solo_type_1_billing_provider_is_written_and_read_back_as_a_person():
    claim = make_claim("S1", billing=SOLO_CLINICIAN, rendering=replace(RENDERING_CLINICIAN, npi=SOLO_CLINICIAN.npi))
    text = build([claim])
    billing = _providers(text)["85"]
    assert billing[2:5] == ("1", "NGUYEN", "LINH") and billing[-1] == SOLO_CLINICIAN.npi
    assert "82" not in _providers(text)  # the rendering provider is the billing provider
    [read] = read_837p(text).claims
    assert (read.billing.entity_type, read.billing.last_or_org, read.billing.first) == ("1", "NGUYEN", "LINH")
    assert read.billing.npi == SOLO_CLINICIAN.npi and read.rendering is None


def test_golden_files_of_the_new_cases_say_what_the_payer_wants():
    supervised = (GOLDEN_DIR / "commercial_supervised.837").read_text()
    assert RENDERING_CLINICIAN.npi not in supervised and supervised.count(f"XX*{SUPERVISOR.npi}") == 2
    solo = (GOLDEN_DIR / "solo_type1.837").read_text()
    assert f"NM1*85*1*NGUYEN*LINH****XX*{SOLO_CLINICIAN.npi}~" in solo
