/*
 * lsf.c - IBM Spectrum LSF: bsub (script on stdin), bjobs, bkill.  UNTESTED
 * against a real LSF, which is proprietary and not installable here; the
 * commands and outputs follow LSF's documentation.  The engines of a set
 * are one job of {n} slots starting {n} engines.
 *
 * The work is done by batch.c; this file holds the system's commands,
 * the way to find a job id in the submit output, the states that mean a
 * job is over, and the default templates (override them with
 * LSFEngineSetLauncher.batch_template or batch_template_file).
 */
#include <stddef.h>
#include "launch.h"

static const struct batch_system lsf_system = {
	.name = "LSF",
	.submit = { "bsub", NULL },
	.submit_stdin = 1,
	.poll = { "bjobs", "-noheader", "-o", "stat", NULL },
	.cancel = { "bkill", NULL },
	.job_id_regexp = "Job <([0-9]+)>",
	.dead_states = { "DONE", "EXIT", NULL },
	.queue_directive = "#BSUB -q %s",
	.engine_template =
	    "#!/bin/sh\n"
	    "#BSUB -J ipengine\n"
	    "#BSUB -n {n}\n"
	    "#BSUB -o {output_file}\n"
	    "{queue_directive}\n"
	    BATCH_ENGINE_LOOP,
	.controller_template =
	    "#!/bin/sh\n"
	    "#BSUB -J ipcontroller\n"
	    "#BSUB -n 1\n"
	    "#BSUB -o {output_file}\n"
	    "{queue_directive}\n"
	    "exec {program_and_args}\n",
};

const struct launcher lsf_launcher =
    BATCH_LAUNCHER("lsf", "LSF", lsf_system);
