/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <sys/socket.h>

#include "proto.h"

int proto_send(int fd, json_t *msg, const int *fds, size_t n_fds) {
        _cleanup_free_ char *text = NULL;
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
        } control = {};
        struct iovec iov;
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
        };
        ssize_t k;

        assert(n_fds <= PROTO_MAX_FDS);
        text = json_dumps(msg, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        if (strlen(text) > PROTO_MAX_PACKET)
                return -EMSGSIZE;
        iov = (struct iovec){ .iov_base = text, .iov_len = strlen(text) };
        if (n_fds > 0) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        k = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (k < 0)
                return -errno;
        return (int) k;
}

void proto_close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0) {
                        (void) close(fds[i]);
                        fds[i] = -EBADF;
                }
}

int proto_recv(int fd, json_t **ret, int ret_fds[static PROTO_MAX_FDS], size_t *ret_n_fds) {
        _cleanup_free_ char *buf = NULL;
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
        } control = {};
        struct iovec iov;
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        json_error_t jerr;
        json_t *j;
        size_t n_fds = 0;
        ssize_t k;

        for (size_t i = 0; i < PROTO_MAX_FDS; i++)
                ret_fds[i] = -EBADF;
        buf = malloc(PROTO_MAX_PACKET + 1);
        if (!buf)
                return -ENOMEM;
        iov = (struct iovec){ .iov_base = buf, .iov_len = PROTO_MAX_PACKET + 1 };
        k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (k < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int *p = (int *) CMSG_DATA(c);
                        for (size_t i = 0; i < n; i++) {
                                if (n_fds < PROTO_MAX_FDS)
                                        ret_fds[n_fds++] = p[i];
                                else
                                        (void) close(p[i]);
                        }
                }
        if (ret_n_fds)
                *ret_n_fds = n_fds;
        if (k == 0) {
                proto_close_fds(ret_fds, n_fds);
                *ret = NULL;
                return 0;
        }
        if ((size_t) k > PROTO_MAX_PACKET || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                proto_close_fds(ret_fds, n_fds);
                return -EMSGSIZE;
        }
        j = json_loadb(buf, (size_t) k, JSON_REJECT_DUPLICATES, &jerr);
        if (!j || !json_is_object(j)) {
                json_decref(j);
                proto_close_fds(ret_fds, n_fds);
                return -EBADMSG;
        }
        *ret = j;
        return 1;
}
