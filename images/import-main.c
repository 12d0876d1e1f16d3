/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isod-image-import: the confined helper isod runs for one import (docs/images.md).
 *
 *   isod-image-import --store=DIR --job=NAME [--max-bytes=N] [--max-entries=N] [--ref=NAME]
 *                     [--arch=ARCH]
 *   fd 0: the archive (a file, a pipe, or an OCI layout directory), as the caller passed it
 *   fd 3: one JSON object per line: {"progress":{...}}, then {"result":{...}} or {"error":"..."}
 *
 * Before reading a byte it confines itself: a private mount namespace where everything but the
 * store is read-only (and the store nosuid, nodev, noexec), no network (an empty network
 * namespace), RLIMIT_FSIZE at the byte budget, only the capabilities unpacking needs (chown,
 * fowner, fsetid, mknod for whiteouts, setfcap for file capabilities, dac_override to clean up
 * mode-0000 directories, sys_admin for the trusted.overlay.opaque xattr), no_new_privs and a
 * seccomp filter that refuses exec, fork, sockets, mounts, namespaces, ptrace, module and key
 * calls. It writes only under STORE/staging/JOB (removed at the end, whatever happens) and
 * STORE/layers, STORE/l (the commit). */

#include <fcntl.h>
#include <getopt.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "import-internal.h"
#include "util.h"

#define CAP(c) (UINT64_C(1) << (c))
#define HELPER_CAPS                                                                                    \
        (CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FOWNER) | CAP(CAP_FSETID) | CAP(CAP_MKNOD) | \
         CAP(CAP_SETFCAP) | CAP(CAP_SYS_ADMIN))

static int emit(int fd, const char *key, json_t *value) {
        _cleanup_free_ char *text = NULL;
        json_t *o = json_pack("{s:o}", key, value);

        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        if (dprintf(fd, "%s\n", text) < 0)
                return -EIO;
        return 0;
}

static int confine_mounts(const char *store) {
        struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
        struct mount_attr rw = { .attr_clr = MOUNT_ATTR_RDONLY,
                                 .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };

        if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC) < 0)
                return -errno;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        if (mount(store, store, NULL, MS_BIND, NULL) < 0)
                return -errno;
        if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) < 0)
                return -errno;
        if (syscall(SYS_mount_setattr, AT_FDCWD, store, 0, &rw, sizeof rw) < 0)
                return -errno;
        return 0;
}

static int confine_privileges(uint64_t max_bytes) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2] = {};
        struct rlimit fsize = { max_bytes, max_bytes }, nofile = { 256, 256 }, core = { 0, 0 };
        static const int denied[] = {
                SCMP_SYS(execve),
                SCMP_SYS(execveat),
                SCMP_SYS(fork),
                SCMP_SYS(vfork),
                SCMP_SYS(clone),
                SCMP_SYS(clone3),
                SCMP_SYS(socket),
                SCMP_SYS(socketpair),
                SCMP_SYS(connect),
                SCMP_SYS(bind),
                SCMP_SYS(ptrace),
                SCMP_SYS(mount),
                SCMP_SYS(umount2),
                SCMP_SYS(pivot_root),
                SCMP_SYS(chroot),
                SCMP_SYS(unshare),
                SCMP_SYS(setns),
                SCMP_SYS(move_mount),
                SCMP_SYS(open_tree),
                SCMP_SYS(fsopen),
                SCMP_SYS(fsmount),
                SCMP_SYS(mount_setattr),
                SCMP_SYS(kexec_load),
                SCMP_SYS(kexec_file_load),
                SCMP_SYS(bpf),
                SCMP_SYS(init_module),
                SCMP_SYS(finit_module),
                SCMP_SYS(delete_module),
                SCMP_SYS(keyctl),
                SCMP_SYS(add_key),
                SCMP_SYS(request_key),
                SCMP_SYS(open_by_handle_at),
                SCMP_SYS(perf_event_open),
                SCMP_SYS(userfaultfd),
                SCMP_SYS(reboot),
                SCMP_SYS(swapon),
                SCMP_SYS(swapoff),
                SCMP_SYS(process_vm_readv),
                SCMP_SYS(process_vm_writev),
                SCMP_SYS(io_uring_setup),
                SCMP_SYS(setuid),
                SCMP_SYS(setgid),
                SCMP_SYS(setresuid),
                SCMP_SYS(setresgid),
                SCMP_SYS(setgroups),
        };
        scmp_filter_ctx ctx;
        int r;

        if (setrlimit(RLIMIT_FSIZE, &fsize) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0 ||
            setrlimit(RLIMIT_CORE, &core) < 0)
                return -errno;
        for (unsigned c = 0; c <= 63; c++)
                if (!(HELPER_CAPS & CAP(c)) && prctl(PR_CAPBSET_DROP, (unsigned long) c, 0, 0, 0) < 0 &&
                    errno != EINVAL)
                        return -errno;
        d[0].effective = d[0].permitted = (uint32_t) HELPER_CAPS;
        d[1].effective = d[1].permitted = (uint32_t) (HELPER_CAPS >> 32);
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        r = 0;
        for (size_t i = 0; i < sizeof denied / sizeof denied[0] && r >= 0; i++)
                if (denied[i] >= 0)
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

static bool job_name_ok(const char *s) {
        size_t n = strlen(s);
        return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "store", required_argument, NULL, 's' },
                { "job", required_argument, NULL, 'j' },
                { "max-bytes", required_argument, NULL, 'b' },
                { "max-entries", required_argument, NULL, 'e' },
                { "ref", required_argument, NULL, 'r' },
                { "arch", required_argument, NULL, 'a' },
                {},
        };
        const char *store = NULL, *job = NULL, *ref = NULL, *arch = NULL;
        uint64_t max_bytes = IMPORT_DEFAULT_MAX_BYTES, max_entries = IMPORT_DEFAULT_MAX_ENTRIES;
        int out_fd = fcntl(3, F_GETFD) >= 0 ? 3 : STDOUT_FILENO;
        Import imp = {
                .store_fd = -EBADF, .staging_fd = -EBADF, .layout_fd = -EBADF, .progress_fd = out_fd
        };
        int c, r;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        store = optarg;
                        break;
                case 'j':
                        job = optarg;
                        break;
                case 'b':
                        if (parse_size(optarg, &max_bytes) < 0 || max_bytes == 0) {
                                fprintf(stderr, "isod-image-import: invalid --max-bytes\n");
                                return 2;
                        }
                        break;
                case 'e':
                        if (safe_atou64(optarg, &max_entries) < 0 || max_entries == 0) {
                                fprintf(stderr, "isod-image-import: invalid --max-entries\n");
                                return 2;
                        }
                        break;
                case 'r':
                        ref = optarg;
                        break;
                case 'a':
                        arch = optarg;
                        break;
                default:
                        return 2;
                }
        if (!store || store[0] != '/' || !job || !job_name_ok(job) || optind != argc) {
                fprintf(stderr, "Usage: isod-image-import --store=/DIR --job=NAME [--max-bytes=N] "
                                "[--max-entries=N] [--ref=NAME] [--arch=ARCH] <ARCHIVE 3>RESULT\n");
                return 2;
        }
        imp.job = job;
        imp.ref = ref;
        imp.arch = arch ?: host_arch();
        imp.budget = (ImportBudget){ .bytes_left = max_bytes, .entries_left = max_entries };

        r = confine_mounts(store);
        if (r < 0) {
                (void) set_error_message(&imp.error, r, "confine the importer (mount namespace)");
                goto fail;
        }
        imp.store_fd = open(store, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (imp.store_fd < 0) {
                (void) set_error_message(&imp.error, -errno, "open the store %s", store);
                goto fail;
        }
        for (const char *const *d = (const char *const[]){ "layers", "l", "staging", NULL }; *d; d++)
                if (mkdirat(imp.store_fd, *d, 0700) < 0 && errno != EEXIST) {
                        (void) set_error_message(&imp.error, -errno, "create %s/%s", store, *d);
                        goto fail;
                }
        {
                char rel[96];
                (void) snprintf(rel, sizeof rel, "staging/%s", job);
                if (mkdirat(imp.store_fd, rel, 0700) < 0) {
                        (void) set_error_message(&imp.error, -errno, "create the staging directory %s", rel);
                        goto fail;
                }
                imp.staging_fd = openat(imp.store_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (imp.staging_fd < 0) {
                        (void) set_error_message(&imp.error, -errno, "open %s", rel);
                        goto fail;
                }
        }
        r = confine_privileges(max_bytes);
        if (r < 0) {
                (void) set_error_message(&imp.error, r, "confine the importer (privileges, seccomp)");
                goto fail;
        }
        (void) signal(SIGXFSZ, SIG_IGN); /* a file over RLIMIT_FSIZE: EFBIG from write(), an error */

        r = import_run(&imp, STDIN_FILENO);
        if (r < 0 && !imp.error)
                (void) set_error_message(&imp.error, r, "%s", strerror(-r));
        if (r >= 0) {
                import_progress(&imp, 0);
                r = emit(out_fd, "result", json_incref(imp.result));
        }
        {
                char rel[96];
                (void) snprintf(rel, sizeof rel, "staging/%s", job);
                safe_close(imp.staging_fd);
                (void) rm_rf_at(imp.store_fd, rel);
        }
        if (r >= 0) {
                import_free(&imp);
                return 0;
        }
fail:
        if (imp.store_fd >= 0 && job && job_name_ok(job)) {
                char rel[96];
                (void) snprintf(rel, sizeof rel, "staging/%s", job);
                (void) rm_rf_at(imp.store_fd, rel);
        }
        fprintf(stderr, "isod-image-import: %s\n", imp.error ?: "failed");
        (void) emit(out_fd, "error", json_string(imp.error ?: "the import failed"));
        import_free(&imp);
        return 1;
}
