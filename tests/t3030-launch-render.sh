#!/usr/bin/env bash
# t3030-launch-render: batch scripts of every system (Slurm, PBS, SGE,
# LSF, HTCondor) rendered by the hidden "launch render": default
# templates, queue directives, user templates with {n//4}-style
# expressions and {{ }} escapes, and template errors.  LSF is only
# checked here: there is no LSF to run it against.
. "$(dirname "$0")/lib.sh"
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
mkdir -p "$PROFILE"
# bail WHAT: report WHAT as not ok, show the output, stop
bail() { no "$*"; cat "$T_DIR/out"; exit 1; }
render() { launch_cmd render "$@" >"$T_DIR/out" 2>&1; }
has() { grep -qF -- "$1" "$T_DIR/out" || bail "missing '$1' in $2"; }

render --engines slurm -n 8 --SlurmEngineSetLauncher.queue=debug || bail slurm
has "#SBATCH --ntasks=8" slurm; has "#SBATCH --partition=debug" slurm
has "srun $T_TOP/engined/engined --profile-dir=$PROFILE" slurm
render --engines pbs -n 3 --PBSLauncher.queue=batch || bail pbs
has "#PBS -q batch" pbs; has 'while [ $i -lt 3 ]' pbs
render --engines sge -n 4 --cluster-id=x1 || bail sge
has '#$ -S /bin/sh' sge; has "engined --profile-dir=$PROFILE --cluster-id=x1 &" sge
render --engines lsf -n 5 --LSFEngineSetLauncher.queue=normal || bail lsf
has "#BSUB -n 5" lsf; has "#BSUB -q normal" lsf
render --engines htcondor -n 6 || bail htcondor
has "queue 6" htcondor; has "executable = $T_TOP/engined/engined" htcondor
has "arguments = \"--profile-dir=$PROFILE\"" htcondor
render --controller slurm --controller-script || bail controller
has "#SBATCH --job-name=ipcontroller" controller; has "exec $T_TOP/hubd/hubd" controller
ok "default templates of slurm pbs sge lsf htcondor"

render --engines slurm -n 8 \
    '--SlurmEngineSetLauncher.batch_template=N={n//4} M={(n+1)%3} K={n*2-1} D={-7//2} {{lit}} Q={queue}' ||
    bail expressions
has "N=2 M=0 K=15 D=-4 {lit} Q=" expressions
printf '#!/bin/sh\n#PBS -l nodes={n//2}:ppn=2\n{program_and_args}\n' >"$T_DIR/t.tmpl"
render --engines pbs -n 6 --PBSEngineSetLauncher.batch_template_file="$T_DIR/t.tmpl" ||
    bail template file
has "#PBS -l nodes=3:ppn=2" "template file"
ok "expressions, escapes, template files"

render --engines slurm --SlurmEngineSetLauncher.batch_template='{n//0}' && bail "division by zero"
has "division by zero" "error"
render --engines slurm --SlurmEngineSetLauncher.batch_template='{nope}' && bail "unknown name"
has "cannot render '{nope}': unknown name" "error"
render --engines slurm --SlurmEngineSetLauncher.batch_template='{n' && bail "unclosed"
has "unclosed" "error"
render --engines local && bail "local is no batch system"
ok "template errors"
exit $fail
