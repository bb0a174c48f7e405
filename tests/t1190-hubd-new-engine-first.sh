#!/usr/bin/env bash
# t1190-hubd-new-engine-first: a newly registered engine goes to the head
# of the load-balancer's line, as in ipcontroller's task scheduler, so the
# next load-balanced task runs there.  ipyparallel's own test_imap_unordered
# leans on it: it adds engines and expects its short tasks on them while
# a long one runs; with new engines at the tail, a short task went to a
# cold engine instead and came back after the long one.  The same steps
# run against ipcontroller (the reference) and hubd, with leastload (the
# default) and lru: engine 0 registers, then engine 1, then one task.
# timeout: 120
. "$(dirname "$0")/lib.sh"
need_python_ipp

# first_choice: CHOICE is the engine id of the first load-balanced task,
# after engines 0 and 1 registered in that order (not run in a $(...)
# subshell: the engines' PIDs must reach stop_round and the cleanup)
first_choice() {
	CHOICE=
	ENGINE_PIDS=()
	start_engined 1
	wait_engines 1 30 || { no "engine 0 registered"; return 1; }
	start_engined 1
	wait_engines 2 30 || { no "engine 1 registered"; return 1; }
	CHOICE=$($PY - "$PROFILE" <<'PYEOF'
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
ar = c.load_balanced_view().apply_async(lambda: 1)
ar.get(20)
print(ar.engine_id)
c.close()
PYEOF
)
}

# stop: the controller and engines of one round
stop_round() {
	kill -TERM "${ENGINE_PIDS[@]}" "$HUB_PID" 2>/dev/null
	check "round ended" wait_for 20 pids_gone "${ENGINE_PIDS[@]}" "$HUB_PID"
}

base=$PROFILE
for scheme in leastload lru; do
	PROFILE=$base-ipc-$scheme
	start_ipcontroller --TaskScheduler.scheme_name="$scheme"
	first_choice
	ref=$CHOICE
	stop_round
	is "ipcontroller ($scheme): the task ran on the newest engine" 1 echo "$ref"

	PROFILE=$base-hubd-$scheme
	start_hubd --scheme="$scheme"
	first_choice
	is "hubd ($scheme): the task ran where ipcontroller's did" "$ref" echo "$CHOICE"
	stop_round
done
exit $fail
