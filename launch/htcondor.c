/*
 * htcondor.c - HTCondor: condor_submit, condor_q, condor_rm.  The template
 * is a
 * submit description, not a shell script: {n} processes of one cluster
 * run the engine program directly (a shared file system is assumed).
 * Job status 3 is removed, 4 completed.
 *
 * The work is done by batch.c; this file holds the system's commands,
 * the way to find a job id in the submit output, the states that mean a
 * job is over, and the default templates (override them with
 * HTCondorEngineSetLauncher.batch_template or batch_template_file).
 */
#include <stddef.h>
#include "launch.h"

static const struct batch_system htcondor_system = {
	.name = "HTCondor",
	.submit = { "condor_submit", NULL },
	.submit_stdin = 0,
	.poll = { "condor_q", "-af", "JobStatus", NULL },
	.cancel = { "condor_rm", NULL },
	.job_id_regexp = "cluster ([0-9]+)",
	.dead_states = { "3", "4", NULL },
	.queue_directive = "",
	.engine_template =
	    "universe = vanilla\n"
	    "executable = {program}\n"
	    "arguments = \"{arguments}\"\n"
	    "transfer_executable = False\n"
	    "getenv = True\n"
	    "output = {output_file}.$(Process)\n"
	    "error = {output_file}.$(Process)\n"
	    "queue {n}\n",
	.controller_template =
	    "universe = vanilla\n"
	    "executable = {program}\n"
	    "arguments = \"{arguments}\"\n"
	    "transfer_executable = False\n"
	    "getenv = True\n"
	    "output = {output_file}\n"
	    "error = {output_file}\n"
	    "queue 1\n",
};

const struct launcher htcondor_launcher =
    BATCH_LAUNCHER("htcondor", "HTCondor", htcondor_system);
