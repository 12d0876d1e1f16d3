/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arpa/inet.h>
#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* What one workload's network is, as isod decided it (network/, docs/network.md): written by isod
 * into workload.json as "net", read by the monitor (links: veth or tap) and, for a VM, handed to
 * the guest agent. All addresses are IPv4 in network byte order. */

#define NETCONF_MAX_DNS 3U
#define NETCONF_DOMAIN "isod"

typedef struct NetConfig {
        char network[IFNAMSIZ];     /* the network's name, which is also its bridge's name */
        char host_ifname[IFNAMSIZ]; /* host end: "vi" + 8 hex (veth) or "ti" + 8 hex (tap) */
        uint32_t ip;                /* the workload's address */
        uint32_t gateway;           /* the bridge's address (also the name server) */
        unsigned prefix;            /* subnet prefix length, 8..30 */
        uint8_t mac[6];             /* the workload's MAC */
        unsigned mtu;
        uint32_t dns[NETCONF_MAX_DNS];
        size_t n_dns;
        bool hairpin; /* bridge-port hairpin: the workload can reach its own forwards */
} NetConfig;

/* "vi"/"ti" + 8 hex digits of a hash of the workload's name: stable across isod restarts. */
void netconf_host_ifname(const char *workload, bool tap, char ret[IFNAMSIZ]);
/* Whether s has the shape netconf_host_ifname() gives names: "vi"/"ti" and 8 lowercase hex digits. */
bool netconf_host_ifname_is_ours(const char *s);
/* 02:xx + the 4 bytes of the address (locally administered, unicast). */
void netconf_mac_from_ip(uint32_t ip, uint8_t ret[6]);

json_t *netconf_to_json(const NetConfig *c);
int netconf_from_json(json_t *j, NetConfig *ret);

/* Formatting helpers: "10.1.2.3", "02:00:0a:01:02:03". */
const char *ipv4_to_string(uint32_t ip, char buf[static 16]);
const char *mac_to_string(const uint8_t mac[6], char buf[static 18]);
static inline uint32_t prefix_to_mask(unsigned prefix) {
        return prefix == 0 ? 0 : htonl(~((UINT32_C(1) << (32 - prefix)) - 1));
}
