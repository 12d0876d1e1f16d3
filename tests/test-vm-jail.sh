#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The jailed QEMU, checked from outside, through the real path: isoctl launches a VM, the
# LeaderPID property names its QEMU, and /proc tells what that process may do.
. "$(dirname "$0")/lib.sh"
require_root
require_vm_assets
ensure_image || skip_all "cannot build the busybox image"
start_bus || skip_all "no dbus-daemon"
check "isod starts" start_isod

isoctl launch -d --isolation=vm --name jailed --memory 192M --cpus 1 -- /bin/sleep 1000 >/dev/null
wait_until 60 state_is jailed running
is "the VM runs" "$(state_of jailed)" running
q=$(isoctl show --json jailed | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p')
accel=$(isoctl show --json jailed | sed -n 's/.*"Accelerator": "\([a-z]*\)".*/\1/p')
check "LeaderPID ($q) is a live process" kill -0 "${q:-0}"
cmd=$(tr '\0' ' ' </proc/"$q"/cmdline)
like "it is QEMU" "$cmd" '^/usr/bin/qemu-system-x86_64 -M microvm'
st=/proc/$q/status
like "CapEff = 0" "$(cat $st)" '^CapEff:[[:space:]]+0000000000000000$'
like "CapPrm = 0" "$(cat $st)" '^CapPrm:[[:space:]]+0000000000000000$'
like "CapBnd = 0" "$(cat $st)" '^CapBnd:[[:space:]]+0000000000000000$'
like "CapAmb = 0" "$(cat $st)" '^CapAmb:[[:space:]]+0000000000000000$'
like "NoNewPrivs = 1" "$(cat $st)" '^NoNewPrivs:[[:space:]]+1$'
like "Seccomp = 2 (filter mode: QEMU's -sandbox)" "$(cat $st)" '^Seccomp:[[:space:]]+2$'
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' $st)
unlike "no uid is 0 (real, effective, saved, fs: $uids)" "$uids" '(^| )0( |$)'
gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' $st)
unlike "no gid is 0 ($gids)" "$gids" '(^| )0( |$)'
is "no supplementary groups" "$(awk '/^Groups:/ { print $2 }' $st)" ""
like "QEMU's own sandbox" "$cmd" '-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny'
for ns in mnt net pid ipc uts; do
        check "own $ns namespace" [ "$(readlink /proc/$q/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ]
done
is "its root holds only what QEMU needs" "$(ls -A /proc/$q/root | tr '\n' ' ')" "bin dev etc lib lib64 proc usr vm "
# The busybox image is small: it comes inside the initramfs, no rootfs.erofs (docs/vm.md, Images).
is "vm/: kernel, initramfs (with the rootfs)" "$(ls /proc/$q/root/vm | tr '\n' ' ')" "initramfs.cpio vmlinux "
if [ "$accel" = kvm ]; then
        is "dev/: null random urandom zero + kvm" "$(ls /proc/$q/root/dev | tr '\n' ' ')" "kvm null random urandom zero "
else
        is "dev/: null random urandom zero (TCG: no /dev/kvm)" "$(ls /proc/$q/root/dev | tr '\n' ' ')" "null random urandom zero "
fi
is "etc/: only ld.so.cache" "$(ls /proc/$q/root/etc | tr '\n' ' ')" "ld.so.cache "
like "the jail's root is read-only" "$(awk '$5 == "/" { print $6 }' /proc/$q/mountinfo)" '^ro'
like "usr is read-only" "$(awk '$5 == "/usr" { print $6 }' /proc/$q/mountinfo)" '^ro'
like "the initramfs (with the rootfs) is read-only" "$(awk '$5 == "/vm/initramfs.cpio" { print $6 }' /proc/$q/mountinfo)" '^ro'
like "the kernel is read-only" "$(awk '$5 == "/vm/vmlinux" { print $6 }' /proc/$q/mountinfo)" '^ro'
is "no writable mount at all" "$(awk '$6 !~ /^ro/ && $5 != "/proc" { print $5 }' /proc/$q/mountinfo | tr '\n' ' ')" ""
is "no open files of the host: only sockets, pipes, /dev/null and its own" \
        "$(ls -l /proc/$q/fd | awk 'NR > 1 { print $NF }' | grep -v -E '^(socket:|pipe:|anon_inode:|/dev/null$|/null$|/vm/)' | tr '\n' ' ')" ""

# ---------------------------------------------------------------- its cgroup
cg=$(cat /proc/$q/cgroup)
like "QEMU has a cgroup of its own (vm-jailed)" "$cg" 'vm-jailed$'
want_mem=$(((192 + $([ "$accel" = kvm ] && echo 96 || echo 160)) * 1048576))
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        d=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$q/cgroup)
        is "memory.max = guest RAM 192M + VMM overhead ($accel)" "$(cat $d/memory.max)" "$want_mem"
        is "memory.swap.max = 0" "$(cat $d/memory.swap.max)" 0
        is "cpu.max = 1 CPU" "$(cat $d/cpu.max)" "100000 100000"
        is "pids.max = QEMU's threads" "$(cat $d/pids.max)" 66
else
        d=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/$q/cgroup)
        is "memory.limit_in_bytes = guest RAM 192M + VMM overhead ($accel)" "$(cat $d/memory.limit_in_bytes)" "$want_mem"
        c=/sys/fs/cgroup/cpu,cpuacct$(sed -n 's/^[0-9]*:cpu,cpuacct://p; s/^[0-9]*:cpuacct://p' /proc/$q/cgroup | head -1)
        [ -d "$c" ] || c=/sys/fs/cgroup/cpu$(sed -n 's/^[0-9]*:cpu://p' /proc/$q/cgroup)
        is "cpu quota = 1 CPU" "$(cat $c/cpu.cfs_quota_us 2>/dev/null)/$(cat $c/cpu.cfs_period_us 2>/dev/null)" "100000/100000"
        p=/sys/fs/cgroup/pids$(sed -n 's/^[0-9]*:pids://p' /proc/$q/cgroup)
        is "pids.max = QEMU's threads" "$(cat $p/pids.max)" 66
fi
rss=$(awk '/^VmRSS:/ { print $2 }' $st)
check "QEMU's RSS ($((rss / 1024)) MiB) is below the cgroup limit" [ $((rss * 1024)) -lt "$want_mem" ]

isoctl rm -f jailed >/dev/null
wait_until 10 sh -c "! kill -0 $q 2>/dev/null"
check "QEMU is gone after rm -f" [ $? = 0 ]
check "its cgroup is removed" [ ! -d "$d" ]
check "isod is still up" isod_alive
done_testing
