/*
 * cmd_events.c - `hinomi events`: list recorded events, filtered by type,
 * process and time, as text lines or ECS JSON (one object per line), and
 * optionally follow new ones as the agent stores them.
 *
 * --limit N shows the newest N (still printed oldest first).  --follow
 * polls the store every 500 ms for rows with an id above the last one
 * shown, until SIGINT (exit 0).  Reads only: the store is opened read-only.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "event/ecs.h"
#include "event/entity.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi events [--type T]... [--pid P] [--entity E] [--since DUR]\n"
		"                     [--limit N] [--json] [--follow] [--db PATH]\n\n"
		"List recorded events, oldest first.\n\n"
		"  -t, --type T     a type (process_start, file_rename, dns_query...) or a\n"
		"                   family (process, file, network, kernel); repeatable\n"
		"  -p, --pid P      events of processes with this pid\n"
		"  -e, --entity E   events of this process entity id (16 hex digits)\n"
		"  -s, --since DUR  only the last DUR (30s, 5m, 2h, 7d)\n"
		"  -n, --limit N    only the newest N\n"
		"  -j, --json       one ECS JSON object per line\n"
		"  -f, --follow     keep printing new events until Ctrl-C\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

struct out {
	bool json;
	const char *host;
	struct hn_strbuf sb;
	int64_t last_id;
	int err;
};

static int print_event(const struct hn_event *ev, void *arg)
{
	struct out *o = arg;
	int r;

	hn_strbuf_reset(&o->sb);
	if (o->json) {
		r = hn_ecs_render(ev, o->host, &o->sb);
		if (r < 0) {
			fprintf(stderr, "hinomi events: cannot render event %lld: %s\n",
				(long long)ev->id, strerror(-r));
			o->err = r;
			return r;
		}
	} else {
		cli_event_line(&o->sb, ev);
	}
	if (ev->id > o->last_id)
		o->last_id = ev->id;
	r = cli_put_line(&o->sb);
	if (r < 0)
		o->err = r;
	return r;
}

/* --limit: the newest N, kept to be printed oldest first. */
struct newest {
	struct hn_event **ev;
	unsigned n, max;
};

static int keep_event(const struct hn_event *ev, void *arg)
{
	struct newest *k = arg;
	struct hn_event *d;

	if (k->n >= k->max)
		return 1;
	d = hn_event_dup(ev);
	if (!d)
		return -ENOMEM;
	k->ev[k->n++] = d;
	return 0;
}

static int max_id_cb(int ncol, const char *const *names,
		     const char *const *values, void *arg)
{
	(void)names;
	if (ncol == 1 && values[0])
		*(int64_t *)arg = strtoll(values[0], NULL, 10);
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "pid", required_argument, NULL, 'p' },
		{ "entity", required_argument, NULL, 'e' },
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "follow", no_argument, NULL, 'f' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hn_query q = { 0 };
	struct out o = { 0 };
	struct newest k = { 0 };
	struct hn_store *s = NULL;
	const char *db = cli_default_db();
	char host[256];
	bool follow = false;
	unsigned long long v;
	uint64_t dur;
	int c, n, r = 2;

	while ((c = getopt_long(argc, argv, "t:p:e:s:n:jfd:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			n = hn_event_types_by_name(optarg, q.types + q.ntypes,
						   64 - q.ntypes);
			if (n <= 0) {
				fprintf(stderr, "hinomi events: unknown event type '%s'"
					" (or more than 64 types)\n", optarg);
				return 2;
			}
			q.ntypes += n;
			break;
		case 'p':
			if (parse_uint(optarg, UINT32_MAX, &v) < 0 || !v) {
				fprintf(stderr, "hinomi events: bad pid '%s'\n", optarg);
				return 2;
			}
			q.pid = (uint32_t)v;
			break;
		case 'e':
			if (hn_entity_parse(optarg, &q.entity) < 0 || !q.entity) {
				fprintf(stderr, "hinomi events: bad entity id '%s'"
					" (1 to 16 hex digits)\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (cli_parse_duration(optarg, &dur) < 0) {
				fprintf(stderr, "hinomi events: bad duration '%s'\n", optarg);
				return 2;
			}
			q.since = cli_now_ns() - dur;
			break;
		case 'n':
			if (parse_uint(optarg, 10000000, &v) < 0 || !v) {
				fprintf(stderr, "hinomi events: bad limit '%s'"
					" (1 to 10000000)\n", optarg);
				return 2;
			}
			q.limit = (unsigned)v;
			break;
		case 'j':
			o.json = true;
			break;
		case 'f':
			follow = true;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hinomi events: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (cli_store_open_ro("events", db, &s) < 0)
		return 1;
	r = 1;
	cli_host_name(s, host, sizeof(host));
	o.host = host;
	hn_strbuf_init(&o.sb);
	/* Following starts after what exists now, whatever the filters
	 * showed of it. */
	if (follow && hn_store_sql(s, "SELECT max(last_id) FROM event_blocks", max_id_cb,
				   &o.last_id) < 0)
		goto query_failed;

	if (q.limit) {
		k.max = q.limit;
		k.ev = calloc(k.max, sizeof(*k.ev));
		if (!k.ev) {
			fprintf(stderr, "hinomi events: out of memory\n");
			goto out;
		}
		q.newest_first = true;
		n = hn_store_query(s, &q, keep_event, &k);
		if (n < 0)
			goto query_failed;
		for (unsigned i = k.n; i-- > 0;)
			if (print_event(k.ev[i], &o) < 0)
				goto out;
		q.newest_first = false;
		q.limit = 0;
	} else {
		n = hn_store_query(s, &q, print_event, &o);
		if (n < 0 && !o.err)
			goto query_failed;
		if (o.err)
			goto out;
	}
	fflush(stdout);

	if (follow) {
		struct sigaction sa = { .sa_handler = on_signal };
		struct timespec ts = { 0, 500 * 1000000L };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		while (!stop) {
			nanosleep(&ts, NULL);
			if (stop)
				break;
			q.after_id = o.last_id;
			n = hn_store_query(s, &q, print_event, &o);
			if (n < 0 && !o.err)
				goto query_failed;
			if (o.err)
				goto out;
			fflush(stdout);
		}
	}
	r = 0;
	goto out;
query_failed:
	fprintf(stderr, "hinomi events: %s\n", hn_store_errmsg(s));
out:
	for (unsigned i = 0; i < k.n; i++)
		hn_event_free(k.ev[i]);
	free(k.ev);
	hn_strbuf_release(&o.sb);
	hn_store_close(s);
	return r;
}
