/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/socket.h>
#include <sys/un.h>

#include "connect.h"
#include "iso-errors.h"
#include "util.h"

/* How clients (isoctl, isod-oci) find isod: docs/dbus-api.md, "Direct connections". */

int isod_connect_direct(const char *path, sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(bus, fd, fd); /* takes the fd only when it succeeds */
        if (r < 0)
                return r;
        TAKE_FD(fd);
        (void) sd_bus_negotiate_fds(bus, true);
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int isod_connect(sd_bus **ret, const char **ret_direct) {
        const char *direct = getenv("ISOD_SOCKET");

        (void) sd_bus_error_add_map(isod_error_map);
        if (ret_direct)
                *ret_direct = NULL;
        if (direct && direct[0] != '\0') {
                if (ret_direct)
                        *ret_direct = direct;
                return isod_connect_direct(direct, ret);
        }
        if (!direct && geteuid() == 0 && !getenv("DBUS_SYSTEM_BUS_ADDRESS") &&
            isod_connect_direct(ISOD_STATE_DIR "/private", ret) >= 0)
                return 0;
        return sd_bus_open_system(ret);
}
