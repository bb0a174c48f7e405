"""interop_engine.py - engine behaviour seen from the real Python Client.

Run by the t2xxx tests with a controller and two engines (ours or
ipengine) up:  interop_engine.py PROFILE_DIR
Covers what the engine itself decides: execute results and errors with
tracebacks, output streamed while code runs, abort, clear, interrupt of a
running sleep, stop_on_error, and shutdown.
"""
import os
import sys
import time

import ipyparallel as ipp

from tap import Tap

profile = sys.argv[1]
t = Tap()
c = ipp.Client(profile_dir=profile, timeout=20)
c.wait_for_engines(2, timeout=30)
e0 = c[0]
dv = c[:]


@t.case("execute")
def _():
    ar = e0.execute("x = 6\nx * 7", silent=False, block=False)
    ar.get(10)
    ar.wait_for_output(10)
    er = ar.execute_result
    data = er.get("data", {}) if isinstance(er, dict) else er.data
    t.eq(data.get("text/plain"), "42",
         "trailing expression gives execute_result")
    dv.execute("import os; pid = os.getpid()", block=True)
    t.eq(len(set(dv.pull("pid", block=True))), 2, "persistent namespace")
    try:
        e0.execute("def f():\n    raise KeyError('nope')\nf()",
                   block=True)
        t.ok(False, "error raised")
    except Exception as e:
        t.eq(getattr(e, "ename", None), "KeyError", "error ename")
        tb = getattr(e, "traceback", "") or ""
        tb = tb if isinstance(tb, str) else "\n".join(tb)
        t.ok("line 2, in f" in tb or ":2, in f" in tb,
             "traceback names the failing line", tb)
    try:
        e0.apply_sync(lambda: [][1])
        t.ok(False, "apply error raised")
    except Exception as e:
        t.eq(getattr(e, "ename", None), "IndexError", "apply error ename",
             ) or print("# %r %r" % (type(e), e))


@t.case("IPython syntax")
def _():
    try:
        import IPython  # noqa: F401
    except ImportError:
        t.ok(True, "# SKIP IPython not importable")
        return
    ar = e0.execute("!echo from-shell", block=True)
    t.ok("from-shell" in (ar.stdout or ""), "!cmd runs a shell command",
         repr(ar.stdout))
    e0.execute("%env IPPTEST_VAR=42", block=True)
    t.eq(e0.apply_sync(lambda: __import__("os").environ["IPPTEST_VAR"]),
         "42", "%magic runs")


@t.case("output streams while the code runs")
def _():
    ar = e0.execute("import time, sys\nprint('first', flush=True)\n"
                    "time.sleep(2)\nprint('second')", block=False)
    deadline = time.time() + 1.5
    while time.time() < deadline and "first" not in (ar.stdout or ""):
        time.sleep(0.05)
    t.ok("first" in (ar.stdout or "") and not ar.ready(),
         "first line arrived while the task was still running",
         repr(ar.stdout))
    ar.get(10)
    ar.wait_for_output(10)  # iopub and the reply travel separately
    t.eq(ar.stdout, "first\nsecond\n", "all output in order")
    ar = e0.execute("import sys; print('to stderr', file=sys.stderr)",
                    block=True)
    t.eq(ar.stderr, "to stderr\n", "stderr captured")


@t.case("abort, stop_on_error and clear")
def _():
    s = e0.apply_async(time.sleep, 2)
    q = e0.apply_async(lambda: 5)
    e0.abort(q)
    try:
        q.get(10)
        t.ok(False, "aborted task raised")
    except Exception as e:
        t.eq(type(e).__name__, "TaskAborted", "abort a queued task")
    s.get(10)
    e0.push({"keep": 1}, block=True)
    e0.clear(block=True)
    try:
        e0.pull("keep", block=True)
        t.ok(False, "cleared name gone")
    except Exception as e:
        t.eq(getattr(e, "ename", None), "NameError", "clear empties the "
             "namespace")
    t.eq(e0.apply_sync(lambda: 3), 3, "engine serves after clear")


@t.case("interrupt")
def _():
    pids = dv.apply_sync(os.getpid)
    ar = e0.execute("import time; time.sleep(60)", block=False)
    time.sleep(0.5)
    t0 = time.time()
    c.send_signal(2, targets=[0], block=True)  # SIGINT via control
    try:
        ar.get(5)
        t.ok(False, "interrupted task raised")
    except Exception as e:
        dt = time.time() - t0
        t.eq(getattr(e, "ename", None), "KeyboardInterrupt",
             "interrupt gives KeyboardInterrupt")
        t.ok(dt < 1.0, "interrupted within 1 s (%.3f s)" % dt)
    t.eq(e0.apply_sync(os.getpid), pids[0], "same engine serves after it")


@t.case("shutdown")
def _():
    n = len(c.ids)
    c.shutdown(targets=[1], block=True)
    deadline = time.time() + 10
    while len(c.ids) >= n and time.time() < deadline:
        time.sleep(0.05)
    t.eq(len(c.ids), n - 1, "engine 1 unregistered after shutdown")
    t.eq(e0.apply_sync(lambda: "still"), "still", "engine 0 unaffected")


t.done()
