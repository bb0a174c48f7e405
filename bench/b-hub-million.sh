#!/bin/bash
# b-hub-million.sh - issue 13, acceptance 6: a million tasks through hubd.
#
# hubd with its default SQLite history (hubd-tasks.db in a fresh profile
# directory each repetition) and MILLION_ENGINES simulated engines
# (tools/simengines) takes BENCH_MILLION_N no-op tasks from tools/loadgen,
# MILLION_WINDOW in flight.  loadgen's --slice reports every
# MILLION_SLICE replies the rate of that slice and hubd's VmRSS and VmHWM
# (read from /proc between two replies), so the script prints:
#   the rate of the first and of the last slice, and last / first;
#   hubd's RSS at each slice, at the end, and 2 s later (after a second
#   without input hubd calls malloc_trim), and its peak (VmHWM);
#   the history's size on disk (the .db and its -wal and -shm files).
# Beside it, measured the same way in the same run: ipcontroller
# (--sqlitedb, its nine processes summed) on MILLION_PEER_N tasks in
# slices of MILLION_PEER_SLICE - it does a few hundred to a thousand
# tasks/s here, so a million would take hours - and its RSS growth per
# slice scaled to 100,000 tasks; and the floor, loadgen --floor (a bare
# zmq_proxy and an echo process, as b-hub-capacity.sh) at the same window
# over the same number of tasks: the rate and the first/last ratio the
# machine itself gives with no controller logic and no state.
# Targets: RSS at the end <= 40 MiB; last slice >= 90% of the first.
# Knobs: BENCH_MILLION_N (1000000), MILLION_SLICE (100000),
# MILLION_ENGINES (8), MILLION_WINDOW (256), MILLION_PEER_N (20000),
# MILLION_PEER_SLICE (10000), MILLION_FLOOR_N (BENCH_MILLION_N), REPEAT (3),
# MILLION_SKIP_PEER (set: no ipcontroller), HUBD, HUBD_ARGS, IPC_ARGS.
. "$(dirname "$0")/lib.sh"

N=${BENCH_MILLION_N:-1000000}
SL=${MILLION_SLICE:-100000}
E=${MILLION_ENGINES:-8}
W=${MILLION_WINDOW:-256}
PN=${MILLION_PEER_N:-20000}
PSL=${MILLION_PEER_SLICE:-10000}
FN=${MILLION_FLOOR_N:-$N}
REPEAT=${REPEAT:-3}

if [ "$N" -lt "$SL" ] || [ "$PN" -lt "$PSL" ] || [ "$FN" -lt "$SL" ]; then
	echo "b-hub-million: each N must hold at least one slice" >&2
	exit 2
fi

mib() {
	awk -v k="$1" 'BEGIN { if (k == "") print "nan";
	    else printf "%.1f\n", k / 1024 }'
}

# slices FILE FIELD: that field of every slice line, one a line.
slices() {
	awk -v f="$2" '$1 == "slice" { for (i = 2; i < NF; i++)
	    if ($i == f) print $(i + 1) }' "$1"
}
first_slice() { slices "$1" "$2" | head -1; }
last_slice() { slices "$1" "$2" | tail -1; }

# RSS growth per 100,000 tasks between the first and the last slice.
growth_per_100k() {
	local out=$1 per=$2 n r0 r1
	n=$(slices "$out" rss_kb | wc -l)
	r0=$(first_slice "$out" rss_kb)
	r1=$(last_slice "$out" rss_kb)
	awk -v a="$r0" -v b="$r1" -v n="$n" -v per="$per" 'BEGIN {
	    if (n < 2) print "nan";
	    else printf "%.2f\n", (b - a) / 1024 / (n - 1) * 100000 / per }'
}

# run_load DIR OUT COUNT SLICE PIDS...: loadgen with slices; 1 on failure.
run_load() {
	local dir=$1 out=$2 n=$3 sl=$4 p
	local -a watch=()
	shift 4
	for p in "$@"; do
		watch+=(--watch "$p")
	done
	if ! timeout $((n / 100 + 600)) "$LOADGEN" --profile-dir "$dir" \
	    --engines "$E" --timeout 60 --window "$W" --count "$n" \
	    --slice "$sl" "${watch[@]}" >"$out" 2>&1; then
		log "loadgen failed"
		tail -3 "$out" >&2
		return 1
	fi
	if [ "$(kv "$out" errors)" != 0 ] || [ "$(kv "$out" lost)" != 0 ]; then
		log "loadgen: $(kv "$out" errors) errors, $(kv "$out" lost) lost"
		return 1
	fi
}

# db_bytes DIR: the SQLite history's files, summed.
db_bytes() {
	local f t=0 s
	for f in "$1"/*.db "$1"/*.db-wal "$1"/*.db-shm; do
		[ -f "$f" ] || continue
		s=$(stat -c %s "$f")
		t=$((t + s))
	done
	echo "$t"
}

declare -a H_FIRST H_LAST H_RATIO H_END H_IDLE H_HWM H_GROW H_DB H_DBC H_OUT
measure_hubd() {
	local r=$1 dir=$SCRATCH/hubd-$1 out
	out=$dir/load.out
	log "a6: hubd run $r: $N tasks, $E simulated engines, window $W"
	start_hubd "$dir" ${HUBD_ARGS:-} || return 1
	start_sim "$dir" "$dir/sim.out" -n "$E" -q
	run_load "$dir" "$out" "$N" "$SL" "$CTL_PID" || return 1
	H_DB+=("$(db_bytes "$dir")")
	sleep 2		# a second without input: malloc_trim
	H_IDLE+=("$(rss_kb "$CTL_PID")")
	H_HWM+=("$(awk '/^VmHWM:/ { print $2 }' "/proc/$CTL_PID/status")")
	stop_pid "$SIM_PID"
	stop_controller
	H_DBC+=("$(db_bytes "$dir")")
	H_FIRST+=("$(first_slice "$out" tasks_per_s)")
	H_LAST+=("$(last_slice "$out" tasks_per_s)")
	H_RATIO+=("$(ratio "${H_LAST[-1]}" "${H_FIRST[-1]}")")
	H_END+=("$(last_slice "$out" rss_kb)")
	H_GROW+=("$(growth_per_100k "$out" "$SL")")
	H_OUT+=("$out")
	log "  first $SL ${H_FIRST[-1]}/s, last ${H_LAST[-1]}/s" \
	    "(${H_RATIO[-1]}), RSS at the end $(mib "${H_END[-1]}") MiB," \
	    "2 s later $(mib "${H_IDLE[-1]}") MiB, peak $(mib "${H_HWM[-1]}")" \
	    "MiB, history $(mib $((H_DBC[-1] / 1024))) MiB"
}

P_FIRST= P_LAST= P_RATIO= P_END= P_GROW= P_OUT=
measure_peer() {
	local dir=$SCRATCH/ipcontroller out
	out=$dir/load.out
	log "a6: ipcontroller --sqlitedb: $PN tasks, $E simulated engines"
	start_ipcontroller "$dir" --sqlitedb ${IPC_ARGS:-} || return 1
	start_sim "$dir" "$dir/sim.out" -n "$E" -q
	run_load "$dir" "$out" "$PN" "$PSL" $(controller_pids) || return 1
	stop_pid "$SIM_PID"
	stop_controller
	P_FIRST=$(first_slice "$out" tasks_per_s)
	P_LAST=$(last_slice "$out" tasks_per_s)
	P_RATIO=$(ratio "$P_LAST" "$P_FIRST")
	P_END=$(last_slice "$out" rss_kb)
	P_GROW=$(growth_per_100k "$out" "$PSL")
	P_OUT=$out
}

F_FIRST=() F_LAST=() F_RATIO=()
measure_floor() {
	local out=$SCRATCH/floor-$1.out
	"$LOADGEN" --floor --window "$W" --count "$FN" --slice "$SL" \
	    >"$out" || return 1
	F_FIRST+=("$(first_slice "$out" tasks_per_s)")
	F_LAST+=("$(last_slice "$out" tasks_per_s)")
	F_RATIO+=("$(ratio "${F_LAST[-1]}" "${F_FIRST[-1]}")")
}

for r in $(seq 1 "$REPEAT"); do
	measure_hubd "$r" || exit 1
	log "a6: floor run $r (zmq_proxy + echo, $FN tasks)"
	measure_floor "$r" || exit 1
done
if [ -z "${MILLION_SKIP_PEER:-}" ]; then
	measure_peer || exit 1
fi

echo "== a6: $N tasks through hubd (SQLite history), $E simulated" \
    "engines, window $W, medians of $REPEAT"
echo "-- hubd per slice of $SL (median over runs): tasks/s, VmRSS, VmHWM MiB"
ns=$(slices "${H_OUT[0]}" tasks_per_s | wc -l)
for i in $(seq 1 "$ns"); do
	rs=() ms=() hs=()
	for o in "${H_OUT[@]}"; do
		rs+=("$(slices "$o" tasks_per_s | sed -n "${i}p")")
		ms+=("$(slices "$o" rss_kb | sed -n "${i}p")")
		hs+=("$(slices "$o" hwm_kb | sed -n "${i}p")")
	done
	printf '  %9s %10s %8s %8s\n' "$((i * SL))" "$(median "${rs[@]}")" \
	    "$(mib "$(median "${ms[@]}")")" "$(mib "$(median "${hs[@]}")")"
done
if [ -n "$P_OUT" ]; then
	echo "-- ipcontroller per slice of $PSL (9 processes summed):" \
	    "tasks/s, VmRSS MiB"
	paste <(slices "$P_OUT" done) <(slices "$P_OUT" tasks_per_s) \
	    <(slices "$P_OUT" rss_kb) |
	    awk '{ printf "  %9s %10s %8.1f\n", $1, $2, $3 / 1024 }'
fi

ipc="ipcontroller ($PN tasks, slices of $PSL)"
printf '%-36s %12s %14s\n' "" "hubd ($N)" "floor ($FN)"
printf '%-36s %12s %14s\n' "tasks/s, first $SL" "$(median "${H_FIRST[@]}")" \
    "$(median "${F_FIRST[@]}")"
printf '%-36s %12s %14s\n' "tasks/s, last $SL" "$(median "${H_LAST[@]}")" \
    "$(median "${F_LAST[@]}")"
printf '%-36s %12s %14s\n' "last / first" "$(median "${H_RATIO[@]}")" \
    "$(median "${F_RATIO[@]}")"
printf '%-36s %12s\n' "RSS MiB at the end" "$(mib "$(median "${H_END[@]}")")"
printf '%-36s %12s\n' "RSS MiB 2 s later (trimmed)" \
    "$(mib "$(median "${H_IDLE[@]}")")"
printf '%-36s %12s\n' "peak RSS MiB (VmHWM)" "$(mib "$(median "${H_HWM[@]}")")"
printf '%-36s %12s\n' "RSS growth MiB per 100,000 tasks" \
    "$(median "${H_GROW[@]}")"
printf '%-36s %12s\n' "history on disk MiB (running)" \
    "$(mib $(($(median "${H_DB[@]}") / 1024)))"
printf '%-36s %12s\n' "history on disk MiB (after stop)" \
    "$(mib $(($(median "${H_DBC[@]}") / 1024)))"
if [ -n "$P_OUT" ]; then
	echo "$ipc:"
	printf '  %-34s %12s\n' "tasks/s, first $PSL" "$P_FIRST"
	printf '  %-34s %12s\n' "tasks/s, last $PSL" "$P_LAST"
	printf '  %-34s %12s\n' "last / first" "$P_RATIO"
	printf '  %-34s %12s\n' "RSS MiB at the end" "$(mib "$P_END")"
	printf '  %-34s %12s\n' "RSS growth MiB per 100,000 (scaled)" \
	    "$P_GROW"
fi

END=$(mib "$(median "${H_END[@]}")")
RAT=$(median "${H_RATIO[@]}")
result a6 rss_end_mib "$END" - "<=40" "$(check "$END" "<=" 40)"
result a6 last_first_rate "$RAT" "${P_RATIO:--}" ">=0.9" "$(check "$RAT" ">=" 0.9)"
result a6 rss_mib_per_100k "$(median "${H_GROW[@]}")" "${P_GROW:--}" - INFO
result a6 first_slice_tasks_s "$(median "${H_FIRST[@]}")" "${P_FIRST:--}" - INFO
result a6 floor_last_first "$(median "${F_RATIO[@]}")" - - INFO
