/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "container.h"

/* Capabilities of a container's processes (docs/security.md), with raw capset(2)/prctl(2): the
 * few calls below do not justify a libcap dependency, and they must be async-signal-safe since
 * they run in a clone()d child.
 *
 *   1. container_caps_bound(), while still fully privileged (before the user switch): securebits
 *      cleared (no SECBIT_KEEP_CAPS: a switch to a non-root uid empties permitted/effective as
 *      setuid(2) documents), every capability outside the OCI default set dropped from the
 *      bounding set.
 *   2. the user switch (setgroups/setresgid/setresuid).
 *   3. container_caps_finish(): permitted = effective = the default set for uid 0, empty for any
 *      other uid; inheritable empty (CVE-2022-24769); ambient cleared; no_new_privs set. */

#define CAP(c) (UINT64_C(1) << (c))

uint64_t container_caps_default(void) {
        return CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) | CAP(CAP_MKNOD) |
               CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) | CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) |
               CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);
}

static unsigned cap_last(void) {
        /* The kernel's last capability: probe the bounding set instead of trusting our headers
         * (a newer kernel may know more capabilities than linux/capability.h here). */
        unsigned c = CAP_LAST_CAP;

        while (c < 63 && prctl(PR_CAPBSET_READ, (unsigned long) c + 1, 0, 0, 0) >= 0)
                c++;
        return c;
}

uint64_t container_caps_of(const WorkloadSpec *spec) {
        return spec->caps_set ? spec->caps & container_caps_default() : container_caps_default();
}

int container_caps_bound(uint64_t keep) {
        unsigned last = cap_last();
        int bits;

        bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
        if (bits < 0)
                return -errno;
        if (bits != 0 && prctl(PR_SET_SECUREBITS, 0, 0, 0, 0) < 0)
                return -errno;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return -errno;

        for (unsigned c = 0; c <= last; c++) {
                if (keep & CAP(c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long) c, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        }
        return 0;
}

int container_caps_finish(uint64_t set) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2] = {};

        if (geteuid() != 0)
                set = 0;

        d[0].effective = d[0].permitted = (uint32_t) set;
        d[1].effective = d[1].permitted = (uint32_t) (set >> 32);
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return 0;
}
