#!/usr/bin/env bash
# t3020-launch-config: PROFILE/ipcluster_config.json in the shape of
# ipyparallel's traitlets JSON config is honoured, and the command line
# (options and --Class.trait=value) wins over it.
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
mkdir -p "$PROFILE"
cat >"$PROFILE/ipcluster_config.json" <<JSON
{
 "Cluster": {"n": 3, "engine_launcher_class": "LocalEngineSetLauncher",
	     "cluster_id": "cfg", "controller_args": ["--ping=500"]},
 "LocalEngineSetLauncher": {"engine_args": ["--log-level=DEBUG"]}
}
JSON
launch_cmd start --daemonize >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; no "start"; exit 1; }
grep -q "registered: 3/3" "$T_DIR/out" || { cat "$T_DIR/out"; no "Cluster.n"; exit 1; }
test -s "$PROFILE/security/cluster-cfg.json" || { no "Cluster.cluster_id"; exit 1; }
pids=$(launch_pids cfg)
for p in $pids; do tr '\0' ' ' </proc/"$p"/cmdline; echo; done >"$T_DIR/cmdlines"
grep -q "hubd.*--ping=500" "$T_DIR/cmdlines" || { cat "$T_DIR/cmdlines"; no "controller_args"; exit 1; }
grep -q "engined.*--log-level=DEBUG" "$T_DIR/cmdlines" || { no "engine_args"; exit 1; }
ok "config file: n, cluster_id, controller_args, engine_args"
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "processes left after stop"; exit 1; }

launch_cmd start --daemonize -n 1 --Cluster.cluster_id=cli >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; no "start -n 1"; exit 1; }
grep -q "registered: 1/1" "$T_DIR/out" || { cat "$T_DIR/out"; no "-n wins"; exit 1; }
test -s "$PROFILE/security/cluster-cli.json" || { no "--Cluster.cluster_id wins"; exit 1; }
pids=$(launch_pids cli)
launch_cmd stop --cluster-id=cli >/dev/null 2>&1 || { no "stop --cluster-id"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "processes left after stop"; exit 1; }
ok "command line wins over the config file"

echo '{"Cluster": ' >"$PROFILE/ipcluster_config.json"
launch_cmd start --daemonize >"$T_DIR/out" 2>&1 && { no "start with a broken config succeeded"; exit 1; }
check "broken config is an error" grep -q "cannot read config" "$T_DIR/out" || cat "$T_DIR/out"
exit $fail
