/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_ident = "isod";
static LogTarget log_target = LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;
static char log_instance[80];
static char log_backend[32];

void log_setup(const char *ident, LogTarget target) {
        struct stat st;

        log_ident = ident;
        log_target = target;
        if (target == LOG_TARGET_AUTO) {
                /* Journal when journald's socket exists and stderr is not a terminal (when a
                 * person runs us by hand they want to see the messages). */
                if (stat("/run/systemd/journal/socket", &st) >= 0 && !isatty(STDERR_FILENO))
                        log_target = LOG_TARGET_JOURNAL;
                else
                        log_target = LOG_TARGET_STDERR;
        }
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_context(const char *instance, const char *backend) {
        (void) snprintf(log_instance, sizeof log_instance, "%s", strempty(instance));
        (void) snprintf(log_backend, sizeof log_backend, "%s", strempty(backend));
}

static int log_internalv(int level, int error, const char *workload, const char *file, int line,
                         const char *func, const char *fmt, va_list ap) _printf_(7, 0);
static int log_internalv(int level, int error, const char *workload, const char *file, int line,
                         const char *func, const char *fmt, va_list ap) {
        char buf[2048], wl[96];
        int saved = errno;

        error = abs(error);
        if (error != 0)
                errno = error;
        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        if (workload)
                (void) snprintf(wl, sizeof wl, "ISOD_WORKLOAD=%s", workload);

        if (log_target == LOG_TARGET_JOURNAL) {
                char cf[256], cl[32], cfn[128], inst[100], be[48], en[32];

                (void) snprintf(cf, sizeof cf, "CODE_FILE=%s", file);
                (void) snprintf(cl, sizeof cl, "CODE_LINE=%d", line);
                (void) snprintf(cfn, sizeof cfn, "CODE_FUNC=%s", func);
                (void) snprintf(inst, sizeof inst, "ISOD_INSTANCE=%s", log_instance);
                (void) snprintf(be, sizeof be, "ISOD_BACKEND=%s", log_backend);
                (void) snprintf(en, sizeof en, "ERRNO=%d", error);
                /* The optional fields last: sd_journal_send() stops at the first NULL. */
                if (sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level, "SYSLOG_IDENTIFIER=%s",
                                    log_ident, cf, cl, cfn, inst, be,
                                    workload     ? wl
                                    : error != 0 ? en
                                                 : NULL,
                                    workload && error != 0 ? en : NULL, NULL) >= 0)
                        goto finish;
        }

        if (log_instance[0])
                (void) fprintf(stderr, "%s[%s]: %s\n", log_ident, log_instance, buf);
        else
                (void) fprintf(stderr, "%s: %s\n", log_ident, buf);
finish:
        errno = saved;
        return -error;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_internalv(level, error, NULL, file, line, func, fmt, ap);
        va_end(ap);
        return r;
}

int log_internal_workload(int level, const char *workload, const char *file, int line, const char *func,
                          const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_internalv(level, 0, workload, file, line, func, fmt, ap);
        va_end(ap);
        return r;
}
