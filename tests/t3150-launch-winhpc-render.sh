#!/usr/bin/env bash
# t3150-launch-winhpc-render: the Windows HPC Server job descriptions
# launch writes for engines and for a controller are the files
# ipyparallel 7.1's WindowsHPCEngineSetLauncher and
# WindowsHPCControllerLauncher write for the same settings (both read
# from one ipcluster_config.py), byte for byte once the random UUIDs in
# the output file names are masked: defaults, then job and task
# settings, environment variables, Cluster's controller arguments and
# characters XML must escape.  There is no Windows HPC here: the
# submission is only checked against a stand-in "job" command that
# records its arguments (job submit /jobfile:F /scheduler:S, then job
# cancel ID /scheduler:S when the engines never register).
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
mkdir -p "$PROFILE"

# ipyparallel's rendering: ID N ENGINES(1/0) -> stdout
ipp_render() {
	$PY - "$PROFILE" "$@" <<'PYEOF'
import os, sys, tempfile
from traitlets.config.loader import PyFileConfigLoader
from ipyparallel.cluster.launcher import (WindowsHPCEngineSetLauncher,
    WindowsHPCControllerLauncher)
prof, cid, n, engines = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
cfg = PyFileConfigLoader("ipcluster_config.py", path=prof).load_config()
d = tempfile.mkdtemp()
if engines:
    l = WindowsHPCEngineSetLauncher(config=cfg, work_dir=d, profile_dir=prof,
                                    cluster_id=cid)
else:
    l = WindowsHPCControllerLauncher(config=cfg, work_dir=d, profile_dir=prof,
                                     cluster_id=cid)
    cl = cfg.Cluster
    if "controller_ip" in cl:
        l.controller_args.append("--ip=%s" % cl.controller_ip)
    if "controller_location" in cl:
        l.controller_args.append("--location=%s" % cl.controller_location)
    l.controller_args.extend(cl.get("controller_args", []))
l.write_job_file(n)
sys.stdout.write(open(l.job_file).read())
PYEOF
}
mask() { sed -E 's/-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.(out|err)/-UUID.\2/g'; }

compare() {	# WHAT ID N ENGINES
	local what=$1 id=$2 n=$3 e=$4 args
	if [ "$e" = 1 ]; then args="--engines winhpc -n $n"; else args="--controller winhpc --controller-script"; fi
	# shellcheck disable=SC2086
	launch_cmd render $args --cluster-id="$id" 2>"$T_DIR/err" | mask >"$T_DIR/ours.xml"
	ipp_render "$id" "$n" "$e" | mask >"$T_DIR/theirs.xml"
	grep -q "warning" "$T_DIR/err" && { cat "$T_DIR/err"; no "$what: settings warned about"; }
	if [ -s "$T_DIR/theirs.xml" ] && cmp -s "$T_DIR/ours.xml" "$T_DIR/theirs.xml"; then
		ok "$what: the same file as ipyparallel's"
	else
		cat "$T_DIR/err"; diff "$T_DIR/theirs.xml" "$T_DIR/ours.xml"
		no "$what"
	fi
}

export USERNAME=alice
unset USERDOMAIN
echo 'c = get_config()' >"$PROFILE/ipcluster_config.py"
compare "3 engines, defaults" "" 3 1
compare "controller, defaults" "" 1 0

export USERDOMAIN=LAB
cat >"$PROFILE/ipcluster_config.py" <<'PYEOF'
c.WindowsHPCLauncher.scheduler = 'HEADNODE'
c.IPEngineSetJob.priority = 'Normal'
c.IPEngineSetJob.max_cores = 16
c.IPEngineSetJob.is_exclusive = True
c.IPEngineSetJob.requested_nodes = 'node1,node2'
c.IPEngineSetJob.project = 'A & B <"quoted">'
c.IPEngineTask.engine_cmd = [r'C:\Python\Scripts\ipengine.exe']
c.IPEngineTask.engine_args = ['--log-level=20', '--work-dir=C:\\work']
c.IPEngineTask.environment_variables = {'OMP_NUM_THREADS': '1', 'X': 'a<b&c'}
c.IPEngineTask.is_rerunnaable = False
c.WinHPCJob.job_type = 'Service'
c.IPControllerJob.username = 'bob'
c.IPControllerTask.task_name = 'Hub'
c.IPControllerTask.controller_args = ['--log-level=10']
c.Cluster.controller_ip = '10.0.0.1'
c.Cluster.controller_location = 'head'
c.Cluster.controller_args = ['--ping=5000']
PYEOF
compare "2 engines, job and task settings" x7 2 1
compare "controller, job and task settings" x7 1 0
check "the settings reached the files" grep -q 'Name="Hub".*--ip=10.0.0.1 --location=head --ping=5000' "$T_DIR/theirs.xml"
# the job commands, with a stand-in for job.exe
printf '#!/bin/sh\necho "$*" >>"%s"\n[ "$1" = submit ] && echo "Job has been submitted. ID: 4242."\nexit 0\n' \
    "$T_DIR/job.log" >"$T_DIR/job"
chmod +x "$T_DIR/job"
echo 'c = get_config()' >"$PROFILE/ipcluster_config.py"
launch_cmd start --engines winhpc -n 2 --timeout=3 --WindowsHPCLauncher.job_cmd="$T_DIR/job" \
    --WindowsHPCLauncher.scheduler=HEAD >"$T_DIR/out" 2>&1
check "engines that never register: the start fails" grep -q "only 0 of 2 engines registered" "$T_DIR/out"
cat "$T_DIR/job.log"
check "job submit /jobfile:... /scheduler:HEAD" \
    grep -q "^submit /jobfile:$PROFILE/winhpc_ipengine-.*\.xml /scheduler:HEAD\$" "$T_DIR/job.log"
check "job cancel 4242 /scheduler:HEAD" grep -q "^cancel 4242 /scheduler:HEAD\$" "$T_DIR/job.log"
exit $fail
