/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cgroup.h"
#include "monitor.h"

/* Private to backends/container/. */

typedef struct SeccompProgram SeccompProgram;

typedef struct Container {
        Monitor *monitor;
        pid_t pid; /* container init, host PID */
        int pidfd;
        int mnt_ns_fd; /* its mount namespace, held until the exit is reported (container.c) */
        sd_event_source *child_src;
        sd_event_source *stop_timer;
        char *lower;             /* the image's (read-only) root directory, or its layers (lower_stack) */
        bool lower_stack;        /* lower is overlay lowerdir= (a stored image, docs/images.md) */
        Cgroup *cgroup;          /* the workload's cgroup (cgroup.c); NULL before start */
        SeccompProgram *seccomp; /* compiled filter (seccomp.c), NULL = unconfined; for exec too */
        bool userns;             /* in its own user namespace (userns.c) */
        bool net_files;          /* DIR/resolv.conf and DIR/hosts are to be bound on /etc */
        bool net_ready;          /* born in a network namespace made ahead, loopback up (cgroup-spare.c) */
        uid_t userns_base;       /* host id of root inside */
        int userns_lock_fd;      /* holds the id range (flock); -EBADF if none */
        int userns_sync[2];      /* parent → child: maps written, idmapped trees (SCM_RIGHTS) */
        bool stopping;
        int pod_pidfd; /* spec "pod": the pod's init, whose ipc, uts and net namespaces the init joins */
        int netns_fd;  /* network mode netns: the namespace the init joins */
} Container;

/* What the child needs to build the container's file system; filled before clone. */
typedef struct ContainerFsConfig {
        const char *lower; /* read-only lower layer (image rootfs), or with lower_stack the image's
                            * layers as overlay's lowerdir=, top first, ':' between them */
        bool lower_stack;
        const char *upper; /* DIR/upper */
        const char *work;  /* DIR/work */
        const char *root;  /* DIR/rootfs: the mount point */
        const WorkloadSpec *spec;
        /* User namespace (userns.c): detached idmapped trees from the parent, NULL if none;
         * [0] = the image, [1 + k] = spec mount k, each -EBADF where idmapping was unavailable. */
        bool userns;
        const int *idmap_fds;
        const char *lower_mnt; /* DIR/lower: where an idmapped image is attached for overlay */
        /* Network modes nat and host: files bound read-only on /etc/resolv.conf and /etc/hosts
         * (written by the monitor in DIR), NULL for none. */
        const char *resolv_conf;
        const char *hosts;
} ContainerFsConfig;

/* mounts.c: runs in the child, inside its new mount namespace. On failure returns -errno and sets
 * *reterr_what to a static description of the step. */
int container_setup_fs(const ContainerFsConfig *c, const char **reterr_what);

/* join.c: namespaces joined instead of made. The pod's init (spec "pod") as a pidfd, checked to be
 * a running container of this isod; an existing network namespace (network mode netns), checked
 * to be one and not the host's. < 0 with MSG saying why. */
int container_pod_open(Monitor *m, int *ret, char *msg, size_t n);
int container_netns_open(const char *path, int *ret, char *msg, size_t n);
/* Whether isod masks p (binds /dev/null or an empty tmpfs over it), or makes it read-only, as
 * OCI's defaults do (mounts.c). */
bool container_path_is_masked(const char *p);
bool container_path_is_readonly(const char *p);
/* Resolves a path inside the container root without following symlinks out of it. */
int container_open_in_root(int root_fd, const char *path, int flags, bool create_dir, bool create_file);

/* netlink.c */
/* Brings up "lo" in the current network namespace. */
int container_loopback_up(void);

/* seccomp.c: profile = NULL/"default", "unconfined" (→ *ret = NULL) or an absolute path to a JSON
 * profile. Compiles once per profile content and caches the BPF in CACHE_DIR/seccomp/. On
 * failure *reterr_message (malloc'd) names the file and the problem. */
int seccomp_program_prepare(const char *profile, const char *cache_dir, SeccompProgram **ret,
                            bool *ret_cached, char **reterr_message);
SeccompProgram *seccomp_program_free(SeccompProgram *p);
size_t seccomp_program_size(const SeccompProgram *p);
/* In the child, the last step before execve() (after no_new_privs). NULL: no filter. */
int seccomp_program_load(const SeccompProgram *p);

/* caps.c: bounding set first (still privileged), then the user switch, then finish. */
uint64_t container_caps_default(void);
/* The spec's "capabilities" if set (validated: within the default), else the default. */
uint64_t container_caps_of(const WorkloadSpec *spec);
int container_caps_bound(uint64_t keep);
int container_caps_finish(uint64_t set);

/* userns.c */
uint32_t container_userns_size(void);
int container_userns_allocate(const char *name, uid_t *ret_base, int *ret_lock_fd);
int container_userns_write_maps(pid_t pid, uid_t base);
int container_userns_idmap_tree(const char *path, pid_t pid, bool readonly, int *ret_fd);
int container_userns_send(int sock, const int *fds, size_t n);
int container_userns_recv(int sock, int *ret_fds, size_t n);
int container_userns_become_root(void);
/* Before clone: seccomp program, id range, layer ownership. After clone (parent): maps, idmapped
 * trees, release the child. On failure *reterr_message says what went wrong. */
int container_security_prepare(Monitor *m, Container *c, char **reterr_message);
int container_userns_start_child(Monitor *m, Container *c, pid_t pid, char **reterr_message);
