/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "container.h"
#include "links.h"

/* The loopback inside the container's namespace, with libnl-route (the helpers are network/links.c's:
 * libnl's -NLE_* codes are not errno values, link_nl_errno() converts them). */

int container_loopback_up(void) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *lo = NULL, *change = NULL;
        int r;

        r = link_socket(&sk);
        if (r < 0)
                return r;
        r = link_nl_errno(rtnl_link_get_kernel(sk, 0, "lo", &lo));
        if (r < 0)
                return r;
        change = rtnl_link_alloc();
        if (!change)
                return -ENOMEM;
        rtnl_link_set_flags(change, IFF_UP);
        return link_nl_errno(rtnl_link_change(sk, lo, change, 0));
}
