"""pyx12 is the oracle: on every corpus file, our golden 837Ps and mutations of built files, the engine
flags the same set of segment numbers (ISA = 1).  Where pyx12 is wrong or cannot read the file, a named
test below documents the divergence and pins what the engine says instead.

``make oracle`` (``python -m tests.x12_oracle``) on seeds 0-9,999: 0 disagree; 7,995 agree, 1,077 differ
only by named divergences, 928 pyx12 cannot read (it raises)."""

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
from tests.pyx12_maps import maps_read_once
from tests.x12_oracle import (
    AGREE,
    BOTH_REFUSE,
    DISAGREE,
    PYX12_CHECKS_SE_AGAINST_GS_OR_ISA,
    PYX12_CRASH,
    PYX12_DEFERS_READER_ERRORS,
    PYX12_DROPS_ENVELOPE_SEGMENT_ERRORS,
    PYX12_IGNORES_SEGMENT_BEFORE_ST,
    PYX12_MISSES_HEADER_OUTSIDE_ENVELOPE,
    PYX12_MISSES_NESTED_HEADER,
    PYX12_PUTS_SE_ERRORS_ON_SEGMENT_BEFORE,
    PYX12_SILENT_ON_UNPLACED_SET,
    PYX12_SKIPS_ENVELOPE_ELEMENTS,
    Interchange,
    built_files,
    compare_file,
    compare_text,
    mutate,
    mutation_of,
)
from validators.x12_syntax import SyntaxFinding, validate_x12

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
    elif edit == "short ST02":  # SE02 follows, so only ST02's length is wrong
        se = next(s for s in x.segments if s[0] == "SE")
        x.segments[2][2] = se[2] = "12"
    return x.text()


@pytest.mark.parametrize(("edit", "kind", "segment"), [
    ("ST twice", PYX12_MISSES_NESTED_HEADER, "ST"),
    ("GS twice", PYX12_MISSES_NESTED_HEADER, "GS"),
    ("bad GS04", PYX12_SKIPS_ENVELOPE_ELEMENTS, "GS"),
    # pyx12 files ST/SE element errors under its ST node, whose report never lists them (errh_json)
    ("short ST02", PYX12_SKIPS_ENVELOPE_ELEMENTS, "ST SE"),
])
def test_pyx12_misses_envelope_problems_the_engine_reports(edit: str, kind: str, segment: str) -> None:
    text = _with(built_files()["837 simple"], edit)
    outcome = compare_text(text)
    assert outcome.kind == kind, str(outcome)
    extra = [f for f in engine.run(SegmentSource(text), check=True) if f.number not in outcome.pyx12]
    assert extra and {f.segment for f in extra} == set(segment.split())


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


def _path(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mutated.x12"
    path.write_text(text, encoding="ascii", newline="")
    return path


def test_pyx12_accepts_a_set_whose_st01_its_map_does_not_know_the_engine_flags_every_segment_of_it() -> None:
    """ST*835 in an HC (837P) group: pyx12 cannot place the ST and then says nothing at all about the set
    (it even calls the file valid); the engine reports the ST and each segment of that set as not expected
    where it stands, and at GE that the group has no set it could read."""
    x = Interchange.parse(BASES["837 simple"])
    x.segments[2][1] = "835"
    text = x.text()
    assert validate_x12(text) == []
    outcome = compare_text(text)
    assert outcome.kind == PYX12_SILENT_ON_UNPLACED_SET, str(outcome)
    se = next(i for i, s in enumerate(x.segments, 1) if s[0] == "SE")
    assert outcome.engine == frozenset(range(3, se + 2))  # ST .. SE, and the GE after it


def test_pyx12_misses_a_set_after_its_group_trailer_the_engine_flags_it() -> None:
    """GE moved before the ST: pyx12 flags the GE's count and nothing after it; the engine also flags the ST
    outside any group (at the IEA, the interchange's trailer) and each segment of the set it cannot place."""
    x = Interchange.parse(BASES["837 simple"])
    ge = next(i for i, s in enumerate(x.segments) if s[0] == "GE")
    x.segments.insert(2, x.segments.pop(ge))
    outcome = compare_text(x.text())
    assert outcome.kind == f"{PYX12_MISSES_HEADER_OUTSIDE_ENVELOPE} + {PYX12_SILENT_ON_UNPLACED_SET}", str(outcome)
    assert outcome.pyx12 == {3}
    findings = engine.run(SegmentSource(x.text()), check=True)
    iea = len(x.segments)
    assert [f.message for f in findings if f.number == iea] == ["ST outside a functional group"]


def test_pyx12_misses_a_group_after_the_interchange_trailer_the_engine_flags_it() -> None:
    x = Interchange.parse(BASES["999"])
    iea = x.segments.pop()
    x.segments.insert(1, iea)
    outcome = compare_text(x.text())
    assert PYX12_MISSES_HEADER_OUTSIDE_ENVELOPE in outcome.kind, str(outcome)
    assert outcome.engine - outcome.pyx12 == {3}
    at_gs = [f for f in engine.run(SegmentSource(x.text()), check=True) if f.number == 3]
    assert [(f.segment, f.message) for f in at_gs] == [("GS", "GS outside an interchange")]


def test_pyx12_reports_a_misplaced_hl_numbering_at_the_next_segment_the_engine_at_the_hl() -> None:
    """The subscriber HL moved up after BHT: both say it is not expected there; pyx12's reader checks its
    HL01/HL02 but holds those errors until a segment is placed, so they land on the NM1 after it. The
    engine reports them on the HL they are about."""
    x = Interchange.parse(BASES["837 simple"])
    hl = next(i for i, s in enumerate(x.segments) if s[:2] == ["HL", "2"])
    x.segments.insert(4, x.segments.pop(hl))  # segment number 5
    outcome = compare_text(x.text())
    assert outcome.kind == PYX12_DEFERS_READER_ERRORS, str(outcome)
    assert outcome.pyx12 - outcome.engine == {6}
    assert {f.code for f in validate_x12(x.text()) if f.line == 6} <= {"HL1", "HL2"}
    at_hl = {f.code for f in engine.run(SegmentSource(x.text()), check=True) if f.number == 5}
    assert {"HL1", "HL2", "1"} <= at_hl


def test_pyx12_drops_a_trailing_separator_on_st_the_engine_flags_it() -> None:
    """``ST*837*0001*~``: pyx12's reader notes the trailing separator, but its error handler hands the note
    to the ST node with one argument too many and swallows the TypeError; on any other segment pyx12
    reports it (code SEG1), so the engine reports it on ST too."""
    x = Interchange.parse(BASES["837 simple"])
    x.segments[2][3] = ""
    outcome = compare_text(x.text())
    assert outcome.kind == PYX12_DROPS_ENVELOPE_SEGMENT_ERRORS, str(outcome)
    at_st = [f for f in engine.run(SegmentSource(x.text()), check=True) if f.number == 3]
    assert [f.code for f in at_st] == ["SEG1"]
    x.segments[5].append("")  # the same on a PER: both report it
    assert 6 in compare_text(x.text()).pyx12


def test_pyx12_takes_a_stray_se_after_the_ge_for_the_end_of_the_interchange() -> None:
    """GE moved into the set and the IEA cut off: the SE after the GE closes nothing. pyx12's reader pops
    the ISA for it (reporting 'SE id=0001 does not match ST id=<ISA13>' at the old ST) and so never misses
    the IEA; the engine reports the stray SE where it stands and the missing IEA at the ISA."""
    x = Interchange.parse(BASES["837 simple"])
    del x.segments[-1]  # IEA
    ge = x.segments.pop()
    x.segments.insert(len(x.segments) - 3, ge)
    outcome = compare_text(x.text())
    assert outcome.kind == PYX12_CHECKS_SE_AGAINST_GS_OR_ISA, str(outcome)
    assert outcome.engine - outcome.pyx12 == {1} and outcome.pyx12 - outcome.engine == {3}
    assert [f.message for f in validate_x12(x.text()) if f.line == 3] == [
        f"SE id=0001 does not match ST id={x.segments[0][13]}"]


def test_pyx12_reports_a_trailing_separator_on_se_at_the_segment_before_it() -> None:
    """``SE*25*0001*~``: pyx12 hands its reader's notes on the SE to its error handler before it moves
    on from the previous segment, so the note lands there; the engine says it at the SE."""
    x = Interchange.parse(BASES["837 simple"])
    se = next(i for i, s in enumerate(x.segments) if s[0] == "SE")
    x.segments[se].append("")
    outcome = compare_text(x.text())
    assert outcome.kind == PYX12_PUTS_SE_ERRORS_ON_SEGMENT_BEFORE, str(outcome)
    assert outcome.engine == {se + 1} and outcome.pyx12 == {se}
    assert [f.code for f in validate_x12(x.text())] == ["SEG1"]


def test_pyx12_reports_an_empty_unplaced_segment_at_the_next_one() -> None:
    """``IK5*~`` in a 999: both say the IK5 is not expected there; pyx12's notes that it is empty and ends
    with a separator come at the AK2 after it, the engine's at the IK5."""
    x = Interchange.parse(BASES["999"])
    ik5 = next(i for i, s in enumerate(x.segments) if s[0] == "IK5")
    x.segments[ik5] = ["IK5", ""]
    outcome = compare_text(x.text())
    assert outcome.kind == PYX12_DEFERS_READER_ERRORS, str(outcome)
    assert outcome.pyx12 - outcome.engine == {ik5 + 2}
    assert {f.code for f in validate_x12(x.text()) if f.line == ik5 + 2} == {"SEG1", "8"}


def test_pyx12_notices_a_nested_group_only_at_the_iea() -> None:
    """GS twice in a 999 (IEA01 2): the engine says at the second GS that the first had no GE; pyx12
    misses that there and says 'Unterminated Loop GS' at the IEA instead."""
    x = Interchange.parse(BASES["999"])
    x.segments.insert(2, list(x.segments[1]))
    x.segments[-1][1] = "2"  # IEA01: two groups began, so only the nesting is wrong
    outcome = compare_text(x.text())
    assert outcome.kind == PYX12_MISSES_NESTED_HEADER, str(outcome)
    iea = len(x.segments)
    assert outcome.engine - outcome.pyx12 == {3} and outcome.pyx12 - outcome.engine == {iea}
    assert [f.message for f in validate_x12(x.text()) if f.line == iea] == ["Unterminated Loop GS"]


def test_pyx12_left_with_two_nested_sets_calls_the_group_unterminated_at_the_iea() -> None:
    """ST three times in a row (seed 10967): the engine says at the second and third ST that the set before
    had no SE; pyx12 misses both, pops one of them at the GE and so finds its GS still open at the IEA."""
    x = Interchange.parse(BASES["999"])
    x.segments[3:3] = [list(x.segments[2]), list(x.segments[2])]
    outcome = compare_text(x.text())
    assert outcome.kind == PYX12_MISSES_NESTED_HEADER, str(outcome)
    iea = len(x.segments)
    assert outcome.engine - outcome.pyx12 == {5} and outcome.pyx12 - outcome.engine == {iea}
    assert [f.message for f in validate_x12(x.text()) if f.line == iea] == ["Unterminated Loop GS"]


def test_pyx12_checks_the_se_after_a_nested_gs_against_that_gs() -> None:
    """A copy of the GS inside the set: the engine says at that GS that the set had no SE; pyx12 misses
    the nesting, pushes the GS on its reader's stack and so compares the SE with it, saying
    'SE id=0001 does not match ST id=<GS06>' at the ST."""
    x = Interchange.parse(BASES["837 simple"])
    hl = next(i for i, s in enumerate(x.segments) if s[0] == "HL")
    x.segments.insert(hl + 1, list(x.segments[1]))
    outcome = compare_text(x.text())
    assert outcome.kind == f"{PYX12_CHECKS_SE_AGAINST_GS_OR_ISA} + {PYX12_MISSES_NESTED_HEADER}", str(outcome)
    assert 3 in outcome.pyx12 - outcome.engine
    assert [f.message for f in validate_x12(x.text()) if f.line == 3] == [
        f"SE id=0001 does not match ST id={x.segments[1][6]}"]


def test_a_pyx12_finding_no_divergence_explains_is_a_disagreement(tmp_path: Path) -> None:
    """The divergence kinds are narrow: an HL error pyx12 alone reports after a segment it placed, or any
    pyx12 finding inside a set the engine could not place, still fails the comparison."""
    x = Interchange.parse(BASES["837 simple"])
    path = _path(tmp_path, x.text())
    late_hl = [SyntaxFinding(6, "NM1", None, "HL1", "My HL count 1 does not match your HL count 2")]
    assert compare_file(path, lambda _: late_hl).kind == DISAGREE
    wrong_st = [SyntaxFinding(3, "ST", None, "3", "SE id=0001 does not match ST id=0002")]
    assert compare_file(path, lambda _: wrong_st).kind == DISAGREE  # an ST02, not a GS06 or ISA13
    x.segments[2][1] = "835"
    path = _path(tmp_path, x.text())
    assert compare_file(path).kind == PYX12_SILENT_ON_UNPLACED_SET
    inside = [SyntaxFinding(5, "NM1", None, "1", "Segment NM1 not found.  Started at /ISA_LOOP/GS_LOOP/GS")]
    assert compare_file(path, lambda _: inside).kind == DISAGREE


@settings(max_examples=scaled(int(os.environ.get("BHCLAIMS_ORACLE_EXAMPLES", "80"))), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(BASES)), seed=st.integers(0, 2**32), times=st.integers(1, 2))
def test_mutated_built_files_are_flagged_alike(name: str, seed: int, times: int) -> None:
    mutated, what = mutate(BASES[name], seed, times)
    outcome = compare_text(mutated)
    assert outcome.kind != DISAGREE, f"{name} [{what}] {outcome}"


def test_pyx12_with_its_maps_read_once_finds_what_it_finds_reading_them_each_time() -> None:
    """The oracle's map store (tests/pyx12_maps.py) changes pyx12's speed, never its findings: the same
    map copy serves files one after another, so a count left over from one file would show in the next."""
    bases = list(BASES.items())
    texts = [mutation_of(seed, bases)[1] for seed in range(12)] + [BASES["837 simple"]] * 2
    plain = [validate_x12(text) for text in texts]
    with maps_read_once():
        read_once = [validate_x12(text) for text in texts]
    assert read_once == plain
    assert sum(1 for found in plain if found) >= 6  # the mutations are seen, not a run of clean files
