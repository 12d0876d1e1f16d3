/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "policy-parse-internal.h"
#include "util.h"

/* Typed values in a policy, each checked with a message naming its key: strings and lists of
 * them, booleans, sizes, numbers, ports, IPv4 addresses, counts, network modes. */

bool string_is_clean(json_t *v, size_t max) {
        return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max &&
               strlen(json_string_value(v)) == json_string_length(v);
}

bool pattern_is_valid(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* A string, or a non-empty array of strings (any of). */
int parse_strings(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
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

int parse_bool(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
               bool *ret) {
        if (!json_is_boolean(v))
                return where_error(ctx, w, section, key, "'%s%s%s' must be true or false.",
                                   strempty(section), section ? "." : "", key);
        *ret = json_is_true(v);
        return 0;
}

/* "512M", "2G" or a number of bytes. */
int parse_size_value(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                     uint64_t min, uint64_t *ret) {
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

int parse_number(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
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
int parse_port(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
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
int parse_addresses(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                    uint32_t **ret, size_t *ret_n) {
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

int parse_count(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                uint64_t min, uint64_t *ret) {
        if (!json_is_integer(v) || json_integer_value(v) < (json_int_t) min ||
            (uint64_t) json_integer_value(v) > SPEC_MAX_PIDS)
                return where_error(ctx, w, section, key,
                                   "'%s.%s' must be an integer between %" PRIu64 " and %u.", section, key,
                                   min, SPEC_MAX_PIDS);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

bool network_is_valid(const char *s) {
        return network_mode_from_string(s) >= 0;
}

int strv_to_mask(char **l, int (*from_string)(const char *s), unsigned *ret) {
        unsigned mask = 0;

        for (char **i = l; *i; i++)
                mask |= 1U << from_string(*i);
        *ret = mask;
        return 0;
}

int network_from_string_int(const char *s) {
        return (int) network_mode_from_string(s);
}
