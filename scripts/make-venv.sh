#!/bin/sh
# make-venv.sh VENV [PYTHON]: the project's virtual environment in VENV, with the project and its
# test packages installed (editable), made from PYTHON or, without it, from the interpreter
# scripts/venv-python.sh chooses.  An existing VENV made from another interpreter is emptied first
# (`venv --clear`), so that changing the interpreter never leaves the old one's packages behind.
set -eu
venv=$1 python=${2:-}
[ -n "$python" ] || python=$(sh "$(dirname "$0")/venv-python.sh")
probe='import sys; print(sys.base_prefix, sys.version)'
clear=
if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c "$probe" 2>/dev/null || true)" != "$("$python" -c "$probe")" ]; then
    clear=--clear
fi
"$python" -m venv $clear "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install -q --disable-pip-version-check -e '.[test]'
