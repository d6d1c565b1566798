"""Inputs that once escaped as exceptions instead of row errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from parsers.export import parse_export


def test_broken_quoting_in_the_header_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('claim_id,"frequency\nHL-1,1\n', encoding="utf-8")
    result = parse_export(path, today=date(2026, 11, 23))
    assert result.claims == ()
    [error] = result.errors
    assert error.line == 1 and "quoting is broken" in error.reason
    assert str(error).startswith(f"{path}:1:")
