/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "manager.h"
#include "netconf.h"

/* Networks (docs/network.md): a bridge, a subnet, static leases, a name server, isod's nftables
 * rules. Definitions and leases are persisted in NETWORK_DIR/NAME/ (network.json, leases.json);
 * what only lives while the host is up (the name server's PID, its hosts file) in
 * STATE/networks/NAME/. */

#define NETWORK_MAX 64U
#define ISOD_NETWORK_PREFIX "/org/isod1/network"
#define NETWORK_MIN_PREFIX 16U
#define NETWORK_MAX_PREFIX 29U

typedef struct NetLease {
        uint32_t ip;
        uint8_t mac[6];
        char *workload;
} NetLease;

typedef struct Network {
        Manager *manager;
        struct Network *next;
        char *name; /* also the bridge's name */
        char *path; /* D-Bus object path */
        uint32_t subnet, gateway;
        unsigned prefix;
        unsigned mtu;
        bool nat, isolated;

        uint32_t last; /* IPAM: the last address handed out (round robin, like Podman's lastIP) */
        NetLease *leases;
        size_t n_leases;
        char **warnings;

        /* The name server (dnsmasq) on the gateway address; not isod's child: it outlives isod. */
        pid_t dns_pid;
        int dns_pidfd;
        sd_event_source *dns_src;
        sd_event_source *dns_restart;
        sd_event_source *dns_refresh; /* rewrites the hosts file once a new dnsmasq watches it */
        unsigned dns_failures;
} Network;

/* What a workload holds of a network: its lease, its port reservations. */
typedef struct WorkloadNet {
        NetConfig conf;
        int *port_fds; /* one bound socket per published port: reserves it, detects host services */
        size_t n_port_fds;
} WorkloadNet;

int network_manager_init(Manager *m);
/* After manager_load(): leases of unknown workloads freed, bridges ensured, the tables applied,
 * port reservations and name servers back. */
int network_manager_start(Manager *m);

/* Logs new and gone warnings about other tables' forward policies (firewall_foreign_warnings()),
 * and signals the networks' Warnings property: called at start, on create and whenever another
 * table changes. */
void network_check_foreign(Manager *m);
void network_manager_done(Manager *m);

Network *network_find(Manager *m, const char *name);
typedef struct NetworkOptions {
        const char *subnet; /* NULL/"auto" or CIDR */
        bool isolated;
        bool nat;
        unsigned mtu; /* 0 = the uplink's */
} NetworkOptions;
/* -EINVAL (message), -EEXIST, -EUSERS (too many), -EADDRINUSE (no free subnet / overlap; message). */
int network_create(Manager *m, const char *name, const NetworkOptions *o, Network **ret,
                   char **reterr_message);
/* -EBUSY with the users named in the message. */
int network_remove(Network *n, char **reterr_message);
/* Names of the workloads with a lease on n (strv). */
char **network_users(Network *n);

/* Called by manager_create_workload() for network mode "nat": lease, ports, firewall elements,
 * names. On failure nothing is left. Errors: -ENXIO (no such network), -EADDRINUSE (ip, mac or a
 * port taken; message), -EUSERS (subnet exhausted), -EINVAL (ip outside the subnet). */
int network_workload_attach(Manager *m, Workload *w, char **reterr_message);
/* At removal (and when a create fails): forwards, endpoint, lease, name. Idempotent. */
void network_workload_detach(Manager *m, Workload *w);
/* After workload_load() of a workload with "net": takes its lease and ports back. */
int network_workload_readopt(Manager *m, Workload *w, json_t *net);
WorkloadNet *workload_net_free(WorkloadNet *n);

/* ipam.c */
int ipam_allocate(Network *n, const char *workload, uint32_t fixed_ip, const uint8_t *fixed_mac,
                  NetLease **ret, char **reterr_message);
void ipam_release(Network *n, const char *workload);
NetLease *ipam_find(Network *n, const char *workload);
int ipam_save(Network *n);
int ipam_load(Network *n, int dir_fd);

/* dns.c: the per-network dnsmasq. */
int dns_start(Network *n);
void dns_stop(Network *n);
int dns_update_hosts(Network *n);
void dns_detach(Network *n);

/* dbus-api/network-dbus.c */
extern const sd_bus_vtable network_vtable[];
int bus_network_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error);
int bus_network_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
void bus_network_new(Manager *m, Network *n);
int bus_method_create_network(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_remove_network(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_list_networks(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_get_network(sd_bus_message *msg, void *userdata, sd_bus_error *error);
void bus_network_removed(Manager *m, Network *n);
void bus_networks_warnings_changed(Manager *m);
