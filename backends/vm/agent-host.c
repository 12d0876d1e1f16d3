/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host end of the agent's control port: reads frames with the bounded AgentReader (the guest is
 * hostile: a malformed frame ends the connection with an error, never the monitor), and a
 * bounded output queue. */

#include <inttypes.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "util.h"
#include "vm-internal.h"

#define AGENT_OUT_MAX (1024U * 1024U)
#define AGENT_IN_CHUNK (64U * 1024U)

struct AgentConn {
        int fd;
        sd_event_source *src;
        AgentReader reader;
        uint8_t *in;
        uint8_t *out;
        size_t out_len;
        bool failed;
        agent_msg_t on_msg;
        agent_error_t on_error;
        void *userdata;
};

AgentConn *agent_conn_free(AgentConn *a) {
        if (!a)
                return NULL;
        sd_event_source_disable_unref(a->src);
        if (a->fd >= 0)
                (void) close(a->fd);
        agent_reader_done(&a->reader);
        free(a->in);
        free(a->out);
        free(a);
        return NULL;
}

static void agent_fail(AgentConn *a, int error, const char *message) {
        if (a->failed)
                return;
        a->failed = true;
        (void) sd_event_source_set_enabled(a->src, SD_EVENT_OFF);
        if (a->on_error)
                a->on_error(a, error, message, a->userdata);
}

static void agent_update(AgentConn *a) {
        if (!a->failed)
                (void) sd_event_source_set_io_events(a->src, EPOLLIN | (a->out_len > 0 ? EPOLLOUT : 0));
}

static void agent_flush(AgentConn *a) {
        while (a->out_len > 0 && !a->failed) {
                ssize_t n = send(a->fd, a->out, a->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        agent_fail(a, -errno, "cannot write to the agent's control port");
                        return;
                }
                a->out_len -= (size_t) n;
                memmove(a->out, a->out + n, a->out_len);
        }
        agent_update(a);
}

/* Returns 1 if something was read, 0 on EAGAIN, <0 on EOF/error (already reported). */
static int agent_read(AgentConn *a) {
        ssize_t n;
        size_t off = 0;

        if (a->failed)
                return -ENOTCONN;
        n = recv(a->fd, a->in, AGENT_IN_CHUNK, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                agent_fail(a, n < 0 ? -errno : -ECONNRESET, "agent control port closed");
                return -ECONNRESET;
        }
        while (off < (size_t) n && !a->failed) {
                AgentFrame f;
                AgentMsg m;
                size_t used = 0;
                int r;

                r = agent_reader_feed(&a->reader, a->in + off, (size_t) n - off, &used, &f);
                off += used;
                if (r < 0) {
                        agent_fail(a, r, "malformed frame from the guest agent");
                        return r;
                }
                if (r == 0)
                        break;
                r = agent_msg_decode_from_guest(&f, &m);
                if (r < 0) {
                        char msg[128];
                        (void) snprintf(msg, sizeof msg, "invalid '%s' message from the guest agent",
                                        strna(agent_msg_type_to_string(f.type)));
                        agent_fail(a, r, msg);
                        return r;
                }
                if (a->on_msg)
                        a->on_msg(a, &m, a->userdata);
        }
        return 1;
}

static int agent_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AgentConn *a = userdata;

        if (revents & EPOLLOUT)
                agent_flush(a);
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                /* Bounded work per wake-up: at most 16 chunks, then let others run. */
                for (int i = 0; i < 16; i++)
                        if (agent_read(a) <= 0)
                                break;
        }
        return 0;
}

int agent_conn_pump(AgentConn *a, uint64_t timeout_usec) {
        uint64_t end = now_usec(CLOCK_MONOTONIC) + timeout_usec, now;
        struct pollfd p = { .fd = a->fd, .events = POLLIN };

        if (timeout_usec == 0)
                return agent_read(a); /* whatever is there, without waiting */

        while (!a->failed && (now = now_usec(CLOCK_MONOTONIC)) < end) {
                agent_flush(a);
                p.events = POLLIN | (a->out_len > 0 ? POLLOUT : 0);
                if (poll(&p, 1, (int) ((end - now + 999) / 1000)) <= 0)
                        break;
                if (p.revents & (POLLIN | POLLHUP | POLLERR))
                        return agent_read(a);
        }
        return 0;
}

int agent_conn_new(sd_event *e, int fd, agent_msg_t on_msg, agent_error_t on_error, void *userdata,
                   AgentConn **ret) {
        _cleanup_(agent_conn_freep) AgentConn *a = NULL;
        int r;

        a = calloc(1, sizeof(AgentConn));
        if (!a)
                return -ENOMEM;
        a->fd = -EBADF;
        r = agent_reader_init(&a->reader, false);
        if (r < 0)
                return r;
        a->in = malloc(AGENT_IN_CHUNK);
        a->out = malloc(AGENT_OUT_MAX);
        if (!a->in || !a->out)
                return -ENOMEM;
        a->on_msg = on_msg;
        a->on_error = on_error;
        a->userdata = userdata;
        r = sd_event_add_io(e, &a->src, fd, EPOLLIN, agent_io, a);
        if (r < 0)
                return r;
        a->fd = fd;
        *ret = TAKE_PTR(a);
        return 0;
}

bool agent_conn_can_send(AgentConn *a) {
        return !a->failed && a->out_len + AGENT_FRAME_HEADER_SIZE + AGENT_FRAME_MAX_PAYLOAD <= AGENT_OUT_MAX;
}

int agent_conn_send(AgentConn *a, uint16_t type, const void *p1, size_t n1, const void *p2, size_t n2) {
        if (a->failed)
                return -ENOTCONN;
        if (n1 + n2 > AGENT_FRAME_MAX_PAYLOAD)
                return -E2BIG;
        if (a->out_len + AGENT_FRAME_HEADER_SIZE + n1 + n2 > AGENT_OUT_MAX)
                return -ENOBUFS;
        agent_frame_header_put(a->out + a->out_len, type, (uint32_t) (n1 + n2));
        a->out_len += AGENT_FRAME_HEADER_SIZE;
        if (n1 > 0)
                memcpy(a->out + a->out_len, p1, n1);
        a->out_len += n1;
        if (n2 > 0)
                memcpy(a->out + a->out_len, p2, n2);
        a->out_len += n2;
        agent_flush(a);
        return 0;
}

int agent_conn_send_ids(AgentConn *a, uint16_t type, uint32_t a0, uint32_t a1, uint32_t a2, size_t n) {
        uint8_t b[12];

        assert(n <= 3);
        agent_put_u32(b, a0);
        agent_put_u32(b + 4, a1);
        agent_put_u32(b + 8, a2);
        return agent_conn_send(a, type, b, n * 4, NULL, 0);
}

/* ---------------------------------------------------------------- kv encoding */

typedef struct KvBuf {
        uint8_t *p;
        size_t n;
        int error;
} KvBuf;

static void kv_add(KvBuf *b, const char *key, const char *value) {
        size_t kl = strlen(key), vl = strlen(value), need = kl + 1 + vl + 1;
        uint8_t *np;

        if (b->error < 0)
                return;
        if (b->n + need > AGENT_FRAME_MAX_PAYLOAD - 4) {
                b->error = -E2BIG;
                return;
        }
        np = realloc(b->p, b->n + need);
        if (!np) {
                b->error = -ENOMEM;
                return;
        }
        b->p = np;
        memcpy(b->p + b->n, key, kl);
        b->p[b->n + kl] = '=';
        memcpy(b->p + b->n + kl + 1, value, vl + 1);
        b->n += need;
}

static void kv_addu(KvBuf *b, const char *key, uint64_t v) {
        char s[32];

        (void) snprintf(s, sizeof s, "%" PRIu64, v);
        kv_add(b, key, s);
}

static int kv_finish(KvBuf *b, uint8_t **ret, size_t *ret_size) {
        if (b->error < 0) {
                free(b->p);
                return b->error;
        }
        *ret = b->p;
        *ret_size = b->n;
        return 0;
}

static void kv_add_winsize(KvBuf *b, const struct winsize *ws) {
        if (!ws || ws->ws_row == 0 || ws->ws_col == 0)
                return;
        kv_addu(b, "rows", ws->ws_row);
        kv_addu(b, "cols", ws->ws_col);
}

/* The guest's NIC (docs/agent-protocol.md): net.mac picks the interface, the rest is its static
 * configuration; every DNS server is a net.dns entry. */
static void kv_add_net(KvBuf *b, const NetConfig *c) {
        char a[18];

        kv_add(b, "net.mac", mac_to_string(c->mac, a));
        kv_add(b, "net.ip", ipv4_to_string(c->ip, a));
        kv_addu(b, "net.prefix", c->prefix);
        kv_add(b, "net.gateway", ipv4_to_string(c->gateway, a));
        kv_addu(b, "net.mtu", c->mtu);
        for (size_t i = 0; i < c->n_dns && i < NETCONF_MAX_DNS; i++)
                kv_add(b, "net.dns", ipv4_to_string(c->dns[i], a));
        kv_add(b, "net.domain", NETCONF_DOMAIN);
}

int agent_encode_config(const WorkloadSpec *s, const char *const *mount_disks, const struct winsize *ws,
                        const NetConfig *net, uint8_t **ret, size_t *ret_size) {
        KvBuf b = {};

        for (char **a = s->args; a && *a; a++)
                kv_add(&b, "arg", *a);
        for (char **e = s->env; e && *e; e++)
                kv_add(&b, "env", *e);
        kv_add(&b, "cwd", s->cwd ?: "/");
        if (s->user_set) {
                kv_addu(&b, "uid", s->uid);
                kv_addu(&b, "gid", s->gid);
                for (size_t i = 0; i < s->n_groups; i++)
                        kv_addu(&b, "group", s->groups[i]);
        }
        if (s->terminal) {
                kv_add(&b, "terminal", "1");
                kv_add_winsize(&b, ws);
        }
        kv_add(&b, "hostname", s->hostname ?: s->name ?: "isod");
        if (s->readonly_rootfs)
                kv_add(&b, "readonly_rootfs", "1");
        for (size_t i = 0; mount_disks && mount_disks[i] && i < s->n_mounts; i++) {
                _cleanup_free_ char *v = NULL;
                if (asprintf(&v, "%s:%s", mount_disks[i], s->mounts[i].target) < 0)
                        b.error = -ENOMEM;
                else
                        kv_add(&b, "mount", v);
        }
        for (size_t i = 0; i < s->n_tmpfs; i++) {
                _cleanup_free_ char *v = NULL;
                if (asprintf(&v, "%o,%" PRIu64 ",%d:%s", s->tmpfs[i].mode, s->tmpfs[i].size,
                             s->tmpfs[i].noexec, s->tmpfs[i].target) < 0)
                        b.error = -ENOMEM;
                else
                        kv_add(&b, "tmpfs", v);
        }
        if (net)
                kv_add_net(&b, net);
        return kv_finish(&b, ret, ret_size);
}

static bool env_has_name(char **env, const char *kv) {
        size_t n = strcspn(kv, "=");

        for (char **e = env; e && *e; e++)
                if (strncmp(*e, kv, n) == 0 && (*e)[n] == '=')
                        return true;
        return false;
}

/* An exec runs like the workload (its environment, working directory and user), with the request's
 * own values on top, as in a container: -e overrides a variable of the same name. */
int agent_encode_exec(const ExecRequest *x, const WorkloadSpec *spec, const struct winsize *ws,
                      uint8_t **ret, size_t *ret_size) {
        KvBuf b = {};

        for (char **a = x->args; a && *a; a++)
                kv_add(&b, "arg", *a);
        for (char **e = spec ? spec->env : NULL; e && *e; e++)
                if (!env_has_name(x->env, *e))
                        kv_add(&b, "env", *e);
        for (char **e = x->env; e && *e; e++)
                kv_add(&b, "env", *e);
        kv_add(&b, "cwd", x->cwd ?: (spec && spec->cwd ? spec->cwd : "/"));
        if (x->user_set) {
                kv_addu(&b, "uid", x->uid);
                kv_addu(&b, "gid", x->gid);
        } else if (spec && spec->user_set) {
                kv_addu(&b, "uid", spec->uid);
                kv_addu(&b, "gid", spec->gid);
        }
        if (x->terminal) {
                kv_add(&b, "terminal", "1");
                kv_add_winsize(&b, ws);
        }
        return kv_finish(&b, ret, ret_size);
}
