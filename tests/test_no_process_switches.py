"""Library code changes no process-wide interpreter setting and reaches into no private module
internals: a caller (a test, a server embedding bhclaims) keeps the interpreter it set up.

ledger/bulk.py still pauses the collector per chunk; issue 17 gives it to another change."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("parsers", "validators", "edi", "domain", "ledger", "outbox", "remits", "runtime", "clerk")
SWITCHES = re.compile(r"\bgc\.(freeze|unfreeze|set_threshold)\b|\bjson\.encoder\b|\bjson\.decoder\b")
NOT_YET = {Path("ledger/bulk.py")}


def test_no_library_module_sets_the_collector_or_uses_json_internals() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PACKAGES if (ROOT / package).is_dir()
        for path in sorted((ROOT / package).rglob("*.py")) if path.relative_to(ROOT) not in NOT_YET
        for n, line in enumerate(path.read_text().splitlines(), 1) if SWITCHES.search(line)
    ]
    assert (ROOT / "ledger" / "claims.py").is_file()  # the scan looks where the code is
    assert offenders == []
