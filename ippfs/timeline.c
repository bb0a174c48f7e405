/*
 * timeline.c - tasks/timeline.svg and engines/N/timeline.svg: a Gantt
 * picture of recent tasks, drawn from the task table on read.
 *
 * One lane per engine, time along x, one bar per task from when it
 * started running (or, not seen running, was submitted) to when it
 * ended (or now, while it runs), coloured by outcome.  A title line
 * gives the window and the counts, a legend the colours, an axis the
 * seconds since the window's start.  Each bar carries a <title>, which
 * a browser shows as a tooltip.  The picture is bounded: the last
 * timeline_tasks tasks that ran on an engine, and of those only the
 * ones that ended within timeline_seconds (settings in /ctl), so its
 * size does not grow with the history.  Plain SVG 1.1, no script and
 * no style sheet, so any viewer draws it.  vis.c serves it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ippfs.h"

#define W		1000	/* picture width */
#define LEFT		110	/* lane labels */
#define RIGHT		20
#define TOP		56	/* title and legend above the lanes */
#define LANE_H		26
#define BAR_PAD		4	/* lane height = bar + 2 pads */
#define LANES_H_MAX	1200	/* many engines: thinner lanes */
#define AXIS_H		40

struct tl {
	struct fstask	**v;		/* tasks drawn, newest first */
	int		 n;
	int		*lane;		/* engine id -> lane, -1 none */
	int		 nlanes;
	double		 t0, t1;	/* window, wall clock */
	double		 now;
	int		 count[T_TIMEOUT + 1];
};

/* Colours by state; NULL: not drawn. */
static const char *
colour(enum tstate s)
{
	switch (s) {
	case T_RUNNING:
		return "#1f77b4";
	case T_DONE:
		return "#2ca02c";
	case T_FAILED:
		return "#d62728";
	case T_ABORTED:
		return "#ff9f1c";
	case T_LOST:
		return "#7f7f7f";
	case T_TIMEOUT:
		return "#9467bd";
	default:
		return NULL;
	}
}

static double
bar_start(const struct fstask *t)
{
	return t->started > 0 ? t->started : t->submitted;
}

static double
bar_end(const struct tl *tl, const struct fstask *t)
{
	return t->state >= T_DONE && t->ended > 0 ? t->ended : tl->now;
}

/* Pick the tasks to draw: the newest first, within the settings. */
static void
select_tasks(struct tl *tl, int engine)
{
	struct vis *v = vis_get();
	struct fstask *t;
	double s, e;
	int i;

	tl->v = xcalloc((size_t)(v->tl_tasks < fs.ntasks ? v->tl_tasks :
	    fs.ntasks) + 1, sizeof(*tl->v));
	tl->t0 = tl->t1 = 0;
	for (i = fs.ntasks - 1; i >= 0 && tl->n < v->tl_tasks; i--) {
		if ((t = fs.tasks[i]) == NULL || t->engine < 0 ||
		    t->engine >= fs.nengines || tl->lane[t->engine] < 0 ||
		    (engine >= 0 && t->engine != engine) ||
		    colour(t->state) == NULL || bar_start(t) <= 0)
			continue;
		s = bar_start(t);
		e = bar_end(tl, t);
		if (v->tl_secs > 0 && e < tl->now - v->tl_secs)
			continue;
		if (e < s)
			e = s;
		if (tl->n == 0 || s < tl->t0)
			tl->t0 = s;
		if (tl->n == 0 || e > tl->t1)
			tl->t1 = e;
		tl->v[tl->n++] = t;
		tl->count[t->state]++;
	}
	if (tl->n == 0)
		tl->t0 = tl->t1 = tl->now;
	if (tl->t1 - tl->t0 < 1e-3)
		tl->t1 = tl->t0 + 1e-3;
}

static void
lanes(struct tl *tl, int engine)
{
	int i;

	tl->lane = xcalloc((size_t)fs.nengines + 1, sizeof(*tl->lane));
	for (i = 0; i < fs.nengines; i++)
		tl->lane[i] = fs.engines[i] != NULL && (engine < 0 ||
		    i == engine) ? tl->nlanes++ : -1;
}

static double
xpos(const struct tl *tl, double t)
{
	return LEFT + (t - tl->t0) / (tl->t1 - tl->t0) * (W - LEFT - RIGHT);
}

/* A tick step of 1, 2 or 5 times a power of ten: 4 to 10 ticks. */
static double
tick_step(double span)
{
	double p = pow(10, floor(log10(span / 10))), m[] = { 1, 2, 5, 10 };
	int i;

	for (i = 0; i < 3 && span / (p * m[i]) > 10; i++)
		;
	return p * m[i];
}

static void
title(struct buf *b, const struct tl *tl, int engine)
{
	char from[40];
	static const enum tstate order[] = { T_DONE, T_FAILED, T_ABORTED,
	    T_LOST, T_TIMEOUT, T_RUNNING };
	size_t i;

	/* 2026-12-02T08:18:04.242508Z: to the second, a space for the T */
	ipp_iso_format(tl->t0, from, sizeof(from));
	from[19] = '\0';
	from[10] = ' ';
	buf_printf(b, "<text x=\"10\" y=\"20\" font-size=\"13\" "
	    "font-weight=\"bold\">");
	if (engine >= 0)
		buf_printf(b, "engine %d: ", engine);
	buf_printf(b, "%d tasks, %s UTC + %.3f s:", tl->n, from,
	    tl->t1 - tl->t0);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		buf_printf(b, "%s %d %s", i ? "," : "", tl->count[order[i]],
		    tstate_name(order[i]));
	buf_printf(b, ", %d queued</text>\n", fs.nstate[T_QUEUED]);
	/* the legend, in the same order */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		buf_printf(b, "<rect x=\"%zu\" y=\"30\" width=\"12\" "
		    "height=\"12\" fill=\"%s\"/><text x=\"%zu\" y=\"41\">%s"
		    "</text>\n", 10 + i * 100, colour(order[i]), 26 + i * 100,
		    tstate_name(order[i]));
	}
}

static void
axis(struct buf *b, const struct tl *tl, int y)
{
	double span = tl->t1 - tl->t0, step = tick_step(span), s;
	double x;

	buf_printf(b, "<g stroke=\"#333333\"><line x1=\"%d\" y1=\"%d\" "
	    "x2=\"%d\" y2=\"%d\"/>", LEFT, y, W - RIGHT, y);
	for (s = 0; s <= span + step * 1e-9; s += step) {
		x = xpos(tl, tl->t0 + s);
		buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
		    "y2=\"%d\"/>", x, y, x, y + 5);
	}
	buf_printf(b, "</g>\n<g text-anchor=\"middle\">");
	for (s = 0; s <= span + step * 1e-9; s += step)
		buf_printf(b, "<text x=\"%.1f\" y=\"%d\">%g s</text>",
		    xpos(tl, tl->t0 + s), y + 18, s < step * 1e-9 ? 0 : s);
	buf_printf(b, "</g>\n");
}

/* Draw into b the timeline of every engine, or of engine (>= 0). */
void
timeline_gen(struct buf *b, int engine)
{
	struct tl tl;
	struct fstask *t;
	struct fsengine *e;
	enum tstate st;
	double x0, x1;
	char line[256];
	int i, n, lane_h, h, y, bar_h, pad;

	memset(&tl, 0, sizeof(tl));
	tl.now = ipp_now();
	lanes(&tl, engine);
	select_tasks(&tl, engine);
	lane_h = tl.nlanes > 0 && tl.nlanes * LANE_H > LANES_H_MAX ?
	    LANES_H_MAX / tl.nlanes : LANE_H;
	if (lane_h < 3)
		lane_h = 3;
	pad = lane_h >= LANE_H ? BAR_PAD : lane_h / 6;
	bar_h = lane_h - 2 * pad;
	h = TOP + tl.nlanes * lane_h + AXIS_H;

	buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "font-family=\"sans-serif\" font-size=\"12\">\n"
	    "<title>ipp tasks</title>\n"
	    "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
	    "fill=\"#ffffff\"/>\n", W, h, W, h, W, h);
	title(b, &tl, engine);

	/* lanes: a light band on every other one, and its label */
	for (i = 0; i < fs.nengines; i++) {
		if (tl.lane[i] < 0)
			continue;
		e = fs.engines[i];
		y = TOP + tl.lane[i] * lane_h;
		if (tl.lane[i] % 2 == 0)
			buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
			    "height=\"%d\" fill=\"#f0f0f0\"/>", LEFT, y,
			    W - LEFT - RIGHT, lane_h);
		if (lane_h >= 10)
			buf_printf(b, "<text x=\"10\" y=\"%d\">engine %d%s"
			    "</text>", y + lane_h / 2 + 4, i,
			    e->state == E_DEAD ? " (dead)" : "");
		buf_printf(b, "\n");
	}

	/* bars, grouped by colour; whole pixels, so colours stay exact */
	for (st = T_RUNNING; st <= T_TIMEOUT; st++) {
		if (tl.count[st] == 0)
			continue;
		buf_printf(b, "<g fill=\"%s\" shape-rendering=\"crispEdges\">\n",
		    colour(st));
		for (i = tl.n - 1; i >= 0; i--) {
			if ((t = tl.v[i])->state != st)
				continue;
			x0 = floor(xpos(&tl, bar_start(t)));
			x1 = ceil(xpos(&tl, bar_end(&tl, t)));
			if (x1 - x0 < 2)
				x1 = x0 + 2;
			/* the hot loop: no allocation per bar (buf_printf's) */
			n = snprintf(line, sizeof(line), "<rect x=\"%.0f\" "
			    "y=\"%d\" width=\"%.0f\" height=\"%d\"><title>"
			    "task %d %s on engine %d, %.3f s</title></rect>\n",
			    x0, TOP + tl.lane[t->engine] * lane_h + pad, x1 - x0,
			    bar_h, t->id, tstate_name(st), t->engine,
			    bar_end(&tl, t) - bar_start(t));
			buf_add(b, line, (size_t)n);
		}
		buf_printf(b, "</g>\n");
	}
	axis(b, &tl, TOP + tl.nlanes * lane_h + 4);
	buf_printf(b, "</svg>\n");
	free(tl.v);
	free(tl.lane);
}
