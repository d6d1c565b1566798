"""PM exports (CSV, XML) into immutable ``Claim`` records.  Pure: no DB code."""

from parsers.errors import RowError
from parsers.export import ParseResult, iter_export, parse_export

__all__ = ["ParseResult", "RowError", "iter_export", "parse_export"]
