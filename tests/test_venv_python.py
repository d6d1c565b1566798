"""`make venv` makes .venv from Debian's optimised Python 3.11 where the machine has it, else python3
(scripts/venv-python.sh; docs/scaling.md, eleventh pass)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "venv-python.sh"


def chosen(debian: str) -> str:
    environment = {**os.environ, "BHCLAIMS_DEBIAN_PYTHON": debian}
    result = subprocess.run(["sh", str(SCRIPT)], env=environment, capture_output=True, text=True, check=True,
                            timeout=60)
    return result.stdout.strip()


def test_the_distributions_python_is_chosen_where_it_can_make_a_venv() -> None:
    # this interpreter imports ensurepip and venv, so the check passes without installing anything
    assert chosen(sys.executable) == sys.executable


def test_python3_where_there_is_none(tmp_path: Path) -> None:
    assert chosen(str(tmp_path / "python3.11")) == "python3"


def test_python3_where_the_path_is_not_an_executable(tmp_path: Path) -> None:
    plain = tmp_path / "python3.11"
    plain.write_text("not a program\n")
    plain.chmod(0o644)
    assert chosen(str(plain)) == "python3"


def test_the_makefile_makes_the_venv_through_the_scripts() -> None:
    makefile = (SCRIPT.parent.parent / "Makefile").read_text()
    assert "sh scripts/make-venv.sh $(VENV) $(PYTHON)" in makefile
    assert "PYTHON ?=\n" in makefile  # no interpreter named there: the script chooses
    assert "venv-python.sh" in (SCRIPT.parent / "make-venv.sh").read_text()
