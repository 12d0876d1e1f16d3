/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>

#include "macro.h"

/* isod ⇄ isod-monitor: one JSON object per SOCK_SEQPACKET packet, file descriptors attached with
 * SCM_RIGHTS. Packets are bounded (PROTO_MAX_PACKET) and carry at most PROTO_MAX_FDS fds. */

#define PROTO_MAX_PACKET (128U * 1024U)
#define PROTO_MAX_FDS 4U

/* Returns the number of bytes sent or -errno. */
int proto_send(int fd, json_t *msg, const int *fds, size_t n_fds);
/* Receives one packet. Returns 0 on EOF (and sets *ret to NULL), 1 with a message, -errno on
 * failure (-EAGAIN when nothing is pending, -EBADMSG for a packet that is not a JSON object).
 * Received fds are O_CLOEXEC; unused ones must be closed by the caller (ret_fds[i] >= 0). */
int proto_recv(int fd, json_t **ret, int ret_fds[static PROTO_MAX_FDS], size_t *ret_n_fds);
void proto_close_fds(int *fds, size_t n);
