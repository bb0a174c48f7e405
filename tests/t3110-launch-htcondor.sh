#!/usr/bin/env bash
# t3110-launch-htcondor: engines as an HTCondor job (condor_submit,
# condor_q, condor_rm) in a running HTCondor pool that can run this
# host's binaries (condor_status answers and jobs see this file system).
# Part of "make check-batch"; skipped (77) when there is none.  Debian 12
# has no htcondor package; a trixie chroot running HTCondor does not fit
# either,
# since engined is linked against bookworm's libpython3.11 and trixie's
# jobs cannot load it - see doc/launch.1.
# timeout: 300
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
command -v condor_submit >/dev/null || skip "no condor_submit (HTCondor is not in Debian 12)"
timeout 20 condor_status -af Name 2>/dev/null | grep -q . || skip "no HTCondor pool answers"
# the engines run as the submitting user and must read the profile
chmod 755 "$T_DIR"

launch_cmd start -n 2 --daemonize --engines htcondor --timeout=180 >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; condor_q; no "start --engines htcondor"; exit 1; }
ok "2 engines in an HTCondor job"
job_task 2 60 _CONDOR_JOB_AD "HTCondor, job ad" || exit 1
job=$(first_job_id)
launch_stop || exit 1
no_job() { [ -z "$(condor_q "$job" -af JobStatus 2>/dev/null)" ]; }
wait_for 60 no_job || { condor_q; no "job $job left"; exit 1; }
ok "stop removed job $job"
exit $fail
