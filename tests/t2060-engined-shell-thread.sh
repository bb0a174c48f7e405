#!/usr/bin/env bash
# t2060-engined-shell-thread: what the main thread still does while the
# Python thread owns the shell socket and runs a long request (engined.h):
# heartbeats under a strict hub through a GIL-holding apply, its output
# streamed while it runs, abort of one queued request by msg_id and of
# everything queued (no ids) answered "aborted" (not a request sent after
# the abort's reply, while the long one still runs), stop_on_error aborting
# what waits behind a failed execute, execution_count and the busy /
# execute_input / idle framing of every request as the Client sees them,
# and shutdown while the running code ignores KeyboardInterrupt (the
# engine leaves the Python thread behind and exits).
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd --ping=200 --max-misses=3
start_engined 1
wait_engines 1 20 || exit 1
$PY - "$PROFILE" "${ENGINE_PIDS[0]}" <<'PYEOF' || exit 1
import os, sys, time, ipyparallel as ipp
sys.path.insert(0, os.environ["PYTHONPATH"].split(":")[0])
from tap import Tap
t = Tap()
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=20)
e0 = c[0]


def spin_print(secs):
    """Hold the GIL for secs, printing a line first."""
    import sys, time
    print("first", flush=True)
    end = time.time() + secs
    while time.time() < end:
        pass
    print("last")
    sys.stderr.write("err\n")
    return "spun"


@t.case("output and heartbeats during a long apply")
def _():
    ar = e0.apply_async(spin_print, 2.5)
    deadline = time.time() + 2.0
    while time.time() < deadline and "first" not in (ar.stdout or ""):
        time.sleep(0.05)
    t.ok("first" in (ar.stdout or "") and not ar.ready(),
         "apply output arrived while the apply still ran", repr(ar.stdout))
    t.eq(ar.get(20), "spun", "the apply's result")
    ar.wait_for_output(10)
    t.eq((ar.stdout, ar.stderr), ("first\nlast\n", "err\n"),
         "all its output, in order")
    t.eq(c.ids, [0], "registered through 2.5 s of GIL (200 ms pings)")


@t.case("abort by msg_id and abort of everything queued")
def _():
    s = e0.apply_async(time.sleep, 1.5)
    q1 = e0.apply_async(lambda: 1)
    q2 = e0.apply_async(lambda: 2)
    e0.abort(q1)
    t.raises(lambda: q1.get(10), "TaskAborted", "queued request aborted "
             "by msg_id while another ran")
    t.eq(q2.get(10), 2, "the one behind it ran")
    s.get(10)
    s = e0.apply_async(time.sleep, 1.5)
    q = [e0.apply_async(lambda: 3) for _ in range(3)]
    time.sleep(0.3)
    c.abort(jobs=[], targets=[0], block=True)   # no msg_ids: all queued
    later = e0.apply_async(lambda: 5)   # sent after the abort's reply
    for i, a in enumerate(q):
        t.raises(lambda: a.get(10), "TaskAborted", "abort with no ids: "
                 "queued request %d aborted" % i)
    t.eq(s.get(10), None, "the running request was not aborted")
    t.eq(later.get(10), 5, "a request sent after the abort's reply ran")
    t.eq(e0.apply_sync(lambda: 4), 4, "engine serves after the aborts")


@t.case("stop_on_error")
def _():
    s = e0.apply_async(time.sleep, 1)
    bad = e0.execute("raise ValueError('stop')", block=False)
    after = e0.execute("stopped = 0", block=False)
    t.raises(lambda: bad.get(10), "ValueError", "failed execute")
    t.raises(lambda: after.get(10), "TaskAborted",
             "execute queued behind it aborted (stop_on_error)")
    s.get(10)


@t.case("execution_count and busy/idle framing")
def _():
    ars = [e0.execute("%d * 2" % i, silent=False, block=False)
           for i in range(3)]
    counts, ready = [], []
    for ar in ars:
        counts.append(ar.get(10).execution_count)
        ready.append(ar.wait_for_output(10))
    t.ok(counts[1] == counts[0] + 1 and counts[2] == counts[1] + 1,
         "execution_count counts up by one", repr(counts))
    er = ars[2].execute_result
    data = er.get("data", {}) if isinstance(er, dict) else er.data
    t.eq(data.get("text/plain"), "4", "execute_result of the third")
    t.eq(ars[2].metadata.get("execute_input"), "2 * 2",
         "execute_input published for it")
    t.eq(ready, [True] * 3, "idle published after each (output ready)")


def gone(pid):
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@t.case("shutdown while the code ignores KeyboardInterrupt")
def _():
    ar = e0.execute("import time\nwhile True:\n    try:\n        time.sleep(5)\n"
                    "    except KeyboardInterrupt:\n        pass", block=False)
    time.sleep(0.5)
    c.shutdown(targets=[0], block=True)
    pid, t0 = int(sys.argv[2]), time.time()
    while time.time() < t0 + 10 and not gone(pid):
        time.sleep(0.1)
    t.ok(gone(pid), "engine process exited (%.1f s)" % (time.time() - t0))


t.done()
PYEOF
exit $fail
