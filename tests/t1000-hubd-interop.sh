#!/usr/bin/env bash
# t1000-hubd-interop: the real Python Client and two real ipengines
# against hubd: every client feature the controller takes part in, then
# client.shutdown(hub=True) stops hubd and removes its connection files.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 2
# bounded: a client that hangs is stopped with SIGABRT, and Python's fault
# handler prints where each of its threads stood
py() { PYTHONFAULTHANDLER=1 timeout -s ABRT 240 $PY "$@"; }
py "$T_TOP/tests/py/interop_hub.py" "$PROFILE" full ||
    { no "the interop client (status $?)"; exit 1; }
py - "$PROFILE" <<'PYEOF' || { no "the shutdown client (status $?)"; exit 1; }
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(2, timeout=10)
c.shutdown(hub=True, block=True)
print("ok - client.shutdown(hub=True) returned")
PYEOF
wait_for 5 eval '! kill -0 $HUB_PID' || { no "hubd still running"; exit 1; }
ok "hubd exited"
test ! -e "$PROFILE/security/ipcontroller-client.json" ||
    { no "connection file left behind"; exit 1; }
ok "connection files removed"
for p in "${ENGINE_PIDS[@]}"; do
	wait_for 10 eval "! kill -0 $p" || { no "engine $p still up"; exit 1; }
done
ok "engines shut down"
exit $fail
