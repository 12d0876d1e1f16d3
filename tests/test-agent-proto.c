/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host side of the agent protocol against a hostile guest: valid frames split at every
 * byte, truncated, oversized, wrong-direction and unknown types, and a few hundred thousand
 * random and mutated streams. Nothing may crash, hang, or accept a frame it should refuse. */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "agent-proto.h"
#include "macro.h"
#include "tap.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint32_t) rng_state;
}

static size_t frame(uint8_t *buf, uint16_t type, const void *payload, uint32_t size) {
        agent_frame_header_put(buf, type, size);
        if (size > 0)
                memcpy(buf + AGENT_FRAME_HEADER_SIZE, payload, size);
        return AGENT_FRAME_HEADER_SIZE + size;
}

/* Feeds a whole stream in chunks of the given size; returns frames decoded, or -errno. */
static int feed_stream(const uint8_t *data, size_t n, size_t chunk, unsigned *ret_msgs) {
        AgentReader r;
        unsigned msgs = 0;
        size_t off = 0;
        int k = 0;

        if (agent_reader_init(&r, false) < 0)
                return -ENOMEM;
        while (off < n) {
                size_t len = chunk == 0 ? n - off : MIN(chunk, n - off), used = 0, pos = 0;
                while (pos < len) {
                        AgentFrame f;
                        AgentMsg m;

                        k = agent_reader_feed(&r, data + off + pos, len - pos, &used, &f);
                        if (k < 0)
                                goto out;
                        if (used == 0 && k == 0) {
                                k = -EIO; /* no progress: would hang */
                                goto out;
                        }
                        pos += used;
                        if (k == 1) {
                                k = agent_msg_decode_from_guest(&f, &m);
                                if (k < 0)
                                        goto out;
                                if ((m.type == AGENT_MSG_STDOUT || m.type == AGENT_MSG_STDERR ||
                                     m.type == AGENT_MSG_ERROR) &&
                                    m.data.size > AGENT_FRAME_MAX_PAYLOAD) {
                                        k = -EFAULT;
                                        goto out;
                                }
                                msgs++;
                        }
                }
                off += len;
        }
        k = 0;
out:
        agent_reader_done(&r);
        if (ret_msgs)
                *ret_msgs = msgs;
        return k;
}

int main(void) {
        static uint8_t buf[4 * (AGENT_FRAME_MAX_PAYLOAD + 64)];
        static uint8_t p[8192];
        unsigned msgs;
        size_t n = 0;
        int r;

        /* A valid stream: ready, started, stdout (an exec's and the workload's), stdin-ack, exit,
         * stats, error. */
        n += frame(buf + n, AGENT_MSG_READY, "version=2\0kernel=6.1\0", 21);
        agent_put_u32(p, 0);
        agent_put_u32(p + 4, 77);
        n += frame(buf + n, AGENT_MSG_STARTED, p, 8);
        agent_put_u32(p, 1);
        memcpy(p + 4, "hello", 5);
        n += frame(buf + n, AGENT_MSG_STDOUT, p, 9);
        agent_put_u32(p, 0);
        n += frame(buf + n, AGENT_MSG_STDOUT, p, 9);
        agent_put_u32(p + 4, AGENT_STDIN_WINDOW);
        n += frame(buf + n, AGENT_MSG_STDIN_ACK, p, 8);
        agent_put_u32(p, 0);
        agent_put_u32(p + 4, 3);
        agent_put_u32(p + 8, 0);
        n += frame(buf + n, AGENT_MSG_EXIT, p, 12);
        n += frame(buf + n, AGENT_MSG_STATS, "pids=3\0", 7);
        agent_put_u32(p, 0);
        memcpy(p + 4, "oops", 4);
        n += frame(buf + n, AGENT_MSG_ERROR, p, 8);

        ok(feed_stream(buf, n, 0, &msgs) == 0 && msgs == 8, "valid stream in one piece: 8 messages");
        bool all = true;
        for (size_t c = 1; c <= 13; c++)
                all = all && feed_stream(buf, n, c, &msgs) == 0 && msgs == 8;
        ok(all, "valid stream split into chunks of 1..13 bytes: same 8 messages");

        /* Truncated: not an error, just incomplete (the connection's EOF decides). */
        ok(feed_stream(buf, n - 3, 0, &msgs) == 0 && msgs == 7,
           "truncated stream: 7 complete messages, no error");

        /* Oversized. */
        agent_frame_header_put(p, AGENT_MSG_STDOUT, AGENT_FRAME_MAX_PAYLOAD + 1);
        ASSERT_ERROR(feed_stream(p, AGENT_FRAME_HEADER_SIZE, 0, NULL), EBADMSG);
        agent_frame_header_put(p, AGENT_MSG_STDOUT, UINT32_MAX);
        ASSERT_ERROR(feed_stream(p, AGENT_FRAME_HEADER_SIZE, 0, NULL), EBADMSG);
        /* Maximum size is fine. */
        {
                static uint8_t big[AGENT_FRAME_HEADER_SIZE + AGENT_FRAME_MAX_PAYLOAD];
                agent_frame_header_put(big, AGENT_MSG_STDOUT, AGENT_FRAME_MAX_PAYLOAD);
                agent_put_u32(big + AGENT_FRAME_HEADER_SIZE, 5);
                ok(feed_stream(big, sizeof big, 4096, &msgs) == 0 && msgs == 1, "64 KiB payload accepted");
        }

        /* Wrong direction, unknown type, reserved bits. */
        agent_frame_header_put(p, AGENT_MSG_CONFIG, 0);
        ASSERT_ERROR(feed_stream(p, 8, 0, NULL), EBADMSG);
        agent_frame_header_put(p, 0x42, 0);
        ASSERT_ERROR(feed_stream(p, 8, 0, NULL), EBADMSG);
        agent_frame_header_put(p, AGENT_MSG_STATS, 0);
        p[6] = 1;
        ASSERT_ERROR(feed_stream(p, 8, 0, NULL), EBADMSG);

        /* Wrong fixed sizes and values. */
        memset(p, 0, sizeof p);
        n = frame(buf, AGENT_MSG_EXIT, p, 8);
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);
        agent_put_u32(p + 4, 256);
        n = frame(buf, AGENT_MSG_EXIT, p, 12);
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);
        memset(p, 0, sizeof p);
        n = frame(buf, AGENT_MSG_STARTED, p, 8); /* pid 0 */
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);
        n = frame(buf, AGENT_MSG_STDIN_ACK, p, 4); /* id without a count */
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);
        agent_put_u32(p + 4, AGENT_STDIN_WINDOW + 1); /* more than the host can have in flight */
        n = frame(buf, AGENT_MSG_STDIN_ACK, p, 8);
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);
        memset(p, 0, sizeof p);
        n = frame(buf, AGENT_MSG_ERROR, p, 4 + AGENT_ERROR_MAX + 1);
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);

        /* Malformed kv lists. */
        n = frame(buf, AGENT_MSG_STATS, "pids=3", 6); /* no NUL */
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);
        n = frame(buf, AGENT_MSG_STATS, "=3\0", 3);
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);
        n = frame(buf, AGENT_MSG_READY, "novalue\0", 8);
        ASSERT_ERROR(feed_stream(buf, n, 0, NULL), EBADMSG);
        {
                /* Too many entries. */
                static uint8_t kv[AGENT_FRAME_MAX_PAYLOAD];
                size_t k = 0;
                while (k + 4 <= sizeof kv - 8) {
                        memcpy(kv + k, "a=1", 4);
                        k += 4;
                }
                ASSERT_ERROR(agent_kv_validate(kv, k), EBADMSG);
        }

        /* Random streams and mutations of the valid one: must terminate with 0 or -EBADMSG. */
        {
                static uint8_t valid[512], rnd_buf[8192];
                size_t vn = 0;
                unsigned bad = 0, accepted = 0;

                vn += frame(valid + vn, AGENT_MSG_READY, "version=1\0", 10);
                agent_put_u32(p, 2);
                memcpy(p + 4, "data", 4);
                vn += frame(valid + vn, AGENT_MSG_STDERR, p, 8);
                agent_put_u32(p, 0);
                agent_put_u32(p + 4, 1);
                agent_put_u32(p + 8, 9);
                vn += frame(valid + vn, AGENT_MSG_EXIT, p, 12);

                for (unsigned i = 0; i < 200000; i++) {
                        size_t len;
                        if (i % 2 == 0) {
                                len = rnd() % sizeof rnd_buf;
                                for (size_t j = 0; j < len; j++)
                                        rnd_buf[j] = (uint8_t) rnd();
                                /* Bias towards plausible headers. */
                                if (len >= 8 && rnd() % 2) {
                                        agent_frame_header_put(rnd_buf, (uint16_t) (0x81 + rnd() % 8),
                                                               rnd() % 64);
                                }
                        } else {
                                len = vn;
                                memcpy(rnd_buf, valid, vn);
                                for (unsigned m = 1 + rnd() % 4; m > 0; m--)
                                        rnd_buf[rnd() % vn] ^= (uint8_t) (1u << (rnd() % 8));
                                if (rnd() % 4 == 0)
                                        len = rnd() % (vn + 1);
                        }
                        r = feed_stream(rnd_buf, len, 1 + rnd() % 64, &msgs);
                        if (r != 0 && r != -EBADMSG)
                                bad++;
                        if (r == 0)
                                accepted++;
                }
                ok(bad == 0, "200000 random/mutated streams: only 0 or -EBADMSG (%u accepted)", accepted);
        }

        return done_testing();
}
