#!/usr/bin/env bash
# t3000-launch-local: launch start/list/engines/signal/stop/clean with
# local engines, checked with the real Python Client running tasks, and
# nothing left behind after stop.
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }

launch_cmd start -n 2 --daemonize --ip=127.0.0.1 >"$T_DIR/start.log" 2>&1 ||
    { cat "$T_DIR/start.log"; no "start"; exit 1; }
grep -q "engines registered: 2/2" "$T_DIR/start.log" ||
    { cat "$T_DIR/start.log"; no "progress lines"; exit 1; }
ok "start -n 2 --daemonize"
test -s "$PROFILE/security/cluster-.json" || { no "state file"; exit 1; }
$PY - "$PROFILE/security/cluster-.json" <<'PYEOF' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cluster"]["n"] == 2, d
assert "pid" in d["controller"]["state"], d
sets = d["engines"]["sets"]
assert len(sets) == 1 and len(list(sets.values())[0]["engines"]) == 2, d
print("ok - state file shaped like cluster-<id>.json")
PYEOF

out=$(launch_cmd list) || { no "list"; exit 1; }
echo "$out"
echo "$out" | grep -Eq "^profile +'' +True +2 local" ||
    { no "list shows the running cluster"; exit 1; }
ok "list"

task() {
	$PY - "$PROFILE" "$1" <<'PYEOF'
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(int(sys.argv[2]), timeout=20)
r = c[:].apply_sync(lambda x: x * 7, 6)
assert r == [42] * int(sys.argv[2]), r
print("ok - %d engines ran a task" % len(c.ids))
c.close()
PYEOF
}
task 2 || exit 1

launch_cmd engines -n 2 >"$T_DIR/engines.log" 2>&1 ||
    { cat "$T_DIR/engines.log"; no "engines -n 2"; exit 1; }
ok "engines -n 2"
task 4 || exit 1
launch_cmd list | grep -Eq "True +4 local" || { no "list 4"; exit 1; }

# SIGINT interrupts (KeyboardInterrupt) but does not kill idle engines
launch_cmd signal SIGINT 2>&1 | grep -q "to 4 engine" ||
    { no "signal"; exit 1; }
# kill(2) has posted the signal when launch returns, and engined takes it
# on its Python thread, which clears a stray one before the next request
task 4 || exit 1
ok "signal SIGINT"

pids=$(launch_pids)
[ "$(echo "$pids" | wc -l)" -eq 5 ] || { no "pid file: $pids"; exit 1; }
t0=$(date +%s%N)
launch_cmd stop || { no "stop"; exit 1; }
echo "# stop took $((($(date +%s%N) - t0) / 1000000)) ms"
# shellcheck disable=SC2086
pids_gone $pids || { no "processes left after stop"; exit 1; }
[ ! -e "$PROFILE/security/cluster-.json" ] || { no "state left"; exit 1; }
[ ! -e "$PROFILE/security/ipcontroller-client.json" ] ||
    { no "connection file left"; exit 1; }
ok "stop: every recorded process is gone"

launch_cmd stop 2>/dev/null && { no "second stop succeeded"; exit 1; }
ok "stop without a cluster fails"

# a cluster id, and clean removing the logs
launch_cmd start -n 1 --daemonize --cluster-id=abc >/dev/null 2>&1 ||
    { no "start --cluster-id"; exit 1; }
test -s "$PROFILE/security/ipcontroller-abc-client.json" ||
    { no "cluster id files"; exit 1; }
pids=$(launch_pids abc)
launch_cmd stop >/dev/null 2>&1 || { no "stop finds the only cluster"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "processes left after stop of cluster abc"; exit 1; }
ls "$PROFILE"/log/ipengine-* >/dev/null 2>&1 || { no "engine logs"; exit 1; }
launch_cmd clean >/dev/null 2>&1 || { no "clean"; exit 1; }
if ls "$PROFILE"/log/ipengine-* >/dev/null 2>&1; then
	no "clean left logs"; exit 1
fi
ok "cluster id, stop of the only cluster, clean"

# profile create
"$LAUNCH" profile create t3000 >/dev/null || { no "profile create"; exit 1; }
test -s "$IPYTHONDIR/profile_t3000/ipcluster_config.json" ||
    { no "profile config"; exit 1; }
ok "profile create"
exit $fail
