"""Streaming 835 reading: same segments and remittances as the string readers, bounded memory."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from edi.x12 import X12ParseError, iter_segments
from edi.x12stream import RemittanceEnd, RemittanceHeader, iter_segments_from_file, read_remittance_file
from edi.x835 import read_835

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "x12"
FILES = sorted(CORPUS.glob("**/*.835"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("chunk_size", [1, 7, 1 << 20])
def test_stream_yields_the_same_segments(path: Path, chunk_size: int) -> None:
    text = path.read_text()
    assert list(iter_segments_from_file(io.BytesIO(text.encode()), chunk_size=chunk_size)) == list(iter_segments(text))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_streamed_parts_rebuild_the_same_remittances(path: Path) -> None:
    rebuilt, claims = [], []
    for part in read_remittance_file(path):
        if isinstance(part, RemittanceHeader):
            claims = []
        elif isinstance(part, RemittanceEnd):
            rebuilt.append(replace(part.remittance, claims=tuple(claims)))
        else:
            claims.append(part)
    assert tuple(rebuilt) == read_835(path.read_text())


@pytest.mark.parametrize("terminator", ["~", "~\n", "~\r\n", "~\x1d"])
def test_terminators_and_blank_lines(terminator: str) -> None:
    text = (CORPUS / "linuxforhealth-x12" / "demo.835").read_text()
    base = list(iter_segments(text))
    rewritten = "\n\n" + "".join("*".join(s.elements) + terminator + ("\n" if s.index % 3 == 0 else "") for s in base)
    assert list(iter_segments_from_file(io.BytesIO(rewritten.encode()), chunk_size=5)) == base


def test_non_ascii_and_junk_before_isa_are_parse_errors() -> None:
    text = (CORPUS / "linuxforhealth-x12" / "demo.835").read_bytes()
    with pytest.raises(X12ParseError, match="not ASCII"):
        list(iter_segments_from_file(io.BytesIO(text[:500] + "é".encode() + text[500:])))
    with pytest.raises(X12ParseError, match="before the ISA"):
        list(iter_segments_from_file(io.BytesIO(b"junk" + text)))


MEMORY_PROBE = """
import json, resource, sys
from edi.x12stream import read_remittance_file
claims = 0
for part in read_remittance_file(sys.argv[1]):
    claims += type(part).__name__ == "ClaimPayment"
# VmHWM is this process image's own peak; ru_maxrss also counts the parent's pages at fork
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"claims": claims, "peak_mb": hwm / 1024,
                  "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_50_mb_835_streams_in_bounded_memory(tmp_path: Path) -> None:
    """~50 MB (claims carrying a long REF, to keep the run short): peak RSS far below the file size."""
    from benchmarks.post835 import write_835

    path = tmp_path / "big.835"
    write_835(path, 1)
    head, tail = path.read_text().split("CLP*", 1)
    claim = "CLP*" + tail.split("SE*", 1)[0]
    padded = claim.replace("NM1*QC", "REF*EA*" + "X" * 2000 + "~\nNM1*QC")
    copies = 50_000_000 // len(padded)
    segments_per_claim = padded.count("~")
    bpr = f"BPR*I*{copies * 390}*C*CHK"
    with path.open("w") as out:
        out.write(head.replace("BPR*I*390*C*CHK", bpr))
        for _ in range(copies):
            out.write(padded)
        trailer_count = head.count("~") - 2 + copies * segments_per_claim + 1
        out.write(f"SE*{trailer_count}*0001~\nGE*1*1~\nIEA*1*000000001~\n")
    assert path.stat().st_size > 45_000_000
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path)], capture_output=True, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    assert figures["claims"] == copies
    assert figures["peak_mb"] < 80, figures
