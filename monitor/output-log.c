/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* The workload's lines, not where in isod they were relayed: no CODE_FILE/CODE_LINE/CODE_FUNC. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "output-log.h"
#include "util.h"

/* How much one read() of a pipe takes, and the pipes' size: a fast writer (dd bs=64k) fills a
 * 1 MiB pipe while we write the previous chunk out, and one read takes a lot at once. */
#define CHUNK (256U * 1024U)
#define PIPE_SIZE (1024 * 1024)
/* A line without its newline yet is kept until it completes, up to this; longer, it goes out as
 * a "P" (partial) record and the rest follows in the next one (kubelet splits at 16 KiB too). */
#define LINE_MAX_KEEP (16U * 1024U)
/* Records of one chunk are gathered here and written with one write(). */
#define OUT_BUF (512U * 1024U)
/* After a read that found data, the pipe is left alone this long: a writer going at full speed
 * then fills it with more than a 4 KiB stdio buffer per wake-up, and we read hundreds of KiB at a
 * time instead of waking for each write (3x fewer reads and wake-ups for `yes | head`). A line
 * reaches the log at most this much later (docs/logs.md). */
#define COALESCE_USEC 1000

typedef struct Stream {
        OutputLog *log;
        const char *name; /* "stdout", "stderr" */
        unsigned bit;     /* OUTPUT_LOG_STDOUT, OUTPUT_LOG_STDERR */
        int fd;           /* read end */
        sd_event_source *src;
        sd_event_source *pause; /* COALESCE_USEC after a read, then the io source again */
        char carry[LINE_MAX_KEEP];
        size_t n_carry;
} Stream;

struct OutputLog {
        int dir_fd;
        int fd; /* output.log, O_APPEND */
        uint64_t size, max_size;
        Stream streams[2];
        char *chunk;
        char *buf;
        size_t n_buf;
        bool journal;
        char *name, *isolation;
        bool failed; /* a write failed: logged once, then what comes is dropped */
        output_log_tee_t tee;
        void *tee_userdata;
};

void output_log_set_tee(OutputLog *l, output_log_tee_t cb, void *userdata) {
        if (!l)
                return;
        l->tee = cb;
        l->tee_userdata = userdata;
}

void output_log_timestamp(uint64_t nsec, char buf[OUTPUT_LOG_TS_LEN + 1]) {
        time_t t = (time_t) (nsec / 1000000000ULL);
        struct tm tm;
        char date[24];

        /* Years past 9999 would not fit the fixed width: clamped, as they cannot happen. */
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0 ||
            strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
                memcpy(date, "9999-12-31T23:59:59", 20);
        memcpy(buf, date, 19);
        (void) snprintf(buf + 19, OUTPUT_LOG_TS_LEN + 1 - 19, ".%09uZ", (unsigned) (nsec % 1000000000ULL));
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int log_open_current(OutputLog *l) {
        struct stat st;

        l->fd = openat(l->dir_fd, OUTPUT_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (l->fd < 0)
                return -errno;
        if (fstat(l->fd, &st) < 0)
                return -errno;
        l->size = (uint64_t) st.st_size;
        return 0;
}

static int log_rotate(OutputLog *l) {
        if (renameat(l->dir_fd, OUTPUT_LOG, l->dir_fd, OUTPUT_LOG_OLD) < 0)
                return -errno;
        l->fd = safe_close(l->fd);
        return log_open_current(l);
}

static void log_failed(OutputLog *l, int r) {
        if (!l->failed)
                log_warning_errno(r, "Failed to write the output log, dropping output from now on: %m");
        l->failed = true;
}

/* Writes iov (whole records, len bytes in all) to the log, rotating first if they would not fit. */
static void log_write(OutputLog *l, struct iovec *iov, int n, size_t len) {
        int r;

        if (l->failed || len == 0)
                return;
        if (l->size > 0 && l->size + len > l->max_size) {
                r = log_rotate(l);
                if (r < 0)
                        return log_failed(l, r);
        }
        while (n > 0) {
                ssize_t k = writev(l->fd, iov, MIN(n, IOV_MAX));

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_failed(l, -errno);
                }
                l->size += (uint64_t) k;
                while (n > 0 && (size_t) k >= iov->iov_len) {
                        k -= (ssize_t) iov->iov_len;
                        iov++;
                        n--;
                }
                if (n > 0) {
                        iov->iov_base = (char *) iov->iov_base + k;
                        iov->iov_len -= (size_t) k;
                }
        }
}

static void log_flush(OutputLog *l) {
        struct iovec iov = { l->buf, l->n_buf };

        log_write(l, &iov, 1, l->n_buf);
        l->n_buf = 0;
}

static void journal_send(OutputLog *l, const Stream *s, const char *a, size_t na, const char *b, size_t nb) {
        _cleanup_free_ char *msg = NULL, *wl = NULL, *ident = NULL, *iso = NULL, *st = NULL;
        struct iovec iov[6];

        if (asprintf(&msg, "MESSAGE=%.*s%.*s", (int) na, a, (int) nb, b) < 0 ||
            asprintf(&wl, "ISOD_WORKLOAD=%s", l->name) < 0 ||
            asprintf(&ident, "SYSLOG_IDENTIFIER=%s", l->name) < 0 ||
            asprintf(&iso, "ISOD_ISOLATION=%s", l->isolation) < 0 ||
            asprintf(&st, "ISOD_STREAM=%s", s->name) < 0)
                return;
        iov[0] = (struct iovec){ msg, strlen(msg) };
        iov[1] = (struct iovec){ wl, strlen(wl) };
        iov[2] = (struct iovec){ ident, strlen(ident) };
        iov[3] = (struct iovec){ iso, strlen(iso) };
        iov[4] = (struct iovec){ st, strlen(st) };
        iov[5] = streq(s->name, "stderr") ? (struct iovec){ (char *) "PRIORITY=3", 10 }
                                          : (struct iovec){ (char *) "PRIORITY=6", 10 };
        (void) sd_journal_sendv(iov, 6);
}

/* A chunk's two record headers ("TS STREAM F ", "TS STREAM P "): made once per read. */
typedef struct Headers {
        char f[OUTPUT_LOG_HDR_LEN + 1], p[OUTPUT_LOG_HDR_LEN + 1];
} Headers;

static void headers_make(const Stream *s, Headers *h) {
        char ts[OUTPUT_LOG_TS_LEN + 1];

        output_log_timestamp(now_nsec(), ts);
        (void) snprintf(h->f, sizeof h->f, "%s %s F ", ts, s->name);
        memcpy(h->p, h->f, sizeof h->p);
        h->p[OUTPUT_LOG_HDR_LEN - 2] = 'P';
}

/* One record: its header and the content a + b (either may be empty). */
static void record(OutputLog *l, const Stream *s, const char *hdr, const char *a, size_t na, const char *b,
                   size_t nb) {
        size_t len = OUTPUT_LOG_HDR_LEN + na + nb + 1;
        char *o;

        if (l->journal)
                journal_send(l, s, a, na, b, nb);
        if (len > OUT_BUF / 2) { /* big: straight from where it is */
                struct iovec iov[4] = { { (char *) hdr, OUTPUT_LOG_HDR_LEN },
                                        { (char *) a, na },
                                        { (char *) b, nb },
                                        { (char *) "\n", 1 } };
                log_flush(l);
                log_write(l, iov, 4, len);
                return;
        }
        if (l->n_buf + len > OUT_BUF)
                log_flush(l);
        o = l->buf + l->n_buf;
        memcpy(o, hdr, OUTPUT_LOG_HDR_LEN);
        o += OUTPUT_LOG_HDR_LEN;
        if (na > 0) {
                memcpy(o, a, na);
                o += na;
        }
        if (nb > 0)
                memcpy(o, b, nb);
        o[nb] = '\n';
        l->n_buf += len;
}

/* Splits what was read into records: whole lines as "F", the tail kept (or, too long, "P"). */
static void stream_feed(Stream *s, const char *p, size_t n) {
        OutputLog *l = s->log;
        const char *end = p + n;
        Headers h;

        if (l->tee)
                l->tee(l->tee_userdata, s->bit, p, n);
        headers_make(s, &h);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));

                if (nl) {
                        record(l, s, h.f, s->carry, s->n_carry, p, (size_t) (nl - p));
                        s->n_carry = 0;
                        p = nl + 1;
                } else {
                        size_t rest = (size_t) (end - p);

                        if (s->n_carry + rest <= LINE_MAX_KEEP) {
                                memcpy(s->carry + s->n_carry, p, rest);
                                s->n_carry += rest;
                        } else {
                                record(l, s, h.p, s->carry, s->n_carry, p, rest);
                                s->n_carry = 0;
                        }
                        p = end;
                }
        }
        log_flush(l);
}

static void stream_end(Stream *s) {
        Headers h;

        if (s->n_carry > 0) { /* a last line without its newline: exactly as written */
                headers_make(s, &h);
                record(s->log, s, h.p, s->carry, s->n_carry, NULL, 0);
                s->n_carry = 0;
                log_flush(s->log);
        }
        s->src = sd_event_source_disable_unref(s->src);
        s->pause = sd_event_source_disable_unref(s->pause);
        s->fd = safe_close(s->fd);
}

/* Reads until the pipe is empty (or at most max chunks); false at EOF or error. */
static bool stream_read(Stream *s, unsigned max) {
        for (unsigned i = 0; i < max; i++) {
                ssize_t k = read(s->fd, s->log->chunk, CHUNK);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return true;
                if (k <= 0) /* EOF; from a pty master, EIO once the slave side is closed */
                        return false;
                stream_feed(s, s->log->chunk, (size_t) k);
                if ((size_t) k < CHUNK)
                        return true;
        }
        return true;
}

static int on_pause_end(sd_event_source *src, uint64_t usec, void *userdata) {
        Stream *s = userdata;

        if (s->src)
                (void) sd_event_source_set_enabled(s->src, SD_EVENT_ON);
        return 0;
}

static int on_stream(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Stream *s = userdata;
        int r;

        /* A few chunks, then the loop's other sources get their turn. */
        if (!stream_read(s, 4)) {
                stream_end(s);
                return 0;
        }
        /* Let more gather before the next read (COALESCE_USEC). */
        if (!s->pause)
                /* accuracy 1 µs: 0 would mean sd-event's default, 250 ms */
                r = sd_event_add_time_relative(sd_event_source_get_event(src), &s->pause, CLOCK_MONOTONIC,
                                               COALESCE_USEC, 1, on_pause_end, s);
        else
                r = sd_event_source_set_time_relative(s->pause, COALESCE_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->pause, SD_EVENT_ONESHOT);
        if (r >= 0)
                (void) sd_event_source_set_enabled(src, SD_EVENT_OFF);
        return 0;
}

int output_log_new(sd_event *e, int dir_fd, unsigned mask, uint64_t max_size, const char *name,
                   const char *isolation, int ret_fds[2], OutputLog **ret) {
        OutputLog *l;
        int r;

        assert(ret_fds);
        assert(ret);
        ret_fds[0] = ret_fds[1] = -EBADF;
        l = calloc(1, sizeof(OutputLog));
        if (!l)
                return -ENOMEM;
        l->dir_fd = dir_fd;
        l->fd = -EBADF;
        l->max_size = MIN(MAX(max_size ?: OUTPUT_LOG_DEFAULT_MAX, OUTPUT_LOG_MIN_MAX), OUTPUT_LOG_MAX_MAX);
        l->streams[0] = (Stream){ .log = l, .name = "stdout", .bit = OUTPUT_LOG_STDOUT, .fd = -EBADF };
        l->streams[1] = (Stream){ .log = l, .name = "stderr", .bit = OUTPUT_LOG_STDERR, .fd = -EBADF };
        l->name = strdup(name);
        l->isolation = strdup(isolation);
        l->chunk = malloc(CHUNK);
        l->buf = malloc(OUT_BUF);
        if (!l->name || !l->isolation || !l->chunk || !l->buf) {
                r = -ENOMEM;
                goto fail;
        }
        /* journald's socket: the same test sd_journal_sendv() would fail on. */
        l->journal = access("/run/systemd/journal/socket", W_OK) == 0;
        r = log_open_current(l);
        if (r < 0)
                goto fail;
        for (int i = 0; i < 2; i++) {
                int p[2];

                if (!(mask & (1U << i)))
                        continue;
                if (pipe2(p, O_CLOEXEC) < 0) {
                        r = -errno;
                        goto fail;
                }
                (void) fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
                l->streams[i].fd = p[0];
                ret_fds[i] = p[1];
                r = fd_set_nonblock(p[0], true);
                if (r >= 0)
                        r = sd_event_add_io(e, &l->streams[i].src, p[0], EPOLLIN, on_stream, &l->streams[i]);
                if (r < 0)
                        goto fail;
                (void) sd_event_source_set_description(l->streams[i].src, l->streams[i].name);
        }
        *ret = l;
        return 0;
fail:
        for (int i = 0; i < 2; i++)
                ret_fds[i] = safe_close(ret_fds[i]);
        output_log_free(l);
        return r;
}

int output_log_add_fd(OutputLog *l, sd_event *e, unsigned bit, int fd) {
        Stream *s;
        int r;

        if (fd < 0)
                return fd == -1 ? -errno : fd;
        if (!l || (bit != OUTPUT_LOG_STDOUT && bit != OUTPUT_LOG_STDERR)) {
                safe_close(fd);
                return -EINVAL;
        }
        s = &l->streams[bit == OUTPUT_LOG_STDOUT ? 0 : 1];
        if (s->fd >= 0) {
                safe_close(fd);
                return -EBUSY;
        }
        s->fd = fd;
        r = fd_set_nonblock(fd, true);
        if (r >= 0)
                r = sd_event_add_io(e, &s->src, fd, EPOLLIN, on_stream, s);
        if (r < 0)
                s->fd = safe_close(s->fd);
        return r;
}

void output_log_drain(OutputLog *l) {
        if (!l)
                return;
        for (int i = 0; i < 2; i++) {
                Stream *s = &l->streams[i];

                if (s->fd < 0)
                        continue;
                (void) stream_read(s, UINT_MAX);
                stream_end(s);
        }
}

OutputLog *output_log_free(OutputLog *l) {
        if (!l)
                return NULL;
        for (int i = 0; i < 2; i++) {
                sd_event_source_disable_unref(l->streams[i].src);
                sd_event_source_disable_unref(l->streams[i].pause);
                safe_close(l->streams[i].fd);
        }
        safe_close(l->fd);
        free(l->chunk);
        free(l->buf);
        free(l->name);
        free(l->isolation);
        free(l);
        return NULL;
}

/* ------------------------------------------------------------------ reading */

typedef struct Reader {
        int dir_fd, out_fd;
        const OutputLogRead *a;
        char since[OUTPUT_LOG_TS_LEN + 1];
        char *buf;
        size_t n_buf; /* bytes of an incomplete record kept from the last read */
} Reader;

#define RBUF (1024U * 1024U)

static bool record_wanted(const Reader *rd, const char *rec, size_t len) {
        if (len < OUTPUT_LOG_HDR_LEN)
                return false; /* not a record: skipped */
        if (rd->a->since_usec > 0 && memcmp(rec, rd->since, OUTPUT_LOG_TS_LEN) < 0)
                return false;
        if (rd->a->streams == OUTPUT_LOG_STDOUT && memcmp(rec + OUTPUT_LOG_TS_LEN + 1, "stdout", 6) != 0)
                return false;
        if (rd->a->streams == OUTPUT_LOG_STDERR && memcmp(rec + OUTPUT_LOG_TS_LEN + 1, "stderr", 6) != 0)
                return false;
        return true;
}

/* Feeds what is readable from fd through the filter to out; an incomplete last record (being
 * written) is kept for the next call. Console: raw. */
static int pump(Reader *rd, int fd) {
        for (;;) {
                ssize_t k = read(fd, rd->buf + rd->n_buf, RBUF - rd->n_buf);
                char *p, *run, *end, *nl;
                int r;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return 0;
                if (rd->a->console) {
                        r = loop_write(rd->out_fd, rd->buf, (size_t) k);
                        if (r < 0)
                                return r;
                        continue;
                }
                end = rd->buf + rd->n_buf + k;
                p = run = rd->buf;
                /* Runs of wanted records go out in one write. */
                while ((nl = memchr(p, '\n', (size_t) (end - p)))) {
                        if (!record_wanted(rd, p, (size_t) (nl - p) + 1)) {
                                if (p > run) {
                                        r = loop_write(rd->out_fd, run, (size_t) (p - run));
                                        if (r < 0)
                                                return r;
                                }
                                run = nl + 1;
                        }
                        p = nl + 1;
                }
                if (p > run) {
                        r = loop_write(rd->out_fd, run, (size_t) (p - run));
                        if (r < 0)
                                return r;
                }
                rd->n_buf = (size_t) (end - p);
                if (rd->n_buf == RBUF) { /* a record longer than the buffer: out as it is */
                        r = loop_write(rd->out_fd, rd->buf, RBUF);
                        if (r < 0)
                                return r;
                        rd->n_buf = 0;
                }
                memmove(rd->buf, p, rd->n_buf);
        }
}

/* The offsets of the last N wanted records over both files: where --tail starts. */
typedef struct TailPos {
        int file; /* 0 old, 1 current */
        uint64_t off;
} TailPos;

static int tail_scan(Reader *rd, int fds[2], uint64_t n, TailPos *ret) {
        _cleanup_free_ TailPos *ring = NULL;
        uint64_t count = 0;

        ring = calloc(MIN(n, (uint64_t) 1 << 20), sizeof(TailPos));
        if (!ring)
                return -ENOMEM;
        n = MIN(n, (uint64_t) 1 << 20);
        for (int f = 0; f < 2; f++) {
                uint64_t off = 0;
                size_t have = 0;

                if (fds[f] < 0)
                        continue;
                for (;;) {
                        ssize_t k = pread(fds[f], rd->buf + have, RBUF - have, (off_t) (off + have));
                        char *p = rd->buf, *end, *nl;

                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return -errno;
                        if (k == 0)
                                break;
                        end = rd->buf + have + k;
                        while ((nl = memchr(p, '\n', (size_t) (end - p)))) {
                                if (record_wanted(rd, p, (size_t) (nl - p) + 1))
                                        ring[count++ % n] = (TailPos){ f, off + (uint64_t) (p - rd->buf) };
                                p = nl + 1;
                        }
                        if (p == rd->buf && (size_t) (end - p) == RBUF)
                                p = end; /* an endless record: skipped */
                        off += (uint64_t) (p - rd->buf);
                        have = (size_t) (end - p);
                        memmove(rd->buf, p, have);
                }
        }
        if (count == 0)
                *ret = (TailPos){ 2, 0 }; /* nothing wanted: start at the end */
        else
                *ret = ring[count <= n ? 0 : count % n];
        return 0;
}

int output_log_read(int dir_fd, int out_fd, int pidfd, const OutputLogRead *a) {
        _cleanup_close_ int ino = -EBADF, cur = -EBADF, old = -EBADF;
        _cleanup_free_ char *buf = NULL;
        Reader rd = { .dir_fd = dir_fd, .out_fd = out_fd, .a = a };
        const char *name = a->console ? "console.log" : OUTPUT_LOG;
        struct stat st_cur = {};
        /* Following a workload that has ended (no monitor to wait for) is reading it. */
        bool follow = a->follow && pidfd >= 0;
        int r;

        buf = malloc(RBUF);
        if (!buf)
                return -ENOMEM;
        rd.buf = buf;
        if (a->since_usec > 0)
                output_log_timestamp(a->since_usec * 1000ULL, rd.since);

        if (follow) {
                char p[64];

                ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
                if (ino < 0)
                        return -errno;
                (void) snprintf(p, sizeof p, "/proc/self/fd/%d", dir_fd);
                if (inotify_add_watch(ino, p, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
                        return -errno;
        }
        cur = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (cur < 0 && errno != ENOENT)
                return -errno;
        if (cur >= 0 && fstat(cur, &st_cur) < 0)
                return -errno;
        if (!a->console) {
                old = openat(dir_fd, OUTPUT_LOG_OLD, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (old < 0 && errno != ENOENT)
                        return -errno;
        }

        if (a->tail > 0 && !a->console) {
                int fds[2] = { old, cur };
                TailPos t = {};

                r = tail_scan(&rd, fds, a->tail, &t);
                if (r < 0)
                        return r;
                if (t.file == 0 && lseek(old, (off_t) t.off, SEEK_SET) < 0)
                        return -errno;
                if (t.file >= 1)
                        old = safe_close(old);
                if (t.file == 1 && lseek(cur, (off_t) t.off, SEEK_SET) < 0)
                        return -errno;
                if (t.file == 2 && cur >= 0 && lseek(cur, 0, SEEK_END) < 0)
                        return -errno;
        }
        if (old >= 0) {
                r = pump(&rd, old);
                if (r < 0)
                        return r == -EPIPE ? 0 : r;
                rd.n_buf = 0;
                old = safe_close(old);
        }
        for (;;) {
                struct pollfd p[3];
                struct stat st;
                bool ended = false;

                if (cur >= 0) {
                        r = pump(&rd, cur);
                        if (r < 0)
                                return r == -EPIPE ? 0 : r;
                }
                if (!follow)
                        return 0;
                /* Rotated: the rest of the file we have open, then the new one from its start. */
                if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    (cur < 0 || st.st_ino != st_cur.st_ino || st.st_dev != st_cur.st_dev)) {
                        if (cur >= 0) {
                                r = pump(&rd, cur);
                                if (r < 0)
                                        return r == -EPIPE ? 0 : r;
                        }
                        rd.n_buf = 0;
                        safe_close(cur);
                        cur = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        if (cur >= 0 && fstat(cur, &st_cur) < 0)
                                return -errno;
                        continue;
                }
                p[0] = (struct pollfd){ .fd = ino, .events = POLLIN };
                p[1] = (struct pollfd){ .fd = out_fd, .events = 0 }; /* POLLERR: the reader went away */
                p[2] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents & (POLLERR | POLLHUP))
                        return 0;
                if (p[0].revents & POLLIN) {
                        char ev[4096];

                        while (read(ino, ev, sizeof ev) > 0)
                                ;
                }
                if (p[2].revents & POLLIN)
                        ended = true;
                if (ended) {
                        /* The monitor wrote everything before it exited: the last of it, then done. */
                        if (cur < 0)
                                cur = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        if (cur >= 0) {
                                r = pump(&rd, cur);
                                if (r < 0)
                                        return r == -EPIPE ? 0 : r;
                        }
                        return 0;
                }
        }
}
