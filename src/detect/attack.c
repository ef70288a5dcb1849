/*
 * attack.c - Sigma's ATT&CK tags ("attack.t1059.004", "attack.execution")
 * as technique ids and tactic names (detect.h: hn_attack_tag).
 *
 * Tactic tags are the tactic's name in lower case with dashes, as SigmaHQ
 * writes them; the table has the ATT&CK Enterprise tactics and the names
 * of the 2025 split of Defense Evasion (Stealth, Defense Impairment), whose
 * ids are left out here rather than guessed.
 */
#include "detect/detect.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *tag, *name, *id;
} tactics[] = {
	{ "reconnaissance", "Reconnaissance", "TA0043" },
	{ "resource-development", "Resource Development", "TA0042" },
	{ "initial-access", "Initial Access", "TA0001" },
	{ "execution", "Execution", "TA0002" },
	{ "persistence", "Persistence", "TA0003" },
	{ "privilege-escalation", "Privilege Escalation", "TA0004" },
	{ "defense-evasion", "Defense Evasion", "TA0005" },
	{ "stealth", "Stealth", NULL },
	{ "defense-impairment", "Defense Impairment", NULL },
	{ "credential-access", "Credential Access", "TA0006" },
	{ "discovery", "Discovery", "TA0007" },
	{ "lateral-movement", "Lateral Movement", "TA0008" },
	{ "collection", "Collection", "TA0009" },
	{ "command-and-control", "Command and Control", "TA0011" },
	{ "exfiltration", "Exfiltration", "TA0010" },
	{ "impact", "Impact", "TA0040" },
};

int hn_attack_tag(const char *tag, struct hn_attack *out)
{
	const char *t;

	memset(out, 0, sizeof(*out));
	if (!tag || strncasecmp(tag, "attack.", 7) != 0)
		return 0;
	t = tag + 7;
	/* t1059 / t1059.004 */
	if ((t[0] == 't' || t[0] == 'T') && isdigit((unsigned char)t[1])) {
		size_t n = strlen(t);
		if (n >= sizeof(out->technique))
			return 0;
		for (size_t i = 0; i < n; i++) {
			char c = t[i];
			if (!(isdigit((unsigned char)c) || c == '.' || (i == 0)))
				return 0;
			out->technique[i] = (char)toupper((unsigned char)c);
		}
		return 1;
	}
	for (size_t i = 0; i < sizeof(tactics) / sizeof(tactics[0]); i++)
		if (!strcasecmp(t, tactics[i].tag)) {
			out->tactic_name = tactics[i].name;
			out->tactic_id = tactics[i].id;
			return 2;
		}
	return 0;
}
