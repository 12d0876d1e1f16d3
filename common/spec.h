/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* The workload spec: one JSON format for files, D-Bus and isoctl (docs/workload-spec.md).
 * Parsing is strict: unknown keys, wrong types, out-of-range values are errors with a message
 * that names the offending key. */

#define SPEC_MAX_SIZE (64U * 1024U)
#define SPEC_MAX_ARGS 256U
#define SPEC_MAX_ENV 256U
#define SPEC_MAX_STRING 4096U
#define SPEC_MAX_MOUNTS 64U
#define SPEC_MAX_TMPFS 16U
#define SPEC_MAX_LABELS 64U
#define SPEC_MAX_GROUPS 32U
#define SPEC_MAX_MEMORY (UINT64_C(1) << 40) /* 1 TiB */
#define SPEC_MIN_MEMORY (UINT64_C(4) << 20) /* 4 MiB */
#define SPEC_MAX_CPUS 256.0
#define SPEC_MAX_PIDS 4194304U

typedef enum Isolation {
        ISOLATION_AUTO,
        ISOLATION_CONTAINER,
        ISOLATION_VM,
        _ISOLATION_MAX,
        _ISOLATION_INVALID = -EINVAL,
} Isolation;

const char *isolation_to_string(Isolation i);
Isolation isolation_from_string(const char *s);

typedef enum NetworkMode {
        NETWORK_NONE,  /* private network namespace with loopback only (VM: no NIC) */
        NETWORK_NAT,   /* on a daemon-managed bridge (network/), masquerade, port forwards */
        NETWORK_HOST,  /* containers only: the host's network namespace (policy decides who) */
        NETWORK_NETNS, /* containers only: an existing network namespace, by path (a CNI pod's, Podman's) */
        _NETWORK_MODE_MAX,
        _NETWORK_MODE_INVALID = -EINVAL,
} NetworkMode;

const char *network_mode_to_string(NetworkMode m);
NetworkMode network_mode_from_string(const char *s);

#define SPEC_MAX_PORTS 64U
#define SPEC_DEFAULT_NETWORK "isod0"
#define NETWORK_NAME_MAX 15U /* the network's name is its bridge's name: IFNAMSIZ - 1 */

typedef enum PortProto {
        PORT_TCP,
        PORT_UDP,
        _PORT_PROTO_MAX,
        _PORT_PROTO_INVALID = -EINVAL,
} PortProto;

const char *port_proto_to_string(PortProto p);
PortProto port_proto_from_string(const char *s);

/* A published port: host ADDRESS:HOST (address 0 = every host address) to the workload's GUEST. */
typedef struct SpecPort {
        uint16_t host;
        uint16_t guest;
        PortProto proto;
        uint32_t address; /* IPv4, network byte order; 0 = all */
} SpecPort;

typedef struct SpecMount {
        char *source; /* absolute host path */
        char *target; /* absolute path inside the workload */
        bool readonly;
} SpecMount;

/* "tmpfs": a private tmpfs inside the workload (nosuid, nodev; noexec when asked). */
typedef struct SpecTmpfs {
        char *target;  /* absolute path inside the workload */
        uint64_t size; /* bytes, 0 = the kernel's default (half the memory the workload sees) */
        unsigned mode; /* permission bits of its root, default 01777 */
        bool noexec;
} SpecTmpfs;

/* process.rlimits, OCI's format: {"type": "RLIMIT_NOFILE", "soft": N, "hard": N}. */
typedef struct SpecRlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft, hard;
} SpecRlimit;
#define SPEC_MAX_RLIMITS 16U
int rlimit_from_name(const char *s);
const char *rlimit_to_name(int r);

typedef struct SpecLabel {
        char *key;
        char *value;
} SpecLabel;

typedef struct WorkloadSpec {
        char *name; /* may be NULL before the manager assigns one */
        Isolation isolation;
        char *image;  /* a stored image's name or ID, or a built-in image; NULL if rootfs is set */
        char *rootfs; /* absolute directory; NULL if image is set */

        char **args;       /* NULL-terminated; at least one once the image's config is applied */
        char **entrypoint; /* process.entrypoint: replaces the image's Entrypoint (and drops its Cmd) */
        bool entrypoint_set;
        char **env; /* NULL-terminated, "K=V" */
        char *cwd;  /* absolute, default "/" */
        bool user_set;
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* supplementary */
        size_t n_groups;
        bool terminal;
        SpecRlimit *rlimits; /* set in the payload's process (containers) */
        size_t n_rlimits;
        bool interactive; /* detached: stdin stays open (a pipe the monitor holds) for Attach */

        uint64_t memory;     /* bytes, 0 = unset */
        double cpus;         /* 0 = unset */
        uint64_t pids;       /* 0 = unset */
        uint64_t io_weight;  /* 0 = unset, else 1..10000 */
        uint64_t cpu_weight; /* 0 = unset, else 1..10000 (cgroup v2 cpu.weight; the default is 100) */

        NetworkMode network;
        char *network_name; /* nat: which network (NULL = SPEC_DEFAULT_NETWORK) */
        SpecPort *ports;
        size_t n_ports;
        uint32_t ip;    /* fixed address (network byte order), 0 = allocated */
        uint8_t mac[6]; /* fixed MAC, all zero = derived from the address */
        bool mac_set;
        SpecMount *mounts;
        size_t n_mounts;
        SpecTmpfs *tmpfs;
        size_t n_tmpfs;
        char *hostname; /* default: the workload's name */
        char *pod; /* a running container workload whose ipc, uts and network namespaces this one joins */
        char *netns_path; /* network mode netns: the namespace's path (/run/netns/NAME, /proc/PID/ns/net) */
        SpecLabel *labels;
        size_t n_labels;

        bool userns;
        bool readonly_rootfs;
        char *seccomp; /* NULL/"default", "unconfined", or an absolute path to a JSON profile */
        /* "capabilities": the payload's capability set (bit N = capability N), narrower than the
         * backend's default; unset = the default. */
        uint64_t caps;
        bool caps_set;

        /* Set by isod when it resolves a stored image (never parsed or serialized): its ID
         * ("sha256:…"), which policy "image" globs also match. */
        char *image_id;
} WorkloadSpec;

WorkloadSpec *workload_spec_free(WorkloadSpec *s);
DEFINE_CLEANUP_FUNC(WorkloadSpec *, workload_spec_free);

/* Parses a spec from JSON text. On failure returns -EINVAL/-EBADMSG/-E2BIG/-ENOMEM and, when
 * reterr_message is non-NULL, a malloc'd human message naming the problem. */
int workload_spec_parse(const char *text, size_t size, WorkloadSpec **ret, char **reterr_message);
int workload_spec_from_json(json_t *root, WorkloadSpec **ret, char **reterr_message);
/* Serializes to canonical JSON (the same format parse accepts). */
json_t *workload_spec_to_json(const WorkloadSpec *s);
char *workload_spec_to_string(const WorkloadSpec *s);
WorkloadSpec *workload_spec_copy(const WorkloadSpec *s);
const char *workload_spec_label(const WorkloadSpec *s, const char *key);

/* A fresh name from the program's base name and 32 random bits: "sh-1a2b3c4d". */
int workload_name_generate(const char *argv0, char **ret);

/* "1000", "1000:100" → uid/gid. Names are not resolved (they would be the host's). */
int parse_user(const char *s, uid_t *ret_uid, gid_t *ret_gid);
bool path_is_safe_absolute(const char *p);
/* An image reference: NAME[:TAG] with NAME components [A-Za-z0-9][A-Za-z0-9._-]* separated by '/'
 * (at most 255 bytes, TAG [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}), or an ID "sha256:<64 hex>". */
bool image_ref_is_valid(const char *s);
/* "CAP_CHOWN" ↔ 0 …; -EINVAL / NULL for what this table does not know (CAP_CHOWN…CAP_CHECKPOINT_RESTORE). */
int capability_from_name(const char *s);
const char *capability_to_name(int c);
#define SPEC_CAP_LAST 40
#define IMAGE_REF_MAX 255U
/* [A-Za-z0-9][A-Za-z0-9_-]{0,14}: usable as a bridge's name. */
bool network_name_is_valid(const char *s);
int parse_ipv4(const char *s, uint32_t *ret);
int parse_mac(const char *s, uint8_t ret[6]);
const char *spec_network_name(const WorkloadSpec *s);
