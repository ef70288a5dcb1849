/*
 * load.c - reading IOC files (ioc.h: hn_ioc_load): a file, or a directory
 * of them read recursively in name order; each file is one list, named
 * after the file, and its format is told by its extension (.csv, .tsv,
 * .txt: CSV; .json: MISP or STIX by content) or, for other names, by its
 * first byte ('{' or '[': JSON).
 *
 * A file is read whole into memory (at most HN_IOC_FILE_MAX bytes) and
 * handed to its loader; a file that cannot be read inside a directory is
 * reported as a problem and the walk goes on.
 */
#include "ioc/ioc_int.h"
#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_DEPTH_MAX 8

/* The list name: the file's base name without its extension, in
 * [A-Za-z0-9._-] (others become '_'), so that rule ids built from it are
 * one word ("ioc:LIST:VALUE"). */
static char *list_name(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;
	size_t n;
	char *name;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (n > 128)
		n = 128;
	name = malloc(n ? n + 1 : 5);
	if (!name)
		return NULL;
	if (!n) {
		memcpy(name, "list", 5);
		return name;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = base[i];
		name[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ? ch : '_';
	}
	name[n] = '\0';
	return name;
}

static int new_list(struct hn_ioc_set *s, const char *path, uint32_t *out)
{
	struct ioc_list *v = realloc(s->lists, (s->nlists + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->lists = v;
	v[s->nlists].name = list_name(path);
	v[s->nlists].path = strdup(path);
	if (!v[s->nlists].name || !v[s->nlists].path) {
		free(v[s->nlists].name);
		free(v[s->nlists].path);
		return -ENOMEM;
	}
	*out = s->nlists++;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcasecmp(s + n - k, suffix);
}

static bool is_json(const char *name, const char *buf, size_t len)
{
	if (ends_with(name, ".json"))
		return true;
	if (ends_with(name, ".csv") || ends_with(name, ".tsv") || ends_with(name, ".txt"))
		return false;
	/* by content: the first byte that is not blank (after a BOM) */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		buf += 3;
		len -= 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')
			continue;
		return buf[i] == '{' || buf[i] == '[';
	}
	return false;
}

int hn_ioc_load_mem(struct hn_ioc_set *s, const char *name, const char *buf, size_t len,
		    hn_ioc_problem_fn problem, void *arg)
{
	struct ioc_ctx c = { .s = s, .path = name, .problem = problem, .arg = arg };

	if (!s || !name || (!buf && len))
		return -EINVAL;
	if (new_list(s, name, &c.list) < 0)
		return -ENOMEM;
	s->st.files++;
	if (is_json(name, buf, len))
		ioc_json_load(&c, buf, len);
	else
		ioc_csv_load(&c, buf, len);
	return (int)c.loaded;
}


static int load_file(struct hn_ioc_set *s, const char *path, hn_ioc_problem_fn problem,
		     void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	int r = hn_file_read(path, HN_IOC_FILE_MAX, &buf, &len);

	if (r < 0)
		return r;
	r = hn_ioc_load_mem(s, path, buf, len, problem, arg);
	free(buf);
	return r;
}

static bool wanted(const char *name)
{
	return name[0] != '.' && (ends_with(name, ".csv") || ends_with(name, ".tsv") ||
				  ends_with(name, ".txt") || ends_with(name, ".json"));
}

static int load_dir(struct hn_ioc_set *s, const char *path, hn_ioc_problem_fn problem,
		    void *arg)
{
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort), total = 0;

	if (n < 0)
		return -errno;
	s->depth++;
	for (int i = 0; i < n; i++) {
		const char *e = names[i]->d_name;
		char sub[4096];
		struct stat st;
		int r;

		if (e[0] == '.' ||
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e) >= sizeof(sub) ||
		    stat(sub, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (s->depth >= DIR_DEPTH_MAX)
				continue;
			r = load_dir(s, sub, problem, arg);
		} else if (S_ISREG(st.st_mode) && wanted(e)) {
			r = load_file(s, sub, problem, arg);
		} else {
			continue;
		}
		if (r >= 0) {
			total += r;
		} else {
			/* reported here: the walk goes on */
			struct ioc_ctx c = { .s = s, .path = sub, .problem = problem, .arg = arg };
			ioc_problem(&c, 0, NULL, HN_IOC_INVALID, "cannot read: %s",
				    r == -EFBIG ? "larger than the bound on IOC files" :
				    strerror(-r));
		}
	}
	s->depth--;
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return total;
}

int hn_ioc_load(struct hn_ioc_set *s, const char *path, hn_ioc_problem_fn problem,
		void *arg)
{
	struct stat st;

	if (!s || !path)
		return -EINVAL;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return load_dir(s, path, problem, arg);
	return load_file(s, path, problem, arg);
}
