# bench/lib.sh - shared helpers of the benchmark scripts (sourced).
#
# Each b-*.sh script sources this file, gets a scratch directory, starts
# hubd and ipcontroller (and engines) in their own profile directories on
# 127.0.0.1, and measures both the same way.  Everything started is
# recorded here and killed by PID or process group on exit, never by
# name; every wait has a bound.  Results are printed as
#   RESULT <item> <what> ours=<x> peer=<y> ratio=<ours/peer> target=<t> V
# lines (V: PASS, MISS or INFO), which bench/run collects into its summary.

set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
PY=/usr/bin/python3
HUBD=${HUBD:-$TOP/hubd/hubd}
SIMENGINES=$TOP/tools/simengines
LOADGEN=$TOP/tools/loadgen
HZ=$(getconf CLK_TCK)

for f in "$HUBD" "$SIMENGINES" "$LOADGEN"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is not built (run make first)" >&2
		exit 2
	fi
done

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/ippbench.XXXXXX")
_pids=()	# processes we started (killed by PID)
_pgids=()	# process groups we started (ipcontroller, ipengine)
ENGINE_PGIDS=()

log() {
	echo "[$(date +%H:%M:%S)] $*" >&2
}

# The pid and every descendant of it.
tree_pids() {
	local p c
	for p in "$@"; do
		echo "$p"
		for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
			tree_pids "$c"
		done
	done
}

# utime+stime in clock ticks, summed over the given pids.
cpu_ticks() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ s = $0; sub(/.*\) /, "", s); split(s, a, " ");
		    print a[12] + a[13] }' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# settle PID...: wait (at most 120 s) until the processes used at most
# one tick of CPU in half a second - a controller's history catching up
# on what the last phase wrote - and print how many seconds that took,
# so that the next phase starts on a quiet cluster and the wait is shown.
settle() {
	local t0 a b
	t0=$(date +%s%N)
	while [ $((($(date +%s%N) - t0) / 1000000)) -lt 120000 ]; do
		a=$(cpu_ticks "$@")
		sleep 0.5
		b=$(cpu_ticks "$@")
		[ $((b - a)) -le 1 ] && break
	done
	awk -v n=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.1f", n / 1e9 }'
}

# VmRSS in KiB, summed over the given pids.
rss_kb() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

alive() {
	kill -0 "$1" 2>/dev/null
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; 1 on timeout.
wait_for() {
	local limit=$1 end
	shift
	end=$(($(date +%s%N) + limit * 1000000000))
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# Helpers for wait_for.
_files_ready() {
	[ -s "$1/security/ipcontroller-client.json" ] &&
	    [ -s "$1/security/ipcontroller-engine.json" ]
}
_nchildren_ge() {
	[ "$(ps -o pid= --ppid "$1" 2>/dev/null | wc -l)" -ge "$2" ]
}
_grep_file() {
	grep -q "$1" "$2" 2>/dev/null
}
_gone() {
	! alive "$1"
}
_group_gone() {
	! kill -0 -- "-$1" 2>/dev/null
}

# start_hubd DIR [ARGS...]: sets CTL_PID; CTL_KIND=hubd.
start_hubd() {
	local dir=$1
	shift
	mkdir -p "$dir"
	"$HUBD" --profile-dir="$dir" --ip=127.0.0.1 "$@" \
	    >"$dir/controller.log" 2>&1 &
	CTL_PID=$!
	CTL_KIND=hubd
	_pids+=("$CTL_PID")
	if ! wait_for 10 _files_ready "$dir"; then
		log "hubd did not write its connection files"
		tail -5 "$dir/controller.log" >&2
		return 1
	fi
}

# start_ipcontroller DIR [ARGS...]: its own process group, 9 processes.
start_ipcontroller() {
	local dir=$1
	shift
	mkdir -p "$dir"
	setsid "$PY" -m ipyparallel.controller --profile-dir="$dir" \
	    --ip=127.0.0.1 "$@" >"$dir/controller.log" 2>&1 &
	CTL_PID=$!
	CTL_KIND=ipcontroller
	_pgids+=("$CTL_PID")
	if ! wait_for 30 _files_ready "$dir" ||
	    ! wait_for 30 _nchildren_ge "$CTL_PID" 8; then
		log "ipcontroller did not start"
		tail -5 "$dir/controller.log" >&2
		return 1
	fi
	# the schedulers connect to the hub after the files are written
	sleep 1
}

# start_controller KIND DIR [ARGS...]
start_controller() {
	local kind=$1
	shift
	case $kind in
	hubd) start_hubd "$@" ;;
	ipcontroller) start_ipcontroller "$@" ;;
	esac
}

# The pids whose CPU and memory count as the controller's.
controller_pids() {
	if [ "$CTL_KIND" = hubd ]; then
		echo "$CTL_PID"
	else
		tree_pids "$CTL_PID"
	fi
}

stop_pid() {
	local p=$1
	alive "$p" || return 0
	kill -TERM "$p" 2>/dev/null
	wait_for 5 _gone "$p" || kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

stop_group() {
	local g=$1
	kill -0 -- "-$g" 2>/dev/null || return 0
	kill -TERM -- "-$g" 2>/dev/null
	wait_for 8 _group_gone "$g" || kill -KILL -- "-$g" 2>/dev/null
	wait_for 3 _group_gone "$g"
	wait "$g" 2>/dev/null
	return 0
}

stop_controller() {
	if [ "$CTL_KIND" = hubd ]; then
		stop_pid "$CTL_PID"
	else
		stop_group "$CTL_PID"
	fi
}

# start_sim DIR OUTFILE [ARGS...]: simulated engines in the background.
start_sim() {
	local dir=$1 out=$2
	shift 2
	"$SIMENGINES" --file "$dir/security/ipcontroller-engine.json" "$@" \
	    >"$out" 2>"$out.err" &
	SIM_PID=$!
	_pids+=("$SIM_PID")
}

# start_ipengine DIR: a real engine (with its nanny) in its own group.
start_ipengine() {
	local dir=$1 n
	n=$(ls "$dir"/engine-*.log 2>/dev/null | wc -l)
	setsid "$PY" -m ipyparallel.engine --profile-dir="$dir" \
	    --log-level=30 >"$dir/engine-$n.log" 2>&1 &
	_pgids+=("$!")
	ENGINE_PGIDS+=("$!")
}

cleanup() {
	local p
	for p in "${_pids[@]}"; do
		stop_pid "$p"
	done
	for p in "${_pgids[@]}"; do
		stop_group "$p"
	done
	if [ -z "${BENCH_KEEP:-}" ]; then
		rm -rf "$SCRATCH"
	else
		log "kept $SCRATCH"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# kv FILE KEY: the value of a "key value" line.
kv() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# median of the arguments
median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
	    END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
	    else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with 3 significant digits.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan";
	    else printf "%.3g\n", a / b }'
}

# check VALUE OP LIMIT: PASS or MISS (OP is <=, >= or <).
check() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		ok = 0
		if (op == "<=" && v + 0 <= l + 0) ok = 1
		if (op == ">=" && v + 0 >= l + 0) ok = 1
		if (op == "<" && v + 0 < l + 0) ok = 1
		if (v == "nan" || v == "") ok = 0
		print (ok ? "PASS" : "MISS")
	}'
}

# result ITEM WHAT OURS PEER TARGET VERDICT
result() {
	printf 'RESULT %s %s ours=%s peer=%s ratio=%s target=%s %s\n' \
	    "$1" "$2" "$3" "$4" "$(ratio "$3" "$4")" "$5" "$6"
}
