/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Minimal TAP producer for unit tests (automake's tap-driver reads it). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_n = 0, tap_failed = 0;

#define ok(cond, ...)                                                      \
        ({                                                                 \
                bool _c = (cond);                                          \
                tap_n++;                                                   \
                printf("%sok %u - ", _c ? "" : "not ", tap_n);             \
                printf(__VA_ARGS__);                                       \
                printf("\n");                                              \
                if (!_c) {                                                 \
                        tap_failed++;                                      \
                        printf("# failed at %s:%d\n", __FILE__, __LINE__); \
                }                                                          \
                fflush(stdout);                                            \
                _c;                                                        \
        })

#define diag(...)                    \
        do {                         \
                printf("# ");        \
                printf(__VA_ARGS__); \
                printf("\n");        \
        } while (0)

#define ASSERT_OK(expr)                                                       \
        ({                                                                    \
                long _r = (long) (expr);                                      \
                ok(_r >= 0, "%s", #expr);                                     \
                if (_r < 0)                                                   \
                        diag("  returned %ld (%s)", _r, strerror((int) -_r)); \
                _r >= 0;                                                      \
        })

#define ASSERT_ERROR(expr, err)                                                \
        ({                                                                     \
                long _r = (long) (expr);                                       \
                ok(_r == -(long) (err), "%s == -%s", #expr, #err);             \
                if (_r != -(long) (err))                                       \
                        diag("  returned %ld, expected %d", _r, -(int) (err)); \
                _r == -(long) (err);                                           \
        })

static inline int done_testing(void) {
        printf("1..%u\n", tap_n);
        return tap_failed > 0 ? 1 : 0;
}
