/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Namespaces a container joins instead of making its own (runs in isod-monitor, before the clone):
 * a pod's (spec "pod": its sandbox's ipc, uts and network) and an existing network namespace
 * (network mode netns). docs/oci.md#pods, docs/workload-spec.md. */

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "container.h"
#include "util.h"

/* The pod's workload.json and monitor.json are siblings of ours: ../POD/FILE, parsed. */
static int pod_file(Monitor *m, int workloads_fd, const char *file, size_t max, json_t **ret, char *msg,
                    size_t n) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (asprintf(&path, "%s/%s", m->spec->pod, file) < 0)
                return -ENOMEM;
        r = read_full_file_at(workloads_fd, path, max, &text, NULL);
        if (r < 0) {
                (void) snprintf(msg, n, "pod '%s' has no state to join: %s", m->spec->pod, strerror(-r));
                return r;
        }
        *ret = json_loads(text, 0, NULL);
        return 0;
}

/* The pod's init, from its monitor.json: running, or an error saying what it is. */
static int pod_leader(Monitor *m, int workloads_fd, pid_t *ret, char *msg, size_t n) {
        const char *state;
        json_t *j = NULL;
        int r;

        r = pod_file(m, workloads_fd, "monitor.json", 64 * 1024, &j, msg, n);
        if (r < 0)
                return r;
        state = json_string_value(json_object_get(j, "state"));
        *ret = (pid_t) json_integer_value(json_object_get(j, "leader_pid"));
        if (!streq_ptr(state, "running") || *ret <= 0) {
                (void) snprintf(msg, n, "pod '%s' is %s, not running: there are no namespaces to join",
                                m->spec->pod, strna(state));
                r = -ESRCH;
        }
        json_decref(j);
        return r;
}

/* The pod's init as a pidfd: the workload named by spec "pod" must be a container of this isod
 * (its isolation never changes: read once) and running. Its monitor.json is read twice around
 * pidfd_open(), so that the PID cannot have been reused in between; a pidfd then pins it. */
int container_pod_open(Monitor *m, int *ret, char *msg, size_t n) {
        _cleanup_close_ int workloads_fd = -EBADF, pidfd = -EBADF;
        const char *iso;
        pid_t leader, again;
        json_t *w = NULL;
        int r;

        workloads_fd = openat(m->dir_fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (workloads_fd < 0)
                return -errno;
        r = pod_file(m, workloads_fd, "workload.json", 4 * 1024 * 1024, &w, msg, n);
        if (r < 0)
                return r;
        iso = json_string_value(json_object_get(w, "isolation"));
        if (!streq_ptr(iso, "container")) {
                (void) snprintf(msg, n, "pod '%s' is not a container (%s): its namespaces cannot be joined",
                                m->spec->pod, strna(iso));
                json_decref(w);
                return -EOPNOTSUPP;
        }
        json_decref(w);
        r = pod_leader(m, workloads_fd, &leader, msg, n);
        if (r < 0)
                return r;
        pidfd = pidfd_open_compat(leader, 0);
        if (pidfd < 0) {
                (void) snprintf(msg, n, "pod '%s': its init (PID %d) is gone", m->spec->pod, (int) leader);
                return -ESRCH;
        }
        r = pod_leader(m, workloads_fd, &again, msg, n);
        if (r < 0)
                return r;
        if (again != leader) {
                (void) snprintf(msg, n, "pod '%s' restarted while being joined", m->spec->pod);
                return -ESRCH;
        }
        *ret = TAKE_FD(pidfd);
        return 0;
}

/* Network mode netns: PATH must be a network namespace (nsfs, NS_GET_NSTYPE), and not the one the
 * monitor runs in (the host's: that is network mode host, which the policy grants separately). */
int container_netns_open(const char *path, int *ret, char *msg, size_t n) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st, own;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                (void) snprintf(msg, n, "cannot open the network namespace %s: %s", path, strerror(-r));
                return r;
        }
        if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
                (void) snprintf(msg, n, "%s is not a network namespace", path);
                return -EINVAL;
        }
        if (fstat(fd, &st) < 0 || stat("/proc/self/ns/net", &own) < 0)
                return -errno;
        if (st.st_dev == own.st_dev && st.st_ino == own.st_ino) {
                (void) snprintf(msg, n, "%s is the host's network namespace: that is network mode host",
                                path);
                return -EPERM;
        }
        *ret = TAKE_FD(fd);
        return 0;
}
