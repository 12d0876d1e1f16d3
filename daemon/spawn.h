/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Starting isod-monitor processes. A monitor is double-forked (never isod's child, so it outlives
 * isod) and gets: fds 3,4,5 = the workload's stdio, 6 = its connection to isod.
 *
 * To keep exec and the dynamic loader off the launch path, isod keeps one spare monitor started
 * ahead of time (`isod-monitor --spare`); a launch hands it the workload directory and stdio, and
 * a new spare is started when the loop is idle. */

/* Returns the connection (isod's end) to a monitor now serving dir with the given stdio. */
int monitor_spawn_for(Manager *m, const char *dir, const int stdio[3], int *ret_conn);
void manager_spare_refill(Manager *m);
void manager_spare_done(Manager *m);
