/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "policy-parse-internal.h"
#include "util.h"

/* One rule of a policy (docs/policy.md): its name and reason, its "match" (caller and workload
 * keys), and its decision ("isolation", "auto", "caps", "clamp", "force", "network",
 * "manage_others"), which the default shares. */

static const char *const match_key_table[_MATCH_KEY_MAX + 1] = {
        /* NULL-terminated */
        [MATCH_UID] = "uid",
        [MATCH_GID] = "gid",
        [MATCH_USER] = "user",
        [MATCH_GROUP] = "group",
        [MATCH_ROOT] = "root",
        [MATCH_UNIT] = "unit",
        [MATCH_POLKIT] = "polkit",
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

static bool rootfs_prefix_is_valid(const char *s) {
        return path_is_safe_absolute(s);
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

static bool isolation_is_valid(const char *s) {
        return isolation_from_string(s) >= 0;
}

static int isolation_from_string_int(const char *s) {
        return (int) isolation_from_string(s);
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
                case MATCH_POLKIT:
                        r = parse_bool(ctx, w, "match", key, e, &m->polkit);
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
                                          "a network mode (\"none\", \"nat\", \"host\", \"netns\")", &l);
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
                                "'force.network' must be a network mode (\"none\", \"nat\", \"host\" or \"netns\").");
                if (a->force_network == NETWORK_NETNS)
                        return where_error(
                                ctx, w, "force", "network",
                                "'force.network' cannot be \"netns\": the namespace's path is the request's.");
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
                                  "a network mode (\"none\", \"nat\", \"host\", \"netns\")", &l);
                if (r < 0)
                        return r;
                r = strv_to_mask(l, network_from_string_int, &a->network_modes);
                if (r < 0)
                        return r;
                if ((a->network_modes & (1U << NETWORK_HOST)) && a->verdict == VERDICT_VM)
                        return where_error(
                                ctx, w, "network", "modes",
                                "'network.modes' allows \"host\", which needs a container, and the rule says \"isolation\": \"vm\": a VM cannot share the host's network namespace.");
                if ((a->network_modes & (1U << NETWORK_NETNS)) && a->verdict == VERDICT_VM)
                        return where_error(
                                ctx, w, "network", "modes",
                                "'network.modes' allows \"netns\", which needs a container, and the rule says \"isolation\": \"vm\": a VM cannot join a network namespace.");
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
int parse_action(ParseContext *ctx, const Where *w, json_t *obj, PolicyAction *a) {
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

int parse_reason(ParseContext *ctx, const Where *w, json_t *obj, char **ret) {
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

int parse_rule(ParseContext *ctx, Policy *p, size_t idx, json_t *obj) {
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
