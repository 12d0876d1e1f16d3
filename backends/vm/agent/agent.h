/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* isod-agent: PID 1 inside the guest. Built static with musl-gcc; libc only. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../agent-proto.h"

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

#define AGENT_NEWROOT "/newroot"
/* A rootfs small enough to come inside the initramfs (isod's image_inline_get()). */
#define AGENT_INLINE_ROOT "/image"
#define AGENT_MAX_EXECS 64
#define AGENT_MAX_MOUNTS 64
#define AGENT_MAX_TMPFS 16
#define AGENT_LATE_MODULES_MSEC 200

typedef struct ProcessConfig {
        char **args;
        char **env;
        char *cwd;
        bool user_set;
        uid_t uid;
        gid_t gid;
        gid_t groups[64];
        size_t n_groups;
        bool terminal;
        unsigned rows, cols;
} ProcessConfig;

typedef struct AgentMount {
        char *disk;   /* virtio-blk serial */
        char *target; /* absolute path in the workload's root */
} AgentMount;

#define AGENT_MAX_DNS 3
/* How long the NIC may take to show up once virtio_net is loaded (it probes synchronously: this
 * is a bound, not a wait anyone should see). */
#define AGENT_NET_WAIT_MSEC 2000

/* The guest's NIC (CONFIG net.*): static IPv4 configuration, no DHCP. Addresses in network byte
 * order. */
typedef struct AgentNet {
        bool set;
        bool have_mac, have_ip;
        uint8_t mac[6];
        uint32_t ip, gateway;
        unsigned prefix, mtu;
        uint32_t dns[AGENT_MAX_DNS];
        size_t n_dns;
        char *domain; /* resolv.conf "search" */
} AgentNet;

/* "tmpfs" = "MODE,SIZE,NOEXEC:/target" (octal mode, bytes or 0, 0 or 1). */
typedef struct AgentTmpfs {
        char *target;
        unsigned mode;
        unsigned long long size;
        bool noexec;
} AgentTmpfs;

typedef struct AgentConfig {
        ProcessConfig proc;
        char *hostname;
        bool readonly_rootfs;
        AgentMount mounts[AGENT_MAX_MOUNTS];
        size_t n_mounts;
        AgentTmpfs tmpfs[AGENT_MAX_TMPFS];
        size_t n_tmpfs;
        AgentNet net;
} AgentConfig;

/* util.c-like helpers in agent.c */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* guest-setup.c */
int setup_early(void);
/* Loads DIR/ORDER's modules in order ("order": all; "order.core": without the block device,
 * erofs and overlay, for a rootfs that came in the initramfs). Returns how many failed. */
int load_modules(const char *dir, const char *order);
/* The rootfs came inside the initramfs, at AGENT_INLINE_ROOT. */
bool rootfs_inline(void);
int find_port(const char *name, char **ret_path, int timeout_ms);
int find_disk(const char *serial, char **ret_path);
int setup_root(const AgentConfig *c);
/* Networking (guest-setup.c): the loopback up; whether the machine has a virtio-net device
 * (virtio device id 1, seen once virtio_mmio is loaded); eth0's address, netmask, MTU, link and
 * default route from c->net; /etc/resolv.conf and /etc/hosts in the workload's root. On failure
 * they return -errno and write what failed into err. */
int setup_loopback(void);
bool net_device_present(void);
int setup_net(const AgentNet *n, char *err, size_t err_size);
int setup_net_files(const AgentConfig *c, char *err, size_t err_size);
int read_stats(uint8_t *buf, size_t size, size_t *ret_size);

/* config parsing (host → guest kv lists) */
int config_parse(const uint8_t *kv, size_t n, AgentConfig *c, bool exec);
void process_config_done(ProcessConfig *p);
void agent_config_done(AgentConfig *c);

/* Spawns a process in the workload's root. stdio fds (or a pty when p->terminal, returned in
 * *ret_master) are dup'ed onto 0/1/2. */
pid_t spawn_process(const ProcessConfig *p, int in_fd, int out_fd, int err_fd, int *ret_master,
                    int err_report_fd);
