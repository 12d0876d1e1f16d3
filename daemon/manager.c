/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "dbus-api.h"
#include "image.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "monitor-spawn.h"
#include "polkit.h"
#include "util.h"
#include "workload.h"

void caller_done(Caller *c) {
        free(c->groups);
        free(c->user_name);
        strv_free(c->group_names);
        free(c->unit);
        *c = (Caller){};
}

void caller_to_policy(const Caller *c, PolicyCaller *ret) {
        *ret = (PolicyCaller){
                .uid = c->uid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .user_name = c->user_name,
                .group_names = c->group_names,
                .unit = c->unit,
                .polkit = c->polkit,
        };
}

static int manager_probe_backends(Manager *m) {
        const BackendHostConfig cfg = {
                .image_dir = m->config.image_dir,
                .vm_dir = m->config.vm_dir,
                .cache_dir = m->config.cache_dir,
                .qemu = m->config.qemu,
                .accel = m->config.accel,
        };

        for (int k = 0; k < _BACKEND_KIND_MAX; k++) {
                const struct backend_ops *ops = backend_get((BackendKind) k);
                char *reason = NULL;
                int r;

                r = ops->probe(&cfg, &reason);
                m->backends[k].available = r >= 0;
                m->backends[k].reason = reason;
                if (r < 0)
                        log_notice("Backend '%s' is unavailable: %s", ops->name, strna(reason));
                else
                        log_debug("Backend '%s' is available.", ops->name);
        }
        return 0;
}

int manager_new(sd_event *event, ManagerConfig *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *wdir = NULL, *err = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->event = sd_event_ref(event);
        m->config = *config;
        *config = (ManagerConfig){};
        m->workloads_fd = -EBADF;
        m->network_dir_fd = m->net_state_fd = -EBADF;
        m->store_fd = -EBADF;
        m->zygote_conn = -EBADF;
        /* ISOD_NO_SPARE_MONITOR=1: every launch execs its monitor (for comparisons in bench/). */
        if (secure_getenv("ISOD_NO_SPARE_MONITOR"))
                m->config.spares = 0;

        if (asprintf(&wdir, "%s/workloads", m->config.state_dir) < 0)
                return log_oom();
        m->workloads_fd = mkdir_p_open(wdir, 0700);
        if (m->workloads_fd < 0)
                return log_error_errno(m->workloads_fd, "Failed to create or open '%s': %m", wdir);

        r = manager_reload_policy(m, &err);
        if (r < 0)
                return log_error_errno(r, "Refusing to start with an invalid policy: %s", strna(err));
        r = network_manager_init(m);
        if (r < 0)
                return r;
        r = image_store_init(m);
        if (r < 0)
                return r;

        (void) manager_probe_backends(m);
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        while (m->workloads) {
                Workload *w = m->workloads;
                m->workloads = w->next;
                workload_free(w);
        }
        manager_spare_done(m);
        network_manager_done(m);
        image_store_done(m);
        bus_caller_cache_clear();
        bus_polkit_done();
        policy_free(m->policy);
        for (int k = 0; k < _BACKEND_KIND_MAX; k++)
                free(m->backends[k].reason);
        if (m->workloads_fd >= 0)
                (void) close(m->workloads_fd);
        free(m->config.state_dir);
        free(m->config.image_dir);
        free(m->config.vm_dir);
        free(m->config.cache_dir);
        free(m->config.monitor_path);
        free(m->config.qemu);
        free(m->config.accel);
        free(m->config.policy_path);
        free(m->config.network_dir);
        free(m->config.store_dir);
        free(m->config.import_path);
        free(m->config.dns_upstream);
        bus_private_done(m);
        free(m->config.private_socket);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_reload_policy(Manager *m, char **reterr_message) {
        Policy *p = NULL;
        struct stat st;
        int r;

        /* Only a file that does not exist means "use the built-in policy". Any other failure to look
         * at it (EACCES, ELOOP, EIO…) is an error: silently switching to another policy is not an
         * option. The new policy replaces the old only once it has been parsed completely. */
        if (m->config.policy_path && stat(m->config.policy_path, &st) >= 0) {
                r = policy_load(m->config.policy_path, &p, reterr_message);
                if (r < 0)
                        return r;
        } else if (!m->config.policy_path || errno == ENOENT) {
                r = policy_new_default(&p);
                if (r < 0)
                        return r;
        } else {
                r = -errno;
                if (asprintf(reterr_message, "%s: %s", m->config.policy_path, strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }
        policy_free(m->policy);
        m->policy = p;
        log_info("Policy loaded from %s.", policy_source(p));
        return 0;
}

static void manager_add(Manager *m, Workload *w) {
        Workload **p = &m->workloads;

        while (*p)
                p = &(*p)->next;
        *p = w;
        w->next = NULL;
        m->n_workloads++;
}

int manager_load(Manager *m) {
        DIR *d;
        struct dirent *de;
        int fd, r;

        fd = fcntl(m->workloads_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        rewinddir(d);
        while ((de = readdir(d))) {
                Workload *w;

                if (de->d_name[0] == '.' || !workload_name_is_valid(de->d_name))
                        continue;
                if (m->n_workloads >= MANAGER_MAX_WORKLOADS)
                        break;
                r = workload_load(m, de->d_name, &w);
                if (r < 0) {
                        log_warning_errno(r, "Failed to load workload '%s', ignoring: %m", de->d_name);
                        continue;
                }
                manager_add(m, w);
        }
        (void) closedir(d);

        /* Their networks: leases checked, bridges, firewall tables and name servers back. */
        r = network_manager_start(m);
        if (r < 0)
                log_warning_errno(r, "Networking is not fully restored: %m");

        /* Images that lost their last name and user while isod was away; orphan layers. */
        image_store_gc(m);

        /* Now that they are registered, let finished auto_remove workloads go. */
        for (Workload *w = m->workloads, *next; w; w = next) {
                next = w->next;
                workload_maybe_auto_remove(w);
        }
        return 0;
}

Workload *manager_find(Manager *m, const char *name) {
        for (Workload *w = m->workloads; w; w = w->next)
                if (streq(w->name, name))
                        return w;
        return NULL;
}

void manager_forget(Manager *m, Workload *w) {
        for (Workload **p = &m->workloads; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        m->n_workloads--;
                        break;
                }
        w->removed = true;
        bus_workload_removed(m, w);
        _cleanup_free_ char *image_id = workload_image_id(w) ? strdup(workload_image_id(w)) : NULL;
        workload_free(w);
        if (image_id) {
                bus_image_users_changed(m, image_id);
                image_store_gc(m); /* it may have been an unnamed image's last user */
        }
}

bool manager_may_manage(Manager *m, const Caller *caller, Workload *w) {
        PolicyCaller pc;

        if (caller->uid == 0 || caller->uid == w->owner_uid)
                return true;
        caller_to_policy(caller, &pc);
        return policy_may_manage(m->policy, &pc, w->owner_uid);
}

static int manager_decide(Manager *m, const char *spec_json, const Caller *caller,
                          WorkloadSpec **ret_requested, PolicyDecision **ret_decision, char **reterr) {
        _cleanup_(workload_spec_freep) WorkloadSpec *spec = NULL;
        PolicyCaller pc;
        int r;

        r = workload_spec_parse(spec_json, strlen(spec_json), &spec, reterr);
        if (r < 0)
                return r;
        /* The image's config is the spec's defaults, and its labels are matched by the policy. */
        r = image_apply(m, spec, reterr);
        if (r < 0)
                return r;
        caller_to_policy(caller, &pc);
        r = policy_evaluate(m->policy, spec, &pc, ret_decision, reterr);
        if (r < 0)
                return r;
        *ret_requested = TAKE_PTR(spec);
        return 0;
}

int manager_create_workload(Manager *m, const char *spec_json, const Caller *caller, CreateOptions *opts,
                            Workload **ret, char **reterr) {
        _cleanup_(workload_spec_freep) WorkloadSpec *requested = NULL;
        _cleanup_(policy_decision_freep) PolicyDecision *d = NULL;
        _cleanup_free_ char *name = NULL;
        const struct backend_ops *ops;
        BackendKind kind;
        Workload *w = NULL;
        struct Image *img = NULL;
        size_t per_uid = 0;
        int r;

        r = manager_decide(m, spec_json, caller, &requested, &d, reterr);
        if (r < 0)
                return r;
        if (d->deny) {
                if (opts)
                        opts->denied_by_default = streq(d->rule, "default");
                if (asprintf(reterr, "Policy rule '%s' denies this workload%s%s", d->rule,
                             d->reason ? ": " : ".", strempty(d->reason)) < 0)
                        *reterr = NULL;
                return -EACCES;
        }
        kind = d->isolation == ISOLATION_VM ? BACKEND_VM : BACKEND_CONTAINER;
        if (requested->isolation != ISOLATION_AUTO && requested->isolation != d->isolation)
                log_info("Policy rule '%s' places a workload that asked for '%s' in a %s.", d->rule,
                         isolation_to_string(requested->isolation), backend_kind_to_string(kind));
        if (!m->backends[kind].available) {
                if (asprintf(reterr, "The %s backend is unavailable on this host: %s",
                             backend_kind_to_string(kind), strna(m->backends[kind].reason)) < 0)
                        *reterr = NULL;
                return -EOPNOTSUPP;
        }
        if (d->spec->pod) {
                /* A pod member (a CRI container) joins its sandbox's namespaces: both containers,
                 * the sandbox running and the caller allowed to manage it (docs/oci.md#pods). */
                Workload *pod = manager_find(m, d->spec->pod);

                if (!pod)
                        return set_error_message(reterr, -ENOENT, "Pod workload '%s' does not exist.",
                                                 d->spec->pod);
                if (!manager_may_manage(m, caller, pod))
                        return set_error_message(reterr, -EACCES,
                                                 "Not allowed to join pod workload '%s' (owner UID %u).",
                                                 d->spec->pod, (unsigned) pod->owner_uid);
                if (pod->kind == BACKEND_VM)
                        return set_error_message(
                                reterr, -EOPNOTSUPP,
                                "Pod workload '%s' runs in a VM: running a pod's further containers inside its VM "
                                "is not supported yet (isod boots one VM per workload).",
                                d->spec->pod);
                if (kind == BACKEND_VM)
                        return set_error_message(
                                reterr, -EOPNOTSUPP,
                                "Policy rule '%s' places this workload in a VM, but it joins pod workload '%s', a "
                                "container: a pod's members share its namespaces and run as containers.",
                                d->rule, d->spec->pod);
                if (pod->state != WORKLOAD_RUNNING)
                        return set_error_message(
                                reterr, -EBUSY,
                                "Pod workload '%s' is %s, not running: there are no namespaces to join.",
                                d->spec->pod, workload_state_to_string(pod->state));
        }
        ops = backend_get(kind);
        r = ops->validate(d->spec, reterr);
        if (r < 0)
                return r;
        if (requested->image_id) {
                img = image_find_id(m, requested->image_id);
                if (!img)
                        return -ENXIO;
                if (d->spec->userns && img->n_layers > 1 && kind == BACKEND_CONTAINER)
                        return set_error_message(
                                reterr, -EOPNOTSUPP,
                                "A user namespace over a multi-layer image (%s, %zu layers) is not supported "
                                "yet: every lower layer would need its own idmapped mount.",
                                requested->image, img->n_layers);
        }

        if (m->n_workloads >= MANAGER_MAX_WORKLOADS)
                return -EUSERS;
        for (Workload *i = m->workloads; i; i = i->next)
                per_uid += i->owner_uid == caller->uid;
        if (caller->uid != 0 && per_uid >= MANAGER_MAX_WORKLOADS_PER_UID)
                return -EUSERS;

        if (d->spec->name) {
                name = strdup(d->spec->name);
                if (!name)
                        return -ENOMEM;
        } else {
                do {
                        free(name);
                        name = NULL;
                        r = workload_name_generate(d->spec->args[0], &name);
                        if (r < 0)
                                return r;
                } while (manager_find(m, name));
                d->spec->name = strdup(name);
                if (!d->spec->name)
                        return -ENOMEM;
        }
        if (manager_find(m, name))
                return -EEXIST;
        if (mkdirat(m->workloads_fd, name, 0700) < 0)
                return errno == EEXIST ? -EEXIST : -errno;

        r = workload_new(m, name, &w);
        if (r < 0)
                goto fail;
        d->spec->isolation = d->isolation;
        w->spec = TAKE_PTR(d->spec);
        w->kind = kind;
        if (img) {
                w->image_json = image_monitor_json(m, img);
                if (!w->image_json) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        /* Its network before its first instruction: lease, published ports, firewall, name. */
        r = network_workload_attach(m, w, reterr);
        if (r < 0)
                goto fail;
        w->owner_uid = caller->uid;
        w->policy_rule = TAKE_PTR(d->rule);
        w->policy_reason = TAKE_PTR(d->reason);
        w->auto_remove = opts && opts->auto_remove;
        w->created_usec = now_usec(CLOCK_REALTIME);
        w->state = WORKLOAD_CREATED;
        r = workload_save(w);
        if (r < 0)
                goto fail;
        manager_add(m, w);
        log_workload(LOG_INFO, name, "Created workload '%s' (%s, policy rule '%s', owner UID %u).", name,
                     backend_kind_to_string(kind), w->policy_rule, (unsigned) w->owner_uid);
        if (opts && opts->announce_later)
                w->unannounced = true;
        else
                bus_workload_new(m, w);
        bus_image_users_changed(m, workload_image_id(w));
        *ret = w;
        return 0;
fail:
        if (w)
                network_workload_detach(m, w);
        workload_free(w);
        (void) rm_rf_at(m->workloads_fd, name);
        return r;
}

int manager_explain(Manager *m, const char *spec_json, const Caller *caller, char **ret_text) {
        _cleanup_(workload_spec_freep) WorkloadSpec *spec = NULL;
        _cleanup_(policy_decision_freep) PolicyDecision *d = NULL;
        _cleanup_free_ char *text = NULL, *effective = NULL, *full = NULL, *err = NULL;
        PolicyCaller pc;
        int r;

        r = workload_spec_parse(spec_json, strlen(spec_json), &spec, ret_text);
        if (r < 0)
                return r;
        r = image_apply(m, spec, ret_text);
        if (r < 0)
                return r;
        caller_to_policy(caller, &pc);
        r = policy_explain(m->policy, spec, &pc, &text);
        if (r < 0)
                return r;

        /* Append what the backend would get, so that a dry run shows the whole outcome. */
        r = policy_evaluate(m->policy, spec, &pc, &d, &err);
        if (r >= 0 && !d->deny) {
                d->spec->isolation = d->isolation;
                effective = workload_spec_to_string(d->spec);
                if (!effective)
                        return -ENOMEM;
                bool nl = text[0] && text[strlen(text) - 1] == '\n';

                if (asprintf(&full, "%s%seffective spec: %s\n", text, nl ? "" : "\n", effective) < 0)
                        return -ENOMEM;
                *ret_text = TAKE_PTR(full);
        } else
                *ret_text = TAKE_PTR(text);
        return 0;
}
