"""The one X12 engine: segments from ``edi.tokenizer``, structure from ``edi.grammar``.

``run`` walks every segment of an input once:

- the **envelope** (ISA/GS/ST/SE/GE/IEA, TA1) is checked here and only here: nesting,
  trailer counts and control numbers, unique control numbers, HL numbering and parents,
  LX numbering in an 837 — what pyx12's ``X12Reader`` checks;
- each segment is placed in its transaction set's **loop structure** by the walk pyx12's
  ``map_walker`` makes (same order of trials, same counting, same findings), computed
  once per (place, segment id, qualifier) and then replayed from ``Engine.steps`` (one dispatch dict per place);
- with ``check=True`` each segment's **elements** are checked against its map node
  (``edi.elements``) and everything found becomes a ``Finding``;
- a **reader** (``TransactionReader``) gets the segments it asked for by loop and
  segment id (``HANDLERS = {"2100/CLP": "clp", ...}``), with its envelope at ST and SE:
  readers never track loops themselves.

A reader that meets a broken envelope gets an ``EnvelopeError`` (reliability tests 13,
24, 29, 30); the validator gets findings and goes on.  Segment numbers count from the
ISA = 1, as pyx12 counts them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from domain.acks import Envelope
from edi.elements import ElementProblem, SegmentPattern, element_findings, segment_pattern
from edi.grammar import Grammar, Node, control_map_for, grammar_for, map_file_for
from edi.tokenizer import SegmentSource
from edi.x12 import Separators, X12ParseError

ENVELOPE_IDS = frozenset(("ISA", "GS", "ST", "SE", "GE", "IEA", "TA1"))
_SEGMENT_ID = re.compile(r"[A-Z0-9]{2,3}")
_CACHE_LIMIT = 200_000
COMPILE_AT = 3  # segments checked at a node when its pattern is compiled (``_check_elements``)
_VERIFIED_PER_NODE = 20_000  # clean segment texts remembered at one node (a file places its segments at a few dozen)
_SPLITS_KEPT = 20_000  # segment texts whose element lists a check keeps

# TA105 interchange note codes, AK905 / IK502 codes (what the sandbox answers with).
TA1_CONTROL_MISMATCH = "001"
TA1_GROUP_COUNT = "021"
TA1_CONTROL_STRUCTURE = "022"
TA1_END_OF_FILE = "023"
TA1_CONTENT = "024"
TA1_DUPLICATE = "025"
GROUP_TRAILER_MISSING = "2"
GROUP_CONTROL_MISMATCH = "3"
GROUP_SET_COUNT = "4"
GROUP_NOT_UNIQUE = "6"
SET_TRAILER_MISSING = "2"
SET_CONTROL_MISMATCH = "3"
SET_SEGMENT_COUNT = "4"
SET_CONTROL_NOT_UNIQUE = "23"


class EnvelopeError(X12ParseError):
    """The envelope structure is broken; ``level`` says which envelope, ``code`` how."""

    def __init__(self, message: str, *, level: str, code: str, segment_index: int | None, source: str | None):
        super().__init__(message, segment_index=segment_index, source=source)
        self.level = level  # "interchange", "group" or "set"
        self.code = code  # TA105 for an interchange, AK905/IK502 for a group or set


@dataclass(frozen=True, slots=True)
class Finding:
    """One SNIP 1-2 problem: where (segment number from ISA = 1, id, element) and what; never a value."""

    number: int
    segment: str
    element: str | None
    code: str
    message: str

    def __str__(self) -> str:
        where = f"segment {self.number} {self.segment}"
        if self.element:
            where += f" ({self.element})"
        return f"{where}: {self.message} [{self.code}]"


class TransactionReader:
    """Base of every reader: says which sets it reads and which segments it wants.

    ``HANDLERS`` maps ``"LOOP/SEG"`` (the enclosing loop id in pyx12's map, e.g. ``"2110/CAS"``,
    ``"HEADER/BPR"``) or a bare ``"SEG"`` (anywhere) to a method name; the method gets the
    segment's elements (``elements[0]`` is its id; missing trailing elements are absent)
    and its number.  Adding a field is adding a line to a handler.
    """

    TRANSACTIONS: ClassVar[frozenset[str]] = frozenset()
    HANDLERS: ClassVar[dict[str, str]] = {}
    check_trailer_numbers: ClassVar[bool] = True
    check_set_count: ClassVar[bool] = True  # SE01 against the segments counted, ST02 unique
    check_trailer_counts: ClassVar[bool] = True  # GE01/IEA01 counts, GS06/ISA13 unique
    WANTS_TEXT: ClassVar[bool] = False  # ``texts`` gets the text of every segment inside ST..SE
    texts: list[str]  # readers with ``WANTS_TEXT``: the walk appends to this list (never replace it)
    source: str = "<x12>"
    separators: Separators

    def begin_set(self, envelope: Envelope, st: list[str], number: int) -> None:
        """ST of a transaction set this reader reads."""

    def end_set(self, se: list[str], number: int) -> None:
        """SE, after its count and control number were checked."""

    def interchange_ack(self, envelope: Envelope, ta1: list[str], number: int) -> None:
        """A TA1 segment (outside any group)."""

    def other_set(self, st: list[str], number: int) -> None:
        """ST of a set this reader does not read (default: refuse the file)."""
        raise X12ParseError(f"transaction set {st[1] if len(st) > 1 else ''} is not one this reader reads",
                            segment_index=number, source=self.source)


def _handler_names(grammar: Grammar, reader_type: type[TransactionReader]) -> tuple[str | None, ...]:
    found = _HANDLER_NAMES.get((grammar.map_file, reader_type))
    if found is None:
        handlers = reader_type.HANDLERS
        found = tuple(
            (handlers.get(f"{node.loop}/{node.id}") or handlers.get(node.id)) if node.kind == "segment" else None
            for node in grammar.nodes
        )
        _HANDLER_NAMES[(grammar.map_file, reader_type)] = found
    return found


_HANDLER_NAMES: dict[tuple[str, type], tuple[str | None, ...]] = {}


# --- the walk (pyx12's map_walker, as operations replayed against counters) --------------------

# operations of a plan
NEED_SEGMENT, NEED_LOOP, MATCH_SEGMENT, ENTER_LOOP, NOT_FOUND = range(5)


class _Planner:
    """Computes, for a place and a segment, where pyx12's walk ends and what it checks on the way."""

    def __init__(self, grammar: Grammar):
        self.g = grammar
        self.nodes = grammar.nodes

    def matches(self, node: Node, sid: str, values: dict[tuple[int, int | None], str] | None) -> bool:
        if node.id != sid:
            return False
        if node.key is None or values is None:  # values None: by segment id alone (a lenient reader)
            return True
        return values.get((node.key[0], node.key[1]), "") in node.key[2]

    def plan(self, start: int, sid: str, values: dict[tuple[int, int | None], str] | None) -> tuple[int, tuple[Any, ...]]:
        nodes = self.nodes
        ops: list[tuple[Any, ...]] = []
        orig = nodes[start]
        node = orig if orig.kind != "segment" else nodes[orig.parent]
        position = orig.pos
        while True:
            found = self._scan(node, position, sid, values, ops, orig)
            if found is not None:
                return found, tuple(ops)
            if node.kind == "root":
                ops.append((NOT_FOUND, start))
                return -1, tuple(ops)
            position = node.pos
            node = nodes[node.parent]

    def _children(self, loop: Node) -> Iterable[Node]:
        for _, children in loop.pos_groups:
            for child in children:
                yield self.nodes[child]

    def _scan(self, node: Node, position: int, sid: str, values: Any, ops: list[Any], orig: Node) -> int | None:
        for pos, children in node.pos_groups:
            if pos < position:
                continue
            for index in children:
                child = self.nodes[index]
                if child.kind == "segment":
                    if self.matches(child, sid, values):
                        if node.kind == "loop" and self._loop_matches(node, sid, values, ops):
                            target = self._goto(node, sid, values, ops)
                            return target if target is not None else -2
                        ops.append((MATCH_SEGMENT, index))
                        return index
                    if child.usage == "R":
                        ops.append((NEED_SEGMENT, index))
                elif child.kind == "loop" and self._loop_matches(child, sid, values, ops):
                    target = self._goto(child, sid, values, ops)
                    return target if target is not None else -2
        return None

    def _loop_matches(self, loop: Node, sid: str, values: Any, ops: list[Any]) -> bool:
        if not loop.pos_groups:
            return False
        first = self.nodes[loop.pos_groups[0][1][0]]
        if first.kind == "loop":
            return any(c.kind == "loop" and self._loop_matches(c, sid, values, ops) for c in self._children(loop))
        if self.matches(first, sid, values):
            return True
        if loop.usage == "R":
            ops.append((NEED_LOOP, loop.index, first.index))
        return False

    def _goto(self, loop: Node, sid: str, values: Any, ops: list[Any]) -> int | None:
        first = self.nodes[loop.pos_groups[0][1][0]] if loop.pos_groups else None
        if first is not None and first.kind == "segment" and self.matches(first, sid, values):
            ops.append((ENTER_LOOP, loop.index, first.index))
            return first.index
        for child in self._children(loop):
            if child.kind == "loop":
                found = self._goto(child, sid, values, ops)
                if found is not None:
                    return found
        return None


class _Structure:
    """Counters and pending 'mandatory missing' notes of one walk; turns a plan into findings."""

    def __init__(self, grammar: Grammar, findings: list[Finding] | None):
        self.g = grammar
        self.counts = [0] * len(grammar.nodes)
        self.findings = findings

    def replay(self, ops: tuple[Any, ...], number: int, sid: str) -> None:
        """Count what the plan ``ops`` places and note what it finds missing, repeated or misplaced (the walk
        counts a plan's ``Count`` itself, when it has one and nothing would be noted)."""
        nodes = self.g.nodes
        counts = self.counts
        missing: list[tuple[int, str]] = []
        add = self.findings.append if self.findings is not None else None
        for op in ops:
            kind = op[0]
            if kind == MATCH_SEGMENT:
                child = nodes[op[1]]
                counts[child.index] += 1
                if child.usage == "N":
                    if add:
                        add(Finding(number - 1, child.id, None, "2", f"segment {child.id} is marked as not used here"))
                elif counts[child.index] > child.max_repeat and add:
                    add(Finding(number, sid, None, "5", f"segment {child.id} repeats more than {child.max_repeat} times"))
                if missing:
                    missing = [m for m in missing if m[0] != child.index]
                    self._flush(missing, number, child.pos)
                    missing = [m for m in missing if nodes[m[0]].pos == child.pos]
            elif kind == NEED_SEGMENT:
                if counts[op[1]] < 1:
                    node = nodes[op[1]]
                    missing.append((op[1], f'mandatory segment "{node.name}" ({node.id}) is missing'))
            elif kind == NEED_LOOP:
                if counts[op[1]] < 1:
                    loop = nodes[op[1]]
                    missing.append((op[2], f'mandatory loop "{loop.name}" ({loop.id}) is missing'))
            elif kind == ENTER_LOOP:
                loop = nodes[op[1]]
                if loop.usage == "N":
                    if add:
                        add(Finding(number - 1, sid, None, "2", f"loop {loop.id} is marked as not used here"))
                else:
                    counts[loop.index + 1 : loop.end] = [0] * (loop.end - loop.index - 1)
                    counts[loop.index] += 1
                    if counts[loop.index] > loop.max_repeat and add:
                        add(Finding(number, sid, None, "4", f"loop {loop.id} repeats more than {loop.max_repeat} times"))
                counts[op[2]] += 1
                if missing:
                    self._flush(missing, number, None)
                    missing = []
            elif kind == NOT_FOUND:
                if add:
                    add(Finding(number, sid, None, "1", f"segment {sid} is not expected here (after {nodes[op[1]].path})"))
                missing = []

    def _flush(self, missing: list[tuple[int, str]], number: int, keep_pos: int | None) -> None:
        if self.findings is None:
            return
        nodes = self.g.nodes
        for index, words in missing:
            if keep_pos is None or nodes[index].pos != keep_pos:
                self.findings.append(Finding(number, nodes[index].id, None, "3", words))

    def carry(self, previous: _Structure | None) -> _Structure:
        """Keep the interchange's counts when a group switches maps (pyx12 counts by path)."""
        if previous is not None:
            for path in ("/ISA_LOOP", "/ISA_LOOP/ISA", "/ISA_LOOP/GS_LOOP"):
                mine, theirs = self.g.by_path.get(path), previous.g.by_path.get(path)
                if mine is not None and theirs is not None:
                    self.counts[mine] = previous.counts[theirs]
        return self

    def reset_to(self, loop_index: int, first_index: int) -> None:
        """pyx12's ``forceWalkCounterToLoopStart`` at ISA and GS."""
        loop = self.g.nodes[loop_index]
        self.counts[loop.index + 1 : loop.end] = [0] * (loop.end - loop.index - 1)
        self.counts[loop.index] += 1
        self.counts[first_index] += 1


# --- one pass -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Open:
    kind: str  # ISA, GS, ST
    control: str
    number: int
    pending: list[Finding] = field(default_factory=list)


class _Pass:
    """State of one ``run``: envelope stack and counters, the grammar in use, findings."""

    def __init__(self, source: SegmentSource, reader: TransactionReader | None, check: bool):
        self.source = source
        self.name = source.source
        self.reader = reader
        self.check = check
        self.findings: list[Finding] = []
        self.separators = source.separators
        self.open: list[_Open] = []
        self.isa_numbers: list[str] = []
        self.gs_numbers: list[str] = []
        self.st_numbers: list[str] = []
        self.groups = self.sets = self.set_segments = 0
        self.hl_count = 0
        self.hl_stack: list[int] = []
        self.check_lx = False
        self.icvn = ""
        self.interchange: Envelope | None = None
        self.group: Envelope | None = None
        self.reading_set = False  # inside an ST..SE the reader reads
        self.in_set = False
        self.unmapped = False  # a group pyx12 has no map for: its sets are not checked
        self.interchanges_closed = 0
        self.number = 0

    # -- problems ------------------------------------------------------------------------------

    def envelope_problem(self, message: str, level: str, code: str, number: int, segment: str) -> None:
        """A broken envelope: a reader stops (``EnvelopeError``), the validator notes it and goes on."""
        if self.reader is not None and not self.check:
            raise EnvelopeError(message, level=level, code=code, segment_index=number, source=self.name)
        kind = {"set": "ST", "group": "GS", "interchange": "ISA"}[level]
        for opened in reversed(self.open):
            if opened.kind == kind:
                # pyx12 reports an envelope's problems at its trailer (or its header, if none comes)
                opened.pending.append(Finding(number, segment, None, code, message))
                return
        self.findings.append(Finding(number, segment, None, code, message))

    def close(self, number: int) -> None:
        """Pop the innermost envelope; its problems are reported at ``number`` (its trailer)."""
        opened = self.open.pop()
        for finding in opened.pending:
            self.findings.append(Finding(number, finding.segment, finding.element, finding.code, finding.message))

    def close_unfinished(self, down_to: str) -> None:
        """Pop the envelopes inside the innermost ``down_to`` (ISA, GS; "" for all) whose trailers never
        came: each one's own problems stay at its header, where pyx12 leaves them."""
        while self.open and self.open[-1].kind != down_to:
            self.close(self.open[-1].number)

    def tolerated(self) -> bool:
        return self.reader is not None and not self.reader.check_trailer_numbers and not self.check

    def counts_tolerated(self) -> bool:
        return self.tolerated() or (self.reader is not None and not self.reader.check_trailer_counts and not self.check)


def _count(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _get(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


def interchange_envelope(isa: list[str]) -> Envelope:
    return Envelope(
        sender_qualifier=isa[5].strip(), sender_id=isa[6].strip(), receiver_qualifier=isa[7].strip(),
        receiver_id=isa[8].strip(), interchange_control_number=isa[13].strip(), usage=isa[15].strip(),
    )


def group_envelope(interchange: Envelope, gs: list[str]) -> Envelope:
    return Envelope(
        sender_qualifier=interchange.sender_qualifier, sender_id=interchange.sender_id,
        receiver_qualifier=interchange.receiver_qualifier, receiver_id=interchange.receiver_id,
        interchange_control_number=interchange.interchange_control_number, usage=interchange.usage,
        functional_id=_get(gs, 1), group_sender=_get(gs, 2), group_receiver=_get(gs, 3),
        group_control_number=_get(gs, 6), version=_get(gs, 8),
    )


class Count(NamedTuple):
    """A plan whose checks are NEEDs then one MATCH or ENTER, as the counting it comes to when every
    needed node was seen and ``slot`` is below its repeat limit: nothing to note, so the walk counts it
    inline instead of replaying the plan's ops (``_Structure.replay``)."""

    needs: tuple[int, ...]  # nodes that must have been seen
    slot: int  # the segment matched or the loop entered
    limit: int  # its repeat limit
    end: int  # a loop entered: one past its last descendant (their counts start again), else 0
    first: int  # a loop entered: its first segment, counted too
    zeros: list[int]  # a loop entered: one 0 per descendant


def count_of(nodes: list[Node], ops: tuple[Any, ...]) -> Count | None:
    """A plan of NEED ops then one MATCH or ENTER of a used node as what it counts (see ``Count``);
    None for any other plan."""
    if not ops or ops[-1][0] not in (MATCH_SEGMENT, ENTER_LOOP):
        return None
    if any(op[0] not in (NEED_SEGMENT, NEED_LOOP) for op in ops[:-1]):
        return None
    needs = tuple(op[1] for op in ops[:-1])
    last = ops[-1]
    node = nodes[last[1]]
    if node.usage == "N":
        return None
    if last[0] == MATCH_SEGMENT:
        return Count(needs, node.index, node.max_repeat, 0, 0, [])
    return Count(needs, node.index, node.max_repeat, node.end, last[2], [0] * (node.end - node.index - 1))


# (node pyx12 places the segment at or -1, the checks on the way, the node a lenient reader uses,
#  the checks as counting alone when they can be: ``count_of``)
Plan = tuple[int, tuple[Any, ...], int, Count | None]


class Engine:
    """A compiled grammar with its dispatch table, handler tables and element patterns.

    ``steps`` is the walk's dispatch: for each place (node index) a dict by segment id of the
    ``Plan`` there, or, for a segment id whose place depends on a qualifier (NM1, REF, DTM ...), a
    dict of plans by the qualifier's value.  It is filled the first time a (place, segment,
    qualifier) is met, so a walk costs two dict lookups per segment and builds no key."""

    def __init__(self, grammar: Grammar):
        self.grammar = grammar
        self.planner = _Planner(grammar)
        self.steps: list[dict[str, Any]] = [{} for _ in range(len(grammar.nodes) + 1)]
        self.planned = 0
        self.patterns: dict[Separators, dict[int, SegmentPattern | None]] = {}
        self.tallies: dict[Separators, dict[int, int]] = {}
        self.key_fields = grammar.key_fields
        self.first_segment = {node.id: node.index for node in grammar.nodes if node.kind == "segment"}
        # the qualifier's place by segment id: absent = no qualifier, n >= 0 = element n alone,
        # -2 - n = the first component of element n (SV1, HI, SVC), -1 = read by ``qualifier`` (several fields)
        self.key_position = {sid: fields[0][0] if len(fields) == 1 and fields[0][1] is None
                             else -2 - fields[0][0] if len(fields) == 1 and fields[0][1] == 1 else -1
                             for sid, fields in self.key_fields.items() if fields}

    def qualifier(self, sid: str, elements: list[str], component: str) -> object:
        """The value(s) segment ``sid`` is told apart by, where ``key_position`` says (``walk`` reads the
        first two kinds inline)."""
        at = self.key_position.get(sid)
        if at is None:
            return ""
        if at >= 0:
            return elements[at] if at < len(elements) else ""
        if at < -1:
            at = -2 - at
            return elements[at].partition(component)[0] if at < len(elements) else ""
        values = []
        for position, sub in self.key_fields[sid]:
            value = elements[position] if position < len(elements) else ""
            if sub is not None:
                parts = value.split(component)
                value = parts[sub - 1] if sub - 1 < len(parts) else ""
            values.append(value)
        return tuple(values) if len(values) > 1 else values[0]

    def plan(self, state: int, sid: str, elements: list[str], component: str) -> Plan:
        """Where pyx12 places segment ``sid`` met at node ``state``: looked up in ``steps``, else worked out
        and kept there (``walk`` makes the lookup itself and calls this only when it misses)."""
        row = self.steps[state]
        qualified = sid in self.key_position
        qualifier = self.qualifier(sid, elements, component) if qualified else ""
        found = row.get(sid)
        if qualified and found is not None:
            found = found.get(qualifier)
        if found is not None:
            return found  # type: ignore[no-any-return]
        values: dict[tuple[int, int | None], str] | None = {}
        for position, sub in self.key_fields.get(sid, ()):
            value = elements[position] if position < len(elements) else ""
            if sub is not None:
                parts = value.split(component)
                value = parts[sub - 1] if sub - 1 < len(parts) else ""
            values[(position, sub)] = value  # type: ignore[index]
        target, ops = self.planner.plan(state, sid, values)
        # not placed: where a lenient reader puts it, by segment id alone
        lenient = self.planner.plan(state, sid, None)[0] if target == -1 else target
        found = (target, ops, lenient, count_of(self.grammar.nodes, ops))
        if self.planned < _CACHE_LIMIT:
            self.planned += 1
            if qualified:
                row.setdefault(sid, {})[qualifier] = found
            else:
                row[sid] = found
        return found

    def patterns_for(self, separators: Separators) -> dict[int, SegmentPattern | None]:
        """Each segment node's pattern, compiled the first time a segment is placed at it
        (a map has hundreds of segments, a file uses a few dozen)."""
        return self.patterns.setdefault(separators, {})

    def tally_for(self, separators: Separators) -> dict[int, int]:
        """For each segment node with no pattern compiled yet, the segments checked there so far (each walk
        counts a text once): ``_check_elements`` compiles the pattern at the ``COMPILE_AT``-th."""
        return self.tallies.setdefault(separators, {})


_ENGINES: dict[str, Engine] = {}
_HEADER_PATHS = {"ISA": "/ISA_LOOP/ISA", "GS": "/ISA_LOOP/GS_LOOP/GS"}


def engine_for(map_file: str) -> Engine:
    found = _ENGINES.get(map_file)
    if found is None:
        found = _ENGINES[map_file] = Engine(grammar_for(map_file))
    return found


def run(data: SegmentSource, reader: TransactionReader | None = None, *, check: bool = False) -> list[Finding]:
    """Walk ``data`` once; feed ``reader``; with ``check`` return every finding (else ``[]``).

    Raises ``X12ParseError`` (a reader's ``EnvelopeError`` among them) for what cannot be read.
    """
    findings: list[Finding] = []
    for _ in walk(data, reader, check=check, findings=findings):
        pass
    return findings


def walk(data: SegmentSource, reader: TransactionReader | None = None, *, check: bool = False,
         findings: list[Finding] | None = None) -> Iterator[None]:
    """``run`` a block of segments at a time: yields after each, so a streaming reader can hand
    on what it has built (``edi.x835.read_remittance_file``) while memory stays bounded."""
    state = _Pass(data, reader, check)
    if findings is not None:
        state.findings = findings
    separators = data.separators
    element_sep, component = separators.element, separators.component
    if reader is not None:
        reader.separators = separators
        reader.source = data.source
    engine: Engine | None = None
    structure: _Structure | None = None
    counts: list[int] = []  # structure.counts
    handlers: list[Callable[[list[str], int], None] | None] = []
    steps: list[dict[str, Any]] = []
    key_position: dict[str, int] = {}
    patterns: dict[int, SegmentPattern | None] = {}
    grammar: Grammar | None = None
    position = -1  # the node of the last segment placed
    number = 0
    findings = state.findings
    # per engine, per node: the segment texts already found clean there (no (node, text) pair built per segment)
    verified_by: dict[Engine, list[set[str]]] = {}
    verified: list[set[str]] = []
    tally: dict[int, int] = {}  # engine.tally_for
    # the validator alone: a text met again (a file's LX*1, N3, SBR, SV1 ...) reuses its element list; a reader
    # may keep the lists it is given, so it gets each segment's own
    splits: dict[str, list[str]] | None = {} if check and reader is None else None
    good_ids: set[str] = set()  # segment identifiers already found well formed (a file uses a few dozen)
    raw_sink = reader.texts.append if reader is not None and reader.WANTS_TEXT else None
    set_segments = lx_count = 0
    in_set = reading_set = check_lx = placing = False
    for batch in data.batches():
        for raw in batch:
            number += 1
            if check:
                if raw[0] == " ":
                    findings.append(Finding(number, raw.strip()[:3], None, "1", "segment starts with a space"))
                    raw = raw.lstrip()
                if raw[-1] == element_sep:
                    findings.append(Finding(number, raw.split(element_sep, 1)[0][:3], None, "SEG1",
                                            "segment ends with an element separator"))
            if splits is None:
                elements = raw.split(element_sep)
            else:
                elements = splits.get(raw)  # type: ignore[assignment]
                if elements is None:
                    elements = raw.split(element_sep)
                    if len(splits) < _SPLITS_KEPT:
                        splits[raw] = elements
            sid = elements[0]
            if sid in ENVELOPE_IDS:
                state.set_segments = set_segments
                header = sid == "ISA" or (sid == "GS" and engine is not None)
                if header:
                    if sid == "ISA":
                        engine = _open_interchange(state, elements, number)
                        structure = _Structure(engine.grammar, findings if check else None)
                    else:
                        assert engine is not None
                        engine = _open_group(state, elements, number, engine)
                        structure = _Structure(engine.grammar, findings if check else None).carry(structure)
                    counts = structure.counts
                    grammar = engine.grammar
                    position = grammar.by_path[_HEADER_PATHS[sid]]
                    structure.reset_to(grammar.nodes[position].parent, position)
                    handlers = _bind(engine, reader)
                    steps, key_position = engine.steps, engine.key_position
                    patterns = engine.patterns_for(separators) if check else {}
                    tally = engine.tally_for(separators) if check else {}
                    if check:
                        verified = verified_by.get(engine) or verified_by.setdefault(
                            engine, [set() for _ in grammar.nodes])
                        _check_elements(engine, position, raw, elements, number, separators, findings,
                                        verified[position], patterns, tally)
                elif engine is None:
                    state.envelope_problem(f"{sid} outside an interchange", "interchange", TA1_CONTROL_STRUCTURE,
                                           number, sid)
                else:
                    _envelope_segment(state, sid, elements, number)
                # what only an envelope segment changes, kept in locals between them
                set_segments, in_set, reading_set, check_lx = (
                    state.set_segments, state.in_set, state.reading_set, state.check_lx)
                placing = engine is not None and structure is not None and not (check and state.unmapped)
                if header or engine is None:
                    continue
            else:
                if check and sid not in good_ids:
                    if _SEGMENT_ID.fullmatch(sid):
                        good_ids.add(sid)
                    else:
                        findings.append(Finding(number, sid[:3], None, "1", "segment identifier is not valid"))
                set_segments += 1
                if reading_set and raw_sink is not None:
                    raw_sink(raw)
                if not in_set:
                    _outside_set(state, sid, number)
                if sid == "HL":
                    _hl(state, elements, number)
                elif check_lx and (sid == "CLM" or sid == "LX"):  # LX numbered from 1 in each claim
                    if sid == "CLM":
                        lx_count = 0
                    else:
                        lx_count += 1
                        if check and (elements[1] if len(elements) > 1 else "") != str(lx_count):
                            findings.append(Finding(number, "LX", "LX01", "LX",
                                                    f"LX01 is not {lx_count}, the line count"))
            if not placing:
                continue
            step = steps[position].get(sid)
            if step.__class__ is dict:  # placed by a qualifier
                at = key_position[sid]
                if at >= 0:
                    step = step.get(elements[at] if at < len(elements) else "")
                elif at < -1:
                    at = -2 - at
                    step = step.get(elements[at].partition(component)[0] if at < len(elements) else "")
                else:
                    assert engine is not None
                    step = step.get(engine.qualifier(sid, elements, component))
            if step is None:
                assert engine is not None
                step = engine.plan(position, sid, elements, component)
            target, ops, lenient, count = step
            if check:
                if count is not None:
                    needs, slot, limit, end, first, zeros = count
                    if counts[slot] >= limit:
                        count = None
                    else:
                        for index in needs:
                            if not counts[index]:
                                count = None
                                break
                        else:
                            if end:
                                counts[slot + 1 : end] = zeros
                                counts[first] += 1
                            counts[slot] += 1
                if count is None:
                    assert structure is not None
                    structure.replay(ops, number, sid)
            elif target < 0:
                target = lenient
                if target < 0 and not (sid.isalnum() and len(sid) <= 3):
                    raise X12ParseError(f"bad segment identifier {sid[:10]!r}", segment_index=number,
                                        source=data.source)
            if target < 0:
                continue
            position = target
            if check and raw not in verified[target]:
                assert engine is not None
                _check_elements(engine, target, raw, elements, number, separators, findings, verified[target], patterns,
                                tally)
            if reading_set:
                handler = handlers[target]
                if handler is not None:
                    try:
                        handler(elements, number)
                    except X12ParseError as exc:
                        if exc.segment_index is not None:
                            raise
                        raise X12ParseError(str(exc), segment_index=number, source=data.source) from None
                    except ValueError as exc:
                        raise X12ParseError(f"{sid}: {exc}", segment_index=number, source=data.source) from None

        yield None
    state.set_segments = set_segments
    _finish(state, number)


def _bind(engine: Engine, reader: TransactionReader | None) -> list[Callable[[list[str], int], None] | None]:
    if reader is None:
        return [None] * len(engine.grammar.nodes)
    return [getattr(reader, name) if name else None for name in _handler_names(engine.grammar, type(reader))]


def _check_elements(engine: Engine, target: int, raw: str, elements: list[str], number: int, separators: Separators,
                    findings: list[Finding], verified: set[str], patterns: dict[int, SegmentPattern | None],
                    tally: dict[int, int]) -> None:
    """Check one segment placed at ``target``; ``verified``: the texts found clean at ``target`` (the caller
    skips those).

    A node's pattern is compiled when its ``COMPILE_AT``-th segment is checked (``tally`` counts them,
    for the process): before, its segments get the detailed checks, which say the same.  Many nodes a
    file uses hold one or two distinct segments (the envelope, the submitter, a billing provider), and
    compiling a pattern costs more than checking a segment element by element a few times."""
    node = engine.grammar.nodes[target]
    try:
        pattern = patterns[target]
    except KeyError:
        met = tally[target] = tally.get(target, 0) + 1
        pattern = None
        if met >= COMPILE_AT:
            pattern = patterns[target] = segment_pattern(node, engine.grammar, separators)
    problems: Sequence[ElementProblem]
    if pattern is not None and pattern.accepts(raw):
        problems = pattern.notes(elements)
    else:
        problems = element_findings(node, elements, separators, engine.grammar)
    for problem in problems:
        findings.append(Finding(number, node.id, problem.refdes, problem.code, problem.words))
    if not problems and len(verified) < _VERIFIED_PER_NODE:
        verified.add(raw)


# --- the envelope ---------------------------------------------------------------------------------

_FALLBACK_MAPS = {
    "FA": "999.5010X231.A1.xml",
    "HP": "835.5010.X221.A1.xml",
    "HN": "277.5010.X214.xml",
    "HC": "837.5010.X222.A1.xml",
}


def _open_interchange(state: _Pass, elements: list[str], number: int) -> Engine:
    if len(elements) != 17:
        raise EnvelopeError(f"ISA has {len(elements) - 1} elements, expected 16", level="interchange",
                            code=TA1_CONTROL_STRUCTURE, segment_index=number, source=state.name)
    if state.open:
        state.close_unfinished("")  # each at its header: no trailer came
        state.envelope_problem("ISA before the IEA of the previous interchange", "interchange", TA1_END_OF_FILE,
                               number, "ISA")
    control = elements[13]
    state.open.append(_Open("ISA", control, number))
    if control in state.isa_numbers and not state.counts_tolerated():
        state.envelope_problem("ISA13 repeats an interchange control number of this file", "interchange",
                               TA1_DUPLICATE, number, "ISA")
    state.isa_numbers.append(control)
    state.gs_numbers = []
    state.groups = 0
    state.icvn = elements[12]
    state.interchange = interchange_envelope(elements)
    state.in_set = state.reading_set = False
    return engine_for(control_map_for(state.icvn))


def _open_group(state: _Pass, elements: list[str], number: int, engine: Engine) -> Engine:
    top = state.open[-1].kind if state.open else ""
    if top != "ISA":
        if top == "":
            state.envelope_problem("GS outside an interchange", "interchange", TA1_CONTROL_STRUCTURE, number, "GS")
        else:
            state.close_unfinished("ISA")
            state.envelope_problem(f"GS before the {'SE' if top == 'ST' else 'GE'} that closes the previous "
                                   f"{'set' if top == 'ST' else 'group'}", "group", GROUP_TRAILER_MISSING, number, "GS")
    control = _get(elements, 6)
    state.open.append(_Open("GS", control, number))
    if control in state.gs_numbers and not state.counts_tolerated():
        state.envelope_problem("GS06 repeats a group control number of this interchange", "group",
                               GROUP_NOT_UNIQUE, number, "GS")
    state.gs_numbers.append(control)
    state.groups += 1
    state.sets = 0
    state.st_numbers = []
    assert state.interchange is not None
    state.group = group_envelope(state.interchange, elements)
    map_file = map_file_for(state.icvn, _get(elements, 1), _get(elements, 8))
    state.unmapped = map_file is None
    if map_file is None:
        map_file = _FALLBACK_MAPS.get(_get(elements, 1))
        if state.check:
            state.findings.append(Finding(number, "GS", "GS08", "2", "no implementation guide map for this "
                                          "functional group and version: its sets are not checked"))
        if map_file is None:
            return engine
    found = engine_for(map_file)
    state.check_lx = found.grammar.transaction == "837"
    return found


def _envelope_segment(state: _Pass, sid: str, elements: list[str], number: int) -> None:
    reader = state.reader
    top = state.open[-1] if state.open else None
    if sid == "ST":
        if top is not None and top.kind == "ST":
            state.close(top.number)  # no SE came: the set's own problems stay at its ST, as pyx12 leaves them
            state.envelope_problem("ST before the SE of the previous set", "set", SET_TRAILER_MISSING, number, "ST")
        elif top is None or top.kind != "GS":
            state.envelope_problem("ST outside a functional group", "interchange", TA1_CONTENT, number, "ST")
        control = _get(elements, 2)
        state.open.append(_Open("ST", control, number))
        if control in state.st_numbers and (reader is None or state.check or reader.check_set_count):
            state.envelope_problem("ST02 repeats a control number of this group", "set", SET_CONTROL_NOT_UNIQUE,
                                   number, "ST")
        state.st_numbers.append(control)
        state.sets += 1
        state.set_segments = 1
        state.hl_count = 0
        state.hl_stack = []
        state.in_set = True
        if reader is not None:
            assert state.group is not None
            if _get(elements, 1) in reader.TRANSACTIONS:
                state.reading_set = True
                reader.begin_set(state.group, elements, number)
            else:
                state.reading_set = False
                reader.other_set(elements, number)
    elif sid == "SE":
        if top is None or top.kind != "ST":
            state.envelope_problem("SE outside a transaction set", "group", GROUP_TRAILER_MISSING, number, "SE")
            return
        state.set_segments += 1
        if _count(_get(elements, 1)) != state.set_segments and (reader is None or state.check or reader.check_set_count):
            state.envelope_problem(f"SE01 says {_get(elements, 1)[:12]!r} segments, counted {state.set_segments}",
                                   "set", SET_SEGMENT_COUNT, number, "SE")
        if _get(elements, 2) != top.control:
            state.envelope_problem("SE02 does not match ST02", "set", SET_CONTROL_MISMATCH, number, "SE")
        state.close(number)
        state.in_set = False
        if state.reading_set and reader is not None:
            state.reading_set = False
            reader.end_set(elements, number)
    elif sid == "GE":
        if top is not None and top.kind == "ST":
            state.close(top.number)  # no SE came: the set's own problems stay at its ST, as pyx12 leaves them
            state.envelope_problem("GE before the SE of an open transaction set", "set", SET_TRAILER_MISSING,
                                   number, "GE")
            state.in_set = state.reading_set = False
            top = state.open[-1] if state.open else None
        if top is None or top.kind != "GS":
            state.envelope_problem("GE outside a functional group", "interchange", TA1_CONTENT, number, "GE")
            return
        if not state.tolerated():
            if _count(_get(elements, 1)) != state.sets and not state.counts_tolerated():
                state.envelope_problem(f"GE01 says {_get(elements, 1)[:12]!r} sets, found {state.sets}", "group",
                                       GROUP_SET_COUNT, number, "GE")
            if _get(elements, 2) != top.control:
                state.envelope_problem("GE02 does not match GS06", "group", GROUP_CONTROL_MISMATCH, number, "GE")
        state.close(number)
    elif sid == "IEA":
        while top is not None and top.kind != "ISA":
            state.envelope_problem("IEA before the GE of an open group", "interchange", TA1_END_OF_FILE, number,
                                   "IEA")
            state.close(top.number)  # no trailer came: its own problems stay at its header
            top = state.open[-1] if state.open else None
        if top is None:
            state.envelope_problem("IEA outside an interchange", "interchange", TA1_CONTROL_STRUCTURE, number, "IEA")
            return
        if not state.tolerated():
            if _count(_get(elements, 1)) != state.groups and not state.counts_tolerated():
                state.envelope_problem(f"IEA01 says {_get(elements, 1)[:12]!r} groups, found {state.groups}",
                                       "interchange", TA1_GROUP_COUNT, number, "IEA")
            if _get(elements, 2).strip() != top.control.strip():
                state.envelope_problem("IEA02 does not match ISA13", "interchange", TA1_CONTROL_MISMATCH, number,
                                       "IEA")
        state.close(number)
        state.interchanges_closed += 1
        state.in_set = state.reading_set = False
    elif sid == "TA1":
        if top is None or top.kind != "ISA":
            state.envelope_problem("TA1 inside a functional group", "interchange", TA1_CONTROL_STRUCTURE, number,
                                   "TA1")
            return
        if reader is not None and state.interchange is not None:
            reader.interchange_ack(state.interchange, elements, number)


def _outside_set(state: _Pass, sid: str, number: int) -> None:
    """A set segment with no ST open: reported at the segment itself (as pyx12 does), not at a trailer."""
    if any(o.kind == "GS" for o in state.open):
        message, level, code = f"{sid} outside a transaction set", "group", GROUP_TRAILER_MISSING
    elif state.open:
        message, level, code = f"{sid} outside a functional group", "interchange", TA1_CONTENT
    else:
        message, level, code = f"{sid} outside an interchange", "interchange", TA1_CONTROL_STRUCTURE
    if state.check:
        state.findings.append(Finding(number, sid[:3], None, code, message))
    else:
        state.envelope_problem(message, level, code, number, sid[:3])


def _hl(state: _Pass, elements: list[str], number: int) -> None:
    count = state.hl_count = state.hl_count + 1
    if not state.check:
        return
    size = len(elements)
    own = elements[1] if size > 1 else ""
    if (int(own) if own.isdigit() else None) != count:
        state.findings.append(Finding(number, "HL", "HL01", "HL1", f"HL01 is not {count}, the count of HLs"))
    parent = elements[2] if size > 2 else ""
    stack = state.hl_stack
    if parent:
        number_of_parent = int(parent) if parent.isdigit() else None
        if number_of_parent not in stack:
            state.findings.append(Finding(number, "HL", "HL02", "HL2", "HL02 names no open parent HL"))
        while stack and number_of_parent != stack[-1]:
            stack.pop()
    stack.append(count)


def _finish(state: _Pass, number: int) -> None:
    for opened in reversed(list(state.open)):
        level, code, trailer = {
            "ST": ("set", SET_TRAILER_MISSING, "SE"),
            "GS": ("group", GROUP_TRAILER_MISSING, "GE"),
            "ISA": ("interchange", TA1_END_OF_FILE, "IEA"),
        }[opened.kind]
        state.envelope_problem(f"interchange not closed by IEA (truncated?): no {trailer} for the "
                               f"{opened.kind} at segment {opened.number}", level, code, number, trailer)
    while state.open:
        state.close(state.open[-1].number)
    if state.interchanges_closed == 0 and not state.isa_numbers:
        state.envelope_problem("file ends before its IEA (truncated?)", "interchange", TA1_END_OF_FILE, number, "IEA")
