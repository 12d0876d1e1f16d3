/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup.c below the daemon: the host's own layout (v1/hybrid here), and the v2 code paths on
 * whatever cgroup2 mount the host has (on a hybrid host the one at /sys/fs/cgroup/unified, which
 * has no controllers: directories, CLONE_INTO_CGROUP, the eBPF device filter, cgroup.kill and
 * removal are real; limits are not). Needs root; skips (77) otherwise. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup.h"
#include "tap.h"
#include "util.h"

static int wait_status(int pidfd) {
        siginfo_t si = {};

        if (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0)
                return -errno;
        (void) close(pidfd);
        return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

/* In the child: 0 if /dev/null opens, a node for /dev/mem can be made but not opened (EPERM),
 * and our cgroup path ends in the leaf. Bits tell what failed. */
_noreturn_ static void child_checks(const char *tmp, const char *leaf) {
        char node[4096], buf[4096];
        int fd, bits = 0;

        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                bits |= 1;
        (void) snprintf(node, sizeof node, "%s/mem", tmp);
        if (mknod(node, S_IFCHR | 0600, makedev(1, 1)) < 0)
                bits |= 2;
        else if (open(node, O_RDONLY | O_CLOEXEC) >= 0 || errno != EPERM)
                bits |= 4;
        fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0)
                bits |= 8;
        else if (!strstr(buf, leaf))
                bits |= 16;
        _exit(bits);
}

static void unlink_mem(const char *tmp) {
        char node[4096];

        (void) snprintf(node, sizeof node, "%s/mem", tmp);
        (void) unlink(node);
}

static void test_names(void) {
        const CgroupLimits none = { .devices_unrestricted = true };
        _cleanup_free_ char *p = NULL, *msg = NULL;
        Cgroup *cg = NULL;

        ASSERT_ERROR(cgroup_setup("noslash", &none, &cg, &msg), EINVAL);
        ASSERT_ERROR(cgroup_setup("isod/cgroup.procs", &none, &cg, &msg), EINVAL);
        ASSERT_ERROR(cgroup_setup("isod/../x", &none, &cg, &msg), EINVAL);
        ASSERT_ERROR(cgroup_setup("isod/a/b", &none, &cg, &msg), EINVAL);
        ok(!cg, "no handle on failure");
        ASSERT_OK(cgroup_path_for_workload(ISOD_STATE_DIR "/workloads/web", "ctr", "web", &p));
        ok(p && streq(p, "isod/ctr-web"), "default state dir → isod/ctr-web (%s)", strna(p));
        free(p);
        p = NULL;
        ASSERT_OK(cgroup_path_for_workload("/tmp/x/workloads/web", "vm", "web", &p));
        ok(p && strneq(p, "isod-", 5) && strlen(p) == strlen("isod-12345678/vm-web"), "other state dir → %s",
           strna(p));
}

static void test_host_layout(const char *tmp) {
        const CgroupLimits l = { .memory = 64 << 20, .pids = 10, .cpus = 0.25 };
        _cleanup_free_ char *msg = NULL, *path = NULL, *leaf = NULL;
        json_t *stats = NULL;
        int pidfd = -EBADF, r, sync[2];
        bool placed = true;
        uint64_t v = 1;
        Cgroup *cg = NULL;
        pid_t pid;

        if (asprintf(&leaf, "ctr-unit%d", (int) getpid()) < 0)
                return;
        if (asprintf(&path, "isod-unit%d/%s", (int) getpid(), leaf) < 0)
                return;
        r = cgroup_setup(path, &l, &cg, &msg);
        if (!ok(r >= 0, "cgroup_setup('%s') on the host's layout with memory, pids, cpus: %d", path, r)) {
                diag("%s", strna(msg));
                return;
        }
        diag("host layout: %s, %s", cgroup_layout(cg) == CGROUP_LAYOUT_V2 ? "v2" : "v1", cgroup_path(cg));
        ok(access(cgroup_path(cg), F_OK) >= 0, "the leaf exists");

        if (pipe2(sync, O_CLOEXEC) < 0)
                return;
        pid = cgroup_clone3(cg, 0, &pidfd, &placed);
        if (pid == 0) {
                char c;

                /* Wait to be placed (v1), as the container init does. */
                (void) close(sync[1]);
                if (read(sync[0], &c, 1) != 1)
                        _exit(99);
                child_checks(tmp, leaf);
        }
        (void) close(sync[0]);
        ok(pid > 0, "cgroup_clone3");
        if (!placed)
                ASSERT_OK(cgroup_attach_pid(cg, pid));
        (void) !write(sync[1], "x", 1);
        (void) close(sync[1]);
        r = wait_status(pidfd);
        ok(r == 0, "child: /dev/null opens, /dev/mem node made but EPERM, placed in the leaf (bits %d)", r);
        unlink_mem(tmp);

        ASSERT_OK(cgroup_stats(cg, &stats));
        if (stats) {
                char *s = json_dumps(stats, JSON_COMPACT);
                diag("stats: %s", strna(s));
                ok(json_integer_value(json_object_get(stats, "memory_limit_bytes")) == 64 << 20,
                   "stats: memory limit");
                ok(json_integer_value(json_object_get(stats, "pids_limit")) == 10, "stats: pids limit");
                ok(json_object_get(stats, "cpu_usec") != NULL, "stats: cpu_usec");
                free(s);
                json_decref(stats);
        }
        ASSERT_OK(cgroup_oom_kills(cg, &v));
        ok(v == 0, "no OOM kills");

        /* A leftover that ignores everything: destroy must kill it and still remove the leaf. */
        pid = cgroup_clone3(cg, 0, &pidfd, &placed);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        if (!placed)
                (void) cgroup_attach_pid(cg, pid);
        free(msg);
        msg = strdup(cgroup_path(cg));
        cg = cgroup_destroy(cg);
        r = wait_status(pidfd);
        ok(r == 128 + SIGKILL, "destroy killed the leftover (%d)", r);
        ok(msg && access(msg, F_OK) < 0 && errno == ENOENT, "the leaf is gone after destroy");

        /* GROUP is kept by design (never removed by a teardown): remove this test's own. */
        if (msg && strrchr(msg, '/')) {
                *strrchr(msg, '/') = 0;
                (void) rmdir(msg);
        }
        for (const char *const *c =
                     (const char *const[]){ "memory", "pids", "cpu", "cpuacct", "devices", "blkio", NULL };
             *c; c++) {
                char g[128];

                (void) snprintf(g, sizeof g, "/sys/fs/cgroup/%s/isod-unit%d", *c, (int) getpid());
                (void) rmdir(g);
        }
}

static const char *find_cgroup2(void) {
        struct statfs sfs;

        if (statfs("/sys/fs/cgroup", &sfs) >= 0 && (unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC)
                return "/sys/fs/cgroup";
        if (statfs("/sys/fs/cgroup/unified", &sfs) >= 0 && (unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC)
                return "/sys/fs/cgroup/unified";
        return NULL;
}

static void test_v2_paths(const char *tmp) {
        const char *base = find_cgroup2();
        _cleanup_free_ char *msg = NULL, *path = NULL, *leaf = NULL, *group_dir = NULL, *leaf_dir = NULL;
        const CgroupLimits l = {};
        int pidfd = -EBADF, r;
        bool placed = false;
        Cgroup *cg = NULL;
        pid_t pid;

        if (!base) {
                ok(true, "# SKIP no cgroup2 mount");
                return;
        }
        if (asprintf(&leaf, "ctr-v2unit%d", (int) getpid()) < 0)
                return;
        if (asprintf(&path, "isod-v2unit%d/%s", (int) getpid(), leaf) < 0)
                return;
        if (asprintf(&group_dir, "%s/isod-v2unit%d", base, (int) getpid()) < 0)
                return;
        if (asprintf(&leaf_dir, "%s/%s", group_dir, leaf) < 0)
                return;
        r = cgroup_setup_at(CGROUP_LAYOUT_V2, base, path, &l, &cg, &msg);
        if (!ok(r >= 0, "cgroup_setup_at(v2, '%s', '%s'): %d", base, path, r)) {
                diag("%s", strna(msg));
                return;
        }
        ok(streq_ptr(cgroup_path(cg), leaf_dir), "v2 leaf at %s", strna(cgroup_path(cg)));

        pid = cgroup_clone3(cg, 0, &pidfd, &placed);
        if (pid == 0)
                child_checks(tmp, leaf);
        ok(pid > 0 && placed, "v2: CLONE_INTO_CGROUP placed the child at clone");
        r = wait_status(pidfd);
        ok(r == 0,
           "v2 child: eBPF device filter allows /dev/null, denies opening c 1:1 (EPERM), in the leaf (bits %d)",
           r);
        unlink_mem(tmp);

        pid = cgroup_clone3(cg, 0, &pidfd, &placed);
        if (pid == 0)
                for (;;)
                        pause();
        ASSERT_OK(cgroup_kill_all(cg));
        r = wait_status(pidfd);
        ok(r == 128 + SIGKILL, "v2: cgroup.kill killed the process (%d)", r);
        cg = cgroup_destroy(cg);
        ok(access(leaf_dir, F_OK) < 0, "v2: the leaf is gone");
        /* GROUP is kept: removing it when empty raced with a concurrent launch. */
        ok(access(group_dir, F_OK) >= 0, "v2: the instance's group is kept (never removed by a teardown)");
        (void) rmdir(group_dir);
}

int main(void) {
        char tmp[] = "/tmp/test-cgroup-unit.XXXXXX";

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root\n");
                return 77;
        }
        if (!mkdtemp(tmp))
                return 1;
        test_names();
        test_host_layout(tmp);
        test_v2_paths(tmp);
        (void) rmdir(tmp);
        return done_testing();
}
