#!/usr/bin/env bash
# t3090-launch-ipp-cluster: Python users keep ipyparallel's own launcher
# and run our daemons with it, by configuring the controller and engine
# commands: ipyparallel.Cluster (the Python API) with
# LocalControllerLauncher.controller_cmd = hubd and
# LocalEngineSetLauncher.engine_cmd = engined, then ipcluster itself with
# the same settings in ipcluster_config.json.  Each time a Client runs
# tasks, the cluster is stopped, and no hubd or engined is left.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$HUBD" ] && [ -x "$ENGINED" ] || { echo "hubd/engined not built"; exit 1; }

# ours PATTERN: PIDs of our daemons started for the test profile
ours() {
	pgrep -f -- "^($HUBD|$ENGINED) --profile-dir.$PROFILE"
}
no_ours() { ! ours >/dev/null; }

$PY - "$HUBD" "$ENGINED" "$PROFILE" >"$T_DIR/api.log" 2>&1 <<'PYEOF' &
import os, sys, ipyparallel as ipp
from traitlets.config import Config
hubd, engined, prof = sys.argv[1:4]
cfg = Config()
cfg.LocalControllerLauncher.controller_cmd = [hubd]
cfg.LocalEngineSetLauncher.engine_cmd = [engined]
cluster = ipp.Cluster(n=2, profile_dir=prof, cluster_id="api", config=cfg,
                      controller_ip="127.0.0.1")
rc = cluster.start_and_connect_sync()
rc.wait_for_engines(2, timeout=30)
assert rc[:].apply_sync(lambda: 6 * 7) == [42, 42]
rc[:].execute("import os; pid = os.getpid()", block=True)
pids = rc[:]["pid"]
print("ok - Cluster API: hubd + 2 engined ran tasks; engine pids", pids)
# the processes the Cluster started are ours
for p in pids + [cluster.controller.process.pid]:
    exe = os.readlink("/proc/%d/exe" % p)
    assert exe in (os.path.realpath(hubd), os.path.realpath(engined)), exe
print("ok - the Cluster started hubd and engined")
rc.close()
cluster.stop_cluster_sync()
print("ok - Cluster.stop_cluster")
PYEOF
api=$!
T_PIDS+=("$api")
wait_for 120 gone "$api"
wait "$api" || { cat "$T_DIR/api.log"; tail "$PROFILE"/log/*.log; no "Cluster API"; exit 1; }
cat "$T_DIR/api.log" | grep '^ok'
wait_for 5 no_ours || { ours; no "processes left after stop_cluster"; exit 1; }
ok "nothing left after the Cluster API stop"

# the same through the ipcluster command and its config file
cat >"$PROFILE/ipcluster_config.json" <<JSON
{
 "Cluster": {"controller_ip": "127.0.0.1"},
 "LocalControllerLauncher": {"controller_cmd": ["$HUBD"]},
 "LocalEngineSetLauncher": {"engine_cmd": ["$ENGINED"]}
}
JSON
timeout 60 $PY -m ipyparallel.cluster start -n 2 --daemonize \
    --profile-dir="$PROFILE" --cluster-id=cli >"$T_DIR/ipcluster.log" 2>&1 ||
    { cat "$T_DIR/ipcluster.log"; no "ipcluster start"; exit 1; }
$PY - "$PROFILE" <<'PYEOF' || { tail "$PROFILE"/log/*.log; exit 1; }
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], cluster_id="cli", timeout=20)
c.wait_for_engines(2, timeout=30)
assert c[:].apply_sync(lambda: 6 * 7) == [42, 42]
print("ok - ipcluster start: hubd + 2 engined ran tasks")
c.close()
PYEOF
pids=$(ours | tr '\n' ' ')
[ "$(echo $pids | wc -w)" -eq 3 ] || { no "ipcluster's processes: $pids"; exit 1; }
timeout 60 $PY -m ipyparallel.cluster stop --profile-dir="$PROFILE" --cluster-id=cli \
    >>"$T_DIR/ipcluster.log" 2>&1 || { cat "$T_DIR/ipcluster.log"; no "ipcluster stop"; exit 1; }
# shellcheck disable=SC2086
wait_for 10 pids_gone $pids || { no "processes left after ipcluster stop"; exit 1; }
wait_for 5 no_ours || { ours; no "processes left"; exit 1; }
ok "ipcluster stop: nothing left"
exit $fail
