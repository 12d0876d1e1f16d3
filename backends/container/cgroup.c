/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "util.h"

/* See cgroup.h and docs/cgroups.md. Written against Documentation/admin-guide/cgroup-v2.rst and
 * cgroup-v1/{memory,cpuacct,pids,devices,blkio-controller}.rst. Everything here is on the launch
 * path, so it does only the writes a workload needs: no reads back, no files for limits that
 * were not asked for, the shared GROUP directory prepared once. */

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CPU_PERIOD_USEC UINT64_C(100000)
#define CPU_MIN_QUOTA_USEC UINT64_C(1000)

typedef enum Controller {
        CTRL_MEMORY,
        CTRL_PIDS,
        CTRL_CPU,
        CTRL_CPUACCT, /* v1 only: v2 has cpu.stat in every cgroup */
        CTRL_IO,      /* "io" on v2, "blkio" on v1 */
        CTRL_DEVICES, /* v1 only: v2 uses an eBPF program */
        _CTRL_MAX,
} Controller;

static const char *const controller_v1_name[_CTRL_MAX] = {
        [CTRL_MEMORY] = "memory",   [CTRL_PIDS] = "pids", [CTRL_CPU] = "cpu",
        [CTRL_CPUACCT] = "cpuacct", [CTRL_IO] = "blkio",  [CTRL_DEVICES] = "devices",
};

static const char *const controller_v2_name[_CTRL_MAX] = {
        [CTRL_MEMORY] = "memory",
        [CTRL_PIDS] = "pids",
        [CTRL_CPU] = "cpu",
        [CTRL_IO] = "io",
};

/* One leaf directory: on v2 the only one, on v1 one per hierarchy used. */
typedef struct CgroupDir {
        char *path;    /* the leaf (its last component is the leaf's current name) */
        int group_fd;  /* GROUP, to rmdir (or rename) the leaf */
        int fd;        /* the leaf */
        unsigned mask; /* 1 << Controller served by this hierarchy */
        bool removed;
} CgroupDir;

/* A spare's holder (cgroup_spare_new()): a process sharing our memory, file table and fs context
 * (CLONE_VM|CLONE_FILES|CLONE_FS) but in a thread group of its own, so that writing its PID to
 * cgroup.procs moves it alone. It sleeps on a pipe; on request it clone3()s the payload with
 * CLONE_PARENT (the payload is our child, born in the holder's cgroups, with a copy of our memory
 * as it is at that moment) and exits. Our memory stays charged where it was: user pages go to
 * mm->owner (us), and the holder's own kernel memory was charged before it moved. */
typedef struct CgroupHolder {
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
} CgroupHolder;

/* The holder's network namespace serves a payload that asks for a new one outside a user
 * namespace of its own (one it creates must own its network namespace: then a fresh one comes
 * with the clone). */
static bool holder_net_used(const CgroupHolder *h, uint64_t flags) {
        return h->own_net && (flags & CLONE_NEWNET) && !(flags & CLONE_NEWUSER);
}

#define HOLDER_STACK_SIZE \
        (UINT64_C(8) << 20) /* reserved, not committed: the payload's child runs on its copy */

struct Cgroup {
        CgroupLayout layout;
        char *leaf;  /* LEAF name */
        char *group; /* GROUP name */
        CgroupDir dirs[_CTRL_MAX];
        size_t n_dirs;
        int dir_of[_CTRL_MAX];  /* index into dirs, -1 if the controller is not available */
        CgroupHolder *holder;   /* spare leaves: the process sitting in them (v1) */
        unsigned spare_dirs;    /* 1 << index of the dirs the holder sits in */
        unsigned born_dirs;     /* after cgroup_clone_fn(): 1 << index of the dirs the child was born in */
        bool devices_done;      /* the device allow-list is written (spare leaves) */
        uint64_t deferred_pids; /* pids.max to write in cgroup_place_child() (0 = none) */
};

/* The minimal device set: the OCI/Docker defaults minus what isod never creates in /dev. Any
 * node may be made (mknod), but only these may be opened. */
static const CgroupDeviceRule default_devices[] = {
        { 'c', -1, -1, "m" },    { 'b', -1, -1, "m" },
        { 'c', 1, 3, "rwm" },                                       /* null */
        { 'c', 1, 5, "rwm" },    /* zero */ { 'c', 1, 7, "rwm" },   /* full */
        { 'c', 1, 8, "rwm" },    /* random */ { 'c', 1, 9, "rwm" }, /* urandom */
        { 'c', 5, 0, "rwm" },    /* tty */ { 'c', 5, 2, "rwm" },    /* ptmx */
        { 'c', 136, -1, "rwm" },                                    /* /dev/pts/N */
};

static int write_at(int dir_fd, const char *file, const char *value) {
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

static int write_u64_at(int dir_fd, const char *file, uint64_t v) {
        char buf[32];

        (void) snprintf(buf, sizeof buf, "%" PRIu64, v);
        return write_at(dir_fd, file, buf);
}

/* Reads a small cgroup file (they are all well under a page). */
static int read_at(int dir_fd, const char *file, char *buf, size_t size) {
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

static bool word_in(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *p = list; p && *p;) {
                p += strspn(p, " \n,");
                if (strneq(p, word, n) && (p[n] == 0 || strchr(" \n,", p[n])))
                        return true;
                p += strcspn(p, " \n,");
        }
        return false;
}

static bool name_component_ok(const char *s, size_t n) {
        if (n == 0 || n > 80 || (n == 1 && s[0] == '.') || (n == 2 && strneq(s, "..", 2)))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

static Cgroup *cgroup_new(CgroupLayout layout, const char *group, const char *leaf) {
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

static int fd_is_cgroupfs(int fd, bool v2) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        return (unsigned long) sfs.f_type == (v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC);
}

/* Processes in a directory's cgroup.procs, SIGKILLed. Returns how many were signalled. */
static int kill_procs_at(int dir_fd) {
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

static CgroupHolder *holder_free(CgroupHolder *h);

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

/* A LEAF left by a monitor that crashed (names are unique per isod instance): empty it, remove it. */
static int remove_stale_leaf(CgroupLayout layout, int group_fd, const char *name) {
        _cleanup_close_ int stale = -EBADF;
        int r = -EEXIST;

        stale = openat(group_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (stale < 0)
                return errno == ENOENT ? 0 : -errno;
        if (layout == CGROUP_LAYOUT_V2)
                (void) write_at(stale, "cgroup.kill", "1");
        (void) kill_procs_at(stale);
        for (unsigned i = 0; i < 500 && r < 0; i++) {
                r = unlinkat(group_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
                if (r == -ENOENT)
                        return 0;
                if (r == -EBUSY)
                        (void) nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
                else if (r < 0)
                        return r;
        }
        return r;
}

static int replace_stale_leaf(Cgroup *cg, CgroupDir *d) {
        int r = remove_stale_leaf(cg->layout, d->group_fd, cg->leaf);

        if (r < 0)
                return r;
        return mkdirat(d->group_fd, cg->leaf, 0755) < 0 ? -errno : 0;
}

/* Creates LEAF under GROUP (both relative to base_fd); a stale LEAF from a crashed monitor is
 * emptied and replaced. Fills d->group_fd, d->fd, d->path. */
static int make_leaf(Cgroup *cg, CgroupDir *d, int base_fd, const char *base_path, const char *group) {
        int r;

        if (asprintf(&d->path, "%s/%s/%s", base_path, group, cg->leaf) < 0) {
                d->path = NULL;
                return -ENOMEM;
        }
        for (unsigned attempt = 0;; attempt++) {
                d->group_fd = openat(base_fd, group, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d->group_fd < 0 && errno == ENOENT) {
                        if (mkdirat(base_fd, group, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        d->group_fd = openat(base_fd, group, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                }
                if (d->group_fd < 0)
                        return -errno;
                if (mkdirat(d->group_fd, cg->leaf, 0755) >= 0)
                        break;
                /* GROUP was removed just now (a test's sweep, an older isod's teardown): again. */
                if (errno == ENOENT && attempt < 100) {
                        (void) close(d->group_fd);
                        d->group_fd = -EBADF;
                        continue;
                }
                if (errno != EEXIST)
                        return -errno;
                r = replace_stale_leaf(cg, d);
                if (r < 0)
                        return r;
                break;
        }
        d->fd = openat(d->group_fd, cg->leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->fd < 0)
                return -errno;
        return 0;
}

/* ---------------------------------------------------------------- devices */

#define DEVCG_INSN(c, d, s, o, i) \
        ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static unsigned access_bits(const char *access) {
        unsigned a = 0;

        for (const char *p = access; p && *p; p++)
                a |= *p == 'm'   ? BPF_DEVCG_ACC_MKNOD
                     : *p == 'r' ? BPF_DEVCG_ACC_READ
                     : *p == 'w' ? BPF_DEVCG_ACC_WRITE
                                 : 0;
        return a;
}

/* Emits one "allow if it matches" block; returns the new length. */
static size_t devcg_emit_rule(struct bpf_insn *p, size_t n, const CgroupDeviceRule *rule) {
        /* r2 = device type, r3 = access bits, r4 = major, r5 = minor (from the prologue). */
        struct bpf_insn checks[3];
        size_t n_checks = 0, len;

        if (rule->type != 'a')
                checks[n_checks++] = DEVCG_INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                                                rule->type == 'b' ? BPF_DEVCG_DEV_BLOCK
                                                                  : BPF_DEVCG_DEV_CHAR);
        if (rule->major >= 0)
                checks[n_checks++] = DEVCG_INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, rule->major);
        if (rule->minor >= 0)
                checks[n_checks++] = DEVCG_INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, rule->minor);
        len = n_checks + 5;
        for (size_t i = 0; i < n_checks; i++) {
                checks[i].off = (int16_t) (len - i - 1); /* to the first instruction after the block */
                p[n++] = checks[i];
        }
        /* Allowed if the requested access is a subset of the rule's. */
        p[n++] = DEVCG_INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
        p[n++] = DEVCG_INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0,
                            (int32_t) ~access_bits(rule->access));
        p[n++] = DEVCG_INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, 2, 0);
        p[n++] = DEVCG_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
        p[n++] = DEVCG_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        return n;
}

/* v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, attached with BPF_F_ALLOW_MULTI so it composes with
 * whatever an ancestor (systemd's DevicePolicy=) attached: every program must allow. */
static int devices_v2(int leaf_fd, const CgroupDeviceRule *extra, size_t n_extra) {
        _cleanup_free_ struct bpf_insn *prog = NULL;
        size_t n = 0, n_rules = ELEMENTSOF(default_devices) + n_extra;
        _cleanup_close_ int prog_fd = -EBADF;
        union bpf_attr attr;

        prog = calloc(6 + n_rules * 8 + 2, sizeof(struct bpf_insn));
        if (!prog)
                return -ENOMEM;
        /* struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major, minor; } */
        prog[n++] = DEVCG_INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
        prog[n++] = DEVCG_INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF);
        prog[n++] = DEVCG_INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
        prog[n++] = DEVCG_INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
        prog[n++] = DEVCG_INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
        prog[n++] = DEVCG_INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
        for (size_t i = 0; i < ELEMENTSOF(default_devices); i++)
                n = devcg_emit_rule(prog, n, default_devices + i);
        for (size_t i = 0; i < n_extra; i++)
                n = devcg_emit_rule(prog, n, extra + i);
        prog[n++] = DEVCG_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
        prog[n++] = DEVCG_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

        attr = (union bpf_attr){
                .prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
                .insns = (uint64_t) (uintptr_t) prog,
                .insn_cnt = (uint32_t) n,
                .license = (uint64_t) (uintptr_t) "GPL",
        };
        prog_fd = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
        if (prog_fd < 0)
                return -errno;

        attr = (union bpf_attr){
                .target_fd = (uint32_t) leaf_fd,
                .attach_bpf_fd = (uint32_t) prog_fd,
                .attach_type = BPF_CGROUP_DEVICE,
                .attach_flags = BPF_F_ALLOW_MULTI,
        };
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) < 0)
                return -errno;
        return 0; /* the attachment holds the program; it goes away with the cgroup */
}

static int devices_v1_write(int fd, const CgroupDeviceRule *rule) {
        char buf[64], maj[12] = "*", min[12] = "*";
        ssize_t k;

        if (rule->major >= 0)
                (void) snprintf(maj, sizeof maj, "%d", rule->major);
        if (rule->minor >= 0)
                (void) snprintf(min, sizeof min, "%d", rule->minor);
        /* v1's "a" means "everything, ignore the rest": spell both types out instead. */
        char types[3] = { rule->type, 0, 0 };

        if (rule->type == 'a')
                memcpy(types, "cb", 3);
        for (const char *t = types; *t; t++) {
                (void) snprintf(buf, sizeof buf, "%c %s:%s %s", *t, maj, min, rule->access);
                k = write(fd, buf, strlen(buf));
                if (k < 0)
                        return -errno;
        }
        return 0;
}

static int devices_v1(int dir_fd, const CgroupDeviceRule *extra, size_t n_extra) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = write_at(dir_fd, "devices.deny", "a");
        if (r < 0)
                return r;
        /* One open, one write per rule (the file takes one rule per write). */
        fd = openat(dir_fd, "devices.allow", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(default_devices); i++) {
                r = devices_v1_write(fd, default_devices + i);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_extra; i++) {
                r = devices_v1_write(fd, extra + i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------- limits */

static int ctrl_fd(Cgroup *cg, Controller c) {
        return cg->dir_of[c] >= 0 ? cg->dirs[cg->dir_of[c]].fd : -EBADF;
}

static uint64_t cpu_quota(double cpus) {
        uint64_t q = (uint64_t) (cpus * (double) CPU_PERIOD_USEC + 0.5);

        return MAX(q, CPU_MIN_QUOTA_USEC);
}

static int apply_limits(Cgroup *cg, const CgroupLimits *l, char **reterr_message) {
        bool v2 = cg->layout == CGROUP_LAYOUT_V2;
        const char *file = NULL;
        char buf[64];
        int fd, r = 0;

        if (l->memory > 0) {
                fd = ctrl_fd(cg, CTRL_MEMORY);
                file = v2 ? "memory.max" : "memory.limit_in_bytes";
                r = fd < 0 ? -EOPNOTSUPP : write_u64_at(fd, file, l->memory);
                if (r < 0)
                        goto fail;
                /* No swap: the limit means what it says. Absent without swap accounting: fine. */
                file = v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
                r = v2 ? write_at(fd, file, "0") : write_u64_at(fd, file, l->memory);
                if (r < 0 && r != -ENOENT)
                        goto fail;
        }
        if (l->cpus > 0) {
                fd = ctrl_fd(cg, CTRL_CPU);
                if (fd < 0) {
                        file = v2 ? "cpu.max" : "cpu.cfs_quota_us";
                        r = -EOPNOTSUPP;
                        goto fail;
                }
                if (v2) {
                        file = "cpu.max";
                        (void) snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIu64, cpu_quota(l->cpus),
                                        CPU_PERIOD_USEC);
                        r = write_at(fd, file, buf);
                } else {
                        /* A new cgroup's cpu.cfs_period_us is already 100000 (100 ms). */
                        file = "cpu.cfs_quota_us";
                        r = write_u64_at(fd, file, cpu_quota(l->cpus));
                }
                if (r < 0)
                        goto fail;
        }
        if (l->pids > 0) {
                fd = ctrl_fd(cg, CTRL_PIDS);
                file = "pids.max";
                /* With a holder in the leaf, the payload would get one task less: written once the
                 * holder is gone and before the payload runs (cgroup_place_child()). */
                if (fd >= 0 && cg->holder && (cg->spare_dirs & (1U << cg->dir_of[CTRL_PIDS])))
                        cg->deferred_pids = l->pids;
                else
                        r = fd < 0 ? -EOPNOTSUPP : write_u64_at(fd, file, l->pids);
                if (r < 0)
                        goto fail;
        }
        if (l->io_weight > 0) {
                /* Native 1..10000 for io.weight (iocost); BFQ takes 1..1000; CFQ's blkio.weight
                 * 10..1000. Write whichever the kernel offers; fail only if none. */
                uint64_t w = MIN(MAX(l->io_weight, UINT64_C(1)), UINT64_C(10000));
                uint64_t bfq = 1 + (w - 1) * 999 / 9999, cfq = 10 + (w - 1) * 990 / 9999;
                bool any = false;

                fd = ctrl_fd(cg, CTRL_IO);
                file = v2 ? "io.weight" : "blkio.weight";
                if (fd < 0) {
                        r = -EOPNOTSUPP;
                        goto fail;
                }
                (void) snprintf(buf, sizeof buf, "default %" PRIu64, w);
                r = v2 ? write_at(fd, "io.weight", buf) : write_u64_at(fd, "blkio.weight", cfq);
                if (r >= 0)
                        any = true;
                else if (r != -ENOENT)
                        goto fail;
                file = v2 ? "io.bfq.weight" : "blkio.bfq.weight";
                r = write_u64_at(fd, file, bfq);
                if (r >= 0)
                        any = true;
                else if (r != -ENOENT)
                        goto fail;
                if (!any) {
                        file = v2 ? "io.weight" : "blkio.weight";
                        r = -EOPNOTSUPP;
                        goto fail;
                }
        }
        if (!l->devices_unrestricted && !cg->devices_done) {
                if (v2) {
                        file = "a BPF_CGROUP_DEVICE program";
                        r = devices_v2(cg->dirs[0].fd, l->extra_devices, l->n_extra_devices);
                } else {
                        fd = ctrl_fd(cg, CTRL_DEVICES);
                        file = "devices.allow";
                        r = fd < 0 ? -EOPNOTSUPP : devices_v1(fd, l->extra_devices, l->n_extra_devices);
                }
                if (r < 0)
                        goto fail;
        }
        return 0;

fail:
        if (r == -EOPNOTSUPP)
                return set_error_message(reterr_message, r,
                                         "cannot set '%s': the controller is not available on this host",
                                         file);
        return set_error_message(reterr_message, r, "cannot set '%s' in '%s': %s", file, cgroup_path(cg),
                                 strerror(-r));
}

/* ---------------------------------------------------------------- v2 */

/* Our own cgroup on the unified hierarchy ("0::/path"), or on v1 the line for a controller. */
static int own_cgroup(const char *controller, char **ret) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/proc/self/cgroup", 1U << 16, &buf, NULL);
        if (r < 0)
                return r;
        for (char *l = buf; l && *l;) {
                char *e = strchr(l, '\n'), *c, *p;

                if (e)
                        *e++ = 0;
                c = strchr(l, ':');
                p = c ? strchr(c + 1, ':') : NULL;
                if (p) {
                        *p++ = 0;
                        if (controller ? word_in(c + 1, controller) : (c[1] == 0 && streq(l, "0:"))) {
                                *ret = strdup(p);
                                return *ret ? 0 : -ENOMEM;
                        }
                }
                l = e;
        }
        return -ENOENT;
}

/* Enables the wanted controllers that dir has in its subtree_control, one at a time, so that one
 * the kernel refuses (cpu with realtime tasks around, say) costs only itself. Fails only for a
 * refused controller in "need"; an absent one is simply not in *ret_enabled. */
static int v2_enable(int dir_fd, unsigned want, unsigned need, unsigned *ret_enabled) {
        char avail[512], enabled[512], cmd[32];
        unsigned have = 0;
        int r;

        r = read_at(dir_fd, "cgroup.controllers", avail, sizeof avail);
        if (r < 0)
                return r;
        r = read_at(dir_fd, "cgroup.subtree_control", enabled, sizeof enabled);
        if (r < 0)
                return r;
        for (Controller c = 0; c < _CTRL_MAX; c++) {
                if (!(want & (1U << c)) || !controller_v2_name[c] || !word_in(avail, controller_v2_name[c]))
                        continue;
                if (!word_in(enabled, controller_v2_name[c])) {
                        (void) snprintf(cmd, sizeof cmd, "+%s", controller_v2_name[c]);
                        r = write_at(dir_fd, "cgroup.subtree_control", cmd);
                        if (r < 0 && (need & (1U << c)))
                                return r;
                        if (r < 0)
                                continue;
                }
                have |= 1U << c;
        }
        *ret_enabled = have;
        return 0;
}

static int setup_v2(Cgroup *cg, const char *base_path, const char *group, const CgroupLimits *l,
                    char **reterr_message) {
        const unsigned all = 1U << CTRL_MEMORY | 1U << CTRL_PIDS | 1U << CTRL_CPU | 1U << CTRL_IO;
        _cleanup_close_ int base_fd = -EBADF;
        CgroupDir *d = cg->dirs;
        unsigned need = 1U << CTRL_MEMORY | 1U << CTRL_PIDS, have = 0;
        char enabled[512];
        int r;

        if (l->cpus > 0)
                need |= 1U << CTRL_CPU;
        if (l->io_weight > 0)
                need |= 1U << CTRL_IO;

        base_fd = open(base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (base_fd < 0)
                return set_error_message(reterr_message, -errno, "cannot open '%s': %m", base_path);
        r = fd_is_cgroupfs(base_fd, true);
        if (r <= 0)
                return set_error_message(reterr_message, r < 0 ? r : -EOPNOTSUPP,
                                         "'%s' is not a cgroup2 file system", base_path);

        cg->n_dirs = 1;
        r = make_leaf(cg, d, base_fd, base_path, group);
        if (r < 0)
                return set_error_message(reterr_message, r, "cannot create cgroup '%s/%s/%s': %s", base_path,
                                         group, cg->leaf, strerror(-r));

        /* Fast path: GROUP already delegates what this workload needs (the common case after the
         * first launch). Else enable what the host has, in BASE and then in GROUP. */
        if (read_at(d->group_fd, "cgroup.subtree_control", enabled, sizeof enabled) >= 0)
                for (Controller c = 0; c < _CTRL_MAX; c++)
                        if (controller_v2_name[c] && word_in(enabled, controller_v2_name[c]))
                                have |= 1U << c;
        if ((have & need) != need) {
                unsigned in_base = 0;

                r = v2_enable(base_fd, all, need, &in_base);
                if (r < 0)
                        return set_error_message(
                                reterr_message, r,
                                r == -EBUSY
                                        ? "cannot enable controllers in '%s': it holds processes (cgroup v2's no-internal-processes rule); run isod in a delegated cgroup (Delegate=yes, DelegateSubgroup=supervisor)"
                                        : "cannot enable controllers in '%s': %m",
                                base_path);
                r = v2_enable(d->group_fd, in_base, need, &have);
                if (r < 0)
                        return set_error_message(reterr_message, r,
                                                 "cannot enable controllers in '%s/%s': %s", base_path,
                                                 group, strerror(-r));
        }
        for (Controller c = 0; c < _CTRL_MAX; c++)
                if (have & (1U << c)) {
                        cg->dir_of[c] = 0;
                        d->mask |= 1U << c;
                }
        return apply_limits(cg, l, reterr_message);
}

/* Where GROUP goes on a pure v2 host. */
static int v2_base(char **ret) {
        _cleanup_free_ char *own = NULL;
        char *slash;
        int r;

        /* With systemd as PID 1, isod.service has Delegate=yes and DelegateSubgroup=supervisor:
         * the processes sit in …/isod.service/supervisor and …/isod.service is ours to divide. */
        if (access("/run/systemd/system", F_OK) >= 0 && own_cgroup(NULL, &own) >= 0) {
                slash = strrchr(own, '/');
                if (slash && slash != own && streq(slash, "/supervisor")) {
                        *slash = 0;
                        r = asprintf(ret, CGROUP_ROOT "%s", own);
                        return r < 0 ? -ENOMEM : 0;
                }
        }
        /* No systemd (or no delegation): the root, which the no-internal-processes rule exempts. */
        *ret = strdup(CGROUP_ROOT);
        return *ret ? 0 : -ENOMEM;
}

/* ---------------------------------------------------------------- v1 */

/* The hierarchies a workload with these limits uses, and those it cannot do without. */
static unsigned v1_need(const CgroupLimits *l, unsigned *ret_limited) {
        unsigned need = 1U << CTRL_MEMORY | 1U << CTRL_PIDS | 1U << CTRL_CPUACCT, limited = 0;

        if (!l->devices_unrestricted)
                need |= 1U << CTRL_DEVICES;
        if (l->cpus > 0)
                need |= 1U << CTRL_CPU;
        if (l->io_weight > 0)
                need |= 1U << CTRL_IO;
        if (l->memory > 0)
                limited |= 1U << CTRL_MEMORY;
        if (l->pids > 0)
                limited |= 1U << CTRL_PIDS;
        limited |= need & (1U << CTRL_CPU | 1U << CTRL_IO | 1U << CTRL_DEVICES);
        if (ret_limited)
                *ret_limited = limited;
        return need;
}

/* Creates LEAF in every hierarchy serving a controller in "need" that cg does not cover yet. */
static int v1_add_hierarchies(Cgroup *cg, const char *group, unsigned need, char **reterr_message) {
        _cleanup_free_ char *lines = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/proc/self/cgroup", 1U << 16, &lines, NULL);
        if (r < 0)
                return set_error_message(reterr_message, r, "cannot read /proc/self/cgroup: %s",
                                         strerror(-r));

        /* One line per hierarchy: "ID:ctrl[,ctrl…]:/our/path". Mounted, by every distribution's
         * convention, at /sys/fs/cgroup/<ctrl> (co-mounted ones through a symlink). */
        for (char *line = lines; line && *line;) {
                _cleanup_free_ char *base_path = NULL;
                _cleanup_close_ int base_fd = -EBADF;
                char *e = strchr(line, '\n'), *ctrls, *path;
                unsigned mask = 0;
                CgroupDir *d;

                if (e)
                        *e++ = 0;
                ctrls = strchr(line, ':');
                path = ctrls ? strchr(ctrls + 1, ':') : NULL;
                line = e;
                if (!path)
                        continue;
                *ctrls++ = 0;
                *path++ = 0;
                for (Controller c = 0; c < _CTRL_MAX; c++)
                        if ((need & (1U << c)) && cg->dir_of[c] < 0 && word_in(ctrls, controller_v1_name[c]))
                                mask |= 1U << c;
                if (mask == 0)
                        continue;
                for (Controller c = 0; c < _CTRL_MAX; c++)
                        if (mask & (1U << c)) {
                                if (asprintf(&base_path, CGROUP_ROOT "/%s%s", controller_v1_name[c],
                                             streq(path, "/") ? "" : path) < 0)
                                        return -ENOMEM;
                                break;
                        }
                base_fd = open(base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (base_fd < 0 || fd_is_cgroupfs(base_fd, false) <= 0)
                        continue; /* not mounted where expected: as if absent */

                d = cg->dirs + cg->n_dirs++;
                d->mask = mask;
                for (Controller c = 0; c < _CTRL_MAX; c++)
                        if (mask & (1U << c))
                                cg->dir_of[c] = (int) (d - cg->dirs);
                r = make_leaf(cg, d, base_fd, base_path, group);
                if (r < 0)
                        return set_error_message(reterr_message, r, "cannot create cgroup '%s/%s/%s': %s",
                                                 base_path, group, cg->leaf, strerror(-r));
        }
        return 0;
}

static int v1_check(Cgroup *cg, unsigned limited, char **reterr_message) {
        if (cg->dir_of[CTRL_MEMORY] < 0 && cg->dir_of[CTRL_PIDS] < 0)
                return set_error_message(
                        reterr_message, -EOPNOTSUPP,
                        "no usable cgroup hierarchy: neither memory nor pids is mounted under " CGROUP_ROOT);
        for (Controller c = 0; c < _CTRL_MAX; c++)
                if ((limited & (1U << c)) && cg->dir_of[c] < 0)
                        return set_error_message(
                                reterr_message, -EOPNOTSUPP,
                                "the cgroup v1 '%s' controller is not mounted at " CGROUP_ROOT "/%s",
                                controller_v1_name[c], controller_v1_name[c]);
        return 0;
}

static int setup_v1(Cgroup *cg, const char *group, const CgroupLimits *l, char **reterr_message) {
        unsigned limited, need = v1_need(l, &limited);
        int r;

        r = v1_add_hierarchies(cg, group, need, reterr_message);
        if (r < 0)
                return r;
        r = v1_check(cg, limited, reterr_message);
        if (r < 0)
                return r;
        return apply_limits(cg, l, reterr_message);
}

/* ---------------------------------------------------------------- API */

static int check_path(const char *path, const char **ret_leaf, char **ret_group) {
        const char *slash = path ? strchr(path, '/') : NULL;

        if (!slash || !name_component_ok(path, (size_t) (slash - path)) ||
            !name_component_ok(slash + 1, strlen(slash + 1)) || strneq(slash + 1, "cgroup.", 7))
                return -EINVAL;
        *ret_group = strndup(path, (size_t) (slash - path));
        if (!*ret_group)
                return -ENOMEM;
        *ret_leaf = slash + 1;
        return 0;
}

int cgroup_setup_at(CgroupLayout layout, const char *base_dir, const char *path, const CgroupLimits *limits,
                    Cgroup **ret, char **reterr_message) {
        _cleanup_(cgroup_destroyp) Cgroup *cg = NULL;
        _cleanup_free_ char *group = NULL;
        const char *leaf;
        int r;

        assert(limits);
        assert(ret);
        r = check_path(path, &leaf, &group);
        if (r < 0)
                return set_error_message(reterr_message, r, "invalid cgroup name '%s'", path ?: "(null)");
        cg = cgroup_new(layout, group, leaf);
        if (!cg)
                return -ENOMEM;
        if (layout == CGROUP_LAYOUT_V2)
                r = setup_v2(cg, base_dir, group, limits, reterr_message);
        else
                r = setup_v1(cg, group, limits, reterr_message);
        if (r < 0)
                return r; /* cgroup_destroyp removes what was made */
        *ret = TAKE_PTR(cg);
        return 0;
}

int cgroup_setup(const char *path, const CgroupLimits *limits, Cgroup **ret, char **reterr_message) {
        _cleanup_free_ char *base = NULL;
        struct statfs sfs;
        int r;

        if (statfs(CGROUP_ROOT, &sfs) < 0)
                return set_error_message(reterr_message, -EOPNOTSUPP,
                                         "no cgroup file system at " CGROUP_ROOT ": %m");
        if ((unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC) {
                r = v2_base(&base);
                if (r < 0)
                        return r;
                return cgroup_setup_at(CGROUP_LAYOUT_V2, base, path, limits, ret, reterr_message);
        }
        /* A tmpfs with v1 hierarchies (and maybe a cgroup2 at "unified": hybrid). */
        return cgroup_setup_at(CGROUP_LAYOUT_V1, NULL, path, limits, ret, reterr_message);
}

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
static int attach_dirs(Cgroup *cg, pid_t pid, unsigned skip) {
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

/* ---------------------------------------------------------------- spare leaves (v1) */

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

static CgroupHolder *holder_free(CgroupHolder *h) {
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
