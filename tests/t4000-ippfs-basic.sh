#!/usr/bin/env bash
# t4000-ippfs-basic.sh - ippfs over hubd + engined: the tree, exec and
# tasks/new, results, errors with their errno and text, blocking reads
# (signals, O_NONBLOCK), and unmounting with fusermount3 -u.
. "$(dirname "$0")/lib.sh"
need_python_ipp
ippfs_cluster 2

check "root lists the tree" test "$(ls | tr '\n' ' ')" = "ctl engines errors events metrics security status tasks "
check "status counts engines" grep -qx 'engines 2' status
check "engines/index has two lines" test "$(wc -l < engines/index)" = 2
check "engines/0/status idle" test "$(cat engines/0/status)" = idle
check "security files are owner-only" test "$(stat -c %a security/ipcontroller-client.json)" = 400
check "security file is the connection file" grep -q '"key"' security/ipcontroller-client.json
check "no such engine is ENOENT" test ! -e engines/7/exec

echo '6 * 7' > engines/0/exec
check "exec then result" test "$(cat tasks/1/result)" = 42
exec 3<>engines/1/exec
printf 'print("hello")\n' >&3
printf 'sum(range(10))\n' >&3
read -r id <&3
exec 3>&-
check "first read on exec returns the id" test "$id" = 2
check "result of a two-write task" test "$(cat tasks/$id/result)" = 45
check "task stdout" test "$(cat tasks/$id/stdout)" = hello
check "task engine" test "$(cat tasks/$id/engine)" = 1
check "task code" grep -q 'sum(range(10))' tasks/$id/code
check "wait says done" grep -q '^2 done 1 ' tasks/$id/wait

exec 3<>tasks/new; printf 'import os; os.getpid()\n' >&3; read -r id <&3; exec 3>&-
check "load-balanced task runs" test -n "$(cat tasks/$id/result)"
check "engine result file" test -n "$(cat engines/0/result)"

exec 3<>tasks/new; printf '1/0\n' >&3; read -r id <&3; exec 3>&-
if out=$(cat tasks/$id/result 2>&1); then no "failing task result should fail"; else
	check "failing task: EREMOTEIO" grep -q 'Remote I/O error' <<<"$out"; fi
check "error holds the traceback" grep -q ZeroDivisionError tasks/$id/error
check "status failed" test "$(cat tasks/$id/status)" = failed

exec 3<>engines/all/exec; printf 'import os; os.getpid()\n' >&3
check "engines/all/exec gives one id per engine" test "$(cat <&3 | wc -l)" = 2
exec 3>&-

exec 3<>tasks/batch
printf '1+1\n\036\n2+2\n\036\n3+3\n' >&3
mapfile -t ids <&3
exec 3>&-
check "batch gives three ids" test "${#ids[@]}" = 3
check "batch results" test "$(cat tasks/${ids[2]}/result)" = 6

# blocking reads: a signal frees them, O_NONBLOCK gives EAGAIN
exec 3<>tasks/new; printf 'import time; time.sleep(3); "slept"\n' >&3; read -r id <&3; exec 3>&-
t0=$(date +%s%N)
timeout -s INT 0.5 cat tasks/$id/result; rc=$?
t1=$(date +%s%N)
check "SIGINT frees a blocked read at once" test $(((t1 - t0) / 1000000)) -lt 1500 -a $rc -ne 0
if out=$(dd if=tasks/$id/result iflag=nonblock status=none 2>&1); then
	no "O_NONBLOCK read should fail"; else
	check "O_NONBLOCK: EAGAIN" grep -q 'Resource temporarily unavailable' <<<"$out"; fi
check "blocking result arrives" test "$(cat tasks/$id/result)" = "'slept'"
exec 3<>tasks/new; printf 'import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.3)\n' >&3; read -r id <&3; exec 3>&-
check "stdout streams until the end" test "$(cat tasks/$id/stdout | tr '\n' ' ')" = "0 1 2 "

# ctl errors: errno + text on the same fd and in /errors
exec 3<>engines/0/ctl
if echo frobnicate >&3 2>/dev/null; then no "unknown command should fail"; else ok "unknown command fails"; fi
check "error text readable on the fd" grep -q "unknown command 'frobnicate'" <&3
exec 3>&-
check "/errors has it" grep -q "engines/0/ctl: unknown command 'frobnicate'; usage:" errors
if echo nope > tasks/1/ctl 2>/dev/null; then no "bad task ctl"; else ok "bad task ctl EINVAL"; fi
check "reset is acknowledged" bash -c 'echo reset > engines/1/ctl'
timeout 1 cat events > "$T_DIR/events"
check "events stream" grep -q "^[0-9]* task 1 done" "$T_DIR/events"
check "tasks/index lists tasks" test "$(wc -l < tasks/index)" -ge 8
check "ls tasks" test "$(ls tasks | grep -c '^[0-9]')" -ge 8

cd / || exit 1
fusermount3 -u "$MNT"
wait_for 5 gone "$IPPFS_PID" && ok "ippfs exits after fusermount3 -u" || no "ippfs still running after unmount"
check "unmounted" bash -c "! mountpoint -q '$MNT'"
exit $fail
