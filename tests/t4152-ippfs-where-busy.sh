#!/usr/bin/env bash
# t4152-ippfs-where-busy.sh - ippfs asks an ipengine its host and pid
# (engines/N/info, engines/index); when the engine is busy with another
# client's long request, the question times out (15 s) and is asked again
# once the engine is free.  Over hubd + ipengine: hubd relays host and
# pid only for engines that report them, which ipengine does not.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 1
wait_engines 1 60 || exit 1
# another client keeps the engine busy past ippfs's reply timeout
$PY - "$PROFILE" <<'PYEOF'
import sys, time, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
ar = c[0].execute("import time; time.sleep(18)", block=False)
while not c.queue_status(0)["queue"]:
    time.sleep(0.05)
c.close()
PYEOF
mount_ippfs
cd "$MNT" || exit 1
is "busy engine: host not known yet" "host -" grep '^host ' engines/0/info
wait_for 40 grep -qx "pid ${ENGINE_PIDS[0]}" engines/0/info
is "asked again once free: pid" "pid ${ENGINE_PIDS[0]}" grep '^pid ' engines/0/info
is "asked again once free: host" "host $(hostname)" grep '^host ' engines/0/info
check "engines/index shows them" grep -Eq "^0 [a-z]+ [0-9a-f-]+ [0-9]+ [-0-9]+ $(hostname) ${ENGINE_PIDS[0]}\$" engines/index
check "the first question timed out" grep -q 'engine 0: no host and pid' "$T_DIR/ippfs.log"
cd / || exit 1
exit $fail
