"""interop_hub.py - the real ipyparallel Client against a controller.

Run by tests/t1000-hubd-interop.sh (and others) with a controller and two
engines already up:  interop_hub.py PROFILE_DIR MODE
MODE "full" exercises every client feature the controller takes part in;
"lbmap" only a load-balanced map (used once per scheduling scheme);
"death" kills engine 1 with SIGKILL and times the EngineError.
"""
import os
import signal
import sys
import time

import ipyparallel as ipp
from ipyparallel import Dependency

from tap import Tap

profile, mode = sys.argv[1], sys.argv[2]
t = Tap()
c = ipp.Client(profile_dir=profile, timeout=20)
c.wait_for_engines(2, timeout=30)
t.eq(sorted(c.ids)[:2], [0, 1], "two engines registered with ids 0 and 1")


def fail():
    raise ValueError("boom")


if mode == "lbmap":
    lv = c.load_balanced_view()
    t.eq(lv.map_sync(lambda x: x * x, range(32)), [x * x for x in range(32)],
         "load-balanced map")
    pids = set(lv.map_sync(lambda x: __import__("os").getpid(), range(64),
                           chunksize=1))
    t.ok(len(pids) >= 1, "tasks ran on engines (%d distinct)" % len(pids))
    t.done()

if mode == "death":
    pids = c[:].apply_sync(os.getpid)
    lv = c.load_balanced_view()
    with lv.temp_flags(targets=[1]):
        lb = lv.apply_async(time.sleep, 60)
    d = c[1].apply_async(time.sleep, 60)
    time.sleep(0.5)
    t0 = time.time()
    os.kill(pids[1], signal.SIGKILL)
    for name, ar in (("load-balanced", lb), ("direct", d)):
        try:
            ar.get(10)
            t.ok(False, "%s task on killed engine raised" % name)
        except Exception as e:
            dt = time.time() - t0
            t.eq(getattr(e, "ename", ""), "EngineError",
                 "%s task on killed engine gives EngineError" % name)
            t.ok(dt < 1.0, "%s EngineError within 1 s (%.3f s)" % (name, dt))
    deadline = time.time() + 5
    while 1 in c.ids and time.time() < deadline:
        time.sleep(0.05)
    t.ok(1 not in c.ids, "killed engine unregistered")
    t.eq(c[0].apply_sync(lambda: 7), 7, "surviving engine still serves")
    t.done()

dv = c[:]


@t.case("direct view")
def _():
    dv.execute("a = 5", block=True)
    t.eq(dv.pull("a", block=True), [5, 5], "execute then pull")
    t.eq(dv.apply_sync(lambda x: x + 1, 41), [42, 42], "apply")
    dv.push({"b": [1, 2, 3]}, block=True)
    t.eq(dv["b"], [[1, 2, 3]] * 2, "push then pull")
    dv.scatter("x", list(range(10)), block=True)
    t.eq(dv.gather("x", block=True), list(range(10)), "scatter/gather")
    t.eq(dv.map_sync(lambda v: v * 2, range(8)), [v * 2 for v in range(8)],
         "direct map")
    t.eq(c[0].apply_sync(lambda: 6 * 7), 42, "single-engine apply")
    ar = dv.execute("print('hello'); import sys; print('oops', "
                    "file=sys.stderr)", block=True)
    t.eq(ar.stdout, ["hello\n"] * 2, "stdout in AsyncResult")
    t.eq(ar.stderr, ["oops\n"] * 2, "stderr in AsyncResult")
    t.raises(lambda: c[0].apply_sync(fail), "ValueError",
             "remote exception comes back")


lv = c.load_balanced_view()


@t.case("load-balanced view and dependencies")
def _():
    t.eq(lv.map_sync(lambda x: x + 1, range(20)), list(range(1, 21)),
         "load-balanced map")
    a = lv.apply_async(time.sleep, 0.3)
    with lv.temp_flags(after=a):
        b = lv.apply_async(lambda: "after")
    t.eq(b.get(10), "after", "dependency met (after)")
    t.ok(b.started >= a.completed if a.completed and b.started else True,
         "dependent task started after its dependency")
    f = lv.apply_async(fail)
    try:
        f.get(10)
    except Exception:
        pass
    with lv.temp_flags(after=f):
        g = lv.apply_async(lambda: 1)
    t.raises(lambda: g.get(10), "ImpossibleDependency",
             "dependency failed -> ImpossibleDependency")
    dep = Dependency(f.msg_ids, success=False, failure=True)
    with lv.temp_flags(after=dep):
        h = lv.apply_async(lambda: "ran")
    t.eq(h.get(10), "ran", "dependency on failure met")
    with lv.temp_flags(after=["no-such-msg-id"]):
        i = lv.apply_async(lambda: 1)
    t.raises(lambda: i.get(10), "InvalidDependency",
             "unknown dependency -> InvalidDependency")
    x = lv.apply_async(lambda: 1)
    x.get(10)
    with lv.temp_flags(follow=x):
        y = lv.apply_async(lambda: 2)
    t.eq(y.get(10), 2, "follow dependency met")
    t.eq(y.engine_id, x.engine_id, "follow ran where its dependency ran")
    long = lv.apply_async(time.sleep, 2)
    with lv.temp_flags(after=long, timeout=0.3):
        z = lv.apply_async(lambda: 1)
    t0 = time.time()
    t.raises(lambda: z.get(10), "TaskTimeout", "timeout -> TaskTimeout")
    t.ok(time.time() - t0 < 1.5, "timeout fired on time")
    long.get(10)
    flag = "/tmp/ipptest-retry-%d" % os.getpid()

    def flaky(path):
        import os
        if not os.path.exists(path):
            open(path, "w").close()
            raise RuntimeError("first try fails")
        return os.getpid()

    with lv.temp_flags(retries=1):
        r = lv.apply_async(flaky, flag)
    t.ok(isinstance(r.get(10), int), "retries: failed task re-ran")
    os.unlink(flag)
    with lv.temp_flags(targets=[1]):
        tt = lv.apply_async(lambda: 1)
    tt.get(10)
    t.eq(tt.engine_id, 1, "targets honoured")


@t.case("broadcast view")
def _():
    bv = c.broadcast_view()
    t.eq(bv.apply_sync(lambda: 3), [3, 3], "broadcast (not coalescing)")
    bc = c.broadcast_view(is_coalescing=True)
    t.eq(bc.apply_sync(lambda: 4), [4, 4], "broadcast (coalescing)")
    bc.execute("zz = 9", block=True)
    t.eq(dv.pull("zz", block=True), [9, 9], "broadcast execute")


@t.case("abort and queue status")
def _():
    e0 = c[0]
    s = e0.apply_async(time.sleep, 3)  # abort must land before it ends
    q = e0.apply_async(lambda: 5)
    e0.abort(q)
    t.raises(lambda: q.get(10), "TaskAborted", "abort a queued task")
    s.get(10)
    qs = c.queue_status()
    t.ok(set([0, 1]) <= set(qs) and "unassigned" in qs and
         set(qs[0]) == {"queue", "completed", "tasks"},
         "queue_status shape", repr(qs))
    qv = c.queue_status(0, verbose=True)
    t.ok(isinstance(qv["queue"], list), "verbose queue_status lists ids",
         repr(qv))


@t.case("history, results, db queries, purge, resubmit")
def _():
    ar = c[0].apply_async(lambda: 99)
    ar.get(10)
    mid = ar.msg_ids[0]
    c2 = ipp.Client(profile_dir=profile, timeout=20)
    r = c2.get_result(mid)
    t.eq(r.get(10), 99, "get_result of another client's msg_id")
    st = c2.result_status([mid], status_only=True)
    t.eq(st["completed"], [mid], "result_status")
    t.ok(mid in c.hub_history(), "history contains the msg_id")
    recs = c.db_query({"msg_id": {"$in": [mid]}},
                      keys=["msg_id", "completed", "engine_uuid"])
    t.eq([x["msg_id"] for x in recs], [mid], "db_query $in")
    t.ok(recs and recs[0].get("completed") is not None,
         "db record completed")
    recs = c.db_query({"completed": {"$ne": None}}, keys=["msg_id"])
    t.ok(len(recs) > 10, "db_query $ne None (%d records)" % len(recs))
    from datetime import datetime, timezone, timedelta
    cut = datetime.now(timezone.utc)
    late = c[1].apply_async(lambda: 1)
    late.get(10)
    recs = c.db_query({"submitted": {"$gte": cut}}, keys=["msg_id"])
    t.eq([x["msg_id"] for x in recs], late.msg_ids, "db_query $gte on a date")
    recs = c.db_query({"submitted": {"$lt": cut}, "msg_id": mid},
                      keys=["msg_id"])
    t.eq([x["msg_id"] for x in recs], [mid], "db_query $lt on a date")
    recs = c.db_query({"msg_id": {"$nin": [mid]},
                       "engine_uuid": {"$exists": True},
                       "completed": {"$lte": datetime.now(timezone.utc) +
                                     timedelta(seconds=5)}},
                      keys=["msg_id", "buffers", "result_buffers"])
    t.ok(len(recs) > 5 and mid not in [x["msg_id"] for x in recs] and
         all("buffers" in x for x in recs),
         "db_query $nin/$exists/$lte with buffers")
    rs = c.resubmit(ar.msg_ids)
    t.eq(rs.get(10), [99], "resubmit")
    c.purge_results(jobs=[mid])
    t.ok(mid not in c.hub_history(), "purge one record")
    # (the client never clears the original id of a non-coalescing
    # broadcast from its outstanding set, with ipcontroller too, so
    # purge only the hub's records)
    c.purge_hub_results("all")
    t.eq(c.hub_history(), [], "purge all")
    c2.close()


t.done()
