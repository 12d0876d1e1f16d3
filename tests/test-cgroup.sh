#!/bin/bash
# Integration: per-workload cgroups, through isoctl → D-Bus → isod → monitor → container.
# Runs on either layout; the assertions on files name the layout's own files (docs/cgroups.md).
. "$(dirname "$0")/lib.sh"
require_root

# The v2 code paths on a v1/hybrid host: run again in a private mount namespace with the host's
# cgroup2 hierarchy mounted at /sys/fs/cgroup (it has no controllers here, so no limits: placement
# by CLONE_INTO_CGROUP, cgroup namespace, eBPF device filter, exec, stats, removal). The parent
# turns the lines this prints into its own TAP results.
if [ -n "${ISOD_TEST_CGROUP_V2NS:-}" ]; then
        mount -t cgroup2 none /sys/fs/cgroup || exit 1
        ensure_image >/dev/null 2>&1
        start_bus && start_isod || { echo "not ok - v2ns: isod starts"; exit 0; }
        out=$(isoctl launch -- /bin/sh -c 'cat /proc/self/cgroup; mknod /dev/sda b 8 0 && echo mknod-ok
                head -c1 /dev/sda 2>&1; echo x >/dev/null && echo null-ok' 2>&1)
        t() { if printf '%s\n' "$out" | grep -Eq -- "$2"; then echo "ok - v2ns: $1"; else echo "not ok - v2ns: $1"; fi; }
        t "cgroup namespace rooted at the workload (0::/)" '^0::/$'
        t "mknod works" '^mknod-ok$'
        t "eBPF device filter: opening b 8:0 fails with EPERM" 'Operation not permitted'
        t "eBPF device filter: /dev/null works" '^null-ok$'
        isoctl launch -d --name w2 -- /bin/sleep 100 >/dev/null
        pid=$(isoctl show --json w2 | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p')
        out=$(sed -n 's/^0:://p' "/proc/$pid/cgroup"); t "placed at clone in isod-*/ctr-w2" '^/isod-[0-9a-f]{8}/ctr-w2$'
        dir=/sys/fs/cgroup$out
        out=$(isoctl exec w2 -- /bin/cat /proc/self/cgroup); t "exec joins the workload's cgroup" '^0::/$'
        out=$(isoctl stats --json w2); t "stats: cpu_usec from cpu.stat" '"cpu_usec": [0-9]+'
        isoctl rm -f w2
        wait_until 2 [ ! -e "$dir" ]; out=$?; t "leaf removed after rm" '^0$'
        # GROUP is kept (removing it raced with concurrent launches); no spare leaves on v2.
        out=$(find /sys/fs/cgroup/isod-* -mindepth 1 -type d 2>&1 | head -3); t "instance group holds no leaf after rm" '^$'
        out=$(isoctl launch --memory 32M -- /bin/true 2>&1); t "memory limit without the controller: clear error" "cannot set 'memory.max'"
        exit 0
fi

ensure_image || skip_all "cannot build the busybox image (apt-get install busybox-static)"
[ -d /sys/fs/cgroup ] || skip_all "no /sys/fs/cgroup"
start_bus || skip_all "no dbus-daemon"
check "isod starts on a private bus" start_isod

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then V2=1; else V2=; fi
diag "layout: $([ -n "$V2" ] && echo 'cgroup v2' || echo 'cgroup v1/hybrid')"

leader_of() {
        isoctl show --json "$1" 2>/dev/null | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p'
}

# cg_dir PID CONTROLLER: the host directory of PID's cgroup for that controller.
cg_dir() {
        local line
        if [ -n "$V2" ]; then
                line=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
                echo "/sys/fs/cgroup$line"
        else
                line=$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' \
                        "/proc/$1/cgroup")
                echo "/sys/fs/cgroup/$2$line"
        fi
}

# All the workload's cgroup directories (one per hierarchy on v1).
cg_dirs() {
        if [ -n "$V2" ]; then
                cg_dir "$1" -
        else
                local c
                for c in memory pids cpuacct devices cpu blkio; do
                        local d
                        d=$(cg_dir "$1" $c)
                        case $d in */isod*/ctr-*) echo "$d" ;; esac
                done
        fi
}

# --- placement, limits, cgroup namespace
isoctl launch -d --name lim --memory 64M --cpus 0.5 --pids 50 -- /bin/sh -c 'cat /proc/self/cgroup > /tmp/cg; sleep 1000' \
        >/dev/null
wait_until 5 isoctl exec lim -- /bin/sh -c 'test -s /tmp/cg'
pid=$(leader_of lim)
check "workload has a leader PID ($pid)" [ -n "$pid" ]
mem=$(cg_dir "$pid" memory)
group=$(basename "$(dirname "$mem")")
like "in its own cgroup under an isod subtree ($mem)" "$mem" '/isod(-[0-9a-f]{8})?/ctr-lim$'
mapfile -t dirs < <(cg_dirs "$pid")
diag "cgroup dirs: ${dirs[*]}"
check "the cgroup directories exist while it runs (${#dirs[@]})" [ "${#dirs[@]}" -ge 1 ] && ls -d "${dirs[@]}" >/dev/null
if [ -n "$V2" ]; then
        is "memory.max" "$(cat "$mem/memory.max")" $((64 << 20))
        is "memory.swap.max" "$(cat "$mem/memory.swap.max" 2>/dev/null || echo 0)" 0
        is "cpu.max for --cpus 0.5" "$(cat "$mem/cpu.max")" "50000 100000"
        is "pids.max" "$(cat "$mem/pids.max")" 50
else
        is "memory.limit_in_bytes" "$(cat "$mem/memory.limit_in_bytes")" $((64 << 20))
        if [ -e "$mem/memory.memsw.limit_in_bytes" ]; then
                is "memory.memsw.limit_in_bytes (no swap)" "$(cat "$mem/memory.memsw.limit_in_bytes")" $((64 << 20))
        fi
        cpu=$(cg_dir "$pid" cpu)
        is "cpu.cfs_quota_us/cfs_period_us for --cpus 0.5" \
                "$(cat "$cpu/cpu.cfs_quota_us") $(cat "$cpu/cpu.cfs_period_us")" "50000 100000"
        is "pids.max" "$(cat "$(cg_dir "$pid" pids)/pids.max")" 50
        dev=$(cg_dir "$pid" devices)
        like "devices.list is the minimal set" "$(cat "$dev/devices.list")" '^c 1:3 rwm$'
        unlike "devices.list has no wildcard rwm" "$(cat "$dev/devices.list")" '^a '
fi
out=$(isoctl exec lim -- /bin/cat /tmp/cg)
if [ -n "$V2" ]; then
        is "inside, the cgroup namespace is rooted at the workload's cgroup" "$out" "0::/"
else
        unlike "inside, every hierarchy shows '/' (cgroup namespace rooted at the workload)" "$out" ':/.+$'
        like "inside, the memory hierarchy shows '/'" "$out" '^[0-9]+:memory:/$'
fi
out=$(isoctl exec lim -- /bin/cat /proc/self/cgroup)
unlike "an exec'd process is in the workload's cgroup too (sees '/')" "$out" ':/.+$'
# exec'd process seen from the host: start one, find it in the cgroup.
isoctl exec lim -- /bin/sleep 1 &
execer=$!
wait_until 3 sh -c "[ \$(wc -l < '$(cg_dir "$pid" pids)/cgroup.procs') -ge 3 ]"
check "the exec'd process (and its helper) count in the workload's pids cgroup" [ $? = 0 ]
wait $execer

# --- stats
out=$(isoctl stats --json lim)
like "stats: memory_bytes > 0" "$out" '"memory_bytes": [1-9][0-9]*'
like "stats: memory_limit_bytes" "$out" "\"memory_limit_bytes\": $((64 << 20))"
like "stats: pids >= 1" "$out" '"pids": [1-9]'
like "stats: pids_limit" "$out" '"pids_limit": 50'
like "stats: cpu_usec" "$out" '"cpu_usec": [0-9]+'
like "stats: oom_kills" "$out" '"oom_kills": 0'
out=$(isoctl stats lim)
like "isoctl stats (text) shows memory" "$out" 'memory'

check "rm -f lim" isoctl rm -f lim
# Teardown runs after the exit is reported (off the critical path): allow it a moment.
gone=1
for d in "${dirs[@]}"; do
        wait_until 2 [ ! -e "$d" ] || { gone=; diag "left behind: $d"; }
done
check "every cgroup directory is gone after rm" [ -n "$gone" ]

# --- the cgroup of a foreground workload is gone once it ended
isoctl launch --name fg -d -- /bin/sleep 1000 >/dev/null
pid=$(leader_of fg)
mapfile -t dirs < <(cg_dirs "$pid")
isoctl kill fg -s KILL
isoctl wait fg >/dev/null
gone=1
for d in "${dirs[@]}"; do
        wait_until 2 [ ! -e "$d" ] || { gone=; diag "left behind: $d"; }
done
check "the cgroup goes when the workload ends (before rm)" [ -n "$gone" ]
isoctl rm fg

# --- memory: past the limit → OOM-killed → failed, reason oom
isoctl launch -d --name oom --memory 32M -- /bin/sh -c 'x=$(head -c 104857600 /dev/zero | tr "\0" a); echo survived >/tmp/s' \
        >/dev/null
isoctl wait oom >/dev/null
rc=$?
is "exit status: killed by SIGKILL (137)" "$rc" 137
out=$(isoctl show oom 2>&1)
like "show: failed" "$out" 'State: +failed'
like "show: reason oom" "$out" '[Rr]eason:? +oom'
isoctl rm oom >/dev/null 2>&1
check "isod still fine after an OOM kill" isod_alive
out=$(isoctl launch --memory 32M -- /bin/sh -c 'x=$(head -c 8388608 /dev/zero | tr "\0" a); echo fits')
like "under the limit: runs normally" "$out" '^fits$'

# --- pids: a fork bomb stops at the limit; the host is unaffected
# Builtins only once the loop ran: at the limit, not even a command substitution can fork.
# busybox sh gives up at the first failed fork, so the loop runs in a subshell; after it, builtins only.
out=$(isoctl launch --pids 20 -- /bin/sh -c '(i=0; while [ $i -lt 100 ]; do i=$((i+1)); sleep 5 & echo $i >/tmp/n; done) 2>/dev/null
        set -- /proc/[0-9]*; read started </tmp/n; echo "alive=$# started=$started"; exit 0' 2>/dev/null)
n=$(echo "$out" | sed -n 's/^alive=\([0-9]*\).*/\1/p')
diag "after 100 attempted forks: $out"
check "the fork loop stopped at the pids limit (${n:-?} <= 20)" [ -n "$n" ] && [ "$n" -le 20 ] && [ "$n" -ge 5 ]
check "isod answers after the fork loop" isod_alive

# --- devices: mknod works, open fails with EPERM; /dev/null works
out=$(isoctl launch -- /bin/sh -c '
        mknod /dev/sda b 8 0 && echo mknod-ok
        head -c1 /dev/sda >/dev/null 2>/tmp/e; cat /tmp/e
        mknod /dev/mem2 c 1 1 && (head -c1 /dev/mem2 >/dev/null 2>&1 || echo mem-denied)
        echo x > /dev/null && echo null-ok; head -c1 /dev/urandom >/dev/null && echo urandom-ok' 2>&1)
like "mknod /dev/sda b 8 0 works (CAP_MKNOD)" "$out" '^mknod-ok$'
like "opening it fails with EPERM" "$out" 'Operation not permitted'
like "/dev/mem (c 1:1) cannot be opened either" "$out" '^mem-denied$'
like "/dev/null works" "$out" '^null-ok$'
like "/dev/urandom works" "$out" '^urandom-ok$'

# --- cpu weight: cpu.weight on v2, cpu.shares (mapped) on v1
isoctl launch -d --name cw --cpu-weight 50 -- /bin/sh -c 'sleep 1000' >/dev/null
wait_until 10 state_is cw running
pid=$(leader_of cw)
if [ -n "$V2" ]; then
        is "--cpu-weight 50: cpu.weight" "$(cat "$(cg_dir "$pid" -)/cpu.weight")" 50
else
        is "--cpu-weight 50: cpu.shares = 2 + 49 × 262142 / 9999" "$(cat "$(cg_dir "$pid" cpu)/cpu.shares")" 1286
fi
isoctl kill cw >/dev/null 2>&1
isoctl wait cw >/dev/null 2>&1
isoctl rm cw >/dev/null 2>&1
out=$(isoctl launch --cpu-weight 0 -- true 2>&1)
like "--cpu-weight 0: refused, naming it" "$out" "resources.cpu_weight' must be an integer between 1 and 10000"

# --- io weight: set where the kernel has a weight knob, else a clear error
out=$(isoctl launch --io-weight 500 -- /bin/sh -c 'echo ran' 2>&1)
if printf '%s\n' "$out" | grep -q '^ran$'; then
        ok "--io-weight 500 accepted"
else
        like "--io-weight unavailable: a clear error" "$out" 'io|blkio'
fi
out=$(isoctl launch -- /bin/sh -c 'echo ran' 2>&1)
like "no io weight asked: runs regardless of the io controller" "$out" '^ran$'

# --- v1: the spare monitor's pre-made leaves (docs/cgroups.md, "Spare leaves"). The spare moves a
# holder process into GROUP/spare-PID while idle; at assignment the leaves are renamed and the init
# is cloned by the holder, born in its cgroup. The limits must still mean exactly what they say and
# the leaves must hold the workload's processes only (not the monitor, not the holder).
if [ -z "$V2" ]; then
        # spare_leaf: the pids-hierarchy leaf of a ready spare (its holder inside).
        spare_leaves() {
                local d found=1
                for d in $(find /sys/fs/cgroup/pids/ -maxdepth 6 -type d -path "*/$group/spare-*" 2>/dev/null); do
                        [ -n "$(cat "$d/cgroup.procs" 2>/dev/null)" ] && { echo "$d"; found=0; }  # (size 0 in stat)
                done
                return $found
        }
        spare_leaf() { local l; l=$(spare_leaves) || return 1; echo "${l%%$'\n'*}"; }
        monitor_of() { sed -n 's/.*"monitor_pid": *\([0-9]*\).*/\1/p' "$T/state/workloads/$1/monitor.json"; }
        # only_workload NAME: every task in every leaf of NAME is in the workload's PID namespace,
        # and the monitor is in none of them.
        only_workload() {
                local lp=$1 mon=$2 d p bad=
                for d in $(cg_dirs "$lp"); do
                        for p in $(cat "$d/tasks"); do
                                [ "$p" = "$mon" ] && bad="$bad monitor:$d"
                                [ "$(readlink /proc/$p/ns/pid)" = "$(readlink /proc/$lp/ns/pid)" ] || bad="$bad $p:$d"
                        done
                done
                [ -z "$bad" ] || diag "foreign tasks:$bad"
                [ -z "$bad" ]
        }

        wait_until 5 spare_leaf >/dev/null; check "a spare monitor waits with pre-made leaves holding its holder" [ $? = 0 ]
        # isod keeps a pool of them (--spare-monitors, default 4), each with leaves of its own.
        wait_until 5 sh -c "[ \$(find /sys/fs/cgroup/pids/ -maxdepth 6 -type d -path '*/$group/spare-*' | wc -l) -ge 4 ]"
        is "four spare monitors wait, each with its leaves and holder" "$(spare_leaves | wc -l)" 4
        spares=" $(spare_leaves | sed 's|.*/spare-||' | tr '\n' ' ')"
        sgroup=$(dirname "$(spare_leaf)")
        # A fork loop in a subshell, then one more child and exec: at the limit (12) exactly if the
        # limit is right and nothing else sits in the leaf; 11 if the holder or the monitor took a
        # slot, 13 if the limit were off by one the other way.
        isoctl launch -d --name sp --memory 64M --pids 12 -- /bin/sh -c \
                '(while :; do sleep 1000 & echo $! >>/tmp/forked; done) 2>/dev/null; sleep 1000 & exec sleep 1000' \
                >/dev/null
        lp=$(leader_of sp); mon=$(monitor_of sp)
        like "one of the ready spare monitors ($spares) took the workload" "$spares" " $mon "
        like "the init was born in its cgroup: no migration (cgroup_attached 0)" \
                "$(cat "$T/state/workloads/sp/monitor.json")" '"cgroup_attached": ?0[,}]'
        like "... but it waited for pids.max, written once the holder left (init_waited)" \
                "$(cat "$T/state/workloads/sp/monitor.json")" '"init_waited": ?true'
        like "the cgroup fact names the workload's leaf" "$(cat "$T/state/workloads/sp/monitor.json")" '"cgroup": ?"[^"]*/ctr-sp"'
        check "the spare's leaves were renamed (spare-$mon is gone)" [ ! -e "$sgroup/spare-$mon" ]
        like "the init's cgroups have the workload's name" "$(cat /proc/"$lp"/cgroup)" '/ctr-sp$' 
        pd=$(cg_dir "$lp" pids)
        wait_until 5 sh -c "[ \$(cat '$pd/pids.current') -ge 12 ]"
        sleep 0.3
        is "pids.max with the spare path" "$(cat "$pd/pids.max")" 12
        is "the fork loop fills the limit exactly: pids.current" "$(cat "$pd/pids.current")" 12
        is "... and the leaf's cgroup.procs lists 12 processes" "$(wc -l <"$pd/cgroup.procs")" 12
        like "forks beyond the limit were refused (pids.events)" "$(cat "$pd/pids.events" 2>/dev/null || echo 'max 1')" '^max [1-9]'
        check "the leaves hold the workload's tasks only (not the monitor $mon, not the holder)" only_workload "$lp" "$mon"
        check "the monitor is outside the workload's cgroups" sh -c "! grep -q 'ctr-sp' /proc/$mon/cgroup"
        is "memory.limit_in_bytes with the spare path" "$(cat "$(cg_dir "$lp" memory)/memory.limit_in_bytes")" $((64 << 20))
        isoctl rm -f sp >/dev/null 2>&1

        # OOM through the spare path: the workload is killed, the monitor (outside) reports it.
        wait_until 5 spare_leaf >/dev/null
        isoctl launch -d --name spoom --memory 32M -- /bin/sh -c 'x=$(head -c 104857600 /dev/zero | tr "\0" a)' >/dev/null
        isoctl wait spoom >/dev/null
        is "spare path, past the memory limit: killed by SIGKILL (137)" "$?" 137
        like "spare path: the init was born in its cgroup" "$(cat "$T/state/workloads/spoom/monitor.json")" '"cgroup_attached": ?0[,}]'
        like "spare path, nothing pending: the init did not wait for the monitor (init_waited false)" \
                "$(cat "$T/state/workloads/spoom/monitor.json")" '"init_waited": ?false'
        like "spare path: show says failed, reason oom (the monitor survived to say it)" "$(isoctl show spoom 2>&1)" '[Rr]eason:? +oom'
        isoctl rm spoom >/dev/null 2>&1

        # --cpus needs the cpu hierarchy, which a spare does not pre-make: attached there only.
        wait_until 5 spare_leaf >/dev/null
        isoctl launch -d --name spcpu --cpus 0.5 -- /bin/sleep 1000 >/dev/null
        like "spare path + --cpus: attached in the cpu hierarchy only (cgroup_attached 1)" \
                "$(cat "$T/state/workloads/spcpu/monitor.json")" '"cgroup_attached": ?1[,}]'
        like "spare path + --cpus: so the init waited to be placed" \
                "$(cat "$T/state/workloads/spcpu/monitor.json")" '"init_waited": ?true'
        lp=$(leader_of spcpu)
        like "spare path + --cpus: the init is in its cpu leaf" "$(cg_dir "$lp" cpu)" "/$group/ctr-spcpu\$"
        check "spare path + --cpus: the leaves hold the workload only" only_workload "$lp" "$(monitor_of spcpu)"
        isoctl rm -f spcpu >/dev/null 2>&1

        # --pids 1: the holder must be gone before pids.max is written, or the init cannot exist.
        wait_until 5 spare_leaf >/dev/null
        out=$(isoctl launch --name sp1 --pids 1 -- /bin/sh -c 'echo alone; exit 3' 2>&1)
        rc=$?
        like "spare path + --pids 1: the init runs" "$out" '^alone$'
        is "spare path + --pids 1: its exit status" "$rc" 3

        # A stale leaf of the same name (a monitor that was SIGKILLed) is replaced by the rename.
        wait_until 5 spare_leaf >/dev/null
        stale=$(dirname "$(spare_leaf)")/ctr-stale
        mkdir "$stale"
        out=$(isoctl launch -d --name stale -- /bin/sh -c 'sleep 3' 2>&1)
        slp=$(leader_of stale)
        wait_until 5 sh -c "grep -q '/ctr-stale\$' /proc/$slp/cgroup"
        like "spare path: a stale leaf of the same name is replaced" "$(cat /proc/"$slp"/cgroup)" '/ctr-stale$'
        isoctl wait stale >/dev/null
        wait_until 5 sh -c "[ ! -e '$stale' ]"
        check "... and removed with the workload" [ ! -e "$stale" ]

        # A spare whose holder died (killed here): nothing is cloned through it; the launch clones
        # again without it, attaches by PID, waits to be placed and brings its own loopback up.
        wait_until 10 sh -c "[ \$(find /sys/fs/cgroup/pids/ -maxdepth 6 -type d -path '*/$group/spare-*' | wc -l) -ge 4 ]"
        for s in $(spare_leaves | sed 's|.*/spare-||'); do
                for h in $(pgrep -P "$s"); do kill -KILL "$h"; done
        done
        sleep 0.2
        out=$(isoctl launch --name hk --keep -- /bin/sh -c 'cat /sys/class/net/lo/operstate; exit 4' 2>&1)
        rc=$?
        is "a spare without its holder: the launch still runs (exit 4)" "$rc" 4
        like "... with its loopback up" "$out" '^(up|unknown)$'
        like "... attached by PID and waited for it" "$(cat "$T/state/workloads/hk/monitor.json")" \
                '"cgroup_attached": ?[1-9].*"init_waited": ?true|"init_waited": ?true.*"cgroup_attached": ?[1-9]'
        isoctl rm -f hk >/dev/null 2>&1

        # Launches while others end: GROUP is never removed under a launch (it was, for a
        # non-default instance, by whichever workload ended last).
        bg=()
        for i in $(seq 1 24); do
                { isoctl launch -- /bin/true >/dev/null 2>>"$T/par.err" || echo x >>"$T/par.fail"; } &
                bg+=($!)
        done
        wait "${bg[@]}"
        is "24 concurrent launches, none failed" "$(cat "$T/par.fail" 2>/dev/null | wc -l)" 0
        [ -s "$T/par.err" ] && diag "$(head -3 "$T/par.err")"
fi

# --- nothing left behind by this test's isod instance
left=$(find /sys/fs/cgroup -maxdepth 4 -type d -path '*isod*ctr-*' 2>/dev/null | grep -F -e ctr-lim -e ctr-fg -e ctr-oom -e ctr-sp)
is "no ctr-* leaves of this test remain" "$left" ""
check "isod is still up" isod_alive
stop_isod
sleep 0.3
# GROUP itself is kept (like the default instance's "isod"; the test's cleanup sweeps it), but no
# leaf: workloads removed theirs, the spare monitor removed its own when isod went away.
left=$(for d in $(find /sys/fs/cgroup -maxdepth 5 -type d -name "$group" 2>/dev/null); do find "$d" -mindepth 1 -type d; done)
is "no leaf of this isod instance ($group) remains, spare leaves included" "$left" ""

# --- without a spare monitor (ISOD_NO_SPARE_MONITOR=1): the init is attached by PID on v1
ISOD_NO_SPARE_MONITOR=1 start_isod
out=$(isoctl launch --name ns --pids 7 -- /bin/sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null; echo ran' 2>&1)
like "no spare: the launch works" "$out" '^ran$'
if [ -z "$V2" ]; then
        isoctl launch -d --name ns2 --pids 7 -- /bin/sleep 100 >/dev/null
        like "no spare: attached by PID in each hierarchy (cgroup_attached > 0)" \
                "$(cat "$T/state/workloads/ns2/monitor.json")" '"cgroup_attached": ?[1-9]'
        is "no spare: pids.max" "$(cat "$(cg_dir "$(leader_of ns2)" pids)/pids.max")" 7
        isoctl rm -f ns2 >/dev/null 2>&1
fi
stop_isod

if [ -z "$V2" ] && [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        while read -r line; do
                case $line in
                ok\ -\ *) ok "${line#ok - }" ;;
                not\ ok\ -\ *) not_ok "${line#not ok - }" ;;
                esac
        done < <(ISOD_TEST_CGROUP_V2NS=1 unshare -m --propagation private bash "$0" 2>/dev/null)
else
        ok "# SKIP v2-in-a-mount-namespace pass: host is v2 already, or has no cgroup2 mount"
fi
done_testing
