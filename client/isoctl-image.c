/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "iso-errors.h"
#include "isoctl.h"
#include "spec.h"
#include "util.h"

/* isoctl image import|build|list|show|rm: isod's image store, through org.isod1.Manager's
 * ImportImage, ListImages, GetImage and RemoveImage and the org.isod1.Image objects
 * (docs/isoctl.md#images). Every subcommand checks its command line before it connects. */

#define IMPORT_TIMEOUT_USEC (6ULL * 3600 * 1000000) /* a large image on a slow disk */

static int image_usage(FILE *f) {
        fprintf(f,
                "Usage: isoctl image import FILE|DIR|- [--name NAME[:TAG]] [--ref NAME] [--max-bytes SIZE]\n"
                "                           [--max-entries N]\n"
                "       isoctl image build NAME[:TAG] --debian SUITE [--include PKG,...] [--variant VARIANT]\n"
                "                          [--mirror URL]\n"
                "       isoctl image list [--json]\n"
                "       isoctl image show NAME|ID [--json]\n"
                "       isoctl image rm NAME|ID...\n");
        return EXIT_USAGE;
}

static bool ref_check(const char *what, const char *s) {
        if (image_ref_is_valid(s))
                return true;
        fprintf(stderr,
                "isoctl: invalid %s '%s': use NAME[:TAG] (NAME components [A-Za-z0-9][A-Za-z0-9._-]* "
                "separated by '/') or sha256:<64 hex>.\n",
                what, s);
        return false;
}

/* A name, an ID, or an ID prefix of at least 12 hex digits. */
static bool ref_or_prefix_check(const char *s) {
        size_t n = strlen(s);

        if (n >= 12 && n <= 64 && strspn(s, "0123456789abcdef") == n)
                return true;
        return ref_check("image name", s);
}

static int image_bus_error(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD))
                fprintf(stderr, "isoctl: %s: this isod has no image store (%s).\n", what,
                        e->message ?: e->name);
        else
                (void) print_bus_error(e, r, what);
        return EXIT_FAILURE_;
}

typedef struct ImportCall {
        bool done, tty, printed;
        sd_bus_error error;
        int r;
        char *path;
        uint64_t last_usec;
} ImportCall;

static int on_progress(sd_bus_message *m, void *userdata, sd_bus_error *e) {
        ImportCall *c = userdata;
        const char *job;
        uint64_t done, total, now = now_usec(CLOCK_MONOTONIC);
        char a[32], b[32];

        if (!c->tty || sd_bus_message_read(m, "stt", &job, &done, &total) < 0 || now - c->last_usec < 100000)
                return 0;
        c->last_usec = now;
        human_size(done, a, sizeof a);
        if (total > 0) {
                human_size(total, b, sizeof b);
                fprintf(stderr, "\r\033[Kimporting: %s of %s (%u%%)", a, b,
                        (unsigned) (done * 100 / (total ?: 1)));
        } else
                fprintf(stderr, "\r\033[Kimporting: %s read", a);
        c->printed = true;
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *e) {
        ImportCall *c = userdata;
        const char *path;

        c->done = true;
        if (sd_bus_message_is_method_error(m, NULL)) {
                c->r = -sd_bus_message_get_errno(m) ?: -EIO;
                (void) sd_bus_error_copy(&c->error, sd_bus_message_get_error(m));
                return 0;
        }
        c->r = sd_bus_message_read(m, "o", &path);
        if (c->r >= 0 && !(c->path = strdup(path)))
                c->r = -ENOMEM;
        return 0;
}

/* ImportImage(fd, options), with progress on a terminal; prints the image's ID and names. */
static int import_fd(sd_bus *bus, int fd, const char *name, const char *ref, uint64_t max_bytes,
                     uint64_t max_entries, const char *what) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        ImportCall c = { .tty = isatty(STDERR_FILENO), .error = SD_BUS_ERROR_NULL };
        _cleanup_strv_free_ char **names = NULL;
        const char *id = NULL;
        int r;

        /* Unicast to us; no sender in the match: a direct connection carries none. */
        r = sd_bus_match_signal(bus, NULL, NULL, "/org/isod1", "org.isod1.Manager", "ImportProgress",
                                on_progress, &c);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, "org.isod1", "/org/isod1", "org.isod1.Manager",
                                                   "ImportImage");
        if (r >= 0)
                r = sd_bus_message_append(m, "h", fd);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && name)
                r = sd_bus_message_append(m, "{sv}", "name", "s", name);
        if (r >= 0 && ref)
                r = sd_bus_message_append(m, "{sv}", "ref", "s", ref);
        if (r >= 0 && max_bytes)
                r = sd_bus_message_append(m, "{sv}", "max_bytes", "t", max_bytes);
        if (r >= 0 && max_entries)
                r = sd_bus_message_append(m, "{sv}", "max_entries", "t", max_entries);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_call_async(bus, NULL, m, on_reply, &c, IMPORT_TIMEOUT_USEC);
        if (r < 0) {
                fprintf(stderr, "isoctl: %s: %s\n", what, strerror(-r));
                return EXIT_FAILURE_;
        }
        while (!c.done) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        break;
                if (r == 0 && !c.done)
                        r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        break;
        }
        if (c.printed)
                fprintf(stderr, "\r\033[K");
        if (!c.done) {
                fprintf(stderr, "isoctl: %s: lost the connection to isod: %s\n", what, strerror(-r));
                return EXIT_FAILURE_;
        }
        if (c.r < 0) {
                r = image_bus_error(&c.error, c.r, what);
                sd_bus_error_free(&c.error);
                return r;
        }
        r = sd_bus_get_property(bus, "org.isod1", c.path, "org.isod1.Image", "Id", &e, &reply, "s");
        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &id);
        if (r >= 0)
                (void) sd_bus_get_property_strv(bus, "org.isod1", c.path, "org.isod1.Image", "Names", NULL,
                                                &names);
        if (r < 0)
                printf("%s\n", c.path); /* removed already (unnamed, unused)? the object at least */
        else {
                _cleanup_free_ char *list = names && names[0] ? strv_join(names, " ") : NULL;
                printf("%s%s%s\n", id, list ? " " : "", strempty(list));
        }
        free(c.path);
        return 0;
}

static int image_import(int argc, char *argv[]) {
        enum { ARG_NAME = 0x100, ARG_REF, ARG_MAX_BYTES, ARG_MAX_ENTRIES };
        static const struct option options[] = {
                { "name", required_argument, NULL, ARG_NAME },
                { "ref", required_argument, NULL, ARG_REF },
                { "max-bytes", required_argument, NULL, ARG_MAX_BYTES },
                { "max-entries", required_argument, NULL, ARG_MAX_ENTRIES },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *name = NULL, *ref = NULL, *src;
        uint64_t max_bytes = 0, max_entries = 0;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_NAME:
                        if (!ref_check("image name", optarg) || startswith(optarg, "sha256:"))
                                return EXIT_USAGE;
                        name = optarg;
                        break;
                case ARG_REF:
                        if (!ref_check("reference", optarg))
                                return EXIT_USAGE;
                        ref = optarg;
                        break;
                case ARG_MAX_BYTES:
                        if (parse_size(optarg, &max_bytes) < 0 || max_bytes == 0) {
                                fprintf(stderr, "isoctl: --max-bytes wants a size like 2G, not '%s'.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_MAX_ENTRIES:
                        if (safe_atou64(optarg, &max_entries) < 0 || max_entries == 0) {
                                fprintf(stderr, "isoctl: --max-entries wants a positive number, not '%s'.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                default:
                        return image_usage(stderr);
                }
        if (optind + 1 != argc)
                return image_usage(stderr);
        src = argv[optind];
        /* The archive is opened here, with the caller's rights, and passed as a descriptor: isod
         * never opens a path a client names. */
        fd = streq(src, "-") ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
                             : open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                fprintf(stderr, "isoctl: cannot open '%s': %m\n", src);
                return EXIT_FAILURE_;
        }
        if (!streq(src, "-"))
                (void) fd_set_nonblock(fd, false);
        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;
        return import_fd(bus, fd, name, ref, max_bytes, max_entries, "image import");
}

static bool isalnum_ascii(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool word_ok(const char *s, const char *extra) {
        if (!s[0] || strlen(s) > 200 || !isalnum_ascii(s[0]))
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum_ascii(*p) && !strchr(extra, *p))
                        return false;
        return true;
}

static int image_build(int argc, char *argv[]) {
        enum { ARG_DEBIAN = 0x100, ARG_INCLUDE, ARG_VARIANT, ARG_MIRROR };
        static const struct option options[] = {
                { "debian", required_argument, NULL, ARG_DEBIAN },
                { "include", required_argument, NULL, ARG_INCLUDE },
                { "variant", required_argument, NULL, ARG_VARIANT },
                { "mirror", required_argument, NULL, ARG_MIRROR },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *include_arg = NULL, *variant_arg = NULL;
        const char *suite = NULL, *include = NULL, *variant = "minbase", *mirror = NULL, *name;
        const char *args[12];
        size_t n = 0;
        int pipefd[2], status, c, ret;
        pid_t pid;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_DEBIAN:
                        if (!word_ok(optarg, "-")) {
                                fprintf(stderr,
                                        "isoctl: --debian wants a suite or codename like bookworm, not '%s'.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        suite = optarg;
                        break;
                case ARG_INCLUDE:
                        if (!word_ok(optarg, "+-.,:")) {
                                fprintf(stderr,
                                        "isoctl: --include wants package names separated by ',', not '%s'.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        include = optarg;
                        break;
                case ARG_VARIANT:
                        if (!streq(optarg, "minbase") && !streq(optarg, "buildd") &&
                            !streq(optarg, "required") && !streq(optarg, "important") &&
                            !streq(optarg, "standard")) {
                                fprintf(stderr,
                                        "isoctl: --variant wants minbase, required, buildd, important or standard.\n");
                                return EXIT_USAGE;
                        }
                        variant = optarg;
                        break;
                case ARG_MIRROR:
                        if (!startswith(optarg, "http://") && !startswith(optarg, "https://") &&
                            !startswith(optarg, "file:/")) {
                                fprintf(stderr, "isoctl: --mirror wants an http(s):// or file:/ URL.\n");
                                return EXIT_USAGE;
                        }
                        mirror = optarg;
                        break;
                default:
                        return image_usage(stderr);
                }
        if (optind + 1 != argc || !suite)
                return image_usage(stderr);
        name = argv[optind];
        if (!ref_check("image name", name) || startswith(name, "sha256:"))
                return EXIT_USAGE;
        if (asprintf(&variant_arg, "--variant=%s", variant) < 0 ||
            (include && asprintf(&include_arg, "--include=%s", include) < 0))
                return EXIT_FAILURE_;
        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;

        /* mmdebstrap writes the tree as a tar stream into the pipe isod's importer reads: no
         * temporary file, no second copy. An argv, never a shell. */
        args[n++] = "mmdebstrap";
        args[n++] = variant_arg;
        args[n++] = "--format=tar";
        if (!isatty(STDERR_FILENO))
                args[n++] = "--quiet";
        if (include_arg)
                args[n++] = include_arg;
        args[n++] = suite;
        args[n++] = "-";
        if (mirror)
                args[n++] = mirror;
        args[n] = NULL;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return EXIT_FAILURE_;
        pid = fork();
        if (pid < 0)
                return EXIT_FAILURE_;
        if (pid == 0) {
                if (dup2(pipefd[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execvp("mmdebstrap", (char *const *) args);
                fprintf(stderr, "isoctl: cannot run mmdebstrap (apt-get install mmdebstrap): %m\n");
                _exit(127);
        }
        (void) close(pipefd[1]);
        ret = import_fd(bus, pipefd[0], name, NULL, 0, 0, "image build");
        (void) close(pipefd[0]);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "isoctl: image build: mmdebstrap failed (%s %d).\n",
                        WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                return EXIT_FAILURE_;
        }
        return ret;
}

/* Every property of the image at path, with Config parsed. */
static int image_get_all(sd_bus *bus, const char *path, json_t **ret, sd_bus_error *reterr) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        json_t *o, *cfg;
        int r;

        r = sd_bus_call_method(bus, "org.isod1", path, "org.freedesktop.DBus.Properties", "GetAll", reterr,
                               &reply, "s", "org.isod1.Image");
        if (r < 0)
                return r;
        r = bus_read_dict_json(reply, &o);
        if (r < 0)
                return r;
        cfg = json_string_value(json_object_get(o, "Config"))
                      ? json_loads(json_string_value(json_object_get(o, "Config")), 0, NULL)
                      : NULL;
        if (cfg)
                json_object_set_new(o, "Config", cfg);
        *ret = o;
        return 0;
}

static int image_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        json_t *arr;
        int r;

        if (argc != 1)
                return image_usage(stderr);
        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;
        r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "ListImages", &e, &reply,
                               "");
        if (r < 0)
                return image_bus_error(&e, r, "image list");
        r = sd_bus_message_enter_container(reply, 'a', "(sastuo)");
        arr = json_array();
        if (r < 0 || !arr)
                return EXIT_FAILURE_;
        if (!arg_json)
                printf("%-40s %-12s %8s %6s\n", "NAME", "ID", "SIZE", "LAYERS");
        while ((r = sd_bus_message_enter_container(reply, 'r', "sastuo")) > 0) {
                _cleanup_strv_free_ char **names = NULL;
                const char *id, *path;
                uint64_t size;
                uint32_t layers;
                char hs[32];

                r = sd_bus_message_read(reply, "s", &id);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &names);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "tuo", &size, &layers, &path);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
                if (arg_json) {
                        json_t *o = json_pack("{s:s,s:[],s:I,s:i,s:s}", "Id", id, "Names", "Size",
                                              (json_int_t) size, "Layers", (int) layers, "Object", path);
                        for (size_t i = 0; o && names && names[i]; i++)
                                json_array_append_new(json_object_get(o, "Names"), json_string(names[i]));
                        json_array_append_new(arr, o);
                        continue;
                }
                human_size(size, hs, sizeof hs);
                for (size_t i = 0; !names || !names[i] ? i == 0 : names[i] != NULL; i++)
                        printf("%-40s %-12.12s %8s %6u\n", names && names[i] ? names[i] : "<none>", id + 7,
                               hs, (unsigned) layers);
        }
        if (r < 0) {
                fprintf(stderr, "isoctl: image list: cannot read the reply: %s\n", strerror(-r));
                json_decref(arr);
                return EXIT_FAILURE_;
        }
        if (arg_json) {
                json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                printf("\n");
        }
        json_decref(arr);
        return 0;
}

static int image_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        json_t *o = NULL, *cfg, *v, *layer;
        char hs[32];
        size_t i;
        int r;

        if (argc != 2)
                return image_usage(stderr);
        if (!ref_or_prefix_check(argv[1]))
                return EXIT_USAGE;
        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;
        r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "GetImage", &e, &reply,
                               "s", argv[1]);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = image_get_all(bus, path, &o, &e);
        if (r < 0)
                return image_bus_error(&e, r, argv[1]);
        if (arg_json) {
                json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                printf("\n");
                json_decref(o);
                return 0;
        }
        printf("%-14s%s\n", "Id:", json_string_value(json_object_get(o, "Id")));
        printf("%-14s", "Names:");
        json_array_foreach (json_object_get(o, "Names"), i, v)
                printf("%s%s", i ? ", " : "", json_string_value(v));
        printf("%s\n", json_array_size(json_object_get(o, "Names")) ? "" : "-");
        printf("%-14s%s\n", "Format:", strempty(json_string_value(json_object_get(o, "Format"))));
        v = json_object_get(o, "Digest");
        printf("%-14s%s\n", "Manifest:", json_string_length(v) ? json_string_value(v) : "-");
        printf("%-14s%s\n",
               "Architecture:", strempty(json_string_value(json_object_get(o, "Architecture"))));
        human_size((uint64_t) json_integer_value(json_object_get(o, "Size")), hs, sizeof hs);
        printf("%-14s%s\n", "Size:", hs);
        cfg = json_object_get(json_object_get(o, "Config"), "config");
        for (const char *const *k = (const char *const[]){ "Entrypoint", "Cmd", "Env", "WorkingDir", "User",
                                                           "ExposedPorts", "Labels", "StopSignal", NULL };
             *k; k++) {
                _cleanup_free_ char *t = NULL;
                char label[32];

                v = json_object_get(cfg, *k);
                if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
                        continue;
                t = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT);
                (void) snprintf(label, sizeof label, "%s:", *k);
                printf("%-14s%s\n", label, strna(t));
        }
        printf("Layers:\n");
        json_array_foreach (json_object_get(o, "Layers"), i, layer) {
                human_size((uint64_t) json_integer_value(json_array_get(layer, 4)), hs, sizeof hs);
                printf("  %-71s %8s\n", strempty(json_string_value(json_array_get(layer, 0))), hs);
        }
        printf("%-14s", "Workloads:");
        json_array_foreach (json_object_get(o, "Workloads"), i, v)
                printf("%s%s", i ? ", " : "", json_string_value(v));
        printf("%s\n", json_array_size(json_object_get(o, "Workloads")) ? "" : "-");
        json_decref(o);
        return 0;
}

static int image_rm(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int ret = 0;

        if (argc < 2)
                return image_usage(stderr);
        for (int i = 1; i < argc; i++)
                if (!ref_or_prefix_check(argv[i]))
                        return EXIT_USAGE;
        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;
        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                int r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager",
                                           "RemoveImage", &e, NULL, "s", argv[i]);
                if (r < 0)
                        ret = image_bus_error(&e, r, argv[i]);
                else
                        printf("%s\n", argv[i]);
        }
        return ret;
}

int verb_image(int argc, char *argv[]) {
        static const struct {
                const char *name;
                int (*fn)(int argc, char *argv[]);
        } subs[] = {
                { "import", image_import }, { "build", image_build }, { "list", image_list },
                { "ls", image_list },       { "show", image_show },   { "inspect", image_show },
                { "rm", image_rm },         { "remove", image_rm },
        };

        if (argc < 2)
                return image_usage(stderr);
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                (void) image_usage(stdout);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                if (streq(argv[1], subs[i].name))
                        return subs[i].fn(argc - 1, argv + 1);
        fprintf(stderr, "isoctl: unknown image command '%s'.\n", argv[1]);
        return image_usage(stderr);
}
