#!/bin/sh
# benign_workload.sh STEP SCRATCH [ARG] - one step of the benign-activity
# workload of tests/integration/test_benign.c: ordinary admin and developer
# work that hinomi's rules must not take for an attack.
#
#   apt     SCRATCH        build two versions of a dummy .deb (hinomi-benign-test),
#                          install the first with apt, upgrade to the second, purge
#   kbuild  SCRATCH        a kernel-style C build (~150 files, recursive make -j2,
#                          per-object .cmd files, thin archives, ld -r), then make clean
#   git     SCRATCH REPO   git clone --no-local of REPO, git log -1, git status
#   tests   SCRATCH BUILD  a few of the build's unit test programs (run from the
#                          repository's root, the current directory)
#   ssh     SCRATCH        a private sshd on 127.0.0.1 (a free port, its own config
#                          and host key in SCRATCH), one root login with a key made in
#                          SCRATCH, the sshd stopped by its pid; its log (-E) is then
#                          appended to SCRATCH/auth.log in rsyslog's format
#   control SCRATCH        not benign: a copy of true run from SCRATCH (under /tmp), which
#                          our rule for execution from /tmp catches (the test's proof
#                          that it sees and attributes alerts at all)
#   cleanup SCRATCH        put the host back whatever happened: purge the package,
#                          stop the private sshd, remove /run/sshd if we made it
#
# Offline: nothing is downloaded (apt installs local .deb files without dependencies).
# Host changes, all undone by the step itself and again by `cleanup`: the
# package's files (/usr/share/hinomi-benign-test, its dpkg records; the
# ldconfig trigger rebuilds /etc/ld.so.cache as it was), /run/sshd and
# /run/motd.dynamic (removed after when they were not there).  What stays
# is what any such work leaves: lines in apt's and dpkg's logs.  The login
# runs a command without a tty, so wtmp and lastlog get nothing.
# /root/.ssh is not touched: the authorised key, host key and known_hosts
# are in SCRATCH.  Every command is bounded by timeout.
set -eu

step=$1
S=$2
PKG=hinomi-benign-test
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

case "$S" in
/tmp/hinomi-*) ;;
*) echo "benign_workload: $S is not a scratch directory" >&2; exit 2 ;;
esac

# apt-get, offline: local .deb files that depend on nothing, so there is
# nothing to fetch (--no-download would say so, but apt 2.6 then refuses
# local files: "Pathname to install is not absolute"); no list update; a
# fetch tried by mistake fails fast instead of waiting on the network; a
# dpkg lock someone else holds is waited for (bounded).
apt_get() {
	timeout 45 apt-get -y -q --no-install-recommends \
		-o Acquire::Retries=0 -o Acquire::http::Timeout=5 -o Acquire::https::Timeout=5 \
		-o DPkg::Lock::Timeout=30 \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

# make_deb VERSION: $S/apt/$PKG_VERSION_all.deb
make_deb() {
	v=$1
	r=$S/apt/root-$v
	mkdir -p "$r/DEBIAN" "$r/usr/share/$PKG" "$r/usr/share/doc/$PKG"
	cat > "$r/DEBIAN/control" <<EOF
Package: $PKG
Version: $v
Architecture: all
Maintainer: hinomi tests <tests@hinomi.invalid>
Section: misc
Priority: optional
Description: hinomi benign-activity test package
 Installed, upgraded and purged by hinomi's test_benign; safe to purge.
EOF
	cat > "$r/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	mkdir -p /usr/share/hinomi-benign-test/state
	echo "configured from '${2:-none}'" > /usr/share/hinomi-benign-test/state/configured
fi
EOF
	cat > "$r/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
	rm -rf /usr/share/hinomi-benign-test/state
	rmdir /usr/share/hinomi-benign-test 2>/dev/null || true
fi
EOF
	# what library packages do: the libc-bin trigger runs ldconfig
	echo "activate-noawait ldconfig" > "$r/DEBIAN/triggers"
	chmod 0755 "$r/DEBIAN/postinst" "$r/DEBIAN/postrm"
	echo "hinomi benign test data, version $v" > "$r/usr/share/$PKG/data.txt"
	printf 'hinomi-benign-test %s\n\n  * A test package.\n' "$v" |
		gzip -9n > "$r/usr/share/doc/$PKG/changelog.gz"
	timeout 30 dpkg-deb --root-owner-group -Zgzip --build "$r" \
		"$S/apt/${PKG}_${v}_all.deb" > /dev/null
}

step_apt() {
	mkdir -p "$S/apt"
	make_deb 1.0
	make_deb 1.1
	cd "$S/apt"
	apt_get install "$S/apt/${PKG}_1.0_all.deb"
	test "$(dpkg-query -W -f='${Version}' $PKG)" = 1.0
	apt_get install "$S/apt/${PKG}_1.1_all.deb"
	test "$(dpkg-query -W -f='${Version}' $PKG)" = 1.1
	grep -q "from '1.0'" /usr/share/$PKG/state/configured
	apt_get purge $PKG
	if dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -q installed; then
		echo "$PKG still installed after the purge" >&2
		exit 1
	fi
	test ! -e /usr/share/$PKG
}

# ---- a kernel-style build ----

KDIRS="kernel mm fs drivers net lib"
KFILES=25

kbuild_tree() {
	k=$1
	mkdir -p "$k/scripts" "$k/include/linux" "$k/init"
	cat > "$k/scripts/mkversion.sh" <<'EOF'
#!/bin/sh
# mkversion.sh CC: the generated version header (as mkcompile_h does)
cat <<EOT
/* generated by scripts/mkversion.sh: do not edit */
#define HB_COMPILE_BY "$(whoami)"
#define HB_COMPILE_HOST "$(uname -n | tr -d '"')"
#define HB_UTS_RELEASE "$(uname -r)"
#define HB_COMPILER "$($1 -dumpfullversion 2>/dev/null || $1 -dumpversion)"
#define HB_NR_UNITS $(ls */[a-z]*.c | wc -l)
EOT
EOF
	cat > "$k/include/linux/hb.h" <<'EOF'
#ifndef HB_H
#define HB_H
#include <stddef.h>
#include <stdint.h>
#define hb_array_size(a) (sizeof(a) / sizeof((a)[0]))
static inline uint32_t hb_mix(uint32_t h, uint32_t v)
{
	h ^= v;
	return h * 0x9e3779b1u;
}
#endif
EOF
	# scripts/Makefile.build: one directory's objects, a .cmd file per
	# object (the command and the dependencies gcc -MD found), a thin archive
	cat > "$k/scripts/Makefile.build" <<'EOF'
obj-y :=
include $(obj)/Makefile
objs := $(addprefix $(obj)/,$(obj-y))

$(obj)/built-in.a: $(objs)
	@echo '  AR      $@'
	@rm -f $@
	@$(AR) cDPrST $@ $(objs)

$(obj)/%.o: $(obj)/%.c include/generated/version.h
	@echo '  CC      $@'
	@$(CC) $(KBUILD_CFLAGS) -Wp,-MD,$(dir $@).$(notdir $@).d -c -o $@ $<
	@{ echo 'savedcmd_$@ := $(CC) $(KBUILD_CFLAGS) -c -o $@ $<'; echo; \
	   sed -e 's/^/  /' $(dir $@).$(notdir $@).d; } > $(dir $@).$(notdir $@).cmd
	@rm -f $(dir $@).$(notdir $@).d
EOF
	cat > "$k/Makefile" <<EOF
KDIRS := init $KDIRS
CC ?= gcc
AR ?= ar
LD ?= ld
KBUILD_CFLAGS := -O2 -Wall -Wextra -Werror -Iinclude -include include/generated/version.h
export CC AR LD KBUILD_CFLAGS

all: vmlinux

include/generated/version.h: scripts/mkversion.sh
	@mkdir -p include/generated
	@echo '  GEN     \$@'
	@\$(SHELL) scripts/mkversion.sh \$(CC) > \$@.tmp && mv \$@.tmp \$@

\$(addsuffix /built-in.a,\$(KDIRS)): include/generated/version.h FORCE
	@\$(MAKE) -f scripts/Makefile.build obj=\$(@D)

vmlinux.o: \$(addsuffix /built-in.a,\$(KDIRS))
	@echo '  LD      \$@'
	@\$(LD) -r -o \$@ --whole-archive \$^ --no-whole-archive

vmlinux: vmlinux.o
	@echo '  LINK    \$@'
	@\$(CC) -o \$@ \$<
	@echo 'Kernel: \$@ is ready'

clean:
	@echo '  CLEAN'
	@find . \\( -name '*.o' -o -name '*.a' -o -name '.*.cmd' -o -name '.*.d' \\) -delete
	@rm -rf vmlinux include/generated

.PHONY: all clean FORCE
FORCE:
EOF
	calls=""
	for d in $KDIRS; do
		mkdir -p "$k/$d"
		objs=""
		i=0
		while [ $i -lt $KFILES ]; do
			cat > "$k/$d/${d}_$i.c" <<EOF
#include <linux/hb.h>

static const uint32_t ${d}_${i}_table[] = { $i, $((i * 7 + 3)), $((i * 13 + 5)), HB_NR_UNITS };

uint32_t ${d}_${i}_init(uint32_t seed)
{
	uint32_t h = seed;

	for (size_t k = 0; k < hb_array_size(${d}_${i}_table); k++)
		h = hb_mix(h, ${d}_${i}_table[k]);
	return h;
}
EOF
			objs="$objs ${d}_$i.o"
			calls="$calls ${d}_${i}_init"
			i=$((i + 1))
		done
		echo "obj-y := $objs" > "$k/$d/Makefile"
	done
	{
		echo '#include <stdio.h>'
		echo '#include <linux/hb.h>'
		for c in $calls; do echo "uint32_t $c(uint32_t seed);"; done
		echo 'int main(void)'
		echo '{'
		echo '	uint32_t h = 1;'
		for c in $calls; do echo "	h = $c(h);"; done
		printf '%s\n' '	printf("hb %s by %s: %08x\n", HB_UTS_RELEASE, HB_COMPILE_BY, h);'
		echo '	return 0;'
		echo '}'
	} > "$k/init/main.c"
	echo "obj-y := main.o" > "$k/init/Makefile"
}

step_kbuild() {
	k=$S/kbuild
	kbuild_tree "$k"
	cd "$k"
	timeout 80 make -j2 > "$S/kbuild.log" 2>&1 || { tail -n 40 "$S/kbuild.log"; exit 1; }
	test -x vmlinux
	timeout 30 make clean >> "$S/kbuild.log"
	test ! -e vmlinux
}

step_git() {
	repo=$3
	cd "$S"
	timeout 45 git clone -q --no-local "$repo" "$S/clone"
	timeout 10 git -C "$S/clone" log -1 > /dev/null
	timeout 10 git -C "$S/clone" status > /dev/null
}

step_tests() {
	build=$3
	for t in test_event test_store test_sigma; do
		timeout 45 "$build/tests/unit/$t" > "$S/unit-$t.log" 2>&1 ||
			{ tail -n 40 "$S/unit-$t.log"; exit 1; }
	done
}

# ---- ssh ----

sshd_pid() {
	p=$(cat "$S/ssh/sshd.pid" 2>/dev/null) || return 1
	# still our sshd (not a pid reused since)
	tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF "$S/ssh/sshd_config" || return 1
	echo "$p"
}

sshd_stop() {
	p=$(sshd_pid) || return 0
	kill "$p"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.2
	done
	kill -9 "$p" 2>/dev/null || true
}

# /run/sshd and /run/motd.dynamic removed again if they were not there
run_sshd_release() {
	if [ -e "$S/made-run-sshd" ]; then
		rmdir /run/sshd 2>/dev/null || true
		rm -f "$S/made-run-sshd"
	fi
	if [ -e "$S/no-motd-dynamic" ]; then
		rm -f /run/motd.dynamic "$S/no-motd-dynamic"
	fi
}

step_ssh() {
	e=$S/ssh
	umask 077
	mkdir "$e"
	# sshd needs its privilege separation directory (the service makes it)
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd
		: > "$S/made-run-sshd"
	fi
	# the login's pam_motd writes /run/motd.dynamic: removed after if new
	[ -e /run/motd.dynamic ] || : > "$S/no-motd-dynamic"
	timeout 20 ssh-keygen -q -t ed25519 -N '' -C hinomi-benign-host -f "$e/host_ed25519"
	timeout 20 ssh-keygen -q -t ed25519 -N '' -C hinomi-benign-user -f "$e/user_ed25519"
	cp "$e/user_ed25519.pub" "$e/authorized_keys"
	port=$(timeout 5 python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat > "$e/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $e/host_ed25519
PidFile $e/sshd.pid
AuthorizedKeysFile $e/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# Debian's defaults for a login: PAM sessions, no motd printed by sshd
UsePAM yes
PrintMotd no
# the key lives under /tmp (world-writable): the ownership check of its path would refuse it
StrictModes no
LogLevel INFO
EOF
	timeout 10 /usr/sbin/sshd -t -f "$e/sshd_config"
	timeout 10 /usr/sbin/sshd -f "$e/sshd_config" -E "$e/sshd.log"
	# sshd forks into the background and writes its pid file when listening
	for _ in $(seq 50); do
		sshd_pid > /dev/null && break
		sleep 0.1
	done
	sshd_pid > /dev/null || { cat "$e/sshd.log" >&2; exit 1; }
	rc=0
	timeout 30 ssh -F /dev/null -i "$e/user_ed25519" -p "$port" -o BatchMode=yes \
		-o ConnectTimeout=10 -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile="$e/known_hosts" root@127.0.0.1 'id; uname -a' \
		> "$e/out" 2>"$e/err" || rc=$?
	pid=$(sshd_pid) || pid=0
	sshd_stop
	run_sshd_release
	# what the host's syslog would have written to auth.log (rsyslog's
	# format on Debian 12), in the file the agent follows: the sshd of the
	# test logged to a file of its own (-E), as the host may have no syslog
	awk -v ts="$(date +%Y-%m-%dT%H:%M:%S.%6N%:z)" -v host="$(uname -n)" -v pid="$pid" \
		'{ sub(/\r$/, ""); printf "%s %s sshd[%s]: %s\n", ts, host, pid, $0 }' \
		"$e/sshd.log" >> "$S/auth.log"
	if [ "$rc" -ne 0 ] || ! grep -q 'uid=0(root)' "$e/out"; then
		cat "$e/err" "$e/sshd.log" >&2
		exit 1
	fi
}

step_cleanup() {
	sshd_stop
	run_sshd_release
	if dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -q installed ||
	   dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -q config-files; then
		apt_get purge $PKG > /dev/null || true
	fi
}

step_control() {
	cp /bin/true "$S/hinomi-benign-control"
	"$S/hinomi-benign-control"
}

case "$step" in
apt) step_apt ;;
control) step_control ;;
kbuild) step_kbuild ;;
git) step_git "$@" ;;
tests) step_tests "$@" ;;
ssh) step_ssh ;;
cleanup) step_cleanup ;;
*) echo "benign_workload: no step $step" >&2; exit 2 ;;
esac
