/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "log.h"
#include "proto.h"
#include "monitor-spawn.h"
#include "util.h"

/* How long a refill waits after a launch took a spare while others are still ready: the launch in
 * flight gets the CPUs first. An empty pool is refilled at once. */
#define SPARE_REFILL_DELAY_USEC (5 * USEC_PER_MSEC)

static int on_detach_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("A monitor could not start (its launcher ended with %s %d).",
                            si->si_code == CLD_EXITED ? "status" : "signal", si->si_status);
        return 0;
}

/* posix_spawn() (vfork-style: isod's memory is not copied) of `isod-monitor --detach …` (argv),
 * which forks once more and lets this first process exit, so that the monitor is never isod's
 * child and outlives it. fds[i] becomes its fd 3+i (-EBADF: /dev/null); its stdin and stdout are
 * /dev/null, its stderr isod's (its log). The first process is reaped from the event loop. */
static int spawn_detached(Manager *m, const char *const *argv, const int *fds, size_t n_fds) {
        _cleanup_close_ int null_fd = -EBADF;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        int high[8], r;
        sigset_t none;
        pid_t pid;

        assert(n_fds <= ELEMENTSOF(high));
        for (size_t i = 0; i < ELEMENTSOF(high); i++)
                high[i] = -EBADF;
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                return -errno;
        /* Above 10 first, so that no dup2() below overwrites a source it still needs. */
        for (size_t i = 0; i < n_fds; i++) {
                high[i] = fcntl(fds[i] >= 0 ? fds[i] : null_fd, F_DUPFD_CLOEXEC, 10);
                if (high[i] < 0) {
                        r = -errno;
                        goto finish;
                }
        }
        r = -posix_spawn_file_actions_init(&fa);
        if (r < 0)
                goto finish;
        r = -posix_spawnattr_init(&attr);
        if (r < 0) {
                (void) posix_spawn_file_actions_destroy(&fa);
                goto finish;
        }
        sigemptyset(&none);
        for (size_t i = 0; i < n_fds && r >= 0; i++)
                r = -posix_spawn_file_actions_adddup2(&fa, high[i], 3 + (int) i);
        if (r >= 0)
                r = -posix_spawn_file_actions_adddup2(&fa, null_fd, 0);
        if (r >= 0)
                r = -posix_spawn_file_actions_adddup2(&fa, null_fd, 1);
        if (r >= 0)
                r = -posix_spawn_file_actions_addclosefrom_np(&fa, 3 + (int) n_fds);
        if (r >= 0)
                r = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
        if (r >= 0)
                r = -posix_spawnattr_setsigmask(&attr, &none);
        if (r >= 0)
                r = -posix_spawn(&pid, m->config.monitor_path, &fa, &attr, (char *const *) argv, environ);
        (void) posix_spawn_file_actions_destroy(&fa);
        (void) posix_spawnattr_destroy(&attr);
        if (r < 0)
                goto finish;
        /* SIGCHLD is blocked (main.c): sd-event reaps it. */
        r = sd_event_add_child(m->event, NULL, pid, WEXITED, on_detach_exit, NULL);
        if (r < 0) /* cannot watch it: wait now (it only forks and exits) */
                (void) waitpid(pid, NULL, 0);
        r = 0;
finish:
        for (size_t i = 0; i < n_fds; i++)
                if (high[i] >= 0)
                        (void) close(high[i]);
        return r;
}

/* A monitor for dir (a spare if !dir, the zygote if zygote): fds 3,4,5 the workload's stdio, 6 its
 * connection to isod. */
static int spawn_process(Manager *m, const char *dir, bool zygote, const int stdio[3], int conn) {
        char dir_arg[4200], wl_arg[4200];
        const char *argv[8];
        size_t n = 0;

        if (dir && snprintf(dir_arg, sizeof dir_arg, "--dir=%s", dir) >= (int) sizeof dir_arg)
                return -ENAMETOOLONG;
        /* A spare prepares the cgroup leaves of its workload-to-be under this instance's GROUP. */
        if (!dir && snprintf(wl_arg, sizeof wl_arg, "--workloads-dir=%s/workloads", m->config.state_dir) >=
                            (int) sizeof wl_arg)
                return -ENAMETOOLONG;
        argv[n++] = "isod-monitor";
        argv[n++] = "--detach";
        if (dir) {
                argv[n++] = dir_arg;
                argv[n++] = "--stdio=3,4,5";
        } else {
                argv[n++] = zygote ? "--zygote" : "--spare";
                argv[n++] = wl_arg;
        }
        argv[n++] = "--conn-fd=6";
        if (m->config.debug)
                argv[n++] = "--debug";
        argv[n] = NULL;
        return spawn_detached(m, argv,
                              (int[]){ stdio ? stdio[0] : -EBADF, stdio ? stdio[1] : -EBADF,
                                       stdio ? stdio[2] : -EBADF, conn },
                              4);
}

int monitor_spawn_log_reader(Manager *m, const char *dir, const char *options, int out_fd, int pidfd) {
        _cleanup_free_ char *dir_arg = NULL, *opt_arg = NULL;
        const char *argv[8];
        size_t n = 0;

        if (asprintf(&dir_arg, "--dir=%s", dir) < 0 || asprintf(&opt_arg, "--read-logs=%s", options) < 0)
                return -ENOMEM;
        argv[n++] = "isod-monitor";
        argv[n++] = "--detach";
        argv[n++] = dir_arg;
        argv[n++] = opt_arg;
        argv[n++] = "--out-fd=3";
        if (pidfd >= 0)
                argv[n++] = "--pidfd=4";
        argv[n] = NULL;
        return spawn_detached(m, argv, (int[]){ out_fd, pidfd }, pidfd >= 0 ? 2 : 1);
}

/* A connection to a monitor: ret[0] isod's end, ret[1] the monitor's. */
static int new_connection(int ret[2]) {
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ret) < 0)
                return -errno;
        /* Only isod's end is non-blocking; the monitor sets its own. */
        r = fd_set_nonblock(ret[0], true);
        if (r < 0) {
                (void) close(ret[0]);
                (void) close(ret[1]);
        }
        return r;
}

/* A monitor (a spare if !dir, the zygote if zygote) on a new connection; *ret_conn is isod's end. */
static int spawn_connected(Manager *m, const char *dir, bool zygote, const int stdio[3], int *ret_conn) {
        int sp[2], r;

        r = new_connection(sp);
        if (r < 0)
                return r;
        r = spawn_process(m, dir, zygote, stdio, sp[1]);
        (void) close(sp[1]);
        if (r < 0) {
                (void) close(sp[0]);
                return r;
        }
        *ret_conn = sp[0];
        return 0;
}

static void spare_close(Spare *s) {
        s->src = sd_event_source_disable_unref(s->src);
        s->pidfd = safe_close(s->pidfd);
        if (s->conn >= 0)
                (void) close(s->conn);
        s->conn = -EBADF;
}

/* Removes spares[i] from the pool; returns its connection (closed if !keep_conn). */
static int spare_remove(Manager *m, size_t i, bool keep_conn) {
        Spare *s = &m->spares[i];
        int conn = s->conn;

        s->src = sd_event_source_disable_unref(s->src);
        s->pidfd = safe_close(s->pidfd);
        if (!keep_conn && conn >= 0)
                (void) close(conn);
        memmove(m->spares + i, m->spares + i + 1, (m->n_spares - i - 1) * sizeof(Spare));
        m->n_spares--;
        return keep_conn ? conn : -EBADF;
}

static void spare_schedule(Manager *m, uint64_t delay_usec);

static int on_spare_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->spare_timer = sd_event_source_disable_unref(m->spare_timer);
        manager_spare_refill(m);
        return 0;
}

static int on_spare_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int fds[PROTO_MAX_FDS];
        size_t n_fds = 0, i;
        json_t *msg = NULL;
        uint64_t lived;
        int r;

        for (i = 0; i < m->n_spares && m->spares[i].conn != fd; i++)
                ;
        if (i == m->n_spares)
                return 0;
        /* A spare says {"event":"spare","pid":N} when it starts and {"event":"ready"} once
         * prepared; anything else, or EOF, means it died. */
        r = proto_recv(fd, &msg, fds, &n_fds);
        if (r == -EAGAIN || r == -EINTR)
                return 0;
        if (r > 0) {
                const char *event = json_string_value(json_object_get(msg, "event"));
                bool ready = streq_ptr(event, "ready"), hello = streq_ptr(event, "spare");
                json_int_t pid = json_integer_value(json_object_get(msg, "pid"));

                json_decref(msg);
                proto_close_fds(fds, n_fds);
                if (hello && n_fds == 0 && pid > 1 && pid <= INT32_MAX && m->spares[i].pidfd < 0) {
                        /* Pinned now, while it certainly is our spare (it just spoke). */
                        m->spares[i].pidfd = pidfd_open_compat((pid_t) pid, 0);
                        m->spares[i].pid = (pid_t) pid;
                        return 0;
                }
                if (ready && n_fds == 0) {
                        log_debug("Spare monitor ready after %" PRIu64 " us (%zu in the pool).",
                                  now_usec(CLOCK_MONOTONIC) - m->spares[i].started_usec, m->n_spares);
                        m->spares[i].ready = true;
                        m->spare_failures = 0;
                        return 0;
                }
        }
        lived = now_usec(CLOCK_MONOTONIC) - m->spares[i].started_usec;
        (void) spare_remove(m, i, false);
        /* If they keep dying at once (a broken or mismatched isod-monitor), back off instead of
         * spinning. */
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
        spare_schedule(m, (100 * USEC_PER_MSEC) << MIN(m->spare_failures, 8U));
        return 0;
}

static void zygote_close(Manager *m) {
        m->zygote_src = sd_event_source_disable_unref(m->zygote_src);
        m->zygote_conn = safe_close(m->zygote_conn);
}

static int on_zygote_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        /* It never speaks: readable means it is gone. The next spare starts a new one. */
        log_debug("The spare monitors' zygote went away.");
        zygote_close(m);
        return 0;
}

/* A spare forked by the zygote (started first if none runs): its conn in *ret_conn. */
static int zygote_fork_spare(Manager *m, int *ret_conn) {
        _cleanup_close_ int mine = -EBADF, theirs = -EBADF;
        json_t *msg;
        int sp[2], r;

        if (m->zygote_conn < 0) {
                r = spawn_connected(m, NULL, true, NULL, &m->zygote_conn);
                if (r < 0)
                        return r;
                r = sd_event_add_io(m->event, &m->zygote_src, m->zygote_conn, EPOLLIN, on_zygote_io, m);
                if (r < 0) {
                        zygote_close(m);
                        return r;
                }
        }
        r = new_connection(sp);
        if (r < 0)
                return r;
        mine = sp[0];
        theirs = sp[1];
        msg = json_pack("{s:s}", "op", "spare");
        if (!msg)
                return -ENOMEM;
        r = proto_send(m->zygote_conn, msg, &theirs, 1);
        json_decref(msg);
        if (r == -EAGAIN)
                return r; /* busy, not gone: this spare is started directly */
        if (r < 0) {
                zygote_close(m);
                return r;
        }
        *ret_conn = TAKE_FD(mine);
        return 0;
}

static int spare_start(Manager *m) {
        Spare *s;
        int conn = -EBADF, r;

        /* From the zygote (a fork, no exec); should it fail, the old way. */
        r = zygote_fork_spare(m, &conn);
        if (r < 0) {
                log_debug_errno(r, "No spare from the zygote, starting one directly: %m");
                r = spawn_connected(m, NULL, false, NULL, &conn);
        }
        if (r < 0)
                return r;
        s = &m->spares[m->n_spares];
        *s = (Spare){ .conn = conn, .pidfd = -EBADF, .started_usec = now_usec(CLOCK_MONOTONIC) };
        r = sd_event_add_io(m->event, &s->src, conn, EPOLLIN, on_spare_io, m);
        if (r < 0) {
                spare_close(s);
                return r;
        }
        m->n_spares++;
        return 0;
}

/* One spare per idle iteration of the loop, until the pool is full. */
static int on_spare_defer(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->n_spares >= m->config.spares || m->spare_timer) {
                m->spare_defer = sd_event_source_disable_unref(m->spare_defer);
                return 0;
        }
        r = spare_start(m);
        if (r < 0) {
                log_warning_errno(r, "Failed to start a spare monitor, ignoring: %m");
                m->spare_defer = sd_event_source_disable_unref(m->spare_defer);
                spare_schedule(m, USEC_PER_SEC);
                return 0;
        }
        if (m->n_spares >= m->config.spares)
                m->spare_defer = sd_event_source_disable_unref(m->spare_defer);
        return 0;
}

static void spare_schedule(Manager *m, uint64_t delay_usec) {
        if (m->spare_timer)
                return;
        if (sd_event_add_time_relative(m->event, &m->spare_timer, CLOCK_MONOTONIC, delay_usec, USEC_PER_MSEC,
                                       on_spare_timer, m) < 0)
                log_warning("Failed to schedule the next spare monitor, ignoring.");
}

void manager_spare_refill(Manager *m) {
        int r;

        if (m->n_spares >= m->config.spares || m->spare_defer || m->spare_timer)
                return;
        /* At idle priority: after the work at hand (replying to the launch) is done. */
        r = sd_event_add_defer(m->event, &m->spare_defer, on_spare_defer, m);
        if (r < 0)
                return;
        (void) sd_event_source_set_priority(m->spare_defer, SD_EVENT_PRIORITY_IDLE);
        /* Not one-shot: it runs until on_spare_defer() has filled the pool. */
        (void) sd_event_source_set_enabled(m->spare_defer, SD_EVENT_ON);
}

void manager_spare_done(Manager *m) {
        zygote_close(m);
        m->spare_defer = sd_event_source_disable_unref(m->spare_defer);
        m->spare_timer = sd_event_source_disable_unref(m->spare_timer);
        for (size_t i = 0; i < m->n_spares; i++)
                spare_close(&m->spares[i]);
        m->n_spares = 0;
}

/* A spare taken before it is ready finishes its preparation at our priority, not at nice 19:
 * the launch waits for it (priority inheritance, by hand). The pidfd tells whether the PID is
 * still that spare's. */
static void spare_hurry(const Spare *s) {
        int nice;

        if (s->pid > 0 && s->pidfd >= 0 && pidfd_send_signal_compat(s->pidfd, 0) >= 0 &&
            nice_self(&nice) >= 0)
                (void) setpriority(PRIO_PROCESS, (id_t) s->pid, nice);
}

/* The oldest ready spare, else the oldest one (still ahead of a fresh exec); -1 if none. */
static ssize_t spare_pick(Manager *m) {
        for (size_t i = 0; i < m->n_spares; i++)
                if (m->spares[i].ready)
                        return (ssize_t) i;
        return m->n_spares > 0 ? 0 : -1;
}

static void spare_refill_after_take(Manager *m) {
        bool any_ready = false;

        for (size_t i = 0; i < m->n_spares; i++)
                any_ready = any_ready || m->spares[i].ready;
        if (any_ready)
                spare_schedule(m, SPARE_REFILL_DELAY_USEC);
        else {
                if (m->spare_failures == 0 &&
                    !any_ready) /* a refill delay, not a backoff: no reason to wait */
                        m->spare_timer = sd_event_source_disable_unref(m->spare_timer);
                manager_spare_refill(m);
        }
}

int monitor_spawn_for(Manager *m, const char *dir, const int stdio[3], int *ret_conn) {
        ssize_t i;
        int r;

        while ((i = spare_pick(m)) >= 0) {
                _cleanup_close_ int null_fd = -EBADF;
                int fds[3];
                json_t *msg;
                int conn;

                log_debug("Taking spare monitor %zd (%s) of %zu.", i,
                          m->spares[i].ready ? "ready" : "not ready", m->n_spares);
                if (!m->spares[i].ready)
                        spare_hurry(&m->spares[i]);
                conn = spare_remove(m, (size_t) i, true);

                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int k = 0; k < 3; k++)
                        fds[k] = stdio[k] >= 0 ? stdio[k] : null_fd;
                msg = json_pack("{s:s,s:s}", "op", "assign", "dir", dir);
                r = msg ? proto_send(conn, msg, fds, 3) : -ENOMEM;
                json_decref(msg);
                spare_refill_after_take(m);
                if (r >= 0) {
                        *ret_conn = conn;
                        return 0;
                }
                log_debug_errno(r, "Spare monitor unusable (%m), trying the next.");
                (void) close(conn);
        }

        r = spawn_connected(m, dir, false, stdio, ret_conn);
        if (r < 0)
                return r;
        manager_spare_refill(m);
        return 0;
}
