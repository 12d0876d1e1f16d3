/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* Logging for daemon/, dbus-api/, monitor/ and client/. Library code (policy/, backends/ helpers,
 * common/) returns errors and lets the caller log.
 *
 * Every log_*_errno() sets errno = -r so "%m" works, and returns r (always negative when r != 0)
 * so it can be used as "return log_error_errno(r, ...)". Messages go to the journal when
 * journald's socket is there, else to stderr. */

typedef enum LogTarget {
        LOG_TARGET_AUTO,
        LOG_TARGET_STDERR,
        LOG_TARGET_JOURNAL,
} LogTarget;

void log_setup(const char *ident, LogTarget target);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Extra journal fields attached to each message of this process (e.g. ISOD_INSTANCE=web). */
void log_set_context(const char *instance, const char *backend);

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
        _printf_(6, 7);
/* A message about one workload: ISOD_WORKLOAD=NAME in the journal too (journalctl ISOD_WORKLOAD=web
 * finds isod's lifecycle messages with the workload's own output). */
int log_internal_workload(int level, const char *workload, const char *file, int line, const char *func,
                          const char *fmt, ...) _printf_(6, 7);
#define log_workload(level, workload, ...)                                                      \
        ((void) (log_get_max_level() >= LOG_PRI(level)                                          \
                         ? log_internal_workload(level, workload, __FILE__, __LINE__, __func__, \
                                                 __VA_ARGS__)                                   \
                         : 0))

#define log_full_errno(level, error, ...)                                                 \
        ({                                                                                \
                int _l = (level), _e = (error);                                           \
                (log_get_max_level() >= LOG_PRI(_l))                                      \
                        ? log_internal(_l, _e, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -abs(_e);                                                       \
        })

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_debug(...) log_debug_errno(0, __VA_ARGS__)
#define log_info(...) log_info_errno(0, __VA_ARGS__)
#define log_notice(...) log_notice_errno(0, __VA_ARGS__)
#define log_warning(...) log_warning_errno(0, __VA_ARGS__)
#define log_error(...) log_error_errno(0, __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
