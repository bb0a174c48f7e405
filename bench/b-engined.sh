#!/usr/bin/env bash
# b-engined.sh - engined against ipengine, same hubd, same client (issues
# 3 and 13): start -> registered (median of 5 starts), idle RSS, the
# first apply from a Python client that connects after the engine
# registered, engine CPU per no-op apply and per execute ("x = 1"; engine
# process tree, NAPPLY each), the engine's context switches per apply and
# per execute (all its threads, voluntary + involuntary: steadier than CPU
# on a shared machine), RSS after them, the floor (CPython's own
# cost of a no-op apply, measured here), and whether the heart
#   keeps beating through a CPU-bound task that holds the GIL for
#   SPIN seconds (default 60; BENCH_SPIN=10 for a quick run).
. "$(dirname "$0")/lib.sh"
ENGINED=${ENGINED:-$TOP/engined/engined}	# ENGINED=path: another build
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
	pids=$(tree_pids "$EPID")
	eval "rss_$kind=$(rss_kb $pids)"
	# the first apply (timed; the Python client connects after the
	# engine registered), then NAPPLY applies and NAPPLY executes with
	# the engine's CPU around each batch, then its RSS
	read -r first cpu_a cpu_x rss_n cs_a cs_x < <(client "$NAPPLY" $pids <<'PYEOF'
import os, sys, time, ipyparallel as ipp
n, pids = int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
hz = os.sysconf("SC_CLK_TCK")
def cpu():
    t = 0
    for p in pids:
        try:
            f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        t += int(f[11]) + int(f[12])
    return t / hz
def ctxsw():
    t = 0
    for p in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for k in tasks:
            try:
                for line in open("/proc/%d/task/%s/status" % (p, k)):
                    if "ctxt_switches:" in line:
                        t += int(line.split()[1])
            except (OSError, ValueError):
                pass
    return t
def rss():
    t = 0
    for p in pids:
        try:
            t += int(open("/proc/%d/status" % p).read().split("VmRSS:")[1].split()[0])
        except (OSError, IndexError):
            pass
    return t
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=30)
v = c[c.ids[-1]]
t0 = time.perf_counter()
v.apply_sync(lambda: None)
first = time.perf_counter() - t0
c0, s0 = cpu(), ctxsw()
for a in [v.apply_async(lambda: None) for _ in range(n)]:
    a.get(60)
c1, s1 = cpu(), ctxsw()
for a in [v.execute("x = 1") for _ in range(n)]:
    a.get(60)
c2, s2 = cpu(), ctxsw()
print("%.3f %.1f %.1f %d %.2f %.2f" % (first, (c1 - c0) / n * 1e6, (c2 - c1) / n * 1e6, rss(),
      (s1 - s0) / n, (s2 - s1) / n))
PYEOF
) || exit 1
	eval "first_$kind=$first cpu_$kind=$cpu_a exec_$kind=$cpu_x rssn_$kind=$rss_n csa_$kind=$cs_a csx_$kind=$cs_x"
	log "$kind: first apply $first s, $cpu_a us/apply, $cpu_x us/execute, RSS $rss_n KiB after, $cs_a/$cs_x context switches per apply/execute"

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

# The floor: what CPython itself spends on a no-op apply, in this run:
# unpack the request's buffers, call the function, serialise None (no
# messaging, no threads, no JSON).  No engine can do less per apply.
floor=$("$PY" - "$NAPPLY" <<'PYEOF'
import sys, time
from ipyparallel.serialize import pack_apply_message, serialize_object, unpack_apply_message
n = int(sys.argv[1])
bufs = [bytes(b) for b in pack_apply_message(lambda: None, (), {})]
g = {}
t0 = time.process_time()
for _ in range(n):
    f, args, kwargs = unpack_apply_message([memoryview(b) for b in bufs], g, copy=False)
    serialize_object(f(*args, **kwargs), buffer_threshold=1024, item_threshold=64)
print("%.1f" % ((time.process_time() - t0) / n * 1e6))
PYEOF
)
echo "RESULT 3f floor_cpython_us_per_noop_apply ours=$floor peer=- ratio=- target=- INFO"
echo "RESULT 3a start->registered_us ours=$start_engined peer=$start_ipengine ratio=$(ratio "$start_engined" "$start_ipengine") target=<=0.1 $(check "$(ratio "$start_engined" "$start_ipengine")" '<=' 0.1)"
echo "RESULT 3b idle_rss_kib ours=$rss_engined peer=$rss_ipengine ratio=$(ratio "$rss_engined" "$rss_ipengine") target=ours<=20480 $(check "$rss_engined" '<=' 20480)"
echo "RESULT 3c engine_cpu_us_per_apply ours=$cpu_engined peer=$cpu_ipengine ratio=$(ratio "$cpu_engined" "$cpu_ipengine") target=<=0.125 $(check "$(ratio "$cpu_engined" "$cpu_ipengine")" '<=' 0.125)"
echo "RESULT 3e engine_cpu_us_per_execute ours=$exec_engined peer=$exec_ipengine ratio=$(ratio "$exec_engined" "$exec_ipengine") target=<=0.125 $(check "$(ratio "$exec_engined" "$exec_ipengine")" '<=' 0.125)"
echo "RESULT 3i engine_context_switches_per_apply ours=$csa_engined peer=$csa_ipengine ratio=$(ratio "$csa_engined" "$csa_ipengine") target=- INFO"
echo "RESULT 3j engine_context_switches_per_execute ours=$csx_engined peer=$csx_ipengine ratio=$(ratio "$csx_engined" "$csx_ipengine") target=- INFO"
echo "RESULT 3g first_apply_after_registered_s ours=$first_engined peer=$first_ipengine ratio=$(ratio "$first_engined" "$first_ipengine") target=ours<=0.1 $(check "$first_engined" '<=' 0.1)"
echo "RESULT 3h rss_kib_after_${NAPPLY}_applies_and_executes ours=$rssn_engined peer=$rssn_ipengine ratio=$(ratio "$rssn_engined" "$rssn_ipengine") target=ours<=30720 $(check "$rssn_engined" '<=' 30720)"
echo "RESULT 3d heartbeat_through_${SPIN}s_cpu_task ours=$hb_engined peer=$hb_ipengine ratio=- target=kept $( [ "$hb_engined" = kept ] && echo PASS || echo MISS)"
