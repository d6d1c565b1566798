#!/bin/sh
# make-venv.sh VENV [PYTHON]: the project's virtual environment in VENV, with the project and its
# test packages installed (editable).  Without PYTHON, Debian's own Python 3.11 where the machine
# has it (/usr/bin/python3.11: built with profile-guided and link-time optimisation, libpython
# inside the executable), otherwise `python3`.  A build configured with only `--enable-shared`
# (pyenv's default) runs this project's per-row work in about a fifth more CPU time (docs/scaling.md,
# stop 33).  An existing VENV made from another interpreter is emptied first (`venv --clear`).
set -eu
venv=$1 python=${2:-}
here=$(dirname "$0")
if [ -z "$python" ]; then
    python=python3
    if [ -x /usr/bin/python3.11 ] &&
        sh "$here/apt-ensure.sh" make-venv python3.11-venv "/usr/bin/python3.11 -c 'import ensurepip, venv'"; then
        python=/usr/bin/python3.11
    fi
fi
probe='import sys; print(sys.base_prefix, sys.version)'
clear=
if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c "$probe" 2>/dev/null || true)" != "$("$python" -c "$probe")" ]; then
    clear=--clear
fi
"$python" -m venv $clear "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install -q --disable-pip-version-check -e '.[test]'
