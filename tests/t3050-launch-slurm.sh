#!/usr/bin/env bash
# t3050-launch-slurm: engines as a Slurm job (sbatch, squeue, scancel) on
# a private single-node Slurm that the test starts and stops
# (tests/setup/slurm-up.sh); then the same through the PBS commands of
# slurm-wlm-torque when installed (else that part is reported skipped).
# Skipped without slurm-wlm and munge.
# timeout: 300
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmd"
batch_up slurm
SL=$BATCH_DIR
export SLURM_CONF=$SL/slurm.conf
ok "private Slurm is up"

task() { job_task "$1" 30 SLURM_JOB_ID "Slurm job"; }

launch_cmd start -n 2 --daemonize --engines slurm --timeout=120 \
    --SlurmEngineSetLauncher.queue=debug >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; tail "$SL"/log/*.log; no "start --engines slurm"; exit 1; }
job=$(first_job_id)
ok "2 engines in Slurm job $job"
batch_second_job || exit 1
launch_stop || exit 1
no_jobs() { [ -z "$(squeue -h -o %i)" ]; }
wait_for 20 no_jobs || { squeue; no "jobs left"; exit 1; }
no_engines() { ! pgrep -f -- "[e]ngined --profile-dir=$PROFILE" >/dev/null; }
wait_for 10 no_engines ||
    { no "engines left"; exit 1; }
ok "stop cancelled the jobs; no engine left"

# the controller as a Slurm job too
launch_cmd start -n 2 --daemonize --controller slurm --engines slurm --timeout=120 \
    >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; no "--controller slurm"; exit 1; }
[ "$(squeue -h -o %j | sort | tr '\n' ' ')" = "ipcontroller ipengine " ] ||
    { squeue; no "controller and engine jobs"; exit 1; }
task 2 || exit 1
launch_cmd list | grep -Eq "True +2 slurm" || { launch_cmd list; no "list"; exit 1; }
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
wait_for 20 no_jobs || { squeue; no "jobs left"; exit 1; }
wait_for 10 no_engines || { no "engines left"; exit 1; }
no_hubd() { ! pgrep -f -- "[h]ubd --profile-dir=$PROFILE" >/dev/null; }
wait_for 10 no_hubd || { no "controller left"; exit 1; }
ok "controller and engines as Slurm jobs: start, task, list, stop"

if [ -x /usr/bin/qsub ] && grep -qi slurm /usr/bin/qsub 2>/dev/null; then
	launch_cmd start -n 2 --daemonize --engines pbs --timeout=120 >"$T_DIR/out" 2>&1 ||
	    { cat "$T_DIR/out"; no "start --engines pbs"; exit 1; }
	task 2 || exit 1
	launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
	wait_for 20 no_jobs || { squeue; no "pbs jobs left"; exit 1; }
	wait_for 10 no_engines || { no "pbs engines left"; exit 1; }
	ok "PBS commands (slurm-wlm-torque): start, task, stop"
else
	# a part skipped is reported as such (tests/run shows it), not as passed
	echo "SKIP: PBS part: no qsub of slurm-wlm-torque (scripts/deps.sh test installs it; Grid Engine's replaces it)"
fi
exit $fail
