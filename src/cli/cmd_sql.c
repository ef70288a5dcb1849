/*
 * cmd_sql.c - `hinomi sql "SELECT ..."`: read-only SQL over the store,
 * printed as an aligned table or as one JSON object per row.
 *
 * The store refuses anything that would write (hn_store_sql: read-only
 * connection, sqlite3_stmt_readonly, one statement only); this file only
 * renders.  Column widths come from the first SQL_ALIGN_ROWS rows (each
 * counted up to SQL_MAX_WIDTH characters); later rows stream with the same
 * widths, so memory stays bounded whatever the result size.  Values are
 * escaped for the terminal (cli_escape); NULL shows as NULL.  In JSON every
 * value is a string (hn_store_sql gives text) or null.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "store/store.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_ALIGN_ROWS 1000
#define SQL_MAX_WIDTH  60

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi sql \"SELECT ...\" [--json] [--db PATH]\n\n"
		"Run one read-only SQL statement over the store (tables events,\n"
		"processes, meta: see docs/SCHEMA.md) and print the rows.  Statements\n"
		"that would write are refused.\n\n"
		"  -j, --json     one JSON object per row (values as strings or null)\n"
		"  -d, --db PATH  the store (default %s)\n",
		cli_default_db());
}

struct table {
	bool json;
	int ncol;
	char **names;          /* escaped */
	char **cells;          /* SQL_ALIGN_ROWS * ncol escaped values, NULL=NULL */
	size_t nrows;          /* buffered */
	size_t total;
	size_t *width;
	bool streaming;        /* header printed, rows go straight out */
	struct hn_strbuf sb;
	int err;
};

/* Characters (UTF-8 code points) in s. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static char *escaped(const char *v)
{
	struct hn_strbuf sb;

	hn_strbuf_init(&sb);
	cli_escape(&sb, v, strlen(v));
	if (sb.oom) {
		hn_strbuf_release(&sb);
		return NULL;
	}
	if (!sb.buf)
		return strdup("");
	return sb.buf;
}

static void pad(struct hn_strbuf *sb, const char *s, size_t width, bool last)
{
	size_t w = text_width(s);

	hn_strbuf_adds(sb, s);
	if (!last)
		for (; w < width; w++)
			hn_strbuf_addc(sb, ' ');
}

static int put_row(struct table *t, char *const *cells)
{
	hn_strbuf_reset(&t->sb);
	for (int i = 0; i < t->ncol; i++) {
		if (i)
			hn_strbuf_adds(&t->sb, "  ");
		pad(&t->sb, cells[i] ? cells[i] : "NULL", t->width[i], i + 1 == t->ncol);
	}
	return cli_put_line(&t->sb);
}

static void widen(struct table *t, char *const *cells)
{
	for (int i = 0; i < t->ncol; i++) {
		size_t w = text_width(cells[i] ? cells[i] : "NULL");
		if (w > SQL_MAX_WIDTH)
			w = SQL_MAX_WIDTH;
		if (w > t->width[i])
			t->width[i] = w;
	}
}

/* Print the header and the buffered rows; from now on rows stream. */
static int flush_table(struct table *t)
{
	int r;

	if (t->streaming || !t->ncol)
		return 0;
	t->streaming = true;
	widen(t, t->names);
	r = put_row(t, t->names);
	if (r < 0)
		return r;
	hn_strbuf_reset(&t->sb);
	for (int i = 0; i < t->ncol; i++) {
		if (i)
			hn_strbuf_adds(&t->sb, "  ");
		for (size_t k = 0; k < t->width[i]; k++)
			hn_strbuf_addc(&t->sb, '-');
	}
	r = cli_put_line(&t->sb);
	for (size_t row = 0; row < t->nrows && r == 0; row++)
		r = put_row(t, t->cells + row * (size_t)t->ncol);
	return r;
}

static void free_cells(struct table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncol; i++)
		free(t->cells[i]);
	t->nrows = 0;
}

static int json_row(struct table *t, int ncol, const char *const *names,
		    const char *const *values)
{
	struct hn_json j;

	hn_strbuf_reset(&t->sb);
	hn_json_begin(&j, &t->sb);
	hn_json_obj_open(&j, NULL);
	for (int i = 0; i < ncol; i++)
		hn_json_kv_str(&j, names[i], values[i]);
	hn_json_obj_close(&j);
	if (hn_json_end(&j) < 0) {
		fprintf(stderr, "hinomi sql: cannot render a row as JSON\n");
		return -ENOMEM;
	}
	return cli_put_line(&t->sb);
}

static int on_row(int ncol, const char *const *names, const char *const *values,
		  void *arg)
{
	struct table *t = arg;
	char **row;
	int r;

	t->total++;
	if (t->json)
		return t->err = json_row(t, ncol, names, values);
	if (!t->ncol) {
		t->ncol = ncol;
		t->names = calloc((size_t)ncol, sizeof(*t->names));
		t->width = calloc((size_t)ncol, sizeof(*t->width));
		t->cells = calloc((size_t)SQL_ALIGN_ROWS * (size_t)ncol, sizeof(*t->cells));
		if (!t->names || !t->width || !t->cells)
			goto oom;
		for (int i = 0; i < ncol; i++)
			if (!(t->names[i] = escaped(names[i])))
				goto oom;
	}
	if (!t->streaming && t->nrows == SQL_ALIGN_ROWS) {
		r = flush_table(t);
		free_cells(t);
		if (r < 0)
			return t->err = r;
	}
	row = t->streaming ? calloc((size_t)ncol, sizeof(*row)) :
			     t->cells + t->nrows * (size_t)ncol;
	if (!row)
		goto oom;
	for (int i = 0; i < ncol; i++)
		if (values[i] && !(row[i] = escaped(values[i])))
			goto oom_row;
	if (t->streaming) {
		r = put_row(t, row);
		for (int i = 0; i < ncol; i++)
			free(row[i]);
		free(row);
		return t->err = r;
	}
	widen(t, row);
	t->nrows++;
	return 0;
oom_row:
	if (t->streaming) {
		for (int i = 0; i < ncol; i++)
			free(row[i]);
		free(row);
	} else {
		t->nrows++;  /* so that free_cells frees what was copied */
	}
oom:
	fprintf(stderr, "hinomi sql: out of memory\n");
	return t->err = -ENOMEM;
}

int cmd_sql(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct table t = { 0 };
	struct hn_store *s = NULL;
	const char *db = cli_default_db();
	const char *sql;
	int c, n, r = 1;

	while ((c = getopt_long(argc, argv, "jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			t.json = true;
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
	if (optind + 1 != argc) {
		fprintf(stderr, "hinomi sql: give exactly one SQL statement (quoted)\n");
		usage(stderr);
		return 2;
	}
	sql = argv[optind];
	if (cli_store_open_ro("sql", db, &s) < 0)
		return 1;
	hn_strbuf_init(&t.sb);
	n = hn_store_sql(s, sql, on_row, &t);
	if (n == -EPERM) {
		fprintf(stderr, "hinomi sql: %s\n", hn_store_errmsg(s));
		goto out;
	}
	if (n < 0 && !t.err) {
		fprintf(stderr, "hinomi sql: %s\n", hn_store_errmsg(s));
		goto out;
	}
	if (t.err)
		goto out;
	if (!t.json) {
		if (flush_table(&t) < 0)
			goto out;
		printf("(%zu row%s)\n", t.total, t.total == 1 ? "" : "s");
	}
	r = 0;
out:
	free_cells(&t);
	if (t.names)
		for (int i = 0; i < t.ncol; i++)
			free(t.names[i]);
	free(t.names);
	free(t.cells);
	free(t.width);
	hn_strbuf_release(&t.sb);
	hn_store_close(s);
	return r;
}
