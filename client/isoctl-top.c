/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <time.h>

#include "isoctl.h"
#include "util.h"

/* isoctl top [-d SECONDS] [-n ITERATIONS] [-b]
 *
 * A live table of the workloads: ListWorkloads, then GetStats of each active one every interval;
 * CPU % from the difference of cpu_usec between two rounds (a container's cgroup, a VM's guest).
 * On a terminal the screen is redrawn; otherwise (or with -b) each round is appended. */

#define TOP_MAX 4096

typedef struct Row {
        char *name;
        char *isolation;
        char *state;
        bool have_stats;
        uint64_t cpu_usec, mem, pids, rx, tx;
        uint64_t at_usec; /* when the stats were read */
        double cpu_pct;   /* NAN until two readings */
} Row;

static void rows_free(Row *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(rows[i].name);
                free(rows[i].isolation);
                free(rows[i].state);
        }
        free(rows);
}

static uint64_t stat_u(json_t *j, const char *key) {
        json_t *v = json_object_get(j, key);

        return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t) json_integer_value(v) : 0;
}

static int read_stats(sd_bus *bus, const char *path, Row *row) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        json_t *j;
        int r;

        r = sd_bus_call_method(bus, "org.isod1", path, "org.isod1.Workload", "GetStats", &e, &reply, "");
        if (r < 0)
                return r; /* it ended meanwhile, say: no figures this round */
        r = bus_read_dict_json(reply, &j);
        if (r < 0)
                return r;
        row->at_usec = now_usec(CLOCK_MONOTONIC);
        row->cpu_usec = stat_u(j, "cpu_usec");
        row->mem = stat_u(j, "memory_bytes");
        row->pids = stat_u(j, "pids");
        row->rx = stat_u(j, "net_rx_bytes");
        row->tx = stat_u(j, "net_tx_bytes");
        row->have_stats = true;
        json_decref(j);
        return 0;
}

static int read_round(sd_bus *bus, Row **ret, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *iso, *state, *rule, *path;
        Row *rows = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, "org.isod1", "/org/isod1", "org.isod1.Manager", "ListWorkloads", &e,
                               &reply, "");
        if (r < 0)
                return print_bus_error(&e, r, "top");
        r = sd_bus_message_enter_container(reply, 'a', "(sssso)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(sssso)", &name, &iso, &state, &rule, &path)) > 0 &&
               n < TOP_MAX) {
                Row *t = realloc(rows, (n + 1) * sizeof(Row));

                if (!t) {
                        rows_free(rows, n);
                        return -ENOMEM;
                }
                rows = t;
                rows[n] = (Row){ .name = strdup(name),
                                 .isolation = strdup(iso),
                                 .state = strdup(state),
                                 .cpu_pct = NAN };
                if (!rows[n].name || !rows[n].isolation || !rows[n].state) {
                        rows_free(rows, n + 1);
                        return -ENOMEM;
                }
                if (streq(state, "running") || streq(state, "stopping"))
                        (void) read_stats(bus, path, &rows[n]);
                n++;
        }
        if (r < 0) {
                rows_free(rows, n);
                return r;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

static int row_cmp(const void *a, const void *b) {
        return strcmp(((const Row *) a)->name, ((const Row *) b)->name);
}

void human_size(uint64_t v, char *buf, size_t size) {
        static const char *const u[] = { "B", "K", "M", "G", "T" };
        double d = (double) v;
        size_t i = 0;

        while (d >= 1024 && i + 1 < ELEMENTSOF(u)) {
                d /= 1024;
                i++;
        }
        (void) snprintf(buf, size, i == 0 ? "%.0f%s" : "%.1f%s", d, u[i]);
}

static void print_round(Row *rows, size_t n, bool screen) {
        char when[32];
        time_t t = time(NULL);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(when, sizeof when, "%H:%M:%S", &tm) == 0)
                when[0] = '\0';
        if (screen)
                fputs("\033[H\033[2J", stdout);
        printf("isoctl top - %s - %zu workload(s)\n", when, n);
        printf("%-24s %-10s %-9s %6s %9s %6s %9s %9s\n", "NAME", "ISOLATION", "STATE", "CPU%", "MEM", "PIDS",
               "NET-RX", "NET-TX");
        for (size_t i = 0; i < n; i++) {
                const Row *w = &rows[i];
                char cpu[16], mem[16], rx[16], tx[16], pids[16];

                if (!w->have_stats) {
                        printf("%-24s %-10s %-9s %6s %9s %6s %9s %9s\n", w->name, w->isolation, w->state,
                               "-", "-", "-", "-", "-");
                        continue;
                }
                if (isnan(w->cpu_pct))
                        (void) snprintf(cpu, sizeof cpu, "-");
                else
                        (void) snprintf(cpu, sizeof cpu, "%.1f", w->cpu_pct);
                human_size(w->mem, mem, sizeof mem);
                human_size(w->rx, rx, sizeof rx);
                human_size(w->tx, tx, sizeof tx);
                (void) snprintf(pids, sizeof pids, "%" PRIu64, w->pids);
                printf("%-24s %-10s %-9s %6s %9s %6s %9s %9s\n", w->name, w->isolation, w->state, cpu, mem,
                       pids, rx, tx);
        }
        if (!screen)
                printf("\n");
        fflush(stdout);
}

int verb_top(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = {
                { "delay", required_argument, NULL, 'd' },
                { "iterations", required_argument, NULL, 'n' },
                { "batch", no_argument, NULL, 'b' },
                {},
        };
        Row *prev = NULL;
        size_t n_prev = 0;
        double delay = 1.0;
        uint64_t iterations = 0;
        bool batch = false;
        int c, r = 0;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+d:n:b", options, NULL)) >= 0)
                switch (c) {
                case 'd': {
                        char *end;

                        errno = 0;
                        delay = strtod(optarg, &end);
                        if (errno || end == optarg || *end || !(delay >= 0.1 && delay <= 3600)) {
                                fprintf(stderr, "isoctl: --delay wants 0.1 to 3600 seconds, not '%s'.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                }
                case 'n':
                        if (safe_atou64(optarg, &iterations) < 0 || iterations == 0) {
                                fprintf(stderr, "isoctl: --iterations wants a positive number, not '%s'.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case 'b':
                        batch = true;
                        break;
                default:
                        fprintf(stderr, "Usage: isoctl top [-d SECONDS] [-n ITERATIONS] [-b]\n");
                        return -EINVAL;
                }
        if (optind != argc) {
                fprintf(stderr, "Usage: isoctl top [-d SECONDS] [-n ITERATIONS] [-b]\n");
                return -EINVAL;
        }
        if (!isatty(STDOUT_FILENO))
                batch = true;

        for (uint64_t k = 0; iterations == 0 || k < iterations; k++) {
                Row *rows = NULL;
                size_t n = 0;

                if (k > 0) {
                        struct timespec ts = { (time_t) delay, (long) ((delay - floor(delay)) * 1e9) };

                        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                                ;
                }
                r = read_round(bus, &rows, &n);
                if (r < 0)
                        break;
                qsort(rows, n, sizeof(Row), row_cmp);
                for (size_t i = 0; i < n; i++)
                        for (size_t j = 0; j < n_prev; j++)
                                if (streq(rows[i].name, prev[j].name) && rows[i].have_stats &&
                                    prev[j].have_stats && rows[i].at_usec > prev[j].at_usec &&
                                    rows[i].cpu_usec >= prev[j].cpu_usec)
                                        rows[i].cpu_pct = 100.0 *
                                                          (double) (rows[i].cpu_usec - prev[j].cpu_usec) /
                                                          (double) (rows[i].at_usec - prev[j].at_usec);
                print_round(rows, n, !batch);
                rows_free(prev, n_prev);
                prev = rows;
                n_prev = n;
        }
        rows_free(prev, n_prev);
        return r;
}
