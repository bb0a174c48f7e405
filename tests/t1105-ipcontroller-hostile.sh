#!/usr/bin/env bash
# t1105-ipcontroller-hostile: the hostile checks of t1102-t1104 against
# ipcontroller, for comparison only: their results are printed as
# comments and never fail this test (t1100 compares identity takeover).
# ipcontroller's RSS is its main process only, and idles above 64 MiB.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_ipcontroller
start_ipengines 1
for c in fields slowsub "flood 5 $T_DIR/ipcontroller.log"; do
	# shellcheck disable=SC2086
	timeout 120 $PY "$T_TOP/tests/py/hostile.py" "$PROFILE" "$HUB_PID" \
	    $c 2>&1 | grep -E "^(not ok|#   |# [0-9]+ of)" |
	    sed 's/^/# ipcontroller: /'
	ok "ran the ${c%% *} check against ipcontroller"
done
exit $fail
