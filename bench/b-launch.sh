#!/usr/bin/env bash
# b-launch.sh - launch against ipcluster (issue 5, item 2), measured the
# same way for both, each cluster in a fresh scratch profile:
#
#   first task   from invoking "launch start -n 2 --daemonize" /
#                "ipcluster start -n 2 --daemonize" until a C client
#                (tools/loadgen --engines 2 --count 1 --settle 0, started
#                as soon as the client connection file exists) has the
#                reply to one execute_request ("x = 6 * 7") back;
#   stop         from invoking "launch stop" / "ipcluster stop" until
#                every process of the cluster (all processes whose
#                command line names the scratch profile, listed before
#                the stop) is gone (exited or a zombie);
#   first apply  the same start until a Python Client (ipyparallel
#                imported beforehand) has c[:].apply_sync's answer from
#                both engines (issue 13: <= 0.3 s);
#   100 engines  the same start with -n 100 until the controller reports
#                100 engines (loadgen --engines 100 --count 0), then the
#                stop as above.
#
# Medians of REPEAT runs for launch (default 5), LAUNCH_PEER_REPEAT for
# ipcluster (default 3) and LAUNCH_BIG_REPEAT for the 100-engine runs
# (default 3 ours, 1 ipcluster: it takes about two minutes).  The first
# run of launch is also taken apart from the controller's log.
. "$(dirname "$0")/lib.sh"
LAUNCH=$TOP/launch/launch
[ -x "$LAUNCH" ] || { echo "bench: $LAUNCH is not built" >&2; exit 2; }
if [ -x /usr/bin/ipcluster ]; then
	IPCLUSTER=(/usr/bin/ipcluster)
else
	IPCLUSTER=("$PY" -m ipyparallel.cluster)
fi
REPEAT=${REPEAT:-5}
PEER_REPEAT=${LAUNCH_PEER_REPEAT:-3}
BIG=${LAUNCH_BIG:-100}
BIG_REPEAT=${LAUNCH_BIG_REPEAT:-3}
BIG_PEER_REPEAT=${LAUNCH_BIG_PEER_REPEAT:-1}
export IPYTHONDIR=$SCRATCH/ipython

now_us() {
	echo $(($(date +%s%N) / 1000))
}

# procs DIR: PIDs of every process whose command line names DIR.
procs() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" = "$$" ] && continue
		{ tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF -- "$1" && echo "$p"
	done
}

# all_gone PID...: each has exited or is a zombie waiting to be reaped.
# Read with builtins: a ps per process would make the poll itself slower
# than what it measures (100 engines).
all_gone() {
	local p st
	for p in "$@"; do
		{ read -r st <"/proc/$p/stat"; } 2>/dev/null || continue
		st=${st##*) }
		[ "${st%% *}" = Z ] || return 1
	done
}

# poll SECONDS CMD...: like wait_for, every 10 ms.
poll() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.01
	done
}

# start KIND DIR N: the start command, in the background (START_PID).
start() {
	mkdir -p "$2"
	if [ "$1" = launch ]; then
		"$LAUNCH" start -n "$3" --daemonize --profile-dir="$2" \
		    --timeout=300 >"$2.start.log" 2>&1 &
	else
		"${IPCLUSTER[@]}" start -n "$3" --daemonize \
		    --profile-dir="$2" >"$2.start.log" 2>&1 &
	fi
	START_PID=$!
}

stop_cmd() {
	if [ "$1" = launch ]; then
		"$LAUNCH" stop --profile-dir="$2"
	else
		"${IPCLUSTER[@]}" stop --profile-dir="$2"
	fi
}

# up KIND DIR N COUNT: start and wait for the client (COUNT 1: one task,
# 0: registrations only).  Sets UP_US, FILE_US (client file seen).
up() {
	local t0 dir=$2
	t0=$(now_us)
	start "$1" "$dir" "$3"
	poll 300 test -s "$dir/security/ipcontroller-client.json" ||
	    { log "$1: no client file"; cat "$dir.start.log" >&2; return 1; }
	FILE_US=$(($(now_us) - t0))
	if [ "$4" -gt 0 ]; then
		"$LOADGEN" --profile-dir "$dir" --engines "$3" --count 1 \
		    --execute 'x = 6 * 7' --settle 0 --timeout 300 >"$dir.lg" 2>&1
	else
		"$LOADGEN" --profile-dir "$dir" --engines "$3" --count 0 \
		    --timeout 300 >"$dir.lg" 2>&1
	fi || { log "$1: loadgen failed"; cat "$dir.lg" "$dir.start.log" >&2; return 1; }
	UP_US=$(($(now_us) - t0))
	if [ "$4" -gt 0 ] && [ "$(kv "$dir.lg" errors)" != 0 ]; then
		log "$1: the task failed"; cat "$dir.lg" >&2; return 1
	fi
	wait "$START_PID" || { log "$1 start failed"; cat "$dir.start.log" >&2; return 1; }
}

# down KIND DIR: stop; STOP_US until every process is gone, CMD_US until
# the stop command returned.
down() {
	local t0 pids
	pids=$(procs "$2")
	# should the stop fail, cleanup kills them by PID
	# shellcheck disable=SC2206
	_pids+=($pids)
	t0=$(now_us)
	stop_cmd "$1" "$2" >"$2.stop.log" 2>&1
	CMD_US=$(($(now_us) - t0))
	# shellcheck disable=SC2086
	poll 120 all_gone $pids || { log "$1: processes left after stop"; return 1; }
	STOP_US=$(($(now_us) - t0))
	NPROCS=$(echo $pids | wc -w)
}

secs() {
	awk -v u="$1" 'BEGIN { printf "%.3f", u / 1e6 }'
}

# log time (ms since the epoch) of the first / last line matching RE
logms() {
	local line
	if [ "$1" = first ]; then
		line=$(grep -m1 -E "$2" "$3")
	else
		line=$(grep -E "$2" "$3" | tail -1)
	fi
	line=${line%% *}
	date -d "${line/T/ }" +%s%3N 2>/dev/null
}

for kind in launch ipcluster; do
	n=$REPEAT
	[ "$kind" = ipcluster ] && n=$PEER_REPEAT
	ft=() st=() sc=()
	for i in $(seq "$n"); do
		d=$SCRATCH/$kind-two-$i
		t0ms=$(($(date +%s%N) / 1000000))
		up "$kind" "$d" 2 1 || exit 1
		ft+=("$UP_US")
		down "$kind" "$d" || exit 1
		st+=("$STOP_US") sc+=("$CMD_US")
		log "$kind -n 2: client file $(secs "$FILE_US") s, first task" \
		    "$(secs "$UP_US") s; stop $(secs "$STOP_US") s" \
		    "($NPROCS processes, command returned after $(secs "$CMD_US") s)"
		if [ "$kind" = launch ] && [ "$i" = 1 ]; then
			cl=$d/log/ipcontroller.log
			ready=$(logms first "hubd ready" "$cl")
			r1=$(logms first "registered \(" "$cl")
			r2=$(logms last "registered \(" "$cl")
			[ -n "$ready" ] && [ -n "$r2" ] && log "launch -n 2 taken apart" \
			    "(ms after start): controller ready $((ready - t0ms))," \
			    "engines registered $((r1 - t0ms)) and $((r2 - t0ms))," \
			    "client file seen $((FILE_US / 1000)), first reply $((UP_US / 1000))"
		fi
	done
	eval "first_$kind=$(secs "$(median "${ft[@]}")")"
	eval "stop_$kind=$(secs "$(median "${st[@]}")")"
	log "$kind first task (us): ${ft[*]}; stop (us): ${st[*]}; stop command (us): ${sc[*]}"
done

# The same start until a Python Client's first apply_sync on both engines
# returns: the client has imported ipyparallel beforehand (that import is
# the Client's cost, not the cluster's), starts the command itself, waits
# for the client file, connects, waits for 2 engines and applies.
cat >"$SCRATCH/first.py" <<'PYEOF'
import os, subprocess, sys, time
import ipyparallel as ipp
d, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=open(d + ".start.log", "w"),
                     stderr=subprocess.STDOUT)
f = os.path.join(d, "security", "ipcontroller-client.json")
while not os.path.exists(f) or os.path.getsize(f) == 0:
    time.sleep(0.002)
c = ipp.Client(profile_dir=d, timeout=300)
c.wait_for_engines(2, timeout=300)
r = c[:].apply_sync(lambda: 6 * 7)
t = time.monotonic() - t0
assert r == [42, 42], r
print("first_apply_us %d" % (t * 1e6))
c.close()
p.wait()
PYEOF
for kind in launch ipcluster; do
	n=$REPEAT
	[ "$kind" = ipcluster ] && n=$PEER_REPEAT
	pa=()
	for i in $(seq "$n"); do
		d=$SCRATCH/$kind-py-$i
		mkdir -p "$d"
		if [ "$kind" = launch ]; then
			set -- "$LAUNCH" start -n 2 --daemonize --profile-dir="$d" \
			    --timeout=300
		else
			set -- "${IPCLUSTER[@]}" start -n 2 --daemonize \
			    --profile-dir="$d"
		fi
		"$PY" "$SCRATCH/first.py" "$d" "$@" >"$d.py" 2>&1 ||
		    { log "$kind: the Python client failed"; cat "$d.py" "$d.start.log" >&2; exit 1; }
		pa+=("$(kv "$d.py" first_apply_us)")
		down "$kind" "$d" || exit 1
		log "$kind -n 2: first Python apply_sync $(secs "${pa[-1]}") s"
	done
	eval "pyfirst_$kind=$(secs "$(median "${pa[@]}")")"
done

for kind in launch ipcluster; do
	n=$BIG_REPEAT
	[ "$kind" = ipcluster ] && n=$BIG_PEER_REPEAT
	rg=() st=()
	for i in $(seq "$n"); do
		d=$SCRATCH/$kind-big-$i
		c0=$(awk '{ print $1 + $2 + $3 }' /proc/stat)
		up "$kind" "$d" "$BIG" 0 || exit 1
		rg+=("$UP_US")
		down "$kind" "$d" || exit 1
		st+=("$STOP_US")
		log "$kind -n $BIG: all registered $(secs "$UP_US") s, stop" \
		    "$(secs "$STOP_US") s ($NPROCS processes); load $(cut -d' ' -f1 /proc/loadavg)"
	done
	eval "reg_$kind=$(secs "$(median "${rg[@]}")")"
	eval "bstop_$kind=$(secs "$(median "${st[@]}")")"
done

result 5 launch-first-task-s "$first_launch" "$first_ipcluster" "<=0.3" \
    "$(check "$first_launch" "<=" 0.3)"
result 5 launch-first-py-apply-s "$pyfirst_launch" "$pyfirst_ipcluster" \
    "<=0.3" "$(check "$pyfirst_launch" "<=" 0.3)"
result 5 launch-stop-s "$stop_launch" "$stop_ipcluster" "<=0.3" \
    "$(check "$stop_launch" "<=" 0.3)"
[ "$BIG_REPEAT" -gt 0 ] || exit 0	# LAUNCH_BIG_REPEAT=0: not measured
result 5 launch-${BIG}-registered-s "$reg_launch" "$reg_ipcluster" "<=1" \
    "$(check "$reg_launch" "<=" 1)"
result 5 launch-${BIG}-stop-s "$bstop_launch" "$bstop_ipcluster" "<=1" \
    "$(check "$bstop_launch" "<=" 1)"
