#!/usr/bin/env bash
# t2010-engined-death-and-heartbeat: (1) a CPU-bound task that holds the
# GIL for seconds does not stop engined's heartbeat, even with a strict
# hub (100 ms period, 3 misses); (2) kill -9 of engined mid-task gives
# EngineError for that task, and a new engined registers and serves.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd --ping=100 --max-misses=3
start_engined 1
$PY - "$PROFILE" "${ENGINE_PIDS[0]}" <<'PYEOF' || exit 1
import os, signal, sys, time, ipyparallel as ipp
sys.path.insert(0, os.environ["PYTHONPATH"].split(":")[0])
from tap import Tap
t = Tap()
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=20)

def spin(secs):
    import time
    end = time.time() + secs
    n = 0
    while time.time() < end:
        n += 1
    return n

t.ok(c[0].apply_async(spin, 4).get(20) > 0, "4 s CPU-bound task finished")
t.eq(c.ids, [0], "engine stayed registered through it (100 ms pings)")
ar = c.load_balanced_view().apply_async(time.sleep, 30)
time.sleep(0.5)
t0 = time.time()
os.kill(int(sys.argv[2]), signal.SIGKILL)
try:
    ar.get(10)
    t.ok(False, "task on killed engine raised")
except Exception as e:
    t.eq(getattr(e, "ename", None), "EngineError", "EngineError for the "
         "task of the killed engine (%.2f s)" % (time.time() - t0))
t.done()
PYEOF
start_engined 1
$PY - "$PROFILE" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=20)
assert c[:].apply_async(lambda: 9).get(10) == [9], "new engine serves"
print("ok - a new engined registered and serves")
PYEOF
