"""Regenerate ``icd10cm_billable_<release>.txt`` from the CDC ICD-10-CM tabular list.

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

import sys
from pathlib import Path


def billable_codes() -> list[str]:
    import simple_icd_10_cm as cm

    return sorted(
        code
        for code in cm.get_all_codes(with_dots=False)
        if cm.is_category_or_subcategory(code) and cm.is_leaf(code)
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m validators.codesets.build_icd10cm YYYY-MM", file=sys.stderr)
        return 2
    target = Path(__file__).with_name(f"icd10cm_billable_{argv[0]}.txt")
    codes = billable_codes()
    target.write_text("\n".join(codes) + "\n", encoding="ascii")
    print(f"{target.name}: {len(codes)} billable codes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
