/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "monitor.h"

/* Private to backends/container/. */

typedef struct Container {
        Monitor *monitor;
        pid_t pid;                 /* container init, host PID */
        int pidfd;
        sd_event_source *child_src;
        sd_event_source *stop_timer;
        char *lower;               /* the image's (read-only) root directory */
        bool stopping;
} Container;

/* What the child needs to build the container's file system; filled before clone. */
typedef struct ContainerFsConfig {
        const char *lower;         /* read-only lower layer (image rootfs) */
        const char *upper;         /* DIR/upper */
        const char *work;          /* DIR/work */
        const char *root;          /* DIR/rootfs: the mount point */
        const WorkloadSpec *spec;
} ContainerFsConfig;

/* mounts.c: runs in the child, inside its new mount namespace. On failure returns -errno and sets
 * *reterr_what to a static description of the step. */
int container_setup_fs(const ContainerFsConfig *c, const char **reterr_what);
/* Resolves a path inside the container root without following symlinks out of it. */
int container_open_in_root(int root_fd, const char *path, int flags, bool create_dir, bool create_file);

/* netlink.c */
int nl_to_errno(int nle);
/* Brings up "lo" in the current network namespace. */
int container_loopback_up(void);
