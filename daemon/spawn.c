/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "log.h"
#include "proto.h"
#include "spawn.h"
#include "util.h"

/* fork → setsid → fork → exec, so the monitor is nobody's child in isod. */
static int spawn_process(Manager *m, const char *dir, const int stdio[3], int conn) {
        char dir_arg[4200], wl_arg[4200];
        pid_t pid;
        int status;

        if (dir && snprintf(dir_arg, sizeof dir_arg, "--dir=%s", dir) >= (int) sizeof dir_arg)
                return -ENAMETOOLONG;
        /* A spare prepares the cgroup leaves of its workload-to-be under this instance's GROUP. */
        if (!dir && snprintf(wl_arg, sizeof wl_arg, "--workloads-dir=%s/workloads", m->config.state_dir) >=
                            (int) sizeof wl_arg)
                return -ENAMETOOLONG;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fds[4], null_fd;
                sigset_t ss;
                pid_t gc;

                (void) setsid();
                gc = fork();
                if (gc < 0)
                        _exit(1);
                if (gc > 0)
                        _exit(0);

                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null_fd < 0)
                        _exit(1);
                for (int i = 0; i < 3; i++)
                        fds[i] = stdio && stdio[i] >= 0 ? stdio[i] : null_fd;
                fds[3] = conn;
                for (int i = 0; i < 4; i++) {
                        fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
                        if (fds[i] < 0)
                                _exit(1);
                }
                for (int i = 0; i < 4; i++)
                        if (dup2(fds[i], 3 + i) < 0)
                                _exit(1);
                if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0)
                        _exit(1);
                (void) close_all_fds_except((int[]){ 3, 4, 5, 6 }, 4);
                sigemptyset(&ss);
                (void) sigprocmask(SIG_SETMASK, &ss, NULL);
                if (dir)
                        execl(m->config.monitor_path, "isod-monitor", dir_arg, "--stdio=3,4,5",
                              "--conn-fd=6", m->config.debug ? "--debug" : NULL, (char *) NULL);
                else
                        execl(m->config.monitor_path, "isod-monitor", "--spare", "--conn-fd=6", wl_arg,
                              m->config.debug ? "--debug" : NULL, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -ECHILD;
        return 0;
}

static int new_connection(int ret[2]) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ret) < 0)
                return -errno;
        /* Only isod's end is non-blocking; the monitor sets its own. */
        return fd_set_nonblock(ret[0], true);
}

static int on_spare_backoff(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->spare_timer = sd_event_source_disable_unref(m->spare_timer);
        manager_spare_refill(m);
        return 0;
}

static int on_spare_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        uint64_t lived = now_usec(CLOCK_MONOTONIC) - m->spare_started_usec;
        int r;

        /* A spare never speaks first: readable means it died. Start another one; if they keep
         * dying at once (a broken or mismatched isod-monitor), back off instead of spinning. */
        manager_spare_done(m);
        if (lived >= USEC_PER_SEC) {
                log_debug("Spare monitor went away.");
                m->spare_failures = 0;
                manager_spare_refill(m);
                return 0;
        }
        m->spare_failures++;
        if (m->spare_failures == 3)
                log_warning("Spare monitors exit right after starting; check that '%s' matches this isod. "
                            "Launches start monitors directly meanwhile.",
                            m->config.monitor_path);
        r = sd_event_add_time_relative(m->event, &m->spare_timer, CLOCK_MONOTONIC,
                                       (100 * USEC_PER_MSEC) << MIN(m->spare_failures, 8U), 0,
                                       on_spare_backoff, m);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule the next spare monitor, ignoring: %m");
        return 0;
}

static int on_spare_defer(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        int sp[2], r;

        m->spare_defer = sd_event_source_disable_unref(m->spare_defer);
        if (m->spare_conn >= 0)
                return 0;
        r = new_connection(sp);
        if (r < 0)
                return 0;
        r = spawn_process(m, NULL, NULL, sp[1]);
        (void) close(sp[1]);
        if (r < 0) {
                log_warning_errno(r, "Failed to start a spare monitor, ignoring: %m");
                (void) close(sp[0]);
                return 0;
        }
        r = sd_event_add_io(m->event, &m->spare_src, sp[0], EPOLLIN, on_spare_io, m);
        if (r < 0) {
                (void) close(sp[0]);
                return 0;
        }
        m->spare_conn = sp[0];
        m->spare_started_usec = now_usec(CLOCK_MONOTONIC);
        return 0;
}

void manager_spare_refill(Manager *m) {
        int r;

        if (m->spare_conn >= 0 || m->spare_defer || m->spare_timer || m->no_spare)
                return;
        /* At idle priority: after the work at hand (replying to the launch) is done. */
        r = sd_event_add_defer(m->event, &m->spare_defer, on_spare_defer, m);
        if (r < 0)
                return;
        (void) sd_event_source_set_priority(m->spare_defer, SD_EVENT_PRIORITY_IDLE);
}

void manager_spare_done(Manager *m) {
        m->spare_src = sd_event_source_disable_unref(m->spare_src);
        m->spare_defer = sd_event_source_disable_unref(m->spare_defer);
        m->spare_timer = sd_event_source_disable_unref(m->spare_timer);
        if (m->spare_conn >= 0)
                (void) close(m->spare_conn);
        m->spare_conn = -EBADF;
}

int monitor_spawn_for(Manager *m, const char *dir, const int stdio[3], int *ret_conn) {
        int sp[2], r;

        if (m->spare_conn >= 0) {
                _cleanup_close_ int null_fd = -EBADF;
                int fds[3];
                json_t *msg;
                int conn = m->spare_conn;

                m->spare_src = sd_event_source_disable_unref(m->spare_src);
                m->spare_conn = -EBADF;
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int i = 0; i < 3; i++)
                        fds[i] = stdio[i] >= 0 ? stdio[i] : null_fd;
                msg = json_pack("{s:s,s:s}", "op", "assign", "dir", dir);
                r = msg ? proto_send(conn, msg, fds, 3) : -ENOMEM;
                json_decref(msg);
                manager_spare_refill(m);
                if (r >= 0) {
                        *ret_conn = conn;
                        return 0;
                }
                log_debug_errno(r, "Spare monitor unusable (%m), starting one directly.");
                (void) close(conn);
        }

        r = new_connection(sp);
        if (r < 0)
                return r;
        r = spawn_process(m, dir, stdio, sp[1]);
        (void) close(sp[1]);
        if (r < 0) {
                (void) close(sp[0]);
                return r;
        }
        manager_spare_refill(m);
        *ret_conn = sp[0];
        return 0;
}
