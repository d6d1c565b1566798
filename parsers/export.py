"""Entry point: read a PM export (CSV or XML, told apart by content) into claims.

``iter_export`` streams ``Claim`` and ``RowError`` items as they are decided;
``parse_export`` collects them into a ``ParseResult``.  A refused row refuses its
whole claim (its id lands in ``refused_claim_ids``); every other claim of the
file is kept.  Errors that cannot be tied to a claim (a bad header, a row with
no claim id) carry ``claim_id=None``; callers that want "all or nothing" per file
should treat any such error as refusing the file.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from domain.claim import Claim
from parsers.csv_export import CsvExportReader
from parsers.errors import RowError
from parsers.profiles import load_profile
from parsers.xml_export import XmlExportReader


@dataclass(frozen=True, slots=True)
class ParseResult:
    claims: tuple[Claim, ...]
    errors: tuple[RowError, ...]
    refused_claim_ids: tuple[str, ...]
    rows_read: int


def sniff_format(path: Path) -> str:
    """ "xml" when the first non-blank character (after any BOM) is ``<``, else "csv"."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    head = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return "xml" if head.startswith(b"<") else "csv"


def export_reader(path: Path, *, today: date, profile: Path | None = None) -> CsvExportReader | XmlExportReader:
    """The reader for ``path``, CSV or XML by content; its ``rows_read`` counts as it goes."""
    path = Path(path)
    if sniff_format(path) == "xml":
        if profile is not None:
            raise ValueError("mapping profiles apply to CSV exports only")
        return XmlExportReader(path, today=today)
    return CsvExportReader(path, today=today, profile=load_profile(profile) if profile else None)


def iter_export(path: Path, *, today: date, profile: Path | None = None) -> Iterator[Claim | RowError]:
    """Stream the claims and row errors of one export, in file order of completion."""
    return iter(export_reader(path, today=today, profile=profile))


def parse_export(path: Path, *, today: date, profile: Path | None = None) -> ParseResult:
    reader = export_reader(path, today=today, profile=profile)
    claims: list[Claim] = []
    errors: list[RowError] = []
    refused: dict[str, None] = {}
    for item in reader:
        if isinstance(item, RowError):
            errors.append(item)
            if item.claim_id:
                refused[item.claim_id] = None
        else:
            claims.append(item)
    return ParseResult(tuple(claims), tuple(errors), tuple(refused), reader.rows_read)
