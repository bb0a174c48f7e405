#!/bin/bash
# b-ippfs.sh - issue 4, acceptance item 3: ippfs against the Python
# client, on hubd + two engined, and against a trivial FUSE file system.
#
#  (a) exec round trip: open engines/0/exec, write "6 * 7", read the task
#      id, close, then cat tasks/ID/result (tools/fsbench exec); p50.
#      Peer: DirectView.execute("6 * 7", silent=False, block=True) and
#      wait_for_output() (bench/pyfs.py).
#      Target p50 <= 500 us.
#  (a') the same, the result read on the exec fd after the id's end of
#      file (ippfs(1); fsbench exec -r): one file opened, not two.
#      Issue 13 acceptance 4: p50 <= 1.3x the floor, which for (a') is
#      the relay's round trip plus one hellofs open+read+close.
#  (b) FS_TASKS tasks in one write to tasks/batch, then every
#      tasks/ID/result read (fsbench batch); tasks/s, median of FS_REPEAT.
#      Peer: as many LoadBalancedView.apply_async(f), every result
#      awaited.  Target >= 20,000 tasks/s.  For context, tools/loadgen
#      --execute "6 * 7" (window 256) through the same hubd and engines,
#      what they allow a C client without ippfs, is printed as INFO, and
#      the CPU each process spent per 1,000 tasks is logged.
#  (b') the same, every result read from the tasks/batch fd's results
#      stream (after the ids; ippfs(1)) instead of tasks/ID/result
#      (fsbench batch -r); median of FS_REPEAT.  Issue 13 acceptance 4:
#      >= 6,000 tasks/s and >= 10x the Python client.
#  (c) FS_PUSH_MB megabytes written to engines/0/ns/x.raw in 1 MiB
#      writes and closed (the close returns when the engine has them);
#      MB/s, median of FS_PUSH_N.  Peer: DirectView.push({'x': bytes}).
#      Target >= 1,000 MB/s.
#  (c') the value read back: open, read ns/x.raw to EOF in 1 MiB reads
#      into one reused buffer, close (fsbench pull); MB/s, median of
#      FS_PUSH_N.  Peer: DirectView.pull('x').  Target >= 1,000 MB/s.
#  (c'') the Python client's push and pull of (c) and (c') through a
#      fresh hubd and engined against the same through a fresh
#      ipcontroller and ipengines (issue 13 acceptance 5: >= 3x).
#  (d) stat of /status and open+read+close of /status (fsbench stat,
#      read; FS_STAT each), p50.  Peer: tools/hellofs, a trivial
#      single-threaded libfuse low-level file system with the same
#      timeouts and direct_io, mounted beside ippfs; the two are measured
#      in alternating rounds (FS_ROUNDS, medians) so that both see the
#      same load on the machine.  Target ratio <= 2.  Measured on the
#      fresh mount, and again after (b) with its tasks in the tables.
#
# Each of (a)-(c) also prints its floor on this machine (see "Floors"
# below): the same traffic through a bare relay and a trivial FUSE file
# system, with no logic, which no implementation can beat here.
#
# ippfs is unmounted before the Python client runs, so that it does not
# spend the machine's two cores following the peer's traffic.
# Knobs (dev: FS_RTT=200 FS_TASKS=1000 FS_PUSH_MB=20 FS_STAT=2000):
# FS_RTT (2000), FS_TASKS (10000), FS_REPEAT (3), FS_PUSH_MB (100),
# FS_PUSH_N (5), FS_STAT (20000), FS_ROUNDS (20), PY_RTT (500),
# FS_SKIP_PEER (set: ours only), HUBD_ARGS, IPPFS_ARGS; HUBD, ENGINED,
# IPPFS (other binaries, as bench/compare.sh gives).
. "$(dirname "$0")/lib.sh"

ENGINED=${ENGINED:-$TOP/engined/engined}
IPPFS=${IPPFS:-$TOP/ippfs/ippfs}
FSBENCH=$TOP/tools/fsbench
HELLOFS=$TOP/tools/hellofs
RTT=${FS_RTT:-2000}
TASKS=${FS_TASKS:-10000}
REPEAT=${FS_REPEAT:-3}
PUSH_MB=${FS_PUSH_MB:-100}
PUSH_N=${FS_PUSH_N:-5}
NSTAT=${FS_STAT:-20000}
ROUNDS=${FS_ROUNDS:-20}
PYRTT=${PY_RTT:-500}
NENG=2

for f in "$ENGINED" "$IPPFS" "$FSBENCH" "$HELLOFS"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is not built (run make first)" >&2
		exit 2
	fi
done
if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "bench: needs /dev/fuse and fusermount3" >&2
	exit 2
fi

# Mounts are undone before lib.sh's cleanup kills and removes anything:
# rm -rf must never walk into a live mount.
_mounts=()
unmount() {
	mountpoint -q "$1" 2>/dev/null || return 0
	fusermount3 -u "$1" 2>/dev/null || fusermount3 -u -z "$1" 2>/dev/null
}
_fs_cleanup() {
	local m
	for m in "${_mounts[@]}"; do
		unmount "$m"
	done
	cleanup
}
trap _fs_cleanup EXIT

_mounted() {
	mountpoint -q "$1"
}

# mount_fs MNT LOG CMD...: start a FUSE daemon in the foreground
# (background job), wait for its mount; sets FS_PID.
mount_fs() {
	local mnt=$1 logf=$2
	shift 2
	mkdir -p "$mnt"
	"$@" >"$logf" 2>&1 &
	FS_PID=$!
	_pids+=("$FS_PID")
	_mounts+=("$mnt")
	if ! wait_for 10 _mounted "$mnt"; then
		log "$1 did not mount"
		tail -5 "$logf" >&2
		return 1
	fi
}

# stop_fs MNT PID: unmount (the daemon then exits) and reap it.
stop_fs() {
	unmount "$1"
	wait_for 5 _gone "$2" || kill -TERM "$2" 2>/dev/null
	stop_pid "$2"
}

# fsb OUT ARGS...: run fsbench, keep its output, bounded.
fsb() {
	local out=$1
	shift
	if ! timeout 600 "$FSBENCH" "$@" >"$out" 2>"$out.err"; then
		log "fsbench $1 failed:"
		tail -3 "$out.err" >&2
	fi
}

# measure_d TAG N: (d) in ROUNDS alternating rounds of N/ROUNDS each;
# sets DS_TAG, DR_TAG (ippfs) and HS_TAG, HR_TAG (hellofs), medians of
# the rounds' p50s.
measure_d() {
	local tag=$1 n=$(($2 / ROUNDS + 1)) r f
	local -a ds=() dr=() hs=() hr=()
	for r in $(seq 1 "$ROUNDS"); do
		f=$SCRATCH/d-$tag-$r
		fsb "$f-hs" stat "$HELLO/status" -n "$n"
		fsb "$f-ds" stat "$MNT/status" -n "$n"
		fsb "$f-hr" read "$HELLO/status" -n "$n"
		fsb "$f-dr" read "$MNT/status" -n "$n"
		hs+=("$(kv "$f-hs" p50_us)")
		ds+=("$(kv "$f-ds" p50_us)")
		hr+=("$(kv "$f-hr" p50_us)")
		dr+=("$(kv "$f-dr" p50_us)")
	done
	printf -v "DS_$tag" %s "$(median "${ds[@]}")"
	printf -v "DR_$tag" %s "$(median "${dr[@]}")"
	printf -v "HS_$tag" %s "$(median "${hs[@]}")"
	printf -v "HR_$tag" %s "$(median "${hr[@]}")"
}

# ---------------------------------------------------------- (d) peer
HELLO=$SCRATCH/hello
mount_fs "$HELLO" "$SCRATCH/hellofs.log" "$HELLOFS" "$HELLO" || exit 1
HELLO_PID=$FS_PID

# ---------------------------------------------------------- the cluster
DIR=$SCRATCH/prof
MNT=$SCRATCH/mnt
# start_engined DIR: NENG engined for the controller in DIR; sets ENG_PIDS.
start_engined() {
	local dir=$1 i
	ENG_PIDS=()
	for i in $(seq 1 $NENG); do
		"$ENGINED" --profile-dir="$dir" >"$dir/engined-$i.log" 2>&1 &
		_pids+=("$!")
		ENG_PIDS+=("$!")
	done
}

# start_cluster DIR MNT LOG [HUBD_ARG...]: hubd, NENG engined and ippfs
# mounted on MNT; sets CTL_PID, ENG_PIDS and FS_PID.
start_cluster() {
	local dir=$1 mnt=$2 logf=$3
	shift 3
	start_hubd "$dir" "$@" ${HUBD_ARGS:-} || return 1
	start_engined "$dir"
	mount_fs "$mnt" "$logf" "$IPPFS" --profile-dir="$dir" -f \
	    ${IPPFS_ARGS:-} "$mnt"
}

log "hubd + $NENG engined + ippfs"
start_cluster "$DIR" "$MNT" "$SCRATCH/ippfs.log" || exit 1
IPPFS_PID=$FS_PID
if ! wait_for 30 _grep_file "^engines $NENG\$" "$MNT/status"; then
	log "the engines did not register"
	exit 1
fi

# (d) first, on a fresh mount
log "(d) ippfs and hellofs: $NSTAT stat and read of status each"
measure_d 1 "$NSTAT"
log "  stat p50 $DS_1 us (hellofs $HS_1), read p50 $DR_1 us (hellofs $HR_1)"

log "(a) ippfs: $RTT exec round trips"
fsb "$SCRATCH/ippfs-exec" exec "$MNT" 0 -n "$RTT"
log "  p50 $(kv "$SCRATCH/ippfs-exec" p50_us) us," \
    "result $(kv "$SCRATCH/ippfs-exec" last_result)"

log "(a') ippfs: $RTT exec round trips, the result read on the exec fd"
fsb "$SCRATCH/ippfs-exec-r" exec "$MNT" 0 -n "$RTT" -r
log "  p50 $(kv "$SCRATCH/ippfs-exec-r" p50_us) us," \
    "result $(kv "$SCRATCH/ippfs-exec-r" last_result)"

log "(c) ippfs: push $PUSH_MB MB to ns/x.raw, $PUSH_N times"
# cpu_ms_per_op C0 C1 N: "ippfs X, hubd Y, engines Z" ms per operation
# from two (ippfs hubd engines) cpu_ticks samples (engines: both, as
# which engined became engine 0 is not known here)
cpu_ms_per_op() {
	local -a a=($1) b=($2)
	echo "ippfs $(((b[0] - a[0]) * 1000 / HZ / $3))," \
	    "hubd $(((b[1] - a[1]) * 1000 / HZ / $3))," \
	    "engines $(((b[2] - a[2]) * 1000 / HZ / $3))"
}
c0="$(cpu_ticks "$IPPFS_PID") $(cpu_ticks "$CTL_PID") $(cpu_ticks "${ENG_PIDS[@]}")"
fsb "$SCRATCH/ippfs-push" push "$MNT/engines/0/ns/x.raw" -s "$PUSH_MB" \
    -n "$PUSH_N"
c1="$(cpu_ticks "$IPPFS_PID") $(cpu_ticks "$CTL_PID") $(cpu_ticks "${ENG_PIDS[@]}")"
log "  $(kv "$SCRATCH/ippfs-push" mb_per_s) MB/s; CPU ms per push:" \
    "$(cpu_ms_per_op "$c0" "$c1" $((PUSH_N + 1)))"
log "(c') ippfs: pull $PUSH_MB MB from ns/x.raw, $PUSH_N times"
fsb "$SCRATCH/ippfs-pull" pull "$MNT/engines/0/ns/x.raw" -n "$PUSH_N"
c2="$(cpu_ticks "$IPPFS_PID") $(cpu_ticks "$CTL_PID") $(cpu_ticks "${ENG_PIDS[@]}")"
log "  $(kv "$SCRATCH/ippfs-pull" mb_per_s) MB/s" \
    "($(kv "$SCRATCH/ippfs-pull" bytes) bytes); CPU ms per pull:" \
    "$(cpu_ms_per_op "$c1" "$c2" $((PUSH_N + 1)))"
rm -f "$MNT/engines/0/ns/x.raw"
# hubd's history still writes the pushed and pulled buffers (1 GB at the
# defaults) after the last pull returned; (b) starts once it is done, as
# its figure is the batch's, not the tail of (c)'s history writes
log "  hubd's history caught up $(settle "$CTL_PID") s after the last pull"

# where the CPU goes during (b): ms per 1,000 tasks per process
rates=()
for r in $(seq 1 "$REPEAT"); do
	log "(b) ippfs: $TASKS tasks through tasks/batch, round $r"
	c0=($(cpu_ticks "$IPPFS_PID") $(cpu_ticks "$CTL_PID") \
	    $(cpu_ticks "${ENG_PIDS[@]}"))
	fsb "$SCRATCH/ippfs-batch-$r" batch "$MNT" -n "$TASKS"
	c1=($(cpu_ticks "$IPPFS_PID") $(cpu_ticks "$CTL_PID") \
	    $(cpu_ticks "${ENG_PIDS[@]}"))
	rates+=("$(kv "$SCRATCH/ippfs-batch-$r" tasks_per_s)")
	log "  ${rates[-1]} tasks/s (submit $(kv "$SCRATCH/ippfs-batch-$r" \
	    submit_s) s, results $(kv "$SCRATCH/ippfs-batch-$r" results_s) s);" \
	    "CPU ms per 1,000 tasks: ippfs" \
	    "$(((c1[0] - c0[0]) * 1000000 / HZ / TASKS))," \
	    "hubd $(((c1[1] - c0[1]) * 1000000 / HZ / TASKS))," \
	    "engines $(((c1[2] - c0[2]) * 1000000 / HZ / TASKS))"
done
OURS_B=$(median "${rates[@]}")
srates=()
for r in $(seq 1 "$REPEAT"); do
	log "(b') ippfs: $TASKS tasks through tasks/batch, results from its" \
	    "stream, round $r"
	c0=($(cpu_ticks "$IPPFS_PID") $(cpu_ticks "$CTL_PID") \
	    $(cpu_ticks "${ENG_PIDS[@]}"))
	fsb "$SCRATCH/ippfs-stream-$r" batch "$MNT" -n "$TASKS" -r
	c1=($(cpu_ticks "$IPPFS_PID") $(cpu_ticks "$CTL_PID") \
	    $(cpu_ticks "${ENG_PIDS[@]}"))
	srates+=("$(kv "$SCRATCH/ippfs-stream-$r" tasks_per_s)")
	log "  ${srates[-1]} tasks/s ($(kv "$SCRATCH/ippfs-stream-$r" \
	    results) results);" \
	    "CPU ms per 1,000 tasks: ippfs" \
	    "$(((c1[0] - c0[0]) * 1000000 / HZ / TASKS))," \
	    "hubd $(((c1[1] - c0[1]) * 1000000 / HZ / TASKS))," \
	    "engines $(((c1[2] - c0[2]) * 1000000 / HZ / TASKS))"
done
OURS_BS=$(median "${srates[@]}")

# (d) again with the history of every task above in ippfs's tables,
# once hubd's task database has caught up
settle "$CTL_PID" >/dev/null
measure_d 2 "$((NSTAT / 4))"
stop_fs "$MNT" "$IPPFS_PID"
stop_fs "$HELLO" "$HELLO_PID"

# What hubd + engined do without ippfs: loadgen, the same execute_request
log "(b) context: loadgen, $TASKS executes, window 256, same cluster"
timeout 300 "$LOADGEN" --profile-dir "$DIR" --count "$TASKS" --window 256 \
    --engines $NENG --execute "6 * 7" >"$SCRATCH/loadgen" \
    2>"$SCRATCH/loadgen.err" ||
    log "loadgen failed: $(tail -1 "$SCRATCH/loadgen.err")"
LG=$(kv "$SCRATCH/loadgen" tasks_per_s)
# and one at a time: the round trip of an execute through hubd and an
# engined with no ippfs, for (a)
timeout 300 "$LOADGEN" --profile-dir "$DIR" --count "$RTT" --window 1 \
    --engines $NENG --execute "6 * 7" >"$SCRATCH/loadgen-1" \
    2>"$SCRATCH/loadgen-1.err" ||
    log "loadgen failed: $(tail -1 "$SCRATCH/loadgen-1.err")"
LG1=$(kv "$SCRATCH/loadgen-1" lat_p50_us)
log "(a) context: loadgen, $RTT executes one at a time: p50 $LG1 us"

# The same batch under the greedy scheduler (--hwm 0, ipyparallel's
# TaskScheduler.hwm = 0): engines get tasks queued ahead instead of one at
# a time, so the round trip per task stops bounding each engine.  A
# second hubd, two engined and a second mount, for FS_REPEAT rounds.
log "(b) greedy: hubd --hwm 0, $TASKS tasks, $REPEAT rounds"
CTL1=$CTL_PID
ENG1=("${ENG_PIDS[@]}")
DIR2=$SCRATCH/prof-greedy
MNT2=$SCRATCH/mnt-greedy
start_cluster "$DIR2" "$MNT2" "$SCRATCH/ippfs-greedy.log" --hwm 0 || exit 1
CTL2=$CTL_PID G_FS=$FS_PID
G_PIDS=("${ENG_PIDS[@]}")
CTL_PID=$CTL1
ENG_PIDS=("${ENG1[@]}")
grates=()
gsrates=()
if wait_for 30 _grep_file "^engines $NENG\$" "$MNT2/status"; then
	for r in $(seq 1 "$REPEAT"); do
		fsb "$SCRATCH/greedy-batch-$r" batch "$MNT2" -n "$TASKS"
		grates+=("$(kv "$SCRATCH/greedy-batch-$r" tasks_per_s)")
		fsb "$SCRATCH/greedy-stream-$r" batch "$MNT2" -n "$TASKS" -r
		gsrates+=("$(kv "$SCRATCH/greedy-stream-$r" tasks_per_s)")
		log "  ${grates[-1]} tasks/s; results stream ${gsrates[-1]}"
	done
else
	log "the greedy cluster's engines did not register"
fi
OURS_BG=$(median "${grates[@]}")
OURS_BGS=$(median "${gsrates[@]}")
stop_fs "$MNT2" "$G_FS"
for p in "${G_PIDS[@]}" "$CTL2"; do
	stop_pid "$p"
done

# Floors: what this machine allows with no controller, engine or ippfs
# logic at all.  loadgen --floor relays the same requests through a bare
# zmq_proxy process to a process that echoes each request's parts without
# its buffers (the reply), so one task costs the same TCP hops and
# processes as client -> hub -> engine and back, and no more.
#  (a) that round trip at window 1, plus two open+read+close of hellofs
#      (the exec file and the result file; the write is not counted);
#  (b) the lesser of that relay's throughput at window 256 and reading
#      TASKS files from hellofs one after the other (every result read);
#  (c) one PUSH_MB request through the relay (two hops of the data), the
#      FUSE writes not counted.
# hellofs's better read p50 of the two (d) phases: the first one, on a
# machine that has just been idle, can catch every wake-up slow
HRF=$(awk -v a="$HR_1" -v b="$HR_2" 'BEGIN { print (b != "" && b < a) ? b : a }')
log "floors: bare proxy + echo; hellofs open+read+close p50 $HRF us"
timeout 300 "$LOADGEN" --floor --count "$RTT" --window 1 \
    >"$SCRATCH/floor-a" 2>"$SCRATCH/floor-a.err" ||
    log "loadgen --floor failed: $(tail -1 "$SCRATCH/floor-a.err")"
timeout 300 "$LOADGEN" --floor --count "$TASKS" --window 256 \
    >"$SCRATCH/floor-b" 2>"$SCRATCH/floor-b.err" ||
    log "loadgen --floor failed: $(tail -1 "$SCRATCH/floor-b.err")"
timeout 600 "$LOADGEN" --floor --count "$PUSH_N" --window 1 --nbufs 1 \
    --bufsize "$((PUSH_MB * 1000000))" --timeout 120 \
    >"$SCRATCH/floor-c" 2>"$SCRATCH/floor-c.err" ||
    log "loadgen --floor failed: $(tail -1 "$SCRATCH/floor-c.err")"
FA=$(awk -v l="$(kv "$SCRATCH/floor-a" lat_p50_us)" -v r="$HRF" \
    'BEGIN { if (l == "" || r == "") print "nan";
	else printf "%.1f", l + 2 * r }')
FA1=$(awk -v l="$(kv "$SCRATCH/floor-a" lat_p50_us)" -v r="$HRF" \
    'BEGIN { if (l == "" || r == "") print "nan";
	else printf "%.1f", l + r }')
FB=$(awk -v t="$(kv "$SCRATCH/floor-b" tasks_per_s)" -v r="$HRF" \
    'BEGIN { if (t == "" || r == "" || r == 0) { print "nan"; exit }
	f = 1e6 / r; if (t < f) f = t; printf "%.0f", f }')
FC=$(awk -v l="$(kv "$SCRATCH/floor-c" lat_p50_us)" -v mb="$PUSH_MB" \
    'BEGIN { if (l == "" || l == 0) print "nan";
	else printf "%.1f", mb / (l / 1e6) }')
log "  (a) round trip $(kv "$SCRATCH/floor-a" lat_p50_us) us -> $FA us;" \
    "(b) relay $(kv "$SCRATCH/floor-b" tasks_per_s)/s, hellofs" \
    "reads $(awk -v r="$HRF" 'BEGIN { printf "%.0f", 1e6 / r }')/s;" \
    "(c) $(kv "$SCRATCH/floor-c" lat_p50_us) us -> $FC MB/s"

# py_push KIND DIR OUT: a fresh controller (hubd with HUBD_ARGS, or
# ipcontroller) and NENG engines of the same family (engined, ipengine),
# the Python client's pushes and pulls (pyfs.py --only push) into OUT,
# everything stopped again.
py_push() {
	local kind=$1 dir=$2 out=$3 i p

	ENG_PIDS=()
	ENGINE_PGIDS=()
	if [ "$kind" = hubd ]; then
		start_hubd "$dir" ${HUBD_ARGS:-} || return 1
		start_engined "$dir"
	else
		start_ipcontroller "$dir" || return 1
		for i in $(seq 1 "$NENG"); do
			start_ipengine "$dir"
		done
	fi
	timeout 1800 "$PY" "$BENCH_DIR/pyfs.py" --profile-dir "$dir" \
	    --engines "$NENG" --only push --push-mb "$PUSH_MB" \
	    --push-n "$PUSH_N" >"$out" 2>"$out.err" ||
	    { log "pyfs.py against $kind failed"; tail -5 "$out.err" >&2; }
	log "  push $(kv "$out" push_mb_per_s) MB/s," \
	    "pull $(kv "$out" pull_mb_per_s) MB/s"
	for p in "${ENG_PIDS[@]}"; do
		stop_pid "$p"
	done
	for p in "${ENGINE_PGIDS[@]}"; do
		stop_group "$p"
	done
	stop_controller
}

# ---------------------------------------------------------- the peer
if [ -z "${FS_SKIP_PEER:-}" ]; then
	log "Python client: $PYRTT execute, $TASKS x $REPEAT tasks," \
	    "push $PUSH_MB MB x $PUSH_N"
	if ! timeout 1800 "$PY" "$BENCH_DIR/pyfs.py" --profile-dir "$DIR" \
	    --engines $NENG --rtt "$PYRTT" --tasks "$TASKS" \
	    --repeat "$REPEAT" --push-mb "$PUSH_MB" --push-n "$PUSH_N" \
	    >"$SCRATCH/pyfs" 2>"$SCRATCH/pyfs.err"; then
		log "pyfs.py failed"
		tail -5 "$SCRATCH/pyfs.err" >&2
	fi
	grep '^tasks_round' "$SCRATCH/pyfs" >&2
	for p in "${ENG_PIDS[@]}" "$CTL_PID"; do
		stop_pid "$p"
	done
	# (c'') the Python client's pushes and pulls alone, on a fresh
	# cluster of each kind: the one above has the whole run's history
	# behind it, ipcontroller's would not
	for kind in hubd ipcontroller; do
		log "Python client, fresh $kind and $NENG engines:" \
		    "push and pull $PUSH_MB MB x $PUSH_N"
		py_push "$kind" "$SCRATCH/prof-push-$kind" \
		    "$SCRATCH/pyfs-push-$kind"
	done
else
	: >"$SCRATCH/pyfs"
fi
touch "$SCRATCH/pyfs-push-hubd" "$SCRATCH/pyfs-push-ipcontroller"

A=$(kv "$SCRATCH/ippfs-exec" p50_us)
A90=$(kv "$SCRATCH/ippfs-exec" p90_us)
PA=$(kv "$SCRATCH/pyfs" exec_p50_us)
PB=$(kv "$SCRATCH/pyfs" tasks_per_s)
C=$(kv "$SCRATCH/ippfs-push" mb_per_s)
PC=$(kv "$SCRATCH/pyfs" push_mb_per_s)
CP=$(kv "$SCRATCH/ippfs-pull" mb_per_s)
PCP=$(kv "$SCRATCH/pyfs" pull_mb_per_s)
HC=$(kv "$SCRATCH/pyfs-push-hubd" push_mb_per_s)
HCP=$(kv "$SCRATCH/pyfs-push-hubd" pull_mb_per_s)
IC=$(kv "$SCRATCH/pyfs-push-ipcontroller" push_mb_per_s)
ICP=$(kv "$SCRATCH/pyfs-push-ipcontroller" pull_mb_per_s)
DS=$DS_1 DR=$DR_1 HS=$HS_1 HR=$HR_1

echo "== item 3: ippfs (hubd + $NENG engined) beside the Python client" \
    "and hellofs"
printf '%-40s %12s %12s %8s\n' "" ippfs peer ratio
printf '%-40s %12s %12s %8s\n' "(a) exec round trip p50 us" "$A" "$PA" \
    "$(ratio "$A" "$PA")"
printf '%-40s %12s %12s %8s\n' "(a') exec, result on the exec fd, p50" \
    "$(kv "$SCRATCH/ippfs-exec-r" p50_us)" "$PA" \
    "$(ratio "$(kv "$SCRATCH/ippfs-exec-r" p50_us)" "$PA")"
printf '%-40s %12s %12s %8s\n' "(a) loadgen execute p50 us, no ippfs" \
    "$LG1" "" ""
printf '%-40s %12s %12s %8s\n' "(a) exec round trip p90 us" "$A90" \
    "$(kv "$SCRATCH/pyfs" exec_p90_us)" ""
printf '%-40s %12s %12s %8s\n' "(b) tasks/s, $TASKS tasks" "$OURS_B" "$PB" \
    "$(ratio "$OURS_B" "$PB")"
printf '%-40s %12s %12s %8s\n' "(b') tasks/s, results stream" \
    "$OURS_BS" "$PB" "$(ratio "$OURS_BS" "$PB")"
printf '%-40s %12s %12s %8s\n' "(b) tasks/s, greedy (hubd --hwm 0)" \
    "$OURS_BG" "" ""
printf '%-40s %12s %12s %8s\n' "(b') greedy, results stream" \
    "$OURS_BGS" "$PB" "$(ratio "$OURS_BGS" "$PB")"
printf '%-40s %12s %12s %8s\n' "(b) loadgen executes/s, same cluster" \
    "$LG" "" ""
printf '%-40s %12s %12s %8s\n' "(c) push MB/s, $PUSH_MB MB" "$C" "$PC" \
    "$(ratio "$C" "$PC")"
printf '%-40s %12s %12s %8s\n' "(c') pull MB/s, $PUSH_MB MB" "$CP" "$PCP" \
    "$(ratio "$CP" "$PCP")"
printf '%-40s %12s %12s %8s\n' "(c'') Python push, hubd / ipcontroller" \
    "$HC" "$IC" "$(ratio "$HC" "$IC")"
printf '%-40s %12s %12s %8s\n' "(c'') Python pull, hubd / ipcontroller" \
    "$HCP" "$ICP" "$(ratio "$HCP" "$ICP")"
printf '%-40s %12s %12s %8s\n' "(c) the writes alone (before close) s" \
    "$(kv "$SCRATCH/ippfs-push" write_s_p50)" "" ""
printf '%-40s %12s %12s %8s\n' "(a) floor: bare relay + 2 hellofs reads" \
    "$FA" "" ""
printf '%-40s %12s %12s %8s\n' "(a') floor: bare relay + 1 hellofs read" \
    "$FA1" "" ""
printf '%-40s %12s %12s %8s\n' "(b) floor: bare relay / hellofs reads" \
    "$FB" "" ""
printf '%-40s %12s %12s %8s\n' "(c) floor: bare relay of the data" \
    "$FC" "" ""
printf '%-40s %12s %12s %8s\n' "(d) stat status p50 us (peer hellofs)" \
    "$DS" "$HS" "$(ratio "$DS" "$HS")"
printf '%-40s %12s %12s %8s\n' "(d) open+read+close p50 us" "$DR" "$HR" \
    "$(ratio "$DR" "$HR")"
printf '%-40s %12s %12s %8s\n' "(d) stat after the tasks p50 us" \
    "$DS_2" "$HS_2" "$(ratio "$DS_2" "$HS_2")"
printf '%-40s %12s %12s %8s\n' "(d) read after the tasks p50 us" \
    "$DR_2" "$HR_2" "$(ratio "$DR_2" "$HR_2")"

result 3a exec_rtt_p50_us "$A" "${PA:-nan}" "<=500us" "$(check "$A" "<=" 500)"
result 3b batch_tasks_per_s "$OURS_B" "${PB:-nan}" ">=20000" \
    "$(check "$OURS_B" ">=" 20000)"
result 3b greedy_hwm0_tasks_per_s "${OURS_BG:-nan}" nan ">=20000" \
    "$(check "${OURS_BG:-0}" ">=" 20000)"
result 13-4 stream_tasks_per_s "${OURS_BS:-nan}" "${PB:-nan}" ">=6000" \
    "$(check "${OURS_BS:-0}" ">=" 6000)"
result 13-4 greedy_stream_tasks_per_s "${OURS_BGS:-nan}" "${PB:-nan}" \
    ">=6000" "$(check "${OURS_BGS:-0}" ">=" 6000)"
result 3b loadgen_tasks_per_s "${LG:-nan}" "${PB:-nan}" "context" INFO
result 3c push_mb_per_s "$C" "${PC:-nan}" ">=1000" "$(check "$C" ">=" 1000)"
result 13-5 pull_mb_per_s "${CP:-nan}" "${PCP:-nan}" ">=1000" \
    "$(check "${CP:-0}" ">=" 1000)"
result 13-5 pyclient_push_mb_per_s "${HC:-nan}" "${IC:-nan}" ">=3x" \
    "$(check "$(ratio "${HC:-0}" "${IC:-0}")" ">=" 3)"
result 13-5 pyclient_pull_mb_per_s "${HCP:-nan}" "${ICP:-nan}" ">=3x" \
    "$(check "$(ratio "${HCP:-0}" "${ICP:-0}")" ">=" 3)"
result 13-5 floor_over_ipcontroller_push "$FC" "${IC:-nan}" "context" INFO
result 13-4 exec_over_floor "$(ratio "$A" "$FA")" nan "<=1.3" \
    "$(check "$(ratio "$A" "$FA")" "<=" 1.3)"
result 13-4 exec_fd_over_floor "$(ratio "$(kv "$SCRATCH/ippfs-exec-r" \
    p50_us)" "$FA1")" nan "<=1.3" "$(check "$(ratio "$(kv \
    "$SCRATCH/ippfs-exec-r" p50_us)" "$FA1")" "<=" 1.3)"
result 3a loadgen_exec_p50_us "${LG1:-nan}" nan "context" INFO
result 3a floor_exec_rtt_us "$FA" nan "context" INFO
result 3b floor_tasks_per_s "$FB" nan "context" INFO
result 3c floor_push_mb_per_s "$FC" nan "context" INFO
r=$(ratio "$DS" "$HS")
result 3d stat_p50_us "$DS" "$HS" "ratio<=2" "$(check "$r" "<=" 2)"
r=$(ratio "$DR" "$HR")
result 3d read_p50_us "$DR" "$HR" "ratio<=2" "$(check "$r" "<=" 2)"
r=$(ratio "$DS_2" "$HS_2")
result 3d stat_after_b_p50_us "$DS_2" "$HS_2" "ratio<=2" \
    "$(check "$r" "<=" 2)"
r=$(ratio "$DR_2" "$HR_2")
result 3d read_after_b_p50_us "$DR_2" "$HR_2" "ratio<=2" \
    "$(check "$r" "<=" 2)"
