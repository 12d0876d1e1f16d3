/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <time.h>

#include "isoctl.h"
#include "util.h"

/* isoctl events [--json] [--filter workload=NAME] [--filter event=EVENT]…
 *
 * Follows the Manager's WorkloadEvent signals (docs/dbus-api.md#events) on the system bus (a
 * direct connection carries no signals) until interrupted. Filters with the same key are
 * alternatives; different keys must all match (as podman events does). */

#define MAX_FILTERS 64

typedef struct Filters {
        const char *workload[MAX_FILTERS];
        size_t n_workload;
        const char *event[MAX_FILTERS];
        size_t n_event;
} Filters;

static bool any_of(const char *const *l, size_t n, const char *s) {
        if (n == 0)
                return true;
        for (size_t i = 0; i < n; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

static void print_time(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        char d[32];

        if (!gmtime_r(&t, &tm) || strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                d[0] = '\0';
        (void) snprintf(buf, size, "%s.%06" PRIu64 "Z", d, usec % USEC_PER_SEC);
}

static int on_event(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const Filters *f = userdata;
        const char *name, *path, *event;
        uint64_t usec;
        json_t *details = NULL;
        char when[64];
        int r;

        r = sd_bus_message_read(m, "sost", &name, &path, &event, &usec);
        if (r < 0)
                return 0; /* not ours to judge: skip it */
        if (!any_of(f->workload, f->n_workload, name) || !any_of(f->event, f->n_event, event))
                return 0;
        r = bus_read_dict_json(m, &details);
        if (r < 0)
                details = json_object();
        print_time(usec, when, sizeof when);
        if (arg_json) {
                json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:O}", "time", when, "workload", name, "event",
                                      event, "timestamp_usec", (json_int_t) usec, "details", details);
                char *t = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

                if (t)
                        printf("%s\n", t);
                free(t);
                json_decref(j);
        } else {
                const char *key;
                json_t *v;

                printf("%s %s %s", when, name, event);
                json_object_foreach (details, key, v) {
                        if (json_is_string(v))
                                printf(" %s=%s", key, json_string_value(v));
                        else if (json_is_integer(v))
                                printf(" %s=%" JSON_INTEGER_FORMAT, key, json_integer_value(v));
                }
                printf("\n");
        }
        fflush(stdout);
        json_decref(details);
        return 0;
}

static int on_disconnect(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        fprintf(stderr, "isoctl: the bus connection was closed.\n");
        exit(EXIT_FAILURE_);
}

int verb_events(int argc, char *argv[]) {
        static const struct option options[] = { { "filter", required_argument, NULL, 'f' }, {} };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Filters f = {};
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+f:", options, NULL)) >= 0)
                switch (c) {
                case 'f': {
                        const char *v;

                        if ((v = startswith(optarg, "workload=")) && *v && f.n_workload < MAX_FILTERS)
                                f.workload[f.n_workload++] = v;
                        else if ((v = startswith(optarg, "event=")) && *v && f.n_event < MAX_FILTERS)
                                f.event[f.n_event++] = v;
                        else {
                                fprintf(stderr,
                                        "isoctl: --filter wants workload=NAME or event=EVENT (at most %u "
                                        "each), not '%s'.\n",
                                        MAX_FILTERS, optarg);
                                return EXIT_USAGE;
                        }
                        break;
                }
                default:
                        fprintf(stderr,
                                "Usage: isoctl events [--json] [--filter workload=NAME|event=EVENT]...\n");
                        return EXIT_USAGE;
                }
        if (optind != argc) {
                fprintf(stderr, "Usage: isoctl events [--json] [--filter workload=NAME|event=EVENT]...\n");
                return EXIT_USAGE;
        }
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "isoctl: cannot connect to the system bus: %s\n", strerror(-r));
                return EXIT_FAILURE_;
        }
        r = sd_bus_match_signal(bus, NULL, "org.isod1", "/org/isod1", "org.isod1.Manager", "WorkloadEvent",
                                on_event, &f);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local",
                                        "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_disconnect, NULL);
        if (r < 0) {
                fprintf(stderr, "isoctl: cannot subscribe to isod's events: %s\n", strerror(-r));
                return EXIT_FAILURE_;
        }
        /* Subscribed: whoever waits for us may start making events now. */
        fprintf(stderr, "isoctl: following isod's events (^C to stop)\n");
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "isoctl: the bus failed: %s\n", strerror(-r));
                        return EXIT_FAILURE_;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "isoctl: the bus failed: %s\n", strerror(-r));
                        return EXIT_FAILURE_;
                }
        }
}
