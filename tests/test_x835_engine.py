"""The 835 reader on the X12 engine: what it yields, streamed, and that its content fingerprints
are the ones earlier releases stored (a re-sent file must still be recognised as a duplicate)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.post835 import write_835
from edi.x12 import X12ParseError
from edi.x835 import RemittanceEnd, RemittanceHeader, read_835, read_remittance_file, read_remittance_text

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "x12"
STORED = json.loads((REPO / "tests" / "data" / "remittance_fingerprints.json").read_text())


@pytest.mark.parametrize("name", sorted(n for n in STORED if n != "bench200"))
def test_corpus_fingerprints_are_the_ones_stored_before(name: str) -> None:
    path = next(CORPUS.glob(f"*/{name}"))
    ends = [p for p in read_remittance_file(path) if isinstance(p, RemittanceEnd)]
    assert [e.fingerprint for e in ends] == STORED[name]


def test_benchmark_file_fingerprint_is_the_one_stored_before(tmp_path: Path) -> None:
    path = tmp_path / "b.835"
    write_835(path, 200)
    parts = list(read_remittance_file(path, drafts=True))
    assert isinstance(parts[0], RemittanceHeader) and isinstance(parts[-1], RemittanceEnd)
    assert len(parts) == 202
    assert [parts[-1].fingerprint] == STORED["bench200"]


def test_fingerprint_ignores_the_separators(tmp_path: Path) -> None:
    text = next(CORPUS.glob("*/835_005010X221A1/managed-care.835")).read_text()
    other = text.replace("*", "|")
    assert [p.fingerprint for p in read_remittance_text(other) if isinstance(p, RemittanceEnd)] == \
        STORED["835_005010X221A1/managed-care.835"]


def test_a_claim_is_yielded_whole_even_when_it_spans_blocks(tmp_path: Path) -> None:
    path = tmp_path / "b.835"
    write_835(path, 3000)
    from edi.tokenizer import SegmentSource
    from edi.x835 import read_remittance_parts
    small = list(read_remittance_parts(SegmentSource(path, block_size=333), drafts=False))
    whole = list(read_remittance_file(path))
    assert small == whole
    assert all(len(c.lines) == 3 for c in small[1:-1])


def test_bad_amount_names_segment_and_element_not_value() -> None:
    text = next(CORPUS.glob("*/835_005010X221A1/managed-care.835")).read_text()
    clp = next(line for line in text.split("~") if line.strip().startswith("CLP"))
    parts = clp.split("*")
    parts[3] = "12X4"
    broken = text.replace(clp, "*".join(parts), 1)
    with pytest.raises(X12ParseError) as caught:
        read_835(broken)
    assert "CLP03" in str(caught.value) and "12X4" not in str(caught.value)


def test_second_functional_group_is_read_with_its_production_date_and_adjustments() -> None:
    """Handlers are bound again at each GS: none may be shadowed by the reader's own state."""
    text = (CORPUS / "linuxforhealth-x12" / "835_005010X221A1" / "managed-care.835").read_text()
    start, end = text.index("GS*"), text.index("IEA*")
    group = text[start:end]
    second = group.replace("GS*HP*000000005*54321*20131031*1147*1*", "GS*HP*000000005*54321*20131031*1147*2*")
    second = second.replace("GE*1*1~", "GE*1*2~").replace("ST*835*112233~", "ST*835*112234~")
    second = second.replace("SE*", "SE*", 1).replace("*112233~", "*112234~")
    two = text[:end] + second + text[end:].replace("IEA*1*", "IEA*2*")
    one = read_835(text)
    both = read_835(two)
    assert len(both) == 2
    assert both[1].production_date == one[0].production_date is not None
    assert both[1].provider_adjustments == one[0].provider_adjustments
    assert len(both[1].claims) == len(one[0].claims)
