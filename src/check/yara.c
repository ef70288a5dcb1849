/*
 * yara.c - YARA rules on the running executables: the hook, not yet the
 * scan.  The YARA engine comes with src/scan/ (being written); until it
 * is part of the build this says so as an info finding, and never
 * pretends to have scanned.
 *
 * To connect it: in check_yara_exes, load the rules the scan module
 * loads by default (or ones given on the command line through
 * struct hn_check_opts), then for each c->exes[i] scan the file at
 * "<c->proc>/<c->exes[i].pid>/exe" (that path reads a deleted file or a
 * memfd too; c->exes[i].path is what /proc shows) and add one finding
 * per matching rule: chk_find(c, HN_CHECK_YARA, <the rule's severity,
 * default high>, <strong when high or critical>, "yara.match",
 * "running executable matches YARA rule NAME", "pid N PATH", why), with
 * f->pid and f->path set and the rule name, namespace and matched
 * strings as evidence (chk_ev).  Count files that could not be scanned
 * with chk_skip.  Remove the "yara.unavailable" finding.
 */
#include "check/check_int.h"

int check_yara_exes(struct check_ctx *c)
{
	chk_find(c, HN_CHECK_YARA, HN_CHECK_INFO, false, "yara.unavailable",
		 "YARA: not available in this build", "running executables",
		 "This build has no YARA engine: running executables were checked against "
		 "IOC hashes only.");
	return 0;
}
