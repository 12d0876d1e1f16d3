#!/usr/bin/env bash
# bench-oci.sh - isod-oci behind Podman and containerd, next to crun and runc in the same run.
#
# In one run, on the same busybox image, to completion (hyperfine, medians):
#   podman run --rm --network none IMAGE true   with --runtime crun, runc, isod-oci (container) and
#                                               isod-oci + --annotation org.isod1.isolation=vm
#   ctr run --rm IMAGE ID true                  with --runc-binary crun, runc, isod-oci, isod-oci VM
# and for the VM rows the same run's floors: `isoctl launch --isolation=vm -- /bin/true` (isod's own
# path, no orchestrator) and a raw QEMU boot of the same kernel with a static init that powers off
# (bench-vm.sh's floor (c2)). Ratios: isod-oci container / crun (target ≤ 1.0) and the VM rows /
# the floors.
#
# Usage (root):  bench/bench-oci.sh
# Env:  ISOD_BUILD     build tree with isod, isod-monitor, isoctl, isod-oci and test-assets (default /tmp/b)
#       BENCH_RUNS     runs per container row (default 20); BENCH_RUNS_VM per VM row (default 6), in
#                      BENCH_ROUNDS interleaved rounds (default 2)
#       BENCH_RESULTS  results dir (default <repo>/bench/results); BENCH_WORK raw data (default /tmp/isod-bench)
# crun 1.8 refuses this host's hybrid cgroup layout: its rows (and a containerd of their own) run in a
# mount namespace with /sys/fs/cgroup/unified unmounted (../shared/notes/oci-cri.md §2.1).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SRCDIR=$(cd "$(dirname "$SELF")/.." && pwd)
ISOD_BUILD=${ISOD_BUILD:-/tmp/b}
BENCH_RESULTS=${BENCH_RESULTS:-$SRCDIR/bench/results}
RUNS=${BENCH_RUNS:-20}
RUNS_VM=${BENCH_RUNS_VM:-6}
ROUNDS=${BENCH_ROUNDS:-2}
DATE=$(date +%F)
RAW=${BENCH_WORK:-/tmp/isod-bench}/oci-raw-$DATE
OUT=$BENCH_RESULTS/oci.md
VMD=$ISOD_BUILD/test-assets/vm

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
for c in hyperfine podman conmon containerd ctr crun runc jq musl-gcc; do
        command -v "$c" >/dev/null || die "$c missing (tools/install-deps --bench)"
done
[ -x "$ISOD_BUILD/isod-oci" ] && [ -f "$VMD/vmlinux" ] || die "build $ISOD_BUILD first (make && make test-assets)"
mkdir -p "$BENCH_RESULTS" "$RAW"

export top_builddir=$ISOD_BUILD top_srcdir=$SRCDIR
# shellcheck source=../tests/lib.sh
. "$SRCDIR/tests/lib.sh" >/dev/null
W=$T/oci
mkdir -p "$W"
ensure_image >/dev/null 2>&1 || die "cannot build the busybox image"
start_bus || die "no dbus-daemon"
start_isod || die "isod did not start"
ISOCTL=$ISOD_BUILD/isoctl
printf '#!/bin/sh\nISOD_SOCKET=%s exec %s "$@"\n' "$T/state/private" "$ISOD_BUILD/isod-oci" >"$W/isod-oci"
chmod +x "$W/isod-oci"
CRUN=$(command -v crun) RUNC=$(command -v runc)

# Podman: private storage (vfs), this host's rlimits, no systemd (../shared/notes/oci-cri.md §2.2).
printf '[containers]\ndefault_ulimits=["nofile=1024:1024","nproc=1024:1024"]\npids_limit=0\n[engine]\ncgroup_manager="cgroupfs"\nevents_logger="file"\n' \
        >"$W/containers.conf"
export CONTAINERS_CONF=$W/containers.conf
PM="podman --root $W/pm-root --runroot $W/pm-run --storage-driver vfs"
tar -C "$IMAGE_DIR/busybox/rootfs" -c . | $PM import - localhost/bb:1 >/dev/null
$PM save --format oci-archive -o "$W/bb.tar" localhost/bb:1 >/dev/null 2>&1

# containerd: two private instances, one in the namespace without the unified mount for crun (its
# shims and runtimes inherit it), one outside for runc and isod-oci (isod must see the rootfs that
# containerd mounts for the bundle, which a mount namespace of its own would hide).
ctrd_conf() { mkdir -p "$W/$1" && containerd_config "$W/$1" >"$W/$1/config.toml"; }
NS() { unshare -m --propagation slave sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh "$@"; }
ctrd_conf ctrd
ctrd_conf ctrd-ns
setsid containerd --config "$W/ctrd/config.toml" >"$W/ctrd/containerd.log" 2>&1 &
CTRD=$!
# Sessions of their own: containerd's shutdown signals its process group.
setsid unshare -m --propagation slave sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
        containerd --config "$W/ctrd-ns/config.toml" >"$W/ctrd-ns/containerd.log" 2>&1 &
CTRD_NS=$!
trap 'kill $CTRD $CTRD_NS 2>/dev/null; wait $CTRD $CTRD_NS 2>/dev/null; cleanup; true' EXIT
for d in ctrd ctrd-ns; do
        wait_until 20 ctr -a "$W/$d/containerd.sock" version >/dev/null 2>&1 || die "containerd ($d) did not start"
        ctr -a "$W/$d/containerd.sock" image import --base-name localhost/bb "$W/bb.tar" >/dev/null
done

# The floor (bench-vm.sh (c2)): the same kernel, a static init calling reboot(2), lean machine.
cat >"$W/tinyinit.c" <<'EOF'
#include <sys/reboot.h>
#include <unistd.h>
int main(void) {
        (void) reboot(RB_POWER_OFF);
        for (;;)
                pause();
}
EOF
musl-gcc -static -Os -o "$W/tinyinit" "$W/tinyinit.c"
mkdir -p "$W/c/dev" && cp "$W/tinyinit" "$W/c/init"
(cd "$W/c" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$W/c.cpio"
"$ISOCTL" launch --isolation=vm --name warm --keep -- /bin/true >/dev/null
ACCEL=$("$ISOCTL" show --json warm | sed -n 's/.*"Accelerator": "\([a-z]*\)".*/\1/p')
"$ISOCTL" rm warm >/dev/null
if [ "$ACCEL" = kvm ]; then ACC="-accel kvm -cpu host" TSC=""; else ACC="-accel tcg" TSC=" tsc_early_khz=2000000"; fi
FLOOR="qemu-system-x86_64 -M microvm,x-option-roms=off,isa-serial=off,pit=off,pic=off,acpi=on $ACC -nodefaults -no-user-config -nographic -no-reboot -m 256M -serial none -kernel $VMD/vmlinux -initrd $W/c.cpio -append 'console=hvc0 8250.nr_uarts=0 quiet panic=-1 cryptomgr.notests no_timer_check nokaslr random.trust_cpu=on$TSC'"

VMA=org.isod1.isolation=vm

ctr_cmd() { echo "ctr -a $W/$3/containerd.sock run --rm --runc-binary $1 ${2:+--annotation $2} localhost/bb:1 b\$(date +%s%N) true"; }
declare -A CMD=(
        [podman-crun]="$PM --runtime $CRUN run --rm --network none localhost/bb:1 true"
        [podman-runc]="$PM --runtime $RUNC run --rm --network none localhost/bb:1 true"
        [podman-isod]="$PM --runtime $W/isod-oci run --rm --network none localhost/bb:1 true"
        [podman-isod-vm]="$PM --runtime $W/isod-oci run --rm --network none --annotation $VMA localhost/bb:1 true"
        [ctr-crun]="$(ctr_cmd "$CRUN" "" ctrd-ns)"
        [ctr-runc]="$(ctr_cmd "$RUNC" "" ctrd)"
        [ctr-isod]="$(ctr_cmd "$W/isod-oci" "" ctrd)"
        [ctr-isod-vm]="$(ctr_cmd "$W/isod-oci" "$VMA" ctrd)"
        [isoctl-vm]="$ISOCTL launch --isolation=vm -- /bin/true"
        [floor-vm]="$FLOOR"
)
ROWS="podman-crun podman-runc podman-isod ctr-crun ctr-runc ctr-isod podman-isod-vm ctr-isod-vm isoctl-vm floor-vm"
# Only the crun rows run in the namespace without the unified mount.
in_ns() { case $1 in *crun) NS "${@:2}" ;; *) "${@:2}" ;; esac; }
for r in $ROWS; do
        in_ns "$r" sh -c "${CMD[$r]}" >"$W/check.log" 2>&1 || { tail -5 "$W/check.log" >&2; die "does not run: $r: ${CMD[$r]}"; }
done
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# Interleaved rounds (as bench-vm.sh): on a shared 2-CPU host the load drifts over minutes, and rows
# run one after the other would each get a different share of it.
for round in $(seq 1 "$ROUNDS"); do
        for r in $ROWS; do
                n=$(((RUNS + ROUNDS - 1) / ROUNDS))
                case $r in *vm) n=$(((RUNS_VM + ROUNDS - 1) / ROUNDS)) ;; esac
                log "round $round: hyperfine $r ($n runs)"
                # hyperfine runs a shell for these (the ctr rows name each container anew).
                in_ns "$r" hyperfine --style none --warmup 1 --runs "$n" --export-json "$RAW/$r.r$round.json" \
                        -n "$r" "${CMD[$r]}" >/dev/null
        done
done
for r in $ROWS; do
        jq -s '{results: [{times: (map(.results[0].times) | add)}]}' "$RAW/$r".r*.json >"$RAW/$r.json"
done

# ---------------------------------------------------------------- memory: what a RuntimeClass's
# overhead must cover. A held container and a held VM under containerd: the processes isod-oci and
# isod add beyond the workload (the stand-in, the monitor; for a VM QEMU beyond its guest RAM),
# by Pss (/proc/PID/smaps_rollup). The shim is containerd's, the same for runc: not counted.
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
held() { # NAME [ANNOTATION]: run -d, wait until isod has it running
        ctr -a "$W/ctrd/containerd.sock" run -d --runc-binary "$W/isod-oci" ${2:+--annotation "$2"} localhost/bb:1 "$1" sleep 600 >/dev/null
        wait_until 120 state_is "$1" running
        sleep 2
}
unheld() {
        ctr -a "$W/ctrd/containerd.sock" task kill -s SIGKILL "$1" >/dev/null 2>&1
        sleep 1
        ctr -a "$W/ctrd/containerd.sock" task rm -f "$1" >/dev/null 2>&1
        ctr -a "$W/ctrd/containerd.sock" c rm "$1" >/dev/null 2>&1
}
standin_of() { ctr -a "$W/ctrd/containerd.sock" task ls | awk -v n="$1" '$1 == n { print $2 }'; }
monitor_of() { "$ISOCTL" show --json "$1" | jq -r .MonitorPID; }
log "memory: a held container and a held VM"
held memc
MEM_STANDIN=$(pss "$(standin_of memc)") MEM_MONITOR=$(pss "$(monitor_of memc)")
unheld memc
held memv "$VMA"
q=$("$ISOCTL" show --json memv | jq -r .LeaderPID)
read -r QTOTAL QGUEST <<<"$(awk '
        /^[0-9a-f]+-[0-9a-f]+ / { path = $6; cur = "" }
        /^Size:/ { cur = ($2 == 262144 && path == "") ? "guest" : "other" }
        /^Pss:/ { t += $2; if (cur == "guest") g += $2 }
        END { print t + 0, g + 0 }' "/proc/$q/smaps")"
MEMV_STANDIN=$(pss "$(standin_of memv)") MEMV_MONITOR=$(pss "$(monitor_of memv)")
unheld memv

q() { jq -r "[.results[0].times[]] | sort | $2 * 1000 | floor" "$RAW/$1.json"; }
med() { q "$1" 'if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end'; }
mn() { q "$1" '.[0]'; }
mx() { q "$1" '.[-1]'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
declare -A M
for r in $ROWS; do M[$r]=$(med "$r"); done

{
        echo "# isod-oci under Podman and containerd (bench/bench-oci.sh)"
        echo
        echo "Run $DATE on $(nproc) CPUs, $(uname -r), commit $(git -C "$SRCDIR" rev-parse --short HEAD); VMs: $ACCEL."
        echo "$(podman --version), $(containerd --version | cut -d' ' -f1,3), $(crun --version | head -1), $(runc --version | head -1)."
        echo "Raw hyperfine JSON: \`$RAW\` (not committed). Image: the test busybox tree; \`true\` to completion;"
        echo "rows interleaved in $ROUNDS rounds; load average at the start: $LOAD0."
        echo
        echo "| row | command | median ms | min | max | runs |"
        echo "|---|---|---:|---:|---:|---:|"
        for r in $ROWS; do
                c=${CMD[$r]//$W/W}
                c=${c//$T/T}
                c=${c//|/\\|}
                echo "| $r | \`${c:0:140}\` | ${M[$r]} | $(mn "$r") | $(mx "$r") | $(jq '.results[0].times | length' "$RAW/$r.json") |"
        done
        echo
        echo "| ratio | value | target |"
        echo "|---|---:|---|"
        echo "| podman: isod-oci container / crun | $(ratio "${M[podman-isod]}" "${M[podman-crun]}") | ≤ 1.0 |"
        echo "| podman: isod-oci container / runc | $(ratio "${M[podman-isod]}" "${M[podman-runc]}") | |"
        echo "| ctr: isod-oci container / crun | $(ratio "${M[ctr-isod]}" "${M[ctr-crun]}") | ≤ 1.0 |"
        echo "| ctr: isod-oci container / runc | $(ratio "${M[ctr-isod]}" "${M[ctr-runc]}") | |"
        echo "| podman: isod-oci VM / isoctl VM (the orchestrator's share) | $(ratio "${M[podman-isod-vm]}" "${M[isoctl-vm]}") | |"
        echo "| podman: isod-oci VM / cold-boot floor | $(ratio "${M[podman-isod-vm]}" "${M[floor-vm]}") | reported |"
        echo "| ctr: isod-oci VM / cold-boot floor | $(ratio "${M[ctr-isod-vm]}" "${M[floor-vm]}") | reported |"
        echo "| isoctl VM / cold-boot floor | $(ratio "${M[isoctl-vm]}" "${M[floor-vm]}") | |"
        echo
        echo "## Memory beyond the workload (Pss, KiB): what RuntimeClass.overhead covers"
        echo
        echo "| | stand-in | isod-monitor | QEMU beyond guest RAM | total |"
        echo "|---|---:|---:|---:|---:|"
        echo "| container (\`ctr run -d\`) | $MEM_STANDIN | $MEM_MONITOR | – | $((MEM_STANDIN + MEM_MONITOR)) |"
        echo "| VM, 256 MiB guest (guest RAM touched: $QGUEST) | $MEMV_STANDIN | $MEMV_MONITOR | $((QTOTAL - QGUEST)) | $((MEMV_STANDIN + MEMV_MONITOR + QTOTAL - QGUEST)) |"
        echo
        echo "runc and crun leave no process of their own beside a running container (the shim is containerd's)."
        echo
} >"$OUT.new"
# A hand-written "## Notes" section at the end is kept across runs.
[ -f "$OUT" ] && sed -n '/^## Notes/,$p' "$OUT" >>"$OUT.new"
mv "$OUT.new" "$OUT"
cat "$OUT"
. "$SRCDIR/bench/history.sh"
bench_history_add oci "podman isod/crun $(ratio "${M[podman-isod]}" "${M[podman-crun]}")×, ctr isod/crun $(ratio "${M[ctr-isod]}" "${M[ctr-crun]}")×; VM via podman ${M[podman-isod-vm]} ms vs floor ${M[floor-vm]} ms ($ACCEL)"
