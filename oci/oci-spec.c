/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.json → isod's workload spec (oci-spec.h, docs/oci.md#translation). */

#include <inttypes.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>

#include "container/container.h"
#include "oci-spec.h"
#include "spec.h"
#include "util.h"

#define fail(reterr, ...) set_error_message(reterr, -EINVAL, __VA_ARGS__)

void oci_translation_done(OciTranslation *t) {
        json_decref(t->spec);
        json_decref(t->seccomp);
        strv_free(t->warnings);
        free(t->pod);
        *t = (OciTranslation){};
}

static int warn(OciTranslation *t, const char *fmt, ...) _printf_(2, 3);
static int warn(OciTranslation *t, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0 || strv_extend(&t->warnings, s) < 0)
                return -ENOMEM;
        return 0;
}

/* Every key of obj must be in keys: the rest are refused by name. */
static int known_keys(json_t *obj, const char *where, const char *const *keys, char **reterr) {
        const char *k;
        json_t *v;

        json_object_foreach (obj, k, v) {
                bool found = false;
                for (const char *const *p = keys; *p && !found; p++)
                        found = streq(*p, k);
                if (!found)
                        return fail(reterr, "config.json: %s%s%s is not supported by isod.", where,
                                    where[0] ? "." : "", k);
        }
        return 0;
}

static bool empty(json_t *v) {
        return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
               (json_is_object(v) && json_object_size(v) == 0) ||
               (json_is_string(v) && json_string_length(v) == 0);
}

/* A JSON array of strings, copied into a new JSON array (NULL if it is not one). */
static json_t *strings(json_t *a, size_t max) {
        json_t *out, *e;
        size_t i;

        if (!json_is_array(a) || json_array_size(a) > max)
                return NULL;
        out = json_array();
        json_array_foreach (a, i, e) {
                if (!json_is_string(e)) {
                        json_decref(out);
                        return NULL;
                }
                json_array_append(out, e);
        }
        return out;
}

static int cap_set(json_t *a, const char *which, uint64_t *ret, char **reterr) {
        json_t *e;
        size_t i;

        *ret = 0;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return fail(reterr, "config.json: process.capabilities.%s must be an array.", which);
        json_array_foreach (a, i, e) {
                int c = json_is_string(e) ? capability_from_name(json_string_value(e)) : -EINVAL;
                if (c < 0)
                        return fail(
                                reterr,
                                "config.json: process.capabilities.%s[%zu] is not a capability isod knows.",
                                which, i);
                *ret |= UINT64_C(1) << c;
        }
        return 0;
}

static int translate_process(json_t *p, json_t *spec, OciTranslation *t, char **reterr) {
        static const char *const keys[] = { "terminal",
                                            "consoleSize",
                                            "user",
                                            "args",
                                            "env",
                                            "cwd",
                                            "capabilities",
                                            "rlimits",
                                            "noNewPrivileges",
                                            "apparmorProfile",
                                            "oomScoreAdj",
                                            "selinuxLabel",
                                            NULL };
        json_t *proc = json_object(), *v, *user, *caps, *a;
        int r;

        if (!proc)
                return -ENOMEM;
        json_object_set_new(spec, "process", proc);
        if (!json_is_object(p))
                return fail(reterr, "config.json: process is missing (isod runs a process per bundle).");
        r = known_keys(p, "process", keys, reterr);
        if (r < 0)
                return r;
        a = strings(json_object_get(p, "args"), SPEC_MAX_ARGS);
        if (!a || json_array_size(a) == 0) {
                json_decref(a);
                return fail(reterr, "config.json: process.args must be a non-empty array of strings.");
        }
        json_object_set_new(proc, "args", a);
        if ((v = json_object_get(p, "env")) && !json_is_null(v)) {
                if (!(a = strings(v, SPEC_MAX_ENV)))
                        return fail(reterr,
                                    "config.json: process.env must be an array of at most %u strings.",
                                    SPEC_MAX_ENV);
                json_object_set_new(proc, "env", a);
        }
        v = json_object_get(p, "cwd");
        if (!json_is_string(v) || json_string_value(v)[0] != '/')
                return fail(reterr, "config.json: process.cwd must be an absolute path.");
        json_object_set(proc, "cwd", v);
        if (json_is_true(json_object_get(p, "terminal")))
                json_object_set_new(proc, "terminal", json_true());

        user = json_object_get(p, "user");
        if (user) {
                static const char *const ukeys[] = { "uid", "gid", "umask", "additionalGids", NULL };
                json_t *uid = json_object_get(user, "uid"), *gid = json_object_get(user, "gid");
                char buf[32];

                r = known_keys(user, "process.user", ukeys, reterr);
                if (r < 0)
                        return r;
                if (!json_is_integer(uid) || !json_is_integer(gid) || json_integer_value(uid) < 0 ||
                    json_integer_value(uid) >= 65535 || json_integer_value(gid) < 0 ||
                    json_integer_value(gid) >= 65535)
                        return fail(reterr,
                                    "config.json: process.user.uid and .gid must be numbers below 65535.");
                (void) snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT,
                                json_integer_value(uid), json_integer_value(gid));
                json_object_set_new(proc, "user", json_string(buf));
                v = json_object_get(user, "umask");
                if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 022))
                        return fail(
                                reterr,
                                "config.json: process.user.umask: isod starts workloads with 0022 only.");
                if ((v = json_object_get(user, "additionalGids")) && !empty(v))
                        json_object_set(proc, "groups", v); /* the spec parser checks them */
        }

        caps = json_object_get(p, "capabilities");
        if (caps) {
                static const char *const ckeys[] = { "bounding",  "effective", "inheritable",
                                                     "permitted", "ambient",   NULL };
                uint64_t b, e, pm, inh, amb;
                json_t *list;

                r = known_keys(caps, "process.capabilities", ckeys, reterr);
                if (r < 0)
                        return r;
                if ((r = cap_set(json_object_get(caps, "bounding"), "bounding", &b, reterr)) < 0 ||
                    (r = cap_set(json_object_get(caps, "effective"), "effective", &e, reterr)) < 0 ||
                    (r = cap_set(json_object_get(caps, "permitted"), "permitted", &pm, reterr)) < 0 ||
                    (r = cap_set(json_object_get(caps, "inheritable"), "inheritable", &inh, reterr)) < 0 ||
                    (r = cap_set(json_object_get(caps, "ambient"), "ambient", &amb, reterr)) < 0)
                        return r;
                /* isod gives one set: bounding = effective = permitted, nothing inherited. */
                if (b != e || b != pm)
                        return fail(reterr,
                                    "config.json: process.capabilities: isod gives one set; bounding, "
                                    "effective and permitted must be the same.");
                if (inh || amb)
                        return fail(reterr,
                                    "config.json: process.capabilities.inheritable and .ambient must be "
                                    "empty (isod clears them).");
                list = json_array();
                for (int c = 0; c <= SPEC_CAP_LAST; c++)
                        if (b & (UINT64_C(1) << c))
                                json_array_append_new(list, json_string(capability_to_name(c)));
                json_object_set_new(spec, "capabilities", list);
                t->caps_given = true;
        }
        if ((v = json_object_get(p, "rlimits")) && !empty(v))
                json_object_set(proc, "rlimits", v); /* the same format; the spec parser checks it */
        if (!json_is_true(json_object_get(p, "noNewPrivileges")) &&
            (r = warn(t, "process.noNewPrivileges is false: isod always sets no_new_privs (setuid programs "
                         "do not gain privileges)")) < 0)
                return r;
        if ((v = json_object_get(p, "apparmorProfile")) && !empty(v))
                return fail(reterr, "config.json: process.apparmorProfile: isod applies no LSM profile.");
        if ((v = json_object_get(p, "selinuxLabel")) && !empty(v))
                return fail(reterr, "config.json: process.selinuxLabel: isod applies no LSM label.");
        if ((v = json_object_get(p, "oomScoreAdj")) && !json_is_null(v) &&
            !(json_is_integer(v) && json_integer_value(v) == 0))
                return fail(reterr, "config.json: process.oomScoreAdj other than 0 is not supported.");
        return 0;
}

/* The mounts isod makes itself, by destination and type. */
static bool standard_mount(const char *dst, const char *type) {
        static const struct {
                const char *dst, *type;
        } std[] = {
                { "/proc", "proc" },     { "/dev", "tmpfs" },         { "/dev/pts", "devpts" },
                { "/dev/shm", "tmpfs" }, { "/dev/mqueue", "mqueue" }, { "/sys", "sysfs" },
        };
        for (size_t i = 0; i < ELEMENTSOF(std); i++)
                if (streq(dst, std[i].dst) && streq_ptr(type, std[i].type))
                        return true;
        return false;
}

static bool has_option(json_t *options, const char *o) {
        json_t *e;
        size_t i;

        json_array_foreach (options, i, e)
                if (json_is_string(e) && streq(json_string_value(e), o))
                        return true;
        return false;
}

/* A tmpfs mount's options, as runc reads them: size=N[kmg] and mode=OCTAL are kept; nosuid and
 * nodev are what isod does anyway; noexec/exec chosen; atime and rw options change nothing a
 * workload relies on; anything else (ro, uid=, nr_inodes=, …) is refused by name. */
static int translate_tmpfs(const char *dst, json_t *opts, const char *where, json_t **ret, char **reterr) {
        static const char *const harmless[] = { "nosuid",   "nodev",   "rw",         "strictatime",
                                                "relatime", "noatime", "nodiratime", "atime",
                                                "suid",     "dev",     NULL };
        json_t *t = json_pack("{s:s}", "target", dst);
        json_t *o;
        size_t i;
        int r = 0;

        if (!t)
                return -ENOMEM;
        if (opts && !json_is_array(opts)) {
                r = fail(reterr, "config.json: %s.options must be an array of strings.", where);
                goto out;
        }
        json_array_foreach (opts, i, o) {
                const char *s = json_string_value(o);
                unsigned long long n;
                char *end;

                if (!s) {
                        r = fail(reterr, "config.json: %s.options must be an array of strings.", where);
                        goto out;
                }
                if (startswith(s, "size=")) {
                        errno = 0;
                        n = strtoull(s + 5, &end, 10);
                        unsigned shift = *end == 'k' || *end == 'K'   ? 10
                                         : *end == 'm' || *end == 'M' ? 20
                                         : *end == 'g' || *end == 'G' ? 30
                                                                      : 0;
                        if (shift)
                                end++;
                        if (errno || end == s + 5 || *end || n > (SPEC_MAX_MEMORY >> shift)) {
                                r = fail(reterr, "config.json: %s (tmpfs on %s): bad size '%s'.", where, dst,
                                         s + 5);
                                goto out;
                        }
                        json_object_set_new(t, "size", json_integer((json_int_t) (n << shift)));
                } else if (startswith(s, "mode="))
                        json_object_set_new(t, "mode", json_string(s + 5));
                else if (streq(s, "noexec") || streq(s, "exec"))
                        json_object_set_new(t, "noexec", json_boolean(streq(s, "noexec")));
                else if (!strv_contains((char **) harmless, s)) {
                        r = fail(reterr, "config.json: %s (tmpfs on %s): the option '%s' is not supported.",
                                 where, dst, s);
                        goto out;
                }
        }
        *ret = TAKE_PTR(t);
out:
        json_decref(t);
        return r;
}

static int translate_mounts(json_t *mounts, json_t *spec, OciTranslation *t, char **reterr) {
        json_t *out = json_array(), *tmpfs = NULL, *m;
        size_t i;
        int r;

        if (!out)
                return -ENOMEM;
        if (!json_is_array(mounts)) {
                json_decref(out);
                return fail(reterr, "config.json: mounts must be an array.");
        }
        json_array_foreach (mounts, i, m) {
                static const char *const keys[] = { "destination", "type", "source", "options", NULL };
                const char *dst = json_string_value(json_object_get(m, "destination")),
                           *type = json_string_value(json_object_get(m, "type")),
                           *src = json_string_value(json_object_get(m, "source"));
                json_t *opts = json_object_get(m, "options");
                char where[32];

                (void) snprintf(where, sizeof where, "mounts[%zu]", i);
                r = known_keys(m, where, keys, reterr);
                if (r < 0)
                        goto fail;
                if (!dst || dst[0] != '/') {
                        r = fail(reterr, "config.json: %s.destination must be an absolute path.", where);
                        goto fail;
                }
                if (standard_mount(dst, type))
                        continue;
                if (streq(dst, "/sys/fs/cgroup") && streq_ptr(type, "cgroup")) {
                        r = warn(t, "%s: isod gives containers no cgroup file system at /sys/fs/cgroup",
                                 where);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                if (streq_ptr(type, "bind") || has_option(opts, "bind") || has_option(opts, "rbind")) {
                        if (!src || src[0] != '/') {
                                r = fail(
                                        reterr,
                                        "config.json: %s (bind on %s): the source must be an absolute path.",
                                        where, dst);
                                goto fail;
                        }
                        json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "source", src, "target", dst,
                                                             "readonly", has_option(opts, "ro")));
                        continue;
                }
                if (streq_ptr(type, "tmpfs")) {
                        json_t *tm = NULL;

                        r = translate_tmpfs(dst, opts, where, &tm, reterr);
                        if (r < 0)
                                goto fail;
                        if (!tmpfs)
                                tmpfs = json_array();
                        if (!tmpfs || json_array_append_new(tmpfs, tm) < 0) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        continue;
                }
                r = fail(
                        reterr,
                        "config.json: %s: a %s mount on %s is not supported (isod binds host directories and files, "
                        "mounts tmpfs, and makes /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue and /sys itself).",
                        where, strna(type), dst);
                goto fail;
        }
        if (json_array_size(out) > 0)
                json_object_set_new(spec, "mounts", out);
        else
                json_decref(out);
        if (tmpfs)
                json_object_set_new(spec, "tmpfs", tmpfs);
        return 0;
fail:
        json_decref(tmpfs);
        json_decref(out);
        return r;
}

static const char *annotation(json_t *annotations, const char *cri, const char *crio) {
        return json_string_value(json_object_get(annotations, cri))
                       ?: json_string_value(json_object_get(annotations, crio));
}

/* /proc/PID/ns/NAME → PID, or -1. */
static int proc_ns_pid(const char *path, const char *name) {
        unsigned pid;
        int n = -1;
        char tail[16];

        if (sscanf(path, "/proc/%u/ns/%15[a-z]%n", &pid, tail, &n) != 2 || n < 0 || path[n] ||
            !streq(tail, name) || pid == 0 || pid > INT32_MAX)
                return -1;
        return (int) pid;
}

static int translate_namespaces(json_t *ns, json_t *spec, json_t *annotations, OciTranslation *t,
                                char **reterr) {
        bool seen[8] = {};
        static const char *const types[] = { "pid", "network", "mount", "ipc",
                                             "uts", "cgroup",  "user",  "time" };
        static const char *const files[] = { "pid", "net", "mnt", "ipc", "uts", "cgroup", "user", "time" };
        /* A CRI pod's container joins its sandbox's ipc, uts and network namespaces by path. */
        const char *sandbox = annotation(annotations, "io.kubernetes.cri.sandbox-id",
                                         "io.kubernetes.cri-o.SandboxID");
        bool member = sandbox && streq_ptr(annotation(annotations, "io.kubernetes.cri.container-type",
                                                      "io.kubernetes.cri-o.ContainerType"),
                                           "container");
        const char *netns = NULL;
        json_t *n;
        size_t i;

        if (!json_is_array(ns))
                return fail(reterr, "config.json: linux.namespaces must be an array.");
        if (member && !workload_name_is_valid(sandbox))
                return fail(reterr,
                            "config.json: annotation io.kubernetes.cri.sandbox-id '%s' is not a valid ID.",
                            sandbox);
        json_array_foreach (ns, i, n) {
                const char *type = json_string_value(json_object_get(n, "type"));
                const char *path = json_string_value(json_object_get(n, "path"));
                size_t k;

                for (k = 0; k < ELEMENTSOF(types); k++)
                        if (streq_ptr(type, types[k]))
                                break;
                if (k == ELEMENTSOF(types))
                        return fail(reterr, "config.json: linux.namespaces[%zu]: unknown type '%s'.", i,
                                    strna(type));
                if (!empty(json_object_get(n, "path")) && member &&
                    (streq(type, "ipc") || streq(type, "uts") || streq(type, "network"))) {
                        int pid = path ? proc_ns_pid(path, files[k]) : -1;

                        if (pid < 0 || (t->pod_pid && pid != t->pod_pid))
                                return fail(
                                        reterr,
                                        "config.json: linux.namespaces[%zu]: %s is not the pod sandbox's "
                                        "%s namespace (/proc/PID/ns/%s of one PID).",
                                        i, strna(path), type, files[k]);
                        t->pod_pid = pid;
                        seen[k] = true;
                        continue;
                }
                /* An existing network namespace (Podman's netavark, a CNI pod sandbox's): joined,
                 * network mode netns (containers only, as the policy allows). */
                if (!empty(json_object_get(n, "path")) && streq(type, "network") && !member) {
                        if (!path || path[0] != '/')
                                return fail(
                                        reterr,
                                        "config.json: linux.namespaces[%zu]: the network namespace's path must be absolute.",
                                        i);
                        netns = path;
                        seen[k] = true;
                        continue;
                }
                if (!empty(json_object_get(n, "path")))
                        return fail(
                                reterr,
                                "config.json: linux.namespaces[%zu]: joining an existing %s namespace (%s) is not "
                                "supported: isod makes the workload's own%s.",
                                i, type, json_string_value(json_object_get(n, "path")),
                                member && streq(type, "pid")
                                        ? " (a pod's shared pid namespace, shareProcessNamespace, is not supported)"
                                        : "");
                seen[k] = true;
        }
        if (member) {
                /* Its network, ipc and uts are the sandbox's, whatever the bundle lists for them. */
                seen[1] = seen[3] = seen[4] = true;
                t->pod = strdup(sandbox);
                if (!t->pod)
                        return -ENOMEM;
                json_object_set_new(spec, "pod", json_string(sandbox));
                json_object_del(spec, "hostname");
        } else if (!seen[4] && !seen[1]) {
                /* A host-network pod's sandbox (containerd): no uts namespace, the host's name. isod
                 * gives it its own, named as the host: the same name, which it cannot change. */
                char host[HOST_NAME_MAX + 1] = "";
                int r;

                seen[4] = true;
                if (!json_object_get(spec, "hostname") && gethostname(host, sizeof host - 1) >= 0 && host[0])
                        json_object_set_new(spec, "hostname", json_string(host));
                r = warn(
                        t,
                        "linux.namespaces has no uts namespace (host network): isod gives the workload its own, "
                        "named as the host");
                if (r < 0)
                        return r;
        }
        for (size_t k = 0; k < ELEMENTSOF(types); k++) {
                if (seen[k] || streq(types[k], "network") || streq(types[k], "user") ||
                    streq(types[k], "time"))
                        continue;
                /* Podman on cgroup v1 shares the host's (cgroupns=host): isod's own is stricter. */
                if (streq(types[k], "cgroup")) {
                        int r = warn(
                                t,
                                "linux.namespaces has no cgroup namespace: isod gives the workload its own");
                        if (r < 0)
                                return r;
                        continue;
                }
                return fail(reterr,
                            "config.json: linux.namespaces has no %s namespace: sharing the host's is not "
                            "supported.",
                            types[k]);
        }
        if (seen[7])
                return fail(reterr, "config.json: linux.namespaces: a time namespace is not supported.");
        /* A network namespace of its own: loopback only (network mode none); none listed: the host's.
         * A pod's container: its pod's (the spec's "pod"). */
        if (netns)
                json_object_set_new(spec, "network", json_pack("{s:s,s:s}", "mode", "netns", "path", netns));
        else if (!member)
                json_object_set_new(spec, "network", json_pack("{s:s}", "mode", seen[1] ? "none" : "host"));
        if (seen[6])
                return fail(reterr,
                            "config.json: linux.namespaces: a user namespace with the caller's id maps is "
                            "not supported yet (isod picks the range itself: set \"userns\" in its spec).");
        return 0;
}

static int translate_resources(json_t *res, json_t *spec, OciTranslation *t, char **reterr) {
        static const char *const keys[] = { "devices",        "memory",  "cpu",  "pids",    "blockIO",
                                            "hugepageLimits", "network", "rdma", "unified", NULL };
        json_t *out = json_object(), *v, *mem, *cpu;
        int r;

        if (!out)
                return -ENOMEM;
        json_object_set_new(spec, "resources", out);
        r = known_keys(res, "linux.resources", keys, reterr);
        if (r < 0)
                return r;
        for (const char *const *k =
                     (const char *const[]){ "hugepageLimits", "network", "rdma", "unified", NULL };
             *k; k++)
                if (!empty(json_object_get(res, *k)))
                        return fail(reterr, "config.json: linux.resources.%s is not supported.", *k);

        /* Devices: the default (deny all, then the standard character devices) is what isod allows
         * anyway (docs/cgroups.md); any other rule is refused. */
        if ((v = json_object_get(res, "devices")) && json_is_array(v)) {
                json_t *d;
                size_t i;

                json_array_foreach (v, i, d) {
                        bool allow = json_is_true(json_object_get(d, "allow"));
                        json_int_t major = json_integer_value(json_object_get(d, "major"));
                        bool has_major = json_is_integer(json_object_get(d, "major"));

                        if (!allow && !has_major)
                                continue; /* deny all (or a class): isod denies everything not listed */
                        if (allow && has_major && (major == 1 || major == 5 || major == 136))
                                continue; /* null/zero/full/random/urandom, tty/ptmx, pts: allowed by isod */
                        return fail(
                                reterr,
                                "config.json: linux.resources.devices[%zu]: isod allows exactly null, zero, full, "
                                "random, urandom, tty, ptmx and /dev/pts/*; other device rules are refused.",
                                i);
                }
        }
        if ((mem = json_object_get(res, "memory"))) {
                static const char *const mkeys[] = { "limit",
                                                     "reservation",
                                                     "swap",
                                                     "kernel",
                                                     "kernelTCP",
                                                     "swappiness",
                                                     "disableOOMKiller",
                                                     "useHierarchy",
                                                     "checkBeforeUpdate",
                                                     NULL };
                json_t *limit = json_object_get(mem, "limit"), *swap = json_object_get(mem, "swap");

                r = known_keys(mem, "linux.resources.memory", mkeys, reterr);
                if (r < 0)
                        return r;
                if (json_is_integer(limit) && json_integer_value(limit) > 0)
                        json_object_set(out, "memory", limit);
                /* No swap beyond the limit: swap absent, equal to the limit, or 0. */
                if (json_is_integer(swap) && json_integer_value(swap) != 0 &&
                    !(json_is_integer(limit) && json_integer_value(swap) == json_integer_value(limit)))
                        return fail(
                                reterr,
                                "config.json: linux.resources.memory.swap: isod gives no swap beyond the "
                                "memory limit (set it equal to the limit).");
                for (const char *const *k = (const char *const[]){ "reservation", "kernel", "kernelTCP",
                                                                   "swappiness", NULL };
                     *k; k++)
                        if (!empty(json_object_get(mem, *k)))
                                return fail(reterr,
                                            "config.json: linux.resources.memory.%s is not supported.", *k);
                if (json_is_true(json_object_get(mem, "disableOOMKiller")))
                        return fail(
                                reterr,
                                "config.json: linux.resources.memory.disableOOMKiller is not supported.");
        }
        if ((cpu = json_object_get(res, "cpu"))) {
                static const char *const ckeys[] = {
                        "shares",         "quota", "burst", "period", "realtimeRuntime",
                        "realtimePeriod", "cpus",  "mems",  "idle",   NULL
                };
                json_t *quota = json_object_get(cpu, "quota"), *period = json_object_get(cpu, "period"),
                       *shares = json_object_get(cpu, "shares");

                r = known_keys(cpu, "linux.resources.cpu", ckeys, reterr);
                if (r < 0)
                        return r;
                if (json_is_integer(quota) && json_integer_value(quota) > 0) {
                        json_int_t p = json_is_integer(period) && json_integer_value(period) > 0
                                               ? json_integer_value(period)
                                               : 100000;
                        json_object_set_new(out, "cpus",
                                            json_real((double) json_integer_value(quota) / (double) p));
                }
                /* Kubernetes sets shares on every container (2 for a sandbox, its CPU request otherwise):
                 * a weight under contention. As cgroup v2's cpu.weight by runc's mapping; 1024 is v1's
                 * default and stays isod's (v2's 100), not runc's 39. */
                if (json_is_integer(shares) && json_integer_value(shares) != 0 &&
                    json_integer_value(shares) != 1024) {
                        json_int_t sh = json_integer_value(shares);

                        if (sh < 2 || sh > 262144)
                                return fail(
                                        reterr,
                                        "config.json: linux.resources.cpu.shares must be between 2 and 262144.");
                        json_object_set_new(out, "cpu_weight", json_integer(1 + (sh - 2) * 9999 / 262142));
                }
                for (const char *const *k =
                             (const char *const[]){ "burst", "realtimeRuntime", "realtimePeriod", "cpus",
                                                    "mems", "idle", NULL };
                     *k; k++)
                        if (!empty(json_object_get(cpu, *k)) &&
                            !(json_is_integer(json_object_get(cpu, *k)) &&
                              json_integer_value(json_object_get(cpu, *k)) == 0))
                                return fail(reterr, "config.json: linux.resources.cpu.%s is not supported.",
                                            *k);
        }
        v = json_object_get(json_object_get(res, "pids"), "limit");
        if (json_is_integer(v) && json_integer_value(v) > 0)
                json_object_set(out, "pids", v);
        if ((v = json_object_get(res, "blockIO"))) {
                json_t *w = json_object_get(v, "weight");
                const char *k;
                json_t *x;

                json_object_foreach (v, k, x)
                        if (!streq(k, "weight") && !empty(x))
                                return fail(
                                        reterr,
                                        "config.json: linux.resources.blockIO.%s is not supported (weight is).",
                                        k);
                if (json_is_integer(w) && json_integer_value(w) > 0)
                        json_object_set(out, "io_weight", w);
        }
        if (json_object_size(out) == 0)
                json_object_del(spec, "resources");
        return 0;
}

static int translate_linux(json_t *l, json_t *spec, json_t *annotations, OciTranslation *t, char **reterr) {
        static const char *const keys[] = {
                "namespaces",        "uidMappings", "gidMappings", "resources",   "cgroupsPath",
                "devices",           "sysctl",      "seccomp",     "maskedPaths", "readonlyPaths",
                "rootfsPropagation", "mountLabel",  "personality", "intelRdt",    "timeOffsets",
                "netDevices",        NULL
        };
        json_t *v, *e;
        size_t i;
        int r;

        r = known_keys(l, "linux", keys, reterr);
        if (r < 0)
                return r;
        r = translate_namespaces(json_object_get(l, "namespaces"), spec, annotations, t, reterr);
        if (r < 0)
                return r;
        if (!empty(json_object_get(l, "uidMappings")) || !empty(json_object_get(l, "gidMappings")))
                return fail(reterr,
                            "config.json: linux.uidMappings/gidMappings are not supported (isod picks a "
                            "user namespace's range itself).");
        if ((v = json_object_get(l, "resources")) && json_is_object(v)) {
                r = translate_resources(v, spec, t, reterr);
                if (r < 0)
                        return r;
        }
        if (!empty(json_object_get(l, "cgroupsPath")) &&
            (r = warn(
                     t,
                     "linux.cgroupsPath %s: isod places the workload in its own cgroup tree (docs/cgroups.md)",
                     json_string_value(json_object_get(l, "cgroupsPath")) ?: "?")) < 0)
                return r;
        for (const char *const *k = (const char *const[]){ "devices", "sysctl", "mountLabel", "personality",
                                                           "intelRdt", "timeOffsets", "netDevices", NULL };
             *k; k++)
                if (!empty(json_object_get(l, *k)))
                        return fail(reterr, "config.json: linux.%s is not supported.", *k);
        json_array_foreach (json_object_get(l, "maskedPaths"), i, e)
                if (!json_is_string(e) || !container_path_is_masked(json_string_value(e)))
                        return fail(
                                reterr,
                                "config.json: linux.maskedPaths[%zu] (%s): isod masks OCI's default paths "
                                "only.",
                                i, json_is_string(e) ? json_string_value(e) : "?");
        json_array_foreach (json_object_get(l, "readonlyPaths"), i, e)
                if (!json_is_string(e) || (!container_path_is_readonly(json_string_value(e)) &&
                                           !container_path_is_masked(json_string_value(e))))
                        return fail(
                                reterr,
                                "config.json: linux.readonlyPaths[%zu] (%s): isod makes OCI's default paths "
                                "read-only only.",
                                i, json_is_string(e) ? json_string_value(e) : "?");
        v = json_object_get(l, "rootfsPropagation");
        if (!empty(v) && !streq_ptr(json_string_value(v), "private") &&
            !streq_ptr(json_string_value(v), "rprivate"))
                return fail(reterr, "config.json: linux.rootfsPropagation '%s': isod's mounts are private.",
                            strna(json_string_value(v)));
        if ((v = json_object_get(l, "seccomp")) && !json_is_null(v)) {
                if (!json_is_object(v))
                        return fail(reterr, "config.json: linux.seccomp must be an object.");
                t->seccomp = json_incref(v);
        }
        return 0;
}

static int translate_annotations(json_t *ann, json_t *spec, OciTranslation *t, char **reterr) {
        json_t *labels = json_object(), *v;
        const char *k;
        int r;

        if (!labels)
                return -ENOMEM;
        json_object_set_new(spec, "labels", labels);
        if (!json_is_object(ann))
                return fail(reterr, "config.json: annotations must be an object of strings.");
        json_object_foreach (ann, k, v) {
                if (!json_is_string(v))
                        return fail(reterr, "config.json: annotations.%s must be a string.", k);
                if (streq(k, OCI_ANNOTATION_ISOLATION)) {
                        Isolation i = isolation_from_string(json_string_value(v));
                        if (i < 0)
                                return fail(reterr,
                                            "config.json: annotations." OCI_ANNOTATION_ISOLATION
                                            " must be auto, container or vm, not '%s'.",
                                            json_string_value(v));
                        json_object_set(spec, "isolation", v);
                        continue;
                }
                /* The rest become labels the policy matches on, where a label can hold them. */
                if (!identifier_is_valid(k) || json_string_length(v) > 256 ||
                    json_object_size(labels) >= SPEC_MAX_LABELS) {
                        r = warn(
                                t,
                                "annotation %s is not a label (key [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, value ≤ 256 "
                                "bytes, ≤ %u labels): the policy cannot match it",
                                k, SPEC_MAX_LABELS);
                        if (r < 0)
                                return r;
                        continue;
                }
                json_object_set(labels, k, v);
        }
        if (json_object_size(labels) == 0)
                json_object_del(spec, "labels");
        return 0;
}

int oci_config_translate(json_t *config, const char *bundle, OciTranslation *ret, char **reterr) {
        static const char *const keys[] = { "ociVersion", "root",  "process",     "hostname", "domainname",
                                            "mounts",     "hooks", "annotations", "linux",    NULL };
        OciTranslation t = {};
        const char *ver, *path;
        json_t *root, *v;
        int r;

        if (!json_is_object(config))
                return fail(reterr, "config.json must be a JSON object.");
        if (!bundle || bundle[0] != '/')
                return fail(reterr, "the bundle must be an absolute path.");
        t.spec = json_object();
        if (!t.spec)
                return -ENOMEM;
        r = known_keys(config, "", keys, reterr);
        if (r < 0)
                goto fail;
        ver = json_string_value(json_object_get(config, "ociVersion"));
        if (!ver || !startswith(ver, "1.")) {
                r = fail(reterr, "config.json: ociVersion '%s': isod reads runtime-spec 1.x.", strna(ver));
                goto fail;
        }

        root = json_object_get(config, "root");
        path = json_string_value(json_object_get(root, "path"));
        if (!path || !path[0]) {
                r = fail(reterr, "config.json: root.path is missing.");
                goto fail;
        }
        {
                static const char *const rkeys[] = { "path", "readonly", NULL };
                _cleanup_free_ char *abs = NULL;

                r = known_keys(root, "root", rkeys, reterr);
                if (r < 0)
                        goto fail;
                if (path[0] == '/')
                        abs = strdup(path);
                else if (asprintf(&abs, "%s/%s", bundle, path) < 0)
                        abs = NULL;
                if (!abs) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (!path_is_safe_absolute(abs)) {
                        r = fail(reterr, "config.json: root.path '%s' must not have '..' components.", path);
                        goto fail;
                }
                json_object_set_new(t.spec, "rootfs", json_string(abs));
                if (json_is_true(json_object_get(root, "readonly")))
                        json_object_set_new(t.spec, "readonly_rootfs", json_true());
        }

        r = translate_process(json_object_get(config, "process"), t.spec, &t, reterr);
        if (r < 0)
                goto fail;
        if ((v = json_object_get(config, "hostname")) && !empty(v))
                json_object_set(t.spec, "hostname", v);
        if (!empty(json_object_get(config, "domainname"))) {
                r = fail(reterr, "config.json: domainname is not supported.");
                goto fail;
        }
        if ((v = json_object_get(config, "hooks")) && !empty(v)) {
                const char *k;
                json_t *x;
                json_object_foreach (v, k, x)
                        if (!empty(x)) {
                                r = fail(reterr, "config.json: hooks.%s: isod runs no hooks.", k);
                                goto fail;
                        }
        }
        if ((v = json_object_get(config, "mounts")) && !json_is_null(v)) {
                r = translate_mounts(v, t.spec, &t, reterr);
                if (r < 0)
                        goto fail;
        }
        v = json_object_get(config, "linux");
        if (!json_is_object(v)) {
                r = fail(reterr, "config.json: linux is missing (isod runs Linux workloads).");
                goto fail;
        }
        r = translate_linux(v, t.spec, json_object_get(config, "annotations"), &t, reterr);
        if (r < 0)
                goto fail;
        if ((v = json_object_get(config, "annotations")) && !json_is_null(v)) {
                r = translate_annotations(v, t.spec, &t, reterr);
                if (r < 0)
                        goto fail;
        }
        /* Asked for a VM: the guest's kernel is the boundary and the capability set applies inside
         * containers only (isod's VM backend refuses "capabilities"). Said, not dropped silently. */
        if (t.caps_given && streq_ptr(json_string_value(json_object_get(t.spec, "isolation")), "vm")) {
                json_object_del(t.spec, "capabilities");
                r = warn(&t, "process.capabilities: not applied in a VM (its own kernel is the boundary)");
                if (r < 0)
                        goto fail;
        }
        if (streq_ptr(json_string_value(json_object_get(t.spec, "isolation")), "vm") &&
            json_is_array(json_object_get(t.spec, "mounts"))) {
                json_t *ms = json_object_get(t.spec, "mounts"), *m;
                size_t i;

                /* A VM mounts host directories read-only (virtio over erofs images): Podman's
                 * writable binds become read-only, its /dev/shm the guest's own. */
                for (i = json_array_size(ms); i-- > 0;) {
                        m = json_array_get(ms, i);
                        const char *src = json_string_value(json_object_get(m, "source"));
                        struct stat st;

                        if (src && stat(src, &st) >= 0 && !S_ISDIR(st.st_mode)) {
                                /* Podman's /etc/hosts, /etc/hostname, /run/.containerenv: files. */
                                r = warn(
                                        &t,
                                        "the bind of the file %s on %s: a VM mounts directories only, not applied",
                                        src, strna(json_string_value(json_object_get(m, "target"))));
                                json_array_remove(ms, i);
                        } else if (json_is_true(json_object_get(m, "readonly")))
                                continue;
                        else if (streq_ptr(json_string_value(json_object_get(m, "target")), "/dev/shm")) {
                                r = warn(&t, "the bind on /dev/shm: a VM has its own /dev/shm");
                                json_array_remove(ms, i);
                        } else {
                                r = warn(&t, "the bind on %s: read-only in a VM",
                                         strna(json_string_value(json_object_get(m, "target"))));
                                json_object_set_new(m, "readonly", json_true());
                        }
                        if (r < 0)
                                goto fail;
                }
                if (json_array_size(ms) == 0)
                        json_object_del(t.spec, "mounts");
        }
        if (json_object_get(json_object_get(t.spec, "process"), "rlimits") &&
            streq_ptr(json_string_value(json_object_get(t.spec, "isolation")), "vm")) {
                json_object_del(json_object_get(t.spec, "process"), "rlimits");
                r = warn(&t, "process.rlimits: not applied in a VM yet (the guest's agent sets no limits)");
                if (r < 0)
                        goto fail;
        }
        *ret = t;
        return 0;
fail:
        oci_translation_done(&t);
        return r;
}

/* An exec's process (runc exec --process FILE: a runtime-spec Process object) with the same rules
 * as the bundle's; messages name "--process" instead of config.json. */
int oci_process_translate(json_t *process, OciTranslation *ret, char **reterr) {
        OciTranslation t = {};
        int r;

        t.spec = json_object();
        if (!t.spec)
                return -ENOMEM;
        r = translate_process(process, t.spec, &t, reterr);
        if (r < 0) {
                const char *rest = reterr && *reterr ? startswith(*reterr, "config.json: process") : NULL;
                char *m = NULL;

                if (rest && asprintf(&m, "exec --process: the process%s", rest) >= 0) {
                        free(*reterr);
                        *reterr = m;
                }
                oci_translation_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

int oci_config_translate_text(const char *text, size_t size, const char *bundle, OciTranslation *ret,
                              char **reterr) {
        json_error_t jerr;
        json_t *j;
        int r;

        if (size > OCI_CONFIG_MAX)
                return set_error_message(reterr, -E2BIG, "config.json is larger than %u bytes.",
                                         OCI_CONFIG_MAX);
        j = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return set_error_message(reterr, -EBADMSG, "config.json: %s (line %d).", jerr.text,
                                         jerr.line);
        r = oci_config_translate(j, bundle, ret, reterr);
        json_decref(j);
        return r;
}
