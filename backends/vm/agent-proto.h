/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The isod ⇄ isod-agent wire protocol on the virtio-serial port "isod.ctl" (docs/agent-protocol.md).
 *
 * A frame is an 8-byte header, little-endian: u32 payload size, u16 type, u16 reserved (0), then
 * the payload (at most AGENT_FRAME_MAX_PAYLOAD bytes). Payloads are either fixed binary fields
 * (little-endian u32) or a "key=value\0" list. This file is plain C with no dependencies: the
 * host (monitor) and the static guest agent (musl) both build agent-proto.c.
 *
 * The host treats everything the guest sends as hostile: sizes are checked before anything is
 * buffered, every type has an exact or a bounded size, lists are bounded, and strings must be
 * NUL-terminated without embedded garbage. A malformed frame is an error, never a crash. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_PROTO_VERSION 2U
#define AGENT_FRAME_HEADER_SIZE 8U
#define AGENT_FRAME_MAX_PAYLOAD (64U * 1024U)
#define AGENT_KV_MAX_ENTRIES 1024U
/* Largest data chunk in an OUTPUT/STDIN frame (payload minus the u32 id). */
#define AGENT_DATA_MAX (AGENT_FRAME_MAX_PAYLOAD - 4U)

/* Virtio-serial port names (QEMU "virtserialport,name=…"; /sys/class/virtio-ports/ * /name). */
#define AGENT_PORT_CONTROL "isod.ctl"
#define AGENT_PORT_CONSOLE "isod.console"
/* virtio-blk serial of the rootfs image, and prefix of extra read-only mounts ("isod.mnt0"…). */
#define AGENT_DISK_ROOTFS "isod.rootfs"
#define AGENT_DISK_MOUNT_PREFIX "isod.mnt"

typedef enum AgentMsgType {
        /* host → guest */
        AGENT_MSG_CONFIG = 0x01,        /* kv: arg, env, cwd, user, group, hostname, terminal, ... */
        AGENT_MSG_SIGNAL = 0x02,        /* u32 id (0 = workload), u32 signo */
        AGENT_MSG_EXEC = 0x03,          /* u32 id (>0), kv as CONFIG (arg, env, cwd, user, terminal) */
        AGENT_MSG_STDIN = 0x04,         /* u32 id (0 = workload), data; empty data = EOF */
        AGENT_MSG_WINSIZE = 0x05,       /* u32 id, u32 rows, u32 cols */
        AGENT_MSG_STATS_REQUEST = 0x06, /* empty */
        /* u32 id, u32 bytes: that much of the session's STDOUT/STDERR data reached its client (or
         * was dropped because the client is gone). The agent sends at most AGENT_OUTPUT_WINDOW
         * bytes of a session's output ahead of these, so the host never has to stop reading the
         * control port: one client that does not read stalls only its own session. */
        AGENT_MSG_OUTPUT_ACK = 0x07,

        /* guest → host */
        AGENT_MSG_READY = 0x81,   /* kv: version, kernel */
        AGENT_MSG_STARTED = 0x82, /* u32 id, u32 guest pid */
        AGENT_MSG_EXIT = 0x83,    /* u32 id, u32 exit code (0..255), u32 signal (0 = none) */
        AGENT_MSG_STDOUT = 0x84,  /* u32 id (0 = workload), data; empty data = EOF */
        AGENT_MSG_STDERR = 0x85,  /* u32 id (0 = workload), data; empty data = EOF */
        AGENT_MSG_STATS = 0x86,   /* kv: mem_total, mem_available, cpu_usec, pids, uptime_usec */
        AGENT_MSG_ERROR = 0x87,   /* u32 id, UTF-8 text (not NUL-terminated), at most 4 KiB */
        /* u32 id, u32 bytes: that much of the session's STDIN was written to its process (or
         * discarded because the process closed its stdin). The host keeps at most
         * AGENT_STDIN_WINDOW bytes unacknowledged per session, so the agent's buffer is bounded
         * and never has to block on a process that does not read. */
        AGENT_MSG_STDIN_ACK = 0x88,
} AgentMsgType;

#define AGENT_ERROR_MAX 4096U
#define AGENT_STDIN_WINDOW (256U * 1024U)
#define AGENT_OUTPUT_WINDOW (256U * 1024U)

typedef struct AgentFrameHeader {
        uint32_t size;
        uint16_t type;
        uint16_t reserved;
} AgentFrameHeader;

/* Incremental frame reader: feed it bytes as they arrive; it never holds more than one frame. */
typedef struct AgentReader {
        uint8_t header[AGENT_FRAME_HEADER_SIZE];
        size_t header_fill;
        AgentFrameHeader hdr;
        uint8_t *payload; /* AGENT_FRAME_MAX_PAYLOAD bytes, allocated by agent_reader_init() */
        size_t payload_fill;
        bool guest_side; /* true in the agent: accept host→guest types */
} AgentReader;

typedef struct AgentFrame {
        uint16_t type;
        const uint8_t *payload; /* borrowed from the reader until the next feed */
        size_t size;
} AgentFrame;

int agent_reader_init(AgentReader *r, bool guest_side);
void agent_reader_done(AgentReader *r);
/* Consumes up to n bytes from data. Returns 1 when a frame is complete (*ret_frame valid until the
 * next call; *ret_consumed bytes were used), 0 when all n bytes were consumed and more are
 * needed, or -EBADMSG (bad header: unknown type for this direction, reserved bits, size too big
 * or wrong for the type). After an error the reader must not be fed again. */
int agent_reader_feed(AgentReader *r, const void *data, size_t n, size_t *ret_consumed,
                      AgentFrame *ret_frame);

/* Whether type is valid in this direction, and the size limits of its payload. */
bool agent_msg_type_valid(uint16_t type, bool from_guest);
const char *agent_msg_type_to_string(uint16_t type);

/* Header encoding. buf must have AGENT_FRAME_HEADER_SIZE bytes. */
void agent_frame_header_put(uint8_t *buf, uint16_t type, uint32_t size);
uint32_t agent_get_u32(const uint8_t *p);
void agent_put_u32(uint8_t *p, uint32_t v);

/* "key=value\0" lists. agent_kv_next() walks them: returns 1 with key/value (key NUL-terminated
 * copy not needed: key_len gives its length), 0 at the end, -EBADMSG when malformed (missing
 * terminator, empty key, no '=', too many entries). */
typedef struct AgentKvIter {
        const uint8_t *p;
        size_t left;
        unsigned count;
} AgentKvIter;

void agent_kv_iter_init(AgentKvIter *it, const uint8_t *p, size_t n);
int agent_kv_next(AgentKvIter *it, const char **ret_key, size_t *ret_key_len, const char **ret_value);
/* Validates a whole kv payload (for the fuzz test and the host's frame checks). */
int agent_kv_validate(const uint8_t *p, size_t n);
bool agent_kv_key_is(const char *key, size_t key_len, const char *want);

/* Typed decoding of guest → host frames, with all checks. Borrowed pointers into the frame. */
typedef struct AgentMsg {
        uint16_t type;
        uint32_t id;
        union {
                struct {
                        uint32_t pid;
                } started;
                struct {
                        uint32_t code;
                        uint32_t signal;
                } exit;
                struct {
                        const uint8_t *data;
                        size_t size;
                } data; /* STDOUT/STDERR/ERROR */
                struct {
                        const uint8_t *kv;
                        size_t size;
                } kv; /* READY/STATS */
                struct {
                        uint32_t bytes;
                } ack;
        };
} AgentMsg;

int agent_msg_decode_from_guest(const AgentFrame *f, AgentMsg *ret);
