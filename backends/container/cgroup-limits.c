/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

/* A workload's limits in its leaf (cgroup.h, docs/cgroups.md): memory without swap, a CPU quota,
 * pids.max, an I/O weight, and the device allow-list, as a BPF_CGROUP_DEVICE program (v2) or in
 * devices.allow (v1). Written on the launch path: no reads back, no files for limits that were
 * not asked for. */

#define CPU_PERIOD_USEC UINT64_C(100000)
#define CPU_MIN_QUOTA_USEC UINT64_C(1000)

/* ---------------------------------------------------------------- devices */

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

int devices_v1(int dir_fd, const CgroupDeviceRule *extra, size_t n_extra) {
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

static uint64_t cpu_quota(double cpus) {
        uint64_t q = (uint64_t) (cpus * (double) CPU_PERIOD_USEC + 0.5);

        return MAX(q, CPU_MIN_QUOTA_USEC);
}

int apply_limits(Cgroup *cg, const CgroupLimits *l, char **reterr_message) {
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
        if (l->cpu_weight > 0) {
                /* v2's cpu.weight (1..10000, default 100) as it is; v1's cpu.shares (2..262144,
                 * default 1024) by the inverse of the mapping runc and Kubernetes use for the
                 * other direction (weight = 1 + (shares - 2) × 9999 / 262142). */
                uint64_t w = MIN(MAX(l->cpu_weight, UINT64_C(1)), UINT64_C(10000));

                fd = ctrl_fd(cg, CTRL_CPU);
                file = v2 ? "cpu.weight" : "cpu.shares";
                r = fd < 0 ? -EOPNOTSUPP : write_u64_at(fd, file, v2 ? w : 2 + (w - 1) * 262142 / 9999);
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
