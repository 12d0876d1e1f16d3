/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to the policy parser: what policy-parse.c (the document), policy-parse-rule.c (a rule:
 * its match and its decision), policy-parse-value.c (typed values) and policy-parse-error.c
 * (messages that name the line) share. */

#include <jansson.h>
#include <stdint.h>

#include "policy-internal.h"

/* ---------------------------------------------------------------- policy-parse-error.c */
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

int set_message(ParseContext *ctx, int error, unsigned line, const char *msg);
_printf_(4, 5) int top_error(ParseContext *ctx, int error, const char *key, const char *fmt, ...);
_printf_(5, 6) int where_error(ParseContext *ctx, const Where *w, const char *k1, const char *k2,
                               const char *fmt, ...);
int check_keys(ParseContext *ctx, const Where *w, const char *section, json_t *obj,
               const char *const *allowed);

/* ---------------------------------------------------------------- policy-parse-value.c */
bool string_is_clean(json_t *v, size_t max);
bool pattern_is_valid(const char *s);
bool network_is_valid(const char *s);
int network_from_string_int(const char *s);
int strv_to_mask(char **l, int (*from_string)(const char *s), unsigned *ret);
int parse_strings(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                  bool (*valid)(const char *s), const char *what, char ***ret);
int parse_bool(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
               bool *ret);
int parse_size_value(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                     uint64_t min, uint64_t *ret);
int parse_number(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                 double min, double max, double *ret);
int parse_port(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
               unsigned min, unsigned max, unsigned *ret);
int parse_addresses(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                    uint32_t **ret, size_t *ret_n);
int parse_count(ParseContext *ctx, const Where *w, const char *section, const char *key, json_t *v,
                uint64_t min, uint64_t *ret);

/* ---------------------------------------------------------------- policy-parse-rule.c */
int parse_action(ParseContext *ctx, const Where *w, json_t *obj, PolicyAction *a);
int parse_reason(ParseContext *ctx, const Where *w, json_t *obj, char **ret);
int parse_rule(ParseContext *ctx, Policy *p, size_t idx, json_t *obj);
