#!/bin/bash
# b-rss.sh - item 4d: memory.
#
# Idle RSS a few seconds after start, then RSS after RSS_TASKS no-op
# tasks sent through the task scheduler by tools/loadgen to
# RSS_ENGINES simulated engines, with the SQLite task history: hubd's
# default, ipcontroller with --sqlitedb.  hubd is one process (VmRSS);
# for ipcontroller VmRSS is summed over its nine processes (shared pages
# counted in each, as the issue asks).  VmHWM (peak) is shown for hubd.
# Targets: hubd idle <= 8 MiB, after the tasks <= 40 MiB.
. "$(dirname "$0")/lib.sh"

TASKS=${RSS_TASKS:-100000}
E=${RSS_ENGINES:-8}
W=${RSS_WINDOW:-64}

declare -A IDLE AFTER

measure() {
	local kind=$1 dir=$SCRATCH/$1 out
	shift
	log "4d: $kind, $TASKS tasks"
	start_controller "$kind" "$dir" "$@" || return 1
	sleep 3
	IDLE[$kind]=$(rss_kb $(controller_pids))
	start_sim "$dir" "$dir/sim.out" -n "$E" -q
	out=$dir/loadgen.out
	if ! timeout 1200 "$LOADGEN" --profile-dir "$dir" --engines "$E" \
	    --timeout 30 --window "$W" --count "$TASKS" >"$out" 2>&1; then
		log "$kind: loadgen failed"
		tail -3 "$out" >&2
	fi
	# let the history reach the disk and lingering records expire
	sleep 5
	AFTER[$kind]=$(rss_kb $(controller_pids))
	if [ "$kind" = hubd ]; then
		HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$CTL_PID/status")
	fi
	log "  idle ${IDLE[$kind]} KiB, after $(kv "$out" tasks) tasks" \
	    "($(kv "$out" tasks_per_s)/s) ${AFTER[$kind]} KiB"
	stop_pid "$SIM_PID"
	stop_controller
}

measure hubd ${HUBD_ARGS:-} || exit 1
measure ipcontroller --sqlitedb ${IPC_ARGS:-} || exit 1

mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f\n", k / 1024 }'
}
echo "== 4d: RSS in MiB, SQLite history, $TASKS tasks"
printf '%-34s %12s %14s %10s\n' "" hubd ipcontroller ratio
printf '%-34s %12s %14s %10s\n' "idle" "$(mib "${IDLE[hubd]}")" \
    "$(mib "${IDLE[ipcontroller]}")" \
    "$(ratio "${IDLE[hubd]}" "${IDLE[ipcontroller]}")"
printf '%-34s %12s %14s %10s\n' "after $TASKS tasks" \
    "$(mib "${AFTER[hubd]}")" "$(mib "${AFTER[ipcontroller]}")" \
    "$(ratio "${AFTER[hubd]}" "${AFTER[ipcontroller]}")"
printf '%-34s %12s\n' "hubd peak (VmHWM)" "$(mib "$HWM")"

result 4d idle_rss_mib "$(mib "${IDLE[hubd]}")" \
    "$(mib "${IDLE[ipcontroller]}")" "<=8" \
    "$(check "$(mib "${IDLE[hubd]}")" "<=" 8)"
result 4d rss_after_tasks_mib "$(mib "${AFTER[hubd]}")" \
    "$(mib "${AFTER[ipcontroller]}")" "<=40" \
    "$(check "$(mib "${AFTER[hubd]}")" "<=" 40)"
