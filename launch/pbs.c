/*
 * pbs.c - PBS and Torque: qsub, qstat, qdel.  Tested against slurm-wlm-torque
 * (PBS commands on top of Slurm), as Debian has no PBS server.  The
 * engines of a set are one job starting {n} engines on its first node.
 *
 * The work is done by batch.c; this file holds the system's commands,
 * the way to find a job id in the submit output, the states that mean a
 * job is over, and the default templates (override them with
 * PBSEngineSetLauncher.batch_template or batch_template_file).
 */
#include <stddef.h>
#include "launch.h"

static const struct batch_system pbs_system = {
	.name = "PBS",
	.submit = { "qsub", NULL },
	.submit_stdin = 0,
	.poll = { "qstat", NULL },
	.cancel = { "qdel", NULL },
	.job_id_regexp = "([0-9][^[:space:]]*)",
	.dead_states = { "C", NULL },
	.queue_directive = "#PBS -q %s",
	.engine_template =
	    "#!/bin/sh\n"
	    "#PBS -N ipengine\n"
	    "#PBS -j oe\n"
	    "#PBS -o {output_file}\n"
	    "{queue_directive}\n"
	    BATCH_ENGINE_LOOP,
	.controller_template =
	    "#!/bin/sh\n"
	    "#PBS -N ipcontroller\n"
	    "#PBS -j oe\n"
	    "#PBS -o {output_file}\n"
	    "{queue_directive}\n"
	    "exec {program_and_args}\n",
};

const struct launcher pbs_launcher =
    BATCH_LAUNCHER("pbs", "PBS", pbs_system);
