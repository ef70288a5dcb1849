/*
 * ecs_read.c - one ECS JSON object back into an event (ecs.h:
 * hn_ecs_parse), with jansson.
 *
 * It reads what hn_ecs_render writes, so that `hinomi events --json`
 * output can be matched offline; the same field names from other tools
 * work as far as they go.  Untrusted input: any JSON gives an event or a
 * reason, never a crash; strings are copied into the event (bounded by
 * the line's own size).
 */
#include "event/ecs.h"
#include "event/entity.h"
#include "util/timefmt.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The value at a dotted path ("process.parent.executable"), or NULL. */
static json_t *at(json_t *o, const char *path)
{
	char key[64];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key) || !json_is_object(o))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot ? dot + 1 : path + n;
	}
	return o;
}

static const char *str_at(json_t *o, const char *path)
{
	json_t *v = at(o, path);

	if (json_is_array(v))   /* ECS allows arrays for keywords: the first */
		v = json_array_get(v, 0);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A number given as a number or a decimal string; def when absent. */
static uint64_t num_at(json_t *o, const char *path, uint64_t def)
{
	json_t *v = at(o, path);
	char *end;
	unsigned long long x;

	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1.8e19)
		return (uint64_t)json_real_value(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		errno = 0;
		x = strtoull(s, &end, 10);
		if (*s && !*end && !errno)
			return x;
	}
	return def;
}

static const char *put(struct hn_event *ev, const char *s)
{
	return s ? hn_event_puts(ev, s) : NULL;
}

/* The type: hinomi.type, else (event.category[0], event.action). */
static uint16_t type_of(json_t *root)
{
	const char *name = str_at(root, "hinomi.type"), *cat, *act;
	uint16_t t[64];

	if (name && hn_event_types_by_name(name, t, 1) == 1 && hn_event_kind(t[0])->name &&
	    !strcmp(hn_event_kind(t[0])->name, name))
		return t[0];
	cat = str_at(root, "event.category");
	act = str_at(root, "event.action");
	if (!cat || !act)
		return HN_EV_NONE;
	for (unsigned i = 1; i < HN_EV_TYPE_MAX; i++) {
		const struct hn_event_kind *k = hn_event_kind(i);
		if (k->name && !strcmp(k->category, cat) && !strcmp(k->action, act))
			return (uint16_t)i;
	}
	return HN_EV_NONE;
}

static void addr_of(json_t *root, const char *side, struct hn_addr *a)
{
	char path[64];
	const char *ip;

	snprintf(path, sizeof(path), "%s.ip", side);
	ip = str_at(root, path);
	if (!ip || hn_addr_parse(ip, a) < 0)
		return;
	a->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	snprintf(path, sizeof(path), "%s.port", side);
	a->port = (uint16_t)num_at(root, path, 0);
}

/* process.args (array of strings) as NUL-separated argv. */
static void args_of(json_t *root, struct hn_event *ev, const char *path)
{
	json_t *a = at(root, path);
	size_t len = 0, i;
	json_t *v;
	char *buf;

	if (!json_is_array(a) || !json_array_size(a))
		return;
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			len += json_string_length(v) + 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return;
	len = 0;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			continue;
		memcpy(buf + len, json_string_value(v), json_string_length(v));
		len += json_string_length(v);
		buf[len++] = '\0';
		ev->argc++;
	}
	ev->args = hn_event_put(ev, buf, len);
	ev->args_len = ev->args ? len : 0;
	free(buf);
}

int hn_ecs_parse(const char *json, size_t n, struct hn_event **out, char *err,
		 size_t errlen)
{
	json_error_t jerr;
	/* numbers as doubles: ECS output from before cookies were strings
	 * carries u64 values that jansson's signed integers refuse; the
	 * fields read here are small */
	json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
				  &jerr);
	struct hn_event *ev = NULL;
	const char *s;
	uint64_t ns = 0;
	uint16_t type;
	int r = -EINVAL;

	if (err && errlen)
		err[0] = '\0';
	if (!root) {
		snprintf(err, errlen, "not JSON: %s (column %d)", jerr.text, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	type = type_of(root);
	if (type == HN_EV_NONE) {
		snprintf(err, errlen, "no event type (hinomi.type, or event.category and"
			 " event.action)");
		goto out;
	}
	ev = hn_event_new(n + 64);
	if (!ev) {
		r = -ENOMEM;
		goto out;
	}
	ev->type = type;
	s = str_at(root, "@timestamp");
	if (s && hn_rfc3339_parse(s, strlen(s), &ns))
		ev->time = ns;
	ev->id = (int64_t)num_at(root, "event.id", 0);
	s = str_at(root, "process.entity_id");
	if (s)
		hn_entity_parse(s, &ev->proc.entity);
	s = str_at(root, "process.parent.entity_id");
	if (s)
		hn_entity_parse(s, &ev->proc.parent_entity);
	ev->proc.pid = (uint32_t)num_at(root, "process.pid", 0);
	ev->proc.tid = (uint32_t)num_at(root, "process.thread.id", ev->proc.pid);
	ev->proc.ppid = (uint32_t)num_at(root, "process.parent.pid", 0);
	ev->proc.uid = (uint32_t)num_at(root, "user.id", 0);
	ev->proc.euid = (uint32_t)num_at(root, "user.effective.id", ev->proc.uid);
	ev->proc.gid = (uint32_t)num_at(root, "group.id", 0);
	ev->proc.auid = (uint32_t)num_at(root, "hinomi.process.auid", UINT32_MAX);
	s = str_at(root, "process.name");
	if (s)
		snprintf(ev->proc.comm, sizeof(ev->proc.comm), "%s", s);
	ev->proc.executable = put(ev, str_at(root, "process.executable"));
	ev->proc.parent_executable = put(ev, str_at(root, "process.parent.executable"));
	ev->cwd = put(ev, str_at(root, "process.working_directory"));
	s = str_at(root, "process.hash.sha256");
	if (s && strlen(s) == 64)
		memcpy(ev->sha256, s, 65);
	if (type == HN_EV_PROCESS_START || type == HN_EV_PROCESS_SNAPSHOT) {
		ev->path = ev->proc.executable;
		ev->filename = put(ev, str_at(root, "hinomi.process.exec_filename"));
		args_of(root, ev, "process.args");
	}
	if (hn_event_is_file(type) || type == HN_EV_MODULE_LOAD) {
		const char *orig = str_at(root, "hinomi.file.original.path");
		if (type == HN_EV_FILE_RENAME && orig) {
			ev->path = put(ev, orig);
			ev->path2 = put(ev, str_at(root, "file.path"));
		} else {
			ev->path = put(ev, str_at(root, "file.path"));
		}
	}
	if (hn_event_is_network(type)) {
		bool accept = type == HN_EV_NET_ACCEPT;
		/* ECS source is the initiator: for an accept, the peer */
		addr_of(root, "source", accept ? &ev->dst : &ev->src);
		addr_of(root, "destination", accept ? &ev->src : &ev->dst);
		s = str_at(root, "network.transport");
		ev->transport = s && !strcmp(s, "tcp") ? IPPROTO_TCP :
				s && !strcmp(s, "udp") ? IPPROTO_UDP : 0;
		ev->dns_name = put(ev, str_at(root, type == HN_EV_DNS_QUERY ? "dns.question.name" :
						   "destination.domain"));
	}
	if (type == HN_EV_LOG) {
		s = str_at(root, "message");
		if (s) {
			ev->args = hn_event_puts(ev, s);
			ev->args_len = ev->args ? strlen(s) + 1 : 0;
			ev->argc = 1;
		}
		ev->name = put(ev, str_at(root, "log.syslog.appname"));
		ev->filename = put(ev, str_at(root, "log.file.path"));
		if (at(root, "log.syslog.priority")) {
			ev->mode = (uint32_t)num_at(root, "log.syslog.priority", 0);
			ev->oflags = 1;
		}
	}
	*out = ev;
	ev = NULL;
	r = 0;
out:
	hn_event_free(ev);
	json_decref(root);
	return r;
}
