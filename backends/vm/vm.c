/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM backend (docs/vm.md): one jailed QEMU microVM per workload, owned by isod-monitor,
 * with isod-agent as PID 1 in the guest. This file is the state machine; qemu.c builds the
 * command line and speaks QMP, jail.c makes the sandbox, image.c builds the rootfs image,
 * agent-host.c speaks the agent protocol, relay.c moves stdio bytes. */

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>

#include "links.h"
#include "log.h"
#include "util.h"
#include "vm-internal.h"

#ifndef ISOD_QEMU_PATH
#define ISOD_QEMU_PATH "/usr/bin/qemu-system-x86_64"
#endif

#define VM_DEFAULT_MEMORY (UINT64_C(256) << 20)
#define VM_MIN_MEMORY (UINT64_C(64) << 20)
#define VM_MAX_CPUS 64U
#define VM_BOOT_TIMEOUT_USEC (120 * USEC_PER_SEC) /* TCG on a loaded host is slow */
#define VM_POWEROFF_GRACE_USEC (10 * USEC_PER_SEC)
#define VM_STATS_TIMEOUT_USEC (500 * USEC_PER_MSEC)
#define VM_CONSOLE_LOG_MAX (1024U * 1024U)
#define VM_MAX_EXECS 64U
/* Exec terminals have no SIGWINCH here (the monitor has one controlling terminal at most):
 * their size is polled, one ioctl per terminal per period. */
#define VM_WINSIZE_POLL_USEC (200 * USEC_PER_MSEC)
/* QEMU's cgroup: guest RAM plus what QEMU needs for itself. Measured (bench/results/vm-*.md):
 * RSS beyond guest RAM is ~37 MiB with KVM; under TCG ~75 MiB anonymous (32 MiB translation
 * cache, heap, device model) plus the page cache of the mmapped vmlinux (57 MiB, reclaimable). */
#define VM_VMM_OVERHEAD_KVM CGROUP_VMM_MEMORY_OVERHEAD
#define VM_VMM_OVERHEAD_TCG (UINT64_C(160) << 20)
#define VM_VMM_PIDS 64U /* QEMU's threads: vCPUs, I/O, RCU, call_rcu, workers */

/* A process whose stdio travels as frames on the control port: the workload (id 0, Vm.io, fds
 * from the monitor's stdio) or an exec session (id > 0, fds from its ExecRequest). */
typedef struct VmExec {
        uint32_t id;
        sd_event_source *retry_src; /* backpressure: re-enable in_src later */
        ExecRequest *x;             /* owned by the monitor until monitor_exec_finished() */
        int in_fd;                  /* our reopened copy of the client's stdin, or -1 */
        sd_event_source *in_src;
        uint64_t in_flight; /* STDIN sent, not yet acknowledged: at most AGENT_STDIN_WINDOW */
        /* STDOUT/STDERR data received, and how much of it OUTPUT_ACK gave back to the agent once
         * it reached the client: the difference is at most AGENT_OUTPUT_WINDOW. */
        uint64_t out_rx, out_acked;
        OutQueue *out[2]; /* stdout, stderr to the client, non-blocking */
        bool exited;      /* EXIT came; finished once out[] drained */
        int status;
        struct winsize ws; /* terminal: last size sent */
        char *error;
        struct Vm *vm;
} VmExec;

typedef struct Vm {
        Monitor *m;
        VmAccel accel;
        char *rootfs_dir;
        char *image;         /* cached erofs of the rootfs, or NULL with inline_initrd */
        char *inline_initrd; /* initramfs + the rootfs tree (small images, image_inline_get()) */
        char **mount_images; /* one per spec mount */
        size_t n_builds;     /* image builds in flight */
        ImageBuild **builds;
        char *jail_dir;

        pid_t qemu_pid;
        sd_event_source *child_src;
        bool qemu_exited;
        int qemu_status; /* si_code/si_status folded: exit code or 128+signal */
        bool qemu_signaled;
        char *shutdown_reason; /* QMP SHUTDOWN "reason" */
        bool guest_panicked;

        Qmp *qmp;
        AgentConn *agent;
        Relay *relay_console, *relay_qemu_log;
        VmExec io;        /* the workload's stdio (id 0), from vm_launch() on */
        int console_sock; /* our end of the console port's socket */
        int console_fd, qemu_log_fd, qemu_err_pipe;

        bool agent_ready, workload_started, workload_exited, reported, stopping;
        bool agent_net; /* READY said the agent configures a NIC (net=1) */
        uint32_t exit_code, exit_signal;
        char *agent_error;    /* ERROR for id 0 */
        char *protocol_error; /* the agent broke the protocol */
        json_t *guest_stats;
        uint64_t guest_stats_usec;

        sd_event_source *timer; /* boot timeout, stop grace, power-off grace */
        VmExec execs[VM_MAX_EXECS];
        uint32_t next_exec_id;

        Cgroup *cgroup;    /* QEMU's */
        bool tty, ctty;    /* -t; the slave is our controlling terminal (SIGWINCH) */
        struct winsize ws; /* last size sent for the workload's terminal */
        sd_event_source *winch_src, *winsize_timer;

        /* Boot timing (µs since vm_start, host monotonic; guest: uptime), for bench/. */
        uint64_t t0, t_spawn, t_ready, t_started, t_exit, t_qemu_exit;
        uint64_t g_agent, g_modules, g_ports;
} Vm;

static Vm *vm_get(Monitor *m) {
        return m->backend_data;
}

/* ---------------------------------------------------------------- probe / validate */

static int vm_probe(const BackendHostConfig *cfg, char **ret_reason) {
        const char *qemu = cfg && cfg->qemu ? cfg->qemu : ISOD_QEMU_PATH;
        char *reason = NULL;
        VmAccel a;
        int r;

        if (access(qemu, X_OK) < 0) {
                if (ret_reason && asprintf(ret_reason, "%s not found (install qemu-system-x86)", qemu) < 0)
                        *ret_reason = NULL;
                return -EOPNOTSUPP;
        }
        /* The guest kernel and initramfs are prepared by isod-setup; without them no VM can boot. */
        if (cfg && cfg->vm_dir) {
                static const char *const files[] = { "vmlinux", "initramfs.cpio" };

                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/%s", cfg->vm_dir, files[i]) < 0)
                                return -ENOMEM;
                        if (access(p, R_OK) < 0) {
                                if (ret_reason &&
                                    asprintf(ret_reason, "no guest kernel: %s is missing (run isod-setup)",
                                             p) < 0)
                                        *ret_reason = NULL;
                                return -EOPNOTSUPP;
                        }
                }
        }
        r = vm_accel_detect(cfg && cfg->accel ? cfg->accel : "auto", &a, &reason);
        if (r < 0)
                return r;
        if (ret_reason)
                *ret_reason = reason;
        else
                free(reason);
        return 0;
}

static int vm_validate(const WorkloadSpec *s, char **reterr) {
        const char *msg = NULL;

        if (s->memory > 0 && s->memory < VM_MIN_MEMORY)
                msg = "A VM needs at least 64M of memory ('resources.memory').";
        else if (s->cpus > VM_MAX_CPUS)
                msg = "A VM has at most 64 vCPUs ('resources.cpus').";
        else if (s->network == NETWORK_HOST)
                msg = "network mode \"host\" is for containers only; a VM has its own kernel and network "
                      "stack: use \"nat\" (a NIC on an isod network) or \"none\".";
        for (size_t i = 0; !msg && i < s->n_mounts; i++)
                if (!s->mounts[i].readonly)
                        msg = "VMs support read-only mounts only (set 'readonly': true).";
        if (!msg)
                return 0;
        if (reterr)
                *reterr = strdup(msg);
        return -EINVAL; /* the spec asks what a VM cannot do: InvalidSpec, not BackendUnavailable */
}

/* ---------------------------------------------------------------- completion */

static void vm_stop_timer(Vm *vm) {
        vm->timer = sd_event_source_disable_unref(vm->timer);
}

static int vm_arm_timer(Vm *vm, uint64_t usec, sd_event_time_handler_t cb) {
        vm_stop_timer(vm);
        return sd_event_add_time_relative(vm->m->event, &vm->timer, CLOCK_MONOTONIC, usec, 0, cb, vm);
}

static void vm_kill_qemu(Vm *vm) {
        if (vm->qemu_pid > 0 && !vm->qemu_exited)
                (void) kill(vm->qemu_pid, SIGKILL);
}

static void exec_finish(Vm *vm, VmExec *e, int r, int status, const char *msg) {
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

static uint64_t vm_since(Vm *vm) {
        return now_usec(CLOCK_MONOTONIC) - vm->t0;
}

static void vm_publish_timing(Vm *vm) {
        json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "spawn_usec", (json_int_t) vm->t_spawn,
                              "ready_usec", (json_int_t) vm->t_ready, "started_usec",
                              (json_int_t) vm->t_started, "exit_usec", (json_int_t) vm->t_exit,
                              "qemu_exit_usec", (json_int_t) vm->t_qemu_exit, "guest_agent_usec",
                              (json_int_t) vm->g_agent, "guest_modules_usec", (json_int_t) vm->g_modules,
                              "guest_ports_usec", (json_int_t) vm->g_ports);
        if (o)
                monitor_set_fact(vm->m, "timing", o);
}

/* Reports the end once QEMU is gone and every byte of stdout/stderr reached the client (or the
 * client is gone: its queue then discards). */
static void vm_maybe_report(Vm *vm) {
        Monitor *m = vm->m;
        char buf[256];

        if (vm->reported || !vm->qemu_exited || outq_pending(vm->io.out[0]) > 0 ||
            outq_pending(vm->io.out[1]) > 0)
                return;
        vm->reported = true;
        vm_stop_timer(vm);
        vm_publish_timing(vm);

        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                if (vm->execs[i].id != 0)
                        exec_finish(vm, &vm->execs[i], -ESRCH, -1, "the VM has stopped");

        if (vm->workload_exited)
                monitor_payload_exited(m, (int) vm->exit_code, (int) vm->exit_signal,
                                       vm->exit_signal ? "signal" : "exited");
        else if (vm->guest_panicked || (vm->shutdown_reason && (streq(vm->shutdown_reason, "guest-reset") ||
                                                                streq(vm->shutdown_reason, "guest-panic"))))
                monitor_payload_exited(m, 255, 0, "panic");
        else if (vm->protocol_error)
                monitor_payload_failed(m, -EPROTO, vm->protocol_error);
        else if (vm->agent_error && !vm->workload_started)
                monitor_payload_failed(m, -EIO, vm->agent_error);
        else if (vm->stopping)
                monitor_payload_exited(m, 128 + SIGKILL, SIGKILL, "signal");
        else if (!vm->agent_ready) {
                (void) snprintf(
                        buf, sizeof buf,
                        "QEMU %s %d before the guest agent started (see console.log and qemu.log in the state directory)",
                        vm->qemu_signaled ? "was killed by signal" : "exited with status",
                        vm->qemu_signaled ? vm->qemu_status - 128 : vm->qemu_status);
                monitor_payload_failed(m, -EIO, buf);
        } else
                monitor_payload_exited(m, 255, 0, "qemu-died");
}

static int on_qemu_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Vm *vm = userdata;

        vm->child_src = sd_event_source_disable_unref(vm->child_src);
        vm->qemu_exited = true;
        vm->t_qemu_exit = vm_since(vm);
        vm->qemu_signaled = si->si_code != CLD_EXITED;
        vm->qemu_status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
        /* Events QEMU sent just before exiting (SHUTDOWN with its reason) and the agent's last
         * frames are still in the sockets. */
        qmp_drain(vm->qmp);
        if (vm->agent)
                /* QEMU is gone, so what is left in the socket is finite (a socket buffer, and the
                 * output windows bound what we keep of it): read all of it. */
                for (unsigned i = 0; i < 1024 && agent_conn_pump(vm->agent, 0) > 0; i++)
                        ;
        /* Nobody reads stdin any more. */
        for (size_t i = 0; i <= VM_MAX_EXECS; i++) {
                VmExec *e = i == VM_MAX_EXECS ? &vm->io : &vm->execs[i];
                e->in_src = sd_event_source_disable_unref(e->in_src);
                e->retry_src = sd_event_source_disable_unref(e->retry_src);
        }
        vm_maybe_report(vm);
        return 0;
}

static void on_qmp_event(Qmp *q, const char *event, json_t *data, void *userdata) {
        Vm *vm = userdata;
        json_t *reason;

        if (streq(event, "SHUTDOWN")) {
                reason = json_object_get(data, "reason");
                if (json_is_string(reason) && !vm->shutdown_reason)
                        vm->shutdown_reason = strdup(json_string_value(reason));
        } else if (streq(event, "GUEST_PANICKED"))
                vm->guest_panicked = true;
}

static int on_hard_stop(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        vm_stop_timer(vm);
        vm_kill_qemu(vm);
        return 0;
}

static int on_grace_over(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        /* Hard power-off: QMP quit, and SIGKILL if QEMU does not even do that. */
        vm->stopping = true;
        if (qmp_execute(vm->qmp, "quit") < 0)
                vm_kill_qemu(vm);
        (void) vm_arm_timer(vm, 5 * USEC_PER_SEC, on_hard_stop);
        return 0;
}

static int on_boot_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        if (!vm->agent_error)
                vm->agent_error = strdup("the guest did not start the workload in time");
        return on_grace_over(s, usec, userdata);
}

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
static void vm_sync_winsize(Vm *vm) {
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

static void vm_arm_winsize_poll(Vm *vm) {
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
static void vm_setup_tty(Vm *vm) {
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

/* ---------------------------------------------------------------- agent messages */

/* Output flow control, per session: what reached the client (or was dropped for a client that
 * is gone) goes back to the agent as OUTPUT_ACK, and the agent sends at most AGENT_OUTPUT_WINDOW
 * bytes ahead of that. So the control port is always read: a client that does not read stalls
 * its own session only, never signals, stats or other sessions. */
static void session_ack_output(Vm *vm, VmExec *e) {
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
static void exec_maybe_finish(Vm *vm, VmExec *e) {
        _cleanup_free_ char *err = NULL;

        if (!e->exited || outq_pending(e->out[0]) > 0 || outq_pending(e->out[1]) > 0)
                return;
        err = e->error ? strdup(e->error) : NULL;
        exec_finish(vm, e, 0, e->status, err);
}

static void on_exec_out_drained(OutQueue *q, void *userdata) {
        VmExec *e = userdata;
        Vm *vm = e->vm;

        session_ack_output(vm, e);
        if (e == &vm->io)
                vm_maybe_report(vm);
        else
                exec_maybe_finish(vm, e);
}

static VmExec *exec_find(Vm *vm, uint32_t id) {
        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                if (vm->execs[i].id == id && id != 0)
                        return &vm->execs[i];
        return NULL;
}

/* The workload's stdio (id 0) or an exec's. */
static VmExec *session_find(Vm *vm, uint32_t id) {
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
static void session_stdin_start(Vm *vm, VmExec *e, int client_fd) {
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

static void send_config(Vm *vm) {
        _cleanup_free_ uint8_t *kv = NULL;
        _cleanup_strv_free_ char **disks = NULL;
        size_t n;
        int r;

        for (size_t i = 0; i < vm->m->spec->n_mounts; i++) {
                char d[32];
                (void) snprintf(d, sizeof d, AGENT_DISK_MOUNT_PREFIX "%zu", i);
                if (strv_extend(&disks, d) < 0)
                        goto fail;
        }
        r = agent_encode_config(vm->m->spec, (const char *const *) disks, vm->tty ? &vm->ws : NULL,
                                vm->m->net, &kv, &n);
        if (r >= 0)
                r = agent_conn_send(vm->agent, AGENT_MSG_CONFIG, kv, n, NULL, 0);
        if (r >= 0) {
                /* After the CONFIG: the agent reads nothing else before it. */
                session_stdin_start(vm, &vm->io, vm->m->stdio[0]);
                return;
        }
fail:
        vm->agent_error = strdup("cannot send the configuration to the guest agent");
        (void) on_grace_over(NULL, 0, vm);
}

static void on_agent_error(AgentConn *a, int error, const char *message, void *userdata);

static void on_agent_msg(AgentConn *a, const AgentMsg *msg, void *userdata) {
        Vm *vm = userdata;
        VmExec *e;

        switch (msg->type) {
        case AGENT_MSG_READY: {
                AgentKvIter it;
                const char *k, *v;
                size_t kl;

                if (vm->agent_ready)
                        break;
                vm->agent_ready = true;
                vm->t_ready = vm_since(vm);
                uint64_t version = 0;
                agent_kv_iter_init(&it, msg->kv.kv, msg->kv.size);
                while (agent_kv_next(&it, &k, &kl, &v) > 0) {
                        uint64_t u;
                        if (safe_atou64(v, &u) < 0 || u > (UINT64_C(1) << 40))
                                continue;
                        if (agent_kv_key_is(k, kl, "version"))
                                version = u;
                        else if (agent_kv_key_is(k, kl, "t_agent"))
                                vm->g_agent = u;
                        else if (agent_kv_key_is(k, kl, "t_modules"))
                                vm->g_modules = u;
                        else if (agent_kv_key_is(k, kl, "t_ports"))
                                vm->g_ports = u;
                        else if (agent_kv_key_is(k, kl, "net"))
                                vm->agent_net = u == 1;
                }
                if (version != AGENT_PROTO_VERSION) {
                        /* An initramfs from another isod: its agent would not understand us. */
                        if (asprintf(&vm->agent_error,
                                     "the guest agent speaks protocol version %" PRIu64
                                     ", this isod %u: run isod-vm-setup again",
                                     version, AGENT_PROTO_VERSION) < 0)
                                vm->agent_error = NULL;
                        (void) on_grace_over(NULL, 0, vm);
                        break;
                }
                if (vm->m->net && !vm->agent_net) {
                        /* An initramfs from before NICs: its agent would ignore net.* and run the
                         * workload without the network it asked for. */
                        vm->agent_error = strdup(
                                "the guest has no network support (no virtio_net module or an older "
                                "agent in the initramfs): run isod-vm-setup again");
                        (void) on_grace_over(NULL, 0, vm);
                        break;
                }
                send_config(vm);
                break;
        }
        case AGENT_MSG_STARTED:
                if (msg->id == 0) {
                        if (vm->workload_started)
                                break;
                        vm->workload_started = true;
                        vm->t_started = vm_since(vm);
                        vm_stop_timer(vm);
                        vm_publish_timing(vm);
                        vm_sync_winsize(vm);
                        vm_arm_winsize_poll(vm);
                        monitor_set_fact(vm->m, "guest_pid", json_integer(msg->started.pid));
                        monitor_payload_running(vm->m, vm->qemu_pid);
                }
                break;
        case AGENT_MSG_EXIT:
                if (msg->id == 0) {
                        if (vm->workload_exited)
                                break;
                        vm->workload_exited = true;
                        vm->t_exit = vm_since(vm);
                        vm->exit_code = msg->exit.code;
                        vm->exit_signal = msg->exit.signal;
                        /* Frames come in order: the workload's whole output is here already
                         * (queued for the client), and the agent waits for us to end QEMU. */
                        vm->io.in_src = sd_event_source_disable_unref(vm->io.in_src);
                        if (qmp_execute(vm->qmp, "quit") < 0)
                                vm_kill_qemu(vm);
                        (void) vm_arm_timer(vm, 5 * USEC_PER_SEC, on_hard_stop);
                } else if ((e = exec_find(vm, msg->id))) {
                        e->exited = true;
                        e->status = msg->exit.signal ? 128 + (int) msg->exit.signal : (int) msg->exit.code;
                        exec_maybe_finish(vm, e);
                }
                break;
        case AGENT_MSG_STDIN_ACK:
                e = session_find(vm, msg->id);
                if (e) {
                        e->in_flight -= MIN((uint64_t) msg->ack.bytes, e->in_flight);
                        if (e->in_src && !e->retry_src && e->in_flight < AGENT_STDIN_WINDOW)
                                (void) sd_event_source_set_enabled(e->in_src, SD_EVENT_ON);
                }
                break;
        case AGENT_MSG_STDOUT:
        case AGENT_MSG_STDERR:
                e = session_find(vm, msg->id);
                if (e && (e->x || e == &vm->io)) {
                        OutQueue *q = e->out[msg->type == AGENT_MSG_STDOUT ? 0 : 1];

                        e->out_rx += msg->data.size;
                        if (e->out_rx - e->out_acked > AGENT_OUTPUT_WINDOW) {
                                /* Beyond its window: a broken or hostile agent. */
                                on_agent_error(a, -EPROTO,
                                               "the guest agent overran a session's output window", vm);
                                break;
                        }
                        if (q && outq_push(q, msg->data.data, msg->data.size) < 0)
                                log_debug("Session %" PRIu32
                                          ": output dropped, the client does not read it.",
                                          e->id);
                        session_ack_output(vm, e);
                }
                break;
        case AGENT_MSG_ERROR: {
                _cleanup_free_ char *text = strndup((const char *) msg->data.data, msg->data.size);
                if (!text)
                        break;
                /* Never trust guest text: strip control characters. */
                for (char *c = text; *c; c++)
                        if ((unsigned char) *c < 0x20 || *c == 0x7f)
                                *c = ' ';
                if (msg->id == 0) {
                        if (!vm->agent_error)
                                vm->agent_error = TAKE_PTR(text);
                } else if ((e = exec_find(vm, msg->id)) && !e->error)
                        e->error = TAKE_PTR(text);
                break;
        }
        case AGENT_MSG_STATS: {
                AgentKvIter it;
                const char *k, *v;
                size_t kl;
                json_t *o = json_object();

                agent_kv_iter_init(&it, msg->kv.kv, msg->kv.size);
                while (o && agent_kv_next(&it, &k, &kl, &v) > 0) {
                        uint64_t u;
                        char key[32];
                        if (kl >= sizeof key || safe_atou64(v, &u) < 0 || u > (UINT64_C(1) << 62))
                                continue;
                        memcpy(key, k, kl);
                        key[kl] = 0;
                        if (streq(key, "mem_total") || streq(key, "mem_available") ||
                            streq(key, "cpu_usec") || streq(key, "pids") || streq(key, "uptime_usec"))
                                (void) json_object_set_new(o, key, json_integer((json_int_t) u));
                }
                json_decref(vm->guest_stats);
                vm->guest_stats = o;
                vm->guest_stats_usec = now_usec(CLOCK_MONOTONIC);
                break;
        }
        default:
                break;
        }
}

static void on_agent_error(AgentConn *a, int error, const char *message, void *userdata) {
        Vm *vm = userdata;

        if (error == -ECONNRESET)
                return; /* QEMU went away; on_qemu_exit() decides */
        /* A hostile or broken guest: stop the VM, keep the monitor. */
        if (!vm->protocol_error && asprintf(&vm->protocol_error, "%s (%s)", message, strerror(-error)) < 0)
                vm->protocol_error = NULL;
        vm_kill_qemu(vm);
}

/* ---------------------------------------------------------------- start */

static int socketpairs(int fds[_VM_FD_MAX][2]) {
        for (size_t i = 0; i < _VM_FD_MAX; i++)
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds[i]) < 0)
                        return -errno;
        return 0;
}

static void close_pairs(int fds[_VM_FD_MAX][2]) {
        for (size_t i = 0; i < _VM_FD_MAX; i++)
                for (size_t j = 0; j < 2; j++)
                        if (fds[i][j] >= 0) {
                                (void) close(fds[i][j]);
                                fds[i][j] = -EBADF;
                        }
}

static char *tap_error_message(const NetConfig *c, int r) {
        char *s;
        int n;

        if (r == -ENODEV)
                n = asprintf(
                        &s,
                        "cannot create the VM's network interface '%s': the bridge '%s' of network '%s' does not exist",
                        c->host_ifname, c->network, c->network);
        else if (r == -ENOTTY)
                n = asprintf(&s, "cannot create the VM's network interface '%s': '%s' is not a bridge",
                             c->host_ifname, c->network);
        else
                n = asprintf(&s, "cannot create the VM's network interface '%s' on bridge '%s': %s",
                             c->host_ifname, c->network, strerror(-r));
        return n < 0 ? NULL : s;
}

static int vm_launch(Vm *vm, char **reterr) {
        Monitor *m = vm->m;
        const WorkloadSpec *s = m->spec;
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *console = NULL, *cg_path = NULL, *cg_msg = NULL,
                            *qemu_log = NULL;
        _cleanup_strv_free_ char **argv = NULL, **jail_mounts = NULL;
        int fds[_VM_FD_MAX][2], child_fds[_VM_JAIL_FD_MAX], errp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int tap_fd = -EBADF;
        char mac[18];
        JailBind binds[3 + SPEC_MAX_MOUNTS];
        size_t n_binds = 0;
        QemuConfig qc;
        pid_t pid;
        int r;

        for (size_t i = 0; i < _VM_FD_MAX; i++)
                fds[i][0] = fds[i][1] = -EBADF;

        if (asprintf(&kernel, "%s/vmlinux", m->paths.vm_dir) < 0 ||
            asprintf(&initrd, "%s/initramfs.cpio", m->paths.vm_dir) < 0 ||
            asprintf(&vm->jail_dir, "%s/jail", m->dir) < 0)
                return -ENOMEM;
        if (access(kernel, R_OK) < 0 || access(initrd, R_OK) < 0) {
                *reterr = strdup("guest kernel or initramfs missing: run isod-vm-setup");
                return -ENOENT;
        }
        if (mkdir(vm->jail_dir, 0700) < 0 && errno != EEXIST)
                return -errno;

        binds[n_binds++] = (JailBind){ kernel, "/vm/vmlinux" };
        binds[n_binds++] = (JailBind){ vm->inline_initrd ?: initrd, "/vm/initramfs.cpio" };
        if (vm->image)
                binds[n_binds++] = (JailBind){ vm->image, "/vm/rootfs.erofs" };
        for (size_t i = 0; i < s->n_mounts; i++) {
                char t[64];
                (void) snprintf(t, sizeof t, "/vm/mnt%zu.erofs", i);
                r = strv_extend(&jail_mounts, t);
                if (r < 0)
                        return r;
                binds[n_binds++] = (JailBind){ vm->mount_images[i], jail_mounts[i] };
        }

        qc = (QemuConfig){
                .accel = vm->accel,
                .cpus = s->cpus > 0 ? (unsigned) ceil(s->cpus) : 1,
                .memory_mib = ((s->memory ?: VM_DEFAULT_MEMORY) + (UINT64_C(1) << 20) - 1) >> 20,
                .kernel = "/vm/vmlinux",
                .initrd = "/vm/initramfs.cpio",
                .rootfs = vm->image ? "/vm/rootfs.erofs" : NULL,
                .mount_images = (const char *const *) jail_mounts,
                .nic = m->net != NULL,
                .mac = m->net ? mac_to_string(m->net->mac, mac) : NULL,
        };
        r = qemu_build_argv(&qc, m->paths.qemu ?: ISOD_QEMU_PATH, &argv);
        if (r < 0)
                return r;

        /* QEMU's cgroup: guest RAM + the VMM's own overhead, the workload's CPUs, QEMU's threads. */
        r = cgroup_path_for_workload(m->dir, "vm", m->name, &cg_path);
        if (r < 0)
                return r;
        r = cgroup_setup(
                cg_path,
                &(CgroupLimits){
                        .memory = (qc.memory_mib << 20) +
                                  (vm->accel == VM_ACCEL_KVM ? VM_VMM_OVERHEAD_KVM : VM_VMM_OVERHEAD_TCG),
                        .cpus = s->cpus,
                        .pids = VM_VMM_PIDS + 2 * qc.cpus,
                        .io_weight = s->io_weight,
                        .extra_devices = (const CgroupDeviceRule[]){ { 'c', 10, 232, "rw" } }, /* kvm */
                        .n_extra_devices = vm->accel == VM_ACCEL_KVM ? 1 : 0,
                },
                &vm->cgroup, &cg_msg);
        if (r < 0) {
                if (asprintf(reterr, "set up QEMU's cgroup: %s", cg_msg ?: strerror(-r)) < 0)
                        *reterr = NULL;
                return r;
        }
        monitor_set_fact(m, "cgroup", json_string(cgroup_path(vm->cgroup)));

        vm_setup_tty(vm);

        /* The NIC's tap, here in the host's network namespace: the jail's clone() below gives
         * QEMU an empty one, and QEMU only inherits the fd. */
        if (m->net) {
                r = tap_open(m->net, &tap_fd);
                if (r < 0) {
                        *reterr = tap_error_message(m->net, r);
                        return r;
                }
                monitor_set_fact(m, "host_ifname", json_string(m->net->host_ifname));
        }

        r = socketpairs(fds);
        if (r < 0) {
                close_pairs(fds);
                return r;
        }
        for (size_t i = 0; i < _VM_FD_MAX; i++)
                child_fds[i] = fds[i][1];
        child_fds[VM_FD_TAP] = tap_fd;
        if (pipe2(errp, O_CLOEXEC) < 0) {
                close_pairs(fds);
                return -errno;
        }

        JailConfig jc = {
                .root_dir = vm->jail_dir,
                .binds = binds,
                .n_binds = n_binds,
                .kvm = vm->accel == VM_ACCEL_KVM,
                .uid = jail_uid_for(getpid()),
                .gid = jail_uid_for(getpid()),
                .fds = child_fds,
                .n_fds = tap_fd >= 0 ? _VM_JAIL_FD_MAX : _VM_FD_MAX,
                .cgroup = vm->cgroup,
                .stderr_fd = errp[1],
        };
        r = jail_spawn(&jc, argv, &pid, reterr);
        (void) close(errp[1]);
        /* QEMU holds the tap now: the kernel removes it when QEMU exits. */
        tap_fd = safe_close(tap_fd);
        if (r < 0) {
                (void) close(errp[0]);
                close_pairs(fds);
                return r;
        }
        /* QEMU's own messages: STATE_DIR/qemu.log, first 64 KiB. */
        if (asprintf(&qemu_log, "%s/qemu.log", m->dir) >= 0)
                vm->qemu_log_fd = open(qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        if (relay_new(m->event, errp[0], vm->qemu_log_fd, 64U * 1024U, NULL, NULL, &vm->relay_qemu_log) < 0)
                log_debug("Cannot keep QEMU's messages, ignoring.");
        vm->qemu_err_pipe = errp[0];
        vm->qemu_pid = pid;
        vm->t_spawn = vm_since(vm);
        for (size_t i = 0; i < _VM_FD_MAX; i++) {
                (void) close(fds[i][1]);
                fds[i][1] = -EBADF;
        }

        r = sd_event_add_child(m->event, &vm->child_src, pid, WEXITED, on_qemu_exit, vm);
        if (r < 0)
                goto fail;
        r = qmp_new(m->event, TAKE_FD(fds[VM_FD_QMP][0]), on_qmp_event, vm, &vm->qmp);
        if (r < 0)
                goto fail;
        r = agent_conn_new(m->event, fds[VM_FD_CTL][0], on_agent_msg, on_agent_error, vm, &vm->agent);
        if (r < 0)
                goto fail;
        fds[VM_FD_CTL][0] = -EBADF;

        /* The workload's stdio travels on the control port (id 0): its output is queued for the
         * client here, its stdin is read once the CONFIG went out (send_config()). */
        vm->io = (VmExec){ .id = 0, .in_fd = -EBADF, .vm = vm };
        for (size_t i = 0; i < 2; i++)
                if (outq_new(m->event, m->stdio[1 + i], on_exec_out_drained, &vm->io, &vm->io.out[i]) < 0)
                        vm->io.out[i] = NULL; /* output to nowhere rather than blocking */
        if (asprintf(&console, "%s/console.log", m->dir) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        vm->console_fd = open(console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        r = relay_new(m->event, fds[VM_FD_CONSOLE][0], vm->console_fd, VM_CONSOLE_LOG_MAX, NULL, NULL,
                      &vm->relay_console);
        if (r < 0)
                goto fail;
        /* The relay keeps this socket; it closes with the Vm. */
        vm->console_sock = TAKE_FD(fds[VM_FD_CONSOLE][0]);

        (void) vm_arm_timer(vm, VM_BOOT_TIMEOUT_USEC, on_boot_timeout);
        return 0;

fail:
        close_pairs(fds);
        vm_kill_qemu(vm);
        return r;
}

static void vm_launch_or_fail(Vm *vm) {
        _cleanup_free_ char *msg = NULL;
        int r;

        r = vm_launch(vm, &msg);
        if (r < 0) {
                if (!msg && asprintf(&msg, "cannot start QEMU: %s", strerror(-r)) < 0)
                        msg = NULL;
                monitor_payload_failed(vm->m, r, msg ?: "cannot start QEMU");
        }
}

static void on_image_built(int r, const char *path, void *userdata) {
        Vm *vm = userdata;
        char msg[256];

        if (r < 0) {
                (void) snprintf(msg, sizeof msg, "building the VM image failed: %s", strerror(-r));
                monitor_payload_failed(vm->m, r, msg);
                vm->n_builds = (size_t) -1; /* never launch */
                return;
        }
        if (vm->n_builds == (size_t) -1 || --vm->n_builds > 0)
                return;
        vm_launch_or_fail(vm);
}

static int vm_start(Monitor *m) {
        const WorkloadSpec *s = m->spec;
        _cleanup_free_ char *reason = NULL;
        ImageKey rootfs_key;
        bool have_key = false;
        Vm *vm;
        int r;

        vm = calloc(1, sizeof(Vm));
        if (!vm)
                return -ENOMEM;
        m->backend_data = vm;
        vm->m = m;
        vm->t0 = now_usec(CLOCK_MONOTONIC);
        vm->console_fd = vm->qemu_log_fd = vm->qemu_err_pipe = vm->console_sock = -EBADF;
        vm->io.in_fd = -EBADF;
        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                vm->execs[i].in_fd = -EBADF;

        r = vm_accel_detect(m->paths.accel, &vm->accel, &reason);
        if (r < 0)
                return r;
        monitor_set_fact(m, "accel", json_string(vm_accel_to_string(vm->accel)));
        if (reason)
                monitor_set_fact(m, "accel_reason", json_string(reason));

        if (s->rootfs)
                vm->rootfs_dir = strdup(s->rootfs);
        else if (asprintf(&vm->rootfs_dir, "%s/%s/rootfs", m->paths.image_dir, s->image) < 0)
                vm->rootfs_dir = NULL;
        if (!vm->rootfs_dir)
                return -ENOMEM;

        vm->mount_images = calloc(s->n_mounts + 1, sizeof(char *));
        vm->builds = calloc(s->n_mounts + 1, sizeof(ImageBuild *));
        if (!vm->mount_images || !vm->builds)
                return -ENOMEM;
        /* A small rootfs rides in the initramfs: no disk, and the guest loads no block, erofs or
         * overlay module for it (docs/vm.md). Larger ones become a cached erofs image. */
        /* The rootfs tree is walked once, for both. A missing one is reported by image_get(). */
        r = image_tree_key(vm->rootfs_dir, &rootfs_key);
        if (r >= 0) {
                _cleanup_free_ char *base = NULL;

                if (asprintf(&base, "%s/initramfs.cpio", m->paths.vm_dir) < 0)
                        return -ENOMEM;
                r = image_inline_get(m->paths.cache_dir, vm->rootfs_dir, &rootfs_key, base,
                                     &vm->inline_initrd);
                if (r < 0)
                        log_debug_errno(r, "Cannot put the rootfs in the initramfs, using a disk: %m");
                have_key = true;
        }
        monitor_set_fact(m, "rootfs", json_string(vm->inline_initrd ? "initramfs" : "erofs"));
        for (size_t i = 0; i <= s->n_mounts; i++) {
                const char *dir = i == 0 ? vm->rootfs_dir : s->mounts[i - 1].source;
                char **slot = i == 0 ? &vm->image : &vm->mount_images[i - 1];

                if (i == 0 && vm->inline_initrd)
                        continue;

                r = image_get(m->event, m->paths.cache_dir, dir, i == 0 && have_key ? &rootfs_key : NULL,
                              m->stdio[2], on_image_built, vm, slot, &vm->builds[i]);
                if (r < 0)
                        return r;
                if (r == 0)
                        vm->n_builds++;
        }
        if (vm->n_builds == 0)
                vm_launch_or_fail(vm);
        return 0;
}

/* ---------------------------------------------------------------- stop, kill, exec, stats */

static int vm_stop(Monitor *m, uint64_t timeout_usec) {
        Vm *vm = vm_get(m);

        if (!vm || vm->qemu_pid <= 0 || vm->qemu_exited)
                return -ESRCH;
        vm->stopping = true;
        if (vm->workload_started && !vm->workload_exited &&
            agent_conn_send_ids(vm->agent, AGENT_MSG_SIGNAL, 0, SIGTERM, 0, 2) >= 0)
                return vm_arm_timer(vm, timeout_usec, on_grace_over);
        /* Still booting (or the agent is unreachable): power off now. */
        return on_grace_over(NULL, 0, vm);
}

static int vm_kill(Monitor *m, int signo) {
        Vm *vm = vm_get(m);

        if (!vm || vm->qemu_pid <= 0 || vm->qemu_exited)
                return -ESRCH;
        if (signo <= 0 || signo >= 65)
                return -EINVAL;
        if (vm->workload_started && !vm->workload_exited)
                return agent_conn_send_ids(vm->agent, AGENT_MSG_SIGNAL, 0, (uint32_t) signo, 0, 2);
        if (signo == SIGKILL) {
                vm->stopping = true;
                vm_kill_qemu(vm);
                return 0;
        }
        return -EBUSY;
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

static int vm_exec(Monitor *m, ExecRequest *x) {
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

static int proc_qemu_figures(pid_t pid, json_t *o) {
        _cleanup_free_ char *status = NULL, *stat = NULL, *p = NULL;
        const char *l, *e;
        unsigned long long ut = 0, st = 0;
        int r;

        if (asprintf(&p, "/proc/%i/status", (int) pid) < 0)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, p, 65536, &status, NULL);
        if (r < 0)
                return r;
        l = strstr(status, "\nVmRSS:");
        if (l)
                (void) json_object_set_new(o, "vmm_rss_bytes",
                                           json_integer((json_int_t) strtoull(l + 7, NULL, 10) * 1024));
        free(p);
        if (asprintf(&p, "/proc/%i/stat", (int) pid) < 0)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, p, 65536, &stat, NULL);
        if (r < 0)
                return r;
        e = strrchr(stat, ')');
        if (e && sscanf(e + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
                long hz = sysconf(_SC_CLK_TCK);
                (void) json_object_set_new(
                        o, "vmm_cpu_usec",
                        json_integer((json_int_t) ((ut + st) * 1000000ULL /
                                                   (unsigned long long) (hz > 0 ? hz : 100))));
        }
        return 0;
}

static int vm_stats(Monitor *m, json_t **ret) {
        Vm *vm = vm_get(m);
        json_auto_t *o = NULL;
        json_t *g;
        uint64_t asked;

        if (!vm)
                return -ESRCH;
        o = json_object();
        if (!o)
                return -ENOMEM;
        (void) json_object_set_new(o, "accel", json_string(vm_accel_to_string(vm->accel)));
        if (vm->qemu_pid > 0 && !vm->qemu_exited)
                (void) proc_qemu_figures(vm->qemu_pid, o);
        if (m->net && vm->qemu_pid > 0 && !vm->qemu_exited) {
                /* The tap's counters, seen from the guest (what the tap sends, the guest gets). */
                LinkStats st;

                if (link_workload_stats(m->net->host_ifname, &st) >= 0) {
                        (void) json_object_set_new(o, "net_rx_bytes",
                                                   json_integer((json_int_t) st.rx_bytes));
                        (void) json_object_set_new(o, "net_rx_packets",
                                                   json_integer((json_int_t) st.rx_packets));
                        (void) json_object_set_new(o, "net_tx_bytes",
                                                   json_integer((json_int_t) st.tx_bytes));
                        (void) json_object_set_new(o, "net_tx_packets",
                                                   json_integer((json_int_t) st.tx_packets));
                }
        }

        /* Ask the agent, bounded; the answer arrives through on_agent_msg(). */
        if (vm->agent && vm->workload_started && !vm->workload_exited &&
            agent_conn_send(vm->agent, AGENT_MSG_STATS_REQUEST, NULL, 0, NULL, 0) >= 0) {
                asked = now_usec(CLOCK_MONOTONIC);
                while (vm->guest_stats_usec < asked &&
                       now_usec(CLOCK_MONOTONIC) < asked + VM_STATS_TIMEOUT_USEC)
                        if (agent_conn_pump(vm->agent,
                                            asked + VM_STATS_TIMEOUT_USEC - now_usec(CLOCK_MONOTONIC)) < 0)
                                break;
        }
        g = vm->guest_stats;
        if (g && json_is_integer(json_object_get(g, "mem_total"))) {
                json_int_t total = json_integer_value(json_object_get(g, "mem_total"));
                json_int_t avail = json_integer_value(json_object_get(g, "mem_available"));
                (void) json_object_set_new(o, "memory_bytes", json_integer(total - avail));
                (void) json_object_set_new(o, "memory_total_bytes", json_integer(total));
                (void) json_object_set(o, "cpu_usec", json_object_get(g, "cpu_usec"));
                (void) json_object_set(o, "pids", json_object_get(g, "pids"));
                (void) json_object_set_new(
                        o, "source",
                        json_string(vm->guest_stats_usec >= now_usec(CLOCK_MONOTONIC) - VM_STATS_TIMEOUT_USEC
                                            ? "agent"
                                            : "agent-cached"));
        } else
                (void) json_object_set_new(o, "source", json_string("host"));
        *ret = TAKE_PTR(o);
        return 0;
}

static void vm_destroy(Monitor *m) {
        Vm *vm = vm_get(m);

        if (!vm)
                return;
        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                if (vm->execs[i].id != 0)
                        exec_finish(vm, &vm->execs[i], -ESRCH, -1, "the VM was destroyed");
        if (vm->qemu_pid > 0 && !vm->qemu_exited) {
                (void) kill(vm->qemu_pid, SIGKILL);
                (void) waitpid(vm->qemu_pid, NULL, 0);
        }
        sd_event_source_disable_unref(vm->child_src);
        sd_event_source_disable_unref(vm->winch_src);
        sd_event_source_disable_unref(vm->winsize_timer);
        vm_stop_timer(vm);
        vm->cgroup = cgroup_destroy(vm->cgroup);
        for (size_t i = 0; vm->builds && i <= m->spec->n_mounts; i++)
                image_build_free(vm->builds[i]);
        free(vm->builds);
        qmp_free(vm->qmp);
        agent_conn_free(vm->agent);
        exec_finish(vm, &vm->io, 0, 0, NULL); /* no ExecRequest: frees the queues and stdin */
        relay_free(vm->relay_console);
        relay_free(vm->relay_qemu_log);
        if (vm->qemu_log_fd >= 0)
                (void) close(vm->qemu_log_fd);
        if (vm->qemu_err_pipe >= 0)
                (void) close(vm->qemu_err_pipe);
        if (vm->console_sock >= 0)
                (void) close(vm->console_sock);
        if (vm->console_fd >= 0)
                (void) close(vm->console_fd);
        if (vm->jail_dir)
                (void) rmdir(vm->jail_dir);
        free(vm->jail_dir);
        free(vm->rootfs_dir);
        free(vm->image);
        free(vm->inline_initrd);
        for (size_t i = 0; vm->mount_images && i < m->spec->n_mounts; i++)
                free(vm->mount_images[i]);
        free(vm->mount_images);
        free(vm->shutdown_reason);
        free(vm->agent_error);
        free(vm->protocol_error);
        json_decref(vm->guest_stats);
        free(vm);
        m->backend_data = NULL;
}

const struct backend_ops vm_backend_ops = {
        .name = "vm",
        .probe = vm_probe,
        .validate = vm_validate,
        .start = vm_start,
        .stop = vm_stop,
        .kill = vm_kill,
        .exec = vm_exec,
        .stats = vm_stats,
        .destroy = vm_destroy,
};
