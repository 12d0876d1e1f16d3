/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "policy-parse-internal.h"
#include "util.h"

/* The parser's error messages: each names the policy's source, the line of the offending value
 * (found by walking the text, as jansson keeps no positions) and where in the policy it is. */

/* ---- Finding the line of a JSON value ----------------------------------------------------------
 * jansson keeps no positions for values, so for semantic errors we walk the (already validated)
 * text to the value a path names and report the line where it starts. */

typedef struct JsonPathItem {
        const char *key; /* object member, or NULL for an array element */
        size_t index;
} JsonPathItem;

typedef struct Scanner {
        const char *p, *end;
        unsigned line;
} Scanner;

static void scan_ws(Scanner *s) {
        while (s->p < s->end && *s->p && strchr(" \t\r\n", *s->p)) {
                if (*s->p == '\n')
                        s->line++;
                s->p++;
        }
}

static void scan_string(Scanner *s) {
        s->p++; /* the opening quote */
        while (s->p < s->end) {
                if (*s->p == '\\')
                        s->p = s->end - s->p > 1 ? s->p + 2 : s->end;
                else if (*(s->p++) == '"')
                        return;
        }
}

static void scan_skip_value(Scanner *s) {
        unsigned depth = 0;

        do {
                scan_ws(s);
                if (s->p >= s->end)
                        return;
                switch (*s->p) {
                case '"':
                        scan_string(s);
                        break;
                case '{':
                case '[':
                        depth++;
                        s->p++;
                        break;
                case '}':
                case ']':
                        if (depth > 0)
                                depth--;
                        s->p++;
                        break;
                case ',':
                case ':':
                        s->p++;
                        break;
                default: {
                        const char *start = s->p;
                        while (s->p < s->end && *s->p && !strchr(",:[]{}\" \t\r\n", *s->p))
                                s->p++;
                        if (s->p == start)
                                s->p++; /* always make progress */
                }
                }
        } while (depth > 0);
}

static unsigned json_text_locate(const char *text, size_t size, const JsonPathItem *path, size_t n) {
        Scanner s = { .p = text, .end = text + size, .line = 1 };
        unsigned best = 0;

        for (size_t i = 0; i < n; i++) {
                scan_ws(&s);
                if (s.p >= s.end || *s.p != (path[i].key ? '{' : '['))
                        return best;
                s.p++;
                for (size_t j = 0;; j++) {
                        bool found;

                        scan_ws(&s);
                        if (s.p >= s.end || *s.p == '}' || *s.p == ']')
                                return best;
                        if (path[i].key) {
                                const char *k = s.p + 1;
                                unsigned key_line = s.line;

                                if (*s.p != '"')
                                        return best;
                                scan_string(&s);
                                found = (size_t) (s.p - 1 - k) == strlen(path[i].key) &&
                                        strneq(k, path[i].key, strlen(path[i].key));
                                scan_ws(&s);
                                if (s.p >= s.end || *s.p != ':')
                                        return best;
                                s.p++;
                                if (found) {
                                        best = key_line;
                                        break;
                                }
                        } else if (j == path[i].index) {
                                best = s.line;
                                break;
                        }
                        scan_skip_value(&s);
                        scan_ws(&s);
                        if (s.p >= s.end || *s.p != ',')
                                return best;
                        s.p++;
                }
        }
        return best;
}

/* ---- Error messages ----------------------------------------------------------------------------- */

int set_message(ParseContext *ctx, int error, unsigned line, const char *msg) {
        char *m = NULL;
        int k;

        if (!ctx->reterr)
                return error;
        if (ctx->source && line > 0)
                k = asprintf(&m, "%s:%u: %s", ctx->source, line, msg);
        else if (ctx->source)
                k = asprintf(&m, "%s: %s", ctx->source, msg);
        else if (line > 0)
                k = asprintf(&m, "line %u: %s", line, msg);
        else
                k = asprintf(&m, "%s", msg);
        free(*ctx->reterr);
        *ctx->reterr = k < 0 ? NULL : m;
        return error;
}

/* An error about a top-level key (NULL: about the whole document). */
_printf_(4, 5) int top_error(ParseContext *ctx, int error, const char *key, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        JsonPathItem path[] = { { .key = key } };
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return set_message(ctx, error, json_text_locate(ctx->text, ctx->size, path, key ? 1 : 0), msg);
}

/* An error inside a rule or the default, at rule.k1.k2 (either may be NULL; k1 may be dotted, as in
 * "match.labels"). */
_printf_(5, 6) int where_error(ParseContext *ctx, const Where *w, const char *k1, const char *k2,
                               const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *full = NULL, *section = NULL;
        JsonPathItem path[8];
        size_t n = 0;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;

        if (w->is_default) {
                path[n++] = (JsonPathItem){ .key = "default" };
                k = asprintf(&full, "default: %s", msg);
        } else {
                path[n++] = (JsonPathItem){ .key = "rules" };
                path[n++] = (JsonPathItem){ .index = w->index };
                if (w->name)
                        k = asprintf(&full, "rule '%s' (rules[%zu]): %s", w->name, w->index, msg);
                else
                        k = asprintf(&full, "rules[%zu]: %s", w->index, msg);
        }
        if (k < 0)
                return -ENOMEM;
        if (k1) {
                section = strdup(k1);
                if (!section)
                        return -ENOMEM;
                for (char *s = section, *dot; s && n < ELEMENTSOF(path) - 1; s = dot) {
                        dot = strchr(s, '.');
                        if (dot)
                                *dot++ = 0;
                        path[n++] = (JsonPathItem){ .key = s };
                }
                if (k2)
                        path[n++] = (JsonPathItem){ .key = k2 };
        }
        return set_message(ctx, -EINVAL, json_text_locate(ctx->text, ctx->size, path, n), full);
}

int check_keys(ParseContext *ctx, const Where *w, const char *section, json_t *obj,
               const char *const *allowed) {
        const char *key;
        json_t *v;

        json_object_foreach (obj, key, v) {
                _cleanup_free_ char *known = NULL;
                bool ok = false;

                for (const char *const *a = allowed; *a; a++)
                        if (streq(*a, key)) {
                                ok = true;
                                break;
                        }
                if (ok)
                        continue;
                known = strv_join((char **) allowed, ", ");
                if (!known)
                        return -ENOMEM;
                return where_error(ctx, w, section, key, "Unknown key '%s%s%s' (known keys: %s).",
                                   strempty(section), section ? "." : "", key, known);
        }
        return 0;
}
