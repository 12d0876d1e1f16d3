#!/bin/bash
# Integration: isoctl → D-Bus → isod → monitor → container, asserting on what the workload saw.
. "$(dirname "$0")/lib.sh"
require_root
ensure_image || skip_all "cannot build the busybox image (apt-get install busybox-static)"
start_bus || skip_all "no dbus-daemon"
check "isod starts on a private bus" start_isod

# --- the issue's first example
out=$(isoctl launch --isolation=container -- /bin/sh -c 'echo pid=$$; hostname; exit 7')
rc=$?
is "workload exit status is isoctl's exit status" "$rc" 7
like "workload is PID 1 in its own PID namespace" "$out" '^pid=1$'
host_name=$(echo "$out" | sed -n 2p)
[ -n "$host_name" ] && [ "$host_name" != "$(hostname)" ]
check "workload has its own hostname ('$host_name')" [ $? = 0 ]

# --- what the workload sees
out=$(isoctl launch --name seer --hostname web1 -e FOO=bar -e HOSTPID=$ISOD_PID -w /tmp -- /bin/sh -c '
        echo "host=$(hostname)"; echo "foo=$FOO"; echo "cwd=$(pwd)"
        echo "root=$(awk "\$5 == \"/\" {print \$9}" /proc/self/mountinfo)"
        echo "init=$(cat /proc/1/comm)"; [ -e /proc/$HOSTPID ] && echo "sees-host-pid"
        echo "dev=$(ls /dev | tr "\n" " ")"
        echo "sysro=$(awk "\$5 == \"/sys\" {print \$6}" /proc/self/mountinfo)"
        echo "lo=$(cat /sys/class/net/lo/operstate 2>/dev/null)"
        echo "ifaces=$(ls /sys/class/net | tr "\n" " ")"
        echo "ipcns=$(readlink /proc/self/ns/ipc)"
        echo "netns=$(readlink /proc/self/ns/net)"
        echo "nice=$(cut -d" " -f19 /proc/self/stat)"
        for n in null zero full random urandom tty; do stat -c "node=%n %F %a %t:%T" /dev/$n; done
        echo "devbinds=$(awk "\$5 ~ /^\/dev\/(null|zero|full|random|urandom|tty)\$/" /proc/self/mountinfo | wc -l)"
        echo "zero3=$(head -c 3 /dev/zero | wc -c)"
        echo x > /etc/written-by-workload && echo wrote')
is "launch with options exits 0" "$?" 0
like "hostname from --hostname" "$out" '^host=web1$'
like "env from -e" "$out" '^foo=bar$'
like "cwd from -w" "$out" '^cwd=/tmp$'
like "root is an overlay (private writable layer)" "$out" '^root=overlay$'
like "PID 1 is the workload" "$out" '^init=sh$'
unlike "host processes are invisible" "$out" '^sees-host-pid$'
like "minimal /dev" "$out" '^dev=fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero $'
# Without a user namespace the nodes are made with mknod (as crun does), not bound from the host.
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
        IFS=: read -r name maj min <<<"$n"
        like "/dev/$name is the character device $maj:$min, mode 666" "$out" "^node=/dev/$name character special file 666 $maj:$min\$"
done
like "... none of them a bind mount" "$out" '^devbinds=0$'
like "/dev/zero reads" "$out" '^zero3=3$'
like "/sys is read-only" "$out" '^sysro=ro,'
like "only loopback in its network namespace" "$out" '^ifaces=lo $'
like "loopback is up" "$out" '^lo=(up|unknown)$'
unlike "own IPC namespace" "$out" "^ipcns=$(readlink /proc/self/ns/ipc)\$"
unlike "own network namespace" "$out" "^netns=$(readlink /proc/self/ns/net)\$"
# Spares prepare at nice 19 (docs/architecture.md); the workload runs at isod's priority.
like "the workload runs at normal priority (nice 0)" "$out" '^nice=0$'
seer_netns=$(echo "$out" | sed -n 's/^netns=//p')
like "the workload can write to /" "$out" '^wrote$'
check "the image is never modified" [ ! -e "$IMAGE_DIR/busybox/rootfs/etc/written-by-workload" ]
out=$(isoctl list)
unlike "a foreground launch is removed after it ends" "$out" 'seer'
out=$(isoctl launch -- /bin/sh -c 'readlink /proc/self/ns/net; cat /sys/class/net/lo/operstate')
unlike "the next workload has a network namespace of its own too" "$out" "^$seer_netns\$"
like "... with its loopback up" "$out" '^(up|unknown)$'

# --- the spare monitors: a pool of --spare-monitors=N (default 4) started ahead, at low priority
spare_monitors() {   # PIDs of this instance's spare monitors (not their holder processes)
        local p all
        all=" $(pgrep -f -- "--spare --workloads-dir=$T/state/workloads" | tr '\n' ' ')"
        for p in $all; do
                case "$all" in *" $(awk '{print $4}' /proc/$p/stat 2>/dev/null) "*) ;; *) echo "$p" ;; esac
        done
}
wait_until 5 sh -c "[ \$(pgrep -f -- '--spare --workloads-dir=$T/state/workloads' | wc -l) -ge 4 ]"
sleep 0.5
is "four spare monitors wait for launches" "$(spare_monitors | wc -l)" 4
nices=$(for p in $(spare_monitors); do awk '{print $19}' /proc/$p/stat; done | sort -u | tr '\n' ' ')
is "they wait at nice 19" "$nices" "19 "
ppids=$(for p in $(spare_monitors); do awk '{print $4}' /proc/$p/stat; done | sort -u | tr '\n' ' ')
unlike "none is isod's child" "$ppids" "(^| )$ISOD_PID "
# They are forked by one zygote (isod-monitor --zygote), not exec'd one by one.
zyg=$(echo $ppids)
is "the spares have one parent" "$(echo "$zyg" | wc -w)" 1
like "... the zygote, which forks them" "$(tr '\0' ' ' </proc/"${zyg:-0}"/cmdline 2>/dev/null)" \
        "isod-monitor .*--zygote --workloads-dir=$T/state/workloads"
zombie_or_gone() { s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ]; }
kill -KILL "$zyg"
out=$(for i in 1 2 3 4 5 6; do isoctl launch -- /bin/sh -c 'echo ok'; done | tr '\n' ' ')
is "launches go on when the zygote was killed" "$out" "ok ok ok ok ok ok "
wait_until 5 sh -c "[ \$(pgrep -f -- '--zygote --workloads-dir=$T/state/workloads' | wc -l) -eq 1 ]"
zyg2=$(pgrep -f -- "--zygote --workloads-dir=$T/state/workloads")
check "a new zygote took its place" [ -n "$zyg2" ] && [ "$zyg2" != "$zyg" ]
wait_until 5 sh -c "[ \$(pgrep -f -- '--spare --workloads-dir=$T/state/workloads' | wc -l) -ge 4 ]"
sleep 0.5
is "and the pool is full again" "$(spare_monitors | wc -l)" 4
stop_isod
wait_until 5 zombie_or_gone "$zyg2"
check "the zygote ends with isod" zombie_or_gone "$zyg2"
check "isod starts with --spare-monitors=1" start_isod --spare-monitors=1
wait_until 5 sh -c "[ \$(pgrep -f -- '--spare --workloads-dir=$T/state/workloads' | wc -l) -ge 1 ]"
sleep 0.5
is "one spare monitor with --spare-monitors=1" "$(spare_monitors | wc -l)" 1
out=$(for i in 1 2 3; do isoctl launch -- /bin/sh -c 'echo "ran$(cut -d" " -f19 /proc/self/stat)"'; done | tr '\n' ' ')
is "launches faster than the pool refills (spares taken unready) run at nice 0" "$out" "ran0 ran0 ran0 "
stop_isod
check "isod starts with --spare-monitors=0" start_isod --spare-monitors=0
sleep 0.5
is "no spare monitor with --spare-monitors=0" "$(spare_monitors | wc -l)" 0
is "... and no zygote" "$(pgrep -f -- "--zygote --workloads-dir=$T/state/workloads" | wc -l)" 0
out=$(isoctl launch -- /bin/sh -c 'echo "nice=$(cut -d" " -f19 /proc/self/stat)"; exit 4')
is "without spares, launches work: exit status" "$?" 4
like "... and priority" "$out" '^nice=0$'
stop_isod
check "isod restarts with the default pool" start_isod

# --- stdio is handed over directly: stdin in, stdout and stderr apart
out=$(echo "hello-stdin" | isoctl launch -- /bin/sh -c 'read l; echo "got:$l"; echo err >&2' 2>"$T/err")
like "stdin reaches the workload" "$out" '^got:hello-stdin$'
is "stderr stays stderr" "$(cat "$T/err")" "err"

# --- --rootfs DIR and read-only bind mounts
mkdir -p "$T/data"
echo "host-data" >"$T/data/file"
out=$(isoctl launch --rootfs "$IMAGE_DIR/busybox/rootfs" --mount "$T/data:/data" -- /bin/sh -c \
        'cat /data/file; (echo x > /data/new) 2>/dev/null && echo writable || echo readonly')
like "bind mount visible" "$out" '^host-data$'
like "bind mount is read-only by default" "$out" '^readonly$'
out=$(isoctl launch --mount "$T/data:/data:rw" -- /bin/sh -c 'echo y > /data/new && echo writable')
like "rw bind mount is writable" "$out" '^writable$'
check "the write reached the host" [ "$(cat "$T/data/new" 2>/dev/null)" = y ]
# --- --tmpfs (the spec's tmpfs[]): a fresh tmpfs, nosuid,nodev always, size/mode/noexec as asked,
# writable even on a read-only root (whose image has the targets: a read-only root gets no new
# mount points, as for binds)
out=$(isoctl launch --read-only --tmpfs /run:size=4M,mode=700 --tmpfs /tmp:noexec -- /bin/sh -c '
        awk "\$2 == \"/run\" || \$2 == \"/tmp\" {print \$2 \"=\" \$3 \" \" \$4}" /proc/mounts
        echo "run-mode=$(stat -c %a /run)"; echo x >/run/f && echo run-writable
        cp /bin/busybox /run/true && /run/true && echo run-exec
        cp /bin/busybox /tmp/true && { /tmp/true 2>/dev/null && echo tmp-exec || echo tmp-noexec; }')
like "--tmpfs /run: tmpfs of 4M, nosuid,nodev" "$out" '^/run=tmpfs rw,nosuid,nodev,.*size=4096k'
like "--tmpfs /run: mode 700" "$out" '^run-mode=700$'
like "--tmpfs on a --read-only root is writable" "$out" '^run-writable$'
like "--tmpfs /tmp:noexec is noexec" "$out" '^/tmp=tmpfs rw,nosuid,nodev,noexec'
like "... and nothing runs from it" "$out" '^tmp-noexec$'
like "... while a program copied to /run (exec) runs" "$out" '^run-exec$'
out=$(isoctl launch --tmpfs ../x -- true 2>&1)
like "--tmpfs with a relative target is refused, naming it" "$out" "tmpfs\[0\]\.target"
out=$(isoctl launch --tmpfs /run:uid=0 -- true 2>&1)
like "--tmpfs with an option isod does not take is refused, naming it" "$out" "option 'uid=0' is not supported"
out=$(isoctl launch --read-only -- /bin/sh -c '(echo x > /etc/x) 2>/dev/null && echo writable || echo readonly')
like "--read-only root" "$out" '^readonly$'
out=$(isoctl launch -u 1000:1000 -- /bin/sh -c 'echo "id=$(id -u):$(id -g)"')
like "runs as process.user" "$out" '^id=1000:1000$'

# --- failures that must say what is wrong
out=$(isoctl launch -- /nonexistent/prog 2>&1)
rc=$?
is "missing program exits 127" "$rc" 127
like "missing program: clear message" "$out" "nonexistent|program"
out=$(isoctl launch --image nosuchimage -- /bin/true 2>&1)
like "unknown image: clear message" "$out" "image 'nosuchimage' not found"
# --- terminals: -t gives the workload a pty with the client's terminal at the other end.
# script(1) gives isoctl a terminal; it echoes its own stdin's EOF as "^@", which is stripped.
tty_run() {
        script -qec "$1" /dev/null >"$T/tty.out" 2>&1
        echo $? >"$T/tty.rc"
        tr -d '\r' <"$T/tty.out" | sed 's/\^@//g'
}
if command -v script >/dev/null; then
        out=$(tty_run "stty cols 91 rows 33; $ISOCTL launch -t -- /bin/sh -c 'stty size; test -t 0 && echo isatty; echo sid=\$(cut -d\" \" -f6 /proc/self/stat) pgrp=\$(cut -d\" \" -f5 /proc/self/stat); exit 4'")
        is "launch -t exit status" "$(cat "$T/tty.rc")" 4
        like "window size propagated" "$out" '^33 91$'
        like "stdin is a terminal" "$out" '^isatty$'
        like "the workload leads its own session with the terminal (job control)" "$out" '^sid=1 pgrp=1$'
        out=$(script -qec "$ISOCTL launch -t -- /bin/echo one-line" /dev/null | od -An -c | tr -s ' ')
        like "output is not translated twice (one \\r per line)" "$out" 'o n e - l i n e \\r \\n'
        out=$(printf 'echo typed-in; exit 8\n' | script -qec "$ISOCTL launch -t -- /bin/sh -i" /dev/null | tr -d '\r')
        like "keys typed at the client reach the shell" "$out" '^typed-in$'
        isoctl launch -d --name ttyhost -- /bin/sleep 100 >/dev/null
        out=$(tty_run "stty cols 50 rows 10; $ISOCTL exec -t ttyhost -- /bin/sh -c 'stty size; exit 6'")
        is "exec -t exit status" "$(cat "$T/tty.rc")" 6
        like "exec -t window size" "$out" '^10 50$'
        isoctl rm -f ttyhost >/dev/null
else
        not_ok "script(1) is needed for the terminal tests (bsdutils)"
fi

# --- environment values are not published on the bus (they may be secrets)
isoctl launch -d --name secretive -e TOKEN=hunter2 -- /bin/sleep 100 >/dev/null
out=$(isoctl show secretive)
like "Spec shows the variable's name" "$out" 'TOKEN=\(hidden\)'
unlike "… but not its value" "$out" 'hunter2'
is "the workload itself has the value" "$(isoctl exec secretive -- /bin/sh -c 'echo $TOKEN')" hunter2
isoctl rm -f secretive >/dev/null

# --- detached lifecycle: list, show, kill, stop, wait, rm
name=$(isoctl launch -d --name web -- /bin/sh -c 'trap "echo hup >> /tmp/sig" HUP; trap "exit 42" TERM; while :; do sleep 0.1; done')
is "launch -d prints the name" "$name" web
out=$(isoctl list)
like "list shows it with isolation, state and rule" "$out" '^web +container +running +root'
out=$(isoctl list --json)
like "list --json" "$out" '"name": "web"'
like "list --json has the policy rule" "$out" '"policy_rule": "root"'
out=$(isoctl show web)
like "show: state" "$out" 'State: +running'
like "show: leader PID" "$out" 'Leader PID: +[0-9]+'
check "kill -s HUP is delivered" isoctl kill web -s HUP
wait_until 5 isoctl exec web -- /bin/sh -c 'grep -q hup /tmp/sig 2>/dev/null'
check "the workload saw SIGHUP (exec into it to look)" [ $? = 0 ]
out=$(isoctl exec -e HOSTNAME=override web -- /bin/sh -c 'env | grep -c "^HOSTNAME="; echo "h=$HOSTNAME"')
like "exec -e overrides the workload's variable (one HOSTNAME)" "$out" '^1$'
like "… with the new value" "$out" '^h=override$'
out=$(isoctl exec web -- /bin/sh -c 'echo "pid=$$ host=$(hostname)"; exit 3')
is "exec exit status" "$?" 3
like "exec runs inside the workload's namespaces" "$out" '^pid=[0-9]+ host=web$'
(isoctl wait web >"$T/wait.out"; echo $? >"$T/wait.rc") &
waiter=$!
sleep 0.2
check "stop (SIGTERM, trapped → exit 42)" isoctl stop web
wait $waiter
is "wait returns the exit status" "$(cat "$T/wait.rc")" 42
is "state after stop" "$(state_of web)" exited
out=$(isoctl wait web)
is "wait on an exited workload returns at once" "$?" 42
check "rm" isoctl rm web
out=$(isoctl show web 2>&1)
like "gone after rm" "$out" 'NotFound'

# stop escalates to SIGKILL after the grace period when SIGTERM is ignored (PID 1 ignores it)
isoctl launch -d --name stubborn -- /bin/sleep 1000 >/dev/null
start=$(date +%s%N)
check "stop -t 300ms" isoctl stop -t 300ms stubborn
elapsed=$((($(date +%s%N) - start) / 1000000))
check "stop escalated to SIGKILL after the grace period (${elapsed} ms)" [ "$elapsed" -ge 250 ]
out=$(isoctl show stubborn)
like "killed by SIGKILL" "$out" 'Exit status: 137 \(killed by SIGKILL\)'
check "rm stubborn" isoctl rm stubborn

# create + start
name=$(isoctl create --name later -- /bin/sh -c 'exit 5')
is "create prints the name" "$name" later
is "created state" "$(state_of later)" created
check "start" isoctl start later
out=$(isoctl wait later)
is "wait after start" "$?" 5
isoctl rm later

# --- --network ns:PATH (network mode netns): an existing network namespace, as Podman's netavark
# and a CNI pod sandbox give it; here two test namespaces joined by a veth pair
NSA=isodt-a-$$ NSB=isodt-b-$$
ip netns add "$NSA" && ip netns add "$NSB"
ip link add "va$$" netns "$NSA" type veth peer name "vb$$" netns "$NSB"
ip -n "$NSA" addr add 10.77.0.1/24 dev "va$$" && ip -n "$NSA" link set "va$$" up && ip -n "$NSA" link set lo up
ip -n "$NSB" addr add 10.77.0.2/24 dev "vb$$" && ip -n "$NSB" link set "vb$$" up
out=$(isoctl launch --network "ns:/run/netns/$NSA" -- /bin/sh -c \
        'ip -4 -o addr show | grep -o "inet [0-9.]*"; ping -c1 -W2 10.77.0.2 >/dev/null && echo ping-ok; readlink /proc/self/ns/net')
like "--network ns:PATH: the workload is in that namespace (its address)" "$out" "^inet 10.77.0.1$"
like "... and reaches the peer namespace over its veth" "$out" "^ping-ok$"
is "... the very namespace (same inode)" "$(echo "$out" | tail -1)" "$(ip netns exec "$NSA" readlink /proc/self/ns/net)"
out=$(isoctl launch --network ns:/etc/passwd -- true 2>&1)
like "--network ns: of a file that is not a namespace: refused" "$out" "/etc/passwd is not a network namespace"
touch "/run/netns/isodt-host-$$" && mount --bind /proc/self/ns/net "/run/netns/isodt-host-$$"
out=$(isoctl launch --network "ns:/run/netns/isodt-host-$$" -- true 2>&1)
like "--network ns: of the host's own namespace: refused (that is network mode host)" "$out" \
        "is the host's network namespace: that is network mode host"
umount "/run/netns/isodt-host-$$" && rm -f "/run/netns/isodt-host-$$"
out=$(isoctl launch --network ns:relative -- true 2>&1)
like "--network ns: with a relative path: refused, naming it" "$out" "'network.path' must name the network namespace"
out=$(isoctl launch --isolation=vm --network "ns:/run/netns/$NSA" -- true 2>&1)
like "--network ns: in a VM: refused, never run elsewhere" "$out" "network mode netns needs a container"
ip netns del "$NSA"
ip netns del "$NSB"

# --- --pod (the spec's "pod"): a container joins a running container's ipc, uts and network
# namespaces (a CRI pod's container and its sandbox), keeping its own pid namespace and root
isoctl launch -d --name podsb --hostname podhost --network none -- /bin/sh -c \
        'ip link set lo up 2>/dev/null; sleep 60' >/dev/null
wait_until 10 state_is podsb running
leader=$(isoctl show --json podsb | jq -r .LeaderPID)
host_ns=$(for n in ipc uts net pid mnt; do readlink "/proc/$leader/ns/$n"; done | tr '\n' ' ')
out=$(isoctl launch --pod podsb -- /bin/sh -c \
        'for n in ipc uts net pid mnt; do readlink /proc/self/ns/$n; done | tr "\n" " "; echo; hostname')
is "--pod: the member shares the pod's ipc, uts and network namespaces" \
        "$(echo "$out" | sed -n 1p | cut -d' ' -f1-3)" "$(echo "$host_ns" | cut -d' ' -f1-3)"
isnt_pidns=$(echo "$out" | sed -n 1p | cut -d' ' -f4-5)
check "... with a pid and mount namespace of its own" [ "$isnt_pidns" != "$(echo "$host_ns" | cut -d' ' -f4-5)" ]
is "... and the pod's hostname" "$(echo "$out" | sed -n 2p)" podhost
out=$(isoctl launch --pod podsb --network nat -- true 2>&1)
like "--pod with --network nat: refused, naming it" "$out" "'network' must be unset or none"
out=$(isoctl launch --pod podsb --hostname x -- true 2>&1)
like "--pod with --hostname: refused, naming it" "$out" "'hostname' must be unset"
out=$(isoctl launch --pod nosuchpod -- true 2>&1)
like "--pod of a workload that does not exist: refused" "$out" "Pod workload 'nosuchpod' does not exist"
out=$(isoctl launch --pod ../x -- true 2>&1)
like "--pod with a hostile name: refused" "$out" "Invalid pod workload name '../x'"
out=$(isoctl launch --pod podsb --isolation=vm -- true 2>&1)
like "--pod with --isolation=vm: refused, never a container or a VM of its own" "$out" \
        "places this workload in a VM, but it joins pod workload 'podsb'"
isoctl create --name podcreated -- sleep 1 >/dev/null
out=$(isoctl launch --pod podcreated -- true 2>&1)
like "--pod of a workload that is not running: refused" "$out" "Pod workload 'podcreated' is created, not running"
isoctl rm podcreated >/dev/null
if [ -f "$VM_DIR/vmlinux" ]; then
        isoctl create --isolation=vm --name podvm -- sleep 1 >/dev/null
        out=$(isoctl launch --pod podvm -- true 2>&1)
        like "--pod of a VM: refused, a VM pod's further containers are not supported yet" "$out" \
                "Pod workload 'podvm' runs in a VM: running a pod's further containers inside its VM is not supported yet"
        isoctl rm podvm >/dev/null
fi
isoctl kill podsb >/dev/null 2>&1
isoctl rm -f podsb >/dev/null 2>&1

check "isod is still up" isod_alive

# --- a VM request on a host where the VM backend cannot work: a clear error, never a container
stop_isod
check "isod starts without a guest kernel" start_isod --vm-dir="$T/no-such-vm-dir"
like "status says why the vm backend is unavailable" "$(isoctl status)" 'backend vm +unavailable: .+'
out=$(isoctl launch --isolation=vm -- /bin/sh -c 'echo RAN-AS-CONTAINER' 2>&1)
rc=$?
like "--isolation=vm answers BackendUnavailable" "$out" 'BackendUnavailable'
unlike "… and the workload did not run as a container" "$out" 'RAN-AS-CONTAINER'
is "… with exit status 125" "$rc" 125
is "nothing was created" "$(isoctl list | tail -n +2 | wc -l)" 0
out=$(isoctl launch -- /bin/sh -c 'grep " /dev/mqueue " /proc/mounts | cut -d" " -f3,4')
like "/dev/mqueue: the container's own POSIX message queues (mqueue, nosuid,nodev,noexec)" "$out" "^mqueue rw,nosuid,nodev,noexec"
out=$(isoctl launch --userns -- /bin/sh -c 'grep -c " /dev/mqueue mqueue " /proc/mounts')
is "/dev/mqueue in a user namespace too" "$out" 1
done_testing
