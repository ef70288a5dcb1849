/*
 * cli_render.c - text rendering shared by the read commands (see
 * cli_render.h): store opening with one error message, local times,
 * terminal-safe escaping, command lines and the one-line detail of every
 * event type.
 *
 * Conventions of the detail text (they follow the sensor's meaning of the
 * fields, event.h / ecs.c): src is the local end of a socket and dst the
 * remote one, so accept prints remote -> local and the others local ->
 * remote; rename prints old -> new (path -> path2); link and symlink print
 * link -> target; a failed syscall ends with "failed: <errno text>".
 */
#include "cli/cli_render.h"
#include "detect/detect.h"
#include "event/ecs.h"
#include "ioc/ioc.h"
#include "util/json.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int cli_store_open_ro(const char *cmd, const char *path, struct hn_store **out)
{
	struct hn_store_opts o = { .path = path, .readonly = true };
	int r = hn_store_open(&o, out);

	if (r < 0)
		fprintf(stderr, "hinomi %s: %s\n", cmd, hn_store_open_errmsg());
	return r;
}

void cli_host_name(struct hn_store *s, char *buf, size_t n)
{
	char *v = NULL;

	if (!n)
		return;
	buf[0] = '\0';
	if (s && hn_store_meta_get(s, "host.name", &v) == 0 && v && *v) {
		snprintf(buf, n, "%s", v);
		free(v);
		return;
	}
	free(v);
	if (gethostname(buf, n) < 0)
		buf[0] = '\0';
	buf[n - 1] = '\0';
}

void cli_time_str(uint64_t ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;
	char b[24];

	if (!localtime_r(&t, &tm) || !strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm)) {
		snprintf(buf, n, "%" PRIu64, ns);
		return;
	}
	snprintf(buf, n, "%s.%03u", b, (unsigned)(ns % 1000000000ULL / 1000000ULL));
}

/* Length of the well-formed UTF-8 sequence at s (2..4), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;  /* overlong, out of range, surrogate, C1 control */
	return len;
}

void cli_escape(struct hn_strbuf *sb, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, k;

	while (i < n) {
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\') {
			i++, run++;
			continue;
		}
		if (u[i] >= 0x80 && (k = utf8_len(u + i, n - i)) > 0) {
			i += k, run += k;
			continue;
		}
		hn_strbuf_add(sb, u + i - run, run);
		run = 0;
		if (u[i] == '\\')
			hn_strbuf_adds(sb, "\\\\");
		else if (u[i] == '\n')
			hn_strbuf_adds(sb, "\\n");
		else if (u[i] == '\t')
			hn_strbuf_adds(sb, "\\t");
		else
			hn_strbuf_addf(sb, "\\x%02x", u[i]);
		i++;
	}
	hn_strbuf_add(sb, u + n - run, run);
}

static void escs(struct hn_strbuf *sb, const char *s)
{
	if (s)
		cli_escape(sb, s, strlen(s));
}

static bool needs_quotes(const char *a, size_t n)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strchr(" \t'\"$`;&|<>()*?[]{}~#!", a[i]))
			return true;
	return false;
}

void cli_argv(struct hn_strbuf *sb, const char *args, size_t len, size_t max)
{
	size_t i = 0, start = sb->len, cut;
	bool first = true;

	if (!args)
		return;
	/* A trailing NUL ends the last argument; it does not start one. */
	if (len && args[len - 1] == '\0')
		len--;
	while (i <= len) {
		const char *a = args + i;
		const char *end = memchr(a, '\0', len - i);
		size_t n = end ? (size_t)(end - a) : len - i;

		if (!first)
			hn_strbuf_addc(sb, ' ');
		first = false;
		if (needs_quotes(a, n)) {
			/* 'it'\''s' : close, escaped quote, reopen */
			hn_strbuf_addc(sb, '\'');
			for (size_t k = 0, run = 0; k <= n; k++) {
				if (k == n || a[k] == '\'') {
					cli_escape(sb, a + k - run, run);
					run = 0;
					if (k < n)
						hn_strbuf_adds(sb, "'\\''");
				} else {
					run++;
				}
			}
			hn_strbuf_addc(sb, '\'');
		} else {
			cli_escape(sb, a, n);
		}
		i += n + 1;
		if (!end)
			break;
	}
	if (!max || sb->oom || sb->len - start <= max)
		return;
	/* Cut at a character boundary. */
	cut = start + max;
	while (cut > start && ((unsigned char)sb->buf[cut] & 0xc0) == 0x80)
		cut--;
	{
		size_t more = sb->len - cut;
		sb->len = cut;
		sb->buf[cut] = '\0';
		hn_strbuf_addf(sb, "… [+%zu bytes]", more);
	}
}

const char *cli_type_name(unsigned type, char *buf, size_t n)
{
	const struct hn_event_kind *k = hn_event_kind(type);

	if (k && k->name)
		return k->name;
	snprintf(buf, n, "type_%u", type);
	return buf;
}

static const char *transport_name(unsigned t)
{
	switch (t) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case 0:
		return NULL;
	default:
		return "ip";
	}
}

static void addr(struct hn_strbuf *sb, const struct hn_addr *a)
{
	char buf[64];

	if (a->family == AF_UNIX) {
		hn_strbuf_adds(sb, "unix");
		return;
	}
	hn_addr_str(a, buf, sizeof(buf));
	if (!buf[0]) {
		hn_strbuf_adds(sb, "?");
		return;
	}
	if (a->family == AF_INET6)
		hn_strbuf_addf(sb, "[%s]:%u", buf, a->port);
	else
		hn_strbuf_addf(sb, "%s:%u", buf, a->port);
}

static const char *dns_type_name(unsigned t, char *buf, size_t n)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	case 255: return "ANY";
	default:
		snprintf(buf, n, "TYPE%u", t);
		return buf;
	}
}

static void failed(struct hn_strbuf *sb, const struct hn_event *ev)
{
	if (ev->result < 0 && ev->result > -4096)
		hn_strbuf_addf(sb, " failed: %s", strerror((int)-ev->result));
	else if (ev->flags & HN_EVF_FAILED)
		hn_strbuf_adds(sb, " failed");
}

static void detail_exec(struct hn_strbuf *sb, const struct hn_event *ev)
{
	escs(sb, ev->path ? ev->path : ev->filename ? ev->filename : "?");
	if (ev->args && ev->args_len) {
		hn_strbuf_adds(sb, "  ");
		cli_argv(sb, ev->args, ev->args_len, CLI_ARGV_MAX);
	}
	if (ev->flags & HN_EVF_ARGV_TRUNC)
		hn_strbuf_adds(sb, " [argv cut]");
	if (ev->flags & HN_EVF_MEMFD)
		hn_strbuf_adds(sb, " [memfd]");
	if (ev->flags & HN_EVF_DELETED)
		hn_strbuf_adds(sb, " [deleted]");
	if (ev->flags & HN_EVF_SETUID_EXEC)
		hn_strbuf_adds(sb, " [setuid]");
}

static void detail_net(struct hn_strbuf *sb, const struct hn_event *ev)
{
	const char *tr = transport_name(ev->transport);

	if (tr)
		hn_strbuf_addf(sb, "%s ", tr);
	switch (ev->type) {
	case HN_EV_NET_LISTEN:
		hn_strbuf_adds(sb, "listen ");
		addr(sb, &ev->src);
		break;
	case HN_EV_NET_BIND:
		hn_strbuf_adds(sb, "bind ");
		addr(sb, &ev->src);
		break;
	case HN_EV_NET_ACCEPT:
		addr(sb, &ev->dst);
		hn_strbuf_adds(sb, " -> ");
		addr(sb, &ev->src);
		break;
	default:
		if (ev->src.family) {
			addr(sb, &ev->src);
			hn_strbuf_adds(sb, " -> ");
		}
		addr(sb, &ev->dst);
		break;
	}
	if (ev->path && ev->src.family == AF_UNIX) {
		hn_strbuf_addc(sb, ' ');
		escs(sb, ev->path);
	}
	if (ev->flags & HN_EVF_INPROGRESS)
		hn_strbuf_adds(sb, " in progress");
	else if (ev->result < 0 || (ev->flags & HN_EVF_FAILED))
		failed(sb, ev);
	else if (ev->type == HN_EV_NET_CONNECT)
		hn_strbuf_adds(sb, " ok");
}

void cli_event_detail(struct hn_strbuf *sb, const struct hn_event *ev)
{
	char tb[16];

	switch (ev->type) {
	case HN_EV_PROCESS_START:
	case HN_EV_PROCESS_SNAPSHOT:
		detail_exec(sb, ev);
		return;
	case HN_EV_PROCESS_FORK:
		hn_strbuf_addf(sb, "forked from pid %u", ev->proc.ppid);
		if (ev->proc.parent_executable) {
			hn_strbuf_adds(sb, " (");
			escs(sb, ev->proc.parent_executable);
			hn_strbuf_addc(sb, ')');
		}
		return;
	case HN_EV_PROCESS_EXIT:
		if (ev->exit_signal) {
			const char *abbr = sigabbrev_np(ev->exit_signal);
			if (abbr)
				hn_strbuf_addf(sb, "killed by SIG%s", abbr);
			else
				hn_strbuf_addf(sb, "killed by signal %d", ev->exit_signal);
		} else {
			hn_strbuf_addf(sb, "exit %d", ev->exit_code);
		}
		return;
	case HN_EV_CRED_CHANGE:
		hn_strbuf_addf(sb, "syscall %" PRIu64 " (%" PRIu64 ", %" PRIu64
			       ", %" PRIu64 ") now uid %u euid %u gid %u egid %u",
			       ev->request, ev->cred_arg[0], ev->cred_arg[1],
			       ev->cred_arg[2], ev->proc.uid, ev->proc.euid,
			       ev->proc.gid, ev->proc.egid);
		failed(sb, ev);
		return;
	case HN_EV_PTRACE:
		hn_strbuf_addf(sb, "request %" PRIu64 " on pid %u", ev->request,
			       ev->target_pid);
		failed(sb, ev);
		return;
	case HN_EV_PROC_MEM_WRITE:
		hn_strbuf_addf(sb, "writes memory of pid %u", ev->target_pid);
		failed(sb, ev);
		return;
	case HN_EV_MEMFD_CREATE:
		hn_strbuf_adds(sb, "memfd '");
		escs(sb, ev->name);
		hn_strbuf_addc(sb, '\'');
		return;
	case HN_EV_FILE_RENAME:
	case HN_EV_FILE_LINK:
	case HN_EV_FILE_SYMLINK:
		escs(sb, ev->path ? ev->path : "?");
		hn_strbuf_adds(sb, " -> ");
		escs(sb, ev->path2 ? ev->path2 : "?");
		failed(sb, ev);
		return;
	case HN_EV_FILE_CHMOD:
		escs(sb, ev->path ? ev->path : "?");
		hn_strbuf_addf(sb, " mode %04o", ev->mode & 07777);
		failed(sb, ev);
		return;
	case HN_EV_FILE_CHOWN:
		escs(sb, ev->path ? ev->path : "?");
		hn_strbuf_addf(sb, " owner %d:%d", (int)ev->owner_uid,
			       (int)ev->owner_gid);
		failed(sb, ev);
		return;
	case HN_EV_FILE_SETXATTR:
		escs(sb, ev->path ? ev->path : "?");
		hn_strbuf_adds(sb, " xattr ");
		escs(sb, ev->name);
		failed(sb, ev);
		return;
	case HN_EV_DNS_QUERY:
		escs(sb, ev->dns_name ? ev->dns_name : "?");
		hn_strbuf_addf(sb, " %s", dns_type_name(ev->dns_type, tb, sizeof(tb)));
		if (ev->dst.family) {
			hn_strbuf_adds(sb, " via ");
			addr(sb, &ev->dst);
		}
		return;
	case HN_EV_MODULE_LOAD:
		escs(sb, ev->path ? ev->path : ev->name ? ev->name : "?");
		if (ev->path && ev->name) {
			hn_strbuf_addc(sb, ' ');
			escs(sb, ev->name);
		}
		failed(sb, ev);
		return;
	case HN_EV_BPF_LOAD:
		hn_strbuf_adds(sb, "program '");
		escs(sb, ev->name);
		hn_strbuf_addc(sb, '\'');
		failed(sb, ev);
		return;
	case HN_EV_MOUNT:
		escs(sb, ev->path2 ? ev->path2 : "?");
		hn_strbuf_adds(sb, " on ");
		escs(sb, ev->path ? ev->path : "?");
		if (ev->name) {
			hn_strbuf_adds(sb, " type ");
			escs(sb, ev->name);
		}
		failed(sb, ev);
		return;
	case HN_EV_GAP:
		hn_strbuf_addf(sb, "LOST events: %" PRIu64 " in the kernel, %" PRIu64
			       " in the agent", ev->gap_dropped, ev->gap_queue);
		return;
	case HN_EV_AGENT_START:
	case HN_EV_AGENT_STOP:
		escs(sb, ev->name);
		return;
	case HN_EV_EXEC_BLOCKED:
		hn_strbuf_adds(sb, "BLOCKED exec of ");
		escs(sb, ev->path ? ev->path : "?");
		if (ev->sha256[0])
			hn_strbuf_addf(sb, " sha256 %s", ev->sha256);
		return;
	case HN_EV_LOG:
		escs(sb, ev->name ? ev->name : "?");
		hn_strbuf_adds(sb, ": ");
		if (ev->args) {
			size_t n = ev->args_len;
			while (n && ev->args[n - 1] == '\0')
				n--;
			cli_escape(sb, ev->args, n);
		}
		return;
	default:
		break;
	}
	if (hn_event_is_network(ev->type)) {
		detail_net(sb, ev);
		return;
	}
	if (ev->path)
		escs(sb, ev->path);
	if (ev->path2) {
		hn_strbuf_adds(sb, " -> ");
		escs(sb, ev->path2);
	}
	failed(sb, ev);
}

void cli_event_line(struct hn_strbuf *sb, const struct hn_event *ev)
{
	char t[40], tb[24];

	cli_time_str(ev->time, t, sizeof(t));
	hn_strbuf_addf(sb, "%s  %-16s %7u  ", t, cli_type_name(ev->type, tb, sizeof(tb)),
		       ev->proc.pid);
	{
		size_t before = sb->len;
		cli_escape(sb, ev->proc.comm, strnlen(ev->proc.comm, sizeof(ev->proc.comm)));
		for (size_t w = sb->len - before; w < 15; w++)
			hn_strbuf_addc(sb, ' ');
	}
	hn_strbuf_addc(sb, ' ');
	cli_event_detail(sb, ev);
}

int cli_put_line(const struct hn_strbuf *sb)
{
	if (sb->oom) {
		fprintf(stderr, "hinomi: out of memory\n");
		return -ENOMEM;
	}
	if ((sb->len && fwrite(sb->buf, 1, sb->len, stdout) != sb->len) ||
	    fputc('\n', stdout) == EOF)
		return -EIO;
	return 0;
}

/* ---- alerts ---- */

/* ECS event.severity for a Sigma level (the usual risk-score scale). */
static unsigned severity(const char *level)
{
	if (!level)
		return 47;
	if (!strcmp(level, "critical"))
		return 99;
	if (!strcmp(level, "high"))
		return 73;
	if (!strcmp(level, "low"))
		return 21;
	if (!strcmp(level, "informational"))
		return 10;
	return 47;
}

/* Call fn for each comma-separated part of list. */
static void each_tag(const char *list, void (*fn)(const char *tag, void *arg), void *arg)
{
	char buf[128];

	while (list && *list) {
		const char *e = strchr(list, ',');
		size_t n = e ? (size_t)(e - list) : strlen(list);
		if (n < sizeof(buf)) {
			memcpy(buf, list, n);
			buf[n] = '\0';
			fn(buf, arg);
		}
		list = e ? e + 1 : NULL;
	}
}

struct tag_json {
	struct hn_json *j;
	int want;          /* 1 technique ids, 2 tactic names, 3 tactic ids */
};

static void tag_json(const char *tag, void *arg)
{
	struct tag_json *t = arg;
	struct hn_attack at;
	int k = hn_attack_tag(tag, &at);

	if (t->want == 1 && k == 1)
		hn_json_arr_str(t->j, at.technique, strlen(at.technique));
	else if (t->want == 2 && k == 2)
		hn_json_arr_str(t->j, at.tactic_name, strlen(at.tactic_name));
	else if (t->want == 3 && k == 2 && at.tactic_id)
		hn_json_arr_str(t->j, at.tactic_id, strlen(at.tactic_id));
}

/* An IOC alert's indicator, as ECS threat.enrichments (one: the indicator
 * its rule id names), with the event field it matched. */
static void ioc_enrichment(struct hn_json *j, const struct hn_alert *a)
{
	char list[160], value[1300], key[32];
	enum hn_ioc_type t;
	const char *field = NULL, *alg = "";
	bool file = a->event_type == HN_EV_FILE_CREATE || a->event_type == HN_EV_FILE_OPEN_WRITE;
	bool exact = true;

	if (!hn_ioc_rule_id_parse(a->rule_id, list, sizeof(list), value, sizeof(value), &t))
		return;
	hn_json_arr_open(j, "enrichments");
	hn_json_obj_open(j, NULL);
	hn_json_obj_open(j, "indicator");
	switch (t) {
	case HN_IOC_SHA256:
	case HN_IOC_SHA1:
	case HN_IOC_MD5:
		alg = hn_ioc_type_name(t);
		hn_json_kv_str(j, "type", "file");
		hn_json_obj_open(j, "file");
		hn_json_obj_open(j, "hash");
		hn_json_kv_str(j, alg, value);
		hn_json_obj_close(j);
		hn_json_obj_close(j);
		snprintf(key, sizeof(key), "%s.hash.%s", file ? "file" : "process", alg);
		field = key;
		break;
	case HN_IOC_IP:
		hn_json_kv_str(j, "type", strchr(value, ':') ? "ipv6-addr" : "ipv4-addr");
		hn_json_kv_str(j, "ip", value);
		field = a->event_type == HN_EV_NET_ACCEPT ? "source.ip" : "destination.ip";
		exact = !strchr(value, '/');
		break;
	case HN_IOC_DOMAIN:
		hn_json_kv_str(j, "type", "domain-name");
		hn_json_obj_open(j, "url");
		hn_json_kv_str(j, "domain", value);
		hn_json_obj_close(j);
		field = "dns.question.name";
		exact = false;     /* the name may be under it */
		break;
	default:
		break;
	}
	hn_json_obj_close(j);
	hn_json_obj_open(j, "feed");
	hn_json_kv_str(j, "name", list);
	hn_json_obj_close(j);
	hn_json_obj_open(j, "matched");
	hn_json_kv_str(j, "type", "indicator_match_rule");
	hn_json_kv_str(j, "field", field);
	if (exact)
		hn_json_kv_str(j, "atomic", value);
	hn_json_obj_close(j);
	hn_json_obj_close(j);
	hn_json_arr_close(j);
}

void cli_alert_json(struct hn_strbuf *sb, const struct hn_alert *a)
{
	struct hn_json j;
	struct tag_json tj = { &j, 0 };
	char ts[HN_ECS_TIME_LEN];
	bool ioc = a->rule_id && !strncmp(a->rule_id, "ioc:", 4);

	hn_json_begin(&j, sb);
	hn_json_obj_open(&j, NULL);
	hn_ecs_time(a->time, ts, sizeof(ts));
	hn_json_kv_str(&j, "@timestamp", ts);
	hn_json_obj_open(&j, "event");
	hn_json_kv_str(&j, "kind", "alert");
	hn_json_kv_u64(&j, "severity", severity(a->rule_level));
	hn_json_kv_str(&j, "module", "hinomi");
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "rule");
	hn_json_kv_str(&j, "id", a->rule_id);
	hn_json_kv_str(&j, "name", a->rule_title);
	hn_json_arr_open(&j, "author");
	if (a->rule_author)
		hn_json_arr_str(&j, a->rule_author, strlen(a->rule_author));
	hn_json_arr_close(&j);
	hn_json_kv_str(&j, "ruleset", ioc ? "ioc" :
		       a->rule_id && !strncmp(a->rule_id, "yara:", 5) ? "yara" : "sigma");
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "threat");
	hn_json_kv_str(&j, "framework", "MITRE ATT&CK");
	hn_json_obj_open(&j, "technique");
	hn_json_arr_open(&j, "id");
	tj.want = 1;
	each_tag(a->rule_tags, tag_json, &tj);
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "tactic");
	hn_json_arr_open(&j, "name");
	tj.want = 2;
	each_tag(a->rule_tags, tag_json, &tj);
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "id");
	tj.want = 3;
	each_tag(a->rule_tags, tag_json, &tj);
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	if (ioc)
		ioc_enrichment(&j, a);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "process");
	if (a->entity) {
		char e[20];
		snprintf(e, sizeof(e), "%016llx", (unsigned long long)a->entity);
		hn_json_kv_str(&j, "entity_id", e);
	}
	if (a->pid)
		hn_json_kv_u64(&j, "pid", a->pid);
	hn_json_kv_str(&j, "executable", a->executable);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "hinomi");
	hn_json_obj_open(&j, "alert");
	hn_json_kv_i64(&j, "id", a->id);
	hn_json_kv_u64(&j, "count", a->count);
	hn_ecs_time(a->last_time, ts, sizeof(ts));
	hn_json_kv_str(&j, "last_seen", ts);
	hn_json_kv_str(&j, "level", a->rule_level);
	hn_json_kv_str(&j, "tags", a->rule_tags);
	hn_json_kv_str(&j, "rule_file", a->rule_path);
	hn_json_kv_str(&j, "group", a->group_key);
	hn_json_obj_close(&j);
	if (a->event_json)
		hn_json_kv_raw(&j, "event", a->event_json);
	hn_json_obj_close(&j);
	hn_json_obj_close(&j);
	hn_json_end(&j);
}

void cli_alert_text(struct hn_strbuf *sb, const struct hn_alert *a)
{
	char t[40];

	cli_time_str(a->time, t, sizeof(t));
	hn_strbuf_addf(sb, "%s  %-8s ", t, a->rule_level ? a->rule_level : "-");
	cli_escape(sb, a->rule_title, strlen(a->rule_title));
	if (a->count > 1)
		hn_strbuf_addf(sb, "  x%llu", (unsigned long long)a->count);
	hn_strbuf_addf(sb, "  pid %u ", a->pid);
	if (a->executable)
		cli_escape(sb, a->executable, strlen(a->executable));
	if (a->entity)
		hn_strbuf_addf(sb, " [%016llx]", (unsigned long long)a->entity);
	if (a->rule_id) {
		hn_strbuf_adds(sb, "  rule ");
		cli_escape(sb, a->rule_id, strlen(a->rule_id));
	}
	if (a->rule_author) {
		hn_strbuf_adds(sb, " by ");
		cli_escape(sb, a->rule_author, strlen(a->rule_author));
	}
}
