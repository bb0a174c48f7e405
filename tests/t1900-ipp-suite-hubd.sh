#!/usr/bin/env bash
# t1900-ipp-suite-hubd: ipyparallel's own test suite (Debian's package)
# with hubd as the controller and real ipengines must pass at least as many
# tests as with ipcontroller (tests/ipp-suite/baseline-ipcontroller.txt;
# doc/ipp-suite.md).  Takes 6-9 minutes.
# timeout: 2400
. "$(dirname "$0")/lib.sh"
need_python_ipp
$PY -c 'import pytest_asyncio, pytest_timeout' 2>/dev/null ||
    skip "the suite's pytest plugins are not installed (scripts/deps.sh)"
"$T_TOP/tests/ipp-suite/run-suite" --controller "$HUBD" \
    --out "$T_DIR/suite" --total-timeout 2100 \
    --expect-passed "$T_TOP/tests/ipp-suite/baseline-ipcontroller.txt"
