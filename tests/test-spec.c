/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include "spec.h"
#include "tap.h"
#include "util.h"

/* Table-driven: spec JSON in, success or an error whose message names the problem. */

static const struct {
        const char *json;
        int error;           /* 0 = valid */
        const char *message; /* substring of the error message */
} cases[] = {
        { "{\"process\":{\"args\":[\"/bin/true\"]}}", 0, NULL },
        { "{\"name\":\"web\",\"isolation\":\"vm\",\"image\":\"busybox\",\"process\":{\"args\":[\"sh\"],"
          "\"env\":[\"A=1\"],\"cwd\":\"/\",\"user\":\"1000:1000\",\"terminal\":false},"
          "\"resources\":{\"memory\":\"256M\",\"cpus\":1.5,\"pids\":256},\"network\":{\"mode\":\"none\"},"
          "\"mounts\":[{\"source\":\"/data\",\"target\":\"/data\",\"readonly\":true}],\"hostname\":\"web\","
          "\"labels\":{\"trust\":\"untrusted\"}}",
          0, NULL },
        { "{", -EBADMSG, "not valid JSON" },
        { "[]", -EINVAL, "JSON object" },
        { "{\"process\":{\"args\":[\"x\"]},\"bogus\":1}", -EINVAL, "Unknown key 'bogus'" },
        { "{\"process\":{\"args\":[\"x\"],\"bogus\":1}}", -EINVAL, "Unknown key 'process.bogus'" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"ram\":1}}", -EINVAL, "resources.ram" },
        { "{\"name\":\"../x\",\"process\":{\"args\":[\"x\"]}}", -EINVAL, "Invalid workload name '../x'" },
        { "{\"name\":\"a/b\",\"process\":{\"args\":[\"x\"]}}", -EINVAL, "Invalid workload name" },
        { "{\"name\":\".hidden\",\"process\":{\"args\":[\"x\"]}}", -EINVAL, "Invalid workload name" },
        { "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"process\":{\"args\":[\"x\"]}}",
          -EINVAL, "Invalid workload name" },
        { "{\"name\":5,\"process\":{\"args\":[\"x\"]}}", -EINVAL, "'name' must be a string" },
        { "{}", -EINVAL, "'process' is missing" },
        { "{\"process\":{\"args\":[]}}", -EINVAL, "at least one" },
        { "{\"process\":{\"args\":[1]}}", -EINVAL, "process.args[0]" },
        { "{\"process\":{\"args\":[\"x\"],\"env\":[\"NOEQUALS\"]}}", -EINVAL, "NAME=VALUE" },
        { "{\"process\":{\"args\":[\"x\"],\"cwd\":\"relative\"}}", -EINVAL, "process.cwd" },
        { "{\"process\":{\"args\":[\"x\"],\"cwd\":\"/a/../b\"}}", -EINVAL, "process.cwd" },
        { "{\"process\":{\"args\":[\"x\"],\"user\":\"root\"}}", -EINVAL, "process.user" },
        { "{\"process\":{\"args\":[\"x\"]},\"isolation\":\"chroot\"}", -EINVAL, "'isolation'" },
        { "{\"process\":{\"args\":[\"x\"]},\"image\":\"a\",\"rootfs\":\"/b\"}", -EINVAL, "not both" },
        { "{\"process\":{\"args\":[\"x\"]},\"rootfs\":\"../etc\"}", -EINVAL, "'rootfs'" },
        { "{\"process\":{\"args\":[\"x\"]},\"image\":\"../../etc\"}", -EINVAL, "Invalid image name" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"memory\":\"lots\"}}", -EINVAL,
          "resources.memory" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"memory\":\"99999999999T\"}}", -EINVAL,
          "resources.memory" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"memory\":\"2T\"}}", -EINVAL,
          "between 4M and 1T" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"cpus\":0}}", -EINVAL, "resources.cpus" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"cpus\":1000}}", -EINVAL, "resources.cpus" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"pids\":-1}}", -EINVAL, "resources.pids" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"cpu_weight\":20}}", 0, NULL },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"cpu_weight\":0}}", -EINVAL,
          "'resources.cpu_weight' must be an integer between 1 and 10000" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"cpu_weight\":10001}}", -EINVAL,
          "resources.cpu_weight" },
        { "{\"process\":{\"args\":[\"x\"]},\"resources\":{\"cpu_weight\":\"high\"}}", -EINVAL,
          "resources.cpu_weight" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"bridge\"}}", -EINVAL, "not supported" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"ports\":[{\"host\":0,\"guest\":80}]}}",
          -EINVAL, "network.ports[0].host" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"ports\":[{\"host\":70000,\"guest\":80}]}}",
          -EINVAL, "between 1 and 65535" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"ports\":[{\"host\":80,\"guest\":80},{\"host\":80,\"guest\":81}]}}",
          -EINVAL, "again" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"ports\":[{\"host\":80,\"guest\":80,\"proto\":\"sctp\"}]}}",
          -EINVAL, "proto" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"ports\":[{\"host\":80,\"guest\":80,\"address\":\"1.2.3\"}]}}",
          -EINVAL, "address" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"ports\":[{\"host\":80,\"guest\":80,\"bind\":1}]}}",
          -EINVAL, "Unknown key" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"none\",\"ports\":[{\"host\":80,\"guest\":80}]}}",
          -EINVAL, "needs" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"host\",\"ip\":\"10.0.0.2\"}}", -EINVAL,
          "needs" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"network\":\"../x\"}}", -EINVAL,
          "Invalid network name" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"network\":\"abcdefghijklmnop\"}}",
          -EINVAL, "Invalid network name" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"ip\":\"010.1.2.3\"}}", -EINVAL,
          "network.ip" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"mac\":\"01:00:5e:00:00:01\"}}",
          -EINVAL, "multicast" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"mac\":\"02:00:00:00:00\"}}",
          -EINVAL, "network.mac" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"dns\":[]}}", -EINVAL,
          "Unknown key" },
        { "{\"process\":{\"args\":[\"x\"]},\"mounts\":[{\"source\":\"rel\",\"target\":\"/x\"}]}", -EINVAL,
          "mounts[0].source" },
        { "{\"process\":{\"args\":[\"x\"]},\"mounts\":[{\"source\":\"/x\",\"target\":\"/\"}]}", -EINVAL,
          "mounts[0].target" },
        { "{\"process\":{\"args\":[\"x\"]},\"mounts\":[{\"source\":\"/x\",\"target\":\"/y/../../etc\"}]}",
          -EINVAL, "mounts[0].target" },
        { "{\"process\":{\"args\":[\"x\"]},\"mounts\":[{\"source\":\"/x\",\"target\":\"/y\",\"bind\":1}]}",
          -EINVAL, "Unknown key 'mounts[0].bind'" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\",\"size\":1048576,\"mode\":\"0755\",\"noexec\":true},{\"target\":\"/tmp\"}]}",
          0, NULL },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":{}}", -EINVAL, "'tmpfs' must be an array" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/\"}]}", -EINVAL, "tmpfs[0].target" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/a/../../etc\"}]}", -EINVAL,
          "tmpfs[0].target" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\"},{\"target\":\"/run\"}]}",
          -EINVAL, "tmpfs[1].target': tmpfs[0] is mounted there already" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\",\"size\":12}]}", -EINVAL,
          "tmpfs[0].size' must be a number of bytes from 4096 to 1 TiB" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\",\"size\":99999999999999999}]}",
          -EINVAL, "tmpfs[0].size" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\",\"mode\":\"0999\"}]}", -EINVAL,
          "tmpfs[0].mode' must be a string of octal digits" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\",\"mode\":\"17777\"}]}", -EINVAL,
          "tmpfs[0].mode" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\",\"mode\":755}]}", -EINVAL,
          "tmpfs[0].mode" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\",\"uid\":0}]}", -EINVAL,
          "Unknown key 'tmpfs[0].uid'" },
        { "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/1\"},{\"target\":\"/2\"},{\"target\":\"/3\"},{\"target\":\"/4\"},{\"target\":\"/5\"},{\"target\":\"/6\"},{\"target\":\"/7\"},{\"target\":\"/8\"},{\"target\":\"/9\"},{\"target\":\"/10\"},{\"target\":\"/11\"},{\"target\":\"/12\"},{\"target\":\"/13\"},{\"target\":\"/14\"},{\"target\":\"/15\"},{\"target\":\"/16\"},{\"target\":\"/17\"}]}",
          -EINVAL, "'tmpfs' has too many entries" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"netns\",\"path\":\"/run/netns/a\"}}", 0,
          NULL },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"netns\"}}", -EINVAL,
          "'network.path' must name the network namespace to join" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"netns\",\"path\":\"/run/../etc/x\"}}",
          -EINVAL, "'network.path' must name" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"none\",\"path\":\"/run/netns/a\"}}",
          -EINVAL, "'network.path' needs \"mode\": \"netns\"" },
        { "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"netns\",\"path\":\"/run/netns/a\",\"ports\":[{\"host\":80,\"guest\":80}]}}",
          -EINVAL, "'network.ports' needs \"mode\": \"nat\"" },
        { "{\"process\":{\"args\":[\"x\"]},\"pod\":\"sandbox1\"}", 0, NULL },
        { "{\"process\":{\"args\":[\"x\"]},\"pod\":\"../x\"}", -EINVAL, "Invalid pod workload name '../x'" },
        { "{\"process\":{\"args\":[\"x\"]},\"pod\":5}", -EINVAL, "'pod' must be a string" },
        { "{\"name\":\"a\",\"process\":{\"args\":[\"x\"]},\"pod\":\"a\"}", -EINVAL,
          "'pod' names the workload itself" },
        { "{\"process\":{\"args\":[\"x\"]},\"pod\":\"s\",\"network\":{\"mode\":\"host\"}}", -EINVAL,
          "'network' must be unset or none, not host" },
        { "{\"process\":{\"args\":[\"x\"]},\"pod\":\"s\",\"hostname\":\"h\"}", -EINVAL,
          "'hostname' must be unset" },
        { "{\"process\":{\"args\":[\"x\"]},\"hostname\":\"bad host\"}", -EINVAL, "hostname" },
        { "{\"process\":{\"args\":[\"x\"]},\"labels\":{\"k\":1}}", -EINVAL, "Label 'k'" },
        { "{\"process\":{\"args\":[\"x\"]},\"labels\":{\"../k\":\"v\"}}", -EINVAL, "Label key" },
        { "{\"process\":{\"args\":[\"x\"]},\"userns\":\"yes\"}", -EINVAL, "'userns' must be true or false" },
        { "{\"process\":{\"args\":[\"x\"],\"interactive\":1}}", -EINVAL,
          "'process.interactive' must be true or false" },
        { "{\"process\":{\"args\":[\"x\"],\"interactive\":true}}", 0, NULL },
        { "{\"process\":{\"args\":[\"x\"]},\"seccomp\":\"rel/path\"}", -EINVAL, "'seccomp'" },
        { "{\"process\":{\"args\":[\"x\"]},\"process\":{\"args\":[\"y\"]}}", -EBADMSG, "duplicate" },
        { "{\"process\":{\"args\":[\"x\"]},\"capabilities\":[\"CAP_CHOWN\",\"CAP_KILL\"]}", 0, NULL },
        { "{\"process\":{\"args\":[\"x\"]},\"capabilities\":[]}", 0, NULL },
        { "{\"process\":{\"args\":[\"x\"]},\"capabilities\":[\"chown\"]}", -EINVAL,
          "'capabilities[0]' is not a capability name" },
        { "{\"process\":{\"args\":[\"x\"]},\"capabilities\":\"CAP_CHOWN\"}", -EINVAL,
          "'capabilities' must be an array" },
        { "{\"image\":\"app:1.0\"}", 0, NULL },
        { "{\"image\":\"../x\",\"process\":{\"args\":[\"x\"]}}", -EINVAL, "Invalid image name" },
        { "{\"image\":\"a/./b\",\"process\":{\"args\":[\"x\"]}}", -EINVAL, "Invalid image name" },
        { "{\"image\":\"a:b:c\",\"process\":{\"args\":[\"x\"]}}", -EINVAL, "Invalid image name" },
        { "{\"image\":\"sha256:12\",\"process\":{\"args\":[\"x\"]}}", -EINVAL, "Invalid image name" },
        { "{\"process\":{\"entrypoint\":[\"/bin/echo\"]}}", 0, NULL },
        { "{\"process\":{\"entrypoint\":\"/bin/echo\"}}", -EINVAL, "'process.entrypoint' must be an array" },
        { "{\"process\":{\"env\":[\"A=1\"]}}", -EINVAL, "'process.args' must have at least one element" },
        { "{\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":64,\"hard\":128}]}}",
          0, NULL },
        { "{\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]}}",
          -EINVAL, "'process.rlimits[0].type' must be an RLIMIT_" },
        { "{\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":9,\"hard\":1}]}}",
          -EINVAL, "needs soft" },
        { "{\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1}]}}",
          -EINVAL, "RLIMIT_NOFILE is set twice" },
        { "{\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1,\"x\":1}]}}",
          -EINVAL, "process.rlimits[0]" },
};

static void test_table(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                WorkloadSpec *s = NULL;
                char *err = NULL;
                int r;

                r = workload_spec_parse(cases[i].json, strlen(cases[i].json), &s, &err);
                if (cases[i].error == 0)
                        ok(r == 0 && s, "valid spec #%zu parses (%s)", i, strna(err));
                else {
                        ok(r == cases[i].error, "invalid spec #%zu returns %d (got %d)", i, cases[i].error,
                           r);
                        ok(err && strstr(err, cases[i].message), "message for #%zu mentions '%s' (got '%s')",
                           i, cases[i].message, strna(err));
                        ok(!s, "no spec returned on failure #%zu", i);
                }
                workload_spec_free(s);
                free(err);
        }
}

static void test_roundtrip(void) {
        WorkloadSpec *s = NULL, *c = NULL;
        char *t1, *t2;
        const char *j = cases[1].json;

        ASSERT_OK(workload_spec_parse(j, strlen(j), &s, NULL));
        ok(s->memory == 256ULL << 20, "memory 256M parsed to bytes");
        ok(s->cpus == 1.5, "cpus 1.5");
        ok(s->uid == 1000 && s->gid == 1000 && s->user_set, "user 1000:1000");
        ok(s->n_mounts == 1 && s->mounts[0].readonly, "one read-only mount");
        ok(streq(workload_spec_label(s, "trust"), "untrusted"), "label lookup");
        c = workload_spec_copy(s);
        ok(c != NULL, "copy through JSON");
        t1 = workload_spec_to_string(s);
        t2 = workload_spec_to_string(c);
        ok(t1 && t2 && streq(t1, t2), "serialization is stable across a round trip");
        free(t1);
        free(t2);
        workload_spec_free(s);
        workload_spec_free(c);

        j = "{\"process\":{\"args\":[\"x\"]},\"capabilities\":[\"CAP_KILL\",\"CAP_CHOWN\"]}";
        ASSERT_OK(workload_spec_parse(j, strlen(j), &s, NULL));
        ok(s->caps_set && s->caps == ((1ULL << 0) | (1ULL << 5)),
           "capabilities: CHOWN and KILL as bits 0 and 5");
        t1 = workload_spec_to_string(s);
        ok(t1 && strstr(t1, "\"capabilities\":[\"CAP_CHOWN\",\"CAP_KILL\"]"),
           "... serialized in bit order (%s)", strna(t1));
        free(t1);
        workload_spec_free(s);
        j = "{\"process\":{\"args\":[\"x\"]},\"tmpfs\":[{\"target\":\"/run\",\"size\":1048576,\"mode\":\"755\","
            "\"noexec\":true},{\"target\":\"/tmp\"}]}";
        ASSERT_OK(workload_spec_parse(j, strlen(j), &s, NULL));
        ok(s->n_tmpfs == 2 && streq(s->tmpfs[0].target, "/run") && s->tmpfs[0].size == 1048576 &&
                   s->tmpfs[0].mode == 0755 && s->tmpfs[0].noexec && s->tmpfs[1].mode == 01777 &&
                   s->tmpfs[1].size == 0 && !s->tmpfs[1].noexec,
           "tmpfs: target, size, mode and noexec parsed; mode 1777 and the kernel's size by default");
        c = workload_spec_copy(s);
        ok(c && c->n_tmpfs == 2 && c->tmpfs[0].mode == 0755 && c->tmpfs[0].size == 1048576 &&
                   c->tmpfs[0].noexec,
           "... and kept through a copy (serialized and parsed again)");
        workload_spec_free(s);
        workload_spec_free(c);
        ok(capability_from_name("CAP_CHECKPOINT_RESTORE") == 40 && !capability_to_name(41),
           "the capability table ends at CAP_CHECKPOINT_RESTORE (40)");
}

static void test_network(void) {
        const char *j = "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\",\"network\":\"lan\","
                        "\"ports\":[{\"host\":8080,\"guest\":80,\"address\":\"127.0.0.1\"},"
                        "{\"host\":53,\"guest\":53,\"proto\":\"udp\"}],\"ip\":\"10.1.2.3\","
                        "\"mac\":\"02:00:0a:01:02:03\"}}";
        WorkloadSpec *s = NULL, *c = NULL;
        char *t1, *t2;

        ASSERT_OK(workload_spec_parse(j, strlen(j), &s, NULL));
        ok(s->network == NETWORK_NAT && streq(spec_network_name(s), "lan"), "network nat on lan");
        ok(s->n_ports == 2 && s->ports[0].host == 8080 && s->ports[0].guest == 80 &&
                   s->ports[0].proto == PORT_TCP && s->ports[0].address == htonl(0x7f000001),
           "port 127.0.0.1:8080 -> 80/tcp");
        ok(s->ports[1].proto == PORT_UDP && s->ports[1].address == 0, "port 53/udp on all addresses");
        ok(s->ip == htonl(0x0a010203) && s->mac_set && s->mac[5] == 3, "fixed ip and mac");
        c = workload_spec_copy(s);
        t1 = workload_spec_to_string(s);
        t2 = c ? workload_spec_to_string(c) : NULL;
        ok(t1 && t2 && streq(t1, t2), "the network survives a round trip");
        free(t1);
        free(t2);
        workload_spec_free(s);
        workload_spec_free(c);
        s = NULL;
        j = "{\"process\":{\"args\":[\"x\"]},\"network\":{\"mode\":\"nat\"}}";
        ASSERT_OK(workload_spec_parse(j, strlen(j), &s, NULL));
        ok(streq(spec_network_name(s), SPEC_DEFAULT_NETWORK), "nat without a name is isod0");
        workload_spec_free(s);
}

static void test_defaults_and_limits(void) {
        WorkloadSpec *s = NULL;
        char *big, *err = NULL;
        const char *j = "{\"process\":{\"args\":[\"/bin/true\"]}}";
        size_t n = SPEC_MAX_SIZE + 10;

        ASSERT_OK(workload_spec_parse(j, strlen(j), &s, NULL));
        ok(streq(s->image, "busybox"), "default image is busybox");
        ok(s->isolation == ISOLATION_AUTO, "default isolation is auto");
        ok(s->network == NETWORK_NONE, "default network is none");
        workload_spec_free(s);

        big = malloc(n + 1);
        memset(big, ' ', n);
        big[n] = 0;
        ASSERT_ERROR(workload_spec_parse(big, n, &s, &err), E2BIG);
        ok(err && strstr(err, "too large"), "oversized spec is refused with a message");
        free(big);
        free(err);
}

int main(void) {
        test_table();
        test_roundtrip();
        test_network();
        test_defaults_and_limits();
        return done_testing();
}
