#!/usr/bin/env bash
# t1040-hubd-bad-input: unsigned, badly signed, replayed, truncated,
# non-JSON messages and unknown types on every socket: hubd logs and drops
# them (hub_error on the query socket) and keeps serving.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 1
$PY "$T_TOP/tests/py/badinput.py" "$PROFILE" || exit 1
kill -0 "$HUB_PID" || { echo "not ok - hubd died"; exit 1; }
n=$(grep -c "dropped message" "$T_DIR/hubd.log")
echo "# hubd logged $n dropped messages"
[ "$n" -ge 50 ] || { echo "not ok - expected the drops to be logged"; exit 1; }
grep -q "invalid signature" "$T_DIR/hubd.log" &&
    grep -q "duplicate signature" "$T_DIR/hubd.log" &&
    grep -q "unsigned message" "$T_DIR/hubd.log" &&
    grep -q "is not JSON" "$T_DIR/hubd.log" ||
    { echo "not ok - a reason is missing from the log"; exit 1; }
echo "ok - every kind of rejection logged with its reason"
