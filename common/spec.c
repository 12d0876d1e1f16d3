/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <sys/resource.h>
#include <math.h>
#include <sys/random.h>
#include <stdarg.h>

#include "spec.h"
#include "util.h"

/* The workload spec (spec.h, docs/workload-spec.md): the names of its enums, the validators its
 * fields share, the parser from JSON (every key checked), freeing, labels and generated names.
 * Writing a spec back as JSON is spec-serialize.c. */

static const char *const isolation_table[_ISOLATION_MAX] = {
        [ISOLATION_AUTO] = "auto",
        [ISOLATION_CONTAINER] = "container",
        [ISOLATION_VM] = "vm",
};

const char *isolation_to_string(Isolation i) {
        return i >= 0 && i < _ISOLATION_MAX ? isolation_table[i] : NULL;
}

Isolation isolation_from_string(const char *s) {
        for (int i = 0; s && i < _ISOLATION_MAX; i++)
                if (streq(s, isolation_table[i]))
                        return (Isolation) i;
        return _ISOLATION_INVALID;
}

static const char *const network_mode_table[_NETWORK_MODE_MAX] = {
        [NETWORK_NONE] = "none",
        [NETWORK_NAT] = "nat",
        [NETWORK_HOST] = "host",
        [NETWORK_NETNS] = "netns",
};

static const char *const port_proto_table[_PORT_PROTO_MAX] = {
        [PORT_TCP] = "tcp",
        [PORT_UDP] = "udp",
};

const char *port_proto_to_string(PortProto p) {
        return p >= 0 && p < _PORT_PROTO_MAX ? port_proto_table[p] : NULL;
}

PortProto port_proto_from_string(const char *s) {
        for (int i = 0; s && i < _PORT_PROTO_MAX; i++)
                if (streq(s, port_proto_table[i]))
                        return (PortProto) i;
        return _PORT_PROTO_INVALID;
}

bool network_name_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > NETWORK_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

                if (!alnum && (i == 0 || (c != '_' && c != '-')))
                        return false;
        }
        return true;
}

/* Dotted quad only, each part 0..255 without leading zeros (no octal, no "1.2.3"). */
int parse_ipv4(const char *s, uint32_t *ret) {
        uint8_t b[4];
        const char *p = s;

        if (!s)
                return -EINVAL;
        for (int i = 0; i < 4; i++) {
                unsigned v = 0;
                int digits = 0;

                while (*p >= '0' && *p <= '9' && digits < 4) {
                        v = v * 10 + (unsigned) (*p - '0');
                        p++;
                        digits++;
                }
                if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && p[-digits] == '0'))
                        return -EINVAL;
                b[i] = (uint8_t) v;
                if (i < 3 && *p++ != '.')
                        return -EINVAL;
        }
        if (*p)
                return -EINVAL;
        memcpy(ret, b, 4);
        return 0;
}

int parse_mac(const char *s, uint8_t ret[6]) {
        unsigned v[6];
        char tail;

        if (!s || strlen(s) != 17 ||
            sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++) {
                if (s[i * 3 + 2] != ':' && i < 5)
                        return -EINVAL;
                ret[i] = (uint8_t) v[i];
        }
        return 0;
}

const char *spec_network_name(const WorkloadSpec *s) {
        return s->network == NETWORK_NAT ? (s->network_name ?: SPEC_DEFAULT_NETWORK) : NULL;
}

const char *network_mode_to_string(NetworkMode m) {
        return m >= 0 && m < _NETWORK_MODE_MAX ? network_mode_table[m] : NULL;
}

NetworkMode network_mode_from_string(const char *s) {
        for (int i = 0; s && i < _NETWORK_MODE_MAX; i++)
                if (streq(s, network_mode_table[i]))
                        return (NetworkMode) i;
        return _NETWORK_MODE_INVALID;
}

WorkloadSpec *workload_spec_free(WorkloadSpec *s) {
        if (!s)
                return NULL;
        free(s->name);
        free(s->image);
        free(s->rootfs);
        strv_free(s->args);
        strv_free(s->entrypoint);
        free(s->image_id);
        free(s->rlimits);
        strv_free(s->env);
        free(s->cwd);
        free(s->groups);
        for (size_t i = 0; i < s->n_mounts; i++) {
                free(s->mounts[i].source);
                free(s->mounts[i].target);
        }
        free(s->mounts);
        for (size_t i = 0; i < s->n_tmpfs; i++)
                free(s->tmpfs[i].target);
        free(s->tmpfs);
        free(s->hostname);
        free(s->pod);
        free(s->netns_path);
        for (size_t i = 0; i < s->n_labels; i++) {
                free(s->labels[i].key);
                free(s->labels[i].value);
        }
        free(s->labels);
        free(s->seccomp);
        free(s->network_name);
        free(s->ports);
        free(s);
        return NULL;
}

/* Every parse error is -EINVAL with a message naming the key. */
#define fail(reterr, ...) set_error_message(reterr, -EINVAL, __VA_ARGS__)

bool path_is_safe_absolute(const char *p) {
        const char *s;

        if (!p || p[0] != '/' || strlen(p) >= SPEC_MAX_STRING)
                return false;
        /* No "..", no empty or "." components beyond the leading slash, no control chars. */
        for (s = p; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        for (s = p; s && *s;) {
                const char *e;
                size_t n;

                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                e = strchr(s, '/');
                n = e ? (size_t) (e - s) : strlen(s);
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                s = e;
        }
        return true;
}

static const char *const cap_names[SPEC_CAP_LAST + 1] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

static const char *const rlimit_names[RLIM_NLIMITS] = {
        [RLIMIT_CPU] = "RLIMIT_CPU",           [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
        [RLIMIT_DATA] = "RLIMIT_DATA",         [RLIMIT_STACK] = "RLIMIT_STACK",
        [RLIMIT_CORE] = "RLIMIT_CORE",         [RLIMIT_RSS] = "RLIMIT_RSS",
        [RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
        [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
        [RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
        [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
        [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

int rlimit_from_name(const char *s) {
        for (int r = 0; s && r < RLIM_NLIMITS; r++)
                if (rlimit_names[r] && streq(s, rlimit_names[r]))
                        return r;
        return -EINVAL;
}

const char *rlimit_to_name(int r) {
        return r >= 0 && r < RLIM_NLIMITS ? rlimit_names[r] : NULL;
}

int capability_from_name(const char *s) {
        for (int c = 0; c <= SPEC_CAP_LAST; c++)
                if (streq(s, cap_names[c]))
                        return c;
        return -EINVAL;
}

const char *capability_to_name(int c) {
        return c >= 0 && c <= SPEC_CAP_LAST ? cap_names[c] : NULL;
}

static bool ref_component_char(char c) {
        return isalnum((unsigned char) c) || c == '.' || c == '_' || c == '-';
}

bool image_ref_is_valid(const char *s) {
        const char *tag, *slash;
        size_t n;

        if (!s || (n = strlen(s)) == 0 || n > IMAGE_REF_MAX)
                return false;
        if (startswith(s, "sha256:"))
                return digest_is_valid(s);
        slash = strrchr(s, '/');
        tag = strrchr(slash ?: s, ':');
        if (tag) {
                size_t t = strlen(tag + 1);

                if (t == 0 || t > 128 || !(isalnum((unsigned char) tag[1]) || tag[1] == '_'))
                        return false;
                for (const char *p = tag + 1; *p; p++)
                        if (!isalnum((unsigned char) *p) && *p != '_' && *p != '.' && *p != '-')
                                return false;
                n = (size_t) (tag - s);
        }
        /* Components: never empty, never starting with '.', so never "." or "..". */
        for (size_t i = 0; i < n; i++) {
                if (i == 0 || s[i - 1] == '/') {
                        if (!isalnum((unsigned char) s[i]))
                                return false;
                } else if (s[i] != '/' && !ref_component_char(s[i]))
                        return false;
        }
        return s[n - 1] != '/';
}

int parse_user(const char *s, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_free_ char *u = NULL;
        uint32_t uid, gid;
        char *colon;

        if (!s)
                return -EINVAL;
        u = strdup(s);
        if (!u)
                return -ENOMEM;
        colon = strchr(u, ':');
        if (colon)
                *colon++ = 0;
        if (safe_atou32(u, &uid) < 0 || uid == UINT32_MAX || uid == 65535U)
                return -EINVAL;
        gid = uid;
        if (colon && (safe_atou32(colon, &gid) < 0 || gid == UINT32_MAX || gid == 65535U))
                return -EINVAL;
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}

static int check_keys(json_t *obj, const char *where, const char *const *allowed, char **reterr) {
        const char *key;
        json_t *v;

        json_object_foreach (obj, key, v) {
                bool ok = false;
                for (const char *const *a = allowed; *a; a++)
                        if (streq(*a, key)) {
                                ok = true;
                                break;
                        }
                if (!ok)
                        return fail(reterr, "Unknown key '%s%s%s'.", where, *where ? "." : "", key);
        }
        return 0;
}

static int get_string(json_t *obj, const char *key, const char *where, char **ret, char **reterr) {
        json_t *v = json_object_get(obj, key);
        char *s;

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return fail(reterr, "'%s%s' must be a string.", where, key);
        if (json_string_length(v) >= SPEC_MAX_STRING)
                return fail(reterr, "'%s%s' is too long (max %u bytes).", where, key, SPEC_MAX_STRING - 1);
        if (strlen(json_string_value(v)) != json_string_length(v))
                return fail(reterr, "'%s%s' contains a NUL byte.", where, key);
        s = strdup(json_string_value(v));
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 1;
}

static int get_bool(json_t *obj, const char *key, const char *where, bool *ret, char **reterr) {
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return fail(reterr, "'%s%s' must be true or false.", where, key);
        *ret = json_is_true(v);
        return 1;
}

static int get_strv(json_t *obj, const char *key, const char *where, size_t max, char ***ret,
                    char **reterr) {
        _cleanup_strv_free_ char **l = NULL;
        json_t *v = json_object_get(obj, key), *e;
        size_t i;

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return fail(reterr, "'%s%s' must be an array of strings.", where, key);
        if (json_array_size(v) > max)
                return fail(reterr, "'%s%s' has too many entries (max %zu).", where, key, max);
        l = calloc(json_array_size(v) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        json_array_foreach (v, i, e) {
                if (!json_is_string(e))
                        return fail(reterr, "'%s%s[%zu]' must be a string.", where, key, i);
                if (json_string_length(e) >= SPEC_MAX_STRING)
                        return fail(reterr, "'%s%s[%zu]' is too long (max %u bytes).", where, key, i,
                                    SPEC_MAX_STRING - 1);
                if (strlen(json_string_value(e)) != json_string_length(e))
                        return fail(reterr, "'%s%s[%zu]' contains a NUL byte.", where, key, i);
                l[i] = strdup(json_string_value(e));
                if (!l[i])
                        return -ENOMEM;
        }
        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 1;
}

static int parse_process(WorkloadSpec *s, json_t *p, char **reterr) {
        static const char *const keys[] = { "args",   "entrypoint", "env",         "cwd",     "user",
                                            "groups", "terminal",   "interactive", "rlimits", NULL };
        _cleanup_free_ char *user = NULL;
        json_t *g;
        int r;

        if (!json_is_object(p))
                return fail(reterr, "'process' must be an object.");
        r = check_keys(p, "process", keys, reterr);
        if (r < 0)
                return r;
        r = get_strv(p, "args", "process.", SPEC_MAX_ARGS, &s->args, reterr);
        if (r < 0)
                return r;
        r = get_strv(p, "entrypoint", "process.", SPEC_MAX_ARGS, &s->entrypoint, reterr);
        if (r < 0)
                return r;
        s->entrypoint_set = r > 0;
        r = get_strv(p, "env", "process.", SPEC_MAX_ENV, &s->env, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; s->env && s->env[i]; i++) {
                const char *eq = strchr(s->env[i], '=');
                if (!eq || eq == s->env[i])
                        return fail(reterr, "'process.env[%zu]' must have the form NAME=VALUE.", i);
        }
        r = get_string(p, "cwd", "process.", &s->cwd, reterr);
        if (r < 0)
                return r;
        if (s->cwd && !path_is_safe_absolute(s->cwd))
                return fail(reterr, "'process.cwd' must be an absolute path without '..' components.");
        r = get_string(p, "user", "process.", &user, reterr);
        if (r < 0)
                return r;
        if (user) {
                if (parse_user(user, &s->uid, &s->gid) < 0)
                        return fail(reterr, "'process.user' must be UID or UID:GID (numbers), got '%s'.",
                                    user);
                s->user_set = true;
        }
        g = json_object_get(p, "groups");
        if (g && !json_is_null(g)) {
                size_t i;
                json_t *e;

                if (!json_is_array(g) || json_array_size(g) > SPEC_MAX_GROUPS)
                        return fail(reterr, "'process.groups' must be an array of at most %u GIDs.",
                                    SPEC_MAX_GROUPS);
                s->groups = calloc(json_array_size(g) + 1, sizeof(gid_t));
                if (!s->groups)
                        return -ENOMEM;
                json_array_foreach (g, i, e) {
                        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                            json_integer_value(e) >= 65535)
                                return fail(reterr,
                                            "'process.groups[%zu]' must be a GID between 0 and 65534.", i);
                        s->groups[i] = (gid_t) json_integer_value(e);
                }
                s->n_groups = json_array_size(g);
        }
        g = json_object_get(p, "rlimits");
        if (g && !json_is_null(g)) {
                size_t i;
                json_t *e;

                if (!json_is_array(g) || json_array_size(g) > SPEC_MAX_RLIMITS)
                        return fail(reterr, "'process.rlimits' must be an array of at most %u limits.",
                                    SPEC_MAX_RLIMITS);
                s->rlimits = calloc(json_array_size(g) + 1, sizeof(SpecRlimit));
                if (!s->rlimits)
                        return -ENOMEM;
                json_array_foreach (g, i, e) {
                        static const char *const rkeys[] = { "type", "soft", "hard", NULL };
                        json_t *soft = json_object_get(e, "soft"), *hard = json_object_get(e, "hard");
                        int res = rlimit_from_name(json_string_value(json_object_get(e, "type")));
                        char where[48];

                        (void) snprintf(where, sizeof where, "process.rlimits[%zu]", i);
                        if (!json_is_object(e))
                                return fail(reterr, "'%s' must be an object.", where);
                        r = check_keys(e, where, rkeys, reterr);
                        if (r < 0)
                                return r;
                        if (res < 0)
                                return fail(reterr, "'%s.type' must be an RLIMIT_… name.", where);
                        if (!json_is_integer(soft) || !json_is_integer(hard) ||
                            json_integer_value(soft) < 0 ||
                            json_integer_value(hard) < json_integer_value(soft))
                                return fail(reterr, "'%s' needs soft ≤ hard, both non-negative integers.",
                                            where);
                        for (size_t k = 0; k < s->n_rlimits; k++)
                                if (s->rlimits[k].resource == res)
                                        return fail(reterr, "'%s': %s is set twice.", where,
                                                    rlimit_to_name(res));
                        s->rlimits[s->n_rlimits++] = (SpecRlimit){ res, (uint64_t) json_integer_value(soft),
                                                                   (uint64_t) json_integer_value(hard) };
                }
        }
        r = get_bool(p, "interactive", "process.", &s->interactive, reterr);
        if (r < 0)
                return r;
        return get_bool(p, "terminal", "process.", &s->terminal, reterr);
}

/* resources.KEY: a cgroup weight, 1..10000 (v2's scale); unset or null leaves *ret as it is. */
static int get_weight(json_t *res, const char *key, uint64_t *ret, char **reterr) {
        json_t *v = json_object_get(res, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10000)
                return fail(reterr, "'resources.%s' must be an integer between 1 and 10000.", key);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static int parse_resources(WorkloadSpec *s, json_t *res, char **reterr) {
        static const char *const keys[] = { "memory", "cpus", "pids", "io_weight", "cpu_weight", NULL };
        json_t *v;
        int r;

        if (!json_is_object(res))
                return fail(reterr, "'resources' must be an object.");
        r = check_keys(res, "resources", keys, reterr);
        if (r < 0)
                return r;

        v = json_object_get(res, "memory");
        if (v && !json_is_null(v)) {
                if (json_is_integer(v)) {
                        if (json_integer_value(v) <= 0)
                                return fail(reterr, "'resources.memory' must be positive.");
                        s->memory = (uint64_t) json_integer_value(v);
                } else if (json_is_string(v)) {
                        if (parse_size(json_string_value(v), &s->memory) < 0)
                                return fail(reterr,
                                            "'resources.memory' is not a size like 256M or 1G: '%s'.",
                                            json_string_value(v));
                } else
                        return fail(reterr, "'resources.memory' must be a size string (\"256M\") or bytes.");
                if (s->memory < SPEC_MIN_MEMORY || s->memory > SPEC_MAX_MEMORY)
                        return fail(reterr, "'resources.memory' must be between 4M and 1T.");
        }
        v = json_object_get(res, "cpus");
        if (v && !json_is_null(v)) {
                if (!json_is_number(v))
                        return fail(reterr, "'resources.cpus' must be a number.");
                s->cpus = json_number_value(v);
                if (!(s->cpus >= 0.01 && s->cpus <= SPEC_MAX_CPUS) || isnan(s->cpus))
                        return fail(reterr, "'resources.cpus' must be between 0.01 and %.0f.",
                                    SPEC_MAX_CPUS);
        }
        v = json_object_get(res, "pids");
        if (v && !json_is_null(v)) {
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    (uint64_t) json_integer_value(v) > SPEC_MAX_PIDS)
                        return fail(reterr, "'resources.pids' must be an integer between 1 and %u.",
                                    SPEC_MAX_PIDS);
                s->pids = (uint64_t) json_integer_value(v);
        }
        r = get_weight(res, "io_weight", &s->io_weight, reterr);
        if (r < 0)
                return r;
        return get_weight(res, "cpu_weight", &s->cpu_weight, reterr);
}

static int parse_mounts(WorkloadSpec *s, json_t *m, char **reterr) {
        static const char *const keys[] = { "source", "target", "readonly", NULL };
        size_t i;
        json_t *e;
        int r;

        if (!json_is_array(m))
                return fail(reterr, "'mounts' must be an array.");
        if (json_array_size(m) > SPEC_MAX_MOUNTS)
                return fail(reterr, "'mounts' has too many entries (max %u).", SPEC_MAX_MOUNTS);
        s->mounts = calloc(json_array_size(m) + 1, sizeof(SpecMount));
        if (!s->mounts)
                return -ENOMEM;
        json_array_foreach (m, i, e) {
                SpecMount *sm = &s->mounts[i];
                char where[32];

                (void) snprintf(where, sizeof where, "mounts[%zu]", i);
                if (!json_is_object(e))
                        return fail(reterr, "'%s' must be an object.", where);
                s->n_mounts = i + 1;
                r = check_keys(e, where, keys, reterr);
                if (r < 0)
                        return r;
                (void) strcat(where, ".");
                r = get_string(e, "source", where, &sm->source, reterr);
                if (r < 0)
                        return r;
                r = get_string(e, "target", where, &sm->target, reterr);
                if (r < 0)
                        return r;
                sm->readonly = true; /* read-only unless asked otherwise */
                r = get_bool(e, "readonly", where, &sm->readonly, reterr);
                if (r < 0)
                        return r;
                if (!path_is_safe_absolute(sm->source))
                        return fail(reterr, "'%ssource' must be an absolute path without '..'.", where);
                if (!path_is_safe_absolute(sm->target) || streq(sm->target, "/"))
                        return fail(reterr,
                                    "'%starget' must be an absolute path other than '/' without '..'.",
                                    where);
        }
        return 0;
}

static int parse_tmpfs(WorkloadSpec *s, json_t *m, char **reterr) {
        static const char *const keys[] = { "target", "size", "mode", "noexec", NULL };
        size_t i;
        json_t *e;
        int r;

        if (!json_is_array(m))
                return fail(reterr, "'tmpfs' must be an array.");
        if (json_array_size(m) > SPEC_MAX_TMPFS)
                return fail(reterr, "'tmpfs' has too many entries (max %u).", SPEC_MAX_TMPFS);
        s->tmpfs = calloc(json_array_size(m) + 1, sizeof(SpecTmpfs));
        if (!s->tmpfs)
                return -ENOMEM;
        json_array_foreach (m, i, e) {
                SpecTmpfs *t = &s->tmpfs[i];
                const char *mode;
                char where[32], *end;
                json_t *v;

                (void) snprintf(where, sizeof where, "tmpfs[%zu]", i);
                if (!json_is_object(e))
                        return fail(reterr, "'%s' must be an object.", where);
                s->n_tmpfs = i + 1;
                r = check_keys(e, where, keys, reterr);
                if (r < 0)
                        return r;
                (void) strcat(where, ".");
                r = get_string(e, "target", where, &t->target, reterr);
                if (r < 0)
                        return r;
                if (!path_is_safe_absolute(t->target) || streq(t->target, "/"))
                        return fail(reterr,
                                    "'%starget' must be an absolute path other than '/' without '..'.",
                                    where);
                for (size_t j = 0; j < i; j++)
                        if (streq(s->tmpfs[j].target, t->target))
                                return fail(reterr, "'%starget': tmpfs[%zu] is mounted there already.",
                                            where, j);
                v = json_object_get(e, "size");
                if (v && !json_is_null(v)) {
                        if (!json_is_integer(v) || json_integer_value(v) < 4096 ||
                            (uint64_t) json_integer_value(v) > SPEC_MAX_MEMORY)
                                return fail(reterr, "'%ssize' must be a number of bytes from 4096 to 1 TiB.",
                                            where);
                        t->size = (uint64_t) json_integer_value(v);
                }
                t->mode = 01777;
                v = json_object_get(e, "mode");
                if (v && !json_is_null(v)) {
                        mode = json_string_value(v);
                        errno = 0;
                        unsigned long u = mode && *mode && strspn(mode, "01234567") == strlen(mode)
                                                  ? strtoul(mode, &end, 8)
                                                  : ~0UL;
                        if (u > 07777 || errno != 0)
                                return fail(reterr,
                                            "'%smode' must be a string of octal digits up to \"7777\".",
                                            where);
                        t->mode = (unsigned) u;
                }
                r = get_bool(e, "noexec", where, &t->noexec, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_labels(WorkloadSpec *s, json_t *l, char **reterr) {
        const char *k;
        json_t *v;
        size_t i = 0;

        if (!json_is_object(l))
                return fail(reterr, "'labels' must be an object of strings.");
        if (json_object_size(l) > SPEC_MAX_LABELS)
                return fail(reterr, "'labels' has too many entries (max %u).", SPEC_MAX_LABELS);
        s->labels = calloc(json_object_size(l) + 1, sizeof(SpecLabel));
        if (!s->labels)
                return -ENOMEM;
        json_object_foreach (l, k, v) {
                if (!identifier_is_valid(k))
                        return fail(reterr,
                                    "Label key '%s' is invalid (use [A-Za-z0-9][A-Za-z0-9_.-]{0,63}).", k);
                if (!json_is_string(v) || json_string_length(v) > 256 ||
                    strlen(json_string_value(v)) != json_string_length(v))
                        return fail(reterr, "Label '%s' must be a string of at most 256 bytes.", k);
                s->labels[i].key = strdup(k);
                s->labels[i].value = strdup(json_string_value(v));
                s->n_labels = ++i;
                if (!s->labels[i - 1].key || !s->labels[i - 1].value)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_ports(WorkloadSpec *s, json_t *a, char **reterr) {
        static const char *const keys[] = { "host", "guest", "proto", "address", NULL };
        size_t i;
        json_t *e;
        int r;

        if (!json_is_array(a))
                return fail(reterr, "'network.ports' must be an array.");
        if (json_array_size(a) > SPEC_MAX_PORTS)
                return fail(reterr, "'network.ports' has too many entries (max %u).", SPEC_MAX_PORTS);
        s->ports = calloc(json_array_size(a) + 1, sizeof(SpecPort));
        if (!s->ports)
                return -ENOMEM;
        json_array_foreach (a, i, e) {
                _cleanup_free_ char *proto = NULL, *addr = NULL;
                SpecPort *p = &s->ports[i];
                char where[40];
                json_t *n;

                (void) snprintf(where, sizeof where, "network.ports[%zu]", i);
                if (!json_is_object(e))
                        return fail(reterr, "'%s' must be an object.", where);
                r = check_keys(e, where, keys, reterr);
                if (r < 0)
                        return r;
                for (int k = 0; k < 2; k++) {
                        const char *key = k == 0 ? "host" : "guest";

                        n = json_object_get(e, key);
                        if (!n)
                                return fail(reterr, "'%s.%s' is missing.", where, key);
                        if (!json_is_integer(n) || json_integer_value(n) < 1 ||
                            json_integer_value(n) > 65535)
                                return fail(reterr, "'%s.%s' must be a port number between 1 and 65535.",
                                            where, key);
                        if (k == 0)
                                p->host = (uint16_t) json_integer_value(n);
                        else
                                p->guest = (uint16_t) json_integer_value(n);
                }
                (void) strcat(where, ".");
                r = get_string(e, "proto", where, &proto, reterr);
                if (r < 0)
                        return r;
                p->proto = proto ? port_proto_from_string(proto) : PORT_TCP;
                if (p->proto < 0)
                        return fail(reterr, "'%sproto' must be \"tcp\" or \"udp\", got '%s'.", where, proto);
                r = get_string(e, "address", where, &addr, reterr);
                if (r < 0)
                        return r;
                if (addr && parse_ipv4(addr, &p->address) < 0)
                        return fail(reterr, "'%saddress' must be an IPv4 address, got '%s'.", where, addr);
                s->n_ports = i + 1;
                for (size_t j = 0; j < i; j++) {
                        const SpecPort *o = &s->ports[j];

                        if (o->host == p->host && o->proto == p->proto &&
                            (o->address == p->address || o->address == 0 || p->address == 0))
                                return fail(reterr, "'network.ports[%zu]' publishes %s port %u again.", i,
                                            port_proto_to_string(p->proto), p->host);
                }
        }
        return 0;
}

static int parse_network(WorkloadSpec *s, json_t *v, char **reterr) {
        static const char *const nkeys[] = { "mode", "network", "ports", "ip", "mac", "path", NULL };
        _cleanup_free_ char *mode = NULL, *ip = NULL, *mac = NULL;
        json_t *p;
        int r;

        if (!json_is_object(v))
                return fail(reterr, "'network' must be an object.");
        r = check_keys(v, "network", nkeys, reterr);
        if (r < 0)
                return r;
        r = get_string(v, "mode", "network.", &mode, reterr);
        if (r < 0)
                return r;
        if (mode) {
                s->network = network_mode_from_string(mode);
                if (s->network < 0)
                        return fail(reterr,
                                    "'network.mode' \"%s\" is not supported (supported: \"none\", \"nat\", "
                                    "\"host\", \"netns\").",
                                    mode);
        }
        r = get_string(v, "network", "network.", &s->network_name, reterr);
        if (r < 0)
                return r;
        if (s->network_name && !network_name_is_valid(s->network_name))
                return fail(
                        reterr,
                        "Invalid network name '%s': use [A-Za-z0-9][A-Za-z0-9_-]{0,14} (it names a bridge).",
                        s->network_name);
        p = json_object_get(v, "ports");
        if (p && !json_is_null(p)) {
                r = parse_ports(s, p, reterr);
                if (r < 0)
                        return r;
        }
        r = get_string(v, "ip", "network.", &ip, reterr);
        if (r < 0)
                return r;
        if (ip && !streq(ip, "auto") && (parse_ipv4(ip, &s->ip) < 0 || s->ip == 0))
                return fail(reterr, "'network.ip' must be an IPv4 address or \"auto\", got '%s'.", ip);
        r = get_string(v, "mac", "network.", &mac, reterr);
        if (r < 0)
                return r;
        if (mac && !streq(mac, "auto")) {
                if (parse_mac(mac, s->mac) < 0)
                        return fail(reterr,
                                    "'network.mac' must be a MAC address like 02:00:0a:01:02:03, got '%s'.",
                                    mac);
                if (s->mac[0] & 1)
                        return fail(reterr, "'network.mac' %s is a multicast address.", mac);
                if (!(s->mac[0] | s->mac[1] | s->mac[2] | s->mac[3] | s->mac[4] | s->mac[5]))
                        return fail(reterr, "'network.mac' must not be all zero.");
                s->mac_set = true;
        }
        r = get_string(v, "path", "network.", &s->netns_path, reterr);
        if (r < 0)
                return r;
        if (s->network == NETWORK_NETNS && (!s->netns_path || !path_is_safe_absolute(s->netns_path)))
                return fail(
                        reterr,
                        "'network.path' must name the network namespace to join as an absolute path without "
                        "'..' (\"mode\": \"netns\").");
        if (s->network != NETWORK_NETNS && s->netns_path)
                return fail(reterr, "'network.path' needs \"mode\": \"netns\" (the mode is \"%s\").",
                            network_mode_to_string(s->network));
        if (s->network != NETWORK_NAT) {
                const char *what = s->n_ports > 0    ? "ports"
                                   : s->network_name ? "network"
                                   : s->ip           ? "ip"
                                   : s->mac_set      ? "mac"
                                                     : NULL;
                if (what)
                        return fail(reterr, "'network.%s' needs \"mode\": \"nat\" (the mode is \"%s\").",
                                    what, network_mode_to_string(s->network));
        }
        return 0;
}

static bool hostname_is_valid(const char *h) {
        size_t n = strlen(h);

        if (n == 0 || n > 63 || h[0] == '-' || h[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
                      (h[i] >= '0' && h[i] <= '9') || h[i] == '-' || h[i] == '.'))
                        return false;
        return true;
}

int workload_spec_from_json(json_t *root, WorkloadSpec **ret, char **reterr) {
        static const char *const keys[] = {
                "name",         "isolation", "image",    "rootfs", "process", "resources",       "network",
                "mounts",       "tmpfs",     "hostname", "labels", "userns",  "readonly_rootfs", "seccomp",
                "capabilities", "pod",       NULL
        };
        _cleanup_(workload_spec_freep) WorkloadSpec *s = NULL;
        _cleanup_free_ char *iso = NULL;
        json_t *v;
        int r;

        if (!json_is_object(root))
                return fail(reterr, "The spec must be a JSON object.");
        r = check_keys(root, "", keys, reterr);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(WorkloadSpec));
        if (!s)
                return -ENOMEM;
        s->network = NETWORK_NONE;

        r = get_string(root, "name", "", &s->name, reterr);
        if (r < 0)
                return r;
        if (s->name && !workload_name_is_valid(s->name))
                return fail(reterr, "Invalid workload name '%s': use [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.",
                            s->name);

        r = get_string(root, "isolation", "", &iso, reterr);
        if (r < 0)
                return r;
        s->isolation = iso ? isolation_from_string(iso) : ISOLATION_AUTO;
        if (s->isolation < 0)
                return fail(reterr, "'isolation' must be \"auto\", \"container\" or \"vm\", got '%s'.", iso);

        r = get_string(root, "image", "", &s->image, reterr);
        if (r < 0)
                return r;
        r = get_string(root, "rootfs", "", &s->rootfs, reterr);
        if (r < 0)
                return r;
        if (s->image && s->rootfs)
                return fail(reterr, "Set either 'image' or 'rootfs', not both.");
        if (s->image && !image_ref_is_valid(s->image))
                return fail(reterr,
                            "Invalid image name '%s': use NAME[:TAG] (NAME components "
                            "[A-Za-z0-9][A-Za-z0-9._-]* separated by '/') or sha256:<64 hex>.",
                            s->image);
        if (s->rootfs && !path_is_safe_absolute(s->rootfs))
                return fail(reterr, "'rootfs' must be an absolute path without '..' components.");
        /* With an image named, the command may come from its config (Entrypoint, Cmd): isod
         * applies it, and refuses the spec then if there is still none. */
        bool from_image = s->image;
        if (!s->image && !s->rootfs) {
                s->image = strdup("busybox");
                if (!s->image)
                        return -ENOMEM;
        }

        v = json_object_get(root, "process");
        if (!v && !from_image)
                return fail(reterr, "'process' is missing: it needs at least 'args'.");
        if (v) {
                r = parse_process(s, v, reterr);
                if (r < 0)
                        return r;
        }
        if ((!s->args || !s->args[0]) && !from_image && !s->entrypoint_set)
                return fail(reterr, "'process.args' must have at least one element.");
        if (s->args && s->args[0] && s->args[0][0] == 0)
                return fail(reterr, "'process.args[0]' must not be empty.");

        v = json_object_get(root, "resources");
        if (v && !json_is_null(v)) {
                r = parse_resources(s, v, reterr);
                if (r < 0)
                        return r;
        }

        v = json_object_get(root, "network");
        if (v && !json_is_null(v)) {
                r = parse_network(s, v, reterr);
                if (r < 0)
                        return r;
        }

        v = json_object_get(root, "mounts");
        if (v && !json_is_null(v)) {
                r = parse_mounts(s, v, reterr);
                if (r < 0)
                        return r;
        }

        v = json_object_get(root, "tmpfs");
        if (v && !json_is_null(v)) {
                r = parse_tmpfs(s, v, reterr);
                if (r < 0)
                        return r;
        }

        r = get_string(root, "hostname", "", &s->hostname, reterr);
        if (r < 0)
                return r;
        if (s->hostname && !hostname_is_valid(s->hostname))
                return fail(reterr, "Invalid hostname '%s'.", s->hostname);

        v = json_object_get(root, "labels");
        if (v && !json_is_null(v)) {
                r = parse_labels(s, v, reterr);
                if (r < 0)
                        return r;
        }

        r = get_bool(root, "userns", "", &s->userns, reterr);
        if (r < 0)
                return r;
        r = get_bool(root, "readonly_rootfs", "", &s->readonly_rootfs, reterr);
        if (r < 0)
                return r;
        r = get_string(root, "seccomp", "", &s->seccomp, reterr);
        if (r < 0)
                return r;
        if (s->seccomp && !streq(s->seccomp, "default") && !streq(s->seccomp, "unconfined") &&
            !path_is_safe_absolute(s->seccomp))
                return fail(
                        reterr,
                        "'seccomp' must be \"default\", \"unconfined\" or an absolute path to a profile.");
        v = json_object_get(root, "capabilities");
        if (v && !json_is_null(v)) {
                size_t i;
                json_t *e;

                if (!json_is_array(v) || json_array_size(v) > SPEC_CAP_LAST + 1)
                        return fail(reterr, "'capabilities' must be an array of capability names.");
                json_array_foreach (v, i, e) {
                        int c = json_is_string(e) ? capability_from_name(json_string_value(e)) : -EINVAL;
                        if (c < 0)
                                return fail(reterr, "'capabilities[%zu]' is not a capability name (CAP_…).",
                                            i);
                        s->caps |= UINT64_C(1) << c;
                }
                s->caps_set = true;
        }

        r = get_string(root, "pod", "", &s->pod, reterr);
        if (r < 0)
                return r;
        if (s->pod) {
                if (!workload_name_is_valid(s->pod))
                        return fail(reterr, "Invalid pod workload name '%s'.", s->pod);
                if (s->name && streq(s->name, s->pod))
                        return fail(reterr, "'pod' names the workload itself.");
                if (s->network != NETWORK_NONE)
                        return fail(
                                reterr,
                                "'pod': the workload shares the network of pod '%s'; 'network' must be unset "
                                "or none, not %s.",
                                s->pod, network_mode_to_string(s->network));
                if (s->hostname)
                        return fail(
                                reterr,
                                "'pod': the workload has the hostname of pod '%s'; 'hostname' must be unset.",
                                s->pod);
        }

        *ret = TAKE_PTR(s);
        return 0;
}

int workload_spec_parse(const char *text, size_t size, WorkloadSpec **ret, char **reterr) {
        json_error_t jerr;
        json_t *root;
        int r;

        if (size > SPEC_MAX_SIZE) {
                (void) fail(reterr, "The spec is too large (%zu bytes, max %u).", size, SPEC_MAX_SIZE);
                return -E2BIG;
        }
        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                (void) fail(reterr, "The spec is not valid JSON (line %d, column %d): %s.", jerr.line,
                            jerr.column, jerr.text);
                return -EBADMSG;
        }
        r = workload_spec_from_json(root, ret, reterr);
        json_decref(root);
        return r;
}

int workload_name_generate(const char *argv0, char **ret) {
        const char *base = strrchr(argv0, '/');
        char clean[24], *name;
        uint8_t rnd[4];
        size_t n = 0;

        base = base ? base + 1 : argv0;
        for (const char *s = base; *s && n < sizeof clean - 1; s++)
                if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                    *s == '_' || (n > 0 && (*s == '-' || *s == '.')))
                        clean[n++] = *s;
        clean[n] = 0;
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return -EIO;
        if (asprintf(&name, "%s-%02x%02x%02x%02x", n > 0 ? clean : "workload", rnd[0], rnd[1], rnd[2],
                     rnd[3]) < 0)
                return -ENOMEM;
        *ret = name;
        return 0;
}

const char *workload_spec_label(const WorkloadSpec *s, const char *key) {
        for (size_t i = 0; i < s->n_labels; i++)
                if (streq(s->labels[i].key, key))
                        return s->labels[i].value;
        return NULL;
}
