/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>

#include "iso-errors.h"
#include "isoctl.h"
#include "spec.h"
#include "util.h"

/* isoctl network create|list|show|rm: isod's networks, through org.isod1.Manager's CreateNetwork,
 * ListNetworks, GetNetwork and RemoveNetwork and the org.isod1.Network objects
 * (docs/isoctl.md#networks). Every subcommand checks its command line before it connects. */

static int network_usage(FILE *f) {
        fprintf(f,
                "Usage: isoctl network create NAME [--subnet auto|CIDR] [--isolated] [--mtu N] [--no-nat]\n"
                "       isoctl network list [--json]\n"
                "       isoctl network show NAME [--json]\n"
                "       isoctl network rm NAME...\n");
        return EXIT_USAGE;
}

/* Network names are bridge names; none, nat and host would be taken by --network as modes. */
static bool network_name_check(const char *name) {
        if (network_mode_from_string(name) >= 0) {
                fprintf(stderr,
                        "isoctl: '%s' cannot name a network: --network takes none, nat and host as modes.\n",
                        name);
                return false;
        }
        if (!network_name_is_valid(name)) {
                fprintf(stderr,
                        "isoctl: invalid network name '%s': use [A-Za-z0-9][A-Za-z0-9_-]{0,14} (it names a bridge).\n",
                        name);
                return false;
        }
        return true;
}

/* "auto" or A.B.C.D/LEN: the syntax only; isod decides which subnets it accepts. */
static bool subnet_is_valid(const char *s) {
        _cleanup_free_ char *addr = NULL;
        const char *slash = strchr(s, '/');
        uint32_t a, len;

        if (streq(s, "auto"))
                return true;
        if (!slash || slash[1] < '0' || slash[1] > '9')
                return false;
        addr = strndup(s, (size_t) (slash - s));
        return addr && parse_ipv4(addr, &a) >= 0 && safe_atou32(slash + 1, &len) >= 0 && len <= 32;
}

static int network_bus_error(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD))
                fprintf(stderr, "isoctl: %s: this isod has no networks (%s).\n", what,
                        e->message ?: e->name);
        else
                (void) print_bus_error(e, r, what);
        return EXIT_FAILURE_;
}

/* Every property of the network at path, by its D-Bus name. */
static int network_get_all(sd_bus *bus, const char *path, json_t **ret, sd_bus_error *reterr) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, "org.isod1", path, "org.freedesktop.DBus.Properties", "GetAll", reterr,
                               &reply, "s", "org.isod1.Network");
        if (r < 0)
                return r;
        return bus_read_dict_json(reply, ret);
}

/* "a, b, c" for a string array; "-" for none (or an older isod without the property). */
static char *join_strings(json_t *a) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i;
        json_t *v;

        json_array_foreach (a, i, v)
                if (json_is_string(v) && strv_extend(&l, json_string_value(v)) < 0)
                        return NULL;
        return l ? strv_join(l, ", ") : strdup("-");
}

static int network_create(int argc, char *argv[]) {
        enum { ARG_SUBNET = 0x100, ARG_ISOLATED, ARG_MTU, ARG_NO_NAT };
        static const struct option options[] = {
                { "subnet", required_argument, NULL, ARG_SUBNET },
                { "isolated", no_argument, NULL, ARG_ISOLATED },
                { "mtu", required_argument, NULL, ARG_MTU },
                { "no-nat", no_argument, NULL, ARG_NO_NAT },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *created = NULL;
        const char *subnet = NULL, *name, *path;
        bool isolated = false, no_nat = false, mtu_set = false;
        uint32_t mtu = 0;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_SUBNET:
                        if (!subnet_is_valid(optarg)) {
                                fprintf(stderr,
                                        "isoctl: --subnet wants auto or an IPv4 CIDR like 10.42.0.0/24, not '%s'.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        subnet = optarg;
                        break;
                case ARG_ISOLATED:
                        isolated = true;
                        break;
                case ARG_MTU:
                        /* 0: the uplink's; otherwise what an IPv4 link can carry. */
                        if (safe_atou32(optarg, &mtu) < 0 || (mtu != 0 && (mtu < 576 || mtu > 65535))) {
                                fprintf(stderr,
                                        "isoctl: --mtu wants 0 (the uplink's) or 576-65535, not '%s'.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        mtu_set = true;
                        break;
                case ARG_NO_NAT:
                        no_nat = true;
                        break;
                default:
                        return network_usage(stderr);
                }
        if (optind + 1 != argc)
                return network_usage(stderr);
        name = argv[optind];
        if (!network_name_check(name))
                return EXIT_USAGE;

        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;
        r = sd_bus_message_new_method_call(bus, &m, "org.isod1", "/org/isod1", "org.isod1.Manager",
                                           "CreateNetwork");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && subnet)
                r = sd_bus_message_append(m, "{sv}", "subnet", "s", subnet);
        if (r >= 0 && isolated)
                r = sd_bus_message_append(m, "{sv}", "isolated", "b", 1);
        if (r >= 0 && mtu_set)
                r = sd_bus_message_append(m, "{sv}", "mtu", "u", mtu);
        if (r >= 0 && no_nat)
                r = sd_bus_message_append(m, "{sv}", "nat", "b", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                fprintf(stderr, "isoctl: network create: %s\n", strerror(-r));
                return EXIT_FAILURE_;
        }
        r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0)
                return network_bus_error(&e, r, "network create");
        if (sd_bus_message_read(reply, "o", &path) >= 0)
                (void) sd_bus_path_decode(path, "/org/isod1/network", &created);
        printf("%s\n", created ?: name);
        return 0;
}

static int network_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *subnet, *bridge, *path;
        json_t *arr, *n;
        size_t i;
        int r;

        if (argc != 1)
                return network_usage(stderr);
        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;
        r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "ListNetworks", &e,
                               &reply, "");
        if (r < 0)
                return network_bus_error(&e, r, "network list");
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return EXIT_FAILURE_;
        arr = json_array();
        if (!arr)
                return EXIT_FAILURE_;
        while ((r = sd_bus_message_read(reply, "(ssso)", &name, &subnet, &bridge, &path)) > 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error ge = SD_BUS_ERROR_NULL;
                json_t *o = NULL;

                /* Gone since ListNetworks, or unreadable: what the list said is still worth showing. */
                if (network_get_all(bus, path, &o, &ge) < 0)
                        o = json_object();
                if (!o)
                        break;
                if (!json_is_string(json_object_get(o, "Name")))
                        json_object_set_new(o, "Name", json_string(name));
                if (!json_is_string(json_object_get(o, "Subnet")))
                        json_object_set_new(o, "Subnet", json_string(subnet));
                if (!json_is_string(json_object_get(o, "Bridge")))
                        json_object_set_new(o, "Bridge", json_string(bridge));
                json_object_set_new(o, "Object", json_string(path));
                json_array_append_new(arr, o);
        }
        if (r < 0) {
                fprintf(stderr, "isoctl: network list: cannot read the reply: %s\n", strerror(-r));
                json_decref(arr);
                return EXIT_FAILURE_;
        }
        if (arg_json) {
                json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                printf("\n");
                json_decref(arr);
                return 0;
        }
        printf("%-15s %-18s %-15s %-15s %s\n", "NAME", "SUBNET", "GATEWAY", "BRIDGE", "WORKLOADS");
        json_array_foreach (arr, i, n) {
                _cleanup_free_ char *workloads = join_strings(json_object_get(n, "Workloads"));
                const char *gw = json_string_value(json_object_get(n, "Gateway"));

                printf("%-15s %-18s %-15s %-15s %s\n", json_string_value(json_object_get(n, "Name")),
                       json_string_value(json_object_get(n, "Subnet")), gw && *gw ? gw : "-",
                       json_string_value(json_object_get(n, "Bridge")), strna(workloads));
        }
        json_decref(arr);
        return 0;
}

static void print_value(const char *label, json_t *v) {
        if (json_is_string(v))
                printf("%-12s%s\n", label, json_string_value(v));
        else if (json_is_integer(v))
                printf("%-12s%" JSON_INTEGER_FORMAT "\n", label, json_integer_value(v));
        else if (json_is_boolean(v))
                printf("%-12s%s\n", label, json_is_true(v) ? "yes" : "no");
        else if (json_is_real(v))
                printf("%-12s%.3f\n", label, json_real_value(v));
        else if (json_is_array(v)) {
                _cleanup_free_ char *s = join_strings(v);
                printf("%-12s%s\n", label, strna(s));
        }
}

static int network_show(int argc, char *argv[]) {
        static const struct {
                const char *property, *label;
        } fields[] = {
                { "Name", "Name:" },         { "Subnet", "Subnet:" },
                { "Gateway", "Gateway:" },   { "Bridge", "Bridge:" },
                { "Mtu", "MTU:" },           { "Nat", "NAT:" },
                { "Isolated", "Isolated:" }, { "Workloads", "Workloads:" },
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path, *key;
        json_t *o = NULL, *v;
        size_t i;
        int r;

        if (argc != 2)
                return network_usage(stderr);
        if (!network_name_is_valid(argv[1])) {
                fprintf(stderr, "isoctl: '%s' is not a valid network name.\n", argv[1]);
                return EXIT_USAGE;
        }
        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;
        r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "GetNetwork", &e, &reply,
                               "s", argv[1]);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = network_get_all(bus, path, &o, &e);
        if (r < 0)
                return network_bus_error(&e, r, argv[1]);
        if (arg_json) {
                json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                printf("\n");
                json_decref(o);
                return 0;
        }
        for (i = 0; i < ELEMENTSOF(fields); i++) {
                v = json_object_get(o, fields[i].property);
                if (streq(fields[i].property, "Mtu") && json_is_integer(v) && json_integer_value(v) == 0)
                        printf("%-12s%s\n", fields[i].label, "the uplink's");
                else if (streq(fields[i].property, "Workloads") && json_is_array(v) &&
                         json_array_size(v) == 0)
                        printf("%-12s%s\n", fields[i].label, "-");
                else
                        print_value(fields[i].label, v);
        }
        json_array_foreach (json_object_get(o, "Warnings"), i, v)
                print_value("Warning:", v);
        /* Whatever a newer isod adds, after the known ones. */
        json_object_foreach (o, key, v) {
                _cleanup_free_ char *label = NULL;
                bool known = streq(key, "Warnings");

                for (size_t k = 0; k < ELEMENTSOF(fields) && !known; k++)
                        known = streq(key, fields[k].property);
                if (known || asprintf(&label, "%s:", key) < 0)
                        continue;
                print_value(label, v);
        }
        json_decref(o);
        return 0;
}

static int network_rm(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int ret = 0;

        if (argc < 2)
                return network_usage(stderr);
        for (int i = 1; i < argc; i++)
                if (!network_name_is_valid(argv[i])) {
                        fprintf(stderr, "isoctl: '%s' is not a valid network name.\n", argv[i]);
                        return EXIT_USAGE;
                }
        if (bus_connect(&bus) < 0)
                return EXIT_FAILURE_;
        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                int r;

                r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "RemoveNetwork",
                                       &e, NULL, "s", argv[i]);
                if (r < 0)
                        ret = network_bus_error(&e, r, argv[i]);
        }
        return ret;
}

int verb_network(int argc, char *argv[]) {
        static const struct {
                const char *name;
                int (*fn)(int argc, char *argv[]);
        } subs[] = {
                { "create", network_create }, { "list", network_list }, { "ls", network_list },
                { "show", network_show },     { "rm", network_rm },     { "remove", network_rm },
        };

        if (argc < 2)
                return network_usage(stderr);
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                (void) network_usage(stdout);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                if (streq(argv[1], subs[i].name))
                        return subs[i].fn(argc - 1, argv + 1);
        fprintf(stderr, "isoctl: unknown network command '%s' (create, list, show, rm).\n", argv[1]);
        return EXIT_USAGE;
}
