/*
 * agent.c - the recording loop (see agent.h).
 *
 * Threads: this one (sensor poll, decode, enrich, filter, submit), the
 * store's writer, the hasher's worker.  Events flow one way; ownership of
 * an event passes to the store at hn_store_submit.
 *
 * The process table maps live entities to their executable, for the noise
 * filter by process and for live lines; entries go at exit.  It is bounded
 * (PT_MAX); when full, new processes are not tracked (counted), which only
 * weakens the by-process filter.
 */
#include "agent/agent.h"
#include "agent/agent_int.h"

#include <errno.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enrich/hasher.h"
#include "event/ecs.h"
#include "event/entity.h"
#include "event/event.h"
#include "sensor/sensor.h"
#include "store/store.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "logsrc/logsrc.h"
#include "detect/detect.h"
#include "event/ecs.h"
#include "respond/respond.h"

#define PT_BUCKETS 16384
#define PT_MAX 65536
#define PT_ARGS 512          /* argv kept per process (ParentCommandLine) */
#define ALERT_SEEN 4096      /* alert groups already printed (direct-mapped) */
#define FILTERED_OPENS 4096   /* cookies of write-opens the filter dropped */
#define HASH_CACHE 16384      /* executables' hashes kept in memory */
#define DNS_CACHE 2048        /* addresses of DNS answers (direct-mapped) */
#define PATHS_MAX 64          /* rule paths (--rules) read */

/* An address a DNS answer gave, and the name asked for. */
struct dns_name {
	uint16_t family;
	uint8_t addr[16];
	char name[128];
};
/* The ring buffer is read when it wakes the agent (the sensor wakes it when
 * wake_bytes are waiting, or the first event 4 ms after the last wake-up)
 * or after this long.  A timer wake-up costs some 50 us of CPU in the VMs
 * we run on (measured: 0.75 ms/s at 100 ms, 0.15 ms/s at 500 ms).  After a
 * read that found events the agent looks again after FOLLOW_MS: events
 * that came too soon after a wake-up to wake it again are read then (an
 * event is matched against the rules within about 4 ms + FOLLOW_MS). */
#define POLL_MS 500
#define FOLLOW_MS 4
#define STATUS_BUSY_S 2       /* status published this often while busy */
#define STATUS_IDLE_S 5       /* ... and at least this often when idle */

struct pt_entry {
	uint64_t entity;
	char *exe;               /* one allocation: exe, then args */
	const char *args;        /* argv, NUL-separated, at most PT_ARGS */
	size_t args_len;
	struct pt_entry *next;
};

struct type_count {
	uint64_t seen, filtered, submitted;
};

struct agent {
	const struct hn_agent_opts *o;
	struct hn_store *store;
	struct hn_sensor *sensor;
	struct hn_hasher *hasher;
	struct hn_agent_config *cfg;
	struct pt_entry *pt[PT_BUCKETS];
	unsigned pt_count;
	uint64_t pt_full;
	struct type_count counts[HN_EV_TYPE_MAX];
	uint64_t kernel_dropped_reported;
	uint64_t store_refused;
	uint64_t started_ns, events_total, last_rate_events, last_rate_ns;
	double rate;
	char host[256];
	uint64_t self_entity;
	/* The "written" report at close carries no path, only the open's
	 * cookie: remember the cookies of filtered opens so their close is
	 * filtered too (direct-mapped; a collision only lets one through). */
	uint64_t filtered_opens[FILTERED_OPENS];
	/* the system log files followed (logsrc.h), and their positions as
	 * last saved in meta */
	struct hn_logsrc *logs;
	unsigned nlogs;
	struct hn_journal *journal;   /* the systemd journal (logsrc.h), or NULL */
	char journal_key[128];        /* its meta key: where reading resumes */
	char *journal_saved;          /* the cursor last saved */
	/* detection: the rules, what they found, the groups already shown */
	struct hn_ruleset *rules;
	struct hn_correlator *corr;   /* the rules' correlations over time */
	struct hn_tuning *tuning;
	uint64_t alerts, alerts_dropped, alerts_allowed;
	uint64_t alert_seen[ALERT_SEEN];
	uint64_t *log_saved;
	uint64_t last_log_poll;
	struct iocw *iocw;         /* IOC lists (ioc_watch.c) */
	struct exec_guard *guard;  /* blocked hashes (exec_guard.c) */
	struct versioner *versioner;   /* sensitive files' versions (versioner.c) */
	struct scan_new *scan_new;     /* new executables and YARA (scan_new.c) */
	struct dns_name *dns;      /* DNS_CACHE: address -> name it was resolved from */
	uint64_t dns_learnt;
};

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static uint64_t now_ns(int clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- process table ---- */

static struct pt_entry **pt_slot(struct agent *a, uint64_t entity)
{
	struct pt_entry **pp = &a->pt[(entity * 0x9e3779b97f4a7c15ULL) >> 50];
	while (*pp && (*pp)->entity != entity)
		pp = &(*pp)->next;
	return pp;
}

static const char *pt_get(struct agent *a, uint64_t entity)
{
	struct pt_entry *e = *pt_slot(a, entity);
	return e ? e->exe : NULL;
}

/* The image and argv a process runs (exe NULL: nothing recorded). */
static void pt_set(struct agent *a, uint64_t entity, const char *exe,
		   const char *args, size_t args_len)
{
	struct pt_entry **pp = pt_slot(a, entity), *e = *pp;
	size_t n, al = args ? (args_len < PT_ARGS ? args_len : PT_ARGS) : 0;
	char *copy;

	if (!exe)
		return;
	n = strlen(exe) + 1;
	copy = malloc(n + al + 1);
	if (!copy)
		return;
	memcpy(copy, exe, n);
	if (al)
		memcpy(copy + n, args, al);
	copy[n + al] = '\0';
	if (e) {
		free(e->exe);
		e->exe = copy;
		e->args = al ? copy + n : NULL;
		e->args_len = al;
		return;
	}
	if (a->pt_count >= PT_MAX) {
		a->pt_full++;
		free(copy);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(copy);
		return;
	}
	e->entity = entity;
	e->exe = copy;
	e->args = al ? copy + n : NULL;
	e->args_len = al;
	*pp = e;
	a->pt_count++;
}

static void pt_del(struct agent *a, uint64_t entity)
{
	struct pt_entry **pp = pt_slot(a, entity), *e = *pp;
	if (!e)
		return;
	*pp = e->next;
	free(e->exe);
	free(e);
	a->pt_count--;
}

static void pt_clear(struct agent *a)
{
	for (int i = 0; i < PT_BUCKETS; i++)
		while (a->pt[i]) {
			struct pt_entry *e = a->pt[i];
			a->pt[i] = e->next;
			free(e->exe);
			free(e);
		}
	a->pt_count = 0;
}

/* ---- live lines ---- */

static bool notable(const struct hn_event *ev)
{
	switch (ev->type) {
	case HN_EV_PROCESS_START:
	case HN_EV_NET_CONNECT:
	case HN_EV_NET_ACCEPT:
	case HN_EV_NET_LISTEN:
	case HN_EV_DNS_QUERY:
	case HN_EV_MODULE_LOAD:
	case HN_EV_BPF_LOAD:
	case HN_EV_MOUNT:
	case HN_EV_PTRACE:
	case HN_EV_PROC_MEM_WRITE:
	case HN_EV_MEMFD_CREATE:
	case HN_EV_CRED_CHANGE:
	case HN_EV_FILE_SETXATTR:
	case HN_EV_FILE_READ:
	case HN_EV_GAP:
		return true;
	case HN_EV_FILE_CHMOD:
		return (ev->mode & 06111) != 0;
	default:
		return false;
	}
}

static void live_line(struct agent *a, const struct hn_event *ev)
{
	FILE *f = a->o->live;
	char t[40], addr[64];
	time_t secs = (time_t)(ev->time / 1000000000ULL);
	struct tm tm;
	const struct hn_event_kind *k = hn_event_kind(ev->type);

	if (!f || a->o->quiet || !notable(ev))
		return;
	localtime_r(&secs, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	fprintf(f, "%s %-14s %6u %-15s ", t, k ? k->name : "?", ev->proc.pid, ev->proc.comm);
	switch (ev->type) {
	case HN_EV_PROCESS_START: {
		fprintf(f, "%s", ev->path ? ev->path : "?");
		/* argv after argv[0], cut for one line */
		if (ev->args) {
			size_t off = strlen(ev->args) + 1, shown = 0;
			while (off < ev->args_len && shown < 120) {
				int n = fprintf(f, " %.*s", (int)(120 - shown), ev->args + off);
				shown += n > 0 ? (size_t)n : 0;
				off += strlen(ev->args + off) + 1;
			}
		}
		if (ev->flags & HN_EVF_MEMFD)
			fprintf(f, " [memfd]");
		if (ev->flags & HN_EVF_DELETED)
			fprintf(f, " [deleted]");
		break;
	}
	case HN_EV_NET_CONNECT:
	case HN_EV_NET_ACCEPT:
	case HN_EV_NET_LISTEN:
	case HN_EV_DNS_QUERY: {
		const struct hn_addr *ad = ev->type == HN_EV_NET_LISTEN ? &ev->src : &ev->dst;
		if (ev->type == HN_EV_NET_ACCEPT)
			ad = &ev->dst;
		fprintf(f, "%s:%u", hn_addr_str(ad, addr, sizeof(addr)), ad->port);
		if (ev->dns_name)
			fprintf(f, " %s", ev->dns_name);
		if (ev->result < 0 && !(ev->flags & HN_EVF_INPROGRESS))
			fprintf(f, " (failed: %s)", strerror((int)-ev->result));
		break;
	}
	case HN_EV_GAP:
		fprintf(f, "events lost: %llu in the kernel, %llu in the agent",
			(unsigned long long)ev->gap_dropped, (unsigned long long)ev->gap_queue);
		break;
	default:
		fprintf(f, "%s%s%s", ev->path ? ev->path : "", ev->name ? " " : "",
			ev->name ? ev->name : "");
		if (ev->type == HN_EV_PTRACE || ev->type == HN_EV_PROC_MEM_WRITE)
			fprintf(f, " -> pid %u", ev->target_pid);
		if (ev->type == HN_EV_FILE_CHMOD)
			fprintf(f, " %04o", ev->mode & 07777);
		break;
	}
	fputc('\n', f);
}

/* ---- the pipeline ---- */

static int preload_hash(uint64_t dev, uint64_t ino, uint64_t size, uint64_t mtime,
			const char *sha256, void *arg)
{
	struct hn_file_key k = { dev, ino, size, mtime };

	hn_hasher_preload(arg, &k, sha256);
	return 0;
}

static void hash_done(const struct hn_file_key *k, const struct hn_digests *d, void *arg)
{
	struct agent *a = arg;
	if (d)
		hn_store_submit_hash(a->store, k->dev, k->ino, k->size, k->mtime, d->sha256);
	iocw_exec_hashed(a->iocw, k, d);
}

static void submit(struct agent *a, struct hn_event *ev)
{
	uint16_t t = ev->type < HN_EV_TYPE_MAX ? ev->type : 0;

	a->counts[t].submitted++;
	a->events_total++;
	live_line(a, ev);
	if (hn_store_submit(a->store, ev) < 0)
		a->store_refused++;
}

/* ---- detection ---- */

static const char *const shipped_rules[] = {
	"/etc/hinomi/rules", "/usr/share/hinomi/rules",
};

static void tuning_problem(const char *path, int line, const char *why, void *arg)
{
	(void)arg;
	fprintf(stderr, "hinomi agent: %s:%d: %s (line skipped)\n", path, line, why);
}

static void rule_problem(const struct hn_rule_problem *p, void *arg)
{
	(void)p;
	(void)arg;   /* counted by the ruleset; `hinomi rules check` shows them */
}

/* Load the rules of o->rules, or of the default places: $HINOMI_RULES,
 * /etc/hinomi/rules, /usr/share/hinomi/rules and the rules/ folder next
 * to the binary's (a build tree: build/hinomi -> rules/). */
/* The rules (and the allowlist, and the correlator) the options name, into
 * *rs, *tuning and *corr (each may be NULL: none, or no memory). */
static void rules_build(struct agent *a, struct hn_ruleset **rs_out, struct hn_tuning **tuning,
			struct hn_correlator **corr)
{
	const struct hn_agent_opts *o = a->o;
	struct hn_ruleset_stats st;
	char self[4096], near[4200];
	ssize_t n;

	struct hn_ruleset *rs;
	const char *paths[PATHS_MAX];
	int each[PATHS_MAX];
	unsigned npaths = 0;

	*rs_out = NULL;
	*tuning = NULL;
	*corr = NULL;
	if (o->no_rules)
		return;
	rs = hn_ruleset_new();
	if (!rs) {
		fprintf(stderr, "hinomi agent: no rules: out of memory\n");
		return;
	}
	/* the paths, then one load (one build of the prefilters) */
	if (o->nrules) {
		for (int i = 0; i < o->nrules && npaths < PATHS_MAX; i++)
			paths[npaths++] = o->rules[i];
	} else {
		const char *env = getenv("HINOMI_RULES");
		if (env && *env)
			paths[npaths++] = env;
		for (size_t i = 0; i < sizeof(shipped_rules) / sizeof(shipped_rules[0]); i++)
			if (access(shipped_rules[i], R_OK) == 0 && npaths < PATHS_MAX)
				paths[npaths++] = shipped_rules[i];
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			char *slash;
			self[n] = '\0';
			slash = strrchr(self, '/');
			if (slash) {
				*slash = '\0';
				snprintf(near, sizeof(near), "%s/../rules", self);
				if (access(near, R_OK) == 0 && npaths < PATHS_MAX)
					paths[npaths++] = near;
			}
		}
	}
	hn_ruleset_load_paths(rs, paths, npaths, rule_problem, a, each);
	for (unsigned i = 0; i < npaths; i++)
		if (each[i] < 0 && o->nrules)
			fprintf(stderr, "hinomi agent: cannot read rules %s\n", paths[i]);
	{
		const char *tp = o->tuning_path ? o->tuning_path :
				 access("/etc/hinomi/tuning.conf", R_OK) == 0 ?
				 "/etc/hinomi/tuning.conf" : NULL;
		int r = tp ? hn_tuning_load(tp, tuning, tuning_problem, a) : 0;
		if (r < 0)
			fprintf(stderr, "hinomi agent: cannot read %s: %s\n", tp, strerror(-r));
	}
	hn_ruleset_stats(rs, &st);
	if (st.invalid || st.unsupported)
		fprintf(stderr, "hinomi agent: %u rules loaded, %u unsupported, %u invalid"
			" (`hinomi rules check PATH` says why)\n", st.loaded, st.unsupported,
			st.invalid);
	*rs_out = rs;
	*corr = hn_correlator_new(rs);
	if (!*corr && st.correlations)
		fprintf(stderr, "hinomi agent: correlation rules off: out of memory\n");
}

static void rules_open(struct agent *a)
{
	rules_build(a, &a->rules, &a->tuning, &a->corr);
}

/* SIGHUP: the rules and the allowlist read again; the new ones replace
 * the old only when they load (open correlation windows start afresh). */
static void rules_reload(struct agent *a)
{
	struct hn_ruleset *rs;
	struct hn_tuning *tuning;
	struct hn_correlator *corr;
	struct hn_ruleset_stats st;

	rules_build(a, &rs, &tuning, &corr);
	if (!rs && !a->o->no_rules) {
		fprintf(stderr, "hinomi agent: rules not reloaded (out of memory): the old ones"
			" stay\n");
		hn_tuning_free(tuning);
		return;
	}
	hn_correlator_free(a->corr);
	hn_ruleset_free(a->rules);
	hn_tuning_free(a->tuning);
	a->rules = rs;
	a->tuning = tuning;
	a->corr = corr;
	hn_ruleset_stats(rs, &st);
	fprintf(stderr, "hinomi agent: rules reloaded: %u loaded, %u unsupported, %u invalid,"
		" %u allowlist lines\n", st.loaded, st.unsupported, st.invalid,
		hn_tuning_count(tuning));
}

struct match_ctx {
	struct agent *a;
	const struct hn_event *ev;
};

static uint64_t hash_str(const char *s, uint64_t h)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* A rule matched: an alert for its group (hn_alert_group: rule and
 * process tree), and a live line the first time the agent sees that
 * group. */
static void on_match(const struct hn_rule_info *rule, const struct hn_event *ev, void *arg)
{
	struct match_ctx *m = arg;
	struct agent *a = m->a;
	struct hn_alert al = { 0 };
	struct hn_strbuf js, tags;
	char key[512];
	uint64_t h;
	bool shown;

	if (hn_tuning_allows(a->tuning, rule, ev)) {
		a->alerts_allowed++;
		return;
	}
	hn_alert_group(rule, ev, key, sizeof(key));
	hn_strbuf_init(&js);
	hn_strbuf_init(&tags);
	hn_ecs_render(ev, a->host, &js);
	for (unsigned i = 0; i < rule->ntags; i++) {
		if (i)
			hn_strbuf_addc(&tags, ',');
		hn_strbuf_adds(&tags, rule->tags[i]);
	}
	al.group_key = key;
	al.time = al.last_time = ev->time;
	al.rule_id = rule->id[0] ? rule->id : NULL;
	al.rule_title = rule->title;
	al.rule_level = rule->level;
	al.rule_author = rule->author[0] ? rule->author : NULL;
	al.rule_tags = tags.len ? tags.buf : NULL;
	al.rule_path = rule->path;
	al.entity = ev->proc.entity;
	al.pid = ev->proc.pid;
	al.executable = ev->type == HN_EV_PROCESS_START && ev->path ? ev->path :
			ev->proc.executable;
	al.event_type = ev->type;
	al.event_json = js.oom ? NULL : js.buf;
	a->alerts++;
	if (hn_store_submit_alert(a->store, &al) < 0)
		a->alerts_dropped++;
	h = hash_str(key, 0xcbf29ce484222325ULL) | 1;
	shown = a->alert_seen[h % ALERT_SEEN] == h;
	a->alert_seen[h % ALERT_SEEN] = h;
	if (!shown && a->o->live && !a->o->quiet) {
		fprintf(a->o->live, "ALERT %-8s %s  (pid %u %s)\n", rule->level, rule->title,
			ev->proc.pid, al.executable ? al.executable : "?");
		fflush(a->o->live);   /* now, not at the next status */
	}
	hn_strbuf_release(&js);
	hn_strbuf_release(&tags);
}

/* An IOC hit (ioc_watch.c) takes the path of a rule's match. */
static void ioc_hit(const struct hn_rule_info *rule, const struct hn_event *ev, void *arg)
{
	struct match_ctx m = { arg, ev };

	on_match(rule, ev, &m);
}

/* ---- refused execs (exec_guard.c) ---- */

static const char *const blocked_tags[] = { "attack.execution", "attack.t1204.002" };
static const struct hn_rule_info blocked_rule = {
	.path = "", .line = 0, .id = "hinomi-exec-blocked", .title = "Blocked Execution",
	.status = "stable", .level = "high", .author = "hinomi",
	.description = "The execution of a file whose SHA-256 is blocked (hinomi block) "
		       "was refused",
	.tags = blocked_tags, .ntags = 2, .name = "",
};

/* The entity of a live process, from its start time as the task iterator
 * gives it (exec_guard.c asks on its thread, for a refused exec: rare). */
static uint64_t live_entity(uint32_t pid, void *arg)
{
	struct agent *a = arg;
	struct hn_task_start *starts = NULL;
	uint8_t boot[16];
	size_t n = 0;
	uint64_t e = 0;

	if (hn_boot_id(boot) < 0 || hn_sensor_task_starts(a->sensor, &starts, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (starts[i].pid == pid) {
			e = hn_entity_id(boot, pid, starts[i].start);
			break;
		}
	free(starts);
	return e;
}

static void blocked_event(struct agent *a, const struct guard_blocked *b)
{
	struct hn_event *ev = hn_event_new(strlen(b->path) + 4096 + 64);
	struct match_ctx m = { a, NULL };
	const char *exe;

	if (!ev)
		return;
	exe = b->entity ? pt_get(a, b->entity) : NULL;
	ev->type = HN_EV_EXEC_BLOCKED;
	ev->time = b->time;
	ev->flags = HN_EVF_FAILED;
	ev->result = -EPERM;
	ev->proc.pid = ev->proc.tid = b->pid;
	ev->proc.ppid = b->ppid;
	ev->proc.entity = b->entity;
	memcpy(ev->proc.comm, b->comm, sizeof(ev->proc.comm));
	if (exe)
		ev->proc.executable = hn_event_puts(ev, exe);
	ev->path = hn_event_puts(ev, b->path[0] ? b->path : "?");
	ev->dev = b->dev;
	ev->ino = b->ino;
	ev->size = b->size;
	ev->mtime = b->mtime;
	ev->mode = b->mode;
	memcpy(ev->sha256, b->sha256, sizeof(ev->sha256));
	a->counts[HN_EV_EXEC_BLOCKED].seen++;
	m.ev = ev;
	on_match(&blocked_rule, ev, &m);
	submit(a, ev);
}

static void guard_poll(struct agent *a)
{
	struct guard_blocked b[4];
	int n;

	while ((n = guard_take(a->guard, b, 4)) > 0)
		for (int i = 0; i < n; i++)
			blocked_event(a, &b[i]);
}

static void detect(struct agent *a, const struct hn_event *ev)
{
	struct hn_det_parent par = { 0 };
	struct match_ctx m = { a, ev };
	struct pt_entry *p;

	if (!a->rules || !hn_ruleset_count(a->rules))
		return;
	if (ev->proc.parent_entity && (p = *pt_slot(a, ev->proc.parent_entity))) {
		par.image = p->exe;
		par.args = p->args;
		par.args_len = p->args_len;
	}
	if (a->corr)
		hn_correlator_match(a->corr, ev, &par, on_match, &m);
	else
		hn_ruleset_match(a->rules, ev, &par, on_match, &m);
}

/* Time passes: correlation windows that ended are decided (the alert
 * carries the window's last event). */
static void detect_tick(struct agent *a)
{
	struct match_ctx m = { a, NULL };

	hn_correlator_advance(a->corr, now_ns(CLOCK_REALTIME), on_match, &m);
}

static unsigned dns_slot(uint16_t family, const uint8_t *addr)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ family;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 0x100000001b3ULL;
	return (unsigned)(h % DNS_CACHE);
}

/* A DNS reply: its addresses (args) now name the question's name. */
static void dns_learn(struct agent *a, const struct hn_event *ev)
{
	const char *p = ev->args, *end = ev->args + ev->args_len;

	if (!a->dns || !ev->dns_name || !p)
		return;
	for (; p < end; p += strlen(p) + 1) {
		struct hn_addr ad;
		struct dns_name *d;
		if (hn_addr_parse(p, &ad) < 0 || (ad.family != AF_INET && ad.family != AF_INET6))
			continue;
		d = &a->dns[dns_slot(ad.family, ad.addr)];
		d->family = ad.family;
		memcpy(d->addr, ad.addr, 16);
		snprintf(d->name, sizeof(d->name), "%s", ev->dns_name);
		a->dns_learnt++;
	}
}

/* A connection's remote address: the name it was resolved from, if a
 * DNS answer gave it (DestinationHostname; ECS destination.domain). */
static void dns_name_connect(struct agent *a, struct hn_event *ev)
{
	const struct dns_name *d;

	if (!a->dns || ev->dns_name || (ev->dst.family != AF_INET && ev->dst.family != AF_INET6))
		return;
	d = &a->dns[dns_slot(ev->dst.family, ev->dst.addr)];
	if (d->family == ev->dst.family && !memcmp(d->addr, ev->dst.addr, 16))
		ev->dns_name = hn_event_puts(ev, d->name);
}

static void on_event(struct hn_event *ev, void *arg)
{
	struct agent *a = arg;
	uint16_t t = ev->type < HN_EV_TYPE_MAX ? ev->type : 0;
	const char *exe;
	uint64_t *slot;

	a->counts[t].seen++;
	if (ev->type == HN_EV_DNS_QUERY && (ev->flags & HN_EVF_DNS_REPLY)) {
		/* learnt from, not kept: the query is the event */
		dns_learn(a, ev);
		a->counts[t].filtered++;
		hn_event_free(ev);
		return;
	}
	if (ev->type == HN_EV_NET_CONNECT || ev->type == HN_EV_NET_UDP_SEND)
		dns_name_connect(a, ev);
	if (hn_event_is_file(ev->type))
		versioner_event(a->versioner, ev);   /* filtered or not */
	if (a->scan_new && (ev->type == HN_EV_PROCESS_START || hn_event_is_file(ev->type)))
		scan_new_event(a->scan_new, ev);
	switch (ev->type) {
	case HN_EV_PROCESS_START:
	case HN_EV_PROCESS_SNAPSHOT:
		pt_set(a, ev->proc.entity, ev->path, ev->args, ev->args_len);
		break;
	case HN_EV_PROCESS_FORK: {
		struct pt_entry *p = *pt_slot(a, ev->proc.parent_entity);
		if (p)
			pt_set(a, ev->proc.entity, p->exe, p->args, p->args_len);
		break;
	}
	default:
		break;
	}
	exe = pt_get(a, ev->proc.entity);
	if (!ev->proc.executable)
		ev->proc.executable = exe ? hn_event_puts(ev, exe) : NULL;
	slot = &a->filtered_opens[(ev->cookie * 0x9e3779b97f4a7c15ULL) >> 52];
	if (hn_agent_config_ignore_process(a->cfg, exe) ||
	    (hn_event_is_file(ev->type) && hn_agent_config_ignore_path(a->cfg, ev->path)) ||
	    (ev->cookie && !ev->path && *slot == ev->cookie)) {
		if (ev->cookie)
			*slot = ev->path ? ev->cookie : 0;
		a->counts[t].filtered++;
		if (ev->type == HN_EV_PROCESS_EXIT)
			pt_del(a, ev->proc.entity);
		hn_event_free(ev);
		return;
	}
	if ((ev->type == HN_EV_PROCESS_START || ev->type == HN_EV_PROCESS_SNAPSHOT) && ev->ino) {
		struct hn_file_key k = { ev->dev, ev->ino, ev->size, ev->mtime };
		if (!hn_hasher_lookup(a->hasher, &k, ev->sha256))
			hn_hasher_submit(a->hasher, &k, ev->path, ev->proc.pid);
	}
	iocw_event(a->iocw, ev);
	detect(a, ev);
	if (ev->type == HN_EV_PROCESS_EXIT)
		pt_del(a, ev->proc.entity);
	submit(a, ev);
}

static void new_gap(struct agent *a, uint64_t dropped)
{
	struct hn_event *ev = hn_event_new(0);
	if (!ev)
		return;
	ev->type = HN_EV_GAP;
	ev->time = now_ns(CLOCK_REALTIME);
	ev->proc.pid = (uint32_t)getpid();
	ev->gap_dropped = dropped;
	a->counts[HN_EV_GAP].seen++;
	submit(a, ev);
}

static void agent_event(struct agent *a, uint16_t type)
{
	struct hn_event *ev = hn_event_new(512);

	if (!ev)
		return;
	ev->type = type;
	ev->time = now_ns(CLOCK_REALTIME);
	ev->proc.pid = (uint32_t)getpid();
	ev->proc.tid = ev->proc.pid;
	ev->proc.entity = a->self_entity;
	snprintf(ev->proc.comm, sizeof(ev->proc.comm), "hinomi");
	a->counts[type].seen++;
	submit(a, ev);
}

/* Kernel drop counters -> a GAP event for what is new. */
static uint64_t kernel_dropped(struct agent *a)
{
	struct hn_sensor_family_count c[16];
	int n = hn_sensor_counters(a->sensor, c, 16);
	uint64_t d = 0;
	for (int i = 0; i < n; i++)
		d += c[i].dropped;
	return d;
}

static void check_drops(struct agent *a)
{
	uint64_t d = kernel_dropped(a);
	if (d > a->kernel_dropped_reported) {
		new_gap(a, d - a->kernel_dropped_reported);
		a->kernel_dropped_reported = d;
	}
}

/* ---- the system log ---- */

#define LOG_POLL_NS (500ULL * 1000000ULL)
#define LOG_META "logsrc:"     /* meta key prefix: "logsrc:/var/log/auth.log" */

static void submit(struct agent *a, struct hn_event *ev);
static void detect(struct agent *a, const struct hn_event *ev);

static void log_event(struct hn_event *ev, void *arg)
{
	struct agent *a = arg;

	a->counts[HN_EV_LOG].seen++;
	detect(a, ev);
	submit(a, ev);
}

/* Read the systemd journal when the config says so, or (auto) when
 * journald runs and none of the log files exists (a Debian 12 without
 * rsyslog): both would give each line twice.  Where reading resumes (the
 * last entry's cursor) is kept in the store's meta, as the files'
 * positions are. */
static void journal_open(struct agent *a, const char *const *paths, int n)
{
	const char *ns;
	int mode = hn_agent_config_journal(a->cfg, &ns);
	char sock[320], *after = NULL;
	bool files = false;

	for (int i = 0; i < n && !files; i++)
		files = access(paths[i], F_OK) == 0;
	snprintf(sock, sizeof(sock), "/run/systemd/journal%s%s/socket", ns ? "." : "",
		 ns ? ns : "");
	if (mode == HN_JOURNAL_OFF ||
	    (mode == HN_JOURNAL_AUTO && (files || access(sock, F_OK) < 0)))
		return;
	snprintf(a->journal_key, sizeof(a->journal_key), "journal:%s", ns ? ns : "system");
	if (hn_store_meta_get(a->store, a->journal_key, &after) != 0)
		after = NULL;
	a->journal = hn_journal_open(ns, after);
	a->journal_saved = after;
	if (!a->journal)
		fprintf(stderr, "hinomi agent: the journal is not read: journalctl cannot be"
			" started\n");
}

/* Follow the config's log files, from where the last run stopped. */
static void logs_open(struct agent *a)
{
	int n;
	const char *const *paths = hn_agent_config_logs(a->cfg, &n);

	journal_open(a, paths, n);
	if (n <= 0)
		return;
	a->logs = hn_logsrc_new(paths, (unsigned)n);
	a->nlogs = (unsigned)n;
	a->log_saved = calloc((size_t)n, sizeof(*a->log_saved));
	if (!a->logs || !a->log_saved) {
		fprintf(stderr, "hinomi agent: log files not followed: out of memory\n");
		hn_logsrc_free(a->logs);
		a->logs = NULL;
		return;
	}
	for (int i = 0; i < n; i++) {
		char key[4200], *v = NULL;
		unsigned long long dev, ino, off;
		snprintf(key, sizeof(key), LOG_META "%s", paths[i]);
		if (hn_store_meta_get(a->store, key, &v) == 0 && v &&
		    sscanf(v, "%llu %llu %llu", &dev, &ino, &off) == 3)
			hn_logsrc_set_pos(a->logs, paths[i], dev, ino, off);
		free(v);
	}
}

static void logs_poll(struct agent *a, uint64_t t, bool force)
{
	if ((!a->logs && !a->journal) || (!force && t - a->last_log_poll < LOG_POLL_NS))
		return;
	a->last_log_poll = t;
	hn_logsrc_poll(a->logs, log_event, a);
	hn_journal_poll(a->journal, log_event, a);
}

/* Positions that moved, into meta (with the writer's next batch). */
static void logs_save(struct agent *a)
{
	const char *cur;
	const char *path;
	uint64_t dev, ino, off;

	for (unsigned i = 0; a->logs && i < a->nlogs; i++) {
		char key[4200], val[96];
		if (!hn_logsrc_get_pos(a->logs, i, &path, &dev, &ino, &off) ||
		    off == a->log_saved[i])
			continue;
		snprintf(key, sizeof(key), LOG_META "%s", path);
		snprintf(val, sizeof(val), "%llu %llu %llu", (unsigned long long)dev,
			 (unsigned long long)ino, (unsigned long long)off);
		if (hn_store_submit_meta(a->store, key, val) == 0)
			a->log_saved[i] = off;
	}
	cur = hn_journal_cursor(a->journal);
	if (cur && (!a->journal_saved || strcmp(cur, a->journal_saved)) &&
	    hn_store_submit_meta(a->store, a->journal_key, cur) == 0) {
		free(a->journal_saved);
		a->journal_saved = strdup(cur);
	}
}

/* ---- status ---- */

/* Changes when anything the status shows moves on: events, rows written,
 * hashes done. */
static uint64_t status_mark(struct agent *a)
{
	struct hn_store_stats ss;
	struct hn_hasher_stats hs;

	hn_store_stats(a->store, &ss);
	hn_hasher_stats(a->hasher, &hs);
	return a->events_total + ss.written + ss.dropped + ss.write_errors +
	       hs.hashed + hs.hits + hs.failed + hs.queue_dropped;
}

/* The correlations' part of the status, into the JSON or the text. */
static void status_correlations(struct agent *a, struct hn_json *j, struct hn_strbuf *tx)
{
	struct hn_correlator_stats cs;

	if (!hn_ruleset_correlation_count(a->rules))
		return;
	hn_correlator_stats(a->corr, &cs);
	if (j) {
		hn_json_kv_u64(j, "correlations", hn_ruleset_correlation_count(a->rules));
		hn_json_kv_u64(j, "correlation_groups", cs.groups);
		hn_json_kv_u64(j, "correlation_evicted", cs.evicted);
		hn_json_kv_u64(j, "correlation_dropped", cs.dropped);
	}
	if (tx)
		hn_strbuf_addf(tx, "correlate  %u correlations, %llu matched, %llu groups held,"
			       " %llu evicted, %llu hits dropped\n",
			       hn_ruleset_correlation_count(a->rules),
			       (unsigned long long)cs.fired, (unsigned long long)cs.groups,
			       (unsigned long long)cs.evicted, (unsigned long long)cs.dropped);
}

static void publish_status(struct agent *a, bool final)
{
	struct hn_strbuf js, tx;
	struct hn_json j;
	struct hn_store_stats ss;
	struct hn_hasher_stats hs;
	struct hn_sensor_family_count c[16];
	struct hn_sensor_prog progs[96];
	int nc, np, inactive = 0;
	uint64_t now = now_ns(CLOCK_REALTIME);
	bool isolated = hn_isolated(a->o->db_path);
	char ts[64];

	if (now - a->last_rate_ns >= 1000000000ULL) {
		a->rate = (double)(a->events_total - a->last_rate_events) * 1e9 /
			  (double)(now - a->last_rate_ns);
		a->last_rate_ns = now;
		a->last_rate_events = a->events_total;
	}
	hn_store_stats(a->store, &ss);
	hn_hasher_stats(a->hasher, &hs);
	nc = hn_sensor_counters(a->sensor, c, 16);
	np = hn_sensor_programs(a->sensor, progs, 96);
	hn_strbuf_init(&js);
	hn_strbuf_init(&tx);
	hn_ecs_time(now, ts, sizeof(ts));

	hn_json_begin(&j, &js);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "updated", ts);
	hn_json_kv_u64(&j, "updated_ns", now);
	hn_json_kv_u64(&j, "pid", (uint64_t)getpid());
	hn_json_kv_bool(&j, "running", !final);
	hn_json_kv_str(&j, "host", a->host);
	hn_json_kv_u64(&j, "uptime_s", (now - a->started_ns) / 1000000000ULL);
	hn_json_kv_u64(&j, "events", a->events_total);
	{
		struct guard_stats gs;
		guard_stats(a->guard, &gs);
		hn_json_obj_open(&j, "exec_guard");
		hn_json_kv_bool(&j, "active", gs.active);
		hn_json_kv_u64(&j, "blocked_hashes", gs.hashes);
		hn_json_kv_u64(&j, "filesystems", gs.marks);
		hn_json_kv_u64(&j, "filesystems_failed", gs.marks_failed);
		hn_json_kv_u64(&j, "checked", gs.checked);
		hn_json_kv_u64(&j, "refused", gs.blocked);
		hn_json_kv_u64(&j, "cache_hits", gs.cache_hits);
		hn_json_kv_u64(&j, "unverified", gs.unverified);
		hn_json_kv_u64(&j, "system_allowed", gs.protected_);
		hn_json_kv_u64(&j, "fail_open", gs.fail_open);
		hn_json_kv_u64(&j, "overflows", gs.overflows);
		hn_json_obj_close(&j);
	}
	{
		struct scan_new_stats ss;
		scan_new_stats(a->scan_new, &ss);
		hn_json_obj_open(&j, "scan_new");
		hn_json_kv_bool(&j, "on", ss.on);
		hn_json_kv_u64(&j, "queued", ss.queued);
		hn_json_kv_u64(&j, "scanned", ss.scanned);
		hn_json_kv_u64(&j, "hits", ss.hits);
		hn_json_kv_u64(&j, "not_scanned", ss.queue_full);
		hn_json_obj_close(&j);
	}
	{
		struct versioner_stats vs;
		versioner_stats(a->versioner, &vs);
		hn_json_obj_open(&j, "file_versions");
		hn_json_kv_u64(&j, "kept", vs.kept);
		hn_json_kv_u64(&j, "dropped", vs.dropped + vs.queue_full);
		hn_json_kv_u64(&j, "too_big", vs.too_big);
		hn_json_obj_close(&j);
	}
	hn_json_kv_u64(&j, "events_per_s", (uint64_t)(a->rate + 0.5));
	hn_json_arr_open(&j, "programs");
	for (int i = 0; i < np; i++) {
		hn_json_obj_open(&j, NULL);
		hn_json_kv_str(&j, "name", progs[i].name);
		hn_json_kv_bool(&j, "active", progs[i].active);
		if (!progs[i].active)
			hn_json_kv_str(&j, "why", progs[i].why);
		hn_json_obj_close(&j);
		inactive += !progs[i].active;
	}
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "kernel");
	for (int i = 0; i < nc; i++) {
		hn_json_obj_open(&j, NULL);
		hn_json_kv_str(&j, "family", c[i].family);
		hn_json_kv_u64(&j, "emitted", c[i].emitted);
		hn_json_kv_u64(&j, "dropped", c[i].dropped);
		hn_json_kv_u64(&j, "filtered", c[i].filtered);
		hn_json_obj_close(&j);
	}
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "types");
	for (int t = 1; t < HN_EV_TYPE_MAX; t++) {
		const struct hn_event_kind *k = hn_event_kind((unsigned)t);
		if (!k || !k->name || !a->counts[t].seen)
			continue;
		hn_json_obj_open(&j, NULL);
		hn_json_kv_str(&j, "type", k->name);
		hn_json_kv_u64(&j, "seen", a->counts[t].seen);
		hn_json_kv_u64(&j, "filtered", a->counts[t].filtered);
		hn_json_kv_u64(&j, "stored", a->counts[t].submitted);
		hn_json_obj_close(&j);
	}
	hn_json_arr_close(&j);
	hn_json_obj_open(&j, "store");
	hn_json_kv_u64(&j, "written", ss.written);
	hn_json_kv_u64(&j, "dropped", ss.dropped);
	hn_json_kv_u64(&j, "backlog", ss.backlog);
	hn_json_kv_u64(&j, "batches", ss.batches);
	hn_json_kv_u64(&j, "retention_deleted", ss.retention_deleted);
	hn_json_kv_u64(&j, "write_errors", ss.write_errors);
	hn_json_kv_u64(&j, "db_bytes", ss.db_bytes);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "hash");
	hn_json_kv_u64(&j, "hashed", hs.hashed);
	hn_json_kv_u64(&j, "cache_hits", hs.hits);
	hn_json_kv_u64(&j, "preloaded", hs.preloaded);
	hn_json_kv_u64(&j, "queue_dropped", hs.queue_dropped);
	hn_json_kv_u64(&j, "failed", hs.failed);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "detect");
	hn_json_kv_u64(&j, "rules", hn_ruleset_count(a->rules));
	hn_json_kv_u64(&j, "alerts", a->alerts);
	hn_json_kv_u64(&j, "alerts_dropped", a->alerts_dropped + ss.alerts_dropped);
	hn_json_kv_u64(&j, "allowed", a->alerts_allowed);
	status_correlations(a, &j, NULL);
	hn_json_obj_close(&j);
	iocw_status(a->iocw, &j, NULL);
	hn_json_kv_u64(&j, "log_files", a->nlogs);
	hn_json_kv_u64(&j, "malformed", hn_sensor_malformed(a->sensor));
	hn_json_kv_u64(&j, "untracked_processes", a->pt_full);
	hn_json_kv_bool(&j, "isolated", isolated);
	hn_json_obj_close(&j);

	hn_strbuf_addf(&tx, "agent      pid %d on %s, up %llus, %s\n", (int)getpid(), a->host,
		       (unsigned long long)((now - a->started_ns) / 1000000000ULL),
		       final ? "stopped" : "recording");
	if (isolated)
		hn_strbuf_addf(&tx, "network    ISOLATED (hinomi isolate --status)\n");
	hn_strbuf_addf(&tx, "sensor     %d programs, %d active", np, np - inactive);
	for (int i = 0; i < np; i++)
		if (!progs[i].active)
			hn_strbuf_addf(&tx, "\n           inactive: %s (%s)", progs[i].name,
				       progs[i].why);
	hn_strbuf_addf(&tx, "\nevents     %llu recorded, %.0f/s now\n",
		       (unsigned long long)a->events_total, a->rate);
	hn_strbuf_addf(&tx, "store      %llu written, %llu in queue, %llu dropped (queue full), "
			    "%llu write errors, %.1f MiB\n",
		       (unsigned long long)ss.written, (unsigned long long)ss.backlog,
		       (unsigned long long)ss.dropped, (unsigned long long)ss.write_errors,
		       (double)ss.db_bytes / 1048576.0);
	hn_strbuf_addf(&tx, "hashing    %llu hashed, %llu cache hits (%llu known from before),"
		       " %llu failed, %llu queue drops\n",
		       (unsigned long long)hs.hashed, (unsigned long long)hs.hits,
		       (unsigned long long)hs.preloaded,
		       (unsigned long long)hs.failed, (unsigned long long)hs.queue_dropped);
	hn_strbuf_addf(&tx, "detection  %u rules, %llu matches, %llu silenced by tuning,"
		       " %llu alerts dropped\n",
		       hn_ruleset_count(a->rules), (unsigned long long)a->alerts,
		       (unsigned long long)a->alerts_allowed,
		       (unsigned long long)(a->alerts_dropped + ss.alerts_dropped));
	status_correlations(a, NULL, &tx);
	iocw_status(a->iocw, NULL, &tx);
	hn_strbuf_addf(&tx, "\n%-12s %12s %10s %10s\n", "kernel", "emitted", "dropped", "filtered");
	for (int i = 0; i < nc; i++)
		hn_strbuf_addf(&tx, "%-12s %12llu %10llu %10llu\n", c[i].family,
			       (unsigned long long)c[i].emitted, (unsigned long long)c[i].dropped,
			       (unsigned long long)c[i].filtered);
	hn_strbuf_addf(&tx, "\n%-18s %10s %10s %10s\n", "event type", "seen", "filtered", "stored");
	for (int t = 1; t < HN_EV_TYPE_MAX; t++) {
		const struct hn_event_kind *k = hn_event_kind((unsigned)t);
		if (!k || !k->name || !a->counts[t].seen)
			continue;
		hn_strbuf_addf(&tx, "%-18s %10llu %10llu %10llu\n", k->name,
			       (unsigned long long)a->counts[t].seen,
			       (unsigned long long)a->counts[t].filtered,
			       (unsigned long long)a->counts[t].submitted);
	}
	/* never stall the ring-buffer reader behind a batch, nor commit for
	 * the status alone: it goes with the writer's next batch (the last
	 * one, at stop, is written at once) */
	if (!js.oom && js.buf && !tx.oom && tx.buf) {
		int (*set)(struct hn_store *, const char *, const char *) =
			final ? hn_store_meta_set : hn_store_submit_meta;
		if (set(a->store, "status.json", js.buf) == 0)
			set(a->store, "status.text", tx.buf);
	}
	if (final && a->o->live) {
		fprintf(a->o->live, "\n--- hinomi summary ---\n%s", tx.buf ? tx.buf : "");
		fflush(a->o->live);
	}
	hn_strbuf_release(&js);
	hn_strbuf_release(&tx);
}

static void snapshot_cb(struct hn_event *ev, void *arg)
{
	on_event(ev, arg);
}

int hn_agent_run(const struct hn_agent_opts *o)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct hn_store_opts so = { 0 };
	struct hn_sensor_opts sno = { 0 };
	struct sigaction sa;
	char err[256], msg[2048] = "";
	const char *const *watch;
	int r = -ENOMEM, nwatch;
	uint64_t last_tick, last_publish, published = 0, deadline = 0;
	bool follow = false;

	if (!a)
		return -ENOMEM;
	a->o = o;
	a->dns = calloc(DNS_CACHE, sizeof(*a->dns));   /* NULL: no names, only slower */
	gethostname(a->host, sizeof(a->host) - 1);
	a->started_ns = a->last_rate_ns = now_ns(CLOCK_REALTIME);
	/* network isolation outlives the agent and reboots: put back first,
	 * before anything that can fail (respond.h, isolation) */
	if (hn_isolation_restore(o->db_path, "hinomi agent", msg, sizeof(msg)) != 0)
		fprintf(stderr, "hinomi agent: %s\n", msg);

	if (o->config_path || access("/etc/hinomi/agent.conf", R_OK) == 0) {
		const char *p = o->config_path ? o->config_path : "/etc/hinomi/agent.conf";
		r = hn_agent_config_load(p, &a->cfg, msg, sizeof(msg));
		if (r == -EINVAL)
			fprintf(stderr, "hinomi agent: %s (line skipped)\n", msg);
		else if (r < 0) {
			fprintf(stderr, "hinomi agent: cannot read %s: %s\n", p, strerror(-r));
			goto out;
		}
	}
	if (!a->cfg)
		a->cfg = hn_agent_config_default();
	rules_open(a);

	so.path = o->db_path;
	so.max_bytes = o->max_bytes;
	so.max_age_ns = o->max_age_ns;
	r = hn_store_open(&so, &a->store);
	if (r < 0) {
		fprintf(stderr, "hinomi agent: cannot open the store %s: %s\n", o->db_path,
			a->store ? hn_store_errmsg(a->store) : strerror(-r));
		goto out;
	}
	r = hn_store_start(a->store);
	if (r < 0) {
		fprintf(stderr, "hinomi agent: cannot start the store writer: %s\n", strerror(-r));
		goto out;
	}
	hn_store_meta_set(a->store, "host.name", a->host);
	r = hn_hasher_new(4096, HASH_CACHE, 0, hash_done, a, &a->hasher);
	if (r < 0) {
		fprintf(stderr, "hinomi agent: cannot start the hasher: %s\n", strerror(-r));
		goto out;
	}
	/* what earlier runs hashed is not hashed again */
	r = hn_store_file_hashes(a->store, HASH_CACHE, preload_hash, a->hasher);
	if (r < 0)
		fprintf(stderr, "hinomi agent: known hashes not read (%s): %s\n",
			strerror(-r), hn_store_errmsg(a->store));
	a->iocw = iocw_open(o, a->hasher, ioc_hit, a, stderr);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	sno.ringbuf_bytes = o->ringbuf_bytes;
	r = hn_sensor_open(&sno, on_event, a, &a->sensor, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "hinomi agent: %s\n", err);
		goto out;
	}
	watch = hn_agent_config_watch(a->cfg, &nwatch);
	for (int i = 0; i < nwatch; i++)
		hn_sensor_watch_path(a->sensor, watch[i]);

	{
		struct hn_decode_ctx dc;
		struct hn_task_start *starts = NULL;
		size_t nstarts = 0;
		int e = hn_sensor_task_starts(a->sensor, &starts, &nstarts);
		bool have_dc = hn_decode_ctx_init(&dc) == 0;

		if (e < 0)
			fprintf(stderr, "hinomi agent: no task iterator (%s): processes already "
					"running get clock-tick entity ids\n", strerror(-e));
		for (size_t i = 0; have_dc && i < nstarts; i++)
			if (starts[i].pid == (uint32_t)getpid())
				a->self_entity = hn_entity_id(dc.boot_id, starts[i].pid, starts[i].start);
		agent_event(a, HN_EV_AGENT_START);
		if (!o->no_snapshot && have_dc)
			hn_proc_snapshot(&dc, starts, nstarts, (uint32_t)getpid(), snapshot_cb, a);
		free(starts);
	}
	{
		/* blocked hashes: the list beside the store (respond.h); after
		 * the snapshot, so that only the guard reads tasks from now */
		char sd[4096] = "";
		if (hn_respond_state_dir(o->db_path, sd, sizeof(sd)) == 0)
			a->guard = guard_open(sd, stderr, live_entity, a);
		if (o->scan_new || hn_agent_config_scan_new(a->cfg))
			a->scan_new = scan_new_open(o, sd[0] ? sd : NULL, a->store, stderr);
	}
	a->versioner = versioner_open(a->store, stderr);
	logs_open(a);
	logs_poll(a, now_ns(CLOCK_MONOTONIC), true);
	publish_status(a, false);
	if (o->ready_file) {
		int fd;

		/* ready means recording, and what was running at start is in
		 * the store already (the writer waits up to batch_ms) */
		hn_store_flush(a->store);
		fd = open(o->ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	if (o->live && !o->quiet) {
		fprintf(o->live, "hinomi: recording into %s (Ctrl-C to stop)\n", o->db_path);
		fflush(o->live);
	}

	last_tick = last_publish = now_ns(CLOCK_MONOTONIC);
	if (o->duration > 0)
		deadline = last_tick + (uint64_t)(o->duration * 1e9);
	while (!stop_requested) {
		uint64_t t;
		int n = hn_sensor_poll(a->sensor, iocw_poll_ms(a->iocw, follow ? FOLLOW_MS : POLL_MS));

		if (reload_requested) {
			reload_requested = 0;
			rules_reload(a);
			iocw_reload(a->iocw, a->o, stderr);
		}
		follow = n > 0;
		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "hinomi agent: reading the ring buffer: %s\n", strerror(-n));
			break;
		}
		t = now_ns(CLOCK_MONOTONIC);
		iocw_poll(a->iocw);
		guard_poll(a);
		logs_poll(a, t, false);
		detect_tick(a);
		/* every STATUS_BUSY_S while events come, every STATUS_IDLE_S
		 * when none do (readers call an agent alive for 10 s) */
		if (t - last_tick >= STATUS_BUSY_S * 1000000000ULL &&
		    (status_mark(a) != published ||
		     t - last_publish >= STATUS_IDLE_S * 1000000000ULL)) {
			last_tick = t;
			last_publish = t;
			published = status_mark(a);
			check_drops(a);
			logs_save(a);
			publish_status(a, false);
			if (o->live)
				fflush(o->live);
		}
		if (deadline && t >= deadline)
			break;
	}
	/* drain what the kernel still holds, then close in order */
	hn_sensor_poll(a->sensor, 0);
	logs_poll(a, now_ns(CLOCK_MONOTONIC), true);
	hn_journal_stop(a->journal, log_event, a);
	logs_save(a);
	check_drops(a);
	guard_poll(a);
	scan_new_free(a->scan_new);
	a->scan_new = NULL;
	versioner_free(a->versioner);   /* what is queued is read and kept now */
	a->versioner = NULL;
	agent_event(a, HN_EV_AGENT_STOP);
	hn_hasher_drain(a->hasher);
	iocw_drain(a->iocw);
	hn_store_flush(a->store);
	publish_status(a, true);
	r = 0;
out:
	scan_new_free(a->scan_new);
	versioner_free(a->versioner);
	guard_free(a->guard);
	hn_sensor_close(a->sensor);
	hn_hasher_free(a->hasher);
	iocw_free(a->iocw);
	hn_store_close(a->store);
	hn_agent_config_free(a->cfg);
	hn_logsrc_free(a->logs);
	hn_journal_close(a->journal);
	free(a->journal_saved);
	free(a->log_saved);
	free(a->dns);
	hn_correlator_free(a->corr);
	hn_ruleset_free(a->rules);
	hn_tuning_free(a->tuning);
	pt_clear(a);
	free(a);
	return r;
}
