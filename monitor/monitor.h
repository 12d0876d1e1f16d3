/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "netconf.h"
#include "spec.h"

/* isod-monitor: one process per workload, between isod and the workload (as conmon or a
 * Firecracker jailer is). It owns the payload (container init or QEMU), holds its exit status,
 * writes monitor.json in the workload's state directory and serves monitor.sock. See
 * docs/architecture.md for the protocol. */

typedef enum MonitorState {
        MONITOR_STARTING,
        MONITOR_RUNNING,
        MONITOR_STOPPING,
        MONITOR_EXITED,
        MONITOR_FAILED,
        _MONITOR_STATE_MAX,
        _MONITOR_STATE_INVALID = -EINVAL,
} MonitorState;

/* Paths the daemon hands down (from its configuration), in workload.json "paths". */
typedef struct MonitorPaths {
        char *image_dir; /* image store: IMAGE_DIR/NAME/rootfs */
        char *vm_dir;    /* guest kernel + initramfs: VM_DIR/vmlinux, VM_DIR/initramfs.cpio */
        char *cache_dir; /* built rootfs images (erofs), seccomp programs */
        char *qemu;      /* qemu-system-x86_64 binary */
        char *accel;     /* "auto", "kvm", "tcg" */
} MonitorPaths;

/* A stored image (workload.json "image", daemon/image.c): its layers' trees, top first. */
typedef struct MonitorImage {
        char *id;
        char **layers;
        size_t n_layers;
        char *key; /* the top layer's ChainID (hex): names the merged tree's VM image */
        uint64_t bytes, entries;
} MonitorImage;

struct ExecRequest {
        uint64_t id;  /* the request id to answer */
        void *client; /* opaque: which connection asked */
        char **args;
        char **env;
        char *cwd;
        bool user_set;
        uid_t uid;
        gid_t gid;
        bool terminal;
        int fds[3]; /* stdin/stdout/stderr (or the pty slave side chosen by the client) */
};

struct Monitor {
        sd_event *event;
        char *name;
        char *dir; /* the workload's state directory */
        int dir_fd;
        WorkloadSpec *spec; /* effective spec (policy applied) */
        BackendKind kind;
        const struct backend_ops *ops;
        void *backend_data;
        MonitorPaths paths;
        MonitorImage *image; /* NULL: spec->rootfs, or a built-in image in paths.image_dir */
        NetConfig *net;      /* network mode "nat": what isod decided (workload.json "net"); else NULL */

        int stdio[3];          /* the client's stdio, handed to the payload (-EBADF if none) */
        unsigned log_streams;  /* OUTPUT_LOG_STDOUT|STDERR: captured into the output log */
        uint64_t log_max_size; /* 0: the default */
        struct OutputLog *output_log;
        bool stdin_open; /* interactive: stdin is a pipe whose write end (stdin_w) we hold */
        int stdin_w;
        struct Attach *attach; /* the attached client, if any */
        int tty_master;        /* terminal workloads: pty master given back to isod */

        MonitorState state;
        pid_t leader_pid; /* host PID of the workload's first process (container init / QEMU) */
        int exit_code;    /* -1 until exited */
        int exit_signal;  /* 0 unless killed by a signal */
        char *reason;     /* "exited", "signal", "oom", "start-failed: …", "qemu-died", "panic" */
        uint64_t started_usec, exited_usec;
        json_t *extra; /* backend facts published in monitor.json ("accel", …) */

        /* A spare monitor's pre-made cgroup leaves with their holder (cgroup-spare.c, v1 only), for the
         * container backend to take (NULL once taken); freed after start otherwise. */
        struct Cgroup *cgroup_spare;

        void *server_src; /* sd_event_source for monitor.sock */
        int server_fd;
        void *clients; /* list of connections */
};

/* Called by backends. */
void monitor_payload_running(Monitor *m, pid_t leader_pid);
void monitor_payload_exited(Monitor *m, int exit_code, int exit_signal, const char *reason);
/* A failure before the payload ran: the workload becomes failed with this message. */
void monitor_payload_failed(Monitor *m, int error, const char *message);
void monitor_exec_finished(Monitor *m, ExecRequest *x, int r, int exit_status, const char *message);
void monitor_set_fact(Monitor *m, const char *key, json_t *value);
/* Sends {"event":"tty","...} with the terminal master fd to connected clients. */
void monitor_publish_tty(Monitor *m, int master_fd);
int monitor_write_state(Monitor *m);
/* For monitor/main.c: serve monitor.sock (and the inherited connection to isod, if any). */
int monitor_listen(Monitor *m, int conn_fd);
void monitor_done(Monitor *m);
/* Ends an attached session (the workload ended, say), replying to its requester with why. */
void monitor_attach_end(Monitor *m, const char *why);

ExecRequest *exec_request_free(ExecRequest *x);
DEFINE_CLEANUP_FUNC(ExecRequest *, exec_request_free);

const char *monitor_state_to_string(MonitorState s);
MonitorState monitor_state_from_string(const char *s);
