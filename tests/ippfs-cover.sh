# tests/ippfs-cover.sh - every file of ippfs(1) and every errno, sourced
# by t4030 (hubd + engined) and t4031 (ipcontroller + ipengines) after
# they started a cluster of 3 engines whose PIDs are ENGINE_PIDS.
# The body uses bash, coreutils and tools/ppoll only.  Writes that wait
# while an engine dies run in a subshell: the engines are children of
# this shell, and the SIGCHLD of their death would interrupt (EINTR) a
# FUSE request made by the shell itself.
mount_ippfs
cd "$MNT" || exit 1
PP=$T_TOP/tools/ppoll
# has WHAT PATTERN CMD...: the output of CMD matches the grep -E PATTERN
has() {
	local what=$1 pat=$2 got
	shift 2
	got=$("$@" 2>&1)
	if grep -Eq -- "$pat" <<<"$got"; then ok "$what"; else
		no "$what"; echo "#   got: '$got'"; echo "#   want: /$pat/"; fi
}
# clone CODE CMD...: a draft with the ctl commands CMD..., then submitted
clone() {
	local id
	exec 4<>tasks/clone
	read -r id <&4
	printf '%s\n' "$1" > "tasks/$id/code"
	shift
	printf '%s\n' "$@" submit >&4
	exec 4>&-
	echo "$id"
}

# --- the tree ---------------------------------------------------------
is "root" "ctl engines errors events metrics security status tasks" echo $(ls)
is "engines/" "0 1 2 all index" echo $(ls engines)
is "engines/N/" "ctl error exec info last log ns result status stderr stdout tasks timeline.svg wait" echo $(ls engines/0)
is "engines/all/" "ctl exec ns result" echo $(ls engines/all)
is "tasks/ (before any task)" "batch clone events index new timeline.svg waitall" echo $(ls tasks)
is "security/" "ipcontroller-client.json ipcontroller-engine.json" echo $(ls security)
for f in client engine; do
	is "security/ipcontroller-$f.json is 0400" 400 stat -c %a security/ipcontroller-$f.json
	check "security/ipcontroller-$f.json is the file" cmp -s security/ipcontroller-$f.json "$PROFILE/security/ipcontroller-$f.json"
done
has "the mount is owner-only" 'Permission denied' setpriv --reuid=65534 --regid=65534 --clear-groups ls "$MNT"
has "status" '^hub tcp://127\.0\.0\.1:[0-9]+$' head -n1 status
check "status counts 3 engines" grep -qx 'engines 3' status
has "engines/index" '^0 idle [0-9a-f-]+ 0 - [^ ]+ ([0-9]+|-)$' head -n1 engines/index
is "engines/index has 3 lines" 3 wc -l < engines/index
is "engines/0/status" idle cat engines/0/status
has "engines/0/info" '^id 0$' cat engines/0/info
has "engines/0/ctl reads its commands" 'interrupt \| kill \| abort \| reset \| shutdown' cat engines/0/ctl
has "/ctl reads commands and settings" '^timeout 15$' cat ctl
is "/errors starts empty" "" cat errors

# --- exec, results, output --------------------------------------------
id=$(submit engines/1/exec 'import sys; print("out"); print("err", file=sys.stderr); 6 * 7')
is "exec: first read gives the id" 1 echo "$id"
is "tasks/1/result" 42 cat tasks/1/result
has "tasks/1/wait" '^1 done 1 [0-9T:.-]+Z [0-9.]+$' cat tasks/1/wait
is "tasks/1/status" done cat tasks/1/status
is "tasks/1/stdout" out cat tasks/1/stdout
is "tasks/1/stderr" err cat tasks/1/stderr
is "tasks/1/engine" 1 cat tasks/1/engine
is "tasks/1/error is empty" "" cat tasks/1/error
has "tasks/1/code" 'print\("out"\)' cat tasks/1/code
has "tasks/1/ctl reads key value lines" '^state done$' cat tasks/1/ctl
is "engines/1/result" 42 cat engines/1/result
has "engines/1/stdout" '^out$' cat engines/1/stdout
has "engines/1/stderr" '^err$' cat engines/1/stderr
is "engines/1/tasks" 1 cat engines/1/tasks
is "tasks/ lists task 1" "1 batch clone events index new timeline.svg waitall" echo $(ls tasks)
echo 'y = 2' > engines/0/exec		# submitted at close
wait_for 10 grep -q '^2 done 0 ' tasks/index && ok "exec at close" || no "exec at close"
has "tasks/index" '^1 done 1 ' cat tasks/index

# --- broadcast and engines/all/ns ---------------------------------------
exec 3<>engines/all/exec; printf 'bx = 5\n' >&3; mapfile -t ids <&3; exec 3>&-
is "engines/all/exec: one id per engine" 3 echo "${#ids[@]}"
for id in "${ids[@]}"; do cat tasks/$id/wait >/dev/null; done
is "broadcast reached engine 2" 5 cat engines/2/ns/bx
echo '[1, 2]' > engines/all/ns/ax
is "engines/all/ns push, pulled from 0" '[1, 2]' cat engines/0/ns/ax
is "engines/all/ns push, pulled from 2" '[1, 2]' cat engines/2/ns/ax
is "engines/all/ns pull gathers" "0 [1, 2]|1 [1, 2]|2 [1, 2]" bash -c 'cat engines/all/ns/ax | paste -sd"|"'
echo '{"k": 1}' > engines/all/ns/aj.json
is "engines/all/ns JSON" '{"k": 1}' cat engines/1/ns/aj.json
printf 'rr' > engines/all/ns/ar.raw
is "engines/all/ns raw push" rr cat engines/2/ns/ar.raw
is "engines/all/ns raw pull: EINVAL" "read EINVAL" "$PP" engines/all/ns/ar.raw
is "engines/all/ns ls" "aj ar ax bx" echo $(ls engines/all/ns | grep -x 'a[jrx]\|bx')
rm engines/all/ns/ax
is "engines/all/ns rm" "read ENOENT" "$PP" engines/1/ns/ax

# --- ns on one engine, 100 MB raw ---------------------------------------
ns=engines/0/ns
echo 41 > $ns/x
is "push a literal, pull the repr" 41 cat $ns/x
echo '{"a": [1, null]}' > $ns/j.json
is "x.json" '{"a": [1, null]}' cat $ns/j.json
is "x.json as repr" "{'a': [1, None]}" cat $ns/j
printf 'a\0b' > $ns/b.raw
is "x.raw" 610062 bash -c "od -An -tx1 < $ns/b.raw | tr -d ' '"
check "ls ns/" bash -c "ls $ns | grep -qx x"
rm $ns/x
is "rm ns/x, then ENOENT" "read ENOENT" "$PP" $ns/x
head -c 100M /dev/urandom > "$T_DIR/big"
t0=$(ms)
cp "$T_DIR/big" engines/2/ns/big.raw
t1=$(ms)
# through a pipe: cmp -s would trust st_size, which is 0 here
check "100 MB raw push ($((t1 - t0)) ms) and pull" bash -c "cat engines/2/ns/big.raw | cmp -s - '$T_DIR/big'"
is "100 MB raw: the engine has all of it" 104857600 cat tasks/$(submit engines/2/exec 'len(big)')/result
rm -f "$T_DIR/big" engines/2/ns/big.raw

# --- load balancing, batch, tasks/events ---------------------------------
id=$(submit tasks/new 'sum(range(10))')
is "tasks/new" 45 cat tasks/$id/result
exec 3<>tasks/batch; printf '1+1\n\036\n2+2\n' >&3; mapfile -t ids <&3; exec 3>&-
is "tasks/batch ids" 2 echo "${#ids[@]}"
is "tasks/batch result" 4 cat tasks/${ids[1]}/result
has "tasks/events has only tasks" "^[0-9]+ task ${ids[1]} done$" bash -c "$PP -d -t 0 tasks/events; timeout 0.5 cat tasks/events"
check "tasks/events has no engine lines" bash -c "! timeout 0.5 cat tasks/events | grep -q engine"

# --- tasks/clone: draft, dependencies, targets, timeout -----------------
exec 4<>tasks/clone; read -r d <&4
is "clone: a draft" draft cat tasks/$d/status
echo 'import time' > tasks/$d/code
echo 'time.time()' >> tasks/$d/code
is "draft code is written by > and >>" "import time|time.time()" bash -c "paste -sd'|' tasks/$d/code"
printf 'targets 2\nretries 1\ntimeout 30\n' >&4
has "draft ctl shows parameters" 'targets 2.*retries 1' bash -c "cat tasks/$d/ctl | paste -sd' '"
is "clone: bad argument EINVAL" "write EINVAL
targets: want numbers, as in 'targets 1 2'" "$PP" -w 'targets x' tasks/$d/ctl
echo submit >&4; exec 4>&-
is "clone: targets 2" 2 bash -c "timeout 20 cat tasks/$d/wait >/dev/null; cat tasks/$d/engine"
is "clone: code after submit EBUSY" 1 bash -c "{ echo 1 > tasks/$d/code; } 2>&1 | grep -c 'busy'"
is "clone: ctl after submit EBUSY" "write EBUSY
task $d was already submitted" "$PP" -w 'targets 1' tasks/$d/ctl
a=$(submit tasks/new 'import time; time.sleep(1.5); time.time()')
wait_for 10 grep -q running tasks/$a/status
b=$(clone 'import time; time.time()' "after $a" "follow $a")
is "after: queued while the dependency runs" queued cat tasks/$b/status
tb=$(timeout 20 cat tasks/$b/result) ta=$(timeout 20 cat tasks/$a/result)
check "after: ran after ($ta <= $tb)" awk -v a="$ta" -v b="$tb" 'BEGIN { exit !(a <= b) }'
is "follow: same engine" "$(cat tasks/$a/engine)" cat tasks/$b/engine
l=$(submit tasks/new 'import time; time.sleep(3)')
e=$(clone 1 "after $l" "timeout 0.5")
is "timeout: ETIMEDOUT" "read ETIMEDOUT" timeout 20 "$PP" tasks/$e/result
is "timeout: status" timeout cat tasks/$e/status
is "clone: unknown dependency ENOENT" "write ENOENT
no task 99999" bash -c "exec 4<>tasks/clone; read -r i <&4; echo 1 > tasks/\$i/code; $PP -w 'after 99999
submit' tasks/\$i/ctl"
is "clone: no code EINVAL" EINVAL bash -c "exec 4<>tasks/clone; read -r i <&4; $PP -w submit tasks/\$i/ctl | head -n1 | cut -d' ' -f2"
exec 4<>tasks/clone; read -r d <&4; echo abort >&4; exec 4>&-
is "draft abort: ECANCELED" "read ECANCELED" "$PP" tasks/$d/result
# the 3 s task above ends before the checks below that no event is
# pending (its end is an event; it once came inside the 200 ms poll)
timeout 20 cat tasks/$l/wait >/dev/null || no "the 3 s task ended"

# --- blocking reads, poll, O_NONBLOCK, signals ----------------------------
s=$(submit tasks/new 'import time
for i in range(3):
    print(i, flush=True); time.sleep(1.5)
"end"')
wait_for 10 grep -q '^0$' tasks/$s/stdout
is "engines/N/status busy" "busy $s" cat engines/$(cat tasks/$s/engine)/status
is "poll wait: not ready" timeout "$PP" -t 200 tasks/$s/wait
is "O_NONBLOCK wait: EAGAIN" "read EAGAIN" "$PP" -n tasks/$s/wait
is "O_NONBLOCK result: EAGAIN" "read EAGAIN" "$PP" -n tasks/$s/result
is "O_NONBLOCK stdout caught up: EAGAIN" "read EAGAIN" "$PP" -d -n tasks/$s/stdout
is "O_NONBLOCK events caught up: EAGAIN" "read EAGAIN" "$PP" -d -n events
is "O_NONBLOCK tasks/events caught up: EAGAIN" "read EAGAIN" "$PP" -d -n tasks/events
is "poll events: not ready" timeout "$PP" -d -t 200 events
"$PP" -d -t 10000 tasks/$s/stdout > "$T_DIR/pstdout" &
p1=$!
"$PP" -t 10000 tasks/$s/wait > "$T_DIR/pwait" &
p2=$!
"$PP" -t 10000 tasks/$s/result > "$T_DIR/presult" &
p3=$!
"$PP" -d -t 10000 events > "$T_DIR/pevents" &
p4=$!
"$PP" -d -t 10000 tasks/events > "$T_DIR/ptevents" &
p5=$!
t0=$(ms); timeout -s INT 0.3 cat tasks/$s/wait; rc=$?; t1=$(ms)
check "SIGINT frees a blocked wait at once ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1500 -a $rc -ne 0
t0=$(ms); timeout -s INT 0.3 cat events >/dev/null; rc=$?; t1=$(ms)
check "SIGINT frees a blocked events read ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1500 -a $rc -ne 0
t0=$(ms); timeout -s INT 0.3 cat tasks/$s/stdout >/dev/null; rc=$?; t1=$(ms)
check "SIGINT frees a blocked stdout read ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1500 -a $rc -ne 0
wait $p1 $p2 $p3 $p4 $p5
has "poll stdout: woken by output" '^[12]$' head -n1 "$T_DIR/pstdout"
has "poll wait: woken at the end" "^$s done " cat "$T_DIR/pwait"
is "poll result: woken at the end" "'end'" cat "$T_DIR/presult"
has "poll events: woken" '^[0-9]+ (task|engine) ' head -n1 "$T_DIR/pevents"
has "poll tasks/events: woken" '^[0-9]+ task ' head -n1 "$T_DIR/ptevents"
is "stdout streamed to the end" "0 1 2" echo $(cat tasks/$s/stdout)

# --- ctl commands and errnos -------------------------------------------
id=$(submit tasks/new '1/0')
is "task raised: EREMOTEIO" "read EREMOTEIO" "$PP" tasks/$id/result
has "tasks/N/error holds the traceback" '^ZeroDivisionError' cat tasks/$id/error
is "status failed" failed cat tasks/$id/status
is "unknown engine: ENOENT" "open ENOENT" "$PP" engines/7/exec
is "unknown task: ENOENT" "open ENOENT" "$PP" tasks/99999/wait
is "unknown name: ENOENT" "read ENOENT" "$PP" engines/0/ns/nosuchname
has "ENOENT text in /errors" 'engines/0/ns/nosuchname: NameError' cat errors
is "unknown command: EINVAL, usage on the fd" "write EINVAL
unknown command 'frob'; usage: interrupt | kill | abort | reset | shutdown" "$PP" -w frob engines/0/ctl
has "unknown command in /errors" "engines/0/ctl: unknown command 'frob'; usage: .*Invalid argument" cat errors
is "tasks/N/ctl: EINVAL" EINVAL bash -c "$PP -w frob tasks/1/ctl | head -n1 | cut -d' ' -f2"
is "/ctl: EINVAL" EINVAL bash -c "$PP -w frob ctl | head -n1 | cut -d' ' -f2"
echo 'settings task_timeout 2.5' > ctl
has "/ctl settings" '^task_timeout 2.5$' cat ctl
is "/ctl settings: bad key EINVAL" EINVAL bash -c "$PP -w 'settings nope 1' ctl | head -n1 | cut -d' ' -f2"
echo 'settings task_timeout 0' > ctl
# engine 0: a running task, a queued one aborted, then an interrupt
r=$(submit engines/0/exec 'import time; time.sleep(30)')
q=$(submit engines/0/exec '"never"')
wait_for 10 grep -q running tasks/$r/status
# ipengine answers control requests only between tasks: the abort is
# acknowledged once the interrupt ended the running one
(echo abort > tasks/$q/ctl) &
ap=$!
wait_for 10 grep -q 'parked [1-9]' status
check "engines/N/ctl interrupt" bash -c "echo interrupt > engines/0/ctl"
wait $ap && ok "tasks/N/ctl abort" || no "tasks/N/ctl abort"
check "engines/N/ctl abort" bash -c "echo abort > engines/0/ctl"
is "interrupted: EREMOTEIO" "read EREMOTEIO" timeout 10 "$PP" tasks/$r/result
has "interrupted: KeyboardInterrupt" KeyboardInterrupt cat tasks/$r/error
is "aborted: ECANCELED" "read ECANCELED" timeout 10 "$PP" tasks/$q/result
is "aborted: status" aborted cat tasks/$q/status
echo 'z = 1' > engines/0/ns/z
check "engines/N/ctl reset" bash -c "echo reset > engines/0/ctl"
is "reset cleared the namespace" "read ENOENT" "$PP" engines/0/ns/z
check "two commands in one write" bash -c 'printf "abort\nreset" > engines/0/ctl'
id=$(submit tasks/new '3 * 3')
cat tasks/$id/wait >/dev/null
check "tasks/N/ctl resubmit" bash -c "echo resubmit > tasks/$id/ctl"
n=$(awk '$1 == "resubmitted" { print $2 }' tasks/$id/ctl)
is "the resubmitted task's result" 9 timeout 20 cat tasks/${n:-0}/result
is "resubmit of an unfinished task: EBUSY" EBUSY bash -c "exec 4<>tasks/clone; read -r i <&4; $PP -w resubmit tasks/\$i/ctl | head -n1 | cut -d' ' -f2"

# --- dead engines: kill -9, ctl kill, ctl shutdown ---------------------
l=$(submit engines/1/exec 'import os, time; print(os.getpid(), flush=True); time.sleep(60)')
wait_for 10 grep -q '^[0-9]' tasks/$l/stdout
# stdout streams until the task ends: take only the first line
kill -KILL "$(head -n1 tasks/$l/stdout)"
wait_for 20 grep -q '^1 dead' engines/index && ok "kill -9: engines/index" || no "kill -9: engines/index"
check "kill -9: status" grep -qx 'engines_dead 1' status
is "kill -9: engines/1/status" dead cat engines/1/status
has "kill -9: events" '^[0-9]+ engine 1 down$' bash -c "timeout 0.5 cat events"
is "running task lost: EHOSTDOWN" "read EHOSTDOWN" timeout 20 "$PP" tasks/$l/result
is "exec on a dead engine: EHOSTDOWN" "write EHOSTDOWN
engine 1 is down" "$PP" -w 1 engines/1/exec
is "ns on a dead engine: EHOSTDOWN" "read EHOSTDOWN" "$PP" engines/1/ns/x
n=$(ls tasks | grep -c '^[0-9]')
# history: a new mount lists what the controller recorded
cd / || exit 1
fusermount3 -u "$MNT"
wait_for 5 gone "$IPPFS_PID" && ok "fusermount3 -u ends ippfs" || no "ippfs still runs"
mount_ippfs
cd "$MNT" || exit 1
has "remount: earlier tasks listed" "^[0-9]+$" bash -c "ls tasks | grep -c '^[0-9]' | awk '\$1 >= $n - 8'"
is "remount: an old result" 42 cat tasks/1/result
(echo kill > engines/2/ctl) && ok "engines/N/ctl kill" || no "engines/N/ctl kill"
wait_for 20 grep -q '^2 dead' engines/index && ok "kill: engine 2 dead" || no "kill: engine 2 dead"
(echo shutdown > engines/0/ctl) && ok "engines/N/ctl shutdown" || no "engines/N/ctl shutdown"
wait_for 20 grep -q '^0 dead' engines/index && ok "shutdown: engine 0 dead" || no "shutdown: engine 0 dead"
is "no engine left: engines/all/exec EHOSTDOWN" "read EHOSTDOWN" bash -c "$PP -w 1 engines/all/exec | head -n1"
n=$(ls tasks | grep -c '^[0-9]')
echo purge > ctl && ok "/ctl purge" || no "/ctl purge"
check "purge dropped finished tasks" test "$(ls tasks | grep -c '^[0-9]')" -lt "$n"
is "purged task: ENOENT" "open ENOENT" "$PP" tasks/1/result
(echo shutdown > ctl) && ok "/ctl shutdown" || no "/ctl shutdown"
wait_for 10 grep -q gone status && ok "status: hub gone" || no "status: hub gone"
is "controller gone: ENOTCONN" "write ENOTCONN
controller gone" "$PP" -w 1 tasks/new
cd / || exit 1
exit $fail
