"""atheris target on the X12 engine: every reader, the validator and the sandbox either return or
raise X12ParseError.

    .venv/bin/python fuzz/fuzz_x12_readers.py -runs=100000 fixtures/golden

The input goes in as bytes, so the one segment source (``edi.tokenizer``: BOM, padding, ASCII,
segment limit) is fuzzed too, then through the engine's walk in reading mode (each reader's
loop handlers) and in checking mode (``engine.run(check=True)``, what ``bhclaims validate`` runs).
Anything else (IndexError, KeyError, a hang) is a bug: a malformed file from the clearinghouse
must become a clear error for the clerk, never a crash of cron.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from edi.engine import run
    from edi.read837 import read_837p
    from edi.sniff import sniff
    from edi.ta1 import read_ta1
    from edi.tokenizer import SegmentSource
    from edi.x12 import X12ParseError
    from edi.x277ca import read_277ca
    from edi.x835 import read_835
    from edi.x999 import read_999
    from sandbox.clearinghouse import answer_837

MAX_SEGMENT = 1 << 16  # small, so the segment limit is reached too


def _validate(text: str) -> None:
    run(SegmentSource(text.encode("latin-1"), max_segment=MAX_SEGMENT), check=True)


def _answer(text: str) -> None:
    answer_837(text, today=date(2026, 11, 23), first_control_number=1)


READERS = (read_837p, read_835, read_999, read_277ca, read_ta1, _validate, _answer)


def test_one_input(data: bytes) -> None:
    try:
        sniff(data)
    except X12ParseError:
        pass  # expected for garbage: the readers below still get their chance
    for reader in (read_999, read_277ca, read_ta1):
        try:
            reader(data)  # bytes: the BOM and ASCII checks of the segment source
        except X12ParseError:
            continue
    text = data.decode("latin-1")
    for reader in READERS:
        try:
            reader(text)
        except X12ParseError:
            continue  # the one allowed failure


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
