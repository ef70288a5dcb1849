/*
 * respond.c - the response context: the store opened read-write, the
 * state directory, who is acting, and the action records (respond.h).
 *
 * "Who" is the real user and, when they differ, the login user (the audit
 * loginuid, set at login and kept across su and sudo) or sudo's caller:
 * the record must name the person, not only "root".
 */
#include "respond/respond.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hn_respond_fail(struct hn_respond *r, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return rc;
}

int hn_respond_state_dir(const char *db_path, char *buf, size_t n)
{
	const char *e = getenv("HINOMI_STATE_DIR");
	const char *slash;
	int len;

	if (e && *e)
		len = snprintf(buf, n, "%s", e);
	else if (!db_path || !(slash = strrchr(db_path, '/')))
		len = snprintf(buf, n, ".");
	else if (slash == db_path)
		len = snprintf(buf, n, "/");
	else
		len = snprintf(buf, n, "%.*s", (int)(slash - db_path), db_path);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

static void user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, n, "%s", res->pw_name);
	else
		snprintf(buf, n, "uid %u", (unsigned)uid);
}

void hn_respond_who(char *buf, size_t n)
{
	char me[64], login[64] = "";
	const char *sudo = getenv("SUDO_USER");
	unsigned long auid = (unsigned long)-1;
	FILE *f;

	user_name(getuid(), me, sizeof(me));
	f = fopen("/proc/self/loginuid", "re");
	if (f) {
		if (fscanf(f, "%lu", &auid) != 1)
			auid = (unsigned long)-1;
		fclose(f);
	}
	if (auid != (unsigned long)(uint32_t)-1 && auid != (unsigned long)-1 &&
	    auid != getuid())
		user_name((uid_t)auid, login, sizeof(login));
	if (sudo && *sudo && strcmp(sudo, me) != 0)
		snprintf(buf, n, "%s (sudo by %s)", me, sudo);
	else if (login[0])
		snprintf(buf, n, "%s (login %s)", me, login);
	else
		snprintf(buf, n, "%s", me);
}

int hn_respond_open(struct hn_respond *r, const char *db_path)
{
	struct hn_store_opts o = { .path = db_path };
	int rc;

	memset(r, 0, sizeof(*r));
	rc = hn_respond_state_dir(db_path, r->state_dir, sizeof(r->state_dir));
	if (rc < 0)
		return hn_respond_fail(r, rc, "state directory: path too long");
	hn_respond_who(r->user, sizeof(r->user));
	/* a small queue: the CLI writes actions and alerts directly */
	o.queue_max = 16;
	rc = hn_store_open(&o, &r->store);
	if (rc < 0)
		return hn_respond_fail(r, rc, "cannot open the store %s: %s", db_path,
				       hn_store_open_errmsg());
	return 0;
}

void hn_respond_close(struct hn_respond *r)
{
	if (!r)
		return;
	hn_store_close(r->store);
	r->store = NULL;
}

int hn_act_begin(struct hn_respond *r, const char *kind, const char *target,
		 int64_t parent, int64_t *id)
{
	struct hn_action a = {
		.parent = parent,
		.user = r->user,
		.kind = kind,
		.target = target,
		.status = "running",
	};
	int rc;

	*id = 0;
	if (!r->store)
		return 0;
	rc = hn_store_action_add(r->store, &a, id);
	if (rc < 0)
		return hn_respond_fail(r, rc, "cannot record the action: %s",
				       hn_store_errmsg(r->store));
	return 0;
}

int hn_act_end(struct hn_respond *r, int64_t id, const char *status,
	       const char *summary, const char *detail)
{
	int rc;

	if (!r->store || id <= 0)
		return 0;
	rc = hn_store_action_set(r->store, id, status, summary, detail);
	if (rc < 0)
		return hn_respond_fail(r, rc, "cannot record the action's end: %s",
				       hn_store_errmsg(r->store));
	return 0;
}
