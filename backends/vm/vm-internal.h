/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of the VM backend, shared by vm.c, qemu.c, jail.c, image.c, relay.c, agent-host.c.
 * Everything here runs inside isod-monitor (one process per VM). */

#include <jansson.h>
#include <stdint.h>
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
