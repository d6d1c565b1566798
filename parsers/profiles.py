"""Mapping profiles: read a PM system's own CSV layout as the canonical export.

A profile is a TOML file::

    [profile]
    name = "Example PM"
    delimiter = ","                 # "\\t" for tab-separated exports
    date_format = "MM/DD/YYYY"      # tokens YYYY, MM, M, DD, D; applied to date columns

    [columns]                       # export column -> canonical column
    "Client ID" = "subscriber_id"

    [split_names]                   # a "Last, First" column -> [last column, first column]
    "Client Name" = ["subscriber_last", "subscriber_first"]

    [values.line_of_business]       # canonical column -> {export value -> canonical value}
    "Medicaid" = "medicaid"

    [defaults]                      # canonical column -> value when the export has none
    payer_id = "87726"

    [ignore]
    columns = ["Notes"]             # export columns deliberately dropped

A column whose header already is a canonical name needs no entry.  Errors name the
export's own column, so the clerk can find the cell.  Values that a profile cannot
convert are refused, never guessed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from parsers.columns import ALL_COLUMNS, DATE_COLUMNS, REQUIRED_COLUMNS
from parsers.layout import header_shape_problem

_TOKENS = {
    "YYYY": r"(?P<y>\d{4})",
    "MM": r"(?P<m>\d{2})",
    "M": r"(?P<m>\d{1,2})",
    "DD": r"(?P<d>\d{2})",
    "D": r"(?P<d>\d{1,2})",
}
_TOKEN_RE = re.compile("|".join(sorted(_TOKENS, key=len, reverse=True)))


class ProfileError(ValueError):
    """The profile file itself is wrong (a bug in configuration, not bad data)."""


def date_pattern(date_format: str) -> re.Pattern[str]:
    """Compile ``MM/DD/YYYY``-style notation into a regex with y, m, d groups."""
    parts: list[str] = []
    position = 0
    for match in _TOKEN_RE.finditer(date_format):
        parts.append(re.escape(date_format[position : match.start()]))
        parts.append(_TOKENS[match[0]])
        position = match.end()
    parts.append(re.escape(date_format[position:]))
    pattern = "".join(parts)
    if not all(f"(?P<{g}>" in pattern for g in "ymd"):
        raise ProfileError(f"date_format {date_format!r} needs a year, a month and a day")
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    delimiter: str = ","
    date_format: str | None = None
    rename: Mapping[str, str] = field(default_factory=dict)
    split_names: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()


def load_profile(path: Path) -> Profile:
    """Read and check a profile; anything wrong with the file is a ``ProfileError`` naming it."""
    try:
        with open(path, "rb") as fh:
            document = tomllib.load(fh)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise ProfileError(f"{path}: cannot read the profile: {error.strerror}") from None
    meta = _table(path, document, "profile")
    rename = _strings(path, _table(path, document, "columns"), "[columns]")
    split: dict[str, tuple[str, str]] = {}
    for source, targets in _table(path, document, "split_names").items():
        if not isinstance(targets, list) or len(targets) != 2 or not all(isinstance(t, str) for t in targets):
            raise ProfileError(f"{path}: split_names maps a column onto [last, first]")
        split[source] = (targets[0], targets[1])
    values = {
        column: _strings(path, _table(path, _table(path, document, "values"), column, f"values.{column}"),
                         f"[values.{column}]")
        for column in _table(path, document, "values")
    }
    defaults = {column: str(value) for column, value in _table(path, document, "defaults").items()}
    targets = [*rename.values(), *(t for pair in split.values() for t in pair), *values, *defaults]
    unknown = sorted(set(targets) - set(ALL_COLUMNS))
    if unknown:
        raise ProfileError(f"{path}: not canonical columns: {', '.join(unknown)}")
    delimiter = meta.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ProfileError(f"{path}: delimiter must be one character")
    name, date_format = meta.get("name", path.stem), meta.get("date_format")
    if not isinstance(name, str) or not (date_format is None or isinstance(date_format, str)):
        raise ProfileError(f"{path}: [profile] name and date_format are text")
    ignored = _table(path, document, "ignore").get("columns", ())
    if not isinstance(ignored, list | tuple) or not all(isinstance(column, str) for column in ignored):
        raise ProfileError(f"{path}: [ignore] columns is a list of column names")
    profile = Profile(
        name=name,
        delimiter=delimiter,
        date_format=date_format,
        rename=rename,
        split_names=split,
        values=values,
        defaults=defaults,
        ignore=frozenset(ignored),
    )
    if profile.date_format:
        try:
            date_pattern(profile.date_format)
        except ProfileError as error:
            raise ProfileError(f"{path}: {error}") from None
    return profile


def _table(path: Path, document: Mapping[str, object], key: str, label: str | None = None) -> dict[str, object]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ProfileError(f"{path}: {label or key} must be a table ([{label or key}])")
    return value


def _strings(path: Path, table: Mapping[str, object], where: str) -> dict[str, str]:
    if not all(isinstance(value, str) for value in table.values()):
        raise ProfileError(f"{path}: every value in {where} must be text in quotes")
    return {key: str(value) for key, value in table.items()}


class RowMapper:
    """Turns a row of export cells into canonical column → text, per the header.

    Built once per file from the header; ``header_problems`` lists what makes the
    header unusable (unknown, duplicate or missing columns), or says the first line is
    no header at all (``parsers.layout.header_shape_problem``) — then without naming
    any of its cells, which would be a patient's data.
    """

    def __init__(self, header: Sequence[str], profile: Profile | None = None) -> None:
        self.profile = profile
        self.width = len(header)
        self.labels: dict[str, str] = {}
        self.header_problems: list[tuple[str | None, str]] = []
        self._plain: list[tuple[int, str]] = []
        self._split: list[tuple[int, str, str]] = []
        rename = profile.rename if profile else {}
        split = profile.split_names if profile else {}
        ignore = profile.ignore if profile else frozenset()
        seen: dict[str, str] = {}
        known = 0
        for index, raw_name in enumerate(header):
            name = raw_name.strip()
            if name in ignore:
                known += 1
                continue
            if name in split:
                targets: tuple[str, ...] = split[name]
            elif name in rename:
                targets = (rename[name],)
            elif name in ALL_COLUMNS:
                targets = (name,)
            else:
                where = "the canonical columns or the profile" if profile else "the canonical columns"
                self.header_problems.append(
                    (name or f"column {index + 1}", f"unknown column (column {index + 1}); not one of {where}")
                )
                continue
            known += 1
            for target in targets:
                if target in seen:
                    self.header_problems.append((name, f"duplicate: {seen[target]!r} already gives {target}"))
                seen[target] = name
                self.labels[target] = name
            if len(targets) == 2:
                self._split.append((index, targets[0], targets[1]))
            else:
                self._plain.append((index, targets[0]))
        defaults = profile.defaults if profile else {}
        for column in sorted(REQUIRED_COLUMNS - set(seen) - set(defaults)):
            self.header_problems.append((column, "required column is missing from the header"))
        shape = header_shape_problem(
            [name.strip() for name in header], delimiter=profile.delimiter if profile else ",", known=known
        )
        if shape is not None:
            self.header_problems = [(None, shape)]
        self.claim_id_index = next((i for i, col in self._plain if col == "claim_id"), None)
        self._identity = profile is None and not self._split
        self._names = [col for _, col in self._plain]
        self._indexes = [i for i, _ in self._plain]
        self._date_re = date_pattern(profile.date_format) if profile and profile.date_format else None

    def positions(self) -> dict[str, int]:
        """Canonical column -> its 1-based position in the file (both halves of a split column)."""
        found = {column: index + 1 for index, column in self._plain}
        for index, last, first in self._split:
            found[last] = found[first] = index + 1
        return found

    def claim_key(self, record: Sequence[str]) -> str | None:
        if self.claim_id_index is None or self.claim_id_index >= len(record):
            return None
        return record[self.claim_id_index].strip() or None

    def map(self, record: Sequence[str]) -> tuple[dict[str, str], list[tuple[str | None, str]]]:
        """Canonical cells (stripped) and the problems met converting them."""
        if self._identity and len(self._indexes) == len(record):
            return dict(zip(self._names, map(str.strip, record), strict=True)), []
        cells = {name: record[index].strip() for index, name in self._plain}
        problems: list[tuple[str | None, str]] = []
        for index, last_column, first_column in self._split:
            value = record[index].strip()
            if not value:
                continue
            last, comma, first = value.partition(",")
            if not comma or not last.strip() or not first.strip():
                problems.append((last_column, "expected a 'Last, First' name with a comma"))
                problems.append((first_column, "expected a 'Last, First' name with a comma"))
                continue
            cells[last_column], cells[first_column] = last.strip(), first.strip()
        profile = self.profile
        if profile is None:
            return cells, problems
        for column, mapping in profile.values.items():
            code = cells.get(column)
            if code and code in mapping:
                cells[column] = mapping[code]
        if self._date_re is not None:
            for column in DATE_COLUMNS:
                written = cells.get(column)
                if not written:
                    continue
                match = self._date_re.fullmatch(written)
                if match is None:
                    problems.append((column, f"not a date in {profile.date_format} form"))
                    continue
                cells[column] = f"{match['y']}-{int(match['m']):02d}-{int(match['d']):02d}"
        for column, value in profile.defaults.items():
            if not cells.get(column):
                cells[column] = value
        return cells, problems
