/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "netconf.h"
#include "spec.h"
#include "util.h"

/* FNV-1a, 32 bits: a stable, short tag for a workload's name (host interface names). */
static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261U;

        for (; *s; s++) {
                h ^= (uint8_t) *s;
                h *= 16777619U;
        }
        return h;
}

void netconf_host_ifname(const char *workload, bool tap, char ret[IFNAMSIZ]) {
        (void) snprintf(ret, IFNAMSIZ, "%s%08x", tap ? "ti" : "vi", fnv1a(workload));
}

bool netconf_host_ifname_is_ours(const char *s) {
        if (strlen(s) != 10 || (strncmp(s, "vi", 2) != 0 && strncmp(s, "ti", 2) != 0))
                return false;
        for (size_t i = 2; i < 10; i++)
                if (!strchr("0123456789abcdef", s[i]))
                        return false;
        return true;
}

void netconf_mac_from_ip(uint32_t ip, uint8_t ret[6]) {
        ret[0] = 0x02;
        ret[1] = 0x00;
        memcpy(ret + 2, &ip, 4);
}

const char *ipv4_to_string(uint32_t ip, char buf[static 16]) {
        const uint8_t *b = (const uint8_t *) &ip;

        (void) snprintf(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        return buf;
}

const char *mac_to_string(const uint8_t mac[6], char buf[static 18]) {
        (void) snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                        mac[5]);
        return buf;
}

json_t *netconf_to_json(const NetConfig *c) {
        char ip[16], gw[16], mac[18];
        json_t *j, *dns;

        dns = json_array();
        if (!dns)
                return NULL;
        for (size_t i = 0; i < c->n_dns; i++)
                json_array_append_new(dns, json_string(ipv4_to_string(c->dns[i], ip)));
        j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:i,s:o,s:b}", "network", c->network, "host_ifname",
                      c->host_ifname, "ip", ipv4_to_string(c->ip, ip), "gateway",
                      ipv4_to_string(c->gateway, gw), "prefix", (int) c->prefix, "mac",
                      mac_to_string(c->mac, mac), "mtu", (int) c->mtu, "dns", dns, "hairpin", c->hairpin);
        return j;
}

static int copy_ifname(json_t *j, const char *key, char ret[IFNAMSIZ]) {
        const char *s = json_string_value(json_object_get(j, key));

        if (!s || strlen(s) == 0 || strlen(s) >= IFNAMSIZ || strchr(s, '/'))
                return -EINVAL;
        strcpy(ret, s);
        return 0;
}

int netconf_from_json(json_t *j, NetConfig *ret) {
        NetConfig c = {};
        json_t *dns, *e;
        json_int_t v;
        size_t i;

        if (!json_is_object(j))
                return -EINVAL;
        if (copy_ifname(j, "network", c.network) < 0 || copy_ifname(j, "host_ifname", c.host_ifname) < 0)
                return -EINVAL;
        if (parse_ipv4(json_string_value(json_object_get(j, "ip")), &c.ip) < 0 ||
            parse_ipv4(json_string_value(json_object_get(j, "gateway")), &c.gateway) < 0 ||
            parse_mac(json_string_value(json_object_get(j, "mac")), c.mac) < 0)
                return -EINVAL;
        v = json_integer_value(json_object_get(j, "prefix"));
        if (v < 8 || v > 30)
                return -EINVAL;
        c.prefix = (unsigned) v;
        v = json_integer_value(json_object_get(j, "mtu"));
        if (v < 576 || v > 65535)
                return -EINVAL;
        c.mtu = (unsigned) v;
        dns = json_object_get(j, "dns");
        json_array_foreach (dns, i, e) {
                if (c.n_dns >= NETCONF_MAX_DNS || parse_ipv4(json_string_value(e), &c.dns[c.n_dns]) < 0)
                        return -EINVAL;
                c.n_dns++;
        }
        c.hairpin = json_is_true(json_object_get(j, "hairpin"));
        *ret = c;
        return 0;
}
