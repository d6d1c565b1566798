#!/bin/sh
# venv-python.sh: the interpreter `make venv` makes .venv from when PYTHON is not given (printed):
# Debian's own Python 3.11 where the machine has it — built with profile-guided and link-time
# optimisation, libpython inside the executable — with python3.11-venv installed from Debian if
# missing (scripts/apt-ensure.sh); otherwise python3.  A build configured with only --enable-shared
# (pyenv's default) runs this project's ingest and test suite in ≈ 5–15 % more CPU time
# (docs/scaling.md, eleventh pass).  BHCLAIMS_DEBIAN_PYTHON names another path to prefer (the tests use it).
set -eu
debian=${BHCLAIMS_DEBIAN_PYTHON:-/usr/bin/python3.11}
if [ -x "$debian" ] &&
    sh "$(dirname "$0")/apt-ensure.sh" make-venv python3.11-venv "'$debian' -c 'import ensurepip, venv'"; then
    echo "$debian"
else
    echo python3
fi
