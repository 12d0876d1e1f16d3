/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <sys/types.h>

#include "macro.h"
#include "spec.h"

/* The declarative policy (docs/policy.md). Pure: text in, decision out; no logging, no I/O except
 * reading the policy file in policy_load(). */

typedef struct Policy Policy;

/* Who is asking. Filled by the daemon from the bus credentials (never from the message body). */
typedef struct PolicyCaller {
        uid_t uid;
        gid_t gid;
        const gid_t *groups; /* supplementary groups */
        size_t n_groups;
        const char *user_name;    /* resolved by the daemon; NULL if unknown */
        char *const *group_names; /* NULL-terminated names of gid + groups; may be NULL */
        const char *unit;         /* systemd unit the caller runs in, NULL if unknown */
        bool polkit;              /* authorized by polkit for org.isod1.launch (no rule matched it first) */
} PolicyCaller;

typedef struct PolicyDecision {
        char *rule;   /* name of the rule that decided ("default" for the default) */
        char *reason; /* the rule's human reason, may be NULL */
        bool deny;
        Isolation isolation; /* ISOLATION_CONTAINER or ISOLATION_VM when !deny, else _ISOLATION_INVALID */
        WorkloadSpec *spec;  /* effective spec: forced settings applied, clamps applied; NULL when deny */
        char *explanation;   /* multi-line: which rules were tried and why each did (not) match */
} PolicyDecision;

PolicyDecision *policy_decision_free(PolicyDecision *d);
DEFINE_CLEANUP_FUNC(PolicyDecision *, policy_decision_free);

Policy *policy_free(Policy *p);
DEFINE_CLEANUP_FUNC(Policy *, policy_free);

/* Parses policy JSON. On failure: -EBADMSG (not JSON), -EINVAL (invalid), -E2BIG, -ENOMEM, and
 * a malloc'd message in *reterr_message naming the line (when known), the rule and the problem. */
int policy_parse(const char *text, size_t size, Policy **ret, char **reterr_message);
/* Reads and parses a file; messages are prefixed with the path. */
int policy_load(const char *path, Policy **ret, char **reterr_message);
/* The built-in policy used when no file exists. */
int policy_new_default(Policy **ret);
/* Its JSON text: the same policy as the shipped systemd/policy.json (for `isoctl policy show`). */
const char *policy_default_text(void);

/* Decides. Returns 0 with a decision (which may be a deny), or -EACCES/-EINVAL with a message
 * when a request exceeds a cap the rule refuses (the decision names rule and cap). */
int policy_evaluate(const Policy *p, const WorkloadSpec *spec, const PolicyCaller *caller,
                    PolicyDecision **ret, char **reterr_message);

/* May this caller act on (stop, kill, remove, exec into) a workload owned by owner_uid? Root and the
 * owner may; others only when a rule grants "manage_others". */
bool policy_may_manage(const Policy *p, const PolicyCaller *caller, uid_t owner_uid);

/* The explanation for any outcome (allowed, denied, or refused over a cap), for ExplainPolicy and
 * `isoctl policy explain`. Returns 0 or -ENOMEM. */
int policy_explain(const Policy *p, const WorkloadSpec *spec, const PolicyCaller *caller, char **ret);

/* Does any rule match on the caller's systemd unit? (Reading it costs a /proc lookup per call.) */
bool policy_needs_unit(const Policy *p);

/* The policy as JSON (for `isoctl policy show`). */
json_t *policy_to_json(const Policy *p);
const char *policy_source(const Policy *p); /* path it came from, or "built-in" */
