/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "network.h"
#include "util.h"

/* Static leases from a network's subnet (docs/network.md#addresses): round robin after the last
 * address handed out, like Podman's lastIP, skipping the network, gateway and broadcast
 * addresses. Held from a workload's create to its remove; persisted in NETWORK_DIR/NAME/leases.json
 * (written and renamed, atomic for isod's crashes) before the workload is told its address. Not
 * fsync'ed: leases only have to outlive isod, never the kernel — the workloads live under /run,
 * so after a reboot every lease is released at start anyway (network_manager_start()); a file a
 * power loss damaged is read as no leases, and running workloads take their addresses back
 * (network_workload_readopt()). */

#define IPAM_MAX_LEASES 65536U

NetLease *ipam_find(Network *n, const char *workload) {
        for (size_t i = 0; i < n->n_leases; i++)
                if (streq(n->leases[i].workload, workload))
                        return &n->leases[i];
        return NULL;
}

static NetLease *find_ip(Network *n, uint32_t ip) {
        for (size_t i = 0; i < n->n_leases; i++)
                if (n->leases[i].ip == ip)
                        return &n->leases[i];
        return NULL;
}

static NetLease *find_mac(Network *n, const uint8_t mac[6]) {
        for (size_t i = 0; i < n->n_leases; i++)
                if (memcmp(n->leases[i].mac, mac, 6) == 0)
                        return &n->leases[i];
        return NULL;
}

static bool usable(const Network *n, uint32_t ip) {
        uint32_t mask = prefix_to_mask(n->prefix);

        return (ip & mask) == n->subnet && ip != n->subnet && ip != n->gateway && (ip | mask) != 0xffffffffU;
}

static int add_lease(Network *n, const char *workload, uint32_t ip, const uint8_t mac[6], NetLease **ret) {
        NetLease *l;

        if (n->n_leases >= IPAM_MAX_LEASES)
                return -EUSERS;
        l = realloc(n->leases, (n->n_leases + 1) * sizeof(NetLease));
        if (!l)
                return -ENOMEM;
        n->leases = l;
        l = &n->leases[n->n_leases];
        *l = (NetLease){ .ip = ip, .workload = strdup(workload) };
        if (!l->workload)
                return -ENOMEM;
        memcpy(l->mac, mac, 6);
        n->n_leases++;
        if (ret)
                *ret = l;
        return 0;
}

int ipam_allocate(Network *n, const char *workload, uint32_t fixed_ip, const uint8_t *fixed_mac,
                  NetLease **ret, char **reterr) {
        uint8_t mac[6];
        uint32_t ip = 0;
        char a[16], b[18];
        NetLease *o;
        int r;

        if (ipam_find(n, workload))
                return set_error_message(reterr, -EEXIST,
                                         "Workload '%s' has an address on network '%s' already.", workload,
                                         n->name);
        if (fixed_ip) {
                if (!usable(n, fixed_ip))
                        return set_error_message(
                                reterr, -EINVAL,
                                "Address %s is not a usable address of network '%s' (%s/%u, gateway .1).",
                                ipv4_to_string(fixed_ip, a), n->name, ipv4_to_string(n->subnet, b),
                                n->prefix);
                o = find_ip(n, fixed_ip);
                if (o)
                        return set_error_message(reterr, -EADDRINUSE,
                                                 "Address %s on network '%s' is taken by workload '%s'.",
                                                 ipv4_to_string(fixed_ip, a), n->name, o->workload);
                ip = fixed_ip;
        } else {
                uint32_t size = UINT32_C(1) << (32 - n->prefix), base = ntohl(n->subnet);
                uint32_t start = ntohl(n->last) - base;

                for (uint32_t k = 1; k <= size; k++) {
                        uint32_t cand = htonl(base + (start + k) % size);

                        if (usable(n, cand) && !find_ip(n, cand)) {
                                ip = cand;
                                break;
                        }
                }
                if (!ip)
                        return set_error_message(
                                reterr, -EUSERS, "Network '%s' has no free address (%zu leases in %s/%u).",
                                n->name, n->n_leases, ipv4_to_string(n->subnet, a), n->prefix);
        }
        if (fixed_mac)
                memcpy(mac, fixed_mac, 6);
        else
                netconf_mac_from_ip(ip, mac);
        o = find_mac(n, mac);
        if (o)
                return set_error_message(reterr, -EADDRINUSE,
                                         "MAC address %s on network '%s' is taken by workload '%s'.",
                                         mac_to_string(mac, b), n->name, o->workload);
        r = add_lease(n, workload, ip, mac, ret);
        if (r < 0)
                return r;
        if (!fixed_ip)
                n->last = ip;
        return 0;
}

void ipam_release(Network *n, const char *workload) {
        for (size_t i = 0; i < n->n_leases; i++)
                if (streq(n->leases[i].workload, workload)) {
                        free(n->leases[i].workload);
                        memmove(&n->leases[i], &n->leases[i + 1], (n->n_leases - i - 1) * sizeof(NetLease));
                        n->n_leases--;
                        return;
                }
}

int ipam_save(Network *n) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -EBADF;
        char a[16], b[18];
        json_t *j, *arr;

        dfd = openat(n->manager->network_dir_fd, n->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return -errno;
        arr = json_array();
        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < n->n_leases; i++)
                json_array_append_new(arr,
                                      json_pack("{s:s,s:s,s:s}", "ip", ipv4_to_string(n->leases[i].ip, a),
                                                "mac", mac_to_string(n->leases[i].mac, b), "workload",
                                                n->leases[i].workload));
        j = json_pack("{s:s,s:o}", "last", ipv4_to_string(n->last, a), "leases", arr);
        if (!j)
                return -ENOMEM;
        text = json_dumps(j, JSON_INDENT(2));
        json_decref(j);
        if (!text)
                return -ENOMEM;
        return write_file_atomic_at(dfd, "leases.json", text, strlen(text), 0600);
}

int ipam_load(Network *n, int dfd) {
        _cleanup_free_ char *text = NULL;
        json_t *j, *e;
        size_t size, i;
        int r;

        n->last = n->gateway;
        r = read_full_file_at(dfd, "leases.json", 16 * 1024 * 1024, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        j = json_loadb(text, size, 0, NULL);
        if (!j) {
                log_warning("Network '%s': leases.json is damaged, starting with no leases.", n->name);
                return 0;
        }
        if (parse_ipv4(json_string_value(json_object_get(j, "last")), &n->last) < 0 || !usable(n, n->last))
                n->last = n->gateway;
        json_array_foreach (json_object_get(j, "leases"), i, e) {
                const char *w = json_string_value(json_object_get(e, "workload"));
                uint8_t mac[6];
                uint32_t ip;

                if (!w || !workload_name_is_valid(w) ||
                    parse_ipv4(json_string_value(json_object_get(e, "ip")), &ip) < 0 ||
                    parse_mac(json_string_value(json_object_get(e, "mac")), mac) < 0 || !usable(n, ip) ||
                    find_ip(n, ip) || ipam_find(n, w))
                        continue; /* a damaged entry: the workload, if it exists, takes its address back */
                r = add_lease(n, w, ip, mac, NULL);
                if (r < 0)
                        break;
        }
        json_decref(j);
        return r < 0 ? r : 0;
}
