#!/usr/bin/env bash
# t1210-hubd-db-backlog: when the DB thread falls --db-backlog operations
# behind, hubd stops taking new requests until it catches up (so memory
# does not grow with the backlog).  With a backlog of 2 that happens all
# the time: every task of a real Python client must still run, return
# its value and leave a complete record, a dependency on an early task
# must hold, and the holds are logged when hubd stops, with the largest
# backlog seen.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd --db-backlog=2
start_ipengines 2
$PY - "$PROFILE" <<'PYEOF' || exit 1
import sys
import ipyparallel as ipp

blob = b"x" * 20000  # a buffer per task: more for the history to write
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=30)
v = c.load_balanced_view()
first = v.apply_async(lambda: 1)
assert first.get(30) == 1
ars = [v.apply_async(lambda i, b: (i, len(b)), i, blob) for i in range(1500)]
with v.temp_flags(after=[first]):
    dep = v.apply_async(lambda: 7)
got = [a.get(60) for a in ars]
assert got == [(i, 20000) for i in range(1500)], "wrong results"
print("ok - 1500 tasks with 20 kB buffers all returned their values")
assert dep.get(30) == 7
print("ok - a task after an early one ran")
ids = [a.msg_ids[0] for a in ars] + [first.msg_ids[0], dep.msg_ids[0]]
recs = c.db_query({"msg_id": {"$in": ids}}, keys=["msg_id", "completed"])
done = [r for r in recs if r.get("completed")]
assert len(recs) == len(ids) and len(done) == len(ids), \
    "%d records, %d completed, of %d" % (len(recs), len(done), len(ids))
print("ok - every task has a completed record")
c.close()
PYEOF
kill -TERM "$HUB_PID"
check "hubd stopped" wait_for 20 eval "! kill -0 $HUB_PID"
held=$(sed -n 's/.*new requests were held \([0-9]*\) times.*/\1/p' \
    "$T_DIR/hubd.log")
check "holds logged at exit (${held:-none})" test "${held:-0}" -gt 0
# past the limit a loop turn still finishes: at most BATCH (256) requests
# from a socket, a write each, and as many replies' writes
peak=$(sed -n 's/.*DB thread: [0-9]* operations, at most \([0-9]*\) waiting.*/\1/p' \
    "$T_DIR/hubd.log")
check "the DB thread's backlog stayed within a loop turn (${peak:-none})" \
    test "${peak:-99999}" -le 600
exit $fail
