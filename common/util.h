/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <inttypes.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Safe number parsing: whole string, no sign surprises, range-checked. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi(const char *s, int *ret);
int safe_atou32(const char *s, uint32_t *ret);
/* "256M", "1G", "4096", "512K" → bytes (base 1024). */
int parse_size(const char *s, uint64_t *ret);
/* "10s", "500ms", "2m", "3" (seconds) → microseconds. */
int parse_timespan(const char *s, uint64_t *ret);
int parse_signal(const char *s, int *ret);
const char *signal_to_name(int signo);

/* Workload names: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
bool workload_name_is_valid(const char *name);
/* A label key or image name: same alphabet, up to 63 characters after the first. */
bool identifier_is_valid(const char *s);
/* "sha256:" and 64 lowercase hex digits: a blob digest, a diff_id, a ChainID, an image ID. */
bool digest_is_valid(const char *d);

/* Reads a whole file (at most max_size bytes, else -EFBIG), NUL-terminated. */
int read_full_file_at(int dir_fd, const char *path, size_t max_size, char **ret, size_t *ret_size);
/* The same from an open file, read from its current offset. */
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);
/* Writes via a temporary file + rename, so readers see the old or the new content (no fsync:
 * meant for state on tmpfs). */
int write_file_atomic_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode);
/* The same, durable: the data is fsync()ed before the rename and the directory after it (for
 * state on disk that must survive a crash: networks, leases). */
int write_file_durable_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode);
int write_string_file(const char *path, const char *s);
/* write() until all of data is out (EINTR retried); 0 or -errno. */
int loop_write(int fd, const void *data, size_t size);
/* A new pty: the master (O_RDWR|O_NOCTTY|O_CLOEXEC|extra_flags) and its slave (O_CLOEXEC), the
 * size set when ws is given. */
struct winsize;
int pty_open_pair(int extra_flags, const struct winsize *ws, int *ret_master, int *ret_slave);
int read_one_line_file(const char *path, char **ret);

int mkdir_p(const char *path, mode_t mode);
/* mkdir_p(), then the directory opened O_DIRECTORY|O_CLOEXEC: the fd, or -errno. */
int mkdir_p_open(const char *path, mode_t mode);
int rm_rf_at(int dir_fd, const char *path);
int rm_rf(const char *path);

int fd_move_above_stdio(int fd);
int fd_set_nonblock(int fd, bool b);
int fd_set_cloexec(int fd, bool b);
/* Close every fd >= 3 except those listed. */
int close_all_fds_except(const int *keep, size_t n_keep);

uint64_t now_usec(int clock);

/* Replaces *reterr_message (when not NULL) with the formatted text; returns r, so that a failing
 * path is one statement: return set_error_message(reterr, -EINVAL, "…", …). */
int set_error_message(char **reterr_message, int r, const char *fmt, ...) _printf_(3, 4);

/* Bus object path escaping (like sd_bus_path_encode, but pure). */
char *strv_join(char **l, const char *sep);
size_t strv_length(char **l);
bool strv_contains(char *const *l, const char *s);
int strv_extend(char ***l, const char *s);
char **strv_copy(char **l);

/* pidfd helpers (syscall wrappers, glibc 2.36 has pidfd_open but not clone3). */
int pidfd_open_compat(pid_t pid, unsigned flags);
int pidfd_send_signal_compat(int pidfd, int sig);
/* This process's nice value; 0 or -errno. */
int nice_self(int *ret);

/* Process start time in clock ticks since boot (field 22 of /proc/PID/stat), to tell a PID
 * from a recycled one. */
int pid_get_starttime(pid_t pid, uint64_t *ret);
