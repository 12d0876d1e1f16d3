/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "dbus-api.h"
#include "log.h"
#include "util.h"
#include "workload.h"

/* Direct D-Bus connections for root: STATE/private (/run/isod/private), like systemd's
 * /run/systemd/private. The same objects and methods as on the system bus, spoken peer to peer
 * (sd-bus in server mode), without the bus daemon between isoctl and isod: no Hello, no
 * GetConnectionCredentials round trip, no AddMatch for tracking, and every message crosses one
 * socket instead of two (docs/decisions.md, entry 24). Signals stay on the system bus; a direct
 * client calls methods only.
 *
 * Who may connect: the socket is 0600 root (in the 0700 state directory), and each connection's peer is
 * checked again (SO_PEERCRED, uid 0) before a byte is read. The caller's identity for the policy is
 * taken from the socket at connect time (SO_PEERCRED, SO_PEERGROUPS), the same record dbus-daemon
 * would have given. At most private_max connections at once (PRIVATE_MAX_CONNECTIONS, and no more
 * than half of RLIMIT_NOFILE): beyond that, new ones wait in the listen backlog until one closes. */

/* Connections served at once: a foreground `isoctl launch` keeps its own for the workload's life,
 * so as many as systemd serves on its private socket, within half of our file descriptors. */
#define PRIVATE_MAX_CONNECTIONS 4096U
#define PRIVATE_MIN_CONNECTIONS 16U
#define PRIVATE_MAX_GROUPS 65536U
#define PRIVATE_ACCEPT_RETRY_USEC (100 * USEC_PER_MSEC)

struct PrivateConn {
        Manager *manager;
        sd_bus *bus;
        uid_t uid;
        pid_t pid;
        gid_t *groups; /* the primary GID first, then SO_PEERGROUPS */
        size_t n_groups;
        Caller caller; /* bus_get_caller()'s result, once it was asked */
        bool have_caller;
        sd_event_source *handshake_src; /* see on_handshake() */
        PrivateConn *next;
};

static PrivateConn *private_conn_free(PrivateConn *c) {
        if (!c)
                return NULL;
        /* No flush: a peer that does not read (or never finished its handshake) must not hold up
         * isod's exit. On a disconnect the bus is closed already. */
        sd_event_source_disable_unref(c->handshake_src);
        sd_bus_close_unref(c->bus);
        free(c->groups);
        caller_done(&c->caller);
        free(c);
        return NULL;
}

static void private_conn_freep(PrivateConn **c) {
        private_conn_free(*c);
}

static void private_conn_unlink(Manager *m, PrivateConn *c) {
        for (PrivateConn **p = &m->private_conns; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        m->n_private--;
                        break;
                }
        /* Room again: accept what waited in the backlog. */
        if (m->private_src && m->n_private < m->private_max)
                (void) sd_event_source_set_enabled(m->private_src, SD_EVENT_ON);
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        PrivateConn *c = userdata;
        Manager *m = c->manager;
        Workload *w, *next;

        private_conn_unlink(m, c);
        /* The client is gone: it will never get its Wait reply, so it holds no workload. */
        for (w = m->workloads; w; w = next) {
                next = w->next;
                workload_release_connection(w, c->bus);
        }
        private_conn_free(c);
        return 0;
}

/* libsystemd 252's server reads a client's first call together with its BEGIN line when the client
 * sends them in one write (libdbus and GDBus do; sd-bus clients wait for OK), finishes the handshake
 * and leaves the call in its buffer until more data arrives: a python3-dbus call waited for its own
 * timeout. So after each event of the loop, until the connection runs, it is processed once more. */
static int on_handshake(sd_event_source *s, void *userdata) {
        PrivateConn *c = userdata;
        _cleanup_(sd_bus_unrefp) sd_bus *bus = sd_bus_ref(c->bus); /* a call may end c */

        if (sd_bus_is_ready(bus) <= 0)
                return 0;
        c->handshake_src = sd_event_source_disable_unref(c->handshake_src);
        while (sd_bus_process(bus, NULL) > 0)
                ;
        return 0;
}

static int peer_groups(int fd, gid_t primary, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ gid_t *g = NULL;
        socklen_t len = 64 * sizeof(gid_t);

        for (;;) {
                gid_t *n = realloc(g, len + sizeof(gid_t));
                if (!n)
                        return -ENOMEM;
                g = n;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g + 1, &len) >= 0)
                        break;
                if (errno != ERANGE || len / sizeof(gid_t) > PRIVATE_MAX_GROUPS)
                        return -errno;
        }
        g[0] = primary;
        *ret_n = 1 + len / sizeof(gid_t);
        *ret = TAKE_PTR(g);
        return 0;
}

static int private_conn_new(Manager *m, int cfd) {
        _cleanup_(private_conn_freep) PrivateConn *c = NULL;
        _cleanup_close_ int fd = cfd; /* ours until the bus takes it */
        struct ucred uc = {};
        socklen_t len = sizeof uc;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
                return -errno;
        if (uc.uid != 0) {
                log_warning("Refused a direct connection from UID %u (PID %d): only root may use it.",
                            (unsigned) uc.uid, (int) uc.pid);
                return -EPERM;
        }
        c = calloc(1, sizeof(PrivateConn));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->uid = uc.uid;
        c->pid = uc.pid;
        r = peer_groups(fd, uc.gid, &c->groups, &c->n_groups);
        if (r < 0)
                return log_warning_errno(r, "Failed to read a direct connection's groups: %m");
        r = sd_bus_new(&c->bus);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(c->bus, fd, fd); /* takes the fd only when it succeeds */
        if (r < 0)
                return r;
        TAKE_FD(fd);
        r = sd_bus_set_server(c->bus, true, m->private_id);
        if (r < 0)
                return r;
        (void) sd_bus_negotiate_fds(c->bus, true);
        (void) sd_bus_set_description(c->bus, "private");
        r = bus_add_objects(c->bus, m);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(c->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, c);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(c->bus, m->event, 0);
        if (r < 0)
                return r;
        r = sd_bus_start(c->bus);
        if (r < 0)
                return r;
        r = sd_event_add_post(m->event, &c->handshake_src, on_handshake, c);
        if (r < 0)
                return r;
        c->next = m->private_conns;
        m->private_conns = TAKE_PTR(c);
        m->n_private++;
        return 0;
}

static int on_accept_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->private_src && m->n_private < m->private_max)
                (void) sd_event_source_set_enabled(m->private_src, SD_EVENT_ON);
        return 0;
}

static int on_private_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int cfd, r;

        if (m->n_private >= m->private_max) {
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* The connection stays in the backlog; not a busy loop until fds come back. */
                        log_warning_errno(-errno, "Cannot accept a direct connection now, retrying: %m");
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                        (void) sd_event_add_time_relative(m->event, NULL, CLOCK_MONOTONIC,
                                                          PRIVATE_ACCEPT_RETRY_USEC, 0, on_accept_retry, m);
                } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(-errno, "Failed to accept a direct connection: %m");
                return 0;
        }
        r = private_conn_new(m, cfd);
        if (r < 0 && r != -EPERM)
                log_warning_errno(r, "Failed to set up a direct connection: %m");
        return 0;
}

int bus_private_setup(Manager *m, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        struct rlimit rl;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "Socket path '%s' is too long.", path);
        strcpy(sa.sun_path, path);
        m->private_max = PRIVATE_MAX_CONNECTIONS;
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur != RLIM_INFINITY)
                m->private_max = (unsigned) MAX(MIN(rl.rlim_cur / 2, (rlim_t) PRIVATE_MAX_CONNECTIONS),
                                                (rlim_t) PRIVATE_MIN_CONNECTIONS);
        r = sd_id128_randomize(&m->private_id);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create the direct socket: %m");
        /* Left by an isod that did not exit cleanly (the state directory is ours alone). */
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(-errno, "Failed to remove stale '%s': %m", path);
        {
                mode_t old = umask(0177); /* 0600 from the start, not after a chmod */
                r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
                umask(old);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to bind '%s': %m", path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(-errno, "Failed to listen on '%s': %m", path);
        r = sd_event_add_io(m->event, &m->private_src, fd, EPOLLIN, on_private_accept, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_io_fd_own(m->private_src, true);
        fd = -EBADF;
        m->private_path = strdup(path);
        if (!m->private_path)
                return -ENOMEM;
        return 0;
}

void bus_private_done(Manager *m) {
        while (m->private_conns) {
                PrivateConn *c = m->private_conns;
                m->private_conns = c->next;
                private_conn_free(c);
        }
        m->n_private = 0;
        m->private_src = sd_event_source_disable_unref(m->private_src);
        if (m->private_path)
                (void) unlink(m->private_path);
        free(m->private_path);
        m->private_path = NULL;
}

static PrivateConn *private_conn_find(Manager *m, sd_bus *bus) {
        for (PrivateConn *c = m ? m->private_conns : NULL; c; c = c->next)
                if (c->bus == bus)
                        return c;
        return NULL;
}

const Caller *bus_private_caller_get(Manager *m, sd_bus *bus) {
        PrivateConn *c = private_conn_find(m, bus);

        return c && c->have_caller ? &c->caller : NULL;
}

void bus_private_caller_put(Manager *m, sd_bus *bus, const Caller *caller) {
        PrivateConn *c = private_conn_find(m, bus);

        if (!c || c->have_caller)
                return;
        c->have_caller = caller_copy(caller, &c->caller) >= 0;
}

int bus_private_creds(Manager *m, sd_bus *bus, uid_t *ret_uid, pid_t *ret_pid, const gid_t **ret_groups,
                      size_t *ret_n_groups) {
        PrivateConn *c = private_conn_find(m, bus);

        if (!c)
                return -EPERM;
        *ret_uid = c->uid;
        *ret_pid = c->pid;
        *ret_groups = c->groups;
        *ret_n_groups = c->n_groups;
        return 0;
}
