/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "spec.h"
#include "state.h"
#include "tap.h"
#include "util.h"

static void test_parse_size(void) {
        uint64_t v = 0;

        ok(parse_size("256M", &v) == 0 && v == 256ULL << 20, "256M");
        ok(parse_size("1G", &v) == 0 && v == 1ULL << 30, "1G");
        ok(parse_size("4096", &v) == 0 && v == 4096, "plain bytes");
        ok(parse_size("512KiB", &v) == 0 && v == 512ULL << 10, "512KiB");
        ASSERT_ERROR(parse_size("-1M", &v), EINVAL);
        ASSERT_ERROR(parse_size("12X", &v), EINVAL);
        ASSERT_ERROR(parse_size("", &v), EINVAL);
        ASSERT_ERROR(parse_size("99999999999999999999", &v), ERANGE);
        ASSERT_ERROR(parse_size("18014398509481984T", &v), ERANGE);
}

static void test_parse_timespan(void) {
        uint64_t v = 0;

        ok(parse_timespan("10", &v) == 0 && v == 10 * USEC_PER_SEC, "10 = seconds");
        ok(parse_timespan("500ms", &v) == 0 && v == 500 * USEC_PER_MSEC, "500ms");
        ok(parse_timespan("2m", &v) == 0 && v == 120 * USEC_PER_SEC, "2m");
        ASSERT_ERROR(parse_timespan("soon", &v), EINVAL);
}

static void test_parse_signal(void) {
        int s = 0;

        ok(parse_signal("HUP", &s) == 0 && s == SIGHUP, "HUP");
        ok(parse_signal("SIGTERM", &s) == 0 && s == SIGTERM, "SIGTERM");
        ok(parse_signal("kill", &s) == 0 && s == SIGKILL, "kill (case-insensitive)");
        ok(parse_signal("9", &s) == 0 && s == 9, "9");
        ASSERT_ERROR(parse_signal("0", &s), ERANGE);
        ASSERT_ERROR(parse_signal("NOPE", &s), EINVAL);
        ok(streq(signal_to_name(SIGUSR1), "USR1"), "signal_to_name");
}

static void test_names(void) {
        ok(workload_name_is_valid("web"), "web");
        ok(workload_name_is_valid("a.b-c_d9"), "a.b-c_d9");
        ok(!workload_name_is_valid("../x"), "../x refused");
        ok(!workload_name_is_valid(".x"), ".x refused");
        ok(!workload_name_is_valid("-x"), "-x refused");
        ok(!workload_name_is_valid("a/b"), "a/b refused");
        ok(!workload_name_is_valid(""), "empty refused");
        ok(!workload_name_is_valid("a b"), "space refused");
        ok(!workload_name_is_valid("0123456789012345678901234567890123456789012345678901234567890123x"),
           "65 characters refused");
        ok(workload_name_is_valid("012345678901234567890123456789012345678901234567890123456789012x"),
           "64 characters accepted");
        ok(path_is_safe_absolute("/a/b"), "/a/b safe");
        ok(!path_is_safe_absolute("/a/../b"), "/a/../b unsafe");
        ok(!path_is_safe_absolute("a/b"), "relative unsafe");
        ok(!path_is_safe_absolute("/a/\n"), "control characters unsafe");
}

static void test_files(void) {
        char dir[] = "/tmp/isod-test-util.XXXXXX";
        char *s = NULL;
        size_t n = 0;
        int dfd;

        ok(mkdtemp(dir) != NULL, "mkdtemp");
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(write_file_atomic_at(dfd, "f", "hello", 5, 0600));
        ASSERT_OK(read_full_file_at(dfd, "f", 100, &s, &n));
        ok(s && n == 5 && streq(s, "hello"), "read back");
        free(s);
        s = NULL;
        ASSERT_ERROR(read_full_file_at(dfd, "f", 3, &s, &n), EFBIG);
        ok(faccessat(dfd, "f.tmp.0", F_OK, 0) < 0, "no temporary file left");
        ASSERT_OK(mkdir_p("/tmp/isod-test-util-x/a/b", 0700));
        ASSERT_OK(rm_rf("/tmp/isod-test-util-x"));
        ok(access("/tmp/isod-test-util-x", F_OK) < 0, "rm_rf removed the tree");
        (void) close(dfd);
        ASSERT_OK(rm_rf(dir));
}

static void test_state_machine(void) {
        static const struct {
                WorkloadState from, to;
                bool ok;
        } t[] = {
                { WORKLOAD_CREATED, WORKLOAD_STARTING, true },
                { WORKLOAD_CREATED, WORKLOAD_RUNNING, false },
                { WORKLOAD_STARTING, WORKLOAD_RUNNING, true },
                { WORKLOAD_STARTING, WORKLOAD_FAILED, true },
                { WORKLOAD_RUNNING, WORKLOAD_STOPPING, true },
                { WORKLOAD_RUNNING, WORKLOAD_EXITED, true },
                { WORKLOAD_STOPPING, WORKLOAD_EXITED, true },
                { WORKLOAD_STOPPING, WORKLOAD_RUNNING, false },
                { WORKLOAD_EXITED, WORKLOAD_RUNNING, false },
                { WORKLOAD_EXITED, WORKLOAD_STARTING, false },
                { WORKLOAD_FAILED, WORKLOAD_EXITED, false },
                { WORKLOAD_RUNNING, WORKLOAD_CREATED, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                ok(workload_state_transition_ok(t[i].from, t[i].to) == t[i].ok, "%s → %s %s",
                   workload_state_to_string(t[i].from), workload_state_to_string(t[i].to),
                   t[i].ok ? "allowed" : "refused");
        for (int s = 0; s < _WORKLOAD_STATE_MAX; s++)
                ok(workload_state_from_string(workload_state_to_string((WorkloadState) s)) == s,
                   "state %s round-trips", workload_state_to_string((WorkloadState) s));
        ok(workload_state_from_string("bogus") < 0, "unknown state refused");
}

int main(void) {
        test_parse_size();
        test_parse_timespan();
        test_parse_signal();
        test_names();
        test_files();
        test_state_machine();
        return done_testing();
}
