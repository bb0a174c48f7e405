#!/usr/bin/env bash
# t2901-ipp-suite-engined-ipcontroller: the suite with engined as the
# engine and the real ipcontroller must pass at least the recorded count
# (tests/ipp-suite/expected-engined-ipcontroller.txt, at least 95% of what passes with
# ipengine; doc/ipp-suite.md lists the rest with reasons).  6-9 minutes.
# timeout: 2400
. "$(dirname "$0")/lib.sh"
need_python_ipp
$PY -c 'import pytest_asyncio, pytest_timeout' 2>/dev/null ||
    skip "the suite's pytest plugins are not installed (scripts/deps.sh)"
"$T_TOP/tests/ipp-suite/run-suite" \
    --engine "$T_TOP/engined/engined" --out "$T_DIR/suite" \
    --total-timeout 2100 \
    --expect-passed "$T_TOP/tests/ipp-suite/expected-engined-ipcontroller.txt"
