#!/usr/bin/env bash
# b-engined.sh - engined against ipengine, same hubd, same client (issue 3):
#   start -> registered (median of 5 starts), idle RSS, engine CPU per
#   no-op apply (engine process tree, 2000 applies), and whether the heart
#   keeps beating through a CPU-bound task that holds the GIL for
#   SPIN seconds (default 60; BENCH_SPIN=10 for a quick run).
. "$(dirname "$0")/lib.sh"
ENGINED=$TOP/engined/engined
SPIN=${BENCH_SPIN:-60}
NAPPLY=${BENCH_NAPPLY:-2000}
prof=$SCRATCH/prof
start_hubd "$prof" --log-level=INFO || exit 1

# launch_engine KIND: start one engine in its own group; sets EPID.
launch_engine() {
	if [ "$1" = engined ]; then
		setsid "$ENGINED" --profile-dir="$prof" >"$SCRATCH/e.log" 2>&1 &
	else
		setsid "$PY" -m ipyparallel.engine --profile-dir="$prof" \
		    --log-level=30 >"$SCRATCH/e.log" 2>&1 &
	fi
	EPID=$!
	_pgids+=("$EPID")
}

nreg() {
	grep -c "registered (" "$prof/controller.log"
}

_nreg_ge() {
	[ "$(nreg)" -ge "$1" ]
}

client() {
	"$PY" - "$prof" "$@"
}

for kind in engined ipengine; do
	times=()
	for i in 1 2 3 4 5; do
		before=$(nreg)
		t0=$(date +%s%N)
		launch_engine "$kind"
		wait_for 30 _nreg_ge $((before + 1)) || { log "$kind did not register"; exit 1; }
		times+=("$((($(date +%s%N) - t0) / 1000))")
		stop_group "$EPID"
	done
	eval "start_$kind=$(median "${times[@]}")"
	log "$kind start->registered (us): ${times[*]}"

	before=$(nreg)
	launch_engine "$kind"
	wait_for 30 _nreg_ge $((before + 1)) || exit 1
	sleep 2
	eval "rss_$kind=$(rss_kb $(tree_pids "$EPID"))"
	pids=$(tree_pids "$EPID")
	# warm up first: the first apply imports ipyparallel in the engine
	for n in 1 "$NAPPLY"; do
	[ "$n" = "$NAPPLY" ] && c0=$(cpu_ticks $pids)
	client "$n" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=30)
v = c[c.ids[-1]]
v.apply_sync(lambda: None)
ars = [v.apply_async(lambda: None) for _ in range(int(sys.argv[2]))]
for a in ars:
    a.get(60)
PYEOF
	done
	c1=$(cpu_ticks $pids)
	eval "cpu_$kind=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v n="$NAPPLY" \
	    'BEGIN { printf "%.1f", d / hz / n * 1e6 }')"
	log "$kind: $(( (c1 - c0) )) ticks for $NAPPLY applies"

	kept=$(client "$SPIN" <<'PYEOF'
import sys, time, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=30)
eid = c.ids[-1]
def spin(secs):
    import time
    end = time.time() + secs
    while time.time() < end:
        pass
    return True
ar = c[eid].apply_async(spin, float(sys.argv[2]))
ok = ar.get(float(sys.argv[2]) + 60)
time.sleep(1)
print("kept" if ok and eid in c.ids else "lost")
PYEOF
)
	eval "hb_$kind=$kept"
	stop_group "$EPID"
done

echo "RESULT 3a start->registered_us ours=$start_engined peer=$start_ipengine ratio=$(ratio "$start_engined" "$start_ipengine") target=<=0.1 $(check "$(ratio "$start_engined" "$start_ipengine")" '<=' 0.1)"
echo "RESULT 3b idle_rss_kib ours=$rss_engined peer=$rss_ipengine ratio=$(ratio "$rss_engined" "$rss_ipengine") target=ours<=20480 $(check "$rss_engined" '<=' 20480)"
echo "RESULT 3c engine_cpu_us_per_apply ours=$cpu_engined peer=$cpu_ipengine ratio=$(ratio "$cpu_engined" "$cpu_ipengine") target=<=0.25 $(check "$(ratio "$cpu_engined" "$cpu_ipengine")" '<=' 0.25)"
echo "RESULT 3d heartbeat_through_${SPIN}s_cpu_task ours=$hb_engined peer=$hb_ipengine ratio=- target=kept $( [ "$hb_engined" = kept ] && echo PASS || echo MISS)"
