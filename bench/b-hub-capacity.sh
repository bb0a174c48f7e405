#!/bin/bash
# b-hub-capacity.sh - item 4c: task scheduler capacity and round trip.
#
# A C client (tools/loadgen) sends no-op apply_requests through the task
# scheduler to simulated engines (tools/simengines), against hubd and
# then against ipcontroller, measured the same way in the same run:
#   throughput  --window CAP_WINDOW requests in flight for CAP_SECONDS
#   round trip  --window 1, p50 over CAP_LAT_COUNT requests
# each repeated REPEAT times (medians).  Also printed: the controller's
# CPU per task during the throughput runs, the harness's (simengines and
# loadgen, which share the machine with the controller: when they cost
# more per task than it does, the figure is theirs), and the floor - the
# same traffic through a bare zmq_proxy and an echo process, i.e. what
# the machine allows with no controller logic at all.
# Targets: hubd >= 100,000 tasks/s; round trip p50 <= 150 us.
# Knobs: CAP_ENGINES (32), CAP_WINDOW (256), CAP_SECONDS (5), REPEAT (3),
# CAP_LAT_COUNT, CAP_SKIP_PEER (set: hubd only), HUBD (another binary),
# CAP_QUEUE (task; mux: direct requests spread over the engines instead),
# CAP_SIMS (1: simengines processes sharing the engines between them).
. "$(dirname "$0")/lib.sh"

E=${CAP_ENGINES:-32}
W=${CAP_WINDOW:-256}
S=${CAP_SECONDS:-5}
REPEAT=${REPEAT:-3}
LAT_hubd=${CAP_LAT_COUNT:-5000}
LAT_ipcontroller=${CAP_LAT_COUNT_PEER:-2000}
Q=${CAP_QUEUE:-task}
K=${CAP_SIMS:-1}

declare -A TPUT RTT CPT SPT LPT

# us of CPU per task: TICKS over N tasks
per_task() {
	awk -v t="$1" -v hz="$HZ" -v n="$2" \
	    'BEGIN { printf "%.1f\n", t / hz / n * 1e6 }'
}

measure() {
	local kind=$1 dir=$SCRATCH/$1 r c0 c1 s0 s1 out n lat p
	local -a tp=() rt=() cp=() sp=() lp=() sims
	shift
	log "4c: $kind with $E simulated engines in $K process(es)" \
	    "($Q queue)"
	start_controller "$kind" "$dir" "$@" || return 1
	sims=()
	for r in $(seq 1 "$K"); do
		start_sim "$dir" "$dir/sim-$r.out" -n $(( E / K +
		    (r <= E % K ? 1 : 0) )) -q
		sims+=("$SIM_PID")
	done
	if ! "$LOADGEN" --profile-dir "$dir" --engines "$E" --timeout 30 \
	    --queue "$Q" --window 1 --count 200 >"$dir/warm.out" 2>&1; then
		log "$kind: warm-up failed"
		cat "$dir/warm.out" >&2
		return 1
	fi
	lat=LAT_$kind
	for r in $(seq 1 "$REPEAT"); do
		out=$dir/tput-$r.out
		c0=$(cpu_ticks $(controller_pids))
		s0=$(cpu_ticks "${sims[@]}")
		timeout $((S + 60)) "$LOADGEN" --profile-dir "$dir" \
		    --queue "$Q" --window "$W" --seconds "$S" --warmup 1000 \
		    >"$out" 2>&1
		c1=$(cpu_ticks $(controller_pids))
		s1=$(cpu_ticks "${sims[@]}")
		n=$(( $(kv "$out" tasks) + 1000 ))
		tp+=("$(kv "$out" tasks_per_s)")
		cp+=("$(per_task $((c1 - c0)) "$n")")
		sp+=("$(per_task $((s1 - s0)) "$n")")
		lp+=("$(awk -v c="$(kv "$out" cpu_s)" -v n="$n" \
		    'BEGIN { printf "%.1f\n", c / n * 1e6 }')")
		out=$dir/lat-$r.out
		timeout 300 "$LOADGEN" --profile-dir "$dir" --queue "$Q" \
		    --window 1 --count "${!lat}" --warmup 200 >"$out" 2>&1
		rt+=("$(kv "$out" lat_p50_us)")
		log "  run $r: ${tp[-1]} tasks/s (CPU per task: controller" \
		    "${cp[-1]} us, simengines ${sp[-1]} us, loadgen ${lp[-1]}" \
		    "us), window-1 p50 ${rt[-1]} us"
	done
	TPUT[$kind]=$(median "${tp[@]}")
	RTT[$kind]=$(median "${rt[@]}")
	CPT[$kind]=$(median "${cp[@]}")
	SPT[$kind]=$(median "${sp[@]}")
	LPT[$kind]=$(median "${lp[@]}")
	for p in "${sims[@]}"; do
		stop_pid "$p"
	done
	for r in $(seq 1 "$K"); do
		if [ "$(kv "$dir/sim-$r.out" bad)" != 0 ]; then
			log "$kind: simengines saw bad requests"
		fi
	done
	stop_controller
}

measure hubd ${HUBD_ARGS:-} || exit 1
if [ -z "${CAP_SKIP_PEER:-}" ]; then
	measure ipcontroller ${IPC_ARGS:-} || exit 1
fi

log "4c: floor (zmq_proxy + echo, no controller)"
fl=() ft=()
for r in $(seq 1 "$REPEAT"); do
	"$LOADGEN" --floor --window 1 --count "$LAT_hubd" --warmup 200 \
	    >"$SCRATCH/floor-lat.out"
	fl+=("$(kv "$SCRATCH/floor-lat.out" lat_p50_us)")
	"$LOADGEN" --floor --window "$W" --seconds "$S" --warmup 1000 \
	    >"$SCRATCH/floor-tput.out"
	ft+=("$(kv "$SCRATCH/floor-tput.out" tasks_per_s)")
done

echo "== 4c hub capacity: $E simulated engines, $Q queue, window $W for" \
    "${S}s, medians of $REPEAT"
printf '%-28s %12s %14s %10s\n' "" hubd ipcontroller ratio
printf '%-28s %12s %14s %10s\n' "tasks/s (window $W)" "${TPUT[hubd]}" \
    "${TPUT[ipcontroller]:-}" "$(ratio "${TPUT[hubd]}" "${TPUT[ipcontroller]:-}")"
printf '%-28s %12s %14s %10s\n' "round trip p50 us (window 1)" \
    "${RTT[hubd]}" "${RTT[ipcontroller]:-}" \
    "$(ratio "${RTT[hubd]}" "${RTT[ipcontroller]:-}")"
printf '%-28s %12s %14s %10s\n' "controller CPU us/task" "${CPT[hubd]}" \
    "${CPT[ipcontroller]:-}" "$(ratio "${CPT[hubd]}" "${CPT[ipcontroller]:-}")"
printf '%-28s %12s %14s\n' "simengines CPU us/task" "${SPT[hubd]}" \
    "${SPT[ipcontroller]:-}"
printf '%-28s %12s %14s\n' "loadgen CPU us/task" "${LPT[hubd]}" \
    "${LPT[ipcontroller]:-}"
printf '%-28s %12s\n' "floor tasks/s (no hub)" "$(median "${ft[@]}")"
printf '%-28s %12s\n' "floor round trip p50 us" "$(median "${fl[@]}")"

result 4c tasks_per_s "${TPUT[hubd]}" "${TPUT[ipcontroller]:-}" ">=100000" \
    "$(check "${TPUT[hubd]}" ">=" 100000)"
result 4c rtt_p50_us "${RTT[hubd]}" "${RTT[ipcontroller]:-}" "<=150" \
    "$(check "${RTT[hubd]}" "<=" 150)"
result 4c cpu_us_per_task "${CPT[hubd]}" "${CPT[ipcontroller]:-}" - INFO
result 4c sim_cpu_us_per_task "${SPT[hubd]}" "${SPT[ipcontroller]:-}" - INFO
result 4c loadgen_cpu_us_per_task "${LPT[hubd]}" "${LPT[ipcontroller]:-}" - \
    INFO
result 4c floor_tasks_per_s "$(median "${ft[@]}")" - - INFO
result 4c floor_rtt_p50_us "$(median "${fl[@]}")" - - INFO
