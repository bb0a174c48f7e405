#!/usr/bin/env bash
# t1103-hubd-hostile-slowsub: a keyless SUB on the client iopub port that
# never reads while 100 MB of output flows: hubd's RSS stays under
# 64 MiB, comes back within 10 MiB of idle once the subscriber left, and
# the log says a subscriber fell behind.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 2
wait_engines 2 || exit 1
$PY "$T_TOP/tests/py/hostile.py" "$PROFILE" "$HUB_PID" slowsub ||
    no "slow subscriber bounded"
check "the log says a subscriber fell behind" \
    grep -q "a subscriber has .* messages queued" "$T_DIR/hubd.log"
exit $fail
