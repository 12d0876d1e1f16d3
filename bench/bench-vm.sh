#!/usr/bin/env bash
# bench-vm.sh - isod's VM launch cost next to hand-written QEMU boots of the same kernel.
#
# In one run, on this machine, with the same accelerator isod picks (KVM or TCG), times /bin/true
# in a VM to completion (hyperfine, medians):
#   (a) isod     isoctl launch --isolation=vm -- /bin/true: the whole path (isoctl, D-Bus, policy,
#                isod, monitor, image cache hit, jail, QEMU, guest kernel, agent, power-off)
#   (b) plain    the qemu-system-x86_64 -M microvm invocation a user would write by hand: bzImage
#                vmlinuz, console=ttyS0, a busybox initramfs whose /init script runs /bin/true and
#                `poweroff -f`
#   (c) floor    the fastest raw boot of the same kernel we know: PVH vmlinux, tuned command line
#                (quiet cryptomgr.notests tsc_early_khz=2000000 no_timer_check nokaslr
#                random.trust_cpu=on), a tiny static init that calls reboot(2); the faster of
#                plain -M microvm and isod's lean machine options
# and reports the ratios a/b (target ≤ 0.5) and a/c (target ≤ 1.15), the time split of (a) from the
# monitor's timing facts (monitor.json: host monotonic times + guest uptimes the agent reports in
# READY), and memory: QEMU's RSS beyond guest RAM and the guest RAM touched (/proc/PID/smaps of a
# held VM).
#
# Usage (root):  bench/bench-vm.sh
# Env:  ISOD_BUILD       build tree with isod, isod-monitor, isoctl and test-assets (default /tmp/b)
#       BENCH_RESULTS    results dir (default <repo>/bench/results)
#       BENCH_RUNS       hyperfine runs for (a) and (c) (default 10, rounded up to a multiple of
#                        BENCH_ROUNDS: they run in that many interleaved rounds, default 4);
#                        BENCH_RUNS_B for (b) (default 3)
#       BENCH_DATE       date in the result file's name (default today)
#       BENCH_SKIP_INSTALL=1  never apt-get install hyperfine
# Output: BENCH_RESULTS/vm.md, raw hyperfine JSON in BENCH_WORK/vm-raw-<date>/ (default /tmp/isod-bench;
# not committed), and a
#         summary on stdout.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SRCDIR=$(cd "$(dirname "$SELF")/.." && pwd)
ISOD_BUILD=${ISOD_BUILD:-/tmp/b}
BENCH_RESULTS=${BENCH_RESULTS:-$SRCDIR/bench/results}
RUNS=${BENCH_RUNS:-10}
RUNS_B=${BENCH_RUNS_B:-3}
ROUNDS=${BENCH_ROUNDS:-4}
DATE=${BENCH_DATE:-$(date +%F)}
OUT=$BENCH_RESULTS/vm.md
RAW=${BENCH_WORK:-/tmp/isod-bench}/vm-raw-$DATE
QEMU=${QEMU:-qemu-system-x86_64}
VMD=$ISOD_BUILD/test-assets/vm
KDIR=$ISOD_BUILD/test-assets/kernel-cache/$(cat "$VMD/kernel.release" 2>/dev/null || echo none)/root

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$VMD/vmlinux" ] && [ -f "$VMD/initramfs.cpio" ] || die "no $VMD: cd $ISOD_BUILD && make test-assets"
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$VMLINUZ" ] || die "no vmlinuz under $KDIR/boot (make test-assets keeps the unpacked kernel)"
if ! command -v hyperfine >/dev/null; then
        [ -z "${BENCH_SKIP_INSTALL:-}" ] || die "hyperfine missing"
        log "apt-get install -y hyperfine"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >/dev/null
fi
command -v musl-gcc >/dev/null || die "musl-gcc missing (apt-get install musl-tools)"
[ -x /bin/busybox ] && ! readelf -l /bin/busybox | grep -q INTERP || die "needs a static /bin/busybox (busybox-static)"
mkdir -p "$BENCH_RESULTS" "$RAW"

# ---------------------------------------------------------------- isod on a private bus
export top_builddir=$ISOD_BUILD top_srcdir=$SRCDIR
# shellcheck source=../tests/lib.sh
. "$SRCDIR/tests/lib.sh" >/dev/null
W=$T/bench
mkdir -p "$W"
ensure_image >/dev/null 2>&1 || die "cannot build the busybox image"
start_bus || die "no dbus-daemon"
start_isod || die "isod did not start"
ISOCTL=$ISOD_BUILD/isoctl

log "warming up isod (image cache, spare monitor)"
"$ISOCTL" launch --isolation=vm --name warm --keep -- /bin/true >/dev/null
ACCEL=$("$ISOCTL" show --json warm | sed -n 's/.*"Accelerator": "\([a-z]*\)".*/\1/p')
"$ISOCTL" rm warm >/dev/null
log "accelerator: $ACCEL"
if [ "$ACCEL" = kvm ]; then
        ACC=(-accel kvm -cpu host) TSC=""
else
        ACC=(-accel tcg) TSC=" tsc_early_khz=2000000"
fi

# ---------------------------------------------------------------- guests for (b) and (c)
cat >"$W/tinyinit.c" <<'EOF'
#include <sys/reboot.h>
#include <unistd.h>
int main(void) {
        static const char m[] = "@@INIT@@\n";
        (void) !write(1, m, sizeof m - 1);
        (void) reboot(RB_POWER_OFF);
        for (;;)
                pause();
}
EOF
musl-gcc -static -Os -o "$W/tinyinit" "$W/tinyinit.c"
mkdir -p "$W/c/dev" "$W/b/bin" "$W/b/dev" "$W/b/proc" "$W/b/sys"
cp "$W/tinyinit" "$W/c/init"
(cd "$W/c" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$W/c.cpio"
cp /bin/busybox "$W/b/bin/busybox"
cat >"$W/b/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
/bin/true
poweroff -f
EOF
chmod 0755 "$W/b/init"
(cd "$W/b" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$W/b.cpio"

BASE=(-nodefaults -no-user-config -nographic -no-reboot -m 256M)
B_CMD="$QEMU -M microvm ${ACC[*]} ${BASE[*]} -serial stdio -kernel $VMLINUZ -initrd $W/b.cpio -append 'console=ttyS0 panic=-1$TSC'"
C_ARGS="quiet panic=-1 cryptomgr.notests no_timer_check nokaslr random.trust_cpu=on$TSC"
C1_CMD="$QEMU -M microvm ${ACC[*]} ${BASE[*]} -serial stdio -kernel $VMD/vmlinux -initrd $W/c.cpio -append 'console=ttyS0 $C_ARGS'"
C2_CMD="$QEMU -M microvm,x-option-roms=off,isa-serial=off,pit=off,pic=off,acpi=on ${ACC[*]} ${BASE[*]} -serial none -kernel $VMD/vmlinux -initrd $W/c.cpio -append 'console=hvc0 8250.nr_uarts=0 $C_ARGS'"
A_CMD="$ISOCTL launch --isolation=vm -- /bin/true"
for c in "$B_CMD" "$C1_CMD" "$C2_CMD" "$A_CMD"; do
        timeout 300 sh -c "$c" >/dev/null 2>&1 || die "does not run: $c"
done

# The traced launches use the busybox image, small enough to ride in the initramfs: the agent loads
# modules/order.core only.
NCORE=$(cpio -i --quiet --to-stdout modules/order.core <"$VMD/initramfs.cpio" | wc -l)

# ---------------------------------------------------------------- timings
hf() { # name runs command
        log "hyperfine: $1 ($2 runs)"
        hyperfine -N --style none --warmup 1 --runs "$2" --export-json "$RAW/$1.json" -n "$1" "$3" >/dev/null 2>&1 ||
                hyperfine --style none --warmup 1 --runs "$2" --export-json "$RAW/$1.json" -n "$1" "$3" >/dev/null
}
# Over all runs of a row (its rounds merged): median, min, max in ms.
q() { jq -r "[.results[0].times[]] | sort | $2 * 1000 | floor" "$RAW/$1.json"; }
med() { q "$1" 'if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end'; }
mn() { q "$1" '.[0]'; }
mx() { q "$1" '.[-1]'; }
merge() { jq -s '{results: [{times: (map(.results[0].times) | add)}]}' "$RAW/$1".r*.json >"$RAW/$1.json"; }
command -v jq >/dev/null || die "jq missing"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# (a), (c1) and (c2) in interleaved rounds: on a shared host the load drifts over minutes, and
# rows run one after the other would each get a different share of it.
PER=$(((RUNS + ROUNDS - 1) / ROUNDS))
for r in $(seq 1 "$ROUNDS"); do
        hf a-isod.r$r "$PER" "$A_CMD"
        hf c1-floor-microvm.r$r "$PER" "$C1_CMD"
        hf c2-floor-lean.r$r "$PER" "$C2_CMD"
done
for x in a-isod c1-floor-microvm c2-floor-lean; do merge "$x"; done
RUNS=$((PER * ROUNDS))
hf b-plain "$RUNS_B" "$B_CMD"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
A=$(med a-isod) B=$(med b-plain) C1=$(med c1-floor-microvm) C2=$(med c2-floor-lean)
C=$((C1 < C2 ? C1 : C2))
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }
AB=$(ratio "$A" "$B") AC=$(ratio "$A" "$C")
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "met" : "missed" }'; }

# ---------------------------------------------------------------- time split of (a)
log "time split: 5 traced launches"
: >"$W/split.tsv"
for i in 1 2 3 4 5; do
        s0=$(date +%s%N)
        "$ISOCTL" launch --isolation=vm --name "t$i" --keep -- /bin/true >/dev/null
        wall=$((($(date +%s%N) - s0) / 1000))
        jq -r --argjson wall "$wall" '.facts.timing | [$wall, .spawn_usec, .ready_usec, .started_usec, .exit_usec,
                .qemu_exit_usec, .guest_agent_usec, .guest_modules_usec, .guest_ports_usec] | @tsv' \
                "$T/state/workloads/t$i/monitor.json" >>"$W/split.tsv"
        "$ISOCTL" rm "t$i" >/dev/null
done
# median of each column, in ms
split=$(for col in 1 2 3 4 5 6 7 8 9; do
        cut -f"$col" "$W/split.tsv" | sort -n | sed -n 3p | awk '{ printf "%.0f ", $1 / 1000 }'
done)
read -r wall spawn ready started exitt qexit gagent gmods gports <<<"$split"
host_path=$((wall - qexit))        # isoctl + D-Bus + isod + monitor start, and the report back
qemu_start=$((ready - spawn - gports)) # QEMU's own start until the guest clock runs
agent_cfg=$((started - ready))       # CONFIG, rootfs mount, workload spawn
workload=$((exitt - started))
poweroff=$((qexit - exitt))

# ---------------------------------------------------------------- memory
log "memory: a held VM"
"$ISOCTL" launch -d --isolation=vm --name held -- /bin/sleep 1000 >/dev/null
for _ in $(seq 120); do [ "$(state_of held)" = running ] && break; sleep 0.5; done
sleep 1
q=$("$ISOCTL" show --json held | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p')
read -r total guest vml <<<"$(awk '
        /^[0-9a-f]+-[0-9a-f]+ / { path = $6; cur = "" }
        /^Size:/ { size = $2; cur = (size == 262144 && path == "") ? "guest" : (path ~ /vmlinux$/ ? "vmlinux" : "other") }
        /^Rss:/ { t += $2; if (cur == "guest") g += $2; else if (cur == "vmlinux") v += $2 }
        END { print t, g, v }' /proc/"$q"/smaps)"
"$ISOCTL" rm -f held >/dev/null
beyond=$((total - guest))
anon_beyond=$((total - guest - vml))
kib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# ---------------------------------------------------------------- report
{
        echo "# VM launch: isod vs hand-written QEMU ($DATE)"
        echo
        echo "- host: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before/after: $load0 / $load1"
        echo "- accelerator: **$ACCEL** (the one isod chose); $($QEMU --version | head -1)"
        echo "- guest kernel: $(cat "$VMD/kernel.release") (Debian linux-image-amd64), vmlinux $(($(stat -c %s "$VMD/vmlinux") / 1048576)) MiB, vmlinuz $(($(stat -c %s "$VMLINUZ") / 1048576)) MiB; isod's initramfs $(($(stat -c %s "$VMD/initramfs.cpio") / 1024)) KiB ($(wc -l <"$VMD/modules.list") modules)"
        echo "- workload: /bin/true to completion (VMM exit; for isod: isoctl's exit with the status); 256 MiB, 1 vCPU"
        echo
        echo "| | what | median ms | min | max | runs |"
        echo "|---|---|---|---|---|---|"
        echo "| (a) | isoctl launch --isolation=vm -- /bin/true | **$A** | $(mn a-isod) | $(mx a-isod) | $RUNS |"
        echo "| (b) | plain: microvm, bzImage, busybox init, poweroff -f | **$B** | $(mn b-plain) | $(mx b-plain) | $RUNS_B |"
        echo "| (c1) | floor: microvm, PVH vmlinux, tuned cmdline, static init + reboot(2) | $C1 | $(mn c1-floor-microvm) | $(mx c1-floor-microvm) | $RUNS |"
        echo "| (c2) | floor, isod's lean machine options (no PIT/PIC/serial/option ROMs) | $C2 | $(mn c2-floor-lean) | $(mx c2-floor-lean) | $RUNS |"
        echo
        echo "- **a/b = $AB** (target ≤ 0.5: $(verdict "$AB" 0.5)); **a/c = $AC** with c = min(c1, c2) = $C ms (target ≤ 1.15: $(verdict "$AC" 1.15))"
        echo
        echo "## Where (a)'s time goes (median of 5 traced launches, ms)"
        echo
        echo "| phase | ms | from |"
        echo "|---|---|---|"
        echo "| isoctl, D-Bus, policy, isod, monitor start + the report back | $host_path | wall − QEMU exit (monitor clock) |"
        echo "| monitor: image cache hit, cgroup, jail, spawn QEMU | $spawn | spawn_usec |"
        echo "| QEMU start until the guest clock runs | $qemu_start | ready − spawn − guest uptime at READY |"
        echo "| guest kernel boot until the agent runs | $gagent | guest uptime at agent start |"
        echo "| agent: module loading (the $NCORE of order.core: the rootfs rides in the initramfs) | $((gmods - gagent)) | guest uptimes |"
        echo "| agent: waiting for the control port | $((gports - gmods)) | guest uptimes |"
        echo "| agent: CONFIG, root bind mount, spawn | $agent_cfg | started − ready |"
        echo "| workload (/bin/true) and EXIT | $workload | exit − started |"
        echo "| power-off: reboot(2) until QEMU exits | $poweroff | QEMU exit − exit |"
        echo "| **total (wall)** | **$wall** | |"
        echo
        echo "## Memory (a held isod VM, 256 MiB, /proc/PID/smaps)"
        echo
        echo "- QEMU RSS: $(kib "$total") MiB; guest RAM touched: **$(kib "$guest") MiB**; beyond guest RAM: **$(kib "$beyond") MiB**, of which the mmapped vmlinux (page cache, shared, reclaimable) $(kib "$vml") MiB and anonymous/other $(kib "$anon_beyond") MiB"
        echo "- isod charges QEMU's cgroup guest RAM + $([ "$ACCEL" = kvm ] && echo 96 || echo 160) MiB (backends/vm/vm.c VM_VMM_OVERHEAD_*)."
} >"$OUT"
cat "$OUT"
log "written: $OUT"
. "$SRCDIR/bench/history.sh"
bench_history_add vm "$ACCEL: isod $A ms; vs plain QEMU $AB×; vs floor $AC×"
echo "bench-vm: accel=$ACCEL a=${A}ms b=${B}ms c=${C}ms a/b=$AB a/c=$AC rss_beyond_guest=$(kib "$beyond")MiB guest_touched=$(kib "$guest")MiB"
