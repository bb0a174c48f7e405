#!/bin/bash
# b-python-client.sh - items 4a and 4b: the real Python client and real
# engines (two ipengines), against hubd and against ipcontroller.
#
# bench/pyclient.py submits PY_TASKS no-op LoadBalancedView tasks and
# awaits them all; the controller's CPU over that phase (from /proc,
# summed over ipcontroller's process tree) divided by the tasks is the
# CPU per task.  Then PY_RTT apply_sync calls in a row give the round
# trip median.  Each controller is measured PY_REPEAT times (medians).
# Targets: hubd's CPU per task <= 1/50 of ipcontroller's; apply_sync p50
# <= 0.6 x ipcontroller's.
. "$(dirname "$0")/lib.sh"

TASKS=${PY_TASKS:-10000}
RTT=${PY_RTT:-500}
REPEAT=${PY_REPEAT:-3}
NENG=2

declare -A CPT RTTP WALL

measure() {
	local kind=$1 dir=$SCRATCH/$1 r out i
	local -a cp=() rt=() wl=()
	shift
	for r in $(seq 1 "$REPEAT"); do
		log "4a/4b: $kind, run $r: $NENG ipengines, $TASKS tasks"
		start_controller "$kind" "$dir-$r" "$@" || return 1
		ENGINE_PGIDS=()
		for i in $(seq 1 $NENG); do
			start_ipengine "$dir-$r"
		done
		out=$dir-$r/pyclient.out
		if ! timeout 900 "$PY" "$BENCH_DIR/pyclient.py" \
		    --profile-dir "$dir-$r" --controller-pid "$CTL_PID" \
		    --engines $NENG --tasks "$TASKS" --rtt "$RTT" \
		    >"$out" 2>"$out.err"; then
			log "$kind: pyclient failed"
			tail -5 "$out" "$out.err" >&2
		fi
		cp+=("$(kv "$out" cpu_us_per_task)")
		rt+=("$(kv "$out" rtt_p50_us)")
		wl+=("$(kv "$out" tasks_wall_s)")
		log "  ${cp[-1]} us controller CPU per task" \
		    "(${TASKS} tasks in ${wl[-1]} s), apply_sync p50 ${rt[-1]} us"
		for i in "${ENGINE_PGIDS[@]}"; do
			stop_group "$i"
		done
		stop_controller
	done
	CPT[$kind]=$(median "${cp[@]}")
	RTTP[$kind]=$(median "${rt[@]}")
	WALL[$kind]=$(median "${wl[@]}")
}

measure hubd ${HUBD_ARGS:-} || exit 1
measure ipcontroller ${IPC_ARGS:-} || exit 1

echo "== 4a/4b: Python client, $NENG ipengines, $TASKS tasks, $RTT" \
    "apply_sync calls, medians of $REPEAT"
printf '%-34s %12s %14s %10s\n' "" hubd ipcontroller ratio
printf '%-34s %12s %14s %10s\n' "controller CPU us per task" "${CPT[hubd]}" \
    "${CPT[ipcontroller]}" "$(ratio "${CPT[hubd]}" "${CPT[ipcontroller]}")"
printf '%-34s %12s %14s %10s\n' "wall s for the $TASKS tasks" \
    "${WALL[hubd]}" "${WALL[ipcontroller]}" \
    "$(ratio "${WALL[hubd]}" "${WALL[ipcontroller]}")"
printf '%-34s %12s %14s %10s\n' "apply_sync round trip p50 us" \
    "${RTTP[hubd]}" "${RTTP[ipcontroller]}" \
    "$(ratio "${RTTP[hubd]}" "${RTTP[ipcontroller]}")"

# The floor: a bare zmq_proxy relaying request and reply one at a time,
# no logic at all (tools/loadgen --floor).  A controller also relays the
# engine's two iopub status messages, so this is below any controller's
# CPU per task here; 1/50 of ipcontroller's is reachable only above it.
fl=()
for r in $(seq 1 "$REPEAT"); do
	"$LOADGEN" --floor --window 1 --count 3000 --warmup 100 \
	    >"$SCRATCH/floor-$r.out"
	fl+=("$(kv "$SCRATCH/floor-$r.out" floor_proxy_cpu_us_per_task)")
done
FLOOR=$(median "${fl[@]}")
printf '%-34s %12s %14s %10s\n' "floor: bare proxy CPU us per task" \
    "$FLOOR" "${CPT[ipcontroller]}" "$(ratio "$FLOOR" "${CPT[ipcontroller]}")"
result 4a floor_proxy_cpu_us_per_task "$FLOOR" "${CPT[ipcontroller]}" \
    "info" "-"

r=$(ratio "${CPT[hubd]}" "${CPT[ipcontroller]}")
result 4a cpu_us_per_task "${CPT[hubd]}" "${CPT[ipcontroller]}" \
    "ratio<=0.02" "$(check "$r" "<=" 0.02)"
r=$(ratio "${RTTP[hubd]}" "${RTTP[ipcontroller]}")
result 4b apply_sync_p50_us "${RTTP[hubd]}" "${RTTP[ipcontroller]}" \
    "ratio<=0.6" "$(check "$r" "<=" 0.6)"
