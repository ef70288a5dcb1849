/*
 * misp.c - IOC lists as JSON (ioc.h): the dispatch between STIX (stix.c)
 * and MISP, and the MISP reader.
 *
 * MISP shapes read: {"Event": E}, [ {"Event": E}, ... ], {"response":
 * [ {"Event": E}, ... ]}, {"response": {"Attribute": [A, ...]}}, a bare
 * event (an object with "Attribute" or "Object"), a list of attributes.
 * From an event E: info (the description), threat_level_id (1 high,
 * 2 medium, 3 low; else the default), Orgc.name (the author),
 * Attribute[] and Object[].Attribute[].  From an attribute A: type, value,
 * to_ids (false, "0" or 0: skipped), deleted (skipped), comment, uuid.
 *
 * Each problem names the JSON path of the attribute ("$.Event.Object[2]
 * .Attribute[0]") and its uuid; a JSON syntax error names the line and
 * column.  jansson parses; nothing here trusts a member's type.
 */
#include "ioc/ioc_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHERE_MAX 256

void ioc_json_load(struct ioc_ctx *c, const char *buf, size_t len)
{
	json_error_t err;
	json_t *root;

	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		buf += 3;
		len -= 3;
	}
	root = json_loadb(buf, len, JSON_ALLOW_NUL, &err);
	if (!root) {
		ioc_problem(c, err.line > 0 ? err.line : 0, NULL, HN_IOC_INVALID,
			    "not JSON: %s (column %d)", err.text, err.column);
		return;
	}
	if (ioc_stix_like(root))
		ioc_stix_load(c, root);
	else
		ioc_misp_load(c, root);
	json_decref(root);
}

/* ---- MISP ---- */

struct event {
	const char *info, *author, *level;
};

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A MISP boolean: true, 1, "1", "true" (false when absent: def). */
static bool flag(json_t *o, const char *key, bool def)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return def;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		return !strcmp(s, "1") || !strcasecmp(s, "true");
	}
	return def;
}

static void where_of(char *w, size_t n, const char *path, json_t *attr)
{
	const char *uuid = str(attr, "uuid");

	if (uuid)
		snprintf(w, n, "%s (uuid %.40s)", path, uuid);
	else
		snprintf(w, n, "%s", path);
}

/* The indicator types of a MISP attribute type and which part of a
 * "left|right" value each takes. */
struct mtype {
	const char *name;
	enum hn_ioc_type t1, t2;  /* t2: the right part of a pair, or NONE */
	bool right;               /* t1 is the right part (filename|sha256) */
};

static const struct mtype mtypes[] = {
	{ "md5", HN_IOC_MD5, HN_IOC_NONE, false },
	{ "sha1", HN_IOC_SHA1, HN_IOC_NONE, false },
	{ "sha256", HN_IOC_SHA256, HN_IOC_NONE, false },
	{ "filename|md5", HN_IOC_MD5, HN_IOC_NONE, true },
	{ "filename|sha1", HN_IOC_SHA1, HN_IOC_NONE, true },
	{ "filename|sha256", HN_IOC_SHA256, HN_IOC_NONE, true },
	{ "ip-src", HN_IOC_IP, HN_IOC_NONE, false },
	{ "ip-dst", HN_IOC_IP, HN_IOC_NONE, false },
	{ "ip-src|port", HN_IOC_IP, HN_IOC_NONE, false },
	{ "ip-dst|port", HN_IOC_IP, HN_IOC_NONE, false },
	{ "domain", HN_IOC_DOMAIN, HN_IOC_NONE, false },
	{ "hostname", HN_IOC_DOMAIN, HN_IOC_NONE, false },
	{ "hostname|port", HN_IOC_DOMAIN, HN_IOC_NONE, false },
	{ "domain|ip", HN_IOC_DOMAIN, HN_IOC_IP, false },
};

static void attribute(struct ioc_ctx *c, const struct event *ev, json_t *a, const char *path)
{
	char where[WHERE_MAX], left[IOC_VALUE_MAX + 1], desc[IOC_DESC_MAX + 1];
	const char *type, *value, *comment, *bar;
	const struct mtype *m = NULL;
	struct ioc_entry e = { .level = ev->level, .author = ev->author };

	where_of(where, sizeof(where), path, a);
	e.where = where;
	if (!json_is_object(a)) {
		ioc_problem(c, 0, where, HN_IOC_INVALID, "an attribute is a JSON object");
		return;
	}
	if (flag(a, "deleted", false)) {
		ioc_skip(c, HN_IOC_SKIP_DELETED);
		return;
	}
	if (!flag(a, "to_ids", true)) {
		ioc_skip(c, HN_IOC_SKIP_NOT_IDS);
		return;
	}
	type = str(a, "type");
	value = str(a, "value");
	if (!type) {
		ioc_problem(c, 0, where, HN_IOC_INVALID, "no \"type\" string");
		return;
	}
	if (!value || !*value) {
		ioc_problem(c, 0, where, HN_IOC_INVALID, "no \"value\" string");
		return;
	}
	for (size_t i = 0; i < sizeof(mtypes) / sizeof(mtypes[0]); i++)
		if (!strcmp(type, mtypes[i].name))
			m = &mtypes[i];
	if (!m) {
		ioc_problem(c, 0, where, HN_IOC_UNSUPPORTED,
			    "attribute type '%.40s' is not matched", type);
		return;
	}
	comment = str(a, "comment");
	if (ev->info && *ev->info && comment && *comment)
		snprintf(desc, sizeof(desc), "%s - %s", ev->info, comment);
	else
		snprintf(desc, sizeof(desc), "%s", ev->info && *ev->info ? ev->info :
			 comment ? comment : "");
	e.description = desc;
	bar = strchr(type, '|') ? strrchr(value, '|') : NULL;
	if (strchr(type, '|') && !bar) {
		ioc_problem(c, 0, where, HN_IOC_INVALID,
			    "a '%.40s' value is two parts joined by '|'", type);
		return;
	}
	if (bar) {
		size_t n = (size_t)(bar - value);
		if (n > IOC_VALUE_MAX)
			n = IOC_VALUE_MAX;
		memcpy(left, value, n);
		left[n] = '\0';
	}
	e.type = m->t1;
	e.value = !bar ? value : m->right ? bar + 1 : left;
	ioc_add(c, &e);
	if (m->t2 != HN_IOC_NONE) {
		e.type = m->t2;
		e.value = bar + 1;
		ioc_add(c, &e);
	}
}

static void attributes(struct ioc_ctx *c, const struct event *ev, json_t *arr,
		       const char *path)
{
	char p[WHERE_MAX];
	size_t i;
	json_t *a;

	if (!arr)
		return;
	if (!json_is_array(arr)) {
		ioc_problem(c, 0, path, HN_IOC_INVALID, "\"Attribute\" is not a list");
		return;
	}
	json_array_foreach(arr, i, a) {
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		attribute(c, ev, a, p);
	}
}

static void event(struct ioc_ctx *c, json_t *e, const char *path)
{
	struct event ev = { 0 };
	char p[WHERE_MAX];
	json_t *tl, *objs, *o;
	size_t i;

	if (!json_is_object(e)) {
		ioc_problem(c, 0, path, HN_IOC_INVALID, "an event is a JSON object");
		return;
	}
	ev.info = str(e, "info");
	ev.author = str(json_object_get(e, "Orgc"), "name");
	tl = json_object_get(e, "threat_level_id");
	{
		long long lv = json_is_integer(tl) ? json_integer_value(tl) :
			       json_is_string(tl) ? atoll(json_string_value(tl)) : 0;
		ev.level = lv == 1 ? "high" : lv == 2 ? "medium" : lv == 3 ? "low" : NULL;
	}
	snprintf(p, sizeof(p), "%s.Attribute", path);
	attributes(c, &ev, json_object_get(e, "Attribute"), p);
	objs = json_object_get(e, "Object");
	if (objs && !json_is_array(objs)) {
		ioc_problem(c, 0, path, HN_IOC_INVALID, "\"Object\" is not a list");
		return;
	}
	json_array_foreach(objs, i, o) {
		snprintf(p, sizeof(p), "%s.Object[%zu]", path, i);
		if (!json_is_object(o)) {
			ioc_problem(c, 0, p, HN_IOC_INVALID, "an object is a JSON object");
			continue;
		}
		if (flag(o, "deleted", false)) {
			ioc_skip(c, HN_IOC_SKIP_DELETED);
			continue;
		}
		snprintf(p, sizeof(p), "%s.Object[%zu].Attribute", path, i);
		attributes(c, &ev, json_object_get(o, "Attribute"), p);
	}
}

/* One element of a list: {"Event": E}, a bare event, or an attribute. */
static void element(struct ioc_ctx *c, json_t *x, const char *path)
{
	struct event none = { 0 };
	char p[WHERE_MAX];

	if (json_is_object(x) && json_object_get(x, "Event")) {
		snprintf(p, sizeof(p), "%s.Event", path);
		event(c, json_object_get(x, "Event"), p);
	} else if (json_is_object(x) && (json_object_get(x, "Attribute") ||
					 json_object_get(x, "Object"))) {
		event(c, x, path);
	} else if (json_is_object(x) && json_object_get(x, "type") &&
		   json_object_get(x, "value")) {
		attribute(c, &none, x, path);
	} else {
		ioc_problem(c, 0, path, HN_IOC_INVALID,
			    "neither a MISP event nor an attribute");
	}
}

void ioc_misp_load(struct ioc_ctx *c, json_t *root)
{
	json_t *resp, *x;
	size_t i;
	char p[WHERE_MAX];

	if (json_is_array(root)) {
		json_array_foreach(root, i, x) {
			snprintf(p, sizeof(p), "$[%zu]", i);
			element(c, x, p);
		}
		return;
	}
	if (!json_is_object(root)) {
		ioc_problem(c, 0, "$", HN_IOC_INVALID,
			    "neither a MISP event nor a STIX bundle");
		return;
	}
	resp = json_object_get(root, "response");
	if (json_is_array(resp)) {
		json_array_foreach(resp, i, x) {
			snprintf(p, sizeof(p), "$.response[%zu]", i);
			element(c, x, p);
		}
		return;
	}
	if (json_is_object(resp) && json_object_get(resp, "Attribute")) {
		struct event none = { 0 };
		attributes(c, &none, json_object_get(resp, "Attribute"), "$.response.Attribute");
		return;
	}
	if (json_object_get(root, "Event") || json_object_get(root, "Attribute") ||
	    json_object_get(root, "Object")) {
		element(c, root, "$");
		return;
	}
	ioc_problem(c, 0, "$", HN_IOC_INVALID,
		    "neither a MISP event (\"Event\", \"Attribute\") nor a STIX bundle "
		    "(\"type\": \"bundle\")");
}
