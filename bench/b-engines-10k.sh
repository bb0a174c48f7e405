#!/bin/bash
# b-engines-10k.sh - item 3: 10,000 simulated engines.
#
# tools/simengines registers N10K_ENGINES engines (heart-only apart from
# the first N10K_SHELLS, which also get a shell: descriptors are capped at
# 20,000 per process here) against hubd, then against ipcontroller, with
# the same heartbeat period (PING ms, ipcontroller's default 3000).  It
# reports the time until the controller had announced every engine
# (registration_notification).  Then, after SETTLE seconds, the
# controller's CPU (utime+stime from /proc, summed over ipcontroller's
# process tree) is taken over STEADY seconds of heartbeats alone, and
# the simulator reports whether any engine was dropped.
# Targets: 10,000 engines registered within 10 s and still registered;
# hubd's heartbeat CPU under 10% of one core.
. "$(dirname "$0")/lib.sh"

N=${N10K_ENGINES:-10000}
SHELLS=${N10K_SHELLS:-1000}
PING=${PING:-3000}
SETTLE=${SETTLE:-5}
STEADY=${STEADY:-30}
REGMAX_hubd=${REGMAX_HUBD:-120}
REGMAX_ipcontroller=${REGMAX_PEER:-300}

ulimit -n "$(ulimit -Hn)" 2>/dev/null
declare -A REG REGD CPU STILL UNREG

measure() {
	local kind=$1 dir=$SCRATCH/$1 regmax out c0 c1 t0 t1 phase
	shift
	regmax=REGMAX_$kind
	log "3: $kind, $N engines, ping ${PING} ms"
	start_controller "$kind" "$dir" --ping="$PING" "$@" || return 1
	out=$dir/sim.out
	start_sim "$dir" "$out" -n "$N" --shells "$SHELLS" --report=5 \
	    --timeout "${!regmax}" --duration $((SETTLE + STEADY + 5))
	if ! wait_for $((${!regmax} + 60)) _grep_file "^phase steady" "$out"
	then
		log "$kind: simulator never finished registering"
		tail -3 "$out" "$out.err" >&2
		return 1
	fi
	phase=$(grep "^phase steady" "$out")
	log "  $phase"
	sleep "$SETTLE"
	c0=$(cpu_ticks $(controller_pids))
	t0=$(date +%s%N)
	sleep "$STEADY"
	c1=$(cpu_ticks $(controller_pids))
	t1=$(date +%s%N)
	CPU[$kind]=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v dt=$((t1 - t0)) \
	    'BEGIN { printf "%.2f\n", c / hz / (dt / 1e9) * 100 }')
	wait_for 60 _gone "$SIM_PID" || stop_pid "$SIM_PID"
	wait "$SIM_PID" 2>/dev/null
	REG[$kind]=$(kv "$out" registration_s)
	REGD[$kind]=$(kv "$out" registered_max)
	STILL[$kind]=$(kv "$out" still_registered)
	UNREG[$kind]=$(( $(kv "$out" unregistered) + $(kv "$out" lost) ))
	[ "${REG[$kind]}" = "-1.000" ] && REG[$kind]=nan
	log "  registered ${REGD[$kind]} in ${REG[$kind]} s; CPU" \
	    "${CPU[$kind]}% over ${STEADY} s; ${STILL[$kind]} still" \
	    "registered, ${UNREG[$kind]} dropped"
	stop_controller
}

measure hubd ${HUBD_ARGS:-} || exit 1
measure ipcontroller ${IPC_ARGS:-} || exit 1

echo "== 3: $N simulated engines ($SHELLS with shells), ping $PING ms"
printf '%-34s %12s %14s %10s\n' "" hubd ipcontroller ratio
printf '%-34s %12s %14s %10s\n' "engines registered (peak)" "${REGD[hubd]}" \
    "${REGD[ipcontroller]}" ""
printf '%-34s %12s %14s %10s\n' "seconds until all registered" \
    "${REG[hubd]}" "${REG[ipcontroller]}" \
    "$(ratio "${REG[hubd]}" "${REG[ipcontroller]}")"
printf '%-34s %12s %14s %10s\n' "still registered at the end" \
    "${STILL[hubd]}" "${STILL[ipcontroller]}" ""
printf '%-34s %12s %14s %10s\n' "heartbeat CPU, % of a core" "${CPU[hubd]}" \
    "${CPU[ipcontroller]}" "$(ratio "${CPU[hubd]}" "${CPU[ipcontroller]}")"

v=MISS
if [ "${REGD[hubd]}" = "$N" ] && [ "$(check "${REG[hubd]}" "<=" 10)" = PASS ]
then
	v=PASS
fi
result 3 registration_s "${REG[hubd]}" "${REG[ipcontroller]}" "<=10" "$v"
v=MISS
if [ "${STILL[hubd]}" = "$N" ] && [ "${UNREG[hubd]}" = 0 ]; then
	v=PASS
fi
result 3 still_registered "${STILL[hubd]}" "${STILL[ipcontroller]}" "=$N" "$v"
result 3 heartbeat_cpu_pct "${CPU[hubd]}" "${CPU[ipcontroller]}" "<10" \
    "$(check "${CPU[hubd]}" "<" 10)"
