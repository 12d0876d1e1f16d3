/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Byte pumps (QEMU's console and log to files) and output queues (stdio frames to clients), never
 * blocking the loop. */

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "util.h"
#include "vm-internal.h"

#define RELAY_BUFFER (256U * 1024U)

struct Relay {
        int in_fd, out_fd;
        sd_event_source *in_src, *out_src, *defer_src;
        bool in_direct, out_direct; /* not pollable (regular files): do I/O directly */
        bool in_socket, out_socket; /* sockets: MSG_DONTWAIT, the shared file flags stay untouched */
        int in_owned, out_owned;    /* our own reopened (non-blocking) copies of pipes/ttys */
        uint8_t *buf;
        size_t start, end;
        bool eof, out_broken, done;
        uint64_t total, max_total; /* max_total: bytes written at most (console log), 0 = unlimited */
        relay_done_t done_cb;
        void *userdata;
};

static void relay_update(Relay *r);

static void relay_finish(Relay *r) {
        if (r->done)
                return;
        r->done = true;
        (void) sd_event_source_set_enabled(r->in_src, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(r->out_src, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(r->defer_src, SD_EVENT_OFF);
        if (r->done_cb)
                r->done_cb(r, r->userdata);
}

static void relay_do_read(Relay *r) {
        ssize_t n;

        if (r->eof || r->end >= RELAY_BUFFER)
                return;
        if (r->in_socket)
                n = recv(r->in_fd, r->buf + r->end, RELAY_BUFFER - r->end, MSG_DONTWAIT);
        else
                n = read(r->in_fd, r->buf + r->end, RELAY_BUFFER - r->end);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                r->eof = true;
                return;
        }
        r->end += (size_t) n;
}

static void relay_do_write(Relay *r) {
        ssize_t n;
        size_t len = r->end - r->start;

        if (len == 0)
                return;
        if (r->out_broken || r->out_fd < 0 || (r->max_total > 0 && r->total >= r->max_total)) {
                /* Nobody listens: discard, so the guest never stalls on a gone client. */
                r->start = r->end = 0;
                return;
        }
        if (r->max_total > 0 && len > r->max_total - r->total)
                len = (size_t) (r->max_total - r->total);
        if (r->out_socket)
                n = send(r->out_fd, r->buf + r->start, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        else
                n = write(r->out_fd, r->buf + r->start, len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                r->out_broken = true;
                r->start = r->end = 0;
                return;
        }
        r->start += (size_t) n;
        r->total += (uint64_t) n;
        if (r->start == r->end)
                r->start = r->end = 0;
}

static void relay_update(Relay *r) {
        bool want_in, want_out;

        if (r->done)
                return;
        if (r->eof && r->start == r->end) {
                relay_finish(r);
                return;
        }
        if (r->start > 0 && r->end == RELAY_BUFFER) {
                memmove(r->buf, r->buf + r->start, r->end - r->start);
                r->end -= r->start;
                r->start = 0;
        }
        want_in = !r->eof && r->end < RELAY_BUFFER;
        want_out = r->start < r->end;
        if (r->in_src)
                (void) sd_event_source_set_enabled(r->in_src, want_in ? SD_EVENT_ON : SD_EVENT_OFF);
        if (r->out_src)
                (void) sd_event_source_set_enabled(r->out_src, want_out ? SD_EVENT_ON : SD_EVENT_OFF);
        if (r->defer_src)
                (void) sd_event_source_set_enabled(r->defer_src,
                                                   (r->in_direct && want_in) || (r->out_direct && want_out)
                                                           ? SD_EVENT_ON
                                                           : SD_EVENT_OFF);
}

static int on_in(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Relay *r = userdata;

        relay_do_read(r);
        if (r->out_direct)
                relay_do_write(r);
        relay_update(r);
        return 0;
}

static int on_out(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Relay *r = userdata;

        if (revents & (EPOLLERR | EPOLLHUP) && !(revents & EPOLLOUT)) {
                r->out_broken = true;
                r->start = r->end = 0;
        } else
                relay_do_write(r);
        relay_update(r);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        Relay *r = userdata;

        if (r->in_direct)
                relay_do_read(r);
        if (r->out_direct)
                relay_do_write(r);
        relay_update(r);
        return 0;
}

Relay *relay_free(Relay *r) {
        if (!r)
                return NULL;
        sd_event_source_disable_unref(r->in_src);
        sd_event_source_disable_unref(r->out_src);
        sd_event_source_disable_unref(r->defer_src);
        if (r->in_owned >= 0)
                (void) close(r->in_owned);
        if (r->out_owned >= 0)
                (void) close(r->out_owned);
        free(r->buf);
        free(r);
        return NULL;
}

/* The client's fds share their open file description with the client (a user's terminal): never
 * set O_NONBLOCK on them. Pipes and character devices are reopened through /proc/self/fd
 * (a new description), sockets use MSG_DONTWAIT, regular files are read/written directly. */
static int relay_prepare_fd(int fd, bool output, int *ret_fd, bool *ret_socket, int *ret_owned) {
        char p[64];
        struct stat st;
        int nfd;

        *ret_fd = fd;
        *ret_socket = false;
        *ret_owned = -EBADF;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISSOCK(st.st_mode)) {
                *ret_socket = true;
                return 0;
        }
        if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
                return 0;
        (void) snprintf(p, sizeof p, "/proc/self/fd/%i", fd);
        nfd = open(p, (output ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (nfd < 0) {
                /* Last resort. */
                (void) fd_set_nonblock(fd, true);
                return 0;
        }
        *ret_fd = *ret_owned = nfd;
        return 0;
}

int relay_new(sd_event *e, int in_fd, int out_fd, uint64_t max_total, relay_done_t done, void *userdata,
              Relay **ret) {
        _cleanup_(relay_freep) Relay *r = NULL;
        int k;

        r = calloc(1, sizeof(Relay));
        if (!r)
                return -ENOMEM;
        *r = (Relay){
                .in_fd = -EBADF,
                .out_fd = -EBADF,
                .in_owned = -EBADF,
                .out_owned = -EBADF,
                .max_total = max_total,
                .done_cb = done,
                .userdata = userdata,
        };
        if (in_fd >= 0) {
                k = relay_prepare_fd(in_fd, false, &r->in_fd, &r->in_socket, &r->in_owned);
                if (k < 0)
                        return k;
                in_fd = r->in_fd;
        }
        if (out_fd >= 0) {
                k = relay_prepare_fd(out_fd, true, &r->out_fd, &r->out_socket, &r->out_owned);
                if (k < 0)
                        return k;
                out_fd = r->out_fd;
        }
        r->buf = malloc(RELAY_BUFFER);
        if (!r->buf)
                return -ENOMEM;

        if (in_fd < 0)
                r->eof = true;
        else {
                k = sd_event_add_io(e, &r->in_src, in_fd, EPOLLIN, on_in, r);
                if (k == -EPERM)
                        r->in_direct = true;
                else if (k < 0)
                        return k;
        }
        if (out_fd >= 0) {
                k = sd_event_add_io(e, &r->out_src, out_fd, EPOLLOUT, on_out, r);
                if (k == -EPERM)
                        r->out_direct = true;
                else if (k < 0)
                        return k;
        } else
                r->out_broken = true;
        if (r->in_direct || r->out_direct) {
                k = sd_event_add_defer(e, &r->defer_src, on_defer, r);
                if (k < 0)
                        return k;
        }
        relay_update(r);
        *ret = TAKE_PTR(r);
        return 0;
}

/* ---------------------------------------------------------------- OutQueue */
/* Exec output to a client: written without blocking; what the client does not take yet is kept
 * here. The caller bounds it (it stops reading the agent while too much is pending), so a client
 * that stops reading stalls only its own VM's exec traffic, never the monitor. */

#define OUTQ_HARD_MAX (16U * 1024U * 1024U)

struct OutQueue {
        int fd;
        int owned;
        bool socket, broken;
        sd_event_source *src;
        uint8_t *buf;
        size_t len, cap;
        outq_drained_t drained;
        void *userdata;
};

static void outq_flush(OutQueue *q) {
        size_t off = 0;

        while (off < q->len && !q->broken) {
                ssize_t n;

                if (q->socket)
                        n = send(q->fd, q->buf + off, q->len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
                else
                        n = write(q->fd, q->buf + off, q->len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0)
                        q->broken = true; /* the client is gone: discard from now on */
                else
                        off += (size_t) n;
        }
        if (q->broken)
                q->len = 0;
        else if (off > 0) {
                memmove(q->buf, q->buf + off, q->len - off);
                q->len -= off;
        }
        if (q->src)
                (void) sd_event_source_set_enabled(q->src, q->len > 0 ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_outq(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        OutQueue *q = userdata;

        if (revents & (EPOLLERR | EPOLLHUP) && !(revents & EPOLLOUT)) {
                q->broken = true;
                q->len = 0;
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        } else
                outq_flush(q);
        if (q->len == 0 && q->drained)
                q->drained(q, q->userdata);
        return 0;
}

int outq_new(sd_event *e, int fd, outq_drained_t drained, void *userdata, OutQueue **ret) {
        _cleanup_(outq_freep) OutQueue *q = NULL;
        int r;

        q = calloc(1, sizeof(OutQueue));
        if (!q)
                return -ENOMEM;
        *q = (OutQueue){ .fd = -EBADF, .owned = -EBADF, .drained = drained, .userdata = userdata };
        if (fd < 0) {
                q->broken = true;
                *ret = TAKE_PTR(q);
                return 0;
        }
        r = relay_prepare_fd(fd, true, &q->fd, &q->socket, &q->owned);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &q->src, q->fd, EPOLLOUT, on_outq, q);
        if (r == -EPERM) /* a regular file: writes do not wait */
                q->src = NULL;
        else if (r < 0)
                return r;
        else
                (void) sd_event_source_set_enabled(q->src, SD_EVENT_OFF);
        *ret = TAKE_PTR(q);
        return 0;
}

int outq_push(OutQueue *q, const void *p, size_t n) {
        if (q->broken || n == 0)
                return 0;
        if (q->len + n > OUTQ_HARD_MAX)
                return -ENOBUFS; /* the caller's backpressure failed; never grow without bound */
        if (q->len + n > q->cap) {
                size_t cap = MAX(q->cap * 2, q->len + n);
                uint8_t *b = realloc(q->buf, cap);
                if (!b)
                        return -ENOMEM;
                q->buf = b;
                q->cap = cap;
        }
        memcpy(q->buf + q->len, p, n);
        q->len += n;
        outq_flush(q);
        return 0;
}

size_t outq_pending(const OutQueue *q) {
        return q ? q->len : 0;
}

OutQueue *outq_free(OutQueue *q) {
        if (!q)
                return NULL;
        sd_event_source_disable_unref(q->src);
        if (q->owned >= 0)
                (void) close(q->owned);
        free(q->buf);
        free(q);
        return NULL;
}
