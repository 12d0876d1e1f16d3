#!/bin/bash
# Integration: seccomp, capabilities, masked paths, user namespaces (docs/security.md), asserted from
# inside the workload over the real path isoctl → D-Bus → isod → monitor → container.
. "$(dirname "$0")/lib.sh"
require_root
ensure_image || skip_all "cannot build the busybox image (apt-get install busybox-static)"
CC=${CC:-cc}
command -v "$CC" >/dev/null || skip_all "no C compiler for the probe"

# ---------------------------------------------------------------- the probe
# Calls each system call directly (in a fork, so one call's effect cannot disturb the next) with
# harmless arguments and prints NAME=ok or NAME=ERRNO-NAME. On the host, anything but EPERM proves
# the call reached the kernel; in the container, EPERM proves the filter stopped it.
cat >"$T/probe.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define X32 0x40000000L
static const char *nx = "/nonexistent-isod";

static long int80(long nr, long a, long b, long c) {
        long ret;
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
        return ret < 0 && ret > -4096 ? (errno = (int) -ret, -1) : ret;
}

static long call(const char *name) {
        int devnull = open("/dev/null", O_RDWR);
        struct timespec ts = { 0, 0 };
        struct timeval tv = { 0, -1 };
        struct timex tx = { .modes = 0 };

#define IS(n) (strcmp(name, n) == 0)
        if (IS("kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0xdeadbeefUL);
        if (IS("kexec_file_load")) return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0);
        if (IS("init_module")) return syscall(SYS_init_module, NULL, 0, "");
        if (IS("finit_module")) return syscall(SYS_finit_module, -1, "", 0);
        if (IS("delete_module")) return syscall(SYS_delete_module, "isod_no_such_module", O_NONBLOCK);
        if (IS("create_module")) return syscall(SYS_create_module, NULL, 0);
        if (IS("keyctl")) return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
        if (IS("add_key")) return syscall(SYS_add_key, "user", "isod-probe", "x", 1, -2 /* process keyring */);
        if (IS("request_key")) return syscall(SYS_request_key, "user", "isod-probe-none", NULL, 0);
        if (IS("ptrace")) return syscall(SYS_ptrace, 2 /* PEEKDATA */, 0x3fffffff, 0, 0);
        if (IS("process_vm_readv")) return syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0);
        if (IS("process_vm_writev")) return syscall(SYS_process_vm_writev, getpid(), NULL, 0, NULL, 0, 0);
        if (IS("mount")) return syscall(SYS_mount, NULL, nx, NULL, 32 /* MS_REMOUNT */, NULL);
        if (IS("umount2")) return syscall(SYS_umount2, nx, 0);
        if (IS("fsopen")) return syscall(SYS_fsopen, "isod-nofs", 0);
        if (IS("fsmount")) return syscall(SYS_fsmount, -1, 0, 0);
        if (IS("fsconfig")) return syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0);
        if (IS("fspick")) return syscall(SYS_fspick, -1, nx, 0);
        if (IS("move_mount")) return syscall(SYS_move_mount, -1, nx, -1, nx, 0);
        if (IS("open_tree")) return syscall(SYS_open_tree, -1, nx, 0);
        if (IS("mount_setattr")) return syscall(SYS_mount_setattr, -1, nx, 0, NULL, 0);
        if (IS("pivot_root")) return syscall(SYS_pivot_root, nx, nx);
        if (IS("unshare")) return syscall(SYS_unshare, CLONE_NEWUSER);
        if (IS("setns")) return syscall(SYS_setns, -1, 0);
        if (IS("clone-newuser")) {
                long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
                if (r == 0)
                        syscall(SYS_exit_group, 0);
                return r > 0 ? (waitpid((pid_t) r, NULL, 0), 0) : r;
        }
        if (IS("clone3")) return syscall(SYS_clone3, NULL, 0);
        if (IS("ioctl-TIOCSTI")) return syscall(SYS_ioctl, devnull, TIOCSTI, "x");
        if (IS("ioctl-TIOCSTI-high")) return syscall(SYS_ioctl, devnull, (unsigned long) TIOCSTI | (1UL << 32), "x");
        if (IS("ioctl-TIOCLINUX")) return syscall(SYS_ioctl, devnull, TIOCLINUX, "x");
        if (IS("bpf")) return syscall(SYS_bpf, 1000, NULL, 0);
        if (IS("perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
        if (IS("userfaultfd")) return syscall(SYS_userfaultfd, 0xffff);
        if (IS("acct")) return syscall(SYS_acct, "/nonexistent-isod/x");
        if (IS("swapon")) return syscall(SYS_swapon, nx, 0);
        if (IS("swapoff")) return syscall(SYS_swapoff, nx);
        if (IS("reboot")) return syscall(SYS_reboot, 0, 0, 0, NULL);
        if (IS("settimeofday")) return syscall(SYS_settimeofday, &tv, NULL);
        if (IS("clock_settime")) return syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts);
        if (IS("clock_adjtime")) return syscall(SYS_clock_adjtime, 0x7fffffff, &tx);
        if (IS("adjtimex")) return syscall(SYS_adjtimex, &tx);
        if (IS("syslog")) return syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0);
        if (IS("lookup_dcookie")) return syscall(SYS_lookup_dcookie, 0, NULL, 0);
        if (IS("open_by_handle_at")) return syscall(SYS_open_by_handle_at, -1, NULL, 0);
        if (IS("name_to_handle_at")) return syscall(SYS_name_to_handle_at, -1, nx, NULL, NULL, 0);
        if (IS("quotactl")) return syscall(SYS_quotactl, 0, NULL, 0, NULL);
        if (IS("iopl")) return syscall(SYS_iopl, 4);
        if (IS("ioperm")) return syscall(SYS_ioperm, 0x10000, 1, 1);
        if (IS("uselib")) return syscall(SYS_uselib, NULL);
        if (IS("ustat")) return syscall(SYS_ustat, 0, NULL);
        if (IS("sysfs")) return syscall(SYS_sysfs, 99);
        if (IS("_sysctl")) return syscall(SYS__sysctl, NULL);
        if (IS("personality-ADDR_NO_RANDOMIZE")) return syscall(SYS_personality, 0x0040000);
        if (IS("personality-bit31-trick")) return syscall(SYS_personality, 0x80040000UL);
        if (IS("personality-query")) return syscall(SYS_personality, 0xffffffffUL);
        if (IS("personality-LINUX32")) return syscall(SYS_personality, 0x0008);
        if (IS("io_uring_setup")) return syscall(SYS_io_uring_setup, 0, NULL);
        if (IS("io_uring_enter")) return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
        if (IS("io_uring_register")) return syscall(SYS_io_uring_register, -1, 0, NULL, 0);
        if (IS("kcmp")) return syscall(SYS_kcmp, getpid(), getpid(), 1 /* KCMP_VM */, 0, 0);
        if (IS("nfsservctl")) return syscall(SYS_nfsservctl, 0, NULL, NULL);
        /* other ABIs: i386 via int $0x80, x32 via __X32_SYSCALL_BIT */
        if (IS("i386-keyctl")) return int80(288, 0, -3, 0);
        if (IS("i386-vm86old")) return int80(113, 0, 0, 0);
        if (IS("i386-mount")) return int80(21, 0, (long) nx, 0);
        if (IS("i386-getpid")) return int80(20, 0, 0, 0);
        if (IS("x32-keyctl")) return syscall(X32 | 250, 0, -3, 0);
        if (IS("x32-getpid")) return syscall(X32 | 39);
        if (IS("getpid")) return syscall(SYS_getpid);
        fprintf(stderr, "unknown probe %s\n", name);
        exit(2);
}

int main(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                int p[2], e = 0;
                pid_t pid;

                if (pipe(p) < 0)
                        return 1;
                pid = fork();
                if (pid == 0) {
                        long r = call(argv[i]);
                        e = r < 0 ? errno : 0;
                        (void) !write(p[1], &e, sizeof e);
                        _exit(0);
                }
                close(p[1]);
                if (read(p[0], &e, sizeof e) != sizeof e)
                        printf("%s=died\n", argv[i]);
                else
                        printf("%s=%s\n", argv[i], e ? strerrorname_np(e) : "ok");
                close(p[0]);
                waitpid(pid, NULL, 0);
        }
        return 0;
}
EOF
"$CC" -static -O1 -o "$T/probe" "$T/probe.c" 2>"$T/cc.log" || { diag "$(cat "$T/cc.log")"; skip_all "cannot build the static probe (glibc static libc.a?)"; }

DENIED="kexec_load kexec_file_load init_module finit_module delete_module create_module keyctl add_key request_key
 ptrace process_vm_readv process_vm_writev mount umount2 fsopen fsmount fsconfig fspick move_mount open_tree
 mount_setattr pivot_root unshare setns clone-newuser ioctl-TIOCSTI ioctl-TIOCSTI-high ioctl-TIOCLINUX bpf
 perf_event_open userfaultfd acct swapon swapoff reboot settimeofday clock_settime clock_adjtime adjtimex syslog
 lookup_dcookie open_by_handle_at name_to_handle_at quotactl iopl ioperm uselib ustat sysfs _sysctl
 personality-ADDR_NO_RANDOMIZE personality-bit31-trick io_uring_setup io_uring_enter io_uring_register kcmp
 nfsservctl i386-keyctl i386-vm86old i386-mount x32-keyctl"
ALLOWED="getpid personality-query personality-LINUX32 i386-getpid"

# A custom rootfs: the busybox image plus the probe, and symlinks that try to escape.
ROOTFS=$T/rootfs
cp -a "$IMAGE_DIR/busybox/rootfs" "$ROOTFS"
cp "$T/probe" "$ROOTFS/probe"
ln -s /etc "$ROOTFS/evil"
ln -s ../../../../../../etc "$ROOTFS/evil2"

start_bus || skip_all "no dbus-daemon"
check "isod starts on a private bus" start_isod

result_of() { # result_of TEXT NAME
        printf '%s\n' "$1" | sed -n "s/^$2=//p"
}

host=$("$T/probe" $DENIED $ALLOWED clone3)
out=$(isoctl launch --rootfs "$ROOTFS" -- /probe $DENIED $ALLOWED clone3 2>&1)
is "probe runs in the default profile" "$?" 0
for s in $DENIED; do
        h=$(result_of "$host" "$s")
        c=$(result_of "$out" "$s")
        case $s in
        x32-*) is "$s: x32 ABI absent on this host kernel (ENOSYS), or reaches it" "$([ "$h" = ENOSYS ] || [ "$h" != EPERM ] && echo y)" y ;;
        *) check "$s reaches the kernel on the host (got $h)" [ -n "$h" ] && [ "$h" != EPERM ] ;;
        esac
        is "$s fails with EPERM in the container" "$c" EPERM
done
for s in $ALLOWED; do
        is "$s still works in the container" "$(result_of "$out" "$s")" ok
done
is "clone3 fails with ENOSYS (libc falls back to clone)" "$(result_of "$out" clone3)" ENOSYS
is "x32 non-denied calls reach the kernel (ENOSYS from the kernel, not the filter)" \
        "$(result_of "$("$T/probe" x32-getpid)" x32-getpid)" "$(result_of "$(isoctl launch --rootfs "$ROOTFS" -- /probe x32-getpid)" x32-getpid)"

# ---------------------------------------------------------------- capabilities, no_new_privs, seccomp mode
status() { awk '/^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):/ {print $1 $2}' /proc/self/status; }
out=$(isoctl launch -- /bin/sh -c "$(declare -f status); status")
like "CapBnd is the OCI default set" "$out" '^CapBnd:00000000a80425fb$'
like "CapEff is the OCI default set" "$out" '^CapEff:00000000a80425fb$'
like "CapPrm is the OCI default set" "$out" '^CapPrm:00000000a80425fb$'
like "CapInh is empty" "$out" '^CapInh:0000000000000000$'
like "CapAmb is empty" "$out" '^CapAmb:0000000000000000$'
like "NoNewPrivs: 1" "$out" '^NoNewPrivs:1$'
like "Seccomp: 2 (filter)" "$out" '^Seccomp:2$'
out=$(isoctl launch -u 1000:1000 -- /bin/sh -c "$(declare -f status); status; id -u")
like "non-root user: CapEff empty" "$out" '^CapEff:0000000000000000$'
like "non-root user: CapPrm empty" "$out" '^CapPrm:0000000000000000$'
like "non-root user: CapBnd still bounded" "$out" '^CapBnd:00000000a80425fb$'
like "non-root user: uid 1000" "$out" '^1000$'

# ---------------------------------------------------------------- exec gets the same confinement
isoctl launch -d --name sec1 --rootfs "$ROOTFS" -- /bin/sleep 1000 >/dev/null
out=$(isoctl exec sec1 -- /bin/sh -c "$(declare -f status); status; /probe keyctl mount i386-keyctl")
like "exec: CapBnd bounded" "$out" '^CapBnd:00000000a80425fb$'
like "exec: CapEff bounded" "$out" '^CapEff:00000000a80425fb$'
like "exec: NoNewPrivs" "$out" '^NoNewPrivs:1$'
like "exec: seccomp filter" "$out" '^Seccomp:2$'
like "exec: keyctl denied" "$out" '^keyctl=EPERM$'
like "exec: mount denied" "$out" '^mount=EPERM$'
like "exec: i386 keyctl denied" "$out" '^i386-keyctl=EPERM$'
isoctl kill sec1 -s KILL >/dev/null 2>&1
isoctl rm -f sec1 >/dev/null 2>&1 || isoctl rm sec1 >/dev/null 2>&1

# ---------------------------------------------------------------- profile choice
out=$(isoctl launch --seccomp unconfined --rootfs "$ROOTFS" -- /bin/sh -c "grep ^Seccomp: /proc/self/status; /probe keyctl")
like "unconfined: no filter" "$out" 'Seccomp:[[:space:]]+0'
unlike "unconfined: keyctl is not EPERM" "$out" '^keyctl=EPERM$'

cat >"$T/uname.json" <<'EOF'
{ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "comment": "no mkdir" },
                { "names": ["personality"], "action": "SCMP_ACT_ERRNO",
                  "args": [ { "index": 0, "value": 262144, "valueTwo": 262144, "op": "SCMP_CMP_MASKED_EQ" } ] } ] }
EOF
out=$(isoctl launch --seccomp "$T/uname.json" --rootfs "$ROOTFS" -- /bin/sh -c \
        'mkdir /tmp/d 2>/dev/null || echo mkdir-denied; /probe keyctl personality-ADDR_NO_RANDOMIZE personality-LINUX32')
like "custom profile: its rule applies (mkdir → EACCES)" "$out" '^mkdir-denied$'
like "custom profile: argument filter applies" "$out" '^personality-ADDR_NO_RANDOMIZE=EPERM$'
like "custom profile: argument filter lets other values through" "$out" '^personality-LINUX32=ok$'
unlike "custom profile: what it allows works (keyctl)" "$out" '^keyctl=EPERM$'

# An allow-list like Docker's: every x86_64 call known to the headers except the denied ones.
hdr=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
if [ -r "$hdr" ] && command -v jq >/dev/null; then
        sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/\1/p' "$hdr" | grep -vxE 'keyctl|add_key|request_key|mount|umount2|kexec_load|ptrace' |
                jq -R . | jq -s '{defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, syscalls: [{names: ., action: "SCMP_ACT_ALLOW"}]}' \
                >"$T/allow.json"
        out=$(isoctl launch --seccomp "$T/allow.json" --rootfs "$ROOTFS" -- /bin/sh -c 'echo alive; /probe keyctl getpid')
        like "allow-list profile: the workload runs" "$out" '^alive$'
        like "allow-list profile: unlisted call fails" "$out" '^keyctl=EPERM$'
        like "allow-list profile: listed call works" "$out" '^getpid=ok$'
else
        ok "# SKIP no $hdr or jq for the allow-list profile"
fi

bad() { # bad DESCRIPTION FILE-CONTENT EXPECTED-MESSAGE-REGEX
        printf '%s' "$2" >"$T/bad.json"
        chmod 0644 "$T/bad.json"
        local o
        o=$(isoctl launch --seccomp "$T/bad.json" -- /bin/true 2>&1)
        local rc=$?
        check "$1: launch fails (rc $rc)" [ "$rc" -ne 0 ]
        like "$1: message names the file and the problem" "$o" "$T/bad.json.*$3"
}
bad "unknown key" '{"defaultAction":"SCMP_ACT_ALLOW","syscals":[]}' "unknown key 'syscals'"
bad "unknown syscall" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid","no_such_call"],"action":"SCMP_ACT_ERRNO"}]}' \
        "syscalls\\[0\\]\\.names\\[1\\]: unknown system call 'no_such_call'"
bad "bad JSON" '{"defaultAction": ' "line 1"
bad "bad action" '{"defaultAction":"SCMP_ACT_MAYBE"}' "defaultAction"
bad "foreign architecture" '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_AARCH64"]}' "architectures\\[0\\]"
bad "unknown arg key" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ","x":1}]}]}' \
        "args\\[0\\]: unknown key 'x'"
printf '{"defaultAction":"SCMP_ACT_ALLOW"}' >"$T/ww.json"
chmod 0666 "$T/ww.json"
out=$(isoctl launch --seccomp "$T/ww.json" -- /bin/true 2>&1)
like "a world-writable profile is refused" "$out" "ww.json.*not writable by group or others"
out=$(isoctl launch --seccomp /nonexistent/profile.json -- /bin/true 2>&1)
like "a missing profile is a clear error" "$out" "/nonexistent/profile.json.*No such file"

n=$(ls "$T/cache/seccomp/"*.bpf 2>/dev/null | wc -l)
check "compiled programs are cached on disk ($n)" [ "$n" -ge 3 ]
isoctl launch -d --name cached -- /bin/sleep 1000 >/dev/null
like "a later launch loads the cached program" "$(cat "$T/state/workloads/cached/monitor.json")" '"seccomp": ?"cached"'
isoctl kill cached -s KILL >/dev/null 2>&1

# ---------------------------------------------------------------- masked and read-only paths
out=$(isoctl launch -- /bin/sh -c '
        for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
                [ -e $f ] && echo "$f size=$(cat $f 2>/dev/null | wc -c)"
        done
        for d in /proc/acpi /proc/scsi /sys/firmware /sys/devices/virtual/powercap; do
                [ -e $d ] && echo "$d entries=$(ls -A $d | wc -l)"
        done
        for p in /proc/sys /proc/sysrq-trigger /proc/irq /proc/bus /proc/fs; do
                [ -e $p ] && echo "$p $(awk -v p=$p "\$5 == p {print \$6}" /proc/self/mountinfo | cut -d, -f1)"
        done
        (echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null && echo sys-writable')
for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
        [ -e "$f" ] && like "$f is masked (empty)" "$out" "^$f size=0\$"
done
for d in /proc/acpi /proc/scsi /sys/firmware /sys/devices/virtual/powercap; do
        [ -e "$d" ] && like "$d is masked (empty)" "$out" "^$d entries=0\$"
done
for p in /proc/sys /proc/sysrq-trigger /proc/irq /proc/bus /proc/fs; do
        [ -e "$p" ] && like "$p is mounted read-only" "$out" "^$p ro\$"
done
unlike "/proc/sys cannot be written" "$out" '^sys-writable$'

# ---------------------------------------------------------------- symlinks cannot move a mount out of the rootfs
mkdir -p "$T/data"
echo payload >"$T/data/file"
esc=isod-escape-$$
out=$(isoctl launch --rootfs "$ROOTFS" --mount "$T/data:/evil/$esc" --mount "$T/data:/evil2/$esc-2" -- \
        /bin/sh -c "cat /etc/$esc/file /etc/$esc-2/file" 2>&1)
check "absolute symlink: nothing created in the host's /etc" [ ! -e "/etc/$esc" ]
check "relative ../ symlink: nothing created in the host's /etc" [ ! -e "/etc/$esc-2" ]
is "both mounts landed inside the rootfs's /etc" "$out" "payload
payload"
check "the custom rootfs itself is untouched (overlay)" [ ! -e "$ROOTFS/etc/$esc" ]

# ---------------------------------------------------------------- user namespaces
if unshare --user true 2>/dev/null; then
        out=$(isoctl launch --userns --rootfs "$ROOTFS" -- /bin/sh -c '
                echo "map=$(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")"
                echo "gmap=$(cat /proc/self/gid_map | tr -s " " | sed "s/^ //")"
                echo "uid=$(id -u) gid=$(id -g)"
                echo "owner=$(stat -c %u:%g /bin/busybox)"
                echo "rootowner=$(stat -c %u:%g /)"
                echo hello > /root-written && echo "wrote=$(stat -c %u /root-written)"
                grep -E "^(CapBnd|Seccomp):" /proc/self/status | tr -d "\t"
                echo x >/dev/null && echo "devnull=ok zero3=$(head -c 3 /dev/zero | wc -c)"
                /probe unshare clone-newuser keyctl' 2>&1)
        like "userns: uid_map maps 0 to a host range of 65536" "$out" '^map=0 [0-9]+ 65536$'
        like "userns: gid_map too" "$out" '^gmap=0 [0-9]+ 65536$'
        like "userns: root inside" "$out" '^uid=0 gid=0$'
        like "userns: image files are owned by root inside (idmapped)" "$out" '^owner=0:0$'
        like "userns: / is owned by root inside" "$out" '^rootowner=0:0$'
        like "userns: the workload can write its root" "$out" '^wrote=0$'
        like "userns: same bounding set" "$out" '^CapBnd:00000000a80425fb$'
        like "userns: /dev nodes (bound from the host: mknod is refused there) work" "$out" '^devnull=ok zero3=3$'
        like "userns: same seccomp filter" "$out" '^Seccomp:2$'
        like "userns: no nested user namespace" "$out" '^clone-newuser=EPERM$'
        base=$(printf '%s\n' "$out" | sed -n 's/^map=0 \([0-9]*\) 65536$/\1/p')
        check "userns: the host range is unprivileged (base $base ≥ 0x60000000)" [ "${base:-0}" -ge $((0x60000000)) ]

        isoctl launch -d --userns --name us1 -- /bin/sleep 1000 >/dev/null
        isoctl launch -d --userns --name us2 -u 1000:1000 -- /bin/sleep 1000 >/dev/null
        leader() { isoctl show --json "$1" | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p'; }
        wait_until 5 [ -n "$(leader us2)" ]
        l1=$(leader us1)
        l2=$(leader us2)
        u1=$(awk '/^Uid:/ {print $2}' /proc/$l1/status 2>/dev/null)
        u2=$(awk '/^Uid:/ {print $2}' /proc/$l2/status 2>/dev/null)
        b1=$(awk '{print $2}' /proc/$l1/uid_map 2>/dev/null)
        b2=$(awk '{print $2}' /proc/$l2/uid_map 2>/dev/null)
        check "userns: from outside, the leader runs as the unprivileged host id ($u1)" [ -n "$u1" ] && [ "$u1" = "$b1" ] && [ "$u1" -ge $((0x60000000)) ]
        check "userns: process.user 1000 is host id base+1000 ($u2)" [ -n "$u2" ] && [ "$u2" = $((b2 + 1000)) ]
        check "userns: concurrent workloads get disjoint ranges ($b1, $b2)" [ -n "$b1" ] && [ -n "$b2" ] && [ "$b1" != "$b2" ]
        out=$(isoctl exec us1 -- /bin/sh -c 'id -u; cat /proc/self/uid_map | tr -s " "; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\t"')
        like "userns exec: root inside" "$out" '^0$'
        like "userns exec: in the workload's user namespace" "$out" "^ ?0 $b1 65536\$"
        like "userns exec: seccomp" "$out" '^Seccomp:2$'
        isoctl kill us1 -s KILL >/dev/null 2>&1
        isoctl kill us2 -s KILL >/dev/null 2>&1

        out=$(isoctl launch --userns --read-only --mount "$T/data:/tmp" -- /bin/sh -c \
                'stat -c %u /bin/busybox; stat -c "data=%u" /tmp/file; (echo x > /x) 2>/dev/null && echo writable || echo readonly')
        like "userns --read-only: image owned by root inside" "$out" '^0$'
        like "userns --read-only: root is read-only" "$out" '^readonly$'
        like "userns: bind mount is idmapped (host root's file is root's inside)" "$out" '^data=0$'
else
        ok "# SKIP user namespaces unavailable"
fi

# "capabilities": a narrower set than the default, for the init and for an exec.
printf '{"capabilities":["CAP_CHOWN","CAP_SETUID","CAP_KILL"]}' >"$T/caps.json"
out=$(isoctl launch --spec "$T/caps.json" -- /bin/sh -c 'grep -E "^Cap(Eff|Bnd)" /proc/self/status')
like "capabilities: CapEff is the narrower set (CHOWN, KILL, SETUID)" "$out" '^CapEff:[[:space:]]*00000000000000a1$'
like "capabilities: the bounding set too" "$out" '^CapBnd:[[:space:]]*00000000000000a1$'
isoctl launch -d --name capx --spec "$T/caps.json" -- sleep 30 >/dev/null
out=$(isoctl exec capx -- /bin/sh -c 'grep ^CapEff /proc/self/status')
like "capabilities: an exec gets the same set" "$out" '^CapEff:[[:space:]]*00000000000000a1$'
isoctl rm -f capx >/dev/null 2>&1
printf '{"capabilities":["CAP_CHOWN","CAP_SYS_ADMIN"]}' >"$T/caps2.json"
out=$(isoctl launch --spec "$T/caps2.json" -- /bin/true 2>&1)
like "capabilities beyond the default: refused by name" "$out" "CAP_SYS_ADMIN is beyond what isod gives a container"
printf '{"capabilities":["CAP_NOPE"]}' >"$T/caps3.json"
out=$(isoctl launch --spec "$T/caps3.json" -- /bin/true 2>&1)
like "an unknown capability name: refused" "$out" "'capabilities\[0\]' is not a capability name"
out=$(isoctl launch --isolation=vm --spec "$T/caps.json" -- /bin/true 2>&1)
like "capabilities in a VM: refused, not ignored" "$out" "'capabilities' is for containers only"

check "isod is still up" isod_alive
done_testing
