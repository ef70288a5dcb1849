/*
 * iocexe.c - the running executables against the IOC lists: each distinct
 * executable (by device and inode, read through PROC/PID/exe of one
 * process running it, so that a deleted file or a memfd is read too) is
 * hashed once (SHA-256; SHA-1 and MD5 when the lists name such hashes)
 * and looked up.  A hit is a finding at the indicator's level (default
 * high); high and critical ones are strong.
 *
 * The lists are loaded like the agent's (src/agent/ioc_watch.c): the
 * --ioc paths given, else $HINOMI_IOC and /etc/hinomi/ioc where they
 * exist.  A list given that cannot be read fails the check; entries that
 * cannot be used are counted (`hinomi ioc check PATH` says why).
 * Executables over CHK_HASH_MAX bytes are not hashed (counted).
 */
#include "check/check_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich/hasher.h"

int chk_ioc_load(struct check_ctx *c, char *err, size_t nerr)
{
	struct hn_ioc_stats st;

	c->ioc = hn_ioc_set_new();
	if (!c->ioc) {
		c->oom = true;
		snprintf(err, nerr, "out of memory");
		return -ENOMEM;
	}
	hn_ioc_set_now(c->ioc, c->now);
	if (c->o->nioc) {
		for (int i = 0; i < c->o->nioc; i++) {
			int r = hn_ioc_load(c->ioc, c->o->iocs[i], NULL, NULL);
			if (r < 0) {
				snprintf(err, nerr, "cannot read IOC list %s: %s", c->o->iocs[i],
					 strerror(-r));
				return r;
			}
		}
	} else if (!c->o->no_default_iocs) {
		const char *env = getenv("HINOMI_IOC");
		if (env && *env)
			hn_ioc_load(c->ioc, env, NULL, NULL);
		if (access("/etc/hinomi/ioc", R_OK) == 0)
			hn_ioc_load(c->ioc, "/etc/hinomi/ioc", NULL, NULL);
	}
	hn_ioc_stats(c->ioc, &st);
	c->r->stats.ioc_indicators = st.loaded;
	if (st.invalid || st.unsupported)
		chk_skip(c, "IOC: %u entries of the lists could not be used (`hinomi ioc check "
			 "PATH` says why)", st.invalid + st.unsupported);
	return 0;
}

int chk_exes_collect(struct check_ctx *c)
{
	size_t cap = 0, over = 0;

	for (size_t i = 0; i < c->nprocs; i++) {
		struct chk_proc *p = &c->procs[i];
		size_t k;
		if (p->kthread || !p->exe_stat)
			continue;
		for (k = 0; k < c->nexes; k++)
			if (c->exes[k].dev == p->exe_dev && c->exes[k].ino == p->exe_ino)
				break;
		if (k == c->nexes) {
			if (c->nexes >= CHK_EXES_MAX) {
				over++;
				continue;
			}
			if (c->nexes == cap) {
				size_t nc = cap ? cap * 2 : 64;
				void *q = realloc(c->exes, nc * sizeof(*c->exes));
				if (!q) {
					c->oom = true;
					return -ENOMEM;
				}
				c->exes = q;
				cap = nc;
			}
			memset(&c->exes[k], 0, sizeof(c->exes[k]));
			c->exes[k].dev = p->exe_dev;
			c->exes[k].ino = p->exe_ino;
			c->exes[k].pid = p->pid;
			c->exes[k].path = chk_strdup(c, p->exe);
			c->nexes++;
		}
		p->exe_idx = (int)k;
	}
	c->r->stats.executables = (unsigned)c->nexes;
	if (over)
		chk_skip(c, "executables: %zu processes run executables beyond the bound of %u "
			 "distinct ones: not hashed", over, CHK_EXES_MAX);
	return 0;
}

static enum hn_check_sev level_sev(const char *level)
{
	if (!level || !*level)
		return HN_CHECK_HIGH;
	if (!strcmp(level, "informational"))
		return HN_CHECK_INFO;
	if (!strcmp(level, "low"))
		return HN_CHECK_LOW;
	if (!strcmp(level, "medium"))
		return HN_CHECK_MEDIUM;
	if (!strcmp(level, "critical"))
		return HN_CHECK_CRITICAL;
	return HN_CHECK_HIGH;
}

struct hit_ctx {
	struct check_ctx *c;
	size_t exe;
	const char *hex;
};

static void on_hit(const struct hn_ioc *ioc, void *arg)
{
	struct hit_ctx *h = arg;
	struct check_ctx *c = h->c;
	const struct chk_exe *x = &c->exes[h->exe];
	enum hn_check_sev sev = level_sev(ioc->level);
	char what[CHK_PATH + 32], title[256], pids[128] = "";
	struct hn_check_finding *f;
	unsigned n = 0;

	snprintf(what, sizeof(what), "pid %u %s", x->pid, x->path ? x->path : "?");
	snprintf(title, sizeof(title), "running executable is in IOC list %s", ioc->list);
	f = chk_find(c, HN_CHECK_IOC, sev, sev >= HN_CHECK_HIGH, "ioc.exe_hash", title, what,
		     "Its hash is listed as an indicator of compromise.");
	if (!f)
		return;
	f->pid = x->pid;
	f->path = chk_strdup(c, x->path);
	for (size_t i = 0; i < c->nprocs; i++) {
		size_t k = strlen(pids);
		if (c->procs[i].exe_idx != (int)h->exe)
			continue;
		if (n++ < 12)
			snprintf(pids + k, sizeof(pids) - k, "%s%u", k ? " " : "", c->procs[i].pid);
	}
	chk_ev(c, f, "pids", "%s%s", pids, n > 12 ? " ..." : "");
	chk_ev(c, f, hn_ioc_type_name(ioc->type), "%s", h->hex);
	chk_ev(c, f, "list", "%s", ioc->list);
	chk_ev(c, f, "source", "%s", ioc->source);
	if (ioc->description[0])
		chk_ev(c, f, "description", "%s", ioc->description);
	chk_ev(c, f, "level", "%s", ioc->level[0] ? ioc->level : "high");
}

int chk_ioc_exes(struct check_ctx *c)
{
	unsigned want = 0, failed = 0, big = 0;

	if (!hn_ioc_count(c->ioc)) {
		chk_find(c, HN_CHECK_IOC, HN_CHECK_INFO, false, "ioc.none",
			 "IOC: no lists loaded", "running executables",
			 "No IOC list was given (--ioc) or found ($HINOMI_IOC, /etc/hinomi/ioc): "
			 "executables were not compared with known-bad hashes.");
		return 0;
	}
	if (hn_ioc_has(c->ioc, HN_IOC_SHA1))
		want |= HN_DIGEST_SHA1;
	if (hn_ioc_has(c->ioc, HN_IOC_MD5))
		want |= HN_DIGEST_MD5;
	if (!want && !hn_ioc_has(c->ioc, HN_IOC_SHA256)) {
		chk_skip(c, "IOC: the lists hold no file hashes: executables not compared");
		return 0;
	}
	for (size_t i = 0; i < c->nexes; i++) {
		struct chk_exe *x = &c->exes[i];
		struct hit_ctx h = { c, i, NULL };
		struct hn_digests d;
		char path[CHK_PATH + 32];
		int r;
		snprintf(path, sizeof(path), "%s/%u/exe", c->proc, x->pid);
		r = hn_digest_file(path, CHK_HASH_MAX, want, &d);
		if (r < 0) {
			if (r == -EFBIG)
				big++;
			else
				failed++;
			continue;
		}
		c->r->stats.hashed++;
		memcpy(x->sha256, d.sha256, sizeof(x->sha256));
		memcpy(x->sha1, d.sha1, sizeof(x->sha1));
		memcpy(x->md5, d.md5, sizeof(x->md5));
		h.hex = x->sha256;
		hn_ioc_match_hash(c->ioc, HN_IOC_SHA256, x->sha256, c->now, on_hit, &h);
		if (x->sha1[0]) {
			h.hex = x->sha1;
			hn_ioc_match_hash(c->ioc, HN_IOC_SHA1, x->sha1, c->now, on_hit, &h);
		}
		if (x->md5[0]) {
			h.hex = x->md5;
			hn_ioc_match_hash(c->ioc, HN_IOC_MD5, x->md5, c->now, on_hit, &h);
		}
	}
	if (failed)
		chk_skip(c, "IOC: %u executables could not be read to hash (gone, or "
			 "permission)", failed);
	if (big)
		chk_skip(c, "IOC: %u executables over %llu MiB were not hashed", big,
			 (unsigned long long)(CHK_HASH_MAX >> 20));
	return 0;
}
