"""Our 835 totals equal pyx12's reading of the same corpus files; CARC/RARC descriptions."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from domain.codes import carc_codes, describe_carc, describe_rarc, rarc_codes
from edi.x835 import read_835

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "x12"
FILES = sorted(CORPUS.glob("**/*.835"))
CAS_TRIPLES = 6


def totals_by_pyx12(path: Path) -> dict[str, Decimal]:
    """Independent reading: pyx12's own tokenizer and element addressing."""
    import pyx12.x12file

    found: dict[str, Decimal] = defaultdict(Decimal, plb=Decimal(0))
    for seg in pyx12.x12file.X12Reader(str(path)):
        sid = seg.get_seg_id()
        if sid == "CLP":
            found["paid"] += Decimal(seg.get_value("CLP04"))
            found["claims"] += 1
        elif sid == "CAS":
            group = seg.get_value("CAS01")
            for i in range(CAS_TRIPLES):
                value = seg.get_value(f"CAS{3 + 3 * i:02d}") if 3 + 3 * i < len(seg) + 1 else None
                if value:
                    found[f"cas_{group}"] += Decimal(value)
        elif sid == "PLB":
            for at in range(4, 16, 2):
                value = seg.get_value(f"PLB{at:02d}") if at <= len(seg) else None
                if value:
                    found["plb"] += Decimal(value)
        elif sid == "BPR":
            found["bpr02"] += Decimal(seg.get_value("BPR02"))
    return dict(found)


def totals_by_us(path: Path) -> dict[str, Decimal]:
    found: dict[str, Decimal] = defaultdict(Decimal)
    for remit in read_835(path.read_text()):
        found["bpr02"] += remit.total_paid
        found["plb"] += remit.provider_adjusted
        for claim in remit.claims:
            found["paid"] += claim.paid
            found["claims"] += 1
            for adjustment in claim.all_adjustments:
                found[f"cas_{adjustment.group}"] += adjustment.amount
    return dict(found)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_totals_agree_with_pyx12(path: Path) -> None:
    pytest.importorskip("pyx12")
    ours = totals_by_us(path)
    theirs = totals_by_pyx12(path)
    assert ours == theirs
    assert ours["claims"] > 0


def test_carc_and_rarc_descriptions_come_from_the_shipped_tables() -> None:
    assert describe_carc("CO", "45").startswith("Charge exceeds fee schedule/maximum allowable")
    assert describe_carc("PR", "3") == "Co-payment Amount"
    assert "authorization" in describe_carc("CO", "197").lower()
    assert "not in the shipped subset" in describe_carc("CO", "99999")
    assert describe_rarc("N290").startswith("Missing/incomplete/invalid rendering provider")
    wanted = {"1", "2", "3", "4", "5", "16", "18", "22", "23", "27", "29", "45", "50", "96", "97", "109", "119",
              "125", "151", "167", "170", "181", "182", "185", "197", "198", "204", "242", "253"}
    assert wanted <= set(carc_codes())
    assert all(description for description in [*carc_codes().values(), *rarc_codes().values()])
    header = (Path(__file__).resolve().parent.parent / "domain" / "codes" / "carc.csv").read_text()
    assert "SUBSET" in header and "x12.org/codes" in header
