/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parses the CONFIG / EXEC key=value lists the host sends (docs/agent-protocol.md). */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static bool streq_bool(const char *v) {
        return strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
}

static int strv_push(char ***l, size_t *n, const char *v) {
        char **nl;

        if (*n >= AGENT_KV_MAX_ENTRIES)
                return -E2BIG;
        nl = realloc(*l, (*n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[*n] = strdup(v);
        if (!nl[*n])
                return -ENOMEM;
        nl[++*n] = NULL;
        return 0;
}

static int parse_u32(const char *s, unsigned long max, unsigned *ret) {
        char *end;
        unsigned long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static void strv_free(char **l) {
        for (char **i = l; i && *i; i++)
                free(*i);
        free(l);
}

void process_config_done(ProcessConfig *p) {
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
        *p = (ProcessConfig){};
}

void agent_config_done(AgentConfig *c) {
        process_config_done(&c->proc);
        free(c->hostname);
        free(c->net.domain);
        for (size_t i = 0; i < c->n_tmpfs; i++)
                free(c->tmpfs[i].target);
        for (size_t i = 0; i < c->n_mounts; i++) {
                free(c->mounts[i].disk);
                free(c->mounts[i].target);
        }
        *c = (AgentConfig){};
}

static int parse_ipv4(const char *s, uint32_t *ret) {
        struct in_addr a;

        if (inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = a.s_addr;
        return 0;
}

static int parse_mac(const char *s, uint8_t ret[6]) {
        unsigned b[6];
        char end;

        if (strlen(s) != 17 ||
            sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
                return -EINVAL;
        for (size_t i = 0; i < 6; i++)
                ret[i] = (uint8_t) b[i];
        return 0;
}

/* One net.* key of CONFIG (docs/agent-protocol.md). */
static int parse_net(AgentNet *n, const char *k, size_t kl, const char *v) {
        n->set = true;
        if (agent_kv_key_is(k, kl, "net.mac")) {
                n->have_mac = true;
                return parse_mac(v, n->mac);
        }
        if (agent_kv_key_is(k, kl, "net.ip")) {
                n->have_ip = true;
                return parse_ipv4(v, &n->ip);
        }
        if (agent_kv_key_is(k, kl, "net.gateway"))
                return parse_ipv4(v, &n->gateway);
        if (agent_kv_key_is(k, kl, "net.prefix"))
                return parse_u32(v, 32, &n->prefix);
        if (agent_kv_key_is(k, kl, "net.mtu"))
                return parse_u32(v, 65535, &n->mtu);
        if (agent_kv_key_is(k, kl, "net.dns")) {
                if (n->n_dns >= AGENT_MAX_DNS)
                        return -E2BIG;
                return parse_ipv4(v, &n->dns[n->n_dns++]);
        }
        if (agent_kv_key_is(k, kl, "net.domain")) {
                /* Goes into resolv.conf: one word. */
                if (!*v || strpbrk(v, " \t\n#;"))
                        return -EINVAL;
                free(n->domain);
                n->domain = strdup(v);
                return n->domain ? 0 : -ENOMEM;
        }
        return 0; /* a newer host's key */
}

int config_parse(const uint8_t *kv, size_t n, AgentConfig *c, bool exec) {
        size_t n_args = 0, n_env = 0, kl;
        const char *k, *v;
        AgentKvIter it;
        unsigned u;
        int r;

        agent_kv_iter_init(&it, kv, n);
        while ((r = agent_kv_next(&it, &k, &kl, &v)) > 0) {
                if (agent_kv_key_is(k, kl, "arg"))
                        r = strv_push(&c->proc.args, &n_args, v);
                else if (agent_kv_key_is(k, kl, "env"))
                        r = strv_push(&c->proc.env, &n_env, v);
                else if (agent_kv_key_is(k, kl, "cwd")) {
                        free(c->proc.cwd);
                        c->proc.cwd = strdup(v);
                        r = c->proc.cwd ? 0 : -ENOMEM;
                } else if (agent_kv_key_is(k, kl, "uid")) {
                        r = parse_u32(v, 0xfffffffeUL, &u);
                        c->proc.uid = u;
                        c->proc.user_set = true;
                } else if (agent_kv_key_is(k, kl, "gid")) {
                        r = parse_u32(v, 0xfffffffeUL, &u);
                        c->proc.gid = u;
                } else if (agent_kv_key_is(k, kl, "group")) {
                        if (c->proc.n_groups >= sizeof c->proc.groups / sizeof c->proc.groups[0])
                                return -E2BIG;
                        r = parse_u32(v, 0xfffffffeUL, &u);
                        c->proc.groups[c->proc.n_groups++] = u;
                } else if (agent_kv_key_is(k, kl, "terminal"))
                        c->proc.terminal = streq_bool(v);
                else if (agent_kv_key_is(k, kl, "rows"))
                        r = parse_u32(v, 65535, &c->proc.rows);
                else if (agent_kv_key_is(k, kl, "cols"))
                        r = parse_u32(v, 65535, &c->proc.cols);
                else if (!exec && agent_kv_key_is(k, kl, "hostname")) {
                        free(c->hostname);
                        c->hostname = strdup(v);
                        r = c->hostname ? 0 : -ENOMEM;
                } else if (!exec && agent_kv_key_is(k, kl, "readonly_rootfs"))
                        c->readonly_rootfs = streq_bool(v);
                else if (!exec && agent_kv_key_is(k, kl, "mount")) {
                        /* "DISK-SERIAL:/target" */
                        const char *colon = strchr(v, ':');
                        if (!colon || colon[1] != '/' || c->n_mounts >= AGENT_MAX_MOUNTS)
                                return -EINVAL;
                        c->mounts[c->n_mounts].disk = strndup(v, (size_t) (colon - v));
                        c->mounts[c->n_mounts].target = strdup(colon + 1);
                        c->n_mounts++;
                        r = c->mounts[c->n_mounts - 1].disk && c->mounts[c->n_mounts - 1].target ? 0
                                                                                                 : -ENOMEM;
                } else if (!exec && agent_kv_key_is(k, kl, "tmpfs")) {
                        AgentTmpfs *t = &c->tmpfs[c->n_tmpfs];
                        unsigned mode, noexec;
                        unsigned long long size;
                        int n = 0;

                        if (c->n_tmpfs >= AGENT_MAX_TMPFS ||
                            sscanf(v, "%o,%llu,%u:%n", &mode, &size, &noexec, &n) != 3 || n == 0 ||
                            v[n] != '/' || mode > 07777 || noexec > 1)
                                return -EINVAL;
                        t->target = strdup(v + n);
                        if (!t->target)
                                return -ENOMEM;
                        t->mode = mode;
                        t->size = size;
                        t->noexec = noexec;
                        c->n_tmpfs++;
                } else if (!exec && kl > 4 && memcmp(k, "net.", 4) == 0)
                        r = parse_net(&c->net, k, kl, v);
                /* Unknown keys are ignored: a newer host may send more. */
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        /* A NIC needs at least its MAC and address; prefix 0 or 32 would leave no gateway on link. */
        if (c->net.set && (!c->net.have_mac || !c->net.have_ip || c->net.prefix < 1 || c->net.prefix > 31 ||
                           (c->net.mtu != 0 && c->net.mtu < 68)))
                return -EINVAL;
        if (!c->proc.env) {
                r = strv_push(&c->proc.env, &n_env,
                              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
                if (r < 0)
                        return r;
        }
        return 0;
}
