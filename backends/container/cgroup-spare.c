/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "container.h"
#include "util.h"

/* Spare leaves (cgroup.h, docs/cgroups.md#spare-leaves-v1): on v1 a spare monitor makes its
 * GROUP/spare-PID leaves ahead of time and parks a holder process in them, so that the payload is
 * born in its cgroup with no task migration on the launch path; on assignment the leaves are
 * renamed to LEAF and the limits written. */

/* A spare's holder (cgroup_spare_new()): a process sharing our memory, file table and fs context
 * (CLONE_VM|CLONE_FILES|CLONE_FS) but in a thread group of its own, so that writing its PID to
 * cgroup.procs moves it alone. It sleeps on a pipe; on request it clone3()s the payload with
 * CLONE_PARENT (the payload is our child, born in the holder's cgroups, with a copy of our memory
 * as it is at that moment) and exits. Our memory stays charged where it was: user pages go to
 * mm->owner (us), and the holder's own kernel memory was charged before it moved. */
struct CgroupHolder {
        pid_t pid;  /* 0 once reaped */
        int cmd[2]; /* pipe, us → holder: one byte = "clone now"; EOF = "exit" */
        void *stack;
        /* The request, written before the byte and read after the holder's exit. */
        uint64_t flags;
        int (*fn)(void *);
        void *arg;
        int pidfd;
        long result; /* PID or -errno */
        /* The payload's network namespace, made ahead of time with its loopback up (creating one
         * costs about half a millisecond of a launch): the holder is born in it. */
        bool own_net;
        bool net_lo_up;
        int host_net_fd; /* ours, to go back to */
};

/* The holder's network namespace serves a payload that asks for a new one outside a user
 * namespace of its own (one it creates must own its network namespace: then a fresh one comes
 * with the clone). */
static bool holder_net_used(const CgroupHolder *h, uint64_t flags) {
        return h->own_net && (flags & CLONE_NEWNET) && !(flags & CLONE_NEWUSER);
}

#define HOLDER_STACK_SIZE \
        (UINT64_C(8) << 20) /* reserved, not committed: the payload's child runs on its copy */

/* Runs beside the caller, in its memory and with its file table and TLS: no allocation, no stdio,
 * nothing but system calls (the caller is blocked in waitid() while this clones). Every signal is
 * blocked (inherited from holder_new()), so the read is not interrupted. */
static int holder_main(void *p) {
        CgroupHolder *h = p;
        struct clone_args args;
        char cmd;
        long pid;

        uint64_t flags;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (read(h->cmd[0], &cmd, 1) != 1)
                return 0;
        flags = h->flags;
        if (holder_net_used(h, flags))
                flags &= ~(uint64_t) CLONE_NEWNET;
        else if (h->own_net && !(flags & CLONE_NEWNET) && setns(h->host_net_fd, CLONE_NEWNET) < 0) {
                h->result = -errno;
                return 0;
        }
        /* CLONE_PARENT: our parent's child. exit_signal must be 0 with it; the child gets ours
         * (SIGCHLD), so the caller waits for it like for any child. */
        args = (struct clone_args){
                .flags = flags | CLONE_PARENT | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) &h->pidfd,
        };
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0)
                _exit(h->fn(h->arg)); /* the payload, on its own copy of this stack */
        h->result = pid < 0 ? -errno : pid;
        return 0;
}

static void holder_reap(CgroupHolder *h) {
        while (waitid(P_PID, (id_t) h->pid, &(siginfo_t){}, WEXITED | __WALL) < 0 && errno == EINTR)
                ;
        h->pid = 0;
}

CgroupHolder *holder_free(CgroupHolder *h) {
        if (!h)
                return NULL;
        if (h->pid > 0) {
                (void) kill(h->pid, SIGKILL);
                holder_reap(h);
        }
        for (int i = 0; i < 2; i++)
                if (h->cmd[i] >= 0)
                        (void) close(h->cmd[i]);
        h->host_net_fd = safe_close(h->host_net_fd);
        if (h->stack)
                (void) munmap(h->stack, HOLDER_STACK_SIZE);
        free(h);
        return NULL;
}

static int holder_new(CgroupHolder **ret) {
        CgroupHolder *h;
        sigset_t all, old;
        int r;

        h = calloc(1, sizeof(CgroupHolder));
        if (!h)
                return -ENOMEM;
        h->cmd[0] = h->cmd[1] = h->pidfd = -EBADF;
        h->host_net_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (h->host_net_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (pipe2(h->cmd, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }
        h->stack = mmap(NULL, HOLDER_STACK_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (h->stack == MAP_FAILED) {
                h->stack = NULL;
                r = -errno;
                goto fail;
        }
        (void) mprotect(h->stack, (size_t) sysconf(_SC_PAGESIZE), PROT_NONE); /* guard page */
        /* Into a new network namespace for the clone, loopback up (if that fails, the payload's
         * init tries again), and back. */
        if (unshare(CLONE_NEWNET) >= 0) {
                h->own_net = true;
                h->net_lo_up = container_loopback_up() >= 0;
        }
        (void) sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &old);
        h->pid = clone(holder_main, (char *) h->stack + HOLDER_STACK_SIZE,
                       CLONE_VM | CLONE_FS | CLONE_FILES | SIGCHLD, h);
        r = h->pid < 0 ? -errno : 0;
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (h->own_net && setns(h->host_net_fd, CLONE_NEWNET) < 0 && r >= 0)
                r = -errno; /* cannot happen (we are root in our namespaces); never stay there */
        if (r < 0) {
                h->pid = 0;
                goto fail;
        }
        *ret = h;
        return 0;
fail:
        holder_free(h);
        return r;
}

/* The holder clones the payload and exits; -ESRCH if it was gone (nothing was cloned). */
static pid_t holder_clone(CgroupHolder *h, uint64_t flags, int (*fn)(void *), void *arg, int *ret_pidfd) {
        h->flags = flags;
        h->fn = fn;
        h->arg = arg;
        h->pidfd = -EBADF;
        h->result = -ESRCH;
        /* A spare monitor prepares at low priority (monitor/main.c): the holder, born then, gets
         * ours back, and the payload inherits it from the holder. */
        {
                int nice;

                if (nice_self(&nice) >= 0)
                        (void) setpriority(PRIO_PROCESS, (id_t) h->pid, nice);
        }
        /* Our file table is the holder's: the read end stays open, the byte always goes in. */
        if (write(h->cmd[1], "c", 1) != 1)
                return -ESRCH;
        holder_reap(h); /* it exits right after clone3(): that is the answer */
        if (h->result > 0)
                *ret_pidfd = h->pidfd;
        else if (h->pidfd >= 0) {
                /* Killed between its clone3() and storing the answer: a payload exists that the
                 * caller does not know of (and would clone again). The kernel wrote its pidfd into
                 * our file table: end it. */
                (void) pidfd_send_signal_compat(h->pidfd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) h->pidfd, &(siginfo_t){}, WEXITED | __WALL);
                h->pidfd = safe_close(h->pidfd);
                return -ESRCH;
        }
        return (pid_t) h->result;
}

/* spare-PID leaves whose monitor is gone (SIGKILLed: its holder died with it, the leaf is empty). */
static void sweep_stale_spares(int group_fd, const char *own) {
        struct dirent *de;
        DIR *dir;
        int fd;

        fd = openat(group_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        dir = fdopendir(fd);
        if (!dir) {
                (void) close(fd);
                return;
        }
        while ((de = readdir(dir))) {
                int pid;

                if (!strneq(de->d_name, "spare-", 6) || streq(de->d_name, own) ||
                    safe_atoi(de->d_name + 6, &pid) < 0 || pid <= 0)
                        continue;
                if (kill(pid, 0) < 0 && errno == ESRCH)
                        (void) unlinkat(group_fd, de->d_name, AT_REMOVEDIR); /* EBUSY if in use: fine */
        }
        (void) closedir(dir);
}

int cgroup_spare_new(const char *workloads_dir, Cgroup **ret) {
        _cleanup_(cgroup_destroyp) Cgroup *cg = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL, *group = NULL;
        char pid[16];
        const char *leaf;
        struct statfs sfs;
        int fd, r;

        assert(workloads_dir);
        assert(ret);
        if (statfs(CGROUP_ROOT, &sfs) < 0 || (unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC)
                return -EOPNOTSUPP; /* v2: CLONE_INTO_CGROUP needs nothing ahead of time */
        if (asprintf(&dir, "%s/spare", workloads_dir) < 0)
                return -ENOMEM;
        (void) snprintf(pid, sizeof pid, "%d", (int) getpid());
        r = cgroup_path_for_workload(dir, "spare", pid, &path);
        if (r < 0)
                return r;
        r = check_path(path, &leaf, &group);
        if (r < 0)
                return r;
        cg = cgroup_new(CGROUP_LAYOUT_V1, group, leaf);
        if (!cg)
                return -ENOMEM;
        /* The hierarchies of a container without cpus/io_weight; those come at assignment. */
        r = v1_add_hierarchies(cg, group, v1_need(&(CgroupLimits){}, NULL), NULL);
        if (r < 0)
                return r;
        if (cg->n_dirs == 0)
                return -EOPNOTSUPP;
        for (size_t i = 0; i < cg->n_dirs; i++)
                sweep_stale_spares(cg->dirs[i].group_fd, leaf);
        fd = ctrl_fd(cg, CTRL_DEVICES);
        if (fd >= 0) {
                r = devices_v1(fd, NULL, 0);
                if (r < 0)
                        return r;
                cg->devices_done = true;
        }
        r = holder_new(&cg->holder);
        if (r < 0)
                return r;
        /* The expensive part (an RCU grace period in the kernel), paid while nobody waits. */
        r = cgroup_attach_pid(cg, cg->holder->pid);
        if (r < 0)
                return r;
        cg->spare_dirs = (1U << cg->n_dirs) - 1;
        *ret = TAKE_PTR(cg);
        return 0;
}

/* Renames the spare's leaves to LEAF, adds what the limits need beyond them, writes the limits. */
static int spare_adopt(Cgroup *cg, const char *path, const CgroupLimits *l, char **reterr_message) {
        _cleanup_free_ char *group = NULL;
        const char *leaf;
        char *s;
        int r;

        r = check_path(path, &leaf, &group);
        if (r < 0)
                return set_error_message(reterr_message, r, "invalid cgroup name '%s'", path ?: "(null)");
        if (cg->layout != CGROUP_LAYOUT_V1 || !cg->holder || !streq(group, cg->group) ||
            l->devices_unrestricted || l->n_extra_devices > 0)
                return -EXDEV; /* not made for this: the normal path */
        for (size_t i = 0; i < cg->n_dirs; i++) {
                CgroupDir *d = cg->dirs + i;
                char *slash = strrchr(d->path, '/'), *np;

                r = renameat(d->group_fd, slash + 1, d->group_fd, leaf) < 0 ? -errno : 0;
                if (r == -EEXIST || r == -ENOTEMPTY || r == -EBUSY) {
                        /* LEAF left by a monitor that crashed: empty it, remove it, again. */
                        r = remove_stale_leaf(cg->layout, d->group_fd, leaf);
                        if (r >= 0)
                                r = renameat(d->group_fd, slash + 1, d->group_fd, leaf) < 0 ? -errno : 0;
                }
                if (r < 0)
                        return set_error_message(reterr_message, r, "cannot rename '%s' to '%s': %s",
                                                 d->path, leaf, strerror(-r));
                *slash = 0;
                if (asprintf(&np, "%s/%s", d->path, leaf) < 0) {
                        *slash = '/';
                        return -ENOMEM;
                }
                free(d->path);
                d->path = np;
        }
        s = strdup(leaf);
        if (!s)
                return -ENOMEM;
        free(cg->leaf);
        cg->leaf = s;

        /* From here on the same as a fresh set-up: add what the limits need, check, write them. */
        return setup_v1(cg, group, l, reterr_message);
}

int cgroup_setup_with_spare(Cgroup **spare, const char *path, const CgroupLimits *limits, Cgroup **ret,
                            char **reterr_message) {
        Cgroup *s = spare ? *spare : NULL;
        int r;

        assert(limits);
        assert(ret);
        if (spare)
                *spare = NULL;
        if (s) {
                r = spare_adopt(s, path, limits, reterr_message);
                if (r >= 0) {
                        *ret = s;
                        return 1;
                }
                /* Whatever went wrong, the normal path either works or says what is wrong. */
                s = cgroup_destroy(s);
                if (reterr_message) {
                        free(*reterr_message);
                        *reterr_message = NULL;
                }
        }
        r = cgroup_setup(path, limits, ret, reterr_message);
        return r < 0 ? r : 0;
}

bool cgroup_clone_born_placed(const Cgroup *cg) {
        return !cg || (cg->holder && cg->n_dirs > 0 && cg->spare_dirs == (1U << cg->n_dirs) - 1 &&
                       cg->deferred_pids == 0);
}

bool cgroup_clone_net_ready(const Cgroup *cg, uint64_t flags) {
        return cg && cg->holder && holder_net_used(cg->holder, flags) && cg->holder->net_lo_up;
}

pid_t cgroup_clone_fn(Cgroup *cg, uint64_t flags, int (*fn)(void *), void *arg, int *ret_pidfd) {
        bool placed = false;
        pid_t pid;

        if (cg)
                cg->born_dirs = 0;
        if (cg && cg->holder) {
                pid = holder_clone(cg->holder, flags, fn, arg, ret_pidfd);
                cg->holder = holder_free(cg->holder);
                if (pid > 0)
                        cg->born_dirs = cg->spare_dirs;
                /* The holder was gone: nothing was cloned. The caller's child would have been told
                 * the wrong thing (its network namespace, whether it must wait to be placed):
                 * the caller asks again, now without a holder. */
                return pid == -ESRCH ? -EAGAIN : pid;
        }
        pid = cgroup_clone3(cg, flags, ret_pidfd, &placed);
        if (pid == 0)
                _exit(fn(arg));
        if (pid > 0 && placed)
                cg->born_dirs = (1U << cg->n_dirs) - 1;
        return pid;
}

int cgroup_place_child(Cgroup *cg, pid_t pid) {
        unsigned born;
        int r;

        if (!cg)
                return 0;
        born = cg->born_dirs;
        cg->born_dirs = cg->spare_dirs = 0;
        if (cg->deferred_pids > 0) {
                r = write_u64_at(ctrl_fd(cg, CTRL_PIDS), "pids.max", cg->deferred_pids);
                if (r < 0)
                        return r;
                cg->deferred_pids = 0;
        }
        return attach_dirs(cg, pid, born);
}
