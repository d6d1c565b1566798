"""``bhclaims`` run inside the test process, for tests whose subject is what a command does.

A command in a subprocess pays for an interpreter and the imports (sqlalchemy, the ledger's
models) before it does anything — most of what such a test costs.  Here ``cli.main`` (the entry
point the ``bhclaims`` script calls, with its exit codes and one-line failures) runs in this
process, with stdout and stderr caught the way click's ``CliRunner`` catches them (neither is a
terminal, as in a pipe), the working folder and the environment swapped in for the call, and the
answer shaped like ``subprocess.run``'s so a test can swap one for the other.

What stays a real process: a terminal (pty), signals and kill -9, processes running at once, the
umask, what the installed script itself does (tests/test_first_day.py, tests/test_wheel_install.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

from click.testing import CliRunner

import cli


def run_bhclaims(
    args: Sequence[str], *, cwd: str | os.PathLike[str], env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``bhclaims ARGS`` in folder ``cwd``; ``env``, when given, is the whole environment (as for
    ``subprocess.run``), else this process's.  Returns the exit code, stdout and stderr."""
    overrides: dict[str, str | None] | None = None
    if env is not None:
        overrides = {name: None for name in os.environ if name not in env}
        overrides.update(env)
    before = os.getcwd()
    with CliRunner().isolation(input=input, env=overrides) as (stdout, stderr, _mixed):
        os.chdir(cwd)
        try:
            cli.main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        finally:
            os.chdir(before)
            sys.stdout.flush()
            sys.stderr.flush()
        out = stdout.getvalue().decode("utf-8", "replace")
        err = stderr.getvalue().decode("utf-8", "replace")
    return subprocess.CompletedProcess(["bhclaims", *args], code, out, err)
