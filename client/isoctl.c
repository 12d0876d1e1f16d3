/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "connect.h"
#include "iso-errors.h"
#include "isoctl.h"
#include "util.h"

/* isoctl: the command-line client. It talks only D-Bus: to org.isod1 on the system bus (or the bus
 * in DBUS_SYSTEM_BUS_ADDRESS), or, as root, directly to isod on its private socket, like systemctl
 * does with /run/systemd/private (docs/dbus-api.md, "Direct connections"). */

bool arg_json = false;

static pid_t agent_pid;

static void agent_stop(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) waitpid(agent_pid, NULL, 0);
        agent_pid = 0;
}

/* On a terminal, as systemctl does: a polkit agent for this process (pkttyagent, or
 * ISOCTL_POLKIT_AGENT), which can ask for a password when isod's polkit check needs one; it
 * closes --notify-fd once registered (--fallback: an agent already there for us stays in charge).
 * Best effort: without one, polkit answers as it would without a terminal. */
static void agent_start(void) {
        const char *agent = getenv("ISOCTL_POLKIT_AGENT") ?: "/usr/bin/pkttyagent";
        char fdarg[16], pidarg[16];
        int p[2];
        pid_t pid;

        if (access(agent, X_OK) < 0 || pipe2(p, O_CLOEXEC) < 0)
                return;
        (void) snprintf(pidarg, sizeof pidarg, "%d", (int) getpid());
        pid = fork();
        if (pid < 0) {
                (void) close(p[0]);
                (void) close(p[1]);
                return;
        }
        if (pid == 0) {
                int fd = fcntl(p[1], F_DUPFD, 3); /* without O_CLOEXEC: the agent's notify fd */

                if (fd < 0)
                        _exit(EXIT_FAILURE);
                (void) snprintf(fdarg, sizeof fdarg, "%d", fd);
                execl(agent, agent, "--notify-fd", fdarg, "--fallback", "--process", pidarg, (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        (void) close(p[1]);
        agent_pid = pid;
        (void) atexit(agent_stop);
        /* Until it has registered (EOF on the pipe), at most 5 s. */
        (void) poll(&(struct pollfd){ .fd = p[0], .events = POLLIN }, 1, 5000);
        (void) close(p[0]);
}

/* ISOD_SOCKET=PATH: that socket, and an error if it cannot be used. Otherwise, as root on the
 * system bus, isod's default socket if it answers, else the bus (isod may be bus-activated). A
 * non-root caller on a terminal allows interactive authorization, with an agent (above). */
int bus_connect(sd_bus **ret) {
        const char *direct;
        int r;

        r = isod_connect(ret, &direct);
        if (r >= 0 && !direct && geteuid() != 0 && isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
                (void) sd_bus_set_allow_interactive_authorization(*ret, true);
                if (agent_pid == 0)
                        agent_start();
        }
        if (r < 0 && direct)
                fprintf(stderr, "isoctl: cannot connect to isod at '%s' (ISOD_SOCKET): %s\n", direct,
                        strerror(-r));
        else if (r < 0)
                fprintf(stderr,
                        "isoctl: cannot connect to the system bus: %s\n"
                        "Is dbus running? (DBUS_SYSTEM_BUS_ADDRESS selects another bus.)\n",
                        strerror(-r));
        return r;
}

int print_bus_error(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_is_set(e)) {
                if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                    sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        fprintf(stderr,
                                "isoctl: isod is not running (no owner for org.isod1). Start it with "
                                "'systemctl start isod' or run 'isod'.\n");
                else if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                        fprintf(stderr,
                                "isoctl: %s: access denied by the bus policy (isod's, org.isod1.conf, lets "
                                "everybody call it; check the bus's configuration): %s\n",
                                what, e->message ?: e->name);
                else if (startswith(e->name, "org.isod1.Error."))
                        fprintf(stderr, "isoctl: %s: %s [%s]\n", what, e->message ?: "",
                                e->name + strlen("org.isod1.Error."));
                else
                        fprintf(stderr, "isoctl: %s: %s\n", what, e->message ?: e->name);
        } else
                fprintf(stderr, "isoctl: %s: %s\n", what, strerror(-r));
        return r;
}

int workload_path(sd_bus *bus, const char *name, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        if (!workload_name_is_valid(name)) {
                fprintf(stderr, "isoctl: '%s' is not a valid workload name.\n", name);
                return -EINVAL;
        }
        r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "GetWorkload", &e,
                               &reply, "s", name);
        if (r < 0)
                return print_bus_error(&e, r, name);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        *ret = strdup(path);
        return *ret ? 0 : -ENOMEM;
}

static int verb_list(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *iso, *state, *rule, *path;
        json_t *arr = NULL;
        int r;

        r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "ListWorkloads", &e,
                               &reply, "");
        if (r < 0)
                return print_bus_error(&e, r, "list");
        r = sd_bus_message_enter_container(reply, 'a', "(sssso)");
        if (r < 0)
                return r;
        if (arg_json)
                arr = json_array();
        else
                printf("%-24s %-10s %-9s %s\n", "NAME", "ISOLATION", "STATE", "POLICY-RULE");
        while ((r = sd_bus_message_read(reply, "(sssso)", &name, &iso, &state, &rule, &path)) > 0) {
                if (arr)
                        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", name,
                                                             "isolation", iso, "state", state, "policy_rule",
                                                             rule, "object", path));
                else
                        printf("%-24s %-10s %-9s %s\n", name, iso, state, rule);
        }
        if (arr) {
                json_dumpf(arr, stdout, JSON_INDENT(2));
                printf("\n");
                json_decref(arr);
        }
        return r < 0 ? r : 0;
}

static char *format_ts(uint64_t usec, char *buf, size_t n) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                (void) snprintf(buf, n, "n/a");
        return buf;
}

/* The networking properties, each read on its own: those an older isod lacks are left out of j
 * (and so of the output) rather than failing show. Ports go in as the spec writes them
 * ({host, guest, proto[, address]}), so `show --json` output can be pasted into a spec. */
static void show_read_network(sd_bus *bus, const char *path, json_t *j) {
        static const char *const nprops[] = { "NetworkMode", "Network", "IPAddress", "MACAddress" };
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *proto, *addr;
        uint16_t host, guest;
        json_t *ports;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(nprops); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error pe = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *v = NULL;

                if (sd_bus_get_property_string(bus, "org.isod1", path, "org.isod1.Workload", nprops[i], &pe,
                                               &v) >= 0)
                        json_object_set_new(j, nprops[i], json_string(v));
        }
        if (sd_bus_get_property(bus, "org.isod1", path, "org.isod1.Workload", "Ports", &e, &reply,
                                "a(sqqs)") < 0 ||
            sd_bus_message_enter_container(reply, 'a', "(sqqs)") < 0)
                return;
        ports = json_array();
        while ((r = sd_bus_message_read(reply, "(sqqs)", &proto, &host, &guest, &addr)) > 0) {
                json_t *p = json_pack("{s:i,s:i,s:s}", "host", (int) host, "guest", (int) guest, "proto",
                                      proto);

                if (p && *addr)
                        json_object_set_new(p, "address", json_string(addr));
                json_array_append_new(ports, p);
        }
        if (r < 0) {
                json_decref(ports);
                return;
        }
        json_object_set_new(j, "Ports", ports);
}

/* The text form of show's networking lines; nothing when this isod has no NetworkMode. */
static void show_print_network(json_t *j) {
        const char *mode = json_string_value(json_object_get(j, "NetworkMode"));
        const char *net = json_string_value(json_object_get(j, "Network"));
        const char *ip = json_string_value(json_object_get(j, "IPAddress"));
        const char *mac = json_string_value(json_object_get(j, "MACAddress"));
        json_t *ports = json_object_get(j, "Ports"), *p;
        size_t i;

        if (!mode || !*mode)
                return;
        if (net && *net)
                printf("Network:     %s (network %s)\n", mode, net);
        else
                printf("Network:     %s\n", mode);
        if (ip && *ip)
                printf("IP address:  %s\n", ip);
        if (mac && *mac)
                printf("MAC address: %s\n", mac);
        json_array_foreach (ports, i, p) {
                const char *addr = json_string_value(json_object_get(p, "address"));

                printf("%s%s:%" JSON_INTEGER_FORMAT " -> %" JSON_INTEGER_FORMAT "/%s\n",
                       i == 0 ? "Ports:       " : "             ", addr ?: "*",
                       json_integer_value(json_object_get(p, "host")),
                       json_integer_value(json_object_get(p, "guest")),
                       strna(json_string_value(json_object_get(p, "proto"))));
        }
}

static int verb_show(sd_bus *bus, int argc, char *argv[]) {
        static const char *const sprops[] = { "Name",         "Isolation", "State",       "PolicyRule",
                                              "PolicyReason", "Reason",    "Accelerator", "Spec" };
        static const char *const tprops[] = { "CreatedTimestamp", "StartedTimestamp", "ExitedTimestamp" };
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        json_t *j;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: isoctl show NAME\n");
                return -EINVAL;
        }
        r = workload_path(bus, argv[1], &path);
        if (r < 0)
                return r;
        j = json_object();
        for (size_t i = 0; i < ELEMENTSOF(sprops); i++) {
                _cleanup_free_ char *v = NULL;

                r = sd_bus_get_property_string(bus, "org.isod1", path, "org.isod1.Workload", sprops[i], &e,
                                               &v);
                if (r < 0) {
                        json_decref(j);
                        return print_bus_error(&e, r, argv[1]);
                }
                if (streq(sprops[i], "Spec")) {
                        json_t *s = json_loads(v, 0, NULL);
                        json_object_set_new(j, "Spec", s ?: json_string(v));
                } else
                        json_object_set_new(j, sprops[i], json_string(v));
        }
        {
                uint32_t owner = 0, leader = 0, monitor = 0;
                int32_t status = 0, sig = 0;

                (void) sd_bus_get_property_trivial(bus, "org.isod1", path, "org.isod1.Workload", "Owner", &e,
                                                   'u', &owner);
                (void) sd_bus_get_property_trivial(bus, "org.isod1", path, "org.isod1.Workload", "LeaderPID",
                                                   &e, 'u', &leader);
                (void) sd_bus_get_property_trivial(bus, "org.isod1", path, "org.isod1.Workload",
                                                   "MonitorPID", &e, 'u', &monitor);
                (void) sd_bus_get_property_trivial(bus, "org.isod1", path, "org.isod1.Workload",
                                                   "ExitStatus", &e, 'i', &status);
                (void) sd_bus_get_property_trivial(bus, "org.isod1", path, "org.isod1.Workload",
                                                   "ExitSignal", &e, 'i', &sig);
                json_object_set_new(j, "Owner", json_integer(owner));
                json_object_set_new(j, "LeaderPID", json_integer(leader));
                json_object_set_new(j, "MonitorPID", json_integer(monitor));
                json_object_set_new(j, "ExitStatus", json_integer(status));
                json_object_set_new(j, "ExitSignal", json_integer(sig));
        }
        show_read_network(bus, path, j);
        for (size_t i = 0; i < ELEMENTSOF(tprops); i++) {
                uint64_t t = 0;
                (void) sd_bus_get_property_trivial(bus, "org.isod1", path, "org.isod1.Workload", tprops[i],
                                                   &e, 't', &t);
                json_object_set_new(j, tprops[i], json_integer((json_int_t) t));
        }
        if (arg_json) {
                json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                printf("\n");
        } else {
                char b1[64];
                const char *acc = json_string_value(json_object_get(j, "Accelerator"));
                _cleanup_free_ char *spec = json_dumps(json_object_get(j, "Spec"),
                                                       JSON_COMPACT | JSON_SORT_KEYS);

                printf("Name:        %s\n", json_string_value(json_object_get(j, "Name")));
                printf("Isolation:   %s%s%s%s\n", json_string_value(json_object_get(j, "Isolation")),
                       acc && *acc ? " (accelerator: " : "", acc && *acc ? acc : "", acc && *acc ? ")" : "");
                printf("State:       %s\n", json_string_value(json_object_get(j, "State")));
                if (*strempty(json_string_value(json_object_get(j, "Reason"))))
                        printf("Reason:      %s\n", json_string_value(json_object_get(j, "Reason")));
                printf("Policy rule: %s%s%s\n", json_string_value(json_object_get(j, "PolicyRule")),
                       *strempty(json_string_value(json_object_get(j, "PolicyReason"))) ? " — " : "",
                       strempty(json_string_value(json_object_get(j, "PolicyReason"))));
                show_print_network(j);
                printf("Owner UID:   %" JSON_INTEGER_FORMAT "\n",
                       json_integer_value(json_object_get(j, "Owner")));
                if (json_integer_value(json_object_get(j, "LeaderPID")))
                        printf("Leader PID:  %" JSON_INTEGER_FORMAT " (monitor %" JSON_INTEGER_FORMAT ")\n",
                               json_integer_value(json_object_get(j, "LeaderPID")),
                               json_integer_value(json_object_get(j, "MonitorPID")));
                if (json_integer_value(json_object_get(j, "ExitStatus")) >= 0) {
                        int sig = (int) json_integer_value(json_object_get(j, "ExitSignal"));
                        printf("Exit status: %" JSON_INTEGER_FORMAT,
                               json_integer_value(json_object_get(j, "ExitStatus")));
                        if (sig > 0)
                                printf(" (killed by SIG%s)", strna(signal_to_name(sig)));
                        printf("\n");
                }
                printf("Created:     %s\n",
                       format_ts((uint64_t) json_integer_value(json_object_get(j, "CreatedTimestamp")), b1,
                                 sizeof b1));
                printf("Started:     %s\n",
                       format_ts((uint64_t) json_integer_value(json_object_get(j, "StartedTimestamp")), b1,
                                 sizeof b1));
                printf("Exited:      %s\n",
                       format_ts((uint64_t) json_integer_value(json_object_get(j, "ExitedTimestamp")), b1,
                                 sizeof b1));
                printf("Spec:        %s\n", strna(spec));
        }
        json_decref(j);
        return 0;
}

static int simple_call(sd_bus *bus, const char *name, const char *method, uint64_t timeout, const char *sig,
                       ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *path = NULL;
        va_list ap;
        int r;

        r = workload_path(bus, name, &path);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, "org.isod1", path, "org.isod1.Workload", method);
        if (r < 0)
                return r;
        va_start(ap, sig);
        r = sd_bus_message_appendv(m, sig, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, timeout, &e, &reply);
        if (r < 0)
                return print_bus_error(&e, r, name);
        if (streq(method, "Wait")) {
                int32_t status;
                r = sd_bus_message_read(reply, "i", &status);
                return r < 0 ? r : status;
        }
        return 0;
}

static int verb_stop(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = { { "time", required_argument, NULL, 't' }, {} };
        uint64_t timeout = 10 * USEC_PER_SEC;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "t:", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        if (parse_timespan(optarg, &timeout) < 0 || timeout == 0) {
                                fprintf(stderr, "isoctl: invalid grace period '%s' (e.g. 10, 500ms, 1m).\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                default:
                        return -EINVAL;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: isoctl stop [-t SECONDS] NAME\n");
                return -EINVAL;
        }
        /* The call returns once the workload has ended: allow for the grace period. */
        return simple_call(bus, argv[optind], "Stop", timeout + 30 * USEC_PER_SEC, "t", timeout);
}

static int verb_kill(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = { { "signal", required_argument, NULL, 's' }, {} };
        int c, sig = SIGKILL;

        optind = 1;
        while ((c = getopt_long(argc, argv, "s:", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        if (parse_signal(optarg, &sig) < 0) {
                                fprintf(stderr, "isoctl: unknown signal '%s'.\n", optarg);
                                return -EINVAL;
                        }
                        break;
                default:
                        return -EINVAL;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: isoctl kill [-s SIGNAL] NAME\n");
                return -EINVAL;
        }
        return simple_call(bus, argv[optind], "Kill", 0, "i", sig);
}

static int verb_wait(sd_bus *bus, int argc, char *argv[]) {
        if (argc != 2) {
                fprintf(stderr, "Usage: isoctl wait NAME\n");
                return -EINVAL;
        }
        return simple_call(bus, argv[1], "Wait", UINT64_MAX, "");
}

static int verb_start(sd_bus *bus, int argc, char *argv[]) {
        if (argc != 2) {
                fprintf(stderr, "Usage: isoctl start NAME\n");
                return -EINVAL;
        }
        return simple_call(bus, argv[1], "Start", 300 * USEC_PER_SEC, "a{sh}", 0);
}

static int verb_rm(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = { { "force", no_argument, NULL, 'f' }, {} };
        bool force = false;
        int c, r, ret = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, "f", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind >= argc) {
                fprintf(stderr, "Usage: isoctl rm [-f] NAME...\n");
                return -EINVAL;
        }
        for (int i = optind; i < argc; i++) {
                if (force) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        _cleanup_free_ char *path = NULL;

                        /* Kill it if it runs and wait for the end; "not running" (created, exited)
                         * means there is nothing to wait for: Wait would only return at its start. */
                        if (workload_path(bus, argv[i], &path) >= 0 &&
                            sd_bus_call_method(bus, "org.isod1", path, "org.isod1.Workload", "Kill", &e,
                                               NULL, "i", SIGKILL) >= 0)
                                (void) sd_bus_call_method(bus, "org.isod1", path, "org.isod1.Workload",
                                                          "Wait", &e, NULL, "");
                }
                r = simple_call(bus, argv[i], "Remove", 0, "");
                if (r < 0)
                        ret = r;
        }
        return ret;
}

/* Reads an a{sv} (GetStats, GetAll) into a JSON object, in the sender's order. Integers, reals,
 * strings, booleans and string arrays are kept; other types are skipped. */
int bus_read_dict_json(sd_bus_message *m, json_t **ret) {
        json_t *j;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        j = json_object();
        if (!j)
                return -ENOMEM;
        for (;;) {
                const char *key, *contents;
                json_t *v = NULL;
                char type;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, &type, &contents);
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        break;
                if (streq(contents, "t")) {
                        uint64_t t;
                        if (sd_bus_message_read(m, "t", &t) >= 0)
                                v = json_integer((json_int_t) t);
                } else if (streq(contents, "x")) {
                        int64_t x;
                        if (sd_bus_message_read(m, "x", &x) >= 0)
                                v = json_integer(x);
                } else if (streq(contents, "u")) {
                        uint32_t u;
                        if (sd_bus_message_read(m, "u", &u) >= 0)
                                v = json_integer(u);
                } else if (streq(contents, "i")) {
                        int32_t i;
                        if (sd_bus_message_read(m, "i", &i) >= 0)
                                v = json_integer(i);
                } else if (streq(contents, "d")) {
                        double d;
                        if (sd_bus_message_read(m, "d", &d) >= 0)
                                v = json_real(d);
                } else if (streq(contents, "s") || streq(contents, "o")) {
                        const char *s;
                        if (sd_bus_message_read_basic(m, contents[0], &s) >= 0)
                                v = json_string(s);
                } else if (streq(contents, "b")) {
                        int b;
                        if (sd_bus_message_read(m, "b", &b) >= 0)
                                v = json_boolean(b);
                } else if (streq(contents, "as")) {
                        _cleanup_strv_free_ char **l = NULL;
                        if (sd_bus_message_read_strv(m, &l) >= 0) {
                                v = json_array();
                                for (size_t i = 0; v && l && l[i]; i++)
                                        json_array_append_new(v, json_string(l[i]));
                        }
                } else if (startswith(contents, "a(") && endswith(contents, ")") &&
                           strspn(contents + 2, "sotuib") == strlen(contents) - 3) {
                        /* An array of structs of basic types: an array of arrays. */
                        const char *fields = contents + 2;
                        size_t nf = strlen(contents) - 3;
                        _cleanup_free_ char *inner = strndup(contents + 1, nf + 2);
                        _cleanup_free_ char *fields_sig = strndup(fields, nf);

                        v = json_array();
                        if (inner && fields_sig && sd_bus_message_enter_container(m, 'a', inner) >= 0) {
                                while (v && sd_bus_message_enter_container(m, 'r', fields_sig) > 0) {
                                        json_t *row = json_array();
                                        for (size_t f = 0; row && f < nf; f++) {
                                                union {
                                                        const char *s;
                                                        uint64_t t;
                                                        uint32_t u;
                                                        int32_t i;
                                                        int b;
                                                } x;
                                                if (sd_bus_message_read_basic(m, fields[f], &x) < 0)
                                                        break;
                                                if (fields[f] == 's' || fields[f] == 'o')
                                                        json_array_append_new(row, json_string(x.s));
                                                else if (fields[f] == 't')
                                                        json_array_append_new(
                                                                row, json_integer((json_int_t) x.t));
                                                else if (fields[f] == 'u')
                                                        json_array_append_new(row, json_integer(x.u));
                                                else if (fields[f] == 'i')
                                                        json_array_append_new(row, json_integer(x.i));
                                                else
                                                        json_array_append_new(row, json_boolean(x.b));
                                        }
                                        json_array_append_new(v, row);
                                        (void) sd_bus_message_exit_container(m);
                                }
                                (void) sd_bus_message_exit_container(m);
                        } else
                                (void) sd_bus_message_skip(m, contents);
                } else
                        (void) sd_bus_message_skip(m, contents);
                if (v)
                        json_object_set_new(j, key, v);
                r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                json_decref(j);
                return r;
        }
        *ret = j;
        return 0;
}

static int verb_stats(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        json_t *j;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: isoctl stats NAME\n");
                return -EINVAL;
        }
        r = workload_path(bus, argv[1], &path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.isod1", path, "org.isod1.Workload", "GetStats", &e, &reply, "");
        if (r < 0)
                return print_bus_error(&e, r, argv[1]);
        r = bus_read_dict_json(reply, &j);
        if (r < 0)
                return r;
        if (arg_json) {
                json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                printf("\n");
        } else {
                const char *key;
                json_t *v;

                json_object_foreach (j, key, v) {
                        if (json_is_integer(v))
                                printf("%-20s %" JSON_INTEGER_FORMAT "\n", key, json_integer_value(v));
                        else if (json_is_real(v))
                                printf("%-20s %.3f\n", key, json_real_value(v));
                        else if (json_is_string(v))
                                printf("%-20s %s\n", key, json_string_value(v));
                        else if (json_is_boolean(v))
                                printf("%-20s %s\n", key, json_is_true(v) ? "yes" : "no");
                }
        }
        json_decref(j);
        return 0;
}

static int verb_status(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *version = NULL, *source = NULL;
        const char *name, *reason;
        int r, avail;

        r = sd_bus_get_property_string(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "Version", &e,
                                       &version);
        if (r < 0)
                return print_bus_error(&e, r, "status");
        (void) sd_bus_get_property_string(bus, "org.isod1", "/org/isod1", "org.isod1.Manager",
                                          "PolicySource", &e, &source);
        printf("isod %s, policy from %s\n", version, strna(source));
        r = sd_bus_get_property(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "BackendStatus", &e,
                                &reply, "a(sbs)");
        if (r < 0)
                return print_bus_error(&e, r, "status");
        r = sd_bus_message_enter_container(reply, 'a', "(sbs)");
        if (r < 0)
                return r;
        while (sd_bus_message_read(reply, "(sbs)", &name, &avail, &reason) > 0)
                printf("backend %-10s %s%s%s\n", name, avail ? "available" : "unavailable",
                       *reason ? ": " : "", reason);
        return 0;
}

static void help(void) {
        printf("isoctl COMMAND [OPTIONS]\n\n"
               "Run and manage workloads in VMs or containers through isod.\n\n"
               "  launch [OPTIONS] -- CMD [ARGS...]  run a workload (foreground: exits with its status)\n"
               "  create [OPTIONS] -- CMD [ARGS...]  create without starting (prints the name)\n"
               "  start NAME                         start a created workload\n"
               "  list [--json]                      list workloads\n"
               "  show NAME [--json]                 show a workload's properties\n"
               "  stop [-t GRACE] NAME               SIGTERM, then SIGKILL after the grace period (10s)\n"
               "  kill [-s SIGNAL] NAME              send a signal (default KILL)\n"
               "  wait NAME                          wait for the end; exit with its status\n"
               "  exec [-t] [-e K=V] [-u UID[:GID]] [-w DIR] NAME -- CMD  run a process in a running workload\n"
               "  stats NAME [--json]                resource usage\n"
               "  logs [-f] [--since WHEN] [-n N] [-t] [--stream stdout|stderr] [--console] NAME\n"
               "                                     a detached workload's output (a VM's console)\n"
               "  events [--json] [--filter workload=NAME|event=EVENT]...  follow what happens\n"
               "  top [-d SECONDS] [-n ITERATIONS] [-b]  live CPU, memory, pids and network of each workload\n"
               "  attach NAME                        to a running launch -d -i workload (^P^Q detaches)\n"
               "  rm [-f] NAME...                    remove (with -f: kill first)\n"
               "  status                             isod's version, policy and backends\n"
               "  policy show|check FILE|explain [LAUNCH OPTIONS] -- CMD|reload\n"
               "  network create NAME [--subnet auto|CIDR] [--isolated] [--mtu N] [--no-nat]\n"
               "  network list|show NAME|rm NAME... [--json]  isod's NAT networks (bridges)\n"
               "  image import FILE|DIR|- [--name NAME[:TAG]]  an OCI layout or archive, a docker-archive,\n"
               "                                     a rootfs tarball (isoctl image --help)\n"
               "  image build NAME --debian SUITE [--include PKG,...]  a Debian image with mmdebstrap\n"
               "  image list|show NAME|rm NAME... [--json]  the image store\n\n"
               "Launch options: --isolation=auto|vm|container  --name NAME  -d/--detach  --keep\n"
               "  --image NAME[:TAG]|ID (its Entrypoint/Cmd/Env/WorkingDir/User apply; the command given\n"
               "  replaces Cmd)  --entrypoint CMD  --rootfs DIR  -e/--env K=V  -w/--cwd DIR  -u/--user UID[:GID]\n"
               "  --hostname NAME  --memory SIZE  --cpus N  --pids N  --mount SRC:DST[:rw]\n"
               "  --io-weight N  --cpu-weight N (1..10000, 100 = the default share)\n"
               "  --tmpfs DST[:size=SIZE,mode=OCTAL,noexec]  --pod NAME (join a running container's\n"
               "  ipc, uts and network namespaces)\n"
               "  --label K=V  --userns  --read-only  --seccomp default|unconfined|FILE  -t/--tty\n"
               "  -i/--interactive (with -d: stdin stays open for isoctl attach)\n"
               "  --spec FILE (start from a JSON spec; options override it)\n"
               "  --network none|nat|host|ns:PATH|NAME  -p/--publish [ADDR:]HOSTPORT:GUESTPORT[/tcp|/udp]\n"
               "  --ip ADDR  --mac MAC (-p, --ip and --mac without --network mean nat)\n\n"
               "Environment: DBUS_SYSTEM_BUS_ADDRESS (the bus); ISOD_SOCKET=PATH (isod's direct socket;\n"
               "  empty: always the bus); ISOCTL_POLKIT_AGENT=PROGRAM (the polkit agent started on a\n"
               "  terminal, default /usr/bin/pkttyagent). As root, isoctl connects to " ISOD_STATE_DIR
               "/private directly.\n");
}

int main(int argc, char *argv[]) {
        static const struct {
                const char *name;
                int (*fn)(sd_bus *bus, int argc, char *argv[]);
        } verbs[] = {
                { "list", verb_list },     { "ls", verb_list },   { "show", verb_show },
                { "stop", verb_stop },     { "kill", verb_kill }, { "wait", verb_wait },
                { "rm", verb_rm },         { "remove", verb_rm }, { "start", verb_start },
                { "stats", verb_stats },   { "exec", verb_exec }, { "policy", verb_policy },
                { "status", verb_status }, { "logs", verb_logs }, { "top", verb_top },
                { "attach", verb_attach },
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int i, r, n = 0;
        char **args;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                help();
                return argc < 2 ? EXIT_USAGE : 0;
        }
        if (streq(argv[1], "--version")) {
                printf("isoctl %s\n", PACKAGE_VERSION);
                return 0;
        }
        /* A global --json may appear anywhere before "--". */
        args = calloc((size_t) argc + 1, sizeof(char *));
        if (!args)
                return EXIT_FAILURE_;
        for (i = 1; i < argc; i++) {
                if (streq(argv[i], "--"))
                        break;
                if (streq(argv[i], "--json")) {
                        arg_json = true;
                        continue;
                }
                args[n++] = argv[i];
        }
        for (; i < argc; i++)
                args[n++] = argv[i];
        args[n] = NULL;

        if (n == 0) {
                fprintf(stderr, "isoctl: no command given. See 'isoctl --help'.\n");
                free(args);
                return EXIT_USAGE;
        }
        if (streq(args[0], "launch") || streq(args[0], "run") || streq(args[0], "create")) {
                r = verb_launch(n, args, streq(args[0], "create"));
                free(args);
                return r;
        }
        if (streq(args[0], "events")) {
                r = verb_events(n, args);
                free(args);
                return r;
        }
        if (streq(args[0], "network")) {
                r = verb_network(n, args);
                free(args);
                return r;
        }
        if (streq(args[0], "image")) {
                r = verb_image(n, args);
                free(args);
                return r;
        }
        for (size_t v = 0; v < ELEMENTSOF(verbs); v++) {
                if (!streq(args[0], verbs[v].name))
                        continue;
                r = bus_connect(&bus);
                if (r < 0) {
                        free(args);
                        return EXIT_FAILURE_;
                }
                r = verbs[v].fn(bus, n, args);
                free(args);
                if (streq(verbs[v].name, "wait"))
                        return r < 0 ? (r == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_) : r;
                if (streq(verbs[v].name, "exec"))
                        return r < 0 ? (r == -EINVAL ? EXIT_USAGE : EXIT_ISOCTL_ERROR) : r;
                return r == -EINVAL ? EXIT_USAGE : r < 0 ? EXIT_FAILURE_ : 0;
        }
        fprintf(stderr, "isoctl: unknown command '%s'. See 'isoctl --help'.\n", args[0]);
        free(args);
        return EXIT_USAGE;
}
