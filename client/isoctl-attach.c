/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "isoctl.h"
#include "util.h"

/* isoctl attach NAME: our stdin to a running interactive workload's stdin (launch -d -i, or the
 * terminal of a launch -d -t), its
 * output to our stdout and stderr, until ^P^Q (detach; the workload goes on), the end of our
 * stdin, or the end of the workload.
 *
 * Workload.Attach gets pipes, not our own fds: we read our stdin to see the detach keys, and the
 * monitor may make its ends non-blocking without touching our terminal's file status. */

#define DETACH_1 0x10 /* ^P */
#define DETACH_2 0x11 /* ^Q */

typedef struct AttachState {
        sd_event *event;
        sd_bus *bus;
        const char *path;
        const char *name;
        int in_w;         /* to the workload's stdin */
        int out_r, err_r; /* from its stdout, stderr */
        bool pending_p;   /* the last byte read was ^P, not yet forwarded */
        bool replied, out_done, err_done;
        char *reason;
        int error;
} AttachState;

static void maybe_exit(AttachState *s) {
        if (s->replied && s->out_done && s->err_done)
                (void) sd_event_exit(s->event, 0);
}

static void detach(AttachState *s) {
        s->in_w = safe_close(s->in_w); /* the monitor sees EOF: the session ends, the reply comes */
}

static int on_stdin(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        AttachState *s = userdata;
        char buf[4096], out[4097];
        size_t n_out = 0;
        ssize_t k;

        k = read(fd, buf, sizeof buf);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (k <= 0 || s->in_w < 0) {
                (void) sd_event_source_set_enabled(src, SD_EVENT_OFF);
                detach(s);
                return 0;
        }
        for (ssize_t i = 0; i < k; i++) {
                char c = buf[i];

                if (s->pending_p) {
                        s->pending_p = false;
                        if (c == DETACH_2) {
                                (void) loop_write(s->in_w, out, n_out);
                                (void) sd_event_source_set_enabled(src, SD_EVENT_OFF);
                                detach(s);
                                return 0;
                        }
                        out[n_out++] = DETACH_1;
                }
                if (c == DETACH_1)
                        s->pending_p = true;
                else
                        out[n_out++] = c;
        }
        if (loop_write(s->in_w, out, n_out) < 0) {
                (void) sd_event_source_set_enabled(src, SD_EVENT_OFF);
                detach(s);
        }
        return 0;
}

static int on_output(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        AttachState *s = userdata;
        char buf[65536];
        ssize_t k;

        k = read(fd, buf, sizeof buf);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (k > 0 && loop_write(fd == s->out_r ? STDOUT_FILENO : STDERR_FILENO, buf, (size_t) k) >= 0)
                return 0;
        (void) sd_event_source_set_enabled(src, SD_EVENT_OFF);
        if (fd == s->out_r)
                s->out_done = true;
        else
                s->err_done = true;
        maybe_exit(s);
        return 0;
}

/* Our window changed: the workload's terminal follows (a failure only costs the size). */
static int on_winch(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
        AttachState *s = userdata;
        struct winsize ws;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
                return 0;
        (void) sd_bus_call_method_async(s->bus, NULL, "org.isod1", s->path, "org.isod1.Workload",
                                        "ResizeTerminal", NULL, NULL, "qq", (uint16_t) ws.ws_row,
                                        (uint16_t) ws.ws_col);
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        AttachState *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *why = NULL;

        s->replied = true;
        if (e) {
                s->error = print_bus_error(e, -sd_bus_message_get_errno(m), s->name);
                s->out_done = s->err_done = true; /* nothing will come */
        } else if (sd_bus_message_read(m, "s", &why) >= 0 && why)
                s->reason = strdup(why);
        detach(s);
        maybe_exit(s);
        return 0;
}

int verb_attach(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_free_ char *path = NULL;
        AttachState s = { .in_w = -EBADF, .out_r = -EBADF, .err_r = -EBADF };
        int in[2] = { -EBADF, -EBADF }, out[2] = { -EBADF, -EBADF }, err[2] = { -EBADF, -EBADF };
        struct termios saved, t;
        struct winsize ws = {};
        bool restore = false, terminal = false;
        int r;

        if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr, "Usage: isoctl attach NAME   (detach with ^P^Q)\n");
                return -EINVAL;
        }
        s.name = argv[1];
        r = workload_path(bus, argv[1], &path);
        if (r < 0)
                return r;
        /* A terminal workload (-d -t): our terminal goes raw, as for a -t launch, and its size goes along.
         */
        {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *spec = NULL;
                json_t *j;

                if (sd_bus_get_property_string(bus, "org.isod1", path, "org.isod1.Workload", "Spec", &e,
                                               &spec) >= 0 &&
                    (j = json_loads(spec, 0, NULL))) {
                        terminal = json_is_true(json_object_get(json_object_get(j, "process"), "terminal"));
                        json_decref(j);
                }
        }
        if (terminal && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                ws = (struct winsize){};
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                r = -errno;
                goto finish;
        }
        r = sd_bus_message_new_method_call(bus, &call, "org.isod1", path, "org.isod1.Workload", "Attach");
        if (r >= 0)
                r = sd_bus_message_append(call, "a{sh}", 3, "stdin", in[0], "stdout", out[1], "stderr",
                                          err[1]);
        if (r >= 0 && ws.ws_row > 0 && ws.ws_col > 0)
                r = sd_bus_message_append(call, "a{sv}", 2, "rows", "q", (uint16_t) ws.ws_row, "cols", "q",
                                          (uint16_t) ws.ws_col);
        else if (r >= 0)
                r = sd_bus_message_append(call, "a{sv}", 0);
        if (r >= 0)
                r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r >= 0)
                r = sd_bus_call_async(bus, NULL, call, on_reply, &s, UINT64_MAX);
        if (r < 0)
                goto finish;
        /* The message holds its own copies of the far ends until it is sent (then it is freed: we
         * drop our reference now), ours go at once: EOF must mean the monitor closed its ends. */
        call = sd_bus_message_unref(call);
        in[0] = safe_close(in[0]);
        out[1] = safe_close(out[1]);
        err[1] = safe_close(err[1]);
        s.event = event;
        s.bus = bus;
        s.path = path;
        s.in_w = TAKE_FD(in[1]);
        s.out_r = out[0];
        s.err_r = err[0];
        r = sd_event_add_io(event, NULL, STDIN_FILENO, EPOLLIN, on_stdin, &s);
        if (r == -EPERM) /* stdin is a regular file or /dev/null: nothing to wait for, send it all */
                r = 0;
        if (r >= 0)
                r = sd_event_add_io(event, NULL, s.out_r, EPOLLIN, on_output, &s);
        if (r >= 0)
                r = sd_event_add_io(event, NULL, s.err_r, EPOLLIN, on_output, &s);
        if (r >= 0 && terminal && ws.ws_row > 0) {
                sigset_t winch;

                sigemptyset(&winch);
                sigaddset(&winch, SIGWINCH);
                (void) sigprocmask(SIG_BLOCK, &winch, NULL);
                r = sd_event_add_signal(event, NULL, SIGWINCH, on_winch, &s);
        }
        if (r < 0)
                goto finish;
        /* On a terminal ^Q is flow control (IXON) and would never reach us; a terminal workload
         * has its own line discipline: ours goes raw. */
        if (terminal)
                tty_raw_mode();
        else if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                t = saved;
                t.c_iflag &= ~(tcflag_t) IXON;
                restore = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
        }
        r = sd_event_loop(event);
        if (terminal)
                tty_restore();
        if (restore)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (r >= 0 && s.error < 0)
                r = s.error;
        else if (r >= 0 && s.reason && !streq(s.reason, "detached"))
                fprintf(stderr, "isoctl: %s: %s.\n", s.name, s.reason);
finish:
        free(s.reason);
        safe_close(s.in_w);
        for (int i = 0; i < 2; i++) {
                safe_close(in[i]);
                safe_close(out[i]);
                safe_close(err[i]);
        }
        if (bus && event)
                (void) sd_bus_detach_event(bus);
        return r;
}
