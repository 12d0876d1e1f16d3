/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>

#include "policy.h"
#include "tap.h"
#include "util.h"

/* ---- Callers ------------------------------------------------------------------------------------ */

static const gid_t alice_groups[] = { 100, 4242 };
static char *alice_group_names[] = { (char *) "alice", (char *) "users", (char *) "isod", NULL };
static char *root_group_names[] = { (char *) "root", NULL };
static char *bob_group_names[] = { (char *) "bob", NULL };
static char *erin_group_names[] = { (char *) "erin", (char *) "isod", NULL };
static char *frank_group_names[] = { (char *) "frank", (char *) "ops", NULL };

static const PolicyCaller caller_root = {
        .uid = 0,
        .gid = 0,
        .user_name = "root",
        .group_names = root_group_names,
        .unit = "session-1.scope",
};
static const PolicyCaller caller_alice = {
        .uid = 1000,
        .gid = 1000,
        .groups = alice_groups,
        .n_groups = ELEMENTSOF(alice_groups),
        .user_name = "alice",
        .group_names = alice_group_names,
        .unit = "user@1000.service",
};
static const PolicyCaller caller_bob = {
        .uid = 1001,
        .gid = 1001,
        .user_name = "bob",
        .group_names = bob_group_names,
        .unit = "ci-runner-3.service",
};
static const PolicyCaller caller_carol = {
        .uid = 1002,
        .gid = 1002,
        .user_name = "carol",
        .unit = "user@1002.service",
};
static const PolicyCaller caller_erin = {
        .uid = 1003,
        .gid = 1003,
        .user_name = "erin",
        .group_names = erin_group_names,
};
static const PolicyCaller caller_frank = {
        .uid = 1004,
        .gid = 1004,
        .user_name = "frank",
        .group_names = frank_group_names,
};
static const PolicyCaller caller_ci_admin = {
        .uid = 1005,
        .gid = 1005,
        .unit = "ci-admin.service",
};
static const PolicyCaller caller_nobody = {
        .uid = 2000, .gid = 2000, /* no names, no unit: the daemon could not resolve them */
};
static const PolicyCaller caller_polkit = {
        .uid = 2000, .gid = 2000, .polkit = true, /* the same, authorized by polkit for org.isod1.launch */
};

/* ---- Helpers ------------------------------------------------------------------------------------ */

static bool contains(const char *haystack, const char *needle) {
        return haystack && needle && strstr(haystack, needle);
}

static WorkloadSpec *spec_from(const char *json) {
        _cleanup_free_ char *err = NULL;
        WorkloadSpec *s = NULL;

        if (workload_spec_parse(json, strlen(json), &s, &err) < 0) {
                diag("bad test spec %s: %s", json, strna(err));
                return NULL;
        }
        return s;
}

static Policy *policy_from(const char *json) {
        _cleanup_free_ char *err = NULL;
        Policy *p = NULL;

        if (policy_parse(json, strlen(json), &p, &err) < 0) {
                diag("bad test policy %s: %s", json, strna(err));
                return NULL;
        }
        return p;
}

#define SPEC(extra) "{\"process\":{\"args\":[\"/bin/true\"]}" extra "}"
/* A nat network with these ports (a comma-separated list of PORT_*()). */
#define NAT(ports) ",\"network\":{\"mode\":\"nat\",\"ports\":[" ports "]}"
#define PORT_LO(n) "{\"host\":" #n ",\"guest\":80,\"address\":\"127.0.0.1\"}"
#define PORT_ALL(n) "{\"host\":" #n ",\"guest\":80}" /* no address: all of the host's */

/* ---- Match keys: one rule with the match, default deny --------------------------------------- */

typedef struct MatchTest {
        const char *match;
        const PolicyCaller *caller;
        const char *spec;
        bool expect;
        const char *why; /* when !expect: substring of the explanation */
} MatchTest;

static const MatchTest match_tests[] = {
        { "{\"uid\": 1000}", &caller_alice, SPEC(""), true, NULL },
        { "{\"uid\": 1000}", &caller_bob, SPEC(""), false,
          "skipped: uid: caller uid 1001, rule wants 1000" },
        { "{\"uid\": [1, 1001]}", &caller_bob, SPEC(""), true, NULL },
        { "{\"gid\": 1000}", &caller_alice, SPEC(""), true, NULL },
        { "{\"gid\": 4242}", &caller_alice, SPEC(""), true, NULL },
        { "{\"gid\": [4242, 7]}", &caller_bob, SPEC(""), false,
          "gid: caller gid 1001, rule wants any of 4242, 7" },
        { "{\"user\": \"alice\"}", &caller_alice, SPEC(""), true, NULL },
        { "{\"user\": \"alice\"}", &caller_nobody, SPEC(""), false, "user: caller user name unknown" },
        { "{\"user\": [\"x\", \"bob\"]}", &caller_bob, SPEC(""), true, NULL },
        { "{\"group\": \"isod\"}", &caller_alice, SPEC(""), true, NULL },
        { "{\"group\": \"isod\"}", &caller_bob, SPEC(""), false,
          "group: caller groups 'bob', rule wants 'isod'" },
        { "{\"group\": \"isod\"}", &caller_nobody, SPEC(""), false, "group: caller groups unknown" },
        { "{\"root\": true}", &caller_root, SPEC(""), true, NULL },
        { "{\"root\": true}", &caller_alice, SPEC(""), false,
          "root: caller uid 1000 is not root, rule wants true" },
        { "{\"root\": false}", &caller_alice, SPEC(""), true, NULL },
        { "{\"root\": false}", &caller_root, SPEC(""), false, "root: caller uid 0 is root" },
        { "{\"unit\": \"ci-*.service\"}", &caller_bob, SPEC(""), true, NULL },
        { "{\"unit\": \"ci-*.service\"}", &caller_alice, SPEC(""), false,
          "unit: caller unit 'user@1000.service'" },
        { "{\"unit\": \"ci-*.service\"}", &caller_nobody, SPEC(""), false, "unit: caller unit unknown" },
        { "{\"image\": \"busy*\"}", &caller_bob, SPEC(",\"image\":\"busybox\""), true, NULL },
        { "{\"image\": [\"debian\", \"alpine\"]}", &caller_bob, SPEC(",\"image\":\"busybox\""), false,
          "image: request image 'busybox', rule wants any of 'debian', 'alpine'" },
        { "{\"image\": \"*\"}", &caller_bob, SPEC(",\"rootfs\":\"/srv/x\""), false, "request has no image" },
        { "{\"rootfs_prefix\": \"/srv\"}", &caller_bob, SPEC(",\"rootfs\":\"/srv/x\""), true, NULL },
        { "{\"rootfs_prefix\": \"/srv\"}", &caller_bob, SPEC(",\"rootfs\":\"/srv\""), true, NULL },
        { "{\"rootfs_prefix\": \"/srv/\"}", &caller_bob, SPEC(",\"rootfs\":\"//srv//x\""), true, NULL },
        { "{\"rootfs_prefix\": \"/srv\"}", &caller_bob, SPEC(",\"rootfs\":\"/srvx\""), false,
          "rootfs_prefix: request rootfs '/srvx' is not under '/srv'" },
        { "{\"rootfs_prefix\": \"/\"}", &caller_bob, SPEC(",\"rootfs\":\"/anything\""), true, NULL },
        { "{\"rootfs_prefix\": \"/\"}", &caller_bob, SPEC(""), false, "request has no rootfs" },
        { "{\"labels\": {\"trust\": \"untrusted\"}}", &caller_bob,
          SPEC(",\"labels\":{\"trust\":\"untrusted\"}"), true, NULL },
        { "{\"labels\": {\"trust\": \"untrusted\"}}", &caller_bob, SPEC(",\"labels\":{\"trust\":\"yes\"}"),
          false, "labels: request label 'trust' is 'yes', rule wants 'untrusted'" },
        { "{\"labels\": {\"trust\": \"*\"}}", &caller_bob, SPEC(",\"labels\":{\"trust\":\"yes\"}"), true,
          NULL },
        { "{\"labels\": {\"trust\": \"*\"}}", &caller_bob, SPEC(""), false, "request has no label 'trust'" },
        { "{\"labels\": {\"trust\": [\"low\", \"none\"], \"team\": \"ci\"}}", &caller_bob,
          SPEC(",\"labels\":{\"trust\":\"none\",\"team\":\"ci\"}"), true, NULL },
        { "{\"labels\": {\"trust\": \"none\", \"team\": \"ci\"}}", &caller_bob,
          SPEC(",\"labels\":{\"trust\":\"none\"}"), false, "no label 'team'" },
        { "{\"isolation\": \"vm\"}", &caller_bob, SPEC(",\"isolation\":\"vm\""), true, NULL },
        { "{\"isolation\": \"vm\"}", &caller_bob, SPEC(""), false,
          "isolation: request asks 'auto', rule wants 'vm'" },
        { "{\"isolation\": [\"auto\", \"container\"]}", &caller_bob, SPEC(""), true, NULL },
        { "{\"terminal\": true}", &caller_bob, "{\"process\":{\"args\":[\"sh\"],\"terminal\":true}}", true,
          NULL },
        { "{\"terminal\": true}", &caller_bob, SPEC(""), false,
          "terminal: request says false, rule wants true" },
        { "{\"userns\": true}", &caller_bob, SPEC(",\"userns\":true"), true, NULL },
        { "{\"userns\": false}", &caller_bob, SPEC(",\"userns\":true"), false, "userns: request says true" },
        { "{\"network\": \"none\"}", &caller_bob, SPEC(""), true, NULL },
        { "{\"network\": \"nat\"}", &caller_bob, SPEC(NAT("")), true, NULL },
        { "{\"network\": [\"nat\", \"host\"]}", &caller_bob, SPEC(""), false,
          "network: request mode 'none', rule wants any of 'nat', 'host'" },
        { "{\"network\": \"host\"}", &caller_bob, SPEC(",\"network\":{\"mode\":\"host\"}"), true, NULL },
        { "{\"network_name\": \"isod*\"}", &caller_bob, SPEC(NAT("")), true, NULL }, /* the default */
        { "{\"network_name\": \"lab\"}", &caller_bob,
          SPEC(",\"network\":{\"mode\":\"nat\",\"network\":\"isod1\"}"), false,
          "network_name: request network 'isod1', rule wants 'lab'" },
        { "{\"network_name\": \"*\"}", &caller_bob, SPEC(""), false,
          "network_name: request mode 'none' uses no named network" },
        { "{\"ports\": true}", &caller_bob, SPEC(NAT(PORT_LO(8080))), true, NULL },
        { "{\"ports\": true}", &caller_bob, SPEC(NAT("")), false,
          "ports: request says false, rule wants true" },
        { "{\"ports\": false}", &caller_bob, SPEC(""), true, NULL },
        { "{\"port_below\": 1024}", &caller_bob, SPEC(NAT(PORT_LO(8080) "," PORT_LO(80))), true, NULL },
        { "{\"port_below\": 1024}", &caller_bob, SPEC(NAT(PORT_LO(8080) "," PORT_LO(1024))), false,
          "port_below: request host ports 8080, 1024, rule wants one below 1024" },
        { "{\"port_below\": 1024}", &caller_bob, SPEC(NAT("")), false,
          "port_below: request publishes no ports" },
        { "{\"port_address\": \"0.0.0.0\"}", &caller_bob, SPEC(NAT(PORT_ALL(8080))), true, NULL },
        { "{\"port_address\": \"0.0.0.0\"}", &caller_bob, SPEC(NAT(PORT_LO(8080))), false,
          "port_address: request ports 127.0.0.1:8080->80/tcp, rule wants '0.0.0.0'" },
        { "{\"port_address\": [\"10.0.0.1\", \"127.0.0.1\"]}", &caller_bob,
          SPEC(NAT(PORT_ALL(8080) "," PORT_LO(8081))), true, NULL },
        { "{\"host_mounts\": true}", &caller_bob,
          SPEC(",\"mounts\":[{\"source\":\"/data\",\"target\":\"/data\"}]"), true, NULL },
        { "{\"host_mounts\": true}", &caller_bob, SPEC(""), false, "host_mounts: request says false" },
        { "{\"host_mounts\": false}", &caller_bob, SPEC(""), true, NULL },
        { "{\"memory_over\": \"1G\"}", &caller_bob, SPEC(",\"resources\":{\"memory\":\"2G\"}"), true, NULL },
        { "{\"memory_over\": \"1G\"}", &caller_bob, SPEC(",\"resources\":{\"memory\":\"1G\"}"), false,
          "memory_over: request memory 1G is not over 1G" },
        { "{\"memory_over\": 1073741824}", &caller_bob, SPEC(",\"resources\":{\"memory\":\"512M\"}"), false,
          "not over 1G" },
        { "{\"memory_over\": \"1G\"}", &caller_bob, SPEC(""), true, NULL }, /* unset = unlimited */
        { "{\"cpus_over\": 2}", &caller_bob, SPEC(",\"resources\":{\"cpus\":4}"), true, NULL },
        { "{\"cpus_over\": 2}", &caller_bob, SPEC(",\"resources\":{\"cpus\":1.5}"), false,
          "cpus_over: request cpus 1.5 is not over 2" },
        { "{\"cpus_over\": 2}", &caller_bob, SPEC(",\"resources\":{\"cpus\":2}"), false, "is not over 2" },
        { "{\"pids_over\": 100}", &caller_bob, SPEC(",\"resources\":{\"pids\":200}"), true, NULL },
        { "{\"pids_over\": 100}", &caller_bob, SPEC(",\"resources\":{\"pids\":100}"), false,
          "pids_over: request pids 100" },
        { "{}", &caller_nobody, SPEC(""), true, NULL },
        { "{\"group\": \"isod\", \"image\": \"debian\"}", &caller_alice, SPEC(""), false,
          "skipped: image:" },
        { "{\"image\": \"busybox\", \"uid\": 5}", &caller_alice, SPEC(""), false,
          "skipped: uid:" }, /* caller keys first */
};

static void test_match_keys(void) {
        for (size_t i = 0; i < ELEMENTSOF(match_tests); i++) {
                const MatchTest *t = &match_tests[i];
                _cleanup_(policy_decision_freep) PolicyDecision *d = NULL;
                _cleanup_(workload_spec_freep) WorkloadSpec *s = NULL;
                _cleanup_(policy_freep) Policy *p = NULL;
                _cleanup_free_ char *text = NULL, *err = NULL;
                bool good;

                if (asprintf(
                            &text,
                            "{\"version\":1,\"rules\":[{\"name\":\"r\",\"match\":%s,\"isolation\":\"container\","
                            "\"network\":{\"modes\":[\"none\",\"nat\",\"host\"],\"port_min\":1,\"addresses\":\"0.0.0.0\"}}],"
                            "\"default\":{\"isolation\":\"deny\"}}",
                            t->match) < 0)
                        abort();
                p = policy_from(text);
                s = spec_from(t->spec);
                good = p && s && policy_evaluate(p, s, t->caller, &d, &err) >= 0;
                good = good && streq(d->rule, t->expect ? "r" : "default") && d->deny == !t->expect;
                good = good && (t->expect || contains(d->explanation, t->why));
                if (!ok(good, "match %s, caller uid %u, spec %s: %s", t->match, (unsigned) t->caller->uid,
                        t->spec, t->expect ? "matches" : "does not match"))
                        diag("explanation:\n%s", d ? d->explanation : strna(err));
        }
}

/* ---- Decisions ---------------------------------------------------------------------------------- */

static const char decision_policy[] =
        "{\"version\": 1, \"rules\": [\n"
        " {\"name\": \"untrusted\", \"reason\": \"Untrusted images go to VMs.\",\n"
        "  \"match\": {\"labels\": {\"trust\": \"untrusted\"}}, \"isolation\": \"vm\"},\n"
        " {\"name\": \"ci\", \"match\": {\"unit\": \"ci-*.service\"}, \"isolation\": \"container\",\n"
        "  \"caps\": {\"memory\": \"1G\", \"cpus\": 2, \"pids\": 100}},\n"
        " {\"name\": \"ci-clamp\", \"match\": {\"user\": \"carol\"}, \"isolation\": \"container\",\n"
        "  \"caps\": {\"memory\": \"1G\", \"cpus\": 2, \"pids\": 100}, \"clamp\": true},\n"
        " {\"name\": \"desktop\", \"match\": {\"user\": \"alice\"}, \"isolation\": \"requested\", \"auto\": \"vm\",\n"
        "  \"force\": {\"seccomp\": \"/etc/isod/seccomp/desktop.json\", \"readonly_rootfs\": true, \"userns\": true,\n"
        "            \"network\": \"none\"}},\n"
        " {\"name\": \"banned\", \"reason\": \"No.\", \"match\": {\"group\": \"isod\"}, \"isolation\": \"deny\"},\n"
        " {\"name\": \"root\", \"match\": {\"root\": true}, \"isolation\": \"requested\"}\n"
        "], \"default\": {\"isolation\": \"deny\", \"reason\": \"Nobody else.\"}}\n";

typedef struct DecisionTest {
        const char *what;
        const PolicyCaller *caller;
        const char *spec;
        int r; /* 0 or -EACCES */
        const char *rule;
        bool deny;
        Isolation isolation;
        uint64_t memory; /* expected in the effective spec (when allowed) */
        double cpus;
        uint64_t pids;
        const char *seccomp; /* NULL: must be unset */
        bool readonly_rootfs;
        bool userns;
        const char *text; /* substring of the explanation, or of the message when r < 0 */
} DecisionTest;

static const DecisionTest decision_tests[] = {
        { "first match wins: untrusted label beats ci unit", &caller_bob,
          SPEC(",\"labels\":{\"trust\":\"untrusted\"}"), 0, "untrusted", false, ISOLATION_VM, 0, 0, 0, NULL,
          false, false, "rule 'untrusted' (rules[0]): matched" },
        { "rule wins over a requested vm; unset limits get the caps", &caller_bob,
          SPEC(",\"isolation\":\"vm\""), 0, "ci", false, ISOLATION_CONTAINER, 1ULL << 30, 2, 100, NULL,
          false, false, "the request asked for vm: the rule wins" },
        { "requests under the caps are kept", &caller_bob,
          SPEC(",\"resources\":{\"memory\":\"512M\",\"cpus\":1,\"pids\":50}"), 0, "ci", false,
          ISOLATION_CONTAINER, 512ULL << 20, 1, 50, NULL, false, false,
          "memory 512M (as requested, cap 1G)" },
        { "over a cap without clamp: refused", &caller_bob,
          SPEC(",\"resources\":{\"memory\":\"2G\",\"pids\":500}"), -EACCES, "ci", false, 0, 0, 0, 0, NULL,
          false, false,
          "rule 'ci' refuses the request: memory 2G is over the cap 1G, pids 500 is over the cap 100" },
        { "over the caps with clamp: lowered", &caller_carol,
          SPEC(",\"resources\":{\"memory\":\"2G\",\"cpus\":4,\"pids\":500}"), 0, "ci-clamp", false,
          ISOLATION_CONTAINER, 1ULL << 30, 2, 100, NULL, false, false, "memory 1G (clamped from 2G)" },
        { "requested + auto uses the rule's auto; forced settings applied", &caller_alice, SPEC(""), 0,
          "desktop", false, ISOLATION_VM, 0, 0, 0, "/etc/isod/seccomp/desktop.json", true, true,
          "the request asked for auto: the rule's 'auto' choice" },
        { "requested + container", &caller_alice,
          SPEC(",\"isolation\":\"container\",\"seccomp\":\"unconfined\""), 0, "desktop", false,
          ISOLATION_CONTAINER, 0, 0, 0, "/etc/isod/seccomp/desktop.json", true, true,
          "forced: seccomp /etc/isod/seccomp/desktop.json (request: unconfined)" },
        { "requested + vm", &caller_alice, SPEC(",\"isolation\":\"vm\""), 0, "desktop", false, ISOLATION_VM,
          0, 0, 0, "/etc/isod/seccomp/desktop.json", true, true, "isolation: vm (as requested)" },
        { "requested without auto: container", &caller_root, SPEC(""), 0, "root", false, ISOLATION_CONTAINER,
          0, 0, 0, NULL, false, false, "(the request asked for auto: the rule's 'auto' choice)" },
        { "root asking for a vm gets one", &caller_root, SPEC(",\"isolation\":\"vm\",\"userns\":true"), 0,
          "root", false, ISOLATION_VM, 0, 0, 0, NULL, false, true,
          "rule 'banned' (rules[4]): skipped: group:" },
        { "deny rule", &caller_erin, SPEC(""), 0, "banned", true, _ISOLATION_INVALID, 0, 0, 0, NULL, false,
          false, "decision: deny (rule 'banned')\nreason: No." },
        { "default", &caller_nobody, SPEC(""), 0, "default", true, _ISOLATION_INVALID, 0, 0, 0, NULL, false,
          false, "default: no rule matched" },
        { "workload keys need no caller", &caller_nobody, SPEC(",\"labels\":{\"trust\":\"untrusted\"}"), 0,
          "untrusted", false, ISOLATION_VM, 0, 0, 0, NULL, false, false, "(5 later rules not tried" },
};

static bool check_decision(const DecisionTest *t, int r, const PolicyDecision *d, const char *err) {
        if (r != t->r) {
                diag("returned %d, expected %d (%s)", r, t->r, strna(err));
                return false;
        }
        if (r < 0) {
                if (!contains(err, t->text))
                        diag("message '%s' lacks '%s'", strna(err), t->text);
                return contains(err, t->text);
        }
        if (!streq(d->rule, t->rule) || d->deny != t->deny || d->isolation != t->isolation) {
                diag("rule %s deny %d isolation %d", d->rule, d->deny, d->isolation);
                return false;
        }
        if (!contains(d->explanation, t->text)) {
                diag("explanation lacks '%s':\n%s", t->text, d->explanation);
                return false;
        }
        if (d->deny)
                return !d->spec;
        if (!d->spec || d->spec->isolation != t->isolation || d->spec->memory != t->memory ||
            fabs(d->spec->cpus - t->cpus) > 1e-9 || d->spec->pids != t->pids ||
            !streq_ptr(d->spec->seccomp, t->seccomp) || d->spec->readonly_rootfs != t->readonly_rootfs ||
            d->spec->userns != t->userns) {
                _cleanup_free_ char *j = d->spec ? workload_spec_to_string(d->spec) : NULL;
                diag("effective spec: %s", strna(j));
                return false;
        }
        return true;
}

static void test_decisions(void) {
        _cleanup_(policy_freep) Policy *p = policy_from(decision_policy);

        ok(p, "decision policy parses");
        if (!p)
                return;
        for (size_t i = 0; i < ELEMENTSOF(decision_tests); i++) {
                const DecisionTest *t = &decision_tests[i];
                _cleanup_(policy_decision_freep) PolicyDecision *d = NULL;
                _cleanup_(workload_spec_freep) WorkloadSpec *s = spec_from(t->spec);
                _cleanup_free_ char *err = NULL;
                int r = s ? policy_evaluate(p, s, t->caller, &d, &err) : -EINVAL;

                ok(check_decision(t, r, d, err), "decision: %s", t->what);
                ok(r >= 0 || !d, "decision: %s: no decision returned on failure", t->what);
        }
}

static void test_explain(void) {
        _cleanup_(policy_freep) Policy *p = policy_from(decision_policy);
        _cleanup_(workload_spec_freep)
                WorkloadSpec *s = spec_from(SPEC(",\"resources\":{\"memory\":\"2G\"}"));
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(policy_explain(p, s, &caller_bob, &text));
        ok(contains(text, "memory 2G is over the cap 1G: refused") &&
                   contains(text, "decision: refused (rule 'ci' caps the request and does not clamp)"),
           "policy_explain() explains a refusal over a cap");
        ok(contains(text, "rule 'untrusted' (rules[0]): skipped: labels: request has no label 'trust'"),
           "policy_explain() lists skipped rules with the failing key");
}

/* ---- Networking: modes, networks, published ports ---------------------------------------------- */

static const char network_policy[] =
        "{\"version\": 1, \"rules\": [\n"
        " {\"name\": \"web\", \"match\": {\"user\": \"alice\"}, \"isolation\": \"requested\", \"auto\": \"vm\",\n"
        "  \"caps\": {\"memory\": \"1G\"},\n"
        "  \"network\": {\"modes\": [\"none\", \"nat\", \"host\", \"netns\"], \"networks\": [\"isod0\", \"lab*\"], \"max_ports\": 2,\n"
        "              \"port_min\": 1024, \"addresses\": [\"127.0.0.1\", \"10.0.0.1\"]}},\n"
        " {\"name\": \"ci\", \"match\": {\"unit\": \"ci-*.service\"}, \"isolation\": \"container\",\n"
        "  \"force\": {\"network\": \"none\"}},\n"
        " {\"name\": \"carol\", \"match\": {\"user\": \"carol\"}, \"isolation\": \"vm\", \"force\": {\"network\": \"nat\"}},\n"
        " {\"name\": \"erin\", \"match\": {\"user\": \"erin\"}, \"isolation\": \"vm\"},\n"
        " {\"name\": \"frank\", \"match\": {\"user\": \"frank\"}, \"isolation\": \"requested\", \"auto\": \"vm\",\n"
        "  \"force\": {\"network\": \"host\"}},\n"
        " {\"name\": \"root\", \"match\": {\"root\": true}, \"isolation\": \"requested\",\n"
        "  \"network\": {\"modes\": [\"none\", \"nat\", \"host\"], \"port_min\": 1, \"addresses\": \"0.0.0.0\"}}\n"
        "], \"default\": {\"isolation\": \"container\"}}\n";

#define HOST ",\"network\":{\"mode\":\"host\"}"
#define NETNS ",\"network\":{\"mode\":\"netns\",\"path\":\"/run/netns/x\"}"

typedef struct NetworkTest {
        const char *what;
        const PolicyCaller *caller;
        const char *spec;
        int r; /* 0 or -EACCES */
        const char *rule;
        Isolation isolation;
        NetworkMode network; /* expected in the effective spec (when allowed) */
        size_t n_ports;
        const char *text; /* substring of the explanation, or of the message when r < 0 */
} NetworkTest;

static const NetworkTest network_tests[] = {
        { "allowed ports on an allowed address", &caller_alice,
          SPEC(NAT(PORT_LO(8080) ",{\"host\":8443,\"guest\":443,\"address\":\"10.0.0.1\"}")), 0, "web",
          ISOLATION_VM, NETWORK_NAT, 2,
          "  port 127.0.0.1:8080->80/tcp (allowed: host ports from 1024 on any of '127.0.0.1', '10.0.0.1')" },
        { "explain names the network", &caller_alice, SPEC(NAT("")), 0, "web", ISOLATION_VM, NETWORK_NAT, 0,
          "network:\n  mode nat (allowed: any of 'none', 'nat', 'host', 'netns')\n  network 'isod0' (allowed: any of 'isod0', 'lab*')\n" },
        { "an allowed network by glob", &caller_alice,
          SPEC(",\"network\":{\"mode\":\"nat\",\"network\":\"lab2\"}"), 0, "web", ISOLATION_VM, NETWORK_NAT,
          0, "network 'lab2' (allowed:" },
        { "a network the rule does not list", &caller_alice,
          SPEC(",\"network\":{\"mode\":\"nat\",\"network\":\"other\"}"), -EACCES, "web", 0, 0, 0,
          "Policy rule 'web' refuses the request: network 'other' is not allowed (the rule allows any of 'isod0', 'lab*')." },
        { "a host port below port_min, naming the port", &caller_alice, SPEC(NAT(PORT_LO(80))), -EACCES,
          "web", 0, 0, 0,
          "Policy rule 'web' refuses the request: port 127.0.0.1:80->80/tcp: host port 80 is below 1024." },
        { "all addresses when the rule lists some", &caller_alice, SPEC(NAT(PORT_ALL(8080))), -EACCES, "web",
          0, 0, 0,
          "port 0.0.0.0:8080->80/tcp: address 0.0.0.0 (all addresses) is not allowed (the rule allows any of '127.0.0.1', '10.0.0.1')" },
        { "an address the rule does not list", &caller_alice,
          SPEC(NAT("{\"host\":8080,\"guest\":80,\"proto\":\"udp\",\"address\":\"192.168.1.2\"}")), -EACCES,
          "web", 0, 0, 0, "port 192.168.1.2:8080->80/udp: address 192.168.1.2 is not allowed" },
        { "more ports than max_ports", &caller_alice,
          SPEC(NAT(PORT_LO(8080) "," PORT_LO(8081) "," PORT_LO(8082))), -EACCES, "web", 0, 0, 0,
          "3 published ports are more than the maximum 2" },
        { "every problem is named, caps first", &caller_alice,
          SPEC(",\"resources\":{\"memory\":\"2G\"}" NAT(PORT_ALL(22))), -EACCES, "web", 0, 0, 0,
          "memory 2G is over the cap 1G (the rule does not clamp); port 0.0.0.0:22->80/tcp: host port 22 is below 1024, address 0.0.0.0 (all addresses) is not allowed" },
        { "host + auto goes to a container, never a VM", &caller_alice, SPEC(HOST), 0, "web",
          ISOLATION_CONTAINER, NETWORK_HOST, 0,
          "isolation: container (the request asked for auto with network host, which only a container can have)" },
        { "host + container as requested", &caller_alice, SPEC(",\"isolation\":\"container\"" HOST), 0,
          "web", ISOLATION_CONTAINER, NETWORK_HOST, 0, "mode host (allowed:" },
        { "host + a requested vm is refused", &caller_alice, SPEC(",\"isolation\":\"vm\"" HOST), -EACCES,
          "web", 0, 0, 0,
          "network mode host needs a container: a VM cannot share the host's network namespace" },
        { "netns + auto goes to a container", &caller_alice, SPEC(NETNS), 0, "web", ISOLATION_CONTAINER,
          NETWORK_NETNS, 0, "isolation: container (the request asked for auto with network host" },
        { "netns + a requested vm is refused", &caller_alice, SPEC(",\"isolation\":\"vm\"" NETNS), -EACCES,
          "web", 0, 0, 0, "network mode netns needs a container: a VM cannot join a network namespace" },
        { "netns under a rule that says vm", &caller_erin, SPEC(",\"isolation\":\"container\"" NETNS),
          -EACCES, "erin", 0, 0, 0, "network mode netns needs a container" },
        { "forced none drops the ports", &caller_bob, SPEC(NAT(PORT_ALL(80))), 0, "ci", ISOLATION_CONTAINER,
          NETWORK_NONE, 0, "forced: network none (request: nat; 1 published port dropped)" },
        { "forced none wins over host", &caller_bob, SPEC(HOST), 0, "ci", ISOLATION_CONTAINER, NETWORK_NONE,
          0, "  mode none (forced)" },
        { "forced nat", &caller_carol, SPEC(""), 0, "carol", ISOLATION_VM, NETWORK_NAT, 0,
          "forced: network nat (request: none)" },
        { "a vm rule refuses host", &caller_erin, SPEC(HOST), -EACCES, "erin", 0, 0, 0,
          "Policy rule 'erin' refuses the request: network mode host needs a container" },
        { "defaults: a port from 1024 on 127.0.0.1", &caller_erin, SPEC(NAT(PORT_LO(1024))), 0, "erin",
          ISOLATION_VM, NETWORK_NAT, 1, "(allowed: host ports from 1024 on '127.0.0.1')" },
        { "defaults: not on all addresses", &caller_erin, SPEC(NAT(PORT_ALL(8080))), -EACCES, "erin", 0, 0,
          0, "address 0.0.0.0 (all addresses) is not allowed (the rule allows '127.0.0.1')" },
        { "defaults: not below 1024", &caller_erin, SPEC(NAT(PORT_LO(1023))), -EACCES, "erin", 0, 0, 0,
          "host port 1023 is below 1024" },
        { "forced host + auto: a container", &caller_frank, SPEC(""), 0, "frank", ISOLATION_CONTAINER,
          NETWORK_HOST, 0, "forced: network host (request: none)" },
        { "forced host + a requested vm is refused", &caller_frank, SPEC(",\"isolation\":\"vm\""), -EACCES,
          "frank", 0, 0, 0, "network mode host needs a container" },
        { "root: host", &caller_root, SPEC(HOST), 0, "root", ISOLATION_CONTAINER, NETWORK_HOST, 0,
          "mode host (allowed:" },
        { "root: port 80 on all addresses", &caller_root, SPEC(NAT(PORT_ALL(80))), 0, "root",
          ISOLATION_CONTAINER, NETWORK_NAT, 1, "(allowed: host ports from 1 on any address)" },
        { "default decision: no host without a rule that allows it", &caller_nobody, SPEC(HOST), -EACCES,
          "default", 0, 0, 0,
          "Policy rule 'default' refuses the request: network mode 'host' is not allowed (the rule allows any of 'none', 'nat')." },
};

static void test_network(void) {
        _cleanup_(policy_freep) Policy *p = policy_from(network_policy);

        ok(p, "network policy parses");
        for (size_t i = 0; p && i < ELEMENTSOF(network_tests); i++) {
                const NetworkTest *t = &network_tests[i];
                _cleanup_(policy_decision_freep) PolicyDecision *d = NULL;
                _cleanup_(workload_spec_freep) WorkloadSpec *s = spec_from(t->spec), *again = NULL;
                _cleanup_free_ char *err = NULL, *text = NULL, *j = NULL;
                int r = s ? policy_evaluate(p, s, t->caller, &d, &err) : -EINVAL;
                bool good = r == t->r;

                if (good && r < 0)
                        good = !d && contains(err, t->text);
                else if (good) {
                        j = workload_spec_to_string(d->spec);
                        /* The effective spec must be one the daemon can store and parse again. */
                        good = streq(d->rule, t->rule) && !d->deny && d->isolation == t->isolation &&
                               d->spec->network == t->network && d->spec->n_ports == t->n_ports &&
                               contains(d->explanation, t->text) && j &&
                               workload_spec_parse(j, strlen(j), &again, NULL) >= 0;
                }
                if (!ok(good, "network: %s", t->what))
                        diag("returned %d (%s), effective spec %s, explanation:\n%s", r, strna(err),
                             strna(j), d ? d->explanation : "");

                /* policy_explain() explains refusals too, and never fails on them. */
                if (s && r < 0) {
                        good = policy_explain(p, s, t->caller, &text) >= 0 &&
                               contains(text, "network settings)\n");
                        if (!ok(good, "network: %s: explained", t->what))
                                diag("explanation:\n%s", strna(text));
                }
        }
}

/* ---- policy_may_manage -------------------------------------------------------------------------- */

static void test_may_manage(void) {
        static const char text[] =
                "{\"version\":1,\"rules\":["
                "{\"name\":\"ops\",\"match\":{\"group\":\"ops\"},\"isolation\":\"deny\",\"manage_others\":true},"
                "{\"name\":\"ci-admin\",\"match\":{\"unit\":\"ci-admin.service\",\"image\":\"nope\"},"
                " \"isolation\":\"container\",\"manage_others\":true},"
                "{\"name\":\"alice\",\"match\":{\"user\":\"alice\"},\"isolation\":\"vm\"}],"
                "\"default\":{\"isolation\":\"deny\"}}";
        static const struct {
                const PolicyCaller *caller;
                uid_t owner;
                bool expect;
                const char *what;
        } tests[] = {
                { &caller_root, 1000, true, "root may manage anyone's" },
                { &caller_alice, 1000, true, "the owner may manage its own" },
                { &caller_alice, 1001, false, "a rule without manage_others grants nothing" },
                { &caller_bob, 1000, false, "others may not" },
                { &caller_frank, 1000, true, "manage_others on a deny rule still grants" },
                { &caller_ci_admin, 1000, true, "only caller keys count (image ignored)" },
                { &caller_nobody, 1000, false, "unresolved caller" },
        };
        _cleanup_(policy_freep) Policy *p = policy_from(text);

        for (size_t i = 0; i < ELEMENTSOF(tests); i++)
                ok(p && policy_may_manage(p, tests[i].caller, tests[i].owner) == tests[i].expect,
                   "may_manage: %s", tests[i].what);
        ok(!policy_may_manage(NULL, &caller_bob, 1000) && policy_may_manage(NULL, &caller_root, 1000),
           "may_manage without a policy: root only");
}

/* ---- Malformed policies ------------------------------------------------------------------------- */

#define P(rules, dflt) "{\"version\":1,\"rules\":[" rules "],\"default\":" dflt "}"
#define DENY "{\"isolation\":\"deny\"}"
#define RULE(body) "{\"name\":\"a\"," body "}"

typedef struct BadTest {
        const char *text;
        int error;
        const char *message;
} BadTest;

static const BadTest bad_tests[] = {
        { "not json", EBADMSG, "line 1: " },
        { "{\"version\":1,\n\"rules\":[\n", EBADMSG, "line 3: " },
        { "{\"version\":1,\"version\":1,\"default\":" DENY "}", EBADMSG, "duplicate" },
        { "[]", EINVAL, "must be a JSON object" },
        { "{\"version\":1,\"rules\":[]}", EINVAL, "'default' is missing" },
        { "{\"rules\":[],\"default\":" DENY "}", EINVAL, "'version' is missing" },
        { "{\"version\":2,\"default\":" DENY "}", EINVAL, "Unsupported 'version'" },
        { "{\"version\":1,\"default\":" DENY ",\"extra\":1}", EINVAL, "Unknown key 'extra'" },
        { P(RULE("\"isolation\":\"vm\",\"foo\":1"), DENY), EINVAL,
          "rule 'a' (rules[0]): Unknown key 'foo'" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"imagee\":\"x\"}"), DENY), EINVAL,
          "Unknown key 'match.imagee'" },
        { P(RULE("\"isolation\":\"vm\",\"caps\":{\"disk\":\"1G\"}"), DENY), EINVAL,
          "Unknown key 'caps.disk'" },
        { P(RULE("\"isolation\":\"vm\",\"force\":{\"caps\":1}"), DENY), EINVAL, "Unknown key 'force.caps'" },
        { P("", "{\"isolation\":\"deny\",\"name\":\"x\"}"), EINVAL, "default: Unknown key 'name'" },
        { "{\"version\":1,\"rules\":{},\"default\":" DENY "}", EINVAL, "'rules' must be an array" },
        { P("1", DENY), EINVAL, "rules[0]: A rule must be an object" },
        { P("{\"isolation\":\"vm\"}", DENY), EINVAL, "rules[0]: 'name' is missing" },
        { P("{\"name\":\"bad name\",\"isolation\":\"vm\"}", DENY), EINVAL,
          "'name' must be a string of the form" },
        { P(RULE("\"isolation\":\"vm\"") "," RULE("\"isolation\":\"deny\""), DENY), EINVAL,
          "rules[1]: Duplicate rule name 'a' (also rules[0])" },
        { P("{\"name\":\"default\",\"isolation\":\"vm\"}", DENY), EINVAL, "reserved" },
        { P(RULE("\"isolation\":\"maybe\""), DENY), EINVAL,
          "'isolation' must be \"vm\", \"container\", \"deny\" or \"requested\", got 'maybe'" },
        { P(RULE("\"isolation\":true"), DENY), EINVAL, "'isolation' must be" },
        { P(RULE("\"match\":{}"), DENY), EINVAL, "rule 'a' (rules[0]): 'isolation' is missing" },
        { P("", "{}"), EINVAL, "default: 'isolation' is missing" },
        { P("", "{\"isolation\":\"auto\"}"), EINVAL, "default: 'isolation' must be" },
        { P(RULE("\"isolation\":\"vm\",\"auto\":\"vm\""), DENY), EINVAL, "'auto' only has a meaning with" },
        { P(RULE("\"isolation\":\"requested\",\"auto\":\"deny\""), DENY), EINVAL,
          "'auto' must be \"vm\" or \"container\"" },
        { P(RULE("\"isolation\":\"vm\",\"match\":\"x\""), DENY), EINVAL, "'match' must be an object" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"uid\":\"root\"}"), DENY), EINVAL,
          "'match.uid' must be a number" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"uid\":-1}"), DENY), EINVAL,
          "'match.uid' must hold ids" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"gid\":[]}"), DENY), EINVAL,
          "'match.gid' must be a number or a non-empty array" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"root\":\"yes\"}"), DENY), EINVAL,
          "'match.root' must be true or false" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"image\":[]}"), DENY), EINVAL,
          "'match.image' must be an image name or glob" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"user\":[1]}"), DENY), EINVAL,
          "'match.user' must be a user name" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"rootfs_prefix\":\"srv\"}"), DENY), EINVAL,
          "'match.rootfs_prefix' must be an absolute path without '..' or a non-empty array of them, got 'srv'" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"labels\":[]}"), DENY), EINVAL,
          "'match.labels' must be a non-empty object" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"labels\":{\"a\":1}}"), DENY), EINVAL,
          "'match.labels.a' must be a string" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"isolation\":\"deny\"}"), DENY), EINVAL,
          "'match.isolation' must be one of \"auto\", \"vm\", \"container\"" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"network\":\"bridge\"}"), DENY), EINVAL,
          "'match.network' must be a network mode (\"none\", \"nat\", \"host\", \"netns\") or a non-empty array of them, got 'bridge'" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"network_name\":[]}"), DENY), EINVAL,
          "'match.network_name' must be a network name or glob" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"ports\":1}"), DENY), EINVAL,
          "'match.ports' must be true or false" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"port_below\":\"1024\"}"), DENY), EINVAL,
          "'match.port_below' must be an integer between 1 and 65535" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"port_below\":65536}"), DENY), EINVAL,
          "'match.port_below' must be an integer between 1 and 65535" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"port_address\":\"::1\"}"), DENY), EINVAL,
          "'match.port_address' must be an IPv4 address like \"127.0.0.1\" (\"0.0.0.0\": all addresses) or a non-empty array of them, got '::1'" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"memory_over\":\"lots\"}"), DENY), EINVAL,
          "'match.memory_over' must be a size" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"cpus_over\":\"2\"}"), DENY), EINVAL,
          "'match.cpus_over' must be a number" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"pids_over\":1.5}"), DENY), EINVAL,
          "'match.pids_over' must be an integer" },
        { P(RULE("\"isolation\":\"vm\",\"match\":{\"terminal\":1}"), DENY), EINVAL,
          "'match.terminal' must be true or false" },
        { P(RULE("\"isolation\":\"vm\",\"caps\":[]"), DENY), EINVAL, "'caps' must be an object" },
        { P(RULE("\"isolation\":\"vm\",\"caps\":{\"memory\":\"lots\"}"), DENY), EINVAL,
          "'caps.memory' must be a size" },
        { P(RULE("\"isolation\":\"vm\",\"caps\":{\"memory\":\"1M\"}"), DENY), EINVAL,
          "'caps.memory' must be between" },
        { P(RULE("\"isolation\":\"vm\",\"caps\":{\"cpus\":\"2\"}"), DENY), EINVAL,
          "'caps.cpus' must be a number" },
        { P(RULE("\"isolation\":\"vm\",\"caps\":{\"cpus\":0}"), DENY), EINVAL,
          "'caps.cpus' must be between 0.01 and 256" },
        { P(RULE("\"isolation\":\"vm\",\"caps\":{\"pids\":0}"), DENY), EINVAL,
          "'caps.pids' must be an integer between 1" },
        { P(RULE("\"isolation\":\"deny\",\"caps\":{\"pids\":5}"), DENY), EINVAL,
          "'caps' has no effect with \"isolation\": \"deny\"" },
        { P(RULE("\"isolation\":\"vm\",\"clamp\":true"), DENY), EINVAL,
          "'clamp' has no effect without 'caps'" },
        { P(RULE("\"isolation\":\"vm\",\"caps\":{},\"clamp\":\"yes\""), DENY), EINVAL,
          "'clamp' must be true or false" },
        { P(RULE("\"isolation\":\"vm\",\"force\":1"), DENY), EINVAL, "'force' must be an object" },
        { P(RULE("\"isolation\":\"deny\",\"force\":{}"), DENY), EINVAL, "'force' has no effect with" },
        { P(RULE("\"isolation\":\"vm\",\"force\":{\"seccomp\":\"relative.json\"}"), DENY), EINVAL,
          "'force.seccomp' must be \"default\", \"unconfined\" or an absolute path" },
        { P(RULE("\"isolation\":\"vm\",\"force\":{\"readonly_rootfs\":\"yes\"}"), DENY), EINVAL,
          "'force.readonly_rootfs' must be true or false" },
        { P(RULE("\"isolation\":\"vm\",\"force\":{\"network\":\"bridge\"}"), DENY), EINVAL,
          "'force.network' must be a network mode (\"none\", \"nat\", \"host\" or \"netns\")" },
        { P(RULE("\"isolation\":\"vm\",\"force\":{\"network\":\"host\"}"), DENY), EINVAL,
          "rule 'a' (rules[0]): 'force.network' \"host\" needs a container, and the rule says \"isolation\": \"vm\"" },
        { P(RULE("\"isolation\":\"vm\",\"network\":1"), DENY), EINVAL, "'network' must be an object" },
        { P(RULE("\"isolation\":\"deny\",\"network\":{}"), DENY), EINVAL,
          "'network' has no effect with \"isolation\": \"deny\"" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"port\":1}"), DENY), EINVAL,
          "Unknown key 'network.port' (known keys: modes, networks, max_ports, port_min, addresses)" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"modes\":[\"nat\",\"bridge\"]}"), DENY), EINVAL,
          "'network.modes' must be a network mode (\"none\", \"nat\", \"host\", \"netns\") or a non-empty array of them, got 'bridge'" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"modes\":[\"nat\",\"host\"]}"), DENY), EINVAL,
          "'network.modes' allows \"host\", which needs a container, and the rule says \"isolation\": \"vm\"" },
        { P("", "{\"isolation\":\"vm\",\"network\":{\"modes\":\"host\"}}"), EINVAL,
          "default: 'network.modes' allows \"host\"" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"networks\":[]}"), DENY), EINVAL,
          "'network.networks' must be a network name or glob" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"port_min\":0}"), DENY), EINVAL,
          "'network.port_min' must be an integer between 1 and 65535" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"port_min\":80.5}"), DENY), EINVAL,
          "'network.port_min' must be an integer between 1 and 65535" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"max_ports\":65}"), DENY), EINVAL,
          "'network.max_ports' must be an integer between 0 and 64" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"addresses\":\"localhost\"}"), DENY), EINVAL,
          "'network.addresses' must be an IPv4 address like \"127.0.0.1\" (\"0.0.0.0\": all addresses) or a non-empty array of them, got 'localhost'" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"addresses\":[]}"), DENY), EINVAL,
          "'network.addresses' must be an IPv4 address" },
        { P(RULE("\"isolation\":\"vm\",\"network\":{\"addresses\":\"127.0.0.01\"}"), DENY), EINVAL,
          "got '127.0.0.01'" },
        { P(RULE("\"isolation\":\"vm\",\"reason\":5"), DENY), EINVAL,
          "'reason' must be a non-empty string" },
        { P(RULE("\"isolation\":\"vm\",\"manage_others\":1"), DENY), EINVAL,
          "'manage_others' must be true or false" },
        { P(RULE("\"isolation\":\"vm\",\"manage_others\":true,\"match\":{\"image\":\"x\"}"), DENY), EINVAL,
          "'manage_others' needs a caller key in 'match'" },
        { P("", "{\"isolation\":\"deny\",\"manage_others\":true}"), EINVAL,
          "default: 'manage_others' is not allowed here" },
        { P("", "[]"), EINVAL, "default: 'default' must be an object" },
        /* The line of a semantic error is found in the text. */
        { "{\n  \"version\": 1,\n  \"rules\": [\n    { \"name\": \"ok\", \"isolation\": \"vm\" },\n"
          "    { \"name\": \"broken\",\n      \"isolation\": \"vm\",\n      \"match\": { \"image\": \"x\",\n"
          "                 \"uid\": \"0\" } }\n  ],\n  \"default\": { \"isolation\": \"deny\" }\n}\n",
          EINVAL, "line 8: rule 'broken' (rules[1]): 'match.uid' must be a number" },
};

static void test_malformed(void) {
        for (size_t i = 0; i < ELEMENTSOF(bad_tests); i++) {
                const BadTest *t = &bad_tests[i];
                _cleanup_(policy_freep) Policy *p = NULL;
                _cleanup_free_ char *err = NULL;
                int r = policy_parse(t->text, strlen(t->text), &p, &err);

                if (!ok(r == -t->error && !p && contains(err, t->message), "rejected with '%s'", t->message))
                        diag("returned %d, message: %s", r, strna(err));
        }
}

static void test_network_parse(void) {
        static const char *const good[] = {
                P(RULE("\"isolation\":\"requested\",\"force\":{\"network\":\"host\"}"), DENY),
                P(RULE("\"isolation\":\"requested\",\"auto\":\"vm\",\"network\":{\"modes\":\"host\"}"),
                  DENY),
                P(RULE("\"isolation\":\"container\",\"network\":{}"), DENY),
                P("", "{\"isolation\":\"container\",\"network\":{\"max_ports\":0,\"networks\":\"isod*\"}}"),
                P(RULE("\"isolation\":\"vm\",\"match\":{\"network\":[\"none\",\"nat\",\"host\"],"
                       "\"network_name\":[\"a\",\"b*\"],\"ports\":true,\"port_below\":1024,"
                       "\"port_address\":[\"0.0.0.0\",\"127.0.0.1\"]}"),
                  DENY),
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(policy_freep) Policy *p = NULL;
                _cleanup_free_ char *err = NULL;

                if (!ok(policy_parse(good[i], strlen(good[i]), &p, &err) >= 0, "network policy accepted: %s",
                        good[i]))
                        diag("%s", strna(err));
        }
}

static void test_limits(void) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *err = NULL, *big = NULL, *many = NULL;
        size_t n = 0;
        FILE *f;

        f = open_memstream(&many, &n);
        fputs("{\"version\":1,\"rules\":[", f);
        for (int i = 0; i < 1025; i++)
                fprintf(f, "%s{\"name\":\"r%d\",\"isolation\":\"vm\"}", i ? "," : "", i);
        fputs("],\"default\":{\"isolation\":\"deny\"}}", f);
        fclose(f);
        ASSERT_ERROR(policy_parse(many, strlen(many), &p, &err), E2BIG);
        ok(contains(err, "Too many rules (1025, max 1024)"), "too many rules: message '%s'", strna(err));

        /* 1024 rules are fine. */
        many[strlen(many) -
             strlen(",{\"name\":\"r1024\",\"isolation\":\"vm\"}],\"default\":{\"isolation\":\"deny\"}}")] =
                0;
        free(big);
        if (asprintf(&big, "%s],\"default\":{\"isolation\":\"deny\"}}", many) < 0)
                abort();
        ASSERT_OK(policy_parse(big, strlen(big), &p, NULL));
        p = policy_free(p);

        free(big);
        big = malloc(2 * 1024 * 1024);
        memset(big, ' ', 2 * 1024 * 1024);
        memcpy(big, "{}", 2);
        ASSERT_ERROR(policy_parse(big, 2 * 1024 * 1024, &p, &err), E2BIG);
        ok(contains(err, "too large"), "huge policy: message '%s'", strna(err));
}

/* ---- Files, the default policy, JSON output ------------------------------------------------------ */

static void test_load(void) {
        char path[] = "/tmp/test-policy-XXXXXX";
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_free_ char *err = NULL, *expect = NULL;
        static const char bad[] =
                "{\n\"version\": 1,\n\"default\": {\"isolation\": \"vm\", \"cpas\": 1}\n}\n";
        int fd;

        fd = mkstemp(path);
        if (fd < 0 || write(fd, bad, strlen(bad)) != (ssize_t) strlen(bad))
                abort();
        (void) close(fd);
        ASSERT_ERROR(policy_load(path, &p, &err), EINVAL);
        if (asprintf(&expect, "%s:3: default: Unknown key 'cpas'", path) < 0)
                abort();
        ok(contains(err, expect), "policy_load() message names file and line: '%s'", strna(err));

        (void) write_file_atomic_at(AT_FDCWD, path, decision_policy, strlen(decision_policy), 0600);
        ASSERT_OK(policy_load(path, &p, &err));
        ok(p && streq(policy_source(p), path), "policy_source() is the path");
        (void) unlink(path);

        p = policy_free(p);
        ASSERT_ERROR(policy_load("/nonexistent/policy.json", &p, &err), ENOENT);
        ok(contains(err, "/nonexistent/policy.json: "), "missing file: message '%s'", strna(err));
}

static void test_default_policy(void) {
        _cleanup_(policy_freep) Policy *p = NULL, *shipped = NULL;
        _cleanup_free_ char *path = NULL, *err = NULL;
        const char *srcdir = secure_getenv("srcdir") ?: ".";
        json_t *a, *b;

        ASSERT_OK(policy_new_default(&p));
        ok(p && streq(policy_source(p), "built-in"), "default policy source is 'built-in'");

        if (asprintf(&path, "%s/systemd/policy.json", srcdir) < 0)
                abort();
        if (access(path, R_OK) < 0)
                ok(true, "# SKIP %s not found", path);
        else {
                ASSERT_OK(policy_load(path, &shipped, &err));
                a = policy_to_json(p);
                b = shipped ? policy_to_json(shipped) : NULL;
                ok(a && b && json_equal(a, b), "systemd/policy.json is the built-in policy");
                json_decref(a);
                json_decref(b);
        }

        static const struct {
                const PolicyCaller *caller;
                const char *spec;
                int r;
                const char *rule;
                Isolation isolation; /* _ISOLATION_INVALID: deny */
                const char *message; /* when r < 0 */
        } tests[] = {
                { &caller_root, SPEC(""), 0, "root", ISOLATION_CONTAINER },
                { &caller_root, SPEC(",\"isolation\":\"vm\",\"resources\":{\"memory\":\"64G\"}"), 0, "root",
                  ISOLATION_VM },
                { &caller_root,
                  SPEC(",\"rootfs\":\"/srv/x\",\"mounts\":[{\"source\":\"/a\",\"target\":\"/a\"}]"), 0,
                  "root", ISOLATION_CONTAINER },
                { &caller_alice, SPEC(",\"isolation\":\"container\""), 0, "isod-group", ISOLATION_VM },
                { &caller_alice, SPEC(",\"resources\":{\"memory\":\"4G\"}"), -EACCES, "isod-group", 0,
                  "memory 4G is over the cap 2G" },
                { &caller_alice, SPEC(",\"mounts\":[{\"source\":\"/etc\",\"target\":\"/etc2\"}]"), 0,
                  "isod-host-mounts", _ISOLATION_INVALID },
                { &caller_alice, SPEC(",\"rootfs\":\"/\""), 0, "isod-host-rootfs", _ISOLATION_INVALID },
                { &caller_bob, SPEC(""), 0, "default", _ISOLATION_INVALID },
                { &caller_root, SPEC(HOST), 0, "root", ISOLATION_CONTAINER },
                { &caller_root, SPEC(NAT(PORT_ALL(80))), 0, "root", ISOLATION_CONTAINER },
                { &caller_alice, SPEC(HOST), 0, "isod-host-network", _ISOLATION_INVALID },
                { &caller_alice, SPEC(",\"isolation\":\"container\"" HOST), 0, "isod-host-network",
                  _ISOLATION_INVALID },
                { &caller_alice, SPEC(NAT(PORT_LO(8080))), 0, "isod-group", ISOLATION_VM },
                { &caller_alice, SPEC(NAT(PORT_LO(443))), -EACCES, "isod-group", 0,
                  "port 127.0.0.1:443->80/tcp: host port 443 is below 1024" },
                { &caller_alice, SPEC(NAT(PORT_ALL(8080))), -EACCES, "isod-group", 0,
                  "port 0.0.0.0:8080->80/tcp: address 0.0.0.0 (all addresses) is not allowed (the rule allows '127.0.0.1')" },
                { &caller_nobody, SPEC(""), 0, "default", _ISOLATION_INVALID },
                { &caller_polkit, SPEC(",\"isolation\":\"container\""), 0, "polkit", ISOLATION_VM },
                { &caller_polkit, SPEC(",\"mounts\":[{\"source\":\"/etc\",\"target\":\"/etc2\"}]"), 0,
                  "polkit-host-mounts", _ISOLATION_INVALID },
                { &caller_polkit, SPEC(",\"rootfs\":\"/\""), 0, "polkit-host-rootfs", _ISOLATION_INVALID },
                { &caller_polkit, SPEC(HOST), 0, "polkit-host-network", _ISOLATION_INVALID },
                { &caller_polkit, SPEC(",\"resources\":{\"memory\":\"4G\"}"), -EACCES, "polkit", 0,
                  "memory 4G is over the cap 2G" },
        };
        for (size_t i = 0; p && i < ELEMENTSOF(tests); i++) {
                _cleanup_(policy_decision_freep) PolicyDecision *d = NULL;
                _cleanup_(workload_spec_freep) WorkloadSpec *s = spec_from(tests[i].spec);
                _cleanup_free_ char *m = NULL;
                int r = policy_evaluate(p, s, tests[i].caller, &d, &m);
                bool good = r == tests[i].r;

                if (good && r < 0)
                        good = contains(m, tests[i].rule) && contains(m, tests[i].message);
                else if (good)
                        good = streq(d->rule, tests[i].rule) && d->isolation == tests[i].isolation &&
                               d->deny == (tests[i].isolation < 0);
                ok(good, "default policy: uid %u, %s → %s", (unsigned) tests[i].caller->uid, tests[i].spec,
                   tests[i].rule);
                if (good && d && (streq(d->rule, "isod-group") || streq(d->rule, "polkit")))
                        ok(d->spec->memory == 2ULL << 30 && d->spec->cpus == 2 && d->spec->pids == 1024 &&
                                   streq_ptr(d->spec->seccomp, "default"),
                           "default policy: rule %s gets the caps and the default seccomp filter", d->rule);
        }
}

static void test_to_json(void) {
        _cleanup_(policy_freep) Policy *p = policy_from(decision_policy), *q = NULL;
        _cleanup_free_ char *s = NULL;
        json_t *j = policy_to_json(p);

        s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        ok(s && policy_parse(s, strlen(s), &q, NULL) >= 0, "policy_to_json() output parses again");
}

int main(void) {
        test_match_keys();
        test_decisions();
        test_explain();
        test_network();
        test_network_parse();
        test_may_manage();
        test_malformed();
        test_limits();
        test_load();
        test_default_policy();
        test_to_json();
        return done_testing();
}
