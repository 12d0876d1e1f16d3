/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isod-agent: PID 1 in the guest (docs/vm.md, docs/agent-protocol.md).
 *
 * Boot: mount devtmpfs/proc/sys, load the modules listed in /modules/order with finit_module(),
 * find the virtio-serial ports by name, say READY on the control port, receive the CONFIG, mount
 * the rootfs image (erofs, read-only) under a tmpfs overlay at /newroot, run the workload in it
 * with the stdio ports as its stdin/stdout/stderr (no copy in the guest), then serve the control
 * port (signals, exec, stats, window size), reap every orphan, and when the workload exits report
 * its status and power off with reboot(2). */

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
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

typedef struct Exec {
        uint32_t id;
        pid_t pid;
        int in_fd;  /* pipe to the process's stdin (or the pty master) */
        int out_fd; /* its stdout (or the pty master) */
        int err_fd;
        int master;
        bool reaped;
        int code, sig;
} Exec;

static int kmsg_fd = -1;
static int ctl_fd = -1;
static AgentReader reader;
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

/* Bytes a virtio-serial port took from its writers so far (virtio_console's debugfs counter;
 * the port's device name is its debugfs file name). */
static int port_bytes_sent(const char *dev_path, uint64_t *ret) {
        const char *name = strrchr(dev_path, '/');
        char p[256], buf[1024], *v;
        ssize_t n;
        int fd;

        if (mount("debugfs", "/sys/kernel/debug", "debugfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0 &&
            errno != EBUSY)
                return -errno;
        (void) snprintf(p, sizeof p, "/sys/kernel/debug/virtio-ports/%s", name ? name + 1 : dev_path);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        (void) close(fd);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        buf[n] = 0;
        v = strstr(buf, "bytes_sent:");
        if (!v)
                return -EIO;
        *ret = strtoull(v + strlen("bytes_sent:"), NULL, 10);
        return 0;
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
                                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                                (void) poll(&pfd, 1, -1);
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
        for (size_t i = 0; i < AGENT_MAX_EXECS; i++)
                if (execs[i].id == id && id != 0)
                        return &execs[i];
        return NULL;
}

static void close_fd(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
        *fd = -1;
}

static void exec_start(const AgentFrame *f, uint32_t id) {
        AgentConfig c = {};
        ProcessConfig *p = &c.proc;
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, master = -1;
        Exec *x = NULL;
        pid_t pid;
        int r;

        if (exec_find(id)) {
                (void) send_error(id, "exec id %u already in use", id);
                (void) send_ids(AGENT_MSG_EXIT, id, 126, 0, 3);
                return;
        }
        for (size_t i = 0; i < AGENT_MAX_EXECS; i++)
                if (execs[i].id == 0) {
                        x = &execs[i];
                        break;
                }
        r = x ? config_parse(f->payload + 4, f->size - 4, &c, true) : -EBUSY;
        if (r < 0 || !p->args) {
                (void) send_error(id, x ? "invalid exec request" : "too many exec sessions");
                (void) send_ids(AGENT_MSG_EXIT, id, 126, 0, 3);
                agent_config_done(&c);
                return;
        }
        if (!p->terminal &&
            (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)) {
                (void) send_error(id, "pipe: %s", strerror(errno));
                goto fail;
        }
        pid = spawn_process(p, in[0], out[1], err[1], &master, err[1]);
        if (pid < 0) {
                (void) send_error(id, "cannot start process: %s", strerror((int) -pid));
                goto fail;
        }
        close_fd(&in[0]);
        close_fd(&out[1]);
        close_fd(&err[1]);
        *x = (Exec){
                .id = id, .pid = pid, .in_fd = in[1], .out_fd = out[0], .err_fd = err[0], .master = master
        };
        if (master >= 0) {
                x->in_fd = master;
                x->out_fd = master;
        }
        (void) fcntl(x->in_fd, F_SETFL, O_NONBLOCK);
        (void) send_ids(AGENT_MSG_STARTED, id, (uint32_t) pid, 0, 2);
        agent_config_done(&c);
        return;
fail:
        close_fd(&in[0]), close_fd(&in[1]), close_fd(&out[0]), close_fd(&out[1]), close_fd(&err[0]),
                close_fd(&err[1]);
        (void) send_ids(AGENT_MSG_EXIT, id, 126, 0, 3);
        agent_config_done(&c);
}

static void exec_stdin(Exec *x, const uint8_t *data, size_t n) {
        if (x->in_fd < 0)
                return;
        if (n == 0) {
                if (x->master >= 0) {
                        uint8_t eot = 4; /* ^D: EOF for a terminal's reader in canonical mode */
                        (void) write_all(x->master, &eot, 1);
                } else
                        close_fd(&x->in_fd);
                return;
        }
        /* Bounded: the host sends at most one frame per write; a process that does not read its
         * stdin blocks only itself after the pipe fills (we wait, the host applies backpressure). */
        if (write_all(x->in_fd, data, n) < 0 && x->master < 0)
                close_fd(&x->in_fd);
}

static void exec_maybe_finish(Exec *x) {
        if (!x->reaped || x->out_fd >= 0 || x->err_fd >= 0)
                return;
        (void) send_ids(AGENT_MSG_EXIT, x->id, (uint32_t) x->code, (uint32_t) x->sig, 3);
        close_fd(&x->in_fd);
        if (x->master >= 0 && x->in_fd != x->master)
                close_fd(&x->master);
        *x = (Exec){ .in_fd = -1, .out_fd = -1, .err_fd = -1, .master = -1 };
}

/* Forwards what is readable on *fd as STDOUT/STDERR frames; EOF closes it. */
static void exec_pump(Exec *x, int *fd, uint16_t type) {
        static uint8_t buf[AGENT_DATA_MAX];
        uint8_t idb[4];
        ssize_t n;

        agent_put_u32(idb, x->id);
        n = read(*fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) { /* EOF, or EIO on a pty master once the process is gone */
                (void) send_frame(type, idb, 4, NULL, 0);
                if (*fd == x->master) {
                        x->master = -1;
                        x->in_fd = -1;
                        x->out_fd = -1;
                        (void) close(*fd);
                } else
                        close_fd(fd);
                exec_maybe_finish(x);
                return;
        }
        (void) send_frame(type, idb, 4, buf, (size_t) n);
}

static void handle_frame(const AgentFrame *f, pid_t workload, int workload_master, AgentConfig *c) {
        uint32_t id = f->size >= 4 ? agent_get_u32(f->payload) : 0;
        Exec *x;

        switch (f->type) {
        case AGENT_MSG_SIGNAL: {
                uint32_t sig = agent_get_u32(f->payload + 4);
                pid_t pid = id == 0 ? workload : (x = exec_find(id)) ? x->pid : 0;
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
                break;
        case AGENT_MSG_WINSIZE: {
                struct winsize ws = { .ws_row = (unsigned short) agent_get_u32(f->payload + 4),
                                      .ws_col = (unsigned short) agent_get_u32(f->payload + 8) };
                int m = id == 0 ? workload_master : (x = exec_find(id)) ? x->master : -1;
                if (m >= 0)
                        (void) ioctl(m, TIOCSWINSZ, &ws);
                break;
        }
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
        (void) c;
}

/* Terminal workloads: the agent copies between the stdio ports and the pty master. Returns
 * false when nothing was read. */
static bool relay(int from, int to, bool *eof) {
        static uint8_t buf[65536];
        ssize_t n = read(from, buf, sizeof buf);

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return false;
        if (n <= 0) {
                *eof = true;
                return false;
        }
        (void) write_all(to, buf, (size_t) n);
        return true;
}

/* The workload has exited: report, then go. A write to a virtio-serial port returns once the data
 * is queued in the virtqueue, not once QEMU took it (QEMU stops taking while the host's socket is
 * full), and a power-off drops what is queued: the tail of the output. So when the ports' byte
 * counters are readable, the agent tells the host how many bytes the ports took (OUTPUT_SENT),
 * then EXIT, and waits: the host ends QEMU once it has read all of them. */
static _Noreturn void workload_exited(int code, int sig, const char *path_out, const char *path_err) {
        uint64_t out = 0, err = 0;
        uint8_t b[16];
        int r;

        kill_and_reap_all();
        r = port_bytes_sent(path_out, &out);
        if (r >= 0)
                r = port_bytes_sent(path_err, &err);
        if (r < 0) {
                agent_log("cannot read the stdio ports' byte counts (%s): output may be cut short",
                          strerror(-r));
                (void) send_ids(AGENT_MSG_EXIT, 0, (uint32_t) code, (uint32_t) sig, 3);
                power_off();
        }
        agent_put_u32(b, (uint32_t) out);
        agent_put_u32(b + 4, (uint32_t) (out >> 32));
        agent_put_u32(b + 8, (uint32_t) err);
        agent_put_u32(b + 12, (uint32_t) (err >> 32));
        (void) send_frame(AGENT_MSG_OUTPUT_SENT, b, sizeof b, NULL, 0);
        (void) send_ids(AGENT_MSG_EXIT, 0, (uint32_t) code, (uint32_t) sig, 3);
        for (;;)
                pause();
}

int main(int argc, char *argv[]) {
        char *path_ctl = NULL, *path_in = NULL, *path_out = NULL, *path_err = NULL;
        AgentConfig config = {};
        int in_fd, out_fd, err_fd, sfd, master = -1, r;
        bool stdin_eof = false, master_eof = false;
        struct utsname u;
        sigset_t mask;
        AgentFrame f;
        pid_t workload;
        unsigned long long t_agent = uptime_usec(), t_modules, t_ports;
        char kv[512];
        int kvn;

        (void) argc;
        (void) argv;
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
        kvn = snprintf(kv, sizeof kv, "version=%u%ckernel=%s%ct_agent=%llu%ct_modules=%llu%ct_ports=%llu%c",
                       AGENT_PROTO_VERSION, 0, u.release, 0, t_agent, 0, t_modules, 0, t_ports, 0);
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

        if (find_port(AGENT_PORT_STDIN, &path_in, 2000) < 0 ||
            find_port(AGENT_PORT_STDOUT, &path_out, 2000) < 0 ||
            find_port(AGENT_PORT_STDERR, &path_err, 2000) < 0) {
                (void) send_error(0, "stdio ports not found");
                power_off();
        }
        in_fd = open(path_in, O_RDONLY | O_CLOEXEC);
        out_fd = open(path_out, O_WRONLY | O_CLOEXEC);
        err_fd = open(path_err, O_WRONLY | O_CLOEXEC);
        if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
                (void) send_error(0, "cannot open stdio ports: %s", strerror(errno));
                power_off();
        }

        r = setup_root(&config);
        if (r < 0) {
                (void) send_error(0, "cannot set up the root file system: %s", strerror(-r));
                power_off();
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

        workload = spawn_process(&config.proc, in_fd, out_fd, err_fd, &master, -1);
        if (workload < 0) {
                (void) send_error(0, "cannot start the workload: %s", strerror((int) -workload));
                power_off();
        }
        (void) send_ids(AGENT_MSG_STARTED, 0, (uint32_t) workload, 0, 2);
        if (master < 0) {
                /* The workload owns its stdio now; EOF on stdin is its business. */
                close_fd(&in_fd);
                stdin_eof = true;
                master_eof = true;
        } else
                (void) fcntl(master, F_SETFL, O_NONBLOCK);
        (void) fcntl(ctl_fd, F_SETFL, O_NONBLOCK);

        for (;;) {
                struct pollfd pfd[3 + 2 * AGENT_MAX_EXECS];
                Exec *who[3 + 2 * AGENT_MAX_EXECS];
                size_t n = 0;

                pfd[n++] = (struct pollfd){ .fd = ctl_fd, .events = POLLIN };
                pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                pfd[n++] = (struct pollfd){ .fd = !stdin_eof ? in_fd : -1, .events = POLLIN };
                pfd[n++] = (struct pollfd){ .fd = !master_eof ? master : -1, .events = POLLIN };
                for (size_t i = 0; i < AGENT_MAX_EXECS; i++) {
                        if (execs[i].id == 0)
                                continue;
                        if (execs[i].out_fd >= 0) {
                                who[n] = &execs[i];
                                pfd[n++] = (struct pollfd){ .fd = execs[i].out_fd, .events = POLLIN };
                        }
                        if (execs[i].err_fd >= 0) {
                                who[n] = &execs[i];
                                pfd[n++] = (struct pollfd){ .fd = execs[i].err_fd, .events = POLLIN };
                        }
                }
                if (poll(pfd, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        agent_log("poll: %m");
                        power_off();
                }

                if (pfd[0].revents) {
                        for (;;) {
                                r = recv_frame(&f);
                                if (r == -EAGAIN)
                                        break;
                                if (r < 0) {
                                        /* The host is gone or talks nonsense: nobody is left
                                         * to report to. */
                                        agent_log("control port: %s, powering off", strerror(-r));
                                        power_off();
                                }
                                handle_frame(&f, workload, master, &config);
                        }
                }
                if (pfd[2].revents)
                        (void) relay(in_fd, master, &stdin_eof);
                if (pfd[3].revents)
                        (void) relay(master, out_fd, &master_eof);
                for (size_t i = 4; i < n; i++) {
                        if (!pfd[i].revents)
                                continue;
                        Exec *x = who[i];
                        if (x->id == 0)
                                continue;
                        if (pfd[i].fd == x->out_fd)
                                exec_pump(x, &x->out_fd, AGENT_MSG_STDOUT);
                        else if (pfd[i].fd == x->err_fd)
                                exec_pump(x, &x->err_fd, AGENT_MSG_STDERR);
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
                                if (p == workload) {
                                        if (master >= 0) {
                                                /* Drain the terminal's last output. */
                                                while (!master_eof && relay(master, out_fd, &master_eof))
                                                        ;
                                        }
                                        workload_exited(code, sig, path_out, path_err);
                                }
                                for (size_t i = 0; i < AGENT_MAX_EXECS; i++)
                                        if (execs[i].id != 0 && execs[i].pid == p) {
                                                execs[i].reaped = true;
                                                execs[i].code = code;
                                                execs[i].sig = sig;
                                                exec_maybe_finish(&execs[i]);
                                        }
                        }
                }
        }
}
