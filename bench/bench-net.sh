#!/usr/bin/env bash
# bench-net.sh - what isod's networking costs: launch deltas, per-forward cost, throughput against
# a hand-made veth/bridge/DNAT path, VM boot with and without a NIC, VM tap throughput, teardown.
#
# In one run, on this machine, everything inside network namespaces this script makes and deletes
# (the host's own network namespace is never touched: isod runs in "h", entered with nsenter as
# tests/test-network.sh does, with an uplink veth to "x", the outside):
#   launch   container /bin/true to completion, interleaved rounds (hyperfine -N):
#              isoctl launch --network none | nat | nat -p 127.0.0.1:P:80 | nat + 4 forwards
#              the same none/nat/1/4 rows "paced": BENCH_PACE s idle (untimed, hyperfine --prepare)
#              before each launch, so that the previous launch's teardown is not on the next one
#              podman run --rm --network none | bridge | bridge -p P:80 | bridge + 4 -p
#              (Podman + netavark + crun, run in a namespace of their own "p", storage under the
#              work dir; as ../shared/notes/networking-scripts/podman-bench.sh)
#   tput     iperf3 -t N, 1 stream, interleaved rounds: container -> container over isod's bridge
#              vs a hand-made veth - bridge - veth; outside (x) -> published port (DNAT) ->
#              container vs the same by hand (the netlab's perf.sh); ping RTT h -> container.
#              isod's iperf3 workloads run with --rootfs / (the host's root as the lower layer).
#   vm       isoctl launch --isolation=vm -- /bin/true, --network none vs nat (interleaved);
#              host wget of 32 MiB from a busybox httpd in an isod VM vs in a hand-made QEMU
#              microvm on a tap of a hand-made bridge (vmtap.sh: same kernel, same TCG/KVM).
#   teardown a burst of N nat launches (4 parallel clients): time until no vi* host end remains
#              and `isoctl network show isod0` lists no workload; the same after N detached
#              workloads are removed with `isoctl rm -f`.
#
# Usage (root):  bench/bench-net.sh [--install] [--rounds N] [--runs N] [--podman-runs N]
#                    [--tput-rounds N] [--tput-secs N] [--vm-rounds N] [--vm-runs N] [--burst N]
#                    [--pace SECONDS] [--parts "launch tput vm teardown"] [--quick]
# Env (the same, for scripts): ISOD_BUILD (build tree with isod, isod-monitor, isoctl and
#   test-assets; default /tmp/b), BENCH_RESULTS (default <repo>/bench/results), BENCH_DATE
#   (default today), BENCH_WORK (scratch, raw data; default /tmp/isod-bench-net), BENCH_ROUNDS (6),
#   BENCH_RUNS (15), BENCH_PODMAN_RUNS (= BENCH_RUNS), BENCH_PACE (idle seconds before each launch
#   of the "paced" rows, 0.1), BENCH_TPUT_ROUNDS (5), BENCH_TPUT_SECS (3), BENCH_VM_ROUNDS (8),
#   BENCH_VM_RUNS (5), BENCH_WGET_REPS (6), BENCH_BURST (50), BENCH_PARTS, BENCH_INSTALL=1.
# Needs: iproute2, nftables, iperf3, hyperfine, jq, busybox (static), python3, dnsmasq; for the
#   Podman rows podman, netavark, aardvark-dns, crun, iptables (--install: apt-get install them;
#   else missing ones are reported and the rows skipped); for vm, qemu-system-x86_64 and
#   `make test-assets` (guest kernel, initramfs with virtio_net, kernel-cache with the modules).
# Output: BENCH_RESULTS/net.md (every row from this run, ratios against the targets of the
#   networking issue); raw hyperfine JSON and logs in BENCH_WORK/raw-<date>/ (not committed).
# Default run: about 10-12 minutes on a 2-CPU TCG box (80 VM boots).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SRCDIR=$(cd "$(dirname "$SELF")/.." && pwd)
ISOD_BUILD=${ISOD_BUILD:-/tmp/b}
BENCH_RESULTS=${BENCH_RESULTS:-$SRCDIR/bench/results}
DATE=${BENCH_DATE:-$(date +%F)}
WORK=${BENCH_WORK:-/tmp/isod-bench-net}
ROUNDS=${BENCH_ROUNDS:-6}
RUNS=${BENCH_RUNS:-15}
PM_RUNS=${BENCH_PODMAN_RUNS:-}
TPUT_ROUNDS=${BENCH_TPUT_ROUNDS:-5}
TPUT_SECS=${BENCH_TPUT_SECS:-3}
VM_ROUNDS=${BENCH_VM_ROUNDS:-8}
VM_RUNS=${BENCH_VM_RUNS:-5}
BURST=${BENCH_BURST:-50}
PACE=${BENCH_PACE:-0.1}
PARTS=${BENCH_PARTS:-launch tput vm teardown}
INSTALL=${BENCH_INSTALL:-0}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
        case $1 in
        --install) INSTALL=1 ;;
        --rounds) ROUNDS=$2; shift ;;
        --runs) RUNS=$2; shift ;;
        --podman-runs) PM_RUNS=$2; shift ;;
        --tput-rounds) TPUT_ROUNDS=$2; shift ;;
        --tput-secs) TPUT_SECS=$2; shift ;;
        --vm-rounds) VM_ROUNDS=$2; shift ;;
        --vm-runs) VM_RUNS=$2; shift ;;
        --burst) BURST=$2; shift ;;
        --pace) PACE=$2; shift ;;
        --parts) PARTS=$2; shift ;;
        --quick) ROUNDS=2 RUNS=5 TPUT_ROUNDS=1 TPUT_SECS=2 VM_ROUNDS=1 VM_RUNS=1 BURST=10 ;;
        -h | --help) usage 0 ;;
        *) echo "unknown option $1" >&2; usage 2 >&2 ;;
        esac
        shift
done
PM_RUNS=${PM_RUNS:-$RUNS}
for v in ROUNDS RUNS PM_RUNS TPUT_ROUNDS TPUT_SECS VM_ROUNDS VM_RUNS BURST; do
        [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] && [ "${!v}" -le 1000 ] || { echo "$v must be 1..1000" >&2; exit 2; }
done
[[ $PACE =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "--pace wants seconds" >&2; exit 2; }
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
case $WORK in *[[:space:]]*) die "work dir must not contain spaces" ;; esac

# ---------------------------------------------------------------- tools
need_pkgs() { # pkg... -> the ones not installed
        local p
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
        done
}
BASE_PKGS="iproute2 nftables iperf3 hyperfine jq busybox-static python3 dnsmasq-base"
PM_PKGS="podman netavark aardvark-dns crun iptables"
missing=$(need_pkgs $BASE_PKGS $PM_PKGS | xargs)
if [ -n "$missing" ] && [ "$INSTALL" = 1 ]; then
        log "apt-get install -y $missing"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
                { apt-get update -qq >/dev/null 2>&1 || true
                  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
                        log "apt-get install failed"; }
        missing=$(need_pkgs $BASE_PKGS $PM_PKGS | xargs)
fi
for p in $BASE_PKGS; do case " $missing " in *" $p "*) die "missing package $p (--install installs it)" ;; esac; done
PODMAN_OK=1 PODMAN_WHY=
pm_missing=$(for p in $PM_PKGS; do case " $missing " in *" $p "*) echo "$p" ;; esac; done | xargs)
[ -z "$pm_missing" ] || { PODMAN_OK=0 PODMAN_WHY="not installed: $pm_missing (--install)"; log "Podman rows skipped: $PODMAN_WHY"; }
BB=$(command -v busybox)

# ---------------------------------------------------------------- snapshot of the build, isod
for f in isod isod-monitor isoctl; do [ -x "$ISOD_BUILD/$f" ] || die "$ISOD_BUILD/$f missing: build first"; done
[ -d "$ISOD_BUILD/test-assets/images/busybox/rootfs" ] || die "no busybox image in $ISOD_BUILD/test-assets (make test-assets)"
RAW=$WORK/raw-$DATE
OUT=$BENCH_RESULTS/net.md
rm -rf "$RAW"
mkdir -p "$WORK" "$RAW" "$BENCH_RESULTS"
SNAP=$(mktemp -d "$WORK/build.XXXXXX")
# a snapshot: others may rebuild the tree while the benchmark runs
for f in isod isod-monitor isoctl; do cp "$ISOD_BUILD/$f" "$SNAP/$f"; done
ln -s "$(readlink -f "$ISOD_BUILD/test-assets")" "$SNAP/test-assets"
export top_builddir=$SNAP top_srcdir=$SRCDIR
# shellcheck source=../tests/lib.sh
. "$SRCDIR/tests/lib.sh" >/dev/null
set -euo pipefail
ISOCTL=$SNAP/isoctl
ROOTFS=$IMAGE_DIR/busybox/rootfs

S=$$
NH=bn-h-$S NX=bn-x-$S NP=bn-p-$S  # isod's host side, the outside, Podman's
LH=bn-lh-$S L1=bn-l1-$S L2=bn-l2-$S LX=bn-lx-$S # the hand-made lab: bridge side, two ends, outside
ALL_NS="$NH $NX $NP $LH $L1 $L2 $LX"
inh() { nsenter --net=/run/netns/$NH -- "$@"; }
inx() { nsenter --net=/run/netns/$NX -- "$@"; }
inl() { local n=$1; shift; nsenter --net=/run/netns/$n -- "$@"; }
BGPIDS=
net_cleanup() {
        set +e
        [ -n "$BGPIDS" ] && kill $BGPIDS 2>/dev/null
        [ -s "$WORK/iperf-lab.pid" ] && kill "$(cat "$WORK/iperf-lab.pid")" 2>/dev/null
        rm -f "$WORK/iperf-lab.pid" "$WORK/labvm/qemu.pid"
        local n
        for n in $ALL_NS; do
                [ -e /run/netns/$n ] || continue
                ip netns pids $n 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        done
        sleep 0.2
        for n in $ALL_NS; do [ -e /run/netns/$n ] && ip netns del $n 2>/dev/null; done
}
all_cleanup() {
        set +e
        [ -n "$ISOD_PID" ] && { "$ISOCTL" list 2>/dev/null | awk 'NR > 1 { print $1 }' | xargs -r -n1 "$ISOCTL" rm -f >/dev/null 2>&1; }
        net_cleanup
        cleanup
        rm -rf "$SNAP"
        [ -d "$WORK/pm" ] && { umount -R "$WORK/pm/pmrun" 2>/dev/null; umount -R "$WORK/pm/pmroot" 2>/dev/null; }
}
trap all_cleanup EXIT
trap 'exit 130' INT TERM

log "namespaces: $ALL_NS"
for n in $ALL_NS; do ip netns add $n; ip -n $n link set lo up; done
# isod's side, as tests/test-network.sh: uplink up0 198.51.100.1 <-> ext0 198.51.100.2 in x.
ip -n $NH link add up0 type veth peer name ext0 netns $NX
ip -n $NH addr add 198.51.100.1/24 dev up0
ip -n $NX addr add 198.51.100.2/24 dev ext0
ip -n $NH link set up0 up
ip -n $NX link set ext0 up
ip -n $NH route add default via 198.51.100.2
echo "nameserver 198.51.100.2" >"$T/upstream.conf"
# A permissive policy: any isolation requested, nat, ports on any address from 1024.
cat >"$T/policy.json" <<'EOF'
{"version":1,"rules":[],"default":{"isolation":"requested","reason":"benchmark",
 "network":{"modes":["none","nat"],"addresses":"0.0.0.0","port_min":1024,"max_ports":64}}}
EOF
start_bus || die "no dbus-daemon"
mkdir -p "$T/state" "$T/cache"
inh "$SNAP/isod" --state-dir="$T/state" --image-dir="$IMAGE_DIR" --vm-dir="$VM_DIR" --cache-dir="$T/cache" \
        --monitor="$SNAP/isod-monitor" --policy="$T/policy.json" --network-dir="$T/networks" \
        --dns-upstream="$T/upstream.conf" >>"$RAW/isod.log" 2>&1 &
ISOD_PID=$!
wait_until 10 isod_alive || die "isod did not start: $(tail -5 "$RAW/isod.log")"
# as root by default: isoctl straight to isod's private socket (bench-containers.sh's headline row)
export ISOD_SOCKET=$T/state/private
"$ISOCTL" launch --network nat -- /bin/true || die "a nat launch fails: $(tail -5 "$RAW/isod.log")"
GW=$("$ISOCTL" network show isod0 --json | jq -r .Gateway)
log "isod up in $NH; isod0 gateway $GW"

# ---------------------------------------------------------------- helpers
ip_of() { "$ISOCTL" show --json "$1" | jq -r '.. | objects | .IPAddress? // empty' | head -1; }
state_of_w() { "$ISOCTL" show --json "$1" 2>/dev/null | jq -r '.. | objects | .State? // empty' | head -1; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
now() { date +%s%N; }
# stats over a row's rounds (hyperfine JSON files RAW/NAME.r*.json): median, p90, min, n (ms)
stats() {
        local f
        f=$(ls "$RAW/$1".r*.json 2>/dev/null) || { echo "- - - 0"; return 0; }
        # shellcheck disable=SC2086
        jq -s -r '[.[].results[0].times[]] | sort | length as $n |
                if $n == 0 then "- - - 0" else
                def pick(p): .[((($n - 1) * p) | floor)];
                [ (if $n % 2 == 1 then .[($n - 1) / 2] else (.[$n / 2 - 1] + .[$n / 2]) / 2 end),
                  pick(0.9), .[0] ] | map(. * 10000 | round / 10 | tostring) + [$n | tostring] | join(" ") end' $f
}
med_of() { stats "$1" | cut -d' ' -f1; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.1f", a - b }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v t="$2" -v d="$3" 'BEGIN { if (v == "-") print "not measured";
        else if ((d == "le" && v <= t) || (d == "ge" && v >= t)) print "**met**"; else print "**missed**" }'; }
# hf NAME ROUND RUNS CMD [PREPARE]: one round of a row (PREPARE: run untimed before each launch)
hf() {
        local prep=()
        [ -n "${5:-}" ] && prep=(--prepare "$5")
        hyperfine -N --style none --warmup 0 --runs "$3" "${prep[@]}" -n "$1" --export-json "$RAW/$1.r$2.json" "$4" \
                >>"$RAW/hyperfine.log" 2>&1 || { log "$1: round $2 failed (hyperfine.log)"; rm -f "$RAW/$1.r$2.json"; }
}
rotate() { # K WORDS...: the words starting at index (K-1) mod n
        local k=$1; shift
        local -a a=("$@")
        local n=${#a[@]} i
        for ((i = 0; i < n; i++)); do echo "${a[((k - 1 + i) % n)]}"; done
}

# ---------------------------------------------------------------- Podman in namespace p
P="podman --root $WORK/pm/pmroot --runroot $WORK/pm/pmrun"
PM_IMG=localhost/isobench-bb:1
podman_prepare() {
        [ "$PODMAN_OK" = 1 ] || return 0
        mkdir -p "$WORK/pm"
        cat >"$WORK/pm/containers.conf" <<'EOF'
[containers]
default_ulimits=["nofile=1024:1024","nproc=1024:1024"]
pids_limit=0
[network]
network_backend="netavark"
[engine]
cgroup_manager="cgroupfs"
events_logger="file"
EOF
        # podman-bench.sh's environment: Podman's own network namespace and a private mount
        # namespace without the hybrid /sys/fs/cgroup/unified (crun 1.8 refuses it).
        cat >"$WORK/pm/env.sh" <<EOF
umount /sys/fs/cgroup/unified 2>/dev/null
export CONTAINERS_CONF=$WORK/pm/containers.conf
P="$P"
EOF
        if ! pm_sh "\$P image exists $PM_IMG || tar -C $ROOTFS -c . | \$P import - $PM_IMG" >"$RAW/podman-import.log" 2>&1; then
                PODMAN_OK=0 PODMAN_WHY="podman import failed: $(tail -1 "$RAW/podman-import.log")"
                log "Podman rows skipped: $PODMAN_WHY"; return 0
        fi
        if ! pm_sh "\$P run --rm --network bridge -p 18180:80 $PM_IMG /bin/sh -c 'ip -4 addr show eth0 | grep inet'" >"$RAW/podman-check.log" 2>&1; then
                PODMAN_OK=0 PODMAN_WHY="podman run --network bridge fails: $(tail -2 "$RAW/podman-check.log" | xargs)"
                log "Podman rows skipped: $PODMAN_WHY"; return 0
        fi
        log "podman: $(grep inet "$RAW/podman-check.log" | xargs)"
}
pm_sh() { nsenter --net=/run/netns/$NP unshare -m --propagation private sh -c ". $WORK/pm/env.sh; $1"; }
# hf for Podman rows: hyperfine itself runs in Podman's namespaces (setup outside the timing)
hf_pm() {
        pm_sh "hyperfine -N --style none --warmup 0 --runs $3 -n $1 --export-json $RAW/$1.r$2.json \"$4\"" \
                >>"$RAW/hyperfine.log" 2>&1 || { log "$1: round $2 failed (hyperfine.log)"; rm -f "$RAW/$1.r$2.json"; }
}

# ================================================================ 1. launch cost
launch_part() {
        log "== launch: $ROUNDS rounds x $RUNS launches (Podman: $PM_RUNS)"
        podman_prepare
        L_CMD_none="$ISOCTL launch --network none -- /bin/true"
        L_CMD_nat="$ISOCTL launch --network nat -- /bin/true"
        L_CMD_nat1p="$ISOCTL launch --network nat -p 127.0.0.1:18080:80 -- /bin/true"
        L_CMD_nat4p="$ISOCTL launch --network nat -p 127.0.0.1:18081:80 -p 127.0.0.1:18082:81 -p 127.0.0.1:18083:82 -p 127.0.0.1:18084:83 -- /bin/true"
        L_CMD_pm_none="$P run --rm --network none $PM_IMG /bin/true"
        L_CMD_pm_bridge="$P run --rm --network bridge $PM_IMG /bin/true"
        L_CMD_pm_1p="$P run --rm --network bridge -p 18080:80 $PM_IMG /bin/true"
        L_CMD_pm_4p="$P run --rm --network bridge -p 18081:80 -p 18082:81 -p 18083:82 -p 18084:83 $PM_IMG /bin/true"
        local rows="isod-none isod-nat isod-nat1p isod-nat4p isod-none-paced isod-nat-paced isod-nat1p-paced isod-nat4p-paced" r k
        [ "$PODMAN_OK" = 1 ] && rows+=" podman-none podman-bridge podman-1p podman-4p"
        # warm-up (spare monitors, page cache, Podman's first network setup)
        for r in none nat nat1p nat4p; do local c="L_CMD_$r"; ${!c} >/dev/null 2>&1 || die "does not run: ${!c}"; done
        if [ "$PODMAN_OK" = 1 ]; then for r in none bridge 1p 4p; do local c="L_CMD_pm_$r"; pm_sh "${!c}" >/dev/null 2>&1 || true; done; fi
        for k in $(seq 1 "$ROUNDS"); do
                for r in $(rotate "$k" $rows); do
                        case $r in
                        isod-*-paced) local c="L_CMD_${r#isod-}"; c=${c%-paced}; hf "$r" "$k" "$RUNS" "${!c}" "sleep $PACE" ;;
                        isod-*) local c="L_CMD_${r#isod-}"; hf "$r" "$k" "$RUNS" "${!c}" ;;
                        podman-*) local c="L_CMD_pm_${r#podman-}"; hf_pm "$r" "$k" "$PM_RUNS" "${!c}" ;;
                        esac
                done
                log "round $k/$ROUNDS: isod none/nat/1p/4p $(med_of isod-none)/$(med_of isod-nat)/$(med_of isod-nat1p)/$(med_of isod-nat4p) ms$([ "$PODMAN_OK" = 1 ] && echo "; podman $(med_of podman-none)/$(med_of podman-bridge)/$(med_of podman-1p)/$(med_of podman-4p) ms")"
        done
        # what a nat workload saw (one launch, for the report)
        "$ISOCTL" launch --network nat -p 127.0.0.1:18085:80 -- /bin/sh -c 'ip -4 -o addr show eth0; ip route; cat /etc/resolv.conf' >"$RAW/nat-probe.txt" 2>&1 || true
}

# ================================================================ 2. throughput
IPERF_J='import json,sys
d=json.load(sys.stdin); e=d["end"]; s=e["sum_sent"]; r=e.get("sum_received", s)
print("%.3f %s" % (r["bits_per_second"]/1e9, s.get("retransmits", "-")))'
iperf_parse() { python3 -c "$IPERF_J" 2>/dev/null || echo "- -"; }
lab_up() {
        # perf.sh / netlab: l1 - h1 - br0 (lh) - h2 - l2, and lx -> lh's uplink -> DNAT -> l2
        ip -n $LH link add br0 type bridge
        ip -n $LH addr add 10.91.0.1/24 dev br0
        ip -n $LH link set br0 up
        local i
        for i in 1 2; do
                local n="L$i"
                ip -n $LH link add h$i type veth peer name eth0 netns ${!n}
                ip -n $LH link set h$i master br0 up
                ip -n ${!n} addr add 10.91.0.1$i/24 dev eth0
                ip -n ${!n} link set eth0 up
                ip -n ${!n} route add default via 10.91.0.1
        done
        ip -n $LH link add up0 type veth peer name ext0 netns $LX
        ip -n $LH addr add 198.51.100.1/24 dev up0
        ip -n $LH link set up0 up
        ip -n $LX addr add 198.51.100.2/24 dev ext0
        ip -n $LX link set ext0 up
        inl $LH sysctl -qw net.ipv4.ip_forward=1
        inl $LH nft -f - <<'NFT'
table inet lab {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local tcp dport 15201 dnat ip to 10.91.0.12:5201
  }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    ip saddr 10.91.0.0/24 ip daddr != 10.91.0.0/24 masquerade
  }
  chain forward { type filter hook forward priority filter; policy accept;
    iifname "br0" accept
    oifname "br0" ct state established,related accept
    oifname "br0" ct status dnat accept
    oifname "br0" drop
  }
}
NFT
}
tput_part() {
        log "== throughput: $TPUT_ROUNDS rounds of iperf3 -t $TPUT_SECS"
        lab_up
        inl $L2 iperf3 -s -D -B 10.91.0.12 -p 5201 --logfile "$RAW/iperf-lab.log" -I "$WORK/iperf-lab.pid"
        "$ISOCTL" launch -d --name ipsrv --rootfs / --network nat -p 15201:5201 -- iperf3 -s >/dev/null ||
                die "cannot launch iperf3 -s with --rootfs /"
        wait_until 10 sh -c "[ \"\$('$ISOCTL' show --json ipsrv | jq -r '.. | objects | .State? // empty' | head -1)\" = running ]" || true
        SIP=$(ip_of ipsrv)
        [ -n "$SIP" ] || die "ipsrv has no address"
        local i
        for i in $(seq 1 50); do inh $BB timeout 1 nc -z "$SIP" 5201 2>/dev/null && break; sleep 0.1; done
        log "isod iperf3 server at $SIP (and 198.51.100.1:15201 in $NH)"
        : >"$RAW/tput.tsv"
        local k r out
        for k in $(seq 1 "$TPUT_ROUNDS"); do
                for r in $(rotate "$k" lab-c2c isod-c2c lab-dnat isod-dnat); do
                        case $r in
                        lab-c2c) out=$(inl $L1 iperf3 -c 10.91.0.12 -p 5201 -t "$TPUT_SECS" -J | iperf_parse) ;;
                        lab-dnat) out=$(inl $LX iperf3 -c 198.51.100.1 -p 15201 -t "$TPUT_SECS" -J | iperf_parse) ;;
                        isod-c2c) out=$("$ISOCTL" launch --rootfs / --network nat -- iperf3 -c "$SIP" -p 5201 -t "$TPUT_SECS" -J 2>>"$RAW/iperf-isod.err" | iperf_parse) ;;
                        isod-dnat) out=$(inx iperf3 -c 198.51.100.1 -p 15201 -t "$TPUT_SECS" -J | iperf_parse) ;;
                        esac
                        printf '%s\t%s\t%s\n' "$r" "$k" "$out" >>"$RAW/tput.tsv"
                        log "  round $k $r: ${out% *} Gbit/s (retrans ${out#* })"
                done
        done
        # latency: ping from the bridge side to a workload, 200 x 10 ms
        inl $LH ping -q -c 200 -i 0.01 10.91.0.12 2>&1 | tail -1 >"$RAW/ping-lab.txt" || true
        inh ping -q -c 200 -i 0.01 "$SIP" 2>&1 | tail -1 >"$RAW/ping-isod.txt" || true
        "$ISOCTL" rm -f ipsrv >/dev/null 2>&1 || true
        kill "$(cat "$WORK/iperf-lab.pid" 2>/dev/null)" 2>/dev/null || true
}
tput_med() { # ROW -> "median_gbit median_retrans n"
        awk -v r="$1" -F'\t' '$1 == r && $3 !~ /^-/ { split($3, a, " "); print a[1], a[2] }' "$RAW/tput.tsv" |
                sort -g | awk '{ v[NR] = $1; t[NR] = $2 } END { if (NR == 0) { print "- - 0"; exit }
                        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                        printf "%.2f %s %d\n", m, t[int((NR + 1) / 2)], NR }'
}
tput_pair() { # ISOD_ROW LAB_ROW -> median over rounds of isod/lab measured in the same round
        awk -F'\t' -v a="$1" -v b="$2" '$3 !~ /^-/ { split($3, x, " "); v[$1, $2] = x[1] }
                END { for (k = 1; k <= 1000; k++) if (((a, k) in v) && ((b, k) in v) && v[b, k] > 0) print v[a, k] / v[b, k] }' "$RAW/tput.tsv" |
                sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
tput_all() { awk -v r="$1" -F'\t' '$1 == r { split($3, a, " "); printf "%s%s", s, a[1]; s = ", " }' "$RAW/tput.tsv"; }
ping_avg() { sed -n 's#.* = \([0-9.]*\)/\([0-9.]*\)/.*#\2 (\1)#p' "$RAW/ping-$1.txt" 2>/dev/null; }

# ================================================================ 3. VMs
VM_OK=1 VM_WHY= VMNET_OK=1 VMNET_WHY=
vm_part() {
        command -v qemu-system-x86_64 >/dev/null || { VM_OK=0 VM_WHY="no qemu-system-x86_64"; return 0; }
        [ -f "$VM_DIR/vmlinux" ] && [ -f "$VM_DIR/initramfs.cpio" ] || { VM_OK=0 VM_WHY="no guest kernel in $VM_DIR (make test-assets)"; return 0; }
        log "== vm: check that a VM gets a NIC"
        local probe
        probe=$(timeout 300 "$ISOCTL" launch --isolation=vm --network nat -- /bin/sh -c 'ip -4 -o addr show eth0; cat /sys/class/net/eth0/device/uevent 2>/dev/null | grep -i driver' 2>&1) || true
        printf '%s\n' "$probe" >"$RAW/vm-probe.txt"
        if ! printf '%s\n' "$probe" | grep -q 'inet '; then
                VMNET_OK=0 VMNET_WHY="isoctl launch --isolation=vm --network nat gave no eth0 address: $(printf '%s' "$probe" | tail -2 | xargs)"
                log "VM network rows skipped: $VMNET_WHY"
        fi
        VM_ACCEL=$("$ISOCTL" launch --isolation=vm --name vmaccel --keep -- /bin/true >/dev/null 2>&1; "$ISOCTL" show --json vmaccel | jq -r '.. | objects | .Accelerator? // empty' | head -1)
        "$ISOCTL" rm -f vmaccel >/dev/null 2>&1 || true
        log "== vm boot: $VM_ROUNDS rounds x $VM_RUNS launches, accelerator ${VM_ACCEL:-?}"
        local k r rows="vm-none"
        [ "$VMNET_OK" = 1 ] && rows+=" vm-nat"
        # Timed here (not hyperfine) to read each launch's timing facts (monitor.json, as
        # bench-vm.sh): --keep, removed after the measurement, outside the timing.
        : >"$RAW/vm-boot.tsv"
        local i n t0 t1
        for k in $(seq 1 "$VM_ROUNDS"); do
                for r in $(rotate "$k" $rows); do
                        for i in $(seq 1 "$VM_RUNS"); do
                                n=vb-$k-$i-${r#vm-}
                                t0=$(now)
                                "$ISOCTL" launch --isolation=vm --keep --name "$n" --network "${r#vm-}" -- /bin/true >/dev/null 2>>"$RAW/vm-boot.err" || { log "$n failed"; continue; }
                                t1=$(now)
                                jq -r --arg r "$r" --argjson w $(((t1 - t0) / 1000)) '.facts.timing | [$r, $w, .spawn_usec, .guest_agent_usec,
                                        .guest_modules_usec - .guest_agent_usec, .guest_ports_usec - .guest_modules_usec,
                                        .ready_usec - .spawn_usec - .guest_ports_usec, .started_usec - .ready_usec,
                                        .qemu_exit_usec - .exit_usec] | @tsv' "$T/state/workloads/$n/monitor.json" >>"$RAW/vm-boot.tsv" 2>/dev/null || true
                                "$ISOCTL" rm -f "$n" >/dev/null 2>&1 || true
                        done
                done
                log "round $k/$VM_ROUNDS: none/nat $(vm_med vm-none 2)/$(vm_med vm-nat 2) ms"
        done
        [ "$VMNET_OK" = 1 ] || return 0
        # Both VMs up at once and the wget rounds alternating (isod, hand-made, isod, …): under
        # TCG a 32 MiB transfer is CPU-bound and the machine's speed drifts over minutes, so
        # blocks run one after the other compare different moments (0.65-1.22 in three runs).
        vm_tput_isod_up
        vm_tput_lab_up
        : >"$RAW/vm-wget-isod.txt"
        : >"$RAW/vm-wget-lab.txt"
        local i
        for i in $(seq 1 "$WGET_REPS"); do
                [ -n "$VM_ISOD_URL" ] && wget_rate "$NH" "$VM_ISOD_URL" >>"$RAW/vm-wget-isod.txt"
                [ -n "$VM_LAB_URL" ] && wget_rate "$LH" "$VM_LAB_URL" >>"$RAW/vm-wget-lab.txt"
        done
        log "  isod VM: $(xargs <"$RAW/vm-wget-isod.txt") Mbit/s; hand-made VM: $(xargs <"$RAW/vm-wget-lab.txt") Mbit/s"
        [ -n "$VM_ISOD_URL" ] && { inh ping -q -c 50 -i 0.02 "$VM_ISOD_IP" 2>&1 | tail -1 >"$RAW/ping-vm-isod.txt" || true; }
        [ -n "$VM_LAB_URL" ] && { inl $LH ping -q -c 50 -i 0.02 10.91.0.50 2>&1 | tail -1 >"$RAW/ping-vm-lab.txt" || true; }
        "$ISOCTL" rm -f vmsrv >/dev/null 2>&1 || true
        vm_tput_lab_down
}
WGET_REPS=${BENCH_WGET_REPS:-6}
VM_ISOD_URL= VM_ISOD_IP= VM_LAB_URL= VM_LAB_PID= VM_LAB_JOB=
vm_med() { # ROW COLUMN -> median in ms over vm-boot.tsv (columns: 2 wall ... 9 power-off)
        awk -v r="$1" -v c="$2" -F'\t' '$1 == r { print $c }' "$RAW/vm-boot.tsv" 2>/dev/null | sort -g |
                awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.0f\n", ((NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1000 }'
}
vm_p90() { awk -v r="$1" -F'\t' '$1 == r { print $2 }' "$RAW/vm-boot.tsv" 2>/dev/null | sort -g |
                awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.0f %.0f %d\n", v[int((NR - 1) * 0.9) + 1] / 1000, v[1] / 1000, NR }'; }
wget_rate() { # NS URL -> Mbit/s for 32 MiB
        local t0 t1
        t0=$(now)
        inl "$1" $BB timeout 120 wget -q -O /dev/null "$2" || { echo -; return 0; }
        t1=$(now)
        awk -v d=$((t1 - t0)) 'BEGIN { printf "%.0f\n", 32 * 8 * 1.048576 / (d / 1e9) }'
}
vm_tput_isod_up() {
        log "== vm tap: host wget 32 MiB from an isod VM's busybox httpd and from a hand-made one, alternating"
        "$ISOCTL" launch -d --isolation=vm --name vmsrv --network nat -- /bin/sh -c \
                'mkdir -p /w && dd if=/dev/zero of=/w/big bs=1048576 count=32 2>/dev/null && echo ok >/w/index.html && exec httpd -f -p 80 -h /w' >/dev/null ||
                { log "cannot launch the VM httpd"; return 0; }
        local vip="" i
        for i in $(seq 1 120); do vip=$(ip_of vmsrv); [ -n "$vip" ] && break; sleep 0.5; done
        for i in $(seq 1 240); do [ "$(inh $BB timeout 1 wget -q -O - "http://$vip/" 2>/dev/null)" = ok ] && break; sleep 0.5; done
        VM_ISOD_IP=$vip VM_ISOD_URL=http://$vip/big
}
vm_tput_lab_up() {
        # vmtap.sh: a tap opened by taprun.py in the lab's bridge namespace, QEMU in an empty netns
        log "== vm tap: the same from a hand-made QEMU microvm on a tap of the lab bridge"
        local rel kdir m L=$WORK/labvm
        rel=$(cat "$VM_DIR/kernel.release" 2>/dev/null)
        kdir=$IMAGE_DIR/../kernel-cache/$rel/root/lib/modules/$rel/kernel
        [ -f "$kdir/drivers/net/virtio_net.ko" ] || { LABVM_WHY="no $kdir/drivers/net/virtio_net.ko"; log "$LABVM_WHY"; return 0; }
        [ -e /sys/class/net/br0 ] || ip -n $LH link show br0 >/dev/null 2>&1 || lab_up
        rm -rf "$L"; mkdir -p "$L/r/bin" "$L/r/m" "$L/r/proc" "$L/r/sys" "$L/r/dev" "$L/r/www"
        cp "$BB" "$L/r/bin/busybox"
        for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio net/core/failover \
                drivers/net/net_failover drivers/net/virtio_net; do
                [ -f "$kdir/$m.ko" ] && cp "$kdir/$m.ko" "$L/r/m/"
        done
        cat >"$L/r/init" <<'EOF'
#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc; $B mount -t sysfs sys /sys; $B mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_mmio failover net_failover virtio_net; do [ -f /m/$m.ko ] && $B insmod /m/$m.ko; done
$B ip link set lo up
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; $B sleep 0.1; done
$B ip link set eth0 up; $B ip addr add 10.91.0.50/24 dev eth0; $B ip route add default via 10.91.0.1
$B mount -t tmpfs tmpfs /www; echo ok > /www/index.html
$B dd if=/dev/zero of=/www/big bs=1048576 count=32 2>/dev/null
$B httpd -p 80 -h /www
echo READY
$B sleep 600
$B poweroff -f
EOF
        chmod +x "$L/r/init"
        (cd "$L/r" && find . | cpio -o -H newc --quiet -R 0:0) >"$L/ird.cpio"
        cat >"$L/taprun.py" <<'EOF'
import fcntl, os, struct, subprocess, sys
TUNSETIFF, IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x400454ca, 0x0002, 0x1000, 0x4000
name, bridge = sys.argv[1], sys.argv[2]
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
subprocess.check_call(["ip", "link", "set", name, "master", bridge, "up"])
os.set_inheritable(fd, True)
os.execvp(sys.argv[3], [a.replace("@FD@", str(fd)) for a in sys.argv[3:]])
EOF
        local acc=(-accel tcg,thread=multi -cpu qemu64,+rdrand) tsc=" tsc_early_khz=2000000"
        [ "${VM_ACCEL:-}" = kvm ] && acc=(-accel kvm -cpu host) tsc=""
        inl $LH python3 "$L/taprun.py" tapl0 br0 unshare -n qemu-system-x86_64 \
                -M microvm,x-option-roms=off,pit=off,pic=off,acpi=on -nodefaults -no-user-config -nographic -no-reboot \
                "${acc[@]}" -smp 1 -m 256M -kernel "$VM_DIR/vmlinux" -initrd "$L/ird.cpio" \
                -append "console=ttyS0 quiet panic=-1 nokaslr random.trust_cpu=on$tsc" -serial file:"$L/guest.log" \
                -netdev tap,id=n0,fd=@FD@,vhost=off -device virtio-net-device,netdev=n0,mac=52:54:00:12:34:56 \
                -pidfile "$L/qemu.pid" >"$L/qemu.out" 2>&1 &
        local qjob=$! qpid i
        for i in $(seq 1 100); do [ -s "$L/qemu.pid" ] && break; sleep 0.05; done
        qpid=$(cat "$L/qemu.pid" 2>/dev/null) || qpid=$qjob
        BGPIDS="$BGPIDS $qpid"
        for i in $(seq 1 600); do grep -q READY "$L/guest.log" 2>/dev/null && break; kill -0 $qpid 2>/dev/null || break; sleep 0.2; done
        if ! grep -q READY "$L/guest.log" 2>/dev/null; then
                LABVM_WHY="hand-made VM did not come up: $(tail -2 "$L/guest.log" "$L/qemu.out" 2>/dev/null | xargs)"
                log "$LABVM_WHY"; kill $qpid 2>/dev/null; return 0
        fi
        for i in $(seq 1 50); do [ "$(inl $LH $BB timeout 1 wget -q -O - http://10.91.0.50/ 2>/dev/null)" = ok ] && break; sleep 0.2; done
        VM_LAB_URL=http://10.91.0.50/big VM_LAB_PID=$qpid VM_LAB_JOB=$qjob
}
vm_tput_lab_down() {
        local i
        [ -n "$VM_LAB_PID" ] || return 0
        kill "$VM_LAB_PID" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$VM_LAB_PID" 2>/dev/null || break; sleep 0.1; done
        wait "$VM_LAB_JOB" 2>/dev/null || true
}
LABVM_WHY=
med_file() { sort -g "$1" 2>/dev/null | grep -v '^-' | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ================================================================ 4. teardown
host_ends() { ip -n $NH -o link show 2>/dev/null | grep -Ec ': (vi|ti)[0-9a-f]{8}[@:]' || true; }
leases() { "$ISOCTL" network show isod0 --json 2>/dev/null | jq -r '.Workloads | length' 2>/dev/null || echo "?"; }
settle() { # -> ms until no host end and no lease (polled every 10 ms, at most 30 s), and the peak host ends seen
        local t0 t1 i peak=0 h
        t0=$(now)
        for i in $(seq 1 3000); do
                h=$(host_ends)
                [ "$h" -gt "$peak" ] && peak=$h
                [ "$h" = 0 ] && [ "$(leases)" = 0 ] && break
                sleep 0.01
        done
        t1=$(now)
        echo "$(ms "$t0" "$t1") $peak $(host_ends) $(leases)"
}
teardown_part() {
        log "== teardown: burst of $BURST nat launches, 4 parallel clients (and none, for comparison)"
        local t0 t1 s
        t0=$(now)
        seq 1 "$BURST" | xargs -P4 -I{} "$ISOCTL" launch --network none -- /bin/true >/dev/null 2>>"$RAW/burst.err" || true
        t1=$(now)
        TD_NONE_MS=$(ms "$t0" "$t1")
        sleep 0.5
        t0=$(now)
        seq 1 "$BURST" | xargs -P4 -I{} "$ISOCTL" launch -d --name tn{} --network none -- /bin/sleep 600 >/dev/null 2>>"$RAW/burst.err" || true
        t1=$(now)
        TD_NONE_DET_MS=$(ms "$t0" "$t1")
        t0=$(now)
        seq 1 "$BURST" | xargs -P4 -I{} "$ISOCTL" rm -f tn{} >/dev/null 2>>"$RAW/burst.err" || true
        t1=$(now)
        TD_NONE_RM_MS=$(ms "$t0" "$t1")
        sleep 0.5
        t0=$(now)
        seq 1 "$BURST" | xargs -P4 -I{} "$ISOCTL" launch --network nat -- /bin/true >/dev/null 2>>"$RAW/burst.err" || true
        t1=$(now)
        s=$(settle)
        TD_BURST_MS=$(ms "$t0" "$t1") TD_BURST_SETTLE=$s
        log "  burst $TD_BURST_MS ms; then until clean: ${s%% *} ms (peak/left host ends, leases: ${s#* })"
        log "== teardown: $BURST detached nat workloads, then isoctl rm -f of all"
        t0=$(now)
        seq 1 "$BURST" | xargs -P4 -I{} "$ISOCTL" launch -d --name td{} --network nat -- /bin/sleep 600 >/dev/null 2>>"$RAW/burst.err" || true
        t1=$(now)
        local i running=0
        for i in $(seq 1 100); do running=$(host_ends); [ "$running" -ge "$BURST" ] && break; sleep 0.1; done
        TD_DET_MS=$(ms "$t0" "$t1") TD_DET_ENDS=$running TD_DET_LEASES=$(leases)
        t0=$(now)
        seq 1 "$BURST" | xargs -P4 -I{} "$ISOCTL" rm -f td{} >/dev/null 2>>"$RAW/burst.err" || true
        t1=$(now)
        s=$(settle)
        TD_RM_MS=$(ms "$t0" "$t1") TD_RM_SETTLE=$s
        log "  launch -d x$BURST $TD_DET_MS ms ($TD_DET_ENDS host ends, $TD_DET_LEASES leases); rm -f x$BURST $TD_RM_MS ms; then until clean: ${s%% *} ms (${s#* })"
        TD_FWD=$(inh nft -j list table inet isod 2>/dev/null | jq '[.nftables[] | select(.map? and (.map.name | test("^fwd4"))) | (.map.elem // []) | length] | add' 2>/dev/null || echo "?")
        [ -s "$RAW/burst.err" ] && log "  burst errors: $(sort "$RAW/burst.err" | uniq -c | head -3 | xargs)"
        return 0
}

# ================================================================ run
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(now)
part launch && launch_part
part tput && tput_part
part vm && vm_part
part teardown && teardown_part
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
T_END=$(now)
log "measurements done in $(awk -v d=$((T_END - T_START)) 'BEGIN { printf "%.0f", d / 1e9 }') s; writing $OUT"

# ================================================================ report
# a hand-written "## Analysis" section at the end of the report survives a re-run on the same day
ANALYSIS=
[ -f "$OUT" ] && ANALYSIS=$(sed -n '/^## Analysis/,$p' "$OUT")
row() { # label NAME -> | label | median | p90 | min | n |
        local s; s=$(stats "$2"); set -- "$1" $s
        echo "| $1 | **$2** | $3 | $4 | $5 |"
}
{
        echo "# Networking: launch cost, throughput, VM NIC, teardown ($DATE)"
        echo
        echo "Produced by \`bench/bench-net.sh\` (rounds $ROUNDS × $RUNS launches, Podman × $PM_RUNS; iperf3 $TPUT_ROUNDS × ${TPUT_SECS} s; VM $VM_ROUNDS × $VM_RUNS; burst $BURST). Every figure below is from this one run."
        echo
        echo "- host: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load before/after: $LOAD0 / $LOAD1"
        echo "- isod: tree $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null) + $(git -C "$SRCDIR" status --porcelain 2>/dev/null | wc -l) modified/untracked files, binaries of $(stat -c %y "$ISOD_BUILD/isod" | cut -d. -f1); isoctl → isod's private socket (root's default)"
        echo "- isod runs in a test-made network namespace with an uplink veth to an \"outside\" namespace (as tests/test-network.sh); br_netfilter: bridge-nf-call-iptables=$(inh cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo n/a) there"
        echo "- versions: $(iperf3 --version 2>/dev/null | head -1 | cut -d' ' -f1-2); $(hyperfine --version); $(nft --version); $( [ "$PODMAN_OK" = 1 ] && echo "$(podman --version), netavark $(/usr/lib/podman/netavark --version 2>/dev/null | awk '{print $2}'), $(crun --version | head -1), $(iptables --version)" || echo "Podman: $PODMAN_WHY")"
        echo
        if part launch; then
                N0=$(med_of isod-none) N1=$(med_of isod-nat) N2=$(med_of isod-nat1p) N4=$(med_of isod-nat4p)
                D_NAT=$(sub "$N1" "$N0") D_1P=$(sub "$N2" "$N1") D_4P=$(sub "$N4" "$N1")
                PER_PORT=$(awk -v a="$N4" -v b="$N1" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.2f", (a - b) / 4 }')
                echo "## 1. Container launch: /bin/true to completion (ms, interleaved rounds)"
                echo
                echo "| row | median | p90 | min | runs |"
                echo "|---|---|---|---|---|"
                row "isod \`--network none\`" isod-none
                row "isod \`--network nat\`" isod-nat
                row "isod \`--network nat -p 127.0.0.1:18080:80\`" isod-nat1p
                row "isod \`--network nat\` + 4 forwards" isod-nat4p
                row "isod \`--network none\`, paced (${PACE} s idle before each launch, untimed)" isod-none-paced
                row "isod \`--network nat\`, paced" isod-nat-paced
                row "isod \`--network nat\` + 1 forward, paced" isod-nat1p-paced
                row "isod \`--network nat\` + 4 forwards, paced" isod-nat4p-paced
                if [ "$PODMAN_OK" = 1 ]; then
                        row "podman \`run --rm --network none\`" podman-none
                        row "podman \`run --rm --network bridge\`" podman-bridge
                        row "podman \`… bridge -p 18080:80\`" podman-1p
                        row "podman \`… bridge\` + 4 \`-p\`" podman-4p
                fi
                echo
                echo "| delta (medians) | isod | target | | Podman |"
                echo "|---|---|---|---|---|"
                if [ "$PODMAN_OK" = 1 ]; then
                        M0=$(med_of podman-none) M1=$(med_of podman-bridge) M2=$(med_of podman-1p) M4=$(med_of podman-4p)
                        PD_NAT=$(sub "$M1" "$M0") PD_1P=$(sub "$M2" "$M1") PD_4P=$(sub "$M4" "$M1")
                        PPER=$(awk -v a="$M4" -v b="$M1" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.1f", (a - b) / 4 }')
                else PD_NAT=- PD_1P=- PD_4P=- PPER=-; fi
                echo "| network (nat − none) | **$D_NAT** | ≤ 5 ms | $(verdict "${D_NAT#+}" 5 le) | $PD_NAT (bridge − none) |"
                echo "| one forward (1 port − nat) | **$D_1P** | ≤ 1 ms | $(verdict "${D_1P#+}" 1 le) | $PD_1P |"
                echo "| four forwards (4 ports − nat) | $D_4P | | | $PD_4P |"
                echo "| per forward ((4 ports − nat) / 4) | **$PER_PORT** | ≤ 1 ms | $(verdict "${PER_PORT#+}" 1 le) | $PPER |"
                Q0=$(med_of isod-none-paced) Q1=$(med_of isod-nat-paced) Q2=$(med_of isod-nat1p-paced) Q4=$(med_of isod-nat4p-paced)
                DQ_NAT=$(sub "$Q1" "$Q0") DQ_1P=$(sub "$Q2" "$Q1")
                DQ_PER=$(awk -v a="$Q4" -v b="$Q1" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.2f", (a - b) / 4 }')
                echo "| paced (${PACE} s idle before each launch): network (nat − none) | **$DQ_NAT** | ≤ 5 ms | $(verdict "${DQ_NAT#+}" 5 le) | |"
                echo "| paced: one forward | $DQ_1P | ≤ 1 ms | $(verdict "${DQ_1P#+}" 1 le) | |"
                echo "| paced: per forward ((4 ports − nat) / 4) | $DQ_PER | ≤ 1 ms | $(verdict "${DQ_PER#+}" 1 le) | |"
                echo "| whole launch, nat: Podman / isod | $(div "${M1:--}" "$N1")× | | | |"
                echo
                echo "What a nat workload saw: \`$(head -3 "$RAW/nat-probe.txt" 2>/dev/null | tr '\n' ';' | sed 's/  */ /g')\`"
                echo
        fi
        if part tput; then
                read -r LC2C LC2CR _ <<<"$(tput_med lab-c2c)"; read -r IC2C IC2CR _ <<<"$(tput_med isod-c2c)"
                read -r LDN LDNR _ <<<"$(tput_med lab-dnat)"; read -r IDN IDNR _ <<<"$(tput_med isod-dnat)"
                R_C2C=$(tput_pair isod-c2c lab-c2c) R_DN=$(tput_pair isod-dnat lab-dnat)
                echo "## 2. Throughput: iperf3, 1 TCP stream, ${TPUT_SECS} s, $TPUT_ROUNDS interleaved rounds (Gbit/s, receiver)"
                echo
                echo "| path | hand-made (netlab): median (each round) | isod: median (each round) | isod / hand-made (median of per-round ratios) | target |"
                echo "|---|---|---|---|---|"
                echo "| container → container over the bridge | $LC2C (rounds: $(tput_all lab-c2c); retrans $LC2CR) | $IC2C (rounds: $(tput_all isod-c2c); retrans $IC2CR) | **$R_C2C** | ≥ 0.9: $(verdict "$R_C2C" 0.9 ge) |"
                echo "| outside → uplink → DNAT → bridge → container | $LDN (rounds: $(tput_all lab-dnat); retrans $LDNR) | $IDN (rounds: $(tput_all isod-dnat); retrans $IDNR) | **$R_DN** | ≥ 0.9: $(verdict "$R_DN" 0.9 ge) |"
                echo "| ping bridge side → workload, 200 × 10 ms: avg (min) ms | $(ping_avg lab) | $(ping_avg isod) | | |"
                echo
                echo "The hand-made path is ../shared/notes/networking-scripts/perf.sh's: veths into namespaces, a bridge, one nft table with a DNAT rule and a forward chain; no anti-spoofing table. isod's server and client are \`isoctl launch --rootfs / --network nat -- iperf3 …\` (default seccomp, capabilities, cgroup); its path has \`bridge isod\` (anti-spoofing), \`inet isod\` with the forward as a map element, and hairpin on the server's port."
                echo
        fi
        if part vm; then
                echo "## 3. VMs (accelerator: ${VM_ACCEL:-?})"
                echo
                if [ "$VM_OK" = 1 ]; then
                        V0=$(vm_med vm-none 2) V1=$(vm_med vm-nat 2)
                        R_VM=$(div "$V1" "$V0")
                        echo "\`isoctl launch --isolation=vm [--network none|nat] -- /bin/true\` to completion, $VM_ROUNDS interleaved rounds × $VM_RUNS; phases from each launch's monitor.json (medians, ms):"
                        echo
                        echo "| row | wall median | p90 | min | runs | host: spawn QEMU | guest boot to agent | agent: modules | agent: wait for ports | QEMU start to guest clock | CONFIG → started | power-off |"
                        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
                        for r in vm-none vm-nat; do
                                [ "$r" = vm-nat ] && [ "$VMNET_OK" != 1 ] && continue
                                read -r p90 mn nn <<<"$(vm_p90 $r)"
                                echo "| \`--network ${r#vm-}\` | **$(vm_med $r 2)** | $p90 | $mn | $nn | $(vm_med $r 3) | $(vm_med $r 4) | $(vm_med $r 5) | $(vm_med $r 6) | $(vm_med $r 7) | $(vm_med $r 8) | $(vm_med $r 9) |"
                        done
                        echo
                        if [ "$VMNET_OK" = 1 ]; then
                                echo "- boot with NIC / without: **$R_VM** (delta $(sub "$V1" "$V0") ms; target ≤ 1.05: $(verdict "$R_VM" 1.05 le))"
                                WI=$(med_file "$RAW/vm-wget-isod.txt") WL=$(med_file "$RAW/vm-wget-lab.txt")
                                echo "- host \`wget\` of 32 MiB from the guest's busybox httpd over the tap (Mbit/s, median of $WGET_REPS, the two VMs up at once and their rounds alternating): isod **$WI** ($(xargs <"$RAW/vm-wget-isod.txt" 2>/dev/null)); hand-made QEMU tap (vmtap.sh: same kernel, microvm, virtio-net-device, vhost off) ${WL:--} ($(xargs <"$RAW/vm-wget-lab.txt" 2>/dev/null || true))${LABVM_WHY:+ — $LABVM_WHY}; isod / hand-made **$(div "$WI" "${WL:--}")**"
                                echo "- ping bridge side → guest, 50 × 20 ms, avg (min) ms: isod $(ping_avg vm-isod), hand-made $(ping_avg vm-lab)"
                                echo "- what the VM saw: \`$(grep -E 'inet|DRIVER' "$RAW/vm-probe.txt" | tr '\n' ';' | sed 's/  */ /g')\`"
                        else
                                echo "- VM network rows not measured: $VMNET_WHY"
                        fi
                else
                        echo "- not measured: $VM_WHY"
                fi
                echo
        fi
        if part teardown; then
                echo "## 4. Teardown ($BURST workloads)"
                echo
                set -- $TD_BURST_SETTLE; b1=$1 b2=$2 b3=$3 b4=$4
                set -- $TD_RM_SETTLE; r1=$1 r2=$2 r3=$3 r4=$4
                echo "| what | time | then until no vi* host end and no lease | peak host ends while waiting | left (host ends, leases) |"
                echo "|---|---|---|---|---|"
                echo "| control: $BURST × \`isoctl launch --network none -- /bin/true\`, 4 parallel | $TD_NONE_MS ms ($(awk -v n="$BURST" -v t="$TD_NONE_MS" 'BEGIN { printf "%.0f", n / (t / 1000) }')/s) | | | |"
                echo "| control: $BURST × \`launch -d --network none\`, then $BURST × \`rm -f\` | launch $TD_NONE_DET_MS ms; rm $TD_NONE_RM_MS ms ($(awk -v n="$BURST" -v t="$TD_NONE_RM_MS" 'BEGIN { printf "%.1f", t / n }') ms each) | | | |"
                echo "| $BURST × \`isoctl launch --network nat -- /bin/true\`, 4 parallel clients | $TD_BURST_MS ms ($(awk -v n="$BURST" -v t="$TD_BURST_MS" 'BEGIN { printf "%.0f", n / (t / 1000) }')/s) | **$b1 ms** | $b2 | $b3, $b4 |"
                echo "| $BURST × \`launch -d … sleep 600\` ($TD_DET_ENDS host ends, $TD_DET_LEASES leases), then $BURST × \`isoctl rm -f\`, 4 parallel | launch $TD_DET_MS ms; rm $TD_RM_MS ms ($(awk -v n="$BURST" -v t="$TD_RM_MS" 'BEGIN { printf "%.1f", t / n }') ms each) | **$r1 ms** | $r2 | $r3, $r4 |"
                echo
                echo "Forwards left in \`inet isod\` afterwards: ${TD_FWD:-?}. Anchor (notes §4.1): 50 netns with veths, \`ip netns del\` all → host ends gone in 0.12 s."
                echo
        fi
        echo "## Notes"
        echo
        echo "- Each round runs every row, the order rotated by one per round; medians and p90 over all rounds."
        echo "- Podman runs in a namespace of its own (nsenter --net + unshare -m, /sys/fs/cgroup/unified unmounted, storage under $WORK/pm, containers.conf with nofile/nproc 1024, cgroupfs), as podman-bench.sh."
        [ -n "$ANALYSIS" ] && printf '\n%s\n' "$ANALYSIS"
} >"$OUT.new"
mv "$OUT.new" "$OUT"
cat "$OUT"
log "written: $OUT (raw: $RAW)"
. "$SRCDIR/bench/history.sh"
bench_history_add net "nat ${D_NAT:--} ms (Podman ${PD_NAT:--}); per port ${PER_PORT:--} ms; bridge ${R_C2C:--}×, DNAT ${R_DN:--}×; VM NIC boot ${R_VM:--}×"
echo "bench-net: nat=${D_NAT:--}ms port=${D_1P:--}ms per-port=${PER_PORT:--}ms podman-bridge=${PD_NAT:--}ms podman-port=${PD_1P:--}ms c2c=${R_C2C:--} dnat=${R_DN:--} vm-nic=${R_VM:--}"
