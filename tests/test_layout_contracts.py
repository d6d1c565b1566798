"""The README's layout table and pyproject's import-linter contracts say the same thing.

The README is what a reader trusts; the contracts are what `make lint` enforces.  If one
changes without the other, this fails."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _readme_layers() -> list[str]:
    """The layers of the README table, top first, siblings joined as import-linter writes them."""
    layers: dict[int, list[str]] = {}
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        row = re.match(r"^\| (\d+) \| `(\w+)/` \|", line)
        if row:
            layers.setdefault(int(row.group(1)), []).append(row.group(2))
    return [" | ".join(sorted(layers[number])) for number in sorted(layers)]


def _contracts() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def _normalised(layers: list[str]) -> list[str]:
    return [" | ".join(sorted(part.strip() for part in layer.split("|"))) for layer in layers]


def test_readme_table_is_the_layers_contract():
    [layers] = [c["layers"] for c in _contracts()["contracts"] if c["type"] == "layers"]
    assert _readme_layers() == _normalised(layers)


def test_every_package_of_ours_is_in_the_contracts():
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests", "fixtures", "benchmarks", "fuzz"}
    config = _contracts()
    layered = {name for layer in _readme_layers() for name in layer.split(" | ")}
    assert set(config["root_packages"]) == packages
    assert layered == packages
    [acyclic] = [c for c in config["contracts"] if c["type"] == "acyclic_siblings"]
    assert set(acyclic["ancestors"]) == packages


def test_lint_imports_keeps_every_contract():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
