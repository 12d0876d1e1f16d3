/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <systemd/sd-event.h>

#include "iso-errors.h"
#include "isoctl.h"
#include "policy.h"
#include "util.h"

/* launch/create/exec/policy: turning command-line options into a workload spec and running it. */

static json_t *obj_child(json_t *o, const char *key) {
        json_t *c = json_object_get(o, key);

        if (!json_is_object(c)) {
                c = json_object();
                json_object_set_new(o, key, c);
        }
        return c;
}

static json_t *arr_child(json_t *o, const char *key) {
        json_t *c = json_object_get(o, key);

        if (!json_is_array(c)) {
                c = json_array();
                json_object_set_new(o, key, c);
        }
        return c;
}

_printf_(1, 2) static int usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "isoctl: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
        return -EINVAL;
}

/* -p/--publish [ADDR:]HOSTPORT:GUESTPORT[/tcp|/udp], as podman's and docker's, into a spec
 * port ({host, guest, proto[, address]}). No ADDR, or an empty one, leaves "address" out: every
 * host address, unless the daemon or the policy narrow it. */
static int parse_publish(const char *s, json_t **ret) {
        _cleanup_free_ char *copy = strdup(s);
        char *field[3] = {}, *proto, *p;
        uint32_t port[2], addr;
        size_t n = 0;
        json_t *o;

        if (!copy)
                return -ENOMEM;
        if (copy[0] == '[')
                return usage_error("-p/--publish: '%s': only IPv4 host addresses are supported.", s);
        proto = strrchr(copy, '/');
        if (proto) {
                *proto++ = 0;
                if (port_proto_from_string(proto) < 0)
                        return usage_error("-p/--publish: protocol must be tcp or udp, not '%s'.", proto);
        }
        for (p = copy; p && n < ELEMENTSOF(field); n++) {
                field[n] = p;
                p = strchr(p, ':');
                if (p)
                        *p++ = 0;
        }
        if (p || n < 2)
                return usage_error("-p/--publish wants [ADDR:]HOSTPORT:GUESTPORT[/tcp|/udp], not '%s'.", s);
        for (size_t i = 0; i < 2; i++) {
                const char *f = field[n - 2 + i];

                if (strchr(f, '-'))
                        return usage_error("-p/--publish: port ranges are not supported ('%s').", f);
                if (safe_atou32(f, &port[i]) < 0 || port[i] < 1 || port[i] > 65535)
                        return usage_error("-p/--publish: '%s' is not a port number (1-65535) in '%s'.", f,
                                           s);
        }
        if (n == 3 && *field[0] && parse_ipv4(field[0], &addr) < 0)
                return usage_error("-p/--publish: '%s' is not an IPv4 address.", field[0]);
        o = json_pack("{s:i,s:i,s:s}", "host", (int) port[0], "guest", (int) port[1], "proto",
                      proto ?: "tcp");
        if (!o)
                return -ENOMEM;
        if (n == 3 && *field[0])
                json_object_set_new(o, "address", json_string(field[0]));
        *ret = o;
        return 0;
}

/* --network, -p, --ip and --mac, applied once every option is known, on top of a --spec file's
 * "network". A mode (none, host) drops the file's settings that need nat; a network's name means
 * nat on it. -p/--ip/--mac without --network (and without a mode in the file) imply nat, as
 * podman's -p does with its default network. */
static int apply_network_options(json_t *spec, const char *network, json_t *ports, const char *ip,
                                 const char *mac) {
        bool nat_only = json_array_size(ports) > 0 || ip || mac;
        const char *mode;
        json_t *net;

        if (!network && !nat_only)
                return 0;
        net = obj_child(spec, "network");
        if (network && startswith(network, "ns:")) {
                /* As Podman's --network ns:PATH: an existing network namespace. */
                json_object_set_new(net, "mode", json_string("netns"));
                json_object_set_new(net, "path", json_string(network + 3));
                json_object_del(net, "network");
        } else if (network) {
                NetworkMode m = network_mode_from_string(network);

                if (m >= 0 && m != NETWORK_NETNS) {
                        json_object_set_new(net, "mode", json_string(network));
                        json_object_del(net, "network");
                        json_object_del(net, "path");
                        if (m != NETWORK_NAT) {
                                json_object_del(net, "ports");
                                json_object_del(net, "ip");
                                json_object_del(net, "mac");
                        }
                } else {
                        json_object_set_new(net, "mode", json_string("nat"));
                        json_object_set_new(net, "network", json_string(network));
                }
        }
        if (!nat_only)
                return 0;
        mode = json_string_value(json_object_get(net, "mode"));
        if (!mode)
                json_object_set_new(net, "mode", json_string("nat"));
        else if (!streq(mode, "nat"))
                return usage_error(
                        "-p/--publish, --ip and --mac need network mode nat (--network nat or a network's name), but the mode is '%s'%s.",
                        mode, network ? "" : " (from --spec)");
        if (json_array_size(ports) > 0)
                json_array_extend(arr_child(net, "ports"), ports);
        if (ip)
                json_object_set_new(net, "ip", json_string(ip));
        if (mac)
                json_object_set_new(net, "mac", json_string(mac));
        return 0;
}

int parse_launch_options(int argc, char *argv[], json_t **ret_spec, bool *ret_detach, bool *ret_keep,
                         bool *ret_tty, int *ret_optind) {
        enum {
                ARG_ISOLATION = 0x100,
                ARG_NAME,
                ARG_IMAGE,
                ARG_ROOTFS,
                ARG_HOSTNAME,
                ARG_MEMORY,
                ARG_CPUS,
                ARG_PIDS,
                ARG_MOUNT,
                ARG_LABEL,
                ARG_USERNS,
                ARG_READONLY,
                ARG_SECCOMP,
                ARG_SPEC,
                ARG_KEEP,
                ARG_IO_WEIGHT,
                ARG_CPU_WEIGHT,
                ARG_NETWORK,
                ARG_IP,
                ARG_MAC,
                ARG_ENTRYPOINT,
                ARG_TMPFS,
                ARG_POD,
        };
        static const struct option options[] = {
                { "isolation", required_argument, NULL, ARG_ISOLATION },
                { "name", required_argument, NULL, ARG_NAME },
                { "detach", no_argument, NULL, 'd' },
                { "keep", no_argument, NULL, ARG_KEEP },
                { "image", required_argument, NULL, ARG_IMAGE },
                { "entrypoint", required_argument, NULL, ARG_ENTRYPOINT },
                { "rootfs", required_argument, NULL, ARG_ROOTFS },
                { "env", required_argument, NULL, 'e' },
                { "cwd", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' },
                { "hostname", required_argument, NULL, ARG_HOSTNAME },
                { "memory", required_argument, NULL, ARG_MEMORY },
                { "cpus", required_argument, NULL, ARG_CPUS },
                { "pids", required_argument, NULL, ARG_PIDS },
                { "io-weight", required_argument, NULL, ARG_IO_WEIGHT },
                { "cpu-weight", required_argument, NULL, ARG_CPU_WEIGHT },
                { "mount", required_argument, NULL, ARG_MOUNT },
                { "tmpfs", required_argument, NULL, ARG_TMPFS },
                { "pod", required_argument, NULL, ARG_POD },
                { "label", required_argument, NULL, ARG_LABEL },
                { "userns", no_argument, NULL, ARG_USERNS },
                { "read-only", no_argument, NULL, ARG_READONLY },
                { "seccomp", required_argument, NULL, ARG_SECCOMP },
                { "tty", no_argument, NULL, 't' },
                { "interactive", no_argument, NULL, 'i' },
                { "spec", required_argument, NULL, ARG_SPEC },
                { "network", required_argument, NULL, ARG_NETWORK },
                { "publish", required_argument, NULL, 'p' },
                { "ip", required_argument, NULL, ARG_IP },
                { "mac", required_argument, NULL, ARG_MAC },
                {},
        };
        const char *network = NULL, *ip = NULL, *mac = NULL;
        json_t *spec = NULL, *ports = NULL;
        int c, r = 0;

        /* A --spec file is the base; read it first so options override it. */
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++) {
                const char *f = startswith(argv[i], "--spec=")
                                        ?: (streq(argv[i], "--spec") ? argv[i + 1] : NULL);
                _cleanup_free_ char *text = NULL;
                json_error_t jerr;

                if (!f)
                        continue;
                r = read_full_file_at(AT_FDCWD, f, SPEC_MAX_SIZE, &text, NULL);
                if (r < 0) {
                        fprintf(stderr, "isoctl: cannot read spec file '%s': %s\n", f, strerror(-r));
                        return r;
                }
                spec = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
                if (!json_is_object(spec)) {
                        fprintf(stderr, "isoctl: %s:%d: %s\n", f, jerr.line,
                                spec ? "not a JSON object" : jerr.text);
                        json_decref(spec);
                        return -EINVAL;
                }
        }
        if (!spec)
                spec = json_object();

        optind = 1;
        while ((c = getopt_long(argc, argv, "+de:w:u:tip:", options, NULL)) >= 0) {
                switch (c) {
                case ARG_ISOLATION:
                        if (isolation_from_string(optarg) < 0)
                                r = usage_error("--isolation must be auto, vm or container, not '%s'.",
                                                optarg);
                        else
                                json_object_set_new(spec, "isolation", json_string(optarg));
                        break;
                case ARG_NAME:
                        if (!workload_name_is_valid(optarg))
                                r = usage_error("invalid name '%s': use [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.",
                                                optarg);
                        else
                                json_object_set_new(spec, "name", json_string(optarg));
                        break;
                case 'd':
                        *ret_detach = true;
                        break;
                case ARG_KEEP:
                        *ret_keep = true;
                        break;
                case ARG_IMAGE:
                        json_object_del(spec, "rootfs");
                        json_object_set_new(spec, "image", json_string(optarg));
                        break;
                case ARG_ROOTFS: {
                        char *abs = realpath(optarg, NULL);
                        if (!abs)
                                r = usage_error("rootfs directory '%s' does not exist.", optarg);
                        else {
                                json_object_del(spec, "image");
                                json_object_set_new(spec, "rootfs", json_string(abs));
                                free(abs);
                        }
                        break;
                }
                case 'e':
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                r = usage_error("--env wants NAME=VALUE, not '%s'.", optarg);
                        else
                                json_array_append_new(arr_child(obj_child(spec, "process"), "env"),
                                                      json_string(optarg));
                        break;
                case 'w':
                        json_object_set_new(obj_child(spec, "process"), "cwd", json_string(optarg));
                        break;
                case 'u':
                        json_object_set_new(obj_child(spec, "process"), "user", json_string(optarg));
                        break;
                case 't':
                        *ret_tty = true;
                        json_object_set_new(obj_child(spec, "process"), "terminal", json_true());
                        break;
                case 'i':
                        json_object_set_new(obj_child(spec, "process"), "interactive", json_true());
                        break;
                case ARG_POD:
                        json_object_set_new(spec, "pod", json_string(optarg));
                        break;
                case ARG_HOSTNAME:
                        json_object_set_new(spec, "hostname", json_string(optarg));
                        break;
                case ARG_MEMORY:
                        json_object_set_new(obj_child(spec, "resources"), "memory", json_string(optarg));
                        break;
                case ARG_CPUS: {
                        char *end = NULL;
                        double v = strtod(optarg, &end);
                        if (!end || *end || end == optarg)
                                r = usage_error("--cpus wants a number, not '%s'.", optarg);
                        else
                                json_object_set_new(obj_child(spec, "resources"), "cpus", json_real(v));
                        break;
                }
                case ARG_PIDS:
                case ARG_IO_WEIGHT:
                case ARG_CPU_WEIGHT: {
                        uint64_t v;
                        if (safe_atou64(optarg, &v) < 0 || v > INT64_MAX)
                                r = usage_error("expected a positive integer, not '%s'.", optarg);
                        else
                                json_object_set_new(obj_child(spec, "resources"),
                                                    c == ARG_PIDS        ? "pids"
                                                    : c == ARG_IO_WEIGHT ? "io_weight"
                                                                         : "cpu_weight",
                                                    json_integer((json_int_t) v));
                        break;
                }
                case ARG_MOUNT: {
                        _cleanup_free_ char *copy = strdup(optarg);
                        char *src = copy, *dst, *mode;
                        bool ro = true;

                        dst = copy ? strchr(copy, ':') : NULL;
                        if (!dst) {
                                r = usage_error("--mount wants SRC:DST[:ro|rw], not '%s'.", optarg);
                                break;
                        }
                        *dst++ = 0;
                        mode = strchr(dst, ':');
                        if (mode) {
                                *mode++ = 0;
                                if (streq(mode, "rw"))
                                        ro = false;
                                else if (!streq(mode, "ro")) {
                                        r = usage_error("--mount mode must be ro or rw, not '%s'.", mode);
                                        break;
                                }
                        }
                        json_array_append_new(
                                arr_child(spec, "mounts"),
                                json_pack("{s:s,s:s,s:b}", "source", src, "target", dst, "readonly", ro));
                        break;
                }
                case ARG_TMPFS: {
                        /* As Podman's --tmpfs: TARGET[:OPT,...] with size=N[KMG], mode=OCTAL, noexec/exec
                         * (nosuid, nodev and rw are what isod does anyway). */
                        _cleanup_free_ char *copy = strdup(optarg);
                        char *opts = copy ? strchr(copy, ':') : NULL, *o, *save = NULL;
                        json_t *t;

                        if (!copy) {
                                r = -ENOMEM;
                                break;
                        }
                        if (opts)
                                *opts++ = 0;
                        t = json_pack("{s:s}", "target", copy);
                        for (o = opts ? strtok_r(opts, ",", &save) : NULL; o && r >= 0;
                             o = strtok_r(NULL, ",", &save)) {
                                uint64_t sz;

                                if (startswith(o, "size=")) {
                                        if (parse_size(o + 5, &sz) < 0 || sz > INT64_MAX)
                                                r = usage_error(
                                                        "--tmpfs size must be a size such as 64M, not '%s'.",
                                                        o + 5);
                                        else
                                                json_object_set_new(t, "size",
                                                                    json_integer((json_int_t) sz));
                                } else if (startswith(o, "mode="))
                                        json_object_set_new(t, "mode", json_string(o + 5));
                                else if (streq(o, "noexec") || streq(o, "exec"))
                                        json_object_set_new(t, "noexec", json_boolean(streq(o, "noexec")));
                                else if (!streq(o, "rw") && !streq(o, "nosuid") && !streq(o, "nodev"))
                                        r = usage_error(
                                                "--tmpfs option '%s' is not supported (size=, mode=, noexec, exec).",
                                                o);
                        }
                        json_array_append_new(arr_child(spec, "tmpfs"), t);
                        break;
                }
                case ARG_LABEL: {
                        _cleanup_free_ char *copy = strdup(optarg);
                        char *eq = copy ? strchr(copy, '=') : NULL;
                        if (!eq || eq == copy) {
                                r = usage_error("--label wants KEY=VALUE, not '%s'.", optarg);
                                break;
                        }
                        *eq = 0;
                        json_object_set_new(obj_child(spec, "labels"), copy, json_string(eq + 1));
                        break;
                }
                case ARG_USERNS:
                        json_object_set_new(spec, "userns", json_true());
                        break;
                case ARG_READONLY:
                        json_object_set_new(spec, "readonly_rootfs", json_true());
                        break;
                case ARG_ENTRYPOINT:
                        /* As Docker's: one program (its arguments are the command), "" for none. */
                        json_object_set_new(obj_child(spec, "process"), "entrypoint",
                                            optarg[0] ? json_pack("[s]", optarg) : json_array());
                        break;
                case ARG_SECCOMP:
                        json_object_set_new(spec, "seccomp", json_string(optarg));
                        break;
                case ARG_SPEC:
                        break; /* read above */
                case ARG_NETWORK:
                        if (streq(optarg, "netns") ||
                            (!startswith(optarg, "ns:") && network_mode_from_string(optarg) < 0 &&
                             !network_name_is_valid(optarg)))
                                r = usage_error(
                                        "--network wants none, nat, host, ns:PATH or a network's name ([A-Za-z0-9][A-Za-z0-9_-]{0,14}), not '%s'.",
                                        optarg);
                        else
                                network = optarg;
                        break;
                case 'p': {
                        json_t *port = NULL;

                        r = parse_publish(optarg, &port);
                        if (r >= 0) {
                                if (!ports)
                                        ports = json_array();
                                json_array_append_new(ports, port);
                        }
                        break;
                }
                case ARG_IP: {
                        uint32_t a;

                        if (!streq(optarg, "auto") && (parse_ipv4(optarg, &a) < 0 || a == 0))
                                r = usage_error("--ip wants an IPv4 address (or auto), not '%s'.", optarg);
                        else
                                ip = optarg;
                        break;
                }
                case ARG_MAC: {
                        uint8_t m[6];

                        if (streq(optarg, "auto"))
                                mac = optarg;
                        else if (parse_mac(optarg, m) < 0)
                                r = usage_error(
                                        "--mac wants a MAC address like 02:00:0a:01:02:03 (or auto), not '%s'.",
                                        optarg);
                        else if (m[0] & 1)
                                r = usage_error("--mac: %s is a multicast address.", optarg);
                        else if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
                                r = usage_error("--mac: the address must not be all zero.");
                        else
                                mac = optarg;
                        break;
                }
                default:
                        r = -EINVAL;
                        break;
                }
                if (r < 0) {
                        json_decref(ports);
                        json_decref(spec);
                        return r;
                }
        }
        r = apply_network_options(spec, network, ports, ip, mac);
        json_decref(ports);
        if (r < 0) {
                json_decref(spec);
                return r;
        }
        if (optind < argc && streq(argv[optind], "--"))
                optind++;
        if (optind < argc) {
                json_t *a = json_array();
                for (int i = optind; i < argc; i++)
                        json_array_append_new(a, json_string(argv[i]));
                json_object_set_new(obj_child(spec, "process"), "args", a);
        }
        *ret_optind = optind;
        *ret_spec = spec;
        return 0;
}

static int start_failed_exit_code(const sd_bus_error *e) {
        if (!sd_bus_error_has_name(e, ISOD_ERROR_START_FAILED) || !e->message)
                return EXIT_ISOCTL_ERROR;
        if (strstr(e->message, "program") && strstr(e->message, strerror(ENOENT)))
                return EXIT_NOT_FOUND;
        if (strstr(e->message, strerror(EACCES)) || strstr(e->message, strerror(ENOEXEC)))
                return EXIT_CANNOT_INVOKE;
        return EXIT_ISOCTL_ERROR;
}

typedef struct Attached {
        sd_bus *bus;
        const char *kill_path;
        const char *name;
        int status;
        int signals_sent;
        int launch_error; /* the pipelined LaunchWorkload failed with this errno */
        sd_bus_slot *wait_slot;
        bool launch_pending; /* LaunchWorkload sent, not answered */
        bool wait_again;     /* the Wait came back before the workload existed: send it again */
} Attached;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

static int on_launch_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Attached *a = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        a->launch_pending = false;
        if (!e && a->wait_again) {
                /* isod deferred the launch (a polkit check) and answered the Wait first, before
                 * the workload existed: ask again, now that it does. */
                sd_bus *bus = sd_bus_message_get_bus(m);
                int r;

                a->wait_again = false;
                a->wait_slot = sd_bus_slot_unref(a->wait_slot);
                r = sd_bus_call_method_async(bus, &a->wait_slot, "org.isod1", a->kill_path,
                                             "org.isod1.Workload", "Wait", on_reply, a, NULL);
                if (r < 0) {
                        a->status = EXIT_ISOCTL_ERROR;
                        return sd_event_exit(sd_bus_get_event(bus), 0);
                }
                return 0;
        }
        if (!e)
                return 0; /* running: the Wait sent right behind it will answer */
        a->launch_error = sd_bus_error_get_errno(e) ?: EIO;
        if (a->launch_error != EEXIST) {
                tty_restore();
                (void) print_bus_error(e, -EIO, "launch");
        }
        a->status = start_failed_exit_code(e);
        /* Whatever the Wait says belongs to a workload we did not launch. */
        a->wait_slot = sd_bus_slot_unref(a->wait_slot);
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(m)), 0);
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Attached *a = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int32_t status;

        if (e && a->launch_pending && sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_OBJECT)) {
                a->wait_again = true; /* the launch's answer decides (on_launch_reply()) */
                return 0;
        }
        if (e) {
                tty_restore();
                (void) print_bus_error(e, -EIO, a->name);
                a->status = start_failed_exit_code(e);
        } else if (sd_bus_message_read(m, "i", &status) >= 0)
                a->status = status;
        else
                a->status = EXIT_ISOCTL_ERROR;
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(m)), 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Attached *a = userdata;
        int sig = (int) si->ssi_signo;

        if (!a->kill_path)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        /* Like podman's sig-proxy: the workload gets the signal; a third one kills it. */
        if (++a->signals_sent >= 3)
                sig = SIGKILL;
        (void) sd_bus_call_method_async(a->bus, NULL, "org.isod1", a->kill_path, "org.isod1.Workload",
                                        "Kill", NULL, NULL, "i", sig);
        return 0;
}

int run_until_reply(sd_bus *bus, sd_bus_message *launch, sd_bus_message *call, const char *name,
                    const char *kill_path, int master, int *reterr_launch) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        Attached a = { .bus = bus, .kill_path = kill_path, .name = name, .status = EXIT_ISOCTL_ERROR };
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
        sigset_t ss;
        int r;

        r = sd_event_new(&event);
        if (r < 0)
                return EXIT_ISOCTL_ERROR;
        r = sd_bus_attach_event(bus, event, 0);
        if (r < 0)
                return EXIT_ISOCTL_ERROR;
        sigemptyset(&ss);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(&ss, sigs[i]);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                (void) sd_event_add_signal(event, NULL, sigs[i], on_signal, &a);
        if (master >= 0) {
                r = tty_attach(event, master);
                if (r < 0) {
                        fprintf(stderr, "isoctl: cannot relay the terminal: %s\n", strerror(-r));
                        return EXIT_ISOCTL_ERROR;
                }
        }
        /* A launch is pipelined with its Wait: one round trip less, the bus keeps them in order. */
        if (launch) {
                r = sd_bus_call_async(bus, NULL, launch, on_launch_reply, &a, 600 * USEC_PER_SEC);
                if (r < 0) {
                        tty_restore();
                        return EXIT_ISOCTL_ERROR;
                }
                a.launch_pending = true;
        }
        r = sd_bus_call_async(bus, &a.wait_slot, call, on_reply, &a, UINT64_MAX);
        if (r < 0) {
                tty_restore();
                return EXIT_ISOCTL_ERROR;
        }
        (void) sd_event_loop(event);
        a.wait_slot = sd_bus_slot_unref(a.wait_slot);
        if (master >= 0)
                tty_drain(master);
        (void) sd_bus_detach_event(bus);
        if (reterr_launch)
                *reterr_launch = a.launch_error;
        return a.status;
}

static int new_launch_message(sd_bus *bus, bool create_only, bool detach, bool keep, int slave,
                              const char *text, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.isod1", "/org/isod1", "org.isod1.Manager",
                                           create_only ? "CreateWorkload" : "LaunchWorkload");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", text);
        if (r >= 0 && !create_only) {
                if (detach)
                        r = sd_bus_message_append(m, "a{sh}", 0);
                else if (slave >= 0)
                        r = sd_bus_message_append(m, "a{sh}", 3, "stdin", slave, "stdout", slave, "stderr",
                                                  slave);
                else
                        r = sd_bus_message_append(m, "a{sh}", 3, "stdin", STDIN_FILENO, "stdout",
                                                  STDOUT_FILENO, "stderr", STDERR_FILENO);
        }
        if (r >= 0) {
                if (!detach && !create_only && !keep)
                        r = sd_bus_message_append(m, "a{sv}", 1, "auto_remove", "b", 1);
                else
                        r = sd_bus_message_append(m, "a{sv}", 0);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Attached launch: LaunchWorkload and Wait go out together (the name, hence the object path, is
 * known: given, or picked here); a picked name that happens to exist is picked again. */
static int launch_attached(sd_bus *bus, json_t *spec, bool keep, int master, int slave) {
        bool picked = !json_is_string(json_object_get(spec, "name"));

        for (unsigned attempt = 0;; attempt++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *launch = NULL, *wait = NULL;
                _cleanup_free_ char *text = NULL, *path = NULL, *generated = NULL;
                const char *name;
                int status, launch_error = 0, r;

                if (picked) {
                        json_t *proc = json_object_get(spec, "process");
                        json_t *args = json_object_get(proc, "args");
                        const char *base = json_string_value(
                                json_array_get(json_object_get(proc, "entrypoint"), 0));
                        _cleanup_free_ char *img = NULL;

                        /* The image's command: named after the image ("app" for "lib/app:1.0"). */
                        if (!base)
                                base = json_string_value(json_array_get(args, 0));
                        if (!base && json_is_string(json_object_get(spec, "image"))) {
                                img = strdup(json_string_value(json_object_get(spec, "image")));
                                if (img && !startswith(img, "sha256:"))
                                        img[strcspn(img, ":")] = 0;
                                base = img ? strrchr(img, '/') ? strrchr(img, '/') + 1 : img : NULL;
                                if (base && startswith(base, "sha256"))
                                        base = "image";
                        }
                        r = workload_name_generate(strempty(base), &generated);
                        if (r < 0)
                                return EXIT_ISOCTL_ERROR;
                        json_object_set_new(spec, "name", json_string(generated));
                }
                name = json_string_value(json_object_get(spec, "name"));
                text = json_dumps(spec, JSON_COMPACT);
                if (!text || sd_bus_path_encode("/org/isod1/workload", name, &path) < 0)
                        return EXIT_ISOCTL_ERROR;
                r = new_launch_message(bus, false, false, keep, slave, text, &launch);
                if (r >= 0)
                        r = sd_bus_message_new_method_call(bus, &wait, "org.isod1", path,
                                                           "org.isod1.Workload", "Wait");
                if (r < 0)
                        return EXIT_ISOCTL_ERROR;
                status = run_until_reply(bus, launch, wait, name, path, master, &launch_error);
                if (launch_error == EEXIST && picked && attempt < 3)
                        continue;
                if (launch_error == EEXIST)
                        fprintf(stderr, "isoctl: launch: Workload '%s' already exists. [Exists]\n", name);
                return status;
        }
}

int verb_launch(int argc, char *argv[], bool create_only) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *text = NULL, *name = NULL;
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        bool detach = false, keep = false, tty = false;
        const char *path;
        json_t *spec = NULL;
        sigset_t ss;
        int r, idx;

        r = parse_launch_options(argc, argv, &spec, &detach, &keep, &tty, &idx);
        if (r < 0)
                return EXIT_USAGE;
        /* With --image the command may be the image's own (its Entrypoint and Cmd). */
        if (!json_object_get(json_object_get(spec, "process"), "args") && !json_object_get(spec, "image") &&
            !json_object_get(json_object_get(spec, "process"), "entrypoint")) {
                fprintf(stderr, "isoctl: no command given. Usage: isoctl %s [OPTIONS] -- CMD [ARGS...]\n",
                        create_only ? "create" : "launch");
                json_decref(spec);
                return EXIT_USAGE;
        }
        if (tty && create_only) {
                fprintf(stderr,
                        "isoctl: -t needs a launch (attached, or -d to attach later), not create.\n");
                json_decref(spec);
                return EXIT_USAGE;
        }
        /* The command line is checked before isod is asked: a bad one fails the same with or without it. */
        r = bus_connect(&bus);
        if (r < 0) {
                json_decref(spec);
                return EXIT_FAILURE_;
        }

        if (!detach && !create_only) {
                /* Signals are handled by the event loop from here on (forwarded to the workload). */
                sigemptyset(&ss);
                sigaddset(&ss, SIGINT);
                sigaddset(&ss, SIGTERM);
                sigaddset(&ss, SIGHUP);
                sigaddset(&ss, SIGQUIT);
                (void) sigprocmask(SIG_BLOCK, &ss, NULL);
                if (tty) {
                        r = tty_open_pair(&master, &slave);
                        if (r < 0) {
                                fprintf(stderr, "isoctl: cannot allocate a terminal: %s\n", strerror(-r));
                                json_decref(spec);
                                return EXIT_ISOCTL_ERROR;
                        }
                }
                r = launch_attached(bus, spec, keep, master, slave);
                json_decref(spec);
                return r;
        }

        text = json_dumps(spec, JSON_COMPACT);
        json_decref(spec);
        if (!text)
                return EXIT_ISOCTL_ERROR;
        r = new_launch_message(bus, create_only, detach, keep, -EBADF, text, &m);
        if (r < 0)
                return EXIT_ISOCTL_ERROR;
        /* A VM may have to build its image first: allow for it. */
        r = sd_bus_call(bus, m, 600 * USEC_PER_SEC, &e, &reply);
        if (r < 0) {
                (void) print_bus_error(&e, r, create_only ? "create" : "launch");
                if (sd_bus_error_has_name(&e, ISOD_ERROR_START_FAILED))
                        return start_failed_exit_code(&e);
                return EXIT_ISOCTL_ERROR;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return EXIT_ISOCTL_ERROR;
        if (sd_bus_path_decode(path, "/org/isod1/workload", &name) <= 0)
                return EXIT_ISOCTL_ERROR;
        printf("%s\n", name);
        return 0;
}

int verb_exec(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = {
                { "tty", no_argument, NULL, 't' },
                { "env", required_argument, NULL, 'e' },
                { "user", required_argument, NULL, 'u' },
                { "cwd", required_argument, NULL, 'w' },
                {},
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        const char *user = NULL, *cwd = NULL, *name;
        bool tty = false;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+te:u:w:", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        tty = true;
                        break;
                case 'e':
                        if (!strchr(optarg, '=') || strv_extend(&env, optarg) < 0)
                                return usage_error("--env wants NAME=VALUE, not '%s'.", optarg);
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'w':
                        cwd = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind >= argc) {
                fprintf(stderr,
                        "Usage: isoctl exec [-t] [-e K=V] [-u UID[:GID]] [-w DIR] NAME -- CMD [ARGS...]\n");
                return -EINVAL;
        }
        name = argv[optind];
        r = workload_path(bus, name, &path);
        if (r < 0)
                return r;
        optind++;
        if (optind < argc && streq(argv[optind], "--"))
                optind++;
        if (optind >= argc) {
                fprintf(stderr, "isoctl: exec needs a command.\n");
                return -EINVAL;
        }
        if (tty) {
                r = tty_open_pair(&master, &slave);
                if (r < 0) {
                        fprintf(stderr, "isoctl: cannot allocate a terminal: %s\n", strerror(-r));
                        return r;
                }
        }
        r = sd_bus_message_new_method_call(bus, &m, "org.isod1", path, "org.isod1.Workload", "Exec");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv + optind);
        if (r >= 0 && tty)
                r = sd_bus_message_append(m, "a{sh}", 3, "stdin", slave, "stdout", slave, "stderr", slave);
        else if (r >= 0)
                r = sd_bus_message_append(m, "a{sh}", 3, "stdin", STDIN_FILENO, "stdout", STDOUT_FILENO,
                                          "stderr", STDERR_FILENO);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && env) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "env");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, env);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && user)
                r = sd_bus_message_append(m, "{sv}", "user", "s", user);
        if (r >= 0 && cwd)
                r = sd_bus_message_append(m, "{sv}", "cwd", "s", cwd);
        if (r >= 0 && tty)
                r = sd_bus_message_append(m, "{sv}", "terminal", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        /* The message holds its own copy of the slave; ours must go or the relay never sees the end. */
        if (slave >= 0)
                (void) close(TAKE_FD(slave));
        return run_until_reply(bus, NULL, m, name, NULL, master, NULL);
}

int verb_policy(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        if (argc < 2) {
                fprintf(stderr, "Usage: isoctl policy show|check FILE|explain [OPTIONS] -- CMD|reload\n");
                return -EINVAL;
        }
        if (streq(argv[1], "show")) {
                r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "GetPolicy", &e,
                                       &reply, "");
                if (r < 0)
                        return print_bus_error(&e, r, "policy show");
                r = sd_bus_message_read(reply, "s", &text);
                if (r < 0)
                        return r;
                printf("%s\n", text);
                return 0;
        }
        if (streq(argv[1], "check")) {
                _cleanup_(policy_freep) Policy *p = NULL;
                _cleanup_free_ char *err = NULL;

                if (argc != 3) {
                        fprintf(stderr, "Usage: isoctl policy check FILE\n");
                        return -EINVAL;
                }
                r = policy_load(argv[2], &p, &err);
                if (r < 0) {
                        fprintf(stderr, "%s\n", err ?: strerror(-r));
                        return r;
                }
                printf("%s: valid.\n", argv[2]);
                return 0;
        }
        if (streq(argv[1], "reload")) {
                r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "ReloadPolicy",
                                       &e, NULL, "");
                if (r < 0)
                        return print_bus_error(&e, r, "policy reload");
                return 0;
        }
        if (streq(argv[1], "explain")) {
                _cleanup_free_ char *spec_text = NULL;
                bool detach = false, keep = false, tty = false;
                json_t *spec;
                int idx;

                r = parse_launch_options(argc - 1, argv + 1, &spec, &detach, &keep, &tty, &idx);
                if (r < 0)
                        return r;
                /* With an image, no command means its own (Entrypoint, Cmd), as a launch would. */
                if (!json_object_get(json_object_get(spec, "process"), "args") &&
                    !json_object_get(spec, "image") &&
                    !json_object_get(json_object_get(spec, "process"), "entrypoint"))
                        json_object_set_new(obj_child(spec, "process"), "args",
                                            json_pack("[s]", "/bin/true"));
                spec_text = json_dumps(spec, JSON_COMPACT);
                json_decref(spec);
                if (!spec_text)
                        return -ENOMEM;
                r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "ExplainPolicy",
                                       &e, &reply, "s", spec_text);
                if (r < 0)
                        return print_bus_error(&e, r, "policy explain");
                r = sd_bus_message_read(reply, "s", &text);
                if (r < 0)
                        return r;
                fputs(text, stdout);
                return 0;
        }
        fprintf(stderr, "isoctl: unknown policy command '%s' (show, check, explain, reload).\n", argv[1]);
        return -EINVAL;
}
