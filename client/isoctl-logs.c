/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <time.h>

#include "isoctl.h"
#include "util.h"

/* isoctl logs [-f] [--since WHEN] [-n/--tail N] [-t/--timestamps] [--stream stdout|stderr] [--console] NAME
 *
 * Workload.GetLogs hands us a pipe with the records (monitor/output-log.h): "TS STREAM F|P TEXT".
 * Each record's text goes to our stdout or stderr, as the workload wrote it. */

#define TS_LEN 30
#define HDR_LEN (TS_LEN + 10)

/* "10m", "1h30m", "45s", "2d": how long ago, in microseconds. */
static int parse_ago(const char *s, uint64_t *ret) {
        uint64_t total = 0;

        if (!*s)
                return -EINVAL;
        while (*s) {
                char *end;
                unsigned long long v;
                uint64_t unit;

                if (*s < '0' || *s > '9')
                        return -EINVAL;
                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno || end == s)
                        return -EINVAL;
                switch (*end) {
                case 's':
                        unit = USEC_PER_SEC;
                        break;
                case 'm':
                        unit = 60 * USEC_PER_SEC;
                        break;
                case 'h':
                        unit = 3600 * USEC_PER_SEC;
                        break;
                case 'd':
                        unit = 86400 * USEC_PER_SEC;
                        break;
                default:
                        return -EINVAL;
                }
                if (v > 100ULL * 365 * 86400 * USEC_PER_SEC / unit)
                        return -ERANGE;
                total += v * unit;
                s = end + 1;
        }
        *ret = total;
        return 0;
}

/* "2026-12-02T15:00:00[.frac][Z|+hh:mm|-hh:mm]" or with a space for the T (UTC without a zone). */
static int parse_time(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *p;
        uint64_t frac = 0, scale = 1000000;
        long off = 0;
        time_t t;

        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++)
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t) (*p - '0') * scale;
                        }
        }
        if (*p == 'Z')
                p++;
        else if (*p == '+' || *p == '-') {
                int hh, mm;

                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59 || strlen(p) != 6)
                        return -EINVAL;
                off = (hh * 60L + mm) * 60L * (*p == '+' ? 1 : -1);
                p += 6;
        }
        if (*p)
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t) -1 || t - off < 0)
                return -EINVAL;
        *ret = (uint64_t) (t - off) * USEC_PER_SEC + frac;
        return 0;
}

/* Output buffered per stream, flushed when the stream changes and after every read: the order of
 * stdout and stderr stays the workload's, and -f shows a line as soon as it arrives. */
typedef struct Out {
        char buf[64 * 1024];
        size_t n;
        int fd; /* whose bytes are in buf */
} Out;

static int out_flush(Out *o) {
        int r = o->n ? loop_write(o->fd, o->buf, o->n) : 0;

        o->n = 0;
        return r;
}

static int out_add(Out *o, int fd, const char *p, size_t n) {
        int r;

        if (o->fd != fd || o->n + n > sizeof o->buf) {
                r = out_flush(o);
                if (r < 0)
                        return r;
                o->fd = fd;
        }
        if (n > sizeof o->buf)
                return loop_write(fd, p, n);
        memcpy(o->buf + o->n, p, n);
        o->n += n;
        return 0;
}

static int copy_records(int in, bool timestamps) {
        static char buf[1024 * 1024];
        static Out out = { .fd = STDOUT_FILENO };
        bool line_start[3] = { false, true, true };
        size_t have = 0;
        int r;

        for (;;) {
                ssize_t k = read(in, buf + have, sizeof buf - have);
                char *p = buf, *end, *nl;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return out_flush(&out);
                end = buf + have + k;
                while ((nl = memchr(p, '\n', (size_t) (end - p)))) {
                        size_t len = (size_t) (nl - p);
                        int fd;

                        if (len >= HDR_LEN - 1 && p[TS_LEN] == ' ') {
                                fd = memcmp(p + TS_LEN + 1, "stderr", 6) == 0 ? STDERR_FILENO
                                                                              : STDOUT_FILENO;
                                if (timestamps && line_start[fd]) {
                                        r = out_add(&out, fd, p, TS_LEN + 1);
                                        if (r < 0)
                                                return r;
                                }
                                /* F: the text and its newline; P: the text, the rest follows. */
                                if (p[TS_LEN + 8] == 'P') {
                                        r = len > HDR_LEN ? out_add(&out, fd, p + HDR_LEN, len - HDR_LEN)
                                                          : 0;
                                        line_start[fd] = false;
                                } else {
                                        r = len >= HDR_LEN
                                                    ? out_add(&out, fd, p + HDR_LEN, len - HDR_LEN + 1)
                                                    : out_add(&out, fd, "\n", 1);
                                        line_start[fd] = true;
                                }
                                if (r < 0)
                                        return r;
                        }
                        p = nl + 1;
                }
                have = (size_t) (end - p);
                if (have == sizeof buf) /* not records */
                        have = 0;
                memmove(buf, p, have);
                r = out_flush(&out);
                if (r < 0)
                        return r;
        }
}

static int copy_raw(int in) {
        char buf[64 * 1024];

        for (;;) {
                ssize_t k = read(in, buf, sizeof buf);
                int r;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : 0;
                r = loop_write(STDOUT_FILENO, buf, (size_t) k);
                if (r < 0)
                        return r;
        }
}

int verb_logs(sd_bus *bus, int argc, char *argv[]) {
        enum { ARG_SINCE = 0x100, ARG_STREAM, ARG_CONSOLE };
        static const struct option options[] = {
                { "follow", no_argument, NULL, 'f' },
                { "tail", required_argument, NULL, 'n' },
                { "timestamps", no_argument, NULL, 't' },
                { "since", required_argument, NULL, ARG_SINCE },
                { "stream", required_argument, NULL, ARG_STREAM },
                { "console", no_argument, NULL, ARG_CONSOLE },
                {},
        };
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *stream = NULL;
        bool follow = false, timestamps = false, console = false, tail_set = false;
        uint64_t tail = 0, since = 0;
        int c, r, rfd;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+fn:t", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        follow = true;
                        break;
                case 'n':
                        if (safe_atou64(optarg, &tail) < 0) {
                                fprintf(stderr, "isoctl: --tail wants a number of lines, not '%s'.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        tail_set = true;
                        break;
                case 't':
                        timestamps = true;
                        break;
                case ARG_SINCE: {
                        uint64_t ago;

                        if (parse_ago(optarg, &ago) >= 0) {
                                uint64_t now = now_usec(CLOCK_REALTIME);
                                since = ago < now ? now - ago : 1;
                        } else if (parse_time(optarg, &since) < 0 || since == 0) {
                                fprintf(stderr,
                                        "isoctl: --since wants a duration (10m, 1h30m, 45s, 2d) or a time "
                                        "(2026-12-02T15:00:00Z), not '%s'.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                }
                case ARG_STREAM:
                        if (!streq(optarg, "stdout") && !streq(optarg, "stderr")) {
                                fprintf(stderr, "isoctl: --stream wants stdout or stderr, not '%s'.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        stream = optarg;
                        break;
                case ARG_CONSOLE:
                        console = true;
                        break;
                default:
                        fprintf(stderr,
                                "Usage: isoctl logs [-f] [--since WHEN] [-n/--tail N] [-t/--timestamps] "
                                "[--stream stdout|stderr] [--console] NAME\n");
                        return -EINVAL;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: isoctl logs [OPTIONS] NAME\n");
                return -EINVAL;
        }
        if (tail_set && tail == 0)
                return 0; /* no lines asked for */
        r = workload_path(bus, argv[optind], &path);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &call, "org.isod1", path, "org.isod1.Workload", "GetLogs");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && follow)
                r = sd_bus_message_append(call, "{sv}", "follow", "b", 1);
        if (r >= 0 && console)
                r = sd_bus_message_append(call, "{sv}", "console", "b", 1);
        if (r >= 0 && tail)
                r = sd_bus_message_append(call, "{sv}", "tail", "t", tail);
        if (r >= 0 && since)
                r = sd_bus_message_append(call, "{sv}", "since", "t", since);
        if (r >= 0 && stream)
                r = sd_bus_message_append(call, "{sv}", "stream", "s", stream);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, call, 0, &e, &reply);
        if (r < 0)
                return print_bus_error(&e, r, argv[optind]);
        r = sd_bus_message_read(reply, "h", &rfd);
        if (r < 0)
                return r;
        fd = fcntl(rfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        /* Nothing more to say to isod: a long -f must not keep its bus messages queued here. */
        reply = sd_bus_message_unref(reply);
        r = console ? copy_raw(fd) : copy_records(fd, timestamps);
        if (r == -EPIPE)
                return 0;
        return r;
}
