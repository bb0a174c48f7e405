#!/usr/bin/env bash
# t1155-hubd-crash-no-double-reply: a result that reached its client but
# not the history (a kill within the ~70 ms before the record's commit) is
# not answered again after hubd --reuse: a second reply would stop the
# Python Client's reply stream.  The lost commit is made by hand: after
# the kill, X's record is set back to pending, as if its completion had
# not been committed.  Tasks the client never got an answer for (one
# running, one queued) end with TaskAborted, and the client keeps working.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_engined 1
wait_engines 1 30 || exit 1
cat >"$T_DIR/client.py" <<'PYEOF'
import sys, os, time, ipyparallel as ipp
prof, d = sys.argv[1], sys.argv[2]
c = ipp.Client(profile_dir=prof, timeout=20)
c.wait_for_engines(1, timeout=30)
v = c.load_balanced_view()
x = v.apply_async(lambda: "x")
print("ok - x ran" if x.get(20) == "x" else "not ok - x")
def slow():
    import time
    time.sleep(3)
    return "y1"
y1 = v.apply_async(slow)                 # running when hubd dies
y2 = v.apply_async(lambda: "y2")         # queued behind it (hwm 1)
for _ in range(200):                     # until the hub has read both
    try:
        st = c.result_status([y1.msg_ids[0], y2.msg_ids[0]])
        break
    except ipp.error.RemoteError:
        time.sleep(0.05)
assert len(st["pending"]) == 2, st
with open(d + "/ids.tmp", "w") as f:
    f.write("%s %s %s\n" % (x.msg_ids[0], y1.msg_ids[0], y2.msg_ids[0]))
os.rename(d + "/ids.tmp", d + "/ids")
while not os.path.exists(d + "/restarted"):
    time.sleep(0.05)
z = v.apply_async(lambda: "z").get(30)   # the client carries on
print("ok - a task after the restart ran" if z == "z" else "not ok - z")
for name, a in (("y1", y1), ("y2", y2)):
    try:
        r = a.get(10)
        print("not ok - %s gave %r" % (name, r))
    except ipp.error.RemoteError as e:
        print(("ok" if e.ename == "TaskAborted" else "not ok") +
              " - %s ended with %s" % (name, e.ename))
print("ok - x kept its result" if x.get(0) == "x" else "not ok - x changed")
z2 = v.apply_async(lambda: "z2").get(30)
print("ok - the reply stream still works" if z2 == "z2" else "not ok - z2")
PYEOF
spawn client $PY "$T_DIR/client.py" "$PROFILE" "$T_DIR"
CLIENT_PID=$SPAWNED
wait_for 60 test -s "$T_DIR/ids" || { cat "$T_DIR/client.log"; exit 1; }
read -r X Y1 Y2 <"$T_DIR/ids"
db=$PROFILE/hubd-tasks.db
sql() { $PY -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
r = db.execute(sys.argv[2], sys.argv[3:]).fetchall()
db.commit()
print(r[0][0] if r else "")' "$db" "$@"; }
x_done() { [ "$(sql 'select completed is not null from hubd_tasks where msg_id=?' "$X")" = 1 ]; }
wait_for 10 x_done || exit 1
kill -KILL "$HUB_PID"
wait_for 5 eval '! kill -0 $HUB_PID' || exit 1
# the lost commit: x's result never reached the history
sql "update hubd_tasks set completed=null, result_header=null,
    result_content=null, result_metadata=null, fetched=0 where msg_id=?" "$X"
check "x looks pending in the history" \
    test "$(sql 'select count(*) from hubd_tasks where completed is null')" = 3
restart_hubd hubd2 --reuse
touch "$T_DIR/restarted"
client_done "$CLIENT_PID" 60
check "the client saw every check" test "$(grep -c '^ok' "$T_DIR/client.log")" = 6
check "hubd found 3 lost tasks" grep -q "3 tasks were unfinished" "$T_DIR/hubd2.log"
check "hubd sent 2 TaskAborted replies, not 3" \
    grep -q "sent 2 TaskAborted" "$T_DIR/hubd2.log"
x_noted() {
	[ "$(sql "select count(*) from hubd_tasks where msg_id=? and
	    result_content like '%had been sent to the client%' and fetched" \
	    "$X")" = 1 ]
}
check "x's record says its result had been sent" x_noted
exit $fail
