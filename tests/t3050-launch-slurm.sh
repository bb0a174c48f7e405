#!/usr/bin/env bash
# t3050-launch-slurm: engines as a Slurm job (sbatch, squeue, scancel) on
# a private single-node Slurm that the test starts and stops
# (tests/setup/slurm-up.sh); then the same through the PBS commands of
# slurm-wlm-torque when installed.  Skipped without slurm-wlm and munge.
# timeout: 300
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmd"
SL=$T_DIR/slurm
"$T_TOP/tests/setup/slurm-up.sh" "$SL" >"$T_DIR/slurm-up.log" 2>&1
rc=$?
[ $rc -eq 77 ] && skip "$(tail -1 "$T_DIR/slurm-up.log")"
trap '"$T_TOP/tests/setup/slurm-down.sh" "$SL"; t_cleanup' EXIT
[ $rc -eq 0 ] || { cat "$T_DIR/slurm-up.log"; echo "not ok - slurm-up"; exit 1; }
export SLURM_CONF=$SL/slurm.conf
echo "ok - private Slurm is up"

task() {
	$PY - "$PROFILE" "$1" <<'PYEOF'
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(int(sys.argv[2]), timeout=30)
r = c[:].apply_sync(lambda: __import__("os").environ.get("SLURM_JOB_ID"))
assert all(r), r
print("ok - %d engines ran a task inside Slurm job %s" % (len(r), r[0]))
c.close()
PYEOF
}

launch_cmd start -n 2 --daemonize --engines slurm --timeout=120 \
    --SlurmEngineSetLauncher.queue=debug >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; tail "$SL"/log/*.log; echo "not ok - start --engines slurm"; exit 1; }
job=$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(list(d["engines"]["sets"].values())[0]["state"]["job_id"])' \
    "$PROFILE/security/cluster-.json")
echo "ok - 2 engines in Slurm job $job"
task 2 || exit 1
launch_cmd engines -n 1 >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; exit 1; }
task 3 || exit 1
echo "ok - engines -n 1 added a second job"
pids=$(launch_pids)
launch_cmd stop >/dev/null 2>&1 || { echo "not ok - stop"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || exit 1
no_jobs() { [ -z "$(squeue -h -o %i)" ]; }
wait_for 20 no_jobs || { squeue; echo "not ok - jobs left"; exit 1; }
no_engines() { ! pgrep -f -- "[e]ngined --profile-dir=$PROFILE" >/dev/null; }
wait_for 10 no_engines ||
    { echo "not ok - engines left"; exit 1; }
echo "ok - stop cancelled the jobs; no engine left"

# the controller as a Slurm job too
launch_cmd start -n 2 --daemonize --controller slurm --engines slurm --timeout=120 \
    >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; echo "not ok - --controller slurm"; exit 1; }
[ "$(squeue -h -o %j | sort | tr '\n' ' ')" = "ipcontroller ipengine " ] ||
    { squeue; echo "not ok - controller and engine jobs"; exit 1; }
task 2 || exit 1
launch_cmd list | grep -Eq "True +2 slurm" || { launch_cmd list; echo "not ok - list"; exit 1; }
launch_cmd stop >/dev/null 2>&1 || exit 1
wait_for 20 no_jobs || { squeue; echo "not ok - jobs left"; exit 1; }
wait_for 10 no_engines || { echo "not ok - engines left"; exit 1; }
no_hubd() { ! pgrep -f -- "[h]ubd --profile-dir=$PROFILE" >/dev/null; }
wait_for 10 no_hubd || { echo "not ok - controller left"; exit 1; }
echo "ok - controller and engines as Slurm jobs: start, task, list, stop"

if [ -x /usr/bin/qsub ] && grep -qi slurm /usr/bin/qsub 2>/dev/null; then
	launch_cmd start -n 2 --daemonize --engines pbs --timeout=120 >"$T_DIR/out" 2>&1 ||
	    { cat "$T_DIR/out"; echo "not ok - start --engines pbs"; exit 1; }
	task 2 || exit 1
	launch_cmd stop >/dev/null 2>&1 || exit 1
	wait_for 20 no_jobs || { squeue; echo "not ok - pbs jobs left"; exit 1; }
	wait_for 10 no_engines || { echo "not ok - pbs engines left"; exit 1; }
	echo "ok - PBS commands (slurm-wlm-torque): start, task, stop"
else
	echo "# slurm-wlm-torque not installed: PBS part skipped"
fi
