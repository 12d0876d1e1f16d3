/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <fcntl.h>
#include <stdint.h>

#include "policy-parse-internal.h"
#include "util.h"

/* The policy document (docs/policy.md): the built-in policy, "version", "rules" and "default",
 * loading a policy from a file, and freeing one. A rule is read by policy-parse-rule.c. */

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
        "      \"network\": { \"modes\": [\"none\", \"nat\", \"host\", \"netns\"], \"port_min\": 1, \"addresses\": \"0.0.0.0\" }\n"
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
        "    },\n"
        "    {\n"
        "      \"name\": \"polkit-host-mounts\",\n"
        "      \"reason\": \"A user polkit authorized may not bind host directories: isod runs as root and would expose any path.\",\n"
        "      \"match\": { \"polkit\": true, \"host_mounts\": true },\n"
        "      \"isolation\": \"deny\"\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"polkit-host-rootfs\",\n"
        "      \"reason\": \"A user polkit authorized may not use a host directory as root file system: use an image.\",\n"
        "      \"match\": { \"polkit\": true, \"rootfs_prefix\": \"/\" },\n"
        "      \"isolation\": \"deny\"\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"polkit-host-network\",\n"
        "      \"reason\": \"A user polkit authorized may not use the host's network: use nat, with ports published on 127.0.0.1.\",\n"
        "      \"match\": { \"polkit\": true, \"network\": \"host\" },\n"
        "      \"isolation\": \"deny\"\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"polkit\",\n"
        "      \"reason\": \"Users polkit authorizes (org.isod1.launch) run workloads as members of group isod do: in VMs, bounded, with the default seccomp filter.\",\n"
        "      \"match\": { \"polkit\": true },\n"
        "      \"isolation\": \"vm\",\n"
        "      \"caps\": { \"memory\": \"2G\", \"cpus\": 2, \"pids\": 1024 },\n"
        "      \"force\": { \"seccomp\": \"default\" },\n"
        "      \"network\": { \"modes\": [\"none\", \"nat\"], \"port_min\": 1024, \"addresses\": \"127.0.0.1\" }\n"
        "    }\n"
        "  ],\n"
        "  \"default\": {\n"
        "    \"reason\": \"Only root, members of group isod and users polkit authorizes (org.isod1.launch) may run workloads.\",\n"
        "    \"isolation\": \"deny\"\n"
        "  }\n"
        "}\n";

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
