/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network/firewall.c against the real kernel, inside a network namespace of its own (root only;
 * exit 77 otherwise). Nothing here touches the host's ruleset. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "firewall.h"
#include "tap.h"
#include "util.h"

DEFINE_CLEANUP_FUNC(struct nft_ctx *, nft_ctx_free);

static struct nft_ctx *other; /* "someone else": a second libnftables context */

static FwNetwork nets[2];
static FwEndpoint eps[2];
static FwForward fwds[2];

static uint32_t ip(const char *s) {
        struct in_addr a = {};

        assert(inet_pton(AF_INET, s, &a) == 1);
        return a.s_addr;
}

static void setup_state(void) {
        nets[0] = (FwNetwork){ .bridge = "isot0",
                               .subnet = ip("10.77.0.0"),
                               .prefix = 24,
                               .gateway = ip("10.77.0.1"),
                               .nat = true };
        nets[1] = (FwNetwork){ .bridge = "isot1",
                               .subnet = ip("10.78.0.0"),
                               .prefix = 24,
                               .gateway = ip("10.78.0.1"),
                               .isolated = true };
        eps[0] = (FwEndpoint){
                .ifname = "vh1", .bridge = "isot0", .mac = { 0x02, 0, 10, 77, 0, 11 }, .ip = ip("10.77.0.11")
        };
        eps[1] = (FwEndpoint){
                .ifname = "vh2", .bridge = "isot1", .mac = { 0x02, 0, 10, 78, 0, 12 }, .ip = ip("10.78.0.12")
        };
        fwds[0] = (FwForward){
                .proto = PORT_TCP, .host_port = 8080, .guest_ip = ip("10.77.0.11"), .guest_port = 80
        };
        fwds[1] = (FwForward){ .proto = PORT_UDP,
                               .host_addr = ip("127.0.0.1"),
                               .host_port = 5353,
                               .guest_ip = ip("10.78.0.12"),
                               .guest_port = 53 };
}

static int apply_state(Firewall *f, char **reterr) {
        return firewall_apply(f, nets, ELEMENTSOF(nets), eps, ELEMENTSOF(eps), fwds, ELEMENTSOF(fwds),
                              reterr);
}

/* Text output of cmd through the other context ("" on failure). */
static char *nft_text(const char *cmd) {
        const char *o;

        (void) nft_ctx_get_output_buffer(other);
        if (nft_run_cmd_from_buffer(other, cmd) != 0)
                return strdup("");
        o = nft_ctx_get_output_buffer(other);
        return strdup(o ?: "");
}

static int nft_other(const char *cmd) {
        (void) nft_ctx_get_error_buffer(other);
        if (nft_run_cmd_from_buffer(other, cmd) == 0)
                return 0;
        diag("nft: %s", strempty(nft_ctx_get_error_buffer(other)));
        return -EIO;
}

static unsigned count(const char *hay, const char *needle) {
        unsigned n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

static bool listing_has(const char *cmd, const char *needle, unsigned times) {
        _cleanup_free_ char *t = nft_text(cmd);
        unsigned n = count(t, needle);

        if (n != times)
                diag("'%s': '%s' found %u times, expected %u:\n%s", cmd, needle, n, times, t);
        return n == times;
}

static unsigned lost_count;

static void on_lost(Firewall *f, void *userdata) {
        int *apply_r = userdata;

        lost_count++;
        *apply_r = apply_state(f, NULL); /* what the daemon does: re-apply */
}

/* Runs the loop for up to usec, or until lost_count reaches want. */
static void run_loop(sd_event *e, uint64_t usec, unsigned want) {
        uint64_t end = now_usec(CLOCK_MONOTONIC) + usec;

        while (lost_count < want) {
                uint64_t n = now_usec(CLOCK_MONOTONIC);
                if (n >= end)
                        break;
                if (sd_event_run(e, end - n) < 0)
                        break;
        }
}

static void test_validation(Firewall *f) {
        FwEndpoint e = eps[0];
        FwForward fw = fwds[0];
        FwNetwork n[1] = { nets[0] };

        ok(firewall_ifname_is_valid("vh1"), "vh1 valid");
        ok(firewall_ifname_is_valid("a-b_C9"), "a-b_C9 valid");
        ok(firewall_ifname_is_valid("0123456789abcde"), "15 characters valid");
        ok(!firewall_ifname_is_valid("0123456789abcdef"), "16 characters invalid");
        ok(!firewall_ifname_is_valid("../x"), "../x invalid");
        ok(!firewall_ifname_is_valid(""), "empty invalid");
        ok(!firewall_ifname_is_valid("a\"b"), "quote invalid");
        ok(!firewall_ifname_is_valid("a b"), "space invalid");

        strcpy(e.ifname, "../x");
        ASSERT_ERROR(firewall_add_endpoint(f, &e, NULL), EINVAL);
        memcpy(e.ifname, "0123456789abcdef", IFNAMSIZ); /* no terminating NUL at all */
        ASSERT_ERROR(firewall_add_endpoint(f, &e, NULL), EINVAL);
        ASSERT_ERROR(firewall_remove_endpoint(f, &e, NULL), EINVAL);
        e = eps[0];
        strcpy(e.bridge, "x;y");
        ASSERT_ERROR(firewall_add_endpoint(f, &e, NULL), EINVAL);
        e = eps[0];
        e.mac[0] = 0x03; /* multicast */
        ASSERT_ERROR(firewall_add_endpoint(f, &e, NULL), EINVAL);

        fw.host_port = 0;
        ASSERT_ERROR(firewall_add_forward(f, &fw, NULL), EINVAL);
        fw = fwds[0];
        fw.proto = _PORT_PROTO_INVALID;
        ASSERT_ERROR(firewall_add_forward(f, &fw, NULL), EINVAL);

        strcpy(n[0].bridge, "../x");
        ASSERT_ERROR(firewall_apply(f, n, 1, NULL, 0, NULL, 0, NULL), EINVAL);
        n[0] = nets[0];
        n[0].subnet = ip("10.77.0.5"); /* host bits set */
        ASSERT_ERROR(firewall_apply(f, n, 1, NULL, 0, NULL, 0, NULL), EINVAL);
        n[0] = nets[0];
        e = eps[1]; /* its bridge is not in n */
        ASSERT_ERROR(firewall_apply(f, n, 1, &e, 1, NULL, 0, NULL), EINVAL);
        FwForward two[2] = { fwds[0], fwds[0] };
        two[1].guest_port = 81;
        ASSERT_ERROR(firewall_apply(f, n, 1, NULL, 0, two, 2, NULL), EINVAL);
}

static void test_apply(Firewall *f) {
        _cleanup_free_ char *err = NULL;

        ASSERT_OK(apply_state(f, &err));
        if (err)
                diag("nft: %s", err);
        ok(listing_has("list set inet isod bridges", "\"isot0\"", 1), "bridge isot0 in bridges");
        ok(listing_has("list set inet isod bridges", "\"isot1\"", 1), "bridge isot1 in bridges");
        ok(listing_has("list set inet isod open_pairs", "\"isot0\" . \"isot0\"", 1), "isot0 is open");
        ok(listing_has("list set inet isod open_pairs", "isot1", 0), "isot1 (isolated) is not open");
        ok(listing_has("list set inet isod subnets", "10.78.0.0/24", 1), "subnet 10.78.0.0/24");
        ok(listing_has("list set inet isod nat_subnets", "10.77.0.0/24", 1), "nat subnet 10.77.0.0/24");
        ok(listing_has("list set inet isod nat_subnets", "10.78.0.0/24", 0), "10.78.0.0/24 not NATed");
        ok(listing_has("list map inet isod fwd4_any", "tcp . 8080 : 10.77.0.11 . 80", 1),
           "fwd4_any element");
        ok(listing_has("list map inet isod fwd4_addr", "127.0.0.1 . udp . 5353 : 10.78.0.12 . 53", 1),
           "fwd4_addr element");
        ok(listing_has("list set bridge isod wl_mac", "\"vh1\" . 02:00:0a:4d:00:0b", 1), "wl_mac vh1");
        ok(listing_has("list set bridge isod wl_ip", "\"vh2\" . 10.78.0.12", 1), "wl_ip vh2");
        ok(listing_has("list set bridge isod isolated_ports", "vh2", 1), "vh2 isolated");
        ok(listing_has("list set bridge isod isolated_ports", "vh1", 0), "vh1 not isolated");
        ok(listing_has("list chain inet isod guard", "iifname @bridges ip daddr 127.0.0.0/8 drop", 1),
           "localhost guard rule");

        /* again: same result, nothing doubled */
        ASSERT_OK(apply_state(f, NULL));
        ok(listing_has("list ruleset", "table inet isod", 1), "one inet table after re-apply");
        ok(listing_has("list ruleset", "table bridge isod", 1), "one bridge table after re-apply");
        ok(listing_has("list ruleset", "tcp . 8080 : 10.77.0.11 . 80", 1), "forward once after re-apply");
        ok(listing_has("list ruleset", "masquerade", 3), "3 masquerade rules after re-apply");
        ok(listing_has("list ruleset", "\"vh1\" . 10.77.0.11", 1), "endpoint once after re-apply");

        /* an empty state is valid too */
        ASSERT_OK(firewall_apply(f, NULL, 0, NULL, 0, NULL, 0, NULL));
        ok(listing_has("list ruleset", "vh1", 0), "empty state: no endpoints");
        ASSERT_OK(apply_state(f, NULL));
}

static void test_elements(Firewall *f) {
        _cleanup_free_ char *err = NULL;
        FwEndpoint e = {
                .ifname = "vh3", .bridge = "isot1", .mac = { 0x02, 1, 2, 3, 4, 5 }, .ip = ip("10.78.0.13")
        };
        FwForward fw = { .proto = PORT_TCP,
                         .host_addr = ip("192.0.2.1"),
                         .host_port = 9090,
                         .guest_ip = ip("10.78.0.13"),
                         .guest_port = 90 };
        FwForward clash = fwds[0];

        ASSERT_OK(firewall_add_endpoint(f, &e, NULL));
        ok(listing_has("list set bridge isod wl_ip", "\"vh3\" . 10.78.0.13", 1), "vh3 added to wl_ip");
        ok(listing_has("list set bridge isod wl_mac", "\"vh3\" . 02:01:02:03:04:05", 1),
           "vh3 added to wl_mac");
        ok(listing_has("list set bridge isod wl_ports", "\"vh3\"", 1), "vh3 added to wl_ports");
        ok(listing_has("list set bridge isod isolated_ports", "\"vh3\"", 1), "vh3 (isot1) isolated");
        ASSERT_OK(firewall_add_endpoint(f, &e, NULL));
        ok(listing_has("list set bridge isod wl_ip", "\"vh3\"", 1), "adding twice: once");
        ASSERT_OK(firewall_remove_endpoint(f, &e, NULL));
        ok(listing_has("list table bridge isod", "vh3", 0), "vh3 removed everywhere");
        ok(listing_has("list table bridge isod", "\"vh1\" . 10.77.0.11", 1), "vh1 still there");
        ASSERT_OK(firewall_remove_endpoint(f, &e, NULL));

        strcpy(e.bridge, "isot0");
        ASSERT_OK(firewall_add_endpoint(f, &e, NULL));
        ok(listing_has("list set bridge isod isolated_ports", "vh3", 0), "vh3 on isot0 not isolated");
        ASSERT_OK(firewall_remove_endpoint(f, &e, NULL));
        strcpy(e.bridge, "nosuchbr");
        ASSERT_ERROR(firewall_add_endpoint(f, &e, NULL), ENOENT);

        ASSERT_OK(firewall_add_forward(f, &fw, NULL));
        ok(listing_has("list map inet isod fwd4_addr", "192.0.2.1 . tcp . 9090 : 10.78.0.13 . 90", 1),
           "forward added to fwd4_addr");
        ASSERT_OK(firewall_add_forward(f, &fw, NULL));
        ok(listing_has("list map inet isod fwd4_addr", "9090", 1), "adding twice: once");
        ASSERT_OK(firewall_remove_forward(f, &fw, NULL));
        ok(listing_has("list map inet isod fwd4_addr", "9090", 0), "forward removed");
        ok(listing_has("list map inet isod fwd4_addr", "5353", 1), "other forward still there");
        ASSERT_OK(firewall_remove_forward(f, &fw, NULL));

        /* the same host port to a different target: nft refuses, with a message */
        clash.guest_port = 81;
        ASSERT_ERROR(firewall_add_forward(f, &clash, &err), EEXIST);
        ok(err && strstr(err, "File exists"), "clash comes with nft's message");
        diag("nft said: %s", strna(err));
        ok(listing_has("list map inet isod fwd4_any", "tcp . 8080 : 10.77.0.11 . 80", 1), "original kept");
        free(err);
        err = NULL;

        /* a workload's endpoint and forwards in one transaction: all of it, or nothing */
        {
                FwForward two[2] = { fw, fw };

                strcpy(e.bridge, "isot0");
                two[1].host_port = 9091;
                two[1].guest_port = 91;
                ASSERT_OK(firewall_add_workload(f, &e, two, 2, NULL));
                ok(listing_has("list set bridge isod wl_ip", "\"vh3\" . 10.78.0.13", 1) &&
                           listing_has("list map inet isod fwd4_addr", "9090 : 10.78.0.13 . 90", 1) &&
                           listing_has("list map inet isod fwd4_addr", "9091 : 10.78.0.13 . 91", 1),
                   "add_workload: the endpoint and both forwards");
                ASSERT_OK(firewall_remove_workload(f, &e, two, 2, NULL));
                ok(listing_has("list table bridge isod", "vh3", 0) &&
                           listing_has("list map inet isod fwd4_addr", "909", 0),
                   "remove_workload: all of it gone");
                ASSERT_OK(firewall_remove_workload(f, &e, two, 2, NULL)); /* twice: still fine */

                two[1] = clash; /* the second forward clashes: nothing of the first or the endpoint */
                ASSERT_ERROR(firewall_add_workload(f, &e, two, 2, &err), EEXIST);
                ok(listing_has("list table bridge isod", "vh3", 0) &&
                           listing_has("list map inet isod fwd4_addr", "9090", 0),
                   "a clashing forward: nothing of the workload was added");
                ok(listing_has("list map inet isod fwd4_any", "tcp . 8080 : 10.77.0.11 . 80", 1),
                   "... and the other workload's forward is kept");
                free(err);
                err = NULL;
        }

        /* someone deleted our table: element operations fail with nft's text */
        ASSERT_OK(nft_other("delete table inet isod"));
        ok(firewall_add_forward(f, &fw, &err) < 0, "add_forward without the table fails");
        ok(err && *err, "with a message");
        diag("nft said: %s", strna(err));
        ASSERT_OK(apply_state(f, NULL));
}

static int exec_nft(const char *arg1, const char *arg2) {
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execl("/usr/sbin/nft", "nft", arg1, arg2, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static void test_watch(Firewall *f) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        FwForward fw = {
                .proto = PORT_UDP, .host_port = 6000, .guest_ip = ip("10.77.0.11"), .guest_port = 6000
        };
        int apply_r = 0;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(firewall_watch(f, e, on_lost, &apply_r));
        ASSERT_ERROR(firewall_watch(f, e, on_lost, &apply_r), EBUSY);

        lost_count = 0;
        ASSERT_OK(apply_state(f, NULL));
        ASSERT_OK(apply_state(f, NULL));
        ASSERT_OK(firewall_add_forward(f, &fw, NULL));
        ASSERT_OK(firewall_remove_forward(f, &fw, NULL));
        run_loop(e, 300 * USEC_PER_MSEC, 1);
        ok(lost_count == 0, "our own apply and element changes do not fire (%u)", lost_count);

        ASSERT_OK(nft_other("delete table inet isod"));
        run_loop(e, 2 * USEC_PER_SEC, 1);
        ok(lost_count == 1, "deleting table inet isod fires (%u)", lost_count);
        ok(apply_r == 0, "callback re-applied");
        run_loop(e, 300 * USEC_PER_MSEC, 2);
        ok(lost_count == 1, "the re-apply itself does not fire again (%u)", lost_count);
        ok(listing_has("list ruleset", "table inet isod", 1), "table is back");

        ASSERT_OK(exec_nft("flush", "ruleset"));
        run_loop(e, 2 * USEC_PER_SEC, 2);
        ok(lost_count == 2, "nft flush ruleset (exec) fires (%u)", lost_count);
        ok(listing_has("list ruleset", "table bridge isod", 1), "bridge table is back");

        ASSERT_OK(nft_other("flush chain bridge isod prerouting"));
        run_loop(e, 2 * USEC_PER_SEC, 3);
        ok(lost_count == 3, "flushing one of our chains fires (%u)", lost_count);
        ok(listing_has("list chain bridge isod prerouting", "drop", 5), "chain rules are back");

        ASSERT_OK(nft_other("add table ip other\ndelete table ip other\n"));
        run_loop(e, 300 * USEC_PER_MSEC, 4);
        ok(lost_count == 3, "someone else's table does not fire (%u)", lost_count);
}

static void test_foreign(Firewall *f) {
        _cleanup_strv_free_ char **w = NULL;

        ASSERT_OK(firewall_foreign_warnings(f, &w));
        ok(w && strv_length(w) == 0, "no warnings with only our tables");
        w = strv_free(w);

        ASSERT_OK(nft_other("table ip filter {\n"
                            "  chain FORWARD { type filter hook forward priority 0; policy drop;\n  }\n"
                            "  chain INPUT { type filter hook input priority 0; policy drop;\n  }\n"
                            "}\n"
                            "table inet fine { chain fw1 { type filter hook forward priority 0; }\n}\n"));
        ASSERT_OK(firewall_foreign_warnings(f, &w));
        ok(w && strv_length(w) == 1, "one warning (%zu)", strv_length(w));
        ok(w && w[0] && strstr(w[0], "'ip filter'") && strstr(w[0], "'FORWARD'"),
           "it names ip filter FORWARD");
        ok(w && w[0] && strstr(w[0], "isot0") && strstr(w[0], "isot1"),
           "and says what to do for our bridges");
        diag("%s", w && w[0] ? w[0] : "(none)");
        w = strv_free(w);

        ASSERT_OK(nft_other("add chain ip filter DOCKER-USER"));
        ASSERT_OK(firewall_foreign_warnings(f, &w));
        ok(w && w[0] && startswith(w[0], "Docker") && strstr(w[0], "DOCKER-USER -i isot0"),
           "Docker recognised");
        diag("%s", w && w[0] ? w[0] : "(none)");
        ASSERT_OK(nft_other("delete table ip filter\ndelete table inet fine\n"));
}

/* Real packets: two networks (one isolated), four workloads in network namespaces of their own
 * (sleeping unshare processes), veths on bridges, busybox httpd/ping/wget. The script prints
 * "PASS name" or "FAIL name" per check. */
static const char packet_script[] =
        "set -u\n"
        "# no \"wget -T\": it segfaults in Debian 12's busybox 1.35; timeout(1) bounds every check\n"
        "W=$(mktemp -d /tmp/isod-fwtest.XXXXXX)\n"
        "pids=\"\"\n"
        "trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf \"$W\"' EXIT\n"
        "self=$(readlink /proc/self/ns/net)\n"
        "# workload NAME BRIDGE IP MAC: a veth whose peer eth0 lives in a fresh netns (a sleeping unshare)\n"
        "wl() {\n"
        "        unshare -n sleep 120 & eval \"pid_$1=$!\"; pids=\"$pids $!\"\n"
        "        p=$!; while [ \"$(readlink /proc/$p/ns/net)\" = \"$self\" ]; do sleep 0.01; done\n"
        "        ip link add \"$1\" type veth peer name eth0 netns $p\n"
        "        ip link set \"$1\" master \"$2\" up\n"
        "        nsenter -t $p -n sh -c \"ip link set lo up; ip link set eth0 address $4 up; ip addr add $3/24 dev eth0; ip route add default via ${3%.*}.1\"\n"
        "}\n"
        "ns() { p=$(eval echo \\$pid_$1); shift; timeout 3 nsenter -t $p -n \"$@\"; }\n"
        "expect() { want=$1; name=$2; shift 2; if \"$@\" >/dev/null 2>&1; then got=ok; else got=fail; fi\n"
        "        [ $got = $want ] && echo \"PASS $name\" || echo \"FAIL $name (got $got)\"; }\n"
        "for b in isop0:10.90.0.1 isoq0:10.91.0.1; do\n"
        "        ip link add ${b%%:*} type bridge; ip addr add ${b#*:}/24 dev ${b%%:*}; ip link set ${b%%:*} up\n"
        "done\n"
        "ip link set lo up\n"
        "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.isop0.route_localnet=1\n"
        "wl p1 isop0 10.90.0.11 02:00:0a:5a:00:0b\n"
        "wl p2 isop0 10.90.0.12 02:00:0a:5a:00:0c\n"
        "wl q1 isoq0 10.91.0.11 02:00:0a:5b:00:0b\n"
        "wl q2 isoq0 10.91.0.12 02:00:0a:5b:00:0c\n"
        "echo \"# bridge-nf-call-iptables=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)\"\n"
        "mkdir -p $W/www $W/secret; echo c1 > $W/www/index.html; echo secret > $W/secret/index.html\n"
        "nsenter -t $pid_p1 -n busybox httpd -f -p 10.90.0.11:80 -h $W/www >/dev/null 2>&1 & pids=\"$pids $!\"\n"
        "busybox httpd -f -p 127.0.0.1:7777 -h $W/secret >/dev/null 2>&1 & pids=\"$pids $!\"\n"
        "busybox httpd -f -p 10.90.0.1:7778 -h $W/secret >/dev/null 2>&1 & pids=\"$pids $!\"\n"
        "sleep 0.3\n"
        "expect ok   \"p1 pings its gateway\" ns p1 ping -c1 -W1 10.90.0.1\n"
        "expect ok   \"p1 pings p2 (same network, br_netfilter on)\" ns p1 ping -c1 -W1 10.90.0.12\n"
        "expect ok   \"q1 pings its gateway (isolated network)\" ns q1 ping -c1 -W1 10.91.0.1\n"
        "expect fail \"q1 cannot ping q2 (isolated network)\" ns q1 ping -c1 -W1 10.91.0.12\n"
        "expect fail \"p1 cannot reach q1 (another network)\" ns p1 ping -c1 -W1 10.91.0.11\n"
        "expect fail \"p1 cannot open a host service on the gateway\" ns p1 busybox wget -qO- http://10.90.0.1:7778/\n"
        "expect ok   \"p2 reaches p1's server directly\" ns p2 busybox wget -qO- http://10.90.0.11/\n"
        "expect ok   \"host reaches the forward on 127.0.0.1:8080\" timeout 3 busybox wget -qO- http://127.0.0.1:8080/\n"
        "expect ok   \"host reaches the forward on the gateway address\" timeout 3 busybox wget -qO- http://10.90.0.1:8080/\n"
        "expect ok   \"p2 reaches the forward via the gateway (hairpin)\" ns p2 busybox wget -qO- http://10.90.0.1:8080/\n"
        "ns p2 ip addr add 10.90.0.99/32 dev eth0\n"
        "expect fail \"p2 with a spoofed source IP is dropped\" ns p2 ping -c1 -W1 -I 10.90.0.99 10.90.0.1\n"
        "expect ok   \"p2 with its own IP still works\" ns p2 ping -c1 -W1 -I 10.90.0.12 10.90.0.1\n"
        "ns p2 ip link set eth0 address 02:00:0a:5a:00:99\n"
        "expect fail \"p2 with a spoofed MAC is dropped\" ns p2 ping -c1 -W1 10.90.0.1\n"
        "ns p2 ip link set eth0 address 02:00:0a:5a:00:0c\n"
        "# a hostile p1 (root in its netns, as any VM guest) routes 127/8 to the host (CVE-2020-8558)\n"
        "ns p1 sh -c 'ip route del local 127.0.0.0/8 dev lo table local; ip route del local 127.0.0.1 dev lo table local; ip addr del 127.0.0.1/8 dev lo; ip route add 127.0.0.0/8 via 10.90.0.1 dev eth0; sysctl -qw net.ipv4.conf.eth0.route_localnet=1 net.ipv4.conf.all.route_localnet=1' 2>/dev/null\n"
        "expect fail \"p1 cannot reach the host's 127.0.0.1 (guard)\" ns p1 busybox wget -qO- http://127.0.0.1:7777/\n";

static void test_packets(Firewall *f) {
        _cleanup_free_ char *err = NULL, *line = NULL;
        _cleanup_fclose_ FILE *in = NULL;
        FwNetwork pn[2] = {
                { .bridge = "isop0",
                  .subnet = ip("10.90.0.0"),
                  .prefix = 24,
                  .gateway = ip("10.90.0.1"),
                  .nat = true },
                { .bridge = "isoq0",
                  .subnet = ip("10.91.0.0"),
                  .prefix = 24,
                  .gateway = ip("10.91.0.1"),
                  .nat = true,
                  .isolated = true },
        };
        FwEndpoint pe[4] = {
                { .ifname = "p1",
                  .bridge = "isop0",
                  .mac = { 2, 0, 10, 90, 0, 11 },
                  .ip = ip("10.90.0.11") },
                { .ifname = "p2",
                  .bridge = "isop0",
                  .mac = { 2, 0, 10, 90, 0, 12 },
                  .ip = ip("10.90.0.12") },
                { .ifname = "q1",
                  .bridge = "isoq0",
                  .mac = { 2, 0, 10, 91, 0, 11 },
                  .ip = ip("10.91.0.11") },
                { .ifname = "q2",
                  .bridge = "isoq0",
                  .mac = { 2, 0, 10, 91, 0, 12 },
                  .ip = ip("10.91.0.12") },
        };
        FwForward pf = {
                .proto = PORT_TCP, .host_port = 8080, .guest_ip = ip("10.90.0.11"), .guest_port = 80
        };
        size_t n = 0;
        int fds[2], status;
        pid_t pid;

        if (access("/usr/bin/busybox", X_OK) < 0 || access("/usr/bin/nsenter", X_OK) < 0) {
                diag("no busybox or nsenter: packet checks skipped");
                return;
        }
        /* endpoints first through apply, then one through the element calls */
        ASSERT_OK(firewall_apply(f, pn, 2, pe, 3, NULL, 0, &err));
        ASSERT_OK(firewall_add_endpoint(f, &pe[3], NULL));
        ASSERT_OK(firewall_add_forward(f, &pf, NULL));

        assert(pipe2(fds, O_CLOEXEC) == 0);
        pid = fork();
        assert(pid >= 0);
        if (pid == 0) {
                (void) dup2(fds[1], STDOUT_FILENO);
                execl("/bin/sh", "sh", "-c", packet_script, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        in = fdopen(fds[0], "r");
        assert(in);
        for (size_t sz = 0; getline(&line, &sz, in) > 0;) {
                line[strcspn(line, "\n")] = 0;
                if (startswith(line, "#"))
                        diag("%s", line + 1);
                else
                        ok(startswith(line, "PASS "), "packets: %s", line + 5);
                n++;
        }
        ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "packet script exited");
        ok(n >= 15, "packet script ran every check (%zu lines)", n);
}

int main(void) {
        _cleanup_(firewall_freep) Firewall *f = NULL;
        _cleanup_(nft_ctx_freep) struct nft_ctx *o = NULL;
        struct stat before, after;

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root (nftables in a network namespace of its own)\n");
                return 77;
        }
        if (stat("/proc/self/ns/net", &before) < 0 || unshare(CLONE_NEWNET) < 0) {
                printf("1..0 # SKIP cannot make a network namespace: %m\n");
                return 77;
        }
        if (!ok(stat("/proc/self/ns/net", &after) == 0 && after.st_ino != before.st_ino,
                "in a new network namespace")) {
                printf("Bail out! refusing to touch the host's ruleset\n");
                return 1;
        }

        setup_state();
        o = other = nft_ctx_new(NFT_CTX_DEFAULT);
        assert(other);
        assert(nft_ctx_buffer_output(other) == 0 && nft_ctx_buffer_error(other) == 0);

        if (!ASSERT_OK(firewall_new(&f)))
                return done_testing();

        test_validation(f);
        test_apply(f);
        test_elements(f);
        test_watch(f);
        test_foreign(f);
        test_packets(f);

        return done_testing();
}
