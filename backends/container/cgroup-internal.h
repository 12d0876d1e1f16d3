/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

/* What the pieces of the cgroup code share: the Cgroup itself and the helpers they all call.
 *
 *   cgroup.c         the Cgroup object: its files, clone/attach, stats, kill, removal
 *   cgroup-setup.c   making a workload's leaf: layout, v2 delegation, v1 hierarchies, stale leaves
 *   cgroup-limits.c  writing the limits and the device allow-list into the leaf
 *   cgroup-spare.c   spare leaves (v1) and the holder process that sits in them */

#define CGROUP_ROOT "/sys/fs/cgroup"

typedef enum Controller {
        CTRL_MEMORY,
        CTRL_PIDS,
        CTRL_CPU,
        CTRL_CPUACCT, /* v1 only: v2 has cpu.stat in every cgroup */
        CTRL_IO,      /* "io" on v2, "blkio" on v1 */
        CTRL_DEVICES, /* v1 only: v2 uses an eBPF program */
        _CTRL_MAX,
} Controller;

/* One leaf directory: on v2 the only one, on v1 one per hierarchy used. */
typedef struct CgroupDir {
        char *path;    /* the leaf (its last component is the leaf's current name) */
        int group_fd;  /* GROUP, to rmdir (or rename) the leaf */
        int fd;        /* the leaf */
        unsigned mask; /* 1 << Controller served by this hierarchy */
        bool removed;
} CgroupDir;

/* A spare's holder process (cgroup-spare.c). */
typedef struct CgroupHolder CgroupHolder;

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

static inline int ctrl_fd(Cgroup *cg, Controller c) {
        return cg->dir_of[c] >= 0 ? cg->dirs[cg->dir_of[c]].fd : -EBADF;
}

/* ---------------------------------------------------------------- cgroup.c */
int write_at(int dir_fd, const char *file, const char *value);
int write_u64_at(int dir_fd, const char *file, uint64_t v);
int read_at(int dir_fd, const char *file, char *buf, size_t size);
bool word_in(const char *list, const char *word);
Cgroup *cgroup_new(CgroupLayout layout, const char *group, const char *leaf);
int kill_procs_at(int dir_fd);
int attach_dirs(Cgroup *cg, pid_t pid, unsigned skip);

/* ---------------------------------------------------------------- cgroup-setup.c */
int check_path(const char *path, const char **ret_leaf, char **ret_group);
int remove_stale_leaf(CgroupLayout layout, int group_fd, const char *name);
unsigned v1_need(const CgroupLimits *l, unsigned *ret_limited);
int v1_add_hierarchies(Cgroup *cg, const char *group, unsigned need, char **reterr_message);
int setup_v1(Cgroup *cg, const char *group, const CgroupLimits *l, char **reterr_message);

/* ---------------------------------------------------------------- cgroup-limits.c */
int apply_limits(Cgroup *cg, const CgroupLimits *l, char **reterr_message);
int devices_v1(int dir_fd, const CgroupDeviceRule *extra, size_t n_extra);

/* ---------------------------------------------------------------- cgroup-spare.c */
CgroupHolder *holder_free(CgroupHolder *h);
