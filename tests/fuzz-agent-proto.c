/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the host side of the agent protocol (clang -fsanitize=fuzzer,address).
 * The first byte picks a chunk size, so frame boundaries land everywhere. */

#include <stddef.h>
#include <stdint.h>

#include "agent-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AgentReader r;
        size_t chunk, off = 0;

        if (size < 1 || agent_reader_init(&r, false) < 0)
                return 0;
        chunk = 1 + data[0];
        data++, size--;
        while (off < size) {
                size_t len = size - off < chunk ? size - off : chunk, pos = 0;
                while (pos < len) {
                        AgentFrame f;
                        AgentMsg m;
                        size_t used = 0;
                        int k = agent_reader_feed(&r, data + off + pos, len - pos, &used, &f);
                        if (k < 0)
                                goto out;
                        pos += used;
                        if (k == 1 && agent_msg_decode_from_guest(&f, &m) < 0)
                                goto out;
                        if (k == 0)
                                break;
                }
                off += len;
        }
out:
        agent_reader_done(&r);
        return 0;
}
