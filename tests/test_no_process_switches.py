"""Library code changes no process-wide interpreter setting and reaches into no private module
internals: a caller (a test, a server embedding bhclaims) keeps the interpreter it set up.

The one exception is ``runtime/process.configure_process``: the application (the CLI, an ingest
worker, a benchmark) calls it once at start-up; no library function calls it for its caller."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("parsers", "validators", "edi", "domain", "ledger", "outbox", "remits", "runtime", "clerk",
            "console", "usecases", "sandbox")
SWITCHES = re.compile(r"\bgc\.(freeze|unfreeze|set_threshold)\b|\bjson\.encoder\b|\bjson\.decoder\b"
                      r"|\bregister_(adapter|converter)\b")
APPLICATION_START_UP = {Path("runtime/process.py")}


def test_no_library_module_sets_the_collector_or_sqlite3s_adapters_or_uses_json_internals() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PACKAGES if (ROOT / package).is_dir()
        for path in sorted((ROOT / package).rglob("*.py")) if path.relative_to(ROOT) not in APPLICATION_START_UP
        for n, line in enumerate(path.read_text().splitlines(), 1) if SWITCHES.search(line)
    ]
    assert (ROOT / "ledger" / "claims.py").is_file()  # the scan looks where the code is
    assert offenders == []
