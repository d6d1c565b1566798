"""Element-level checks of one segment against its map node (WEDI SNIP 1-2, as pyx12 makes them).

Two forms of the same rules, chosen per segment at run time, not held equal by a test:

- ``segment_pattern`` compiles a node into a ``SegmentPattern``: one regular expression
  and the code sets of its code-list elements.  A segment it ``accepts`` passes every check
  below (codes, lengths, types, dates, required and unused elements, counts of elements and
  components) except the syntax notes (P, R, E, C, L), which ``syntax_problem`` checks on a
  segment it accepted.  It may refuse a valid segment (a leap day, an amount with three
  decimals): those go to the checks below.  An element with a list of more than a few codes
  is a captured run of characters looked up in a frozenset, not an alternation of its codes:
  the alternations (place of service, state, country, qualifier lists) made compiling a
  process's patterns cost more than checking a 2,000-claim file.
- ``element_findings`` makes the checks one element at a time and says what failed; it
  runs only for a segment the pattern refused, and for nodes with no pattern.

Messages name the element (``CLP01``, "Patient Control Number"), never its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, NamedTuple

from edi.grammar import CompositeSpec, ElementSpec, Grammar, Node
from edi.x12 import Separators

EXTENDED_CHARACTERS = "A-Z0-9!\"&'()*+,\\-./:;?= a-z%~@\\[\\]_{}\\\\|<>^`#$"
_EXTENDED = re.compile(f"[^{EXTENDED_CHARACTERS}]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_NUMBER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]*(\.[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
MAX_PATTERN_CODES = 5000
INLINE_CODES = 3  # a code list this short stays an alternation in the regex
MAX_ARRANGEMENTS = 4096  # a node's remembered syntax-note results (a hostile file cannot grow it further)
DATE8 = (
    r"(?:1[89]|[2-9][0-9])[0-9]{2}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))"
)
TIME = r"(?:[01][0-9]|2[0-3])[0-5][0-9]"


class ElementProblem(NamedTuple):
    refdes: str  # CLP01, SVC01-2, or the segment's own id for a segment-level problem
    code: str  # pyx12's IK403-style code: 1 missing, 3 too many, 4 short, 5 long, 6 character, 7 code, 8 date...
    words: str


# --- the detailed checks ----------------------------------------------------------------------


def is_valid_date(value: str, data_type: str) -> bool:
    if data_type == "D8" and len(value) != 8 or data_type == "D6" and len(value) != 6:
        return False
    if not _DIGITS.fullmatch(value) or len(value) not in (6, 8, 12):
        return False
    if len(value) == 6:
        value = ("20" if int(value[:2]) < 50 else "19") + value
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:8])
    if year < 1800 or not 1 <= month <= 12:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        last = 31
    elif month in (4, 6, 9, 11):
        last = 30
    else:
        last = 29 if year % 4 == 0 and not (year % 100 == 0 and year % 400) else 28
    if not 1 <= day <= last:
        return False
    return len(value) != 12 or is_valid_time(value[8:12])


def is_valid_time(value: str) -> bool:
    if not _DIGITS.fullmatch(value) or value[0:2] > "23" or value[2:4] > "59":
        return False
    if len(value) > 4:
        return 6 <= len(value) <= 8 and value[4:6] <= "59"
    return True


def is_valid_type(value: str, data_type: str) -> bool:
    if not data_type or data_type == "B":
        return True
    if data_type[0] == "N":
        return bool(_NUMBER.fullmatch(value))
    if data_type == "R":
        return bool(_DECIMAL.fullmatch(value))
    if data_type in ("ID", "AN"):
        return not _EXTENDED.search(value)
    if data_type == "RD8":
        start, dash, end = value.partition("-")
        return bool(dash) and "-" not in end and is_valid_date(start, "D8") and is_valid_date(end, "D8")
    if data_type in ("DT", "D8", "D6"):
        return is_valid_date(value, data_type)
    if data_type == "TM":
        return is_valid_time(value)
    return False


def check_value(spec: ElementSpec, value: str, grammar: Grammar, type_list: tuple[str, ...] = ()) -> list[ElementProblem]:
    """The problems of one non-empty element value (pyx12's ``element_if.is_valid_errors``)."""
    name = f'"{spec.name}" ({spec.refdes})'
    if spec.usage == "N":
        return [ElementProblem(spec.refdes, "10", f"{name} is marked as not used")]
    problems = []
    data_type = spec.data_type
    measured = value.replace("-", "").replace(".", "") if data_type and (data_type == "R" or data_type[0] == "N") else value
    if len(measured) < spec.min_len:
        problems.append(ElementProblem(spec.refdes, "4", f"{name} is too short ({len(measured)} < {spec.min_len})"))
    if len(measured) > spec.max_len:
        problems.append(ElementProblem(spec.refdes, "5", f"{name} is too long ({len(measured)} > {spec.max_len})"))
    if _CONTROL.search(value):
        problems.append(ElementProblem(spec.refdes, "6", f"{name} contains a control character"))
        return problems
    if data_type in ("AN", "ID") and value[-1] == " " and len(value.rstrip()) >= spec.min_len:
        problems.append(ElementProblem(spec.refdes, "6", f"{name} has trailing spaces"))
    if (spec.codes or spec.external) and value not in spec.codes:
        if not (spec.external and value in grammar.external_codes.get(spec.external, ())):
            problems.append(ElementProblem(spec.refdes, "7", f"{name} is not a valid code here"))
    if not is_valid_type(value, data_type):
        if data_type in ("RD8", "DT", "D8", "D6"):
            problems.append(ElementProblem(spec.refdes, "8", f"{name} is not a valid date"))
        elif data_type == "TM":
            problems.append(ElementProblem(spec.refdes, "9", f"{name} is not a valid time"))
        else:
            problems.append(ElementProblem(spec.refdes, "6", f"{name} is type {data_type} and holds a character it may not"))
    if type_list and not any(is_valid_type(value, t) for t in type_list):
        if "TM" in type_list:
            problems.append(ElementProblem(spec.refdes, "9", f"{name} is not a valid time"))
        elif any(t in type_list for t in ("RD8", "DT", "D8", "D6")):
            problems.append(ElementProblem(spec.refdes, "8", f"{name} is not a valid date"))
    if spec.regex and not re.search(spec.regex, value, re.S):
        problems.append(ElementProblem(spec.refdes, "7", f"{name} does not have the form the guide asks for"))
    return problems


def _missing(spec: ElementSpec, in_composite: CompositeSpec | None) -> list[ElementProblem]:
    if spec.usage != "R":
        return []
    if in_composite is not None and spec.seq == 1 and in_composite.usage != "R":
        return []
    return [ElementProblem(spec.refdes, "1", f'mandatory element "{spec.name}" ({spec.refdes}) is missing')]


def _check_composite(comp: CompositeSpec, value: str | None, separators: Separators, grammar: Grammar) -> list[ElementProblem]:
    parts = value.split(separators.component) if value else []
    empty = not any(parts)
    if empty and comp.usage in ("N", "S"):
        return []
    if comp.usage == "R" and empty:
        return [ElementProblem(comp.refdes, "1", f'mandatory composite "{comp.name}" ({comp.refdes}) is missing')]
    if comp.usage == "N":
        return [ElementProblem(comp.refdes, "5", f'composite "{comp.name}" ({comp.refdes}) is marked as not used')]
    problems = []
    if len(parts) > len(comp.components):
        problems.append(ElementProblem(comp.refdes, "3", f'too many components in "{comp.name}" ({comp.refdes})'))
    for i, spec in enumerate(comp.components):
        part = parts[i] if i < len(parts) else ""
        problems += check_value(spec, part, grammar) if part else _missing(spec, comp)
    return problems


def element_findings(node: Node, elements: list[str], separators: Separators, grammar: Grammar) -> list[ElementProblem]:
    """Every element problem of one segment (``elements[0]`` is its id), in element order."""
    specs = node.elements
    problems: list[ElementProblem] = []
    count = len(elements) - 1
    if count > len(specs):
        problems.append(ElementProblem(node.id, "3", f"too many elements in {node.id}: {count}, at most {len(specs)}"))
    date_type: tuple[str, ...] = ()
    type_list: list[str] = []
    for i, spec in enumerate(specs):
        value = elements[i + 1] if i < count else None
        if isinstance(spec, CompositeSpec):
            problems += _check_composite(spec, value, separators, grammar)
            continue
        if i == 1 and node.id == "DTP" and value in ("RD8", "D8", "D6", "DT", "TM"):
            date_type = (value,)
        if spec.data_ele == "1250":
            type_list.extend(spec.codes)
        if value is not None and separators.component in value and node.id != "ISA":
            problems.append(ElementProblem(spec.refdes, "6", f'"{spec.name}" ({spec.refdes}) is not a composite'))
            continue
        if not value:
            problems += _missing(spec, None)
            continue
        if i == 2 and node.id == "DTP":
            problems += check_value(spec, value, grammar, date_type)
        elif spec.data_ele == "1251" and type_list:
            problems += check_value(spec, value, grammar, tuple(type_list))
        else:
            problems += check_value(spec, value, grammar)
    for rule in node.syntax:
        broken = syntax_problem(node.id, rule, elements)
        if broken is not None:
            problems.append(broken)
    return problems


def syntax_problem(segment_id: str, rule: tuple[Any, ...], elements: list[str]) -> ElementProblem | None:
    """X12 syntax notes: P (all or none), R (at least one), E (at most one), C and L (if the first, then ...).

    The words are only built for a broken note: most segments keep every note."""
    kind = rule[0]
    count = len(elements)
    present = [c < count and elements[c] != "" for c in rule[1:]]
    if kind == "P":
        broken = any(present) and not all(present)
    elif kind == "R":
        broken = not any(present)
    elif kind == "E":
        broken = sum(present) > 1
    elif kind == "C":
        broken = present[0] and not all(present[1:])
    elif kind == "L":
        broken = present[0] and not any(present[1:])
    else:
        return None
    if not broken:
        return None
    columns = rule[1:]
    names = ", ".join(f"{segment_id}{c:02d}" for c in columns)
    refdes = f"{segment_id}{columns[0]:02d}"
    rest = names.split(", ", 1)[1] if len(columns) > 1 else ""
    if kind == "P":
        return ElementProblem(refdes, "2", f"if any of {names} is present, all are required")
    if kind == "R":
        return ElementProblem(refdes, "2", f"at least one of {names} is required")
    if kind == "E":
        return ElementProblem(refdes, "10", f"at most one of {names} may be present")
    if kind == "C":
        return ElementProblem(refdes, "2", f"if {refdes} is present, {rest} must be too")
    return ElementProblem(refdes, "2", f"if {refdes} is present, one of {rest} must be too")


# --- the compiled form ------------------------------------------------------------------------


class SegmentPattern(NamedTuple):
    """A segment node's checks compiled: the regex, and for each captured group (numbered from 1 in
    order) the codes its text must be one of; the node's syntax notes, with what they found for each
    arrangement of present and empty elements met so far (``notes``)."""

    regex: re.Pattern[str]
    codes: tuple[frozenset[str], ...]
    segment_id: str = ""
    syntax: tuple[tuple[Any, ...], ...] = ()
    noted: dict[tuple[bool, ...], tuple[ElementProblem, ...]] | None = None

    def notes(self, elements: list[str]) -> tuple[ElementProblem, ...]:
        """``syntax_problem`` of each of the node's notes, for a segment this pattern accepted.

        A note reads only which elements are present, and the segments of a node come in a few
        arrangements of present and empty elements (a name with or without its first name ...):
        the notes are read once per arrangement, not once per segment."""
        if not self.syntax:
            return ()
        presence = tuple(map(bool, elements))
        noted = self.noted
        found = noted.get(presence) if noted is not None else None
        if found is None:
            found = tuple(p for rule in self.syntax if (p := syntax_problem(self.segment_id, rule, elements)) is not None)
            if noted is not None and len(noted) < MAX_ARRANGEMENTS:
                noted[presence] = found
        return found

    def accepts(self, raw: str) -> bool:
        found = self.regex.fullmatch(raw)
        if found is None:
            return False
        if self.codes:
            for value, codes in zip(found.groups(), self.codes, strict=True):
                if value is not None and value not in codes:
                    return False
        return True


# (spec, map, data characters) -> the spec's codes that pass its checks; a map uses one spec in many loops
_GOOD_CODES: dict[tuple[ElementSpec, str, str], frozenset[str]] = {}


def _value_pattern(spec: ElementSpec, grammar: Grammar, chars: _Classes, code_sets: list[frozenset[str]]) -> str | None:
    """A regex for the non-empty values of ``spec`` that pass ``check_value``; ``None``: no such regex.
    A code list of more than ``INLINE_CODES`` codes becomes a captured group, its codes appended to
    ``code_sets``."""
    if spec.regex or spec.data_ele in ("1250", "1251"):
        return None
    if spec.codes or spec.external:
        key = (spec, grammar.map_file, chars.any)
        good = _GOOD_CODES.get(key)
        if good is None:
            codes = set(spec.codes)
            if spec.external:
                codes |= grammar.external_codes.get(spec.external, frozenset())
            if len(codes) > MAX_PATTERN_CODES:
                return None
            good = _GOOD_CODES[key] = frozenset(
                c for c in codes if c and not check_value(spec, c, grammar) and _plain(c, chars.any))
        if not good:
            return "(?!)"
        if len(good) <= INLINE_CODES:
            return "(?:" + "|".join(re.escape(c) for c in sorted(good, key=lambda c: (-len(c), c))) + ")"
        code_sets.append(good)
        return f"([{chars.any}]{{{min(map(len, good))},{max(map(len, good))}}})"
    data_type, low, high = spec.data_type, max(spec.min_len, 1), spec.max_len
    if low > high:
        return "(?!)"
    if data_type in ("AN", "ID"):
        if high == 1:
            return f"[{chars.last}]"
        return f"[{chars.any}]{{{low - 1},{high - 1}}}[{chars.last}]"
    if data_type and data_type[0] == "N":
        return f"-?[0-9]{{{low},{high}}}"
    if data_type == "R":
        if low > 1 or high < 3:
            return None
        return f"-?[0-9]{{1,{high - 2}}}(?:\\.[0-9]{{1,2}})?"
    if data_type in ("DT", "D8"):
        return DATE8 if low <= 8 <= high else "(?!)"
    if data_type == "TM":
        forms = [(4, TIME), (6, TIME + "[0-5][0-9]"), (7, TIME + "[0-5][0-9][0-9]"), (8, TIME + "[0-5][0-9][0-9]{2}")]
        usable = [form for length, form in forms if low <= length <= high]
        return "(?:" + "|".join(usable) + ")" if usable else "(?!)"
    return None


def _element_pattern(spec: ElementSpec | CompositeSpec, grammar: Grammar, separators: Separators, chars: _Classes,
                     code_sets: list[frozenset[str]]) -> tuple[str, bool] | None:
    """(pattern of the element's text, whether it may be empty); ``None`` when no pattern is exact enough."""
    if isinstance(spec, CompositeSpec):
        if spec.usage == "N":
            return "", True
        parts = []
        for component in spec.components:
            value = "" if component.usage == "N" else _value_pattern(component, grammar, chars, code_sets)
            if value is None:
                return None
            parts.append((value, component.usage != "R"))
        # components: required ones up to the last required, then each optional in turn
        last_required = max((i for i, (_, optional) in enumerate(parts) if not optional), default=-1)
        if last_required < 0:
            return None  # an all-optional composite: leave its emptiness rules to the checks
        sep = re.escape(separators.component)
        text = sep.join(f"(?:{v})" + ("?" if optional else "") for v, optional in parts[: last_required + 1])
        tail = ""
        for value, _ in reversed(parts[last_required + 1 :]):
            tail = f"(?:{sep}(?:{value})?{tail})?" if value else f"(?:{sep}{tail})?"
        return text + tail, spec.usage != "R"
    if spec.usage == "N":
        return "", True
    value = _value_pattern(spec, grammar, chars, code_sets)
    if value is None:
        return None
    return value, spec.usage != "R"


def segment_pattern(node: Node, grammar: Grammar, separators: Separators) -> SegmentPattern | None:
    """What accepts only segments of ``node`` with no element problem, syntax notes aside (see module doc)."""
    if node.kind != "segment":
        return None
    chars = _classes(frozenset((separators.element, separators.component, separators.segment, separators.repetition)))
    elements = []
    code_sets: list[frozenset[str]] = []
    for i, spec in enumerate(node.elements):
        if node.id == "DTP" and i in (1, 2):
            return None
        made = _element_pattern(spec, grammar, separators, chars, code_sets)
        if made is None:
            return None
        elements.append(made)
    last_required = max((i for i, (_, optional) in enumerate(elements) if not optional), default=-1)
    sep = re.escape(separators.element)
    text = re.escape(node.id)
    for value, optional in elements[: last_required + 1]:
        text += sep + (f"(?:{value})?" if optional and value else f"(?:{value})")
    tail = ""
    for value, _ in reversed(elements[last_required + 1 :]):
        tail = f"(?:{sep}(?:{value})?{tail})?" if value else f"(?:{sep}{tail})?"
    return SegmentPattern(re.compile(text + tail), tuple(code_sets), node.id, node.syntax, {})


class _Classes(NamedTuple):
    """Character-class bodies of the data characters (separators excluded): any of them, and those an
    AN value may end with (not a space)."""

    any: str
    last: str


@lru_cache(maxsize=8)
def _classes(reserved: frozenset[str]) -> _Classes:
    allowed = [ch for ch in _class_members() if ch not in reserved]
    return _Classes(_class_body(allowed), _class_body([ch for ch in allowed if ch != " "]))


def _class_body(members: list[str]) -> str:
    """A character class body for ``members`` as runs (``A-Z``): a regex is parsed a character at a
    time, and every element of every pattern holds a class."""
    codes = sorted(map(ord, members))
    runs: list[tuple[int, int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    body = ""
    for first, last in runs:
        body += _class_char(first) if first == last else f"{_class_char(first)}-{_class_char(last)}"
    return body


def _class_char(code: int) -> str:
    ch = chr(code)
    return "\\" + ch if ch in "\\]-^[" else ch


@lru_cache(maxsize=8)
def _run_of(chars: str) -> re.Pattern[str]:
    return re.compile(f"[{chars}]+")


def _plain(code: str, chars: str) -> bool:
    """Whether ``code`` is written only with ``chars`` (a character class body)."""
    return _run_of(chars).fullmatch(code) is not None


def _class_members() -> Iterator[str]:
    for code in range(32, 127):
        ch = chr(code)
        if not _EXTENDED.match(ch):
            yield ch
