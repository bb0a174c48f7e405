#!/usr/bin/env bash
# t1010-hubd-schemes: a LoadBalancedView map under every scheduling scheme,
# and where each scheme places tasks (tests/py/schemes.py): two loads
# under which leastload, lru, plainrandom, twobin, weighted and pure all
# behave differently, each checked against its own scheme, so that two
# schemes swapped fail.
# timeout: 900
. "$(dirname "$0")/lib.sh"
need_python_ipp
# T1010_SCHEMES: only these (when debugging a scheme)
for scheme in ${T1010_SCHEMES:-leastload lru plainrandom twobin weighted pure}; do
	echo "# scheme $scheme"
	start_hubd --scheme=$scheme --hwm=2
	start_ipengines 3
	# under "pure" the client gives up task farming if it ever sees a gap
	# in the engine ids, so let all register before it connects
	wait_engines 3 60 || exit 1
	$PY "$T_TOP/tests/py/interop_hub.py" "$PROFILE" lbmap || exit 1
	$PY "$T_TOP/tests/py/schemes.py" "$PROFILE" $scheme || fail=1
	kill -TERM -- -$HUB_PID "${ENGINE_PIDS[@]/#/-}" 2>/dev/null
	wait_for 10 eval '! kill -0 $HUB_PID' || exit 1
	for p in "${ENGINE_PIDS[@]}"; do wait_for 10 eval "! kill -0 $p" || exit 1; done
	ENGINE_PIDS=()
	rm -rf "$PROFILE"
done
exit $fail
