/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>

#include "policy-internal.h"
#include "util.h"

/* The built-in policy. systemd/policy.json (installed as /etc/isod/policy.json) holds the same
 * text, and tests/test-policy checks that both parse to the same JSON: keep them in sync. */
static const char default_policy_text[] =
        "{\n"
        "  \"version\": 1,\n"
        "  \"rules\": [\n"
        "    {\n"
        "      \"name\": \"root\",\n"
        "      \"reason\": \"root may run anything, in the isolation it asks for (auto means a container).\",\n"
        "      \"match\": { \"root\": true },\n"
        "      \"isolation\": \"requested\",\n"
        "      \"auto\": \"container\",\n"
        "      \"network\": { \"modes\": [\"none\", \"nat\", \"host\"], \"port_min\": 1, \"addresses\": \"0.0.0.0\" }\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"isod-host-mounts\",\n"
        "      \"reason\": \"Members of group isod may not bind host directories: isod runs as root and would expose any path.\",\n"
        "      \"match\": { \"group\": \"isod\", \"host_mounts\": true },\n"
        "      \"isolation\": \"deny\"\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"isod-host-rootfs\",\n"
        "      \"reason\": \"Members of group isod may not use a host directory as root file system: use an image.\",\n"
        "      \"match\": { \"group\": \"isod\", \"rootfs_prefix\": \"/\" },\n"
        "      \"isolation\": \"deny\"\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"isod-host-network\",\n"
        "      \"reason\": \"Members of group isod may not use the host's network: use nat, with ports published on 127.0.0.1.\",\n"
        "      \"match\": { \"group\": \"isod\", \"network\": \"host\" },\n"
        "      \"isolation\": \"deny\"\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"isod-group\",\n"
        "      \"reason\": \"Members of group isod run workloads in VMs only, with bounded resources, the default seccomp filter, and ports from 1024 published on 127.0.0.1 only.\",\n"
        "      \"match\": { \"group\": \"isod\" },\n"
        "      \"isolation\": \"vm\",\n"
        "      \"caps\": { \"memory\": \"2G\", \"cpus\": 2, \"pids\": 1024 },\n"
        "      \"force\": { \"seccomp\": \"default\" },\n"
        "      \"network\": { \"modes\": [\"none\", \"nat\"], \"port_min\": 1024, \"addresses\": \"127.0.0.1\" }\n"
        "    }\n"
        "  ],\n"
        "  \"default\": {\n"
        "    \"reason\": \"Only root and members of group isod may run workloads.\",\n"
        "    \"isolation\": \"deny\"\n"
        "  }\n"
        "}\n";

static const char *const match_key_table[_MATCH_KEY_MAX + 1] = {
        /* NULL-terminated */
        [MATCH_UID] = "uid",
        [MATCH_GID] = "gid",
        [MATCH_USER] = "user",
        [MATCH_GROUP] = "group",
        [MATCH_ROOT] = "root",
        [MATCH_UNIT] = "unit",
        [MATCH_IMAGE] = "image",
        [MATCH_ROOTFS_PREFIX] = "rootfs_prefix",
        [MATCH_LABELS] = "labels",
        [MATCH_ISOLATION] = "isolation",
        [MATCH_TERMINAL] = "terminal",
        [MATCH_USERNS] = "userns",
        [MATCH_NETWORK] = "network",
        [MATCH_NETWORK_NAME] = "network_name",
        [MATCH_PORTS] = "ports",
        [MATCH_PORT_BELOW] = "port_below",
        [MATCH_PORT_ADDRESS] = "port_address",
        [MATCH_HOST_MOUNTS] = "host_mounts",
        [MATCH_MEMORY_OVER] = "memory_over",
        [MATCH_CPUS_OVER] = "cpus_over",
        [MATCH_PIDS_OVER] = "pids_over",
};

const char *match_key_to_string(MatchKey k) {
        return k >= 0 && k < _MATCH_KEY_MAX ? match_key_table[k] : NULL;
}

MatchKey match_key_from_string(const char *s) {
        for (int i = 0; s && i < _MATCH_KEY_MAX; i++)
                if (streq(s, match_key_table[i]))
                        return (MatchKey) i;
        return _MATCH_KEY_INVALID;
}

static const char *const verdict_table[_VERDICT_MAX] = {
        [VERDICT_VM] = "vm",
        [VERDICT_CONTAINER] = "container",
        [VERDICT_DENY] = "deny",
        [VERDICT_REQUESTED] = "requested",
};

const char *policy_verdict_to_string(PolicyVerdict v) {
        return v >= 0 && v < _VERDICT_MAX ? verdict_table[v] : NULL;
}

static PolicyVerdict policy_verdict_from_string(const char *s) {
        for (int i = 0; s && i < _VERDICT_MAX; i++)
                if (streq(s, verdict_table[i]))
                        return (PolicyVerdict) i;
        return _VERDICT_INVALID;
}

void format_size(char *buf, size_t size, uint64_t bytes) {
        static const char suffixes[] = "KMGT";

        for (int i = 4; i > 0; i--) {
                uint64_t f = UINT64_C(1) << (10 * i);
                if (bytes >= f && bytes % f == 0) {
                        (void) snprintf(buf, size, "%" PRIu64 "%c", bytes / f, suffixes[i - 1]);
                        return;
                }
        }
        (void) snprintf(buf, size, "%" PRIu64, bytes);
}

static void policy_action_done(PolicyAction *a) {
        free(a->force_seccomp);
        strv_free(a->networks);
        free(a->addresses);
}

static void policy_match_done(PolicyMatch *m) {
        free(m->uids);
        free(m->gids);
        strv_free(m->users);
        strv_free(m->groups);
        strv_free(m->units);
        strv_free(m->images);
        strv_free(m->rootfs_prefixes);
        strv_free(m->network_names);
        free(m->port_addresses);
        for (size_t i = 0; i < m->n_labels; i++) {
                free(m->labels[i].key);
                strv_free(m->labels[i].values);
        }
        free(m->labels);
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_rules; i++) {
                free(p->rules[i].name);
                free(p->rules[i].reason);
                policy_match_done(&p->rules[i].match);
                policy_action_done(&p->rules[i].action);
        }
        free(p->rules);
        free(p->default_reason);
        policy_action_done(&p->default_action);
        json_decref(p->json);
        free(p->source);
        free(p);
        return NULL;
}

const char *policy_source(const Policy *p) {
        return p ? p->source : NULL;
}

json_t *policy_to_json(const Policy *p) {
        return p ? json_deep_copy(p->json) : NULL;
}

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

typedef struct ParseContext {
        const char *text;
        size_t size;
        const char *source; /* path for messages, or NULL */
        char **reterr;
} ParseContext;

/* Where in the policy we are: a rule (index, and name once known) or the default. */
typedef struct Where {
        bool is_default;
        size_t index;
        const char *name;
} Where;

static int set_message(ParseContext *ctx, int error, unsigned line, const char *msg) {
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
_printf_(4, 5) static int top_error(ParseContext *ctx, int error, const char *key, const char *fmt, ...) {
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
_printf_(5, 6) static int where_error(ParseContext *ctx, const Where *w, const char *k1, const char *k2,
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

static int check_keys(ParseContext *ctx, const Where *w, const char *section, json_t *obj,
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

/* ---- Values ------------------------------------------------------------------------------------- */

static bool string_is_clean(json_t *v, size_t max) {
        return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max &&
               strlen(json_string_value(v)) == json_string_length(v);
}

static bool pattern_is_valid(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static bool rootfs_prefix_is_valid(const char *s) {
        return path_is_safe_absolute(s);
}

/* A string, or a non-empty array of strings (any of). */
static int parse_strings(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                         bool (*valid)(const char *s), const char *what, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;

        if (!json_is_string(v) && !(json_is_array(v) && n > 0))
                return where_error(ctx, w, section, key, "'%s.%s' must be %s or a non-empty array of them.",
                                   section, key, what);
        if (n > POLICY_MAX_LIST)
                return where_error(ctx, w, section, key, "'%s.%s' has too many entries (max %u).", section,
                                   key, POLICY_MAX_LIST);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_is_array(v) ? json_array_get(v, i) : v;

                if (!string_is_clean(e, POLICY_MAX_PATTERN) || !valid(json_string_value(e)))
                        return where_error(ctx, w, section, key,
                                           "'%s.%s' must be %s or a non-empty array of them%s%s%s.", section,
                                           key, what, json_is_string(e) ? ", got '" : "",
                                           json_is_string(e) ? json_string_value(e) : "",
                                           json_is_string(e) ? "'" : "");
                l[i] = strdup(json_string_value(e));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* An integer id, or a non-empty array of them. */
static int parse_ids(ParseContext *ctx, const Where *w, const char *key, json_t *v, uint32_t **ret,
                     size_t *ret_n) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;

        if (!json_is_integer(v) && !(json_is_array(v) && n > 0))
                return where_error(ctx, w, "match", key,
                                   "'match.%s' must be a number or a non-empty array of numbers.", key);
        if (n > POLICY_MAX_LIST)
                return where_error(ctx, w, "match", key, "'match.%s' has too many entries (max %u).", key,
                                   POLICY_MAX_LIST);
        ids = calloc(n, sizeof(uint32_t));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_is_array(v) ? json_array_get(v, i) : v;

                if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                    json_integer_value(e) >= (json_int_t) UINT32_MAX)
                        return where_error(ctx, w, "match", key,
                                           "'match.%s' must hold ids between 0 and %" PRIu32 ".", key,
                                           UINT32_MAX - 1);
                ids[i] = (uint32_t) json_integer_value(e);
        }
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

static int parse_bool(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                      bool *ret) {
        if (!json_is_boolean(v))
                return where_error(ctx, w, section, key, "'%s%s%s' must be true or false.",
                                   strempty(section), section ? "." : "", key);
        *ret = json_is_true(v);
        return 0;
}

/* "512M", "2G" or a number of bytes. */
static int parse_size_value(ParseContext *ctx, const Where *w, const char *section, const char *key,
                            json_t *v, uint64_t min, uint64_t *ret) {
        uint64_t b;

        if (json_is_integer(v) && json_integer_value(v) >= 0)
                b = (uint64_t) json_integer_value(v);
        else if (!json_is_string(v) || parse_size(json_string_value(v), &b) < 0)
                return where_error(ctx, w, section, key,
                                   "'%s.%s' must be a size like \"512M\" or \"2G\", or bytes.", section,
                                   key);
        if (b < min || b > SPEC_MAX_MEMORY)
                return where_error(ctx, w, section, key, "'%s.%s' must be between %" PRIu64 " bytes and 1T.",
                                   section, key, min);
        *ret = b;
        return 0;
}

static int parse_number(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                        double min, double max, double *ret) {
        double d;

        if (!json_is_number(v))
                return where_error(ctx, w, section, key, "'%s.%s' must be a number.", section, key);
        d = json_number_value(v);
        if (!(d >= min && d <= max))
                return where_error(ctx, w, section, key, "'%s.%s' must be between %g and %g.", section, key,
                                   min, max);
        *ret = d;
        return 0;
}

/* A port number (or a count of ports) between min and max. */
static int parse_port(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                      unsigned min, unsigned max, unsigned *ret) {
        if (!json_is_integer(v) || json_integer_value(v) < (json_int_t) min ||
            json_integer_value(v) > (json_int_t) max)
                return where_error(ctx, w, section, key, "'%s.%s' must be an integer between %u and %u.",
                                   section, key, min, max);
        *ret = (unsigned) json_integer_value(v);
        return 0;
}

static bool ipv4_is_valid(const char *s) {
        uint32_t a;

        return parse_ipv4(s, &a) >= 0;
}

/* An IPv4 address, or a non-empty array of them ("0.0.0.0": all addresses). */
static int parse_addresses(ParseContext *ctx, const Where *w, const char *section, const char *key,
                           json_t *v, uint32_t **ret, size_t *ret_n) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ uint32_t *a = NULL;
        size_t n;
        int r;

        r = parse_strings(ctx, w, section, key, v, ipv4_is_valid,
                          "an IPv4 address like \"127.0.0.1\" (\"0.0.0.0\": all addresses)", &l);
        if (r < 0)
                return r;
        n = strv_length(l);
        a = calloc(n, sizeof(uint32_t));
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (parse_ipv4(l[i], &a[i]) < 0)
                        return -EINVAL; /* cannot happen: checked above */
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

static int parse_count(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                       uint64_t min, uint64_t *ret) {
        if (!json_is_integer(v) || json_integer_value(v) < (json_int_t) min ||
            (uint64_t) json_integer_value(v) > SPEC_MAX_PIDS)
                return where_error(ctx, w, section, key,
                                   "'%s.%s' must be an integer between %" PRIu64 " and %u.", section, key,
                                   min, SPEC_MAX_PIDS);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static bool isolation_is_valid(const char *s) {
        return isolation_from_string(s) >= 0;
}

static bool network_is_valid(const char *s) {
        return network_mode_from_string(s) >= 0;
}

static int strv_to_mask(char **l, int (*from_string)(const char *s), unsigned *ret) {
        unsigned mask = 0;

        for (char **i = l; *i; i++)
                mask |= 1U << from_string(*i);
        *ret = mask;
        return 0;
}

static int isolation_from_string_int(const char *s) {
        return (int) isolation_from_string(s);
}

static int network_from_string_int(const char *s) {
        return (int) network_mode_from_string(s);
}

static int parse_labels_match(ParseContext *ctx, const Where *w, json_t *v, PolicyMatch *m) {
        const char *key;
        json_t *e;

        if (!json_is_object(v) || json_object_size(v) == 0)
                return where_error(
                        ctx, w, "match", "labels",
                        "'match.labels' must be a non-empty object of label → value (\"*\": any value).");
        if (json_object_size(v) > SPEC_MAX_LABELS)
                return where_error(ctx, w, "match", "labels",
                                   "'match.labels' has too many entries (max %u).", SPEC_MAX_LABELS);
        m->labels = calloc(json_object_size(v), sizeof(LabelMatch));
        if (!m->labels)
                return -ENOMEM;
        json_object_foreach (v, key, e) {
                LabelMatch *l = &m->labels[m->n_labels];
                int r;

                if (!identifier_is_valid(key))
                        return where_error(ctx, w, "match", "labels",
                                           "'match.labels' key '%s' is not a valid label key.", key);
                l->key = strdup(key);
                if (!l->key)
                        return -ENOMEM;
                m->n_labels++;
                r = parse_strings(ctx, w, "match.labels", key, e, pattern_is_valid, "a string", &l->values);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_match(ParseContext *ctx, const Where *w, json_t *v, PolicyMatch *m) {
        const char *key;
        json_t *e;
        int r;

        if (!json_is_object(v))
                return where_error(ctx, w, "match", NULL, "'match' must be an object.");

        json_object_foreach (v, key, e) {
                MatchKey k = match_key_from_string(key);

                switch (k) {
                case MATCH_UID:
                        r = parse_ids(ctx, w, key, e, &m->uids, &m->n_uids);
                        break;
                case MATCH_GID:
                        r = parse_ids(ctx, w, key, e, &m->gids, &m->n_gids);
                        break;
                case MATCH_USER:
                        r = parse_strings(ctx, w, "match", key, e, pattern_is_valid, "a user name",
                                          &m->users);
                        break;
                case MATCH_GROUP:
                        r = parse_strings(ctx, w, "match", key, e, pattern_is_valid, "a group name",
                                          &m->groups);
                        break;
                case MATCH_ROOT:
                        r = parse_bool(ctx, w, "match", key, e, &m->root);
                        break;
                case MATCH_UNIT:
                        r = parse_strings(ctx, w, "match", key, e, pattern_is_valid, "a unit name or glob",
                                          &m->units);
                        break;
                case MATCH_IMAGE:
                        r = parse_strings(ctx, w, "match", key, e, pattern_is_valid, "an image name or glob",
                                          &m->images);
                        break;
                case MATCH_ROOTFS_PREFIX:
                        r = parse_strings(ctx, w, "match", key, e, rootfs_prefix_is_valid,
                                          "an absolute path without '..'", &m->rootfs_prefixes);
                        break;
                case MATCH_LABELS:
                        r = parse_labels_match(ctx, w, e, m);
                        break;
                case MATCH_ISOLATION: {
                        _cleanup_strv_free_ char **l = NULL;

                        r = parse_strings(ctx, w, "match", key, e, isolation_is_valid,
                                          "one of \"auto\", \"vm\", \"container\"", &l);
                        if (r >= 0)
                                r = strv_to_mask(l, isolation_from_string_int, &m->isolations);
                        break;
                }
                case MATCH_TERMINAL:
                        r = parse_bool(ctx, w, "match", key, e, &m->terminal);
                        break;
                case MATCH_USERNS:
                        r = parse_bool(ctx, w, "match", key, e, &m->userns);
                        break;
                case MATCH_NETWORK: {
                        _cleanup_strv_free_ char **l = NULL;

                        r = parse_strings(ctx, w, "match", key, e, network_is_valid,
                                          "a network mode (\"none\", \"nat\", \"host\")", &l);
                        if (r >= 0)
                                r = strv_to_mask(l, network_from_string_int, &m->networks);
                        break;
                }
                case MATCH_NETWORK_NAME:
                        r = parse_strings(ctx, w, "match", key, e, pattern_is_valid,
                                          "a network name or glob", &m->network_names);
                        break;
                case MATCH_PORTS:
                        r = parse_bool(ctx, w, "match", key, e, &m->ports);
                        break;
                case MATCH_PORT_BELOW:
                        r = parse_port(ctx, w, "match", key, e, 1, 65535, &m->port_below);
                        break;
                case MATCH_PORT_ADDRESS:
                        r = parse_addresses(ctx, w, "match", key, e, &m->port_addresses,
                                            &m->n_port_addresses);
                        break;
                case MATCH_HOST_MOUNTS:
                        r = parse_bool(ctx, w, "match", key, e, &m->host_mounts);
                        break;
                case MATCH_MEMORY_OVER:
                        r = parse_size_value(ctx, w, "match", key, e, 0, &m->memory_over);
                        break;
                case MATCH_CPUS_OVER:
                        r = parse_number(ctx, w, "match", key, e, 0, SPEC_MAX_CPUS, &m->cpus_over);
                        break;
                case MATCH_PIDS_OVER:
                        r = parse_count(ctx, w, "match", key, e, 0, &m->pids_over);
                        break;
                default: {
                        _cleanup_free_ char *known = strv_join((char **) match_key_table, ", ");
                        if (!known)
                                return -ENOMEM;
                        return where_error(ctx, w, "match", key, "Unknown key 'match.%s' (known keys: %s).",
                                           key, known);
                }
                }
                if (r < 0)
                        return r;
                m->set[k] = true;
        }
        return 0;
}

static int parse_caps(ParseContext *ctx, const Where *w, json_t *v, PolicyAction *a) {
        static const char *const keys[] = { "memory", "cpus", "pids", NULL };
        json_t *e;
        int r;

        if (!json_is_object(v))
                return where_error(
                        ctx, w, "caps", NULL,
                        "'caps' must be an object like {\"memory\": \"2G\", \"cpus\": 2, \"pids\": 1024}.");
        r = check_keys(ctx, w, "caps", v, keys);
        if (r < 0)
                return r;
        e = json_object_get(v, "memory");
        if (e) {
                r = parse_size_value(ctx, w, "caps", "memory", e, SPEC_MIN_MEMORY, &a->cap_memory);
                if (r < 0)
                        return r;
        }
        e = json_object_get(v, "cpus");
        if (e) {
                r = parse_number(ctx, w, "caps", "cpus", e, 0.01, SPEC_MAX_CPUS, &a->cap_cpus);
                if (r < 0)
                        return r;
        }
        e = json_object_get(v, "pids");
        if (e) {
                r = parse_count(ctx, w, "caps", "pids", e, 1, &a->cap_pids);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_force(ParseContext *ctx, const Where *w, json_t *v, PolicyAction *a) {
        static const char *const keys[] = { "seccomp", "readonly_rootfs", "userns", "network", NULL };
        json_t *e;
        bool b = false;
        int r;

        if (!json_is_object(v))
                return where_error(ctx, w, "force", NULL, "'force' must be an object.");
        r = check_keys(ctx, w, "force", v, keys);
        if (r < 0)
                return r;
        e = json_object_get(v, "seccomp");
        if (e) {
                const char *s = json_is_string(e) ? json_string_value(e) : NULL;

                if (!string_is_clean(e, SPEC_MAX_STRING - 1) ||
                    (!streq(s, "default") && !streq(s, "unconfined") && !path_is_safe_absolute(s)))
                        return where_error(
                                ctx, w, "force", "seccomp",
                                "'force.seccomp' must be \"default\", \"unconfined\" or an absolute path to a profile.");
                a->force_seccomp = strdup(s);
                if (!a->force_seccomp)
                        return -ENOMEM;
        }
        e = json_object_get(v, "readonly_rootfs");
        if (e) {
                r = parse_bool(ctx, w, "force", "readonly_rootfs", e, &b);
                if (r < 0)
                        return r;
                a->force_readonly_rootfs = b;
        }
        e = json_object_get(v, "userns");
        if (e) {
                r = parse_bool(ctx, w, "force", "userns", e, &b);
                if (r < 0)
                        return r;
                a->force_userns = b;
        }
        e = json_object_get(v, "network");
        if (e) {
                a->force_network = json_is_string(e) ? network_mode_from_string(json_string_value(e))
                                                     : _NETWORK_MODE_INVALID;
                if (a->force_network < 0)
                        return where_error(
                                ctx, w, "force", "network",
                                "'force.network' must be a network mode (\"none\", \"nat\" or \"host\").");
                if (a->force_network == NETWORK_HOST && a->verdict == VERDICT_VM)
                        return where_error(
                                ctx, w, "force", "network",
                                "'force.network' \"host\" needs a container, and the rule says \"isolation\": \"vm\": a VM cannot share the host's network namespace.");
        }
        return 0;
}

static int parse_network_decision(ParseContext *ctx, const Where *w, json_t *v, PolicyAction *a) {
        static const char *const keys[] = {
                "modes", "networks", "max_ports", "port_min", "addresses", NULL
        };
        json_t *e;
        int r;

        if (!json_is_object(v))
                return where_error(
                        ctx, w, "network", NULL,
                        "'network' must be an object like {\"modes\": [\"none\", \"nat\"], \"port_min\": 1024, \"addresses\": \"127.0.0.1\"}.");
        r = check_keys(ctx, w, "network", v, keys);
        if (r < 0)
                return r;
        e = json_object_get(v, "modes");
        if (e) {
                _cleanup_strv_free_ char **l = NULL;

                r = parse_strings(ctx, w, "network", "modes", e, network_is_valid,
                                  "a network mode (\"none\", \"nat\", \"host\")", &l);
                if (r < 0)
                        return r;
                r = strv_to_mask(l, network_from_string_int, &a->network_modes);
                if (r < 0)
                        return r;
                if ((a->network_modes & (1U << NETWORK_HOST)) && a->verdict == VERDICT_VM)
                        return where_error(
                                ctx, w, "network", "modes",
                                "'network.modes' allows \"host\", which needs a container, and the rule says \"isolation\": \"vm\": a VM cannot share the host's network namespace.");
        }
        e = json_object_get(v, "networks");
        if (e) {
                r = parse_strings(ctx, w, "network", "networks", e, pattern_is_valid,
                                  "a network name or glob", &a->networks);
                if (r < 0)
                        return r;
        }
        e = json_object_get(v, "max_ports");
        if (e) {
                r = parse_port(ctx, w, "network", "max_ports", e, 0, SPEC_MAX_PORTS, &a->max_ports);
                if (r < 0)
                        return r;
        }
        e = json_object_get(v, "port_min");
        if (e) {
                r = parse_port(ctx, w, "network", "port_min", e, 1, 65535, &a->port_min);
                if (r < 0)
                        return r;
        }
        e = json_object_get(v, "addresses");
        if (e) {
                r = parse_addresses(ctx, w, "network", "addresses", e, &a->addresses, &a->n_addresses);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The decision fields, shared by rules and the default. */
static int parse_action(ParseContext *ctx, const Where *w, json_t *obj, PolicyAction *a) {
        json_t *v;
        int r;

        *a = (PolicyAction){
                .verdict = _VERDICT_INVALID,
                .auto_isolation = ISOLATION_CONTAINER,
                .force_readonly_rootfs = -1,
                .force_userns = -1,
                .force_network = _NETWORK_MODE_INVALID,
                .network_modes = POLICY_DEFAULT_NETWORK_MODES,
                .max_ports = SPEC_MAX_PORTS,
                .port_min = POLICY_DEFAULT_PORT_MIN,
        };

        v = json_object_get(obj, "isolation");
        if (!v)
                return where_error(
                        ctx, w, NULL, NULL,
                        "'isolation' is missing: say \"vm\", \"container\", \"deny\" or \"requested\".");
        if (json_is_string(v))
                a->verdict = policy_verdict_from_string(json_string_value(v));
        if (a->verdict < 0)
                return where_error(
                        ctx, w, "isolation", NULL,
                        "'isolation' must be \"vm\", \"container\", \"deny\" or \"requested\"%s%s%s.",
                        json_is_string(v) ? ", got '" : "", json_is_string(v) ? json_string_value(v) : "",
                        json_is_string(v) ? "'" : "");

        v = json_object_get(obj, "auto");
        if (v) {
                if (a->verdict != VERDICT_REQUESTED)
                        return where_error(ctx, w, "auto", NULL,
                                           "'auto' only has a meaning with \"isolation\": \"requested\".");
                a->auto_isolation = json_is_string(v) ? isolation_from_string(json_string_value(v))
                                                      : _ISOLATION_INVALID;
                if (a->auto_isolation != ISOLATION_VM && a->auto_isolation != ISOLATION_CONTAINER)
                        return where_error(ctx, w, "auto", NULL, "'auto' must be \"vm\" or \"container\".");
        }

        v = json_object_get(obj, "caps");
        if (v) {
                if (a->verdict == VERDICT_DENY)
                        return where_error(ctx, w, "caps", NULL,
                                           "'caps' has no effect with \"isolation\": \"deny\".");
                r = parse_caps(ctx, w, v, a);
                if (r < 0)
                        return r;
        }

        v = json_object_get(obj, "clamp");
        if (v) {
                r = parse_bool(ctx, w, NULL, "clamp", v, &a->clamp);
                if (r < 0)
                        return r;
                if (!json_object_get(obj, "caps"))
                        return where_error(ctx, w, "clamp", NULL, "'clamp' has no effect without 'caps'.");
        }

        v = json_object_get(obj, "force");
        if (v) {
                if (a->verdict == VERDICT_DENY)
                        return where_error(ctx, w, "force", NULL,
                                           "'force' has no effect with \"isolation\": \"deny\".");
                r = parse_force(ctx, w, v, a);
                if (r < 0)
                        return r;
        }

        v = json_object_get(obj, "network");
        if (v) {
                if (a->verdict == VERDICT_DENY)
                        return where_error(ctx, w, "network", NULL,
                                           "'network' has no effect with \"isolation\": \"deny\".");
                r = parse_network_decision(ctx, w, v, a);
                if (r < 0)
                        return r;
        }

        v = json_object_get(obj, "manage_others");
        if (v) {
                r = parse_bool(ctx, w, NULL, "manage_others", v, &a->manage_others);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_reason(ParseContext *ctx, const Where *w, json_t *obj, char **ret) {
        json_t *v = json_object_get(obj, "reason");

        if (!v)
                return 0;
        if (!string_is_clean(v, POLICY_MAX_REASON))
                return where_error(ctx, w, "reason", NULL,
                                   "'reason' must be a non-empty string of at most %u bytes.",
                                   POLICY_MAX_REASON);
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

static int parse_rule(ParseContext *ctx, Policy *p, size_t idx, json_t *obj) {
        static const char *const keys[] = { "name",  "reason", "match",   "isolation",     "auto", "caps",
                                            "clamp", "force",  "network", "manage_others", NULL };
        PolicyRule *rule = &p->rules[idx];
        Where w = { .index = idx };
        json_t *v;
        int r;

        if (!json_is_object(obj))
                return where_error(ctx, &w, NULL, NULL, "A rule must be an object.");

        v = json_object_get(obj, "name");
        if (!v)
                return where_error(ctx, &w, NULL, NULL,
                                   "'name' is missing: every rule needs a unique name.");
        if (!json_is_string(v) || !identifier_is_valid(json_string_value(v)))
                return where_error(ctx, &w, "name", NULL,
                                   "'name' must be a string of the form [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.");
        if (streq(json_string_value(v), "default"))
                return where_error(ctx, &w, "name", NULL,
                                   "The name 'default' is reserved for the policy's default.");
        for (size_t i = 0; i < idx; i++)
                if (streq(p->rules[i].name, json_string_value(v)))
                        return where_error(ctx, &w, "name", NULL,
                                           "Duplicate rule name '%s' (also rules[%zu]).",
                                           json_string_value(v), i);
        rule->name = strdup(json_string_value(v));
        if (!rule->name)
                return -ENOMEM;
        rule->index = idx;
        p->n_rules = idx + 1; /* from here on policy_free() frees this rule */
        w.name = rule->name;

        r = check_keys(ctx, &w, NULL, obj, keys);
        if (r < 0)
                return r;
        r = parse_reason(ctx, &w, obj, &rule->reason);
        if (r < 0)
                return r;
        v = json_object_get(obj, "match");
        if (v) {
                r = parse_match(ctx, &w, v, &rule->match);
                if (r < 0)
                        return r;
        }
        r = parse_action(ctx, &w, obj, &rule->action);
        if (r < 0)
                return r;

        if (rule->action.manage_others) {
                bool any = false;

                for (MatchKey k = 0; k < _MATCH_CALLER_MAX; k++)
                        any = any || rule->match.set[k];
                if (!any)
                        return where_error(
                                ctx, &w, "manage_others", NULL,
                                "'manage_others' needs a caller key in 'match' (uid, gid, user, group, root or unit): otherwise every caller could manage every workload.");
        }
        return 0;
}

static int policy_parse_full(const char *text, size_t size, const char *source, Policy **ret,
                             char **reterr) {
        static const char *const keys[] = { "version", "rules", "default", NULL };
        static const char *const default_keys[] = { "reason", "isolation", "auto",    "caps",
                                                    "clamp",  "force",     "network", NULL };
        _cleanup_(policy_freep) Policy *p = NULL;
        ParseContext ctx = { .text = text, .size = size, .source = source, .reterr = reterr };
        Where wd = { .is_default = true };
        json_t *root, *v;
        json_error_t jerr;
        const char *key;
        size_t i;
        int r;

        if (size > POLICY_MAX_SIZE)
                return top_error(&ctx, -E2BIG, NULL, "The policy is too large (%zu bytes, max %u).", size,
                                 POLICY_MAX_SIZE);

        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                _cleanup_free_ char *m = NULL;

                if (asprintf(&m, "Not valid JSON (column %d): %s.", jerr.column, jerr.text) < 0)
                        return -ENOMEM;
                return set_message(&ctx, -EBADMSG, jerr.line > 0 ? (unsigned) jerr.line : 0, m);
        }

        p = calloc(1, sizeof(Policy));
        if (!p) {
                json_decref(root);
                return -ENOMEM;
        }
        p->json = root; /* owned by p from here on */

        if (!json_is_object(root))
                return top_error(&ctx, -EINVAL, NULL,
                                 "The policy must be a JSON object with 'version', 'rules' and 'default'.");
        json_object_foreach (root, key, v) {
                bool ok = false;
                for (const char *const *a = keys; *a; a++)
                        ok = ok || streq(*a, key);
                if (!ok)
                        return top_error(&ctx, -EINVAL, key,
                                         "Unknown key '%s' (known keys: version, rules, default).", key);
        }

        v = json_object_get(root, "version");
        if (!v)
                return top_error(&ctx, -EINVAL, NULL, "'version' is missing (this isod reads version 1).");
        if (!json_is_integer(v) || json_integer_value(v) != 1)
                return top_error(&ctx, -EINVAL, "version",
                                 "Unsupported 'version' (this isod reads version 1).");

        v = json_object_get(root, "rules");
        if (v && !json_is_array(v))
                return top_error(&ctx, -EINVAL, "rules", "'rules' must be an array of rules.");
        if (v && json_array_size(v) > POLICY_MAX_RULES)
                return top_error(&ctx, -E2BIG, "rules", "Too many rules (%zu, max %u).", json_array_size(v),
                                 POLICY_MAX_RULES);
        if (v && json_array_size(v) > 0) {
                json_t *e;

                p->rules = calloc(json_array_size(v), sizeof(PolicyRule));
                if (!p->rules)
                        return -ENOMEM;
                json_array_foreach (v, i, e) {
                        r = parse_rule(&ctx, p, i, e);
                        if (r < 0)
                                return r;
                }
        }

        v = json_object_get(root, "default");
        if (!v)
                return top_error(
                        &ctx, -EINVAL, NULL,
                        "'default' is missing: say what happens when no rule matches, e.g. {\"isolation\": \"deny\"}.");
        if (!json_is_object(v))
                return where_error(&ctx, &wd, NULL, NULL, "'default' must be an object.");
        if (json_object_get(v, "manage_others"))
                return where_error(
                        &ctx, &wd, "manage_others", NULL,
                        "'manage_others' is not allowed here (it would apply to every caller): put it in a rule that matches the caller.");
        r = check_keys(&ctx, &wd, NULL, v, default_keys);
        if (r < 0)
                return r;
        r = parse_reason(&ctx, &wd, v, &p->default_reason);
        if (r < 0)
                return r;
        r = parse_action(&ctx, &wd, v, &p->default_action);
        if (r < 0)
                return r;

        p->source = strdup(source ?: "built-in");
        if (!p->source)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

int policy_parse(const char *text, size_t size, Policy **ret, char **reterr_message) {
        assert(text || size == 0);
        assert(ret);
        return policy_parse_full(text ?: "", size, NULL, ret, reterr_message);
}

int policy_load(const char *path, Policy **ret, char **reterr_message) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        assert(path);
        assert(ret);

        r = read_full_file_at(AT_FDCWD, path, POLICY_MAX_SIZE, &text, &size);
        if (r == -EFBIG) {
                ParseContext ctx = { .source = path, .reterr = reterr_message };
                return set_message(&ctx, -E2BIG, 0, "The policy is too large (max 1 MiB).");
        }
        if (r < 0) {
                ParseContext ctx = { .source = path, .reterr = reterr_message };
                return set_message(&ctx, r, 0, strerror(-r));
        }
        return policy_parse_full(text, size, path, ret, reterr_message);
}

int policy_new_default(Policy **ret) {
        assert(ret);
        return policy_parse_full(default_policy_text, strlen(default_policy_text), NULL, ret, NULL);
}

const char *policy_default_text(void) {
        return default_policy_text;
}
