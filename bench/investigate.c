/*
 * investigate.c - `make bench`: root cause and impact scope of an alert in a
 * store holding millions of events (target: under 200 ms each), and the
 * store's size per event.
 *
 *   investigate DB N [RUNS]
 *
 * Makes DB (unless it already holds this bench's N events: meta
 * "bench:events") through the store's own writer: N events of background
 * work — 2,000 services, each starting short-lived jobs that create,
 * write, rename and delete files under their own directories and connect
 * out — with, halfway, a real-looking intrusion: a web server accepts a
 * connection and starts a shell, which downloads a payload with curl,
 * makes it executable and runs it; the payload writes a cron file and a
 * .bashrc, writes 10,000 files in 100 directories, connects out, and starts
 * a dropper that deletes itself; an alert names the payload.  Then, RUNS times each (default 7), times
 *   root cause   hn_investigate_root (entry point and malicious root)
 *   story        hn_investigate (root cause, path and impact scope)
 * on the alert's process, and checks the answer (entry, root, delivery,
 * scope) so that a fast wrong answer cannot pass.  Prints one line:
 *   INVESTIGATE events=N bytes=B bytes_per_event=X root_ms_p50=.. root_ms_max=..
 *     story_ms_p50=.. story_ms_max=.. ok=0|1
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "event/event.h"
#include "investigate/investigate.h"
#include "store/store.h"

#define SEC 1000000000ULL
#define SERVICES 2000u
#define FILES_PER_JOB 12u

/* Entities: the intrusion's are fixed, background ones counted up. */
enum { E_INIT = 1, E_NGINX, E_SH, E_CURL, E_CHMOD, E_PAYLOAD, E_DROP, E_FIRST_FREE = 1000 };

static struct hn_store *store;
static uint64_t nsub, t_now;
static unsigned long long dropped;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct hn_event *mk(uint16_t type, uint64_t entity, uint32_t pid)
{
	struct hn_event *ev = hn_event_new(512);

	if (!ev) {
		fprintf(stderr, "investigate: out of memory\n");
		exit(1);
	}
	ev->type = type;
	ev->time = (t_now += 1000);   /* 1 us apart */
	ev->proc.entity = entity;
	ev->proc.pid = pid;
	ev->proc.tid = pid;
	ev->proc.uid = 1000;
	ev->proc.euid = 1000;
	return ev;
}

static void submit(struct hn_event *ev)
{
	/* the writer's queue is bounded: wait for it rather than drop */
	if (++nsub % 32768 == 0 && hn_store_flush(store) < 0) {
		fprintf(stderr, "investigate: %s\n", hn_store_errmsg(store));
		exit(1);
	}
	if (hn_store_submit(store, ev) < 0)
		dropped++;
}

static void exec_ev(uint64_t e, uint64_t parent, uint32_t pid, const char *exe, const char *a1)
{
	struct hn_event *ev = mk(HN_EV_PROCESS_START, e, pid);
	char args[256];
	const char *b = strrchr(exe, '/');
	size_t n = (size_t)snprintf(args, sizeof(args), "%s", b ? b + 1 : exe) + 1;

	if (a1)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "%s", a1) + 1;
	ev->proc.parent_entity = parent;
	ev->proc.start_time = ev->time;
	ev->path = hn_event_puts(ev, exe);
	ev->filename = hn_event_puts(ev, exe);
	ev->args = hn_event_put(ev, args, n);
	ev->args_len = n;
	ev->argc = a1 ? 2 : 1;
	ev->cwd = hn_event_puts(ev, "/srv");
	submit(ev);
}

static void simple(uint16_t type, uint64_t e, uint32_t pid, uint64_t parent)
{
	struct hn_event *ev = mk(type, e, pid);

	ev->proc.parent_entity = parent;
	submit(ev);
}

static void file_ev(uint16_t type, uint64_t e, uint32_t pid, const char *path, const char *path2,
		    uint32_t flags, uint32_t mode)
{
	struct hn_event *ev = mk(type, e, pid);

	ev->path = hn_event_puts(ev, path);
	if (path2)
		ev->path2 = hn_event_puts(ev, path2);
	ev->flags = flags;
	ev->mode = mode;
	submit(ev);
}

static void net_ev(uint16_t type, uint64_t e, uint32_t pid, uint32_t ip, uint16_t port)
{
	struct hn_event *ev = mk(type, e, pid);

	ev->transport = 6;
	ev->dst.family = AF_INET;
	ev->dst.port = port;
	ip = htonl(ip);
	memcpy(ev->dst.addr, &ip, 4);
	submit(ev);
}

static void intrusion(void)
{
	net_ev(HN_EV_NET_ACCEPT, E_NGINX, 80, 0xcb007105, 41000);   /* 203.0.113.5 */
	exec_ev(E_SH, E_NGINX, 90001, "/usr/bin/dash", "-c");
	exec_ev(E_CURL, E_SH, 90002, "/usr/bin/curl", "http://198.51.100.7/p");
	net_ev(HN_EV_NET_CONNECT, E_CURL, 90002, 0xc6336407, 80);
	file_ev(HN_EV_FILE_CREATE, E_CURL, 90002, "/tmp/.x/p", NULL, HN_EVF_CREATED, 0644);
	simple(HN_EV_PROCESS_EXIT, E_CURL, 90002, E_SH);
	exec_ev(E_CHMOD, E_SH, 90003, "/usr/bin/chmod", "/tmp/.x/p");
	file_ev(HN_EV_FILE_CHMOD, E_CHMOD, 90003, "/tmp/.x/p", NULL, 0, 0755);
	exec_ev(E_PAYLOAD, E_SH, 90004, "/tmp/.x/p", NULL);
	file_ev(HN_EV_FILE_CREATE, E_PAYLOAD, 90004, "/etc/cron.d/0bench", NULL, HN_EVF_CREATED,
		0644);
	file_ev(HN_EV_FILE_OPEN_WRITE, E_PAYLOAD, 90004, "/root/.bashrc", NULL, HN_EVF_WRITTEN, 0);
	net_ev(HN_EV_NET_CONNECT, E_PAYLOAD, 90004, 0xc0000209, 4444);   /* 192.0.2.9 */
	/* a fan-out: 10,000 files in 100 directories */
	for (unsigned i = 0; i < 10000; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/tmp/.x/loot/d%02u/f%04u", i % 100, i);
		file_ev(HN_EV_FILE_CREATE, E_PAYLOAD, 90004, p, NULL, HN_EVF_CREATED, 0600);
	}
	exec_ev(E_DROP, E_PAYLOAD, 90005, "/tmp/.x/d", NULL);
	file_ev(HN_EV_FILE_DELETE, E_DROP, 90005, "/tmp/.x/d", NULL, 0, 0);
}

/* One background job of service s: about 4 + 4 * FILES_PER_JOB / 3
 * events. */
static void job(uint64_t *next, uint64_t svc, unsigned s, unsigned k)
{
	uint64_t e = (*next)++;
	uint32_t pid = (uint32_t)(100000 + e % 3000000);
	char d[64], p[96], q[96];

	simple(HN_EV_PROCESS_FORK, e, pid, svc);
	exec_ev(e, svc, pid, k % 3 ? "/usr/bin/python3" : "/usr/bin/gzip", "job.py");
	snprintf(d, sizeof(d), "/var/lib/svc%u/j%u", s, k % 64);
	for (unsigned f = 0; f < FILES_PER_JOB; f++) {
		snprintf(p, sizeof(p), "%s/f%u.tmp", d, f);
		snprintf(q, sizeof(q), "%s/f%u", d, f);
		switch (f % 3) {
		case 0:
			file_ev(HN_EV_FILE_CREATE, e, pid, p, NULL, HN_EVF_CREATED, 0644);
			break;
		case 1:
			file_ev(HN_EV_FILE_OPEN_WRITE, e, pid, p, NULL, HN_EVF_WRITTEN, 0);
			file_ev(HN_EV_FILE_RENAME, e, pid, p, q, 0, 0);
			break;
		default:
			file_ev(HN_EV_FILE_DELETE, e, pid, q, NULL, 0, 0);
			break;
		}
	}
	if (k % 4 == 0)
		net_ev(HN_EV_NET_CONNECT, e, pid, 0x0a000000u + (s << 8) + k % 250, 443);
	simple(HN_EV_PROCESS_EXIT, e, pid, svc);
}

static int build(const char *db, uint64_t n)
{
	struct hn_store_opts o = { .path = db, .max_bytes = 64ULL << 30,
				   .max_age_ns = 3650ULL * 86400 * SEC, .batch_max = 16384 };
	struct timespec ts;
	uint64_t next = E_FIRST_FREE, svc0;
	unsigned k = 0;
	char num[32];
	double t0 = now_s();

	unlink(db);
	if (hn_store_open(&o, &store) < 0 || hn_store_start(store) < 0) {
		fprintf(stderr, "investigate: %s\n", hn_store_open_errmsg());
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	/* the events span the hour before now (1 us apart) */
	t_now = (uint64_t)ts.tv_sec * SEC - n * 1000 - 60 * SEC;
	exec_ev(E_INIT, 0, 1, "/usr/lib/systemd/systemd", NULL);
	exec_ev(E_NGINX, E_INIT, 80, "/usr/sbin/nginx", NULL);
	svc0 = next;
	for (unsigned s = 0; s < SERVICES; s++)
		exec_ev(next++, E_INIT, 2000 + s, "/usr/bin/bash", "service.sh");
	while (nsub < n / 2) {
		job(&next, svc0 + k % SERVICES, k % SERVICES, k / SERVICES);
		k++;
	}
	intrusion();
	while (nsub < n) {
		job(&next, svc0 + k % SERVICES, k % SERVICES, k / SERVICES);
		k++;
	}
	{
		struct hn_alert a = { .group_key = "bench/payload", .time = t_now, .last_time = t_now,
				      .rule_title = "Cron File Written", .rule_level = "high",
				      .entity = E_PAYLOAD, .pid = 90004, .executable = "/tmp/.x/p" };
		if (hn_store_submit_alert(store, &a) < 0)
			return -1;
	}
	snprintf(num, sizeof(num), "%" PRIu64, nsub);
	if (hn_store_flush(store) < 0 || hn_store_meta_set(store, "bench:events", num) < 0) {
		fprintf(stderr, "investigate: %s\n", hn_store_errmsg(store));
		return -1;
	}
	hn_store_close(store);
	store = NULL;
	fprintf(stderr, "investigate: wrote %" PRIu64 " events in %.0f s (%llu dropped)\n", nsub,
		now_s() - t0, dropped);
	return dropped ? -1 : 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The answer the bench's intrusion must give. */
static bool right(const struct hn_story *st)
{
	bool cron = false, drop = false, c2 = false;

	for (size_t i = 0; i < st->n_persist; i++)
		cron |= !strcmp(st->persist[i].path, "/etc/cron.d/0bench");
	for (size_t i = 0; i < st->n_files; i++)
		drop |= st->files[i].action == HN_INV_DELETED && !strcmp(st->files[i].path, "/tmp/.x/d");
	for (size_t i = 0; i < st->n_remotes; i++)
		c2 |= st->remotes[i].addr.port == 4444;
	size_t loot = 0;

	for (size_t i = 0; i < st->n_files; i++)
		loot += st->files[i].action == HN_INV_CREATED &&
			!strncmp(st->files[i].path, "/tmp/.x/loot/", 13);
	return loot == 10000 && st->entry == HN_INV_ENTRY_SERVICE && st->entry_proc.entity == E_NGINX &&
	       st->root.entity == E_SH && st->n_deliveries == 1 &&
	       st->deliveries[0].writer == E_CURL && st->n_procs == 5 && cron && drop && c2;
}

int main(int argc, char **argv)
{
	struct hn_store_opts ro = { 0 };
	uint64_t n;
	unsigned runs;
	char *have = NULL;
	double *rt, *ft;
	bool ok = true;
	struct stat sb;
	uint64_t bytes = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: investigate DB EVENTS [RUNS]\n");
		return 2;
	}
	n = strtoull(argv[2], NULL, 10);
	runs = argc > 3 ? (unsigned)atoi(argv[3]) : 7;
	if (!n || !runs)
		return 2;
	ro.path = argv[1];
	ro.readonly = true;
	/* the store of an earlier run, when it holds the same events */
	if (hn_store_open(&ro, &store) == 0) {
		if (hn_store_meta_get(store, "bench:events", &have) < 0 ||
		    strtoull(have, NULL, 10) < n) {
			free(have);
			have = NULL;
		}
		hn_store_close(store);
		store = NULL;
	}
	if (!have && build(argv[1], n) < 0)
		return 1;
	free(have);
	if (hn_store_open(&ro, &store) < 0) {
		fprintf(stderr, "investigate: %s\n", hn_store_open_errmsg());
		return 1;
	}
	{
		const char *sfx[] = { "", "-wal" };
		char p[4200];
		for (int i = 0; i < 2; i++) {
			snprintf(p, sizeof(p), "%s%s", argv[1], sfx[i]);
			if (stat(p, &sb) == 0)
				bytes += (uint64_t)sb.st_size;
		}
	}
	rt = calloc(runs, sizeof(*rt));
	ft = calloc(runs, sizeof(*ft));
	if (!rt || !ft)
		return 1;
	for (unsigned i = 0; i < runs; i++) {
		struct hn_inv_proc root;
		enum hn_inv_entry entry;
		struct hn_story *st = NULL;
		double t0 = now_s();
		int r = hn_investigate_root(store, E_PAYLOAD, 0, &root, &entry);
		rt[i] = (now_s() - t0) * 1000;
		ok &= r == 0 && root.entity == E_SH && entry == HN_INV_ENTRY_SERVICE;
		hn_inv_proc_release(&root);
		t0 = now_s();
		r = hn_investigate(store, E_PAYLOAD, 0, NULL, &st);
		ft[i] = (now_s() - t0) * 1000;
		ok &= r == 0 && right(st);
		hn_story_free(st);
	}
	qsort(rt, runs, sizeof(*rt), cmp_d);
	qsort(ft, runs, sizeof(*ft), cmp_d);
	printf("INVESTIGATE events=%" PRIu64 " bytes=%" PRIu64 " bytes_per_event=%.1f "
	       "root_ms_p50=%.2f root_ms_max=%.2f story_ms_p50=%.2f story_ms_max=%.2f ok=%d\n",
	       n, bytes, (double)bytes / (double)n, rt[runs / 2], rt[runs - 1], ft[runs / 2],
	       ft[runs - 1], ok ? 1 : 0);
	free(rt);
	free(ft);
	hn_store_close(store);
	return ok ? 0 : 1;
}
