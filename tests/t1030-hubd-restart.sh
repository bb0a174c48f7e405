#!/usr/bin/env bash
# t1030-hubd-restart: kill -9 hubd and start it again with --restore: the
# SQLite history is intact (db_query and get_result of old msg_ids) and
# the real ipengines that were connected keep working without a restart.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd --sqlitedb
start_ipengines 2
$PY - "$PROFILE" "$T_DIR/ids" <<'PYEOF' || exit 1
import sys, os, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=30)
ars = [c[i].apply_async(lambda x: x * 3, i + 10) for i in (0, 1)]
ars.append(c.load_balanced_view().apply_async(lambda: "lb"))
ars.append(c[0].execute("print('out before crash')"))
for a in ars:
    a.get(10)
pids = c[:].apply_sync(os.getpid)
with open(sys.argv[2], "w") as f:
    f.write(" ".join(a.msg_ids[0] for a in ars) + "\n")
    f.write(" ".join(map(str, pids)) + "\n")
print("ok - tasks ran before the crash")
PYEOF
kill -KILL "$HUB_PID"
wait_for 5 eval '! kill -0 $HUB_PID' || exit 1
ok "hubd killed with SIGKILL"
spawn hubd2 "$HUBD" --profile-dir="$PROFILE" --ip=127.0.0.1 --restore
HUB_PID=$SPAWNED
$PY - "$PROFILE" "$T_DIR/ids" <<'PYEOF' || exit 1
import sys, os, time, ipyparallel as ipp
sys.path.insert(0, os.environ["PYTHONPATH"].split(":")[0])
from tap import Tap
t = Tap()
ids, pids = [l.split() for l in open(sys.argv[2])]
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=20)
t.eq(sorted(c.ids), [0, 1], "engines restored with their ids")
recs = c.db_query({"msg_id": {"$in": ids}}, keys=["msg_id", "completed",
                                                   "stdout"])
t.eq(sorted(r["msg_id"] for r in recs), sorted(ids), "old records found")
t.ok(all(r["completed"] for r in recs), "old records are complete")
t.ok(any(r["stdout"] == "out before crash\n" for r in recs),
     "stdout of an old task kept")
t.eq(c.get_result(ids[0]).get(10), 30, "get_result of a pre-crash task")
t.eq(c.get_result(ids[2]).get(10), "lb", "get_result of a pre-crash lb task")
t.eq(sorted(map(str, c[:].apply_sync(os.getpid))), sorted(pids),
     "the same engine processes serve after the restart")
t.eq(c.load_balanced_view().map_sync(lambda x: -x, range(4)),
     [0, -1, -2, -3], "load balancing works after the restart")
t.ok(set(ids) <= set(c.hub_history()), "history keeps old ids")
t.done()
PYEOF
exit $fail
