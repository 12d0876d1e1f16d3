/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firewall.h"
#include "links.h"
#include "log.h"
#include "network.h"
#include "util.h"
#include "workload.h"

/* Networks as isod's objects (docs/network.md): created on request or, for the default "isod0",
 * on first use; persisted in NETWORK_DIR/NAME/network.json; a bridge with the gateway address; a
 * name server; a share of isod's nftables tables. Workloads take a lease from create to remove. */

static Network *network_free(Network *n) {
        if (!n)
                return NULL;
        dns_detach(n);
        for (size_t i = 0; i < n->n_leases; i++)
                free(n->leases[i].workload);
        free(n->leases);
        strv_free(n->warnings);
        free(n->name);
        free(n->path);
        free(n);
        return NULL;
}

WorkloadNet *workload_net_free(WorkloadNet *wn) {
        if (!wn)
                return NULL;
        for (size_t i = 0; i < wn->n_port_fds; i++)
                if (wn->port_fds[i] >= 0)
                        (void) close(wn->port_fds[i]);
        free(wn->port_fds);
        free(wn);
        return NULL;
}

Network *network_find(Manager *m, const char *name) {
        for (Network *n = m->networks; n; n = n->next)
                if (streq(n->name, name))
                        return n;
        return NULL;
}

static int parse_cidr(const char *s, uint32_t *ret_net, unsigned *ret_prefix) {
        _cleanup_free_ char *a = NULL;
        const char *slash;
        uint32_t ip, prefix;

        slash = s ? strchr(s, '/') : NULL;
        if (!slash)
                return -EINVAL;
        a = strndup(s, (size_t) (slash - s));
        if (!a)
                return -ENOMEM;
        if (parse_ipv4(a, &ip) < 0 || safe_atou32(slash + 1, &prefix) < 0 || prefix > 32)
                return -EINVAL;
        *ret_net = ip;
        *ret_prefix = prefix;
        return 0;
}

static bool subnet_overlaps_ours(Manager *m, uint32_t net, unsigned prefix) {
        for (Network *n = m->networks; n; n = n->next) {
                unsigned p = n->prefix < prefix ? n->prefix : prefix;

                if ((n->subnet & prefix_to_mask(p)) == (net & prefix_to_mask(p)))
                        return true;
        }
        return false;
}

/* Subnet "auto": the first 10.B.C.0/24 (B from 100) that no host route or address and no other
 * network of ours overlaps. Never 10.88/16 (Podman's) nor 192.168.122/24 (libvirt's). */
static int subnet_auto(Manager *m, uint32_t *ret) {
        for (unsigned b = 100; b < 255; b++)
                for (unsigned c = 0; c < 256; c++) {
                        uint8_t q[4] = { 10, (uint8_t) b, (uint8_t) c, 0 };
                        uint32_t net;
                        int r;

                        memcpy(&net, q, 4);
                        if (subnet_overlaps_ours(m, net, 24))
                                continue;
                        r = link_subnet_in_use(net, 24);
                        if (r < 0)
                                return r;
                        if (r == 0) {
                                *ret = net;
                                return 0;
                        }
                }
        return -EADDRINUSE;
}

static json_t *network_to_json(const Network *n) {
        char sub[16], gw[16], cidr[24];

        (void) snprintf(cidr, sizeof cidr, "%s/%u", ipv4_to_string(n->subnet, sub), n->prefix);
        return json_pack("{s:s,s:s,s:s,s:i,s:b,s:b}", "name", n->name, "subnet", cidr, "gateway",
                         ipv4_to_string(n->gateway, gw), "mtu", (int) n->mtu, "nat", n->nat, "isolated",
                         n->isolated);
}

static int network_save(Network *n) {
        Manager *m = n->manager;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -EBADF;
        json_t *j;

        if (mkdirat(m->network_dir_fd, n->name, 0700) < 0 && errno != EEXIST)
                return -errno;
        dfd = openat(m->network_dir_fd, n->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return -errno;
        j = network_to_json(n);
        if (!j)
                return -ENOMEM;
        text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        return write_file_durable_at(dfd, "network.json", text, strlen(text), 0600);
}

static int network_new(Manager *m, const char *name, Network **ret) {
        Network *n = calloc(1, sizeof(Network));

        if (!n)
                return -ENOMEM;
        n->manager = m;
        n->dns_pidfd = -EBADF;
        n->name = strdup(name);
        if (!n->name || sd_bus_path_encode(ISOD_NETWORK_PREFIX, name, &n->path) < 0) {
                network_free(n);
                return -ENOMEM;
        }
        *ret = n;
        return 0;
}

static void network_add(Manager *m, Network *n) {
        Network **p = &m->networks;

        while (*p)
                p = &(*p)->next;
        *p = n;
        m->n_networks++;
}

/* --- the firewall: a pure function of networks, leases and published ports --- */

static void endpoint_of(const Network *n, const Workload *w, FwEndpoint *ret) {
        *ret = (FwEndpoint){ .ip = w->net->conf.ip };
        (void) snprintf(ret->ifname, sizeof ret->ifname, "%s", w->net->conf.host_ifname);
        (void) snprintf(ret->bridge, sizeof ret->bridge, "%s", n->name);
        memcpy(ret->mac, w->net->conf.mac, 6);
}

/* The workload's forwards, one per published port, into ret (room for w->spec->n_ports). */
static size_t forwards_of(const Workload *w, FwForward *ret) {
        for (size_t i = 0; i < w->spec->n_ports; i++) {
                const SpecPort *p = &w->spec->ports[i];

                ret[i] = (FwForward){ .proto = p->proto,
                                      .host_addr = p->address,
                                      .host_port = p->host,
                                      .guest_ip = w->net->conf.ip,
                                      .guest_port = p->guest };
        }
        return w->spec->n_ports;
}

static int firewall_apply_all(Manager *m) {
        _cleanup_free_ FwNetwork *nets = NULL;
        _cleanup_free_ FwEndpoint *eps = NULL;
        _cleanup_free_ FwForward *fwds = NULL;
        _cleanup_free_ char *err = NULL;
        size_t n_nets = 0, n_eps = 0, n_fwds = 0, i = 0;
        int r;

        for (Workload *w = m->workloads; w; w = w->next)
                if (w->net) {
                        n_eps++;
                        n_fwds += w->spec->n_ports;
                }
        nets = calloc(m->n_networks + 1, sizeof(FwNetwork));
        eps = calloc(n_eps + 1, sizeof(FwEndpoint));
        fwds = calloc(n_fwds + 1, sizeof(FwForward));
        if (!nets || !eps || !fwds)
                return -ENOMEM;
        for (Network *n = m->networks; n; n = n->next, n_nets++) {
                nets[n_nets] = (FwNetwork){ .subnet = n->subnet,
                                            .prefix = n->prefix,
                                            .gateway = n->gateway,
                                            .nat = n->nat,
                                            .isolated = n->isolated };
                (void) snprintf(nets[n_nets].bridge, sizeof nets[n_nets].bridge, "%s", n->name);
        }
        for (Workload *w = m->workloads; w; w = w->next) {
                Network *n;

                if (!w->net || !(n = network_find(m, w->net->conf.network)))
                        continue;
                endpoint_of(n, w, &eps[i++]);
        }
        n_eps = i;
        n_fwds = 0;
        for (Workload *w = m->workloads; w; w = w->next)
                if (w->net && network_find(m, w->net->conf.network))
                        n_fwds += forwards_of(w, fwds + n_fwds);
        r = firewall_apply(m->firewall, nets, n_nets, eps, n_eps, fwds, n_fwds, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to apply isod's nftables tables: %s", strna(err));
        m->firewall_dirty = false;
        log_debug("Applied the nftables tables: %zu networks, %zu endpoints, %zu forwards.", n_nets, n_eps,
                  n_fwds);
        return 0;
}

static void on_firewall_lost(Firewall *f, void *userdata) {
        Manager *m = userdata;

        log_warning("isod's nftables tables were deleted or changed by someone else: restoring them.");
        (void) firewall_apply_all(m);
}

/* Logs each warning about another table (firewall_foreign_warnings()) once, when it first
 * appears, and once more when it is gone; tells the bus that the networks' Warnings changed. */
void network_check_foreign(Manager *m) {
        _cleanup_strv_free_ char **now = NULL;
        bool changed = false;
        int r;

        if (!m->firewall || m->n_networks == 0)
                return;
        r = firewall_foreign_warnings(m->firewall, &now);
        if (r < 0) {
                log_debug_errno(r, "Cannot list the nftables ruleset, ignoring: %m");
                return;
        }
        for (char **w = now; *w; w++)
                if (!strv_contains(m->fw_warnings, *w)) {
                        log_warning("%s", *w);
                        changed = true;
                }
        for (char **w = m->fw_warnings; w && *w; w++)
                if (!strv_contains(now, *w)) {
                        log_info("No longer: %s", *w);
                        changed = true;
                }
        strv_free(m->fw_warnings);
        m->fw_warnings = TAKE_PTR(now);
        if (changed)
                bus_networks_warnings_changed(m);
}

static int on_unlink_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void on_firewall_foreign(Firewall *f, void *userdata) {
        network_check_foreign(userdata);
}

static void firewall_start_watch(Manager *m) {
        int r;

        r = firewall_watch(m->firewall, m->event, on_firewall_lost, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch for changes of isod's nftables tables: %m");
                return;
        }
        firewall_watch_foreign(m->firewall, on_firewall_foreign, m);
}

/* --- networks --- */

static int network_bring_up(Network *n) {
        int r;

        r = link_bridge_ensure(n->name, n->gateway, n->prefix, n->mtu);
        if (r == -EEXIST)
                return log_error_errno(r, "Network '%s': a link of that name exists and is not a bridge.",
                                       n->name);
        if (r < 0)
                return log_error_errno(r, "Network '%s': failed to set up its bridge: %m", n->name);
        return 0;
}

static int network_load_one(Manager *m, const char *name) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -EBADF;
        Network *n = NULL;
        json_t *j;
        size_t size;
        int r;

        dfd = openat(m->network_dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return -errno;
        r = read_full_file_at(dfd, "network.json", 64 * 1024, &text, &size);
        if (r < 0)
                return r;
        j = json_loadb(text, size, 0, NULL);
        if (!j)
                return -EBADMSG;
        r = network_new(m, name, &n);
        if (r >= 0 &&
            (parse_cidr(json_string_value(json_object_get(j, "subnet")), &n->subnet, &n->prefix) < 0 ||
             parse_ipv4(json_string_value(json_object_get(j, "gateway")), &n->gateway) < 0 ||
             n->prefix < NETWORK_MIN_PREFIX || n->prefix > NETWORK_MAX_PREFIX))
                r = -EBADMSG;
        if (r >= 0) {
                json_int_t mtu = json_integer_value(json_object_get(j, "mtu"));

                n->mtu = mtu >= 576 && mtu <= 65535 ? (unsigned) mtu : 1500;
                n->nat = !json_is_false(json_object_get(j, "nat"));
                n->isolated = json_is_true(json_object_get(j, "isolated"));
                r = ipam_load(n, dfd);
        }
        json_decref(j);
        if (r < 0) {
                network_free(n);
                return r;
        }
        network_add(m, n);
        return 0;
}

int network_manager_init(Manager *m) {
        _cleanup_free_ char *sdir = NULL;
        DIR *d;
        struct dirent *de;
        int r, fd;

        m->network_dir_fd = m->net_state_fd = -EBADF;
        m->network_dir_fd = mkdir_p_open(m->config.network_dir, 0700);
        if (m->network_dir_fd < 0)
                return log_error_errno(m->network_dir_fd, "Failed to create or open '%s': %m",
                                       m->config.network_dir);
        if (asprintf(&sdir, "%s/networks", m->config.state_dir) < 0)
                return log_oom();
        m->net_state_fd = mkdir_p_open(sdir, 0755);
        if (m->net_state_fd < 0)
                return log_error_errno(m->net_state_fd, "Failed to create or open '%s': %m", sdir);

        fd = fcntl(m->network_dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || !network_name_is_valid(de->d_name) ||
                    m->n_networks >= NETWORK_MAX)
                        continue;
                r = network_load_one(m, de->d_name);
                if (r < 0)
                        log_warning_errno(r, "Failed to load network '%s', ignoring: %m", de->d_name);
        }
        (void) closedir(d);
        return 0;
}

static bool workload_known(Manager *m, const char *name) {
        Workload *w = manager_find(m, name);
        return w && w->net;
}

/* Host ends on n's bridge that no known workload has: left behind while isod was down (their
 * namespace kept alive by someone else), deleted now. */
static void sweep_host_ends(Manager *m, Network *n) {
        _cleanup_strv_free_ char **ports = NULL;

        if (link_bridge_ports(n->name, &ports) < 0)
                return;
        for (char **p = ports; *p; p++) {
                bool known = false;
                int r;

                if (!netconf_host_ifname_is_ours(*p))
                        continue;
                for (Workload *w = m->workloads; w && !known; w = w->next) {
                        char ifname[IFNAMSIZ];

                        netconf_host_ifname(w->name, w->kind == BACKEND_VM, ifname);
                        known = streq(ifname, *p);
                }
                if (known)
                        continue;
                r = link_delete(*p);
                if (r < 0 && r != -ENODEV)
                        log_warning_errno(
                                r, "Network '%s': failed to delete %s, a host end no workload has: %m",
                                n->name, *p);
                else if (r >= 0)
                        log_info("Network '%s': deleted %s, a host end no workload has.", n->name, *p);
        }
}

int network_manager_start(Manager *m) {
        int r;

        /* Leases whose workload is gone (removed while isod was down, or a reboot emptied /run). */
        for (Network *n = m->networks; n; n = n->next) {
                bool changed = false;

                for (size_t i = 0; i < n->n_leases;) {
                        if (workload_known(m, n->leases[i].workload)) {
                                i++;
                                continue;
                        }
                        log_info("Network '%s': releasing the lease of '%s' (no such workload).", n->name,
                                 n->leases[i].workload);
                        ipam_release(n, n->leases[i].workload);
                        changed = true;
                }
                if (changed)
                        (void) ipam_save(n);
        }
        if (m->n_networks == 0 && !m->firewall)
                return 0; /* nothing to do until the first network */
        if (!m->firewall) {
                r = firewall_new(&m->firewall);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up nftables: %m");
                firewall_start_watch(m);
        }
        for (Network *n = m->networks; n; n = n->next) {
                (void) network_bring_up(n);
                sweep_host_ends(m, n);
                (void) dns_start(n);
        }
        r = firewall_apply_all(m);
        network_check_foreign(m);
        return r;
}

void network_manager_done(Manager *m) {
        while (m->networks) {
                Network *n = m->networks;

                m->networks = n->next;
                network_free(n);
        }
        m->firewall = firewall_free(m->firewall);
        m->fw_warnings = strv_free(m->fw_warnings);
        if (m->unlink_timer)
                (void) on_unlink_timer(NULL, 0, m); /* what is still left behind goes now */
        if (m->network_dir_fd >= 0)
                (void) close(m->network_dir_fd);
        if (m->net_state_fd >= 0)
                (void) close(m->net_state_fd);
        m->network_dir_fd = m->net_state_fd = -EBADF;
}

int network_create(Manager *m, const char *name, const NetworkOptions *o, Network **ret, char **reterr) {
        Network *n = NULL;
        uint32_t net;
        unsigned prefix = 24;
        char a[16];
        int r;

        if (!network_name_is_valid(name))
                return set_error_message(
                        reterr, -EINVAL,
                        "Invalid network name: use [A-Za-z0-9][A-Za-z0-9_-]{0,14} (it names the bridge).");
        if (streq(name, "none") || streq(name, "nat") || streq(name, "host"))
                return set_error_message(reterr, -EINVAL, "Invalid network name '%s': it is a network mode.",
                                         name);
        if (network_find(m, name))
                return set_error_message(reterr, -EEXIST, "Network '%s' exists already.", name);
        if (m->n_networks >= NETWORK_MAX)
                return set_error_message(reterr, -EUSERS, "Too many networks (max %u).", NETWORK_MAX);
        if (link_exists(name))
                return set_error_message(reterr, -EEXIST,
                                         "A network interface named '%s' exists on the host already.", name);
        if (o->mtu != 0 && (o->mtu < 576 || o->mtu > 65535))
                return set_error_message(reterr, -EINVAL, "MTU %u is out of range (576-65535).", o->mtu);
        if (!o->subnet || streq(o->subnet, "auto")) {
                r = subnet_auto(m, &net);
                if (r < 0)
                        return set_error_message(reterr, r, "No free private /24 found for network '%s'.",
                                                 name);
        } else {
                if (parse_cidr(o->subnet, &net, &prefix) < 0)
                        return set_error_message(reterr, -EINVAL,
                                                 "Subnet '%s' is not an IPv4 CIDR like 10.42.0.0/24.",
                                                 o->subnet);
                if (prefix < NETWORK_MIN_PREFIX || prefix > NETWORK_MAX_PREFIX)
                        return set_error_message(reterr, -EINVAL,
                                                 "Subnet '%s': the prefix must be /%u to /%u.", o->subnet,
                                                 NETWORK_MIN_PREFIX, NETWORK_MAX_PREFIX);
                if ((net & ~prefix_to_mask(prefix)) != 0)
                        return set_error_message(reterr, -EINVAL, "Subnet '%s' has host bits set.",
                                                 o->subnet);
                {
                        const uint8_t *b = (const uint8_t *) &net;
                        bool private = b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
                                       (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64);
                        if (!private)
                                return set_error_message(
                                        reterr, -EINVAL,
                                        "Subnet '%s' is not a private range (10/8, 172.16/12, 192.168/16, "
                                        "100.64/10).",
                                        o->subnet);
                }
                if (subnet_overlaps_ours(m, net, prefix))
                        return set_error_message(reterr, -EADDRINUSE,
                                                 "Subnet '%s' overlaps another isod network.", o->subnet);
                r = link_subnet_in_use(net, prefix);
                if (r < 0)
                        return set_error_message(reterr, r, "Cannot read the host's routes: %s",
                                                 strerror(-r));
                if (r > 0)
                        return set_error_message(reterr, -EADDRINUSE,
                                                 "Subnet '%s' overlaps a route or address of the host.",
                                                 o->subnet);
        }
        r = network_new(m, name, &n);
        if (r < 0)
                return r;
        n->subnet = net;
        n->prefix = prefix;
        n->gateway = htonl(ntohl(net) + 1);
        n->mtu = o->mtu ?: link_uplink_mtu();
        n->nat = o->nat;
        n->isolated = o->isolated;
        n->last = n->gateway;

        if (!m->firewall) {
                r = firewall_new(&m->firewall);
                if (r < 0) {
                        network_free(n);
                        return set_error_message(reterr, r, "nftables is unavailable: %s", strerror(-r));
                }
                firewall_start_watch(m);
        }
        r = network_save(n);
        if (r >= 0)
                r = ipam_save(n);
        if (r >= 0)
                r = network_bring_up(n);
        if (r < 0) {
                (void) link_delete(name);
                (void) rm_rf_at(m->network_dir_fd, name);
                network_free(n);
                return set_error_message(reterr, r, "Failed to set up network '%s': %s", name, strerror(-r));
        }
        network_add(m, n);
        r = firewall_apply_all(m);
        if (r < 0) {
                (void) network_remove(n, NULL);
                return set_error_message(reterr, r, "Failed to apply the firewall rules for network '%s'.",
                                         name);
        }
        r = dns_start(n);
        if (r < 0)
                log_warning_errno(r, "Network '%s': its name server did not start: %m", name);
        log_info("Created network '%s' (%s/%u, bridge %s, MTU %u%s%s).", name, ipv4_to_string(net, a),
                 prefix, name, n->mtu, n->nat ? ", NAT" : "", n->isolated ? ", isolated" : "");
        bus_network_new(m, n);
        network_check_foreign(m);
        if (ret)
                *ret = n;
        return 0;
}

char **network_users(Network *n) {
        char **l = NULL;

        for (size_t i = 0; i < n->n_leases; i++)
                if (strv_extend(&l, n->leases[i].workload) < 0) {
                        strv_free(l);
                        return NULL;
                }
        return l ?: calloc(1, sizeof(char *));
}

int network_remove(Network *n, char **reterr) {
        Manager *m = n->manager;

        if (n->n_leases > 0) {
                _cleanup_strv_free_ char **users = network_users(n);
                _cleanup_free_ char *list = users ? strv_join(users, ", ") : NULL;

                return set_error_message(reterr, -EBUSY, "Network '%s' is in use by: %s.", n->name,
                                         strna(list));
        }
        dns_stop(n);
        for (Network **p = &m->networks; *p; p = &(*p)->next)
                if (*p == n) {
                        *p = n->next;
                        m->n_networks--;
                        break;
                }
        (void) link_delete(n->name);
        (void) rm_rf_at(m->network_dir_fd, n->name);
        (void) rm_rf_at(m->net_state_fd, n->name);
        (void) firewall_apply_all(m);
        log_info("Removed network '%s'.", n->name);
        bus_network_removed(m, n);
        network_free(n);
        return 0;
}

/* --- workloads --- */

static int reserve_port(const SpecPort *p, int *ret_fd) {
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(p->host),
                                  .sin_addr.s_addr = p->address };
        int fd;

        fd = socket(AF_INET, (p->proto == PORT_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                (void) close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* Which of our workloads publishes this port (for the error message), if any. */
static Workload *port_owner(Manager *m, const SpecPort *p) {
        for (Workload *w = m->workloads; w; w = w->next)
                for (size_t i = 0; w->net && i < w->spec->n_ports; i++) {
                        const SpecPort *o = &w->spec->ports[i];

                        if (o->host == p->host && o->proto == p->proto &&
                            (o->address == p->address || !o->address || !p->address))
                                return w;
                }
        return NULL;
}

static int reserve_ports(Manager *m, Workload *w, char **reterr) {
        WorkloadNet *wn = w->net;

        wn->port_fds = calloc(w->spec->n_ports + 1, sizeof(int));
        if (!wn->port_fds)
                return -ENOMEM;
        for (size_t i = 0; i < w->spec->n_ports; i++) {
                const SpecPort *p = &w->spec->ports[i];
                char a[16];
                int r;

                wn->port_fds[i] = -EBADF;
                wn->n_port_fds = i + 1;
                r = reserve_port(p, &wn->port_fds[i]);
                if (r < 0) {
                        Workload *o = port_owner(m, p);

                        if (o && o != w)
                                return set_error_message(
                                        reterr, -EADDRINUSE,
                                        "%s port %u on %s is published by workload '%s' already.",
                                        port_proto_to_string(p->proto), p->host,
                                        p->address ? ipv4_to_string(p->address, a) : "all addresses",
                                        o->name);
                        if (r == -EADDRNOTAVAIL)
                                return set_error_message(
                                        reterr, -EINVAL,
                                        "Cannot publish %s port %u on %s: not an address of this host.",
                                        port_proto_to_string(p->proto), p->host,
                                        ipv4_to_string(p->address, a));
                        return set_error_message(
                                reterr, r == -EADDRINUSE ? -EADDRINUSE : r,
                                "Cannot publish %s port %u on %s: %s%s", port_proto_to_string(p->proto),
                                p->host, p->address ? ipv4_to_string(p->address, a) : "all addresses",
                                strerror(-r), r == -EADDRINUSE ? " (a host process uses it)" : "");
                }
        }
        return 0;
}

static int default_network(Manager *m, Network **ret, char **reterr) {
        Network *n = network_find(m, SPEC_DEFAULT_NETWORK);

        if (!n) {
                int r = network_create(m, SPEC_DEFAULT_NETWORK, &(NetworkOptions){ .nat = true }, &n,
                                       reterr);
                if (r < 0)
                        return r;
        }
        *ret = n;
        return 0;
}

static void netconf_fill(Network *n, Workload *w, const NetLease *l) {
        NetConfig *c = &w->net->conf;

        *c = (NetConfig){ .ip = l->ip, .gateway = n->gateway, .prefix = n->prefix, .mtu = n->mtu };
        (void) snprintf(c->network, sizeof c->network, "%s", n->name);
        netconf_host_ifname(w->name, w->kind == BACKEND_VM, c->host_ifname);
        memcpy(c->mac, l->mac, 6);
        c->dns[0] = n->gateway;
        c->n_dns = 1;
        /* Hairpin: a workload reaching its own forward comes back on the port it left by. */
        c->hairpin = w->spec->n_ports > 0;
}

int network_workload_attach(Manager *m, Workload *w, char **reterr) {
        _cleanup_free_ char *err = NULL;
        const char *name = spec_network_name(w->spec);
        NetLease *lease;
        Network *n;
        FwEndpoint ep;
        int r;

        if (!name)
                return 0;
        if (streq(name, SPEC_DEFAULT_NETWORK)) {
                r = default_network(m, &n, reterr);
                if (r < 0)
                        return r;
        } else if (!(n = network_find(m, name)))
                return set_error_message(reterr, -ENXIO,
                                         "Network '%s' does not exist (isoctl network create %s).", name,
                                         name);

        if (!m->firewall)
                return set_error_message(reterr, -EOPNOTSUPP,
                                         "Network '%s' is unusable: nftables could not be set up.", name);
        w->net = calloc(1, sizeof(WorkloadNet));
        if (!w->net)
                return -ENOMEM;
        r = ipam_allocate(n, w->name, w->spec->ip, w->spec->mac_set ? w->spec->mac : NULL, &lease, reterr);
        if (r < 0) {
                w->net = workload_net_free(w->net);
                return r;
        }
        netconf_fill(n, w, lease);
        r = reserve_ports(m, w, reterr);
        if (r < 0)
                goto fail;
        r = ipam_save(n);
        if (r < 0) {
                (void) set_error_message(reterr, r, "Failed to save the leases of network '%s': %s", n->name,
                                         strerror(-r));
                goto fail;
        }
        endpoint_of(n, w, &ep);
        {
                FwForward fws[SPEC_MAX_PORTS];

                r = firewall_add_workload(m->firewall, &ep, fws, forwards_of(w, fws), &err);
        }
        if (r < 0) {
                (void) set_error_message(reterr, r, "Failed to add the firewall rules: %s", strna(err));
                goto fail;
        }
        (void) dns_update_hosts(n);
        return 0;
fail:
        network_workload_detach(m, w);
        return r;
}

/* --- host ends left behind --- */

#define UNLINK_DELAY_USEC (1 * USEC_PER_SEC)

static int on_unlink_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        size_t kept = 0;

        m->unlink_timer = sd_event_source_disable_unref(m->unlink_timer);
        /* Each one a full UNLINK_DELAY_USEC after its workload ended (s NULL: all, now). */
        for (size_t i = 0; i < m->n_unlinks; i++) {
                int r;

                if (s && m->unlinks[i].due_usec > now) {
                        m->unlinks[kept++] = m->unlinks[i];
                        continue;
                }
                r = link_delete_index(m->unlinks[i].ifindex, m->unlinks[i].ifname);
                if (r > 0)
                        log_debug("Deleted the left-behind host end %s.", m->unlinks[i].ifname);
                else if (r < 0)
                        log_warning_errno(r, "Failed to delete the left-behind host end %s: %m",
                                          m->unlinks[i].ifname);
        }
        m->n_unlinks = kept;
        /* The entries are in the order they came: the first is due next. */
        if (kept > 0 && sd_event_add_time(m->event, &m->unlink_timer, CLOCK_MONOTONIC,
                                          m->unlinks[0].due_usec, 0, on_unlink_timer, m) < 0)
                return on_unlink_timer(NULL, 0, m);
        return 0;
}

static void unlink_later(Manager *m, const char *ifname) {
        unsigned ifindex = if_nametoindex(ifname);
        uint64_t due = now_usec(CLOCK_MONOTONIC) + UNLINK_DELAY_USEC;

        if (ifindex == 0 || ifindex > INT_MAX)
                return; /* gone already */
        if (m->n_unlinks == ELEMENTSOF(m->unlinks) ||
            (!m->unlink_timer && sd_event_add_time(m->event, &m->unlink_timer, CLOCK_MONOTONIC, due, 0,
                                                   on_unlink_timer, m) < 0)) {
                (void) link_delete_index((int) ifindex, ifname); /* cannot wait: now */
                return;
        }
        m->unlinks[m->n_unlinks].ifindex = (int) ifindex;
        m->unlinks[m->n_unlinks].due_usec = due;
        (void) snprintf(m->unlinks[m->n_unlinks].ifname, sizeof m->unlinks[0].ifname, "%s", ifname);
        m->n_unlinks++;
}

void network_workload_detach(Manager *m, Workload *w) {
        Network *n;

        if (!w->net)
                return;
        n = network_find(m, w->net->conf.network);
        if (n && m->firewall) {
                FwForward fws[SPEC_MAX_PORTS];
                FwEndpoint ep;

                /* Forwards and endpoint (one transaction), then the lease (netavark#1482's order). */
                endpoint_of(n, w, &ep);
                if (firewall_remove_workload(m->firewall, &ep, fws, forwards_of(w, fws), NULL) < 0)
                        (void) firewall_apply_all(m); /* something odd: make the tables exact again */
        }
        if (n && ipam_find(n, w->name)) {
                ipam_release(n, w->name);
                (void) ipam_save(n);
                (void) dns_update_hosts(n);
        }
        /* The host end: the kernel removes it with the workload's network namespace (or QEMU's tap
         * fd), but asynchronously, so it is usually still there now. Deleting it here would cost
         * isod ~20 ms of netlink (unregistering a netdev waits for RCU) on every exit; instead it
         * is looked at once more a little later and deleted only if still left behind. */
        unlink_later(m, w->net->conf.host_ifname);
        w->net = workload_net_free(w->net);
}

int network_workload_readopt(Manager *m, Workload *w, json_t *j) {
        _cleanup_free_ char *err = NULL;
        NetLease *l;
        Network *n;
        int r;

        w->net = calloc(1, sizeof(WorkloadNet));
        if (!w->net)
                return -ENOMEM;
        r = netconf_from_json(j, &w->net->conf);
        if (r < 0) {
                w->net = workload_net_free(w->net);
                return r;
        }
        n = network_find(m, w->net->conf.network);
        if (!n) {
                log_warning("Workload '%s' is on network '%s', which is gone.", w->name,
                            w->net->conf.network);
                return 0;
        }
        l = ipam_find(n, w->name);
        if (!l || l->ip != w->net->conf.ip) {
                /* The lease file lost it (or never got it): take it again, with the same address. */
                ipam_release(n, w->name);
                r = ipam_allocate(n, w->name, w->net->conf.ip, w->net->conf.mac, &l, &err);
                if (r < 0)
                        log_warning("Workload '%s': cannot take its address back: %s", w->name, strna(err));
                else
                        (void) ipam_save(n);
        }
        r = reserve_ports(m, w, &err);
        if (r < 0)
                log_warning("Workload '%s': %s", w->name, strna(err));
        return 0;
}
