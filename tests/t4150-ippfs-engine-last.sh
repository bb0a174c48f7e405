#!/usr/bin/env bash
# t4150-ippfs-engine-last.sh - engines/N/{result,error,stdout,stderr,wait}
# follow the task last submitted to engine N (ippfs(1)): the README's
# `echo code > engines/0/exec; cat engines/0/result` gives that code's
# result every time, a raising task fails the read with EREMOTEIO,
# engines/N/last names the task, engines/N/log keeps the output of all
# tasks, engines/all/result gathers one line per engine; engines/index and
# engines/N/info show each engine's host and pid.  Over hubd + engined;
# t4151 runs the same over ipcontroller + ipengines.
. "$(dirname "$0")/lib.sh"
need_python_ipp
if [ "${T4150_IPCONTROLLER:-0}" = 1 ]; then
	start_ipcontroller
	start_ipengines 2
	wait_engines 2 60 || exit 1
	mount_ippfs
	cd "$MNT" || exit 1
	ROUNDS=5
else
	ippfs_cluster 2
	ROUNDS=20
fi
PP=$T_TOP/tools/ppoll

# the host and pid of an ipengine are asked of it, leaving no trace
wait_for 20 grep -q "^host $(hostname)\$" engines/1/info
is "asking host and pid made no task" "" cat tasks/index
is "nor a name in the namespace" "" ls engines/all/ns

is "before any exec: result is empty" "" cat engines/0/result
is "before any exec: last is empty" "" cat engines/0/last

# the README's idiom, first use and then ROUNDS times with fresh values
echo 'import time; time.sleep(0.5); 7 * 6' > engines/0/exec
is "exec; cat result: 42" 42 cat engines/0/result
n=0
for i in $(seq "$ROUNDS"); do
	echo "import time; time.sleep(0.5); 6 * $i" > engines/0/exec
	got=$(cat engines/0/result)
	if [ "$got" = $((6 * i)) ]; then n=$((n + 1)); else
		echo "# round $i: got '$got', want $((6 * i))"; fi
done
is "exec; cat result right: $ROUNDS out of $ROUNDS" "$ROUNDS" echo $n

# a raising task: the read fails as tasks/ID/result does
echo 'import time; time.sleep(0.3); 1/0' > engines/0/exec
if out=$(cat engines/0/result 2>&1); then
	no "raising task: cat engines/0/result fails"; echo "#   got: '$out'"
else
	check "raising task: EREMOTEIO" grep -q 'Remote I/O error' <<<"$out"
fi
check "engines/0/error holds the traceback" grep -q '^ZeroDivisionError' engines/0/error
is "engines/0/status says failed in wait" failed bash -c 'cut -d" " -f2 engines/0/wait'
echo 'import time; time.sleep(0.3); 1/0' > engines/0/exec
is "engines/0/error blocks until the task ends" ZeroDivisionError bash -c 'grep -m1 -o "^ZeroDivisionError" engines/0/error'

# stdout and stderr of the last task, streamed; the engine's log keeps all
echo 'print(1)' > engines/0/exec
is "print(1); cat stdout" 1 cat engines/0/stdout
echo 'import sys, time; print("e1", file=sys.stderr, flush=True); time.sleep(0.3); print("e2", file=sys.stderr)' > engines/0/exec
is "stderr of the running task" "e1 e2" bash -c 'echo $(cat engines/0/stderr)'
is "stdout of a task that printed nothing" "" cat engines/0/stdout
check "engines/0/log has the output of earlier tasks" grep -qx 1 engines/0/log
check "engines/0/log has stderr too" grep -qx e2 engines/0/log

# last and wait name the task
exec 3<>engines/0/exec; printf 'import time; time.sleep(0.3); "w"\n' >&3; read -r id <&3; exec 3>&-
is "engines/0/last is the task id" "$id" cat engines/0/last
check "engines/0/wait blocks, then the task line" grep -q "^$id done 0 " engines/0/wait
is "same as tasks/ID/result" "$(cat tasks/$id/result)" cat engines/0/result

# engines/all/result: one line per engine that has a last task
echo 'import os, time; time.sleep(0.3); os.getpid()' > engines/all/exec
all=$(cat engines/all/result)
is "engines/all/result: one line per engine" 2 echo "$(wc -l <<<"$all")"
pids=$(cut -d' ' -f2 <<<"$all" | sort -n | paste -sd' ')
want=$(printf '%s\n' "${ENGINE_PIDS[@]}" | sort -n | paste -sd' ')
is "engines/all/result gives the engines' pids" "$want" echo "$pids"
is "engines/all/result lines start with the engine id" "0 1" echo $(cut -d' ' -f1 <<<"$all")
# engines/index and info: host and pid, the pids those of the processes
for e in 0 1; do
	p=$(sed -n "s/^$e //p" <<<"$all")
	check "engines/index: host and pid of engine $e" grep -Eq "^$e idle [0-9a-f-]+ 0 - $(hostname) $p\$" engines/index
	is "engines/$e/info: host" "host $(hostname)" grep '^host ' engines/$e/info
	is "engines/$e/info: pid" "pid $p" grep '^pid ' engines/$e/info
done

echo '"one"' > engines/1/exec
has1=$(cat engines/all/result)
check "a per-engine exec shows in engines/all/result" grep -qx "1 'one'" <<<"$has1"
echo 'import time; time.sleep(0.3); 1/0' > engines/all/exec
is "engines/all/result after a raising broadcast: EREMOTEIO" "read EREMOTEIO" "$PP" engines/all/result

# the tree
is "engines/N/ lists the new files" "ctl error exec info last log ns result status stderr stdout tasks timeline.svg wait" echo $(ls engines/0)
is "engines/all/ lists result" "ctl exec ns result" echo $(ls engines/all)

# a dead engine's last task: EHOSTDOWN
pid1=$(sed -n 's/^1 //p' <<<"$all")
echo 'import time; time.sleep(60)' > engines/1/exec
wait_for 10 grep -q '^busy' engines/1/status
kill -KILL "$pid1"; wait "$pid1" 2>/dev/null
is "the last task of an engine that died: EHOSTDOWN" "read EHOSTDOWN" "$PP" engines/1/result
cd / || exit 1
exit $fail
