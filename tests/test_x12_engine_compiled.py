"""The engine's compiled forms say what its detailed checks say: a segment pattern accepts only
segments with no element problem (its long code lists are looked up in sets), and a grammar keeps one
object per distinct element spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi import engine as engine_module
from edi.elements import SegmentPattern, element_findings, segment_pattern, syntax_problem
from edi.engine import engine_for
from edi.grammar import CompositeSpec, grammar_for
from edi.x12 import detect_separators

REPO = Path(__file__).resolve().parent.parent
GOLDEN = sorted((REPO / "fixtures" / "golden").glob("*.837"))
MAP_837 = "837.5010.X222.A1.xml"
SEPARATORS = detect_separators(GOLDEN[0].read_text()[:200])


def _placed(path: str, sid: str) -> tuple[int, SegmentPattern]:
    grammar = grammar_for(MAP_837)
    index = grammar.by_path[path]
    assert grammar.nodes[index].id == sid
    found = segment_pattern(grammar.nodes[index], grammar, SEPARATORS)
    assert found is not None
    return index, found


def test_a_long_code_list_is_a_set_lookup_and_still_refuses_a_code_outside_it() -> None:
    index, pattern = _placed("/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2010AA/N4", "N4")
    assert pattern.codes, "the country list is a set, not an alternation"
    assert "|CA|" not in pattern.regex.pattern
    assert pattern.accepts("N4*BOSTON*MA*021081234")
    assert pattern.accepts("N4*TORONTO*ON*M5V2T6*CA")
    assert not pattern.accepts("N4*TORONTO*ON*M5V2T6*QQ")
    grammar = grammar_for(MAP_837)
    problems = element_findings(grammar.nodes[index], "N4*TORONTO*ON*M5V2T6*QQ".split("*"), SEPARATORS, grammar)
    assert "7" in [p.code for p in problems]


_SEGMENTS = [
    ("/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2010AA/N4", "N4*BOSTON*MA*021081234"),
    ("/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/CLM", "CLM*B000000000*100***11:B:1*Y*A*Y*Y"),
    ("/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/2400/SV1", "SV1*HC:90837:95*100*UN*1***1"),
    ("/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2010BA/NM1", "NM1*IL*1*RIVERA*MARIA****MI*M00000000"),
]
_VALUES = st.one_of(
    st.sampled_from(["", "MA", "ZZ", "11", "99", "B", "1", "HC", "X", "UN", "95", "Y", "N", "A", "IL", "MI", "PR"]),
    st.text(alphabet="AB019 .-:", max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(_SEGMENTS) - 1), position=st.integers(1, 12), value=_VALUES)
def test_what_a_pattern_accepts_has_no_element_problem(which: int, position: int, value: str) -> None:
    path, segment = _SEGMENTS[which]
    sid = segment.split("*", 1)[0]
    index, pattern = _placed(path, sid)
    elements = segment.split("*")
    elements += [""] * (position + 1 - len(elements))
    elements[position] = value
    while len(elements) > 1 and not elements[-1]:
        elements.pop()
    raw = "*".join(elements)
    grammar = grammar_for(MAP_837)
    if pattern.accepts(raw):  # the syntax notes (P, R, E, C, L) are checked apart, on what it accepts
        node = grammar.nodes[index]
        notes = [found for rule in node.syntax if (found := syntax_problem(node.id, rule, raw.split("*")))]
        assert element_findings(node, raw.split("*"), SEPARATORS, grammar) == notes


def test_a_grammar_keeps_one_object_per_distinct_element_spec() -> None:
    grammar = grammar_for(MAP_837)
    specs = [spec for node in grammar.nodes for spec in node.elements]
    specs += [part for spec in specs if isinstance(spec, CompositeSpec) for part in spec.components]
    assert len({id(spec) for spec in specs}) == len(set(specs)) < len(specs)


def test_every_golden_file_is_accepted_segment_by_segment_where_a_pattern_exists() -> None:
    """The engine's check of a clean file takes the compiled path for every segment it can."""
    from validators.x12_syntax import check_x12

    for path in GOLDEN:
        assert check_x12(path.read_text()) == [], path.name
    assert engine_for(MAP_837).patterns_for(SEPARATORS)


def test_syntax_notes_are_read_once_per_arrangement_of_present_elements() -> None:
    """NM1's notes (P 08/09, C 11/10, C 12/03) read which elements are present, not their values."""
    _, pattern = _placed("/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2010BA/NM1", "NM1")
    pattern.noted.clear()
    first = "NM1*IL*1*RIVERA*MARIA****MI*M00000000".split("*")
    second = "NM1*IL*1*NGUYEN*LINH****MI*M00000001".split("*")
    assert pattern.notes(first) == pattern.notes(second) == ()
    assert len(pattern.noted) == 1, "one arrangement, read once"
    broken = "NM1*IL*1*NGUYEN*LINH****MI".split("*")  # NM108 without NM109
    grammar = grammar_for(MAP_837)
    node = grammar.nodes[grammar.by_path["/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2010BA/NM1"]]
    expected = tuple(found for rule in node.syntax if (found := syntax_problem("NM1", rule, broken)))
    assert expected and pattern.notes(broken) == expected
    assert pattern.notes("NM1*IL*1*O'BRIEN*SAM****MI".split("*")) == expected
    assert len(pattern.noted) == 2


def test_a_node_pattern_is_compiled_at_its_third_segment_and_the_detailed_checks_say_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A node met once or twice (the submitter, the envelope) is checked element by element; the third
    segment checked there compiles its pattern.  Findings are the same either way."""
    from validators.x12_syntax import check_x12

    monkeypatch.setattr(engine_module, "_ENGINES", {})  # a new process: no engine, no pattern yet
    text = GOLDEN[0].read_text()
    submitter = grammar_for(MAP_837).by_path["/ISA_LOOP/GS_LOOP/ST_LOOP/HEADER/1000A/NM1"]
    broken = text.replace("~\nNM1*41*2*", "~\nNM1*41*7*", 1)  # NM102 not a valid entity type code
    assert broken != text

    def patterns() -> dict[int, SegmentPattern | None]:
        return engine_for(MAP_837).patterns_for(SEPARATORS)

    assert check_x12(text) == []
    assert submitter not in patterns()
    before = check_x12(broken)
    assert before and submitter not in patterns()
    assert check_x12(text) == []
    assert isinstance(patterns()[submitter], SegmentPattern)
    assert check_x12(broken) == before
    assert check_x12(text) == []
