#!/bin/sh
# Make sure a headless-capable Chromium exists for the HTML report test
# (tests/test_clerk_html.py).  Idempotent and quiet; never starts a service.
set -eu

find_chromium() { command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || true; }
[ -n "$(find_chromium)" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no chromium found and cannot apt-get; install Debian's chromium" >&2
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
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -n "$(find_chromium)" ] || { echo "ensure-chromium: install finished but no chromium" >&2; exit 1; }
