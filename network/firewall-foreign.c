/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "firewall-internal.h"
#include "util.h"

/* Other tables than ours that will drop our traffic (docs/network.md#other-firewalls). */

static bool ruleset_has_chain(json_t *items, const char *family, const char *table, const char *chain) {
        size_t idx;
        json_t *item;

        json_array_foreach (items, idx, item) {
                json_t *c = json_object_get(item, "chain");
                if (c && streq_ptr(json_string_value(json_object_get(c, "family")), family) &&
                    streq_ptr(json_string_value(json_object_get(c, "table")), table) &&
                    streq_ptr(json_string_value(json_object_get(c, "name")), chain))
                        return true;
        }
        return false;
}

/* "CMD1 BR0; CMD1 BR1; …" for every bridge (fmt has one %s, the bridge), "<bridge>" if none. */
static char *fw_per_bridge(Firewall *f, const char *fmt) {
        _cleanup_fclose_ FILE *o = NULL;
        char *buf = NULL;
        size_t len = 0;

        o = open_memstream(&buf, &len);
        if (!o)
                return NULL;
        for (size_t i = 0; i < MAX(f->n_nets, (size_t) 1); i++) {
                if (i > 0)
                        fputs("; ", o);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                fprintf(o, fmt, f->n_nets > 0 ? f->nets[i].bridge : "<bridge>");
#pragma GCC diagnostic pop
        }
        if (fclose(TAKE_PTR(o)) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

int firewall_foreign_warnings(Firewall *f, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        json_auto_t *root = NULL;
        json_t *items, *item;
        size_t idx;
        int r;

        assert(f);
        assert(ret);

        r = fw_list_json(f, "list ruleset", &root);
        if (r < 0)
                return r;
        items = json_object_get(root, "nftables");

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        json_array_foreach (items, idx, item) {
                _cleanup_free_ char *fix = NULL, *w = NULL;
                const char *family, *table, *name, *kind, *suffix = "";
                json_t *c = json_object_get(item, "chain");

                if (!c || !streq_ptr(json_string_value(json_object_get(c, "hook")), "forward") ||
                    !streq_ptr(json_string_value(json_object_get(c, "policy")), "drop"))
                        continue;
                family = json_string_value(json_object_get(c, "family"));
                table = json_string_value(json_object_get(c, "table"));
                name = json_string_value(json_object_get(c, "name"));
                if (!family || !table || !name)
                        continue;
                if (streq(table, FW_TABLE) && (streq(family, "inet") || streq(family, "bridge")))
                        continue;

                if (ruleset_has_chain(items, family, table, "DOCKER-USER")) {
                        kind = "Docker";
                        fix = fw_per_bridge(f, "iptables -I DOCKER-USER -i %1$s -j ACCEPT; "
                                               "iptables -I DOCKER-USER -o %1$s -j ACCEPT");
                } else if (ruleset_has_chain(items, family, table, "ufw-before-forward")) {
                        kind = "ufw";
                        fix = fw_per_bridge(f, "ufw route allow in on %1$s; ufw route allow out on %1$s");
                } else if (streq(table, "firewalld")) {
                        kind = "firewalld";
                        fix = fw_per_bridge(f, "firewall-cmd --permanent --zone=trusted --add-interface=%s");
                        suffix = "; firewall-cmd --reload";
                } else {
                        kind = "another firewall";
                        fix = fw_per_bridge(f, "accept iifname \"%1$s\" and oifname \"%1$s\" in that chain");
                }
                if (!fix)
                        return -ENOMEM;

                if (asprintf(
                            &w,
                            "%s table '%s %s' chain '%s' drops forwarded traffic by default (hook forward, "
                            "policy drop): workloads lose the outside, port forwards and, with br_netfilter, "
                            "each other. Fix: %s%s",
                            kind, family, table, name, fix, suffix) < 0)
                        return -ENOMEM;
                r = strv_extend(&l, w);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(l);
        return 0;
}
