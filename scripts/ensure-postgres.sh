#!/bin/sh
# Make sure PostgreSQL server binaries (initdb, pg_ctl) exist for the test suite.
# Idempotent and quiet.  The suite starts its own throw-away server on 127.0.0.1;
# the Debian service is never started here.
set -eu

find_initdb() { ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1; }
[ -n "$(find_initdb)" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: no initdb found and cannot apt-get; install Debian's postgresql" >&2
    exit 1
fi
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    CREATED_POLICY=1
fi
cleanup() { [ -n "$CREATED_POLICY" ] && rm -f "$POLICY"; return 0; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
[ -n "$(find_initdb)" ] || { echo "ensure-postgres: install finished but no initdb" >&2; exit 1; }
