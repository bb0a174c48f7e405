#!/usr/bin/env bash
# t2900-ipp-suite-engined: ipyparallel's own test suite with engined as the
# engine and hubd as the controller must pass at least the recorded count
# (tests/ipp-suite/expected-engined.txt, at least 95% of what passes with
# ipengine; doc/ipp-suite.md lists the rest with reasons).  6-9 minutes.
# timeout: 2400
. "$(dirname "$0")/lib.sh"
need_python_ipp
$PY -c 'import pytest_asyncio, pytest_timeout' 2>/dev/null ||
    skip "the suite's pytest plugins are not installed (scripts/deps.sh)"
"$T_TOP/tests/ipp-suite/run-suite" --controller "$HUBD" \
    --engine "$T_TOP/engined/engined" --out "$T_DIR/suite" \
    --total-timeout 2100 \
    --expect-passed "$T_TOP/tests/ipp-suite/expected-engined.txt"
