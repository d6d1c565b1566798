#!/bin/sh
# apt-ensure.sh NAME PACKAGE CHECK-COMMAND
# Install Debian PACKAGE unless CHECK-COMMAND already succeeds.  Idempotent and quiet;
# a temporary policy-rc.d keeps the package from starting a system service (the test
# suite starts its own servers on 127.0.0.1).  Used by the ensure-*.sh scripts.
set -eu
name=$1 package=$2 check=$3

sh -c "$check" >/dev/null 2>&1 && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: $package is missing and cannot apt-get here; install Debian's $package" >&2
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
if ! apt-get install -y -qq --no-install-recommends "$package" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq --no-install-recommends "$package" >/dev/null
fi
sh -c "$check" >/dev/null 2>&1 || { echo "$name: installed $package but the check still fails: $check" >&2; exit 1; }
