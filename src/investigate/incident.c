/*
 * incident.c - alerts grouped into incidents: alerts whose processes share
 * a malicious root (hn_investigate_root) are one story, with one id
 * ("inc-" and the root's entity id), a title (the most severe alert's
 * rule), a severity (the most severe level) and a time span (first to last
 * match).  An alert whose process the store does not know is an incident
 * of its own ("inc-a" and the alert id).
 *
 * Computed from the alerts table when asked (no table of its own): the
 * root of each distinct alert process is looked up once.
 */
#include "investigate/investigate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/entity.h"

struct alert_row {
	int64_t id;
	uint64_t entity, first, last, count;
	char *title, *level;
};

struct rows {
	struct alert_row *v;
	size_t n, cap;
	int err;
};

static int on_alert(const struct hn_alert *a, void *arg)
{
	struct rows *r = arg;
	struct alert_row *x;

	if (r->n == r->cap) {
		size_t c = r->cap ? r->cap * 2 : 64;
		struct alert_row *v = realloc(r->v, c * sizeof(*v));
		if (!v)
			return r->err = -ENOMEM;
		r->v = v;
		r->cap = c;
	}
	x = &r->v[r->n];
	memset(x, 0, sizeof(*x));
	x->id = a->id;
	x->entity = a->entity;
	x->first = a->time;
	x->last = a->last_time ? a->last_time : a->time;
	x->count = a->count ? a->count : 1;
	x->title = strdup(a->rule_title ? a->rule_title : "");
	x->level = strdup(a->rule_level ? a->rule_level : "");
	r->n++;
	if (!x->title || !x->level)
		return r->err = -ENOMEM;
	return 0;
}

/* Sigma levels, least to most severe; unknown ones rank lowest. */
static int level_rank(const char *l)
{
	static const char *const levels[] = { "informational", "low", "medium", "high",
					      "critical" };

	for (int i = 0; i < 5; i++)
		if (l && !strcmp(l, levels[i]))
			return i + 1;
	return 0;
}

static const char *level_name(int rank)
{
	static const char *const levels[] = { "unknown", "informational", "low", "medium", "high",
					      "critical" };

	return rank >= 0 && rank <= 5 ? levels[rank] : "unknown";
}

static int by_last(const void *a, const void *b)
{
	const struct hn_incident *x = a, *y = b;

	if (x->last != y->last)
		return x->last < y->last ? -1 : 1;
	return strcmp(x->id, y->id);
}

int hn_incidents(struct hn_store *s, struct hn_incident **out, size_t *n)
{
	struct rows rows = { 0 };
	struct hn_incident *inc = NULL;
	uint64_t *roots = NULL;
	int *best = NULL, r;
	size_t ninc = 0;

	*out = NULL;
	*n = 0;
	r = hn_store_alerts(s, 0, on_alert, &rows);
	if (rows.err)
		r = rows.err;
	if (r == -ENOENT)
		r = 0;   /* a store from before alerts: none */
	if (r < 0)
		goto out;
	roots = calloc(rows.n ? rows.n : 1, sizeof(*roots));
	inc = calloc(rows.n ? rows.n : 1, sizeof(*inc));
	best = calloc(rows.n ? rows.n : 1, sizeof(*best));
	if (!roots || !inc || !best) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rows.n; i++) {
		struct alert_row *a = &rows.v[i];
		struct hn_inv_proc root = { 0 };
		enum hn_inv_entry entry = HN_INV_ENTRY_UNKNOWN;
		struct hn_incident *x = NULL;
		bool known = false;
		int rank = level_rank(a->level);

		/* the same process as an earlier alert: its root */
		for (size_t j = 0; j < i && !known; j++)
			if (a->entity && rows.v[j].entity == a->entity) {
				roots[i] = roots[j];
				known = true;
			}
		if (!known && a->entity) {
			/* as of the alert, as hn_investigate ALERT sees it */
			r = hn_investigate_root(s, a->entity, a->last, &root, &entry);
			if (r == -ENOENT) {
				r = 0;
			} else if (r < 0) {
				goto out;
			} else {
				roots[i] = root.entity;
			}
		}
		for (size_t k = 0; k < ninc && roots[i]; k++)
			if (inc[k].root == roots[i])
				x = &inc[k];
		if (!x) {
			char e[32];
			x = &inc[ninc++];
			x->root = roots[i];
			if (roots[i]) {
				snprintf(x->id, sizeof(x->id), "inc-%s",
					 hn_entity_str(roots[i], e, sizeof(e)));
				x->root_exe = root.exe;
				root.exe = NULL;
				x->entry = entry;
			} else {
				snprintf(x->id, sizeof(x->id), "inc-a%" PRId64, a->id);
			}
			x->first = a->first;
			x->last = a->last;
			best[x - inc] = -1;
		}
		hn_inv_proc_release(&root);
		if (x->n_alerts % 16 == 0) {
			int64_t *v = realloc(x->alerts, (x->n_alerts + 16) * sizeof(*v));
			if (!v) {
				r = -ENOMEM;
				goto out;
			}
			x->alerts = v;
		}
		x->alerts[x->n_alerts++] = a->id;
		x->matches += a->count;
		if (a->first < x->first)
			x->first = a->first;
		if (a->last > x->last)
			x->last = a->last;
		/* the title: the most severe alert, the first of those */
		if (best[x - inc] < 0 || rank > level_rank(rows.v[best[x - inc]].level))
			best[x - inc] = (int)i;
	}
	for (size_t k = 0; k < ninc; k++) {
		const struct alert_row *a = &rows.v[best[k]];
		char t[512];
		if (inc[k].n_alerts > 1)
			snprintf(t, sizeof(t), "%s, and %zu more alert%s", a->title,
				 inc[k].n_alerts - 1, inc[k].n_alerts > 2 ? "s" : "");
		else
			snprintf(t, sizeof(t), "%s", a->title);
		inc[k].title = strdup(t);
		inc[k].severity = level_name(level_rank(a->level));
		if (!inc[k].title) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (ninc)
		qsort(inc, ninc, sizeof(*inc), by_last);
	*out = inc;
	*n = ninc;
	inc = NULL;
	ninc = 0;
	r = 0;
out:
	hn_incidents_free(inc, ninc);
	for (size_t i = 0; i < rows.n; i++) {
		free(rows.v[i].title);
		free(rows.v[i].level);
	}
	free(rows.v);
	free(roots);
	free(best);
	return r;
}

void hn_incidents_free(struct hn_incident *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].root_exe);
		free(v[i].title);
		free(v[i].alerts);
	}
	free(v);
}
