#!/usr/bin/env bash
# test.sh - the one command that runs the tests on a fresh Debian 12
# machine: installs what is missing, builds with warnings as errors, runs
# the unit and scenario tests (tests/run).  Extra arguments select tests.
set -eu
cd "$(dirname "$0")"
scripts/deps.sh all
make -j2 EXTRA_CFLAGS=-Werror >/dev/null
exec tests/run "$@"
