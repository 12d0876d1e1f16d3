#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Integration: isoctl → D-Bus → isod → isod-monitor → jailed QEMU microVM → isod-agent, asserting
# on what the guest observed. TCG boots take ~2 s each here, so one long-running VM ("lr") serves
# most checks and independent foreground VMs boot in parallel. Needs root, qemu-system-x86_64 and
# the guest kernel + initramfs in $VM_DIR (`make test-assets`); skips (77) otherwise.
. "$(dirname "$0")/lib.sh"
require_root
require_vm_assets
ensure_image || skip_all "cannot build the busybox image"
start_bus || skip_all "no dbus-daemon"
check "isod starts on a private bus" start_isod
t_start=$(date +%s)

leader_of() { isoctl show --json "$1" | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p'; }
reason_of() { isoctl show --json "$1" | sed -n 's/.*"Reason": "\([^"]*\)".*/\1/p'; }
running() { [ "$(state_of "$1")" = running ]; }
ended() { case $(state_of "$1") in exited | failed) return 0 ;; esac; return 1; }
VM="--isolation=vm"

# ---------------------------------------------------------------- long-running VMs, booting while
# the foreground checks run
isoctl launch -d $VM --name lr --hostname lrhost -e WL=workload -e SHARED=old -w /tmp -- /bin/sh -c \
        'trap "echo hup >> /tmp/sig" HUP; trap "exit 42" TERM; while :; do sleep 0.2; done' >/dev/null
isoctl launch -d $VM --name stubborn -- /bin/sh -c 'trap "" TERM; while :; do sleep 0.2; done' >/dev/null

# ---------------------------------------------------------------- the issue's example + guest view
mkdir -p "$T/data"
echo "host-data" >"$T/data/file"
out=$(isoctl launch $VM --cpus 2 --memory 256M --hostname vmhost -e FOO=bar -w /tmp --mount "$T/data:/data" \
        --tmpfs /scratch:size=4M,mode=750,noexec --tmpfs /exec -- \
        /bin/sh -c 'uname -r; nproc; sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo
                echo "host=$(hostname)"; echo "foo=$FOO"; echo "cwd=$(pwd)"; echo "uid=$(id -u)"
                cat /data/file; (echo x > /data/new) 2>/dev/null && echo data-writable || echo data-readonly
                echo "tmpfs=$(awk "\$2 == \"/scratch\" {print \$3, \$4}" /proc/mounts)"
                echo "tmpfs-mode=$(stat -c %a /scratch)"; cp /bin/busybox /scratch/true; /scratch/true 2>/dev/null && echo tmpfs-exec
                cp /bin/busybox /exec/true && /exec/true && echo exec-tmpfs-exec
                echo x > /written-by-vm && echo wrote; echo to-stderr >&2; exit 3' 2>"$T/err1")
is "exit status 3 is isoctl's exit status" "$?" 3
release=$(echo "$out" | sed -n 1p)
is "uname -r is the guest kernel's (test-assets/vm/kernel.release)" "$release" "$(cat "$VM_DIR/kernel.release")"
check "and differs from the host's ($(uname -r))" [ "$release" != "$(uname -r)" ]
is "nproc = --cpus 2" "$(echo "$out" | sed -n 2p)" 2
mem_kb=$(echo "$out" | sed -n 3p)
# The kernel keeps its image (~25 MiB of Debian's 6.1), struct pages (1.6 %) and reserved ranges:
# MemTotal is what is left. Tolerance: at most 64 MiB below --memory, never above.
check "MemTotal ${mem_kb:-?} kB is within 64 MiB below --memory 256M (262144 kB)" \
        [ "${mem_kb:-0}" -le 262144 ] && [ "${mem_kb:-0}" -ge $((262144 - 65536)) ]
like "hostname from --hostname" "$out" '^host=vmhost$'
like "env from -e" "$out" '^foo=bar$'
like "cwd from -w" "$out" '^cwd=/tmp$'
like "user root by default" "$out" '^uid=0$'
like "--mount: the host directory is visible" "$out" '^host-data$'
like "--mount: read-only in the guest" "$out" '^data-readonly$'
like "the workload can write to /" "$out" '^wrote$'
like "--tmpfs: a tmpfs of 4M, nosuid, nodev, noexec in the guest" "$out" \
        '^tmpfs=tmpfs rw,nosuid,nodev,noexec,.*size=4096k'
like "--tmpfs: mode 750" "$out" '^tmpfs-mode=750$'
unlike "--tmpfs noexec: nothing runs from it" "$out" '^tmpfs-exec$'
like "... while a program copied to a tmpfs without noexec runs" "$out" '^exec-tmpfs-exec$'
is "stderr stays stderr" "$(cat "$T/err1")" to-stderr
check "the host directory is unchanged" [ ! -e "$T/data/new" ]
check "the image directory is unchanged" [ ! -e "$IMAGE_DIR/busybox/rootfs/written-by-vm" ]
images_sum=$(cat "$T"/cache/vm-images/*.erofs "$T"/cache/vm-images/*.initrd | sha256sum)

# ---------------------------------------------------------------- how the rootfs travels
# A small tree (the busybox image, 2 MB) comes inside the initramfs: no disk, no erofs, no overlay
# in the guest; a larger one (> 16 MiB of file data) as a read-only erofs disk under a tmpfs
# overlay. Either way the workload writes to / and the image stays as it was.
out=$(isoctl launch $VM --name small --keep -- /bin/sh -c '
        awk "\$2 == \"/\" {print \"root=\" \$3}" /proc/mounts; cut -d" " -f1 /proc/modules | sort | tr "\n" " "; echo
        echo x >/etc/written && echo wrote')
like "small image: the root is the initramfs' tmpfs (rootfs)" "$out" '^root=rootfs$'
unlike "small image: no virtio_blk, erofs or overlay module loaded" "$out" '(virtio_blk|erofs|overlay)'
like "small image: / is writable" "$out" '^wrote$'
like "small image: the monitor says rootfs initramfs" "$(cat "$T/state/workloads/small/monitor.json")" '"rootfs": ?"initramfs"'
check "small image: a combined initramfs is cached" ls "$T"/cache/vm-images/*.initrd
# Two virtio-serial ports only (docs/agent-protocol.md): the console and the control port, which
# carries stdio as frames. virtio-rng is not needed to start (RDRAND seeded the RNG): the agent
# loads it 200 ms into the workload, so it is there for one that runs a while.
out=$(isoctl launch $VM -- /bin/sh -c 'cat /sys/class/virtio-ports/*/name | sort | tr "\n" " "; echo
        i=0; until grep -q "^virtio_rng " /proc/modules || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
        grep -o "^virtio_rng " /proc/modules; cat /sys/class/misc/hw_random/rng_current')
like "the guest has two virtio-serial ports: isod.console, isod.ctl" "$out" '^isod\.console isod\.ctl $'
like "virtio-rng is loaded once the workload runs" "$out" '^virtio_rng $'
like "... and is the guest's hardware RNG" "$out" '^virtio_rng'
# Under TCG the guest CPU is qemu64 plus RDRAND (docs/vm.md, "Launch"); under KVM the host's.
accel=$(sed -n 's/.*"accel": *"\([a-z]*\)".*/\1/p' "$T/state/workloads/small/monitor.json")
like "the monitor says which accelerator ($accel)" "$accel" '^(tcg|kvm)$'
if [ "$accel" = tcg ]; then
        out=$(isoctl launch $VM -- /bin/sh -c 'grep -m1 "^model name" /proc/cpuinfo; grep -m1 "^flags" /proc/cpuinfo')
        like "TCG: the guest CPU is the x86-64 baseline (qemu64)" "$out" 'model name.*QEMU Virtual CPU'
        like "TCG: ... with RDRAND" "$out" '^flags.* rdrand( |$)'
        unlike "TCG: ... without AVX" "$out" '^flags.* avx( |$)'
fi
isoctl rm small >/dev/null
# isod-vm-setup drops the modules' ORC unwind tables (docs/vm.md, "Set-up").
if command -v objcopy >/dev/null; then
        mods=$(mktemp -d "$T/mods.XXXXXX")
        (cd "$mods" && cpio -id --quiet "modules/*.ko" <"$VM_DIR/initramfs.cpio")
        orc=$(for k in "$mods"/modules/*.ko; do readelf -S -W "$k" | grep -c '\.orc_unwind'; done | sort -u | tr '\n' ' ')
        is "the initramfs' modules carry no ORC tables" "$orc" "0 "
        is "... and all thirteen are there (three for the NIC)" "$(ls "$mods"/modules/*.ko | wc -l)" 13
fi
mkdir -p "$T/bigroot"
cp -a "$IMAGE_DIR/busybox/rootfs/." "$T/bigroot/"
head -c $((17 << 20)) /dev/zero >"$T/bigroot/ballast"
out=$(isoctl launch $VM --name big --keep --rootfs "$T/bigroot" -- /bin/sh -c '
        awk "\$2 == \"/\" {print \"root=\" \$3}" /proc/mounts; echo "ballast=$(wc -c </ballast)"
        echo x >/etc/written && echo wrote')
like "large image (17 MiB): the root is an overlay over the erofs disk" "$out" '^root=overlay$'
like "large image: its files are there" "$out" "^ballast=$((17 << 20))\$"
like "large image: / is writable" "$out" '^wrote$'
like "large image: the monitor says rootfs erofs" "$(cat "$T/state/workloads/big/monitor.json")" '"rootfs": ?"erofs"'
check "neither image directory was written" [ ! -e "$T/bigroot/etc/written" ] && [ ! -e "$IMAGE_DIR/busybox/rootfs/etc/written" ]
isoctl rm big >/dev/null
images_sum=$(cat "$T"/cache/vm-images/*.erofs "$T"/cache/vm-images/*.initrd | sha256sum)

# ---------------------------------------------------------------- stdio: 100 MB each way, exit codes
# In: a host file through stdin, echoed back by cat (both directions, hashed). Out: data the guest
# generates deterministically, compared with the same generator on the host.
head -c 100000000 /dev/urandom >"$T/big"
want_in=$(sha256sum <"$T/big" | cut -d' ' -f1)
gen='yes 0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c 100000000'
want_out=$(sh -c "$gen" | sha256sum | cut -d' ' -f1)
(isoctl launch $VM -u 1000:1000 -- /bin/sh -c 'id -u >&2; test -e /written-by-vm && echo leaked >&2; exec cat' \
        <"$T/big" 2>"$T/err2" | sha256sum | cut -d' ' -f1 >"$T/sum-in"; echo "${PIPESTATUS[0]}" >"$T/rc-in") &
p1=$!
(isoctl launch $VM -- /bin/sh -c "$gen" 2>/dev/null | sha256sum | cut -d' ' -f1 >"$T/sum-out") &
p2=$!
(isoctl launch $VM -- /bin/sh -c 'kill -TERM $$' >/dev/null 2>&1; echo $? >"$T/rc-sig") &
p3=$!
wait $p1 $p2 $p3
is "100 MB through stdin and back out, no loss or reordering (sha256)" "$(cat "$T/sum-in")" "$want_in"
is "exit status 0" "$(cat "$T/rc-in")" 0
is "user from the spec (-u 1000:1000)" "$(sed -n 1p "$T/err2")" 1000
unlike "a second VM does not see the first one's writes" "$(cat "$T/err2")" leaked
is "100 MB generated in the guest, no loss or reordering (sha256)" "$(cat "$T/sum-out")" "$want_out"
is "killed by SIGTERM: 128+15" "$(cat "$T/rc-sig")" 143
rm -f "$T/big"
# The workload exits while megabytes of its output are still queued in the guest (a port write
# returns once queued, and a slow reader keeps QEMU from taking it): none of it may be lost.
slow_reader='while (sysread(STDIN, $b, 65536)) { print $b; select(undef, undef, undef, 0.03) }'
n=$(isoctl launch $VM -- /bin/sh -c 'yes 0123456789abcdef | head -c 3000000' | perl -e "$slow_reader" | wc -c)
is "output still queued in the guest at exit reaches a slow reader" "$n" 3000000
isoctl launch $VM -- /bin/sh -c 'exit 255' >/dev/null 2>&1
is "exit status 255" "$?" 255

# ---------------------------------------------------------------- -t: the client's pty, window size
out=$(script -qec "stty cols 91 rows 33; $ISOCTL launch -t $VM -- /bin/sh -c 'stty size; tty'" /dev/null </dev/null)
like "launch -t: the guest terminal has the client's size (33 91)" "$out" '33 91'
like "launch -t: the workload has a terminal" "$out" '/dev/pts/[0-9]'
# Resize while it runs: isoctl copies SIGWINCH to the master, the monitor (whose controlling
# terminal is the slave) gets SIGWINCH and sends WINSIZE to the agent.
out=$(script -qec "stty cols 91 rows 33; (sleep 3; stty cols 100 rows 40 </dev/tty) &
        $ISOCTL launch -t $VM -- /bin/sh -c 'i=0; while [ \"\$(stty size)\" = \"33 91\" ] && [ \$i -lt 150 ]; do sleep 0.1; i=\$((i + 1)); done; stty size'" \
        /dev/null </dev/null)
like "launch -t: a resize reaches the guest (40 100)" "$out" '40 100'

# ---------------------------------------------------------------- the long-running VM
wait_until 60 running lr
is "lr is running" "$(state_of lr)" running
like "show says which accelerator" "$(isoctl show lr)" 'Isolation: +vm \(accelerator: (tcg|kvm)\)'
like "show --json: Accelerator" "$(isoctl show --json lr)" '"Accelerator": "(tcg|kvm)"'
qpid=$(leader_of lr)
like "the leader PID is QEMU" "$(tr '\0' ' ' </proc/"${qpid:-0}"/cmdline 2>/dev/null)" '^/usr/bin/qemu-system-x86_64 '

out=$(isoctl exec lr -- /bin/sh -c 'echo out; echo "host=$(hostname)"; echo err >&2; exit 7' 2>"$T/exec.err")
is "exec: exit status" "$?" 7
like "exec: stdout" "$out" '^out$'
like "exec: runs in the VM (hostname lrhost)" "$out" '^host=lrhost$'
is "exec: stderr apart" "$(cat "$T/exec.err")" err
out=$(echo piped | isoctl exec lr -- /bin/cat)
is "exec: stdin" "$out" piped
out=$(isoctl exec -u 1000:1000 -e X=y -w /tmp lr -- /bin/sh -c 'echo "$(id -u):$(id -g) $X $(pwd)"')
is "exec -u/-e/-w" "$out" "1000:1000 y /tmp"
out=$(isoctl exec -e SHARED=new lr -- /bin/sh -c 'echo "$WL $SHARED $(env | grep -c ^SHARED=) $(pwd)"')
is "exec runs like the workload (its env and cwd), -e overrides" "$out" "workload new 1 /tmp"
out=$(isoctl exec lr -- /bin/sh -c 'kill -KILL $$')
is "exec: killed by a signal → 128+9" "$?" 137
agent_fds() { isoctl exec lr -- /bin/sh -c 'ls /proc/1/fd | wc -l'; }
fds0=$(agent_fds)
out=$(script -qec "stty cols 91 rows 33; $ISOCTL exec -t lr -- /bin/sh -c 'stty size; tty'" /dev/null </dev/null)
like "exec -t: the guest terminal has the client's size" "$out" '33 91'
like "exec -t: on a pty" "$out" '/dev/pts/[0-9]'
script -qec "$ISOCTL exec -t lr -- /bin/true" /dev/null </dev/null >/dev/null
is "exec -t sessions leave no fd behind in the agent (PID 1)" "$(agent_fds)" "$fds0"
out=$(script -qec "stty cols 91 rows 33; (sleep 1; stty cols 100 rows 40 </dev/tty) &
        $ISOCTL exec -t lr -- /bin/sh -c 'i=0; while [ \"\$(stty size)\" = \"33 91\" ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done; stty size'" \
        /dev/null </dev/null)
like "exec -t: a resize reaches the guest (polled)" "$out" '40 100'

out=$(isoctl stats lr)
like "stats: figures from the agent" "$out" 'source +agent$'
like "stats: guest memory" "$out" 'memory_total_bytes +[0-9]+'
like "stats: guest processes" "$out" 'pids +[0-9]+'
like "stats: QEMU's RSS on the host" "$out" 'vmm_rss_bytes +[0-9]+'

# Exec output to a client that does not read: the monitor buffers at most the session's output
# window (256 KiB, acknowledged by OUTPUT_ACK), keeps reading the agent and serving (stats
# answers); nothing is lost once the client reads.
want=$(head -c 8000000 /dev/zero | tr '\0' 'z' | sha256sum | cut -d' ' -f1)
mkfifo "$T/slow"
(isoctl exec lr -- /bin/sh -c "head -c 8000000 /dev/zero | tr '\\0' z" >"$T/slow"; echo $? >"$T/slow.rc") &
slowp=$!
exec 7<"$T/slow" # opened, but nothing read yet
sleep 2
s0=$(date +%s%N)
out=$(isoctl stats lr)
ms=$((($(date +%s%N) - s0) / 1000000))
check "stats answers while an exec client stalls (${ms} ms)" [ "$ms" -lt 3000 ]
like "with host figures at least" "$out" 'vmm_rss_bytes +[0-9]+'
mrss=$(ps -o rss= -p "$(isoctl show --json lr | sed -n 's/.*"MonitorPID": \([0-9]*\).*/\1/p')")
check "the monitor's memory stays bounded while it waits (${mrss} kB RSS)" [ "${mrss:-99999}" -lt 20000 ]
got=$(sha256sum <&7 | cut -d' ' -f1)
exec 7<&-
wait $slowp
is "the stalled exec's output arrives complete" "$got" "$want"
is "and its exit status" "$(cat "$T/slow.rc")" 0

# Stdin is flow-controlled per session (a window the agent acknowledges): a process that does not
# read its stdin stalls only itself. Before, the agent blocked in the write and served nobody.
(head -c 4000000 /dev/zero | isoctl exec lr -- /bin/sh -c 'sleep 8; echo done' >"$T/unread.out"; echo $? >"$T/unread.rc") &
unreadp=$!
sleep 2
is "another exec answers while one does not read 4 MB of stdin" "$(timeout 5 "$ISOCTL" exec lr -- /bin/sh -c 'echo alive')" alive
is "... and another exec's 300 kB of output flows meanwhile" "$(timeout 5 "$ISOCTL" exec lr -- /bin/sh -c 'head -c 300000 /dev/zero | wc -c')" 300000
wait $unreadp
is "the exec that never read its stdin ends normally" "$(cat "$T/unread.out") $(cat "$T/unread.rc")" "done 0"
# The workload itself: stdin from a regular file (read as the window allows), not read at all.
head -c 3000000 /dev/zero >"$T/zeros"
is "a workload that ignores 3 MB of stdin from a file exits" \
        "$(timeout 60 "$ISOCTL" launch $VM -- /bin/sh -c 'sleep 1; echo ignored' <"$T/zeros"; echo "rc=$?")" "ignored
rc=0"
is "a workload reads a file as stdin to the end" \
        "$(timeout 60 "$ISOCTL" launch $VM -- /bin/sh -c 'wc -c' <"$T/zeros" | tr -d ' ')" 3000000
rm -f "$T/zeros"

# The workload's own output to a client that does not read: only its session waits for the
# client; exec, stats and signals go on (with one stream for everything, a stalled client froze
# the agent until the output windows came in).
mkfifo "$T/wlslow"
(isoctl launch $VM --name wlslow -- /bin/sh -c 'trap "" HUP; yes' >"$T/wlslow" 2>/dev/null; echo $? >"$T/wlslow.rc") &
wlp=$!
exec 8<"$T/wlslow" # opened, never read
wait_until 60 running wlslow
sleep 1
is "exec answers while the workload's client reads nothing" \
        "$(timeout 20 "$ISOCTL" exec wlslow -- /bin/sh -c 'echo alive')" alive
s0=$(date +%s%N)
out=$(timeout 20 "$ISOCTL" stats wlslow)
ms=$((($(date +%s%N) - s0) / 1000000))
like "stats come from the agent meanwhile (${ms} ms)" "$out" 'source +agent$'
gpid=$(sed -n 's/.*"guest_pid": *\([0-9]*\).*/\1/p' "$T/state/workloads/wlslow/monitor.json")
check "kill -s KILL is taken" isoctl kill wlslow -s KILL
gone_in_guest() { ! timeout 10 "$ISOCTL" exec wlslow -- /bin/sh -c "kill -0 ${gpid:-1}" 2>/dev/null; }
wait_until 20 gone_in_guest
check "... and the workload (guest PID ${gpid:-?}) is gone while its output still waits" [ $? = 0 ]
exec 8<&-
wait $wlp
is "the client gone, the launch ends: killed by SIGKILL (137)" "$(cat "$T/wlslow.rc")" 137

check "kill -s HUP" isoctl kill lr -s HUP
wait_until 10 isoctl exec lr -- /bin/sh -c 'grep -q hup /tmp/sig 2>/dev/null'
check "the workload got SIGHUP from the agent" [ $? = 0 ]

# ---------------------------------------------------------------- isod SIGKILLed and restarted
stop_isod -KILL
check "QEMU outlives isod (PID $qpid)" kill -0 "$qpid"
check "isod starts again" start_isod
like "re-adopted: lr is listed, running" "$(isoctl list)" '^lr +vm +running'
is "same QEMU after re-adoption" "$(leader_of lr)" "$qpid"
is "exec into the re-adopted VM" "$(isoctl exec lr -- /bin/sh -c 'echo alive')" alive
(isoctl wait lr >/dev/null; echo $? >"$T/wait.rc") &
waiter=$!
sleep 0.3
check "stop: SIGTERM through the agent" isoctl stop lr
wait $waiter
is "wait returns the trapped exit status 42" "$(cat "$T/wait.rc")" 42
is "state after stop" "$(state_of lr)" exited
wait_until 10 sh -c "! kill -0 $qpid 2>/dev/null"
check "QEMU is gone" [ $? = 0 ]
check "rm" isoctl rm lr
like "gone after rm" "$(isoctl show lr 2>&1)" 'NotFound'

# ---------------------------------------------------------------- stop escalation: TERM ignored
wait_until 60 running stubborn
s0=$(date +%s%N)
check "stop -t 1s" isoctl stop -t 1s stubborn
wait_until 20 ended stubborn
isoctl wait stubborn >/dev/null
rc=$?
ms=$((($(date +%s%N) - s0) / 1000000))
is "TERM ignored: hard power-off after the grace period → 137" "$rc" 137
check "after the grace period, not before (${ms} ms)" [ "$ms" -ge 1000 ]
like "reported as killed by SIGKILL" "$(isoctl show stubborn)" 'Exit status: 137 \(killed by SIGKILL\)'
isoctl rm stubborn >/dev/null

# ---------------------------------------------------------------- failures: panic, QEMU killed
isoctl launch -d $VM --name victim -- /bin/sleep 1000 >/dev/null
out=$(isoctl launch $VM --name panicker --keep -- /bin/sh -c 'echo c > /proc/sysrq-trigger; sleep 100' 2>&1)
is "guest kernel panic: exit status 255" "$?" 255
is "panic: state failed" "$(state_of panicker)" failed
is "panic: reason panic" "$(reason_of panicker)" panic
check "isod is fine after a guest panic" isod_alive
isoctl rm panicker >/dev/null
wait_until 60 running victim
vpid=$(leader_of victim)
kill -KILL "$vpid"
wait_until 10 ended victim
is "QEMU killed from outside: state failed" "$(state_of victim)" failed
is "with the reason" "$(reason_of victim)" qemu-died
check "isod is fine after QEMU died" isod_alive
isoctl rm victim >/dev/null

is "the cached images (erofs and initramfs) were never written" \
        "$(cat "$T"/cache/vm-images/*.erofs "$T"/cache/vm-images/*.initrd | sha256sum)" "$images_sum"
is "no workloads left" "$(isoctl list | tail -n +2 | wc -l)" 0
diag "test-vm.sh took $(($(date +%s) - t_start)) s"
done_testing
