/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "container.h"
#include "util.h"

/* seccomp for containers (docs/security.md).
 *
 * Compiling a filter with libseccomp costs milliseconds (systemd-nspawn spends ~55 of its ~70 ms
 * there), and the monitor is a fresh process for every launch. So the monitor compiles each
 * profile once and keeps the BPF program on disk, at
 *     CACHE_DIR/seccomp/SHA256(compiler version, libseccomp version, arch, profile bytes).bpf
 * written atomically; a later launch only reads ~1-2 KiB and the child hands it to the kernel
 * with prctl(PR_SET_SECCOMP) as its very last step before execve(). A custom profile is keyed by
 * its content, so editing the file invalidates the cache by itself.
 *
 * The default profile is a deny-list (default action: allow) in the spirit of crun's and
 * Docker's: module loading, kexec, keyrings, tracing other processes, mounting, new namespaces,
 * terminal injection, bpf/perf/userfaultfd/io_uring, clocks, swap, reboot and similar calls fail
 * with EPERM; clone3() fails with ENOSYS so that libc falls back to clone(), whose flags a
 * classic BPF filter can inspect. Every ABI a process on x86_64 can use is filtered: native
 * x86_64, x32 (syscall numbers with __X32_SYSCALL_BIT) and i386 (int $0x80); anything else
 * kills the process. */

DEFINE_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

#define SECCOMP_COMPILER_VERSION "isod-seccomp-1"
#define SECCOMP_PROFILE_MAX_SIZE (1024U * 1024U)
#define SECCOMP_MAX_INSNS 4096U /* BPF_MAXINSNS */

struct SeccompProgram {
        struct sock_filter *insns;
        size_t n_insns;
};

SeccompProgram *seccomp_program_free(SeccompProgram *p) {
        if (!p)
                return NULL;
        free(p->insns);
        free(p);
        return NULL;
}

size_t seccomp_program_size(const SeccompProgram *p) {
        return p ? p->n_insns : 0;
}

/* ---------------------------------------------------------------- the default profile */

static const char *const default_deny[] = {
        /* kernel modules and kexec */
        "init_module",
        "finit_module",
        "delete_module",
        "create_module",
        "query_module",
        "get_kernel_syms",
        "kexec_load",
        "kexec_file_load",
        /* keyrings are not namespaced */
        "keyctl",
        "add_key",
        "request_key",
        /* other processes' memory */
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "kcmp",
        "pidfd_getfd",
        /* mounting is reserved to the runtime */
        "mount",
        "umount",
        "umount2",
        "fsopen",
        "fsmount",
        "fsconfig",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "pivot_root",
        /* new namespaces (clone's flags are filtered below) */
        "unshare",
        "setns",
        /* kernel attack surface with a history */
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "lookup_dcookie",
        "open_by_handle_at",
        "name_to_handle_at",
        "uselib",
        "ustat",
        "sysfs",
        "_sysctl",
        "nfsservctl",
        "vm86",
        "vm86old",
        "iopl",
        "ioperm",
        /* host-wide state */
        "acct",
        "swapon",
        "swapoff",
        "reboot",
        "syslog",
        "quotactl",
        "quotactl_fd",
        "settimeofday",
        "stime",
        "clock_settime",
        "clock_settime64",
        "clock_adjtime",
        "clock_adjtime64",
        "adjtimex",
};

/* Personalities a workload may select (as Docker's profile): PER_LINUX, UNAME26, PER_LINUX32,
 * PER_LINUX32|UNAME26, and 0xffffffff (query). Everything else, e.g. ADDR_NO_RANDOMIZE, fails. */
#define PERSONALITY_OK_BITS UINT32_C(0x20008)
#define BIT31 UINT32_C(0x80000000)

static int add_errno(scmp_filter_ctx ctx, int err, int nr, unsigned n, const struct scmp_arg_cmp *cmp) {
        return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(err), nr, n, cmp);
}

static int build_default(scmp_filter_ctx ctx) {
        static const uint64_t ns_flags[] = { CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(default_deny); i++) {
                int nr = seccomp_syscall_resolve_name(default_deny[i]);

                if (nr == __NR_SCMP_ERROR) /* unknown to this libseccomp: nothing to filter */
                        continue;
                r = add_errno(ctx, EPERM, nr, 0, NULL);
                if (r < 0)
                        return r;
        }

        /* clone3() passes its flags in memory, out of BPF's reach: ENOSYS makes libc use clone(). */
        r = add_errno(ctx, ENOSYS, SCMP_SYS(clone3), 0, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++) {
                r = add_errno(
                        ctx, EPERM, SCMP_SYS(clone), 1,
                        (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]) });
                if (r < 0)
                        return r;
        }

        /* The request is an unsigned int: compare the low 32 bits only, so that TIOCSTI with
         * garbage in the upper half of the register (which the kernel ignores) is caught too. */
        for (unsigned long req = 0; req < 2; req++) {
                r = add_errno(ctx, EPERM, SCMP_SYS(ioctl), 1,
                              (struct scmp_arg_cmp[]){ SCMP_A1(SCMP_CMP_MASKED_EQ, UINT32_MAX,
                                                               req == 0 ? TIOCSTI : TIOCLINUX) });
                if (r < 0)
                        return r;
        }

        /* libseccomp allows one comparison per argument and rule, so "not one of the safe
         * values" becomes a union of single masked comparisons on the low 32 bits:
         *   bit 31 clear and any bit outside PERSONALITY_OK_BITS set, or
         *   bit 31 set and any other bit clear (i.e. not 0xffffffff). */
        for (unsigned b = 0; b < 31; b++) {
                uint32_t bit = UINT32_C(1) << b;

                if (!(bit & PERSONALITY_OK_BITS)) {
                        r = add_errno(
                                ctx, EPERM, SCMP_SYS(personality), 1,
                                (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_MASKED_EQ, bit | BIT31, bit) });
                        if (r < 0)
                                return r;
                }
                r = add_errno(ctx, EPERM, SCMP_SYS(personality), 1,
                              (struct scmp_arg_cmp[]){ SCMP_A0(SCMP_CMP_MASKED_EQ, bit | BIT31, BIT31) });
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------- custom profiles (JSON) */

static const struct {
        const char *name;
        uint32_t arch;
} arch_table[] = {
        { "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
        { "SCMP_ARCH_X86", SCMP_ARCH_X86 },
        { "SCMP_ARCH_X32", SCMP_ARCH_X32 },
};

static const struct {
        const char *name;
        enum scmp_compare op;
} op_table[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE },
        { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE },
        { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE },
        { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static int perr(char **reterr, const char *fmt, ...) _printf_(2, 3);
static int perr(char **reterr, const char *fmt, ...) {
        va_list ap;

        if (reterr) {
                va_start(ap, fmt);
                if (vasprintf(reterr, fmt, ap) < 0)
                        *reterr = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

static bool keys_known(json_t *obj, const char *const *known, const char **ret_unknown) {
        const char *key;
        json_t *v;

        json_object_foreach (obj, key, v) {
                bool found = false;

                for (const char *const *k = known; *k; k++)
                        if (streq(key, *k))
                                found = true;
                if (!found) {
                        *ret_unknown = key;
                        return false;
                }
        }
        return true;
}

/* "SCMP_ACT_ERRNO" + errnoRet → a libseccomp action. */
static int parse_action(json_t *action, json_t *errno_ret, uint32_t default_errno, uint32_t *ret) {
        const char *s = json_string_value(action);
        json_int_t e = default_errno;

        if (!s)
                return -EINVAL;
        if (errno_ret) {
                if (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0 ||
                    json_integer_value(errno_ret) > 4095)
                        return -ERANGE;
                e = json_integer_value(errno_ret);
        }
        if (streq(s, "SCMP_ACT_ALLOW"))
                *ret = SCMP_ACT_ALLOW;
        else if (streq(s, "SCMP_ACT_ERRNO"))
                *ret = SCMP_ACT_ERRNO((uint16_t) e);
        else if (streq(s, "SCMP_ACT_KILL") || streq(s, "SCMP_ACT_KILL_THREAD"))
                *ret = SCMP_ACT_KILL_THREAD;
        else if (streq(s, "SCMP_ACT_KILL_PROCESS"))
                *ret = SCMP_ACT_KILL_PROCESS;
        else if (streq(s, "SCMP_ACT_TRAP"))
                *ret = SCMP_ACT_TRAP;
        else if (streq(s, "SCMP_ACT_LOG"))
                *ret = SCMP_ACT_LOG;
        else
                return -EINVAL;
        return 0;
}

static int parse_arg(json_t *a, struct scmp_arg_cmp *ret, char **reterr, const char *where) {
        static const char *const keys[] = { "index", "value", "valueTwo", "op", NULL };
        json_t *index = json_object_get(a, "index"), *value = json_object_get(a, "value"),
               *value2 = json_object_get(a, "valueTwo"), *op = json_object_get(a, "op");
        const char *unknown;
        size_t i;

        if (!json_is_object(a))
                return perr(reterr, "%s: must be an object", where);
        if (!keys_known(a, keys, &unknown))
                return perr(reterr, "%s: unknown key '%s'", where, unknown);
        if (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 5)
                return perr(reterr, "%s.index: must be an integer from 0 to 5", where);
        if (!json_is_integer(value) || json_integer_value(value) < 0)
                return perr(reterr, "%s.value: must be a non-negative integer", where);
        if (value2 && (!json_is_integer(value2) || json_integer_value(value2) < 0))
                return perr(reterr, "%s.valueTwo: must be a non-negative integer", where);
        for (i = 0; i < ELEMENTSOF(op_table); i++)
                if (streq_ptr(json_string_value(op), op_table[i].name))
                        break;
        if (i == ELEMENTSOF(op_table))
                return perr(reterr, "%s.op: must be one of SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ",
                            where);
        if (op_table[i].op == SCMP_CMP_MASKED_EQ && !value2)
                return perr(reterr, "%s: SCMP_CMP_MASKED_EQ needs valueTwo", where);

        *ret = (struct scmp_arg_cmp){
                .arg = (unsigned) json_integer_value(index),
                .op = op_table[i].op,
                .datum_a = (scmp_datum_t) json_integer_value(value),
                .datum_b = value2 ? (scmp_datum_t) json_integer_value(value2) : 0,
        };
        return 0;
}

static int parse_rule(scmp_filter_ctx ctx, json_t *rule, size_t idx, uint32_t default_action,
                      char **reterr) {
        static const char *const keys[] = { "names", "action", "errnoRet", "args", "comment", NULL };
        json_t *names = json_object_get(rule, "names"), *args = json_object_get(rule, "args"), *v;
        struct scmp_arg_cmp cmp[6];
        const char *unknown;
        uint32_t action;
        char where[64];
        size_t n_args = 0, i;
        int r;

        (void) snprintf(where, sizeof where, "syscalls[%zu]", idx);
        if (!json_is_object(rule))
                return perr(reterr, "%s: must be an object", where);
        if (!keys_known(rule, keys, &unknown))
                return perr(reterr, "%s: unknown key '%s'", where, unknown);
        if (!json_is_array(names) || json_array_size(names) == 0)
                return perr(reterr, "%s.names: must be a non-empty array of system call names", where);
        r = parse_action(json_object_get(rule, "action"), json_object_get(rule, "errnoRet"), EPERM, &action);
        if (r == -ERANGE)
                return perr(reterr, "%s.errnoRet: must be an integer from 0 to 4095", where);
        if (r < 0)
                return perr(reterr,
                            "%s.action: must be SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, _KILL_THREAD, "
                            "_TRAP or _LOG",
                            where);
        if (json_object_get(rule, "comment") && !json_is_string(json_object_get(rule, "comment")))
                return perr(reterr, "%s.comment: must be a string", where);
        if (args) {
                if (!json_is_array(args) || json_array_size(args) > 6)
                        return perr(reterr, "%s.args: must be an array of at most 6 comparisons", where);
                json_array_foreach (args, i, v) {
                        char w[96];

                        (void) snprintf(w, sizeof w, "%s.args[%zu]", where, i);
                        r = parse_arg(v, &cmp[n_args], reterr, w);
                        if (r < 0)
                                return r;
                        for (size_t j = 0; j < n_args; j++)
                                if (cmp[j].arg == cmp[n_args].arg)
                                        return perr(reterr,
                                                    "%s: argument %u is compared twice (use two rules)", w,
                                                    cmp[j].arg);
                        n_args++;
                }
        }

        json_array_foreach (names, i, v) {
                const char *name = json_string_value(v);
                int nr;

                if (!name)
                        return perr(reterr, "%s.names[%zu]: must be a string", where, i);
                nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR)
                        return perr(reterr, "%s.names[%zu]: unknown system call '%s'", where, i, name);
                /* As OCI runtimes do, a rule that repeats the default action is redundant. */
                if (action == default_action)
                        continue;
                r = seccomp_rule_add_array(ctx, action, nr, (unsigned) n_args, n_args ? cmp : NULL);
                if (r < 0)
                        return perr(reterr, "%s.names[%zu]: libseccomp rejected the rule for '%s': %s",
                                    where, i, name, strerror(-r));
        }
        return 0;
}

static int build_custom(const char *text, size_t size, scmp_filter_ctx *ret, char **reterr) {
        static const char *const keys[] = { "defaultAction", "defaultErrnoRet", "architectures", "syscalls",
                                            NULL };
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        json_auto_t *root = NULL;
        json_error_t jerr;
        json_t *archs, *syscalls, *v;
        const char *unknown;
        uint32_t def;
        size_t i;
        int r;

        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return perr(reterr, "line %d: %s", jerr.line, jerr.text);
        if (!json_is_object(root))
                return perr(reterr, "the profile must be a JSON object");
        if (!keys_known(root, keys, &unknown))
                return perr(reterr, "unknown key '%s'", unknown);
        if (!json_object_get(root, "defaultAction"))
                return perr(reterr, "'defaultAction' is required");
        r = parse_action(json_object_get(root, "defaultAction"), json_object_get(root, "defaultErrnoRet"),
                         EPERM, &def);
        if (r == -ERANGE)
                return perr(reterr, "'defaultErrnoRet' must be an integer from 0 to 4095");
        if (r < 0)
                return perr(reterr, "'defaultAction' must be SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, "
                                    "_KILL_THREAD, _TRAP or _LOG");

        ctx = seccomp_init(def);
        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return r;

        archs = json_object_get(root, "architectures");
        if (archs && !json_is_array(archs))
                return perr(reterr, "'architectures' must be an array");
        json_array_foreach (archs, i, v) {
                size_t k;

                for (k = 0; k < ELEMENTSOF(arch_table); k++)
                        if (streq_ptr(json_string_value(v), arch_table[k].name))
                                break;
                if (k == ELEMENTSOF(arch_table))
                        return perr(
                                reterr,
                                "architectures[%zu]: must be SCMP_ARCH_X86_64, SCMP_ARCH_X86 or SCMP_ARCH_X32 "
                                "(the ABIs an x86_64 host runs)",
                                i);
                r = seccomp_arch_add(ctx, arch_table[k].arch);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        if (!archs)
                for (size_t k = 0; k < ELEMENTSOF(arch_table); k++) {
                        r = seccomp_arch_add(ctx, arch_table[k].arch);
                        if (r < 0 && r != -EEXIST)
                                return r;
                }

        syscalls = json_object_get(root, "syscalls");
        if (syscalls && !json_is_array(syscalls))
                return perr(reterr, "'syscalls' must be an array");
        json_array_foreach (syscalls, i, v) {
                r = parse_rule(ctx, v, i, def, reterr);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(ctx);
        return 0;
}

static int build_default_ctx(scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return r;
        for (size_t k = 0; k < ELEMENTSOF(arch_table); k++) {
                r = seccomp_arch_add(ctx, arch_table[k].arch);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        r = build_default(ctx);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}

/* ---------------------------------------------------------------- SHA-256 (FIPS 180-4) for the cache key */

typedef struct Sha256 {
        uint32_t h[8];
        uint8_t buf[64];
        size_t n;
        uint64_t len;
} Sha256;

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(Sha256 *s, const uint8_t *p) {
        static const uint32_t k[64] = {
                0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
                0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
                0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
                0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
                0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
                0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
                0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
                0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
                0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
                0xc67178f2,
        };
        uint32_t w[64], a[8];

        for (int i = 0; i < 16; i++)
                w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 |
                       (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
                uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
                uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        memcpy(a, s->h, sizeof a);
        for (int i = 0; i < 64; i++) {
                uint32_t t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) +
                              ((a[4] & a[5]) ^ (~a[4] & a[6])) + k[i] + w[i];
                uint32_t t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) +
                              ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
                memmove(a + 1, a, 7 * sizeof(uint32_t));
                a[4] += t1;
                a[0] = t1 + t2;
        }
        for (int i = 0; i < 8; i++)
                s->h[i] += a[i];
}

static void sha256_init(Sha256 *s) {
        *s = (Sha256){ .h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
                              0x1f83d9ab, 0x5be0cd19 } };
}

static void sha256_update(Sha256 *s, const void *data, size_t size) {
        const uint8_t *p = data;

        s->len += size;
        while (size > 0) {
                size_t k = MIN(size, 64 - s->n);

                memcpy(s->buf + s->n, p, k);
                s->n += k;
                p += k;
                size -= k;
                if (s->n == 64) {
                        sha256_block(s, s->buf);
                        s->n = 0;
                }
        }
}

static void sha256_hex(Sha256 *s, char ret[65]) {
        uint64_t bits = s->len * 8;
        uint8_t pad = 0x80, len[8];

        sha256_update(s, &pad, 1);
        pad = 0;
        while (s->n != 56)
                sha256_update(s, &pad, 1);
        for (int i = 0; i < 8; i++)
                len[i] = (uint8_t) (bits >> (56 - 8 * i));
        sha256_update(s, len, 8);
        for (int i = 0; i < 8; i++)
                (void) snprintf(ret + 8 * i, 9, "%08x", s->h[i]);
}

/* ---------------------------------------------------------------- cache */

static int read_profile(const char *path, char **ret, size_t *ret_size, char **reterr) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        /* O_NONBLOCK: a FIFO planted at the path must not hang the monitor. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;

                (void) perr(reterr, "cannot open: %s", strerror(e));
                return -e;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return perr(reterr, "not a regular file");
        /* A profile decides what a workload may do to the kernel: only root may write it. */
        if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
                return perr(reterr, "must be owned by root and not writable by group or others");
        if ((uint64_t) st.st_size > SECCOMP_PROFILE_MAX_SIZE)
                return perr(reterr, "larger than %u bytes", SECCOMP_PROFILE_MAX_SIZE);
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int program_from_bytes(const void *data, size_t size, SeccompProgram **ret) {
        SeccompProgram *p;

        if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
            size / sizeof(struct sock_filter) > SECCOMP_MAX_INSNS)
                return -EBADMSG;
        p = calloc(1, sizeof(SeccompProgram));
        if (!p)
                return -ENOMEM;
        p->insns = malloc(size);
        if (!p->insns)
                return seccomp_program_free(p), -ENOMEM;
        memcpy(p->insns, data, size);
        p->n_insns = size / sizeof(struct sock_filter);
        *ret = p;
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t k;
        int r;

        /* libseccomp 2.5 exports to an fd only. */
        fd = memfd_create("isod-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || (size_t) st.st_size > SECCOMP_MAX_INSNS * sizeof(struct sock_filter))
                return -E2BIG;
        buf = malloc((size_t) st.st_size);
        if (!buf)
                return -ENOMEM;
        k = pread(fd, buf, (size_t) st.st_size, 0);
        if (k != st.st_size)
                return k < 0 ? -errno : -EIO;
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t) st.st_size;
        return 0;
}

int seccomp_program_prepare(const char *profile, const char *cache_dir, SeccompProgram **ret,
                            bool *ret_cached, char **reterr_message) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_free_ char *text = NULL, *bpf = NULL, *cdir = NULL, *perrmsg = NULL;
        _cleanup_close_ int cache_fd = -EBADF;
        const struct scmp_version *v = seccomp_version();
        bool is_default = !profile || streq(profile, "default");
        char hex[65], name[72], ver[64];
        size_t size = 0, bpf_size = 0;
        Sha256 sha;
        int r;

        assert(ret);

        if (profile && streq(profile, "unconfined")) {
                *ret = NULL;
                if (ret_cached)
                        *ret_cached = false;
                return 0;
        }
        if (!is_default) {
                r = read_profile(profile, &text, &size, &perrmsg);
                if (r < 0) {
                        if (reterr_message && asprintf(reterr_message, "seccomp profile '%s': %s", profile,
                                                       perrmsg ?: strerror(-r)) < 0)
                                *reterr_message = NULL;
                        return r;
                }
        }

        (void) snprintf(ver, sizeof ver, "%u.%u.%u", v->major, v->minor, v->micro);
        sha256_init(&sha);
        sha256_update(&sha, SECCOMP_COMPILER_VERSION, sizeof SECCOMP_COMPILER_VERSION);
        sha256_update(&sha, ver, strlen(ver) + 1);
        sha256_update(&sha, "x86_64", sizeof "x86_64");
        if (is_default)
                sha256_update(&sha, "default", sizeof "default");
        else {
                sha256_update(&sha, "custom", sizeof "custom");
                sha256_update(&sha, text, size);
        }
        sha256_hex(&sha, hex);
        (void) snprintf(name, sizeof name, "%s.bpf", hex);

        if (cache_dir && asprintf(&cdir, "%s/seccomp", cache_dir) >= 0) {
                (void) mkdir_p(cdir, 0700);
                cache_fd = open(cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (cache_fd >= 0 &&
            read_full_file_at(cache_fd, name, SECCOMP_MAX_INSNS * sizeof(struct sock_filter), &bpf,
                              &bpf_size) >= 0 &&
            program_from_bytes(bpf, bpf_size, ret) >= 0) {
                if (ret_cached)
                        *ret_cached = true;
                return 0;
        }

        /* Cold: compile with libseccomp, then cache. */
        if (is_default)
                r = build_default_ctx(&ctx);
        else
                r = build_custom(text, size, &ctx, &perrmsg);
        if (r < 0) {
                if (reterr_message &&
                    asprintf(reterr_message, "seccomp profile '%s': %s", is_default ? "default" : profile,
                             perrmsg ?: strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); /* binary tree: fewer insns per syscall */
        free(bpf);
        bpf = NULL;
        r = export_bpf(ctx, &bpf, &bpf_size);
        if (r < 0) {
                if (reterr_message &&
                    asprintf(reterr_message, "seccomp profile '%s': cannot export the filter: %s",
                             is_default ? "default" : profile, strerror(-r)) < 0)
                        *reterr_message = NULL;
                return r;
        }
        if (cache_fd >= 0)
                (void) write_file_atomic_at(cache_fd, name, bpf, bpf_size, 0600); /* a cache: best effort */
        r = program_from_bytes(bpf, bpf_size, ret);
        if (r < 0)
                return r;
        if (ret_cached)
                *ret_cached = false;
        return 0;
}

/* Async-signal-safe: runs in the container child after no_new_privs, right before execve(). */
int seccomp_program_load(const SeccompProgram *p) {
        struct sock_fprog prog;

        if (!p)
                return 0;
        prog = (struct sock_fprog){ .len = (unsigned short) p->n_insns, .filter = p->insns };
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}
