"""What Optum asks of a behavioral-health claim's diagnoses, as data.

``is_dsm_derived``: the primary diagnosis must be an ICD-10-CM code that DSM-5-TR assigns
to one of its diagnoses (``dsm5tr_icd10cm.csv``): every mental-disorder code (F01-F99) and
the codes outside chapter F that DSM-5-TR uses (sleep-wake G47.x, medication-induced
movement disorders G21.x/G24.x/G25.x, excoriation L98.1, ...).

``code_first``: chapter-F codes under a tabular "Code first" note want the underlying
condition coded too (``icd10cm_code_first_F_<release>.tsv``, from the CDC tabular list).
Both tables are read once, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from validators.codesets.icd10cm import ICD10CM_RELEASE, icd10cm_billable


@dataclass(frozen=True, slots=True)
class CodePattern:
    """A table entry over undotted codes: one code, a prefix ("G30*") or a range of categories."""

    low: str
    high: str = ""  # set for a range of 3-character categories ("E00".."E03")
    prefix: bool = False

    @classmethod
    def parse(cls, entry: str) -> CodePattern:
        text = entry.replace(".", "").strip().upper()
        if "-" in text:
            low, _, high = text.partition("-")
            return cls(low[:3], high[:3])
        if text.endswith("*"):
            return cls(text[:-1], prefix=True)
        return cls(text, prefix=len(text) == 3)  # a bare category names every code under it

    def matches(self, code: str) -> bool:
        if self.high:
            return self.low <= code[:3] <= self.high
        return code.startswith(self.low) if self.prefix else code == self.low


@dataclass(frozen=True, slots=True)
class CodeFirst:
    """A "Code first" note: its words and the etiology codes it names (may be none)."""

    note: str
    named: tuple[CodePattern, ...]

    def is_etiology(self, code: str) -> bool:
        """Does ``code`` (undotted) answer the note: one it names, or any code outside chapter F
        when the note names none ("Code first the underlying physiological condition")."""
        if self.named:
            return any(pattern.matches(code) for pattern in self.named)
        return not code.startswith("F")


def _data_lines(name: str) -> list[str]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def dsm5tr_patterns() -> tuple[CodePattern, ...]:
    rows = _data_lines("dsm5tr_icd10cm.csv")[1:]  # after the header row
    return tuple(CodePattern.parse(row.split(",", 1)[0]) for row in rows)


@cache
def dsm5tr_codes() -> frozenset[str]:
    """Every billable ICD-10-CM code (undotted) of the crosswalk, expanded once."""
    patterns = dsm5tr_patterns()
    return frozenset(code for code in icd10cm_billable() if any(p.matches(code) for p in patterns))


def is_dsm_derived(code: str) -> bool:
    """True for a billable code DSM-5-TR uses; with or without the dot, any case."""
    return code.replace(".", "").upper() in dsm5tr_codes()


@cache
def code_first_notes() -> dict[str, CodeFirst]:
    notes = {}
    for line in _data_lines(f"icd10cm_code_first_F_{ICD10CM_RELEASE}.tsv"):
        code, named, note = line.split("\t")
        notes[code] = CodeFirst(note, tuple(CodePattern.parse(entry) for entry in named.split()))
    return notes


def code_first(code: str) -> CodeFirst | None:
    """The "Code first" note over this (undotted) chapter-F code, or None."""
    return code_first_notes().get(code)
