"""Shared fixtures.  Server fixtures live in their own plugin modules."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
CORPUS = (REPO.parent / "shared" / "corpus" / "x12").resolve()


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not present beside the repo")
    return CORPUS
