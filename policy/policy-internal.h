/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to policy/: the parsed form of a policy, shared by the parser (policy-parse*.c) and
 * policy-eval.c. */

#include <stdint.h>

#include "policy.h"

#define POLICY_MAX_SIZE (1024U * 1024U)
#define POLICY_MAX_RULES 1024U
#define POLICY_MAX_LIST 256U    /* entries in one any-of array */
#define POLICY_MAX_REASON 1024U /* bytes in a reason */
#define POLICY_MAX_PATTERN 256U /* bytes in a glob, name or path prefix */

/* What a decision allows of the network when it does not say: no host network, host ports from
 * 1024 (the unprivileged ones), listening on 127.0.0.1 only. isod binds published ports as root, so
 * a lower port, another address or the host's network are privileges a rule must grant. */
#define POLICY_DEFAULT_NETWORK_MODES ((1U << NETWORK_NONE) | (1U << NETWORK_NAT))
#define POLICY_DEFAULT_PORT_MIN 1024U

/* The match keys, in the order they are tested (and reported by the explanation): caller keys
 * first, then workload keys. */
typedef enum MatchKey {
        MATCH_UID,
        MATCH_GID,
        MATCH_USER,
        MATCH_GROUP,
        MATCH_ROOT,
        MATCH_UNIT,
        MATCH_POLKIT,
        _MATCH_CALLER_MAX, /* keys before this one are about the caller */
        MATCH_IMAGE = _MATCH_CALLER_MAX,
        MATCH_ROOTFS_PREFIX,
        MATCH_LABELS,
        MATCH_ISOLATION,
        MATCH_TERMINAL,
        MATCH_USERNS,
        MATCH_NETWORK,
        MATCH_NETWORK_NAME,
        MATCH_PORTS,
        MATCH_PORT_BELOW,
        MATCH_PORT_ADDRESS,
        MATCH_HOST_MOUNTS,
        MATCH_MEMORY_OVER,
        MATCH_CPUS_OVER,
        MATCH_PIDS_OVER,
        _MATCH_KEY_MAX,
        _MATCH_KEY_INVALID = -EINVAL,
} MatchKey;

const char *match_key_to_string(MatchKey k);
MatchKey match_key_from_string(const char *s);

typedef struct LabelMatch {
        char *key;
        char **values; /* any of; "*" means "the label is set" */
} LabelMatch;

typedef struct PolicyMatch {
        bool set[_MATCH_KEY_MAX];

        uint32_t *uids;
        size_t n_uids;
        uint32_t *gids;
        size_t n_gids;
        char **users;
        char **groups;
        bool root;
        bool polkit;  /* the caller was authorized by polkit for org.isod1.launch */
        char **units; /* fnmatch() globs */

        char **images;          /* fnmatch() globs */
        char **rootfs_prefixes; /* absolute paths, compared component-wise */
        LabelMatch *labels;
        size_t n_labels;
        unsigned isolations; /* bit mask of 1 << Isolation */
        bool terminal;
        bool userns;
        unsigned networks;    /* bit mask of 1 << NetworkMode */
        char **network_names; /* fnmatch() globs, against spec_network_name() */
        bool ports;
        unsigned port_below;      /* 1..65535: some published host port is below it */
        uint32_t *port_addresses; /* IPv4, network byte order; 0 = "all addresses" */
        size_t n_port_addresses;
        bool host_mounts;
        uint64_t memory_over;
        double cpus_over;
        uint64_t pids_over;
} PolicyMatch;

typedef enum PolicyVerdict {
        VERDICT_VM,
        VERDICT_CONTAINER,
        VERDICT_DENY,
        VERDICT_REQUESTED,
        _VERDICT_MAX,
        _VERDICT_INVALID = -EINVAL,
} PolicyVerdict;

const char *policy_verdict_to_string(PolicyVerdict v);

/* The decision part, shared by rules and the default. */
typedef struct PolicyAction {
        PolicyVerdict verdict;
        Isolation auto_isolation; /* for VERDICT_REQUESTED when the request says "auto" */

        uint64_t cap_memory; /* 0 = no cap */
        double cap_cpus;     /* 0 = no cap */
        uint64_t cap_pids;   /* 0 = no cap */
        bool clamp;

        char *force_seccomp;       /* NULL = not forced */
        int force_readonly_rootfs; /* -1 = not forced, else 0/1 */
        int force_userns;          /* -1 = not forced, else 0/1 */
        NetworkMode force_network; /* _NETWORK_MODE_INVALID = not forced */

        /* What the rule allows of the network (the "network" decision key). A request outside it
         * is refused, never adjusted. */
        unsigned network_modes; /* bit mask of 1 << NetworkMode; default none and nat */
        char **networks;        /* fnmatch() globs of allowed nat networks; NULL = any */
        unsigned max_ports;     /* default SPEC_MAX_PORTS */
        unsigned port_min;      /* lowest host port; default POLICY_DEFAULT_PORT_MIN */
        uint32_t *addresses;    /* allowed listen addresses; 0 allows any; NULL = 127.0.0.1 only */
        size_t n_addresses;

        bool manage_others;
} PolicyAction;

typedef struct PolicyRule {
        char *name;
        char *reason;
        size_t index; /* position in "rules" */
        PolicyMatch match;
        PolicyAction action;
} PolicyRule;

struct Policy {
        char *source; /* path, or "built-in" */
        json_t *json; /* the policy as parsed, for policy_to_json() */
        PolicyRule *rules;
        size_t n_rules;
        char *default_reason;
        PolicyAction default_action;
};

/* Formats a byte count the way an admin would write it: "2G", "512M", "1536K" or bytes. */
void format_size(char *buf, size_t size, uint64_t bytes);
