#!/usr/bin/env bash
# bench-logs.sh - what isod's output logging costs a detached workload, side by side with Podman +
# conmon's k8s-file log driver in the same run:
#   dd       `dd if=/dev/zero bs=64k count=N` (no newlines: partial records) — MB/s the writer gets
#   lines    `yes LINE | head -n N`: N 100-byte lines in 4 KiB writes — lines/s
#   null     the same two writing to /dev/null inside the container: the writers' own ceiling
#            both: wall time of launch -d … + wait, minus the same workload writing nothing (the
#            launch itself), interleaved rounds; isod with its default 4M log files, Podman with
#            --log-driver k8s-file --log-opt max-size=8m (about the same disk bound)
#   follow   `logs -f` latency: the host writes a timestamped line into a FIFO the workload `cat`s
#            to its stdout; the time until `isoctl logs -f` / `podman logs -f` prints it
#   vm       the dd row for an isod VM (no Podman equivalent)
# Usage (root): bench/bench-logs.sh [--install] [--rounds N] [--quick]
# Env: ISOD_BUILD (default /tmp/b), BENCH_RESULTS (<repo>/bench/results), BENCH_DATE, BENCH_WORK
#   (/tmp/isod-bench-logs), BENCH_ROUNDS (5), BENCH_DD_MB (512), BENCH_LINES (1000000),
#   BENCH_FOLLOW (60 lines), BENCH_INSTALL=1.
# Output: BENCH_RESULTS/logs.md; raw timings in BENCH_WORK/raw-<date>/ (not committed).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SRCDIR=$(cd "$(dirname "$SELF")/.." && pwd)
ISOD_BUILD=${ISOD_BUILD:-/tmp/b}
BENCH_RESULTS=${BENCH_RESULTS:-$SRCDIR/bench/results}
DATE=${BENCH_DATE:-$(date +%F)}
WORK=${BENCH_WORK:-/tmp/isod-bench-logs}
ROUNDS=${BENCH_ROUNDS:-5}
DD_MB=${BENCH_DD_MB:-512}
LINES=${BENCH_LINES:-1000000}
FOLLOW=${BENCH_FOLLOW:-60}
INSTALL=${BENCH_INSTALL:-0}
while [ $# -gt 0 ]; do
        case $1 in
        --install) INSTALL=1 ;;
        --rounds) ROUNDS=$2; shift ;;
        --quick) ROUNDS=1 DD_MB=64 LINES=100000 FOLLOW=20 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
        esac
        shift
done
log() { echo "[$(date +%T)] $*" >&2; }
die() { log "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
if [ "$INSTALL" = 1 ]; then
        apt-get install -y podman crun conmon jq python3 >/dev/null 2>&1 || log "apt-get install failed"
fi
for c in jq python3; do command -v $c >/dev/null || die "needs $c"; done
PODMAN_OK=1 PODMAN_WHY=
command -v podman >/dev/null || { PODMAN_OK=0 PODMAN_WHY="podman not installed (--install)"; }
[ -x "$ISOD_BUILD/isod" ] || die "no isod in $ISOD_BUILD"

RAW=$WORK/raw-$DATE
OUT=$BENCH_RESULTS/logs.md
rm -rf "$RAW"
mkdir -p "$WORK" "$RAW" "$BENCH_RESULTS"
SNAP=$(mktemp -d "$WORK/build.XXXXXX")
for f in isod isod-monitor isoctl; do cp "$ISOD_BUILD/$f" "$SNAP/$f"; done
ln -s "$(readlink -f "$ISOD_BUILD/test-assets")" "$SNAP/test-assets"
export top_builddir=$SNAP top_srcdir=$SRCDIR
# shellcheck source=../tests/lib.sh
. "$SRCDIR/tests/lib.sh" >/dev/null
set -euo pipefail
ISOCTL=$SNAP/isoctl
ROOTFS=$IMAGE_DIR/busybox/rootfs
P="podman --root $WORK/pm/pmroot --runroot $WORK/pm/pmrun"
PM_IMG=localhost/isobench-bb:1
pm_sh() { unshare -m --propagation private sh -c ". $WORK/pm/env.sh; $1"; }
all_cleanup() {
        set +e
        [ -n "${ISOD_PID:-}" ] && { "$ISOCTL" list 2>/dev/null | awk 'NR > 1 { print $1 }' | xargs -r -n1 "$ISOCTL" rm -f >/dev/null 2>&1; }
        [ "$PODMAN_OK" = 1 ] && pm_sh "\$P rm -f -a" >/dev/null 2>&1
        cleanup
        rm -rf "$SNAP" "$WORK/fifo"
        [ -d "$WORK/pm" ] && { umount -R "$WORK/pm/pmrun" 2>/dev/null; umount -R "$WORK/pm/pmroot" 2>/dev/null; }
}
trap all_cleanup EXIT
trap 'exit 130' INT TERM

start_bus || die "no dbus-daemon"
start_isod || die "isod did not start"
export ISOD_SOCKET=$T/state/private

if [ "$PODMAN_OK" = 1 ]; then
        mkdir -p "$WORK/pm"
        cat >"$WORK/pm/containers.conf" <<'EOF'
[containers]
default_ulimits=["nofile=1024:1024","nproc=1024:1024"]
pids_limit=0
log_driver="k8s-file"
[engine]
cgroup_manager="cgroupfs"
events_logger="file"
EOF
        cat >"$WORK/pm/env.sh" <<EOF
umount /sys/fs/cgroup/unified 2>/dev/null
export CONTAINERS_CONF=$WORK/pm/containers.conf
P="$P"
EOF
        if ! pm_sh "\$P image exists $PM_IMG || tar -C $ROOTFS -c . | \$P import - $PM_IMG" >"$RAW/podman-import.log" 2>&1; then
                PODMAN_OK=0 PODMAN_WHY="podman import failed: $(tail -1 "$RAW/podman-import.log")"
        elif ! pm_sh "\$P run --rm --network none $PM_IMG true" >"$RAW/podman-check.log" 2>&1; then
                PODMAN_OK=0 PODMAN_WHY="podman run fails: $(tail -2 "$RAW/podman-check.log" | xargs)"
        fi
        [ "$PODMAN_OK" = 1 ] || log "Podman rows skipped: $PODMAN_WHY"
fi

now() { date +%s%N; }
ACCEL=tcg
[ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && ACCEL=kvm
DD="dd if=/dev/zero bs=65536 count=$((DD_MB * 16))"
DD0="dd if=/dev/zero bs=65536 count=0"
# 100-byte lines as fast as busybox can make them (yes | head: stdio-buffered 4 KiB writes).
AWK="yes $(printf '%099d' 0) | head -n $LINES"
AWK0="yes $(printf '%099d' 0) | head -n 0"
# one timed detached run: NAME RUNTIME(isod|isod-vm|podman) CMD -> ns on stdout
run_isod() {
        local t0 t1 iso=${3:-}
        t0=$(now)
        "$ISOCTL" launch -d $iso --name "$1" -- sh -c "$2" >/dev/null
        "$ISOCTL" wait "$1" >/dev/null
        t1=$(now)
        "$ISOCTL" rm "$1" >/dev/null
        echo $((t1 - t0))
}
run_pm() {
        pm_sh "t0=\$(date +%s%N); \$P run -d --network none --log-opt max-size=8m --name $1 $PM_IMG sh -c \"$2\" >/dev/null && \$P wait $1 >/dev/null; t1=\$(date +%s%N); \$P rm $1 >/dev/null; echo \$((t1 - t0))"
}
: >"$RAW/rows.tsv"
log "== dd ${DD_MB} MiB and $LINES lines, $ROUNDS rounds (each: the workload and its empty twin)"
for k in $(seq 1 "$ROUNDS"); do
        for rt in isod podman isod-vm isod-null; do
                [ "$rt" = podman ] && [ "$PODMAN_OK" != 1 ] && continue
                for w in dd lines; do
                        [ "$rt" = isod-vm ] && [ "$w" = lines ] && continue
                        if [ "$w" = dd ]; then c=$DD c0=$DD0; else c=$AWK c0=$AWK0; fi
                        case $rt in
                        isod) full=$(run_isod "b$k$w" "$c") empty=$(run_isod "b$k${w}0" "$c0") ;;
                        isod-vm) full=$(run_isod "v$k$w" "$c" --isolation=vm) empty=$(run_isod "v$k${w}0" "$c0" --isolation=vm) ;;
                        isod-null) full=$(run_isod "n$k$w" "($c) >/dev/null") empty=$(run_isod "n$k${w}0" "($c0) >/dev/null") ;;
                        podman) full=$(run_pm "p$k$w" "$c") empty=$(run_pm "p$k${w}0" "$c0") ;;
                        esac
                        printf '%s\t%s\t%s\t%s\n' "$rt" "$w" "$full" "$empty" >>"$RAW/rows.tsv"
                done
        done
        log "round $k/$ROUNDS: $(awk -F'\t' -v D=$DD_MB -v L=$LINES '{ d = ($3 - $4) / 1e9; if (d <= 0) d = 1e-9; printf "%s %s %.0f%s; ", $1, $2, $2 == "dd" ? D / d : L / d, $2 == "dd" ? "MB/s" : "l/s" }' <(tail -7 "$RAW/rows.tsv"))"
done

# ---------------------------------------------------------------- follow latency
# The host writes into $WORK/fifo/f (the workload cats it to stdout) and times each line until the
# follower (argv) prints it.
cat >"$WORK/follow.py" <<'EOF'
import subprocess, sys, time
n, fifo, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
w = open(fifo, "w")          # blocks until the workload's cat opens it
f = subprocess.Popen(cmd, stdout=subprocess.PIPE)
time.sleep(0.5)              # the follower is reading
lat = []
for i in range(n):
    t0 = time.time()
    w.write("%d %.6f\n" % (i, t0)); w.flush()
    line = f.stdout.readline()
    lat.append((time.time() - t0) * 1000)
    time.sleep(0.02)
w.close()
f.wait(timeout=30)
lat.sort()
print("%.2f %.2f %.2f %d" % (lat[len(lat) // 2], lat[int(len(lat) * 0.9)], lat[-1], len(lat)))
EOF
follow_py() { timeout 120 python3 "$WORK/follow.py" "$FOLLOW" "$WORK/fifo/f" "$@"; }
rm -rf "$WORK/fifo"; mkdir -p "$WORK/fifo"; mkfifo "$WORK/fifo/f"
log "== logs -f latency, $FOLLOW lines"
"$ISOCTL" launch -d --name fol --mount "$WORK/fifo:/fifo" -- cat /fifo/f >/dev/null
FI=$(follow_py "$ISOCTL" logs -f fol) || FI="- - - 0"
"$ISOCTL" rm -f fol >/dev/null 2>&1 || true
log "  isod: median/p90/max $FI"
FP="- - - 0"
if [ "$PODMAN_OK" = 1 ]; then
        rm -f "$WORK/fifo/f"; mkfifo "$WORK/fifo/f"
        pm_sh "\$P run -d --network none --name pfol -v $WORK/fifo:/fifo $PM_IMG cat /fifo/f" >/dev/null
        FP=$(pm_sh "timeout 120 python3 $WORK/follow.py $FOLLOW $WORK/fifo/f \$P logs -f pfol") || FP="- - - 0"
        pm_sh "\$P rm -f pfol" >/dev/null 2>&1 || true
        log "  podman: median/p90/max $FP"
fi

# ---------------------------------------------------------------- report
med() { # RUNTIME WORKLOAD -> median of (full - empty) in s
        awk -F'\t' -v r="$1" -v w="$2" '$1 == r && $2 == w { print ($3 - $4) / 1e9 }' "$RAW/rows.tsv" | sort -g |
                awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rate() { [ "$1" = - ] && { echo -; return; }; awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else printf "%.0f", a / b }'; }
ratio() { [ "$1" = - ] || [ "$2" = - ] && { echo -; return; }; awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
DI=$(rate "$DD_MB" "$(med isod dd)") DP=$(rate "$DD_MB" "$(med podman dd)") DV=$(rate "$DD_MB" "$(med isod-vm dd)")
LI=$(rate "$LINES" "$(med isod lines)") LP=$(rate "$LINES" "$(med podman lines)")
DN=$(rate "$DD_MB" "$(med isod-null dd)") LN=$(rate "$LINES" "$(med isod-null lines)")
{
        echo "# Output logs: a detached workload's write throughput and \`logs -f\` latency ($DATE)"
        echo
        echo "Produced by \`bench/bench-logs.sh\` ($ROUNDS interleaved rounds; dd $DD_MB MiB; $LINES lines; follow $FOLLOW lines). Every figure is from this one run."
        echo
        echo "- host: $(uname -r), $(nproc) CPUs, load before/after: see the raw log; isod: $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null) (+ $(git -C "$SRCDIR" status --porcelain 2>/dev/null | wc -l) modified files), default --log-max-size (4M per file, rotated once)"
        echo "- $( [ "$PODMAN_OK" = 1 ] && echo "$(podman --version), $(conmon --version 2>/dev/null | head -1), $(crun --version | head -1); --log-driver k8s-file --log-opt max-size=8m, cgroupfs, --network none, storage under $WORK/pm" || echo "Podman: $PODMAN_WHY")"
        echo
        echo "## Throughput (median of the rounds; each row's time is its workload's launch-to-exit minus its empty twin's)"
        echo
        echo "| workload | isod container | Podman + conmon (k8s-file) | isod / Podman | target | isod VM ($ACCEL) | the writer alone (isod container, output to /dev/null) |"
        echo "|---|---|---|---|---|---|---|"
        R1=$(ratio "$DI" "$DP") R2=$(ratio "$LI" "$LP")
        echo "| \`dd bs=64k\`, $DD_MB MiB, MB/s | **$DI** | $DP | **$R1** | ≥ 1.5: $(awk -v r="$R1" 'BEGIN { print (r != "-" && r >= 1.5) ? "**met**" : "**missed**" }') | $DV | $DN |"
        echo "| \`yes \\| head -n $LINES\`, 100-byte lines, lines/s | **$LI** | $LP | **$R2** | ≥ 1.5: $(awk -v r="$R2" 'BEGIN { print (r != "-" && r >= 1.5) ? "**met**" : "**missed**" }') | | $LN |"
        echo
        echo "Rounds (s, full − empty): $(awk -F'\t' '{ printf "%s/%s %.3f; ", $1, $2, ($3 - $4) / 1e9 }' "$RAW/rows.tsv")"
        echo
        echo "## \`logs -f\` latency (ms: the host writes a line into a FIFO the workload copies to stdout, until the follower prints it)"
        echo
        set -- $FI; echo "| follower | median | p90 | max | lines | target |"; echo "|---|---|---|---|---|---|"
        echo "| \`isoctl logs -f\` | **$1** | $2 | $3 | $4 | ≤ 10 ms median: $(awk -v r="$1" 'BEGIN { print (r != "-" && r <= 10) ? "**met**" : "**missed**" }') |"
        set -- $FP; echo "| \`podman logs -f\` | $1 | $2 | $3 | $4 | |"
} >"$OUT"
log "written: $OUT"
echo "bench-logs: dd isod=${DI}MB/s podman=${DP}MB/s; lines isod=$LI/s podman=$LP/s; follow isod=${FI%% *}ms podman=${FP%% *}ms"
. "$SRCDIR/bench/history.sh"
bench_history_add logs "dd ${DI} vs ${DP} MB/s ($R1×); lines $LI vs $LP/s ($R2×); logs -f ${FI%% *} ms (Podman ${FP%% *} ms)"
