#!/usr/bin/env bash
# t1150-hubd-crash-tasks: kill -9 hubd with 2,000 load-balanced tasks in
# flight from a real Python Client on two engined engines, restart it with
# --reuse: every one of the 2,000 ends with a result or a clear error at
# that client (counts printed), and none is left pending in the history.
#
# The client carries on after the restart by submitting one more task:
# ipyparallel's Client gives its sockets no routing identity, so the new
# hubd can reach it only on a connection it has heard from (see hubd(8),
# CRASH RECOVERY).
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_engined 2
wait_engines 2 30 || exit 1
cat >"$T_DIR/client.py" <<'PYEOF'
import sys, os, time, ipyparallel as ipp
prof, d = sys.argv[1], sys.argv[2]
def put(name, text):
    with open(d + "/" + name + ".tmp", "w") as f:
        f.write(text)
    os.rename(d + "/" + name + ".tmp", d + "/" + name)
c = ipp.Client(profile_dir=prof, timeout=20)
c.wait_for_engines(2, timeout=30)
v = c.load_balanced_view()
def f(i):
    import time
    time.sleep(0.01)
    return i * 2
ars = [v.apply_async(f, i) for i in range(2000)]
ids = [a.msg_ids[0] for a in ars]
for _ in range(200):                 # until the hub holds every one
    try:
        st = c.result_status(ids)
        break
    except ipp.error.RemoteError:
        time.sleep(0.05)
put("submitted", "%d\n" % (len(st["pending"]) + len(st["completed"])))
while not os.path.exists(d + "/restarted"):
    put("progress", "%d\n" % sum(a.ready() for a in ars))
    time.sleep(0.05)
# carry on working: a new task after the restart
t0 = time.time()
after = v.apply_async(f, 21).get(60)
print("ok - a task submitted after the restart ran" if after == 42 else
      "not ok - a task after the restart gave %r" % (after,))
c.wait(ars, timeout=30)
print("# all 2000 settled %.1f s after the restart" % (time.time() - t0))
res = err = bad = 0
enames = {}
pending = []
for i, a in enumerate(ars):
    if not a.ready():
        pending.append(a.msg_ids[0])
        continue
    try:
        r = a.get(0)
    except ipp.error.RemoteError as e:
        err += 1
        enames[e.ename] = enames.get(e.ename, 0) + 1
        continue
    except Exception as e:
        err += 1
        enames[type(e).__name__] = enames.get(type(e).__name__, 0) + 1
        continue
    if r == i * 2:
        res += 1
    else:
        bad += 1
print("# of 2000: %d results, %d errors %s, %d wrong, %d still pending" %
      (res, err, enames, bad, len(pending)))
put("pending", "".join(m + "\n" for m in pending))
print(("ok" if bad == 0 else "not ok") + " - no wrong result")
print(("ok" if res > 0 and err > 0 else "not ok") +
      " - tasks finished before the crash kept their results, lost ones failed")
print(("ok" if set(enames) <= {"TaskAborted"} else "not ok") +
      " - lost tasks fail with TaskAborted")
st = c.result_status(ids)
print(("ok" if not st["pending"] else "not ok") +
      " - the history holds none as pending (%d pending)" % len(st["pending"]))
PYEOF
spawn client $PY "$T_DIR/client.py" "$PROFILE" "$T_DIR"
CLIENT_PID=$SPAWNED
wait_for 60 test -s "$T_DIR/submitted" || { cat "$T_DIR/client.log"
# hubd's own account: lost tasks found, errors sent (the rest had been
# delivered before the kill, so were not answered twice)
grep -ho "[0-9]* tasks were unfinished\|sent [0-9]* TaskAborted" \
    "$T_DIR/hubd2.log" | sed 's/^/# hubd: /'; exit 1; }
check "the hub knew all 2000 tasks" grep -qx 2000 "$T_DIR/submitted"
progress() { [ "$(cat "$T_DIR/progress" 2>/dev/null || echo 0)" -ge 500 ]; }
wait_for 60 progress || { cat "$T_DIR/client.log"
# hubd's own account: lost tasks found, errors sent (the rest had been
# delivered before the kill, so were not answered twice)
grep -ho "[0-9]* tasks were unfinished\|sent [0-9]* TaskAborted" \
    "$T_DIR/hubd2.log" | sed 's/^/# hubd: /'; exit 1; }
kill -KILL "$HUB_PID"
wait_for 5 eval '! kill -0 $HUB_PID' || exit 1
ok "hubd killed with SIGKILL after $(cat "$T_DIR/progress") of 2000 results"
restart_hubd hubd2 --reuse
touch "$T_DIR/restarted"
client_done "$CLIENT_PID" 120
# hubd's own account: lost tasks found, errors sent (the rest had been
# delivered before the kill, so were not answered twice)
grep -ho "[0-9]* tasks were unfinished\|sent [0-9]* TaskAborted" \
    "$T_DIR/hubd2.log" | sed 's/^/# hubd: /'
# Every task ends at the client, but for a reply libzmq still held in
# its queue at the kill: hubd had handed it over, so it names the task at
# the restart and does not answer it twice (hubd(8), CRASH RECOVERY).
test -f "$T_DIR/pending" || { no "the client reported its pending tasks"; exit 1; }
unexplained=0
while read -r id; do
	grep -q "task $id: its result was handed to libzmq" "$T_DIR/hubd2.log" ||
	    unexplained=$((unexplained + 1))
done <"$T_DIR/pending"
[ -s "$T_DIR/pending" ] && echo "# $(wc -l <"$T_DIR/pending") replies" \
    "held by libzmq at the kill did not reach the client; hubd named them"
is "every task ended at the client, or hubd named it as handed over" \
    0 echo "$unexplained"
exit $fail
