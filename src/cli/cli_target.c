/*
 * cli_target.c - what `hinomi investigate` and `hinomi remediate` are
 * asked about (cli_render.h: struct cli_target): an alert id, an incident
 * (inc-...), an entity id or a path, resolved in the store into the
 * process whose story to tell, and that story.
 */
#include "cli/cli_render.h"
#include "event/entity.h"
#include "investigate/investigate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct find_alert {
	int64_t id;
	uint64_t entity, time;
	char *title;
	bool found;
};

static int on_alert(const struct hn_alert *a, void *arg)
{
	struct find_alert *f = arg;

	if (a->id != f->id)
		return 0;
	f->found = true;
	f->entity = a->entity;
	f->time = a->last_time ? a->last_time : a->time;
	f->title = strdup(a->rule_title ? a->rule_title : "");
	return 1;
}

/* An incident: its malicious root is the subject, and its alerts are
 * steps of the path (added after the story is told).  0, or 1 after a
 * message. */
static int resolve_incident(const char *cmd, struct hn_store *s, struct cli_target *t)
{
	size_t n = 0;
	int r = hn_incidents(s, &t->incs, &n);

	if (r < 0) {
		fprintf(stderr, "hinomi %s: %s\n", cmd,
			r == -ENOMEM ? "out of memory" : hn_store_errmsg(s));
		return 1;
	}
	t->nincs = n;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t->incs[i].id, t->value))
			t->inc = &t->incs[i];
	if (!t->inc) {
		fprintf(stderr, "hinomi %s: no incident %s in the store (hinomi incidents)\n", cmd,
			t->value);
		return 1;
	}
	if (!t->inc->root) {
		/* an alert whose process the store does not know */
		fprintf(stderr, "hinomi %s: incident %s names no process the store knows\n", cmd,
			t->value);
		return 1;
	}
	t->entity = t->inc->root;
	t->at = 0;
	return 0;
}

/* Its alerts as steps: each alert's process and time. */
struct alert_steps {
	const struct hn_incident *inc;
	struct hn_story *st;
	int err;
};

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int on_incident_alert(const struct hn_alert *a, void *arg)
{
	struct alert_steps *x = arg;

	/* the incident's ids are sorted (cli_target_story) */
	if (bsearch(&a->id, x->inc->alerts, x->inc->n_alerts, sizeof(*x->inc->alerts), cmp_id))
		x->err = hn_story_add_alert(x->st, a->last_time ? a->last_time : a->time, a->entity,
					    a->pid, a->executable, a->rule_title ? a->rule_title : "");
	return x->err;
}

int cli_target_resolve(const char *cmd, struct hn_store *s, struct cli_target *t)
{
	const char *v = t->value;
	char *end;
	int r;

	if (v[0] == '/') {
		t->kind = "path";
		r = hn_investigate_path_subject(s, v, &t->entity, &t->at);
		if (r == -ENOENT) {
			fprintf(stderr, "hinomi %s: no process ran or wrote %s in the store\n", cmd, v);
			return 1;
		}
		if (r < 0) {
			fprintf(stderr, "hinomi %s: %s\n", cmd, hn_store_errmsg(s));
			return 1;
		}
		return 0;
	}
	if (!strncmp(v, "inc-", 4)) {
		t->kind = "incident";
		return resolve_incident(cmd, s, t);
	}
	if (strlen(v) == 16 && hn_entity_parse(v, &t->entity) == 0) {
		t->kind = "entity";
		t->at = 0;
		return 0;
	}
	errno = 0;
	t->alert_id = strtoll(v, &end, 10);
	if (!errno && end != v && !*end && t->alert_id > 0) {
		struct find_alert f = { .id = t->alert_id };
		t->kind = "alert";
		r = hn_store_alerts(s, 0, on_alert, &f);
		if (r < 0 && r != -ENOENT) {
			fprintf(stderr, "hinomi %s: %s\n", cmd, hn_store_errmsg(s));
			return 1;
		}
		if (!f.found) {
			fprintf(stderr, "hinomi %s: no alert %s in the store\n", cmd, v);
			return 1;
		}
		if (!f.entity) {
			free(f.title);
			fprintf(stderr, "hinomi %s: alert %s names no process\n", cmd, v);
			return 1;
		}
		t->entity = f.entity;
		t->at = f.time;
		t->title = f.title;
		return 0;
	}
	fprintf(stderr,
		"hinomi %s: '%s' is not an alert id, an incident id, an entity id (16 hex "
		"digits) or an absolute path\n",
		cmd, v);
	return 1;
}

int cli_target_story(const char *cmd, struct hn_store *s, struct cli_target *t,
		     struct hn_story **out)
{
	struct hn_story *st = NULL;
	int r = hn_investigate(s, t->entity, t->at, t->title, &st);

	if (r == 0 && t->inc) {
		struct alert_steps x = { .inc = t->inc, .st = st };
		qsort(t->inc->alerts, t->inc->n_alerts, sizeof(*t->inc->alerts), cmp_id);
		r = hn_store_alerts(s, 0, on_incident_alert, &x);
		if (x.err)
			r = x.err;
		hn_story_sort_steps(st);
	}
	if (r == -ENOENT) {
		char ent[32];
		fprintf(stderr, "hinomi %s: the store knows no process %s\n", cmd,
			hn_entity_str(t->entity, ent, sizeof(ent)));
	} else if (r == -ENOMEM) {
		fprintf(stderr, "hinomi %s: out of memory\n", cmd);
	} else if (r < 0) {
		fprintf(stderr, "hinomi %s: %s\n", cmd, hn_store_errmsg(s));
	}
	if (r < 0) {
		hn_story_free(st);
		return 1;
	}
	*out = st;
	return 0;
}

void cli_target_release(struct cli_target *t)
{
	hn_incidents_free(t->incs, t->nincs);
	free(t->title);
	t->incs = t->inc = NULL;
	t->title = NULL;
}
