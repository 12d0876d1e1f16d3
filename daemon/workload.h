/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "manager.h"

#include "state.h"

/* A reply from the monitor to a request: r < 0 with a message, or the result object. */
typedef void (*WorkloadRequestCallback)(Workload *w, int r, const char *message, json_t *result,
                                        void *userdata);

typedef struct PendingRequest {
        uint64_t id;
        WorkloadRequestCallback cb;
        void *userdata;
        struct PendingRequest *next;
} PendingRequest;

typedef struct BusWaiter {
        sd_bus_message *msg;
        struct BusWaiter *next;
} BusWaiter;

struct Workload {
        Manager *manager;
        Workload *next;
        char *name;
        char *path;              /* D-Bus object path */
        WorkloadSpec *spec;      /* effective spec */
        struct WorkloadNet *net; /* network mode "nat": lease, ports (daemon/network.c); else NULL */
        BackendKind kind;
        uid_t owner_uid;
        char *policy_rule;
        char *policy_reason;
        json_t *image_json; /* workload.json "image": what the monitor needs of a stored image; its
                             * "id" pins the image (daemon/image.c); NULL for rootfs and busybox */
        bool auto_remove;
        uint64_t created_usec;
        unsigned log_streams; /* OUTPUT_LOG_STDOUT|STDERR: in its output log (the client gave no fd) */
        bool stdin_open;      /* interactive, no stdin from the client: a pipe its monitor holds (Attach) */

        WorkloadState state;
        pid_t monitor_pid;
        pid_t leader_pid;
        int exit_code; /* -1 while not exited; 128+N when killed by signal N */
        int exit_signal;
        char *reason;
        char *accel; /* VM: "kvm"/"tcg" */
        uint64_t started_usec, exited_usec;

        int conn_fd; /* to the monitor */
        sd_event_source *conn_src;
        PendingRequest *requests;
        BusWaiter *start_waiters; /* LaunchWorkload/Start replies deferred until running */
        BusWaiter *exit_waiters;  /* Wait/Stop replies deferred until exit */
        sd_bus_track *track;      /* clients keeping an auto_remove workload until they saw the end */
        sd_bus **holders;         /* the same, for direct connections (no names to track) */
        size_t n_holders;
        bool removed;
        bool unannounced; /* created, not yet announced on the bus: no PropertiesChanged */
};

int workload_new(Manager *m, const char *name, Workload **ret);
/* The stored image it uses and pins, or NULL. */
static inline const char *workload_image_id(const Workload *w) {
        return json_string_value(json_object_get(w->image_json, "id"));
}
Workload *workload_free(Workload *w);

/* Persists workload.json (the daemon's record + what the monitor needs). */
int workload_save(Workload *w);
int workload_load(Manager *m, const char *name, Workload **ret);

int workload_start(Workload *w, const int stdio[3]);
int workload_request(Workload *w, json_t *req, const int *fds, size_t n_fds, WorkloadRequestCallback cb,
                     void *userdata);
int workload_remove(Workload *w);
/* Exit status as a shell reports it: the code, or 128+signal. */
int workload_exit_status(Workload *w);
bool workload_is_active(Workload *w);
void workload_maybe_auto_remove(Workload *w);
/* Keeps an auto_remove workload until this client got its Wait reply or left the bus. */
int workload_track_client(Workload *w, sd_bus_message *m);
/* The client that sent m saw the end: it no longer holds the workload. */
void workload_untrack_client(Workload *w, sd_bus_message *m);
/* A direct connection closed: whatever it held is released. */
void workload_release_connection(Workload *w, sd_bus *bus);

/* dbus-api hooks */
void workload_send_changed(Workload *w);
