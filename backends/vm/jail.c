/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VMM's jail: QEMU runs in new mount/PID/IPC/UTS/network namespaces whose root is a
 * read-only tmpfs holding only /usr (QEMU and its libraries, read-only), its kernel, initramfs
 * and disk images (read-only file binds) and a few device nodes; with no capabilities (bounding
 * set emptied), no_new_privs, and an unprivileged per-VM uid. QEMU's own seccomp filter
 * (-sandbox on,...) comes on top. Sockets are inherited fds, so nothing writable is visible. */

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "util.h"
#include "vm-internal.h"

/* Per-VM uids: JAIL_UID_BASE + the monitor's PID (unique while the monitor lives; a PID is at
 * most 2^22). The range sits inside systemd's container range and away from its nspawn
 * per-container 64K blocks' low ends; see docs/vm.md. */
#define JAIL_UID_BASE 0x5F000000U

uid_t jail_uid_for(pid_t monitor_pid) {
        return (uid_t) (JAIL_UID_BASE + (uint32_t) monitor_pid);
}

static int touch_at(const char *path, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, mode);
        if (fd < 0)
                return -errno;
        (void) close(fd);
        return 0;
}

static int mkdir_parents(const char *path) {
        char buf[4096];
        size_t n = strlen(path);

        if (n >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *s = buf + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        return 0;
}

static int bind_ro(const char *src, const char *dst, bool dir) {
        int r;

        r = mkdir_parents(dst);
        if (r < 0)
                return r;
        if (dir) {
                if (mkdir(dst, 0755) < 0 && errno != EEXIST)
                        return -errno;
        } else {
                r = touch_at(dst, 0644);
                if (r < 0)
                        return r;
        }
        if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                return -errno;
        return 0;
}

static int make_node(const char *path, mode_t mode, unsigned maj, unsigned min, uid_t uid, gid_t gid) {
        if (mknod(path, S_IFCHR | mode, makedev(maj, min)) < 0)
                return -errno;
        if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
                return -errno;
        return 0;
}

/* Runs in the child: never returns on success. On failure, returns -errno and sets *step. */
static int jail_enter(const JailConfig *c, char **argv, const char **step) {
        char path[4096];
        int last_cap = 63, r;
        _cleanup_free_ char *s = NULL;

        if (read_one_line_file("/proc/sys/kernel/cap_last_cap", &s) >= 0)
                (void) safe_atoi(s, &last_cap);

        *step = "mount propagation";
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        *step = "jail tmpfs";
        if (mount("tmpfs", c->root_dir, "tmpfs", MS_NOSUID, "mode=0755,size=1m,nr_inodes=256") < 0)
                return -errno;
        if (chdir(c->root_dir) < 0)
                return -errno;

        *step = "bind /usr";
        r = bind_ro("/usr", "usr", true);
        if (r < 0)
                return r;
        *step = "symlinks";
        if (symlink("usr/lib", "lib") < 0 || symlink("usr/lib64", "lib64") < 0 ||
            symlink("usr/bin", "bin") < 0)
                return -errno;
        *step = "bind ld.so.cache";
        if (access("/etc/ld.so.cache", F_OK) == 0) {
                r = bind_ro("/etc/ld.so.cache", "etc/ld.so.cache", false);
                if (r < 0)
                        return r;
        }
        *step = "bind images";
        for (size_t i = 0; i < c->n_binds; i++) {
                (void) snprintf(path, sizeof path, ".%s", c->binds[i].target);
                r = bind_ro(c->binds[i].source, path, false);
                if (r < 0)
                        return r;
        }
        *step = "device nodes";
        if (mkdir("dev", 0755) < 0)
                return -errno;
        r = make_node("dev/null", 0666, 1, 3, 0, 0);
        if (r >= 0)
                r = make_node("dev/zero", 0666, 1, 5, 0, 0);
        if (r >= 0)
                r = make_node("dev/urandom", 0444, 1, 9, 0, 0);
        if (r >= 0)
                r = make_node("dev/random", 0444, 1, 8, 0, 0);
        if (r >= 0 && c->kvm)
                r = make_node("dev/kvm", 0600, 10, 232, c->uid, c->gid);
        if (r < 0)
                return r;
        /* QEMU reads /proc/self (e.g. its own exe path); a fresh procfs for the new PID ns. */
        *step = "proc";
        if (mkdir("proc", 0555) < 0 ||
            mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
                return -errno;

        *step = "pivot_root";
        if (mkdir(".oldroot", 0700) < 0)
                return -errno;
        if (syscall(SYS_pivot_root, ".", ".oldroot") < 0)
                return -errno;
        if (chdir("/") < 0)
                return -errno;
        if (umount2("/.oldroot", MNT_DETACH) < 0)
                return -errno;
        (void) rmdir("/.oldroot");
        *step = "read-only root";
        if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID, "mode=0755,size=1m,nr_inodes=256") <
            0)
                return -errno;

        *step = "capability bounding set";
        for (int cap = 0; cap <= last_cap; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

        *step = "setgroups";
        if (setgroups(0, NULL) < 0)
                return -errno;
        *step = "setresgid";
        if (setresgid(c->gid, c->gid, c->gid) < 0)
                return -errno;
        *step = "setresuid";
        if (setresuid(c->uid, c->uid, c->uid) < 0)
                return -errno;
        /* Non-root now: permitted/effective/ambient sets were cleared by setresuid(); make sure. */
        {
                struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
                struct __user_cap_data_struct d[2] = {};
                *step = "capset";
                if (syscall(SYS_capset, &h, d) < 0)
                        return -errno;
        }
        *step = "no_new_privs";
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

        *step = "exec";
        execve(argv[0], argv, (char *[]){ (char *) "PATH=/usr/bin", NULL });
        return -errno;
}

int jail_spawn(const JailConfig *c, char **argv, pid_t *ret_pid, char **reterr_message) {
        _cleanup_close_ int err_r = -EBADF, err_w = -EBADF;
        int p[2], fds[_VM_JAIL_FD_MAX + 1], err_copy;
        struct {
                int error;
                char step[64];
        } msg = {};
        ssize_t n;
        pid_t pid;

        assert(c->n_fds <= _VM_JAIL_FD_MAX);
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        err_r = p[0];
        err_w = p[1];

        pid = (pid_t) syscall(
                SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | SIGCHLD,
                NULL, NULL, NULL, 0);
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                const char *step = "cgroup";
                int r = 0;

                /* First, while cgroup.c's directory fds are still open (they are closed below). */
                if (c->cgroup)
                        r = cgroup_attach_pid(c->cgroup, 0);
                if (r >= 0)
                        step = "fds";

                /* Inherited fds become 3, 4, …: move them above the target range first. */
                for (size_t i = 0; i < c->n_fds && r >= 0; i++) {
                        fds[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, 3 + _VM_JAIL_FD_MAX + 8);
                        if (fds[i] < 0)
                                r = -errno;
                }
                err_copy = fcntl(err_w, F_DUPFD_CLOEXEC, 3 + _VM_JAIL_FD_MAX + 16);
                /* QEMU's own messages go to a pipe the monitor keeps in qemu.log: no host file
                 * (such as isod's log) stays open in the jail. */
                if (r >= 0 &&
                    dup2(c->stderr_fd >= 0 ? c->stderr_fd : open("/dev/null", O_WRONLY | O_CLOEXEC), 2) < 0)
                        r = -errno;
                for (size_t i = 0; i < c->n_fds && r >= 0; i++)
                        if (dup2(fds[i], 3 + (int) i) < 0)
                                r = -errno;
                if (r >= 0) {
                        int keep[_VM_JAIL_FD_MAX + 1];
                        size_t k = 0;
                        for (size_t i = 0; i < c->n_fds; i++)
                                keep[k++] = 3 + (int) i;
                        keep[k++] = err_copy;
                        (void) close_all_fds_except(keep, k);
                        int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
                        if (nfd >= 0) {
                                (void) dup2(nfd, 0);
                                (void) dup2(nfd, 1);
                                (void) close(nfd);
                        }
                        r = jail_enter(c, argv, &step);
                }
                msg.error = -r;
                (void) snprintf(msg.step, sizeof msg.step, "%s", step);
                (void) !write(err_copy >= 0 ? err_copy : err_w, &msg, sizeof msg);
                _exit(127);
        }

        err_w = -EBADF, (void) close(p[1]);
        n = read(err_r, &msg, sizeof msg);
        if (n == (ssize_t) sizeof msg) {
                (void) waitpid(pid, NULL, 0);
                if (reterr_message &&
                    asprintf(reterr_message, "jail: %s: %s", msg.step, strerror(msg.error)) < 0)
                        *reterr_message = NULL;
                return msg.error > 0 ? -msg.error : -EIO;
        }
        *ret_pid = pid;
        return 0;
}
