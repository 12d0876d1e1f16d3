/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dbus-api.h"
#include "polkit.h"
#include "firewall.h"
#include "log.h"
#include "network.h"
#include "util.h"

/* org.isod1.Network objects at /org/isod1/network/<escaped name>, and the Manager's network
 * methods (docs/dbus-api.md#networks). Creating and removing networks changes the host's links and
 * firewall: root only; reading is for every caller the bus lets talk to isod. */

#define ISOD_NETWORK_IFACE "org.isod1.Network"

int bus_network_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Manager *m = ASSERT_PTR(userdata);
        Network *n;
        int r;

        r = sd_bus_path_decode(path, ISOD_NETWORK_PREFIX, &name);
        if (r <= 0)
                return 0;
        n = network_find(m, name);
        if (!n)
                return 0;
        *found = n;
        return 1;
}

int bus_network_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                          sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = ASSERT_PTR(userdata);

        for (Network *n = m->networks; n; n = n->next)
                if (strv_extend(&l, n->path) < 0)
                        return -ENOMEM;
        *nodes = TAKE_PTR(l);
        return 1;
}

void bus_network_new(Manager *m, Network *n) {
        if (m->bus)
                (void) sd_bus_emit_object_added(m->bus, n->path);
}

void bus_network_removed(Manager *m, Network *n) {
        if (m->bus)
                (void) sd_bus_emit_object_removed(m->bus, n->path);
}

void bus_networks_warnings_changed(Manager *m) {
        if (!m->bus)
                return;
        for (Network *n = m->networks; n; n = n->next)
                (void) sd_bus_emit_properties_changed(m->bus, n->path, ISOD_NETWORK_IFACE, "Warnings", NULL);
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = ASSERT_PTR(userdata);
        char a[16], cidr[24];

        if (streq(property, "Name") || streq(property, "Bridge"))
                return sd_bus_message_append(reply, "s", n->name);
        if (streq(property, "Subnet")) {
                (void) snprintf(cidr, sizeof cidr, "%s/%u", ipv4_to_string(n->subnet, a), n->prefix);
                return sd_bus_message_append(reply, "s", cidr);
        }
        if (streq(property, "Gateway"))
                return sd_bus_message_append(reply, "s", ipv4_to_string(n->gateway, a));
        if (streq(property, "Mtu"))
                return sd_bus_message_append(reply, "u", (uint32_t) n->mtu);
        if (streq(property, "Nat"))
                return sd_bus_message_append(reply, "b", n->nat);
        if (streq(property, "Isolated"))
                return sd_bus_message_append(reply, "b", n->isolated);
        if (streq(property, "Workloads")) {
                _cleanup_strv_free_ char **l = network_users(n);

                if (!l)
                        return -ENOMEM;
                return sd_bus_message_append_strv(reply, l);
        }
        if (streq(property, "Warnings")) {
                _cleanup_strv_free_ char **l = NULL;

                /* Read when asked: another table's drop policy may have come since. */
                if (!n->manager->firewall || firewall_foreign_warnings(n->manager->firewall, &l) < 0 || !l) {
                        strv_free(l);
                        l = calloc(1, sizeof(char *));
                        if (!l)
                                return -ENOMEM;
                }
                if (!n->manager->firewall && strv_extend(&l, "nftables is not set up") < 0)
                        return -ENOMEM;
                return sd_bus_message_append_strv(reply, l);
        }
        return -ENOENT;
}

const sd_bus_vtable network_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Subnet", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Gateway", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Bridge", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mtu", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Nat", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Isolated", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Workloads", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("Warnings", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_VTABLE_END
};

/* --- Manager methods --- */

int bus_method_create_network(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *err = NULL, *subnet = NULL;
        NetworkOptions o = { .nat = true };
        Manager *m = ASSERT_PTR(userdata);
        const char *name;
        Network *n;
        int r;

        r = bus_require_root(msg, "create networks", POLKIT_ACTION_NETWORK, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "subnet")) {
                        const char *v;

                        r = sd_bus_message_read(msg, "v", "s", &v);
                        if (r >= 0 && !(subnet = strdup(v)))
                                r = -ENOMEM;
                } else if (streq(key, "isolated") || streq(key, "nat")) {
                        int b; /* D-Bus booleans are read as int, not bool */

                        r = sd_bus_message_read(msg, "v", "b", &b);
                        if (streq(key, "nat"))
                                o.nat = b;
                        else
                                o.isolated = b;
                } else if (streq(key, "mtu"))
                        r = sd_bus_message_read(msg, "v", "u", &o.mtu);
                else
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS,
                                "Unknown network option '%s' (known: subnet, isolated, nat, mtu).", key);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Network option '%s' has the wrong type.", key);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        o.subnet = subnet;
        r = network_create(m, name, &o, &n, &err);
        if (r < 0)
                return bus_map_errno(error, r, name, err);
        return sd_bus_reply_method_return(msg, "o", n->path);
}

int bus_method_remove_network(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *err = NULL;
        Manager *m = ASSERT_PTR(userdata);
        const char *name;
        Network *n;
        int r;

        r = bus_require_root(msg, "remove networks", POLKIT_ACTION_NETWORK, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        n = network_name_is_valid(name) ? network_find(m, name) : NULL;
        if (!n)
                return sd_bus_error_setf(error, ISOD_ERROR_NOT_FOUND, "No network '%s'.", name);
        r = network_remove(n, &err);
        if (r < 0)
                return bus_map_errno(error, r, name, err);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_method_list_networks(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        if (r < 0)
                return r;
        for (Network *n = m->networks; n; n = n->next) {
                char a[16], cidr[24];

                (void) snprintf(cidr, sizeof cidr, "%s/%u", ipv4_to_string(n->subnet, a), n->prefix);
                r = sd_bus_message_append(reply, "(ssso)", n->name, cidr, n->name, n->path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_method_get_network(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *name;
        Network *n;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        n = network_name_is_valid(name) ? network_find(m, name) : NULL;
        if (!n)
                return sd_bus_error_setf(error, ISOD_ERROR_NOT_FOUND, "No network '%s'.", name);
        return sd_bus_reply_method_return(msg, "o", n->path);
}
