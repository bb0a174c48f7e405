#!/usr/bin/env bash
# t2030-engined-options: --startup-command/--startup-script, --work-dir,
# --id, unknown traits (a warning), user_expressions, stop_on_error
# (requests queued behind a failure are answered "aborted"), and
# registration again after the controller comes back (hubd --reuse).
. "$(dirname "$0")/lib.sh"
need_python_ipp
mkdir -p "$T_DIR/work"
echo 'from_script = 2' >"$T_DIR/start.py"
start_hubd --ping=200
start_engined 1 --id=7 --work-dir="$T_DIR/work" \
    --startup-command='from_command = 1' --startup-script="$T_DIR/start.py" \
    --InteractiveShell.colors=nocolor
$PY - "$PROFILE" "$T_DIR/work" <<'PYEOF' || exit 1
import os, sys, time, ipyparallel as ipp
sys.path.insert(0, os.environ["PYTHONPATH"].split(":")[0])
from tap import Tap
t = Tap()
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=20)
t.eq(c.ids, [7], "--id=7 honoured")
e = c[7]
t.eq(e.apply_sync(lambda: (from_command, from_script)), (1, 2),
     "startup command and script ran")
t.eq(e.apply_sync(os.getcwd), sys.argv[2], "--work-dir")
# user_expressions through a raw execute_request on the mux
import json, zmq
from jupyter_client.session import Session
cf = json.load(open(sys.argv[1] + "/security/ipcontroller-client.json"))
ss = Session(key=cf["key"].encode(), signature_scheme="hmac-sha256")
mux = zmq.Context().socket(zmq.DEALER)
mux.setsockopt(zmq.LINGER, 0)
mux.connect("%s:%d" % (cf["interface"], cf["mux"]))
ss.send(mux, "execute_request", {"code": "q = 3", "silent": False,
        "user_expressions": {"d": "q * 2", "bad": "nope"}},
        ident=[c._engines[7].encode()])
ue = {}
if mux.poll(10000):
    idents, parts = ss.feed_identities(mux.recv_multipart())
    ue = ss.deserialize(parts)["content"].get("user_expressions", {})
t.eq(ue.get("d", {}).get("data", {}).get("text/plain"), "6",
     "user_expressions evaluated")
t.eq(ue.get("bad", {}).get("ename"), "NameError",
     "a failing user_expression reports its error")
# stop_on_error: a failing execute aborts what is queued behind it
a = e.execute("import time; time.sleep(0.5); 1/0", block=False)
b = e.execute("x = 1", block=False)
for ar, want in ((a, "ZeroDivisionError"), (b, "TaskAborted")):
    try:
        ar.get(10)
        t.ok(False, "%s raised" % want)
    except Exception as ex:
        t.eq(getattr(ex, "ename", type(ex).__name__), want,
             "stop_on_error: %s" % want)
t.done()
PYEOF
grep -q "ignoring unknown setting '--InteractiveShell.colors'" \
    "$T_DIR/engined1.log" || { no "unknown trait not warned"; exit 1; }
ok "unknown trait warned about"
# the controller goes away and comes back on the same ports
kill -KILL "$HUB_PID"
wait_for 5 eval '! kill -0 $HUB_PID' || exit 1
spawn hubd2 "$HUBD" --profile-dir="$PROFILE" --ip=127.0.0.1 --reuse --ping=200
HUB_PID=$SPAWNED
$PY - "$PROFILE" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=30)
assert c[:].apply_async(lambda: from_command).get(10) == [1]
print("ok - the same engine serves the restarted controller")
PYEOF
exit $fail
