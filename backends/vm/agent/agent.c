/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isod-agent: PID 1 in the guest (docs/vm.md, docs/agent-protocol.md).
 *
 * Boot: mount devtmpfs/proc/sys, load the modules listed in /modules/order with finit_module(),
 * find the control port (virtio-serial, by name), say READY on it, receive the CONFIG, mount the
 * rootfs image (erofs, read-only) under a tmpfs overlay at /newroot, run the workload in it, then
 * serve the control port: the workload's and every exec session's stdio as frames, signals, stats,
 * window size. It reaps every orphan, and when the workload exits it reports its status and waits
 * for the host to end the machine. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
/* A process whose stdio the agent carries over the control port: the workload (id 0) or an exec
 * session (id > 0). */
typedef struct Exec {
        bool used;
        uint32_t id;
        pid_t pid;
        int in_fd;  /* pipe to the process's stdin (or the pty master) */
        int out_fd; /* its stdout (or the pty master) */
        int err_fd;
        int master;
        /* STDIN not written yet: the host sends at most AGENT_STDIN_WINDOW bytes ahead of our
         * STDIN_ACKs, so this is bounded and a process that does not read blocks nobody. */
        uint8_t *in_buf;
        size_t in_len, in_cap;
        bool in_eof; /* EOF came: close (a terminal: ^D) once in_buf is written */
        /* STDOUT/STDERR data the host may still take before its next OUTPUT_ACK: while it is 0
         * the session's output is not read, so a client that does not read stalls only it. */
        size_t out_credit;
        bool reaped;
        int code, sig;
} Exec;

static int kmsg_fd = -1;
static int ctl_fd = -1;
static AgentReader reader;
static Exec workload_x;
static Exec execs[AGENT_MAX_EXECS];

void agent_log(const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int n, e = errno;

        n = snprintf(buf, sizeof buf, "<3>isod-agent: ");
        va_start(ap, fmt);
        errno = e;
        n += vsnprintf(buf + n, sizeof buf - (size_t) n, fmt, ap);
        va_end(ap);
        if (n >= (int) sizeof buf)
                n = sizeof buf - 1;
        buf[n++] = '\n';
        (void) !write(kmsg_fd >= 0 ? kmsg_fd : 2, buf, (size_t) n);
        errno = e;
}

/* Guest uptime (CLOCK_BOOTTIME) in µs: boot phases are reported in READY for bench/. */
static unsigned long long uptime_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
                return 0;
        return (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000ULL;
}

static _Noreturn void power_off(void) {
        sync();
        (void) reboot(RB_POWER_OFF);
        for (;;)
                pause();
}

/* After the workload: no process may write to its stdio any more. Kills everything and reaps it
 * (bounded: 2 s; SIGKILL is not delayed by anything the workload can do for long). */
static void kill_and_reap_all(void) {
        (void) kill(-1, SIGKILL);
        for (unsigned i = 0; i < 2000; i++) {
                pid_t p = waitpid(-1, NULL, WNOHANG);
                if (p < 0 && errno == ECHILD)
                        return;
                if (p <= 0) {
                        struct timespec ts = { .tv_nsec = 1000000L };
                        (void) nanosleep(&ts, NULL);
                }
        }
        agent_log("processes left after SIGKILL");
}

static int write_all(int fd, const void *p, size_t n) {
        const uint8_t *b = p;

        while (n > 0) {
                ssize_t k = write(fd, b, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                /* The host reads the control port all the time (the windows
                                 * bound what it buffers): a wait here is short. Its side gone
                                 * is an error, not a reason to spin. */
                                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                                if (poll(&pfd, 1, -1) > 0 && (pfd.revents & (POLLHUP | POLLERR)) &&
                                    !(pfd.revents & POLLOUT))
                                        return -EPIPE;
                                continue;
                        }
                        return -errno;
                }
                b += k;
                n -= (size_t) k;
        }
        return 0;
}

static int send_frame(uint16_t type, const void *a, size_t an, const void *b, size_t bn) {
        uint8_t hdr[AGENT_FRAME_HEADER_SIZE];
        int r;

        if (an + bn > AGENT_FRAME_MAX_PAYLOAD)
                return -E2BIG;
        agent_frame_header_put(hdr, type, (uint32_t) (an + bn));
        r = write_all(ctl_fd, hdr, sizeof hdr);
        if (r >= 0 && an > 0)
                r = write_all(ctl_fd, a, an);
        if (r >= 0 && bn > 0)
                r = write_all(ctl_fd, b, bn);
        return r;
}

static int send_ids(uint16_t type, uint32_t a, uint32_t b, uint32_t c, size_t n) {
        uint8_t buf[12];

        agent_put_u32(buf, a);
        agent_put_u32(buf + 4, b);
        agent_put_u32(buf + 8, c);
        return send_frame(type, buf, n * 4, NULL, 0);
}

static int send_error(uint32_t id, const char *fmt, ...) {
        char msg[AGENT_ERROR_MAX];
        uint8_t idb[4];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if ((size_t) n >= sizeof msg)
                n = sizeof msg - 1;
        agent_log("%s", msg);
        agent_put_u32(idb, id);
        return send_frame(AGENT_MSG_ERROR, idb, 4, msg, (size_t) n);
}

/* Blocks until one frame arrives on the control port. */
static int recv_frame(AgentFrame *ret) {
        static uint8_t buf[16384];
        static size_t have, off;

        for (;;) {
                if (off < have) {
                        size_t used;
                        int r = agent_reader_feed(&reader, buf + off, have - off, &used, ret);
                        off += used;
                        if (r != 0)
                                return r;
                        continue;
                }
                ssize_t n = read(ctl_fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return -EAGAIN;
                if (n <= 0)
                        return n < 0 ? -errno : -ECONNRESET;
                have = (size_t) n;
                off = 0;
        }
}

static Exec *exec_find(uint32_t id) {
        if (id == 0)
                return workload_x.used ? &workload_x : NULL;
        for (size_t i = 0; i < AGENT_MAX_EXECS; i++)
                if (execs[i].used && execs[i].id == id)
                        return &execs[i];
        return NULL;
}

static void close_fd(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
        *fd = -1;
}

static void send_ack(uint32_t id, size_t n) {
        if (n > 0)
                (void) send_ids(AGENT_MSG_STDIN_ACK, id, (uint32_t) n, 0, 2);
}

/* Starts P with its stdio on pipes (or a pty) the agent carries as frames of session ID. */
static pid_t session_start(Exec *x, uint32_t id, const ProcessConfig *p) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, master = -1;
        pid_t pid;

        if (!p->terminal &&
            (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)) {
                pid = -errno;
                goto fail;
        }
        pid = spawn_process(p, in[0], out[1], err[1], &master, err[1]);
        if (pid < 0)
                goto fail;
        close_fd(&in[0]);
        close_fd(&out[1]);
        close_fd(&err[1]);
        *x = (Exec){ .used = true,
                     .id = id,
                     .pid = pid,
                     .in_fd = in[1],
                     .out_fd = out[0],
                     .err_fd = err[0],
                     .master = master,
                     .out_credit = AGENT_OUTPUT_WINDOW };
        if (master >= 0)
                x->in_fd = x->out_fd = master;
        /* Non-blocking everywhere: the agent serves every session from one poll() loop. */
        (void) fcntl(x->in_fd, F_SETFL, O_NONBLOCK);
        if (x->out_fd != x->in_fd)
                (void) fcntl(x->out_fd, F_SETFL, O_NONBLOCK);
        if (x->err_fd >= 0)
                (void) fcntl(x->err_fd, F_SETFL, O_NONBLOCK);
        return pid;
fail:
        close_fd(&in[0]), close_fd(&in[1]), close_fd(&out[0]), close_fd(&out[1]), close_fd(&err[0]),
                close_fd(&err[1]);
        return pid;
}

static void exec_start(const AgentFrame *f, uint32_t id) {
        AgentConfig c = {};
        Exec *x = NULL;
        pid_t pid;
        int r;

        if (exec_find(id)) {
                (void) send_error(id, "exec id %u already in use", id);
                (void) send_ids(AGENT_MSG_EXIT, id, 126, 0, 3);
                return;
        }
        for (size_t i = 0; i < AGENT_MAX_EXECS; i++)
                if (!execs[i].used) {
                        x = &execs[i];
                        break;
                }
        r = x ? config_parse(f->payload + 4, f->size - 4, &c, true) : -EBUSY;
        if (r < 0 || !c.proc.args) {
                (void) send_error(id, x ? "invalid exec request" : "too many exec sessions");
                (void) send_ids(AGENT_MSG_EXIT, id, 126, 0, 3);
                agent_config_done(&c);
                return;
        }
        pid = session_start(x, id, &c.proc);
        if (pid < 0) {
                (void) send_error(id, "cannot start process: %s", strerror((int) -pid));
                (void) send_ids(AGENT_MSG_EXIT, id, 126, 0, 3);
        } else
                (void) send_ids(AGENT_MSG_STARTED, id, (uint32_t) pid, 0, 2);
        agent_config_done(&c);
}

/* Writes what it can of the buffered STDIN without blocking, and acknowledges it. Data for a
 * process that closed its stdin is dropped (and acknowledged): it would never be read. */
static void stdin_flush(Exec *x) {
        size_t done = 0;

        while (x->in_fd >= 0 && done < x->in_len) {
                ssize_t k = write(x->in_fd, x->in_buf + done, x->in_len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        break;
                if (k <= 0) { /* EPIPE: the reader is gone */
                        if (x->master < 0)
                                close_fd(&x->in_fd);
                        done = x->in_len;
                        break;
                }
                done += (size_t) k;
        }
        if (x->in_fd < 0)
                done = x->in_len;
        if (done > 0) {
                memmove(x->in_buf, x->in_buf + done, x->in_len - done);
                x->in_len -= done;
                send_ack(x->id, done);
        }
        if (x->in_eof && x->in_len == 0) {
                if (x->master >= 0 && x->in_fd >= 0) {
                        uint8_t eot = 4; /* ^D: EOF for a terminal's reader in canonical mode */
                        if (write(x->master, &eot, 1) < 0 && (errno == EAGAIN || errno == EINTR))
                                return; /* the terminal's input is full: again on POLLOUT */
                } else
                        close_fd(&x->in_fd);
                x->in_eof = false;
        }
}

static void exec_stdin(Exec *x, const uint8_t *data, size_t n) {
        if (n == 0) {
                x->in_eof = true;
                stdin_flush(x);
                return;
        }
        if (x->in_fd < 0 || x->in_len + n > AGENT_STDIN_WINDOW) {
                /* Closed, or a host beyond its window: drop rather than grow. */
                send_ack(x->id, n);
                return;
        }
        if (x->in_len + n > x->in_cap) {
                size_t cap = x->in_cap ? x->in_cap : AGENT_DATA_MAX;
                uint8_t *b;
                while (cap < x->in_len + n)
                        cap *= 2;
                b = realloc(x->in_buf, cap);
                if (!b) {
                        send_ack(x->id, n);
                        return;
                }
                x->in_buf = b;
                x->in_cap = cap;
        }
        memcpy(x->in_buf + x->in_len, data, n);
        x->in_len += n;
        stdin_flush(x);
}

/* Closes one of the session's fds. A terminal session's pty master is its stdin and stdout at
 * once: closing it ends both. */
static void session_close(Exec *x, int *fd) {
        int master = x->master;

        if (*fd < 0 || *fd != master) {
                close_fd(fd);
                return;
        }
        x->master = x->in_fd = x->out_fd = -1;
        (void) close(master);
}

static void session_free(Exec *x) {
        session_close(x, &x->out_fd);
        close_fd(&x->in_fd);
        close_fd(&x->err_fd);
        free(x->in_buf);
        *x = (Exec){ .in_fd = -1, .out_fd = -1, .err_fd = -1, .master = -1 };
}

/* An exec session ends once its process was reaped and its output read to EOF. The workload's
 * end is workload_exited()'s. */
static void exec_maybe_finish(Exec *x) {
        if (x == &workload_x || !x->reaped || x->out_fd >= 0 || x->err_fd >= 0)
                return;
        (void) send_ids(AGENT_MSG_EXIT, x->id, (uint32_t) x->code, (uint32_t) x->sig, 3);
        session_free(x);
}

/* Forwards what is readable on *fd as STDOUT/STDERR frames; EOF closes it. Returns false when
 * nothing was read. */
static bool exec_pump(Exec *x, int *fd, uint16_t type) {
        static uint8_t buf[AGENT_DATA_MAX];
        uint8_t idb[4];
        ssize_t n;

        agent_put_u32(idb, x->id);
        if (x->out_credit == 0)
                return false;
        n = read(*fd, buf, MIN(sizeof buf, x->out_credit));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return false;
        if (n <= 0) { /* EOF, or EIO on a pty master once the process is gone */
                (void) send_frame(type, idb, 4, NULL, 0);
                bool terminal = *fd == x->master;

                session_close(x, fd);
                if (terminal) {
                        /* Stdin for a terminal that is gone: never written, acknowledged. */
                        send_ack(x->id, x->in_len);
                        x->in_len = 0;
                        x->in_eof = false;
                }
                exec_maybe_finish(x);
                return false;
        }
        x->out_credit -= (size_t) n;
        (void) send_frame(type, idb, 4, buf, (size_t) n);
        return true;
}

static void handle_frame(const AgentFrame *f) {
        uint32_t id = f->size >= 4 ? agent_get_u32(f->payload) : 0;
        Exec *x;

        switch (f->type) {
        case AGENT_MSG_SIGNAL: {
                uint32_t sig = agent_get_u32(f->payload + 4);
                /* Not to a reaped process (an exec whose output is still open): its PID may be
                 * another's by now. */
                pid_t pid = (x = exec_find(id)) && !x->reaped ? x->pid : 0;
                if (pid > 0 && sig > 0 && sig < 65 && kill(pid, (int) sig) < 0)
                        agent_log("kill(%d, %u): %m", (int) pid, sig);
                break;
        }
        case AGENT_MSG_EXEC:
                if (id == 0)
                        (void) send_error(0, "exec id 0 is reserved");
                else
                        exec_start(f, id);
                break;
        case AGENT_MSG_STDIN:
                x = exec_find(id);
                if (x)
                        exec_stdin(x, f->payload + 4, f->size - 4);
                else
                        send_ack(id, f->size - 4);
                break;
        case AGENT_MSG_WINSIZE: {
                struct winsize ws = { .ws_row = (unsigned short) agent_get_u32(f->payload + 4),
                                      .ws_col = (unsigned short) agent_get_u32(f->payload + 8) };
                int m = (x = exec_find(id)) ? x->master : -1;
                if (m >= 0)
                        (void) ioctl(m, TIOCSWINSZ, &ws);
                break;
        }
        case AGENT_MSG_OUTPUT_ACK:
                x = exec_find(id);
                if (x)
                        x->out_credit = MIN((size_t) AGENT_OUTPUT_WINDOW,
                                            x->out_credit + (size_t) agent_get_u32(f->payload + 4));
                break;
        case AGENT_MSG_STATS_REQUEST: {
                uint8_t buf[1024];
                size_t n = 0;
                (void) read_stats(buf, sizeof buf, &n);
                (void) send_frame(AGENT_MSG_STATS, buf, n, NULL, 0);
                break;
        }
        case AGENT_MSG_CONFIG:
                (void) send_error(0, "duplicate config ignored");
                break;
        default:
                break;
        }
}

/* Handles every frame that is buffered or readable now, without blocking. */
static void serve_control(void) {
        AgentFrame f;

        for (;;) {
                int r = recv_frame(&f);
                if (r == -EAGAIN)
                        return;
                if (r < 0) {
                        /* The host is gone or talks nonsense: nobody is left to report to. */
                        agent_log("control port: %s, powering off", strerror(-r));
                        power_off();
                }
                handle_frame(&f);
        }
}

/* The workload has exited: nothing may write to its stdio any more, so everything else is killed
 * (exec sessions too) and the main loop goes on only to send the rest of its output, as the host's
 * OUTPUT_ACKs allow; then EXIT (workload_end()). The frames on the control port are in order, so
 * the host has all of the output once it reads EXIT; it ends QEMU then. */
static bool workload_done;
static int workload_code, workload_sig;
static unsigned workload_idle; /* 100 ms rounds after the exit with output open, credit, no data */

static void workload_exited(int code, int sig) {
        workload_done = true;
        workload_code = code;
        workload_sig = sig;
        kill_and_reap_all();
        for (size_t i = 0; i < AGENT_MAX_EXECS; i++)
                if (execs[i].used)
                        session_free(&execs[i]);
}

/* The agent does not power off by itself: a power-off drops what is still queued in the port (a
 * port write returns once the data is in the virtqueue, not once QEMU took it). */
static _Noreturn void workload_end(void) {
        Exec *x = &workload_x;

        if (x->out_fd >= 0 || x->err_fd >= 0)
                agent_log("the workload's output did not end after it exited");
        (void) send_ids(AGENT_MSG_EXIT, 0, (uint32_t) workload_code, (uint32_t) workload_sig, 3);
        for (;;)
                pause();
}

/* Modules nothing needs to start the workload (virtio-rng: random.trust_cpu already seeded the
 * RNG from RDRAND) load once it has run for AGENT_LATE_MODULES_MSEC (a short workload is over
 * before and never waits for them), in a child at nice 19 so they take the guest's CPU only when
 * the workload leaves it idle. The child is reaped like any orphan. */
static void load_late_modules(void) {
        pid_t pid;

        if (access("/modules/order.late", F_OK) < 0)
                return;
        pid = fork();
        if (pid < 0)
                agent_log("cannot fork to load the late modules: %m");
        if (pid != 0)
                return;
        /* Nothing of ours: a session's stdin pipe held here would keep its reader from EOF. */
        (void) syscall(SYS_close_range, 3U, ~0U, 0U);
        kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
        (void) setpriority(PRIO_PROCESS, 0, 19);
        _exit(load_modules("/modules", "order.late") > 0 ? 1 : 0);
}

int main(int argc, char *argv[]) {
        char *path_ctl = NULL;
        AgentConfig config = {};
        int sfd, r;
        struct utsname u;
        sigset_t mask;
        AgentFrame f;
        pid_t workload;
        unsigned long long t_agent = uptime_usec(), t_modules, t_ports, late_at;
        char kv[512], err[512];
        bool net_support, net_loaded = false;
        int kvn;

        (void) argc;
        (void) argv;
        workload_x = (Exec){ .in_fd = -1, .out_fd = -1, .err_fd = -1, .master = -1 };
        for (size_t i = 0; i < AGENT_MAX_EXECS; i++)
                execs[i] = (Exec){ .in_fd = -1, .out_fd = -1, .err_fd = -1, .master = -1 };

        r = setup_early();
        kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
        if (r < 0)
                agent_log("early mounts failed: %s", strerror(-r));
        r = load_modules("/modules", rootfs_inline() && access("/modules/order.core", F_OK) == 0
                                             ? "order.core"
                                             : "order");
        if (r > 0)
                agent_log("%d modules failed to load", r);
        /* The NIC's modules (failover, net_failover, virtio_net) only when QEMU gave the machine a
         * virtio-net device: a VM without one boots as before. Loaded before the wait for the
         * control port, whose announcement they overlap. */
        net_support = access("/modules/order.net", F_OK) == 0;
        if (net_support && net_device_present()) {
                r = load_modules("/modules", "order.net");
                if (r > 0)
                        agent_log("%d network modules failed to load", r);
                net_loaded = r == 0;
        }
        r = setup_loopback();
        if (r < 0)
                agent_log("cannot bring up lo: %s", strerror(-r));
        t_modules = uptime_usec();

        if (find_port(AGENT_PORT_CONTROL, &path_ctl, 10000) < 0) {
                agent_log("control port %s not found, powering off", AGENT_PORT_CONTROL);
                power_off();
        }
        ctl_fd = open(path_ctl, O_RDWR | O_CLOEXEC);
        if (ctl_fd < 0 || agent_reader_init(&reader, true) < 0) {
                agent_log("cannot open %s: %m", path_ctl);
                power_off();
        }
        t_ports = uptime_usec();
        (void) uname(&u);
        /* net=1: this agent configures a NIC from CONFIG's net.* (the host refuses a VM with a NIC
         * otherwise: an older agent would ignore the keys). */
        kvn = snprintf(kv, sizeof kv,
                       "version=%u%ckernel=%s%ct_agent=%llu%ct_modules=%llu%ct_ports=%llu%cnet=%d%c",
                       AGENT_PROTO_VERSION, 0, u.release, 0, t_agent, 0, t_modules, 0, t_ports, 0,
                       net_support ? 1 : 0, 0);
        (void) send_frame(AGENT_MSG_READY, kv, (size_t) kvn, NULL, 0);

        for (;;) {
                r = recv_frame(&f);
                if (r < 0) {
                        agent_log("control port: %s", strerror(-r));
                        power_off();
                }
                if (f.type == AGENT_MSG_CONFIG)
                        break;
        }
        r = config_parse(f.payload, f.size, &config, false);
        if (r < 0 || !config.proc.args) {
                (void) send_error(0, "invalid configuration from host");
                power_off();
        }

        /* The network the workload asked for, or no workload: a failure is the launch's. */
        if (config.net.set) {
                if (!net_loaded) {
                        (void) send_error(
                                0, "cannot configure the network: %s",
                                net_support ? "the VM has no virtio-net device or virtio_net did not load"
                                            : "the initramfs has no network modules");
                        power_off();
                }
                r = setup_net(&config.net, err, sizeof err);
                if (r < 0) {
                        (void) send_error(0, "cannot configure the network: %s", err);
                        power_off();
                }
        }

        r = setup_root(&config);
        if (r < 0) {
                (void) send_error(0, "cannot set up the root file system: %s", strerror(-r));
                power_off();
        }
        if (config.net.set) {
                r = setup_net_files(&config, err, sizeof err);
                if (r < 0) {
                        (void) send_error(0, "cannot configure the network: %s", err);
                        power_off();
                }
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

        workload = session_start(&workload_x, 0, &config.proc);
        if (workload < 0) {
                (void) send_error(0, "cannot start the workload: %s", strerror((int) -workload));
                power_off();
        }
        (void) send_ids(AGENT_MSG_STARTED, 0, (uint32_t) workload, 0, 2);
        (void) fcntl(ctl_fd, F_SETFL, O_NONBLOCK);
        late_at = uptime_usec() + AGENT_LATE_MODULES_MSEC * 1000ULL;
        /* What came behind the CONFIG (the workload's first STDIN) may already sit in
         * recv_frame()'s buffer, where poll() does not see it. */
        serve_control();

        for (;;) {
                struct pollfd pfd[2 + 3 * (AGENT_MAX_EXECS + 1)];
                Exec *who[2 + 3 * (AGENT_MAX_EXECS + 1)];
                size_t n = 0;

                pfd[n++] = (struct pollfd){ .fd = ctl_fd, .events = POLLIN };
                pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                if (workload_done && workload_x.out_fd < 0 && workload_x.err_fd < 0)
                        workload_end();
                for (size_t i = 0; i <= AGENT_MAX_EXECS; i++) {
                        Exec *x = i == AGENT_MAX_EXECS ? &workload_x : &execs[i];
                        bool want_in = x->in_fd >= 0 && (x->in_len > 0 || x->in_eof);
                        short out_ev = x->out_credit > 0 ? POLLIN : 0;

                        if (!x->used)
                                continue;
                        if (x->out_fd >= 0 && (out_ev || (want_in && x->in_fd == x->out_fd))) {
                                who[n] = x;
                                pfd[n++] = (struct pollfd){
                                        .fd = x->out_fd,
                                        .events = out_ev | (want_in && x->in_fd == x->out_fd ? POLLOUT : 0)
                                };
                        }
                        if (x->err_fd >= 0 && out_ev) {
                                who[n] = x;
                                pfd[n++] = (struct pollfd){ .fd = x->err_fd, .events = POLLIN };
                        }
                        if (want_in && x->in_fd != x->out_fd) {
                                who[n] = x;
                                pfd[n++] = (struct pollfd){ .fd = x->in_fd, .events = POLLOUT };
                        }
                }
                int timeout = workload_done ? 100 : -1;
                if (late_at > 0 && !workload_done) {
                        unsigned long long now = uptime_usec();
                        if (now >= late_at) {
                                late_at = 0;
                                load_late_modules();
                        } else
                                timeout = (int) ((late_at - now + 999) / 1000);
                }
                int ready = poll(pfd, n, timeout);
                if (ready < 0) {
                        if (errno == EINTR)
                                continue;
                        agent_log("poll: %m");
                        power_off();
                }
                /* After the exit every writer is dead, so the output ends unless a process
                 * survived SIGKILL (stuck in the kernel): 20 quiet rounds with credit left end
                 * the wait. Without credit it is the client's pace, and the host decides. */
                if (workload_done && ready == 0 && workload_x.out_credit > 0 && ++workload_idle >= 20) {
                        session_close(&workload_x, &workload_x.out_fd);
                        session_close(&workload_x, &workload_x.err_fd);
                }

                if (pfd[0].revents)
                        serve_control();
                for (size_t i = 2; i < n; i++) {
                        Exec *x = who[i];
                        short ev = pfd[i].revents;

                        /* A session handled earlier in this round may have closed (and a new one
                         * reused) the fd: act only on the fd the session still has. */
                        if (!ev || !x->used)
                                continue;
                        if (pfd[i].fd == x->in_fd && (ev & (POLLOUT | POLLERR | POLLHUP)) && x->in_len > 0)
                                stdin_flush(x);
                        if (pfd[i].fd == x->out_fd && (ev & (POLLIN | POLLHUP | POLLERR)))
                                (void) exec_pump(x, &x->out_fd, AGENT_MSG_STDOUT);
                        else if (pfd[i].fd == x->err_fd && (ev & (POLLIN | POLLHUP | POLLERR)))
                                (void) exec_pump(x, &x->err_fd, AGENT_MSG_STDERR);
                }

                if (pfd[1].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof si) > 0)
                                ;
                        for (;;) {
                                int status;
                                pid_t p = waitpid(-1, &status, WNOHANG);
                                if (p <= 0)
                                        break;
                                int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                                int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
                                if (p == workload && !workload_done)
                                        workload_exited(code, sig);
                                for (size_t i = 0; i < AGENT_MAX_EXECS; i++)
                                        if (execs[i].used && execs[i].pid == p) {
                                                execs[i].reaped = true;
                                                execs[i].code = code;
                                                execs[i].sig = sig;
                                                exec_maybe_finish(&execs[i]);
                                        }
                        }
                }
        }
}
