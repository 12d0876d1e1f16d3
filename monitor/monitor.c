/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>

#include "log.h"
#include "monitor.h"
#include "output-log.h"
#include "proto.h"
#include "util.h"

/* The monitor's side of the protocol with isod (docs/architecture.md):
 *   requests  {"id":N,"op":"status"|"kill"|"stop"|"stats"|"exec"|"attach"|"resize", …} (+ fds for exec,
 * attach) replies   {"id":N,"result":{…}} or {"id":N,"error":ERRNO,"message":"…"} events {"event":"state",
 * <monitor.json fields>} sent to every connection on each change. */

#define MONITOR_MAX_CLIENTS 16

typedef struct Client {
        Monitor *monitor;
        int fd;
        sd_event_source *src;
        struct Client *next;
} Client;

/* An attached client (Attach): its stdin goes to the payload's stdin pipe, the payload's output
 * (what the output log reads) is copied to its stdout and stderr. One at a time. */
struct Attach {
        Client *client; /* the connection that asked, to answer when it ends (NULL: gone) */
        uint64_t id;
        int in_fd, out_fd[2];
        sd_event_source *in_src, *stdin_src;
        char buf[16384];
        size_t n, off; /* read from the client, not yet written to the payload */
};

static const char *const monitor_state_table[_MONITOR_STATE_MAX] = {
        [MONITOR_STARTING] = "starting", [MONITOR_RUNNING] = "running", [MONITOR_STOPPING] = "stopping",
        [MONITOR_EXITED] = "exited",     [MONITOR_FAILED] = "failed",
};

const char *monitor_state_to_string(MonitorState s) {
        return s >= 0 && s < _MONITOR_STATE_MAX ? monitor_state_table[s] : NULL;
}

MonitorState monitor_state_from_string(const char *s) {
        for (int i = 0; s && i < _MONITOR_STATE_MAX; i++)
                if (streq(s, monitor_state_table[i]))
                        return (MonitorState) i;
        return _MONITOR_STATE_INVALID;
}

ExecRequest *exec_request_free(ExecRequest *x) {
        if (!x)
                return NULL;
        strv_free(x->args);
        strv_free(x->env);
        free(x->cwd);
        for (int i = 0; i < 3; i++)
                if (x->fds[i] >= 0)
                        (void) close(x->fds[i]);
        free(x);
        return NULL;
}

static json_t *monitor_state_json(Monitor *m) {
        uint64_t st = 0;
        json_t *j;

        (void) pid_get_starttime(getpid(), &st);
        j = json_pack("{s:i,s:I,s:s,s:i,s:i,s:i,s:s?,s:I,s:I}", "monitor_pid", (int) getpid(),
                      "monitor_starttime", (json_int_t) st, "state", monitor_state_to_string(m->state),
                      "leader_pid", (int) m->leader_pid, "exit_code", m->exit_code, "exit_signal",
                      m->exit_signal, "reason", m->reason, "started_usec", (json_int_t) m->started_usec,
                      "exited_usec", (json_int_t) m->exited_usec);
        if (j && m->extra)
                (void) json_object_set(j, "facts", m->extra);
        return j;
}

int monitor_write_state(Monitor *m) {
        _cleanup_free_ char *text = NULL;
        json_t *j;

        j = monitor_state_json(m);
        if (!j)
                return -ENOMEM;
        text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        return write_file_atomic_at(m->dir_fd, "monitor.json", text, strlen(text), 0600);
}

static void client_free(Client *c) {
        Monitor *m;
        Client **p;

        if (!c)
                return;
        m = c->monitor;
        if (m->attach && m->attach->client == c)
                m->attach->client = NULL; /* isod went away: the session goes on, nobody to tell */
        for (p = (Client **) &m->clients; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        sd_event_source_disable_unref(c->src);
        if (c->fd >= 0)
                (void) close(c->fd);
        free(c);
}

static void broadcast(Monitor *m, json_t *msg, const int *fds, size_t n_fds) {
        for (Client *c = m->clients, *next; c; c = next) {
                next = c->next;
                if (proto_send(c->fd, msg, fds, n_fds) < 0)
                        client_free(c);
        }
}

static void monitor_publish(Monitor *m) {
        json_t *j;
        int r;

        r = monitor_write_state(m);
        if (r < 0)
                log_warning_errno(r, "Failed to write monitor.json, ignoring: %m");
        j = monitor_state_json(m);
        if (!j)
                return;
        json_object_set_new(j, "event", json_string("state"));
        broadcast(m, j, NULL, 0);
        json_decref(j);
}

void monitor_set_fact(Monitor *m, const char *key, json_t *value) {
        if (!m->extra)
                m->extra = json_object();
        if (m->extra)
                json_object_set_new(m->extra, key, value);
        else
                json_decref(value);
}

void monitor_publish_tty(Monitor *m, int master_fd) {
        json_t *j = json_pack("{s:s}", "event", "tty");

        if (!j)
                return;
        broadcast(m, j, &master_fd, 1);
        json_decref(j);
}

static void monitor_finish(Monitor *m) {
        /* Everything is on disk and sent; leave the loop at the next iteration. Clients read the
         * final state from the event or from monitor.json. Nothing may be written into the state
         * directory after this: isod may be removing it already. What is left (tearing down the
         * payload's namespaces and cgroups, exiting) waits for nobody: the client woken by this
         * end, and isod, get the CPU first. */
        (void) sd_event_exit(m->event, 0);
        (void) setpriority(PRIO_PROCESS, 0, 19);
}

/* The end: no new connections, then the final record, then the event. */
static void monitor_publish_end(Monitor *m) {
        m->server_src = sd_event_source_disable_unref(m->server_src);
        (void) unlinkat(m->dir_fd, "monitor.sock", 0);
        monitor_publish(m);
}

void monitor_payload_running(Monitor *m, pid_t leader_pid) {
        m->leader_pid = leader_pid;
        if (m->state == MONITOR_STARTING)
                m->state = MONITOR_RUNNING;
        m->started_usec = now_usec(CLOCK_REALTIME);
        log_debug("Workload running, leader PID %d.", (int) leader_pid);
        monitor_publish(m);
}

void monitor_payload_exited(Monitor *m, int exit_code, int exit_signal, const char *reason) {
        if (m->state == MONITOR_EXITED || m->state == MONITOR_FAILED)
                return;
        m->exit_code = exit_code;
        m->exit_signal = exit_signal;
        free(m->reason);
        m->reason = strdup(reason ?: (exit_signal ? "signal" : "exited"));
        m->exited_usec = now_usec(CLOCK_REALTIME);
        /* A workload that ran and ended (by itself, or stopped) has exited; one the kernel or the
         * VMM killed for a reason of its own (oom, panic, qemu died) has failed. */
        m->state = reason && !streq(reason, "exited") && !streq(reason, "signal") ? MONITOR_FAILED
                                                                                  : MONITOR_EXITED;
        output_log_drain(m->output_log); /* all of it on disk before anyone hears of the end */
        monitor_attach_end(m, "the workload ended");
        monitor_publish_end(m);
        monitor_finish(m);
}

void monitor_payload_failed(Monitor *m, int error, const char *message) {
        if (m->state == MONITOR_EXITED || m->state == MONITOR_FAILED)
                return;
        /* As a shell would: 127 not found, 126 not executable, 125 anything else. */
        m->exit_code = error == -ENOENT ? 127 : error == -EACCES || error == -ENOEXEC ? 126 : 125;
        m->exit_signal = 0;
        free(m->reason);
        if (asprintf(&m->reason, "start-failed: %s", message) < 0)
                m->reason = NULL;
        m->exited_usec = now_usec(CLOCK_REALTIME);
        m->state = MONITOR_FAILED;
        log_debug_errno(error, "Workload failed to start: %s", message);
        output_log_drain(m->output_log);
        monitor_attach_end(m, "the workload ended");
        monitor_publish_end(m);
        monitor_finish(m);
}

static void reply(Client *c, uint64_t id, json_t *result) {
        json_t *j = json_pack("{s:I,s:o}", "id", (json_int_t) id, "result", result ?: json_object());

        if (j && proto_send(c->fd, j, NULL, 0) < 0)
                log_debug("Failed to send reply to client.");
        json_decref(j);
}

static void reply_error(Client *c, uint64_t id, int error, const char *message) {
        json_t *j = json_pack("{s:I,s:i,s:s}", "id", (json_int_t) id, "error", abs(error), "message",
                              message ?: strerror(abs(error)));

        if (j)
                (void) proto_send(c->fd, j, NULL, 0);
        json_decref(j);
}

static Client *client_find(Monitor *m, void *opaque) {
        for (Client *c = m->clients; c; c = c->next)
                if (c == opaque)
                        return c;
        return NULL;
}

void monitor_exec_finished(Monitor *m, ExecRequest *x, int r, int exit_status, const char *message) {
        Client *c = client_find(m, x->client);

        if (c) {
                if (r < 0)
                        reply_error(c, x->id, r, message);
                else
                        reply(c, x->id, json_pack("{s:i}", "exit_status", exit_status));
        }
        exec_request_free(x);
}

static int strv_from_json(json_t *a, size_t max, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i;
        json_t *e;

        if (!json_is_array(a) || json_array_size(a) > max)
                return -EINVAL;
        l = calloc(json_array_size(a) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        json_array_foreach (a, i, e) {
                if (!json_is_string(e) || json_string_length(e) >= SPEC_MAX_STRING)
                        return -EINVAL;
                l[i] = strdup(json_string_value(e));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int handle_exec(Client *c, uint64_t id, json_t *req, int fds[static PROTO_MAX_FDS], size_t n_fds) {
        _cleanup_(exec_request_freep) ExecRequest *x = NULL;
        Monitor *m = c->monitor;
        json_t *v;
        int r;

        if (m->state != MONITOR_RUNNING)
                return -EBUSY;
        if (n_fds != 3)
                return -EINVAL;
        x = calloc(1, sizeof(ExecRequest));
        if (!x)
                return -ENOMEM;
        x->id = id;
        x->client = c;
        for (int i = 0; i < 3; i++)
                x->fds[i] = TAKE_FD(fds[i]);
        r = strv_from_json(json_object_get(req, "args"), SPEC_MAX_ARGS, &x->args);
        if (r < 0 || !x->args[0])
                return -EINVAL;
        v = json_object_get(req, "env");
        if (v) {
                r = strv_from_json(v, SPEC_MAX_ENV, &x->env);
                if (r < 0)
                        return r;
        }
        v = json_object_get(req, "cwd");
        if (json_is_string(v) && path_is_safe_absolute(json_string_value(v))) {
                x->cwd = strdup(json_string_value(v));
                if (!x->cwd)
                        return -ENOMEM;
        }
        v = json_object_get(req, "user");
        if (json_is_string(v)) {
                if (parse_user(json_string_value(v), &x->uid, &x->gid) < 0)
                        return -EINVAL;
                x->user_set = true;
        }
        x->terminal = json_is_true(json_object_get(req, "terminal"));

        r = m->ops->exec(m, x);
        if (r < 0)
                return r;
        TAKE_PTR(x); /* owned by the backend until monitor_exec_finished() */
        return 0;
}

void monitor_attach_end(Monitor *m, const char *why) {
        struct Attach *a = m->attach;

        if (!a)
                return;
        m->attach = NULL;
        output_log_set_tee(m->output_log, NULL, NULL);
        sd_event_source_disable_unref(a->in_src);
        sd_event_source_disable_unref(a->stdin_src);
        safe_close(a->in_fd);
        safe_close(a->out_fd[0]);
        safe_close(a->out_fd[1]);
        log_debug("Attached client gone: %s.", why);
        if (a->client)
                reply(a->client, a->id, json_pack("{s:s}", "reason", why));
        free(a);
}

/* The payload's output, as read: to the client too. A client that cannot take it at once is
 * detached (it must not hold the workload, or the log, up). */
static void attach_tee(void *userdata, unsigned stream, const char *p, size_t n) {
        Monitor *m = userdata;
        struct Attach *a = m->attach;
        int fd;

        if (!a)
                return;
        fd = a->out_fd[stream == OUTPUT_LOG_STDERR ? 1 : 0];
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        monitor_attach_end(m, errno == EAGAIN ? "the client did not keep up with the output"
                                                              : "the client's output was closed");
                        return;
                }
                p += k;
                n -= (size_t) k;
        }
}

static int attach_pump_in(Monitor *m);

static int on_attach_stdin_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Monitor *m = userdata;

        (void) attach_pump_in(m);
        return 0;
}

static int on_attach_in(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Monitor *m = userdata;
        struct Attach *a = m->attach;
        ssize_t k;

        if (!a || a->n > a->off)
                return 0;
        k = read(a->in_fd, a->buf, sizeof a->buf);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (k <= 0) { /* the client detached (^P^Q), or its stdin ended */
                monitor_attach_end(m, k == 0 ? "detached" : "the client's input failed");
                return 0;
        }
        a->n = (size_t) k;
        a->off = 0;
        (void) attach_pump_in(m);
        return 0;
}

/* Writes what the client sent to the payload's stdin; when the pipe is full, waits for it to drain
 * before reading more from the client. */
static int attach_pump_in(Monitor *m) {
        struct Attach *a = m->attach;

        if (!a)
                return 0;
        while (a->off < a->n) {
                ssize_t k = write(m->stdin_w, a->buf + a->off, a->n - a->off);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        (void) sd_event_source_set_enabled(a->in_src, SD_EVENT_OFF);
                        return sd_event_source_set_enabled(a->stdin_src, SD_EVENT_ON);
                }
                if (k < 0) { /* the payload closed its stdin */
                        monitor_attach_end(m, "the workload closed its stdin");
                        return 0;
                }
                a->off += (size_t) k;
        }
        a->n = a->off = 0;
        (void) sd_event_source_set_enabled(a->stdin_src, SD_EVENT_OFF);
        return sd_event_source_set_enabled(a->in_src, SD_EVENT_ON);
}

static int handle_attach(Client *c, uint64_t id, json_t *req, int fds[static PROTO_MAX_FDS], size_t n_fds) {
        Monitor *m = c->monitor;
        json_int_t rows = json_integer_value(json_object_get(req, "rows")),
                   cols = json_integer_value(json_object_get(req, "cols"));
        struct Attach *a;
        int r;

        if (n_fds != 3)
                return -EBADMSG;
        if (m->state != MONITOR_RUNNING)
                return -EBUSY;
        if (m->stdin_w < 0 || !m->output_log)
                return -EBADF;
        if (m->attach)
                return -EALREADY;
        a = calloc(1, sizeof(struct Attach));
        if (!a)
                return -ENOMEM;
        a->client = c;
        a->id = id;
        a->in_fd = fds[0];
        a->out_fd[0] = fds[1];
        a->out_fd[1] = fds[2];
        fds[0] = fds[1] = fds[2] = -EBADF; /* ours now */
        m->attach = a;
        r = fd_set_nonblock(a->in_fd, true);
        if (r >= 0)
                r = fd_set_nonblock(a->out_fd[0], true);
        if (r >= 0)
                r = fd_set_nonblock(a->out_fd[1], true);
        if (r >= 0)
                r = sd_event_add_io(m->event, &a->in_src, a->in_fd, EPOLLIN, on_attach_in, m);
        if (r >= 0)
                r = sd_event_add_io(m->event, &a->stdin_src, m->stdin_w, EPOLLOUT, on_attach_stdin_writable,
                                    m);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->stdin_src, SD_EVENT_OFF);
        if (r < 0) {
                a->client = NULL;
                monitor_attach_end(m, "setup failed");
                return r;
        }
        output_log_set_tee(m->output_log, attach_tee, m);
        /* A terminal workload (stdin_w is its pty master): the client's size. */
        if (m->spec->terminal && rows > 0 && rows <= UINT16_MAX && cols > 0 && cols <= UINT16_MAX)
                (void) ioctl(m->stdin_w, TIOCSWINSZ,
                             &(struct winsize){ .ws_row = (unsigned short) rows,
                                                .ws_col = (unsigned short) cols });
        log_debug("Client attached.");
        return 0;
}

static int handle_request(Client *c, json_t *req, int fds[static PROTO_MAX_FDS], size_t n_fds) {
        Monitor *m = c->monitor;
        json_t *jid = json_object_get(req, "id");
        const char *op = json_string_value(json_object_get(req, "op"));
        uint64_t id;
        int r;

        if (!json_is_integer(jid) || !op)
                return -EBADMSG;
        id = (uint64_t) json_integer_value(jid);

        if (streq(op, "status")) {
                reply(c, id, monitor_state_json(m));
                return 0;
        }
        if (streq(op, "kill")) {
                json_int_t sig = json_integer_value(json_object_get(req, "signal"));

                if (sig <= 0 || sig >= _NSIG) {
                        reply_error(c, id, EINVAL, "Invalid signal.");
                        return 0;
                }
                if (m->state != MONITOR_RUNNING && m->state != MONITOR_STOPPING) {
                        reply_error(c, id, EBUSY, "The workload is not running.");
                        return 0;
                }
                r = m->ops->kill(m, (int) sig);
                if (r < 0)
                        reply_error(c, id, r, NULL);
                else
                        reply(c, id, NULL);
                return 0;
        }
        if (streq(op, "stop")) {
                json_int_t t = json_integer_value(json_object_get(req, "timeout_usec"));

                if (m->state == MONITOR_STARTING || m->state == MONITOR_RUNNING) {
                        m->state = MONITOR_STOPPING;
                        monitor_publish(m);
                        r = m->ops->stop(m, t > 0 ? (uint64_t) t : 10 * USEC_PER_SEC);
                        if (r < 0) {
                                reply_error(c, id, r, NULL);
                                return 0;
                        }
                } else if (m->state != MONITOR_STOPPING) {
                        reply_error(c, id, EBUSY, "The workload is not running.");
                        return 0;
                }
                reply(c, id, NULL);
                return 0;
        }
        if (streq(op, "stats")) {
                json_t *s = NULL;

                r = m->ops->stats(m, &s);
                if (r < 0)
                        reply_error(c, id, r, NULL);
                else
                        reply(c, id, s);
                return 0;
        }
        if (streq(op, "resize")) {
                json_int_t rows = json_integer_value(json_object_get(req, "rows")),
                           cols = json_integer_value(json_object_get(req, "cols"));

                /* The terminal we hold (a detached -t workload's): the attached client's new size. */
                if (!m->spec->terminal || m->stdin_w < 0) {
                        reply_error(c, id, ENOTTY, "The workload has no terminal of its monitor's.");
                        return 0;
                }
                if (rows <= 0 || rows > UINT16_MAX || cols <= 0 || cols > UINT16_MAX) {
                        reply_error(c, id, EINVAL, "Invalid terminal size.");
                        return 0;
                }
                if (ioctl(m->stdin_w, TIOCSWINSZ,
                          &(struct winsize){ .ws_row = (unsigned short) rows,
                                             .ws_col = (unsigned short) cols }) < 0)
                        reply_error(c, id, errno, NULL);
                else
                        reply(c, id, NULL);
                return 0;
        }
        if (streq(op, "attach")) {
                r = handle_attach(c, id, req, fds, n_fds);
                if (r < 0)
                        reply_error(c, id, r,
                                    r == -EBUSY      ? "The workload is not running."
                                    : r == -EALREADY ? "Another client is attached already."
                                    : r == -EBADF
                                            ? "The workload's stdin is not open (launch -d -i or -d -t)."
                                            : NULL);
                return 0;
        }
        if (streq(op, "exec")) {
                r = handle_exec(c, id, req, fds, n_fds);
                if (r < 0)
                        reply_error(c, id, r, r == -EBUSY ? "The workload is not running." : NULL);
                return 0;
        }
        reply_error(c, id, EOPNOTSUPP, "Unknown operation.");
        return 0;
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;
        int fds[PROTO_MAX_FDS];
        size_t n_fds = 0;
        json_t *req = NULL;
        int r;

        r = proto_recv(fd, &req, fds, &n_fds);
        if (r == -EAGAIN || r == -EINTR)
                return 0;
        if (r <= 0) {
                /* EOF or a broken peer: forget the connection; the workload goes on. */
                client_free(c);
                return 0;
        }
        (void) handle_request(c, req, fds, n_fds);
        proto_close_fds(fds, n_fds);
        json_decref(req);
        return 0;
}

static int monitor_add_client(Monitor *m, int fd) {
        Client *c;
        size_t n = 0;
        int r;

        for (Client *i = m->clients; i; i = i->next)
                n++;
        if (n >= MONITOR_MAX_CLIENTS) {
                (void) close(fd);
                return -EMFILE;
        }
        c = calloc(1, sizeof(Client));
        if (!c) {
                (void) close(fd);
                return -ENOMEM;
        }
        c->monitor = m;
        c->fd = fd;
        r = sd_event_add_io(m->event, &c->src, fd, EPOLLIN, on_client, c);
        if (r < 0) {
                (void) close(fd);
                free(c);
                return r;
        }
        c->next = m->clients;
        m->clients = c;
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Monitor *m = userdata;
        struct ucred cred;
        socklen_t sl = sizeof cred;
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        /* Only root (isod) may talk to us; the socket's directory is 0700 too. */
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0 || cred.uid != 0) {
                (void) close(cfd);
                return 0;
        }
        (void) monitor_add_client(m, cfd);
        return 0;
}

int monitor_listen(Monitor *m, int conn_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* Too long for sun_path (a long state directory, a 64-character name): through our
         * directory's descriptor, as isod connects (daemon/workload.c). */
        if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/monitor.sock", m->dir) >= (int) sizeof sa.sun_path)
                (void) snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/monitor.sock", m->dir_fd);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlinkat(m->dir_fd, "monitor.sock", 0);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        if (listen(fd, 8) < 0)
                return -errno;
        r = sd_event_add_io(m->event, (sd_event_source **) &m->server_src, fd, EPOLLIN, on_accept, m);
        if (r < 0)
                return r;
        m->server_fd = TAKE_FD(fd);

        if (conn_fd >= 0) {
                r = fd_set_nonblock(conn_fd, true);
                if (r < 0)
                        return r;
                r = monitor_add_client(m, conn_fd);
                if (r < 0)
                        return r;
        }
        return 0;
}

void monitor_done(Monitor *m) {
        while (m->clients)
                client_free(m->clients);
        sd_event_source_disable_unref(m->server_src);
        if (m->server_fd >= 0)
                (void) close(m->server_fd);
        workload_spec_free(m->spec);
        free(m->name);
        free(m->dir);
        free(m->reason);
        free(m->paths.image_dir);
        free(m->paths.vm_dir);
        free(m->paths.cache_dir);
        free(m->paths.qemu);
        free(m->paths.accel);
        if (m->image) {
                free(m->image->id);
                free(m->image->key);
                strv_free(m->image->layers);
                free(m->image);
        }
        free(m->net);
        json_decref(m->extra);
        monitor_attach_end(m, "the monitor is done");
        m->output_log = output_log_free(m->output_log);
        m->stdin_w = safe_close(m->stdin_w);
        for (int i = 0; i < 3; i++)
                if (m->stdio[i] >= 0)
                        (void) close(m->stdio[i]);
        if (m->dir_fd >= 0)
                (void) close(m->dir_fd);
        sd_event_unref(m->event);
}
