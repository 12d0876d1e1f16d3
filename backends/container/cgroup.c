/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

/* The Cgroup object (cgroup.h, docs/cgroups.md): reading and writing its files, cloning and
 * attaching processes into its leaves, its statistics, killing what is in it, and removing it.
 * Making the leaf is cgroup-setup.c, writing its limits cgroup-limits.c, spare leaves
 * cgroup-spare.c. Written against Documentation/admin-guide/cgroup-v2.rst and
 * cgroup-v1/{memory,cpuacct,pids,devices,blkio-controller}.rst. */

int write_at(int dir_fd, const char *file, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(value);
        ssize_t k;

        fd = openat(dir_fd, file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        k = write(fd, value, n);
        if (k < 0)
                return -errno;
        return (size_t) k == n ? 0 : -EIO;
}

int write_u64_at(int dir_fd, const char *file, uint64_t v) {
        char buf[32];

        (void) snprintf(buf, sizeof buf, "%" PRIu64, v);
        return write_at(dir_fd, file, buf);
}

/* Reads a small cgroup file (they are all well under a page). */
int read_at(int dir_fd, const char *file, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t k;

        fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        k = read(fd, buf, size - 1);
        if (k < 0)
                return -errno;
        buf[k] = 0;
        return 0;
}

/* A single number, or "max" → UINT64_MAX. */
static int read_u64_at(int dir_fd, const char *file, uint64_t *ret) {
        char buf[64];
        int r;

        r = read_at(dir_fd, file, buf, sizeof buf);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = 0;
        if (streq(buf, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return safe_atou64(buf, ret);
}

/* "key value" lines (memory.events, memory.oom_control, cpu.stat). */
static int read_key_at(int dir_fd, const char *file, const char *key, uint64_t *ret) {
        char buf[1024];
        size_t n = strlen(key);
        int r;

        r = read_at(dir_fd, file, buf, sizeof buf);
        if (r < 0)
                return r;
        for (char *l = buf; l && *l;) {
                char *e = strchr(l, '\n');

                if (e)
                        *e++ = 0;
                if (strneq(l, key, n) && l[n] == ' ')
                        return safe_atou64(l + n + 1, ret);
                l = e;
        }
        return -ENOENT;
}

bool word_in(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *p = list; p && *p;) {
                p += strspn(p, " \n,");
                if (strneq(p, word, n) && (p[n] == 0 || strchr(" \n,", p[n])))
                        return true;
                p += strcspn(p, " \n,");
        }
        return false;
}

Cgroup *cgroup_new(CgroupLayout layout, const char *group, const char *leaf) {
        Cgroup *cg = calloc(1, sizeof(Cgroup));

        if (!cg)
                return NULL;
        cg->layout = layout;
        cg->leaf = strdup(leaf);
        cg->group = strdup(group);
        if (!cg->leaf || !cg->group) {
                free(cg->leaf);
                free(cg->group);
                free(cg);
                return NULL;
        }
        for (size_t i = 0; i < _CTRL_MAX; i++) {
                cg->dir_of[i] = -1;
                cg->dirs[i] = (CgroupDir){ .group_fd = -EBADF, .fd = -EBADF };
        }
        return cg;
}

/* Processes in a directory's cgroup.procs, SIGKILLed. Returns how many were signalled. */
int kill_procs_at(int dir_fd) {
        _cleanup_free_ char *buf = NULL;
        int r, n = 0;

        r = read_full_file_at(dir_fd, "cgroup.procs", 4U << 20, &buf, NULL);
        if (r < 0)
                return r;
        for (char *l = buf; l && *l;) {
                char *e = strchr(l, '\n');
                uint32_t pid;

                if (e)
                        *e++ = 0;
                if (safe_atou32(l, &pid) >= 0 && pid > 1 && kill((pid_t) pid, SIGKILL) >= 0)
                        n++;
                l = e;
        }
        return n;
}

int cgroup_kill_all(Cgroup *cg) {
        int r, n = 0;

        if (!cg)
                return 0;
        if (cg->layout == CGROUP_LAYOUT_V2 && cg->n_dirs > 0) {
                /* Linux ≥ 5.14: atomic, no PID races, reaches forking processes too. */
                r = write_at(cg->dirs[0].fd, "cgroup.kill", "1");
                if (r != -ENOENT)
                        return r;
        }
        for (size_t i = 0; i < cg->n_dirs; i++) {
                if (cg->dirs[i].fd < 0 || cg->dirs[i].removed)
                        continue;
                r = kill_procs_at(cg->dirs[i].fd);
                if (r > 0)
                        n += r;
        }
        return n;
}

/* Removes the leaf everywhere; killed processes need a moment to leave, so this retries for a
 * bounded time. It runs after the exit was reported (teardown is off the launch path). */
static int remove_leaves(Cgroup *cg) {
        int r = 0;

        for (unsigned attempt = 0; attempt < 1000; attempt++) {
                bool busy = false;

                for (size_t i = 0; i < cg->n_dirs; i++) {
                        CgroupDir *d = cg->dirs + i;

                        const char *name = d->path ? strrchr(d->path, '/') : NULL;

                        if (d->removed || d->group_fd < 0 || !name)
                                continue;
                        if (unlinkat(d->group_fd, name + 1, AT_REMOVEDIR) >= 0 || errno == ENOENT)
                                d->removed = true;
                        else if (errno == EBUSY)
                                busy = true;
                        else {
                                r = -errno;
                                d->removed = true; /* nothing more we can do */
                        }
                }
                if (!busy)
                        return r;
                if (attempt % 50 == 0)
                        (void) cgroup_kill_all(cg);
                (void) nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
        }
        return -EBUSY;
}

Cgroup *cgroup_destroy(Cgroup *cg) {
        if (!cg)
                return NULL;
        cg->holder = holder_free(cg->holder);
        (void) cgroup_kill_all(cg);
        (void) remove_leaves(cg);
        /* GROUP stays, even for a non-default instance: removing it when empty raced with a
         * concurrent launch creating its leaf there (tests sweep their groups themselves). */
        for (size_t i = 0; i < cg->n_dirs; i++) {
                if (cg->dirs[i].fd >= 0)
                        (void) close(cg->dirs[i].fd);
                if (cg->dirs[i].group_fd >= 0)
                        (void) close(cg->dirs[i].group_fd);
                free(cg->dirs[i].path);
        }
        free(cg->leaf);
        free(cg->group);
        free(cg);
        return NULL;
}

/* ---------------------------------------------------------------- API */

CgroupLayout cgroup_layout(const Cgroup *cg) {
        return cg ? cg->layout : _CGROUP_LAYOUT_INVALID;
}

const char *cgroup_path(const Cgroup *cg) {
        if (!cg || cg->n_dirs == 0)
                return NULL;
        if (cg->dir_of[CTRL_MEMORY] >= 0)
                return cg->dirs[cg->dir_of[CTRL_MEMORY]].path;
        return cg->dirs[0].path;
}

pid_t cgroup_clone3(Cgroup *cg, uint64_t flags, int *ret_pidfd, bool *ret_placed) {
        struct clone_args args = {
                .flags = flags | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
        };
        long pid;

        if (cg && cg->layout == CGROUP_LAYOUT_V2 && cg->n_dirs > 0 && cg->dirs[0].fd >= 0) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) cg->dirs[0].fd;
                pid = syscall(SYS_clone3, &args, sizeof args);
                if (pid > 0)
                        *ret_placed = true;
                if (pid >= 0)
                        return (pid_t) pid;
                /* Kernels before 5.7 know neither the flag nor the larger struct. */
                if (errno != E2BIG && errno != EINVAL)
                        return -errno;
                args.flags &= ~(uint64_t) CLONE_INTO_CGROUP;
                args.cgroup = 0;
        }
        pid = syscall(SYS_clone3, &args, CLONE_ARGS_SIZE_VER0);
        if (pid > 0)
                *ret_placed = false;
        return pid < 0 ? -errno : (pid_t) pid;
}

/* Writes pid into the leaves not in skip (1 << index); returns how many. */
int attach_dirs(Cgroup *cg, pid_t pid, unsigned skip) {
        char buf[16], *p = buf + sizeof buf;
        int r, n = 0;

        if (!cg)
                return 0;
        /* Formatted by hand: callers may be between fork() and exec(). */
        *--p = 0;
        do
                *--p = (char) ('0' + pid % 10);
        while ((pid /= 10) > 0);
        for (size_t i = 0; i < cg->n_dirs; i++) {
                if (skip & (1U << i))
                        continue;
                r = write_at(cg->dirs[i].fd, "cgroup.procs", p);
                if (r < 0)
                        return r;
                n++;
        }
        return n;
}

int cgroup_attach_pid(Cgroup *cg, pid_t pid) {
        int r = attach_dirs(cg, pid, 0);

        return r < 0 ? r : 0;
}

int cgroup_oom_kills(Cgroup *cg, uint64_t *ret) {
        int fd = cg ? ctrl_fd(cg, CTRL_MEMORY) : -EBADF;

        if (fd < 0)
                return -EOPNOTSUPP;
        /* v2: memory.events counts the subtree, and the leaf has no children. v1 (≥ 4.13):
         * memory.oom_control carries an oom_kill field. */
        return read_key_at(fd, cg->layout == CGROUP_LAYOUT_V2 ? "memory.events" : "memory.oom_control",
                           "oom_kill", ret);
}

static void put_u64(json_t *o, const char *key, int r, uint64_t v) {
        /* Unlimited (v2 "max", v1 PAGE_COUNTER_MAX pages) is left out, as are unreadable files. */
        if (r >= 0 && v < (UINT64_C(1) << 62))
                (void) json_object_set_new(o, key, json_integer((json_int_t) v));
}

int cgroup_stats(Cgroup *cg, json_t **ret) {
        bool v2 = cg && cg->layout == CGROUP_LAYOUT_V2;
        json_t *o;
        uint64_t v;
        int fd, r;

        if (!cg)
                return -ESRCH;
        o = json_object();
        if (!o)
                return -ENOMEM;
        fd = ctrl_fd(cg, CTRL_MEMORY);
        if (fd >= 0) {
                r = read_u64_at(fd, v2 ? "memory.current" : "memory.usage_in_bytes", &v);
                put_u64(o, "memory_bytes", r, v);
                r = read_u64_at(fd, v2 ? "memory.peak" : "memory.max_usage_in_bytes", &v);
                put_u64(o, "memory_peak_bytes", r, v);
                r = read_u64_at(fd, v2 ? "memory.max" : "memory.limit_in_bytes", &v);
                put_u64(o, "memory_limit_bytes", r, v);
                r = cgroup_oom_kills(cg, &v);
                put_u64(o, "oom_kills", r, v);
        }
        if (v2) {
                r = read_key_at(cg->dirs[0].fd, "cpu.stat", "usage_usec", &v);
                put_u64(o, "cpu_usec", r, v);
        } else if ((fd = ctrl_fd(cg, CTRL_CPUACCT)) >= 0) {
                r = read_u64_at(fd, "cpuacct.usage", &v);
                put_u64(o, "cpu_usec", r, v / 1000);
        }
        fd = ctrl_fd(cg, CTRL_PIDS);
        if (fd >= 0) {
                r = read_u64_at(fd, "pids.current", &v);
                put_u64(o, "pids", r, v);
                r = read_u64_at(fd, "pids.max", &v);
                put_u64(o, "pids_limit", r, v);
        }
        *ret = o;
        return 0;
}

int cgroup_path_for_workload(const char *workload_dir, const char *kind, const char *name, char **ret) {
        const char *slash = strrchr(workload_dir, '/');
        size_t n = slash ? (size_t) (slash - workload_dir) : strlen(workload_dir);
        uint32_t h = 2166136261U; /* FNV-1a over STATE/workloads */
        int r;

        if (strneq(workload_dir, ISOD_STATE_DIR "/", strlen(ISOD_STATE_DIR) + 1))
                r = asprintf(ret, "isod/%s-%s", kind, name);
        else {
                for (size_t i = 0; i < n; i++)
                        h = (h ^ (uint8_t) workload_dir[i]) * 16777619U;
                r = asprintf(ret, "isod-%08" PRIx32 "/%s-%s", h, kind, name);
        }
        return r < 0 ? -ENOMEM : 0;
}
