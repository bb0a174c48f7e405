/*
 * sched.c - the load-balancing task scheduler (LoadBalancedView).
 *
 * Semantics follow ipyparallel 7.1's TaskScheduler; the scheme that picks
 * among eligible engines is pluggable (sched_*.c).  A task carries in its
 * metadata:
 *   targets   engine uuids it may run on (empty: any)
 *   retries   how often to re-run it elsewhere after a failure
 *   after     time dependency: msg_ids that must finish first
 *   follow    location dependency: run where those msg_ids ran
 *   timeout   seconds it may wait in the queue before TaskTimeout
 * A dependency is a list of msg_ids or {dependencies, all, success,
 * failure}.  A task depending on itself or on an id this scheduler never
 * saw fails with InvalidDependency; one whose dependency can no longer be
 * met fails with ImpossibleDependency.  Those replies come from the
 * scheduler, with empty metadata and no engine frame, as ipcontroller's.
 *
 * HWM bounds outstanding tasks per engine (default 1).  Waiting tasks
 * stay in one FIFO; a finished task wakes its dependents through `graph`
 * and an engine dropping below HWM triggers a FIFO rescan that stops as
 * soon as no engine has room.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubd.h"

/* msg_ids waiting on one dependency id */
struct waiters {
	char	**ids;
	int	 n, cap;
};

void
sched_init(struct hub *h)
{
	if (h->outcome != NULL)
		return;
	ipp_msg_init(&h->rx);
	ipp_msg_init(&h->tx);
	h->outcome = idtab_new();
	h->graph = ipp_map_new();
	if (h->outcome == NULL || h->graph == NULL)
		fatalx("out of memory");
	TAILQ_INIT(&h->waiting);
	TAILQ_INIT(&h->lingering);
	h->next_timeout = 1e300;
}

static int
hwm(struct hub *h)
{
	return h->sched->pure ? 0 : h->cfg.hwm;
}

static void
graph_add(struct hub *h, const char *dep_id, const char *msg_id)
{
	struct waiters *w = ipp_map_get(h->graph, dep_id);

	if (w == NULL) {
		w = xcalloc(1, sizeof(*w));
		if (ipp_map_put(h->graph, dep_id, w) == -1)
			fatalx("out of memory");
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 4;
		w->ids = xrealloc(w->ids, (size_t)w->cap, sizeof(char *));
	}
	w->ids[w->n++] = xstrdup(msg_id);
}

/* ------------------------------------------------------------ queueing */

static void
enqueue(struct hub *h, struct task *t)
{
	int i;

	if (t->waiting)
		return;
	t->waiting = 1;
	t->state = TS_WAITING;
	TAILQ_INSERT_TAIL(&h->waiting, t, wq);
	h->nwaiting++;
	for (i = 0; i < t->after.n; i++)
		if (!outcome_ended(h->outcome, t->after.ids[i]))
			graph_add(h, t->after.ids[i], t->msg_id);
	for (i = 0; i < t->follow.n; i++)
		if (!outcome_ended(h->outcome, t->follow.ids[i]))
			graph_add(h, t->follow.ids[i], t->msg_id);
	if (t->timeout_at > 0) {
		h->ntimeouts++;
		if (t->timeout_at < h->next_timeout)
			h->next_timeout = t->timeout_at;
	}
}

static void
dequeue(struct hub *h, struct task *t)
{
	if (!t->waiting)
		return;
	TAILQ_REMOVE(&h->waiting, t, wq);
	h->nwaiting--;
	t->waiting = 0;
	if (t->timeout_at > 0)
		h->ntimeouts--;
}

static void update_graph(struct hub *, const char *);

static void
mark_done(struct hub *h, const char *msg_id, int ok, struct engine *e)
{
	outcome_done(h->outcome, msg_id, ok, e ? e->id : -1);
}

/* The scheduler's own failure reply: ImpossibleDependency and friends. */
static void
fail_task(struct hub *h, struct task *t, const char *ename, const char *text)
{
	char *id = xstrdup(t->msg_id);	/* t may be gone after the reply */

	dequeue(h, t);
	log_debug("task %s failed: %s", id, ename);
	mark_done(h, id, 0, NULL);
	task_fabricate_reply(h, t, ipp_error_content(ename, "%s", text), NULL,
	    1);
	update_graph(h, id);
	free(id);
}

static int
strv_has(char **v, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void
dispatch(struct hub *h, struct task *t, struct engine *e)
{
	struct ipp_frames out;
	int i;

	ipp_frames_init(&out);
	if (ipp_frames_add(&out, e->uuid, strlen(e->uuid)) == -1 ||
	    ipp_frames_add(&out, t->client_rid != NULL ? t->client_rid : "",
	    t->client_ridlen) == -1)
		fatalx("out of memory");
	/* share, not copy: a retry needs the frames again */
	for (i = 0; i < t->frames.n; i++)
		if (ipp_frames_add_msg(&out, &t->frames.f[i]) == -1)
			fatalx("out of memory");
	hub_send(h, h->task_e, &out);
	ipp_frames_release(&out);
	e->load++;
	TAILQ_REMOVE(&h->lru, e, lru);
	TAILQ_INSERT_TAIL(&h->lru, e, lru);
	t->engine = e;
	t->state = TS_RUNNING;
	task_set_engine_uuid(t, e->uuid);
	TAILQ_INSERT_TAIL(&e->task_pending, t, q);
}

/*
 * Try to place t now: 1 dispatched, 0 must wait, -1 failed (t is gone).
 */
static int
maybe_run(struct hub *h, struct task *t)
{
	struct engine *e;
	int n = 0, any = 0, lim = hwm(h), i;

	/*
	 * The common case needs no pass over every engine: without targets,
	 * exclusions or `follow`, lru - and leastload with HWM 1, where all
	 * engines with room have load 0 - take the first engine with room in
	 * LRU order; busy engines were dispatched to last and sit at the
	 * tail, so the walk is short whatever the number of engines.
	 */
	if (!t->ntargets && !t->nblacklist && !t->follow.n &&
	    (h->sched == &sched_lru_ops ||
	    (h->sched == &sched_leastload_ops && lim == 1))) {
		TAILQ_FOREACH(e, &h->lru, lru)
			if (lim == 0 || e->load < lim) {
				dequeue(h, t);
				dispatch(h, t, e);
				return 1;
			}
		return 0;
	}
	if (h->nregistered > h->ncand_cap) {
		h->ncand_cap = h->nregistered * 2;
		h->cand = xrealloc(h->cand, (size_t)h->ncand_cap,
		    sizeof(*h->cand));
		h->loads = xrealloc(h->loads, (size_t)h->ncand_cap,
		    sizeof(*h->loads));
	}
	TAILQ_FOREACH(e, &h->lru, lru) {
		if (lim > 0 && e->load >= lim)
			continue;
		any = 1;
		if (t->nblacklist && strv_has(t->blacklist, t->nblacklist,
		    e->uuid))
			continue;
		if (t->ntargets && !strv_has(t->targets, t->ntargets, e->uuid))
			continue;
		if (t->follow.n && !dep_met(h->outcome, &t->follow, e->id))
			continue;
		h->cand[n] = e;
		h->loads[n++] = e->load;
	}
	if (!any)
		return 0;
	if (n == 0) {
		if (t->follow.n && t->follow.all) {
			/* met parts of `follow` ran in different places */
			long where = -1;

			for (i = 0; i < t->follow.n; i++) {
				uint64_t v = outcome_get(h->outcome, t->follow.ids[i]);

				if (!dep_counts(h->outcome, &t->follow,
				    t->follow.ids[i], -1) || outcome_engine(v) < 0)
					continue;
				if (where != -1 && where != outcome_engine(v)) {
					fail_task(h, t, "ImpossibleDependency",
					    "follow dependencies ran on "
					    "different engines");
					return -1;
				}
				where = outcome_engine(v);
			}
		}
		if (t->ntargets) {
			int alive = 0;

			for (i = 0; i < t->ntargets; i++) {
				if (strv_has(t->blacklist, t->nblacklist,
				    t->targets[i]))
					continue;
				e = engine_by_uuid(h, t->targets[i]);
				if (e != NULL && e->state == ENGINE_REGISTERED)
					alive = 1;
			}
			if (!alive) {
				fail_task(h, t, "ImpossibleDependency",
				    "no target engine left to run the task");
				return -1;
			}
		}
		return 0;
	}
	dequeue(h, t);
	dispatch(h, t, h->cand[h->sched->choose(h->loads, n)]);
	return 1;
}

static void
check_waiting(struct hub *h, struct task *t)
{
	if (dep_unreachable(h->outcome, &t->after) ||
	    dep_unreachable(h->outcome, &t->follow))
		fail_task(h, t, "ImpossibleDependency", "a dependency "
		    "finished in a way that cannot satisfy it");
	else if (dep_met(h->outcome, &t->after, -1))
		maybe_run(h, t);
}

static int
engines_have_room(struct hub *h)
{
	struct engine *e;
	int lim = hwm(h);

	TAILQ_FOREACH(e, &h->lru, lru)
		if (lim == 0 || e->load < lim)
			return 1;
	return 0;
}

/*
 * Re-check every waiting task in FIFO order, stopping once no engine has
 * room.  A failure may cascade to other waiting tasks (dependents), so
 * after one the walk restarts from the head; a dispatch only removes the
 * task itself.
 */
void
sched_run_queue(struct hub *h)
{
	struct task *t, *next;
	int r;

	h->rescan = 0;
	for (t = TAILQ_FIRST(&h->waiting); t != NULL; t = next) {
		next = TAILQ_NEXT(t, wq);
		if (dep_unreachable(h->outcome, &t->after) ||
		    dep_unreachable(h->outcome, &t->follow)) {
			fail_task(h, t, "ImpossibleDependency", "a dependency "
			    "finished in a way that cannot satisfy it");
			next = TAILQ_FIRST(&h->waiting);
			continue;
		}
		if (!dep_met(h->outcome, &t->after, -1))
			continue;
		if ((r = maybe_run(h, t)) == -1)
			next = TAILQ_FIRST(&h->waiting);
		else if (r == 0 && !engines_have_room(h))
			break;
	}
}

/* dep_id just finished: wake the tasks waiting on it. */
static void
update_graph(struct hub *h, const char *dep_id)
{
	struct waiters *w = ipp_map_del(h->graph, dep_id);
	struct task *t;
	int i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++) {
		if ((t = task_find(h, w->ids[i])) != NULL && t->waiting)
			check_waiting(h, t);
		free(w->ids[i]);
	}
	free(w->ids);
	free(w);
}

static char **
strv_from_json(json_t *a, int *n)
{
	char **v;
	json_t *x;
	size_t i;

	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return NULL;
	v = xcalloc(json_array_size(a), sizeof(char *));
	json_array_foreach(a, i, x)
		if (json_is_string(x))
			v[(*n)++] = xstrdup(json_string_value(x));
	return v;
}

static void
strv_add(char ***v, int *n, const char *s)
{
	*v = xrealloc(*v, (size_t)*n + 1, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
}

/* The metadata keys a load-balanced request may carry, in md_vals order. */
static const char *const md_keys[] = { "targets", "retries", "timeout",
    "after", "follow" };
enum { MD_TARGETS, MD_RETRIES, MD_TIMEOUT, MD_AFTER, MD_FOLLOW, MD_N };

/*
 * The request's scheduling metadata as JSON values (new references, NULL
 * when absent): from the parsed metadata, or from the scanned values.
 * What every client sends when it asks for nothing ([], null, 0) reads
 * as absent, which is what it means; anything else is parsed alone.
 */
static void
md_vals(const struct ipp_msg *m, const struct scanned *sc, json_t *v[MD_N])
{
	const struct ipp_jval *j;
	int i;

	for (i = 0; i < MD_N; i++) {
		if (sc == NULL || sc->parsed) {
			v[i] = json_incref(json_object_get(m->metadata,
			    md_keys[i]));
			continue;
		}
		j = &sc->md[i];
		v[i] = NULL;
		if (j->type == IPP_JNONE || j->type == IPP_JNULL ||
		    ipp_jval_is(j, "[]") || (i == MD_RETRIES &&
		    ipp_jval_is(j, "0")))
			continue;
		if ((v[i] = json_loadb(j->p, j->len, JSON_DECODE_ANY |
		    JSON_ALLOW_NUL, NULL)) == NULL)
			fatalx("out of memory");	/* the scanner vouched */
	}
}

/*
 * A new load-balanced request, from a client (has_client) or from the
 * hub's own resubmission.  m->fr is [client_rid?, DELIM, ...]; its parts
 * from the delimiter on move into the task.  sc is what the scanner read
 * of m, or NULL when m was parsed.
 */
void
sched_submit(struct hub *h, struct ipp_msg *m, int has_client,
    const struct scanned *sc)
{
	const char *msg_id = sc != NULL ? sc->msg_id : m->msg_id;
	json_t *mv[MD_N], *v;
	struct task *t;
	char why[256];
	int i, bad;

	if (task_find(h, msg_id) != NULL ||
	    outcome_get(h->outcome, msg_id) != 0) {
		hub_badinput(h,
		    "dropped task '%s': msg_id already used", msg_id);
		return;
	}
	t = task_new(h, msg_id, TQ_TASK);
	t->seq = ++h->seq;
	if (has_client)
		task_set_client(t, m);
	t->header = json_incref(m->header);	/* NULL: read when needed */
	task_record_new(h, m, msg_id, TQ_TASK, NULL);
	for (i = m->nids; i < m->fr.n; i++)
		if (ipp_frames_add_msg(&t->frames, &m->fr.f[i]) == -1)
			fatalx("out of memory");
	outcome_seen(h->outcome, t->msg_id);

	md_vals(m, sc, mv);
	t->targets = strv_from_json(mv[MD_TARGETS], &t->ntargets);
	v = mv[MD_RETRIES];
	t->retries = json_is_integer(v) && json_integer_value(v) > 0 ?
	    (int)json_integer_value(v) : 0;
	v = mv[MD_TIMEOUT];
	if (json_is_number(v) && json_number_value(v) > 0)
		t->timeout_at = ipp_monotonic() + json_number_value(v);
	bad = dep_parse(&t->after, mv[MD_AFTER], why, sizeof(why)) == -1 ||
	    dep_parse(&t->follow, mv[MD_FOLLOW], why, sizeof(why)) == -1;
	for (i = 0; i < MD_N; i++)
		json_decref(mv[i]);
	if (bad) {
		fail_task(h, t, "InvalidDependency", why);
		return;
	}
	dep_collapse(h->outcome, &t->after);
	for (i = 0; i < t->after.n + t->follow.n; i++) {
		const char *id = i < t->after.n ? t->after.ids[i] :
		    t->follow.ids[i - t->after.n];

		if (strcmp(id, t->msg_id) == 0 ||
		    outcome_get(h->outcome, id) == 0) {
			snprintf(why, sizeof(why), "dependency '%s' is %s", id,
			    strcmp(id, t->msg_id) == 0 ? "the task itself" :
			    "not a task this scheduler has seen");
			fail_task(h, t, "InvalidDependency", why);
			return;
		}
	}
	if (dep_unreachable(h->outcome, &t->after) ||
	    dep_unreachable(h->outcome, &t->follow)) {
		fail_task(h, t, "ImpossibleDependency", "a dependency "
		    "finished in a way that cannot satisfy it");
		return;
	}
	if (dep_met(h->outcome, &t->after, -1) && h->nwaiting == 0 &&
	    maybe_run(h, t) != 0)
		return;
	/*
	 * Behind other waiting tasks a new one queues, so FIFO order holds
	 * even when an engine frees up between two submissions.
	 */
	if (task_find(h, msg_id) == t)
		enqueue(h, t);
	if (h->nwaiting > 0 && engines_have_room(h))
		h->rescan = 1;
}

int
is_task_type(const char *t)
{
	return strcmp(t, "apply_request") == 0 ||
	    strcmp(t, "execute_request") == 0;
}

int
relay_task_client(struct hub *h, int arg)
{
	struct ipp_msg *m = &h->rx;
	struct scanned sc;
	int rc;

	if ((rc = hub_recv_scan(h, h->task_c, m, "task", 1, md_keys, MD_N,
	    &sc)) <= 0)
		goto out;
	if (!is_task_type(sc.msg_type)) {
		/* an engine would never answer it, and would stay "busy" */
		hub_badinput(h, "refused %s on task: only apply_request and "
		    "execute_request are load-balanced", sc.msg_type);
		if (!sc.parsed && ipp_msg_parse(m, NULL, 0) == -1)
			goto out;
		hub_reply(h, h->task_c, ipp_frame_data(&m->fr, 0),
		    ipp_frame_len(&m->fr, 0), "hub_error", m->header,
		    ipp_error_content("ValueError", "the task scheduler runs "
		    "apply_request and execute_request, not '%s'", m->msg_type),
		    NULL, 0);
		goto out;
	}
	sched_submit(h, m, 1, &sc);
out:
	ipp_msg_clear(m);
	return rc != 0;
}

/* Take t off engine e and try elsewhere (unmet dependency or a retry). */
static void
replace_elsewhere(struct hub *h, struct task *t, struct engine *e)
{
	TAILQ_REMOVE(&e->task_pending, t, q);
	t->engine = NULL;
	t->state = TS_WAITING;
	strv_add(&t->blacklist, &t->nblacklist, e->uuid);
	if (t->ntargets > 0) {
		int i, left = 0;

		for (i = 0; i < t->ntargets; i++)
			if (!strv_has(t->blacklist, t->nblacklist,
			    t->targets[i]))
				left = 1;
		if (!left) {
			fail_task(h, t, "ImpossibleDependency", "the task "
			    "failed or could not run on every target");
			return;
		}
	}
	if (maybe_run(h, t) == 0)
		enqueue(h, t);
}

static void
finish(struct hub *h, struct task *t, struct engine *e, int ok)
{
	char *id = xstrdup(t->msg_id);

	mark_done(h, id, ok, e);
	update_graph(h, id);
	free(id);
}

/* What a reply's metadata says to the scheduler. */
static const char *const reply_keys[] = { "dependencies_met", "status" };

int
sched_engine_reply(struct hub *h, int arg)
{
	struct ipp_msg *m = &h->rx;
	struct scanned sc;
	struct engine *e;
	struct task *t;
	char st[8];
	int rc, ok, unmet, lim = hwm(h);

	if ((rc = hub_recv_scan(h, h->task_e, m, "task (engine side)", 2,
	    reply_keys, 2, &sc)) <= 0)
		goto out;
	t = sc.parent_id[0] != '\0' ? reply_task_id(h, sc.parent_id) : NULL;
	e = t != NULL ? t->engine : NULL;
	if (t == NULL || e == NULL || t->queue != TQ_TASK) {
		/* not ours to track (e.g. from before a restart): relay */
		ipp_frames_swap(&m->fr, 0, 1);
		hub_send(h, h->task_c, &m->fr);
		goto out;
	}
	e->load--;
	if (lim > 0 && e->load == lim - 1 && h->nwaiting > 0)
		h->rescan = 1;
	if (sc.parsed) {
		json_t *dm = json_object_get(m->metadata, "dependencies_met");
		json_t *sv = json_object_get(m->metadata, "status");

		unmet = dm != NULL && json_is_false(dm);
		ok = json_is_string(sv) &&
		    strcmp(json_string_value(sv), "ok") == 0;
	} else {
		unmet = sc.md[0].type == IPP_JFALSE;
		ok = ipp_jval_str(&sc.md[1], st, sizeof(st)) == 0 &&
		    strcmp(st, "ok") == 0;
	}
	if (unmet) {
		replace_elsewhere(h, t, e);
		goto out;
	}
	if (!ok && t->retries > 0) {
		t->retries--;
		log_debug("task %s failed on engine %d; %d retries left",
		    t->msg_id, e->id, t->retries);
		replace_elsewhere(h, t, e);
		goto out;
	}
	task_complete(h, t, m, t->has_client);
	if (t->has_client) {
		ipp_frames_swap(&m->fr, 0, 1);
		hub_send(h, h->task_c, &m->fr);
	}
	finish(h, t, e, ok);
out:
	ipp_msg_clear(m);
	return rc != 0;
}

/* e died with t on it: as if e had answered EngineError. */
void
sched_engine_lost_task(struct hub *h, struct engine *e, struct task *t)
{
	char now[40];

	if (t->retries > 0) {
		t->retries--;
		replace_elsewhere(h, t, e);
		return;
	}
	ipp_iso_now(now, sizeof(now));
	task_fabricate_reply(h, t, ipp_error_content("EngineError",
	    "Engine %d died while running task '%s'", e->id, t->msg_id),
	    json_pack("{s:s, s:s, s:s}", "status", "error", "engine", e->uuid,
	    "date", now), 1);
	finish(h, t, e, 0);
}

void
sched_engine_added(struct hub *h, struct engine *e)
{
	if (h->nwaiting > 0)
		h->rescan = 1;
}

void
sched_engine_removed(struct hub *h, struct engine *e)
{
	/* targets naming it may have become impossible */
	if (h->nwaiting > 0)
		h->rescan = 1;
}

void
sched_check_timeouts(struct hub *h, double now)
{
	struct task *t, *next;

	if (h->ntimeouts == 0 || now < h->next_timeout)
		return;
	h->next_timeout = 1e300;
	for (t = TAILQ_FIRST(&h->waiting); t != NULL; t = next) {
		next = TAILQ_NEXT(t, wq);
		if (t->timeout_at <= 0)
			continue;
		if (t->timeout_at <= now) {
			fail_task(h, t, "TaskTimeout", "task timed out "
			    "while waiting to be scheduled");
			next = TAILQ_FIRST(&h->waiting);
			h->next_timeout = 1e300;
			continue;
		}
		if (t->timeout_at < h->next_timeout)
			h->next_timeout = t->timeout_at;
	}
}

double
sched_next_timeout(struct hub *h)
{
	return h->ntimeouts > 0 ? h->next_timeout : 1e300;
}
