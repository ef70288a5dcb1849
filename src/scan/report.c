/*
 * report.c - a scan's hit as an alert of the store (scan.h:
 * hn_scan_alert_make): its rule id, title, level, tags, its group, and an
 * ECS-style JSON object of what was scanned.
 *
 * The group is the rule and the file (or the process: pid and start
 * time), so a rescan that finds the same rule on the same file again adds
 * one match to its alert instead of a new one.  Paths are bytes: the JSON
 * writer makes them valid UTF-8; the CLI escapes them for a terminal.
 */
#include "scan/scan_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "event/ecs.h"
#include "util/json.h"

static void file_json(struct hn_json *j, const struct hn_scan_hit *h)
{
	const char *base = strrchr(h->path, '/');
	char t[HN_ECS_TIME_LEN];

	hn_json_obj_open(j, "file");
	hn_json_kv_str(j, "path", h->path);
	hn_json_kv_str(j, "name", base ? base + 1 : h->path);
	hn_json_kv_str(j, "type", "file");
	if (h->file) {
		hn_json_kv_u64(j, "size", h->file->size);
		hn_ecs_time(h->file->mtime_ns, t, sizeof(t));
		hn_json_kv_str(j, "mtime", t);
		hn_ecs_time(h->file->ctime_ns, t, sizeof(t));
		hn_json_kv_str(j, "ctime", t);
		hn_json_kv_u64(j, "inode", h->file->ino);
		hn_json_kv_u64(j, "device", h->file->dev);
	}
	hn_json_obj_open_opt(j, "hash");
	if (h->sha256 && *h->sha256)
		hn_json_kv_str(j, "sha256", h->sha256);
	if (h->sha1 && *h->sha1)
		hn_json_kv_str(j, "sha1", h->sha1);
	if (h->md5 && *h->md5)
		hn_json_kv_str(j, "md5", h->md5);
	hn_json_obj_close(j);
	hn_json_obj_close(j);
}

static void proc_json(struct hn_json *j, const struct hn_scan_hit *h)
{
	hn_json_obj_open(j, "process");
	hn_json_kv_u64(j, "pid", h->pid);
	if (h->path && *h->path)
		hn_json_kv_str(j, "executable", h->path);
	if (h->comm)
		hn_json_kv_str(j, "name", h->comm);
	hn_json_kv_u64(j, "start_ticks", h->start_ticks);
	hn_json_obj_close(j);
}

static void yara_json(struct hn_json *j, const struct hn_scan_hit *h)
{
	hn_json_obj_open(j, "yara");
	hn_json_kv_str(j, "namespace", h->ns);
	hn_json_kv_str(j, "rule", h->rule);
	hn_json_arr_open(j, "strings");
	for (unsigned i = 0; i < h->nstrings; i++) {
		hn_json_obj_open(j, NULL);
		hn_json_kv_str(j, "id", h->strings[i].id);
		hn_json_kv_u64(j, "offset", h->strings[i].offset);
		hn_json_kv_u64(j, "length", h->strings[i].len);
		hn_json_obj_close(j);
	}
	hn_json_arr_close(j);
	hn_json_kv_u64(j, "strings_matched", h->strings_total);
	hn_json_obj_close(j);
}

int hn_scan_alert_make(const struct hn_scan_hit *h, uint64_t now_ns, struct hn_scan_alert *out)
{
	struct hn_scan_alert *sa = out;
	struct hn_json j;
	const char *id;

	memset(sa, 0, sizeof(*sa));
	hn_strbuf_init(&sa->id);
	hn_strbuf_init(&sa->title);
	hn_strbuf_init(&sa->key);
	hn_strbuf_init(&sa->tags);
	hn_strbuf_init(&sa->json);
	if (!h || !h->path)
		return -EINVAL;
	if (h->kind == HN_SCAN_HIT_IOC && h->ioc) {
		hn_ioc_rule_make(h->ioc, &sa->ioc);
		hn_strbuf_adds(&sa->id, sa->ioc.id);
		hn_strbuf_adds(&sa->title, sa->ioc.title);
		for (unsigned i = 0; i < sa->ioc.info.ntags; i++) {
			if (i)
				hn_strbuf_addc(&sa->tags, ',');
			hn_strbuf_adds(&sa->tags, sa->ioc.info.tags[i]);
		}
		sa->a.rule_level = sa->ioc.info.level;
		sa->a.rule_author = sa->ioc.info.author && *sa->ioc.info.author ?
				    sa->ioc.info.author : NULL;
		sa->a.rule_path = sa->ioc.info.path;
	} else {
		hn_strbuf_addf(&sa->id, "yara:%s:%s", h->ns ? h->ns : "", h->rule ? h->rule : "");
		if (h->description && *h->description)
			hn_strbuf_adds(&sa->title, h->description);
		else
			hn_strbuf_addf(&sa->title, "YARA rule %s", h->rule ? h->rule : "?");
		hn_strbuf_adds(&sa->tags, h->tags ? h->tags : "yara");
		sa->a.rule_level = h->level ? h->level : "high";
		sa->a.rule_author = h->author;
		sa->a.rule_path = h->rule_path;
	}
	id = sa->id.buf ? sa->id.buf : "";
	hn_strbuf_addf(&sa->key, "scan:%s|", id);
	if (h->pid)
		hn_strbuf_addf(&sa->key, "pid:%u:%llu", h->pid, (unsigned long long)h->start_ticks);
	else
		hn_strbuf_adds(&sa->key, h->path);

	hn_json_begin(&j, &sa->json);
	hn_json_obj_open(&j, NULL);
	hn_json_obj_open(&j, "event");
	hn_json_kv_str(&j, "kind", "alert");
	hn_json_kv_str(&j, "category", h->pid ? "process" : "file");
	hn_json_kv_str(&j, "action", "scan");
	hn_json_obj_close(&j);
	if (h->pid)
		proc_json(&j, h);
	else
		file_json(&j, h);
	if (h->kind == HN_SCAN_HIT_YARA)
		yara_json(&j, h);
	hn_json_obj_close(&j);
	if (hn_json_end(&j) < 0 || sa->id.oom || sa->title.oom || sa->key.oom || sa->tags.oom) {
		hn_scan_alert_release(sa);
		return -ENOMEM;
	}
	sa->a.group_key = sa->key.buf;
	sa->a.time = now_ns;
	sa->a.last_time = now_ns;
	sa->a.rule_id = sa->id.buf;
	sa->a.rule_title = sa->title.buf;
	sa->a.rule_tags = sa->tags.buf;
	sa->a.pid = h->pid;
	sa->a.executable = h->path;
	sa->a.event_json = sa->json.buf;
	return 0;
}

void hn_scan_alert_release(struct hn_scan_alert *sa)
{
	if (!sa)
		return;
	hn_strbuf_release(&sa->id);
	hn_strbuf_release(&sa->title);
	hn_strbuf_release(&sa->key);
	hn_strbuf_release(&sa->tags);
	hn_strbuf_release(&sa->json);
	memset(&sa->a, 0, sizeof(sa->a));
}
