/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config.json → workload spec translation (oci/oci-spec.c): a bundle as Podman 4.3 writes it for
 * `podman run --network none`, then one change at a time: every field either mapped (checked in the
 * spec that comes out, which isod's own parser must accept) or refused with a message naming it. */

#include "oci-spec.h"
#include "spec.h"
#include "tap.h"
#include "util.h"

static const char *const podman_config =
        "{\"ociVersion\":\"1.0.2-dev\","
        "\"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0,\"umask\":18,\"additionalGids\":[10]},"
        "\"args\":[\"sh\",\"-c\",\"exit 3\"],"
        "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"TERM=xterm\",\"container=podman\"],"
        "\"cwd\":\"/\","
        "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FOWNER\",\"CAP_FSETID\",\"CAP_KILL\","
        "\"CAP_NET_BIND_SERVICE\",\"CAP_SETFCAP\",\"CAP_SETGID\",\"CAP_SETPCAP\",\"CAP_SETUID\",\"CAP_SYS_CHROOT\"],"
        "\"effective\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FOWNER\",\"CAP_FSETID\",\"CAP_KILL\","
        "\"CAP_NET_BIND_SERVICE\",\"CAP_SETFCAP\",\"CAP_SETGID\",\"CAP_SETPCAP\",\"CAP_SETUID\",\"CAP_SYS_CHROOT\"],"
        "\"permitted\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FOWNER\",\"CAP_FSETID\",\"CAP_KILL\","
        "\"CAP_NET_BIND_SERVICE\",\"CAP_SETFCAP\",\"CAP_SETGID\",\"CAP_SETPCAP\",\"CAP_SETUID\",\"CAP_SYS_CHROOT\"]},"
        "\"oomScoreAdj\":0},"
        "\"root\":{\"path\":\"rootfs\"},"
        "\"hostname\":\"c1\","
        "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
        "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
        "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
        "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
        "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
        "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"rprivate\",\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]},"
        "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/var/lib/containers/storage/overlay-containers/c1/userdata/shm\",\"options\":[\"bind\",\"rprivate\",\"nosuid\",\"noexec\",\"nodev\"]},"
        "{\"destination\":\"/etc/hostname\",\"type\":\"bind\",\"source\":\"/run/containers/storage/overlay-containers/c1/userdata/hostname\",\"options\":[\"bind\",\"rprivate\"]},"
        "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/run/containers/storage/overlay-containers/c1/userdata/hosts\",\"options\":[\"bind\",\"rprivate\",\"ro\"]}],"
        "\"annotations\":{\"io.container.manager\":\"libpod\",\"io.kubernetes.cri-o.Created\":\"2026-12-03T10:00:00Z\","
        "\"org.opencontainers.image.stopSignal\":\"15\",\"" OCI_ANNOTATION_ISOLATION "\":\"container\"},"
        "\"linux\":{\"sysctl\":{},\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
        "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
        "{\"allow\":true,\"type\":\"c\",\"major\":136,\"access\":\"rwm\"}],"
        "\"memory\":{\"limit\":268435456,\"swap\":268435456},\"cpu\":{\"quota\":150000,\"period\":100000},"
        "\"pids\":{\"limit\":2048}},"
        "\"cgroupsPath\":\"machine.slice:libpod:c1\","
        "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
        "{\"type\":\"mount\"},{\"type\":\"cgroup\"}],"
        "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"}]},"
        "\"maskedPaths\":[\"/proc/acpi\",\"/proc/kcore\",\"/sys/firmware\"],"
        "\"readonlyPaths\":[\"/proc/bus\",\"/proc/sys\"]}}";

/* The base config with PATH (a.b.c) set to VALUE (JSON text), or deleted when VALUE is NULL. */
static json_t *mutate(const char *path, const char *value) {
        json_t *root = json_loads(podman_config, 0, NULL), *o = root;
        char *p = strdup(path), *save = NULL, *k, *next;

        for (k = strtok_r(p, ".", &save); k; k = next) {
                next = strtok_r(NULL, ".", &save);
                if (!next) {
                        if (value)
                                json_object_set_new(o, k, json_loads(value, JSON_DECODE_ANY, NULL));
                        else
                                json_object_del(o, k);
                        break;
                }
                if (!json_object_get(o, k))
                        json_object_set_new(o, k, json_object());
                o = json_object_get(o, k);
        }
        free(p);
        return root;
}

static void test_podman_bundle(void) {
        OciTranslation t = {};
        _cleanup_free_ char *err = NULL, *text = NULL, *err2 = NULL;
        WorkloadSpec *s = NULL;
        int r;

        r = oci_config_translate_text(podman_config, strlen(podman_config), "/run/b/c1", &t, &err);
        ok(r == 0, "Podman's config.json translates (%s)", strna(err));
        if (r < 0)
                return;
        json_object_set_new(t.spec, "seccomp", json_string("/run/isod-oci/c1/seccomp.json"));
        text = json_dumps(t.spec, JSON_COMPACT | JSON_SORT_KEYS);
        diag("spec: %s", strna(text));
        r = workload_spec_parse(text, strlen(text), &s, &err2);
        ok(r == 0, "isod's parser accepts the result (%s)", strna(err2));
        if (r < 0) {
                oci_translation_done(&t);
                return;
        }
        ok(streq_ptr(s->rootfs, "/run/b/c1/rootfs"), "root.path relative to the bundle");
        ok(s->args && streq(s->args[0], "sh") && streq(s->args[2], "exit 3") && !s->args[3], "process.args");
        ok(s->env && streq(s->env[2], "container=podman"), "process.env");
        ok(streq_ptr(s->cwd, "/"), "process.cwd");
        ok(s->user_set && s->uid == 0 && s->gid == 0 && s->n_groups == 1 && s->groups[0] == 10,
           "process.user and additionalGids");
        ok(s->caps_set && s->caps == ((1ULL << 0) | (1ULL << 1) | (1ULL << 3) | (1ULL << 4) | (1ULL << 5) |
                                      (1ULL << 10) | (1ULL << 31) | (1ULL << 6) | (1ULL << 8) | (1ULL << 7) |
                                      (1ULL << 18)),
           "process.capabilities: Podman's 11 as the spec's set");
        ok(streq_ptr(s->hostname, "c1"), "hostname");
        ok(s->network == NETWORK_NONE, "a network namespace of its own: network none");
        ok(s->memory == 256ULL << 20 && s->cpus == 1.5 && s->pids == 2048, "memory, cpu quota/period, pids");
        ok(s->n_mounts == 3 && streq(s->mounts[0].target, "/dev/shm") && !s->mounts[0].readonly &&
                   streq(s->mounts[2].target, "/etc/hosts") && s->mounts[2].readonly,
           "bind mounts (Podman's shm, hostname, hosts; ro kept); the standard ones are isod's own");
        ok(s->isolation == ISOLATION_CONTAINER, "annotation " OCI_ANNOTATION_ISOLATION " → isolation");
        ok(streq_ptr(workload_spec_label(s, "io.container.manager"), "libpod") &&
                   streq_ptr(workload_spec_label(s, "org.opencontainers.image.stopSignal"), "15"),
           "annotations → labels for the policy");
        ok(t.seccomp && streq_ptr(json_string_value(json_object_get(t.seccomp, "defaultAction")),
                                  "SCMP_ACT_ERRNO"),
           "linux.seccomp handed to the caller (isod's profile format)");
        ok(strv_length(t.warnings) == 3,
           "three warnings: noNewPrivileges, /sys/fs/cgroup, cgroupsPath (%zu)", strv_length(t.warnings));
        for (size_t i = 0; t.warnings && t.warnings[i]; i++)
                diag("warning: %s", t.warnings[i]);
        workload_spec_free(s);
        oci_translation_done(&t);
}

static const struct {
        const char *path, *value; /* value NULL: deleted */
        const char *message;      /* NULL: accepted */
} cases[] = {
        { "ociVersion", "\"2.0.0\"", "ociVersion '2.0.0'" },
        { "ociVersion", NULL, "ociVersion 'n/a'" },
        { "windows", "{}", "windows is not supported" },
        { "root.path", NULL, "root.path is missing" },
        { "root.path", "\"../../etc\"", "must not have '..'" },
        { "root.readonly", "true", NULL },
        { "root.propagation", "\"x\"", "root.propagation is not supported" },
        { "process", NULL, "process is missing" },
        { "process.args", "[]", "process.args must be a non-empty array" },
        { "process.commandLine", "\"x\"", "process.commandLine is not supported" },
        { "process.cwd", "\"rel\"", "process.cwd must be an absolute path" },
        { "process.env", "[1]", "process.env must be an array" },
        { "process.user.uid", "70000", "uid and .gid must be numbers below 65535" },
        { "process.user.umask", "63", "umask: isod starts workloads with 0022 only" },
        { "process.user.username", "\"x\"", "process.user.username is not supported" },
        { "process.capabilities.ambient", "[\"CAP_KILL\"]", "inheritable and .ambient must be empty" },
        { "process.capabilities.effective", "[\"CAP_KILL\"]",
          "bounding, effective and permitted must be the same" },
        { "process.capabilities.bounding", "[\"CAP_NOPE\"]", "bounding[0] is not a capability" },
        { "process.rlimits", "[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}]", NULL },
        { "process.rlimits", "[]", NULL },
        { "process.noNewPrivileges", "true", NULL },
        { "process.apparmorProfile", "\"unconfined\"", "apparmorProfile: isod applies no LSM" },
        { "process.selinuxLabel", "\"x\"", "selinuxLabel: isod applies no LSM" },
        { "process.oomScoreAdj", "500", "oomScoreAdj other than 0" },
        { "process.terminal", "true", NULL },
        { "domainname", "\"example\"", "domainname is not supported" },
        { "hooks", "{\"prestart\":[{\"path\":\"/bin/true\"}]}", "hooks.prestart: isod runs no hooks" },
        { "hooks", "{\"prestart\":[]}", NULL },
        { "mounts", "[{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]", NULL },
        { "mounts",
          "[{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\",\"noexec\"]}]",
          NULL },
        { "mounts",
          "[{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"ro\"]}]",
          "(tmpfs on /run): the option 'ro' is not supported" },
        { "mounts",
          "[{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"uid=5\"]}]",
          "the option 'uid=5' is not supported" },
        { "mounts",
          "[{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"size=lots\"]}]",
          "(tmpfs on /run): bad size 'lots'" },
        { "mounts",
          "[{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"size=9999g\"]}]",
          "bad size '9999g'" },
        { "mounts", "[{\"destination\":\"/tmp\",\"type\":\"overlay\",\"source\":\"overlay\"}]",
          "a overlay mount on /tmp is not supported" },
        { "mounts",
          "[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"rel\",\"options\":[\"rbind\"]}]",
          "the source must be an absolute path" },
        { "mounts", "[{\"destination\":\"rel\",\"type\":\"bind\",\"source\":\"/x\"}]",
          "destination must be an absolute path" },
        { "mounts", "[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/x\",\"uidMappings\":[]}]",
          "mounts[0].uidMappings is not supported" },
        { "linux", NULL, "linux is missing" },
        { "linux.namespaces",
          "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}]",
          NULL }, /* no network namespace: the host's (containers only, by isod's policy) */
        { "linux.namespaces",
          "[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}]",
          NULL }, /* Podman's netavark, a CNI sandbox: network mode netns (test_netns) */
        { "linux.namespaces", "[{\"type\":\"network\",\"path\":\"netns/x\"}]",
          "the network namespace's path must be absolute" },
        { "linux.namespaces", "[{\"type\":\"ipc\",\"path\":\"/proc/1/ns/ipc\"}]",
          "joining an existing ipc namespace (/proc/1/ns/ipc) is not supported" },
        { "linux.namespaces",
          "[{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}]",
          "has no pid namespace: sharing the host's is not supported" },
        { "linux.namespaces",
          "[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}]",
          NULL }, /* no cgroup namespace (Podman on v1): isod's own, with a warning */
        { "linux.namespaces",
          "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"},{\"type\":\"user\"}]",
          "a user namespace with the caller's id maps is not supported yet" },
        { "linux.namespaces", "[{\"type\":\"bogus\"}]", "unknown type 'bogus'" },
        { "linux.uidMappings", "[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]",
          "uidMappings/gidMappings" },
        { "linux.sysctl", "{\"net.ipv4.ip_forward\":\"1\"}", "linux.sysctl is not supported" },
        { "linux.devices", "[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}]",
          "linux.devices is not supported" },
        { "linux.resources.devices",
          "[{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rwm\"}]",
          "isod allows exactly null, zero" },
        { "linux.resources.memory.swap", "1073741824", "gives no swap beyond the memory limit" },
        { "linux.resources.memory.reservation", "1000", "memory.reservation is not supported" },
        { "linux.resources.cpu.shares", "512", NULL }, /* → cpu_weight 20 (test_cpu_shares) */
        { "linux.resources.cpu.shares", "1", "cpu.shares must be between 2 and 262144" },
        { "linux.resources.cpu.shares", "300000", "cpu.shares must be between 2 and 262144" },
        { "linux.resources.cpu.cpus", "\"0-1\"", "cpu.cpus is not supported" },
        { "linux.resources.hugepageLimits", "[{\"pageSize\":\"2MB\",\"limit\":1}]",
          "hugepageLimits is not supported" },
        { "linux.resources.blockIO", "{\"weight\":500}", NULL },
        { "linux.resources.blockIO", "{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1}]}",
          "blockIO.throttleReadBpsDevice is not supported" },
        { "linux.resources.bogus", "1", "linux.resources.bogus is not supported" },
        { "linux.maskedPaths", "[\"/etc\"]", "maskedPaths[0] (/etc): isod masks OCI's default paths only" },
        { "linux.readonlyPaths", "[\"/usr\"]", "readonlyPaths[0] (/usr)" },
        { "linux.rootfsPropagation", "\"shared\"", "rootfsPropagation 'shared'" },
        { "linux.rootfsPropagation", "\"rprivate\"", NULL },
        { "linux.mountLabel", "\"x\"", "linux.mountLabel is not supported" },
        { "linux.seccomp", "\"x\"", "linux.seccomp must be an object" },
        { "linux.intelRdt", "{\"closID\":\"x\"}", "linux.intelRdt is not supported" },
        { "annotations", "{\"" OCI_ANNOTATION_ISOLATION "\":\"gpu\"}",
          "must be auto, container or vm, not 'gpu'" },
        { "annotations", "{\"k\":1}", "annotations.k must be a string" },
        { "annotations", "{\"a key with spaces\":\"v\"}", NULL }, /* not a label: a warning */
};

static void test_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *j = mutate(cases[i].path, cases[i].value);
                OciTranslation t = {};
                _cleanup_free_ char *err = NULL;
                int r = oci_config_translate(j, "/run/b/c1", &t, &err);

                if (!cases[i].message) {
                        _cleanup_free_ char *text = NULL, *perr = NULL;
                        WorkloadSpec *s = NULL;

                        ok(r == 0, "%s = %s: accepted (%s)", cases[i].path, strna(cases[i].value),
                           strna(err));
                        if (r == 0) {
                                text = json_dumps(t.spec, JSON_COMPACT);
                                ok(workload_spec_parse(text, strlen(text), &s, &perr) == 0,
                                   "... and isod's parser accepts the spec (%s)", strna(perr));
                                workload_spec_free(s);
                        }
                } else
                        ok(r == -EINVAL && err && strstr(err, cases[i].message),
                           "%s = %s: refused, naming it (%s)", cases[i].path, strna(cases[i].value),
                           strna(err));
                oci_translation_done(&t);
                json_decref(j);
        }
}

static void test_vm_annotation(void) {
        json_t *j = mutate("annotations", "{\"" OCI_ANNOTATION_ISOLATION "\":\"vm\"}");
        OciTranslation t = {};
        _cleanup_free_ char *err = NULL;

        ok(oci_config_translate(j, "/run/b/c1", &t, &err) == 0 &&
                   streq_ptr(json_string_value(json_object_get(t.spec, "isolation")), "vm"),
           "annotation isolation=vm → isolation vm (%s)", strna(err));
        bool said = false, ro = false, shm = false;
        for (size_t i = 0; t.warnings && t.warnings[i]; i++) {
                said = said || strstr(t.warnings[i], "process.capabilities: not applied in a VM");
                ro = ro || strstr(t.warnings[i], "the bind on /etc/hostname: read-only in a VM");
                shm = shm || strstr(t.warnings[i], "the bind on /dev/shm: a VM has its own");
        }
        ok(!json_object_get(t.spec, "capabilities") && said,
           "... and the capability set is not applied in a VM, with a warning saying so");
        ok(ro && shm, "... writable binds become read-only and /dev/shm the guest's own, each said");
        {
                json_t *ms = json_object_get(t.spec, "mounts");
                ok(json_array_size(ms) == 2 &&
                           json_is_true(json_object_get(json_array_get(ms, 0), "readonly")) &&
                           json_is_true(json_object_get(json_array_get(ms, 1), "readonly")),
                   "... two binds left, both read-only");
        }
        oci_translation_done(&t);
        json_decref(j);
}

static void test_cpu_shares(void) {
        static const struct {
                const char *shares;
                int weight; /* 0: none */
        } c[] = { { "2", 1 }, { "512", 20 }, { "1024", 0 }, { "2048", 79 }, { "262144", 10000 } };

        for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                json_t *j = mutate("linux.resources.cpu.shares", c[i].shares);
                OciTranslation t = {};
                _cleanup_free_ char *err = NULL;
                json_t *w;

                (void) oci_config_translate(j, "/run/b/c1", &t, &err);
                w = json_object_get(json_object_get(t.spec, "resources"), "cpu_weight");
                ok(c[i].weight ? json_integer_value(w) == c[i].weight : !w,
                   "cpu.shares %s → cpu_weight %d (runc's mapping; 1024 stays the default) (%s)",
                   c[i].shares, c[i].weight, strna(err));
                oci_translation_done(&t);
                json_decref(j);
        }
}

static void test_netns(void) {
        json_t *j = mutate(
                "linux.namespaces",
                "[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/netns-1\"},"
                "{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}]");
        OciTranslation t = {};
        _cleanup_free_ char *err = NULL;
        json_t *n;

        ok(oci_config_translate(j, "/run/b/c1", &t, &err) == 0, "a network namespace path translates (%s)",
           strna(err));
        n = json_object_get(t.spec, "network");
        ok(streq_ptr(json_string_value(json_object_get(n, "mode")), "netns") &&
                   streq_ptr(json_string_value(json_object_get(n, "path")), "/run/netns/netns-1"),
           "... as network mode netns with its path");
        oci_translation_done(&t);
        json_decref(j);
}

static void test_tmpfs(void) {
        json_t *j = mutate("mounts",
                           "[{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
                           "\"options\":[\"nosuid\",\"nodev\",\"mode=755\",\"size=64k\",\"noexec\"]},"
                           "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]");
        OciTranslation t = {};
        _cleanup_free_ char *err = NULL;
        json_t *tm;

        ok(oci_config_translate(j, "/run/b/c1", &t, &err) == 0, "two tmpfs mounts translate (%s)",
           strna(err));
        tm = json_object_get(t.spec, "tmpfs");
        ok(json_array_size(tm) == 2 &&
                   streq_ptr(json_string_value(json_object_get(json_array_get(tm, 0), "target")), "/run") &&
                   json_integer_value(json_object_get(json_array_get(tm, 0), "size")) == 65536 &&
                   streq_ptr(json_string_value(json_object_get(json_array_get(tm, 0), "mode")), "755") &&
                   json_is_true(json_object_get(json_array_get(tm, 0), "noexec")) &&
                   !json_object_get(json_array_get(tm, 1), "size"),
           "... as the spec's tmpfs: /run with 64 KiB, mode 755, noexec; /tmp with the defaults");
        oci_translation_done(&t);
        json_decref(j);
}

/* A CRI pod: containerd's host-network sandbox (no network, no uts namespace) and a container of
 * it that joins the sandbox's ipc and uts namespaces by /proc/PID/ns/… path. */
static json_t *cri_bundle(const char *type, const char *namespaces) {
        json_t *j = mutate("linux.namespaces", namespaces);
        json_t *a = json_pack("{s:s,s:s,s:s}", "io.kubernetes.cri.container-type", type,
                              "io.kubernetes.cri.sandbox-id", "a255153168d938187c8f959f32f103558d08",
                              "io.kubernetes.cri.sandbox-namespace", "default");

        json_object_set_new(j, "annotations", a);
        return j;
}

static void test_pod(void) {
        static const struct {
                const char *type, *namespaces, *message; /* message NULL: accepted */
                int pod_pid;
        } pcases[] = {
                { "container",
                  "[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/proc/77/ns/ipc\"},{\"type\":\"uts\",\"path\":\"/proc/77/ns/uts\"},{\"type\":\"mount\"}]",
                  NULL, 77 },
                { "container",
                  "[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/proc/77/ns/ipc\"},{\"type\":\"network\",\"path\":\"/proc/77/ns/net\"},{\"type\":\"mount\"}]",
                  NULL, 77 },
                { "container",
                  "[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/proc/77/ns/ipc\"},{\"type\":\"uts\",\"path\":\"/proc/78/ns/uts\"},{\"type\":\"mount\"}]",
                  "/proc/78/ns/uts is not the pod sandbox's uts namespace", 0 },
                { "container",
                  "[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/proc/77/ns/uts\"},{\"type\":\"mount\"}]",
                  "/proc/77/ns/uts is not the pod sandbox's ipc namespace", 0 },
                { "container",
                  "[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/run/netns/x/../../proc/1/ns/ipc\"},{\"type\":\"mount\"}]",
                  "is not the pod sandbox's ipc namespace", 0 },
                { "container",
                  "[{\"type\":\"pid\",\"path\":\"/proc/77/ns/pid\"},{\"type\":\"ipc\",\"path\":\"/proc/77/ns/ipc\"},{\"type\":\"mount\"}]",
                  "shareProcessNamespace, is not supported", 0 },
                { "container",
                  "[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/proc/77/ns/ipc\"},{\"type\":\"mount\",\"path\":\"/proc/77/ns/mnt\"}]",
                  "joining an existing mount namespace", 0 },
                { "sandbox", "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"mount\"}]", NULL, 0 },
                { "sandbox",
                  "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"network\"},{\"type\":\"mount\"}]",
                  "has no uts namespace: sharing the host's is not supported", 0 },
                { "sandbox",
                  "[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/proc/77/ns/ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}]",
                  "joining an existing ipc namespace", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(pcases); i++) {
                json_t *j = cri_bundle(pcases[i].type, pcases[i].namespaces);
                OciTranslation t = {};
                _cleanup_free_ char *err = NULL;
                int r = oci_config_translate(j, "/run/b/c1", &t, &err);

                if (!pcases[i].message) {
                        bool member = streq(pcases[i].type, "container");
                        _cleanup_free_ char *text = NULL, *perr = NULL;
                        WorkloadSpec *s = NULL;

                        ok(r == 0, "CRI %s #%zu: accepted (%s)", pcases[i].type, i, strna(err));
                        if (r < 0)
                                goto next;
                        text = json_dumps(t.spec, JSON_COMPACT);
                        ok(workload_spec_parse(text, strlen(text), &s, &perr) == 0,
                           "... and isod's parser accepts the spec (%s)", strna(perr));
                        if (member)
                                ok(s && streq_ptr(s->pod, "a255153168d938187c8f959f32f103558d08") &&
                                           t.pod_pid == pcases[i].pod_pid && s->network == NETWORK_NONE &&
                                           !s->hostname && streq_ptr(t.pod, s->pod),
                                   "... a member of pod a2551531…: \"pod\" set, the PID to check kept, no network "
                                   "or hostname of its own");
                        else
                                ok(s && !s->pod && s->network == NETWORK_HOST && s->hostname &&
                                           t.pod_pid == 0,
                                   "... a host-network sandbox: network host, its own uts namespace named as the "
                                   "host (%s)",
                                   s ? strna(s->hostname) : "-");
                        workload_spec_free(s);
                } else
                        ok(r == -EINVAL && err && strstr(err, pcases[i].message),
                           "CRI %s #%zu: refused (%s)", pcases[i].type, i, strna(err));
next:
                oci_translation_done(&t);
                json_decref(j);
        }
}

static void test_bad_text(void) {
        OciTranslation t = {};
        char *err = NULL;
        static const char dup[] = "{\"ociVersion\":\"1.0.0\",\"ociVersion\":\"1.0.0\"}";

        ok(oci_config_translate_text("{", 1, "/b", &t, &err) == -EBADMSG && err,
           "malformed JSON: -EBADMSG (%s)", strna(err));
        free(err);
        err = NULL;
        ok(oci_config_translate_text(dup, strlen(dup), "/b", &t, &err) == -EBADMSG && err &&
                   strstr(err, "duplicate"),
           "duplicate keys refused (%s)", strna(err));
        free(err);
        err = NULL;
        ok(oci_config_translate_text(podman_config, strlen(podman_config), "rel", &t, &err) == -EINVAL,
           "a relative bundle path refused (%s)", strna(err));
        free(err);
}

int main(void) {
        test_podman_bundle();
        test_cases();
        test_vm_annotation();
        test_tmpfs();
        test_netns();
        test_cpu_shares();
        test_pod();
        test_bad_text();
        printf("1..%u\n", tap_n);
        return tap_failed ? 1 : 0;
}
