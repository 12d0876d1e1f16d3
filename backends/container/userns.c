/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "container.h"
#include "util.h"

/* User namespaces for containers (docs/security.md).
 *
 * Id ranges: root inside maps to an unprivileged host range of 65536 ids,
 *     base = USERNS_BASE + slot * 65536,  slot in [0, USERNS_SLOTS)
 * i.e. 0x60000000…0x6fffffff, the top of the range systemd documents for container ids. A slot
 * is owned by whoever holds flock(LOCK_EX) on USERNS_LOCK_DIR/SLOT.lock: the monitor holds it for
 * the workload's life and the kernel drops it when the monitor dies, so a crash never leaks a
 * range and two workloads (of any isod instance on the host: the directory is host-wide) never
 * share one. The search starts at a hash of the workload's name, so a workload usually gets the
 * same range again.
 *
 * Order (as crun): clone3(CLONE_NEWUSER | the other namespaces) makes the user namespace the
 * owner of the new mount, pid, net, … namespaces; the monitor (root on the host) writes
 * uid_map/gid_map, builds idmapped clones of the image and of the bind-mount sources
 * (open_tree + mount_setattr(MOUNT_ATTR_IDMAP), which needs CAP_SYS_ADMIN in the initial
 * namespace), and sends them over a socket; the child, which waited for that message, becomes
 * uid 0 of its namespace, attaches the trees and mounts the overlay (userxattr), proc, sysfs,
 * devpts itself. */

#define USERNS_BASE UINT32_C(0x60000000)
#define USERNS_SIZE UINT32_C(65536)
#define USERNS_SLOTS 4096U
#define USERNS_LOCK_DIR ISOD_STATE_DIR "/userns"
#define USERNS_MAX_FDS (1 + SPEC_MAX_MOUNTS)

uint32_t container_userns_size(void) {
        return USERNS_SIZE;
}

int container_userns_allocate(const char *name, uid_t *ret_base, int *ret_lock_fd) {
        _cleanup_close_ int dir_fd = -EBADF;
        uint32_t h = 2166136261u; /* FNV-1a */
        int r;

        assert(name);
        for (const char *p = name; *p; p++)
                h = (h ^ (uint8_t) *p) * 16777619u;

        r = mkdir_p(USERNS_LOCK_DIR, 0700);
        if (r < 0)
                return r;
        dir_fd = open(USERNS_LOCK_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;

        for (unsigned i = 0; i < USERNS_SLOTS; i++) {
                unsigned slot = (h + i) % USERNS_SLOTS;
                _cleanup_close_ int fd = -EBADF;
                char fn[32];

                (void) snprintf(fn, sizeof fn, "%04u.lock", slot);
                fd = openat(dir_fd, fn, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
                if (fd < 0)
                        return -errno;
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        if (errno == EWOULDBLOCK)
                                continue;
                        return -errno;
                }
                *ret_base = USERNS_BASE + slot * USERNS_SIZE;
                *ret_lock_fd = TAKE_FD(fd);
                return 0;
        }
        return -EUSERS;
}

int container_userns_write_maps(pid_t pid, uid_t base) {
        char path[64], map[64];
        int r;

        (void) snprintf(map, sizeof map, "0 %u %u\n", (unsigned) base, (unsigned) USERNS_SIZE);
        (void) snprintf(path, sizeof path, "/proc/%d/uid_map", (int) pid);
        r = write_string_file(path, map);
        if (r < 0)
                return r;
        (void) snprintf(path, sizeof path, "/proc/%d/gid_map", (int) pid);
        return write_string_file(path, map);
}

/* A detached, idmapped clone of the tree at path: on-disk id N appears as N inside the user
 * namespace of pid, i.e. as host id base + N. Fails with -EINVAL/-EOPNOTSUPP where the kernel or
 * file system has no idmapped mounts; the caller falls back to the plain path. */
int container_userns_idmap_tree(const char *path, pid_t pid, bool readonly, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF, userns_fd = -EBADF;
        struct mount_attr attr = {};
        char p[64];

        (void) snprintf(p, sizeof p, "/proc/%d/ns/user", (int) pid);
        userns_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (userns_fd < 0)
                return -errno;
        fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0)
                return -errno;
        attr.attr_set = MOUNT_ATTR_IDMAP |
                        (readonly ? MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV : 0);
        attr.userns_fd = (uint64_t) userns_fd;
        if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Parent → child: "the maps are written", with the idmapped trees. fds[i] < 0 means "no tree
 * for slot i" (0 = the image, 1 + k = spec mount k). */
int container_userns_send(int sock, const int *fds, size_t n) {
        int32_t idx[USERNS_MAX_FDS];
        int pass[USERNS_MAX_FDS];
        size_t n_pass = 0;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * USERNS_MAX_FDS)];
        } u = {};
        struct iovec iov;
        struct msghdr mh = {};

        if (n > USERNS_MAX_FDS)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                idx[i] = fds[i] >= 0 ? (int32_t) n_pass : -1;
                if (fds[i] >= 0)
                        pass[n_pass++] = fds[i];
        }
        iov = (struct iovec){ .iov_base = idx, .iov_len = n * sizeof(int32_t) };
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (n == 0) {
                /* SEQPACKET: an empty record would read as EOF; send a marker instead. */
                idx[0] = -1;
                iov.iov_len = sizeof(int32_t);
        }
        if (n_pass > 0) {
                struct cmsghdr *c;

                mh.msg_control = u.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_pass);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_pass);
                memcpy(CMSG_DATA(c), pass, sizeof(int) * n_pass);
        }
        if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

/* In the child: waits for the parent's message; fills ret_fds[0..n) (-EBADF where none). */
int container_userns_recv(int sock, int *ret_fds, size_t n) {
        int32_t idx[USERNS_MAX_FDS];
        int got[USERNS_MAX_FDS];
        size_t n_got = 0;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * USERNS_MAX_FDS)];
        } u = {};
        struct iovec iov = { .iov_base = idx, .iov_len = sizeof idx };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
        };
        ssize_t k;

        if (n > USERNS_MAX_FDS)
                return -E2BIG;
        do
                k = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        if (k == 0)
                return -ECONNRESET; /* the parent gave up */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        n_got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        memcpy(got, CMSG_DATA(c), n_got * sizeof(int));
                }
        for (size_t i = 0; i < n; i++) {
                int32_t j = i < (size_t) k / sizeof(int32_t) ? idx[i] : -1;

                ret_fds[i] = j >= 0 && (size_t) j < n_got ? got[j] : -EBADF;
        }
        return 0;
}

/* In the child, after the maps are written: become root of the namespace (until now the child
 * still carries the host's uid 0, which the namespace does not map). */
int container_userns_become_root(void) {
        if (setresgid(0, 0, 0) < 0)
                return -errno;
        if (setresuid(0, 0, 0) < 0)
                return -errno;
        return 0;
}

int container_security_prepare(Monitor *m, Container *c, char **reterr_message) {
        bool cached = false;
        int r;

        c->userns_lock_fd = -EBADF;
        c->userns_sync[0] = c->userns_sync[1] = -EBADF;

        r = seccomp_program_prepare(m->spec->seccomp, m->paths.cache_dir, &c->seccomp, &cached,
                                    reterr_message);
        if (r < 0)
                return r;
        monitor_set_fact(m, "seccomp",
                         json_string(!c->seccomp ? "unconfined"
                                     : cached    ? "cached"
                                                 : "compiled"));

        if (!m->spec->userns)
                return 0;
        c->userns = true;
        r = container_userns_allocate(m->name, &c->userns_base, &c->userns_lock_fd);
        if (r < 0) {
                if (asprintf(reterr_message, "allocate a user namespace id range in '%s': %s",
                             USERNS_LOCK_DIR, strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }
        /* The writable layer belongs to root inside. */
        if (mkdirat(m->dir_fd, "lower", 0755) < 0 && errno != EEXIST)
                return -errno;
        if (fchownat(m->dir_fd, "upper", c->userns_base, c->userns_base, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchownat(m->dir_fd, "work", c->userns_base, c->userns_base, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->userns_sync) < 0)
                return -errno;
        monitor_set_fact(m, "userns_uid_base", json_integer(c->userns_base));
        return 0;
}

int container_userns_start_child(Monitor *m, Container *c, pid_t pid, char **reterr_message) {
        const WorkloadSpec *spec = m->spec;
        int fds[USERNS_MAX_FDS];
        size_t n = 1 + spec->n_mounts, n_idmapped = 0;
        int r;

        for (size_t i = 0; i < n; i++)
                fds[i] = -EBADF;
        if (c->userns_sync[1] >= 0) {
                (void) close(c->userns_sync[1]);
                c->userns_sync[1] = -EBADF;
        }

        r = container_userns_write_maps(pid, c->userns_base);
        if (r < 0) {
                if (asprintf(reterr_message, "write the user namespace's id maps: %s", strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }

        /* Idmapped image and bind-mount sources where the file system allows; else the child
         * falls back to the plain paths (files then show as nobody:nogroup inside). */
        if (container_userns_idmap_tree(c->lower, pid, spec->readonly_rootfs, &fds[0]) >= 0)
                n_idmapped++;
        for (size_t i = 0; i < spec->n_mounts; i++)
                if (container_userns_idmap_tree(spec->mounts[i].source, pid, spec->mounts[i].readonly,
                                                &fds[1 + i]) >= 0)
                        n_idmapped++;
        monitor_set_fact(m, "userns_idmap", json_boolean(fds[0] >= 0));

        r = container_userns_send(c->userns_sync[0], fds, n);
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        (void) close(fds[i]);
        (void) close(c->userns_sync[0]);
        c->userns_sync[0] = -EBADF;
        if (r < 0) {
                if (asprintf(reterr_message, "release the container into its user namespace: %s",
                             strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }
        return (int) n_idmapped;
}
