"""The XML form of the PM export (``pm-export.xsd``): claims containing lines.

The document is parsed by a hardened lxml parser — no DTD loading, no entity
resolution, no network — and refused outright if it declares a DOCTYPE, so an
external entity (XXE) can never pull a local file or a URL into a claim.  It is
then validated against the XSD; a document that fails the schema is refused as a
whole, every schema error reported with its line (a structural error means the
exporting program is broken, not that one claim is).  The claims are flattened
into canonical rows, one per ``<line>``, and checked by the same code as CSV
cells, so both forms yield equal ``Claim`` records and equally PHI-free errors.

Messages quote element names only when they are the schema's (``pm-export.xsd``) or
shaped like one (``subscriber_lastname``, lower-case words joined by ``_``): libxml2
quotes whatever sits in the document, so any other quoted name is shown as ``'…'``,
and a document that is not well-formed is described by libxml2's error kind
(``ERR_TAG_NAME_MISMATCH``) and line, never by its text.

Unlike the CSV reader this one holds the document in memory; XML exports are the
smaller, per-day kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path

from lxml import etree

from domain.claim import Claim
from parsers.assemble import CanonicalRow, ClaimAssembler
from parsers.columns import canonical_cells
from parsers.errors import RowError

XSD_PATH = Path(__file__).with_name("pm-export.xsd")


def hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


@cache
def export_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH), hardened_parser()))


@cache
def schema_names() -> frozenset[str]:
    """The element and attribute names ``pm-export.xsd`` declares: the only names a message quotes."""
    tree = etree.parse(str(XSD_PATH), hardened_parser())
    return frozenset(str(node.get("name")) for node in tree.iter() if node.get("name"))


_QUOTED = re.compile(r"'([^']*)'")
_SCHEMA_SHAPED = re.compile(r"[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+")  # element-only, subscriber_lastname


def schema_message(message: str) -> str:
    """A schema error with every quoted name that is neither the XSD's nor shaped like one shown as '…'."""
    names = schema_names()
    return _QUOTED.sub(lambda m: m[0] if m[1] in names or _SCHEMA_SHAPED.fullmatch(m[1]) else "'…'", message)


def syntax_message(error: etree.XMLSyntaxError) -> str:
    """What is wrong with a document that is not XML, by libxml2's error kind (its text may quote data)."""
    entries = list(error.error_log) if error.error_log else []
    kind = entries[-1].type_name if entries else "ERR_UNKNOWN"
    truncated = "truncated or " if kind in ("ERR_TAG_NOT_FINISHED", "ERR_DOCUMENT_END") else ""
    return f"the XML is {truncated}not well-formed (libxml2 {kind})"


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _rows(root: etree._Element) -> Iterator[CanonicalRow]:
    for claim in root.iterchildren("claim"):
        claim_cells: dict[str, str] = {}
        lines: list[etree._Element] = []
        diagnoses = 0
        for child in claim.iterchildren(tag=etree.Element):
            if child.tag == "diagnosis":
                diagnoses += 1
                claim_cells[f"diagnosis_{diagnoses}"] = _text(child)
            elif child.tag == "line":
                lines.append(child)
            else:
                claim_cells[child.tag] = _text(child)
        for line in lines:
            cells = dict(claim_cells)
            modifiers = 0
            for child in line.iterchildren(tag=etree.Element):
                if child.tag == "modifier":
                    modifiers += 1
                    cells[f"modifier_{modifiers}"] = _text(child)
                else:
                    cells[child.tag] = _text(child)
            yield CanonicalRow(line.sourceline or 0, canonical_cells(cells), cells.get("claim_id") or None)


class XmlExportReader:
    """Iterate ``Claim`` and ``RowError`` items of one XML export; counts ``rows_read``."""

    def __init__(self, path: Path, *, today: date) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.today = today
        self.rows_read = 0

    def _error(self, line: int | None, reason: str) -> RowError:
        return RowError(self.file, line, None, reason)

    def __iter__(self) -> Iterator[Claim | RowError]:
        data = self.path.read_bytes()
        parser = hardened_parser()
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as error:
            yield self._error(error.lineno or None, syntax_message(error))
            return
        tree = root.getroottree()
        if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
            yield self._error(1, "the XML declares a DOCTYPE; DTDs and entities are refused")
            return
        schema = export_schema()
        if not schema.validate(tree):
            for entry in schema.error_log:
                yield self._error(entry.line, f"does not match pm-export.xsd: {schema_message(entry.message)}")
            return
        rows = list(_rows(root))
        last = {row.claim_key: ordinal for ordinal, row in enumerate(rows) if row.claim_key}
        assembler = ClaimAssembler(self.file, self.today)
        for ordinal, row in enumerate(rows):
            self.rows_read += 1
            yield from assembler.add(row, last_of_claim=last.get(row.claim_key or "") == ordinal)
        yield from assembler.finish()
