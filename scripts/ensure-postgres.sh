#!/bin/sh
# PostgreSQL server binaries (initdb, pg_ctl) for the suite's throw-away server on 127.0.0.1.
exec sh "$(dirname "$0")/apt-ensure.sh" ensure-postgres postgresql 'ls /usr/lib/postgresql/*/bin/initdb'
