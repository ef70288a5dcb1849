#!/bin/sh
# run.sh BUILD - `make bench`: the agent's cost on four workloads.
#
# Each workload (exec storm, file churn, loopback TCP, small parallel C
# build) runs once to warm up, then PAIRS times without and with the agent,
# in ABBA order (without-with, with-without, ...).  Every "with" run starts a fresh agent on the workload's
# store: the first run creates it, the later ones add to it, as a host's
# agent restarting on its store does (what it learnt, such as the hashes of
# the compilers, stays learnt; the store grows).  Only the run's own rows
# (id above the store's last id at its start) are counted.  The workload
# starts once the agent's ready file exists.  After it, the store is
# polled until the workload's own events are all there (or 5 s pass), then
# the agent is stopped (SIGTERM, SIGKILL after STOP_S seconds).
# bench/README.md explains the output.
#
# Knobs (environment): BENCH_PAIRS (5), BENCH_EXEC_N (3000),
# BENCH_FILES_N (20000), BENCH_TCP_N (10000), BENCH_BUILD_FILES (24),
# BENCH_STOP_S (20), BENCH_ONLY ("exec files tcp build scan"), BENCH_NO_RULES (0;
# 1: the agent matches no rules), BENCH_SCAN_RUNS (5).
#
# "scan" in BENCH_ONLY runs bench/scan.sh first (`hinomi scan` against
# `yara -r`, no agent running); BENCH_ONLY=scan runs that alone.
#
# Bounds: every loop has a count; every workload runs under `timeout`;
# the agent runs with --duration as a last resort and is stopped by the EXIT
# trap whatever happens.  Only processes this script started are signalled,
# by pid.  Everything lives in one mktemp directory under /tmp, removed at
# exit.  Needs root (the agent loads BPF programs).
set -u

BUILD=${1:-build}
PAIRS=${BENCH_PAIRS:-5}
N_EXEC=${BENCH_EXEC_N:-3000}
N_FILES=${BENCH_FILES_N:-20000}
N_TCP=${BENCH_TCP_N:-10000}
N_BUILD=${BENCH_BUILD_FILES:-24}
STOP_S=${BENCH_STOP_S:-20}
ONLY=${BENCH_ONLY:-exec files tcp build scan}
# the agent's workloads: ONLY without "scan"
AGENT_ONLY=
for w in $ONLY; do [ "$w" = scan ] || AGENT_ONLY="$AGENT_ONLY $w"; done
COUNT_MS=5000          # how long the store may take to show the events
READY_S=30             # how long the agent may take to start
WL_TIMEOUT=180         # any single workload run, seconds

# targets: printed beside the figures, never fatal
T_EXEC=1.05; T_FILES=1.30; T_TCP=1.25; T_BUILD=1.03
T_CPU=5; T_RSS_MB=64

# A `make bench` run must not leak the outer make's jobserver into the build.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS

die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (the agent loads BPF programs)"
for t in gcc make timeout awk; do
	command -v "$t" >/dev/null 2>&1 || die "$t is missing"
done
HINOMI=$(cd "$(dirname "$BUILD/hinomi")" 2>/dev/null && pwd -P)/hinomi
[ -x "$HINOMI" ] || die "$BUILD/hinomi is not built (make build)"
case $PAIRS in ''|*[!0-9]*) die "BENCH_PAIRS wants a number" ;; esac
[ "$PAIRS" -ge 1 ] && [ "$PAIRS" -le 50 ] || die "BENCH_PAIRS wants 1..50"

WL=$(dirname "$HINOMI")/bench/workload
mkdir -p "$(dirname "$WL")" || die "cannot create $(dirname "$WL")"
# it reads the store through hinomi's own store code (events is a virtual
# table over packed blocks, which the sqlite3 shell cannot read)
OBJ=$(dirname "$HINOMI")/obj
gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Isrc -o "$WL" bench/workload.c \
	"$OBJ"/store/*.o "$OBJ"/event/*.o "$OBJ"/util/*.o -lsqlite3 -ljansson -lcrypto -lpthread ||
	die "cannot build bench/workload.c"

# Another agent recording meanwhile would double the sensor's cost in
# every "with" run (and show in the "without" ones): refuse.
for c in /proc/[0-9]*/cmdline; do
	if tr '\0' ' ' <"$c" 2>/dev/null | grep -q '^[^ ]*hinomi agent'; then
		p=${c#/proc/}; p=${p%/cmdline}
		die "another hinomi agent is running (pid $p): stop it first"
	fi
done

# Every rule we can load, as the issue's targets ask: ours and the SigmaHQ
# Linux corpus when it is beside the repository.
RULE_PATHS=
[ -d rules ] && RULE_PATHS=rules
CORPUS=${HINOMI_SIGMA_CORPUS:-../shared/corpus/sigma-linux}
for d in rules rules-emerging-threats rules-threat-hunting; do
	[ -d "$CORPUS/$d" ] && RULE_PATHS="$RULE_PATHS $CORPUS/$d"
done
RULE_ARGS=
for p in $RULE_PATHS; do RULE_ARGS="$RULE_ARGS --rules $p"; done
# BENCH_NO_RULES=1: the agent matches no rules (what the rules cost is
# then the difference with a normal run); the engine is still measured
if [ "${BENCH_NO_RULES:-0}" = 1 ]; then
	RULE_ARGS="--no-rules --no-ioc"
fi

TMP=$(mktemp -d /tmp/hinomi-bench.XXXXXX) || die "mktemp failed"
TMP=$(cd "$TMP" && pwd -P)
RES=$TMP/results
: >"$RES"
TRUE_EXE=$(readlink -f /bin/true)

AGENT_PID=
AGENT_DB=
MIXS=
STOP_HOW=
STOP_MS=0

# ---- the agent ----

# Stop the agent we started: SIGTERM, then SIGKILL after $1 seconds.
# Sets STOP_HOW (clean|killed|gone) and STOP_MS.
stop_agent() {
	STOP_HOW=gone
	STOP_MS=0
	[ -n "$AGENT_PID" ] || return 0
	t0=$(date +%s%N)
	deadline=$((t0 + $1 * 1000000000))
	if kill -TERM "$AGENT_PID" 2>/dev/null; then
		STOP_HOW=clean
		k=0 exited=0
		while [ $k -lt $(( $1 * 20 + 20 )) ]; do
			st=$(awk '{ print $3 }' "/proc/$AGENT_PID/stat" 2>/dev/null)
			if [ -z "$st" ] || [ "$st" = Z ]; then
				exited=1
				break
			fi
			[ "$(date +%s%N)" -lt $deadline ] || break
			sleep 0.05
			k=$((k + 1))
		done
		if [ $exited -eq 0 ]; then
			kill -KILL "$AGENT_PID" 2>/dev/null
			STOP_HOW=killed
		fi
	fi
	wait "$AGENT_PID" 2>/dev/null
	STOP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	AGENT_PID=
}

cleanup() {
	if [ -n "$AGENT_PID" ]; then
		echo "bench: stopping the agent (pid $AGENT_PID)" >&2
		stop_agent 10
	fi
	if [ -n "$MIXS" ]; then
		sh tests/integration/benign_workload.sh cleanup "$MIXS" >/dev/null 2>&1
		rm -rf "$MIXS"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Start a fresh agent on the store named $1 (created by the first start)
# and wait until it records; with $2 "norules", matching no rules.  Sets
# ID0: the store's last event id then.
start_agent() {
	d=$TMP/agent.$1
	mkdir -p "$d" || die "mkdir $d"
	rm -f "$d/ready"
	AGENT_DB=$d/hinomi.db
	args=$RULE_ARGS
	[ "${2:-}" = norules ] && args="--no-rules --no-ioc"
	# shellcheck disable=SC2086
	"$HINOMI" agent --db "$AGENT_DB" --quiet --ready-file "$d/ready" \
		--duration 600 $args >"$d/log" 2>&1 &
	AGENT_PID=$!
	k=0
	while [ ! -e "$d/ready" ]; do
		st=$(awk '{ print $3 }' "/proc/$AGENT_PID/stat" 2>/dev/null)
		if [ -z "$st" ] || [ "$st" = Z ] || [ $k -ge $((READY_S * 20)) ]; then
			cat "$d/log" >&2
			die "the agent did not start (see above)"
		fi
		sleep 0.05
		k=$((k + 1))
	done
	ID0=$("$WL" sql "$AGENT_DB" \
		"SELECT COALESCE(max(last_id), 0) FROM event_blocks") || die "cannot read $AGENT_DB"
}

# CPU time of all the agent's threads, in ns (schedstat: the scheduler's
# own count; /proc/PID/stat's clock ticks are 10 ms, too coarse for the
# build workload's few hundred events)
cpu_ns() {
	cat "/proc/$1/task/"*/schedstat 2>/dev/null |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- the workloads ----
# wl_prepare W: once; wl_reset W: before every run (untimed, no agent);
# wl_cmd W: the timed command; wl_query W: SQL (one row) and expectations,
# set after a run from its WL line (pid, port).

wl_prepare() {
	case $1 in
	files) mkdir -p "$TMP/files" ;;
	build)
		mkdir -p "$TMP/build"
		"$WL" gen "$TMP/build" "$N_BUILD" || die "cannot generate the build"
		# How many programs does the build exec, and how many files does
		# it create?  Once, untraced by the agent.
		BUILD_EXECS=
		if command -v strace >/dev/null 2>&1; then
			(cd "$TMP/build" && timeout "$WL_TIMEOUT" strace -f -c -e trace=execve \
				-o "$TMP/strace.txt" make -j2 >/dev/null) ||
				die "the traced build failed"
			BUILD_EXECS=$(awk '$NF == "execve" {
				print (NF >= 6 ? $4 - $5 : $4) }' "$TMP/strace.txt")
			BUILD_HOW="strace"
		fi
		if [ -z "$BUILD_EXECS" ]; then
			(cd "$TMP/build" && timeout "$WL_TIMEOUT" make -j2 >/dev/null) ||
				die "the build failed"
			# make + (gcc, cc1, as) per file + (gcc, collect2, ld)
			BUILD_EXECS=$((1 + 3 * N_BUILD + 3))
			BUILD_HOW="formula"
		fi
		# everything but the sources and the Makefile was created
		BUILD_CREATES=$(( $(ls "$TMP/build" | wc -l) - N_BUILD - 1 ))
		(cd "$TMP/build" && make clean >/dev/null) || die "make clean failed"
		;;
	esac
}

wl_reset() {
	case $1 in
	files) rm -f "$TMP/files"/* ;;
	build) (cd "$TMP/build" && make clean >/dev/null) || die "make clean failed" ;;
	esac
}

wl_cmd() {
	case $1 in
	exec) timeout "$WL_TIMEOUT" "$WL" exec "$N_EXEC" ;;
	files) timeout "$WL_TIMEOUT" "$WL" files "$TMP/files" "$N_FILES" ;;
	tcp) timeout "$WL_TIMEOUT" "$WL" tcp "$N_TCP" ;;
	build) timeout "$WL_TIMEOUT" "$WL" run "$TMP/build" make -j2 ;;
	esac
}

# Sets SQL, EXPECT (per column) and EVENTS (the events among the columns).
# Only this run's rows: id above ID0.
wl_query() {
	new="id > $ID0"
	case $1 in
	exec)
		SQL="SELECT
		 (SELECT count(*) FROM events WHERE $new AND type = 1 AND ppid = $W_pid AND path = '$TRUE_EXE'),
		 (SELECT count(*) FROM events WHERE $new AND type = 2 AND ppid = $W_pid),
		 (SELECT count(*) FROM events WHERE $new AND type = 3 AND ppid = $W_pid)"
		EXPECT="$N_EXEC $N_EXEC $N_EXEC"
		EVENTS=3 ;;
	files)
		inp="$new AND path >= '$TMP/files/' AND path < '$TMP/files0'"
		SQL="SELECT
		 (SELECT count(*) FROM events WHERE type = 10 AND $inp),
		 (SELECT count(*) FROM events WHERE type = 12 AND $inp),
		 (SELECT count(*) FROM events WHERE type = 13 AND $inp),
		 (SELECT count(*) FROM events WHERE type = 10 AND $inp AND flags & 32)"
		EXPECT="$N_FILES $N_FILES $N_FILES $N_FILES"
		EVENTS=3 ;;   # the 4th column is the written flag, not an event
	tcp)
		SQL="SELECT
		 (SELECT count(*) FROM events WHERE $new AND type = 30 AND pid = $W_pid AND dst_port = $W_port),
		 (SELECT count(*) FROM events WHERE $new AND type = 31 AND pid = $W_pid AND src_port = $W_port)"
		EXPECT="$N_TCP $N_TCP"
		EVENTS=2 ;;
	build)
		inp="$new AND path >= '$TMP/build/' AND path < '$TMP/build0'"
		SQL="SELECT
		 (SELECT count(*) FROM events WHERE $new AND type = 1 AND cwd = '$TMP/build'),
		 (SELECT count(*) FROM events WHERE type = 10 AND $inp)"
		EXPECT="$BUILD_EXECS $BUILD_CREATES"
		EVENTS=2 ;;
	esac
}

# Parse a "KEY k=v k=v" line into W_k / C_k variables (numbers only).
parse_kv() {
	prefix=$1; shift
	for kv in "$@"; do
		case $kv in
		*=*)
			k=${kv%%=*}; v=${kv#*=}
			case $v in ''|*[!0-9.]*) continue ;; esac
			case $k in ''|*[!a-z0-9_]*) continue ;; esac
			eval "${prefix}_$k=\$v" ;;
		esac
	done
}

# One timed run of workload $1, $2 = without|with, $3 = index.
run_one() {
	w=$1; mode=$2; i=$3
	W_ns=; W_pid=; W_port=0; W_end_mono=0
	wl_reset "$w"
	if [ "$mode" = with ]; then
		start_agent "$w"
		cpu0=$(cpu_ns "$AGENT_PID")
		rt0=$(date +%s%N)
	fi
	out=$(wl_cmd "$w") || die "workload $w failed ($mode, run $i)"
	set -- $out
	[ "${1:-}" = WL ] || die "workload $w: unexpected output: $out"
	shift
	parse_kv W "$@"
	ms=$(awk -v ns="$W_ns" 'BEGIN { printf "%.1f", ns / 1e6 }')
	if [ "$mode" = without ]; then
		echo "RUN w=$w mode=without i=$i ms=$ms" >>"$RES"
		printf '  %-6s %-7s run %d: %9s ms\n' "$w" "$mode" "$i" "$ms"
		return 0
	fi

	wl_query "$w"
	# shellcheck disable=SC2086
	cnt=$("$WL" count "$AGENT_DB" "$COUNT_MS" "$W_end_mono" "$SQL" $EXPECT) ||
		die "counting failed"
	cpu1=$(cpu_ns "$AGENT_PID")
	rss=$(hwm_kb "$AGENT_PID")
	set -- $cnt
	shift
	C_reached=0; C_ms=0; C_c0=0; C_c1=0; C_c2=0; C_c3=0
	parse_kv C "$@"
	cols=$C_c0; k=1
	while [ $k -lt "$(echo $EXPECT | wc -w)" ]; do
		eval "cols=\$cols,\$C_c$k"
		k=$((k + 1))
	done
	stop_agent "$STOP_S"

	# what the store holds now (complete when the agent stopped cleanly)
	win=$("$WL" sql "$AGENT_DB" \
		"SELECT count(*) FROM events WHERE id > $ID0 AND time >= $rt0" 2>/dev/null || echo 0)
	gaps=$("$WL" sql "$AGENT_DB" \
		"SELECT count(*), CAST(total(gap_dropped) AS INTEGER), CAST(total(gap_queue) AS INTEGER)
		 FROM events WHERE id > $ID0 AND type = 50" 2>/dev/null || echo "0 0 0")
	js=$("$HINOMI" status --db "$AGENT_DB" --json 2>/dev/null || true)
	qdrop=$(printf '%s' "$js" | sed -n 's/.*"store":{[^}]*"dropped":\([0-9]*\).*/\1/p')
	kdrop=$(printf '%s' "$js" | sed -n 's/.*"kernel":\[\([^]]*\)\].*/\1/p' |
		grep -o '"dropped":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }')
	final=$("$WL" sql "$AGENT_DB" "$SQL" 2>/dev/null || echo "")

	got=0; exp=0; k=0
	for e in $EXPECT; do
		k=$((k + 1))
		[ $k -le "$EVENTS" ] || break
		exp=$((exp + e))
		eval "got=\$((got + \${C_c$((k - 1))}))"
	done
	cpu_ms=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	set -- $gaps
	echo "RUN w=$w mode=with i=$i ms=$ms exp=$exp got=$got reached=$C_reached" \
		"reach_ms=$C_ms c=$cols" \
		"final=$(echo "$final" | tr ' ' ',')" \
		"cpu_ms=$cpu_ms win=$win rss_kb=$rss stop=$STOP_HOW stop_ms=$STOP_MS" \
		"gap_rows=$1 kdrop=${kdrop:-0} qdrop=${qdrop:-0}" >>"$RES"
	printf '  %-6s %-7s run %d: %9s ms   events %d/%d in %s ms   agent %s ms CPU, %d MB, stop %s (%d ms)\n' \
		"$w" "$mode" "$i" "$ms" "$got" "$exp" "$C_ms" "$cpu_ms" "$((rss / 1024))" \
		"$STOP_HOW" "$STOP_MS"
}

# ---- main ----

echo "hinomi bench: $PAIRS pairs per workload, $(nproc) CPUs, Linux $(uname -r)"
echo "agent: $HINOMI"
echo

# ---- scanning: hinomi scan against yara -r (bench/scan.sh; no agent) ----
case " $ONLY " in
*" scan "*)
	sh bench/scan.sh "$HINOMI" "$TMP/scan" | tee -a "$RES"
	rm -rf "$TMP/scan"
	[ -n "$AGENT_ONLY" ] || exit 0
	echo
	;;
esac

# The agent's cost when nothing happens, for reading the rest.
# (after its first seconds: at start it hashes the running executables)
start_agent idle
sleep 3
i0=$(cpu_ns "$AGENT_PID")
sleep 5
i1=$(cpu_ns "$AGENT_PID")
IDLE_RSS=$(hwm_kb "$AGENT_PID")
stop_agent "$STOP_S"
IDLE_MS=$(awk -v a="$i0" -v b="$i1" 'BEGIN { printf "%.1f", (b - a) / 1e6 / 5 }')
echo "idle agent: $IDLE_MS ms CPU per second, peak RSS $((IDLE_RSS / 1024)) MB, stop $STOP_HOW ($STOP_MS ms)"
echo "IDLE cpu_ms_per_s=$IDLE_MS rss_kb=$IDLE_RSS" >>"$RES"

BUILD_EXECS=0; BUILD_CREATES=0; BUILD_HOW=-
for w in $AGENT_ONLY; do
	case $w in exec|files|tcp|build) ;; *) die "unknown workload $w" ;; esac
	echo
	echo "== $w"
	wl_prepare "$w"
	wl_reset "$w"
	wl_cmd "$w" >/dev/null || die "workload $w failed (warm-up)"
	# ABBA order (without, with, with, without, ...): a drift over the
	# runs (file churn slows each next run: ext4 skips the inodes deleted
	# in the last minutes when it allocates) weighs on both sides alike
	i=1
	while [ $i -le "$PAIRS" ]; do
		if [ $((i % 2)) -eq 1 ]; then
			run_one "$w" without $i
			run_one "$w" with $i
		else
			run_one "$w" with $i
			run_one "$w" without $i
		fi
		i=$((i + 1))
	done
done
wl_reset files 2>/dev/null

# ---- report ----

awk -v t_exec="$T_EXEC" -v t_files="$T_FILES" -v t_tcp="$T_TCP" \
    -v t_build="$T_BUILD" -v t_cpu="$T_CPU" -v t_rss="$T_RSS_MB" \
    -v n_exec="$N_EXEC" -v n_files="$N_FILES" -v n_tcp="$N_TCP" -v n_build="$N_BUILD" \
    -v build_execs="$BUILD_EXECS" -v build_creates="$BUILD_CREATES" -v build_how="$BUILD_HOW" \
    -v count_ms="$COUNT_MS" -v only="$ONLY" -v pairs="$PAIRS" '
function kv(line, key,    m) {
	if (match(line, " " key "=[^ ]*")) {
		m = substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
		return m
	}
	return ""
}
function median(arr, n,    i, j, t, b) {
	for (i = 1; i <= n; i++) b[i] = arr[i]
	for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
	if (n == 0) return 0
	return (n % 2) ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
}
function mark(ok) { return ok ? "ok" : "MISS" }
/^IDLE / { idle_cpu = kv($0, "cpu_ms_per_s") + 0; idle_rss = kv($0, "rss_kb") + 0 }
/^RUN / {
	w = kv($0, "w"); mode = kv($0, "mode")
	if (mode == "without") { nwo[w]++; wo[w, nwo[w]] = kv($0, "ms") + 0; next }
	n = ++nwi[w]
	wi[w, n] = kv($0, "ms") + 0
	expv[w] = kv($0, "exp") + 0
	got = kv($0, "got") + 0
	if (!(w in gotmin) || got < gotmin[w]) gotmin[w] = got
	gots[w, n] = got
	lost = expv[w] - got; if (lost < 0) lost = 0
	if (lost > lostmax[w]) lostmax[w] = lost
	if (kv($0, "reached") + 0 == 1) { r = kv($0, "reach_ms") + 0; if (r > reachmax[w]) reachmax[w] = r; nreached[w]++ }
	cpu[w] += kv($0, "cpu_ms") + 0; win[w] += kv($0, "win") + 0
	cpus[w, n] = kv($0, "cpu_ms") + 0
	pk[w, n] = kv($0, "win") + 0 > 0 ? cpus[w, n] * 1000 / (kv($0, "win") + 0) : 0
	r = kv($0, "rss_kb") + 0; if (r > rss[w]) rss[w] = r
	if (kv($0, "stop") != "clean") killed[w]++
	kdrop[w] += kv($0, "kdrop") + 0; qdrop[w] += kv($0, "qdrop") + 0; gaprows[w] += kv($0, "gap_rows") + 0
	c = kv($0, "c"); split(c, cc, ","); fin = kv($0, "final"); split(fin, ff, ",")
	if (w == "files") { wr = cc[4] + 0; if (!(w in wrmin) || wr < wrmin[w]) wrmin[w] = wr
		wf = ff[4] + 0; if (!(w in wfmin) || wf < wfmin[w]) wfmin[w] = wf }
	if (w == "build") { bs[n] = cc[1] + 0; bc[n] = cc[2] + 0 }
	fsum = 0; for (k in ff) if (!(w == "files" && k == 4)) fsum += ff[k]
	if (!(w in finmin) || fsum < finmin[w]) finmin[w] = fsum
}
END {
	target["exec"] = t_exec; target["files"] = t_files; target["tcp"] = t_tcp; target["build"] = t_build
	size["exec"] = n_exec " execs"; size["files"] = n_files " files"; size["tcp"] = n_tcp " conns"
	size["build"] = n_build " files -j2"
	printf "\n==== hinomi bench: results (%d pairs per workload; medians; events: worst run) ====\n\n", pairs
	printf "%-6s %-15s %8s %8s %6s %7s %-4s %6s | %6s %6s %6s %6s | %6s %6s %-4s | %6s %-4s\n",
	       "", "", "without", "with", "ratio", "target", "", "pairs", "events", "in 5s", "lost", "reach", \
	       "agent", "CPU ms", "", "peak", ""
	printf "%-6s %-15s %8s %8s %6s %7s %-4s %6s | %6s %6s %6s %6s | %6s %6s %-4s | %6s %-4s\n",
	       "load", "size", "ms", "ms", "", "", "", "ratio", "expect", "min", "max", "max ms", \
	       "CPU ms", "/1k ev", "", "RSS MB", ""
	split(only, ws, " ")
	for (x = 1; x in ws; x++) {
		w = ws[x]
		if (!nwi[w]) continue
		for (i = 1; i <= nwo[w]; i++) a[i] = wo[w, i]; mwo = median(a, nwo[w])
		for (i = 1; i <= nwi[w]; i++) a[i] = wi[w, i]; mwi = median(a, nwi[w])
		for (i = 1; i <= nwi[w]; i++) a[i] = cpus[w, i]; mcpu = median(a, nwi[w])
		ratio = mwo > 0 ? mwi / mwo : 0
		np = nwi[w] < nwo[w] ? nwi[w] : nwo[w]
		for (i = 1; i <= np; i++) a[i] = wo[w, i] > 0 ? wi[w, i] / wo[w, i] : 0
		pratio = median(a, np)
		lo1 = hi1 = wo[w, 1]; for (i = 2; i <= nwo[w]; i++) { if (wo[w, i] < lo1) lo1 = wo[w, i]; if (wo[w, i] > hi1) hi1 = wo[w, i] }
		lo2 = hi2 = wi[w, 1]; for (i = 2; i <= nwi[w]; i++) { if (wi[w, i] < lo2) lo2 = wi[w, i]; if (wi[w, i] > hi2) hi2 = wi[w, i] }
		# per run, then the median, as the other columns; the pooled
		# figure (all CPU / all rows) goes to the BENCH line
		for (i = 1; i <= nwi[w]; i++) a[i] = pk[w, i]; perk = median(a, nwi[w])
		pooled[w] = win[w] > 0 ? cpu[w] * 1000 / win[w] : 0
		maxcpu[w] = 0; for (i = 1; i <= nwi[w]; i++) if (cpus[w, i] > maxcpu[w]) maxcpu[w] = cpus[w, i]
		medcpu[w] = mcpu
		reach = nreached[w] == nwi[w] ? sprintf("%.0f", reachmax[w]) : ">" count_ms
		lost_ok = lostmax[w] == 0
		printf "%-6s %-15s %8.1f %8.1f %5.3fx %7s %-4s %5.3fx | %6d %6d %6d %6s | %6.0f %6.1f %-4s | %6.1f %-4s\n",
		       w, size[w], mwo, mwi, ratio, "<=" target[w], mark(ratio <= target[w]), pratio, \
		       expv[w], gotmin[w], lostmax[w], reach, mcpu, perk, mark(perk <= t_cpu), \
		       rss[w] / 1024, mark(rss[w] / 1024 <= t_rss)
		line[w] = sprintf("BENCH workload=%s n=%s pairs=%d without_ms=%.1f with_ms=%.1f ratio=%.3f ratio_target=%s ratio_ok=%d expected=%d recorded_min=%d lost_max=%d reach_ms_max=%s lost_ok=%d recorded_final_min=%d agent_cpu_ms_median=%.0f window_events=%d cpu_ms_per_1k=%.2f cpu_ms_per_1k_pooled=%.2f cpu_ok=%d rss_mb_max=%.1f rss_ok=%d agent_killed=%d kernel_dropped=%d queue_dropped=%d gap_rows=%d", \
			w, substr(size[w], 1, index(size[w], " ") - 1), nwi[w], mwo, mwi, ratio, target[w], ratio <= target[w], \
			expv[w], gotmin[w], lostmax[w], reach, lost_ok, finmin[w], mcpu, win[w], perk, pooled[w], perk <= t_cpu, \
			rss[w] / 1024, rss[w] / 1024 <= t_rss, killed[w], kdrop[w], qdrop[w], gaprows[w])
		line[w] = line[w] sprintf(" pair_ratio_median=%.3f without_range_ms=%.1f-%.1f with_range_ms=%.1f-%.1f", pratio, lo1, hi1, lo2, hi2)
		if (w == "files") line[w] = line[w] sprintf(" written_flag_min=%d written_flag_final_min=%d", wrmin[w], wfmin[w])
		if (w == "build") line[w] = line[w] sprintf(" build_execs=%d build_creates=%d expected_from=%s", build_execs, build_creates, build_how)
	}
	printf "\ntargets: ratio as shown; 0 lost within %d s (in every run); agent CPU <= %s ms per 1000 events; peak RSS <= %s MB\n", count_ms / 1000, t_cpu, t_rss
	printf "lost within 5 s: "
	sep = ""
	for (x = 1; x in ws; x++) { w = ws[x]; if (!nwi[w]) continue
		printf "%s%s %s", sep, w, mark(lostmax[w] == 0); sep = ", " }
	printf "\n"
	printf "idle agent: %.1f ms CPU per second, peak RSS %.1f MB\n", idle_cpu, idle_rss / 1024
	printf "\nnotes:\n"
	nnotes = 0
	for (x = 1; x in ws; x++) { w = ws[x]; if (killed[w] || kdrop[w] || qdrop[w] || finmin[w] != gotmin[w]) nnotes++ }
	if (!nnotes && !nwi["files"] && !nwi["build"]) printf "  (none)\n"
	for (x = 1; x in ws; x++) { w = ws[x]; if (!nwi[w]) continue
		if (killed[w]) printf "  %s: the agent did not stop within the stop limit in %d of %d runs (killed; the store lacks what it still held)\n", w, killed[w], nwi[w]
		if (kdrop[w] || qdrop[w]) printf "  %s: drops over all runs: %d in the kernel (ring buffer full), %d in the agent (queue full); %d gap rows\n", w, kdrop[w], qdrop[w], gaprows[w]
		if (finmin[w] != gotmin[w]) printf "  %s: recorded after the agent stopped (worst run): %d of %d\n", w, finmin[w], expv[w]
		if (medcpu[w] > 0 && maxcpu[w] > 2 * medcpu[w]) printf "  %s: one run took %.1f ms of agent CPU (median %.1f): one-time work such as hashing executables new to the store; all runs pooled: %.1f ms per 1k events\n", w, maxcpu[w], medcpu[w], pooled[w]
	}
	if (nwi["files"]) printf "  files: creates flagged written (flags & 32): worst run %d of %d within 5 s, %d after stop\n", wrmin["files"], n_files, wfmin["files"]
	if (nwi["build"]) {
		printf "  build: expected %d process starts (%s: successful execve of the whole build) and %d file creates (outputs in the build dir)\n", build_execs, build_how == "strace" ? "counted with strace -f" : "formula, not exact", build_creates
		printf "  build: recorded per run (starts/creates):"
		for (i = 1; i <= nwi["build"]; i++) printf " %d/%d", bs[i], bc[i]
		printf "\n"
	}
	printf "\n"
	for (x = 1; x in ws; x++) { w = ws[x]; if (nwi[w]) print line[w] }
}' "$RES"

# ---- the rule engine: events/s per core with every rule we can load ----
DET=$(dirname "$HINOMI")/bench/detect
if gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Isrc -o "$DET" bench/detect.c \
	"$OBJ"/detect/*.o "$OBJ"/logsrc/*.o "$OBJ"/event/*.o "$OBJ"/util/*.o \
	-lyaml -lpcre2-8 -ljansson -lcrypto -lpthread $(pkg-config --libs libhs 2>/dev/null); then
	# shellcheck disable=SC2086
	set -- $RULE_PATHS
	if [ $# -gt 0 ]; then
		# A recorded mix: what the agent records of a kernel-style C build
		# (~150 files, make -j2) and a git clone, the benign-activity
		# test's own steps (tests/integration/benign_workload.sh), in a
		# scratch directory, exported as `hinomi events --json` writes it.
		MIX=$TMP/mix.ndjson
		MIXS=$(mktemp -d /tmp/hinomi-benchmix.XXXXXX) || die "mktemp failed"
		start_agent mix norules
		sh tests/integration/benign_workload.sh kbuild "$MIXS" >"$TMP/mix.log" 2>&1 &&
			sh tests/integration/benign_workload.sh git "$MIXS" "$PWD" >>"$TMP/mix.log" 2>&1 ||
			echo "rule engine: the recorded workload failed (see $TMP/mix.log)" >&2
		sh tests/integration/benign_workload.sh cleanup "$MIXS" >/dev/null 2>&1
		rm -rf "$MIXS"
		MIXS=
		stop_agent "$STOP_S"
		"$HINOMI" events --db "$AGENT_DB" --json >"$MIX" 2>/dev/null || : >"$MIX"
		echo
		echo "rule engine (one core; rules: $*):"
		for how in recorded fixed; do
			if [ $how = recorded ]; then
				[ -s "$MIX" ] || continue
				set -- --input "$MIX" --passes 20 $RULE_PATHS
			else
				set -- --events 100000 --passes 5 $RULE_PATHS
			fi
			"$DET" "$@" | sed "s/^DETECT /DETECT mix=$how /" | tee -a "$RES" |
				awk -v how="$how" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
				       if (how == "recorded")
					       printf "  recorded mix (%d events of a C build and a git clone, as recorded): %.0f events/s (%.2f us each), %d alerts, target >= 1000000 %s\n",
						      v["events"], v["ev_per_s"], v["us_per_ev"], v["matches_per_pass"],
						      ((v["ev_per_s"] + 0 >= 1000000) ? "ok" : "MISS")
				       else
					       printf "  fixed mix (100,000 made-up events, a quarter of them alerts: a stress case): %.0f events/s (%.2f us each)\n",
						      v["ev_per_s"], v["us_per_ev"]
				       print }'
		done
	fi
else
	echo "rule engine: cannot build bench/detect.c" >&2
fi

# ---- detection latency: exec to alert printed, idle and under an exec storm ----
LAT=$(dirname "$HINOMI")/bench/latency
if gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$LAT" bench/latency.c; then
	echo
	echo "detection latency (exec to ALERT line, 200 execs 10-40 ms apart; rules:$RULE_PATHS):"
	mkdir -p "$TMP/lat" || die "mkdir $TMP/lat"
	for load in 0 1; do
		# shellcheck disable=SC2086
		timeout 300 "$LAT" "$HINOMI" "$TMP/lat" 200 $load $RULE_PATHS \
			2>/dev/null | tee -a "$RES" |
			awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			       printf "  %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms, missed %d of %d, target p99 <= 10 ms %s\n",
				      v["load"] ? "under an exec storm" : "idle", v["p50_ms"], v["p99_ms"],
				      v["max_ms"], v["missed"], v["n"],
				      ((v["p99_ms"] + 0 <= 10 && v["missed"] == 0) ? "ok" : "MISS")
			       print }'
	done
else
	echo "detection latency: cannot build bench/latency.c" >&2
fi

# ---- investigation: root cause and scope of an alert in a 10-million-event store ----
INV=$(dirname "$HINOMI")/bench/investigate
INV_EVENTS=${BENCH_INV_EVENTS:-10000000}
if gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Isrc -o "$INV" bench/investigate.c \
	"$OBJ"/investigate/*.o "$OBJ"/store/*.o "$OBJ"/event/*.o "$OBJ"/util/*.o \
	-lsqlite3 -lz -ljansson -lcrypto -lpthread $(pkg-config --libs libgvc 2>/dev/null); then
	echo
	echo "investigation (a store of $INV_EVENTS events written through the store's writer, an intrusion halfway; 7 runs each):"
	timeout 1200 "$INV" "$TMP/investigate.db" "$INV_EVENTS" 7 2>"$TMP/investigate.log" | tee -a "$RES" |
		awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		       printf "  root cause: p50 %.2f ms, max %.2f ms; root cause, path and scope: p50 %.2f ms, max %.2f ms; target < 200 ms each %s\n",
			      v["root_ms_p50"], v["root_ms_max"], v["story_ms_p50"], v["story_ms_max"],
			      ((v["root_ms_max"] + 0 < 200 && v["story_ms_max"] + 0 < 200 && v["ok"] == 1) ? "ok" : "MISS")
		       printf "  answers right: %s; store %.0f MB, %.1f bytes per event\n",
			      v["ok"] == 1 ? "yes" : "NO", v["bytes"] / 1e6, v["bytes_per_event"]
		       print }'
	sed 's/^/  /' "$TMP/investigate.log"
	rm -f "$TMP/investigate.db" "$TMP/investigate.db-wal" "$TMP/investigate.db-shm"
else
	echo "investigation: cannot build bench/investigate.c" >&2
fi
