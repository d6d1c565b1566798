"""The wheel ships what the commands need (issue 18): built from a copy of the source tree,
installed into a fresh virtual environment, `bhclaims --version` and `bhclaims demo` run from
an empty folder, where neither the repository nor its fixtures can be found.

The fresh environment borrows the development environment's third-party packages through a
``.pth`` line (a folder added that way has its own ``.pth`` files ignored, so the editable
install of this repository stays out of sight) and installs the wheel itself without its
dependencies: no network, and only the wheel's own files can answer for bhclaims.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".hypothesis",
                                     ".pytest_cache", ".mypy_cache", ".ruff_cache", "tests", "benchmarks", "fuzz")


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_installed_wheel_runs_version_and_demo_from_an_empty_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=NOT_SHIPPED)
    wheels = tmp_path / "wheels"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                  "-q", "-w", str(wheels), str(source)], cwd=tmp_path, env=env)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("bhclaims-*.whl")

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    target_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                            cwd=tmp_path, env=env).stdout.strip())
    (target_site / "borrowed-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                      "-q", str(wheel)], cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stderr[-2000:]

    empty = tmp_path / "empty"
    empty.mkdir()
    bhclaims = str(target / "bin" / "bhclaims")
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    shown = _run([bhclaims, "--version"], cwd=empty, env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"bhclaims {version}"

    where = _run([str(python), "-c", "import usecases.demo as d; print(d.__file__)"], cwd=empty, env=env)
    assert Path(where.stdout.strip()).is_relative_to(target_site), where.stdout + where.stderr

    demo = _run([bhclaims, "demo", "--keep", str(empty / "demo")], cwd=empty, env=env)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert ", 0 row errors" in demo.stdout
    adjudicated = re.search(r"post: \d+ file\(s\), (\d+) claims adjudicated", demo.stdout)
    assert adjudicated is not None and int(adjudicated.group(1)) > 0, demo.stdout
