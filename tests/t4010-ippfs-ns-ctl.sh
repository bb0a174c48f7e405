#!/usr/bin/env bash
# t4010-ippfs-ns-ctl.sh - ippfs over hubd + engined: engines/N/ns/ over
# the data path (repr, .json, .raw, rm, ls), ctl commands (interrupt,
# abort), a dead engine (EHOSTDOWN), unmount on SIGTERM and the task
# history seen again after a remount.
. "$(dirname "$0")/lib.sh"
need_python_ipp
ippfs_cluster 2
ns=engines/0/ns

echo 41 > $ns/x
check "push a literal, pull its repr" test "$(cat $ns/x)" = 41
echo "'a string'" > $ns/s
check "string literal" test "$(cat $ns/s)" = "'a string'"
echo '{"k": [1, 2.5, null]}' > $ns/cfg.json
check "push JSON, read JSON" test "$(cat $ns/cfg.json)" = '{"k": [1, 2.5, null]}'
check "JSON as repr" test "$(cat $ns/cfg)" = "{'k': [1, 2.5, None]}"
printf 'a\0b' > $ns/blob.raw
check "raw bytes round trip" test "$(od -An -tx1 < $ns/blob.raw | tr -d ' ')" = 610062
check "raw as repr" test "$(cat $ns/blob)" = "b'a\\x00b'"
check "ls lists names" test "$(ls $ns | tr '\n' ' ')" = "blob cfg s x "
rm $ns/x
check "rm deletes" test "$(ls $ns | tr '\n' ' ')" = "blob cfg s "
if out=$(cat $ns/x 2>&1); then no "pull of a deleted name"; else
	check "ENOENT for a missing name" grep -q 'No such file' <<<"$out"; fi
check "missing name in /errors" grep -q "engines/0/ns/x: NameError" errors
# the push happens at close(2), whose errors the shell does not report
echo 'not a literal(' > $ns/bad
check "bad literal: reason in /errors" grep -q "engines/0/ns/bad: SyntaxError" errors
check "bad literal: nothing stored" bash -c "! cat $ns/bad 2>/dev/null"
echo 'y = x_from_exec = 7' > engines/0/exec
ns_y() { test "$(cat $ns/y 2>/dev/null)" = 7; }
check "exec and ns share the namespace" wait_for 10 ns_y

# interrupt a running task
exec 3<>engines/1/exec; printf 'import time; time.sleep(30)\n' >&3; read -r id <&3; exec 3>&-
wait_for 10 grep -q running tasks/$id/status
check "interrupt is acknowledged" bash -c 'echo interrupt > engines/1/ctl'
if out=$(timeout 10 cat tasks/$id/result 2>&1); then no "interrupted task result"; else
	check "interrupted task raised" grep -q 'Remote I/O error' <<<"$out"; fi
check "KeyboardInterrupt in error" grep -q KeyboardInterrupt tasks/$id/error
check "two commands in one write" bash -c 'printf "abort\nreset\n" > engines/1/ctl'
check "/ctl rejects junk" bash -c '! echo junk > ctl'

# a dead engine
exec 3<>engines/1/exec; printf 'import os; os.getpid()\n' >&3; read -r id <&3; exec 3>&-
kill -KILL "$(cat tasks/$id/result)"
wait_for 10 grep -q '^1 dead' engines/index
check "index shows the dead engine" grep -q '^1 dead' engines/index
if out=$( (echo 1 > engines/1/exec) 2>&1); then no "exec on a dead engine"; else
	check "exec on a dead engine: EHOSTDOWN" grep -q 'Host is down' <<<"$out"; fi
check "events saw it" bash -c "timeout 1 cat events | grep -q 'engine 1 down'"
n=$(ls tasks | grep -c '^[0-9]')

# SIGTERM unmounts; a new mount shows the history
cd / || exit 1
kill -TERM "$IPPFS_PID"
wait_for 5 gone "$IPPFS_PID" && ok "SIGTERM ends ippfs" || no "ippfs ignored SIGTERM"
check "unmounted after SIGTERM" bash -c "! mountpoint -q '$MNT'"
mount_ippfs
cd "$MNT" || exit 1
check "remount: the earlier tasks are listed" test "$(ls tasks | grep -c '^[0-9]')" -ge "$n"
check "remount: old code readable" grep -q 'time.sleep(30)' tasks/*/code
cd / || exit 1
exit $fail
