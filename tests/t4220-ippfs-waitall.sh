#!/usr/bin/env bash
# t4220-ippfs-waitall.sh - tasks/waitall, the progress of a long wait:
# a shell waits on 500 tasks through it and sees 500 lines, one per
# task, in the order the tasks ended (as tasks/events tells it), the
# counts going 1/500 to 500/500; without ids written it waits for the
# tasks that were live at open; a SIGINT to the reader (Ctrl-C) frees
# it at once; examples/progress.sh draws its bar from it.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
ippfs_cluster 3

# 500 tasks of random length, so that they end out of id order
for i in $(seq 500); do
	printf 'import random, time; time.sleep(random.random() * 0.02)\n'
	[ $((i % 50)) = 0 ] && printf '1/0\n' || printf '%d\n' "$i"
	printf '\036\n'
done > "$T_DIR/batch"
exec 3<>tasks/batch; cat "$T_DIR/batch" >&3; ids=$(cat <&3); exec 3>&-
exec 4<tasks/events	# from here on: every event, to check the order
t0=$(ms)
exec 3<>tasks/waitall; echo $ids >&3; timeout 120 cat <&3 > "$T_DIR/wait"; rc=$?; exec 3>&-
echo "# waited $(($(ms) - t0)) ms for 500 tasks"
check "the wait ended by itself (rc $rc)" test $rc = 0
check "500 lines" test "$(wc -l < "$T_DIR/wait")" = 500
check "the last says 500/500" test "$(tail -1 "$T_DIR/wait" | cut -d' ' -f3)" = 500/500
check "counts go 1/500 .. 500/500" test "$(cut -d' ' -f3 "$T_DIR/wait" | tr '\n' ' ')" = "$(seq -f '%g/500' 500 | tr '\n' ' ')"
check "each task once" test "$(cut -d' ' -f1 "$T_DIR/wait" | sort -n | tr '\n' ' ')" = "$(tr '\n' ' ' <<<"$ids")"
check "10 failed, 490 done" test "$(grep -c ' failed ' "$T_DIR/wait") $(grep -c ' done ' "$T_DIR/wait")" = "10 490"
# the order of the ends, from the events read meanwhile (non-blocking)
task_ends 4 > "$T_DIR/ends"
exec 4<&-
check "in the order they ended" test "$(cut -d' ' -f1 "$T_DIR/wait" | tr '\n' ' ')" = "$(tr '\n' ' ' < "$T_DIR/ends")"
check "out of id order (so the order means something)" test "$(cut -d' ' -f1 "$T_DIR/wait" | tr '\n' ' ')" != "$(tr '\n' ' ' <<<"$ids")"

# already ended: the same lines at once; a bad id is refused
exec 3<>tasks/waitall; echo $ids >&3; timeout 10 cat <&3 > "$T_DIR/again"; exec 3>&-
check "ids already ended: 500 lines at once" test "$(wc -l < "$T_DIR/again")" = 500
exec 3<>tasks/waitall
if echo 99999 >&3 2>/dev/null; then no "an unknown id is refused"; else ok "an unknown id is refused"; fi
exec 3>&-

# nothing written: the tasks live at open
echo 'import time; time.sleep(1.5)' > engines/0/exec
for i in 1 2 3 4 5; do echo "$i" > engines/0/exec; done
timeout 30 cat tasks/waitall > "$T_DIR/live"
check "nothing written: the 6 tasks queued or running at open" test "$(tail -1 "$T_DIR/live" | cut -d' ' -f3)" = 6/6
check "nothing live: end of file at once" test -z "$(timeout 5 cat tasks/waitall)"

# Ctrl-C: SIGINT to a reader frees it at once
echo 'import time; time.sleep(60)' > engines/1/exec
env --default-signal=INT cat tasks/waitall > /dev/null 2>&1 &
pid=$!
parked() { grep -qx "parked ${1:-1}" status; }
wait_for 10 parked || no "the reader is parked"
t0=$(ms); kill -INT $pid; wait_for 5 gone $pid; t1=$(ms)
check "SIGINT freed the reader at once ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1000
wait_for 5 parked 0 || true
check "nothing left parked" grep -qx 'parked 0' status
echo interrupt > engines/1/ctl
wait_for 10 grep -qx idle engines/1/status || no "engine 1 is idle again"

# the example: a bar on stderr, a summary on stdout
exec 3<>tasks/batch; printf '1\n\036\n2\n\036\n1/0\n' >&3; ids=$(cat <&3); exec 3>&-
out=$(PROGRESS_BAR=1 timeout 30 "$T_TOP/examples/progress.sh" "$MNT" $ids 2>"$T_DIR/bar")
check "progress.sh summary ($out)" test "$out" = "3 tasks: 2 done, 1 failed"
check "progress.sh drew the bar to 3/3" grep -q '\] 3/3 ' "$T_DIR/bar"
cd / || exit 1
exit $fail
