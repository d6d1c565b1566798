"""Regenerate the ICD-10-CM tables from the CDC ICD-10-CM tabular list.

``icd10cm_billable_<release>.txt``: the billable codes.  ``icd10cm_code_first_F_<release>.tsv``:
the chapter-F billable codes under a "Code first" instructional note (the code's own or an
ancestor's, as the tabular list applies them), with the note and the codes it names, so
that the rule pack can ask for the etiology as a secondary diagnosis.

Not imported at run time.  A maintainer runs it once per ICD-10-CM release
(October 1 and, when CDC issues one, April 1):

    pip install simple-icd-10-cm==<version carrying the release>
    python -m validators.codesets.build_icd10cm 2026-04

``simple-icd-10-cm`` (MIT) parses the CDC tabular XML.  A code is billable
("valid for HIPAA-covered transactions") when it is a category or subcategory
with no children: "F32" is a header, "F32.1" is billable.  Codes are written
without the dot, one a line, sorted, so the file diffs cleanly between releases.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_NAMED = re.compile(r"\(([A-Z][0-9][0-9A-Z.,\- ]*)\)")


def billable_codes() -> list[str]:
    import simple_icd_10_cm as cm

    return sorted(
        code
        for code in cm.get_all_codes(with_dots=False)
        if cm.is_category_or_subcategory(code) and cm.is_leaf(code)
    )


def code_first_f_rows() -> list[str]:
    """``code<TAB>named codes<TAB>note`` for billable F codes whose etiology is to be coded first.

    Notes that say "if applicable" are left out: they do not always want a second code.
    Named codes are written without dots: ``G30`` (the note's "G30.-"), ``E00-E03`` (a range).
    """
    import simple_icd_10_cm as cm

    rows = []
    for code in cm.get_all_codes(with_dots=True):
        if not (code.startswith("F") and cm.is_category_or_subcategory(code) and cm.is_leaf(code)):
            continue
        note = cm.get_code_first(code, search_in_ancestors=True).strip()
        if not note or note.startswith(", if applicable"):
            continue
        named = []
        for group in _NAMED.findall(note):
            for part in group.split(","):
                part = part.strip().rstrip("-").rstrip(".").replace(".", "")
                if part:
                    named.append(part)
        text = " ".join(note.split())
        rows.append(f"{code.replace('.', '')}\t{' '.join(named)}\tCode first {text}")
    return sorted(rows)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m validators.codesets.build_icd10cm YYYY-MM", file=sys.stderr)
        return 2
    target = Path(__file__).with_name(f"icd10cm_billable_{argv[0]}.txt")
    codes = billable_codes()
    target.write_text("\n".join(codes) + "\n", encoding="ascii")
    print(f"{target.name}: {len(codes)} billable codes")
    notes = Path(__file__).with_name(f"icd10cm_code_first_F_{argv[0]}.tsv")
    rows = code_first_f_rows()
    notes.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{notes.name}: {len(rows)} codes with a code-first note")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
