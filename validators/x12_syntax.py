"""WEDI SNIP levels 1-2: X12 syntax and implementation-guide checks.

``check_x12`` is the product's validator: the one engine (``edi.engine``) walking the
file against pyx12's maps, fast enough to check every outgoing file.  ``validate_x12``
runs pyx12 itself, kept as the oracle and as ``build --pyx12``'s second opinion: pyx12
reports through an error-handler tree; we ask it for its JSON rendering and flatten that
into ``SyntaxFinding`` records that name the segment and line.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyx12.params
import pyx12.x12n_document

from edi.engine import Finding, run
from edi.tokenizer import SegmentSource
from edi.x12 import X12ParseError

UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class SyntaxFinding:
    """One pyx12 error: where (line, segment, element) and what."""

    line: int | None
    segment: str | None
    element: str | None
    code: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "envelope"
        if self.segment:
            where += f" {self.segment}"
        if self.element:
            where += f" ({self.element})"
        return f"{where}: {self.message}"


def check_x12(data: str | Path, *, notes: list[str] | None = None) -> list[Finding]:
    """Every SNIP 1-2 finding of the engine; an empty list means clean.

    Input the engine cannot read at all is one ``unreadable`` finding (at the segment where
    reading stopped, 0 before the ISA) rather than an exception, so a caller holds the file.
    What the tokenizer forgave (a byte-order mark, padding) is appended to ``notes``.
    """
    try:
        source = SegmentSource(data)
    except X12ParseError as exc:
        return [Finding(0, "", None, UNREADABLE, _reason(exc))]
    try:
        return run(source, check=True)
    except X12ParseError as exc:
        return [Finding(exc.segment_index or 0, "", None, UNREADABLE, _reason(exc))]
    finally:
        source.close()
        if notes is not None:
            notes.extend(source.notes)


def check_x12_and_pyx12(text: str) -> list[Finding | SyntaxFinding]:
    """The engine's findings, then pyx12's: ``build --pyx12`` releases a file only if both are clean."""
    return [*check_x12(text), *validate_x12(text)]


def _reason(exc: X12ParseError) -> str:
    """The error's words without the file name the caller already knows."""
    text = str(exc)
    if exc.source and text.startswith(exc.source):
        text = text[len(exc.source):].lstrip(": ")
    return text


def validate_x12(text: str) -> list[SyntaxFinding]:
    """Validate an interchange against pyx12's maps; an empty list means clean."""
    # pyx12 reads a path or a file object; a temp file keeps its line counting honest.
    fd, path = tempfile.mkstemp(suffix=".x12")
    try:
        with os.fdopen(fd, "w", encoding="ascii", errors="replace") as handle:
            handle.write(text)
        return validate_x12_file(path)
    finally:
        os.unlink(path)


def validate_x12_file(path: str) -> list[SyntaxFinding]:
    params = pyx12.params.params()
    report = io.StringIO()
    pyx12_logger = logging.getLogger("pyx12")
    previous_level, previous_propagate = pyx12_logger.level, pyx12_logger.propagate
    # pyx12 logs every finding at ERROR with the offending values: keep them out of our logs (PHI).
    pyx12_logger.setLevel(logging.CRITICAL + 1)
    pyx12_logger.propagate = False
    try:
        ok = pyx12.x12n_document.x12n_document(params, path, None, None, None, report)
    except Exception as exc:  # pyx12 raises EngineError and others on unreadable input
        return [SyntaxFinding(None, None, None, "engine", f"pyx12 could not read the file: {type(exc).__name__}")]
    finally:
        pyx12_logger.setLevel(previous_level)
        pyx12_logger.propagate = previous_propagate
    findings = _flatten(json.loads(report.getvalue() or "{}"))
    if not ok and not findings:
        findings.append(SyntaxFinding(None, None, None, "invalid", "pyx12 rejected the file"))
    return findings


def _errors(node: dict[str, Any], line: int | None, segment: str | None, element: str | None) -> list[SyntaxFinding]:
    return [
        SyntaxFinding(line, segment, element, str(err.get("err_cde", "")), str(err.get("err_str", "")))
        for err in node.get("errors", [])
    ]


def _flatten(report: dict[str, Any]) -> list[SyntaxFinding]:
    findings: list[SyntaxFinding] = []
    for isa in report.get("interchanges", []):
        findings += _errors(isa, isa.get("cur_line"), "ISA", None)
        for gs in isa.get("groups", []):
            findings += _errors(gs, gs.get("cur_line"), "GS", None)
            for st in gs.get("transactions", []):
                findings += _errors(st, st.get("cur_line"), "ST", None)
                for seg in st.get("segments", []):
                    seg_id = seg.get("seg_id")
                    findings += _errors(seg, seg.get("cur_line"), seg_id, None)
                    for ele in seg.get("elements", []):
                        ref = f"{seg_id}{int(ele['ele_pos']):02d}" if ele.get("ele_pos") else None
                        findings += _errors(ele, seg.get("cur_line"), seg_id, ref)
    return findings
