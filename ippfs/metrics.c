/*
 * metrics.c - metrics/ipp.prom: the cluster's state in the Prometheus
 * text exposition format (version 0.0.4), for prometheus-node-exporter's
 * textfile collector pointed at the mount's metrics/ directory.
 *
 * Everything comes from what ippfs already keeps (engines, the task
 * table, parked requests) plus counters bumped as tasks end
 * (metrics_task_ended, from tasks.c).  Queue depths and the controller's
 * round-trip time come from the controller itself: while somebody reads
 * ipp.prom (in the last QUERY_IDLE seconds), ippfs sends it a
 * queue_request every QUERY_PERIOD seconds from the loop's timers, never
 * from the read, so a read never waits for the controller and an unread
 * mount sends nothing.  The exporter's rules are kept: HELP and TYPE
 * before each family, no timestamps, one line per series, counters that
 * only grow (they count from the mount, the controller's history
 * included), and names that do not collide with node_* metrics.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

#define QUERY_PERIOD	5.0
#define QUERY_IDLE	300.0

/* Upper bounds of the duration buckets, seconds; the last is +Inf. */
static const double dur_le[DUR_BUCKETS - 1] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300
};

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Called by fstask_setstate when t has just ended. */
void
metrics_task_ended(const struct fstask *t)
{
	struct vis *v = vis_get();
	double start = t->started > 0 ? t->started : t->submitted, d;
	int i;

	v->ended[t->state]++;
	if (start <= 0 || t->ended <= 0)
		return;
	d = t->ended - start;
	if (d < 0)
		d = 0;
	for (i = 0; i < DUR_BUCKETS - 1 && d > dur_le[i]; i++)
		;
	v->dur_le[i]++;
	v->dur_sum += d;
}

static void
queued(void *arg, struct ipp_msg *m, int err)
{
	struct vis *v = vis_get();
	const char *st;

	v->q_inflight = 0;
	st = m != NULL ? json_string_value(json_object_get(m->content,
	    "status")) : NULL;
	if (st == NULL || strcmp(st, "ok") != 0) {
		v->q_failed++;
		return;
	}
	v->q_ok++;
	v->rtt = ipp_monotonic() - v->q_sent;
	v->queue_at = ipp_monotonic();
	json_decref(v->queue);
	v->queue = json_incref(m->content);
}

void
metrics_timers(double now)
{
	struct vis *v = vis_get();

	if (v->read_at == 0 || now - v->read_at > QUERY_IDLE ||
	    v->q_inflight || now - v->q_last < QUERY_PERIOD || fs.hub_gone)
		return;
	v->q_last = now;
	v->q_sent = now;
	if (client_request(fs.query, NULL, "queue_request",
	    json_pack("{s:n,s:b}", "targets", "verbose", 0), NULL, NULL, 0,
	    queued, NULL) == 0)
		v->q_inflight = 1;
	else
		v->q_failed++;
}

static void
gen_engines(struct buf *b)
{
	struct fstask *t;
	int *running, i, idle = 0, busy = 0, dead = 0;

	/* one pass over the live tasks, not one per engine */
	running = xcalloc((size_t)fs.nengines + 1, sizeof(*running));
	for (i = fstasks_first_live(); i < fs.ntasks; i++)
		if ((t = fs.tasks[i]) != NULL && t->state == T_RUNNING &&
		    t->engine >= 0 && t->engine < fs.nengines)
			running[t->engine] = 1;
	for (i = 0; i < fs.nengines; i++) {
		if (fs.engines[i] == NULL)
			continue;
		if (fs.engines[i]->state == E_DEAD)
			dead++;
		else if (running[i])
			busy++;
		else
			idle++;
	}
	family(b, "ipp_engines_up", "gauge", "Engines registered and alive.");
	buf_printf(b, "ipp_engines_up %d\n", idle + busy);
	family(b, "ipp_engines", "gauge", "Engines by state (a busy engine "
	    "runs a task of this mount).");
	buf_printf(b, "ipp_engines{state=\"idle\"} %d\n"
	    "ipp_engines{state=\"busy\"} %d\nipp_engines{state=\"dead\"} %d\n",
	    idle, busy, dead);
	free(running);
}

static void
gen_tasks(struct buf *b)
{
	struct vis *v = vis_get();
	unsigned long long n = 0, failed;
	enum tstate s;
	int i;

	family(b, "ipp_tasks", "gauge", "Tasks in the table of ippfs by "
	    "state (the controller's history included).");
	for (s = T_DRAFT; s <= T_TIMEOUT; s++)
		buf_printf(b, "ipp_tasks{state=\"%s\"} %d\n", tstate_name(s),
		    fs.nstate[s]);
	family(b, "ipp_tasks_completed_total", "counter", "Tasks that ended "
	    "since the mount, by outcome.");
	for (s = T_DONE; s <= T_TIMEOUT; s++)
		buf_printf(b, "ipp_tasks_completed_total{outcome=\"%s\"} %llu\n",
		    tstate_name(s), v->ended[s]);
	failed = v->ended[T_FAILED] + v->ended[T_LOST] + v->ended[T_TIMEOUT];
	family(b, "ipp_tasks_failed_total", "counter", "Tasks that ended "
	    "without a result since the mount: failed, lost or timed out.");
	buf_printf(b, "ipp_tasks_failed_total %llu\n", failed);
	family(b, "ipp_task_duration_seconds", "histogram", "Run time of "
	    "ended tasks, from start (else submission) to end.");
	for (i = 0; i < DUR_BUCKETS; i++) {
		n += v->dur_le[i];
		if (i < DUR_BUCKETS - 1)
			buf_printf(b, "ipp_task_duration_seconds_bucket{le=\"%g\"}"
			    " %llu\n", dur_le[i], n);
		else
			buf_printf(b, "ipp_task_duration_seconds_bucket{le="
			    "\"+Inf\"} %llu\n", n);
	}
	buf_printf(b, "ipp_task_duration_seconds_sum %.6f\n"
	    "ipp_task_duration_seconds_count %llu\n", v->dur_sum, n);
}

/* The controller's own view, from the last queue_reply. */
static void
gen_queues(struct buf *b)
{
	struct vis *v = vis_get();
	const char *k;
	json_t *e, *x;
	char *end;

	family(b, "ipp_controller_up", "gauge", "1 while the controller "
	    "is connected.");
	buf_printf(b, "ipp_controller_up %d\n", !fs.hub_gone);
	family(b, "ipp_controller_queries_total", "counter", "queue_requests "
	    "ippfs sent for these metrics, by result.");
	buf_printf(b, "ipp_controller_queries_total{result=\"ok\"} %llu\n"
	    "ipp_controller_queries_total{result=\"failed\"} %llu\n", v->q_ok,
	    v->q_failed);
	if (v->queue == NULL)
		return;
	family(b, "ipp_controller_rtt_seconds", "gauge", "Round trip of the "
	    "last queue_request to the controller.");
	buf_printf(b, "ipp_controller_rtt_seconds %.6f\n", v->rtt);
	family(b, "ipp_controller_queue_age_seconds", "gauge", "Age of the "
	    "controller's queue figures below.");
	buf_printf(b, "ipp_controller_queue_age_seconds %.3f\n",
	    ipp_monotonic() - v->queue_at);
	family(b, "ipp_queue_unassigned", "gauge", "Load-balanced tasks "
	    "the controller holds for no engine yet.");
	buf_printf(b, "ipp_queue_unassigned %lld\n", (long long)
	    json_integer_value(json_object_get(v->queue, "unassigned")));
	family(b, "ipp_queue_depth", "gauge", "Tasks waiting or running on "
	    "an engine, by queue (mux: direct, task: load-balanced).");
	json_object_foreach(v->queue, k, e) {
		strtol(k, &end, 10);
		if (*k == '\0' || *end != '\0' || !json_is_object(e))
			continue;
		buf_printf(b, "ipp_queue_depth{engine=\"%s\",queue=\"mux\"} "
		    "%lld\nipp_queue_depth{engine=\"%s\",queue=\"task\"} "
		    "%lld\n", k, (long long)json_integer_value(json_object_get(
		    e, "queue")), k, (long long)json_integer_value(
		    json_object_get(e, "tasks")));
	}
	family(b, "ipp_engine_completed", "gauge", "Tasks the controller "
	    "counts as completed on each engine.");
	json_object_foreach(v->queue, k, e) {
		strtol(k, &end, 10);
		if (*k == '\0' || *end != '\0' ||
		    !json_is_integer(x = json_object_get(e, "completed")))
			continue;
		buf_printf(b, "ipp_engine_completed{engine=\"%s\"} %lld\n", k,
		    (long long)json_integer_value(x));
	}
}

static void
gen_ippfs(struct buf *b)
{
	struct park *p;
	struct fh *fh;
	int parked = 0, open = 0;

	TAILQ_FOREACH(p, &fs.parked, q)
		parked++;
	TAILQ_FOREACH(fh, &fs.open, all)
		open++;
	family(b, "ipp_ippfs_parked_requests", "gauge", "Requests of ippfs "
	    "waiting for something (blocked readers, writes in flight).");
	buf_printf(b, "ipp_ippfs_parked_requests %d\n", parked);
	family(b, "ipp_ippfs_open_files", "gauge", "Files and directories "
	    "open on the mount.");
	buf_printf(b, "ipp_ippfs_open_files %d\n", open);
	family(b, "ipp_ippfs_uptime_seconds", "gauge", "Seconds since the "
	    "mount.");
	buf_printf(b, "ipp_ippfs_uptime_seconds %.1f\n", ipp_monotonic() -
	    fs.started);
}

void
metrics_gen(struct buf *b)
{
	gen_engines(b);
	gen_tasks(b);
	gen_queues(b);
	gen_ippfs(b);
}
