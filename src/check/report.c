/*
 * report.c - the verdict and the report as JSON.
 *
 * Verdict: "compromised" when a finding is critical, or high with strong
 * evidence (a fact hard to explain any other way: an IOC hit, a listener
 * run from a deleted /tmp file, a uid-0 account besides root, a library
 * in /etc/ld.so.preload no package ships, a setuid shell, a process
 * dressed as a kernel thread, a hidden listener); "suspicious" when a
 * finding is high or medium; "clean" otherwise (low and info findings are
 * worth a look but are ordinary on real hosts).  The findings the verdict
 * rests on are flagged (driver) and listed first in driven_by.
 *
 * Findings are ordered by family, then severity (worst first), then the
 * order they were found in.
 */
#include "check/check_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/json.h"

struct order {
	const struct hn_check_finding *f;
	size_t i;
};

static int cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->f->family != y->f->family)
		return x->f->family < y->f->family ? -1 : 1;
	if (x->f->sev != y->f->sev)
		return x->f->sev > y->f->sev ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

void chk_verdict(struct check_ctx *c)
{
	struct hn_check_report *r = c->r;
	struct order *o = calloc(r->nfindings ? r->nfindings : 1, sizeof(*o));
	struct hn_check_finding *sorted;
	bool comp = false, susp = false;

	memset(r->counts, 0, sizeof(r->counts));
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct hn_check_finding *f = &r->findings[i];
		r->counts[f->sev]++;
		comp |= f->sev == HN_CHECK_CRITICAL || (f->sev == HN_CHECK_HIGH && f->strong);
		susp |= f->sev >= HN_CHECK_MEDIUM;
	}
	r->verdict = comp ? HN_CHECK_COMPROMISED : susp ? HN_CHECK_SUSPICIOUS : HN_CHECK_CLEAN;
	for (size_t i = 0; i < r->nfindings; i++) {
		struct hn_check_finding *f = &r->findings[i];
		f->driver = comp ? f->sev == HN_CHECK_CRITICAL ||
					   (f->sev == HN_CHECK_HIGH && f->strong) :
				   f->sev >= HN_CHECK_MEDIUM;
	}
	if (!o) {
		c->oom = true;
		return;
	}
	sorted = malloc((r->nfindings ? r->nfindings : 1) * sizeof(*sorted));
	if (!sorted) {
		free(o);
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < r->nfindings; i++) {
		o[i].f = &r->findings[i];
		o[i].i = i;
	}
	qsort(o, r->nfindings, sizeof(*o), cmp_order);
	for (size_t i = 0; i < r->nfindings; i++)
		sorted[i] = *o[i].f;
	free(r->findings);
	r->findings = sorted;
	r->cap_findings = r->nfindings ? r->nfindings : 1;
	free(o);
}

static void time_kv(struct hn_json *j, const char *key, uint64_t ns)
{
	char buf[32];

	hn_json_kv_str(j, key, chk_time_str(ns, buf, sizeof(buf)));
}

static void counts_json(struct hn_json *j, const struct hn_check_report *r)
{
	hn_json_obj_open(j, "counts");
	for (int s = HN_CHECK_CRITICAL; s >= HN_CHECK_INFO; s--)
		hn_json_kv_u64(j, hn_check_sev_name((enum hn_check_sev)s), r->counts[s]);
	hn_json_obj_close(j);
}

static void finding_json(struct hn_json *j, const struct hn_check_finding *f)
{
	hn_json_obj_open(j, NULL);
	hn_json_kv_str(j, "family", hn_check_family_name(f->family));
	hn_json_kv_str(j, "severity", hn_check_sev_name(f->sev));
	hn_json_kv_bool(j, "strong", f->strong);
	hn_json_kv_bool(j, "driver", f->driver);
	hn_json_kv_str(j, "rule", f->rule);
	hn_json_kv_str(j, "title", f->title);
	hn_json_kv_str(j, "what", f->what);
	hn_json_kv_str(j, "why", f->why);
	if (f->pid)
		hn_json_kv_u64(j, "pid", f->pid);
	if (f->port)
		hn_json_kv_u64(j, "port", f->port);
	if (f->path)
		hn_json_kv_str(j, "path", f->path);
	if (f->has_new)
		hn_json_kv_bool(j, "new", f->is_new);
	hn_json_obj_open(j, "evidence");
	for (int k = 0; k < f->nev; k++)
		if (f->ev[k].key)
			hn_json_kv_str(j, f->ev[k].key, f->ev[k].value);
	hn_json_obj_close(j);
	hn_json_obj_close(j);
}

static const char *type_name(uint32_t mode)
{
	return S_ISREG(mode) ? "file" : S_ISLNK(mode) ? "symlink" : S_ISDIR(mode) ? "directory" :
	       "other";
}

static void entry_json(struct hn_json *j, const struct hn_check_entry *e)
{
	char mode[16];

	hn_json_obj_open(j, NULL);
	hn_json_kv_str(j, "kind", e->kind);
	hn_json_kv_str(j, "path", e->path);
	hn_json_kv_str(j, "type", type_name(e->mode));
	if (e->target)
		hn_json_kv_str(j, "target", e->target);
	if (e->target_package)
		hn_json_kv_str(j, "target_package", e->target_package);
	hn_json_kv_str(j, "owner", e->user);
	hn_json_kv_u64(j, "uid", e->uid);
	hn_json_kv_u64(j, "gid", e->gid);
	snprintf(mode, sizeof(mode), "%04o", e->mode & 07777);
	hn_json_kv_str(j, "mode", mode);
	hn_json_kv_u64(j, "size", e->size);
	time_kv(j, "mtime", e->mtime);
	hn_json_kv_u64(j, "mtime_ns", e->mtime);
	time_kv(j, "ctime", e->ctime);
	if (e->package)
		hn_json_kv_str(j, "package", e->package);
	else
		hn_json_kv_null(j, "package");
	if (e->modified == HN_CHECK_UNKNOWN)
		hn_json_kv_null(j, "modified");
	else
		hn_json_kv_bool(j, "modified", e->modified == HN_CHECK_YES);
	hn_json_kv_bool(j, "new", e->is_new);
	if (e->note)
		hn_json_kv_str(j, "note", e->note);
	hn_json_obj_close(j);
}

static void sock_json(struct hn_json *j, const struct hn_check_sock *s)
{
	hn_json_obj_open(j, NULL);
	hn_json_kv_str(j, "proto", s->proto);
	if (s->addr[0])
		hn_json_kv_str(j, "address", s->addr);
	hn_json_kv_u64(j, strcmp(s->proto, "packet") && strncmp(s->proto, "raw", 3) ? "port" :
		       "protocol", s->port);
	hn_json_kv_u64(j, "inode", s->inode);
	hn_json_arr_open(j, "pids");
	for (int i = 0; i < s->npids; i++)
		hn_json_arr_u64(j, s->pids[i]);
	hn_json_arr_close(j);
	if (s->exe)
		hn_json_kv_str(j, "exe", s->exe);
	hn_json_obj_close(j);
}

int hn_check_json(const struct hn_check_report *r, struct hn_strbuf *sb)
{
	struct hn_json j;

	hn_json_begin(&j, sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "verdict", hn_check_verdict_name(r->verdict));
	hn_json_kv_str(&j, "host", r->host);
	time_kv(&j, "time", r->time);
	hn_json_kv_u64(&j, "duration_ms", r->duration_ns / 1000000);
	hn_json_kv_bool(&j, "root", r->root);
	counts_json(&j, r);
	hn_json_arr_open(&j, "driven_by");
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].driver)
			hn_json_arr_u64(&j, i);
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "findings");
	for (size_t i = 0; i < r->nfindings; i++)
		finding_json(&j, &r->findings[i]);
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "persistence");
	for (size_t i = 0; i < r->nentries; i++)
		entry_json(&j, &r->entries[i]);
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "sockets");
	for (size_t i = 0; i < r->nsocks; i++)
		sock_json(&j, &r->socks[i]);
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "skipped");
	for (size_t i = 0; i < r->nskipped; i++)
		hn_json_arr_str(&j, r->skipped[i], strlen(r->skipped[i]));
	hn_json_arr_close(&j);
	hn_json_obj_open(&j, "stats");
	hn_json_kv_u64(&j, "processes", r->stats.processes);
	hn_json_kv_u64(&j, "kernel_threads", r->stats.kernel_threads);
	hn_json_kv_u64(&j, "executables", r->stats.executables);
	hn_json_kv_u64(&j, "executables_hashed", r->stats.hashed);
	hn_json_kv_u64(&j, "ioc_indicators", r->stats.ioc_indicators);
	hn_json_kv_u64(&j, "sockets", r->nsocks);
	hn_json_kv_u64(&j, "persistence_entries", r->nentries);
	hn_json_kv_bool(&j, "package_database", r->stats.packages);
	hn_json_kv_u64(&j, "package_paths", r->stats.package_paths);
	hn_json_kv_bool(&j, "suid_walked", r->stats.suid_walked);
	hn_json_kv_u64(&j, "suid_files_looked_at", r->stats.suid_files);
	hn_json_kv_u64(&j, "suid_found", r->stats.suid_found);
	hn_json_kv_bool(&j, "suid_file_bound_hit", r->stats.suid_files_bound);
	hn_json_kv_bool(&j, "suid_time_bound_hit", r->stats.suid_time_bound);
	hn_json_obj_close(&j);
	hn_json_obj_close(&j);
	return hn_json_end(&j);
}

int hn_check_summary_json(const struct hn_check_report *r, struct hn_strbuf *sb)
{
	struct hn_json j;

	hn_json_begin(&j, sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "verdict", hn_check_verdict_name(r->verdict));
	counts_json(&j, r);
	hn_json_kv_u64(&j, "duration_ms", r->duration_ns / 1000000);
	hn_json_kv_u64(&j, "persistence_entries", r->nentries);
	hn_json_obj_close(&j);
	return hn_json_end(&j);
}
