#!/usr/bin/env bash
# t3100-launch-sge: engines as a Grid Engine job (qsub, qstat -j, qdel)
# on a single-node Son of Grid Engine that the test starts and stops
# (tests/setup/sge-up.sh), then the controller as a job too.  Part of
# "make check-batch"; skipped (77) without root or the gridengine-*
# packages, which conflict with slurm-wlm-torque (both ship qsub) and so
# are installed only on request: scripts/deps.sh sge.
# timeout: 300
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root to run sge_execd"
batch_up sge
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
ok "private Grid Engine is up"

task() { job_task "$1" 60 JOB_ID "Grid Engine job"; }
no_jobs() { [ -z "$(qstat 2>/dev/null)" ]; }
no_engines() { ! pgrep -f -- "^$T_TOP/engined/engined --profile-dir=$PROFILE" >/dev/null; }
no_hubd() { ! pgrep -f -- "^$T_TOP/hubd/hubd --profile-dir=$PROFILE" >/dev/null; }

launch_cmd start -n 2 --daemonize --engines sge --timeout=120 \
    --SGEEngineSetLauncher.queue=all.q >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; qstat -f; no "start --engines sge"; exit 1; }
ok "2 engines in a Grid Engine job"
batch_second_job || exit 1
launch_stop || exit 1
wait_for 30 no_jobs || { qstat; no "jobs left"; exit 1; }
wait_for 10 no_engines || { no "engines left"; exit 1; }
ok "stop deleted the jobs; no engine left"

launch_cmd start -n 2 --daemonize --controller sge --engines sge --timeout=120 \
    >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; no "--controller sge"; exit 1; }
task 2 || exit 1
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
wait_for 30 no_jobs || { qstat; no "jobs left"; exit 1; }
wait_for 10 no_engines || { no "engines left"; exit 1; }
wait_for 10 no_hubd || { no "controller left"; exit 1; }
ok "controller and engines as Grid Engine jobs: start, task, stop"
exit $fail
