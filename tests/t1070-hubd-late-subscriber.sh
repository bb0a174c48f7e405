#!/usr/bin/env bash
# t1070-hubd-late-subscriber: ipyparallel's Client subscribes to
# notifications only after its connection_reply, so an engine registering
# in between would be missed (wait_for_engines times out; ipcontroller
# has this hole too).  The test makes that happen every time: the
# client's notification SUB connects only once a watching client has seen
# a new engined register.  hubd must announce that engine again to the
# new subscriber, and the client must list it once.
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$ENGINED" ] || { echo "engined not built"; exit 1; }
start_hubd
$PY - "$ENGINED" "$PROFILE" <<'PYEOF' &
import subprocess, sys, time, zmq, ipyparallel as ipp
from ipyparallel.client import client as cmod
engined, prof = sys.argv[1:3]
watch = ipp.Client(profile_dir=prof, timeout=10)
procs = []
orig = cmod.util.connect
def late_sub(s, url, **kw):
    if s.socket_type == zmq.SUB and not procs:
        procs.append(subprocess.Popen([engined, "--profile-dir=" + prof]))
        t = time.time()
        while not watch.ids and time.time() - t < 20:
            time.sleep(0.02)
        assert watch.ids, "engine never registered"
    return orig(s, url, **kw)
cmod.util.connect = late_sub
try:
    c = ipp.Client(profile_dir=prof, timeout=10)
    # (the engine started after the reply came: it was not in it)
    c.wait_for_engines(1, timeout=10)
    print("ok - a client whose SUB connected late saw the engine")
    assert c.ids == [0], c.ids
    assert c[:].apply_sync(lambda: 6 * 7) == [42]
    print("ok - listed once and usable")
    c2 = ipp.Client(profile_dir=prof, timeout=10)
    assert c2.ids == [0], c2.ids
    print("ok - a later client gets it from the connection reply")
    c.close(); c2.close(); watch.close()
finally:
    for p in procs:
        p.terminate(); p.wait()
PYEOF
py=$!
T_PIDS+=("$py")
wait_for 60 gone "$py" || { no "client hung"; exit 1; }
wait "$py" || { tail "$T_DIR/hubd.log"; exit 1; }
exit $fail
