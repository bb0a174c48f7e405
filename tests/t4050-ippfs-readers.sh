#!/usr/bin/env bash
# t4050-ippfs-readers.sh - 200 readers blocked on tasks/ID/wait are
# parked, not threads: other operations stay as fast as without them,
# the end of the task releases them all, and SIGKILL frees them at once.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
ippfs_cluster 3
parked() { grep -qx "parked $1" status; }
# ops: a mix of reads, a ctl write and tasks run end to end on engines
# 0 and 1, while the readers wait on engine 2
ops() {
	local i id
	for i in $(seq 100); do
		cat status engines/index engines/0/status > /dev/null
		echo 'settings retries 0' > ctl
	done
	for i in $(seq 5); do
		id=$(submit engines/$((i % 2))/exec "$i * 2")
		[ "$(cat tasks/$id/result)" = $((i * 2)) ] || return 1
	done
}
N=200

ops || no "warm-up"	# first runs on each engine are slower
t0=$(ms); ops || no "operations without readers"; base=$(($(ms) - t0))
echo "# $N operations without readers: $base ms"

# the end of a task releases every reader
# the task ends when the test says so, once every reader is parked
id=$(submit engines/2/exec "import os, time
while not os.path.exists('$T_DIR/go'): time.sleep(0.01)
'end'")
pids=()
for i in $(seq $N); do
	cat tasks/$id/wait > "$T_DIR/w$i" &
	pids+=($!)
done
wait_for 20 parked $N && ok "$N reads are parked" || no "$N reads are parked"
touch "$T_DIR/go"
wait "${pids[@]}"
n=$(cat "$T_DIR"/w* | grep -c "^$id done ")
check "the task's end released all $N readers ($n)" test "$n" = $N
rm -f "$T_DIR"/w*

# readers that wait long: other operations are not slowed down
id=$(submit engines/2/exec 'import time; time.sleep(120)')
pids=()
for i in $(seq $N); do
	cat tasks/$id/wait > /dev/null 2>&1 &
	pids+=($!)
done
wait_for 20 parked $N && ok "$N reads parked again" || no "$N reads parked again"
t0=$(ms); ops || no "operations with readers"; with=$(($(ms) - t0))
echo "# the same operations with $N parked readers: $with ms"
check "not slowed down ($with ms vs $base ms)" test "$with" -le $((base * 2 + 300))
check "still parked" parked $N
t0=$(ms)
kill -KILL "${pids[@]}" 2>/dev/null
freed() { local p; for p in "${pids[@]}"; do gone "$p" || return 1; done; }
wait_for 10 freed; t1=$(ms)
check "SIGKILL freed all $N readers at once ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000
wait_for 5 parked 0 && ok "nothing left parked" || no "nothing left parked"
check "the task still runs" grep -qx 'running 2' tasks/$id/status
cd / || exit 1
exit $fail
