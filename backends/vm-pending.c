/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "backend.h"

/* Until the VM backend lands, the table exists so that requests for a VM get a clear
 * BackendUnavailable answer instead of silently running as a container. */

static int vm_probe(char **ret_reason) {
        *ret_reason = strdup("the VM backend is not part of this build yet");
        return -EOPNOTSUPP;
}

static int vm_validate(const WorkloadSpec *spec, char **reterr) {
        return -EOPNOTSUPP;
}

static int vm_start(Monitor *m) {
        return -EOPNOTSUPP;
}

static int vm_stop(Monitor *m, uint64_t timeout_usec) {
        return -EOPNOTSUPP;
}

static int vm_kill(Monitor *m, int signo) {
        return -EOPNOTSUPP;
}

static int vm_exec(Monitor *m, ExecRequest *x) {
        return -EOPNOTSUPP;
}

static int vm_stats(Monitor *m, json_t **ret) {
        return -EOPNOTSUPP;
}

static void vm_destroy(Monitor *m) {
}

const struct backend_ops vm_backend_ops = {
        .name = "vm",
        .probe = vm_probe,
        .validate = vm_validate,
        .start = vm_start,
        .stop = vm_stop,
        .kill = vm_kill,
        .exec = vm_exec,
        .stats = vm_stats,
        .destroy = vm_destroy,
};
