#!/usr/bin/env bash
# t1100-hubd-hostile-takeover: a local process without the key reads an
# engine's and a client's routing identity from iopub and connects with
# them to every ROUTER port.  The real engine and client keep being
# served and the intruder hears nothing, while it is there and after it
# left.  The same check against ipcontroller, for comparison.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 1
echo "# hubd"
$PY "$T_TOP/tests/py/hostile.py" "$PROFILE" "$HUB_PID" takeover ||
    no "hubd: no identity takeover"
kill -0 "$HUB_PID" 2>/dev/null || no "hubd still running"
kill -TERM "${ENGINE_PIDS[0]}" "$HUB_PID"
wait_for 10 eval '! kill -0 $HUB_PID' || exit 1
rm -rf "$PROFILE"
ENGINE_PIDS=()
echo "# ipcontroller, for comparison"
start_ipcontroller
start_ipengines 1
$PY "$T_TOP/tests/py/hostile.py" "$PROFILE" "$HUB_PID" takeover ||
    no "ipcontroller: no identity takeover"
exit $fail
