"""`bhclaims validate`: findings by segment number (ISA = 1), segment, element and code; never a value."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import structlog

import cli
from edi.x837p import ControlNumbers, build_837p
from tests.claim_factory import make_claim
from tests.regen_golden import RECEIVER, SETTINGS, SUBMITTER

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "x12"
AMBIGUOUS = CORPUS / "imsweb-x12-parser" / "837_5010" / "x12_ambiguous_loop.txt"
NO_ISA = CORPUS / "imsweb-x12-parser" / "837_5010" / "x12_no_isa_line.txt"


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """``cli.main`` points the log at this test's captured stderr; later tests must not write to it closed."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        cli.main(["--log-format", "json", "validate", *args])
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


def built_837(**changes: object) -> str:
    return build_837p([make_claim("V1", **changes)], submitter=SUBMITTER, receiver=RECEIVER,
                      control=ControlNumbers(11, 11), settings=SETTINGS)


def test_built_file_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "clean.837"
    path.write_text(built_837())
    code, out, _ = run_cli(capsys, str(path))
    assert code == 0 and out.strip() == f"{path}: clean"


def test_corpus_file_findings_name_segment_number_id_and_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--json", str(AMBIGUOUS))
    assert code == 1
    [result] = json.loads(out)
    found = {(f["segment_number"], f["segment_id"], f["code"]) for f in result["findings"]}
    # segment 28 is an HI ending in '*'; segment 35 is an SE whose count is wrong (pyx12 flags both)
    assert found == {(28, "HI", "SEG1"), (35, "SE", "4")}


def test_element_finding_names_the_element_not_the_member_name(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    name = "QUIXOTEVANDERBILT" * 4  # 68 characters: NM103 allows 60 (the builder would refuse it)
    claim = make_claim()
    text = built_837(subscriber=replace(claim.subscriber, last="QUIXOTE"))
    assert text.count("NM1*IL*1*QUIXOTE*") == 1
    text = text.replace("NM1*IL*1*QUIXOTE*", f"NM1*IL*1*{name}*")
    path = tmp_path / "long-name.837"
    path.write_text(text)
    code, out, err = run_cli(capsys, str(path))
    assert code == 1
    assert " NM1 (NM103): " in out
    assert "QUIXOTE" not in out + err
    code, out, err = run_cli(capsys, "--json", str(path))
    assert code == 1 and "QUIXOTE" not in out + err
    [result] = json.loads(out)
    assert [f["element"] for f in result["findings"] if f["segment_id"] == "NM1"] == ["NM103"]


def test_missing_or_non_x12_file_exits_2_and_the_rest_is_still_checked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean.837"
    clean.write_text(built_837())
    code, out, err = run_cli(capsys, str(tmp_path / "absent.837"), str(clean))
    assert code == 2 and "absent.837' does not exist" in err and out == ""  # said by click, before any work
    code, out, err = run_cli(capsys, str(tmp_path), str(clean))
    assert code == 2 and "is a directory" in err and out == ""
    unreadable = tmp_path / "unreadable.837"
    unreadable.write_text(built_837())
    unreadable.chmod(0)
    if os.geteuid() != 0:  # root reads a file whatever its mode
        code, out, err = run_cli(capsys, str(unreadable), str(clean))
        assert code == 2 and "unreadable.837: cannot be read" in err and f"{clean}: clean" in out
    code, out, _ = run_cli(capsys, "--json", str(NO_ISA))
    assert code == 2
    [result] = json.loads(out)
    assert result["readable"] is False and result["findings"][0]["code"] == "unreadable"
    assert "no ISA" in result["findings"][0]["message"]


def test_byte_order_mark_and_padding_are_said_in_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "padded.837"
    path.write_bytes(b"\xef\xbb\xbf" + built_837().encode("ascii") + b"\x1a\x00\x00")
    code, out, err = run_cli(capsys, "--json", str(path))
    assert code == 0
    [result] = json.loads(out)
    assert result["findings"] == [] and len(result["notes"]) == 2
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    notes = [entry["note"] for entry in logged if entry.get("event") == "x12.tolerated"]
    assert any("byte-order mark" in n for n in notes) and any("padding" in n for n in notes)


def test_segment_above_the_limit_is_refused_naming_the_limit_and_the_setting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = built_837()
    path = tmp_path / "long-segment.837"
    path.write_text(text.replace("NTE*", "NTE*" + "A" * 5000, 1) if "NTE*" in text
                    else text.replace("REF*6R*", "REF*6R*" + "9" * 5000, 1))
    monkeypatch.setenv("BHCLAIMS_MAX_SEGMENT_BYTES", "4096")
    code, out, _ = run_cli(capsys, "--json", str(path))
    assert code == 2
    [result] = json.loads(out)
    [finding] = result["findings"]
    assert finding["code"] == "unreadable"
    assert "4,096" in finding["message"] and "BHCLAIMS_MAX_SEGMENT_BYTES" in finding["message"]
    monkeypatch.delenv("BHCLAIMS_MAX_SEGMENT_BYTES")
    code, _, _ = run_cli(capsys, str(path))
    assert code == 1  # under the default limit the same file is read: its long REF is a finding, not a refusal
