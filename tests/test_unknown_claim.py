"""An unknown claim id: exit 2 and the same words from every command, with the closest id the
ledger holds (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.db import Ledger
from ledger.lookup import UnknownClaim, closest_claim_id, require_claim_id
from tests.ledger_helpers import ingest_one
from tests.test_pipeline import DEMO_EXPORT, _cli


@pytest.fixture
def ledger(ledger_url: str) -> Ledger:
    ledger = Ledger(ledger_url)
    yield ledger
    ledger.dispose()


def test_closest_id_by_prefix_and_case(ledger: Ledger) -> None:
    for claim_id in ("HL-260903", "HL-260904", "HL-999999", "ZZ_1%"):
        ingest_one(ledger, claim_id)
    with ledger.read_session() as session:
        assert require_claim_id(session, "HL-260903") == "HL-260903"
        assert closest_claim_id(session, "HL-26090") in ("HL-260903", "HL-260904")
        assert closest_claim_id(session, "hl-260903") == "HL-260903"  # another case: the same id
        assert closest_claim_id(session, "HL-269903") == "HL-260903"
        assert closest_claim_id(session, "zz_1%") == "ZZ_1%"  # LIKE wildcards in an id are text
        assert closest_claim_id(session, "QQQQQQQQQQQQQQ") is None
        with pytest.raises(UnknownClaim) as raised:
            require_claim_id(session, "hl-999999")
    assert str(raised.value) == "no claim hl-999999 in the ledger; did you mean HL-999999?"


def test_nothing_close_says_only_that_it_is_missing(ledger: Ledger) -> None:
    ingest_one(ledger, "ENC-1")
    with ledger.read_session() as session, pytest.raises(UnknownClaim) as raised:
        require_claim_id(session, "QQQQQQQQQQQQQQ")
    assert str(raised.value) == "no claim QQQQQQQQQQQQQQ in the ledger"


def test_every_command_exits_2_with_the_same_words(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    assert _cli(["init", str(folder)], cwd=tmp_path).returncode == 0
    assert _cli(["ingest", str(DEMO_EXPORT)], cwd=folder).returncode in (0, 1)
    said = {}
    for args in (["claim", "HL-26090"], ["claim", "HL-26090", "--json"], ["correct", "HL-26090"],
                 ["void", "HL-26090"], ["check", "--claim", "HL-26090"]):
        result = _cli(args, cwd=folder)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("bhclaims: ")]
        assert len(lines) == 1, (args, result.stderr)
        said[" ".join(args)] = lines[0]
    assert len(set(said.values())) == 1, said
    assert said["claim HL-26090"].startswith("bhclaims: no claim HL-26090 in the ledger; did you mean HL-26090")


def test_correct_names_the_unknown_id_before_reading_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    assert _cli(["init", str(folder)], cwd=tmp_path).returncode == 0
    result = _cli(["correct", "NOPE-1", "--from", str(DEMO_EXPORT)], cwd=folder)
    assert result.returncode == 2
    assert "bhclaims: no claim NOPE-1 in the ledger" in result.stderr
