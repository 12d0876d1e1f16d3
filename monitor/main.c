/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>

#include "container/cgroup.h"
#include "log.h"
#include "monitor.h"
#include "output-log.h"
#include "proto.h"
#include "util.h"

/* isod-monitor [--detach] --dir=DIR [--stdio=IN,OUT,ERR] [--conn-fd=FD]
 * isod-monitor [--detach] --spare --conn-fd=FD [--workloads-dir=STATE/workloads]
 *
 * Started by isod with --detach: it forks once and the first process exits, so the monitor is not
 * isod's child and survives isod's restarts (isod spawns it vfork-style, without copying itself). Reads
 * DIR/workload.json, starts the payload with the backend named there, serves DIR/monitor.sock and
 * keeps DIR/monitor.json current until the payload has ended. */

static const char *arg_dir;
static char *arg_dir_assigned;
static int arg_stdio[3] = { -EBADF, -EBADF, -EBADF };
static int arg_conn_fd = -EBADF;
static bool arg_spare;
static bool arg_zygote;
static bool arg_detach;
static const char *arg_workloads_dir;
static const char *arg_read_logs; /* JSON: OutputLogRead */
static int arg_out_fd = -EBADF, arg_pidfd = -EBADF;

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "dir", required_argument, NULL, 'd' },
                { "stdio", required_argument, NULL, 's' },
                { "conn-fd", required_argument, NULL, 'c' },
                { "debug", no_argument, NULL, 'D' },
                { "spare", no_argument, NULL, 'S' },
                { "workloads-dir", required_argument, NULL, 'W' },
                { "detach", no_argument, NULL, 'X' },
                { "zygote", no_argument, NULL, 'Z' },
                { "read-logs", required_argument, NULL, 'L' },
                { "out-fd", required_argument, NULL, 'O' },
                { "pidfd", required_argument, NULL, 'P' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        arg_dir = optarg;
                        break;
                case 's':
                        if (sscanf(optarg, "%d,%d,%d", &arg_stdio[0], &arg_stdio[1], &arg_stdio[2]) != 3)
                                return log_error_errno(-EINVAL, "Invalid --stdio=%s.", optarg);
                        break;
                case 'c':
                        if (safe_atoi(optarg, &arg_conn_fd) < 0)
                                return log_error_errno(-EINVAL, "Invalid --conn-fd=%s.", optarg);
                        break;
                case 'D':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'S':
                        arg_spare = true;
                        break;
                case 'X':
                        arg_detach = true;
                        break;
                case 'Z':
                        arg_zygote = true;
                        break;
                case 'W':
                        arg_workloads_dir = optarg;
                        break;
                case 'L':
                        arg_read_logs = optarg;
                        break;
                case 'O':
                        if (safe_atoi(optarg, &arg_out_fd) < 0 || arg_out_fd < 0)
                                return log_error_errno(-EINVAL, "Invalid --out-fd=%s.", optarg);
                        break;
                case 'P':
                        if (safe_atoi(optarg, &arg_pidfd) < 0 || arg_pidfd < 0)
                                return log_error_errno(-EINVAL, "Invalid --pidfd=%s.", optarg);
                        break;
                default:
                        return -EINVAL;
                }
        if (arg_spare || arg_zygote ? arg_conn_fd < 0 : !arg_dir || arg_dir[0] != '/')
                return log_error_errno(
                        -EINVAL,
                        "--dir=ABSOLUTE-PATH (or --spare or --zygote with --conn-fd=) is required.");
        if (arg_spare && arg_zygote)
                return log_error_errno(-EINVAL, "--spare and --zygote exclude each other.");
        if (arg_read_logs && (arg_spare || arg_zygote || arg_out_fd < 0))
                return log_error_errno(-EINVAL, "--read-logs= needs --dir= and --out-fd=.");
        return 0;
}

/* The terminal of a detached -t workload: the master stays with us (non-blocking), the slave is
 * the payload's stdin, stdout and stderr. A VM's guest has its own line discipline: the host side
 * passes bytes through untouched (raw). */
static int monitor_open_pty(Monitor *m, int *ret_master, int *ret_slave) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        int r;

        r = pty_open_pair(O_NONBLOCK, &(struct winsize){ .ws_row = 24, .ws_col = 80 }, &master, &slave);
        if (r < 0)
                return r;
        if (m->kind == BACKEND_VM) {
                struct termios t;

                if (tcgetattr(slave, &t) == 0) {
                        cfmakeraw(&t);
                        (void) tcsetattr(slave, TCSANOW, &t);
                }
        }
        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

/* isod-monitor --read-logs=OPTIONS --dir=DIR --out-fd=FD [--pidfd=FD]: one GetLogs call. */
static int read_logs(void) {
        _cleanup_close_ int dfd = -EBADF;
        OutputLogRead a = {};
        json_t *j;
        int r;

        j = json_loads(arg_read_logs, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return log_error_errno(-EINVAL, "Invalid --read-logs=%s.", arg_read_logs);
        }
        a.streams = (unsigned) json_integer_value(json_object_get(j, "streams"));
        a.tail = (uint64_t) json_integer_value(json_object_get(j, "tail"));
        a.since_usec = (uint64_t) json_integer_value(json_object_get(j, "since_usec"));
        a.follow = json_is_true(json_object_get(j, "follow"));
        a.console = json_is_true(json_object_get(j, "console"));
        json_decref(j);

        dfd = open(arg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(-errno, "Failed to open '%s': %m", arg_dir);
        r = output_log_read(dfd, arg_out_fd, arg_pidfd, &a);
        if (r < 0)
                return log_error_errno(r, "Failed to read the logs in '%s': %m", arg_dir);
        return 0;
}

/* Waits for one packet from isod on the (non-blocking) connection. -ECONNRESET: isod went away. */
static int conn_recv(json_t **ret, int fds[static PROTO_MAX_FDS], size_t *ret_n_fds) {
        struct pollfd p = { .fd = arg_conn_fd, .events = POLLIN };

        for (;;) {
                int r;

                if (poll(&p, 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                r = proto_recv(arg_conn_fd, ret, fds, ret_n_fds);
                if (r == -EAGAIN || r == -EINTR)
                        continue;
                if (r <= 0)
                        return r < 0 ? r : -ECONNRESET;
                return 0;
        }
}

/* A spare monitor is started ahead of time, so that the next launch does not wait for exec and the
 * dynamic loader: it idles on its connection until isod assigns it a workload directory and its
 * stdio ({"op":"assign","dir":…} with three fds), or exits when isod goes away. On cgroup v1 it
 * first prepares the leaves of the workload-to-be (cgroup_spare_new()), so that the expensive
 * move of a task between cgroups happens now, while nobody waits. */
static int wait_for_assignment(void) {
        int fds[PROTO_MAX_FDS];
        size_t n_fds = 0;
        json_t *msg = NULL;
        const char *dir;
        int r;

        r = conn_recv(&msg, fds, &n_fds);
        if (r < 0)
                return r;
        dir = json_string_value(json_object_get(msg, "dir"));
        if (!streq_ptr(json_string_value(json_object_get(msg, "op")), "assign") || !dir || dir[0] != '/' ||
            n_fds != 3) {
                json_decref(msg);
                proto_close_fds(fds, n_fds);
                return -EBADMSG;
        }
        arg_dir_assigned = strdup(dir);
        json_decref(msg);
        if (!arg_dir_assigned)
                return -ENOMEM;
        arg_dir = arg_dir_assigned;
        for (int i = 0; i < 3; i++)
                arg_stdio[i] = fds[i];
        return 0;
}

static char **saved_argv;
static int saved_argc;

/* A spare forked by the zygote shows as one in ps and /proc/PID/cmdline: "--zygote" becomes
 * "--spare" in place (the arguments are one contiguous block; the rest moves up one byte and the
 * block ends in one more NUL). */
static void rename_zygote_to_spare(void) {
        for (int i = 1; i < saved_argc; i++) {
                char *a = saved_argv[i], *end;

                if (!streq(a, "--zygote"))
                        continue;
                end = saved_argv[saved_argc - 1] + strlen(saved_argv[saved_argc - 1]) + 1;
                memcpy(a, "--spare", strlen("--spare") + 1);
                memmove(a + strlen("--spare") + 1, a + strlen("--zygote") + 1,
                        (size_t) (end - (a + strlen("--zygote") + 1)));
                end[-1] = 0;
                for (int j = i + 1; j < saved_argc; j++)
                        saved_argv[j]--;
                return;
        }
}

/* --zygote: a monitor that only forks spares. isod sends {"op":"spare"} with one fd, the new
 * spare's end of its connection; the child goes on as `--spare --conn-fd=FD` would, without an
 * exec and the dynamic loader (about 1 ms of CPU per launch on the refill, docs/decisions.md).
 * Returns in the child (0); the zygote itself exits when isod closes the connection. */
static int zygote_serve(void) {
        /* At isod's priority, not 19: a fork is short, and a starved zygote would leave launches
         * without spares when the CPUs are busy (they are, under load). Each child goes to 19
         * itself while it prepares, like a spare exec'd directly. */
        /* Its children are reaped by the kernel; each one resets this at once. */
        (void) signal(SIGCHLD, SIG_IGN);
        for (;;) {
                int fds[PROTO_MAX_FDS];
                size_t n_fds = 0;
                json_t *msg = NULL;
                bool ok;
                pid_t pid;
                int r;

                r = conn_recv(&msg, fds, &n_fds);
                if (r < 0)
                        return r;
                ok = streq_ptr(json_string_value(json_object_get(msg, "op")), "spare") && n_fds == 1;
                json_decref(msg);
                if (!ok) {
                        proto_close_fds(fds, n_fds);
                        return -EBADMSG;
                }
                pid = fork();
                if (pid == 0) {
                        (void) signal(SIGCHLD, SIG_DFL);
                        (void) close(arg_conn_fd);
                        arg_conn_fd = fds[0];
                        arg_zygote = false;
                        arg_spare = true;
                        /* Option values point into the arguments, which move: copy first. */
                        if (arg_workloads_dir && !(arg_workloads_dir = strdup(arg_workloads_dir)))
                                return -ENOMEM;
                        rename_zygote_to_spare();
                        return 0;
                }
                if (pid < 0)
                        log_warning_errno(-errno, "Failed to fork a spare monitor: %m");
                /* Closed either way: without a child, isod sees the spare's end close. */
                (void) close(fds[0]);
        }
}

static char *json_strdup(json_t *o, const char *key, const char *def) {
        const char *s = json_string_value(json_object_get(o, key));
        return s || def ? strdup(s ?: def) : NULL;
}

static int monitor_load(Monitor *m) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        json_error_t jerr;
        json_t *root, *paths;
        size_t size;
        int r;

        r = read_full_file_at(m->dir_fd, "workload.json", 1024 * 1024, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s/workload.json': %m", m->dir);
        root = json_loadb(text, size, 0, &jerr);
        if (!root)
                return log_error_errno(-EBADMSG, "Failed to parse '%s/workload.json': %s", m->dir,
                                       jerr.text);

        m->name = json_strdup(root, "name", NULL);
        m->kind = backend_kind_from_string(json_string_value(json_object_get(root, "isolation")));
        r = workload_spec_from_json(json_object_get(root, "spec"), &m->spec, &err);
        paths = json_object_get(root, "paths");
        m->paths.image_dir = json_strdup(paths, "image_dir", ISOD_IMAGE_DIR);
        m->paths.vm_dir = json_strdup(paths, "vm_dir", ISOD_VM_DIR);
        m->paths.cache_dir = json_strdup(paths, "cache_dir", ISOD_CACHE_DIR);
        m->paths.qemu = json_strdup(paths, "qemu", ISOD_QEMU_PATH);
        m->paths.accel = json_strdup(paths, "accel", "auto");
        {
                json_t *lg = json_object_get(root, "log");

                m->log_streams = (unsigned) json_integer_value(json_object_get(lg, "streams")) &
                                 (OUTPUT_LOG_STDOUT | OUTPUT_LOG_STDERR);
                m->log_max_size = (uint64_t) json_integer_value(json_object_get(lg, "max_size"));
                m->stdin_open = json_is_true(json_object_get(lg, "stdin"));
        }
        if (json_is_object(json_object_get(root, "image"))) {
                json_t *im = json_object_get(root, "image"), *layers = json_object_get(im, "layers"), *e;
                size_t i;

                m->image = calloc(1, sizeof(MonitorImage));
                if (m->image) {
                        m->image->id = json_strdup(im, "id", NULL);
                        m->image->key = json_strdup(im, "key", NULL);
                        m->image->bytes = (uint64_t) json_integer_value(json_object_get(im, "bytes"));
                        m->image->entries = (uint64_t) json_integer_value(json_object_get(im, "entries"));
                        m->image->layers = calloc(json_array_size(layers) + 1, sizeof(char *));
                        json_array_foreach (layers, i, e)
                                if (m->image->layers && json_is_string(e) &&
                                    (m->image->layers[m->image->n_layers] = strdup(json_string_value(e))))
                                        m->image->n_layers++;
                }
                if (!m->image || !m->image->id || !m->image->key || !m->image->layers ||
                    m->image->n_layers == 0 || m->image->n_layers != json_array_size(layers) ||
                    strlen(m->image->key) != 64) {
                        json_decref(root);
                        return log_error_errno(-EBADMSG, "workload.json has an invalid \"image\".");
                }
        }
        if (json_is_object(json_object_get(root, "net"))) {
                m->net = calloc(1, sizeof(NetConfig));
                if (!m->net || netconf_from_json(json_object_get(root, "net"), m->net) < 0) {
                        json_decref(root);
                        return log_error_errno(-EBADMSG, "workload.json has an invalid \"net\".");
                }
        }
        json_decref(root);
        if (r < 0)
                return log_error_errno(r, "Invalid spec in workload.json: %s", strna(err));
        if (!m->name || m->kind < 0)
                return log_error_errno(-EBADMSG, "workload.json lacks name or isolation.");
        if (!m->paths.image_dir || !m->paths.vm_dir || !m->paths.cache_dir || !m->paths.qemu ||
            !m->paths.accel)
                return log_oom();
        m->ops = backend_get(m->kind);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Monitor *m = userdata;

        /* Being asked to terminate means: stop the workload gracefully. */
        if (m->state == MONITOR_STARTING || m->state == MONITOR_RUNNING) {
                m->state = MONITOR_STOPPING;
                (void) monitor_write_state(m);
                (void) m->ops->stop(m, 10 * USEC_PER_SEC);
        }
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return 0; /* ignored */
}

int main(int argc, char *argv[]) {
        Monitor m = {
                .dir_fd = -EBADF,
                .server_fd = -EBADF,
                .stdio = { -EBADF, -EBADF, -EBADF },
                .tty_master = -EBADF,
                .stdin_w = -EBADF,
                .exit_code = -1,
                .state = MONITOR_STARTING,
        };
        sigset_t ss;
        int r;

        log_setup("isod-monitor", LOG_TARGET_AUTO);
        saved_argv = argv;
        saved_argc = argc;
        r = parse_argv(argc, argv);
        if (r < 0)
                return 2;

        if (arg_detach) {
                pid_t pid = fork();

                if (pid < 0)
                        return log_error_errno(-errno, "Failed to fork: %m"), 1;
                if (pid > 0)
                        _exit(0);
        }
        (void) signal(SIGPIPE, SIG_IGN);
        if (arg_read_logs) {
                (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                return read_logs() < 0 ? 1 : 0;
        }
        if (arg_zygote) {
                r = zygote_serve();
                if (r < 0)
                        return r == -ECONNRESET ? 0 : 1;
        }
        if (arg_spare) {
                int nice;

                /* Preparing ahead is background work: a launch in flight has the CPU first. The
                 * priority comes back with the assignment (and the holder's, in cgroup-spare.c). */
                if (nice_self(&nice) < 0)
                        nice = 0;
                (void) setpriority(PRIO_PROCESS, 0, 19);
                r = fd_set_nonblock(arg_conn_fd, true);
                /* Who we are, so that isod can give a spare it takes before it is ready its
                 * priority back at once (a starved preparation would hold the launch up). */
                if (r >= 0) {
                        json_t *hello = json_pack("{s:s,s:i}", "event", "spare", "pid", (int) getpid());

                        if (hello)
                                (void) proto_send(arg_conn_fd, hello, NULL, 0);
                        json_decref(hello);
                }
                if (r >= 0 && arg_workloads_dir && arg_workloads_dir[0] == '/') {
                        int k = cgroup_spare_new(arg_workloads_dir, &m.cgroup_spare);
                        if (k < 0 && k != -EOPNOTSUPP)
                                log_debug_errno(
                                        k,
                                        "Cannot prepare spare cgroup leaves, the workload will be attached: %m");
                }
                /* isod prefers spares that are ready; its end reads this before any assignment. */
                if (r >= 0) {
                        json_t *ready = json_pack("{s:s}", "event", "ready");

                        if (ready)
                                (void) proto_send(arg_conn_fd, ready, NULL, 0);
                        json_decref(ready);
                }
                if (r >= 0)
                        r = wait_for_assignment();
                (void) setpriority(PRIO_PROCESS, 0, nice);
                if (r < 0) {
                        m.cgroup_spare = cgroup_destroy(m.cgroup_spare);
                        return r == -ECONNRESET ? 0 : 1;
                }
        }
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        /* Orphans of the payload (and QEMU's helpers) come to us, not to PID 1. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        (void) prctl(PR_SET_PDEATHSIG, 0);

        for (int i = 0; i < 3; i++)
                m.stdio[i] = arg_stdio[i];

        m.dir = strdup(arg_dir);
        if (!m.dir)
                return 1;
        m.dir_fd = open(arg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m.dir_fd < 0) {
                log_error_errno(-errno, "Failed to open '%s': %m", arg_dir);
                m.cgroup_spare = cgroup_destroy(m.cgroup_spare);
                return 1;
        }
        r = monitor_load(&m);
        if (r < 0) {
                m.cgroup_spare = cgroup_destroy(m.cgroup_spare);
                m.reason = strdup("start-failed: invalid workload.json");
                m.state = MONITOR_FAILED;
                (void) monitor_write_state(&m);
                monitor_done(&m);
                return 1;
        }
        log_set_context(m.name, m.ops->name);

        r = sd_event_new(&m.event);
        if (r < 0) {
                m.cgroup_spare = cgroup_destroy(m.cgroup_spare);
                return 1;
        }
        (void) sd_event_add_signal(m.event, NULL, SIGTERM, on_signal, &m);
        (void) sd_event_add_signal(m.event, NULL, SIGINT, on_signal, &m);
        /* Not NULL: that would end the loop. A VM monitor holding a -t workload's terminal as its
         * controlling terminal gets SIGHUP when the client's side hangs up. */
        (void) sd_event_add_signal(m.event, NULL, SIGHUP, on_sighup, &m);

        /* A detached terminal workload: the terminal is ours. Its output goes to the log as
         * stdout, and Attach writes to its master (docs/logs.md#attach). */
        if (m.stdin_open && m.spec->terminal) {
                int master = -EBADF, slave = -EBADF;

                r = monitor_open_pty(&m, &master, &slave);
                if (r < 0)
                        log_warning_errno(r, "Failed to allocate the workload's terminal: %m");
                if (r >= 0)
                        r = output_log_new(m.event, m.dir_fd, 0, m.log_max_size, m.name,
                                           backend_kind_to_string(m.kind), (int[2]){}, &m.output_log);
                if (r >= 0)
                        r = output_log_add_fd(m.output_log, m.event, OUTPUT_LOG_STDOUT,
                                              fcntl(master, F_DUPFD_CLOEXEC, 3));
                if (r >= 0) {
                        for (int i = 0; i < 3; i++) {
                                safe_close(m.stdio[i]);
                                m.stdio[i] = i == 0 ? slave : fcntl(slave, F_DUPFD_CLOEXEC, 3);
                        }
                        slave = -EBADF;
                        m.stdin_w = TAKE_FD(master);
                } else
                        log_warning_errno(r, "Failed to set up the terminal's log, output is discarded: %m");
                safe_close(master);
                safe_close(slave);
        } else {
                /* A detached workload's stdout and stderr (those its client did not give): into the log. */
                if (m.log_streams) {
                        int fds[2];

                        r = output_log_new(m.event, m.dir_fd, m.log_streams, m.log_max_size, m.name,
                                           backend_kind_to_string(m.kind), fds, &m.output_log);
                        if (r < 0)
                                log_warning_errno(
                                        r, "Failed to set up the output log, output is discarded: %m");
                        for (int i = 0; r >= 0 && i < 2; i++)
                                if (fds[i] >= 0) {
                                        safe_close(m.stdio[1 + i]);
                                        m.stdio[1 + i] = fds[i];
                                }
                }
                /* Interactive: stdin is a pipe we hold the write end of, for Attach. */
                if (m.stdin_open) {
                        int p[2];

                        if (pipe2(p, O_CLOEXEC) < 0 || fd_set_nonblock(p[1], true) < 0)
                                log_warning_errno(-errno,
                                                  "Failed to make the stdin pipe, stdin stays closed: %m");
                        else {
                                safe_close(m.stdio[0]);
                                m.stdio[0] = p[0];
                                m.stdin_w = p[1];
                        }
                }
        }

        r = monitor_listen(&m, arg_conn_fd);
        if (r < 0) {
                log_error_errno(r, "Failed to listen on '%s/monitor.sock': %m", m.dir);
                monitor_payload_failed(&m, r, "the monitor could not create its control socket");
        } else {
                (void) monitor_write_state(&m);
                r = m.ops->start(&m);
                if (r < 0 && m.state == MONITOR_STARTING)
                        monitor_payload_failed(&m, r, strerror(-r));
        }
        /* Not taken (a VM, or the start failed early): after the start, off its path. */
        m.cgroup_spare = cgroup_destroy(m.cgroup_spare);

        if (m.state != MONITOR_EXITED && m.state != MONITOR_FAILED)
                (void) sd_event_loop(m.event);

        m.ops->destroy(&m);
        monitor_done(&m);
        free(arg_dir_assigned);
        return 0;
}
