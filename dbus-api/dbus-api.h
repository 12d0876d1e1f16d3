/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "iso-errors.h"
#include "manager.h"

/* The D-Bus face of isod (docs/dbus-api.md). Thin: read arguments, authorize, call manager_*() /
 * workload_*(), map errors. */

#define ISOD_BUS_NAME "org.isod1"
#define ISOD_MANAGER_PATH "/org/isod1"
#define ISOD_WORKLOAD_PREFIX "/org/isod1/workload"
#define ISOD_MANAGER_IFACE "org.isod1.Manager"
#define ISOD_WORKLOAD_IFACE "org.isod1.Workload"

int bus_setup(Manager *m, const char *address);
/* The manager and workload objects, on the system bus and on each direct connection. */
int bus_add_objects(sd_bus *bus, Manager *m);
/* Direct connections for root (private.c). */
int bus_private_setup(Manager *m, const char *path);
void bus_private_done(Manager *m);
/* The peer of a direct connection, as the socket recorded it at connect time; -EPERM if bus is
 * not one. The groups include the primary GID and stay owned by the connection. */
/* The caller of a direct connection, once looked up: it does not change for the connection's life
 * (like the bus cache per unique name). NULL if none yet or bus is not a direct connection. */
const Caller *bus_private_caller_get(Manager *m, sd_bus *bus);
void bus_private_caller_put(Manager *m, sd_bus *bus, const Caller *c);
int bus_private_creds(Manager *m, sd_bus *bus, uid_t *ret_uid, pid_t *ret_pid, const gid_t **ret_groups,
                      size_t *ret_n_groups);
void bus_workload_new(Manager *m, Workload *w);
void bus_workload_removed(Manager *m, Workload *w);
void bus_workload_event(Workload *w, const char *event);

/* Helpers shared by manager-dbus.c and workload-dbus.c */
int bus_get_caller(sd_bus_message *msg, Caller *ret);
int caller_copy(const Caller *from, Caller *ret);
void bus_caller_cache_clear(void);
int bus_read_stdio(sd_bus_message *msg, int ret_fds[3], sd_bus_error *error);
int bus_map_errno(sd_bus_error *error, int r, const char *name, const char *message);
/* For what changes the host for every user (networks, images, the policy): 1 for root; else polkit
 * is asked for ACTION (bus_polkit_check(): 0 while it answers, then AccessDenied "Only root may
 * WHAT…" unless it authorizes). */
int bus_require_root(sd_bus_message *msg, const char *what, const char *action, sd_bus_error *error);
extern const sd_bus_vtable workload_vtable[];
int workload_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                         sd_bus_error *error);
int workload_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                             sd_bus_error *error);
