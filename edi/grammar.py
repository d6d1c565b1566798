"""Transaction-set structure as data: pyx12's XML maps compiled into plain tables.

pyx12 ships one XML map per implementation guide (loops, segments, elements, code
lists, usage, repeats).  ``grammar_for`` loads a map once through pyx12's own loader,
flattens its tree into a ``Grammar`` — nodes numbered in preorder (so the descendants
of a loop are one contiguous range), each segment's elements as ``ElementSpec``
tuples — and keeps the result for the life of the process (and, pickled, on disk,
keyed by the map files' sizes and times, so that a new process does not parse the XML).

Nothing here reads X12 data: ``edi.engine`` walks these tables.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

GRAMMAR_VERSION = "2"
MAXINT = 2**31 - 1

CONTROL_MAP = "x12.control.00501.xml"
CONTROL_MAP_4010 = "x12.control.00401.xml"


class ElementSpec(NamedTuple):
    """One element or component as the map describes it (pyx12's ``element_if``)."""

    refdes: str  # e.g. "CLP01" or "SVC01-2"
    name: str
    seq: int
    usage: str  # R, S, N
    data_ele: str
    data_type: str  # AN, ID, N0.., R, DT, TM, ...
    min_len: int
    max_len: int
    codes: frozenset[str]  # the map's valid codes, empty when none
    external: str | None  # name of an external code list (codes.xml)
    regex: str | None


class CompositeSpec(NamedTuple):
    refdes: str
    name: str
    seq: int
    usage: str
    components: tuple[ElementSpec, ...]


class Node(NamedTuple):
    """A loop or segment of the map, numbered in preorder."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, never called on a Node
    kind: str  # "loop", "segment", "root"
    id: str  # loop id ("2100") or segment id ("CLP")
    name: str
    usage: str
    pos: int
    max_repeat: int
    parent: int  # -1 for the root
    end: int  # one past the last descendant
    # loops: children grouped by position, ascending: ((pos, (child, ...)), ...)
    pos_groups: tuple[tuple[int, tuple[int, ...]], ...]
    # segments: where the qualifier that tells same-id segments apart is read
    key: tuple[int, int | None, frozenset[str]] | None
    elements: tuple[ElementSpec | CompositeSpec, ...]
    syntax: tuple[tuple[Any, ...], ...]  # ("P", 3, 4), ("R", 2, 3) ...
    loop: str  # id of the enclosing loop (segments), the loop itself (loops)
    path: str  # pyx12's path, for messages


@dataclass(slots=True)
class Grammar:
    """One map compiled: ``nodes`` in preorder and the indexes the walker needs."""

    map_file: str
    transaction: str  # "837", "835", "999", "277", "TA1"/control
    nodes: list[Node]
    key_fields: dict[str, tuple[tuple[int, int | None], ...]] = field(default_factory=dict)
    by_path: dict[str, int] = field(default_factory=dict)
    external_codes: dict[str, frozenset[str]] = field(default_factory=dict)

    def node(self, path: str) -> Node:
        return self.nodes[self.by_path[path]]


def _pyx12_map_dir() -> Path:
    return Path(str(files("pyx12").joinpath("map")))


def _fingerprint(map_file: str) -> str:
    """The cache key of a map's grammar: the map files' names, sizes and modification times.

    Not their contents: hashing the 837P map and the code lists cost every process more than
    unpickling the grammar.  Installing another pyx12 writes the files anew (new times)."""
    digest = hashlib.sha256(GRAMMAR_VERSION.encode())
    folder = _pyx12_map_dir()
    for name in (map_file, "dataele.xml", "codes.xml"):
        stat = (folder / name).stat()
        digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:24]


def _cache_dir() -> Path:
    base = os.environ.get("BHCLAIMS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "bhclaims"
    )
    return Path(base)


@cache
def grammar_for(map_file: str) -> Grammar:
    """The compiled grammar of one pyx12 map file (e.g. ``835.5010.X221.A1.xml``)."""
    key = _fingerprint(map_file)
    cached = _cache_dir() / f"grammar-{map_file}-{key}.pickle"
    try:
        with open(cached, "rb") as handle:
            grammar = pickle.load(handle)
        if isinstance(grammar, Grammar) and grammar.map_file == map_file:
            return grammar
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    grammar = compile_map(map_file)
    _store(cached, grammar)
    return grammar


def _store(path: Path, grammar: Grammar) -> None:
    """Best effort: a cache that cannot be written costs a compile per process, nothing else."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".grammar-")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(grammar, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except OSError:
        pass


def compile_map(map_file: str) -> Grammar:
    """Load ``map_file`` with pyx12's loader and flatten it (no cache)."""
    import pyx12.map_if
    import pyx12.params

    root = pyx12.map_if.load_map_file(map_file, pyx12.params.params())
    nodes: list[Node] = []
    grammar = Grammar(map_file=map_file, transaction=root.id or "", nodes=nodes)
    grammar.external_codes = {
        name: frozenset(c for c in codeset["codes"] if c is not None)
        for name, codeset in root.ext_codes.codes.items()
        if name is not None
    }
    data_elements = root.data_elements
    # Equal specs, code lists and element tuples are one object each: a map repeats them in every loop
    # that uses a segment (the 837P's 3,104 element specs are 933 distinct ones), so the pickle is a
    # third as long and a process unpickles it in a third of the time.
    seen: dict[Any, Any] = {}

    def one(value: Any) -> Any:
        return seen.setdefault(value, value)

    def element(el: Any) -> ElementSpec:
        definition = data_elements.get_by_elem_num(el.data_ele) if el.data_ele else None
        data_type = definition["data_type"] if definition else ""
        return one(ElementSpec(
            refdes=el.refdes or "",
            name=el.name or "",
            seq=el.seq,
            usage=el.usage or "S",
            data_ele=el.data_ele or "",
            data_type=data_type or "",
            min_len=int(definition["min_len"]) if definition else 0,
            max_len=int(definition["max_len"]) if definition else MAXINT,
            codes=one(frozenset(c for c in el.valid_codes if c is not None)),
            external=el.external_codes,
            regex=el.res or None,
        ))

    def add(n: Any, parent: int, enclosing: str) -> int:
        index = len(nodes)
        nodes.append(None)  # type: ignore[arg-type]  # placeholder, filled below
        if n.is_map_root() or n.is_loop():
            kind = "root" if n.is_map_root() else "loop"
            loop_id = n.id or ""
            groups = []
            for pos in sorted(n.pos_map):
                children = tuple(add(child, index, loop_id) for child in n.pos_map[pos])
                groups.append((pos, children))
            nodes[index] = Node(
                index, kind, n.id or "", n.name or "", n.usage or "R", getattr(n, "pos", 0) or 0,
                n.get_max_repeat() if kind == "loop" else 1, parent, len(nodes), tuple(groups), None, (), (),
                loop_id, n.get_path() if kind == "loop" else "/",
            )
        else:
            specs: list[ElementSpec | CompositeSpec] = []
            for child in n.children:
                if child.is_composite():
                    specs.append(one(CompositeSpec(child.refdes or "", child.name or "", child.seq, child.usage or "S",
                                                   one(tuple(element(c) for c in child.children)))))
                else:
                    specs.append(element(child))
            resolved = n._resolve_unique_key_field(n.id, with_qual=False)
            key = None
            if resolved is not None:
                key_el, ele_idx, sub_idx = resolved
                key = (ele_idx, sub_idx, frozenset(c for c in key_el.valid_codes if c is not None))
            nodes[index] = Node(
                index, "segment", n.id or "", n.name or "", n.usage or "S", n.pos, n.get_max_repeat(), parent,
                index + 1, (), key, one(tuple(specs)), one(tuple(tuple(s) for s in n.syntax)), enclosing, n.get_path(),
            )
            grammar.by_path.setdefault(n.get_path(), index)
        if nodes[index].kind == "loop":
            grammar.by_path.setdefault(n.get_path(), index)
        return index

    add(root, -1, "")
    fields: dict[str, set[tuple[int, int | None]]] = {}
    for node in nodes:
        if node.kind == "segment":
            spot = fields.setdefault(node.id, set())
            if node.key is not None:
                spot.add((node.key[0], node.key[1]))
    grammar.key_fields = {sid: tuple(sorted(spots, key=lambda s: (s[0], s[1] or 0))) for sid, spots in fields.items()}
    return grammar


# --- which map reads which functional group (pyx12's maps.xml) ---------------------------------



@cache
def _map_index() -> dict[tuple[str, str, str], str]:
    """(ISA12, GS01, GS08) -> map file, from pyx12's maps.xml."""
    import defusedxml.ElementTree as et

    index: dict[tuple[str, str, str], str] = {}
    tree = et.parse(str(_pyx12_map_dir() / "maps.xml"))
    for version in tree.getroot().iter("version"):
        icvn = version.get("icvn") or ""
        for entry in version.iter("map"):
            if entry.get("tspc"):
                continue
            index.setdefault((icvn, entry.get("fic") or "", entry.get("vriic") or ""), entry.text or "")
    return index


def map_file_for(icvn: str, functional_id: str, version: str) -> str | None:
    """The pyx12 map for a functional group, or ``None`` when pyx12 maps none."""
    return _map_index().get((icvn, functional_id, version))


def control_map_for(icvn: str) -> str:
    return CONTROL_MAP if icvn == "00501" else CONTROL_MAP_4010
