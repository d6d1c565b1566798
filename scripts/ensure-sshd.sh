#!/bin/sh
# OpenSSH sshd for the suite's SFTP server on 127.0.0.1 and benchmarks/sftp.py.
exec sh "$(dirname "$0")/apt-ensure.sh" ensure-sshd openssh-server "test -x ${SSHD:-/usr/sbin/sshd}"
