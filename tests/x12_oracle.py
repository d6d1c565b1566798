"""pyx12 as the oracle for the engine: run both on one file and compare the segment numbers flagged.

Shared by tests/test_x12_oracle.py (corpus, golden files, a bounded hypothesis sample) and
``make oracle`` (``python -m tests.x12_oracle --count N``), so both judge agreement the same way.
Where pyx12 is known to be wrong, the outcome names the kind of divergence instead of "agree": every
segment number only one side flags must be explained by a kind, each pinned by a test there.

pyx12's verdicts are kept by file sha256 (``--pyx12-cache``), so after an engine change the 10,000
seeds are judged again in seconds; ``--list-disagreements FILE`` and ``--seeds-from FILE`` rerun
just the seeds that disagreed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from domain.acks import Envelope
from edi import engine
from edi.build999 import acknowledge_group, build_999
from edi.tokenizer import SegmentSource
from edi.x12 import X12ParseError
from tests.claim_factory import make_claim, make_line
from tests.pyx12_maps import maps_read_once
from tests.regen_golden import GOLDEN_CASES, build_golden
from tests.remit_factory import pay, remit, text_835
from validators.x12_syntax import SyntaxFinding, validate_x12_file

ENVELOPE_SEGMENTS = frozenset({"ISA", "GS", "GE", "IEA"})
# pyx12 files element errors of these under the ISA, GS or ST node, whose reports never list them
UNREPORTED_ELEMENT_SEGMENTS = ENVELOPE_SEGMENTS | {"ST", "SE"}

AGREE = "agree"
PYX12_CRASH = "pyx12 cannot read (no map / crash)"
PYX12_SKIPS_ENVELOPE_ELEMENTS = "pyx12 skips envelope element errors"
PYX12_MISSES_NESTED_HEADER = "pyx12 misses an ST/GS before the previous SE/GE"
PYX12_IGNORES_SEGMENT_BEFORE_ST = "pyx12 ignores a set segment before the first GS or ST"
PYX12_MISSES_HEADER_OUTSIDE_ENVELOPE = "pyx12 misses a GS after its IEA or an ST after its GE"
PYX12_SILENT_ON_UNPLACED_SET = "pyx12 reports nothing in a set whose ST it cannot place"
# its error handler calls add_error(code, words, value) on its ISA/GS/ST nodes, whose add_error takes two
# arguments, and swallows the TypeError: a trailing separator on an envelope segment is never reported
PYX12_DROPS_ENVELOPE_SEGMENT_ERRORS = "pyx12 drops segment errors (trailing separator) of envelope segments"
PYX12_CHECKS_SE_AGAINST_GS_OR_ISA = "pyx12 checks an SE whose ST it dropped against the GS or ISA above it"
PYX12_PUTS_SE_ERRORS_ON_SEGMENT_BEFORE = "pyx12 reports an SE's trailing separator at the segment before it"
PYX12_DEFERS_READER_ERRORS = "pyx12 reports an unplaced segment's HL/LX errors at the next placed one"
BOTH_REFUSE = "both refuse the file"
DISAGREE = "disagree"


@dataclass(frozen=True)
class Outcome:
    kind: str
    engine: frozenset[int]
    pyx12: frozenset[int]
    engine_refused: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}: engine {sorted(self.engine)} pyx12 {sorted(self.pyx12)} {self.engine_refused or ''}"


Pyx12 = Callable[[Path], list[SyntaxFinding]]


def run_pyx12(path: Path) -> list[SyntaxFinding]:
    """pyx12's findings on ``path``, its maps read once per process (``tests.pyx12_maps``)."""
    with maps_read_once():
        return validate_x12_file(str(path))


def compare_file(path: Path, pyx12: Pyx12 = run_pyx12) -> Outcome:
    """Run pyx12 and the engine on ``path`` and classify the difference in segment numbers flagged.

    Every segment number only one side flags must be explained by a named divergence, else the file
    is a disagreement; one unexplained number is enough.
    """
    refused: str | None = None
    findings: list[engine.Finding] = []
    try:
        findings = engine.run(SegmentSource(path), check=True)
    except X12ParseError as exc:
        refused = type(exc).__name__
    ours = frozenset(f.number for f in findings)
    theirs_raw = pyx12(path)
    theirs = frozenset(f.line for f in theirs_raw if f.line is not None)
    unplaced = [f for f in theirs_raw if f.line is None]
    if refused is not None:
        kind = BOTH_REFUSE if unplaced and not theirs else DISAGREE
        return Outcome(kind, ours, theirs, refused)
    if any(f.code == "engine" for f in unplaced):
        return Outcome(PYX12_CRASH, ours, theirs)
    if ours == theirs and not unplaced:
        return Outcome(AGREE, ours, theirs)
    evidence = Evidence(findings, theirs_raw, segments_of(path))
    kinds = {next((k for f in evidence.engine_at(n) if (k := _known_divergence(f, evidence))), None)
             for n in ours - theirs}
    kinds |= {_pyx12_only(n, evidence) for n in theirs - ours}
    # pyx12 rejects without saying where only when it skipped an envelope segment's element checks
    if kinds and None not in kinds and (not unplaced or PYX12_SKIPS_ENVELOPE_ELEMENTS in kinds):
        return Outcome(" + ".join(sorted(str(k) for k in kinds)), ours, theirs)
    return Outcome(DISAGREE, ours, theirs)


def segments_of(path: Path) -> list[list[str]]:
    """Each segment's elements by its number (ISA = 1; index 0 is empty)."""
    source = SegmentSource(path)
    try:
        sep = source.separators.element
        return [[""], *(raw.strip().split(sep) for batch in source.batches() for raw in batch)]
    finally:
        source.close()


@dataclass(frozen=True)
class Evidence:
    """Both sides' findings on one file and its segment ids: what a divergence rule may look at."""

    ours: list[engine.Finding]
    theirs: list[SyntaxFinding]
    segments: list[list[str]]

    @cached_property
    def ids(self) -> list[str]:
        return [s[0] for s in self.segments]

    def header_controls(self, *kinds: str) -> set[str]:
        """ISA13 / GS06 values of the file that are no ST02 (so an 'ST id=' naming one is not an ST's)."""
        position = {"ISA": 13, "GS": 6}
        st02 = {s[2] for s in self.segments if s[0] == "ST" and len(s) > 2}
        return {s[position[s[0]]] for s in self.segments
                if s[0] in kinds and len(s) > position[s[0]]} - st02

    def pyx12_checks_se_against(self, finding: SyntaxFinding, *kinds: str) -> bool:
        """pyx12's reader met an SE whose ST it had already dropped from its stack (after a GE, or under a
        GS it never saw closed) and compared it with the GS or ISA on top (x12file's ``_parse_segment``),
        saying so at the last ST; when that was the ISA, it never looks for the IEA again."""
        return (finding.code == "3" and finding.message.startswith("SE id=")
                and finding.message.rpartition(" does not match ST id=")[2] in self.header_controls(*kinds))

    def engine_at(self, number: int) -> list[engine.Finding]:
        return [f for f in self.ours if f.number == number]

    def pyx12_at(self, number: int) -> list[SyntaxFinding]:
        return [f for f in self.theirs if f.line == number]

    def set_end(self, start: int) -> int:
        """The number of the first SE after ``start`` (the last segment if none)."""
        return next((n for n in range(start + 1, len(self.ids)) if self.ids[n] == "SE"), len(self.ids) - 1)


def _known_divergence(finding: engine.Finding, evidence: Evidence) -> str | None:
    """The kind of an engine finding pyx12 is known not to make (each kind has a named test), else None."""
    if finding.segment in UNREPORTED_ELEMENT_SEGMENTS and finding.element:
        return PYX12_SKIPS_ENVELOPE_ELEMENTS
    if finding.segment == "SE" and finding.code == "SEG1" and any(
            f.code == "SEG1" for f in evidence.pyx12_at(finding.number - 1)):
        return PYX12_PUTS_SE_ERRORS_ON_SEGMENT_BEFORE
    if finding.segment in UNREPORTED_ELEMENT_SEGMENTS and finding.code == "SEG1":
        return PYX12_DROPS_ENVELOPE_SEGMENT_ERRORS
    if finding.segment in ("ST", "GS") and " before the " in finding.message:
        return PYX12_MISSES_NESTED_HEADER
    if (finding.segment, finding.message) in (("GS", "GS outside an interchange"),
                                              ("ST", "ST outside a functional group")):
        return PYX12_MISSES_HEADER_OUTSIDE_ENVELOPE
    if finding.segment not in ENVELOPE_SEGMENTS and finding.message.endswith(
            ("outside a transaction set", "outside a functional group")):
        return PYX12_IGNORES_SEGMENT_BEFORE_ST
    if _in_unplaced_set(finding.number, evidence):
        return PYX12_SILENT_ON_UNPLACED_SET
    if (finding.segment == "IEA" and finding.message.startswith("interchange not closed by IEA")
            and any(evidence.pyx12_checks_se_against(f, "ISA") for f in evidence.theirs)):
        return PYX12_CHECKS_SE_AGAINST_GS_OR_ISA
    if (evidence.ids[finding.number] == "GE" and finding.code == "3" and "(ST_LOOP) is missing" in finding.message
            and _in_unplaced_set(finding.number - 1, evidence)):
        return PYX12_SILENT_ON_UNPLACED_SET  # the group's only set was that one: the engine misses an ST_LOOP
    return None


def _in_unplaced_set(number: int, evidence: Evidence) -> bool:
    """``number`` lies in a set whose ST the engine could not place and where pyx12 flags nothing."""
    for start in range(number, 0, -1):
        if evidence.ids[start] == "ST":
            if not any(f.segment == "ST" and f.code == "1" and f.message.startswith("segment ST is not expected")
                       for f in evidence.engine_at(start)):
                return False
            end = evidence.set_end(start)
            return number <= end and not any(f.line is not None and start <= f.line <= end for f in evidence.theirs)
    return False


# pyx12's X12Reader checks: HL numbering and parents, LX numbering, a trailing separator (and an empty segment)
READER_CODES = frozenset({"HL1", "HL2", "LX", "SEG1"})


def _reader_finding(finding: SyntaxFinding) -> bool:
    return finding.code in READER_CODES or (finding.code == "8" and finding.message.endswith('" is empty'))


# What pyx12's reader says at a trailer when a header came before the previous one's trailer, and how the
# engine's finding at that nested header begins. The reader pops one unclosed envelope per trailer, so two
# nested STs leave its GS open until the IEA.
_NESTED_AT_TRAILER = {("IEA", "024", "Unterminated Loop GS"): ("GS before the ", "ST before the SE "),
                      ("GE", "3", "Unterminated segment"): ("ST before the SE ",)}


def _pyx12_only(number: int, evidence: Evidence) -> str | None:
    """The kind of a segment number pyx12 alone flags, when a named divergence explains it, else None."""
    at = evidence.pyx12_at(number)
    if at and evidence.ids[number] == "ST" and all(evidence.pyx12_checks_se_against(f, "ISA", "GS") for f in at):
        return PYX12_CHECKS_SE_AGAINST_GS_OR_ISA
    if not at:
        return None
    if all(_reader_finding(f) for f in at):
        wanted = {f.code for f in at if f.code in READER_CODES}
        # pyx12 holds its reader's errors until a segment is placed: those of unplaced segments come late
        before = number - 1
        while before > 0 and any(" not found.  Started at " in f.message for f in evidence.pyx12_at(before)):
            if wanted and wanted <= {f.code for f in evidence.engine_at(before)}:
                return PYX12_DEFERS_READER_ERRORS
            before -= 1
        # and hands those of an SE to the segment before it (its error handler has not moved on yet)
        following = number + 1
        if (following < len(evidence.ids) and evidence.ids[following] == "SE" and wanted
                and wanted <= {f.code for f in evidence.engine_at(following)}):
            return PYX12_PUTS_SE_ERRORS_ON_SEGMENT_BEFORE
    nested = [next((said for (sid, code, start), said in _NESTED_AT_TRAILER.items()
                    if evidence.ids[number] == sid and f.code == code and f.message.startswith(start)), None)
              for f in at]
    if None not in nested and all(any(e.number < number and e.message.startswith(said) for e in evidence.ours)
                                  for said in nested if said is not None):
        return PYX12_MISSES_NESTED_HEADER  # pyx12 notices only at the trailer that a trailer was skipped
    return None


def compare_text(text: str, cache: Pyx12Cache | None = None) -> Outcome:
    fd, name = tempfile.mkstemp(suffix=".x12")
    try:
        with os.fdopen(fd, "w", encoding="ascii", errors="replace", newline="") as handle:
            handle.write(text)
        return compare_file(Path(name), run_pyx12 if cache is None else cache.pyx12_for(text))
    finally:
        os.unlink(name)


class Pyx12Cache:
    """pyx12's findings per file text (sha256), kept in a JSON-lines file: pyx12 never changes, the engine does.

    pyx12 is far slower than the engine, so judging 10,000 mutations afresh takes many CPU-minutes; with
    its verdicts kept, a re-judgement after an engine change runs the engine alone.  Lines are appended
    with one write each, so two processes may fill the same file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.verdicts: dict[str, list[SyntaxFinding]] = {}
        self.hits = self.misses = 0
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.endswith("\n"):  # a line cut by a killed writer is left out
                        record = json.loads(line)
                        self.verdicts[record["sha256"]] = [SyntaxFinding(*f) for f in record["findings"]]

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("ascii", errors="replace")).hexdigest()

    def __contains__(self, text: str) -> bool:
        return self.key(text) in self.verdicts

    def pyx12_for(self, text: str) -> Pyx12:
        key = self.key(text)

        def verdict(path: Path) -> list[SyntaxFinding]:
            if key in self.verdicts:
                self.hits += 1
                return self.verdicts[key]
            self.misses += 1
            findings = self.verdicts[key] = run_pyx12(path)
            self._append(key, findings)
            return findings

        return verdict

    def _append(self, key: str, findings: list[SyntaxFinding]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        rows = [[f.line, f.segment, f.element, f.code, f.message] for f in findings]
        line = json.dumps({"sha256": key, "findings": rows}, separators=(",", ":")) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)


# --- built files and their mutations ------------------------------------------------------------------


def built_files() -> dict[str, str]:
    """Clean files from our own builders: the golden 837Ps, a two-claim 835 and a 999 with a rejection."""
    files = {f"837 {name}": build_golden(name) for name in GOLDEN_CASES}
    claims = [make_claim("CLM1001"), make_claim("CLM1002", lines=(make_line("L1"), make_line("L2")))]
    files["835"] = text_835([remit([pay(c) for c in claims])])
    received = Envelope("ZZ", "PRACTICE", "ZZ", "CLEARING", "000000123", "T", "HC", "PRACTICE", "CLEARING", "123",
                        "005010X222A1")
    sets = [("837", "0001", "005010X222A1"), ("837", "0002", "005010X222A1")]
    ack = acknowledge_group(received, sets, control_number=900, rejected={"0002": ()})
    files["999"] = build_999(ack, created=datetime(2026, 1, 5, 10, 30))
    return files


@dataclass(frozen=True)
class Interchange:
    """A file cut into segments (without terminators) so a mutation can edit one place."""

    segments: list[list[str]]
    element: str
    terminator: str

    @classmethod
    def parse(cls, text: str) -> Interchange:
        element, terminator = text[3], text[105]
        raw = [s.strip("\r\n") for s in text.split(terminator)]
        return cls([s.split(element) for s in raw if s], element, terminator)

    def text(self) -> str:
        return "".join(self.element.join(s) + self.terminator + "\n" for s in self.segments)


BAD_VALUES = ("", "ZZ", "X" * 81, "20261340", "2026011", "12.3.4", "-", "99999999999999999999", "AB CD")
Mutation = Callable[[Interchange, random.Random], str]


def _pick(x: Interchange, rng: random.Random, wanted: Callable[[list[str]], bool]) -> int | None:
    found = [i for i, s in enumerate(x.segments) if i > 0 and wanted(s)]
    return rng.choice(found) if found else None


def delete_segment(x: Interchange, rng: random.Random) -> str:
    i = rng.randrange(1, len(x.segments))
    del x.segments[i]
    return f"delete {i + 1}"


def duplicate_segment(x: Interchange, rng: random.Random) -> str:
    i = rng.randrange(1, len(x.segments))
    x.segments.insert(i, list(x.segments[i]))
    return f"duplicate {i + 1}"


def move_segment(x: Interchange, rng: random.Random) -> str:
    i = rng.randrange(1, len(x.segments))
    segment = x.segments.pop(i)
    j = rng.randrange(1, len(x.segments) + 1)
    x.segments.insert(j, segment)
    return f"move {i + 1} to {j + 1}"


def bad_element(x: Interchange, rng: random.Random) -> str:
    i = _pick(x, rng, lambda s: len(s) > 1 and s[0] != "ISA")
    if i is None:
        return "none"
    segment = x.segments[i]
    k = rng.randrange(1, len(segment))
    segment[k] = rng.choice(BAD_VALUES)
    return f"element {segment[0]}{k:02d}"


def bad_date(x: Interchange, rng: random.Random) -> str:
    dated = [(i, k) for i, s in enumerate(x.segments) if i > 0 and s[0] != "ISA"
             for k, v in enumerate(s) if k and len(v) == 8 and v.isdigit() and v.startswith("20")]
    if not dated:
        return "none"
    i, k = rng.choice(dated)
    x.segments[i][k] = rng.choice(("20261301", "20260230", "20260132", "2026011A"))
    return f"date {x.segments[i][0]}{k:02d}"


def bad_count(x: Interchange, rng: random.Random) -> str:
    i = _pick(x, rng, lambda s: s[0] in ("SE", "GE", "IEA"))
    if i is None:
        return "none"
    segment = x.segments[i]
    count = int(segment[1]) if segment[1].isdigit() else 1
    segment[1] = rng.choice((str(count + rng.choice((-1, 1, 7))), "0", "A"))
    return f"count {segment[0]}01"


def wrong_hl_parent(x: Interchange, rng: random.Random) -> str:
    i = _pick(x, rng, lambda s: s[0] == "HL" and len(s) > 3)
    if i is None:
        return "none"
    segment = x.segments[i]
    segment[2] = rng.choice(("", str(rng.randrange(1, 9)), segment[1]))
    return "HL02"


MUTATIONS: tuple[Mutation, ...] = (delete_segment, duplicate_segment, move_segment, bad_element, bad_date,
                                   bad_count, wrong_hl_parent)


def mutate(text: str, seed: int, times: int = 1) -> tuple[str, str]:
    """Apply ``times`` random mutations chosen by ``seed``; returns the new text and what was done."""
    rng = random.Random(seed)
    x = Interchange.parse(text)
    done = [rng.choice(MUTATIONS)(x, rng) for _ in range(times)]
    return x.text(), ", ".join(done)


DEFAULT_CACHE = Path.home() / ".cache" / "bhclaims" / "pyx12-oracle.jsonl"


def mutation_of(seed: int, bases: Sequence[tuple[str, str]]) -> tuple[str, str, str]:
    """Seed ``seed``'s base file name, mutated text and what was done (the base goes round by seed)."""
    name, text = bases[seed % len(bases)]
    mutated, what = mutate(text, seed, times=1 + seed % 2)
    return name, mutated, what


def seeds_from(path: Path) -> list[int]:
    """The first number on each line of ``path`` (a ``--list-disagreements`` file reads back as is)."""
    seeds = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0].isdigit():
            seeds.append(int(words[0]))
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pyx12 vs the engine on mutated built files")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds-from", type=Path, help="judge only the seeds listed (first number a line)")
    parser.add_argument("--pyx12-cache", type=Path, default=DEFAULT_CACHE,
                        help=f"pyx12's verdicts by file sha256 (default {DEFAULT_CACHE})")
    parser.add_argument("--no-pyx12-cache", action="store_true", help="run pyx12 on every file")
    parser.add_argument("--list-disagreements", type=Path, help="write each disagreeing seed and why, a line each")
    parser.add_argument("--cached-only", action="store_true",
                        help="skip the seeds pyx12 has no cached verdict for (judge what a running pass has filled)")
    parser.add_argument("--progress", type=int, default=0, help="print counts to stderr every N mutations")
    args = parser.parse_args(argv)
    seeds = seeds_from(args.seeds_from) if args.seeds_from else list(range(args.seed, args.seed + args.count))
    cache = None if args.no_pyx12_cache else Pyx12Cache(args.pyx12_cache)
    bases = list(built_files().items())
    kinds: Counter[str] = Counter()
    started, cpu_started = time.perf_counter(), time.process_time()
    disagreements: list[str] = []
    for n, seed in enumerate(seeds, 1):
        name, mutated, what = mutation_of(seed, bases)
        if args.cached_only and cache is not None and mutated not in cache:
            kinds["skipped: no cached pyx12 verdict"] += 1
            continue
        outcome = compare_text(mutated, cache)
        kinds[outcome.kind] += 1
        if outcome.kind == DISAGREE:
            disagreements.append(f"{seed} {name} [{what}] {outcome}")
        if args.progress and n % args.progress == 0:
            print(f"{n}/{len(seeds)} {dict(kinds)}", file=sys.stderr, flush=True)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    with open("/proc/loadavg", encoding="ascii") as handle:
        load = handle.read().split()[0]
    print(f"mutations run: {len(seeds)} in {took:.1f} s wall, {cpu:.1f} CPU-s, load {load}")
    if cache is not None:
        print(f"  pyx12 verdicts cached {cache.hits}, run {cache.misses} ({cache.path})")
    for kind, count in kinds.most_common():
        print(f"  {kind}: {count}")
    for line in disagreements[:20]:
        print("  DISAGREE", line)
    if args.list_disagreements:
        args.list_disagreements.write_text("".join(line + "\n" for line in disagreements), encoding="utf-8")
    return 1 if kinds[DISAGREE] else 0


if __name__ == "__main__":
    raise SystemExit(main())
