#!/usr/bin/env bash
# t1104-hubd-hostile-flood: 10 s of unsigned messages (no key) on every
# socket a peer can write to: the log grows by a bounded amount and says
# how many lines it left out, hubd's RSS stays under 64 MiB and comes
# back near idle, and clients are served after.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 1
$PY "$T_TOP/tests/py/hostile.py" "$PROFILE" "$HUB_PID" flood 10 \
    "$T_DIR/hubd.log" || no "flood of unsigned messages bounded"
check "the log counts what it left out" \
    grep -q "more like this in .* not logged" "$T_DIR/hubd.log"
exit $fail
