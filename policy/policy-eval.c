/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <fnmatch.h>

#include "policy-internal.h"
#include "util.h"

PolicyDecision *policy_decision_free(PolicyDecision *d) {
        if (!d)
                return NULL;
        free(d->rule);
        free(d->reason);
        workload_spec_free(d->spec);
        free(d->explanation);
        free(d);
        return NULL;
}

/* ---- Helpers ------------------------------------------------------------------------------------ */

static bool glob_any(char **patterns, const char *s) {
        for (char **i = patterns; i && *i; i++)
                if (fnmatch(*i, s, 0) == 0)
                        return true;
        return false;
}

/* Component-wise: "/srv" is a prefix of "/srv", "/srv/x" and "//srv//x", not of "/srvx". */
static bool path_has_prefix(const char *path, const char *prefix) {
        for (;;) {
                size_t a, b;

                while (*prefix == '/')
                        prefix++;
                while (*path == '/')
                        path++;
                if (!*prefix)
                        return true;
                a = strcspn(prefix, "/");
                b = strcspn(path, "/");
                if (a != b || !strneq(prefix, path, a))
                        return false;
                prefix += a;
                path += b;
        }
}

static bool prefix_any(char **prefixes, const char *path) {
        for (char **i = prefixes; i && *i; i++)
                if (path_has_prefix(path, *i))
                        return true;
        return false;
}

static bool ids_contain(const uint32_t *ids, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

static void print_strv(FILE *f, char **l) {
        if (l && l[0] && l[1])
                fputs("any of ", f);
        for (char **i = l; i && *i; i++)
                fprintf(f, "%s'%s'", i == l ? "" : ", ", *i);
}

static void print_ids(FILE *f, const uint32_t *ids, size_t n) {
        if (n > 1)
                fputs("any of ", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%" PRIu32, i == 0 ? "" : ", ", ids[i]);
}

static void print_mask(FILE *f, unsigned mask, const char *(*to_string)(int v), int max) {
        bool first = true;

        if (mask & (mask - 1))
                fputs("any of ", f);
        for (int i = 0; i < max; i++)
                if (mask & (1U << i)) {
                        fprintf(f, "%s'%s'", first ? "" : ", ", to_string(i));
                        first = false;
                }
}

static const char *isolation_to_string_int(int i) {
        return isolation_to_string((Isolation) i);
}

static const char *network_to_string_int(int i) {
        return network_mode_to_string((NetworkMode) i);
}

static const char *yes_no(bool b) {
        return b ? "true" : "false";
}

static void format_ipv4(char buf[static 16], uint32_t address) {
        const uint8_t *b = (const uint8_t *) &address;

        (void) snprintf(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

/* "127.0.0.1:8080->80/tcp", as docker ps shows it; address 0 is "0.0.0.0". */
static void print_port(FILE *f, const SpecPort *p) {
        char a[16];

        format_ipv4(a, p->address);
        fprintf(f, "%s:%u->%u/%s", a, p->host, p->guest, strna(port_proto_to_string(p->proto)));
}

static void print_addresses(FILE *f, const uint32_t *l, size_t n) {
        if (n > 1)
                fputs("any of ", f);
        for (size_t i = 0; i < n; i++) {
                char a[16];

                format_ipv4(a, l[i]);
                fprintf(f, "%s'%s'", i == 0 ? "" : ", ", a);
        }
}

static bool addresses_contain(const uint32_t *l, size_t n, uint32_t address) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == address)
                        return true;
        return false;
}

static void print_size(FILE *f, uint64_t bytes) {
        char buf[32];

        format_size(buf, sizeof buf, bytes);
        fputs(buf, f);
}

/* ---- Matching ----------------------------------------------------------------------------------- */

static bool caller_in_gid(const PolicyCaller *c, const uint32_t *gids, size_t n) {
        /* (gid_t) -1: the primary GID is unknown (the daemon could not confirm it); it matches nothing. */
        if (c->gid != (gid_t) -1 && ids_contain(gids, n, (uint32_t) c->gid))
                return true;
        for (size_t i = 0; i < c->n_groups; i++)
                if (ids_contain(gids, n, (uint32_t) c->groups[i]))
                        return true;
        return false;
}

static bool caller_in_group(const PolicyCaller *c, char **names) {
        for (char **i = names; *i; i++)
                if (strv_contains(c->group_names, *i))
                        return true;
        return false;
}

static bool labels_match(const PolicyMatch *m, const WorkloadSpec *s, FILE *why) {
        for (size_t i = 0; i < m->n_labels; i++) {
                const LabelMatch *l = &m->labels[i];
                const char *v = workload_spec_label(s, l->key);

                if (v && (strv_contains(l->values, "*") || strv_contains(l->values, v)))
                        continue;
                if (why) {
                        if (v)
                                fprintf(why, "labels: request label '%s' is '%s', rule wants ", l->key, v);
                        else
                                fprintf(why, "labels: request has no label '%s', rule wants ", l->key);
                        print_strv(why, l->values);
                }
                return false;
        }
        return true;
}

/* Does key k of m match? If not, and why is non-NULL, says why (key first, with the values). */
static bool match_key_test(const PolicyMatch *m, MatchKey k, const WorkloadSpec *s, const PolicyCaller *c,
                           FILE *why) {
        const char *name = match_key_to_string(k);

        switch (k) {
        case MATCH_UID:
                if (ids_contain(m->uids, m->n_uids, (uint32_t) c->uid))
                        return true;
                if (why) {
                        fprintf(why, "uid: caller uid %u, rule wants ", (unsigned) c->uid);
                        print_ids(why, m->uids, m->n_uids);
                }
                return false;
        case MATCH_GID:
                if (caller_in_gid(c, m->gids, m->n_gids))
                        return true;
                if (why) {
                        if (c->gid != (gid_t) -1)
                                fprintf(why, "gid: caller gid %u", (unsigned) c->gid);
                        else
                                fputs("gid: caller gid unknown", why);
                        for (size_t i = 0; i < c->n_groups; i++)
                                fprintf(why, "%s%u", i == 0 ? " (supplementary " : ", ",
                                        (unsigned) c->groups[i]);
                        fprintf(why, "%s, rule wants ", c->n_groups > 0 ? ")" : "");
                        print_ids(why, m->gids, m->n_gids);
                }
                return false;
        case MATCH_USER:
                if (c->user_name && strv_contains(m->users, c->user_name))
                        return true;
                if (why) {
                        if (c->user_name)
                                fprintf(why, "user: caller user '%s', rule wants ", c->user_name);
                        else
                                fprintf(why, "user: caller user name unknown (uid %u), rule wants ",
                                        (unsigned) c->uid);
                        print_strv(why, m->users);
                }
                return false;
        case MATCH_GROUP:
                if (caller_in_group(c, m->groups))
                        return true;
                if (why) {
                        fputs("group: caller groups ", why);
                        if (c->group_names && c->group_names[0])
                                for (char *const *i = c->group_names; *i; i++)
                                        fprintf(why, "%s'%s'", i == c->group_names ? "" : ", ", *i);
                        else
                                fputs("unknown", why);
                        fputs(", rule wants ", why);
                        print_strv(why, m->groups);
                }
                return false;
        case MATCH_POLKIT:
                if (c->polkit == m->polkit)
                        return true;
                if (why)
                        fprintf(why,
                                "polkit: the caller %s authorized by polkit for org.isod1.launch, rule wants %s",
                                c->polkit ? "was" : "was not", yes_no(m->polkit));
                return false;
        case MATCH_ROOT:
                if ((c->uid == 0) == m->root)
                        return true;
                if (why)
                        fprintf(why, "root: caller uid %u %s root, rule wants %s", (unsigned) c->uid,
                                c->uid == 0 ? "is" : "is not", yes_no(m->root));
                return false;
        case MATCH_UNIT:
                if (c->unit && glob_any(m->units, c->unit))
                        return true;
                if (why) {
                        if (c->unit)
                                fprintf(why, "unit: caller unit '%s', rule wants ", c->unit);
                        else
                                fputs("unit: caller unit unknown, rule wants ", why);
                        print_strv(why, m->units);
                }
                return false;
        case MATCH_IMAGE:
                /* A stored image matches by the name it was asked by and by its ID. */
                if (s->image && glob_any(m->images, s->image))
                        return true;
                if (s->image_id && glob_any(m->images, s->image_id))
                        return true;
                if (why) {
                        if (s->image)
                                fprintf(why, "image: request image '%s'%s%s, rule wants ", s->image,
                                        s->image_id ? " ID " : "", strempty(s->image_id));
                        else
                                fprintf(why, "image: request has no image (rootfs '%s'), rule wants ",
                                        strna(s->rootfs));
                        print_strv(why, m->images);
                }
                return false;
        case MATCH_ROOTFS_PREFIX:
                if (s->rootfs && prefix_any(m->rootfs_prefixes, s->rootfs))
                        return true;
                if (why) {
                        if (s->rootfs)
                                fprintf(why, "rootfs_prefix: request rootfs '%s' is not under ", s->rootfs);
                        else
                                fprintf(why,
                                        "rootfs_prefix: request has no rootfs (image '%s'), rule wants ",
                                        strna(s->image));
                        print_strv(why, m->rootfs_prefixes);
                }
                return false;
        case MATCH_LABELS:
                return labels_match(m, s, why);
        case MATCH_ISOLATION:
                if (s->isolation >= 0 && (m->isolations & (1U << s->isolation)))
                        return true;
                if (why) {
                        fprintf(why, "isolation: request asks '%s', rule wants ",
                                strna(isolation_to_string(s->isolation)));
                        print_mask(why, m->isolations, isolation_to_string_int, _ISOLATION_MAX);
                }
                return false;
        case MATCH_TERMINAL:
        case MATCH_USERNS:
        case MATCH_PORTS:
        case MATCH_HOST_MOUNTS: {
                bool want = m->host_mounts, have = s->n_mounts > 0;

                if (k == MATCH_TERMINAL) {
                        want = m->terminal;
                        have = s->terminal;
                } else if (k == MATCH_USERNS) {
                        want = m->userns;
                        have = s->userns;
                } else if (k == MATCH_PORTS) {
                        want = m->ports;
                        have = s->n_ports > 0;
                }

                if (want == have)
                        return true;
                if (why)
                        fprintf(why, "%s: request says %s, rule wants %s", name, yes_no(have), yes_no(want));
                return false;
        }
        case MATCH_NETWORK:
                if (s->network >= 0 && (m->networks & (1U << s->network)))
                        return true;
                if (why) {
                        fprintf(why, "network: request mode '%s', rule wants ",
                                strna(network_mode_to_string(s->network)));
                        print_mask(why, m->networks, network_to_string_int, _NETWORK_MODE_MAX);
                }
                return false;
        case MATCH_NETWORK_NAME: {
                const char *n = spec_network_name(s);

                if (n && glob_any(m->network_names, n))
                        return true;
                if (why) {
                        if (n)
                                fprintf(why, "network_name: request network '%s', rule wants ", n);
                        else
                                fprintf(why,
                                        "network_name: request mode '%s' uses no named network, rule wants ",
                                        strna(network_mode_to_string(s->network)));
                        print_strv(why, m->network_names);
                }
                return false;
        }
        case MATCH_PORT_BELOW:
                for (size_t i = 0; i < s->n_ports; i++)
                        if (s->ports[i].host < m->port_below)
                                return true;
                if (why) {
                        if (s->n_ports == 0)
                                fputs("port_below: request publishes no ports", why);
                        else {
                                fputs("port_below: request host ports", why);
                                for (size_t i = 0; i < s->n_ports; i++)
                                        fprintf(why, "%s%u", i == 0 ? " " : ", ", s->ports[i].host);
                        }
                        fprintf(why, ", rule wants one below %u", m->port_below);
                }
                return false;
        case MATCH_PORT_ADDRESS:
                for (size_t i = 0; i < s->n_ports; i++)
                        if (addresses_contain(m->port_addresses, m->n_port_addresses, s->ports[i].address))
                                return true;
                if (why) {
                        if (s->n_ports == 0)
                                fputs("port_address: request publishes no ports", why);
                        else {
                                fputs("port_address: request ports", why);
                                for (size_t i = 0; i < s->n_ports; i++) {
                                        fputs(i == 0 ? " " : ", ", why);
                                        print_port(why, &s->ports[i]);
                                }
                        }
                        fputs(", rule wants ", why);
                        print_addresses(why, m->port_addresses, m->n_port_addresses);
                }
                return false;
        case MATCH_MEMORY_OVER:
                /* An unset limit asks for "no limit", which is over any threshold: leaving the value
                 * out must not dodge a rule. */
                if (s->memory == 0 || s->memory > m->memory_over)
                        return true;
                if (why) {
                        fputs("memory_over: request memory ", why);
                        print_size(why, s->memory);
                        fputs(" is not over ", why);
                        print_size(why, m->memory_over);
                }
                return false;
        case MATCH_CPUS_OVER:
                if (s->cpus <= 0 || s->cpus > m->cpus_over)
                        return true;
                if (why)
                        fprintf(why, "cpus_over: request cpus %g is not over %g", s->cpus, m->cpus_over);
                return false;
        case MATCH_PIDS_OVER:
                if (s->pids == 0 || s->pids > m->pids_over)
                        return true;
                if (why)
                        fprintf(why, "pids_over: request pids %" PRIu64 " is not over %" PRIu64, s->pids,
                                m->pids_over);
                return false;
        default:
                assert(false);
                return false;
        }
}

/* Tests the keys before max that the rule sets; on the first mismatch writes "skipped: …" to why. */
static bool rule_matches(const PolicyRule *rule, MatchKey max, const WorkloadSpec *s, const PolicyCaller *c,
                         FILE *why) {
        for (MatchKey k = 0; k < max; k++) {
                if (!rule->match.set[k] || match_key_test(&rule->match, k, s, c, NULL))
                        continue;
                if (why) {
                        fputs("skipped: ", why);
                        (void) match_key_test(&rule->match, k, s, c, why);
                }
                return false;
        }
        return true;
}

/* ---- Deciding ----------------------------------------------------------------------------------- */

static void print_caller(FILE *f, const PolicyCaller *c) {
        fprintf(f, "caller: uid %u", (unsigned) c->uid);
        if (c->user_name)
                fprintf(f, " ('%s')", c->user_name);
        if (c->gid != (gid_t) -1)
                fprintf(f, ", gid %u", (unsigned) c->gid);
        else
                fputs(", gid unknown", f);
        for (size_t i = 0; i < c->n_groups; i++)
                fprintf(f, "%s%u", i == 0 ? ", supplementary gids " : " ", (unsigned) c->groups[i]);
        for (char *const *i = c->group_names; i && *i; i++)
                fprintf(f, "%s'%s'", i == c->group_names ? ", groups " : ", ", *i);
        if (c->unit)
                fprintf(f, ", unit '%s'", c->unit);
        fputc('\n', f);
}

static void print_request(FILE *f, const WorkloadSpec *s) {
        fprintf(f, "request: isolation %s", strna(isolation_to_string(s->isolation)));
        if (s->image)
                fprintf(f, ", image '%s'", s->image);
        if (s->rootfs)
                fprintf(f, ", rootfs '%s'", s->rootfs);
        fputs(", memory ", f);
        if (s->memory > 0)
                print_size(f, s->memory);
        else
                fputs("unset", f);
        if (s->cpus > 0)
                fprintf(f, ", cpus %g", s->cpus);
        else
                fputs(", cpus unset", f);
        if (s->pids > 0)
                fprintf(f, ", pids %" PRIu64, s->pids);
        else
                fputs(", pids unset", f);
        fprintf(f, ", terminal %s, userns %s, network %s", yes_no(s->terminal), yes_no(s->userns),
                strna(network_mode_to_string(s->network)));
        if (spec_network_name(s))
                fprintf(f, " on '%s'", spec_network_name(s));
        for (size_t i = 0; i < s->n_ports; i++) {
                fputs(i == 0 ? ", ports " : " ", f);
                print_port(f, &s->ports[i]);
        }
        fprintf(f, ", host mounts %zu", s->n_mounts);
        for (size_t i = 0; i < s->n_labels; i++)
                fprintf(f, "%s%s=%s", i == 0 ? ", labels " : " ", s->labels[i].key, s->labels[i].value);
        fputc('\n', f);
}

typedef enum CapOutcome {
        CAP_KEPT,
        CAP_SET,
        CAP_CLAMPED,
        CAP_REFUSED,
} CapOutcome;

/* Applies one cap to one value (0 = unset, cap 0 = no cap). */
static CapOutcome cap_apply(double *value, double cap, bool clamp) {
        if (cap <= 0)
                return CAP_KEPT;
        if (*value <= 0) {
                *value = cap;
                return CAP_SET;
        }
        if (*value <= cap)
                return CAP_KEPT;
        if (!clamp)
                return CAP_REFUSED;
        *value = cap;
        return CAP_CLAMPED;
}

static void print_value(FILE *f, const char *what, double v) {
        if (v <= 0)
                fputs("unset", f);
        else if (streq(what, "memory"))
                print_size(f, (uint64_t) v);
        else
                fprintf(f, "%g", v);
}

static void cap_explain(FILE *f, FILE *refusal, const char *what, double requested, double value, double cap,
                        CapOutcome o) {
        fprintf(f, "  %s ", what);
        print_value(f, what, o == CAP_REFUSED ? requested : value);
        switch (o) {
        case CAP_KEPT:
                if (cap <= 0)
                        fputs(requested > 0 ? " (as requested, no cap)" : " (no cap)", f);
                else {
                        fputs(" (as requested, cap ", f);
                        print_value(f, what, cap);
                        fputc(')', f);
                }
                break;
        case CAP_SET:
                fputs(" (the cap: the request set none)", f);
                break;
        case CAP_CLAMPED:
                fputs(" (clamped from ", f);
                print_value(f, what, requested);
                fputc(')', f);
                break;
        case CAP_REFUSED:
                fputs(" is over the cap ", f);
                print_value(f, what, cap);
                fputs(": refused", f);
                fprintf(refusal, "%s%s ", ftell(refusal) > 0 ? ", " : "", what);
                print_value(refusal, what, requested);
                fputs(" is over the cap ", refusal);
                print_value(refusal, what, cap);
                break;
        }
        fputc('\n', f);
}

static void apply_caps(const PolicyAction *a, WorkloadSpec *s, FILE *f, FILE *refusal) {
        double mem = (double) s->memory, cpus = s->cpus, pids = (double) s->pids;
        CapOutcome o;

        fputs("limits:\n", f);
        o = cap_apply(&mem, (double) a->cap_memory, a->clamp);
        cap_explain(f, refusal, "memory", (double) s->memory, mem, (double) a->cap_memory, o);
        if (o != CAP_REFUSED)
                s->memory = (uint64_t) mem;
        o = cap_apply(&cpus, a->cap_cpus, a->clamp);
        cap_explain(f, refusal, "cpus", s->cpus, cpus, a->cap_cpus, o);
        if (o != CAP_REFUSED)
                s->cpus = cpus;
        o = cap_apply(&pids, (double) a->cap_pids, a->clamp);
        cap_explain(f, refusal, "pids", (double) s->pids, pids, (double) a->cap_pids, o);
        if (o != CAP_REFUSED)
                s->pids = (uint64_t) pids;
}

static int apply_force(const PolicyAction *a, WorkloadSpec *s, FILE *f) {
        if (a->force_seccomp) {
                char *c = strdup(a->force_seccomp);

                if (!c)
                        return -ENOMEM;
                fprintf(f, "forced: seccomp %s (request: %s)\n", c, s->seccomp ?: "unset, i.e. default");
                free(s->seccomp);
                s->seccomp = c;
        }
        if (a->force_readonly_rootfs >= 0) {
                fprintf(f, "forced: readonly_rootfs %s (request: %s)\n", yes_no(a->force_readonly_rootfs),
                        yes_no(s->readonly_rootfs));
                s->readonly_rootfs = a->force_readonly_rootfs;
        }
        if (a->force_userns >= 0) {
                fprintf(f, "forced: userns %s (request: %s)\n", yes_no(a->force_userns), yes_no(s->userns));
                s->userns = a->force_userns;
        }
        if (a->force_network >= 0) {
                fprintf(f, "forced: network %s (request: %s", network_mode_to_string(a->force_network),
                        strna(network_mode_to_string(s->network)));
                /* Only nat has a network, ports, an address: a spec in another mode carries none. */
                if (a->force_network != NETWORK_NAT && s->network == NETWORK_NAT) {
                        if (s->n_ports > 0)
                                fprintf(f, "; %zu published port%s dropped", s->n_ports,
                                        s->n_ports == 1 ? "" : "s");
                        s->n_ports = 0;
                        free(s->network_name);
                        s->network_name = NULL;
                        s->ip = 0;
                        s->mac_set = false;
                        memset(s->mac, 0, sizeof s->mac);
                }
                fputs(")\n", f);
                s->network = a->force_network;
        }
        return 0;
}

/* Is the effective spec's network within what the rule allows? Explains each setting to f, and
 * writes what it does not allow to refusal ("; "-separated). A forced mode is allowed by definition. */
static void check_network(const PolicyAction *a, const WorkloadSpec *s, Isolation iso, FILE *f,
                          FILE *refusal) {
        static const uint8_t loopback_bytes[4] = { 127, 0, 0, 1 };
        const uint32_t *addresses = a->addresses;
        size_t n_addresses = a->n_addresses;
        const char *mode = strna(network_mode_to_string(s->network)), *name;
        uint32_t loopback;
        bool any_address;

        memcpy(&loopback, loopback_bytes, sizeof loopback);
        if (!addresses) {
                addresses = &loopback;
                n_addresses = 1;
        }
        any_address = addresses_contain(addresses, n_addresses, 0);

        fputs("network:\n", f);
        if (s->network == NETWORK_HOST && iso == ISOLATION_VM) {
                fputs("  mode host: refused: a VM cannot share the host's network namespace\n", f);
                fprintf(refusal,
                        "%snetwork mode host needs a container: a VM cannot share the host's network namespace",
                        ftell(refusal) > 0 ? "; " : "");
        } else if (s->network == NETWORK_NETNS && iso == ISOLATION_VM) {
                fputs("  mode netns: refused: a VM cannot join a network namespace\n", f);
                fprintf(refusal,
                        "%snetwork mode netns needs a container: a VM cannot join a network namespace",
                        ftell(refusal) > 0 ? "; " : "");
        } else if (a->force_network >= 0)
                fprintf(f, "  mode %s (forced)\n", mode);
        else if (s->network >= 0 && (a->network_modes & (1U << s->network))) {
                fprintf(f, "  mode %s (allowed: ", mode);
                print_mask(f, a->network_modes, network_to_string_int, _NETWORK_MODE_MAX);
                fputs(")\n", f);
        } else {
                fprintf(f, "  mode %s is not allowed (the rule allows ", mode);
                print_mask(f, a->network_modes, network_to_string_int, _NETWORK_MODE_MAX);
                fputs("): refused\n", f);
                fprintf(refusal, "%snetwork mode '%s' is not allowed (the rule allows ",
                        ftell(refusal) > 0 ? "; " : "", mode);
                print_mask(refusal, a->network_modes, network_to_string_int, _NETWORK_MODE_MAX);
                fputc(')', refusal);
        }

        name = spec_network_name(s);
        if (!name)
                return;
        if (!a->networks)
                fprintf(f, "  network '%s' (allowed: any)\n", name);
        else if (glob_any(a->networks, name)) {
                fprintf(f, "  network '%s' (allowed: ", name);
                print_strv(f, a->networks);
                fputs(")\n", f);
        } else {
                fprintf(f, "  network '%s' is not allowed (the rule allows ", name);
                print_strv(f, a->networks);
                fputs("): refused\n", f);
                fprintf(refusal, "%snetwork '%s' is not allowed (the rule allows ",
                        ftell(refusal) > 0 ? "; " : "", name);
                print_strv(refusal, a->networks);
                fputc(')', refusal);
        }

        if (s->n_ports > a->max_ports) {
                fprintf(f, "  %zu published ports, more than the maximum %u: refused\n", s->n_ports,
                        a->max_ports);
                fprintf(refusal, "%s%zu published ports are more than the maximum %u",
                        ftell(refusal) > 0 ? "; " : "", s->n_ports, a->max_ports);
        }
        for (size_t i = 0; i < s->n_ports; i++) {
                const SpecPort *p = &s->ports[i];
                bool low = p->host < a->port_min;
                bool address = !any_address && !addresses_contain(addresses, n_addresses, p->address);
                char buf[16];

                fputs("  port ", f);
                print_port(f, p);
                if (!low && !address) {
                        fprintf(f, " (allowed: host ports from %u on ", a->port_min);
                        if (any_address)
                                fputs("any address", f);
                        else
                                print_addresses(f, addresses, n_addresses);
                        fputs(")\n", f);
                        continue;
                }

                fprintf(refusal, "%sport ", ftell(refusal) > 0 ? "; " : "");
                print_port(refusal, p);
                fputs(": refused:", f);
                fputc(':', refusal);
                if (low) {
                        fprintf(f, " host port %u is below %u", p->host, a->port_min);
                        fprintf(refusal, " host port %u is below %u", p->host, a->port_min);
                }
                if (address) {
                        format_ipv4(buf, p->address);
                        fprintf(f, "%s address %s%s is not allowed (the rule allows ", low ? "," : "", buf,
                                p->address == 0 ? " (all addresses)" : "");
                        fprintf(refusal, "%s address %s%s is not allowed (the rule allows ", low ? "," : "",
                                buf, p->address == 0 ? " (all addresses)" : "");
                        print_addresses(f, addresses, n_addresses);
                        print_addresses(refusal, addresses, n_addresses);
                        fputc(')', f);
                        fputc(')', refusal);
                }
                fputc('\n', f);
        }
}

static Isolation decide_isolation(const PolicyAction *a, const WorkloadSpec *s, FILE *f) {
        const char *asked = strna(isolation_to_string(s->isolation));
        Isolation iso;

        switch (a->verdict) {
        case VERDICT_VM:
        case VERDICT_CONTAINER:
                iso = a->verdict == VERDICT_VM ? ISOLATION_VM : ISOLATION_CONTAINER;
                if (s->isolation == ISOLATION_AUTO || s->isolation == iso)
                        fprintf(f, "isolation: %s (the rule decides; the request asked for %s)\n",
                                isolation_to_string(iso), asked);
                else
                        fprintf(f, "isolation: %s (the request asked for %s: the rule wins)\n",
                                isolation_to_string(iso), asked);
                return iso;
        case VERDICT_REQUESTED:
                if (s->isolation == ISOLATION_VM || s->isolation == ISOLATION_CONTAINER) {
                        fprintf(f, "isolation: %s (as requested)\n", asked);
                        return s->isolation;
                }
                if ((a->force_network >= 0 ? a->force_network : s->network) == NETWORK_HOST ||
                    (a->force_network < 0 && s->network == NETWORK_NETNS)) {
                        fputs("isolation: container (the request asked for auto with network host, which only a container can have)\n",
                              f);
                        return ISOLATION_CONTAINER;
                }
                fprintf(f, "isolation: %s (the request asked for auto: the rule's 'auto' choice)\n",
                        isolation_to_string(a->auto_isolation));
                return a->auto_isolation;
        default:
                assert(false);
                return _ISOLATION_INVALID;
        }
}

/* Returns 0 (decision and explanation set), -EACCES (explanation and message set: over a cap), or
 * -ENOMEM (nothing set). */
static int evaluate(const Policy *p, const WorkloadSpec *spec, const PolicyCaller *caller,
                    PolicyDecision **ret, char **ret_explanation, char **reterr_message) {
        _cleanup_(policy_decision_freep) PolicyDecision *d = NULL;
        _cleanup_free_ char *text = NULL, *refused = NULL, *net_refused = NULL;
        size_t text_size = 0, refused_size = 0, net_refused_size = 0;
        _cleanup_fclose_ FILE *f = NULL, *rf = NULL, *nf = NULL;
        const PolicyRule *rule = NULL;
        const PolicyAction *a;
        const char *name, *reason;
        int r;

        assert(p);
        assert(spec);
        assert(caller);

        f = open_memstream(&text, &text_size);
        if (!f)
                return -ENOMEM;
        rf = open_memstream(&refused, &refused_size);
        if (!rf)
                return -ENOMEM;
        nf = open_memstream(&net_refused, &net_refused_size);
        if (!nf)
                return -ENOMEM;

        fprintf(f, "policy: %s (%zu rules)\n", p->source, p->n_rules);
        print_caller(f, caller);
        print_request(f, spec);
        for (size_t i = 0; i < p->n_rules; i++) {
                fprintf(f, "rule '%s' (rules[%zu]): ", p->rules[i].name, i);
                if (rule_matches(&p->rules[i], _MATCH_KEY_MAX, spec, caller, f)) {
                        fputs("matched\n", f);
                        rule = &p->rules[i];
                        break;
                }
                fputc('\n', f);
        }
        if (!rule)
                fputs("default: no rule matched\n", f);
        else if (rule->index + 1 < p->n_rules)
                fprintf(f, "(%zu later rules not tried: the first match wins)\n",
                        p->n_rules - rule->index - 1);

        a = rule ? &rule->action : &p->default_action;
        name = rule ? rule->name : "default";
        reason = rule ? rule->reason : p->default_reason;

        d = calloc(1, sizeof(PolicyDecision));
        if (!d)
                return -ENOMEM;
        d->isolation = _ISOLATION_INVALID;
        d->rule = strdup(name);
        if (!d->rule)
                return -ENOMEM;
        if (reason) {
                d->reason = strdup(reason);
                if (!d->reason)
                        return -ENOMEM;
        }

        if (a->verdict == VERDICT_DENY) {
                d->deny = true;
                fprintf(f, "decision: deny (rule '%s')\n", name);
        } else {
                d->spec = workload_spec_copy(spec);
                if (!d->spec)
                        return -ENOMEM;
                d->isolation = d->spec->isolation = decide_isolation(a, spec, f);
                apply_caps(a, d->spec, f, rf);
                r = apply_force(a, d->spec, f);
                if (r < 0)
                        return r;
                check_network(a, d->spec, d->isolation, f, nf);
                if (ftell(rf) > 0 && ftell(nf) > 0)
                        fprintf(f,
                                "decision: refused (rule '%s' caps the request and does not clamp, and does not allow its network settings)\n",
                                name);
                else if (ftell(rf) > 0)
                        fprintf(f, "decision: refused (rule '%s' caps the request and does not clamp)\n",
                                name);
                else if (ftell(nf) > 0)
                        fprintf(f,
                                "decision: refused (rule '%s' does not allow the request's network settings)\n",
                                name);
                else
                        fprintf(f, "decision: %s (rule '%s')\n", isolation_to_string(d->isolation), name);
        }
        if (reason)
                fprintf(f, "reason: %s\n", reason);

        if (fflush(f) != 0 || ferror(f) || fflush(rf) != 0 || ferror(rf) || fflush(nf) != 0 || ferror(nf))
                return -ENOMEM;
        if (fclose(TAKE_PTR(f)) != 0 || fclose(TAKE_PTR(rf)) != 0 || fclose(TAKE_PTR(nf)) != 0)
                return -ENOMEM;

        if (refused_size > 0 || net_refused_size > 0) {
                if (reterr_message) {
                        char *m = NULL;

                        if (asprintf(&m, "Policy rule '%s' refuses the request: %s%s%s%s.", name, refused,
                                     refused_size > 0 ? " (the rule does not clamp)" : "",
                                     refused_size > 0 && net_refused_size > 0 ? "; " : "", net_refused) < 0)
                                return -ENOMEM;
                        free(*reterr_message);
                        *reterr_message = m;
                }
                *ret_explanation = TAKE_PTR(text);
                return -EACCES;
        }

        *ret_explanation = TAKE_PTR(text);
        if (ret)
                *ret = TAKE_PTR(d);
        return 0;
}

int policy_evaluate(const Policy *p, const WorkloadSpec *spec, const PolicyCaller *caller,
                    PolicyDecision **ret, char **reterr_message) {
        _cleanup_(policy_decision_freep) PolicyDecision *d = NULL;
        _cleanup_free_ char *explanation = NULL;
        int r;

        assert(ret);

        r = evaluate(p, spec, caller, &d, &explanation, reterr_message);
        if (r < 0)
                return r;
        d->explanation = TAKE_PTR(explanation);
        *ret = TAKE_PTR(d);
        return 0;
}

int policy_explain(const Policy *p, const WorkloadSpec *spec, const PolicyCaller *caller, char **ret) {
        int r;

        assert(ret);

        r = evaluate(p, spec, caller, NULL, ret, NULL);
        return r == -EACCES ? 0 : r;
}

bool policy_needs_unit(const Policy *p) {
        for (size_t i = 0; p && i < p->n_rules; i++)
                if (p->rules[i].match.units)
                        return true;
        return false;
}

bool policy_may_manage(const Policy *p, const PolicyCaller *caller, uid_t owner_uid) {
        assert(caller);

        if (caller->uid == 0 || caller->uid == owner_uid)
                return true;
        if (!p)
                return false;
        /* Any rule that grants it, whatever its place: only its caller keys count. */
        for (size_t i = 0; i < p->n_rules; i++)
                if (p->rules[i].action.manage_others &&
                    rule_matches(&p->rules[i], _MATCH_CALLER_MAX, NULL, caller, NULL))
                        return true;
        return false;
}
