/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Per-workload cgroups, on both layouts (docs/cgroups.md):
 *
 *   pure v2   /sys/fs/cgroup is cgroup2. Workloads live in BASE/GROUP/LEAF, where BASE is the
 *             root (no systemd) or the delegated parent of our own cgroup when systemd runs
 *             isod.service with Delegate=yes + DelegateSubgroup=supervisor. Controllers are
 *             enabled in BASE and GROUP's cgroup.subtree_control; the leaf holds the processes;
 *             the monitor never sits in a cgroup that has children with controllers.
 *   v1/hybrid v1 controllers at /sys/fs/cgroup/<controller>. Per hierarchy, workloads live in
 *             OWN/GROUP/LEAF, OWN being the monitor's own cgroup there (as runc does), so a
 *             workload stays inside the limits of whoever runs isod. The cgroup2 mount of a
 *             hybrid host (/sys/fs/cgroup/unified) is not used.
 *
 * GROUP ("isod", or "isod-XXXXXXXX" for a non-default state directory) is shared and kept (it
 * is never removed by a workload's teardown: removing it raced with concurrent launches);
 * LEAF is created per workload and always removed by cgroup_destroy().
 *
 * Usage (VM backend around QEMU, container exec):
 *
 *     cgroup_setup("isod/ctr-web", &limits, &cg, &msg);     before the payload exists
 *     pid = cgroup_clone3(cg, flags, &pidfd, &placed);       v2: CLONE_INTO_CGROUP
 *     if (!placed) cgroup_attach_pid(cg, pid);               v1: while the child waits on a pipe
 *     …  cgroup_stats(cg, &json); cgroup_oom_kills(cg, &n);
 *     cg = cgroup_destroy(cg);                               kill leftovers, rmdir the leaf
 *
 * Container start, with v1 spare leaves (no task migration on the launch path):
 *
 *     spare monitor, idle:  cgroup_spare_new(STATE "/workloads", &spare);
 *     on assignment:        cgroup_setup_with_spare(&spare, "isod/ctr-web", &limits, &cg, &msg);
 *                           pid = cgroup_clone_fn(cg, flags, fn, arg, &pidfd);   child runs fn(arg)
 *                           cgroup_place_child(cg, pid);                     while the child waits
 *
 * Non-logging: every function returns -errno; cgroup_setup() also a message saying which file. */

typedef enum CgroupLayout {
        CGROUP_LAYOUT_V2,
        CGROUP_LAYOUT_V1,
        _CGROUP_LAYOUT_MAX,
        _CGROUP_LAYOUT_INVALID = -EINVAL,
} CgroupLayout;

/* One device rule, in the v1 "devices.allow" vocabulary (the v2 eBPF program is built from the
 * same table). */
typedef struct CgroupDeviceRule {
        char type;          /* 'c', 'b', or 'a' for both */
        int major, minor;   /* -1 = any */
        const char *access; /* subset of "rwm" */
} CgroupDeviceRule;

typedef struct CgroupLimits {
        uint64_t memory;           /* bytes; 0 = unset. Swap is always disabled when set. */
        double cpus;               /* 0 = unset; quota = cpus × 100 ms per 100 ms period */
        uint64_t pids;             /* 0 = unset */
        uint64_t io_weight;        /* 0 = unset, else 1..10000 (v2 io.weight scale; mapped for BFQ/v1) */
        uint64_t cpu_weight;       /* 0 = unset, else 1..10000 (v2 cpu.weight; v1 cpu.shares, mapped) */
        bool devices_unrestricted; /* skip the device allow-list altogether */
        const CgroupDeviceRule *extra_devices; /* allowed on top of the minimal set */
        size_t n_extra_devices;
} CgroupLimits;

/* A VMM (QEMU) is charged guest RAM plus this much for itself. Measured (anchors, RSS split):
 * QEMU microvm under KVM holds 34-35 MiB beside guest RAM; under TCG the translation cache and
 * the mmapped vmlinux (57 MiB of page cache, charged to whoever touches it first) bring it to
 * ~133 MiB. Both rounded up with margin. The CPU quota is exactly spec->cpus. */
#define CGROUP_VMM_MEMORY_OVERHEAD_KVM (UINT64_C(64) << 20)
#define CGROUP_VMM_MEMORY_OVERHEAD_TCG (UINT64_C(192) << 20)
/* The KVM figure, under the name the VM backend already uses. */
#define CGROUP_VMM_MEMORY_OVERHEAD CGROUP_VMM_MEMORY_OVERHEAD_KVM

typedef struct Cgroup Cgroup;

/* Detects the layout, creates GROUP (if missing) and LEAF, applies the limits and the device
 * allow-list. "path" is "GROUP/LEAF": two components of [A-Za-z0-9_.-], LEAF not starting with
 * "cgroup.". A stale LEAF (a monitor that crashed) is emptied and replaced.
 * Errors: -EOPNOTSUPP no usable cgroup layout / a requested controller is missing; -EBUSY the
 * v2 base has processes of its own; others from the kernel. */
int cgroup_setup(const char *path, const CgroupLimits *limits, Cgroup **ret, char **reterr_message);

/* Same, on an explicitly chosen layout and base directory (tests; a v2 mount in a private mount
 * namespace). base_dir is the directory that will hold GROUP (v2 only). */
int cgroup_setup_at(CgroupLayout layout, const char *base_dir, const char *path, const CgroupLimits *limits,
                    Cgroup **ret, char **reterr_message);

CgroupLayout cgroup_layout(const Cgroup *cg);
/* The leaf's directory (v2), or the memory hierarchy's leaf (v1); for messages and monitor.json. */
const char *cgroup_path(const Cgroup *cg);

/* clone3(flags | CLONE_PIDFD) like fork(): returns 0 in the child, the PID in the parent. On v2
 * the child is created inside the leaf (CLONE_INTO_CGROUP, Linux ≥ 5.7) and *ret_placed is
 * true; otherwise (v1, old kernel, cg == NULL) the parent must call cgroup_attach_pid() while
 * the child waits. Returns -errno on failure. */
pid_t cgroup_clone3(Cgroup *cg, uint64_t flags, int *ret_pidfd, bool *ret_placed);

/* Like cgroup_clone3() without CLONE_PIDFD's caller-visible fork semantics: the child runs fn(arg)
 * and exits with its return value. The child is born in the leaf where that is possible: v2
 * CLONE_INTO_CGROUP, or (v1) a spare's holder process clones it with CLONE_PARENT (it is still the
 * caller's child). The caller must then call cgroup_place_child() before letting the child run,
 * unless cgroup_clone_born_placed() said it need not. Returns the PID or -errno; -EAGAIN if the
 * spare's holder was gone (nothing was cloned: ask cgroup_clone_born_placed() and
 * cgroup_clone_net_ready() again, and call again). */
pid_t cgroup_clone_fn(Cgroup *cg, uint64_t flags, int (*fn)(void *), void *arg, int *ret_pidfd);
/* Whether a child of cgroup_clone_fn(cg, …) is born in its cgroup everywhere with every limit
 * written (the spare holder's leaves cover all hierarchies and no pids.max waits for the holder to
 * leave): then cgroup_place_child() has nothing to do and the child need not wait for it. */
bool cgroup_clone_born_placed(const Cgroup *cg);
/* Whether cgroup_clone_fn(cg, flags, …) will give the child the spare holder's network namespace,
 * made ahead of time with its loopback already up (CLONE_NEWNET without CLONE_NEWUSER). */
bool cgroup_clone_net_ready(const Cgroup *cg, uint64_t flags);

/* After cgroup_clone_fn(), while the child waits: writes the limits that had to wait for the
 * spare's holder to leave (pids.max) and attaches the child in the hierarchies it was not born in.
 * Returns how many it attached it in (0: born in its cgroup everywhere) or -errno. */
int cgroup_place_child(Cgroup *cg, pid_t pid);

/* Spare leaves (v1/hybrid only; -EOPNOTSUPP on v2, where CLONE_INTO_CGROUP costs nothing).
 * Creates GROUP/spare-PID (GROUP as for any workload under workloads_dir) in the hierarchies every
 * container uses (memory, pids, cpuacct, devices), writes the device allow-list, and parks a
 * holder process in them: a CLONE_VM|CLONE_FILES|CLONE_FS child of the caller in a thread group of
 * its own, moved by PID. That move (cgroup.procs: up to ~10 ms in the kernel, an RCU grace period)
 * is the cost the spare pays ahead of time. Stale spare-PID leaves of dead monitors are removed. */
int cgroup_spare_new(const char *workloads_dir, Cgroup **ret);

/* cgroup_setup(), reusing *spare (taken; NULL afterwards) when it fits: its leaves are renamed
 * to LEAF (rename(2) within GROUP), the limits written (pids.max waits for
 * cgroup_place_child()), and hierarchies the spare lacks (cpu, blkio) created. A spare that does
 * not fit (other GROUP, other device rules) or fails is destroyed and the normal path taken.
 * Returns 1 if the spare was used, 0 if not, -errno as cgroup_setup(). */
int cgroup_setup_with_spare(Cgroup **spare, const char *path, const CgroupLimits *limits, Cgroup **ret,
                            char **reterr_message);

/* Moves a process (0 = the caller) into the leaf of every hierarchy. Works after the caller
 * pivoted away from /sys: the leaf directories are held open. Async-signal-safe except for
 * formatting a number, so usable between fork() and exec(). */
int cgroup_attach_pid(Cgroup *cg, pid_t pid);

/* How many processes the kernel's OOM killer killed in the leaf. */
int cgroup_oom_kills(Cgroup *cg, uint64_t *ret);

/* {memory_bytes, memory_peak_bytes, memory_limit_bytes, cpu_usec, pids, pids_limit, oom_kills};
 * keys the kernel cannot answer are left out. */
int cgroup_stats(Cgroup *cg, json_t **ret);

/* SIGKILLs every process in the leaf (cgroup.kill where available). */
int cgroup_kill_all(Cgroup *cg);

/* Kills leftovers (and a spare's holder), removes the leaf in every hierarchy (waiting, bounded,
 * for dying processes to leave), frees. GROUP is kept. Accepts NULL; returns NULL. */
Cgroup *cgroup_destroy(Cgroup *cg);
DEFINE_CLEANUP_FUNC(Cgroup *, cgroup_destroy);

/* "GROUP/KIND-NAME" for a workload whose state directory is workload_dir (STATE/workloads/NAME):
 * GROUP is "isod" for the default state directory, else "isod-" + a hash of it, so that two isod
 * instances (tests) never share a leaf. KIND is "ctr" or "vm". */
int cgroup_path_for_workload(const char *workload_dir, const char *kind, const char *name, char **ret);
