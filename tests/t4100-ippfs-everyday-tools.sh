#!/usr/bin/env bash
# t4100-ippfs-everyday-tools.sh - ippfs over hubd + engined under the
# tools people point at any directory: reading the code files (exec,
# tasks/new, tasks/batch, tasks/clone) makes no task and no draft; with
# one engine busy in time.sleep(30), ls -lR, find, du, tar and grep -r
# each finish in under 2 s and create no task (also with the other
# engine busy with another client's request); the files of ended tasks
# have their true size, so tar and cp copy them whole.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
ippfs_cluster 2
ntasks() { wc -l < tasks/index; }
# requests in the controller's history that are not ippfs's own
# namespace operations (those carry "ippfs" or "ipp_data" metadata)
hist() {
	$PY - "$PROFILE" <<'PYEOF'
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
ids = c.hub_history()
recs = c.db_query({'msg_id': {'$in': ids}}, keys=['msg_id', 'metadata']) if ids else []
print(sum(1 for r in recs if not ({'ippfs', 'ipp_data'} & set(r.get('metadata') or {}))))
c.close()
PYEOF
}

# --- reading the code files makes nothing -----------------------------
n0=$(ntasks); h0=$(hist)
for f in engines/0/exec engines/all/exec tasks/new tasks/batch tasks/clone; do
	out=$(cat "$f" 2>&1); rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then ok "reading $f: empty"; else
		no "reading $f: empty"; echo "#   got ($rc): '$out'"; fi
done
check "reading the code files made no task or draft ($n0 -> $(ntasks))" test "$(ntasks)" = "$n0"
check "nor a request to the controller ($h0 -> $(hist))" test "$(hist)" = "$h0"
check "tasks/clone opened for writing still gives a draft" bash -c 'exec 4<>tasks/clone; read -r d <&4; test "$(cat tasks/$d/status)" = draft && echo abort >&4'

# --- ended tasks, names on both engines, then engine 1 busy ---------------
small=$(submit engines/0/exec '6 * 7')
big=$(submit engines/0/exec 'for i in range(5000): print("line", i, "needle-in-stdout" if i == 4321 else "")
"x" * 300000')
bad=$(submit engines/0/exec '1/0')
echo 41 > engines/0/ns/a0
echo 42 > engines/1/ns/a1
for id in $small $big $bad; do timeout 30 cat tasks/$id/wait > /dev/null; done
r=$(cat tasks/$big/result | wc -c)
check "a 300 KB result" test "$r" -gt 300000
is_size() { test "$(stat -c %s "$1")" = "$(cat "$1" | wc -c)"; }
for f in result stdout code wait status ctl; do
	check "tasks/$big/$f: st_size is its length" is_size tasks/$big/$f
done
cp tasks/$big/result "$T_DIR/cp.result"
check "cp copies a result whole" bash -c "cat tasks/$big/result | cmp -s - '$T_DIR/cp.result'"

# a listing already sent when the engine turns busy: what is known, at
# once (engine 0 stopped, so the listing waits; then a task is queued)
# engine 0 is whichever engined registered first: its pid from info
pid0=$(awk '$1 == "pid" { print $2 }' engines/0/info)
check "engine 0's pid is one of ours ($pid0)" grep -qxF -- "$pid0" <(printf '%s\n' "${ENGINE_PIDS[@]}")
kill -STOP "$pid0"
ls engines/0/ns > "$T_DIR/ls0" 2>&1 &
lp=$!
wait_for 10 grep -qx 'parked [1-9]' status || no "the listing waits"
t0=$(ms)
echo 'queued_behind = 1' > engines/0/exec
wait_for 10 gone $lp
t1=$(ms)
check "a waiting listing answers once the engine is busy ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000
check "... with the names known" grep -qx a0 "$T_DIR/ls0"
kill -CONT "$pid0"

busy=$(submit engines/1/exec 'import time; time.sleep(30)')
wait_for 10 grep -qx "running 1" tasks/$busy/status || no "the busy task runs"
n1=$(ntasks); h1=$(hist)
tool() {
	local what=$1 t0 t1
	shift
	t0=$(ms)
	timeout 60 "$@" > "$T_DIR/$what.out" 2> "$T_DIR/$what.err"
	t1=$(ms)
	if [ $((t1 - t0)) -lt 2000 ]; then ok "$what: $((t1 - t0)) ms"; else
		no "$what: $((t1 - t0)) ms"; head -n3 "$T_DIR/$what.err"; fi
	if grep -q 'timed out' "$T_DIR/$what.err"; then
		no "$what: no time-outs"; grep 'timed out' "$T_DIR/$what.err" | head -n3; fi
}
tool "ls -lR" ls -lR .
tool find find .
tool du du .
tool tar tar cf "$T_DIR/a.tar" .
tool "grep -r" grep -r needle-in .
check "tar: no file changed as it was read" bash -c "! grep -q 'changed as we read' '$T_DIR/tar.err'"
check "ls -lR shows engine 1's names from what is known" grep -qx "a1" <(ls engines/1/ns)
check "grep -r found the needle in an ended task's stdout" grep -q "tasks/$big/stdout:line 4321 needle-in-stdout" "$T_DIR/grep -r.out"
check "the tools made no task ($n1 -> $(ntasks))" test "$(ntasks)" = "$n1"
check "nor a request to the controller ($h1 -> $(hist))" test "$(hist)" = "$h1"
check "the busy task still runs" grep -qx "running 1" tasks/$busy/status

mkdir "$T_DIR/x"
tar xf "$T_DIR/a.tar" -C "$T_DIR/x" 2>/dev/null
whole=0 n=0
for id in $(awk '$2 == "done" { print $1 }' tasks/index); do
	for f in result stdout code; do
		n=$((n + 1))
		if cat tasks/$id/$f | cmp -s - "$T_DIR/x/tasks/$id/$f"; then
			whole=$((whole + 1))
		else
			echo "# tasks/$id/$f: $(cat tasks/$id/$f | wc -c) bytes, in the archive $(wc -c < "$T_DIR/x/tasks/$id/$f" 2>&1)"
		fi
	done
done
check "tar holds every ended task's result, stdout and code whole ($whole of $n)" test "$whole" = "$n" -a "$n" -ge 6
check "tar holds the failed task's traceback" grep -q ZeroDivisionError "$T_DIR/x/tasks/$bad/error"
echo "# grep -r said: $(sort -u "$T_DIR/grep -r.err" | sed "s/^grep: //" | paste -sd";")"

# engine 0 busy with another client's request: known from iopub alone
$PY - "$PROFILE" <<'PYEOF' || no "another client's request runs on engine 0"
import sys, time, ipyparallel as ipp
def nap():
    import time
    print("started", flush=True)
    time.sleep(20)
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
ar = c[0].apply_async(nap)
end = time.time() + 20
while "started" not in (ar.stdout or "") and time.time() < end:
    ar.wait(0.1)
c.close()
sys.exit("started" not in (ar.stdout or ""))
PYEOF
tool "ls -lR, both engines busy" ls -lR .
tool "grep -r, both engines busy" grep -r needle-in .
check "engine 0's names from what is known" grep -qx "a0" <(ls engines/0/ns)

# a new mount, made while both engines are busy, learns it from the history
cd / || exit 1
kill -TERM "$IPPFS_PID"
wait_for 10 gone "$IPPFS_PID" || no "ippfs ends on SIGTERM"
mount_ippfs
cd "$MNT" || exit 1
n2=$(ntasks)
tool "ls -lR, a new mount" ls -lR .
tool "grep -r, a new mount" grep -r needle-in .
check "a new mount: no task made ($n2 -> $(ntasks))" test "$(ntasks)" = "$n2"
cd / || exit 1
exit $fail
