"""The engine's envelope findings land where pyx12 puts them: at an envelope's trailer, or at its
header when the trailer never comes (the oracle's seeds 2327 and the like: an ST closed by a GE)."""

from __future__ import annotations

from edi import engine
from edi.tokenizer import SegmentSource
from tests.x12_oracle import Interchange, built_files


def _findings(x: Interchange) -> list[tuple[int, str]]:
    return [(f.number, f.message) for f in engine.run(SegmentSource(x.text()), check=True)]


def test_a_set_closed_by_ge_keeps_its_own_problems_at_its_st() -> None:
    """A second ST*999*0001 right before the GE: its repeated ST02 is said at that ST (it has no SE to
    say it at); that the GE came before an SE is said at the GE."""
    x = Interchange.parse(built_files()["999"])
    ge = next(i for i, s in enumerate(x.segments) if s[0] == "GE")
    x.segments.insert(ge, list(x.segments[2]))
    x.segments[ge + 1][1] = "2"  # GE01: two sets now
    st, ge_number = ge + 1, ge + 2
    found = _findings(x)
    assert (st, "ST02 repeats a control number of this group") in found
    assert (ge_number, "GE before the SE of an open transaction set") in found
    assert all(number in (st, ge_number) for number, _ in found), found


def test_a_group_closed_by_iea_keeps_its_own_problems_at_its_gs() -> None:
    """Two groups with one GS06, the second without its GE: the repeat is said at the second GS."""
    x = Interchange.parse(built_files()["999"])
    gs, ge = x.segments[1], next(s for s in x.segments if s[0] == "GE")
    group = x.segments[1:x.segments.index(ge)]
    iea = x.segments.pop()
    x.segments.extend([list(s) for s in group] + [iea])
    iea[1] = "2"
    second_gs = len(x.segments) - len(group)
    found = _findings(x)
    assert (second_gs, "GS06 repeats a group control number of this interchange") in found, found
    assert (len(x.segments), "IEA before the GE of an open group") in found
    assert gs[6] == x.segments[second_gs - 1][6]


def test_a_set_cut_short_by_the_next_st_keeps_its_own_problems_at_its_st() -> None:
    """Three sets, the second repeating ST02 0001 and cut short by the third's ST: the repeat is said at
    the second ST, the missing SE at the third ST."""
    x = Interchange.parse(built_files()["999"])
    isa, gs, st, ak1 = x.segments[0], x.segments[1], x.segments[2], x.segments[3]
    ak9, ge, iea = ["AK9", "A", "1", "1", "1"], next(s for s in x.segments if s[0] == "GE"), x.segments[-1]
    third = [st[0], st[1], "0003", *st[3:]]
    x.segments[:] = [isa, gs, st, ak1, ak9, ["SE", "4", "0001"], list(st), list(ak1), third, list(ak1), ak9,
                     ["SE", "4", "0003"], ["GE", "3", ge[2]], iea]
    found = _findings(x)
    assert (7, "ST02 repeats a control number of this group") in found, found
    assert (9, "ST before the SE of the previous set") in found, found
