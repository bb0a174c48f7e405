/*
 * sge.c - (Son of) Grid Engine: qsub, qstat -j, qdel.  The engines of a set
 * are one job starting {n} engines.
 *
 * The work is done by batch.c; this file holds the system's commands,
 * the way to find a job id in the submit output, the states that mean a
 * job is over, and the default templates (override them with
 * SGEEngineSetLauncher.batch_template or batch_template_file).
 */
#include <stddef.h>
#include "launch.h"

static const struct batch_system sge_system = {
	.name = "SGE",
	.submit = { "qsub", NULL },
	.submit_stdin = 0,
	.poll = { "qstat", "-j", NULL },
	.cancel = { "qdel", NULL },
	.job_id_regexp = "([0-9]+)",
	.dead_states = { NULL },
	.queue_directive = "#$ -q %s",
	.engine_template =
	    "#!/bin/sh\n"
	    "#$ -N ipengine\n"
	    "#$ -S /bin/sh\n"
	    "#$ -j y\n"
	    "#$ -o {output_file}\n"
	    "{queue_directive}\n"
	    BATCH_ENGINE_LOOP,
	.controller_template =
	    "#!/bin/sh\n"
	    "#$ -N ipcontroller\n"
	    "#$ -S /bin/sh\n"
	    "#$ -j y\n"
	    "#$ -o {output_file}\n"
	    "{queue_directive}\n"
	    "exec {program_and_args}\n",
};

const struct launcher sge_launcher =
    BATCH_LAUNCHER("sge", "SGE", sge_system);
