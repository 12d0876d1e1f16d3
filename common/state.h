/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* The workload state machine, shared by isod and its tests. */

typedef enum WorkloadState {
        WORKLOAD_CREATED,
        WORKLOAD_STARTING,
        WORKLOAD_RUNNING,
        WORKLOAD_STOPPING,
        WORKLOAD_EXITED,
        WORKLOAD_FAILED,
        _WORKLOAD_STATE_MAX,
        _WORKLOAD_STATE_INVALID = -EINVAL,
} WorkloadState;

const char *workload_state_to_string(WorkloadState s);
WorkloadState workload_state_from_string(const char *s);
/* The state machine: may a workload in state `from` move to `to`? */
bool workload_state_transition_ok(WorkloadState from, WorkloadState to);
