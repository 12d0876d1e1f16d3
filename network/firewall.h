/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "spec.h"

/* isod's nftables rules, through libnftables (docs/network.md#firewall). Two tables owned by isod:
 * "inet isod" (NAT, port forwards, the localhost guard, forwarding) and "bridge isod" (anti-spoofing
 * per workload port, isolated networks). The tables are a pure function of the state given here:
 * firewall_apply() replaces both atomically (one transaction); per-workload changes are set/map
 * elements (one transaction each). Nothing here interpolates user strings: only addresses, ports and
 * interface names isod generated. All addresses IPv4, network byte order. */

typedef struct Firewall Firewall;

typedef struct FwNetwork {
        char bridge[IFNAMSIZ];
        uint32_t subnet; /* network address */
        unsigned prefix;
        uint32_t gateway;
        bool nat;      /* masquerade traffic to the outside */
        bool isolated; /* workloads reach the gateway and the outside, not each other */
} FwNetwork;

typedef struct FwEndpoint {
        char ifname[IFNAMSIZ]; /* the workload's host-side port (veth host end or tap) */
        char bridge[IFNAMSIZ];
        uint8_t mac[6];
        uint32_t ip;
} FwEndpoint;

typedef struct FwForward {
        PortProto proto;
        uint32_t host_addr; /* 0 = every local address */
        uint16_t host_port;
        uint32_t guest_ip;
        uint16_t guest_port;
} FwForward;

/* [A-Za-z0-9_-]{1,15}: the only interface names this module puts into nft text (else -EINVAL). */
bool firewall_ifname_is_valid(const char *s);

int firewall_new(Firewall **ret);
Firewall *firewall_free(Firewall *f);
DEFINE_CLEANUP_FUNC(Firewall *, firewall_free);

/* Replaces both tables with exactly this state (atomic). reterr_message: nft's error text. */
int firewall_apply(Firewall *f, const FwNetwork *nets, size_t n_nets, const FwEndpoint *eps, size_t n_eps,
                   const FwForward *fwds, size_t n_fwds, char **reterr_message);

/* Element changes (each one transaction). Adding an endpoint needs its bridge in the last
 * firewall_apply() (-ENOENT otherwise: it must know whether the network is isolated). Adding a
 * forward whose key (proto, host address, host port) is taken by a different target: -EEXIST.
 * Removing is idempotent (0 when the element is not there). Invalid names or values: -EINVAL. */
int firewall_add_endpoint(Firewall *f, const FwEndpoint *e, char **reterr_message);
int firewall_remove_endpoint(Firewall *f, const FwEndpoint *e, char **reterr_message);
int firewall_add_forward(Firewall *f, const FwForward *fw, char **reterr_message);
int firewall_remove_forward(Firewall *f, const FwForward *fw, char **reterr_message);

/* A workload's endpoint and its n_fws forwards added (or removed) in one transaction: all or
 * nothing, one netlink round trip for the lot. Errors as above. */
int firewall_add_workload(Firewall *f, const FwEndpoint *e, const FwForward *fws, size_t n_fws,
                          char **reterr_message);
int firewall_remove_workload(Firewall *f, const FwEndpoint *e, const FwForward *fws, size_t n_fws,
                             char **reterr_message);

/* Calls cb when either table is deleted or flushed under us (nft flush ruleset, firewalld reload),
 * from an sd-event io source on an NFNLGRP_NFTABLES netlink socket. The callback re-applies. */
typedef void (*firewall_lost_cb)(Firewall *f, void *userdata);
int firewall_watch(Firewall *f, sd_event *e, firewall_lost_cb cb, void *userdata);

/* Calls cb (once per batch of notifications read, from firewall_watch()'s source) when another
 * table or one of its chains was added, removed or changed: firewall_foreign_warnings() may say
 * something else now. */
typedef void (*firewall_foreign_cb)(Firewall *f, void *userdata);
void firewall_watch_foreign(Firewall *f, firewall_foreign_cb cb, void *userdata);

/* Human-readable warnings about other tables that will drop our traffic: a base chain on the
 * forward hook with policy drop (Docker, ufw, firewalld) in any other table. NULL-terminated strv
 * (possibly empty), each naming the table and chain and saying what to do. */
int firewall_foreign_warnings(Firewall *f, char ***ret);
