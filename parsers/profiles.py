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
from operator import itemgetter
from pathlib import Path

from parsers.columns import ALL_COLUMNS, DATE_COLUMNS, POSITION, REQUIRED_COLUMNS
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
    """Turns a row of export cells into a canonical row (each canonical column's text, in
    ``ALL_COLUMNS`` order), per the header.

    Built once per file from the header, which it compiles into the position of each
    canonical column's cell in a record (no per-row lookup by name); ``header_problems`` lists what makes the
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
        # Compiled once per file: where each canonical cell sits in a record.  A column
        # the file lacks reads the blank appended past the record's last cell.
        sources = [self.width] * len(ALL_COLUMNS)
        for index, column in self._plain:
            sources[POSITION[column]] = index
        self._identity = profile is None and [name.strip() for name in header] == list(ALL_COLUMNS)
        self._pick = itemgetter(*sources)
        self._split_at = [(index, last, first, POSITION[last], POSITION[first]) for index, last, first in self._split]
        self._values_at = sorted((POSITION[column], mapping) for column, mapping in (profile.values if profile else {}).items())
        self._dates_at = sorted((POSITION[column], column) for column in DATE_COLUMNS)
        self._defaults_at = sorted((POSITION[column], value) for column, value in (profile.defaults if profile else {}).items())
        self._date_re = date_pattern(profile.date_format) if profile and profile.date_format else None
        # The file's own columns, in the order they come in it (how problems about them are listed).
        self.file_order: tuple[int, ...] = (
            *(POSITION[column] for _, column in self._plain),
            *(at for _, _, _, last_at, first_at in self._split_at for at in (last_at, first_at)),
        )

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

    def map(self, record: list[str], padded: bool = True) -> tuple[list[str], list[tuple[str | None, str]]]:
        """The canonical row (cells stripped, in ``ALL_COLUMNS`` order) and the problems met
        converting it.  ``record`` has ``width`` cells (the caller refuses any other row) and
        is the caller's to give away; ``padded`` False says no cell of it needs stripping."""
        if self._identity:
            return (list(map(str.strip, record)) if padded else record), []
        picked = self._pick((*record, ""))
        cells = list(map(str.strip, picked)) if padded else list(picked)
        problems: list[tuple[str | None, str]] = []
        for index, last_column, first_column, last_at, first_at in self._split_at:
            value = record[index].strip()
            if not value:
                continue
            last, comma, first = value.partition(",")
            if not comma or not last.strip() or not first.strip():
                problems.append((last_column, "expected a 'Last, First' name with a comma"))
                problems.append((first_column, "expected a 'Last, First' name with a comma"))
                continue
            cells[last_at], cells[first_at] = last.strip(), first.strip()
        profile = self.profile
        if profile is None:
            return cells, problems
        for at, mapping in self._values_at:
            code = cells[at]
            if code and code in mapping:
                cells[at] = mapping[code]
        if self._date_re is not None:
            for at, column in self._dates_at:
                written = cells[at]
                if not written:
                    continue
                match = self._date_re.fullmatch(written)
                if match is None:
                    problems.append((column, f"not a date in {profile.date_format} form"))
                    continue
                cells[at] = f"{match['y']}-{int(match['m']):02d}-{int(match['d']):02d}"
        for at, value in self._defaults_at:
            if not cells[at]:
                cells[at] = value
        return cells, problems
