/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "macro.h"
#include "spec.h"

/* The backends do their real work inside the per-workload monitor process (isod-monitor), so a
 * slow VM boot or a stuck mount never blocks isod, and a workload outlives isod. isod itself
 * calls only probe() and validate(). */

typedef enum BackendKind {
        BACKEND_CONTAINER,
        BACKEND_VM,
        _BACKEND_KIND_MAX,
        _BACKEND_KIND_INVALID = -EINVAL,
} BackendKind;

const char *backend_kind_to_string(BackendKind k);
BackendKind backend_kind_from_string(const char *s);

/* Where this host keeps what the backends need (from isod's configuration). */
typedef struct BackendHostConfig {
        const char *image_dir;
        const char *vm_dir; /* vmlinux + initramfs.cpio (isod-setup / isod-vm-setup) */
        const char *cache_dir;
        const char *qemu;
        const char *accel; /* auto|kvm|tcg */
} BackendHostConfig;

typedef struct Monitor Monitor;
typedef struct ExecRequest ExecRequest;

struct backend_ops {
        const char *name; /* "container", "vm" */

        /* 0 if usable on this host, else -EOPNOTSUPP with a malloc'd reason ("no /dev/kvm", …). A
         * usable backend may still return a reason worth showing (e.g. "emulating the CPU"). */
        int (*probe)(const BackendHostConfig *cfg, char **ret_reason);
        /* Backend-specific checks of an (effective) spec; -EINVAL/-EOPNOTSUPP with a message. */
        int (*validate)(const WorkloadSpec *spec, char **reterr_message);

        /* The rest runs in the monitor. start() launches the payload and reports through
         * monitor_payload_running() / monitor_payload_exited(); it may finish asynchronously. */
        int (*start)(Monitor *m);
        /* Graceful stop, then hard stop after timeout_usec. */
        int (*stop)(Monitor *m, uint64_t timeout_usec);
        int (*kill)(Monitor *m, int signo);
        /* Runs a process inside the workload; completion via monitor_exec_finished(). */
        int (*exec)(Monitor *m, ExecRequest *x);
        /* Returns a JSON object of figures (memory_bytes, cpu_usec, pids, …). */
        int (*stats)(Monitor *m, json_t **ret);
        /* Releases everything the backend made (cgroups, mounts, sockets); handles half-created. */
        void (*destroy)(Monitor *m);
};

/* The only switch over kinds. Asserts that every operation is set. */
const struct backend_ops *backend_get(BackendKind k);
