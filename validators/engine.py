"""The claim scrubber: run the rule pack over claims, collect every finding.

Pure: claims and a ``CheckContext`` in, findings out.  The pack is a list in the
order a clerk reads problems — balancing (SNIP 3), situational (SNIP 4), code
sets (SNIP 5), then Optum's business rules (SNIP 7).  ``RuleSettings`` may re-level
or switch off any rule by its code.

How a rule is written: every claim meets every rule, and most pass, so a check tests
the clean claim first and returns () at once; its findings are built by a separate
function, so the check itself holds no comprehension (a comprehension makes cells of
the names it reads, an allocation on every call) and reads enum members from module
constants (an enum class attribute costs as much as a whole clean rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from domain.claim import Claim, LineOfBusiness, SupervisedBilling
from validators import rules_optum, rules_snip3, rules_snip4, rules_snip5
from validators.findings import CheckContext, Finding, Rule, RuleCheck, Severity, has_errors
from validators.settings import RuleSettings

RULES: tuple[Rule, ...] = rules_snip3.RULES + rules_snip4.RULES + rules_snip5.RULES + rules_optum.RULES
RULE_CODES: frozenset[str] = frozenset(rule.code for rule in RULES)
assert len(RULE_CODES) == len(RULES), "rule codes must be unique"

__all__ = [
    "RULES",
    "RULE_CODES",
    "CheckContext",
    "Finding",
    "RuleSettings",
    "check_claim",
    "check_claims",
    "has_errors",
    "rule_plan",
    "rule_settings",
]


def rule_settings(
    table: Mapping[str, Any], *, supervision: Mapping[LineOfBusiness, SupervisedBilling] | None = None
) -> RuleSettings:
    """The ``[rules]`` table checked against this rule pack's codes (ValueError for anything wrong)."""
    return RuleSettings.from_mapping(table, RULE_CODES, supervision=supervision)


@lru_cache(maxsize=32)
def rule_plan(
    settings: RuleSettings, rules: tuple[Rule, ...] = RULES
) -> tuple[tuple[RuleCheck, Severity | None], ...]:
    """The checks that run under ``settings``, each with its re-levelled severity (None: as written)."""
    plan: list[tuple[RuleCheck, Severity | None]] = []
    for rule in rules:
        level = settings.severity_for(rule.code)
        if level == "off":
            continue
        plan.append((rule.check, None if level is None or level == rule.severity else level))
    return tuple(plan)


_last_plan: tuple[RuleSettings, tuple[tuple[RuleCheck, Severity | None], ...]] | None = None


def _plan(settings: RuleSettings, rules: Sequence[Rule]) -> tuple[tuple[RuleCheck, Severity | None], ...]:
    """``rule_plan`` for ``check_claim``; the whole pack's is kept for the next claim."""
    global _last_plan
    if rules is not RULES:
        return rule_plan(settings, tuple(rules))
    plan = rule_plan(settings, RULES)
    _last_plan = (settings, plan)
    return plan


def check_claim(claim: Claim, ctx: CheckContext, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Every finding of the pack about one claim, in pack order."""
    # The common case, the whole pack under the settings of the previous call, is found
    # by identity: no hashing of 29 rules, and no call, for what runs once per claim.
    last = _last_plan
    if rules is RULES and last is not None and last[0] is ctx.settings:
        plan = last[1]
    else:
        plan = _plan(ctx.settings, rules)
    return _run(plan, claim, ctx)


def _run(
    plan: tuple[tuple[RuleCheck, Severity | None], ...], claim: Claim, ctx: CheckContext
) -> list[Finding]:
    findings: list[Finding] = []
    for check, level in plan:
        found = check(claim, ctx)
        if not found:  # the usual case: rules return () when the claim passes
            continue
        findings.extend(found if level is None else _relevelled(found, level))
    return findings


def _relevelled(found: Iterable[Finding], level: Severity) -> list[Finding]:
    """``found`` at the level the settings give the rule (kept out of ``_run``, whose
    locals the comprehension would otherwise turn into cells on every claim)."""
    return [finding if finding.severity == level else replace(finding, severity=level) for finding in found]


def check_claims(
    claims: Iterable[Claim], ctx: CheckContext, rules: Sequence[Rule] = RULES
) -> dict[str, list[Finding]]:
    """Findings per claim id, for every claim (an empty list means clean).

    Two claims with one id are a PM export problem the parser reports; here the
    second's findings are added to the first's rather than hiding either.
    """
    plan = rule_plan(ctx.settings, tuple(rules))
    results: dict[str, list[Finding]] = {}
    for claim in claims:
        findings = _run(plan, claim, ctx)
        if claim.claim_id in results:
            results[claim.claim_id].extend(findings)
        else:
            results[claim.claim_id] = findings
    return results
