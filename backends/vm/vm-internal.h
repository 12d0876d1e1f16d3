/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of the VM backend, shared by vm.c, vm-boot.c, vm-session.c, qemu.c, jail.c, image.c,
 * relay.c, agent-host.c.
 * Everything here runs inside isod-monitor (one process per VM). */

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "agent-proto.h"
#include "container/cgroup.h"
#include "monitor.h"

/* ---------------------------------------------------------------- relay.c */
/* A bounded byte pump from one fd to another on the monitor's event loop. Handles fds epoll
 * cannot watch (regular files) by reading/writing them directly. */
typedef struct Relay Relay;
typedef void (*relay_done_t)(Relay *r, void *userdata);

int relay_new(sd_event *e, int in_fd, int out_fd, uint64_t max_total, relay_done_t done, void *userdata,
              Relay **ret);
Relay *relay_free(Relay *r);
DEFINE_CLEANUP_FUNC(Relay *, relay_free);

/* A non-blocking writer with a buffer (exec output to a client); the caller bounds the total by
 * not reading more input while outq_pending() is high. drained() runs when the buffer empties. */
typedef struct OutQueue OutQueue;
typedef void (*outq_drained_t)(OutQueue *q, void *userdata);
int outq_new(sd_event *e, int fd, outq_drained_t drained, void *userdata, OutQueue **ret);
int outq_push(OutQueue *q, const void *p, size_t n);
size_t outq_pending(const OutQueue *q);
OutQueue *outq_free(OutQueue *q);
DEFINE_CLEANUP_FUNC(OutQueue *, outq_free);

/* ---------------------------------------------------------------- qemu.c */
typedef enum VmAccel {
        VM_ACCEL_TCG,
        VM_ACCEL_KVM,
        _VM_ACCEL_MAX,
        _VM_ACCEL_INVALID = -EINVAL,
} VmAccel;

/* Chooses KVM when the CPU has vmx/svm and /dev/kvm works, else TCG; "kvm"/"tcg" force one.
 * *ret_reason explains the choice (malloc'd). */
int vm_accel_detect(const char *want, VmAccel *ret, char **ret_reason);
const char *vm_accel_to_string(VmAccel a);

/* File descriptors QEMU inherits, by index (they become fds 3, 4, …): the socket pairs the
 * monitor makes, then, with a NIC (network mode "nat"), the tap (network/tap.c). */
enum {
        VM_FD_QMP,
        VM_FD_CTL,
        VM_FD_CONSOLE,
        _VM_FD_MAX,
        VM_FD_TAP = _VM_FD_MAX,
        _VM_JAIL_FD_MAX,
};

typedef struct QemuConfig {
        VmAccel accel;
        unsigned cpus;
        uint64_t memory_mib;
        const char *kernel; /* paths as QEMU sees them (inside the jail) */
        const char *initrd;
        const char *rootfs;              /* NULL: the rootfs is inside the initramfs */
        const char *const *mount_images; /* extra read-only images, NULL-terminated */
        const char *extra_append;        /* appended to the kernel command line, may be NULL */
        bool nic;                        /* a virtio-net NIC on the tap inherited as VM_FD_TAP */
        const char *mac;                 /* its MAC, "02:00:0a:…" */
} QemuConfig;

int qemu_build_argv(const QemuConfig *c, const char *qemu_path, char ***ret);

typedef struct Qmp Qmp;
typedef void (*qmp_event_t)(Qmp *q, const char *event, json_t *data, void *userdata);
int qmp_new(sd_event *e, int fd, qmp_event_t on_event, void *userdata, Qmp **ret);
Qmp *qmp_free(Qmp *q);
/* Queues a command (fire and forget; replies are only logged). */
int qmp_execute(Qmp *q, const char *command);
/* Reads whatever is pending (events sent right before QEMU exited). */
void qmp_drain(Qmp *q);
DEFINE_CLEANUP_FUNC(Qmp *, qmp_free);

/* ---------------------------------------------------------------- jail.c */
typedef struct JailBind {
        const char *source; /* host path */
        const char *target; /* path inside the jail */
} JailBind;

typedef struct JailConfig {
        const char *root_dir;  /* an empty directory to build the jail root in (tmpfs mounted on it) */
        const JailBind *binds; /* read-only file binds */
        size_t n_binds;
        bool kvm; /* give the jailed uid a private /dev/kvm node */
        uid_t uid;
        gid_t gid;
        const int *fds; /* become 3, 4, … in QEMU (at most _VM_JAIL_FD_MAX) */
        size_t n_fds;
        Cgroup *cgroup; /* QEMU is moved into it before anything else, may be NULL */
        int stderr_fd;  /* QEMU's stderr (a pipe to the monitor), -1: /dev/null */
} JailConfig;

/* Forks QEMU inside the jail; returns its pid (a child of the caller), or -errno with the
 * failing step in *reterr_message. */
int jail_spawn(const JailConfig *c, char **argv, pid_t *ret_pid, char **reterr_message);
/* The unprivileged uid for the VM's QEMU: a per-monitor uid in a reserved range. */
uid_t jail_uid_for(pid_t monitor_pid);

/* ---------------------------------------------------------------- image.c */
typedef struct ImageBuild ImageBuild;
typedef void (*image_done_t)(int r, const char *path, void *userdata);

/* The cache key of a tree (paths, types, modes, owners, sizes, mtimes, link targets), with its
 * file bytes and entries. */
typedef struct ImageKey {
        char key[33];
        uint64_t bytes, entries;
} ImageKey;
int image_tree_key(const char *dir, ImageKey *ret);
/* Returns 1 with the cached image path, or 0 with the path it will have after starting an
 * asynchronous mkfs.erofs that calls done(). key: dir's, if the caller has it (NULL: computed
 * here). progress_fd (may be -1) gets a line for large trees. */
int image_get(sd_event *e, const char *cache_dir, const char *dir, const ImageKey *key, int progress_fd,
              image_done_t done, void *userdata, char **ret_path, ImageBuild **ret_build);
ImageBuild *image_build_free(ImageBuild *b);
/* A small tree (≤ IMAGE_INLINE_MAX_BYTES of file data, ≤ IMAGE_INLINE_MAX_ENTRIES entries) goes to
 * the guest inside its initramfs instead of as an erofs disk: base_initrd + a newc archive of the
 * tree under image/, cached in CACHE/vm-images by the tree's key and the base's identity. The
 * agent then needs no block device, erofs or overlay module. Returns 1 and the path, 0 if the tree
 * is too large for that, or -errno. */
#define IMAGE_INLINE_MAX_BYTES (UINT64_C(16) << 20)
#define IMAGE_INLINE_MAX_ENTRIES UINT64_C(16384)
int image_inline_get(const char *cache_dir, const char *dir, const ImageKey *key, const char *base_initrd,
                     char **ret_path);

/* ---------------------------------------------------------------- agent-host.c */
/* Host end of the control port: an output queue and the frame reader. */
typedef struct AgentConn AgentConn;
typedef void (*agent_msg_t)(AgentConn *a, const AgentMsg *msg, void *userdata);
typedef void (*agent_error_t)(AgentConn *a, int error, const char *message, void *userdata);

int agent_conn_new(sd_event *e, int fd, agent_msg_t on_msg, agent_error_t on_error, void *userdata,
                   AgentConn **ret);
AgentConn *agent_conn_free(AgentConn *a);
int agent_conn_send(AgentConn *a, uint16_t type, const void *p1, size_t n1, const void *p2, size_t n2);
int agent_conn_send_ids(AgentConn *a, uint16_t type, uint32_t a0, uint32_t a1, uint32_t a2, size_t n);
/* Whether the output queue has room for another data frame (backpressure for exec stdin). */
bool agent_conn_can_send(AgentConn *a);
/* Processes input synchronously for up to timeout_usec (used by stats). */
int agent_conn_pump(AgentConn *a, uint64_t timeout_usec);
/* Encodes a spec (or an exec request) as a kv payload. */
struct winsize;
/* net: the guest's eth0 (network mode "nat"), NULL for a VM without a NIC. */
int agent_encode_config(const WorkloadSpec *s, const char *const *mount_disks, const struct winsize *ws,
                        const NetConfig *net, uint8_t **ret, size_t *ret_size);
int agent_encode_exec(const ExecRequest *x, const WorkloadSpec *spec, const struct winsize *ws,
                      uint8_t **ret, size_t *ret_size);
DEFINE_CLEANUP_FUNC(AgentConn *, agent_conn_free);

/* ---------------------------------------------------------------- vm.c, vm-boot.c, vm-session.c */
/* One VM, as the monitor holds it: vm.c is its state machine (QEMU's exit, QMP events, agent
 * messages, stop, kill, stats, teardown), vm-boot.c builds its images and launches the jailed
 * QEMU, vm-session.c carries the stdio sessions (the workload's and execs') and terminals. */

#ifndef ISOD_QEMU_PATH
#define ISOD_QEMU_PATH "/usr/bin/qemu-system-x86_64"
#endif

#define VM_MAX_EXECS 64U

/* A process whose stdio travels as frames on the control port: the workload (id 0, Vm.io, fds
 * from the monitor's stdio) or an exec session (id > 0, fds from its ExecRequest). */
typedef struct VmExec {
        uint32_t id;
        sd_event_source *retry_src; /* backpressure: re-enable in_src later */
        ExecRequest *x;             /* owned by the monitor until monitor_exec_finished() */
        int in_fd;                  /* our reopened copy of the client's stdin, or -1 */
        sd_event_source *in_src;
        uint64_t in_flight; /* STDIN sent, not yet acknowledged: at most AGENT_STDIN_WINDOW */
        /* STDOUT/STDERR data received, and how much of it OUTPUT_ACK gave back to the agent once
         * it reached the client: the difference is at most AGENT_OUTPUT_WINDOW. */
        uint64_t out_rx, out_acked;
        OutQueue *out[2]; /* stdout, stderr to the client, non-blocking */
        bool exited;      /* EXIT came; finished once out[] drained */
        int status;
        struct winsize ws; /* terminal: last size sent */
        char *error;
        struct Vm *vm;
} VmExec;

typedef struct Vm {
        Monitor *m;
        VmAccel accel;
        char *rootfs_dir;
        char *image;         /* cached erofs of the rootfs, or NULL with inline_initrd */
        char *inline_initrd; /* initramfs + the rootfs tree (small images, image_inline_get()) */
        char **mount_images; /* one per spec mount */
        size_t n_builds;     /* image builds in flight */
        ImageBuild **builds;
        char *jail_dir;

        pid_t qemu_pid;
        sd_event_source *child_src;
        bool qemu_exited;
        int qemu_status; /* si_code/si_status folded: exit code or 128+signal */
        bool qemu_signaled;
        char *shutdown_reason; /* QMP SHUTDOWN "reason" */
        bool guest_panicked;

        Qmp *qmp;
        AgentConn *agent;
        Relay *relay_console, *relay_qemu_log;
        VmExec io;        /* the workload's stdio (id 0), from vm_launch() on */
        int console_sock; /* our end of the console port's socket */
        int console_fd, qemu_log_fd, qemu_err_pipe;

        bool agent_ready, workload_started, workload_exited, reported, stopping;
        bool agent_net; /* READY said the agent configures a NIC (net=1) */
        uint32_t exit_code, exit_signal;
        char *agent_error;    /* ERROR for id 0 */
        char *protocol_error; /* the agent broke the protocol */
        json_t *guest_stats;
        uint64_t guest_stats_usec;

        sd_event_source *timer; /* boot timeout, stop grace, power-off grace */
        VmExec execs[VM_MAX_EXECS];
        uint32_t next_exec_id;

        Cgroup *cgroup;    /* QEMU's */
        bool tty, ctty;    /* -t; the slave is our controlling terminal (SIGWINCH) */
        struct winsize ws; /* last size sent for the workload's terminal */
        sd_event_source *winch_src, *winsize_timer;

        /* Boot timing (µs since vm_start, host monotonic; guest: uptime), for bench/. */
        uint64_t t0, t_spawn, t_ready, t_started, t_exit, t_qemu_exit;
        uint64_t g_agent, g_modules, g_ports;
} Vm;

static inline Vm *vm_get(Monitor *m) {
        return m->backend_data;
}

/* vm.c */
uint64_t vm_since(Vm *vm);
int vm_arm_timer(Vm *vm, uint64_t usec, sd_event_time_handler_t cb);
void vm_kill_qemu(Vm *vm);
void vm_maybe_report(Vm *vm);
int on_qemu_exit(sd_event_source *s, const siginfo_t *si, void *userdata);
void on_qmp_event(Qmp *q, const char *event, json_t *data, void *userdata);
int on_boot_timeout(sd_event_source *s, uint64_t usec, void *userdata);
void on_agent_msg(AgentConn *a, const AgentMsg *msg, void *userdata);
void on_agent_error(AgentConn *a, int error, const char *message, void *userdata);

/* vm-boot.c */
int vm_start(Monitor *m);

/* vm-session.c */
void exec_finish(Vm *vm, VmExec *e, int r, int status, const char *msg);
void vm_setup_tty(Vm *vm);
void vm_sync_winsize(Vm *vm);
void vm_arm_winsize_poll(Vm *vm);
void session_ack_output(Vm *vm, VmExec *e);
void exec_maybe_finish(Vm *vm, VmExec *e);
void on_exec_out_drained(OutQueue *q, void *userdata);
VmExec *exec_find(Vm *vm, uint32_t id);
VmExec *session_find(Vm *vm, uint32_t id);
void session_stdin_start(Vm *vm, VmExec *e, int client_fd);
int vm_exec(Monitor *m, ExecRequest *x);
