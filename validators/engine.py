"""The claim scrubber: run the rule pack over claims, collect every finding.

Pure: claims and a ``CheckContext`` in, findings out.  The pack is a list in the
order a clerk reads problems — balancing (SNIP 3), situational (SNIP 4), code
sets (SNIP 5), then Optum's business rules (SNIP 7).  ``RuleSettings`` may re-level
or switch off any rule by its code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache

from domain.claim import Claim
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
]


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
    """``rule_plan`` for one claim at a time: the common case — the whole pack under the
    settings of the previous call — is found by identity, without hashing 29 rules."""
    global _last_plan
    if rules is RULES:
        last = _last_plan
        if last is not None and last[0] is settings:
            return last[1]
        plan = rule_plan(settings, RULES)
        _last_plan = (settings, plan)
        return plan
    return rule_plan(settings, tuple(rules))


def check_claim(claim: Claim, ctx: CheckContext, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Every finding of the pack about one claim, in pack order."""
    return _run(_plan(ctx.settings, rules), claim, ctx)


def _run(
    plan: tuple[tuple[RuleCheck, Severity | None], ...], claim: Claim, ctx: CheckContext
) -> list[Finding]:
    findings: list[Finding] = []
    for check, level in plan:
        found = check(claim, ctx)
        if not found:  # the usual case: rules return () when the claim passes
            continue
        if level is None:
            findings.extend(found)
        else:
            findings.extend(
                finding if finding.severity == level else replace(finding, severity=level)
                for finding in found
            )
    return findings


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
