#!/bin/sh
# install-deps.sh - install the Debian packages hinomi builds and runs with.
# Idempotent: installs only what is missing; touches nothing else.
# Each package and what it is for is listed in README.md ("Dependencies").
set -eu

PKGS="
make
gcc
clang
llvm
libbpf-dev
bpftool
libelf-dev
zlib1g-dev
libsqlite3-dev
sqlite3
libssl-dev
libcmocka-dev
libyaml-dev
libpcre2-dev
libjansson-dev
libgraphviz-dev
libnftables-dev
nftables
iproute2
libyara-dev
yara
pkg-config
libclang-rt-14-dev
python3
openssh-client
openssh-server
git
"
# Hyperscan: the rule engine's literal prefilter; Debian has it for amd64
case "$(dpkg --print-architecture 2>/dev/null)" in
amd64) PKGS="$PKGS libhyperscan-dev" ;;
esac

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# openssh-server is here for sshd(8) itself: the benign-activity test
# (tests/integration/test_benign.c) runs a private sshd of its own on
# 127.0.0.1 and stops it.  Installing the package must not leave a system
# sshd behind that was not there before, so when it is newly installed,
# Debian's documented switch /etc/ssh/sshd_not_to_be_run is made first:
# while it exists the ssh service (systemd unit, socket or sysvinit script)
# neither starts from the package's postinst nor at boot, and an sshd run
# by hand is unaffected.  An admin who wants the service removes the file.
# A host that already has openssh-server is left as it is.
case " $missing " in
*" openssh-server "*)
	mkdir -p /etc/ssh
	[ -e /etc/ssh/sshd_not_to_be_run ] ||
		echo "made by hinomi's scripts/install-deps.sh: the ssh service stays off" \
			"(remove this file to let it start)" > /etc/ssh/sshd_not_to_be_run
	;;
esac
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
