/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* A client's connection to isod: ISOD_SOCKET=PATH (that socket only; *ret_direct = PATH), else as
 * root without DBUS_SYSTEM_BUS_ADDRESS isod's default socket (STATE/private) if it answers, else
 * the system bus (isod may be bus-activated). Registers isod's error map. */
int isod_connect(sd_bus **ret, const char **ret_direct);
/* A direct (peer-to-peer) D-Bus connection to isod's socket at path. */
int isod_connect_direct(const char *path, sd_bus **ret);
