#!/usr/bin/env bash
# t3145-launch-pyconfig-batch: the batch settings of ipyparallel's
# documentation, written in PROFILE/ipcluster_config.py, reach the
# rendered scripts: c.IPClusterEngines.engine_launcher_class and
# c.IPClusterStart.controller_launcher_class (ipcluster 6's names),
# c.PBSLauncher.queue, c.PBSEngineSetLauncher.batch_template_file, and
# c.Cluster.engine_launcher_class winning over the deprecated name; the
# command line wins over the file.  Only rendered (launch render).
. "$(dirname "$0")/lib.sh"
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
mkdir -p "$PROFILE"
render() { launch_cmd render "$@" >"$T_DIR/out" 2>&1; }
has() { grep -qF -- "$1" "$T_DIR/out"; }

printf '#!/bin/sh\n#PBS -l nodes={n//2}:ppn=2\n#PBS -q {queue}\n{program_and_args}\n' >"$T_DIR/t.tmpl"
cat >"$PROFILE/ipcluster_config.py" <<PYEOF
c = get_config()
c.IPClusterEngines.n = 6
c.IPClusterEngines.engine_launcher_class = 'PBS'
c.IPClusterStart.controller_launcher_class = 'PBS'
c.PBSLauncher.queue = 'from-py'
c.PBSEngineSetLauncher.batch_template_file = '$T_DIR/t.tmpl'
PYEOF
render
check "PBS engines, n and the template file from ipcluster_config.py" has "#PBS -l nodes=3:ppn=2"
check "c.PBSLauncher.queue" has "#PBS -q from-py"
render --controller-script
check "c.IPClusterStart.controller_launcher_class = 'PBS'" has "#PBS -N ipcontroller"
check "... with the queue" has "#PBS -q from-py"
render -n 2 --PBSLauncher.queue=cli
check "the command line wins (-n 2, --PBSLauncher.queue=cli)" has "#PBS -l nodes=1:ppn=2"
check "... queue" has "#PBS -q cli"

echo "c.Cluster.engine_launcher_class = 'Slurm'" >>"$PROFILE/ipcluster_config.py"
render
check "c.Cluster.engine_launcher_class wins over IPClusterEngines'" has "#SBATCH --ntasks=6"
echo '{"Cluster": {"n": 4}}' >"$PROFILE/ipcluster_config.json"
render
check "ipcluster_config.json wins over the .py" has "#SBATCH --ntasks=4"
exit $fail
