#!/usr/bin/env bash
# bench-containers.sh - isod's container launch cost next to crun, runc, bwrap and an unshare floor.
#
# In one run, on this machine and the same busybox rootfs (isod's built-in image), launches
# /bin/true to completion with:
#   isod        isoctl launch -- /bin/true: the whole path (isoctl, D-Bus, isod, monitor, payload),
#               as root runs it by default: a direct D-Bus connection to isod's private socket
#   isod-bus    the same through dbus-daemon (ISOD_SOCKET=, what non-root callers use)
#   isod-limits the same with --memory 256M --pids 64          (comparable to crun-seccomp)
#   isod-allow  the same with crun-allowlist's seccomp profile + limits (comparable to crun-allowlist)
#   isod-unconf the same with --seccomp unconfined              (diagnostic)
#   isod-nospare  isod started with ISOD_NO_SPARE_MONITOR=1     (diagnostic)
#   isod-backend  isod-monitor --dir=DIR alone (reads DIR/workload.json; no daemon, no bus)
#   crun, crun-seccomp (deny-list + limits), crun-allowlist (Docker-like allow-list + limits),
#   runc, bwrap --unshare-all, unshare (namespace floor), chroot (fork/exec floor)
# and reports median/min latency (hyperfine -N), peak RSS, launches/s sequential and with 8
# parallel clients (xargs -P8, unique names), CPU used by other processes during each row, and
# isod's ratios to crun and to the unshare floor against the targets of issue 3.
#
# Usage (root):  bench/bench-containers.sh
# Env:  ISOD_BUILD        build tree with isod, isod-monitor, isoctl, test-assets  (default /tmp/b)
#       BENCH_WORK        work dir (binaries snapshot, image copy, bundles)       (default /tmp/isod-bench)
#       BENCH_RESULTS     results dir                          (default <repo>/bench/results)
#       BENCH_MIN_RUNS    hyperfine --min-runs                 (default 30)
#       BENCH_WARMUP      hyperfine --warmup                   (default 3)
#       BENCH_TPUT_N      launches per throughput batch        (default 200)
#       BENCH_TPUT_REPS   batches per parallelism (median)     (default 3)
#       BENCH_RSS_REPS    /usr/bin/time -v repetitions         (default 3)
#       BENCH_ROWS        subset of rows (space separated)     (default all)
#       BENCH_PAIR_ROUNDS interleaved rounds for the headline ratios (default 6; 0: none)
#       BENCH_PAIR_RUNS   hyperfine runs per row and round     (default 20)
#       BENCH_QUIET_WAIT  max seconds to wait before each row for other processes to use
#                         < BENCH_MAX_OTHER cores              (default 60; 0.25 cores)
#       BENCH_SKIP_INSTALL=1  no apt-get
# Output: BENCH_RESULTS/containers.md (table + ratios + conditions) and raw data in
#         BENCH_WORK/containers-raw-<date>/ (default /tmp/isod-bench; not committed);
#         one summary line on stdout.
#
# Everything runs in a private mount namespace: /run is a fresh tmpfs (crun/runc state, isod's
# --state-dir and the private bus socket, as on a production host whose /run is tmpfs). crun 1.8
# refuses this host's hybrid cgroup layout, so crun rows run in a nested mount namespace with
# /sys/fs/cgroup/unified unmounted (see ../shared/anchors/README.md). isod and dbus-daemon are
# private to the run and stopped at its end.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SRCDIR=$(cd "$(dirname "$SELF")/.." && pwd)
export ISOD_BUILD=${ISOD_BUILD:-/tmp/b}
export BENCH_WORK=${BENCH_WORK:-/tmp/isod-bench}
export BENCH_RESULTS=${BENCH_RESULTS:-$SRCDIR/bench/results}
export BENCH_MIN_RUNS=${BENCH_MIN_RUNS:-30}
export BENCH_WARMUP=${BENCH_WARMUP:-3}
export BENCH_TPUT_N=${BENCH_TPUT_N:-200}
export BENCH_TPUT_REPS=${BENCH_TPUT_REPS:-3}
export BENCH_RSS_REPS=${BENCH_RSS_REPS:-3}
export BENCH_PAIR_ROUNDS=${BENCH_PAIR_ROUNDS:-6}
export BENCH_PAIR_RUNS=${BENCH_PAIR_RUNS:-20}
export BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
export BENCH_MAX_OTHER=${BENCH_MAX_OTHER:-0.25}
export BENCH_DATE=${BENCH_DATE:-$(date +%F)}

WORK=$BENCH_WORK
BIN=$WORK/bin
IMAGES=$WORK/images
ROOTFS=$IMAGES/busybox/rootfs
B_DEF=$WORK/bundle-default
B_SEC=$WORK/bundle-seccomp
B_ALW=$WORK/bundle-allowlist
P_ALW=$WORK/profile-allowlist.json
RUN=/run/isod-bench            # inside the measurement namespace (tmpfs)
MW=$RUN/mon                    # workload dirs for the isod-backend row
RAW=$WORK/containers-raw-$BENCH_DATE
OUT=$BENCH_RESULTS/containers.md
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$RUN/bus.sock
# isoctl as root goes straight to isod's private socket; with a bus address set it must be told
# where (as it is by default, /run/isod/private). The isod-bus row clears it.
export ISOD_SOCKET=$RUN/state/private

log() { printf '[%(%T)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ALL_ROWS="chroot unshare bwrap crun crun-seccomp crun-allowlist runc isod isod-bus isod-limits isod-allow isod-unconf isod-backend isod-nospare"
row_def() {   # name -> view|command template (@ID@: unique id; no spaces in words)
  local ctl=$BIN/isoctl
  case $1 in
    chroot)         echo "host|chroot $ROOTFS /bin/true" ;;
    unshare)        echo "host|unshare --fork --pid --mount --net --uts --ipc --mount-proc chroot $ROOTFS /bin/true" ;;
    bwrap)          echo "host|bwrap --unshare-all --ro-bind $ROOTFS / --proc /proc --dev /dev /bin/true" ;;
    crun)           echo "v1only|crun run -b $B_DEF isobench-crun-@ID@" ;;
    crun-seccomp)   echo "v1only|crun run -b $B_SEC isobench-cruns-@ID@" ;;
    crun-allowlist) echo "v1only|crun run -b $B_ALW isobench-cruna-@ID@" ;;
    runc)           echo "host|runc run -b $B_DEF isobench-runc-@ID@" ;;
    isod)           echo "host|$ctl launch --name b-@ID@ -- /bin/true" ;;
    isod-bus)       echo "host|$ctl launch --name bb-@ID@ -- /bin/true" ;;
    isod-limits)    echo "host|$ctl launch --name bl-@ID@ --memory 256M --pids 64 -- /bin/true" ;;
    isod-allow)     echo "host|$ctl launch --name ba-@ID@ --memory 256M --pids 64 --seccomp $P_ALW -- /bin/true" ;;
    isod-unconf)    echo "host|$ctl launch --name bu-@ID@ --seccomp unconfined -- /bin/true" ;;
    isod-backend)   echo "host|$BIN/isod-monitor --dir=$MW/@ID@" ;;
    isod-nospare)   echo "host|$ctl launch --name bn-@ID@ -- /bin/true" ;;
    *) die "unknown row $1" ;;
  esac
}

# ---------------------------------------------------------------- install, inputs
install_deps() {
  [ "${BENCH_SKIP_INSTALL:-0}" = 1 ] && return 0
  local need=() pkg tries=0
  for pkg in crun runc bubblewrap hyperfine jq time busybox-static dbus strace linux-libc-dev seccomp; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  log "installing: ${need[*]}"
  until DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1; do
    [ $((tries += 1)) -lt 30 ] || die "apt-get install ${need[*]} failed"
    log "apt busy or index stale; retrying in 10s"; [ $tries = 1 ] && apt-get update -qq || true; sleep 10
  done
}

prepare_inputs() {
  case $WORK in *[[:space:]]*) die "work dir must not contain spaces";; esac
  mkdir -p "$BIN" "$IMAGES"
  local f
  for f in isod isod-monitor isoctl; do
    [ -x "$ISOD_BUILD/$f" ] || die "$ISOD_BUILD/$f missing: build first (make -j2 all && make test-assets)"
    # a snapshot: others may rebuild the tree while the benchmark runs
    cp -f "$ISOD_BUILD/$f" "$BIN/$f.new" && mv -f "$BIN/$f.new" "$BIN/$f"
  done
  rm -rf "$IMAGES/busybox.new"
  if [ -d "$ISOD_BUILD/test-assets/images/busybox/rootfs" ]; then
    cp -a "$ISOD_BUILD/test-assets/images/busybox" "$IMAGES/busybox.new"
  else
    "$SRCDIR/images/isod-image-busybox" "$IMAGES/busybox.new" >&2 || die "cannot build the busybox image"
  fi
  rm -rf "$IMAGES/busybox"; mv "$IMAGES/busybox.new" "$IMAGES/busybox"
  chroot "$ROOTFS" /bin/true || die "busybox rootfs does not run"
}

DENY_SYSCALLS="acct add_key bpf clock_adjtime clock_settime create_module delete_module finit_module
 fsconfig fsmount fsopen fspick get_kernel_syms init_module io_uring_enter io_uring_register io_uring_setup
 ioperm iopl kcmp kexec_file_load kexec_load keyctl lookup_dcookie mount mount_setattr move_mount
 name_to_handle_at nfsservctl open_by_handle_at open_tree perf_event_open pivot_root process_vm_readv
 process_vm_writev ptrace query_module quotactl quotactl_fd reboot request_key setns settimeofday swapoff
 swapon _sysctl syslog umount umount2 unshare uselib userfaultfd ustat vm86 vm86old"

build_bundles() {   # as ../shared/anchors/anchors-containers.sh, on isod's rootfs
  local tmp base deny_json allow_json limits hdr=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
  tmp=$(mktemp -d); (cd "$tmp" && crun spec) || die "crun spec failed"
  base=$(jq --arg r "$ROOTFS" '.process.terminal=false | .process.args=["/bin/true"] | .root.path=$r | .root.readonly=true' "$tmp/config.json")
  rm -rf "$tmp"
  mkdir -p "$B_DEF" "$B_SEC" "$B_ALW"
  printf '%s\n' "$base" >"$B_DEF/config.json"
  deny_json=$(printf '%s\n' $DENY_SYSCALLS | jq -R . | jq -s .)
  limits='{"memory":{"limit":268435456},"pids":{"limit":64}}'
  printf '%s\n' "$base" | jq --argjson d "$deny_json" --argjson l "$limits" '
      .linux.resources += $l
    | .linux.seccomp = {defaultAction:"SCMP_ACT_ALLOW",
                        architectures:["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
                        syscalls:[{names:$d, action:"SCMP_ACT_ERRNO", errnoRet:1}]}' >"$B_SEC/config.json"
  [ -r "$hdr" ] || die "$hdr missing (linux-libc-dev): needed for the allow-list"
  # Docker-like allow-list: every x86_64 syscall libseccomp knows minus the deny list, default EPERM.
  # (Names libseccomp cannot resolve are dropped, since isod rejects unknown names and crun ignores them.)
  allow_json=$(sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/\1/p' "$hdr" | grep -vxF -f <(printf '%s\n' $DENY_SYSCALLS) \
               | while read -r s; do if [ "$(scmp_sys_resolver -a x86_64 "$s")" != -1 ]; then echo "$s"; fi; done \
               | jq -R . | jq -s .)
  jq -n --argjson a "$allow_json" '{defaultAction:"SCMP_ACT_ERRNO", defaultErrnoRet:1,
        architectures:["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
        syscalls:[{names:$a, action:"SCMP_ACT_ALLOW"}]}' >"$P_ALW"
  printf '%s\n' "$base" | jq --slurpfile p "$P_ALW" --argjson l "$limits" \
      '.linux.resources += $l | .linux.seccomp = $p[0]' >"$B_ALW/config.json"
  log "bundles ok; allow-list: $(jq '.syscalls[0].names|length' "$P_ALW") syscalls, deny-list: $(jq length <<<"$deny_json")"
}

collect_versions() {
  mkdir -p "$RAW"
  (
    set +e +o pipefail
    echo "date: $(date -Is)"
    echo "kernel: $(uname -srvm)"
    echo "debian: $(cat /etc/debian_version 2>/dev/null)"
    echo "cpus: $(nproc)  mem: $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "cgroup /sys/fs/cgroup: $(stat -f -c %T /sys/fs/cgroup); unified: $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null || echo absent)"
    echo "isod tree: $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null) + $(git -C "$SRCDIR" status --porcelain 2>/dev/null | wc -l) modified/untracked files (build: $ISOD_BUILD, binaries from $(stat -c %y "$ISOD_BUILD/isod"))"
    echo "--- crun";  crun --version | head -2
    echo "--- runc";  runc --version | head -1
    echo "--- bwrap"; bwrap --version
    echo "--- hyperfine"; hyperfine --version
    echo "--- packages"
    dpkg-query -W -f='${Package} ${Version}\n' crun runc bubblewrap hyperfine util-linux libseccomp2 dbus busybox-static 2>/dev/null
  ) >"$RAW/versions.txt" 2>&1
}

# ---------------------------------------------------------------- CPU accounting
# The run sits in its own cpuacct cgroup (v1), so every process it starts - isod, dbus-daemon and
# the double-forked monitors included, which no shell reaps - is counted as "ours"; "other" is
# the machine's busy time minus ours minus kernel threads (mostly async namespace/cgroup
# teardown, largely caused by the benchmark). crun/runc move the payload to their own cgroup, so
# its last microseconds count as "other". Without cgroup v1 cpuacct: ours = this shell + reaped
# children + isod/bus (monitors then count as other).
CG_ACCT=
cpu_busy()  { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
ours_jiff() {
  if [ -n "$CG_ACCT" ]; then
    awk -v hz="$(getconf CLK_TCK)" '{printf "%d", $1 / 1e9 * hz}' "$CG_ACCT/cpuacct.usage"
  else
    local p s=0
    for p in $$ $(cat "$RUN/isod.pid" "$RUN/bus.pid" 2>/dev/null); do
      [ -r "/proc/$p/stat" ] && s=$((s + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12+$13+$14+$15}')))
    done
    echo "$s"
  fi
}
kthr_jiff() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{sub(/^.*\) /, ""); if ($2 == 2) s += $12 + $13} END{print s+0}'; }
other_cores() {
  local b0 o0 b1 o1; b0=$(cpu_busy); o0=$(ours_jiff); sleep "$1"; b1=$(cpu_busy); o1=$(ours_jiff)
  awk -v d=$(( (b1 - b0) - (o1 - o0) )) -v s="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN{v=d/hz/s; printf "%.2f", v<0?0:v}'
}
wait_quiet() {
  local waited=0 o; o=$(other_cores 2)
  while awk -v o="$o" -v m="$BENCH_MAX_OTHER" 'BEGIN{exit !(o > m)}' && [ "$waited" -lt "$BENCH_QUIET_WAIT" ]; do
    sleep 3; waited=$((waited + 5)); o=$(other_cores 2)
  done
  echo "$o $waited"
}
acct_setup() {
  local cur
  cur=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print $3}' /proc/self/cgroup)
  local base=/sys/fs/cgroup/cpuacct
  [ -n "$cur" ] && [ -d "$base$cur" ] || { log "no cgroup v1 cpuacct: approximate other-load accounting"; return 0; }
  CG_ACCT=$base${cur%/}/isod-bench-$$
  mkdir -p "$CG_ACCT" && echo $$ >"$CG_ACCT/cgroup.procs" || { CG_ACCT=; return 0; }
  echo "${base}${cur}" >"$RUN/acct.parent"; echo "$CG_ACCT" >"$RUN/acct.cg"
}
acct_teardown() {
  [ -n "$CG_ACCT" ] || return 0
  echo $$ >"$(cat "$RUN/acct.parent")/cgroup.procs" 2>/dev/null || true
  find "$CG_ACCT" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

# ---------------------------------------------------------------- isod + private bus
start_isod() {   # [ENV=VALUE...]
  mkdir -p "$RUN/state" "$RUN/cache"
  if [ ! -S "$RUN/bus.sock" ]; then
    cat >"$RUN/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$RUN/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow send_destination="*"/><allow receive_sender="*"/><deny own="org.isod1"/>
  </policy>
  <policy user="root"><allow own="*"/></policy>
</busconfig>
EOF
    dbus-daemon --config-file="$RUN/bus.conf" --fork --print-pid=3 3>"$RUN/bus.pid" || die "dbus-daemon"
  fi
  echo '{"version":1,"rules":[],"default":{"isolation":"container","reason":"benchmark"}}' >"$RUN/policy.json"
  env "$@" "$BIN/isod" --state-dir="$RUN/state" --image-dir="$IMAGES" --vm-dir="$RUN/vm" --cache-dir="$RUN/cache" \
    --monitor="$BIN/isod-monitor" --policy="$RUN/policy.json" >>"$RAW/daemon.log" 2>&1 &
  echo $! >"$RUN/isod.pid"
  local i
  for i in $(seq 1 100); do
    busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status org.isod1 >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  die "isod did not come up: $(tail -5 "$RAW/daemon.log")"
}
stop_isod() {
  local p; p=$(cat "$RUN/isod.pid" 2>/dev/null) || return 0
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  rm -f "$RUN/isod.pid"
}
stop_bus() { local p; p=$(cat "$RUN/bus.pid" 2>/dev/null) && kill "$p" 2>/dev/null; rm -f "$RUN/bus.pid" "$RUN/bus.sock"; }

# isod-backend row: one workload dir per launch id, as isod's workload_save() writes it.
backend_dirs() {
  local ids=(sanity h) i p rep n
  for i in $(seq 1 "$BENCH_RSS_REPS"); do ids+=("rss$i"); done
  for p in 1 8; do for rep in $(seq 1 "$BENCH_TPUT_REPS"); do for n in $(seq 1 "$BENCH_TPUT_N"); do
    ids+=("p${p}r${rep}n$n"); done; done; done
  rm -rf "$MW"; mkdir -p "$MW"
  for i in "${ids[@]}"; do
    mkdir "$MW/$i"
    printf '{"auto_remove":false,"created_usec":0,"isolation":"container","name":"bm-%s","owner_uid":0,"paths":{"accel":"auto","cache_dir":"%s","image_dir":"%s","qemu":"/usr/bin/qemu-system-x86_64","vm_dir":"%s"},"policy_reason":null,"policy_rule":"default","spec":{"image":"busybox","isolation":"container","name":"bm-%s","network":{"mode":"none"},"process":{"args":["/bin/true"],"terminal":false},"readonly_rootfs":false,"userns":false},"state":"started"}' \
      "$i" "$RUN/cache" "$IMAGES" "$RUN/vm" "$i" >"$MW/$i/workload.json"
  done
}

# ---------------------------------------------------------------- one row
# The environment of a row's commands: isod-bus reaches isod through dbus-daemon.
row_socket() { [ "$1" = isod-bus ] && echo "" || echo "$RUN/state/private"; }

measure_row() {
  local name=$1 def tmpl
  local -x ISOD_SOCKET; ISOD_SOCKET=$(row_socket "$name")
  def=$(row_def "$name"); tmpl=${def#*|}
  local -a argv; read -ra argv <<<"$tmpl"
  rm -f "$RAW/$name".*
  case $name in
    isod-backend) backend_dirs ;;
    isod-nospare) stop_isod; start_isod ISOD_NO_SPARE_MONITOR=1 ;;
  esac
  local q; q=$(wait_quiet)
  log "== $name: $tmpl  [other load before: ${q% *} cores, waited ${q#* }s]"
  { echo "== $name $(date +%T) loadavg $(cut -d' ' -f1-3 /proc/loadavg)"; top -b -n 1 -w 160 -o %CPU 2>/dev/null | sed -n '7,12p'; } >"$RAW/$name.top.txt" || true
  local b0 o0 k0 t0row; b0=$(cpu_busy); o0=$(ours_jiff); k0=$(kthr_jiff); t0row=$(date +%s%N)

  local -a one=("${argv[@]//@ID@/sanity}")
  if ! "${one[@]}" >"$RAW/$name.sanity.log" 2>&1; then
    log "$name FAILED sanity run, see $RAW/$name.sanity.log"; echo FAILED >"$RAW/$name.status"; return 0
  fi
  # latency: a fixed id (crun/runc remove the container when it ends). isoctl: no --name, since a
  # foreground launch's workload is removed just after the Wait reply, and reusing the name at once
  # can fail with "exists"; isoctl then generates a unique name itself.
  local htmpl=${tmpl//@ID@/h}
  case $name in isod|isod-bus|isod-limits|isod-allow|isod-unconf|isod-nospare) htmpl=$(sed 's/ --name [^ ]*//' <<<"$htmpl") ;; esac
  hyperfine -N --style basic --warmup "$BENCH_WARMUP" --min-runs "$BENCH_MIN_RUNS" -n "$name" \
    --export-json "$RAW/$name.json" "$htmpl" >"$RAW/$name.hyperfine.log" 2>&1 \
    || { log "$name hyperfine failed"; tail -5 "$RAW/$name.hyperfine.log" >&2; }
  local i rss
  for i in $(seq 1 "$BENCH_RSS_REPS"); do
    local -a r=("${argv[@]//@ID@/rss$i}")
    /usr/bin/time -v -o "$RAW/$name.time-v.$i.txt" "${r[@]}" >/dev/null 2>&1 || true
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$RAW/$name.time-v.$i.txt")
    printf '%s\t%s\n' "$i" "$rss" >>"$RAW/$name.rss.tsv"
  done
  local p rep t0 t1 rc
  for p in 1 8; do
    for rep in $(seq 1 "$BENCH_TPUT_REPS"); do
      local idt="p${p}r${rep}n{}"
      local -a x=("${argv[@]//@ID@/$idt}")
      t0=$(date +%s%N); rc=0
      seq 1 "$BENCH_TPUT_N" | xargs -P "$p" -I{} "${x[@]}" >/dev/null 2>>"$RAW/$name.xargs.err" || rc=$?
      t1=$(date +%s%N)
      printf '%s\t%s\t%s\t%s\n' "$p" "$rep" $(( (t1 - t0) / 1000 )) "$rc" >>"$RAW/$name.tput.tsv"
    done
  done
  local b1 o1 k1 t1row; b1=$(cpu_busy); o1=$(ours_jiff); k1=$(kthr_jiff); t1row=$(date +%s%N)
  awk -v d=$(( (b1 - b0) - (o1 - o0) - (k1 - k0) )) -v k=$((k1 - k0)) -v ns=$((t1row - t0row)) \
      -v hz="$(getconf CLK_TCK)" -v pre="${q% *}" -v w="${q#* }" \
    'BEGIN{o=d/hz/(ns/1e9); kc=k/hz/(ns/1e9); printf "%.2f\t%.2f\t%s\t%s\n", o<0?0:o, kc<0?0:kc, pre, w}' >"$RAW/$name.otherload"
  echo ok >"$RAW/$name.status"
  [ -s "$RAW/$name.xargs.err" ] || rm -f "$RAW/$name.xargs.err"
  case $name in
    isod-backend) rm -rf "$MW" ;;
    isod-nospare) stop_isod; start_isod ;;
  esac
}

# What protections an isod workload has: seen from inside, and its cgroup from the monitor.
probe_isod() {
  {
    echo "--- isoctl launch -- sh (default settings): /proc/self/status"
    "$BIN/isoctl" launch --name probe1 -- /bin/sh -c 'grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status
      echo "masked: /proc/kcore=$(wc -c </proc/kcore 2>&1 | head -1) /proc/keys=$(wc -c </proc/keys 2>&1 | head -1) /proc/timer_list=$(wc -c </proc/timer_list 2>&1 | head -1)"
      echo "proc/sys: $(awk "\$5==\"/proc/sys\"{print \$6}" /proc/self/mountinfo)"; echo "/proc/self/cgroup:"; cat /proc/self/cgroup' 2>&1
    echo "--- limits row: --memory 256M --pids 64, cgroup as the monitor reports it"
    "$BIN/isoctl" launch -d --keep --name probe2 --memory 256M --pids 64 -- /bin/sleep 2 >/dev/null 2>&1
    sleep 0.3
    "$BIN/isoctl" show probe2 2>&1 | grep -iE 'cgroup|seccomp|fact|state' || true
    cat "$RUN/state/workloads/probe2/monitor.json" 2>/dev/null; echo
    local cg; cg=$(jq -r '.facts.cgroup // empty' "$RUN/state/workloads/probe2/monitor.json" 2>/dev/null)
    if [ -n "$cg" ]; then
      local pc; pc=$(find /sys/fs/cgroup/pids -maxdepth 6 -type d -name ctr-probe2 2>/dev/null | head -1)
      echo "memory.limit_in_bytes=$(cat "$cg/memory.limit_in_bytes" 2>/dev/null) pids: $pc pids.max=$(cat "$pc/pids.max" 2>/dev/null)"
    fi
    "$BIN/isoctl" rm -f probe2 >/dev/null 2>&1
    echo "--- allow-list profile accepted?"
    "$BIN/isoctl" launch --seccomp "$P_ALW" -- /bin/sh -c 'grep Seccomp: /proc/self/status; unshare -m true 2>&1 | head -1' 2>&1
  } >"$RAW/isod-probe.txt" 2>&1
}

# ---------------------------------------------------------------- interleaved rounds
# The rows above run one after the other, so drift on a shared host over minutes lands on their
# ratios. The headline comparisons are measured again in rounds (bench-vm.sh does the same):
# each round runs every row of PAIR_ROWS for BENCH_PAIR_RUNS launches, starting one row later than
# the round before, and the rounds' times are merged per row.
PAIR_ROWS="isod isod-bus crun unshare isod-limits crun-seccomp"
hf_round() {   # name round
  local name=$1 k=$2 def tmpl htmpl
  local -x ISOD_SOCKET; ISOD_SOCKET=$(row_socket "$name")
  def=$(row_def "$name"); tmpl=${def#*|}
  htmpl=${tmpl//@ID@/pr$k}
  case $name in isod*) htmpl=$(sed 's/ --name [^ ]*//' <<<"$htmpl") ;; esac
  hyperfine -N --style basic --warmup 2 --runs "$BENCH_PAIR_RUNS" -n "$name" \
    --export-json "$RAW/pair-$name.r$k.json" "$htmpl" >>"$RAW/pair.hyperfine.log" 2>&1 \
    || log "$name: round $k failed (see pair.hyperfine.log)"
}
pair_rounds() {
  local k name def rows=""
  for name in $PAIR_ROWS; do
    case " $ROWS " in *" $name "*) [ "$(cat "$RAW/$name.status" 2>/dev/null)" = ok ] && rows+=" $name" ;; esac
  done
  [ "$BENCH_PAIR_ROUNDS" -gt 0 ] && [ -n "$rows" ] || return 0
  log "interleaved: $BENCH_PAIR_ROUNDS rounds of $BENCH_PAIR_RUNS launches over:$rows"
  local -a order
  read -ra order <<<"$rows"
  for k in $(seq 1 "$BENCH_PAIR_ROUNDS"); do
    # Each round starts one row later: no row always follows the same one (the kernel's
    # asynchronous teardown after a row lands on the next one's first launches).
    local -a turn=("${order[@]:$(((k - 1) % ${#order[@]}))}" "${order[@]:0:$(((k - 1) % ${#order[@]}))}")
    for name in "${turn[@]}"; do
      def=$(row_def "$name")
      if [ "${def%%|*}" = v1only ]; then
        unshare -m --propagation private "$SELF" __hf "$name" "$k"
      else
        hf_round "$name" "$k"
      fi
    done
  done
}
pair_median() {   # name -> "median_ms runs", from the merged rounds
  local f; f=$(ls "$RAW"/pair-"$1".r*.json 2>/dev/null) || { echo "- 0"; return 0; }
  # shellcheck disable=SC2086
  jq -s -r '[.[].results[0].times[]] | sort | length as $n | if $n == 0 then "- 0" else
    (if $n % 2 == 1 then .[($n - 1) / 2] else (.[$n / 2 - 1] + .[$n / 2]) / 2 end) * 100000 | round / 100 | "\(.) \($n)" end' $f
}

# ---------------------------------------------------------------- summary
med() { sort -g | awk '{a[NR]=$1} END{if(NR) printf "%.0f", a[int((NR+1)/2)]; else printf "-"}'; }
summarize() {
  local tsv=$RAW/summary.tsv name p
  printf 'row\tstatus\tmedian_ms\tmin_ms\tmax_ms\tmean_ms\tstddev_ms\truns\trss_med_kb\tps_p1\tps_p8\tfailed_batches\tother_cores\tkthr_cores\tother_before\twaited_s\n' >"$tsv"
  for name in $ALL_ROWS; do
    [ -e "$RAW/$name.status" ] || continue
    local st lat=$'-\t-\t-\t-\t-\t-' rss tp=() fails ol=$'-\t-\t-\t-'
    st=$(cat "$RAW/$name.status")
    [ -s "$RAW/$name.json" ] && lat=$(jq -r '.results[0] | [(.median,.min,.max,.mean,.stddev)*1000 | .*100|round/100] + [(.times|length)] | @tsv' "$RAW/$name.json")
    rss=$(awk -F'\t' '$2!=""{print $2}' "$RAW/$name.rss.tsv" 2>/dev/null | med)
    for p in 1 8; do
      tp+=("$(awk -F'\t' -v p="$p" -v N="$BENCH_TPUT_N" '$1==p && $4==0 {print N/($3/1e6)}' "$RAW/$name.tput.tsv" 2>/dev/null | med)")
    done
    fails=$(awk -F'\t' '$4!=0{c++} END{print c+0}' "$RAW/$name.tput.tsv" 2>/dev/null)
    [ -s "$RAW/$name.otherload" ] && ol=$(cat "$RAW/$name.otherload")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$st" "$lat" "$rss" "${tp[0]}" "${tp[1]}" "$fails" "$ol" >>"$tsv"
  done
}

describe() {
  case $1 in
    chroot) echo '`chroot` (fork/exec floor)' ;;
    unshare) echo '`unshare` pid,mnt,net,uts,ipc +proc, chroot (namespace floor)' ;;
    bwrap) echo '`bwrap --unshare-all`' ;;
    crun) echo '`crun run`, default spec (v1 cgroupfs, no seccomp)' ;;
    crun-seccomp) echo '`crun run` + seccomp deny-list(55) + mem 256M + pids 64' ;;
    crun-allowlist) echo '`crun run` + Docker-like allow-list (default EPERM) + limits' ;;
    runc) echo '`runc run`, default spec' ;;
    isod) echo '**isod** `isoctl launch -- /bin/true` (whole path, defaults: root connects directly)' ;;
    isod-bus) echo '**isod** whole path through dbus-daemon (`ISOD_SOCKET=`, as non-root callers)' ;;
    isod-limits) echo '**isod** whole path + `--memory 256M --pids 64`' ;;
    isod-allow) echo '**isod** whole path + same allow-list profile as crun + limits' ;;
    isod-unconf) echo 'isod whole path, `--seccomp unconfined` (diagnostic)' ;;
    isod-backend) echo 'isod backend alone: `isod-monitor --dir=DIR` (no daemon, no bus)' ;;
    isod-nospare) echo 'isod whole path, `ISOD_NO_SPARE_MONITOR=1` (diagnostic)' ;;
  esac
}

write_report() {
  local tsv=$RAW/summary.tsv
  col() { awk -F'\t' -v r="$1" -v c="$2" '$1==r{print $c}' "$tsv"; }
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a+0>0 && b+0>0) printf "%.2f", a/b; else printf "n/a"}'; }
  met() { awk -v r="$1" -v t="$2" 'BEGIN{print (r!="n/a" && r<=t)?"yes":"no"}'; }   # ratio, target
  local im cm csm cam um iam ilm ip8 imin cmin umin
  im=$(col isod 3); cm=$(col crun 3); csm=$(col crun-seccomp 3); cam=$(col crun-allowlist 3); um=$(col unshare 3)
  ilm=$(col isod-limits 3); iam=$(col isod-allow 3); ip8=$(col isod 11); imin=$(col isod 4); cmin=$(col crun 4); umin=$(col unshare 4)
  {
    echo "# isod container launch vs crun/runc/bwrap/unshare — $BENCH_DATE"
    echo
    echo "Script: \`bench/bench-containers.sh\` (raw data, not committed: \`$RAW/\`)."
    echo "Workload: \`/bin/true\` (static busybox) in isod's built-in busybox image, the same rootfs for every row."
    echo "Latency: hyperfine -N, warmup $BENCH_WARMUP, ≥ $BENCH_MIN_RUNS runs. Throughput: $BENCH_TPUT_N launches via xargs -P1 / -P8 with unique names, median of $BENCH_TPUT_REPS batches."
    echo "Peak RSS: median ru_maxrss of the command's process tree (for isod rows: isoctl, the client; isod and the monitor are not its children — see the isod-backend row for the monitor + payload)."
    echo "\"other\" = CPU cores used by other processes during the row (isod, dbus-daemon and monitors are ours); \"kthr\" = kernel threads (mostly async namespace/cgroup teardown); \"before\" = other load when the row started, after waiting up to ${BENCH_QUIET_WAIT}s for < $BENCH_MAX_OTHER cores."
    echo
    echo "| runtime | median ms | min ms | max ms | peak RSS KiB | /s seq | /s 8 parallel | failed batches | other / kthr cores | before (waited s) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local name
    while IFS=$'\t' read -r name st med mn mx mean sd runs rss p1 p8 fails other kthr before waited; do
      [ "$name" = row ] && continue
      printf '| %s%s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s (%s) |\n' "$(describe "$name")" \
        "$([ "$st" = ok ] || echo " ($st)")" "$med" "$mn" "$mx" "$rss" "$p1" "$p8" "$fails" "$other" "$kthr" "$before" "$waited"
    done <"$tsv"
    echo
    echo "## Ratios and targets (issue 3)"
    echo
    echo "| comparison | ratio (median) | ratio (min) | target | met? |"
    echo "|---|---:|---:|---|---|"
    local r
    r=$(ratio "$im" "$cm");  echo "| isod whole path / crun default | $r | $(ratio "$imin" "$cmin") | ≤ 0.70 | $(met "$r" 0.7) |"
    r=$(ratio "$ilm" "$csm"); echo "| isod + limits (default deny-list) / crun + deny-list + limits | $r | $(ratio "$(col isod-limits 4)" "$(col crun-seccomp 4)") | ≤ 0.70 | $(met "$r" 0.7) |"
    r=$(ratio "$iam" "$cam"); echo "| isod + allow-list + limits / crun + allow-list + limits | $r | $(ratio "$(col isod-allow 4)" "$(col crun-allowlist 4)") | ≤ 0.70 | $(met "$r" 0.7) |"
    r=$(ratio "$im" "$um");  echo "| isod whole path / unshare floor | $r | $(ratio "$imin" "$umin") | ≤ 2.0 | $(met "$r" 2) |"
    r=$(ratio "$(col isod-bus 3)" "$cm"); echo "| isod whole path through dbus-daemon / crun default | $r | $(ratio "$(col isod-bus 4)" "$cmin") | | |"
    echo "| isod launches/s, 8 parallel clients | $ip8 /s | | ≥ 200 /s | $(awk -v r="$ip8" 'BEGIN{print (r+0>=200)?"yes":"no"}') |"
    echo "| isod backend alone / crun default | $(ratio "$(col isod-backend 3)" "$cm") | $(ratio "$(col isod-backend 4)" "$cmin") | | |"
    echo
    if ls "$RAW"/pair-*.json >/dev/null 2>&1; then
      local pi pc pu pil pcs
      pi=$(pair_median isod); pc=$(pair_median crun); pu=$(pair_median unshare)
      pil=$(pair_median isod-limits); pcs=$(pair_median crun-seccomp)
      echo "## Interleaved rounds (the same comparisons, drift shared)"
      echo
      echo "$BENCH_PAIR_ROUNDS rounds; in each, every row below runs $BENCH_PAIR_RUNS launches (hyperfine -N, warmup 2) before the next row, each round starting one row later; the rounds' times are merged."
      echo
      echo "| row | median ms | launches |"
      echo "|---|---:|---:|"
      for name in isod isod-bus crun unshare isod-limits crun-seccomp; do
        local pm; pm=$(pair_median "$name")
        [ "${pm% *}" = - ] || echo "| $(describe "$name") | ${pm% *} | ${pm#* } |"
      done
      echo
      echo "| comparison | ratio (median) | target | met? |"
      echo "|---|---:|---|---|"
      r=$(ratio "${pi% *}" "${pc% *}"); echo "| isod whole path / crun default | $r | ≤ 0.70 | $(met "$r" 0.7) |"
      r=$(ratio "${pil% *}" "${pcs% *}"); echo "| isod + limits / crun + deny-list + limits | $r | ≤ 0.70 | $(met "$r" 0.7) |"
      r=$(ratio "${pi% *}" "${pu% *}"); echo "| isod whole path / unshare floor | $r | ≤ 2.0 | $(met "$r" 2) |"
      local pb; pb=$(pair_median isod-bus)
      r=$(ratio "${pb% *}" "${pc% *}"); echo "| isod whole path through dbus-daemon / crun default | $r | | |"
      PAIR_SUMMARY="; interleaved: $(ratio "${pi% *}" "${pc% *}")x crun, $(ratio "${pil% *}" "${pcs% *}")x crun-seccomp, $(ratio "${pi% *}" "${pu% *}")x floor"
      echo
    fi
    echo "## Conditions"
    echo
    echo '```'
    cat "$RAW/versions.txt"
    echo '```'
    echo
    echo "Protections of an isod workload in this run (\`isod-probe.txt\`):"
    echo
    echo '```'
    cat "$RAW/isod-probe.txt"
    echo '```'
  } >"$OUT.new"
  # keep a hand-written analysis section (## Where isod's time goes ...) across re-runs
  if [ -e "$OUT" ] && grep -q '^## Where isod' "$OUT"; then
    { echo; sed -n '/^## Where isod/,$p' "$OUT"; } >>"$OUT.new"
  fi
  mv "$OUT.new" "$OUT"
  SUMMARY="isod $im ms (min $imin) vs crun $cm ms: $(ratio "$im" "$cm")x (target ≤0.7); +limits vs crun-seccomp $(ratio "$ilm" "$csm")x; allow-list $(ratio "$iam" "$cam")x; vs unshare floor $um ms: $(ratio "$im" "$um")x (≤2); 8 parallel: $ip8/s (≥200)${PAIR_SUMMARY:-} -> $OUT"
}

measure_main() {   # inside the private mount namespace
  mount -t tmpfs -o mode=0755,size=256m isod-bench-run /run
  mkdir -p "$RUN"
  acct_setup
  start_isod
  probe_isod
  local name def
  for name in $ROWS; do
    def=$(row_def "$name")
    if [ "${def%%|*}" = v1only ]; then
      unshare -m --propagation private "$SELF" __row "$name"
    else
      measure_row "$name"
    fi
  done
  pair_rounds
  stop_isod; stop_bus
  summarize
  write_report
  acct_teardown
  echo "$SUMMARY" >"$RAW/summary.line"
}

export ROWS=${BENCH_ROWS:-$ALL_ROWS}
case ${1:-} in
  __measure) measure_main; exit 0 ;;
  __row)
    # nested namespace for crun: hide the hybrid cgroup2 mount; same /run tmpfs, same cgroup
    if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
      umount /sys/fs/cgroup/unified || die "cannot hide /sys/fs/cgroup/unified"
    fi
    CG_ACCT=$(cat "$RUN/acct.cg" 2>/dev/null || true)
    measure_row "$2"; exit 0 ;;
  __hf)
    if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
      umount /sys/fs/cgroup/unified || die "cannot hide /sys/fs/cgroup/unified"
    fi
    hf_round "$2" "$3"; exit 0 ;;
esac

[ "$(id -u)" = 0 ] || die "must run as root"
install_deps
prepare_inputs
build_bundles
collect_versions
log "rows: $ROWS (raw: $RAW)"
unshare -m --propagation private "$SELF" __measure
cat "$RAW/summary.line"
. "$SRCDIR/bench/history.sh"
bench_history_add containers "$(sed 's/ -> .*//' "$RAW/summary.line")"
