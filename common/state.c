/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "state.h"

static const char *const workload_state_table[_WORKLOAD_STATE_MAX] = {
        [WORKLOAD_CREATED] = "created",   [WORKLOAD_STARTING] = "starting", [WORKLOAD_RUNNING] = "running",
        [WORKLOAD_STOPPING] = "stopping", [WORKLOAD_EXITED] = "exited",     [WORKLOAD_FAILED] = "failed",
};

const char *workload_state_to_string(WorkloadState s) {
        return s >= 0 && s < _WORKLOAD_STATE_MAX ? workload_state_table[s] : NULL;
}

WorkloadState workload_state_from_string(const char *s) {
        for (int i = 0; s && i < _WORKLOAD_STATE_MAX; i++)
                if (streq(s, workload_state_table[i]))
                        return (WorkloadState) i;
        return _WORKLOAD_STATE_INVALID;
}

bool workload_state_transition_ok(WorkloadState from, WorkloadState to) {
        /* created → starting → running → stopping → exited|failed; any live state may end. */
        switch (from) {
        case WORKLOAD_CREATED:
                return to == WORKLOAD_STARTING || to == WORKLOAD_FAILED;
        case WORKLOAD_STARTING:
                return to == WORKLOAD_RUNNING || to == WORKLOAD_STOPPING || to == WORKLOAD_EXITED ||
                       to == WORKLOAD_FAILED;
        case WORKLOAD_RUNNING:
                return to == WORKLOAD_STOPPING || to == WORKLOAD_EXITED || to == WORKLOAD_FAILED;
        case WORKLOAD_STOPPING:
                return to == WORKLOAD_EXITED || to == WORKLOAD_FAILED;
        case WORKLOAD_EXITED:
        case WORKLOAD_FAILED:
                return false;
        default:
                return false;
        }
}
