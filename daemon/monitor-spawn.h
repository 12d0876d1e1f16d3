/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Starting isod-monitor processes. A monitor is spawned vfork-style and detaches itself with one
 * more fork (never isod's child, so it outlives isod); it gets fds 3,4,5 = the workload's stdio,
 * 6 = its connection to isod.
 *
 * To keep exec, the dynamic loader and the cgroup preparation off the launch path, isod keeps a
 * pool of spare monitors (`isod-monitor --spare`, --spare-monitors=N, default 4) started ahead of
 * time. A spare says {"event":"ready"} once prepared; a launch hands the oldest ready one (else the
 * oldest) the workload directory and stdio. The pool is refilled when the loop is idle — at once
 * if it ran dry, else a little later, so that the launch in flight has the CPUs. */

/* Returns the connection (isod's end) to a monitor now serving dir with the given stdio. */
int monitor_spawn_for(Manager *m, const char *dir, const int stdio[3], int *ret_conn);
void manager_spare_refill(Manager *m);

/* `isod-monitor --read-logs=OPTIONS --dir=DIR` writing to out_fd (its fd 3), following until the
 * process pidfd (its fd 4, -EBADF: none) refers to has exited; detached like a monitor. */
int monitor_spawn_log_reader(Manager *m, const char *dir, const char *options, int out_fd, int pidfd);
void manager_spare_done(Manager *m);
