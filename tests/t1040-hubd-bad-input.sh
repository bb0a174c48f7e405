#!/usr/bin/env bash
# t1040-hubd-bad-input: unsigned, badly signed, replayed, truncated,
# non-JSON messages and unknown types on every socket: hubd logs and drops
# them (hub_error on the query socket) and keeps serving.  The log is
# rate-limited: the first lines, then a count of the others.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 1
$PY "$T_TOP/tests/py/badinput.py" "$PROFILE" || exit 1
kill -0 "$HUB_PID" || { no "hubd died"; exit 1; }
wait_for 15 grep -q "more like this in" "$T_DIR/hubd.log" ||
    { no "the lines left out are counted"; exit 1; }
n=$(grep -c "dropped message" "$T_DIR/hubd.log")
s=$(sed -n 's/.* \([0-9]*\) more like this in .*/\1/p' "$T_DIR/hubd.log" |
    awk '{ s += $1 } END { print s + 0 }')
echo "# hubd logged $n dropped messages and counted $s more"
[ "$n" -le 40 ] && [ $((n + s)) -ge 50 ] ||
    { no "expected the drops to be logged and counted"; exit 1; }
grep -q "invalid signature" "$T_DIR/hubd.log" &&
    grep -q "duplicate signature" "$T_DIR/hubd.log" &&
    grep -q "unsigned message" "$T_DIR/hubd.log" &&
    grep -q "is not JSON" "$T_DIR/hubd.log" ||
    { no "a reason is missing from the log"; exit 1; }
ok "every kind of rejection logged with its reason"
exit $fail
