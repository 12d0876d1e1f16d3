/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* A workload's output log (docs/logs.md): what a detached workload writes to stdout and stderr,
 * captured by its monitor from pipes, as records in the CRI log format that kubelet and conmon's
 * k8s-file use:
 *
 *     2026-12-02T15:28:07.123456789Z stdout F a whole line
 *     2026-12-02T15:28:07.123456789Z stderr P a part of a line, the rest in the next record
 *
 * in DIR/output.log, rotated to DIR/output.log.1 once it would grow past max_size (so disk use is
 * at most about 2 × max_size). Every record is one write() of whole records; a record never spans
 * the two files. The timestamp is fixed width (UTC, nanoseconds), so comparing timestamps is
 * comparing strings. */

#define OUTPUT_LOG "output.log"
#define OUTPUT_LOG_OLD "output.log.1"
#define OUTPUT_LOG_TS_LEN 30 /* "2026-12-02T15:28:07.123456789Z" */
/* TS, ' ', "stdout", ' ', 'F', ' ' */
#define OUTPUT_LOG_HDR_LEN (OUTPUT_LOG_TS_LEN + 10)
#define OUTPUT_LOG_DEFAULT_MAX (4ULL * 1024 * 1024)
#define OUTPUT_LOG_MIN_MAX (64ULL * 1024)
#define OUTPUT_LOG_MAX_MAX (1ULL << 32)

/* Bits of the streams to capture. */
#define OUTPUT_LOG_STDOUT 1U
#define OUTPUT_LOG_STDERR 2U

typedef struct OutputLog OutputLog;

/* Creates the pipes for the streams in mask: *ret_fds[0] the stdout write end (or -EBADF if not
 * captured), [1] stderr's, for the payload; the read ends are read from the event loop. journal:
 * also send each record to the journal with ISOD_WORKLOAD=name, ISOD_ISOLATION=isolation. */
int output_log_new(sd_event *e, int dir_fd, unsigned mask, uint64_t max_size, const char *name,
                   const char *isolation, int ret_fds[2], OutputLog **ret);
/* Also hands every chunk read, as read, to cb (stream: OUTPUT_LOG_STDOUT or _STDERR): an attached
 * client's copy. NULL stops it. */
typedef void (*output_log_tee_t)(void *userdata, unsigned stream, const char *p, size_t n);
void output_log_set_tee(OutputLog *l, output_log_tee_t cb, void *userdata);
/* Reads stream bit (OUTPUT_LOG_STDOUT or _STDERR) from fd (taken; a pty master, say) instead of a
 * pipe of ours: for a terminal workload, whose output is the terminal's. */
int output_log_add_fd(OutputLog *l, sd_event *e, unsigned bit, int fd);
/* Reads what is still in the pipes (the payload has exited) and writes it out. */
void output_log_drain(OutputLog *l);
OutputLog *output_log_free(OutputLog *l);
/* "YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ" of a CLOCK_REALTIME time in nanoseconds; buf has room for
 * OUTPUT_LOG_TS_LEN + 1. */
void output_log_timestamp(uint64_t nsec, char buf[OUTPUT_LOG_TS_LEN + 1]);

/* The reading side, `isod-monitor --read-logs` (isod spawns one per GetLogs call). */
typedef struct OutputLogRead {
        unsigned streams;    /* mask; 0: both */
        uint64_t tail;       /* the last N records (0: all) */
        uint64_t since_usec; /* CLOCK_REALTIME; 0: from the start */
        bool follow;         /* then wait for more until the monitor (pidfd) exits or the reader goes */
        bool console;        /* the VM's console.log instead (raw bytes, no records) */
} OutputLogRead;

/* Writes what a reads from the log in dir_fd to out_fd (records verbatim; console: raw); with
 * follow, waits on inotify and on pidfd (-EBADF: the workload has ended, no waiting). Returns 0
 * when done or when the reader of out_fd went away. */
int output_log_read(int dir_fd, int out_fd, int pidfd, const OutputLogRead *a);
