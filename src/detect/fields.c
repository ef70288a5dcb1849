/*
 * fields.c - what a rule sees of an event: log sources, field names, and
 * the values of an event's fields (struct det_rec).
 *
 * One table (fields[]) says, for every field name a rule may use, its id
 * and the sources that have it.  Names are Sysmon for Linux's for the
 * categories and auditd's for `service: auditd`; they are looked up
 * case-insensitively (rules write "SYSCALL" and "type" alike).
 *
 * Values are computed when a rule first asks for them and kept in the
 * record for the other rules (the record lives on the matcher's stack, one
 * per event and source).  Computed text (a command line, a number, an
 * address) goes into the record's buffer; when the buffer is full the
 * value is cut, never overrun.
 *
 * Fields hinomi cannot fill (auditd's key: no audit rules; unit: no
 * service records) are not in the table: a rule that names one is
 * reported unsupported rather than loaded and never firing.
 * DestinationHostname is the name the remote address was resolved from,
 * when the agent saw the DNS answer (dns_name of a connect).
 *
 * Mapping decisions (docs/DETECT.md has the table):
 *  - Image is the resolved executable; the path passed to execve (made
 *    absolute with the cwd) is a second value of Image, so that a rule on
 *    /bin/sh matches dash started as sh, and /usr/sbin/iptables matches
 *    xtables-nft-multi started as iptables (engine.c tries both).
 *  - CommandLine is argv joined with spaces, as Sysmon for Linux writes it.
 *  - User is the name of the real uid (the number when it has no name);
 *    LogonId the login uid.
 *  - network_connection follows Sysmon: Source is the side that initiated
 *    the connection, so an accept has the remote peer as Source and the
 *    local listener as Destination; Initiated is "true" for connects and
 *    UDP sends, "false" for accepts.
 *  - The auditd view sees an event as the records auditd would write:
 *    SYSCALL (SYSCALL, exe, comm, uid, euid, auid, pid, ppid, cwd,
 *    success), EXECVE for a process start (argc, a0..a9 = argv) and PATH
 *    (name, nametype) for the file(s) it names.
 */
#include "detect/detect_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "logsrc/logsrc.h"
#include "util/path.h"

#define S(x) (1u << (x))
#define S_PROC S(HN_DS_PROCESS_CREATION)
#define S_FILE (S(HN_DS_FILE_EVENT) | S(HN_DS_FILE_RENAME) | S(HN_DS_FILE_DELETE) | \
		S(HN_DS_FILE_CHANGE))
#define S_NET S(HN_DS_NETWORK_CONNECTION)
#define S_DNS S(HN_DS_DNS_QUERY)
#define S_ACTOR (S_PROC | S_FILE | S_NET | S_DNS)
#define S_AUD S(HN_DS_AUDITD)
#define S_LOG (S(HN_DS_SYSLOG) | S(HN_DS_AUTH) | S(HN_DS_SSHD) | S(HN_DS_SUDO) | \
	       S(HN_DS_CRON) | S(HN_DS_VSFTPD) | S(HN_DS_GUACAMOLE) | S(HN_DS_CLAMAV))

static const struct {
	const char *name;
	int id;
	unsigned sources;
} fields[] = {
	{ "Image", DF_IMAGE, S_ACTOR },
	{ "CommandLine", DF_COMMANDLINE, S_PROC },
	{ "CurrentDirectory", DF_CURRENTDIRECTORY, S_PROC },
	{ "User", DF_USER, S_ACTOR },
	{ "LogonId", DF_LOGONID, S_PROC },
	{ "ProcessId", DF_PROCESSID, S_ACTOR },
	{ "ProcessGuid", DF_PROCESSGUID, S_ACTOR },
	{ "ParentImage", DF_PARENTIMAGE, S_PROC },
	{ "ParentCommandLine", DF_PARENTCOMMANDLINE, S_PROC },
	{ "ParentProcessId", DF_PARENTPROCESSID, S_PROC },
	{ "ParentProcessGuid", DF_PARENTPROCESSGUID, S_PROC },
	{ "TerminalSessionId", DF_TERMINALSESSIONID, S_PROC },
	{ "Hashes", DF_HASHES, S_PROC },
	{ "TargetFilename", DF_TARGETFILENAME, S_FILE },
	{ "SourceFilename", DF_SOURCEFILENAME, S(HN_DS_FILE_RENAME) },
	{ "Initiated", DF_INITIATED, S_NET },
	{ "Protocol", DF_PROTOCOL, S_NET },
	{ "SourceIp", DF_SOURCEIP, S_NET },
	{ "SourcePort", DF_SOURCEPORT, S_NET },
	{ "SourceIsIpv6", DF_SOURCEISIPV6, S_NET },
	{ "DestinationIp", DF_DESTINATIONIP, S_NET },
	{ "DestinationPort", DF_DESTINATIONPORT, S_NET },
	{ "DestinationIsIpv6", DF_DESTINATIONISIPV6, S_NET },
	{ "DestinationHostname", DF_DESTINATIONHOSTNAME, S_NET },
	{ "QueryName", DF_QUERYNAME, S_DNS },
	{ "type", DF_A_TYPE, S_AUD },
	{ "SYSCALL", DF_A_SYSCALL, S_AUD },
	{ "argc", DF_A_ARGC, S_AUD },
	{ "a0", DF_A_A0, S_AUD }, { "a1", DF_A_A1, S_AUD },
	{ "a2", DF_A_A2, S_AUD }, { "a3", DF_A_A3, S_AUD },
	{ "a4", DF_A_A4, S_AUD }, { "a5", DF_A_A5, S_AUD },
	{ "a6", DF_A_A6, S_AUD }, { "a7", DF_A_A7, S_AUD },
	{ "a8", DF_A_A8, S_AUD }, { "a9", DF_A_A9, S_AUD },
	{ "exe", DF_A_EXE, S_AUD },
	{ "comm", DF_A_COMM, S_AUD },
	{ "name", DF_A_NAME, S_AUD },
	{ "nametype", DF_A_NAMETYPE, S_AUD },
	{ "uid", DF_A_UID, S_AUD },
	{ "euid", DF_A_EUID, S_AUD },
	{ "auid", DF_A_AUID, S_AUD },
	{ "pid", DF_A_PID, S_AUD },
	{ "ppid", DF_A_PPID, S_AUD },
	{ "cwd", DF_A_CWD, S_AUD },
	{ "success", DF_A_SUCCESS, S_AUD },
	{ "MESSAGE", DF_MESSAGE, S_LOG },
	{ "SYSLOG_IDENTIFIER", DF_PROGRAM, S_LOG },
	{ "USER", DF_SUDO_USER, S_LOG },
	{ "COMMAND", DF_SUDO_COMMAND, S_LOG },
	{ "PWD", DF_SUDO_PWD, S_LOG },
	{ "TTY", DF_SUDO_TTY, S_LOG },
};

int det_field_lookup(enum hn_det_source src, const char *name)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((fields[i].sources & S(src)) && !strcasecmp(fields[i].name, name))
			return fields[i].id;
	return -1;
}

static const char *const source_names[HN_DS_COUNT] = {
	[HN_DS_NONE] = "none",
	[HN_DS_PROCESS_CREATION] = "process_creation",
	[HN_DS_FILE_EVENT] = "file_event",
	[HN_DS_FILE_RENAME] = "file_rename",
	[HN_DS_FILE_DELETE] = "file_delete",
	[HN_DS_FILE_CHANGE] = "file_change",
	[HN_DS_NETWORK_CONNECTION] = "network_connection",
	[HN_DS_DNS_QUERY] = "dns_query",
	[HN_DS_AUDITD] = "auditd",
	[HN_DS_SYSLOG] = "syslog",
	[HN_DS_AUTH] = "auth",
	[HN_DS_SSHD] = "sshd",
	[HN_DS_SUDO] = "sudo",
	[HN_DS_CRON] = "cron",
	[HN_DS_VSFTPD] = "vsftpd",
	[HN_DS_GUACAMOLE] = "guacamole",
	[HN_DS_CLAMAV] = "clamav",
};

const char *hn_det_source_name(enum hn_det_source s)
{
	return (unsigned)s < HN_DS_COUNT ? source_names[s] : "none";
}

enum hn_det_source det_source_of(const char *product, const char *category,
				 const char *service, const char **why)
{
	static char buf[160];

	*why = NULL;
	if (product && strcasecmp(product, "linux") != 0) {
		*why = "logsource product is not linux";
		return HN_DS_NONE;
	}
	if (category && service) {
		*why = "logsource names both a category and a service";
		return HN_DS_NONE;
	}
	if (service) {
		for (int s = HN_DS_AUDITD; s < HN_DS_COUNT; s++)
			if (!strcasecmp(service, source_names[s]))
				return (enum hn_det_source)s;
		snprintf(buf, sizeof(buf), "logsource service '%s' is not recorded", service);
		*why = buf;
		return HN_DS_NONE;
	}
	if (!category)
		return HN_DS_SYSLOG;    /* "product: linux": any line of the log */
	for (int s = HN_DS_PROCESS_CREATION; s < HN_DS_AUDITD; s++)
		if (!strcasecmp(category, source_names[s]))
			return (enum hn_det_source)s;
	snprintf(buf, sizeof(buf), "logsource category '%s' is not recorded", category);
	*why = buf;
	return HN_DS_NONE;
}

static bool prog_is(const struct hn_event *ev, const char *const *names)
{
	if (!ev->name)
		return false;
	for (; *names; names++)
		if (!strcasecmp(ev->name, *names))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* A log line: syslog always; auth by facility (auth 4, authpriv 10) or
 * file; the program's own service by the program name. */
static unsigned log_sources(const struct hn_event *ev)
{
	static const char *const sshd[] = { "sshd", NULL };
	static const char *const sudo[] = { "sudo", NULL };
	static const char *const cron[] = { "cron", "crond", "anacron", NULL };
	static const char *const vsftpd[] = { "vsftpd", NULL };
	static const char *const guac[] = { "guacd", "guacamole", NULL };
	static const char *const clam[] = { "clamd", "freshclam", "clamav", "clamonacc", NULL };
	unsigned s = S(HN_DS_SYSLOG);
	bool pri = ev->oflags & 1u;

	if ((pri && (ev->mode / 8 == 4 || ev->mode / 8 == 10)) ||
	    ends_with(ev->filename, "/auth.log") || ends_with(ev->filename, "/secure"))
		s |= S(HN_DS_AUTH);
	if (prog_is(ev, sshd))
		s |= S(HN_DS_SSHD);
	if (prog_is(ev, sudo))
		s |= S(HN_DS_SUDO);
	if (prog_is(ev, cron))
		s |= S(HN_DS_CRON);
	if (prog_is(ev, vsftpd))
		s |= S(HN_DS_VSFTPD);
	if (prog_is(ev, guac))
		s |= S(HN_DS_GUACAMOLE);
	if (prog_is(ev, clam))
		s |= S(HN_DS_CLAMAV);
	return s;
}

unsigned det_sources_of_event(const struct hn_event *ev)
{
	switch (ev->type) {
	case HN_EV_PROCESS_START:
		return S_PROC | S_AUD;
	case HN_EV_FILE_CREATE:
		return S(HN_DS_FILE_EVENT) | S_AUD;
	case HN_EV_FILE_OPEN_WRITE:
		/* a write-open of an existing file: its content may change */
		return S(HN_DS_FILE_EVENT) | S(HN_DS_FILE_CHANGE) | S_AUD;
	case HN_EV_FILE_RENAME:
		/* the new name appears: file_event sees it as created */
		return S(HN_DS_FILE_RENAME) | S(HN_DS_FILE_EVENT) | S_AUD;
	case HN_EV_FILE_DELETE:
		return S(HN_DS_FILE_DELETE) | S_AUD;
	case HN_EV_FILE_CHMOD:
	case HN_EV_FILE_CHOWN:
	case HN_EV_FILE_SETXATTR:
	case HN_EV_FILE_TRUNCATE:
		return S(HN_DS_FILE_CHANGE) | S_AUD;
	case HN_EV_NET_CONNECT:
	case HN_EV_NET_ACCEPT:
	case HN_EV_NET_UDP_SEND:
		return S_NET | S_AUD;
	case HN_EV_DNS_QUERY:
		return S_DNS | S_AUD;
	case HN_EV_LOG:
		return log_sources(ev);
	case HN_EV_PROCESS_FORK:
	case HN_EV_PROCESS_EXIT:
	case HN_EV_PROCESS_SNAPSHOT:
	case HN_EV_GAP:
	case HN_EV_AGENT_START:
	case HN_EV_AGENT_STOP:
	case HN_EV_NONE:
		return 0;
	default:
		return S_AUD;
	}
}

unsigned det_audit_kinds(const struct hn_event *ev)
{
	unsigned k = 1u << DET_AUDIT_SYSCALL;

	if (ev->type == HN_EV_PROCESS_START)
		k |= 1u << DET_AUDIT_EXECVE;
	if (ev->path)
		k |= 1u << DET_AUDIT_PATH;
	if (ev->path2 && ev->type != HN_EV_MOUNT)
		k |= 1u << DET_AUDIT_PATH2;
	return k;
}

/* ---- values ---- */

void det_rec_init(struct det_rec *r, const struct hn_event *ev,
		  const struct hn_det_parent *parent, enum hn_det_source src,
		  int audit_kind)
{
	r->ev = ev;
	r->parent = parent;
	r->src = src;
	r->audit_kind = audit_kind;
	memset(r->done, 0, sizeof(r->done));
	r->used = 0;
}

static void set(struct det_rec *r, int f, const char *s, size_t n)
{
	r->val[f].s = s;
	r->val[f].n = s ? n : 0;
	r->val[f].present = s != NULL;
}

static void set_str(struct det_rec *r, int f, const char *s)
{
	set(r, f, s, s ? strlen(s) : 0);
}

/* Room in the record's buffer: where the next value goes and how much
 * fits (with its NUL). */
static char *room(struct det_rec *r, size_t *cap)
{
	*cap = DET_BUF - r->used;
	return r->buf + r->used;
}

/* A number in decimal (without printf: ids and ports are asked for on
 * most records). */
static void set_u64(struct det_rec *r, int f, uint64_t v)
{
	char tmp[20];
	size_t n = 0, cap;
	char *p = room(r, &cap);

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (cap < n + 1) {
		set(r, f, "", 0);
		return;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	p[n] = '\0';
	set(r, f, p, n);
	r->used += n + 1;
}

static void set_fmt(struct det_rec *r, int f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_fmt(struct det_rec *r, int f, const char *fmt, ...)
{
	size_t cap;
	char *p = room(r, &cap);
	va_list ap;
	int n;

	if (cap < 2) {
		set(r, f, "", 0);
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(p, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= cap)
		n = (int)cap - 1;
	set(r, f, p, (size_t)n);
	r->used += (size_t)n + 1;
}

/* argv (NUL-separated, len bytes) joined with spaces. */
static void set_args(struct det_rec *r, int f, const char *args, size_t len)
{
	size_t cap, n;
	char *p;

	if (!args) {
		set(r, f, NULL, 0);
		return;
	}
	p = room(r, &cap);
	if (cap < 2) {
		set(r, f, "", 0);
		return;
	}
	n = len < cap - 1 ? len : cap - 1;
	memcpy(p, args, n);
	while (n && p[n - 1] == '\0')
		n--;
	for (char *z = memchr(p, '\0', n); z; z = memchr(z + 1, '\0', n - (size_t)(z + 1 - p)))
		*z = ' ';
	p[n] = '\0';
	set(r, f, p, n);
	r->used += n + 1;
}

/* argv[i], or NULL. */
static const char *arg_at(const struct hn_event *ev, unsigned i, size_t *n)
{
	const char *p = ev->args, *end = ev->args ? ev->args + ev->args_len : NULL;

	if (!p)
		return NULL;
	for (unsigned k = 0; k < i; k++) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		if (!z)
			return NULL;
		p = z + 1;
		if (p >= end)
			return NULL;
	}
	const char *z = memchr(p, '\0', (size_t)(end - p));
	*n = z ? (size_t)(z - p) : (size_t)(end - p);
	return p;
}

/* A small cache of user names: uid -> name (the number when none). */
#define USER_CACHE 64
static struct {
	uint32_t uid;
	bool used;
	char name[64];
} users[USER_CACHE];
static pthread_mutex_t users_mu = PTHREAD_MUTEX_INITIALIZER;

static void set_user(struct det_rec *r, int f, uint32_t uid)
{
	char name[64] = "";
	unsigned slot = uid % USER_CACHE;

	pthread_mutex_lock(&users_mu);
	if (users[slot].used && users[slot].uid == uid)
		snprintf(name, sizeof(name), "%s", users[slot].name);
	pthread_mutex_unlock(&users_mu);
	if (!name[0]) {
		struct passwd pw, *res = NULL;
		char buf[1024];
		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res && pw.pw_name)
			snprintf(name, sizeof(name), "%s", pw.pw_name);
		else
			snprintf(name, sizeof(name), "%" PRIu32, uid);
		pthread_mutex_lock(&users_mu);
		users[slot].uid = uid;
		users[slot].used = true;
		memcpy(users[slot].name, name, sizeof(name));
		pthread_mutex_unlock(&users_mu);
	}
	set_fmt(r, f, "%s", name);
}

static void set_addr(struct det_rec *r, int f, const struct hn_addr *a)
{
	char buf[64];

	if (!a->family || !hn_addr_str(a, buf, sizeof(buf)) || !buf[0]) {
		set(r, f, NULL, 0);
		return;
	}
	set_fmt(r, f, "%s", buf);
}

static const char *syscall_of(const struct hn_event *ev)
{
	switch (ev->type) {
	case HN_EV_PROCESS_START: return "execve";
	case HN_EV_CRED_CHANGE: return "setuid";
	case HN_EV_PTRACE: return "ptrace";
	case HN_EV_PROC_MEM_WRITE:
		return ev->path ? "write" : "process_vm_writev";
	case HN_EV_MEMFD_CREATE: return "memfd_create";
	case HN_EV_FILE_CREATE:
	case HN_EV_FILE_OPEN_WRITE:
	case HN_EV_FILE_READ: return "openat";
	case HN_EV_FILE_RENAME: return "rename";
	case HN_EV_FILE_DELETE: return "unlink";
	case HN_EV_FILE_CHMOD: return "chmod";
	case HN_EV_FILE_CHOWN: return "chown";
	case HN_EV_FILE_LINK: return "link";
	case HN_EV_FILE_SYMLINK: return "symlink";
	case HN_EV_FILE_TRUNCATE: return "truncate";
	case HN_EV_FILE_SETXATTR: return "setxattr";
	case HN_EV_DIR_CREATE: return "mkdir";
	case HN_EV_DIR_DELETE: return "rmdir";
	case HN_EV_NET_CONNECT: return "connect";
	case HN_EV_NET_ACCEPT: return "accept";
	case HN_EV_NET_LISTEN: return "listen";
	case HN_EV_NET_BIND: return "bind";
	case HN_EV_NET_UDP_SEND: return "sendto";
	case HN_EV_DNS_QUERY: return "sendto";
	case HN_EV_MODULE_LOAD: return "finit_module";
	case HN_EV_BPF_LOAD: return "bpf";
	case HN_EV_MOUNT: return "mount";
	default: return NULL;
	}
}

/* The executable of the acting process: for a start, the new image. */
static const char *image_of(const struct hn_event *ev)
{
	if (ev->type == HN_EV_PROCESS_START || ev->type == HN_EV_PROCESS_SNAPSHOT)
		return ev->path ? ev->path : ev->proc.executable;
	return ev->proc.executable;
}

/* Is p absolute with nothing hn_path_normalize would change (no "//",
 * "/./", "/../", no trailing "/" or "/.")? */
static bool canonical_abs(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *s = p; *s; s++)
		if (s[0] == '/' && (s[1] == '/' || s[1] == '\0' ||
				    (s[1] == '.' && (s[2] == '/' || s[2] == '\0' ||
						     (s[2] == '.' && (s[3] == '/' || s[3] == '\0'))))))
			return s == p && s[1] == '\0';   /* "/" alone is canonical */
	return true;
}

static void compute(struct det_rec *r, int f)
{
	const struct hn_event *ev = r->ev;
	const struct hn_det_parent *par = r->parent;
	bool inbound = ev->type == HN_EV_NET_ACCEPT;
	const struct hn_addr *src = inbound ? &ev->dst : &ev->src;
	const struct hn_addr *dst = inbound ? &ev->src : &ev->dst;
	size_t n = 0;
	const char *s;

	switch (f) {
	case DF_IMAGE:
		s = image_of(ev);
		/* an executable with no link left when it was run: as the
		 * kernel (and so Sysmon for Linux, from /proc/PID/exe) names it */
		if (s && ev->type == HN_EV_PROCESS_START && (ev->flags & HN_EVF_DELETED) &&
		    !strstr(s, " (deleted)")) {
			size_t cap;
			char *p = room(r, &cap);
			int k = snprintf(p, cap, "%s (deleted)", s);
			if (k > 0 && (size_t)k < cap) {
				set(r, f, p, (size_t)k);
				r->used += (size_t)k + 1;
				break;
			}
		}
		set_str(r, f, s);
		break;
	case DF_IMAGE_ALT:
		/* the path passed to execve, made absolute; absent when it is
		 * Image itself (an item on Image would see the same value
		 * twice) */
		if (ev->type == HN_EV_PROCESS_START && ev->filename &&
		    canonical_abs(ev->filename)) {
			const char *img = image_of(ev);
			if (img && !strcmp(img, ev->filename) && !(ev->flags & HN_EVF_DELETED))
				set(r, f, NULL, 0);
			else
				set_str(r, f, ev->filename);
		} else if (ev->type == HN_EV_PROCESS_START && ev->filename) {
			size_t cap;
			char *p = room(r, &cap);
			if (cap < 2) {
				set(r, f, NULL, 0);
				break;
			}
			hn_path_join(ev->cwd, ev->filename, p, cap < 4096 ? cap : 4096);
			set_str(r, f, p);
			r->used += strlen(p) + 1;
		} else {
			set(r, f, NULL, 0);
		}
		break;
	case DF_COMMANDLINE:
		set_args(r, f, ev->args, ev->args_len);
		break;
	case DF_CURRENTDIRECTORY:
		set_str(r, f, ev->cwd);
		break;
	case DF_USER:
		set_user(r, f, ev->proc.uid);
		break;
	case DF_LOGONID:
		set_u64(r, f, ev->proc.auid);
		break;
	case DF_PROCESSID:
	case DF_A_PID:
		set_u64(r, f, ev->proc.pid);
		break;
	case DF_PROCESSGUID:
		set_fmt(r, f, "%016" PRIx64, ev->proc.entity);
		break;
	case DF_PARENTIMAGE:
		set_str(r, f, par && par->image ? par->image : ev->proc.parent_executable);
		break;
	case DF_PARENTCOMMANDLINE:
		if (par && par->args)
			set_args(r, f, par->args, par->args_len);
		else
			set(r, f, NULL, 0);
		break;
	case DF_PARENTPROCESSID:
	case DF_A_PPID:
		set_u64(r, f, ev->proc.ppid);
		break;
	case DF_PARENTPROCESSGUID:
		if (ev->proc.parent_entity)
			set_fmt(r, f, "%016" PRIx64, ev->proc.parent_entity);
		else
			set(r, f, NULL, 0);
		break;
	case DF_TERMINALSESSIONID:
		set_u64(r, f, ev->sessionid);
		break;
	case DF_HASHES:
		if (ev->sha256[0])
			set_fmt(r, f, "SHA256=%s", ev->sha256);
		else
			set(r, f, NULL, 0);
		break;
	case DF_TARGETFILENAME:
		set_str(r, f, ev->type == HN_EV_FILE_RENAME ? ev->path2 : ev->path);
		break;
	case DF_SOURCEFILENAME:
		set_str(r, f, ev->type == HN_EV_FILE_RENAME ? ev->path : NULL);
		break;
	case DF_INITIATED:
		set_str(r, f, inbound ? "false" : "true");
		break;
	case DF_PROTOCOL:
		set_str(r, f, ev->transport == 6 ? "tcp" : ev->transport == 17 ? "udp" : NULL);
		break;
	case DF_SOURCEIP:
		set_addr(r, f, src);
		break;
	case DF_SOURCEPORT:
		if (src->family)
			set_u64(r, f, src->port);
		else
			set(r, f, NULL, 0);
		break;
	case DF_SOURCEISIPV6:
		set_str(r, f, !src->family ? NULL : src->family == AF_INET6 ? "true" : "false");
		break;
	case DF_DESTINATIONIP:
		set_addr(r, f, dst);
		break;
	case DF_DESTINATIONPORT:
		if (dst->family)
			set_u64(r, f, dst->port);
		else
			set(r, f, NULL, 0);
		break;
	case DF_DESTINATIONISIPV6:
		set_str(r, f, !dst->family ? NULL : dst->family == AF_INET6 ? "true" : "false");
		break;
	case DF_DESTINATIONHOSTNAME:
		set_str(r, f, ev->type == HN_EV_NET_CONNECT || ev->type == HN_EV_NET_UDP_SEND ?
			      ev->dns_name : NULL);
		break;
	case DF_QUERYNAME:
		set_str(r, f, ev->dns_name);
		break;
	case DF_A_TYPE:
		set_str(r, f, r->audit_kind == DET_AUDIT_EXECVE ? "EXECVE" :
			      r->audit_kind == DET_AUDIT_SYSCALL ? "SYSCALL" : "PATH");
		break;
	case DF_A_SYSCALL:
		set_str(r, f, r->audit_kind == DET_AUDIT_SYSCALL ? syscall_of(ev) : NULL);
		break;
	case DF_A_ARGC:
		if (r->audit_kind == DET_AUDIT_EXECVE)
			set_u64(r, f, ev->argc);
		else
			set(r, f, NULL, 0);
		break;
	case DF_A_A0: case DF_A_A1: case DF_A_A2: case DF_A_A3: case DF_A_A4:
	case DF_A_A5: case DF_A_A6: case DF_A_A7: case DF_A_A8: case DF_A_A9:
		s = r->audit_kind == DET_AUDIT_EXECVE ?
		    arg_at(ev, (unsigned)(f - DF_A_A0), &n) : NULL;
		set(r, f, s, n);
		break;
	case DF_A_EXE:
		set_str(r, f, r->audit_kind == DET_AUDIT_SYSCALL ? image_of(ev) : NULL);
		break;
	case DF_A_COMM:
		set(r, f, r->audit_kind == DET_AUDIT_SYSCALL ? ev->proc.comm : NULL,
		    strnlen(ev->proc.comm, sizeof(ev->proc.comm)));
		break;
	case DF_A_NAME:
		set_str(r, f, r->audit_kind == DET_AUDIT_PATH ? ev->path :
			      r->audit_kind == DET_AUDIT_PATH2 ? ev->path2 : NULL);
		break;
	case DF_A_NAMETYPE:
		if (r->audit_kind == DET_AUDIT_PATH)
			set_str(r, f, ev->type == HN_EV_FILE_CREATE || ev->type == HN_EV_DIR_CREATE ?
				      "CREATE" : ev->type == HN_EV_FILE_DELETE ||
				      ev->type == HN_EV_DIR_DELETE || ev->type == HN_EV_FILE_RENAME ?
				      "DELETE" : "NORMAL");
		else if (r->audit_kind == DET_AUDIT_PATH2)
			set_str(r, f, "CREATE");
		else
			set(r, f, NULL, 0);
		break;
	case DF_A_UID:
		set_u64(r, f, ev->proc.uid);
		break;
	case DF_A_EUID:
		set_u64(r, f, ev->proc.euid);
		break;
	case DF_A_AUID:
		set_u64(r, f, ev->proc.auid);
		break;
	case DF_A_CWD:
		set_str(r, f, r->audit_kind == DET_AUDIT_SYSCALL ? ev->cwd : NULL);
		break;
	case DF_A_SUCCESS:
		set_str(r, f, r->audit_kind != DET_AUDIT_SYSCALL ? NULL :
			      (ev->flags & HN_EVF_FAILED) ? "no" : "yes");
		break;
	case DF_MESSAGE:
		if (ev->type == HN_EV_LOG && ev->args) {
			n = ev->args_len;
			while (n && ev->args[n - 1] == '\0')
				n--;
			set(r, f, ev->args, n);
		} else {
			set(r, f, NULL, 0);
		}
		break;
	case DF_PROGRAM:
		set_str(r, f, ev->type == HN_EV_LOG ? ev->name : NULL);
		break;
	case DF_SUDO_USER:
	case DF_SUDO_COMMAND:
	case DF_SUDO_PWD:
	case DF_SUDO_TTY: {
		static const char *const keys[] = { "USER", "COMMAND", "PWD", "TTY" };
		const struct hn_sm_str *m = det_rec_get(r, DF_MESSAGE);
		if (m->present && hn_logsrc_sudo_field(m->s, m->n, keys[f - DF_SUDO_USER], &s, &n))
			set(r, f, s, n);
		else
			set(r, f, NULL, 0);
		break;
	}
	case DF_A_KEY:
	case DF_A_UNIT:
	default:
		set(r, f, NULL, 0);
		break;
	}
}

bool det_field_static(int f, uint16_t type, int kind)
{
	switch (f) {
	case DF_A_TYPE:
	case DF_A_NAMETYPE:
	case DF_A_KEY:
	case DF_A_UNIT:
		return true;
	case DF_DESTINATIONHOSTNAME:
		return type != HN_EV_NET_CONNECT && type != HN_EV_NET_UDP_SEND;
	case DF_A_SYSCALL:
		return kind != DET_AUDIT_SYSCALL || type != HN_EV_PROC_MEM_WRITE;
	case DF_IMAGE_ALT:
		return type != HN_EV_PROCESS_START;
	case DF_SOURCEFILENAME:
		return type != HN_EV_FILE_RENAME;
	case DF_A_ARGC: case DF_A_A0: case DF_A_A1: case DF_A_A2: case DF_A_A3:
	case DF_A_A4: case DF_A_A5: case DF_A_A6: case DF_A_A7: case DF_A_A8:
	case DF_A_A9:
		return kind != DET_AUDIT_EXECVE;
	case DF_A_EXE: case DF_A_COMM: case DF_A_CWD: case DF_A_SUCCESS:
		return kind != DET_AUDIT_SYSCALL;
	case DF_A_NAME:
		return kind != DET_AUDIT_PATH && kind != DET_AUDIT_PATH2;
	case DF_MESSAGE: case DF_PROGRAM: case DF_SUDO_USER: case DF_SUDO_COMMAND:
	case DF_SUDO_PWD: case DF_SUDO_TTY:
		return type != HN_EV_LOG;
	default:
		return false;
	}
}

const struct hn_sm_str *det_rec_get(struct det_rec *r, int f)
{
	if (f < 0 || f >= DF_COUNT)
		return NULL;
	if (!(r->done[f / 64] & (1ULL << (f % 64)))) {
		compute(r, f);
		r->done[f / 64] |= 1ULL << (f % 64);
	}
	return &r->val[f];
}

unsigned det_keyword_fields(const struct det_rec *r, int *out, unsigned max)
{
	static const int proc[] = { DF_COMMANDLINE, DF_IMAGE, DF_PARENTCOMMANDLINE,
				    DF_PARENTIMAGE, DF_CURRENTDIRECTORY };
	static const int file[] = { DF_TARGETFILENAME, DF_SOURCEFILENAME, DF_IMAGE };
	static const int net[] = { DF_DESTINATIONIP, DF_DESTINATIONHOSTNAME, DF_SOURCEIP,
				   DF_IMAGE };
	static const int dns[] = { DF_QUERYNAME, DF_IMAGE };
	static const int aud[] = { DF_A_TYPE, DF_A_SYSCALL, DF_A_A0, DF_A_A1, DF_A_A2,
				   DF_A_A3, DF_A_A4, DF_A_A5, DF_A_A6, DF_A_A7, DF_A_A8,
				   DF_A_A9, DF_A_EXE, DF_A_COMM, DF_A_NAME, DF_A_CWD };
	static const int logl[] = { DF_MESSAGE };
	const int *l;
	unsigned n;

	switch (r->src) {
	case HN_DS_PROCESS_CREATION: l = proc; n = sizeof(proc) / sizeof(*proc); break;
	case HN_DS_FILE_EVENT:
	case HN_DS_FILE_RENAME:
	case HN_DS_FILE_DELETE:
	case HN_DS_FILE_CHANGE: l = file; n = sizeof(file) / sizeof(*file); break;
	case HN_DS_NETWORK_CONNECTION: l = net; n = sizeof(net) / sizeof(*net); break;
	case HN_DS_DNS_QUERY: l = dns; n = sizeof(dns) / sizeof(*dns); break;
	case HN_DS_AUDITD: l = aud; n = sizeof(aud) / sizeof(*aud); break;
	case HN_DS_SYSLOG: case HN_DS_AUTH: case HN_DS_SSHD: case HN_DS_SUDO:
	case HN_DS_CRON: case HN_DS_VSFTPD: case HN_DS_GUACAMOLE: case HN_DS_CLAMAV:
		l = logl; n = sizeof(logl) / sizeof(*logl); break;
	default: return 0;
	}
	if (n > max)
		n = max;
	memcpy(out, l, n * sizeof(*out));
	return n;
}
