#!/bin/sh
# Make sure an OpenSSH server binary exists for the test suite and the SFTP benchmark.
# Idempotent and quiet: does nothing when /usr/sbin/sshd is present; otherwise installs
# Debian's openssh-server without starting or enabling the system service.
set -eu

SSHD=${SSHD:-/usr/sbin/sshd}
[ -x "$SSHD" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-sshd: $SSHD missing and not root; install openssh-server" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-sshd: $SSHD missing and no apt-get; install openssh-server" >&2
    exit 1
fi

# policy-rc.d 101 stops the package's postinst from starting a system sshd on port 22.
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
if ! apt-get install -y -qq --no-install-recommends openssh-server >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
fi
[ -x "$SSHD" ] || { echo "ensure-sshd: install finished but $SSHD is missing" >&2; exit 1; }
