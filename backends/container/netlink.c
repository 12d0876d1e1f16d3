/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "container.h"

/* Network set-up inside the container's namespace, with libnl-route. libnl's -NLE_* codes are
 * not errno values: convert at each call. */

DEFINE_CLEANUP_FUNC(struct nl_sock *, nl_socket_free);
DEFINE_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);

int nl_to_errno(int nle) {
        switch (abs(nle)) {
        case 0:
                return 0;
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_EXIST:
                return -EEXIST;
        case NLE_OBJ_NOTFOUND:
                return -ENOENT;
        case NLE_PERM:
        case NLE_NOACCESS:
                return -EPERM;
        case NLE_OPNOTSUPP:
                return -EOPNOTSUPP;
        default:
                return -EIO;
        }
}

int container_loopback_up(void) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *lo = NULL, *change = NULL;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_to_errno(nl_connect(sk, NETLINK_ROUTE));
        if (r < 0)
                return r;
        r = nl_to_errno(rtnl_link_get_kernel(sk, 0, "lo", &lo));
        if (r < 0)
                return r;
        change = rtnl_link_alloc();
        if (!change)
                return -ENOMEM;
        rtnl_link_set_flags(change, IFF_UP);
        return nl_to_errno(rtnl_link_change(sk, lo, change, 0));
}
