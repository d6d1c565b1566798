"""pyx12 is the oracle: on every corpus file, our golden 837Ps and mutations of built files, the engine
flags the same set of segment numbers (ISA = 1).  Where pyx12 is wrong or cannot read the file, a named
test below documents the divergence and pins what the engine says instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi import engine
from edi.tokenizer import SegmentSource
from edi.x12 import X12ParseError
from tests.examples import scaled
from tests.x12_oracle import (
    AGREE,
    BOTH_REFUSE,
    DISAGREE,
    PYX12_CRASH,
    PYX12_IGNORES_SEGMENT_BEFORE_ST,
    PYX12_MISSES_NESTED_HEADER,
    PYX12_SKIPS_ENVELOPE_ELEMENTS,
    Interchange,
    built_files,
    compare_file,
    compare_text,
    mutate,
)

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden"
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "x12"
NO_PYX12_MAP = ("837_005010X222A2/", "linuxforhealth-x12/demo.837", "x12_277_x212.txt")
NOT_X12 = ("x12_bad_first_line.txt", "x12_no_isa_line.txt")
BAD_GS05 = "x12_999_accepted.txt"


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix not in (".md",) and p.name != "LICENSE")


def _divergent(path: Path) -> bool:
    text = path.as_posix()
    return any(mark in text for mark in NO_PYX12_MAP + NOT_X12 + (BAD_GS05,))


AGREEING = [p for p in _corpus_files() if not _divergent(p)] + sorted(GOLDEN.glob("*.837"))


def test_the_oracle_sees_the_whole_corpus(corpus_dir: Path) -> None:
    assert len(_corpus_files()) >= 55
    assert len(AGREEING) >= 35


@pytest.mark.parametrize("path", AGREEING, ids=lambda p: p.name)
def test_engine_flags_the_segments_pyx12_flags(path: Path) -> None:
    outcome = compare_file(path)
    assert outcome.kind == AGREE, str(outcome)


@pytest.mark.parametrize("path", [p for p in _corpus_files() if any(m in p.as_posix() for m in NO_PYX12_MAP)],
                         ids=lambda p: p.name)
def test_pyx12_cannot_read_groups_it_has_no_map_for_the_engine_says_so_at_gs(path: Path) -> None:
    outcome = compare_file(path)
    assert outcome.kind == PYX12_CRASH
    findings = engine.run(SegmentSource(path), check=True)
    no_map = [f for f in findings if "no implementation guide map" in f.message]
    assert no_map and all(f.segment == "GS" and f.element == "GS08" for f in no_map)


def test_pyx12_skips_a_bad_gs05_time_the_engine_flags_it(corpus_dir: Path) -> None:
    path = next(p for p in _corpus_files() if p.name == BAD_GS05)
    outcome = compare_file(path)
    assert outcome.kind == PYX12_SKIPS_ENVELOPE_ELEMENTS
    assert outcome.engine - outcome.pyx12 == {2}
    gs = [f for f in engine.run(SegmentSource(path), check=True) if f.number == 2]
    assert [(f.segment, f.element) for f in gs] == [("GS", "GS05")]


@pytest.mark.parametrize("name", NOT_X12)
def test_a_file_without_a_readable_isa_is_refused_by_both(corpus_dir: Path, name: str) -> None:
    path = next(p for p in _corpus_files() if p.name == name)
    assert compare_file(path).kind == BOTH_REFUSE
    with pytest.raises(X12ParseError):
        engine.run(SegmentSource(path), check=True)


def _with(text: str, edit: str) -> str:
    x = Interchange.parse(text)
    if edit == "ST twice":
        x.segments.insert(3, list(x.segments[2]))
    elif edit == "GS twice":
        x.segments.insert(2, list(x.segments[1]))
    elif edit == "bad GS04":
        x.segments[1][4] = "20261340"
    return x.text()


@pytest.mark.parametrize(("edit", "kind", "segment"), [
    ("ST twice", PYX12_MISSES_NESTED_HEADER, "ST"),
    ("GS twice", PYX12_MISSES_NESTED_HEADER, "GS"),
    ("bad GS04", PYX12_SKIPS_ENVELOPE_ELEMENTS, "GS"),
])
def test_pyx12_misses_envelope_problems_the_engine_reports(edit: str, kind: str, segment: str) -> None:
    text = _with(built_files()["837 simple"], edit)
    outcome = compare_text(text)
    assert outcome.kind == kind, str(outcome)
    extra = [f for f in engine.run(SegmentSource(text), check=True) if f.number not in outcome.pyx12]
    assert extra and {f.segment for f in extra} == {segment}


def test_pyx12_ignores_a_segment_between_gs_and_st_the_engine_flags_it() -> None:
    x = Interchange.parse(built_files()["999"])
    x.segments.insert(2, ["AK9", "A", "1", "1", "1"])
    outcome = compare_text(x.text())
    assert outcome.kind == PYX12_IGNORES_SEGMENT_BEFORE_ST, str(outcome)
    assert outcome.engine - outcome.pyx12 == {3}


def test_a_segment_outside_a_set_is_flagged_where_it_stands_as_pyx12_does() -> None:
    x = Interchange.parse(built_files()["999"])
    se = next(i for i, s in enumerate(x.segments) if s[0] == "SE")
    x.segments.insert(se + 1, ["AK9", "A", "1", "1", "1"])
    outcome = compare_text(x.text())
    assert outcome.kind == AGREE, str(outcome)
    assert se + 2 in outcome.engine and se + 3 not in outcome.engine


BASES = built_files()


@settings(max_examples=scaled(int(os.environ.get("BHCLAIMS_ORACLE_EXAMPLES", "40"))), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(BASES)), seed=st.integers(0, 2**32), times=st.integers(1, 2))
def test_mutated_built_files_are_flagged_alike(name: str, seed: int, times: int) -> None:
    mutated, what = mutate(BASES[name], seed, times)
    outcome = compare_text(mutated)
    assert outcome.kind != DISAGREE, f"{name} [{what}] {outcome}"
