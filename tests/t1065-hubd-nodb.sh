#!/usr/bin/env bash
# t1065-hubd-nodb: hubd --nodb (ipyparallel's NoDB) keeps no history and
# so does no history work.  Tasks of the real Python client with output
# and values still run and return (their output reaches the client over
# iopub, not from the history), asking the history for a record a second
# client never saw fails with NoData, as does a db_query, and the
# cluster goes on.  20,000 no-op tasks from tools/loadgen through
# simulated engines then leave the DB thread ("hubd-db") idle: writes are
# not built or handed over only to be dropped there (they were: ~40 us of
# that thread's CPU per task, 65-78 clock ticks for these 20,000).
. "$(dirname "$0")/lib.sh"
need_python_ipp
SIM=$T_TOP/tools/simengines
LOADGEN=$T_TOP/tools/loadgen
[ -x "$SIM" ] && [ -x "$LOADGEN" ] || { echo "tools not built"; exit 1; }
start_hubd --nodb
start_engined 2
wait_engines 2 || exit 1
$PY - "$PROFILE" <<'PYEOF' || fail=1
import sys
import ipyparallel as ipp
from tap import Tap

t = Tap()
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=20)
v = c.load_balanced_view()


def f(i):
    print("out", i)
    return i * i


ars = [v.apply_async(f, i) for i in range(200)]
t.ok([a.get(30) for a in ars] == [i * i for i in range(200)],
     "200 tasks returned their values")
ars[7].wait_for_output(10)
t.ok(ars[7].stdout == "out 7\n", "a task's output reached its client")
dv = c[:]
r = dv.execute("x = 6 * 7\nx", silent=False, block=False)
r.get(30)
r.wait_for_output(10)
t.ok([o["data"]["text/plain"] for o in r.execute_result] == ["42", "42"],
     "execute's results reached the client")
c2 = ipp.Client(profile_dir=sys.argv[1], timeout=20)
t.raises(lambda: c2.get_result(ars[0].msg_ids[0]).get(20), "NoData",
         "a record the history never kept: NoData")
t.raises(lambda: c.db_query({"msg_id": ars[0].msg_ids[0]}), "NoData",
         "db_query: NoData")
t.ok(v.apply_async(f, 9).get(30) == 81, "the cluster goes on")
c2.close()
c.close()
t.done()
PYEOF

# the rest through simulated engines only (loadgen's tasks are no-ops)
kill -TERM "${ENGINE_PIDS[@]}"
check "both engined unregistered" wait_for 20 eval \
    "[ \$(grep -c 'unregistered' '$T_DIR/hubd.log') -ge 2 ]"
spawn sim "$SIM" --file "$PROFILE/security/ipcontroller-engine.json" -n 4 -q
SIM_PID=$SPAWNED
"$LOADGEN" --profile-dir "$PROFILE" --engines 4 --count 0 --timeout 30 \
    >"$T_DIR/engines.out" 2>&1 || { cat "$T_DIR/engines.out"; exit 1; }
db_tid=$(grep -lx hubd-db /proc/"$HUB_PID"/task/*/comm 2>/dev/null |
    head -1 | awk -F/ '{ print $5 }')
check "hubd's DB thread is named hubd-db (${db_tid:-none})" \
    test -n "$db_tid" || exit 1
ticks() { awk '{ print $14 + $15 }' /proc/"$HUB_PID"/task/"$db_tid"/stat; }
t0=$(ticks)
"$LOADGEN" --profile-dir "$PROFILE" --window 64 --count 20000 \
    --timeout 60 >"$T_DIR/load.out" 2>&1
is "20,000 no-op tasks, none lost" "20000 0 0" awk '$1 == "tasks" { n = $2 }
    $1 == "errors" { e = $2 } $1 == "lost" { l = $2 }
    END { print n, e, l }' "$T_DIR/load.out" || cat "$T_DIR/load.out"
t1=$(ticks)
check "the DB thread stayed idle ($((t1 - t0)) ticks for 20,000 tasks)" \
    test $((t1 - t0)) -le 8
kill -TERM "$SIM_PID"
exit $fail
