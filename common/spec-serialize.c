/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "spec.h"
#include "util.h"

/* A parsed spec written back as JSON (spec.h): what isod saves with a workload and shows (the
 * D-Bus spec, a dry run's effective spec), and what workload_spec_copy() parses again. The parser
 * is spec.c. */

static json_t *network_to_json(const WorkloadSpec *s) {
        json_t *n = json_pack("{s:s}", "mode", network_mode_to_string(s->network));
        char buf[32];

        if (!n)
                return NULL;
        if (s->network_name)
                json_object_set_new(n, "network", json_string(s->network_name));
        if (s->netns_path)
                json_object_set_new(n, "path", json_string(s->netns_path));
        if (s->n_ports > 0) {
                json_t *a = json_array();

                for (size_t i = 0; i < s->n_ports; i++) {
                        const SpecPort *p = &s->ports[i];
                        json_t *e = json_pack("{s:i,s:i,s:s}", "host", p->host, "guest", p->guest, "proto",
                                              port_proto_to_string(p->proto));

                        if (p->address) {
                                const uint8_t *b = (const uint8_t *) &p->address;
                                (void) snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
                                json_object_set_new(e, "address", json_string(buf));
                        }
                        json_array_append_new(a, e);
                }
                json_object_set_new(n, "ports", a);
        }
        if (s->ip) {
                const uint8_t *b = (const uint8_t *) &s->ip;
                (void) snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
                json_object_set_new(n, "ip", json_string(buf));
        }
        if (s->mac_set) {
                (void) snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", s->mac[0], s->mac[1],
                                s->mac[2], s->mac[3], s->mac[4], s->mac[5]);
                json_object_set_new(n, "mac", json_string(buf));
        }
        return n;
}

json_t *workload_spec_to_json(const WorkloadSpec *s) {
        json_t *root, *proc, *a;
        char buf[64];

        root = json_object();
        if (!root)
                return NULL;
        if (s->name)
                json_object_set_new(root, "name", json_string(s->name));
        json_object_set_new(root, "isolation", json_string(isolation_to_string(s->isolation)));
        if (s->image)
                json_object_set_new(root, "image", json_string(s->image));
        if (s->rootfs)
                json_object_set_new(root, "rootfs", json_string(s->rootfs));

        proc = json_object();
        a = json_array();
        for (size_t i = 0; s->args && s->args[i]; i++)
                json_array_append_new(a, json_string(s->args[i]));
        json_object_set_new(proc, "args", a);
        if (s->entrypoint_set) {
                a = json_array();
                for (size_t i = 0; s->entrypoint && s->entrypoint[i]; i++)
                        json_array_append_new(a, json_string(s->entrypoint[i]));
                json_object_set_new(proc, "entrypoint", a);
        }
        if (s->env) {
                a = json_array();
                for (size_t i = 0; s->env[i]; i++)
                        json_array_append_new(a, json_string(s->env[i]));
                json_object_set_new(proc, "env", a);
        }
        if (s->cwd)
                json_object_set_new(proc, "cwd", json_string(s->cwd));
        if (s->user_set) {
                (void) snprintf(buf, sizeof buf, "%u:%u", (unsigned) s->uid, (unsigned) s->gid);
                json_object_set_new(proc, "user", json_string(buf));
        }
        if (s->n_groups > 0) {
                a = json_array();
                for (size_t i = 0; i < s->n_groups; i++)
                        json_array_append_new(a, json_integer(s->groups[i]));
                json_object_set_new(proc, "groups", a);
        }
        json_object_set_new(proc, "terminal", json_boolean(s->terminal));
        if (s->n_rlimits > 0) {
                json_t *rl = json_array();
                for (size_t i = 0; i < s->n_rlimits; i++)
                        json_array_append_new(rl, json_pack("{s:s,s:I,s:I}", "type",
                                                            rlimit_to_name(s->rlimits[i].resource), "soft",
                                                            (json_int_t) s->rlimits[i].soft, "hard",
                                                            (json_int_t) s->rlimits[i].hard));
                json_object_set_new(proc, "rlimits", rl);
        }
        if (s->interactive)
                json_object_set_new(proc, "interactive", json_true());
        json_object_set_new(root, "process", proc);

        if (s->memory || s->cpus > 0 || s->pids || s->io_weight || s->cpu_weight) {
                json_t *res = json_object();
                if (s->memory)
                        json_object_set_new(res, "memory", json_integer((json_int_t) s->memory));
                if (s->cpus > 0)
                        json_object_set_new(res, "cpus", json_real(s->cpus));
                if (s->pids)
                        json_object_set_new(res, "pids", json_integer((json_int_t) s->pids));
                if (s->io_weight)
                        json_object_set_new(res, "io_weight", json_integer((json_int_t) s->io_weight));
                if (s->cpu_weight)
                        json_object_set_new(res, "cpu_weight", json_integer((json_int_t) s->cpu_weight));
                json_object_set_new(root, "resources", res);
        }
        json_object_set_new(root, "network", network_to_json(s));
        if (s->n_mounts > 0) {
                a = json_array();
                for (size_t i = 0; i < s->n_mounts; i++)
                        json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "source", s->mounts[i].source,
                                                           "target", s->mounts[i].target, "readonly",
                                                           s->mounts[i].readonly));
                json_object_set_new(root, "mounts", a);
        }
        if (s->n_tmpfs > 0) {
                a = json_array();
                for (size_t i = 0; i < s->n_tmpfs; i++) {
                        char mode[8];
                        json_t *t;

                        (void) snprintf(mode, sizeof mode, "%04o", s->tmpfs[i].mode);
                        t = json_pack("{s:s,s:s,s:b}", "target", s->tmpfs[i].target, "mode", mode, "noexec",
                                      s->tmpfs[i].noexec);
                        if (t && s->tmpfs[i].size)
                                json_object_set_new(t, "size", json_integer((json_int_t) s->tmpfs[i].size));
                        json_array_append_new(a, t);
                }
                json_object_set_new(root, "tmpfs", a);
        }
        if (s->hostname)
                json_object_set_new(root, "hostname", json_string(s->hostname));
        if (s->pod)
                json_object_set_new(root, "pod", json_string(s->pod));
        if (s->n_labels > 0) {
                json_t *l = json_object();
                for (size_t i = 0; i < s->n_labels; i++)
                        json_object_set_new(l, s->labels[i].key, json_string(s->labels[i].value));
                json_object_set_new(root, "labels", l);
        }
        json_object_set_new(root, "userns", json_boolean(s->userns));
        json_object_set_new(root, "readonly_rootfs", json_boolean(s->readonly_rootfs));
        if (s->seccomp)
                json_object_set_new(root, "seccomp", json_string(s->seccomp));
        if (s->caps_set) {
                json_t *caps = json_array();
                for (int c = 0; c <= SPEC_CAP_LAST; c++)
                        if (s->caps & (UINT64_C(1) << c))
                                json_array_append_new(caps, json_string(capability_to_name(c)));
                json_object_set_new(root, "capabilities", caps);
        }
        return root;
}

char *workload_spec_to_string(const WorkloadSpec *s) {
        json_t *j = workload_spec_to_json(s);
        char *t;

        if (!j)
                return NULL;
        t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        return t;
}

WorkloadSpec *workload_spec_copy(const WorkloadSpec *s) {
        _cleanup_free_ char *t = workload_spec_to_string(s);
        WorkloadSpec *c = NULL;

        if (!t || workload_spec_parse(t, strlen(t), &c, NULL) < 0)
                return NULL;
        return c;
}
