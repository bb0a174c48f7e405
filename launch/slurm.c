/*
 * slurm.c - Slurm: sbatch, squeue, scancel.  The engines of a set are one
 * job of
 * {n} tasks started with srun, so they may spread over nodes.
 *
 * The work is done by batch.c; this file holds the system's commands,
 * the way to find a job id in the submit output, the states that mean a
 * job is over, and the default templates (override them with
 * SlurmEngineSetLauncher.batch_template or batch_template_file).
 */
#include <stddef.h>
#include "launch.h"

static const struct batch_system slurm_system = {
	.name = "Slurm",
	.submit = { "sbatch", NULL },
	.submit_stdin = 0,
	.poll = { "squeue", "-h", "-o", "%T", "-j", NULL },
	.cancel = { "scancel", NULL },
	.job_id_regexp = "([0-9]+)",
	.dead_states = { "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT",
	    "NODE_FAIL", NULL },
	.queue_directive = "#SBATCH --partition=%s",
	.engine_template =
	    "#!/bin/sh\n"
	    "#SBATCH --job-name=ipengine\n"
	    "#SBATCH --ntasks={n}\n"
	    "#SBATCH --output={output_file}\n"
	    "{queue_directive}\n"
	    "srun {program_and_args}\n",
	.controller_template =
	    "#!/bin/sh\n"
	    "#SBATCH --job-name=ipcontroller\n"
	    "#SBATCH --ntasks=1\n"
	    "#SBATCH --output={output_file}\n"
	    "{queue_directive}\n"
	    "exec {program_and_args}\n",
};

const struct launcher slurm_launcher =
    BATCH_LAUNCHER("slurm", "Slurm", slurm_system);
