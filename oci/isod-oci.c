/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isod-oci: runc's command line in front of isod (docs/oci.md).
 *
 *   isod-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] [--debug] COMMAND
 *   create --bundle DIR [--pid-file FILE] ID   start ID   state ID   kill [--all] ID [SIGNAL]
 *   delete [--force] ID   run --bundle DIR [--pid-file FILE] ID   features   --version
 *   exec [--process FILE | -e/--env, --cwd, -u/--user] [--detach] [--pid-file FILE] [--tty]
 *        [--console-socket SOCK] ID [COMMAND…]   ps [--format table|json] ID
 * create, run and exec take --console-socket SOCK: the pty master goes there (SCM_RIGHTS).
 *
 * Every verb goes to isod over D-Bus with the caller's credentials, so isod's policy decides. The
 * PID in the pid-file is a stand-in forked by `create`: it stays the caller's descendant (conmon
 * and the containerd shim are subreapers and wait on it), waits for `start` on a FIFO, starts the
 * workload with the stdio `create` was given, and exits with the workload's status. */

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "connect.h"
#include "iso-errors.h"
#include "oci-spec.h"
#include "spec.h"
#include "util.h"

#define DEFAULT_ROOT "/run/isod-oci"

static const char *arg_root = DEFAULT_ROOT, *arg_log = NULL;
static bool arg_log_json = false;

/* One line in --log, as runc's logrus writes it (JSON with --log-format json). */
static void log_line(const char *level, const char *msg) {
        FILE *f;

        if (!arg_log || !(f = fopen(arg_log, "ae")))
                return;
        if (arg_log_json) {
                json_t *j = json_pack("{s:s,s:s}", "level", level, "msg", strna(msg));
                char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
                fprintf(f, "%s\n", strna(t));
                free(t);
                json_decref(j);
        } else
                fprintf(f, "level=%s msg=\"%s\"\n", level, strna(msg));
        fclose(f);
}

/* An error the way runc reports it: stderr, and {"level":"error","msg":…} in --log for callers
 * that read it (Podman json.Unmarshal()s that file). Returns 1, the exit status. */
static char *format_message(const char *fmt, va_list ap) _printf_(1, 0);
static char *format_message(const char *fmt, va_list ap) {
        char *msg;

        return vasprintf(&msg, fmt, ap) < 0 ? NULL : msg;
}

static int fail(const char *fmt, ...) _printf_(1, 2);
static int fail(const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = format_message(fmt, ap);
        va_end(ap);
        fprintf(stderr, "isod-oci: %s\n", strna(msg));
        log_line("error", msg);
        return 1;
}

/* A warning goes to --log when there is one (stderr of create is the container's own stderr under
 * containerd's shim and conmon: a warning there would land in the workload's log), else stderr. */
static void warning(const char *fmt, ...) _printf_(1, 2);
static void warning(const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = format_message(fmt, ap);
        va_end(ap);
        if (arg_log)
                log_line("warning", msg);
        else
                fprintf(stderr, "isod-oci: warning: %s\n", strna(msg));
}

static int connect_isod(sd_bus **ret) {
        return isod_connect(ret, NULL);
}

/* Container IDs become workload names: Podman's and containerd's (64 hex) fit. */
static bool id_ok(const char *id) {
        return workload_name_is_valid(id);
}

static int state_dir(const char *id, char **ret) {
        return asprintf(ret, "%s/%s", arg_root, id) < 0 ? -ENOMEM : 0;
}

typedef struct OciState {
        char *bundle;
        pid_t standin;
        uint64_t created;
} OciState;

static int state_load(const char *id, OciState *ret) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        size_t size;
        json_t *j;
        int r;

        if (asprintf(&dir, "%s/%s/state.json", arg_root, id) < 0)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, dir, 64 * 1024, &text, &size);
        if (r < 0)
                return r;
        j = json_loadb(text, size, 0, NULL);
        if (!j)
                return -EBADMSG;
        *ret = (OciState){
                .bundle = strdup(strempty(json_string_value(json_object_get(j, "bundle")))),
                .standin = (pid_t) json_integer_value(json_object_get(j, "standin")),
                .created = (uint64_t) json_integer_value(json_object_get(j, "created")),
        };
        json_decref(j);
        return ret->bundle ? 0 : -ENOMEM;
}

static const char *bus_msg(const sd_bus_error *e, int r) {
        return e && e->message ? e->message : strerror(-r);
}

/* The workload's isod state ("created", "running", "exited", …). */
static int workload_state(sd_bus *bus, const char *id, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode("/org/isod1/workload", id, &path);
        if (r < 0)
                return r;
        return sd_bus_get_property_string(bus, "org.isod1", path, "org.isod1.Workload", "State", &e, ret);
}

static const char *oci_status(const char *s) {
        if (streq_ptr(s, "created"))
                return "created";
        if (streq_ptr(s, "starting") || streq_ptr(s, "running") || streq_ptr(s, "stopping"))
                return "running";
        return "stopped";
}

/* The workload's isolation as isod decided it ("container" or "vm"). */
static int workload_isolation(sd_bus *bus, const char *id, char **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode("/org/isod1/workload", id, &path);
        if (r < 0)
                return r;
        return sd_bus_get_property_string(bus, "org.isod1", path, "org.isod1.Workload", "Isolation", NULL,
                                          ret);
}

/* runc's console socket protocol (docs/terminals.md): one message, the pty's name as payload and
 * the master in SCM_RIGHTS; conmon reads up to 256 bytes of name and one descriptor. */
static int console_send(const char *path, int master) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char name[64] = "";
        struct iovec iov;
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof control.buf,
        };
        struct cmsghdr *c;
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        if (ptsname_r(master, name, sizeof name) != 0)
                (void) snprintf(name, sizeof name, "pty");
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        iov = (struct iovec){ .iov_base = name, .iov_len = strlen(name) + 1 };
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &master, sizeof(int));
        while (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

/* A terminal for the workload or an exec: the slave becomes the process's stdio, the master goes
 * to the caller's console socket (and is closed here: the caller owns it). */
static int console_setup(const char *sock, int *ret_slave) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        int r;

        r = pty_open_pair(0, NULL, &master, &slave);
        if (r < 0)
                return r;
        r = console_send(sock, master);
        if (r < 0)
                return r;
        *ret_slave = TAKE_FD(slave);
        return 0;
}

/* Shell-style status for a process that could not be started, as Podman maps runc's texts. */
static int start_failed_status(const char *msg) {
        if (msg && (strstr(msg, "No such file or directory") || strstr(msg, "not found")))
                return 127;
        if (msg && (strstr(msg, "Permission denied") || strstr(msg, "Operation not permitted")))
                return 126;
        return 125;
}

/* ---------------------------------------------------------------- the stand-in */

_noreturn_ static void standin(const char *id, int fifo_fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *path = NULL;
        int32_t status;
        char c;
        int r;

        (void) prctl(PR_SET_NAME, "isod-oci-init");
        /* Only the workload's stdio and the FIFO: never conmon's sync or start pipes. */
        (void) close_all_fds_except((const int[]){ 0, 1, 2, fifo_fd }, 4);
        /* Until start: the caller's signals end the stand-in as they would a container's init. */
        for (;;) {
                ssize_t k = read(fifo_fd, &c, 1);
                if (k == 1)
                        break;
                if (k < 0 && errno == EINTR)
                        continue;
                _exit(128 + SIGKILL); /* the FIFO went away: deleted before start */
        }
        (void) close(fifo_fd);
        if (connect_isod(&bus) < 0)
                _exit(125);
        r = sd_bus_path_encode("/org/isod1/workload", id, &path);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, "org.isod1", path, "org.isod1.Workload",
                                                   "Start");
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sh}", 3, "stdin", 0, "stdout", 1, "stderr", 2);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &e, NULL);
        if (r < 0) {
                fprintf(stderr, "isod-oci: start %s: %s\n", id, bus_msg(&e, r));
                _exit(125);
        }
        /* Forwarded to the workload from here on: what the caller sends its "init". */
        sd_bus_error_free(&e);
        m = sd_bus_message_unref(m);
        r = sd_bus_message_new_method_call(bus, &m, "org.isod1", path, "org.isod1.Workload", "Wait");
        if (r >= 0) /* as long as the workload lives: no timeout */
                r = sd_bus_call(bus, m, UINT64_MAX, &e, &reply);
        if (r < 0 || sd_bus_message_read(reply, "i", &status) < 0) {
                fprintf(stderr, "isod-oci: wait %s: %s\n", id, bus_msg(&e, r));
                _exit(125);
        }
        _exit(status & 0xff);
}

/* ---------------------------------------------------------------- verbs */

static int verb_create(int argc, char *argv[], bool run) {
        static const struct option options[] = {
                { "bundle", required_argument, NULL, 'b' },
                { "pid-file", required_argument, NULL, 'p' },
                { "console-socket", required_argument, NULL, 'c' },
                { "no-pivot", no_argument, NULL, 'n' },
                { "no-new-keyring", no_argument, NULL, 'k' },
                { "preserve-fds", required_argument, NULL, 'f' },
                { "detach", no_argument, NULL, 'd' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(oci_translation_done) OciTranslation t = {};
        _cleanup_free_ char *bundle = NULL, *text = NULL, *err = NULL, *dir = NULL, *spec = NULL,
                            *cfg = NULL;
        const char *pid_file = NULL, *console = NULL, *id;
        _cleanup_close_ int slave = -EBADF;
        int fifo_fd, c, r;
        bool terminal;
        size_t size;
        pid_t pid;

        optind = 1;
        while ((c = getopt_long(argc, argv, "b:", options, NULL)) >= 0)
                switch (c) {
                case 'b':
                        free(bundle);
                        bundle = realpath(optarg, NULL);
                        if (!bundle)
                                return fail("bundle %s: %m", optarg);
                        break;
                case 'p':
                        pid_file = optarg;
                        break;
                case 'c':
                        console = optarg;
                        break;
                case 'f':
                        if (!streq(optarg, "0"))
                                return fail("--preserve-fds %s: passing extra descriptors is not supported",
                                            optarg);
                        break;
                case 'n':
                case 'k':
                case 'd':
                        break; /* isod makes its own root and keyring; a detached run is the default here */
                default:
                        return fail("usage: %s --bundle DIR [--pid-file FILE] ID", run ? "run" : "create");
                }
        if (optind + 1 != argc)
                return fail("usage: %s --bundle DIR [--pid-file FILE] ID", run ? "run" : "create");
        id = argv[optind];
        if (!id_ok(id))
                return fail("invalid container ID '%s' (use [A-Za-z0-9][A-Za-z0-9_.-]{0,63})", id);
        if (!bundle && !(bundle = realpath(".", NULL)))
                return fail("bundle: %m");
        if (asprintf(&cfg, "%s/config.json", bundle) < 0)
                return fail("out of memory");
        r = read_full_file_at(AT_FDCWD, cfg, OCI_CONFIG_MAX, &text, &size);
        if (r < 0)
                return fail("%s: %s", cfg, strerror(-r));
        r = oci_config_translate_text(text, size, bundle, &t, &err);
        if (r < 0)
                return fail("%s", strna(err));
        for (size_t i = 0; t.warnings && t.warnings[i]; i++)
                warning("%s", t.warnings[i]);
        /* A pod's container names its sandbox's namespaces by the PID this runtime wrote for the
         * sandbox: its stand-in. The workload joins the sandbox's own (the spec's "pod"). */
        if (t.pod && t.pod_pid > 0) {
                OciState ps = {};

                if (!id_ok(t.pod) || state_load(t.pod, &ps) < 0)
                        return fail(
                                "config.json: the pod sandbox %s is not a container of this runtime (--root %s)",
                                t.pod, arg_root);
                free(ps.bundle);
                if (ps.standin != t.pod_pid)
                        return fail(
                                "config.json: linux.namespaces name PID %d, but the pod sandbox %s is PID %d",
                                t.pod_pid, t.pod, (int) ps.standin);
        }
        /* runc's rule: a terminal needs a console socket to send it to, and the other way round. */
        terminal = json_is_true(json_object_get(json_object_get(t.spec, "process"), "terminal"));
        if (terminal && !console)
                return fail(
                        "process.terminal is true: --console-socket is needed to hand the terminal over");
        if (console && !terminal)
                return fail("--console-socket given but process.terminal is false");

        r = mkdir_p(arg_root, 0700);
        if (r < 0)
                return fail("--root %s: %s", arg_root, strerror(-r));
        r = state_dir(id, &dir);
        if (r < 0 || mkdir(dir, 0700) < 0)
                return fail(errno == EEXIST ? "container %s already exists" : "create %s: %m", id);
        json_object_set_new(t.spec, "name", json_string(id));
        if (t.seccomp) {
                _cleanup_free_ char *sp = NULL, *st = NULL;

                st = json_dumps(t.seccomp, JSON_COMPACT);
                if (!st || asprintf(&sp, "%s/seccomp.json", dir) < 0 ||
                    write_file_atomic_at(AT_FDCWD, sp, st, strlen(st), 0600) < 0) {
                        (void) rm_rf(dir);
                        return fail("write the seccomp profile: %m");
                }
                json_object_set_new(t.spec, "seccomp", json_string(sp));
        }
        spec = json_dumps(t.spec, JSON_COMPACT);
        if (!spec) {
                (void) rm_rf(dir);
                return fail("out of memory");
        }
        r = connect_isod(&bus);
        if (r < 0) {
                (void) rm_rf(dir);
                return fail("cannot reach isod: %s", strerror(-r));
        }
        r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "CreateWorkload", &e,
                               NULL, "sa{sv}", spec, 0);
        if (r < 0) {
                (void) rm_rf(dir);
                return fail("create %s: %s", id, bus_msg(&e, r));
        }

        /* The FIFO the stand-in waits on until start; opened here read-write so that neither end
         * blocks now; the stand-in keeps only its read side. */
        {
                _cleanup_free_ char *fifo = NULL;
                if (asprintf(&fifo, "%s/start", dir) < 0 || mkfifo(fifo, 0600) < 0 ||
                    (fifo_fd = open(fifo, O_RDWR | O_CLOEXEC)) < 0) {
                        _cleanup_free_ char *wpath = NULL;
                        if (sd_bus_path_encode("/org/isod1/workload", id, &wpath) >= 0)
                                (void) sd_bus_call_method(bus, "org.isod1", wpath, "org.isod1.Workload",
                                                          "Remove", NULL, NULL, "");
                        (void) rm_rf(dir);
                        return fail("create the start FIFO: %m");
                }
        }
        /* The terminal before the stand-in: its slave is the workload's stdio, the master is the
         * caller's before create exits (the containerd shim asks for it right after). */
        if (console) {
                r = console_setup(console, &slave);
                if (r < 0) {
                        _cleanup_free_ char *wpath = NULL;
                        if (sd_bus_path_encode("/org/isod1/workload", id, &wpath) >= 0)
                                (void) sd_bus_call_method(bus, "org.isod1", wpath, "org.isod1.Workload",
                                                          "Remove", NULL, NULL, "");
                        (void) rm_rf(dir);
                        return fail("--console-socket %s: %s", console, strerror(-r));
                }
        }
        pid = fork();
        if (pid < 0)
                return fail("fork: %m");
        if (pid == 0) {
                bus = sd_bus_close_unref(bus); /* the parent's connection is not ours */
                (void) setsid(); /* no controlling terminal: the workload's session takes the slave */
                if (slave >= 0 && (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0))
                        _exit(125);
                standin(id, fifo_fd);
        }
        (void) close(fifo_fd);
        slave = safe_close(slave);
        {
                _cleanup_free_ char *sp = NULL, *st = NULL;
                json_t *j = json_pack("{s:s,s:s,s:i,s:I}", "id", id, "bundle", bundle, "standin", (int) pid,
                                      "created", (json_int_t) now_usec(CLOCK_REALTIME));
                st = j ? json_dumps(j, JSON_COMPACT) : NULL;
                json_decref(j);
                if (!st || asprintf(&sp, "%s/state.json", dir) < 0 ||
                    write_file_atomic_at(AT_FDCWD, sp, st, strlen(st), 0600) < 0)
                        return fail("write the state: %m");
        }
        /* The pid-file last: callers take its existence for "created". */
        if (pid_file) {
                char buf[32];
                (void) snprintf(buf, sizeof buf, "%d", (int) pid);
                r = write_file_atomic_at(AT_FDCWD, pid_file, buf, strlen(buf), 0644);
                if (r < 0)
                        return fail("pid-file %s: %s", pid_file, strerror(-r));
        }
        if (run) {
                int status;
                _cleanup_free_ char *fifo = NULL;
                int fd;

                if (asprintf(&fifo, "%s/start", dir) < 0 || (fd = open(fifo, O_WRONLY | O_CLOEXEC)) < 0 ||
                    write(fd, "s", 1) != 1)
                        return fail("start %s: %m", id);
                (void) close(fd);
                if (waitpid(pid, &status, 0) < 0)
                        return fail("wait: %m");
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        return 0;
}

static int verb_start(const char *id) {
        _cleanup_free_ char *fifo = NULL, *st = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        OciState s = {};
        int fd, r;

        r = state_load(id, &s);
        if (r < 0)
                return fail("container %s does not exist", id);
        free(s.bundle);
        r = connect_isod(&bus);
        if (r < 0)
                return fail("cannot reach isod: %s", strerror(-r));
        r = workload_state(bus, id, &st);
        if (r < 0)
                return fail("container %s does not exist in isod", id);
        if (!streq(st, "created"))
                return fail("cannot start a container that is not created (it is %s)", oci_status(st));
        if (asprintf(&fifo, "%s/%s/start", arg_root, id) < 0)
                return fail("out of memory");
        /* Non-blocking: no reader means the stand-in is gone. */
        fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return fail("start %s: the container's process is gone (%m)", id);
        if (write(fd, "s", 1) != 1) {
                (void) close(fd);
                return fail("start %s: %m", id);
        }
        (void) close(fd);
        (void) unlink(fifo); /* started once */
        /* Back when isod says it runs (or it has already ended), bounded (a VM under TCG takes
         * seconds to boot): a caller's exec right after start finds it running. */
        for (int i = 0; i < 6000; i++) {
                free(st);
                st = NULL;
                if (workload_state(bus, id, &st) < 0 || (!streq(st, "created") && !streq(st, "starting")))
                        break;
                (void) usleep(10000);
        }
        return 0;
}

static int verb_state(const char *id) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *st = NULL, *out = NULL;
        OciState s = {};
        const char *status;
        char created[64] = "";
        json_t *j;
        int r;

        r = state_load(id, &s);
        if (r < 0)
                return fail("container %s does not exist", id);
        r = connect_isod(&bus);
        if (r < 0) {
                free(s.bundle);
                return fail("cannot reach isod: %s", strerror(-r));
        }
        status = workload_state(bus, id, &st) >= 0 ? oci_status(st) : "stopped";
        {
                time_t secs = (time_t) (s.created / 1000000);
                struct tm tm;
                if (gmtime_r(&secs, &tm))
                        (void) strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:{}}", "ociVersion", "1.0.2", "id", id, "status", status,
                      "pid", streq(status, "stopped") ? 0 : (int) s.standin, "bundle", s.bundle, "created",
                      created, "annotations");
        free(s.bundle);
        out = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        json_decref(j);
        if (!out)
                return fail("out of memory");
        printf("%s\n", out);
        return 0;
}

static int verb_kill(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL, *st = NULL;
        const char *id, *sig = "TERM";
        OciState s = {};
        int signo = SIGTERM, i = 1, r;

        if (i < argc && (streq(argv[i], "--all") || streq(argv[i], "-a")))
                i++; /* one process tree per workload: --all is the same */
        if (i >= argc || argc - i > 2)
                return fail("usage: kill [--all] ID [SIGNAL]");
        id = argv[i];
        if (i + 1 < argc)
                sig = argv[i + 1];
        if (safe_atoi(sig, &signo) < 0 || signo <= 0 || signo >= _NSIG) {
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "%s%s", startswith(sig, "SIG") ? "" : "SIG", sig) < 0 ||
                    parse_signal(name, &signo) < 0)
                        return fail("invalid signal '%s'", sig);
        }
        r = state_load(id, &s);
        if (r < 0)
                return fail("container %s does not exist", id);
        free(s.bundle);
        r = connect_isod(&bus);
        if (r < 0)
                return fail("cannot reach isod: %s", strerror(-r));
        if (workload_state(bus, id, &st) < 0 || streq(oci_status(st), "stopped"))
                return fail("container not running");
        if (streq(st, "created")) {
                /* Not started: its "init" is the stand-in, and the signal ends it like an init. */
                if (kill(s.standin, signo) < 0)
                        return fail("kill: %m");
                return 0;
        }
        r = sd_bus_path_encode("/org/isod1/workload", id, &path);
        if (r >= 0)
                r = sd_bus_call_method(bus, "org.isod1", path, "org.isod1.Workload", "Kill", &e, NULL, "i",
                                       signo);
        if (r < 0)
                return fail("kill %s: %s", id, bus_msg(&e, r));
        return 0;
}

static int verb_delete(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL, *st = NULL, *dir = NULL;
        bool force = false;
        const char *id;
        OciState s = {};
        int i = 1, r;

        if (i < argc && (streq(argv[i], "--force") || streq(argv[i], "-f"))) {
                force = true;
                i++;
        }
        if (i + 1 != argc)
                return fail("usage: delete [--force] ID");
        id = argv[i];
        if (!id_ok(id) || state_load(id, &s) < 0)
                return fail("container %s does not exist", id);
        free(s.bundle);
        r = connect_isod(&bus);
        if (r < 0)
                return fail("cannot reach isod: %s", strerror(-r));
        r = sd_bus_path_encode("/org/isod1/workload", id, &path);
        if (r < 0)
                return fail("out of memory");
        if (workload_state(bus, id, &st) >= 0) {
                if (streq(oci_status(st), "running")) {
                        if (!force)
                                return fail("cannot delete container %s that is not stopped: running", id);
                        (void) sd_bus_call_method(bus, "org.isod1", path, "org.isod1.Workload", "Kill", NULL,
                                                  NULL, "i", SIGKILL);
                        for (int k = 0; k < 1000; k++) {
                                free(st);
                                st = NULL;
                                if (workload_state(bus, id, &st) < 0 || streq(oci_status(st), "stopped"))
                                        break;
                                (void) usleep(10000);
                        }
                }
                r = sd_bus_call_method(bus, "org.isod1", path, "org.isod1.Workload", "Remove", &e, NULL, "");
                if (r < 0 && !sd_bus_error_has_name(&e, ISOD_ERROR_NOT_FOUND))
                        return fail("delete %s: %s", id, bus_msg(&e, r));
        }
        /* A created container's stand-in waits on the FIFO: removing it ends the wait. */
        if (s.standin > 0 && streq_ptr(st, "created"))
                (void) kill(s.standin, SIGKILL);
        if (state_dir(id, &dir) < 0 || rm_rf(dir) < 0)
                return fail("delete %s: %m", id);
        return 0;
}

/* ---------------------------------------------------------------- exec */

/* The Exec call for a process translated from runc's Process object, with this process's 0, 1, 2
 * as its stdio. */
static int exec_message(sd_bus *bus, const char *id, json_t *proc, const char *user, bool terminal,
                        sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL;
        json_t *args = json_object_get(proc, "args"), *env = json_object_get(proc, "env"), *e;
        const char *cwd = json_string_value(json_object_get(proc, "cwd"));
        size_t i;
        int r;

        r = sd_bus_path_encode("/org/isod1/workload", id, &path);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, "org.isod1", path, "org.isod1.Workload", "Exec");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "s");
        json_array_foreach (args, i, e)
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", json_string_value(e));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sh}", 3, "stdin", 0, "stdout", 1, "stderr", 2);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && json_array_size(env) > 0) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "env");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                json_array_foreach (env, i, e)
                        if (r >= 0)
                                r = sd_bus_message_append(m, "s", json_string_value(e));
                for (int k = 0; k < 3 && r >= 0; k++)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && cwd)
                r = sd_bus_message_append(m, "{sv}", "cwd", "s", cwd);
        if (r >= 0 && user)
                r = sd_bus_message_append(m, "{sv}", "user", "s", user);
        if (r >= 0 && terminal)
                r = sd_bus_message_append(m, "{sv}", "terminal", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int exec_reply_status(sd_bus_message *reply, bool quiet) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int32_t status;

        if (e) {
                if (!quiet)
                        fprintf(stderr, "isod-oci: exec: %s\n", strna(e->message));
                return sd_bus_error_has_name(e, ISOD_ERROR_START_FAILED) ? start_failed_status(e->message)
                                                                         : 125;
        }
        if (sd_bus_message_read(reply, "i", &status) < 0)
                return 125;
        return status & 0xff;
}

typedef struct ExecWait {
        int status;
        bool done;
} ExecWait;

static int on_exec_done(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        ExecWait *w = userdata;

        w->status = exec_reply_status(reply, false);
        w->done = true;
        return 0;
}

/* The exec's stand-in (--detach): the caller's child for as long as the process runs, with its
 * status. Says on ready_fd once isod has the call. */
_noreturn_ static void exec_standin(const char *id, json_t *proc, const char *user, bool terminal,
                                    int ready_fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        ExecWait w = { .status = 125 };
        int r;

        (void) prctl(PR_SET_NAME, "isod-oci-exec");
        (void) close_all_fds_except((const int[]){ 0, 1, 2, ready_fd }, 4);
        if (connect_isod(&bus) < 0)
                _exit(125);
        r = exec_message(bus, id, proc, user, terminal, &m);
        if (r >= 0)
                r = sd_bus_call_async(bus, NULL, m, on_exec_done, &w, UINT64_MAX);
        if (r >= 0)
                r = sd_bus_flush(bus);
        if (r < 0) {
                fprintf(stderr, "isod-oci: exec %s: %s\n", id, strerror(-r));
                _exit(125);
        }
        (void) loop_write(ready_fd, "r", 1);
        (void) close(ready_fd);
        while (!w.done) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        _exit(125);
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        _exit(125);
        }
        _exit(w.status);
}

static int write_pid_file(const char *pid_file, pid_t pid) {
        char buf[32];

        (void) snprintf(buf, sizeof buf, "%d", (int) pid);
        return write_file_atomic_at(AT_FDCWD, pid_file, buf, strlen(buf), 0644);
}

/* The process runc exec builds from its flags (no --process): the container's environment and
 * working directory unless given. */
static json_t *exec_process_from_flags(json_t *container_proc, char **cmd, char **env, const char *cwd,
                                       const char *user, bool tty, char **reterr) {
        json_t *p = json_object(), *a = json_array(), *e = json_array(), *v;
        size_t i;

        json_object_set_new(p, "args", a);
        json_object_set_new(p, "env", e);
        for (char **c = cmd; c && *c; c++)
                json_array_append_new(a, json_string(*c));
        json_array_foreach (json_object_get(container_proc, "env"), i, v)
                json_array_append(e, v);
        for (char **x = env; x && *x; x++)
                json_array_append_new(e, json_string(*x));
        json_object_set_new(
                p, "cwd",
                json_string(cwd ?: strempty(json_string_value(json_object_get(container_proc, "cwd")))));
        if (!json_string_value(json_object_get(p, "cwd"))[0])
                json_object_set_new(p, "cwd", json_string("/"));
        if (tty)
                json_object_set_new(p, "terminal", json_true());
        if (user) {
                uid_t uid;
                gid_t gid;

                if (parse_user(user, &uid, &gid) < 0) {
                        json_decref(p);
                        (void) set_error_message(reterr, -EINVAL, "--user %s: use UID or UID:GID (numbers)",
                                                 user);
                        return NULL;
                }
                json_object_set_new(
                        p, "user", json_pack("{s:I,s:I}", "uid", (json_int_t) uid, "gid", (json_int_t) gid));
        }
        return p;
}

static int verb_exec(int argc, char *argv[]) {
        static const struct option options[] = {
                { "process", required_argument, NULL, 'p' },
                { "detach", no_argument, NULL, 'd' },
                { "pid-file", required_argument, NULL, 'P' },
                { "tty", no_argument, NULL, 't' },
                { "console-socket", required_argument, NULL, 'c' },
                { "preserve-fds", required_argument, NULL, 'f' },
                { "cwd", required_argument, NULL, 'w' },
                { "env", required_argument, NULL, 'e' },
                { "user", required_argument, NULL, 'u' },
                { "no-new-privs", no_argument, NULL, 'N' },
                { "cap", required_argument, NULL, 'C' },
                { "process-label", required_argument, NULL, 'L' },
                { "apparmor", required_argument, NULL, 'A' },
                { "additional-gids", required_argument, NULL, 'g' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(oci_translation_done) OciTranslation ex = {}, ct = {};
        _cleanup_free_ char *st = NULL, *iso = NULL, *text = NULL, *cfg = NULL, *err = NULL,
                            *user_opt = NULL;
        _cleanup_strv_free_ char **env = NULL;
        const char *process_file = NULL, *pid_file = NULL, *console = NULL, *cwd = NULL, *user = NULL, *id,
                   *cu, *eu;
        _cleanup_close_ int slave = -EBADF;
        bool detach = false, tty = false, terminal, vm;
        json_t *proc, *cproc;
        OciState s = {};
        size_t size;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+p:dtc:w:e:u:", options, NULL)) >= 0)
                switch (c) {
                case 'p':
                        process_file = optarg;
                        break;
                case 'd':
                        detach = true;
                        break;
                case 'P':
                        pid_file = optarg;
                        break;
                case 't':
                        tty = true;
                        break;
                case 'c':
                        console = optarg;
                        break;
                case 'f':
                        if (!streq(optarg, "0"))
                                return fail("--preserve-fds %s: passing extra descriptors is not supported",
                                            optarg);
                        break;
                case 'w':
                        cwd = optarg;
                        break;
                case 'e':
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                return fail("--env %s: not NAME=VALUE", optarg);
                        if (strv_extend(&env, optarg) < 0)
                                return fail("out of memory");
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'N':
                        break; /* isod always sets no_new_privs */
                case 'C':
                        return fail("--cap %s: an exec gets the container's capabilities, no others",
                                    optarg);
                case 'L':
                case 'A':
                        if (optarg[0])
                                return fail("--%s: isod applies no LSM label",
                                            c == 'L' ? "process-label" : "apparmor");
                        break;
                case 'g':
                        return fail("--additional-gids: an exec as another user gets no supplementary "
                                    "groups");
                default:
                        return fail("usage: exec [--process FILE] [--detach] [--pid-file FILE] [--tty] "
                                    "[--console-socket SOCK] ID [COMMAND...]");
                }
        if (optind >= argc)
                return fail("usage: exec [--process FILE] [--detach] [--pid-file FILE] [--tty] "
                            "[--console-socket SOCK] ID [COMMAND...]");
        id = argv[optind];
        if (!id_ok(id))
                return fail("container %s does not exist", id);
        r = state_load(id, &s);
        if (r < 0)
                return fail("container %s does not exist (%s)", id, strerror(-r));
        if (process_file && optind + 1 < argc)
                return fail("exec: give the command either in --process or on the command line, not both");
        if (!process_file && optind + 1 >= argc)
                return fail("exec: no command (--process FILE or COMMAND...)");

        /* The container's own process, as its create translated it: the exec is measured against it. */
        r = asprintf(&cfg, "%s/config.json", s.bundle);
        free(s.bundle);
        if (r < 0)
                return fail("out of memory");
        r = read_full_file_at(AT_FDCWD, cfg, OCI_CONFIG_MAX, &text, &size);
        if (r < 0)
                return fail("%s: %s", cfg, strerror(-r));
        r = oci_config_translate_text(text, size, "/", &ct, &err);
        if (r < 0)
                return fail("%s", strna(err));
        cproc = json_object_get(ct.spec, "process");

        r = connect_isod(&bus);
        if (r < 0)
                return fail("cannot reach isod: %s", strerror(-r));
        /* Just started ("starting" until the payload runs): the exec waits for it, bounded. */
        for (int i = 0; i < 6000 && workload_state(bus, id, &st) >= 0 && streq(st, "starting"); i++) {
                free(st);
                st = NULL;
                (void) usleep(10000);
        }
        if (!st || !streq(st, "running"))
                return fail("container not running");
        vm = workload_isolation(bus, id, &iso) >= 0 && streq(iso, "vm");

        if (process_file) {
                _cleanup_free_ char *ptext = NULL;
                json_error_t jerr;
                json_t *pj;

                r = read_full_file_at(AT_FDCWD, process_file, OCI_CONFIG_MAX, &ptext, &size);
                if (r < 0)
                        return fail("--process %s: %s", process_file, strerror(-r));
                pj = json_loadb(ptext, size, JSON_REJECT_DUPLICATES, &jerr);
                if (!pj)
                        return fail("--process %s: %s (line %d)", process_file, jerr.text, jerr.line);
                r = oci_process_translate(pj, &ex, &err);
                json_decref(pj);
        } else {
                json_t *pj = exec_process_from_flags(cproc, argv + optind + 1, env, cwd, user, tty, &err);
                r = pj ? oci_process_translate(pj, &ex, &err) : -EINVAL;
                json_decref(pj);
        }
        if (r < 0)
                return fail("%s", strna(err));
        proc = json_object_get(ex.spec, "process");

        /* What isod gives an exec is the container's: capabilities and limits must be the same
         * (inside a VM neither applies, as for the container's own process: said, not dropped). */
        if (json_object_get(ex.spec, "capabilities")) {
                if (vm)
                        warning("process.capabilities: not applied in a VM");
                else if (!json_equal(json_object_get(ex.spec, "capabilities"),
                                     json_object_get(ct.spec, "capabilities")))
                        return fail("exec --process: capabilities other than the container's are not "
                                    "supported");
        }
        if (json_object_get(proc, "rlimits")) {
                if (vm)
                        warning("process.rlimits: not applied in a VM yet");
                else if (!json_equal(json_object_get(proc, "rlimits"), json_object_get(cproc, "rlimits")))
                        return fail("exec --process: rlimits other than the container's are not supported");
        }
        /* The user: the container's (with its groups) by default; another one without groups. */
        eu = json_string_value(json_object_get(proc, "user")) ?: "0:0";
        cu = json_string_value(json_object_get(cproc, "user")) ?: "0:0";
        if (vm) {
                if (!streq(eu, "0:0") && !(user_opt = strdup(eu)))
                        return fail("out of memory");
        } else if (!streq(eu, cu) || !json_equal(json_object_get(proc, "groups") ?: json_null(),
                                                 json_object_get(cproc, "groups") ?: json_null())) {
                if (json_array_size(json_object_get(proc, "groups")) > 0)
                        return fail("exec --process: user.additionalGids: an exec as another user than the "
                                    "container's gets no supplementary groups");
                if (!(user_opt = strdup(eu)))
                        return fail("out of memory");
        }

        terminal = json_is_true(json_object_get(proc, "terminal")) || tty;
        if (terminal) {
                if (console) {
                        r = console_setup(console, &slave);
                        if (r < 0)
                                return fail("--console-socket %s: %s", console, strerror(-r));
                } else if (detach || !isatty(STDIN_FILENO))
                        return fail("exec with a terminal needs --console-socket (or a terminal on stdin)");
                json_object_set_new(proc, "terminal", json_true());
        } else if (console)
                return fail("--console-socket given but the process has no terminal");

        if (!detach) {
                /* In the foreground (CRI-O's kubectl exec, runc users): our stdio, our exit status. */
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                if (slave >= 0 && (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0))
                        return fail("exec: %m");
                r = exec_message(bus, id, proc, user_opt, terminal, &m);
                if (r < 0)
                        return fail("exec: %s", strerror(-r));
                if (pid_file && write_pid_file(pid_file, getpid()) < 0)
                        return fail("pid-file %s: %m", pid_file);
                r = sd_bus_call(bus, m, UINT64_MAX, &e, &reply);
                if (r < 0) {
                        fprintf(stderr, "isod-oci: exec: %s\n", bus_msg(&e, r));
                        return sd_bus_error_has_name(&e, ISOD_ERROR_START_FAILED)
                                       ? start_failed_status(e.message)
                                       : 125;
                }
                return exec_reply_status(reply, false);
        }

        {
                int ready[2], status;
                char b;
                pid_t pid;

                if (pipe2(ready, O_CLOEXEC) < 0)
                        return fail("pipe: %m");
                pid = fork();
                if (pid < 0)
                        return fail("fork: %m");
                if (pid == 0) {
                        bus = sd_bus_close_unref(bus);
                        (void) close(ready[0]);
                        (void) setsid();
                        if (slave >= 0 && (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0))
                                _exit(125);
                        exec_standin(id, proc, user_opt, terminal, ready[1]);
                }
                (void) close(ready[1]);
                slave = safe_close(slave);
                while ((r = (int) read(ready[0], &b, 1)) < 0 && errno == EINTR)
                        ;
                (void) close(ready[0]);
                if (r != 1) {
                        (void) waitpid(pid, &status, 0);
                        return fail("exec %s: the exec's process could not reach isod", id);
                }
                /* The pid-file last, as for create. */
                if (pid_file && write_pid_file(pid_file, pid) < 0)
                        return fail("pid-file %s: %m", pid_file);
        }
        return 0;
}

/* ps: the host PIDs that stand for the container, the stand-in first; a container's processes
 * are its init's descendants, a VM's the stand-in and QEMU. */
static int collect_descendants(pid_t pid, json_t *out, unsigned depth) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size;
        char *p, *save = NULL;

        if (depth > 64 || json_array_size(out) > 65536)
                return 0;
        json_array_append_new(out, json_integer(pid));
        if (asprintf(&path, "/proc/%d/task/%d/children", (int) pid, (int) pid) < 0)
                return -ENOMEM;
        if (read_full_file_at(AT_FDCWD, path, 1 << 20, &text, &size) < 0)
                return 0;
        for (p = strtok_r(text, " \n", &save); p; p = strtok_r(NULL, " \n", &save)) {
                int child;
                if (safe_atoi(p, &child) >= 0 && child > 0)
                        (void) collect_descendants(child, out, depth + 1);
        }
        return 0;
}

static int verb_ps(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL, *st = NULL;
        bool json_out = false;
        const char *id = NULL;
        json_t *pids;
        OciState s = {};
        int r;

        for (int i = 1; i < argc; i++) {
                const char *f = startswith(argv[i], "--format=") ?: startswith(argv[i], "-f=");
                if (!f && (streq(argv[i], "--format") || streq(argv[i], "-f")) && i + 1 < argc)
                        f = argv[++i];
                if (f) {
                        if (!streq(f, "json") && !streq(f, "table"))
                                return fail("ps --format must be table or json");
                        json_out = streq(f, "json");
                } else if (!id && argv[i][0] != '-')
                        id = argv[i];
                else
                        return fail("usage: ps [--format table|json] ID");
        }
        if (!id || !id_ok(id) || state_load(id, &s) < 0)
                return fail("container %s does not exist", strna(id));
        free(s.bundle);
        r = connect_isod(&bus);
        if (r < 0)
                return fail("cannot reach isod: %s", strerror(-r));
        if (workload_state(bus, id, &st) < 0)
                return fail("container %s does not exist in isod", id);
        pids = json_array();
        if (!streq(oci_status(st), "stopped") && kill(s.standin, 0) >= 0)
                json_array_append_new(pids, json_integer(s.standin));
        if (streq(oci_status(st), "running") && sd_bus_path_encode("/org/isod1/workload", id, &path) >= 0 &&
            sd_bus_call_method(bus, "org.isod1", path, "org.isod1.Workload", "GetStats", &e, &reply, "") >=
                    0) {
                const char *key;
                int64_t leader = 0;

                /* a{sv}: leader_pid (a container's init) or vmm_pid (a VM's QEMU). */
                if (sd_bus_message_enter_container(reply, 'a', "{sv}") > 0)
                        while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                                const char *contents;
                                if (sd_bus_message_read(reply, "s", &key) < 0 ||
                                    sd_bus_message_peek_type(reply, NULL, &contents) < 0)
                                        break;
                                if ((streq(key, "leader_pid") || streq(key, "vmm_pid")) &&
                                    (streq(contents, "t") || streq(contents, "x"))) {
                                        uint64_t v = 0; /* t and x share the layout; a PID is positive */
                                        if (sd_bus_message_read(reply, "v", contents, &v) < 0)
                                                break;
                                        leader = (int64_t) v;
                                } else if (sd_bus_message_skip(reply, "v") < 0)
                                        break;
                                if (sd_bus_message_exit_container(reply) < 0)
                                        break;
                        }
                if (leader > 0 && leader != s.standin)
                        (void) collect_descendants((pid_t) leader, pids, 0);
        }
        if (json_out) {
                char *t = json_dumps(pids, JSON_COMPACT);
                printf("%s\n", strna(t));
                free(t);
        } else {
                json_t *v;
                size_t i;
                printf("%-10s %s\n", "PID", "CMD");
                json_array_foreach (pids, i, v) {
                        _cleanup_free_ char *cp = NULL, *comm = NULL;
                        size_t n;
                        if (asprintf(&cp, "/proc/%" JSON_INTEGER_FORMAT "/comm", json_integer_value(v)) >=
                                    0 &&
                            read_full_file_at(AT_FDCWD, cp, 4096, &comm, &n) >= 0)
                                comm[strcspn(comm, "\n")] = 0;
                        printf("%-10" JSON_INTEGER_FORMAT " %s\n", json_integer_value(v), strna(comm));
                }
        }
        json_decref(pids);
        return 0;
}

static int verb_features(void) {
        json_t *caps = json_array(), *j;
        char *t;

        for (int c = 0; c <= SPEC_CAP_LAST; c++)
                json_array_append_new(caps, json_string(capability_to_name(c)));
        j = json_pack("{s:s,s:s,s:[s,s,s,s,s,s,s],s:{s:[s,s,s,s,s,s],s:o,s:{s:b},s:{s:b}},s:{s:s}}",
                      "ociVersionMin", "1.0.0", "ociVersionMax", "1.2.0", "mountOptions", "bind", "rbind",
                      "ro", "rw", "nosuid", "nodev", "noexec", "linux", "namespaces", "pid", "network",
                      "ipc", "uts", "mount", "cgroup", "capabilities", caps, "cgroup", "v1", true, "seccomp",
                      "enabled", true, "annotations", "org.isod1.isolation",
                      "auto|container|vm: isod's policy sees it as the requested isolation");
        t = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        json_decref(j);
        if (!t)
                return fail("out of memory");
        printf("%s\n", t);
        free(t);
        return 0;
}

int main(int argc, char *argv[]) {
        int i;

        /* Global flags, before the command, as runc takes them (both --flag V and --flag=V). */
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
                _cleanup_free_ char *key = eq ? strndup(a, (size_t) (eq - a)) : strdup(a);

                if (!key)
                        return 1;
                if (streq(key, "--version") || streq(key, "-v")) {
                        printf("isod-oci version %s\nspec: 1.0.2\n", PACKAGE_VERSION);
                        return 0;
                }
                if (streq(key, "--systemd-cgroup") || streq(key, "--debug"))
                        continue; /* isod places workloads itself (docs/oci.md); --debug: nothing more to say
                                   */
                if (!streq(key, "--root") && !streq(key, "--log") && !streq(key, "--log-format"))
                        return fail("unknown global option '%s'", a);
                v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!v)
                        return fail("%s needs a value", key);
                if (streq(key, "--root")) {
                        if (v[0] != '/')
                                return fail("--root must be an absolute path");
                        arg_root = v;
                } else if (streq(key, "--log"))
                        arg_log = v;
                else if (streq(v, "json") || streq(v, "text"))
                        arg_log_json = streq(v, "json");
                else
                        return fail("--log-format must be text or json");
        }
        if (i >= argc)
                return fail("no command (create, start, state, kill, delete, run, exec, ps, features)");
        argc -= i;
        argv += i;
        if (streq(argv[0], "create") || streq(argv[0], "run"))
                return verb_create(argc, argv, streq(argv[0], "run"));
        if (streq(argv[0], "start") || streq(argv[0], "state")) {
                if (argc != 2 || !id_ok(argv[1]))
                        return fail("usage: %s ID", argv[0]);
                return streq(argv[0], "start") ? verb_start(argv[1]) : verb_state(argv[1]);
        }
        if (streq(argv[0], "kill"))
                return verb_kill(argc, argv);
        if (streq(argv[0], "delete"))
                return verb_delete(argc, argv);
        if (streq(argv[0], "features"))
                return verb_features();
        if (streq(argv[0], "exec"))
                return verb_exec(argc, argv);
        if (streq(argv[0], "ps"))
                return verb_ps(argc, argv);
        if (streq(argv[0], "pause") || streq(argv[0], "resume") || streq(argv[0], "update") ||
            streq(argv[0], "checkpoint") || streq(argv[0], "restore"))
                return fail("%s is not supported yet by isod-oci", argv[0]);
        return fail("unknown command '%s'", argv[0]);
}
