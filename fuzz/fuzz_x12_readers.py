"""atheris target: every X12 reader either returns records or raises X12ParseError.

    .venv/bin/python fuzz/fuzz_x12_readers.py -runs=100000 fixtures/golden

Anything else (IndexError, KeyError, a hang) is a bug: a malformed file from the
clearinghouse must become a clear error for the clerk, never a crash of cron.
The seed corpus is our golden 837Ps plus the public corpus when it is present.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from edi.read837 import read_837p
    from edi.sniff import sniff
    from edi.ta1 import read_ta1
    from edi.x12 import X12ParseError
    from edi.x277ca import read_277ca
    from edi.x835 import read_835
    from edi.x999 import read_999

READERS = (read_837p, read_835, read_999, read_277ca, read_ta1)


def test_one_input(data: bytes) -> None:
    text = data.decode("latin-1")
    try:
        sniff(text)
    except X12ParseError:
        pass  # expected for garbage: the readers below still get their chance
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
