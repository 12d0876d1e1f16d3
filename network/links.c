/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "links.h"
#include "util.h"

/* Links with libnl-route-3 (docs/network.md#links). libnl's -NLE_* codes are not errno values:
 * every call converts. */

DEFINE_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put);
DEFINE_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put);
DEFINE_CLEANUP_FUNC(struct nl_addr *, nl_addr_put);
DEFINE_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);

int link_nl_errno(int nle) {
        switch (abs(nle)) {
        case 0:
                return 0;
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_EXIST:
                return -EEXIST;
        case NLE_OBJ_NOTFOUND:
        case NLE_NODEV:
                return -ENODEV;
        case NLE_PERM:
        case NLE_NOACCESS:
                return -EPERM;
        case NLE_OPNOTSUPP:
                return -EOPNOTSUPP;
        case NLE_INVAL:
        case NLE_RANGE:
                return -EINVAL;
        case NLE_BUSY:
                return -EBUSY;
        default:
                return -EIO;
        }
}
#define NLERR(x) link_nl_errno(x)

int link_socket(struct nl_sock **ret) {
        struct nl_sock *sk = nl_socket_alloc();
        int r;

        if (!sk)
                return -ENOMEM;
        r = NLERR(nl_connect(sk, NETLINK_ROUTE));
        if (r < 0) {
                nl_socket_free(sk);
                return r;
        }
        *ret = sk;
        return 0;
}

static struct nl_addr *addr4(uint32_t ip, unsigned prefix) {
        struct nl_addr *a = nl_addr_build(AF_INET, &ip, 4);

        if (a)
                nl_addr_set_prefixlen(a, (int) prefix);
        return a;
}

static int add_address(struct nl_sock *sk, int ifindex, uint32_t ip, unsigned prefix) {
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *a = rtnl_addr_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *local = addr4(ip, prefix);
        int r;

        if (!a || !local)
                return -ENOMEM;
        rtnl_addr_set_ifindex(a, ifindex);
        r = NLERR(rtnl_addr_set_local(a, local));
        if (r < 0)
                return r;
        r = NLERR(rtnl_addr_add(sk, a, 0));
        return r == -EEXIST ? 0 : r;
}

int link_set_hairpin(struct nl_sock *sk, int ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = rtnl_link_alloc(), *chg = rtnl_link_alloc();
        int r;

        if (!orig || !chg)
                return -ENOMEM;
        /* libnl 3.7 wants both objects AF_BRIDGE ("family is immutable" otherwise). */
        rtnl_link_set_ifindex(orig, ifindex);
        rtnl_link_set_family(orig, AF_BRIDGE);
        rtnl_link_set_family(chg, AF_BRIDGE);
        r = NLERR(rtnl_link_bridge_set_flags(chg, RTNL_BRIDGE_HAIRPIN_MODE));
        if (r < 0)
                return r;
        return NLERR(rtnl_link_change(sk, orig, chg, 0));
}

int link_sysctl(const char *ifname, const char *key, const char *value) {
        char p[256];

        if (strchr(ifname, '/') || strchr(key, '/') || streq(ifname, ".") || streq(ifname, ".."))
                return -EINVAL;
        (void) snprintf(p, sizeof p, "/proc/sys/net/ipv4/conf/%s/%s", ifname, key);
        return write_string_file(p, value);
}

int link_disable_ipv6(const char *ifname) {
        char p[256];

        if (strchr(ifname, '/') || streq(ifname, ".") || streq(ifname, ".."))
                return -EINVAL;
        (void) snprintf(p, sizeof p, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
        return write_string_file(p, "1");
}

bool link_exists(const char *ifname) {
        return if_nametoindex(ifname) > 0;
}

int link_bridge_ensure(const char *name, uint32_t gateway, unsigned prefix, unsigned mtu) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL, *chg = NULL;
        int r, ifindex;

        r = link_socket(&sk);
        if (r < 0)
                return r;
        r = NLERR(rtnl_link_get_kernel(sk, 0, name, &l));
        if (r == -ENODEV) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *br = rtnl_link_alloc();

                if (!br)
                        return -ENOMEM;
                r = NLERR(rtnl_link_set_type(br, "bridge"));
                if (r < 0)
                        return r;
                rtnl_link_set_name(br, name);
                if (mtu > 0)
                        rtnl_link_set_mtu(br, mtu);
                r = NLERR(rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL));
                if (r < 0)
                        return r;
                r = NLERR(rtnl_link_get_kernel(sk, 0, name, &l));
        }
        if (r < 0)
                return r;
        if (!streq_ptr(rtnl_link_get_type(l), "bridge"))
                return -EEXIST;
        ifindex = rtnl_link_get_ifindex(l);
        r = add_address(sk, ifindex, gateway, prefix);
        if (r < 0)
                return r;
        chg = rtnl_link_alloc();
        if (!chg)
                return -ENOMEM;
        rtnl_link_set_flags(chg, IFF_UP);
        if (mtu > 0)
                rtnl_link_set_mtu(chg, mtu);
        r = NLERR(rtnl_link_change(sk, l, chg, 0));
        if (r < 0)
                return r;
        /* Forwarding must be on for the bridge and the uplink (both directions fail otherwise), so
         * for "all"; IPv6 stays off on the bridge: workloads have no IPv6 yet. */
        (void) write_string_file("/proc/sys/net/ipv4/ip_forward", "1");
        (void) link_disable_ipv6(name);
        /* Localhost forwards: packets from 127.0.0.1 DNATed onto the bridge must be routable
         * (the firewall's guard chain keeps workloads from reaching the host's 127/8). */
        return link_sysctl(name, "route_localnet", "1");
}

/* A new socket and the link named ifname, both for the caller to free. */
static int link_get(const char *ifname, struct nl_sock **ret_sk, struct rtnl_link **ret_link) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int r;

        r = link_socket(&sk);
        if (r < 0)
                return r;
        r = NLERR(rtnl_link_get_kernel(sk, 0, ifname, ret_link));
        if (r < 0)
                return r;
        *ret_sk = TAKE_PTR(sk);
        return 0;
}

int link_delete(const char *ifname) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
        int r;

        r = link_get(ifname, &sk, &l);
        if (r < 0)
                return r;
        return NLERR(rtnl_link_delete(sk, l));
}

int link_delete_index(int ifindex, const char *ifname) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
        int r;

        r = link_socket(&sk);
        if (r < 0)
                return r;
        r = NLERR(rtnl_link_get_kernel(sk, ifindex, NULL, &l));
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        if (!streq_ptr(rtnl_link_get_name(l), ifname))
                return 0; /* that index is another link now */
        r = NLERR(rtnl_link_delete(sk, l));
        return r == -ENODEV ? 0 : r < 0 ? r : 1;
}

/* A netlink socket in the network namespace netns_fd (sockets stay in the namespace they were
 * made in); this process returns to its own namespace before returning. */
static int socket_in_netns(int netns_fd, struct nl_sock **ret) {
        _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        int r, q;

        if (self < 0)
                return -errno;
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;
        r = link_socket(ret);
        q = setns(self, CLONE_NEWNET) < 0 ? -errno : 0;
        if (q < 0) {
                /* Stuck in the workload's namespace: nothing after this may run here. */
                if (r >= 0)
                        nl_socket_free(*ret);
                abort();
        }
        return r;
}

int link_veth_create(const NetConfig *c, int netns_fd) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL, *skw = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *br = NULL, *e = NULL, *chg = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *mac = NULL, *gw = NULL, *dst = NULL;
        struct rtnl_link *veth, *peer;
        int r, eix;

        r = link_socket(&sk);
        if (r < 0)
                return r;
        r = NLERR(rtnl_link_get_kernel(sk, 0, c->network, &br));
        if (r < 0)
                return r;

        /* One RTM_NEWLINK: host end on the bridge and up, peer "eth0" born in the namespace. */
        veth = rtnl_link_veth_alloc();
        if (!veth)
                return -ENOMEM;
        peer = rtnl_link_veth_get_peer(veth);
        mac = nl_addr_build(AF_LLC, c->mac, 6);
        if (!mac) {
                rtnl_link_put(peer);
                rtnl_link_veth_release(veth);
                return -ENOMEM;
        }
        rtnl_link_set_name(veth, c->host_ifname);
        rtnl_link_set_master(veth, rtnl_link_get_ifindex(br));
        rtnl_link_set_flags(veth, IFF_UP);
        rtnl_link_set_mtu(veth, c->mtu);
        rtnl_link_set_name(peer, "eth0");
        rtnl_link_set_ns_fd(peer, netns_fd);
        rtnl_link_set_mtu(peer, c->mtu);
        rtnl_link_set_addr(peer, mac);
        r = NLERR(rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL));
        rtnl_link_put(peer);
        rtnl_link_veth_release(veth);
        if (r == -EEXIST) {
                /* A host end left by a workload of the same name whose namespace is still
                 * going away: replace it (its peer is not ours to keep). */
                (void) link_delete(c->host_ifname);
                return -EEXIST;
        }
        if (r < 0)
                return r;
        if (c->hairpin) {
                int ix = (int) if_nametoindex(c->host_ifname);

                r = ix > 0 ? link_set_hairpin(sk, ix) : -ENODEV;
                if (r < 0)
                        return r;
        }
        (void) link_disable_ipv6(c->host_ifname);

        /* Inside: eth0 up, its address, the default route via the gateway. */
        r = socket_in_netns(netns_fd, &skw);
        if (r < 0)
                return r;
        r = NLERR(rtnl_link_get_kernel(skw, 0, "eth0", &e));
        if (r < 0)
                return r;
        eix = rtnl_link_get_ifindex(e);
        chg = rtnl_link_alloc();
        if (!chg)
                return -ENOMEM;
        rtnl_link_set_flags(chg, IFF_UP);
        r = NLERR(rtnl_link_change(skw, e, chg, 0));
        if (r < 0)
                return r;
        r = add_address(skw, eix, c->ip, c->prefix);
        if (r < 0)
                return r;
        {
                _cleanup_(rtnl_route_putp) struct rtnl_route *rt = rtnl_route_alloc();
                struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

                gw = addr4(c->gateway, 32);
                dst = addr4(0, 0);
                if (!rt || !nh || !gw || !dst) {
                        if (nh)
                                rtnl_route_nh_free(nh);
                        return -ENOMEM;
                }
                rtnl_route_nh_set_gateway(nh, gw);
                rtnl_route_nh_set_ifindex(nh, eix);
                rtnl_route_add_nexthop(rt, nh);
                r = NLERR(rtnl_route_set_dst(rt, dst));
                if (r < 0)
                        return r;
                r = NLERR(rtnl_route_add(skw, rt, NLM_F_CREATE));
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return 0;
}

int link_workload_stats(const char *ifname, LinkStats *ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
        int r;

        r = link_get(ifname, &sk, &l);
        if (r < 0)
                return r;
        /* The host end's transmit is the workload's receive. */
        *ret = (LinkStats){
                .rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES),
                .rx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS),
                .tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES),
                .tx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS),
        };
        return 0;
}

unsigned link_uplink_mtu(void) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *routes = NULL;
        unsigned mtu = 1500;
        int ifindex = 0;

        if (link_socket(&sk) < 0 || rtnl_route_alloc_cache(sk, AF_INET, 0, &routes) < 0)
                return mtu;
        for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
                struct rtnl_route *rt = (struct rtnl_route *) o;
                struct nl_addr *d = rtnl_route_get_dst(rt);

                if (rtnl_route_get_table(rt) == RT_TABLE_MAIN && (!d || nl_addr_get_prefixlen(d) == 0) &&
                    rtnl_route_get_nnexthops(rt) > 0) {
                        ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, 0));
                        break;
                }
        }
        if (ifindex > 0) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;

                if (rtnl_link_get_kernel(sk, ifindex, NULL, &l) >= 0 && rtnl_link_get_mtu(l) >= 576)
                        mtu = rtnl_link_get_mtu(l);
        }
        return mtu;
}

int link_bridge_ports(const char *bridge, char ***ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int master, r;

        master = (int) if_nametoindex(bridge);
        if (master <= 0)
                return -ENODEV;
        r = link_socket(&sk);
        if (r < 0)
                return r;
        r = NLERR(rtnl_link_alloc_cache(sk, AF_UNSPEC, &links));
        if (r < 0)
                return r;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *k = (struct rtnl_link *) o;

                if (rtnl_link_get_master(k) == master && rtnl_link_get_name(k) &&
                    strv_extend(&l, rtnl_link_get_name(k)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static bool overlaps(uint32_t a, unsigned pa, uint32_t b, unsigned pb) {
        unsigned p = pa < pb ? pa : pb;
        uint32_t m = prefix_to_mask(p);

        return (a & m) == (b & m);
}

int link_subnet_in_use(uint32_t net, unsigned prefix) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *routes = NULL, *addrs = NULL;
        int r;

        r = link_socket(&sk);
        if (r < 0)
                return r;
        r = NLERR(rtnl_route_alloc_cache(sk, AF_INET, 0, &routes));
        if (r < 0)
                return r;
        for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
                struct nl_addr *d = rtnl_route_get_dst((struct rtnl_route *) o);
                uint32_t a;

                /* The default route overlaps everything and means nothing here. */
                if (!d || nl_addr_get_prefixlen(d) == 0 || nl_addr_get_len(d) != 4)
                        continue;
                memcpy(&a, nl_addr_get_binary_addr(d), 4);
                if (overlaps(a, (unsigned) nl_addr_get_prefixlen(d), net, prefix))
                        return 1;
        }
        r = NLERR(rtnl_addr_alloc_cache(sk, &addrs));
        if (r < 0)
                return r;
        for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
                struct nl_addr *l = rtnl_addr_get_local((struct rtnl_addr *) o);
                uint32_t a;

                if (rtnl_addr_get_family((struct rtnl_addr *) o) != AF_INET || !l || nl_addr_get_len(l) != 4)
                        continue;
                memcpy(&a, nl_addr_get_binary_addr(l), 4);
                if (overlaps(a, (unsigned) rtnl_addr_get_prefixlen((struct rtnl_addr *) o), net, prefix))
                        return 1;
        }
        return 0;
}
