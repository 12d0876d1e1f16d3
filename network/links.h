/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdint.h>

#include "netconf.h"

DEFINE_CLEANUP_FUNC(struct nl_sock *, nl_socket_free);
DEFINE_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);

/* Links, addresses and routes with libnl-route-3 (docs/network.md#links). Negative errno. */

struct nl_sock;
/* libnl's -NLE_* code → negative errno. */
int link_nl_errno(int nle);
/* A connected NETLINK_ROUTE socket (free with nl_socket_free()). */
int link_socket(struct nl_sock **ret);
/* Bridge-port hairpin on ifindex (a self-forward needs it when br_netfilter is active). */
int link_set_hairpin(struct nl_sock *sk, int ifindex);

/* The network's bridge: created if missing (up, address gateway/prefix, MTU), else checked and
 * brought to that state. -EEXIST if a link of that name exists and is not a bridge. */
int link_bridge_ensure(const char *name, uint32_t gateway, unsigned prefix, unsigned mtu);
int link_delete(const char *ifname);
bool link_exists(const char *ifname);

/* Deletes link ifindex if it still exists and is still called ifname: 1 if it was deleted, 0 if
 * it was gone (or is another link now), else a negative errno. */
int link_delete_index(int ifindex, const char *ifname);

/* The names of the ports of bridge (NULL-terminated, possibly empty); -ENODEV if no such link. */
int link_bridge_ports(const char *bridge, char ***ret);

/* A container's veth: host end c->host_ifname on the bridge c->network (up, hairpin per c),
 * peer "eth0" born in the network namespace netns_fd, with address, default route via the
 * gateway and MTU, up. */
int link_veth_create(const NetConfig *c, int netns_fd);

/* Host-side counters of ifname (a veth host end or a tap), seen from the workload: what the host
 * end transmits the workload receives. */
typedef struct LinkStats {
        uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
} LinkStats;
int link_workload_stats(const char *ifname, LinkStats *ret);

/* The MTU of the device of the default route (1500 if there is none). */
unsigned link_uplink_mtu(void);
/* Whether net/prefix overlaps an address or route of this network namespace. */
int link_subnet_in_use(uint32_t net, unsigned prefix);
/* Sets /proc/sys/net/ipv4/conf/IFNAME/KEY (or "all"/"default"); for forwarding, route_localnet. */
int link_sysctl(const char *ifname, const char *key, const char *value);
/* No IPv6 on ifname (no link-local address, no router solicitations): isod has no IPv6 yet. */
int link_disable_ipv6(const char *ifname);

/* network/tap.c: a VM's tap, c->host_ifname, opened in this (the host's) network namespace with
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, on the bridge, MTU and hairpin as c says, up. The fd is for
 * QEMU's -netdev tap,fd=N; the kernel removes the tap when the last fd closes. */
int tap_open(const NetConfig *c, int *ret_fd);
