/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <jansson.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "firewall-internal.h"
#include "log.h"
#include "util.h"

/* isod's nftables rules through libnftables (docs/network.md#firewall).
 *
 * Every rule below is a constant: all state lives in named sets and maps, so firewall_apply() is
 * "replace both tables, elements included" and the per-workload calls are element operations.
 * The text handed to nft contains only constant rules, addresses/ports/MACs formatted here and
 * interface names checked by firewall_ifname_is_valid().
 *
 * nft 1.0.6 quirks this file works around: JSON *input* is only parsed with NFT_CTX_OUTPUT_JSON set
 * (we only use JSON output, for listings); "priority dstnat" is rejected on the output hook (-100);
 * a rule needs a newline or ';' before '}'; "meta ibrname" needs CONFIG_NFT_BRIDGE_META, which
 * this host's kernel lacks (isolation therefore works on a set of port names, not bridge names). */

#define FW_WATCH_BUFSIZE (UINT16_MAX + 4096)

typedef struct FwChain {
        const char *name;
        const char *hook; /* "type … hook … priority …; policy …;" */
        const char *const *rules;
} FwChain;

typedef struct FwTable {
        const char *family;
        const char *const *sets; /* names of the sets and maps (declared in fw_write_*_sets()) */
        const FwChain *chains;
} FwTable;

/* ------------------------------------------------------------------ table inet isod */

static const char *const inet_sets[] = {
        "bridges", "open_pairs", "subnets", "nat_subnets", "fwd4_any", "fwd4_addr", NULL,
};

/* CVE-2020-8558: route_localnet=1 on a bridge (needed for 127.0.0.1 forwards) would let a workload
 * reach the host's loopback services. Runs before conntrack and DNAT. */
static const char *const inet_guard[] = {
        "iifname @bridges ip daddr 127.0.0.0/8 drop",
        NULL,
};

static const char *const inet_dnat[] = {
        "dnat ip to ip daddr . meta l4proto . th dport map @fwd4_addr",
        "fib daddr type local dnat ip to meta l4proto . th dport map @fwd4_any",
        NULL,
};

static const char *const inet_postrouting[] = {
        /* NAT networks to the outside */
        "ip saddr @nat_subnets oifname != @bridges masquerade",
        /* hairpin: a workload reaching a forward (to itself or a neighbour) through a host address */
        "ct status dnat oifname @bridges ip saddr @subnets masquerade",
        /* the host reaching a forward on 127.0.0.1 (needs route_localnet=1 on the bridge) */
        "ct status dnat oifname @bridges ip saddr 127.0.0.0/8 masquerade",
        NULL,
};

/* With br_netfilter (bridge-nf-call-iptables=1), frames bridged between two ports of one bridge
 * also pass here, with iifname == oifname == the bridge: open_pairs holds "br" . "br" for every
 * non-isolated bridge so that traffic keeps working. */
static const char *const inet_forward[] = {
        "oifname @bridges ct state established,related accept",
        "oifname @bridges ct status dnat accept",
        "iifname . oifname @open_pairs accept",
        /* another of our networks, or workload to workload on an isolated one */
        "iifname @bridges oifname @bridges drop",
        "iifname @bridges accept",
        /* the outside opens connections to workloads only through forwards (ct status dnat) */
        "oifname @bridges drop",
        NULL,
};

/* Workloads reach the host itself only for DNS and ICMP (libvirt allows DNS/DHCP only). A
 * forward never lands here: it is DNATed to a workload and routed (forward hook). */
static const char *const inet_input[] = {
        "iifname != @bridges accept",
        "ct state established,related accept",
        "meta l4proto icmp accept",
        "udp dport 53 accept",
        "tcp dport 53 accept",
        "drop",
        NULL,
};

static const FwChain inet_chains[] = {
        { "guard", "type filter hook prerouting priority -300; policy accept;", inet_guard },
        { "prerouting", "type nat hook prerouting priority dstnat; policy accept;", inet_dnat },
        { "output", "type nat hook output priority -100; policy accept;", inet_dnat },
        { "postrouting", "type nat hook postrouting priority srcnat; policy accept;", inet_postrouting },
        { "forward", "type filter hook forward priority filter; policy accept;", inet_forward },
        { "input", "type filter hook input priority filter; policy accept;", inet_input },
        {},
};

/* ------------------------------------------------------------------ table bridge isod */

static const char *const bridge_sets[] = {
        "wl_ports", "wl_mac", "wl_ip", "isolated_ports", NULL,
};

/* Anti-spoofing on workload ports (libvirt clean-traffic, Incus ipv4_filtering): the port's own
 * MAC and IPv4 address only, IPv4 and ARP only (no IPv6 yet, no VLAN tags, no other L2). ARP
 * probes (sender 0.0.0.0, RFC 5227) from the port's MAC are allowed. */
static const char *const bridge_prerouting[] = {
        "iifname != @wl_ports accept",
        "iifname . ether saddr != @wl_mac drop",
        "ether type != { ip, arp } drop",
        "ether type ip iifname . ip saddr != @wl_ip drop",
        "ether type arp arp saddr ip 0.0.0.0 iifname . arp saddr ether @wl_mac accept",
        "ether type arp iifname . arp saddr ip != @wl_ip drop",
        "ether type arp iifname . arp saddr ether != @wl_mac drop",
        NULL,
};

/* Isolated networks: no port-to-port bridging from or to a port of an isolated network. The
 * gateway (bridge device, input) and the outside (routed) are not bridge forwarding. */
static const char *const bridge_forward[] = {
        "iifname @isolated_ports drop",
        "oifname @isolated_ports drop",
        NULL,
};

static const FwChain bridge_chains[] = {
        { "prerouting", "type filter hook prerouting priority -300; policy accept;", bridge_prerouting },
        { "forward", "type filter hook forward priority filter; policy accept;", bridge_forward },
        {},
};

static const FwTable fw_tables[] = {
        { "inet", inet_sets, inet_chains },
        { "bridge", bridge_sets, bridge_chains },
};

/* ------------------------------------------------------------------ validation and formatting */

bool firewall_ifname_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strnlen(s, IFNAMSIZ);
        if (n == 0 || n >= IFNAMSIZ)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

typedef char Ip4Str[INET_ADDRSTRLEN];

static const char *ip4(uint32_t a, Ip4Str buf) {
        struct in_addr in = { .s_addr = a };

        return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN) ?: "0.0.0.0";
}

static const char *proto_str(PortProto p) {
        switch (p) {
        case PORT_TCP:
                return "tcp";
        case PORT_UDP:
                return "udp";
        default:
                return NULL;
        }
}

static int network_validate(const FwNetwork *n) {
        uint32_t mask;

        if (!firewall_ifname_is_valid(n->bridge) || n->prefix == 0 || n->prefix > 32)
                return -EINVAL;
        mask = htonl(n->prefix == 32 ? UINT32_MAX : ~(UINT32_MAX >> n->prefix));
        if ((n->subnet & ~mask) != 0)
                return -EINVAL;
        return 0;
}

static int endpoint_validate(const FwEndpoint *e) {
        static const uint8_t zero[6] = {};

        if (!firewall_ifname_is_valid(e->ifname) || !firewall_ifname_is_valid(e->bridge))
                return -EINVAL;
        if ((e->mac[0] & 1) || memcmp(e->mac, zero, sizeof(zero)) == 0) /* multicast or zero */
                return -EINVAL;
        if (e->ip == 0)
                return -EINVAL;
        return 0;
}

static int forward_validate(const FwForward *fw) {
        if (!proto_str(fw->proto) || fw->host_port == 0 || fw->guest_port == 0 || fw->guest_ip == 0)
                return -EINVAL;
        return 0;
}

static bool forward_same_key(const FwForward *a, const FwForward *b) {
        return a->proto == b->proto && a->host_addr == b->host_addr && a->host_port == b->host_port;
}

static const FwNetwork *fw_find_network(const FwNetwork *nets, size_t n_nets, const char *bridge) {
        for (size_t i = 0; i < n_nets; i++)
                if (streq(nets[i].bridge, bridge))
                        return nets + i;
        return NULL;
}

/* The element text of an endpoint in wl_mac / wl_ip. */
static void endpoint_mac_elem(FILE *o, const FwEndpoint *e) {
        fprintf(o, "\"%s\" . %02x:%02x:%02x:%02x:%02x:%02x", e->ifname, e->mac[0], e->mac[1], e->mac[2],
                e->mac[3], e->mac[4], e->mac[5]);
}

static void endpoint_ip_elem(FILE *o, const FwEndpoint *e) {
        Ip4Str b;

        fprintf(o, "\"%s\" . %s", e->ifname, ip4(e->ip, b));
}

static void forward_elem(FILE *o, const FwForward *fw) {
        Ip4Str a, g;

        if (fw->host_addr != 0)
                fprintf(o, "%s . ", ip4(fw->host_addr, a));
        fprintf(o, "%s . %u : %s . %u", proto_str(fw->proto), fw->host_port, ip4(fw->guest_ip, g),
                fw->guest_port);
}

static const char *forward_map(const FwForward *fw) {
        return fw->host_addr == 0 ? "fwd4_any" : "fwd4_addr";
}

/* ------------------------------------------------------------------ running nft */

/* nft reports failures as text; recover the errno for the common cases. */
static int fw_errno_from_message(const char *m) {
        static const int candidates[] = { EEXIST, ENOENT, EBUSY, EPERM, ENOMEM, EOPNOTSUPP, EINVAL };

        for (size_t i = 0; m && i < ELEMENTSOF(candidates); i++)
                if (strstr(m, strerror(candidates[i])))
                        return -candidates[i];
        return -EIO;
}

/* Runs cmd (one transaction). ret_output: nft's output (JSON if json). reterr_message: nft's
 * error text. */
static int fw_run(Firewall *f, const char *cmd, bool json, char **ret_output, char **reterr_message) {
        unsigned flags = nft_ctx_output_get_flags(f->nft);
        const char *err;
        int r;

        /* Rewinds both buffers. */
        (void) nft_ctx_get_output_buffer(f->nft);
        (void) nft_ctx_get_error_buffer(f->nft);

        if (json)
                nft_ctx_output_set_flags(f->nft, flags | NFT_CTX_OUTPUT_JSON);
        r = nft_run_cmd_from_buffer(f->nft, cmd);
        if (json)
                nft_ctx_output_set_flags(f->nft, flags);

        if (r != 0) {
                err = nft_ctx_get_error_buffer(f->nft);
                r = fw_errno_from_message(err);
                log_debug("nft failed: %s", strempty(err));
                if (reterr_message) {
                        *reterr_message = strdup(err && *err ? err : "nft failed without a message");
                        if (!*reterr_message)
                                return -ENOMEM;
                }
                return r;
        }

        if (ret_output) {
                char *o = strdup(strempty(nft_ctx_get_output_buffer(f->nft)));
                if (!o)
                        return -ENOMEM;
                *ret_output = o;
        }
        return 0;
}

/* Runs the text collected in the memstream. */
static int fw_run_stream(Firewall *f, FILE **o, char **buf, char **reterr_message) {
        int r;

        r = fclose(*o);
        *o = NULL;
        if (r != 0 || !*buf)
                return -ENOMEM;
        return fw_run(f, *buf, false, NULL, reterr_message);
}

/* ------------------------------------------------------------------ lifecycle */

int firewall_new(Firewall **ret) {
        _cleanup_(firewall_freep) Firewall *f = NULL;

        assert(ret);

        f = calloc(1, sizeof(Firewall));
        if (!f)
                return -ENOMEM;
        f->watch_fd = -EBADF;

        f->nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!f->nft)
                return -ENOMEM;
        if (nft_ctx_buffer_output(f->nft) < 0 || nft_ctx_buffer_error(f->nft) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(f);
        return 0;
}

Firewall *firewall_free(Firewall *f) {
        if (!f)
                return NULL;
        sd_event_source_disable_unref(f->watch_source);
        safe_close(f->watch_fd);
        free(f->watch_buf);
        if (f->nft)
                nft_ctx_free(f->nft);
        free(f->nets);
        free(f);
        return NULL;
}

/* ------------------------------------------------------------------ apply */

static void fw_write_elements_begin(FILE *o, bool *first) {
        fputs(*first ? " elements = { " : ", ", o);
        *first = false;
}

static void fw_write_elements_end(FILE *o, bool first) {
        fputs(first ? "}\n" : " }; }\n", o);
}

static void fw_write_chains(FILE *o, const FwChain *chains) {
        for (const FwChain *c = chains; c->name; c++) {
                fprintf(o, "  chain %s { %s\n", c->name, c->hook);
                for (const char *const *r = c->rules; *r; r++)
                        fprintf(o, "    %s\n", *r);
                fputs("  }\n", o);
        }
}

static void fw_write_inet(FILE *o, const FwNetwork *nets, size_t n_nets, const FwForward *fwds,
                          size_t n_fwds) {
        Ip4Str b;
        bool first;

        fputs("add table inet " FW_TABLE "\ndelete table inet " FW_TABLE "\ntable inet " FW_TABLE " {\n", o);

        fputs("  set bridges { type ifname;", o);
        first = true;
        for (size_t i = 0; i < n_nets; i++) {
                fw_write_elements_begin(o, &first);
                fprintf(o, "\"%s\"", nets[i].bridge);
        }
        fw_write_elements_end(o, first);

        fputs("  set open_pairs { type ifname . ifname;", o);
        first = true;
        for (size_t i = 0; i < n_nets; i++) {
                if (nets[i].isolated)
                        continue;
                fw_write_elements_begin(o, &first);
                fprintf(o, "\"%s\" . \"%s\"", nets[i].bridge, nets[i].bridge);
        }
        fw_write_elements_end(o, first);

        for (int nat = 0; nat < 2; nat++) {
                fprintf(o, "  set %s { type ipv4_addr; flags interval; auto-merge;",
                        nat ? "nat_subnets" : "subnets");
                first = true;
                for (size_t i = 0; i < n_nets; i++) {
                        if (nat && !nets[i].nat)
                                continue;
                        fw_write_elements_begin(o, &first);
                        fprintf(o, "%s/%u", ip4(nets[i].subnet, b), nets[i].prefix);
                }
                fw_write_elements_end(o, first);
        }

        for (int any = 1; any >= 0; any--) {
                fprintf(o, "  map %s { type %sinet_proto . inet_service : ipv4_addr . inet_service;",
                        any ? "fwd4_any" : "fwd4_addr", any ? "" : "ipv4_addr . ");
                first = true;
                for (size_t i = 0; i < n_fwds; i++) {
                        if ((fwds[i].host_addr == 0) != any)
                                continue;
                        fw_write_elements_begin(o, &first);
                        forward_elem(o, fwds + i);
                }
                fw_write_elements_end(o, first);
        }

        fw_write_chains(o, inet_chains);
        fputs("}\n", o);
}

static void fw_write_bridge(FILE *o, const FwNetwork *nets, size_t n_nets, const FwEndpoint *eps,
                            size_t n_eps) {
        bool first;

        fputs("add table bridge " FW_TABLE "\ndelete table bridge " FW_TABLE "\ntable bridge " FW_TABLE
              " {\n",
              o);

        fputs("  set wl_ports { type ifname;", o);
        first = true;
        for (size_t i = 0; i < n_eps; i++) {
                fw_write_elements_begin(o, &first);
                fprintf(o, "\"%s\"", eps[i].ifname);
        }
        fw_write_elements_end(o, first);

        fputs("  set wl_mac { type ifname . ether_addr;", o);
        first = true;
        for (size_t i = 0; i < n_eps; i++) {
                fw_write_elements_begin(o, &first);
                endpoint_mac_elem(o, eps + i);
        }
        fw_write_elements_end(o, first);

        fputs("  set wl_ip { type ifname . ipv4_addr;", o);
        first = true;
        for (size_t i = 0; i < n_eps; i++) {
                fw_write_elements_begin(o, &first);
                endpoint_ip_elem(o, eps + i);
        }
        fw_write_elements_end(o, first);

        fputs("  set isolated_ports { type ifname;", o);
        first = true;
        for (size_t i = 0; i < n_eps; i++) {
                const FwNetwork *n = fw_find_network(nets, n_nets, eps[i].bridge);
                if (!n || !n->isolated)
                        continue;
                fw_write_elements_begin(o, &first);
                fprintf(o, "\"%s\"", eps[i].ifname);
        }
        fw_write_elements_end(o, first);

        fw_write_chains(o, bridge_chains);
        fputs("}\n", o);
}

int firewall_apply(Firewall *f, const FwNetwork *nets, size_t n_nets, const FwEndpoint *eps, size_t n_eps,
                   const FwForward *fwds, size_t n_fwds, char **reterr_message) {
        _cleanup_fclose_ FILE *o = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ FwNetwork *copy = NULL;
        size_t len = 0;
        int r;

        assert(f);
        assert(nets || n_nets == 0);
        assert(eps || n_eps == 0);
        assert(fwds || n_fwds == 0);

        for (size_t i = 0; i < n_nets; i++) {
                r = network_validate(nets + i);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (streq(nets[i].bridge, nets[j].bridge))
                                return -EINVAL;
        }
        for (size_t i = 0; i < n_eps; i++) {
                r = endpoint_validate(eps + i);
                if (r < 0)
                        return r;
                if (!fw_find_network(nets, n_nets, eps[i].bridge))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq(eps[i].ifname, eps[j].ifname))
                                return -EINVAL;
        }
        for (size_t i = 0; i < n_fwds; i++) {
                r = forward_validate(fwds + i);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (forward_same_key(fwds + i, fwds + j))
                                return -EINVAL;
        }

        if (n_nets > 0) {
                copy = malloc(n_nets * sizeof(FwNetwork));
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, nets, n_nets * sizeof(FwNetwork));
        }

        o = open_memstream(&buf, &len);
        if (!o)
                return -ENOMEM;
        fw_write_inet(o, nets, n_nets, fwds, n_fwds);
        fw_write_bridge(o, nets, n_nets, eps, n_eps);

        r = fw_run_stream(f, &o, &buf, reterr_message);
        if (r < 0)
                return r;

        free(f->nets);
        f->nets = TAKE_PTR(copy);
        f->n_nets = n_nets;
        f->applied = true;
        return 0;
}

/* ------------------------------------------------------------------ elements */

/* "add element …; delete element …" in one transaction removes the element whether or not it is
 * there (the same trick as "add table; delete table"): removal is idempotent. */
static void fw_write_element_op(FILE *o, const char *family, const char *set, bool add,
                                void (*elem)(FILE *o, const void *p), const void *p) {
        for (int pass = 0; pass < (add ? 1 : 2); pass++) {
                fprintf(o, "%s element %s " FW_TABLE " %s { ", pass == 0 ? "add" : "delete", family, set);
                elem(o, p);
                fputs(" }\n", o);
        }
}

static void elem_port(FILE *o, const void *p) {
        fprintf(o, "\"%s\"", ((const FwEndpoint *) p)->ifname);
}

static void elem_mac(FILE *o, const void *p) {
        endpoint_mac_elem(o, p);
}

static void elem_ip(FILE *o, const void *p) {
        endpoint_ip_elem(o, p);
}

static void elem_forward(FILE *o, const void *p) {
        forward_elem(o, p);
}

/* One transaction: a workload's forwards and its endpoint (either may be absent). */
static int fw_workload_op(Firewall *f, const FwEndpoint *e, const FwForward *fws, size_t n_fws, bool add,
                          char **reterr_message) {
        _cleanup_fclose_ FILE *o = NULL;
        _cleanup_free_ char *buf = NULL;
        const FwNetwork *n = NULL;
        size_t len = 0;
        int r;

        assert(f);
        assert(e || n_fws > 0);

        if (e) {
                r = endpoint_validate(e);
                if (r < 0)
                        return r;
                n = fw_find_network(f->nets, f->n_nets, e->bridge);
                if (add && !n)
                        return -ENOENT; /* firewall_apply() the network first */
        }
        for (size_t i = 0; i < n_fws; i++) {
                r = forward_validate(fws + i);
                if (r < 0)
                        return r;
        }

        o = open_memstream(&buf, &len);
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < n_fws; i++)
                fw_write_element_op(o, "inet", forward_map(fws + i), add, elem_forward, fws + i);
        if (e) {
                /* wl_ports last on add and first on remove would not matter: one transaction. */
                fw_write_element_op(o, "bridge", "wl_mac", add, elem_mac, e);
                fw_write_element_op(o, "bridge", "wl_ip", add, elem_ip, e);
                if (!add || n->isolated)
                        fw_write_element_op(o, "bridge", "isolated_ports", add, elem_port, e);
                fw_write_element_op(o, "bridge", "wl_ports", add, elem_port, e);
        }
        return fw_run_stream(f, &o, &buf, reterr_message);
}

int firewall_add_endpoint(Firewall *f, const FwEndpoint *e, char **reterr_message) {
        assert(e);
        return fw_workload_op(f, e, NULL, 0, true, reterr_message);
}

int firewall_remove_endpoint(Firewall *f, const FwEndpoint *e, char **reterr_message) {
        assert(e);
        return fw_workload_op(f, e, NULL, 0, false, reterr_message);
}

int firewall_add_forward(Firewall *f, const FwForward *fw, char **reterr_message) {
        assert(fw);
        return fw_workload_op(f, NULL, fw, 1, true, reterr_message);
}

int firewall_remove_forward(Firewall *f, const FwForward *fw, char **reterr_message) {
        assert(fw);
        return fw_workload_op(f, NULL, fw, 1, false, reterr_message);
}

int firewall_add_workload(Firewall *f, const FwEndpoint *e, const FwForward *fws, size_t n_fws,
                          char **reterr_message) {
        assert(e);
        return fw_workload_op(f, e, fws, n_fws, true, reterr_message);
}

int firewall_remove_workload(Firewall *f, const FwEndpoint *e, const FwForward *fws, size_t n_fws,
                             char **reterr_message) {
        assert(e);
        return fw_workload_op(f, e, fws, n_fws, false, reterr_message);
}

/* ------------------------------------------------------------------ listing */

int fw_list_json(Firewall *f, const char *cmd, json_t **ret) {
        _cleanup_free_ char *out = NULL;
        json_t *root, *items;
        int r;

        r = fw_run(f, cmd, true, &out, NULL);
        if (r < 0)
                return r;

        root = json_loads(out, 0, NULL);
        if (!root)
                return -EBADMSG;
        items = json_object_get(root, "nftables");
        if (!json_is_array(items)) {
                json_decref(root);
                return -EBADMSG;
        }
        *ret = root;
        return 0;
}

/* 1 if the table exists with all its sets and chains, each chain with exactly its rules; 0 if
 * not (deleted, flushed, edited); negative errno if listing failed otherwise. */
static int fw_table_intact(Firewall *f, const FwTable *t) {
        _cleanup_free_ char *cmd = NULL;
        json_auto_t *root = NULL;
        size_t n_sets = 0, n_chains = 0, n_rules[16] = {}, idx;
        json_t *item;
        int r;

        if (asprintf(&cmd, "list table %s " FW_TABLE, t->family) < 0)
                return -ENOMEM;
        r = fw_list_json(f, cmd, &root);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        json_array_foreach (json_object_get(root, "nftables"), idx, item) {
                json_t *o;
                const char *name;

                if ((o = json_object_get(item, "set")) || (o = json_object_get(item, "map"))) {
                        name = json_string_value(json_object_get(o, "name"));
                        for (const char *const *s = t->sets; name && *s; s++)
                                if (streq(*s, name))
                                        n_sets++;
                } else if ((o = json_object_get(item, "chain"))) {
                        name = json_string_value(json_object_get(o, "name"));
                        for (const FwChain *c = t->chains; name && c->name; c++)
                                if (streq(c->name, name))
                                        n_chains++;
                } else if ((o = json_object_get(item, "rule"))) {
                        name = json_string_value(json_object_get(o, "chain"));
                        for (size_t c = 0; name && t->chains[c].name && c < ELEMENTSOF(n_rules); c++)
                                if (streq(t->chains[c].name, name))
                                        n_rules[c]++;
                }
        }

        if (n_sets != strv_length((char **) t->sets))
                return 0;
        for (size_t c = 0; t->chains[c].name; c++) {
                assert(c < ELEMENTSOF(n_rules));
                if (n_rules[c] != strv_length((char **) t->chains[c].rules))
                        return 0;
                n_chains--;
        }
        return n_chains == 0;
}

static int fw_intact(Firewall *f) {
        int r;

        for (size_t i = 0; i < ELEMENTSOF(fw_tables); i++) {
                r = fw_table_intact(f, fw_tables + i);
                if (r <= 0)
                        return r;
        }
        return 1;
}

/* ------------------------------------------------------------------ watch */

enum { FW_MSG_OTHER, FW_MSG_OURS_LOST, FW_MSG_FOREIGN };

/* The table a message names: NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE and NFTA_SET_TABLE
 * are all 1. NULL if it has none; *ret_len its length with the NUL. */
static const char *nft_msg_table(const struct nlmsghdr *h, size_t *ret_len) {
        const struct nfgenmsg *g = NLMSG_DATA(h);
        const struct nlattr *a;
        size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg));

        a = (const struct nlattr *) ((const uint8_t *) g + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
        while (len >= sizeof(struct nlattr) && a->nla_len >= sizeof(struct nlattr) && a->nla_len <= len) {
                if ((a->nla_type & NLA_TYPE_MASK) == NFTA_TABLE_NAME) {
                        *ret_len = a->nla_len - NLA_HDRLEN;
                        return (const char *) a + NLA_HDRLEN;
                }
                size_t al = (size_t) NLA_ALIGN(a->nla_len);
                if (al >= len)
                        break;
                len -= al;
                a = (const struct nlattr *) ((const uint8_t *) a + al);
        }
        return NULL;
}

/* FW_MSG_OURS_LOST: something of one of our tables was deleted (nft flush ruleset, a firewalld
 * reload); FW_MSG_FOREIGN: another table or one of its chains came, went or changed (its policy
 * is a chain attribute: a NEWCHAIN), which may change firewall_foreign_warnings(). */
static int nft_msg_classify(const struct nlmsghdr *h) {
        const struct nfgenmsg *g;
        const char *table;
        size_t tl = 0;
        bool ours, del;

        if (NFNL_SUBSYS_ID(h->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                return FW_MSG_OTHER;
        switch (NFNL_MSG_TYPE(h->nlmsg_type)) {
        case NFT_MSG_DELTABLE:
        case NFT_MSG_DELCHAIN:
        case NFT_MSG_DELRULE:
        case NFT_MSG_DELSET:
                del = true;
                break;
        case NFT_MSG_NEWTABLE:
        case NFT_MSG_NEWCHAIN:
                del = false;
                break;
        default:
                return FW_MSG_OTHER; /* DELSETELEM: our own element removals; not watched */
        }
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
                return FW_MSG_OTHER;
        g = NLMSG_DATA(h);
        table = nft_msg_table(h, &tl);
        ours = (g->nfgen_family == NFPROTO_INET || g->nfgen_family == NFPROTO_BRIDGE) && table &&
               tl >= sizeof(FW_TABLE) && memcmp(table, FW_TABLE, sizeof(FW_TABLE)) == 0;
        if (ours)
                return del ? FW_MSG_OURS_LOST : FW_MSG_OTHER;
        switch (NFNL_MSG_TYPE(h->nlmsg_type)) {
        case NFT_MSG_DELRULE:
        case NFT_MSG_DELSET:
                return FW_MSG_OTHER;
        default:
                return FW_MSG_FOREIGN;
        }
}

static int fw_watch_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Firewall *f = ASSERT_PTR(userdata);
        bool check = false, foreign = false;
        int r;

        /* Drain everything first, then look at the tables once: our own firewall_apply() deletes
         * and re-creates them, and by the time we read its notifications they are back, intact. */
        for (;;) {
                ssize_t n = recv(fd, f->watch_buf, FW_WATCH_BUFSIZE, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        if (errno == ENOBUFS) { /* overflowed: we lost events, look anyway */
                                check = foreign = true;
                                continue;
                        }
                        log_debug_errno(-errno, "Failed to read nftables notifications, ignoring: %m");
                        break;
                }
                if (n == 0)
                        break;
                for (struct nlmsghdr *h = (struct nlmsghdr *) f->watch_buf; NLMSG_OK(h, (size_t) n);
                     h = NLMSG_NEXT(h, n))
                        switch (nft_msg_classify(h)) {
                        case FW_MSG_OURS_LOST:
                                check = true;
                                break;
                        case FW_MSG_FOREIGN:
                                foreign = true;
                                break;
                        }
        }

        if (foreign && f->foreign_cb)
                f->foreign_cb(f, f->foreign_userdata);
        if (!check || !f->applied || !f->lost_cb)
                return 0;

        r = fw_intact(f);
        if (r < 0) {
                log_debug_errno(r, "Failed to list isod's nftables tables, ignoring: %m");
                return 0;
        }
        if (r == 0) {
                log_debug("isod's nftables tables were changed under us");
                f->lost_cb(f, f->lost_userdata);
        }
        return 0;
}

int firewall_watch(Firewall *f, sd_event *e, firewall_lost_cb cb, void *userdata) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        int group = NFNLGRP_NFTABLES, rcvbuf = 4 << 20, r;

        assert(f);
        assert(e);
        assert(cb);

        if (f->watch_source)
                return -EBUSY;

        buf = malloc(FW_WATCH_BUFSIZE);
        if (!buf)
                return -ENOMEM;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

        r = sd_event_add_io(e, &f->watch_source, fd, EPOLLIN, fw_watch_handler, f);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(f->watch_source, "firewall-watch");

        f->watch_fd = TAKE_FD(fd);
        f->watch_buf = TAKE_PTR(buf);
        f->lost_cb = cb;
        f->lost_userdata = userdata;
        return 0;
}

void firewall_watch_foreign(Firewall *f, firewall_foreign_cb cb, void *userdata) {
        assert(f);
        f->foreign_cb = cb;
        f->foreign_userdata = userdata;
}
