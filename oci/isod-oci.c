/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isod-oci: runc's command line in front of isod (docs/oci.md).
 *
 *   isod-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] [--debug] COMMAND
 *   create --bundle DIR [--pid-file FILE] ID   start ID   state ID   kill [--all] ID [SIGNAL]
 *   delete [--force] ID   run --bundle DIR [--pid-file FILE] ID   features   --version
 *
 * Every verb goes to isod over D-Bus with the caller's credentials, so isod's policy decides. The
 * PID in the pid-file is a stand-in forked by `create`: it stays the caller's descendant (conmon
 * and the containerd shim are subreapers and wait on it), waits for `start` on a FIFO, starts the
 * workload with the stdio `create` was given, and exits with the workload's status. */

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
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

/* An error the way runc reports it: stderr, and {"level":"error","msg":…} in --log for callers
 * that read it (Podman json.Unmarshal()s that file). Returns 1, the exit status. */
static int fail(const char *fmt, ...) _printf_(1, 2);
static int fail(const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        fprintf(stderr, "isod-oci: %s\n", strna(msg));
        if (arg_log) {
                FILE *f = fopen(arg_log, "ae");
                if (f) {
                        if (arg_log_json) {
                                json_t *j = json_pack("{s:s,s:s}", "level", "error", "msg", strna(msg));
                                char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
                                fprintf(f, "%s\n", strna(t));
                                free(t);
                                json_decref(j);
                        } else
                                fprintf(f, "level=error msg=\"%s\"\n", strna(msg));
                        fclose(f);
                }
        }
        return 1;
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
        const char *pid_file = NULL, *id;
        int fifo_fd, c, r;
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
                        return fail("--console-socket: terminals are not supported yet by isod-oci");
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
                fprintf(stderr, "isod-oci: warning: %s\n", t.warnings[i]);

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
        pid = fork();
        if (pid < 0)
                return fail("fork: %m");
        if (pid == 0) {
                bus = sd_bus_close_unref(bus); /* the parent's connection is not ours */
                (void) setsid();
                standin(id, fifo_fd);
        }
        (void) close(fifo_fd);
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
        /* Back when isod says it runs (or it has already ended), bounded. */
        for (int i = 0; i < 600; i++) {
                free(st);
                st = NULL;
                if (workload_state(bus, id, &st) < 0 || !streq(st, "created"))
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
                return fail("no command (create, start, state, kill, delete, run, features)");
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
        if (streq(argv[0], "exec") || streq(argv[0], "ps") || streq(argv[0], "pause") ||
            streq(argv[0], "resume") || streq(argv[0], "update") || streq(argv[0], "checkpoint") ||
            streq(argv[0], "restore"))
                return fail("%s is not supported yet by isod-oci", argv[0]);
        return fail("unknown command '%s'", argv[0]);
}
