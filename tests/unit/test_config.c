/*
 * test_config.c - the agent's config file (agent/config.c): the noise
 * filter (ignore-process, ignore-path) and the watch list (watch-read).
 *
 * Each test writes a config file into a scratch directory under /tmp,
 * loads it, and asserts what applies: rules, comments and blank lines, the
 * path:line message of a malformed line (and that the rest of the file still
 * applies), the bound on rules, and fnmatch(3) globs without FNM_PATHNAME.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

static char dir[64];
static char path[128];

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hinomi-config-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/agent.conf", dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* Write the config file with exactly these bytes. */
static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* Load it; returns the result, *c the config (NULL on failure). */
static int load(struct hn_agent_config **c, char *msg, size_t n)
{
	*c = NULL;
	msg[0] = '\0';
	return hn_agent_config_load(path, c, msg, n);
}

static bool watched(const struct hn_agent_config *c, const char *p)
{
	int n = 0;
	const char *const *w = hn_agent_config_watch(c, &n);

	for (int i = 0; i < n; i++)
		if (!strcmp(w[i], p))
			return true;
	return false;
}

static int watch_count(const struct hn_agent_config *c)
{
	int n = -1;

	hn_agent_config_watch(c, &n);
	return n;
}

/* ---- tests ---- */

static void defaults_watch_credentials(void **state)
{
	struct hn_agent_config *c = hn_agent_config_default();

	(void)state;
	assert_non_null(c);
	assert_int_equal(watch_count(c), 11);
	assert_true(watched(c, "/etc/shadow"));
	assert_true(watched(c, "/etc/sudoers"));
	assert_true(watched(c, "/root/.ssh/id_ed25519"));
	assert_false(watched(c, "/etc/passwd"));
	/* no noise filter by default */
	assert_false(hn_agent_config_ignore_process(c, "/usr/bin/true"));
	assert_false(hn_agent_config_ignore_path(c, "/tmp/x"));
	hn_agent_config_free(c);
	hn_agent_config_free(NULL);
	/* no config: nothing ignored, nothing watched */
	assert_false(hn_agent_config_ignore_process(NULL, "/usr/bin/true"));
	assert_false(hn_agent_config_ignore_path(NULL, "/tmp/x"));
	assert_int_equal(watch_count(NULL), 0);
	assert_null(hn_agent_config_watch(NULL, &(int){ 0 }));
}

static void valid_lines_comments_blanks(void **state)
{
	struct hn_agent_config *c;
	char msg[256];

	(void)state;
	write_conf("# hinomi agent config\n"
		   "\n"
		   "   \n"
		   "\t# an indented comment\n"
		   "ignore-process /usr/bin/rsync\n"
		   "ignore-process\t/usr/lib/*/packagekitd\n"
		   "  ignore-path   /var/log/*   \n"
		   "ignore-path /tmp/hn-cache/*.tmp\r\n"
		   "watch-read /etc/hn-secret\n"
		   "watch-read\t/opt/app/key.pem\t\n"
		   "# ignore-path /etc/*\n"
		   "ignore-path /last/line/without/newline");
	assert_int_equal(load(&c, msg, sizeof(msg)), 0);
	assert_non_null(c);
	assert_string_equal(msg, "");

	assert_true(hn_agent_config_ignore_process(c, "/usr/bin/rsync"));
	assert_false(hn_agent_config_ignore_process(c, "/usr/bin/rsync2"));
	assert_false(hn_agent_config_ignore_process(c, "/usr/bin/rsyn"));
	assert_true(hn_agent_config_ignore_process(c, "/usr/lib/x86_64/packagekitd"));
	assert_false(hn_agent_config_ignore_process(c, NULL));

	/* trailing blanks and CRLF are not part of the value */
	assert_true(hn_agent_config_ignore_path(c, "/var/log/syslog"));
	assert_true(hn_agent_config_ignore_path(c, "/tmp/hn-cache/a.tmp"));
	assert_false(hn_agent_config_ignore_path(c, "/tmp/hn-cache/a.tmp2"));
	assert_true(hn_agent_config_ignore_path(c, "/last/line/without/newline"));
	/* the commented-out rule does not apply */
	assert_false(hn_agent_config_ignore_path(c, "/etc/passwd"));
	assert_false(hn_agent_config_ignore_path(c, NULL));
	/* path rules are not process rules and the other way round */
	assert_false(hn_agent_config_ignore_process(c, "/var/log/syslog"));
	assert_false(hn_agent_config_ignore_path(c, "/usr/bin/rsync"));

	/* the defaults plus two */
	assert_int_equal(watch_count(c), 13);
	assert_true(watched(c, "/etc/hn-secret"));
	assert_true(watched(c, "/opt/app/key.pem"));
	assert_true(watched(c, "/etc/shadow"));
	hn_agent_config_free(c);
}

static void malformed_line_reported_rest_applies(void **state)
{
	struct hn_agent_config *c;
	char msg[256], want[256];

	(void)state;
	write_conf("ignore-path /a/*\n"
		   "# comment\n"
		   "ignore-paht /typo/*\n"
		   "ignore-process /usr/bin/after\n"
		   "ignore-path\n"
		   "watch-read /etc/after\n");
	assert_int_equal(load(&c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(c);
	/* the first bad line, by path and number */
	snprintf(want, sizeof(want), "%s:3: cannot understand 'ignore-paht'", path);
	assert_string_equal(msg, want);
	/* lines before and after it apply; the bad ones do not */
	assert_true(hn_agent_config_ignore_path(c, "/a/b"));
	assert_false(hn_agent_config_ignore_path(c, "/typo/x"));
	assert_true(hn_agent_config_ignore_process(c, "/usr/bin/after"));
	assert_true(watched(c, "/etc/after"));
	assert_int_equal(watch_count(c), 12);
	hn_agent_config_free(c);

	/* a known key with no value is malformed too */
	write_conf("\n\nwatch-read   \nignore-path /b/*\n");
	assert_int_equal(load(&c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(c);
	snprintf(want, sizeof(want), "%s:3: cannot understand 'watch-read'", path);
	assert_string_equal(msg, want);
	assert_true(hn_agent_config_ignore_path(c, "/b/c"));
	assert_int_equal(watch_count(c), 11);
	hn_agent_config_free(c);

	/* a short message buffer is cut, not overrun */
	{
		char small[8];
		memset(small, 'x', sizeof(small));
		write_conf("bogus\n");
		assert_int_equal(hn_agent_config_load(path, &c, small, sizeof(small)), -EINVAL);
		assert_int_equal(strlen(small), sizeof(small) - 1);
		assert_memory_equal(small, path, sizeof(small) - 1);
		hn_agent_config_free(c);
	}
}

static void missing_file_is_enoent(void **state)
{
	struct hn_agent_config *c = (void *)&c;
	char msg[64] = "untouched", nf[160];

	(void)state;
	snprintf(nf, sizeof(nf), "%s/does-not-exist.conf", dir);
	assert_int_equal(hn_agent_config_load(nf, &c, msg, sizeof(msg)), -ENOENT);
	/* nothing handed over */
	assert_ptr_equal(c, (void *)&c);
}

/*
 * BUG (src/agent/config.c, hn_agent_config_load): a read error is taken for
 * the end of the file.  fopen(3) of a directory succeeds on Linux, the first
 * fgets fails with EISDIR, and the loader returns 0 with the default config:
 * `hinomi agent --config /etc/hinomi/` runs with no noise filter and says
 * nothing (an error path that reports success).  The same holds for EIO in
 * the middle of a file (the rest is silently dropped).  Expected: ferror()
 * checked after the loop and a negative errno (-EISDIR here).  Fails until
 * fixed.
 */
static void unreadable_config_is_an_error(void **state)
{
	struct hn_agent_config *c = NULL;
	char msg[64] = "";
	int r;

	(void)state;
	r = hn_agent_config_load(dir, &c, msg, sizeof(msg));
	hn_agent_config_free(c);
	assert_int_equal(r, -EISDIR);
}

static void empty_file_is_defaults(void **state)
{
	struct hn_agent_config *c;
	char msg[64];

	(void)state;
	write_conf("");
	assert_int_equal(load(&c, msg, sizeof(msg)), 0);
	assert_non_null(c);
	assert_int_equal(watch_count(c), 11);
	assert_false(hn_agent_config_ignore_path(c, "/x"));
	hn_agent_config_free(c);
}

/* At most 256 rules of a kind; the one too many is reported, the rest of
 * the file (other kinds) still applies. */
static void rules_are_bounded(void **state)
{
	struct hn_agent_config *c;
	char msg[256], want[256], line[64];
	FILE *f = fopen(path, "w");

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 300; i++)
		fprintf(f, "ignore-path /bound/%d\n", i);
	fprintf(f, "ignore-process /usr/bin/after-bound\n");
	assert_int_equal(fclose(f), 0);
	assert_int_equal(load(&c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(c);
	snprintf(want, sizeof(want), "%s:257: too many rules at 'ignore-path'", path);
	assert_string_equal(msg, want);
	for (int i = 0; i < 300; i++) {
		snprintf(line, sizeof(line), "/bound/%d", i);
		assert_int_equal(hn_agent_config_ignore_path(c, line), i < 256);
	}
	assert_true(hn_agent_config_ignore_process(c, "/usr/bin/after-bound"));
	hn_agent_config_free(c);
}

/* fnmatch(3) without FNM_PATHNAME: '*' crosses '/' */
static void glob_matching(void **state)
{
	static const struct {
		const char *glob, *path;
		bool match;
	} cases[] = {
		{ "/tmp/x/*", "/tmp/x/a", true },
		{ "/tmp/x/*", "/tmp/x/a/b/c", true },   /* '*' crosses '/' */
		{ "/tmp/x/*", "/tmp/x", false },
		{ "/tmp/x/*", "/tmp/x/", true },
		{ "/tmp/x/*", "/tmp/xy/a", false },
		{ "*.log", "/var/log/app/today.log", true },
		{ "*.log", "/var/log/app/today.log.1", false },
		{ "/var/log/app?.txt", "/var/log/app1.txt", true },
		{ "/var/log/app?.txt", "/var/log/app12.txt", false },
		{ "/data/[abc]*", "/data/b/file", true },
		{ "/data/[abc]*", "/data/d/file", false },
		{ "/data/[!abc]*", "/data/d/file", true },
		{ "/exact/path", "/exact/path", true },
		{ "/exact/path", "/exact/path/", false },
		{ "/exact/path", "/EXACT/path", false }, /* case matters */
		{ "*", "/anything/at/all", true },
		{ "/home/*/.cache/*", "/home/alice/.cache/thumb/x.png", true },
		{ "/home/*/.cache/*", "/home/alice/cache/x", false },
	};
	struct hn_agent_config *c;
	char msg[256], text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "ignore-path %s\nignore-process %s\n", cases[i].glob,
			 cases[i].glob);
		write_conf(text);
		assert_int_equal(load(&c, msg, sizeof(msg)), 0);
		if (hn_agent_config_ignore_path(c, cases[i].path) != cases[i].match ||
		    hn_agent_config_ignore_process(c, cases[i].path) != cases[i].match)
			fail_msg("glob \"%s\" on \"%s\": want %s", cases[i].glob, cases[i].path,
				 cases[i].match ? "a match" : "no match");
		hn_agent_config_free(c);
	}
}

/* Several rules: any one matching is enough. */
static void any_rule_matches(void **state)
{
	struct hn_agent_config *c;
	char msg[256];

	(void)state;
	write_conf("ignore-path /a/*\nignore-path /b/*\nignore-path *.swp\n"
		   "ignore-process /usr/sbin/cron\nignore-process /usr/bin/*sync\n");
	assert_int_equal(load(&c, msg, sizeof(msg)), 0);
	assert_true(hn_agent_config_ignore_path(c, "/a/1"));
	assert_true(hn_agent_config_ignore_path(c, "/b/2"));
	assert_true(hn_agent_config_ignore_path(c, "/c/.x.swp"));
	assert_false(hn_agent_config_ignore_path(c, "/c/x"));
	assert_true(hn_agent_config_ignore_process(c, "/usr/sbin/cron"));
	assert_true(hn_agent_config_ignore_process(c, "/usr/bin/rsync"));
	assert_false(hn_agent_config_ignore_process(c, "/usr/sbin/crond"));
	hn_agent_config_free(c);
}

/*
 * BUG (src/agent/config.c, hn_agent_config_load): lines are read with
 * fgets into a 4096-byte buffer, and a longer line is not detected: its
 * first 4095 bytes are parsed as a line of their own (a rule with a cut
 * glob is silently applied), and the rest is parsed as the next line, so
 * the error is reported at the wrong line number (2, for a file of one
 * line) and every later line number is off by one.  Expected: the long line
 * is refused as malformed at its own number, and no cut rule applies.
 * Fails until fixed.
 */
static void long_line_reported_at_its_number(void **state)
{
	struct hn_agent_config *c;
	char msg[256], want[256];
	size_t n = 5000;
	char *text = malloc(n + 64), *glob = malloc(4096);
	int r;
	bool cut_rule;

	(void)state;
	assert_non_null(text);
	assert_non_null(glob);
	/* "ignore-path /long/AAAA...A*" over 4096 bytes, on line 1 */
	memcpy(text, "ignore-path /long/", 18);
	memset(text + 18, 'A', n - 18);
	memcpy(text + n, "*\nignore-path /ok/*\n", 21);
	write_conf(text);
	r = load(&c, msg, sizeof(msg));
	assert_non_null(c);
	assert_true(hn_agent_config_ignore_path(c, "/ok/x"));
	/* the rule cut at 4095 bytes: "/long/" + 4077 'A's, no '*' */
	memcpy(glob, "/long/", 6);
	memset(glob + 6, 'A', 4095 - 18);
	glob[6 + 4095 - 18] = '\0';
	cut_rule = hn_agent_config_ignore_path(c, glob);
	hn_agent_config_free(c);
	free(text);
	free(glob);
	snprintf(want, sizeof(want), "%s:1: ", path);
	assert_int_equal(r, -EINVAL);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("a 5000-byte line 1 reported as \"%s\"", msg);
	assert_false(cut_rule);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_watch_credentials),
		cmocka_unit_test(valid_lines_comments_blanks),
		cmocka_unit_test(malformed_line_reported_rest_applies),
		cmocka_unit_test(missing_file_is_enoent),
		cmocka_unit_test(unreadable_config_is_an_error),
		cmocka_unit_test(empty_file_is_defaults),
		cmocka_unit_test(rules_are_bounded),
		cmocka_unit_test(glob_matching),
		cmocka_unit_test(any_rule_matches),
		cmocka_unit_test(long_line_reported_at_its_number),
	};
	return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
