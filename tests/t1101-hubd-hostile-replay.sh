#!/usr/bin/env bash
# t1101-hubd-hostile-replay: a captured signed request (an execute_request
# that appends to a file) is sent again, re-addressed to a fresh engine
# that never saw it, after hubd restarts with --reuse: once after SIGTERM
# and once after kill -9.  It must not run again.
. "$(dirname "$0")/lib.sh"
need_python_ipp
H="$T_TOP/tests/py/hostile.py"
restart() {	# restart SIGNAL: hubd and a new engine
	kill "-$1" "$HUB_PID" "${ENGINE_PIDS[@]}"
	wait_for 10 eval '! kill -0 $HUB_PID' || exit 1
	ENGINE_PIDS=()
	start_hubd --reuse
	start_ipengines 1
}
start_hubd --reuse
start_ipengines 1
$PY "$H" "$PROFILE" "$HUB_PID" capture "$T_DIR/a.pkl" "$T_DIR/a.out" ||
    exit 1
check "captured request is refused again before a restart" \
    $PY "$H" "$PROFILE" "$HUB_PID" replay "$T_DIR/a.pkl" "$T_DIR/a.out"
restart TERM
check "replay refused after a restart (SIGTERM)" \
    $PY "$H" "$PROFILE" "$HUB_PID" replay "$T_DIR/a.pkl" "$T_DIR/a.out"
$PY "$H" "$PROFILE" "$HUB_PID" capture "$T_DIR/b.pkl" "$T_DIR/b.out" ||
    exit 1
restart KILL
check "replay refused after a restart (kill -9)" \
    $PY "$H" "$PROFILE" "$HUB_PID" replay "$T_DIR/b.pkl" "$T_DIR/b.out"
check "older capture still refused" \
    $PY "$H" "$PROFILE" "$HUB_PID" replay "$T_DIR/a.pkl" "$T_DIR/a.out"
exit $fail
