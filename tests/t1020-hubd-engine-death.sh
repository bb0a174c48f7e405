#!/usr/bin/env bash
# t1020-hubd-engine-death: kill -9 of an engine gives EngineError for its
# pending tasks within 1 s.  Run twice: with ipengine's nanny (which tells
# the hub at once) and without it, where only hubd's own detection
# (heartbeat connection closed, then a probe) can notice.
. "$(dirname "$0")/lib.sh"
need_python_ipp
for nanny in True False; do
	echo "# IPEngine.enable_nanny=$nanny"
	start_hubd
	ENGINE_PIDS=()
	for i in 1 2; do
		spawn "ipengine$i-$nanny" $PY -m ipyparallel.engine \
		    --profile-dir="$PROFILE" --log-level=WARN \
		    --IPEngine.enable_nanny=$nanny
		ENGINE_PIDS+=("$SPAWNED")
		# fixed ids 0 and 1 in start order
		wait_engines "$i" 30 || exit 1
	done
	$PY "$T_TOP/tests/py/interop_hub.py" "$PROFILE" death || exit 1
	kill -TERM -- -$HUB_PID "${ENGINE_PIDS[@]/#/-}" 2>/dev/null
	wait_for 10 eval '! kill -0 $HUB_PID' || exit 1
	rm -rf "$PROFILE"
done
