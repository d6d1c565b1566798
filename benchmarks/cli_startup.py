"""CPU of starting the command line: ``bhclaims --version`` and ``bhclaims status`` on an empty ledger.

    .venv/bin/python benchmarks/cli_startup.py [--runs 20] [--bin other/.venv/bin/bhclaims ...]

Cron and the test suite start the CLI hundreds of times, so what it imports before a command runs
is paid on every one.  CPU-seconds of the child processes (``RUSAGE_CHILDREN``), not wall time:
the machine is shared.  With several ``--bin`` the executables are run alternately in one loop,
so a before/after comparison sees the same load.  Targets (median CPU-s per run): ``--version``
under 0.15, ``status`` under 1.2 (it imports the ORM and the worklist queries it reports on).  Exits 1 if the first ``--bin`` misses one.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"--version": 0.15, "status": 1.2}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    cpu, wall = _children_cpu(), time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _children_cpu() - cpu, time.perf_counter() - wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bin", action="append", default=None, help="a bhclaims executable (repeatable)")
    args = parser.parse_args()
    executables = [str(Path(exe).resolve()) for exe in args.bin or [ROOT / ".venv" / "bin" / "bhclaims"]]
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ)
        subprocess.run([executables[0], "init", folder], env=env, check=True, stdout=subprocess.DEVNULL)
        os.chdir(folder)  # its bhclaims.toml: a SQLite ledger beside it
        commands = {"--version": ["--version"], "status": ["status"]}
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {
            (exe, name): [] for exe in executables for name in commands}
        for _ in range(args.runs):
            for name, words in commands.items():
                for exe in executables:
                    samples[(exe, name)].append(_run_once([exe, *words], env))
    print(f"load {Path('/proc/loadavg').read_text().strip()}")
    missed = False
    for (exe, name), runs in samples.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        verdict = "ok" if cpu <= TARGETS[name] else "MISSED"
        print(f"{exe}  {name:<10} median CPU {cpu:.3f} s  wall {wall:.3f} s  "
              f"(target CPU <= {TARGETS[name]} s: {verdict}, {len(runs)} runs)")
        missed |= exe == executables[0] and verdict == "MISSED"
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
