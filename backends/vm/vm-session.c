/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's stdio sessions (docs/vm.md): the workload's stdio (id 0) and each exec (id > 0) travel as
 * frames on the agent's control port, with flow control both ways (STDIN windows, OUTPUT_ACK);
 * and their terminals: raw slaves, window sizes by SIGWINCH or polling. */

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "log.h"
#include "util.h"
#include "vm-internal.h"

/* Exec terminals have no SIGWINCH here (the monitor has one controlling terminal at most):
 * their size is polled, one ioctl per terminal per period. */
#define VM_WINSIZE_POLL_USEC (200 * USEC_PER_MSEC)

/* ---------------------------------------------------------------- terminals */

/* -t: isoctl hands us the slave of its pty pair as stdio. The guest has the real terminal (a pty
 * the agent made), so the slave must pass bytes untouched: raw, no echo, no \n → \r\n. */
static void tty_make_raw(int fd) {
        struct termios t;

        if (tcgetattr(fd, &t) < 0)
                return;
        cfmakeraw(&t);
        (void) tcsetattr(fd, TCSANOW, &t);
}

static bool winsize_changed(int fd, struct winsize *last) {
        struct winsize ws;

        if (fd < 0 || ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
                return false;
        if (ws.ws_row == last->ws_row && ws.ws_col == last->ws_col)
                return false;
        *last = ws;
        return true;
}

static bool vm_needs_winsize_poll(Vm *vm) {
        if (vm->tty && !vm->ctty && !vm->workload_exited)
                return true;
        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                if (vm->execs[i].id != 0 && vm->execs[i].x && vm->execs[i].x->terminal)
                        return true;
        return false;
}

/* Sends WINSIZE for every terminal whose size changed (SIGWINCH, or the poll for exec -t). */
void vm_sync_winsize(Vm *vm) {
        if (!vm->agent || !vm->workload_started || vm->qemu_exited)
                return;
        if (vm->tty && !vm->workload_exited && winsize_changed(vm->m->stdio[0], &vm->ws))
                (void) agent_conn_send_ids(vm->agent, AGENT_MSG_WINSIZE, 0, vm->ws.ws_row, vm->ws.ws_col, 3);
        for (size_t i = 0; i < VM_MAX_EXECS; i++) {
                VmExec *e = &vm->execs[i];
                if (e->id != 0 && e->x && e->x->terminal && !e->exited &&
                    winsize_changed(e->x->fds[0], &e->ws))
                        (void) agent_conn_send_ids(vm->agent, AGENT_MSG_WINSIZE, e->id, e->ws.ws_row,
                                                   e->ws.ws_col, 3);
        }
}

static int on_winsize_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        vm_sync_winsize(vm);
        if (!vm_needs_winsize_poll(vm))
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        /* A one-shot source: it is off now; set the next expiry and switch it on again. */
        (void) sd_event_source_set_time_relative(s, VM_WINSIZE_POLL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

void vm_arm_winsize_poll(Vm *vm) {
        if (!vm_needs_winsize_poll(vm))
                return;
        if (vm->winsize_timer) {
                int enabled = SD_EVENT_OFF;
                (void) sd_event_source_get_enabled(vm->winsize_timer, &enabled);
                if (enabled == SD_EVENT_OFF) {
                        (void) sd_event_source_set_time_relative(vm->winsize_timer, VM_WINSIZE_POLL_USEC);
                        (void) sd_event_source_set_enabled(vm->winsize_timer, SD_EVENT_ONESHOT);
                }
                return;
        }
        (void) sd_event_add_time_relative(vm->m->event, &vm->winsize_timer, CLOCK_MONOTONIC,
                                          VM_WINSIZE_POLL_USEC, 10 * USEC_PER_MSEC, on_winsize_poll, vm);
}

static int on_sigwinch(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        vm_sync_winsize(userdata);
        return 0;
}

/* The workload's terminal: raw slave, its size for the CONFIG, and SIGWINCH. The monitor becomes
 * a session leader and makes the slave its controlling terminal, so the kernel tells it when
 * isoctl resizes the master; if that is not possible (the slave is some other session's
 * terminal), the size is polled like an exec terminal's. */
void vm_setup_tty(Vm *vm) {
        Monitor *m = vm->m;
        int fd = m->stdio[0];
        sigset_t ss;

        if (!m->spec->terminal || fd < 0 || !isatty(fd))
                return;
        vm->tty = true;
        tty_make_raw(fd);
        (void) winsize_changed(fd, &vm->ws);

        (void) setsid(); /* fails harmlessly if we already lead a process group */
        if (ioctl(fd, TIOCSCTTY, 0) >= 0) {
                sigemptyset(&ss);
                sigaddset(&ss, SIGWINCH);
                (void) sigprocmask(SIG_BLOCK, &ss, NULL);
                vm->ctty = sd_event_add_signal(m->event, &vm->winch_src, SIGWINCH, on_sigwinch, vm) >= 0;
        }
        log_debug("VM terminal %ux%u, window size via %s.", vm->ws.ws_col, vm->ws.ws_row,
                  vm->ctty ? "SIGWINCH" : "polling");
}

/* ---------------------------------------------------------------- sessions */

void exec_finish(Vm *vm, VmExec *e, int r, int status, const char *msg) {
        ExecRequest *x = e->x;

        e->in_src = sd_event_source_disable_unref(e->in_src);
        e->retry_src = sd_event_source_disable_unref(e->retry_src);
        if (e->in_fd >= 0)
                (void) close(e->in_fd);
        outq_free(e->out[0]);
        outq_free(e->out[1]);
        free(e->error);
        *e = (VmExec){ .in_fd = -EBADF };
        if (x)
                monitor_exec_finished(vm->m, x, r, status, msg);
}

/* Output flow control, per session: what reached the client (or was dropped for a client that
 * is gone) goes back to the agent as OUTPUT_ACK, and the agent sends at most AGENT_OUTPUT_WINDOW
 * bytes ahead of that. So the control port is always read: a client that does not read stalls
 * its own session only, never signals, stats or other sessions. */
void session_ack_output(Vm *vm, VmExec *e) {
        uint64_t pending = outq_pending(e->out[0]) + outq_pending(e->out[1]), done, n;

        if (!vm->agent || vm->qemu_exited)
                return;
        done = e->out_rx - MIN(pending, e->out_rx);
        if (done <= e->out_acked)
                return;
        n = MIN(done - e->out_acked, (uint64_t) AGENT_OUTPUT_WINDOW);
        if (agent_conn_send_ids(vm->agent, AGENT_MSG_OUTPUT_ACK, e->id, (uint32_t) n, 0, 2) >= 0)
                e->out_acked += n;
}

/* An exec ends when the agent said EXIT and its output reached the client. */
void exec_maybe_finish(Vm *vm, VmExec *e) {
        _cleanup_free_ char *err = NULL;

        if (!e->exited || outq_pending(e->out[0]) > 0 || outq_pending(e->out[1]) > 0)
                return;
        err = e->error ? strdup(e->error) : NULL;
        exec_finish(vm, e, 0, e->status, err);
}

void on_exec_out_drained(OutQueue *q, void *userdata) {
        VmExec *e = userdata;
        Vm *vm = e->vm;

        session_ack_output(vm, e);
        if (e == &vm->io)
                vm_maybe_report(vm);
        else
                exec_maybe_finish(vm, e);
}

VmExec *exec_find(Vm *vm, uint32_t id) {
        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                if (vm->execs[i].id == id && id != 0)
                        return &vm->execs[i];
        return NULL;
}

/* The workload's stdio (id 0) or an exec's. */
VmExec *session_find(Vm *vm, uint32_t id) {
        if (id == 0)
                return vm->io.vm ? &vm->io : NULL;
        return exec_find(vm, id);
}

static int on_exec_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int on_exec_stdin_file(sd_event_source *s, void *userdata) {
        return on_exec_stdin(s, -EBADF, EPOLLIN, userdata);
}

/* Reads the client's stdin (reopened non-blocking) into STDIN frames of session E. A regular
 * file (epoll refuses it) is always readable: a defer source reads it as fast as the window
 * allows. Without stdin the session gets EOF at once. */
void session_stdin_start(Vm *vm, VmExec *e, int client_fd) {
        uint8_t idb[4];
        int r = -EBADF;

        agent_put_u32(idb, e->id);
        if (client_fd >= 0) {
                char p[64];
                (void) snprintf(p, sizeof p, "/proc/self/fd/%i", client_fd);
                e->in_fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                if (e->in_fd < 0)
                        e->in_fd = fcntl(client_fd, F_DUPFD_CLOEXEC, 3);
                if (e->in_fd >= 0)
                        r = sd_event_add_io(vm->m->event, &e->in_src, e->in_fd, EPOLLIN, on_exec_stdin, e);
                if (r == -EPERM) {
                        r = sd_event_add_defer(vm->m->event, &e->in_src, on_exec_stdin_file, e);
                        if (r >= 0) /* defer sources start as one-shot */
                                r = sd_event_source_set_enabled(e->in_src, SD_EVENT_ON);
                }
                if (r >= 0)
                        return;
                e->in_src = sd_event_source_disable_unref(e->in_src);
                if (e->in_fd >= 0)
                        (void) close(e->in_fd);
                e->in_fd = -EBADF;
        }
        (void) agent_conn_send(vm->agent, AGENT_MSG_STDIN, idb, 4, NULL, 0);
}

static int on_exec_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        VmExec *e = userdata;

        e->retry_src = sd_event_source_disable_unref(e->retry_src);
        if (e->in_src)
                (void) sd_event_source_set_enabled(e->in_src, SD_EVENT_ON);
        return 0;
}

static int on_exec_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VmExec *e = userdata;
        static uint8_t buf[AGENT_DATA_MAX];
        uint8_t idb[4];
        ssize_t n;
        Vm *vm = e->vm;

        if (!vm || !vm->agent)
                return 0;
        if (e->in_flight >= AGENT_STDIN_WINDOW) {
                /* The agent has a window's worth unwritten: wait for its STDIN_ACK. */
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        if (!agent_conn_can_send(vm->agent)) {
                /* Backpressure: the guest is slower than the client; look again in 10ms. */
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                e->retry_src = sd_event_source_disable_unref(e->retry_src);
                (void) sd_event_add_time_relative(vm->m->event, &e->retry_src, CLOCK_MONOTONIC,
                                                  10 * USEC_PER_MSEC, 0, on_exec_retry, e);
                return 0;
        }
        agent_put_u32(idb, e->id);
        n = read(e->in_fd, buf, MIN(sizeof buf, AGENT_STDIN_WINDOW - e->in_flight));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                (void) agent_conn_send(vm->agent, AGENT_MSG_STDIN, idb, 4, NULL, 0);
                e->in_src = sd_event_source_disable_unref(e->in_src);
                return 0;
        }
        if (agent_conn_send(vm->agent, AGENT_MSG_STDIN, idb, 4, buf, (size_t) n) >= 0)
                e->in_flight += (uint64_t) n;
        return 0;
}

int vm_exec(Monitor *m, ExecRequest *x) {
        Vm *vm = vm_get(m);
        _cleanup_free_ uint8_t *kv = NULL;
        VmExec *e = NULL;
        uint8_t idb[4];
        size_t n;
        int r;

        if (!vm || !vm->workload_started || vm->workload_exited || vm->qemu_exited)
                return -EBUSY;
        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                if (vm->execs[i].id == 0) {
                        e = &vm->execs[i];
                        break;
                }
        if (!e)
                return -EBUSY;
        struct winsize ws = {};
        if (x->terminal && x->fds[0] >= 0 && isatty(x->fds[0])) {
                tty_make_raw(x->fds[0]);
                (void) winsize_changed(x->fds[0], &ws);
        }
        r = agent_encode_exec(x, m->spec, x->terminal ? &ws : NULL, &kv, &n);
        if (r < 0)
                return r;
        if (++vm->next_exec_id == 0)
                vm->next_exec_id = 1;
        agent_put_u32(idb, vm->next_exec_id);
        r = agent_conn_send(vm->agent, AGENT_MSG_EXEC, idb, 4, kv, n);
        if (r < 0)
                return r;
        *e = (VmExec){ .id = vm->next_exec_id, .x = x, .in_fd = -EBADF, .ws = ws, .vm = vm };
        for (size_t i = 0; i < 2; i++)
                if (outq_new(m->event, x->fds[1 + i], on_exec_out_drained, e, &e->out[i]) < 0)
                        e->out[i] = NULL; /* output to nowhere rather than blocking */
        vm_arm_winsize_poll(vm);
        session_stdin_start(vm, e, x->fds[0]);
        return 0;
}
