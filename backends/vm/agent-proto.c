/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Frame reader and message decoding for the agent protocol. Shared by the host (isod-monitor)
 * and the guest agent, so it uses libc only. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto.h"

uint32_t agent_get_u32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

void agent_put_u32(uint8_t *p, uint32_t v) {
        p[0] = v & 0xff;
        p[1] = (v >> 8) & 0xff;
        p[2] = (v >> 16) & 0xff;
        p[3] = (v >> 24) & 0xff;
}

void agent_frame_header_put(uint8_t *buf, uint16_t type, uint32_t size) {
        agent_put_u32(buf, size);
        buf[4] = type & 0xff;
        buf[5] = type >> 8;
        buf[6] = buf[7] = 0;
}

bool agent_msg_type_valid(uint16_t type, bool from_guest) {
        if (from_guest)
                return type >= AGENT_MSG_READY && type <= AGENT_MSG_STDIN_ACK;
        return type >= AGENT_MSG_CONFIG && type <= AGENT_MSG_OUTPUT_ACK;
}

const char *agent_msg_type_to_string(uint16_t type) {
        switch (type) {
        case AGENT_MSG_CONFIG:
                return "config";
        case AGENT_MSG_SIGNAL:
                return "signal";
        case AGENT_MSG_EXEC:
                return "exec";
        case AGENT_MSG_STDIN:
                return "stdin";
        case AGENT_MSG_WINSIZE:
                return "winsize";
        case AGENT_MSG_STATS_REQUEST:
                return "stats-request";
        case AGENT_MSG_OUTPUT_ACK:
                return "output-ack";
        case AGENT_MSG_READY:
                return "ready";
        case AGENT_MSG_STARTED:
                return "started";
        case AGENT_MSG_EXIT:
                return "exit";
        case AGENT_MSG_STDOUT:
                return "stdout";
        case AGENT_MSG_STDERR:
                return "stderr";
        case AGENT_MSG_STATS:
                return "stats";
        case AGENT_MSG_ERROR:
                return "error";
        case AGENT_MSG_STDIN_ACK:
                return "stdin-ack";
        default:
                return NULL;
        }
}

/* Size rules per type, checked on the header alone, so an oversized or wrong frame is refused
 * before its payload is buffered. */
static bool size_ok(uint16_t type, uint32_t size) {
        switch (type) {
        case AGENT_MSG_SIGNAL:
        case AGENT_MSG_STARTED:
                return size == 8;
        case AGENT_MSG_STDIN_ACK:
        case AGENT_MSG_OUTPUT_ACK:
                return size == 8;
        case AGENT_MSG_EXIT:
        case AGENT_MSG_WINSIZE:
                return size == 12;
        case AGENT_MSG_STATS_REQUEST:
                return size == 0;
        case AGENT_MSG_EXEC:
        case AGENT_MSG_STDIN:
        case AGENT_MSG_STDOUT:
        case AGENT_MSG_STDERR:
                return size >= 4;
        case AGENT_MSG_ERROR:
                return size >= 4 && size <= 4 + AGENT_ERROR_MAX;
        default:
                return true;
        }
}

int agent_reader_init(AgentReader *r, bool guest_side) {
        *r = (AgentReader){
                .guest_side = guest_side,
                .payload = malloc(AGENT_FRAME_MAX_PAYLOAD),
        };
        return r->payload ? 0 : -ENOMEM;
}

void agent_reader_done(AgentReader *r) {
        free(r->payload);
        r->payload = NULL;
}

int agent_reader_feed(AgentReader *r, const void *data, size_t n, size_t *ret_consumed,
                      AgentFrame *ret_frame) {
        const uint8_t *p = data;
        size_t used = 0, k;

        if (!r->payload)
                return -EINVAL;

        while (used < n || (r->header_fill == AGENT_FRAME_HEADER_SIZE && r->payload_fill == r->hdr.size)) {
                if (r->header_fill < AGENT_FRAME_HEADER_SIZE) {
                        k = AGENT_FRAME_HEADER_SIZE - r->header_fill;
                        if (k > n - used)
                                k = n - used;
                        memcpy(r->header + r->header_fill, p + used, k);
                        r->header_fill += k;
                        used += k;
                        if (r->header_fill < AGENT_FRAME_HEADER_SIZE)
                                break;

                        r->hdr.size = agent_get_u32(r->header);
                        r->hdr.type = (uint16_t) (r->header[4] | r->header[5] << 8);
                        r->hdr.reserved = (uint16_t) (r->header[6] | r->header[7] << 8);
                        if (r->hdr.reserved != 0 || r->hdr.size > AGENT_FRAME_MAX_PAYLOAD ||
                            !agent_msg_type_valid(r->hdr.type, !r->guest_side) ||
                            !size_ok(r->hdr.type, r->hdr.size))
                                return -EBADMSG;
                        r->payload_fill = 0;
                }

                k = r->hdr.size - r->payload_fill;
                if (k > n - used)
                        k = n - used;
                memcpy(r->payload + r->payload_fill, p + used, k);
                r->payload_fill += k;
                used += k;

                if (r->payload_fill == r->hdr.size) {
                        *ret_frame = (AgentFrame){
                                .type = r->hdr.type,
                                .payload = r->payload,
                                .size = r->hdr.size,
                        };
                        r->header_fill = 0;
                        r->payload_fill = 0;
                        *ret_consumed = used;
                        return 1;
                }
        }

        *ret_consumed = used;
        return 0;
}

void agent_kv_iter_init(AgentKvIter *it, const uint8_t *p, size_t n) {
        *it = (AgentKvIter){ .p = p, .left = n };
}

int agent_kv_next(AgentKvIter *it, const char **ret_key, size_t *ret_key_len, const char **ret_value) {
        const uint8_t *nul, *eq;
        size_t len;

        if (it->left == 0)
                return 0;
        if (++it->count > AGENT_KV_MAX_ENTRIES)
                return -EBADMSG;
        nul = memchr(it->p, 0, it->left);
        if (!nul)
                return -EBADMSG;
        len = (size_t) (nul - it->p);
        eq = memchr(it->p, '=', len);
        if (!eq || eq == it->p)
                return -EBADMSG;

        *ret_key = (const char *) it->p;
        *ret_key_len = (size_t) (eq - it->p);
        *ret_value = (const char *) eq + 1;
        it->p = nul + 1;
        it->left -= len + 1;
        return 1;
}

int agent_kv_validate(const uint8_t *p, size_t n) {
        AgentKvIter it;
        const char *k, *v;
        size_t kl;
        int r;

        agent_kv_iter_init(&it, p, n);
        while ((r = agent_kv_next(&it, &k, &kl, &v)) > 0)
                ;
        return r;
}

bool agent_kv_key_is(const char *key, size_t key_len, const char *want) {
        return strlen(want) == key_len && memcmp(key, want, key_len) == 0;
}

int agent_msg_decode_from_guest(const AgentFrame *f, AgentMsg *ret) {
        AgentMsg m = { .type = f->type };
        int r;

        if (!agent_msg_type_valid(f->type, true) || !size_ok(f->type, (uint32_t) f->size) ||
            f->size > AGENT_FRAME_MAX_PAYLOAD)
                return -EBADMSG;

        switch (f->type) {
        case AGENT_MSG_READY:
        case AGENT_MSG_STATS:
                r = agent_kv_validate(f->payload, f->size);
                if (r < 0)
                        return r;
                m.kv.kv = f->payload;
                m.kv.size = f->size;
                break;
        case AGENT_MSG_STARTED:
                m.id = agent_get_u32(f->payload);
                m.started.pid = agent_get_u32(f->payload + 4);
                if (m.started.pid == 0 || m.started.pid > 4194304U)
                        return -EBADMSG;
                break;
        case AGENT_MSG_EXIT:
                m.id = agent_get_u32(f->payload);
                m.exit.code = agent_get_u32(f->payload + 4);
                m.exit.signal = agent_get_u32(f->payload + 8);
                if (m.exit.code > 255 || m.exit.signal > 64)
                        return -EBADMSG;
                break;
        case AGENT_MSG_STDIN_ACK:
                m.id = agent_get_u32(f->payload);
                m.ack.bytes = agent_get_u32(f->payload + 4);
                if (m.ack.bytes > AGENT_STDIN_WINDOW)
                        return -EBADMSG;
                break;
        case AGENT_MSG_STDOUT:
        case AGENT_MSG_STDERR:
        case AGENT_MSG_ERROR:
                m.id = agent_get_u32(f->payload);
                m.data.data = f->payload + 4;
                m.data.size = f->size - 4;
                break;
        default:
                return -EBADMSG;
        }

        *ret = m;
        return 0;
}
