/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VM's tap (docs/vm.md#network): opened by the VM's monitor in the host's network namespace,
 * before the jail enters its own, and inherited by QEMU as -netdev tap,fd=N. */

#include <fcntl.h>
#include <linux/if_tun.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "links.h"
#include "util.h"

static int tap_attach(int fd, const char *ifname) {
        struct ifreq ifr = {
                /* IFF_VNET_HDR: QEMU probes it (TUNGETIFF) and then sets the header size the
                 * guest negotiated (TUNSETVNETHDRSZ, 10 or 12 bytes) and the offloads itself. */
                .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
        };

        if (strlen(ifname) >= sizeof ifr.ifr_name)
                return -EINVAL;
        memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return -errno;
        /* The kernel may have chosen another name only for a name with a '%' (never ours). */
        if (!streq(ifr.ifr_name, ifname))
                return -EINVAL;
        return 0;
}

int tap_open(const NetConfig *c, int *ret_fd) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *br = NULL, *l = NULL, *chg = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r, ifindex;

        assert(c);
        assert(ret_fd);

        if (strlen(c->host_ifname) == 0 || strchr(c->host_ifname, '%') || strchr(c->host_ifname, '/'))
                return -EINVAL;

        r = link_socket(&sk);
        if (r < 0)
                return r;
        /* The bridge first: without it there is nothing to open a tap for. */
        r = link_nl_errno(rtnl_link_get_kernel(sk, 0, c->network, &br));
        if (r == -ENODEV)
                return -ENODEV; /* the network's bridge is missing */
        if (r < 0)
                return r;
        if (!streq_ptr(rtnl_link_get_type(br), "bridge"))
                return -ENOTTY; /* a link of that name that is not a bridge */

        /* A link with the tap's name can only be a leftover: the name is derived from the workload's
         * name, which no other live workload has, and a tap goes away with its last fd. A
         * persistent one (made by hand, or a crash in between) would make TUNSETIFF attach to it
         * rather than fail, and outlive the VM: delete whatever is there first. */
        if (link_exists(c->host_ifname)) {
                r = link_delete(c->host_ifname);
                if (r < 0 && r != -ENODEV)
                        return r;
        }

        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = tap_attach(fd, c->host_ifname);
        if (r < 0)
                return r; /* -EBUSY: still attached to a QEMU that is going away */

        r = link_nl_errno(rtnl_link_get_kernel(sk, 0, c->host_ifname, &l));
        if (r < 0)
                return r;
        ifindex = rtnl_link_get_ifindex(l);

        /* No IPv6 on the host end (no link-local address, no router solicitations), as for a
         * container's veth. */
        (void) link_disable_ipv6(c->host_ifname);

        /* One RTM_NEWLINK: MTU, on the bridge, up. */
        chg = rtnl_link_alloc();
        if (!chg)
                return -ENOMEM;
        rtnl_link_set_mtu(chg, c->mtu);
        rtnl_link_set_master(chg, rtnl_link_get_ifindex(br));
        rtnl_link_set_flags(chg, IFF_UP);
        r = link_nl_errno(rtnl_link_change(sk, l, chg, 0));
        if (r < 0)
                return r;
        if (c->hairpin) {
                r = link_set_hairpin(sk, ifindex);
                if (r < 0)
                        return r;
        }

        *ret_fd = TAKE_FD(fd);
        return 0;
}
