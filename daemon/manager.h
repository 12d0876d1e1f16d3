/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "backend.h"
#include "policy.h"
#include "spec.h"

typedef struct Workload Workload;
typedef struct PrivateConn PrivateConn;

#define MANAGER_MAX_WORKLOADS 4096U
#define MANAGER_MAX_WORKLOADS_PER_UID 256U

typedef struct ManagerConfig {
        char *state_dir; /* /run/isod */
        char *image_dir;
        char *vm_dir;
        char *cache_dir;
        char *monitor_path;
        char *qemu;
        char *accel; /* auto|kvm|tcg */
        char *policy_path;
        char *private_socket; /* direct connections for root (dbus-api/private.c); "" for none */
        char *network_dir;    /* network definitions and leases (daemon/network.c) */
        char *store_dir;      /* the image store (daemon/image.c) */
        char *import_path;    /* isod-image-import */
        char *dns_upstream;   /* resolv.conf the networks' name servers forward to; "" = none */
        unsigned spares;      /* monitors kept started ahead of launches (daemon/spawn.c) */
        bool spares_set;
        bool debug;
        uint64_t log_max_size; /* --log-max-size=, 0: the default (monitor/output-log.h) */
} ManagerConfig;

#define MANAGER_SPARES_DEFAULT 4U
#define MANAGER_SPARES_MAX 8U

/* A monitor started ahead of time, idle until a launch assigns it a workload. */
typedef struct Spare {
        int conn;
        sd_event_source *src;
        pid_t pid; /* as it said ({"event":"spare"}), 0 until then */
        int pidfd; /* pins that PID's identity */
        uint64_t started_usec;
        bool ready; /* it said so: its cgroup leaves and holder are prepared */
} Spare;

typedef struct BackendStatus {
        bool available;
        char *reason; /* why not, when !available */
} BackendStatus;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        ManagerConfig config;
        int workloads_fd;    /* STATE/workloads */
        Workload *workloads; /* linked list, creation order */
        size_t n_workloads;
        Policy *policy;
        BackendStatus backends[_BACKEND_KIND_MAX];
        uint64_t next_request_id;

        /* Monitors started ahead of time (daemon/spawn.c), oldest first. */
        Spare spares[MANAGER_SPARES_MAX];
        size_t n_spares;
        sd_event_source *spare_defer;
        sd_event_source *spare_timer; /* refill delay, or backoff after spares that died at once */
        unsigned spare_failures;
        /* An isod-monitor --zygote that forks spares (no exec per spare); -EBADF when none runs:
         * spares are then exec'd one by one. */
        int zygote_conn;
        sd_event_source *zygote_src;

        /* Direct D-Bus connections on config.private_socket (dbus-api/private.c). */
        sd_event_source *private_src;
        char *private_path;
        sd_id128_t private_id;
        PrivateConn *private_conns;
        size_t n_private;
        size_t private_max;

        /* Networks (daemon/network.c, docs/network.md). */
        struct Network *networks;
        size_t n_networks;
        struct Firewall *firewall;
        char **fw_warnings; /* firewall_foreign_warnings() as last logged */
        /* Host ends of exited workloads, deleted by unlink_timer if still there (daemon/network.c). */
        struct {
                int ifindex;
                char ifname[16];
                uint64_t due_usec; /* CLOCK_MONOTONIC */
        } unlinks[64];
        size_t n_unlinks;
        sd_event_source *unlink_timer;
        int network_dir_fd; /* config.network_dir */
        int net_state_fd;   /* STATE/networks */
        bool firewall_dirty;

        /* The image store (daemon/image.c, docs/images.md). */
        int store_fd;
        struct Image *images;
        size_t n_images;
        struct ImageImport *imports;
        size_t n_imports;
        uint64_t next_import_id;
        bool store_gc_pending;
        bool store_damaged; /* an image record could not be read: no layer GC */
} Manager;

/* Who is calling, from the bus credentials (never from the message). */
typedef struct Caller {
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        char *user_name;
        char **group_names;
        char *unit;
        bool polkit; /* polkit authorized this call for org.isod1.launch (the policy's "polkit" match) */
} Caller;

void caller_done(Caller *c);
void caller_to_policy(const Caller *c, PolicyCaller *ret);

int manager_new(sd_event *event, ManagerConfig *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_CLEANUP_FUNC(Manager *, manager_free);

/* Re-adopts the workloads found in the state directory. */
int manager_load(Manager *m);
int manager_reload_policy(Manager *m, char **reterr_message);

typedef struct CreateOptions {
        bool auto_remove; /* remove once it has exited and its waiters were answered */
        /* The caller announces it on the bus (bus_workload_new()) itself, later: a launch starts
         * its monitor first, so that the signals are not on the launch's path. */
        bool announce_later;
        /* Out: the refusal (-EACCES) came from the policy's default, no rule having matched the
         * caller: what polkit may then authorize (org.isod1.launch). */
        bool denied_by_default;
} CreateOptions;

/* Errors: -EINVAL/-EBADMSG/-E2BIG (bad spec; message), -EACCES (policy; message), -EEXIST,
 * -EOPNOTSUPP (backend unavailable; message), -EUSERS (too many workloads). */
int manager_create_workload(Manager *m, const char *spec_json, const Caller *caller, CreateOptions *opts,
                            Workload **ret, char **reterr_message);
int manager_explain(Manager *m, const char *spec_json, const Caller *caller, char **ret_text);
Workload *manager_find(Manager *m, const char *name);
void manager_forget(Manager *m, Workload *w);
bool manager_may_manage(Manager *m, const Caller *caller, Workload *w);
