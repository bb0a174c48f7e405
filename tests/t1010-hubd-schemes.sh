#!/usr/bin/env bash
# t1010-hubd-schemes: a LoadBalancedView map under every scheduling scheme.
. "$(dirname "$0")/lib.sh"
need_python_ipp
for scheme in leastload lru plainrandom twobin weighted pure; do
	echo "# scheme $scheme"
	start_hubd --scheme=$scheme
	start_ipengines 2
	# under "pure" the client gives up task farming if it ever sees a gap
	# in the engine ids, so let both register before it connects
	wait_engines 2 30 || exit 1
	$PY "$T_TOP/tests/py/interop_hub.py" "$PROFILE" lbmap || exit 1
	kill -TERM -- -$HUB_PID "${ENGINE_PIDS[@]/#/-}" 2>/dev/null
	wait_for 10 eval '! kill -0 $HUB_PID' || exit 1
	for p in "${ENGINE_PIDS[@]}"; do wait_for 10 eval "! kill -0 $p" || exit 1; done
	ENGINE_PIDS=()
	rm -rf "$PROFILE"
done
