"""The XML form of the PM export (``pm-export.xsd``): claims containing lines.

The document is parsed by a hardened lxml parser — no DTD loading, no entity
resolution, no network — and refused outright if it declares a DOCTYPE, so an
external entity (XXE) can never pull a local file or a URL into a claim.  It is
then validated against the XSD; a document that fails the schema is refused as a
whole, every schema error reported with its line (a structural error means the
exporting program is broken, not that one claim is).  The claims are flattened
into canonical rows, one per ``<line>``, and checked by the same code as CSV
cells, so both forms yield equal ``Claim`` records and equally PHI-free errors.

Unlike the CSV reader this one holds the document in memory; XML exports are the
smaller, per-day kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path

from lxml import etree

from domain.claim import Claim
from parsers.assemble import CanonicalRow, ClaimAssembler
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
            yield CanonicalRow(line.sourceline or 0, cells, cells.get("claim_id") or None)


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
            truncated = (
                "truncated or "
                if "end of data" in str(error).lower() or "premature" in str(error).lower()
                else ""
            )
            line = error.lineno if error.lineno else None
            yield self._error(line, f"the XML is {truncated}not well-formed: {error.msg}")
            return
        tree = root.getroottree()
        if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
            yield self._error(1, "the XML declares a DOCTYPE; DTDs and entities are refused")
            return
        schema = export_schema()
        if not schema.validate(tree):
            for entry in schema.error_log:
                yield self._error(entry.line, f"does not match pm-export.xsd: {entry.message}")
            return
        rows = list(_rows(root))
        last = {row.claim_key: ordinal for ordinal, row in enumerate(rows) if row.claim_key}
        assembler = ClaimAssembler(self.file, self.today)
        for ordinal, row in enumerate(rows):
            self.rows_read += 1
            yield from assembler.add(row, last_of_claim=last.get(row.claim_key or "") == ordinal)
        yield from assembler.finish()
