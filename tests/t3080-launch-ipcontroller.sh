#!/usr/bin/env bash
# t3080-launch-ipcontroller: launch drives Python's ipcontroller and
# ipengine (configurable commands) as well as hubd and engined: start,
# a task through the real Client, stop with nothing left behind.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
mkdir -p "$PROFILE"
cat >"$PROFILE/ipcluster_config.json" <<JSON
{
 "ControllerLauncher": {"controller_cmd": ["$PY", "-m", "ipyparallel.controller"]},
 "EngineLauncher": {"engine_cmd": ["$PY", "-m", "ipyparallel.engine"]}
}
JSON
launch_cmd start -n 2 --daemonize --timeout=90 >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; no "start with ipcontroller/ipengine"; exit 1; }
pids=$(launch_pids)
for p in $pids; do tr '\0' ' ' </proc/"$p"/cmdline; echo; done >"$T_DIR/cmdlines"
grep -q "ipyparallel.controller --profile-dir=$PROFILE" "$T_DIR/cmdlines" &&
    [ "$(grep -c "ipyparallel.engine --profile-dir=$PROFILE" "$T_DIR/cmdlines")" -eq 2 ] ||
    { cat "$T_DIR/cmdlines"; no "command lines"; exit 1; }
ok "ipcontroller and 2 ipengines registered"
$PY - "$PROFILE" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
assert c[:].apply_sync(lambda: 6 * 7) == [42, 42]
print("ok - task on ipengines")
c.close()
PYEOF
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "processes left"; exit 1; }
no_python() { ! pgrep -f -- "[i]pyparallel.* --profile-dir=$PROFILE" >/dev/null; }
wait_for 5 no_python || { no "ipcontroller children left"; exit 1; }
ok "stop: nothing left"
exit $fail
