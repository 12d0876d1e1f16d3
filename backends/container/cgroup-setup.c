/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

/* Making a workload's leaf (cgroup.h, docs/cgroups.md): which layout the host has, where GROUP
 * goes, the controllers enabled on the way down (v2) or the hierarchies used (v1), and a stale
 * LEAF of a crashed monitor replaced. Everything here is on the launch path, so it does only the
 * writes a workload needs: no reads back, the shared GROUP directory prepared once. */

static const char *const controller_v1_name[_CTRL_MAX] = {
        [CTRL_MEMORY] = "memory",   [CTRL_PIDS] = "pids", [CTRL_CPU] = "cpu",
        [CTRL_CPUACCT] = "cpuacct", [CTRL_IO] = "blkio",  [CTRL_DEVICES] = "devices",
};

static const char *const controller_v2_name[_CTRL_MAX] = {
        [CTRL_MEMORY] = "memory",
        [CTRL_PIDS] = "pids",
        [CTRL_CPU] = "cpu",
        [CTRL_IO] = "io",
};

static bool name_component_ok(const char *s, size_t n) {
        if (n == 0 || n > 80 || (n == 1 && s[0] == '.') || (n == 2 && strneq(s, "..", 2)))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

static int fd_is_cgroupfs(int fd, bool v2) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        return (unsigned long) sfs.f_type == (v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC);
}

/* A LEAF left by a monitor that crashed (names are unique per isod instance): empty it, remove it. */
int remove_stale_leaf(CgroupLayout layout, int group_fd, const char *name) {
        _cleanup_close_ int stale = -EBADF;
        int r = -EEXIST;

        stale = openat(group_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (stale < 0)
                return errno == ENOENT ? 0 : -errno;
        if (layout == CGROUP_LAYOUT_V2)
                (void) write_at(stale, "cgroup.kill", "1");
        (void) kill_procs_at(stale);
        for (unsigned i = 0; i < 500 && r < 0; i++) {
                r = unlinkat(group_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
                if (r == -ENOENT)
                        return 0;
                if (r == -EBUSY)
                        (void) nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
                else if (r < 0)
                        return r;
        }
        return r;
}

static int replace_stale_leaf(Cgroup *cg, CgroupDir *d) {
        int r = remove_stale_leaf(cg->layout, d->group_fd, cg->leaf);

        if (r < 0)
                return r;
        return mkdirat(d->group_fd, cg->leaf, 0755) < 0 ? -errno : 0;
}

/* Creates LEAF under GROUP (both relative to base_fd); a stale LEAF from a crashed monitor is
 * emptied and replaced. Fills d->group_fd, d->fd, d->path. */
static int make_leaf(Cgroup *cg, CgroupDir *d, int base_fd, const char *base_path, const char *group) {
        int r;

        if (asprintf(&d->path, "%s/%s/%s", base_path, group, cg->leaf) < 0) {
                d->path = NULL;
                return -ENOMEM;
        }
        for (unsigned attempt = 0;; attempt++) {
                d->group_fd = openat(base_fd, group, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d->group_fd < 0 && errno == ENOENT) {
                        if (mkdirat(base_fd, group, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        d->group_fd = openat(base_fd, group, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                }
                if (d->group_fd < 0)
                        return -errno;
                if (mkdirat(d->group_fd, cg->leaf, 0755) >= 0)
                        break;
                /* GROUP was removed just now (a test's sweep, an older isod's teardown): again. */
                if (errno == ENOENT && attempt < 100) {
                        (void) close(d->group_fd);
                        d->group_fd = -EBADF;
                        continue;
                }
                if (errno != EEXIST)
                        return -errno;
                r = replace_stale_leaf(cg, d);
                if (r < 0)
                        return r;
                break;
        }
        d->fd = openat(d->group_fd, cg->leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->fd < 0)
                return -errno;
        return 0;
}

/* ---------------------------------------------------------------- v2 */

/* Our own cgroup on the unified hierarchy ("0::/path"), or on v1 the line for a controller. */
static int own_cgroup(const char *controller, char **ret) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/proc/self/cgroup", 1U << 16, &buf, NULL);
        if (r < 0)
                return r;
        for (char *l = buf; l && *l;) {
                char *e = strchr(l, '\n'), *c, *p;

                if (e)
                        *e++ = 0;
                c = strchr(l, ':');
                p = c ? strchr(c + 1, ':') : NULL;
                if (p) {
                        *p++ = 0;
                        if (controller ? word_in(c + 1, controller) : (c[1] == 0 && streq(l, "0:"))) {
                                *ret = strdup(p);
                                return *ret ? 0 : -ENOMEM;
                        }
                }
                l = e;
        }
        return -ENOENT;
}

/* Enables the wanted controllers that dir has in its subtree_control, one at a time, so that one
 * the kernel refuses (cpu with realtime tasks around, say) costs only itself. Fails only for a
 * refused controller in "need"; an absent one is simply not in *ret_enabled. */
static int v2_enable(int dir_fd, unsigned want, unsigned need, unsigned *ret_enabled) {
        char avail[512], enabled[512], cmd[32];
        unsigned have = 0;
        int r;

        r = read_at(dir_fd, "cgroup.controllers", avail, sizeof avail);
        if (r < 0)
                return r;
        r = read_at(dir_fd, "cgroup.subtree_control", enabled, sizeof enabled);
        if (r < 0)
                return r;
        for (Controller c = 0; c < _CTRL_MAX; c++) {
                if (!(want & (1U << c)) || !controller_v2_name[c] || !word_in(avail, controller_v2_name[c]))
                        continue;
                if (!word_in(enabled, controller_v2_name[c])) {
                        (void) snprintf(cmd, sizeof cmd, "+%s", controller_v2_name[c]);
                        r = write_at(dir_fd, "cgroup.subtree_control", cmd);
                        if (r < 0 && (need & (1U << c)))
                                return r;
                        if (r < 0)
                                continue;
                }
                have |= 1U << c;
        }
        *ret_enabled = have;
        return 0;
}

static int setup_v2(Cgroup *cg, const char *base_path, const char *group, const CgroupLimits *l,
                    char **reterr_message) {
        const unsigned all = 1U << CTRL_MEMORY | 1U << CTRL_PIDS | 1U << CTRL_CPU | 1U << CTRL_IO;
        _cleanup_close_ int base_fd = -EBADF;
        CgroupDir *d = cg->dirs;
        unsigned need = 1U << CTRL_MEMORY | 1U << CTRL_PIDS, have = 0;
        char enabled[512];
        int r;

        if (l->cpus > 0 || l->cpu_weight > 0)
                need |= 1U << CTRL_CPU;
        if (l->io_weight > 0)
                need |= 1U << CTRL_IO;

        base_fd = open(base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (base_fd < 0)
                return set_error_message(reterr_message, -errno, "cannot open '%s': %m", base_path);
        r = fd_is_cgroupfs(base_fd, true);
        if (r <= 0)
                return set_error_message(reterr_message, r < 0 ? r : -EOPNOTSUPP,
                                         "'%s' is not a cgroup2 file system", base_path);

        cg->n_dirs = 1;
        r = make_leaf(cg, d, base_fd, base_path, group);
        if (r < 0)
                return set_error_message(reterr_message, r, "cannot create cgroup '%s/%s/%s': %s", base_path,
                                         group, cg->leaf, strerror(-r));

        /* Fast path: GROUP already delegates what this workload needs (the common case after the
         * first launch). Else enable what the host has, in BASE and then in GROUP. */
        if (read_at(d->group_fd, "cgroup.subtree_control", enabled, sizeof enabled) >= 0)
                for (Controller c = 0; c < _CTRL_MAX; c++)
                        if (controller_v2_name[c] && word_in(enabled, controller_v2_name[c]))
                                have |= 1U << c;
        if ((have & need) != need) {
                unsigned in_base = 0;

                r = v2_enable(base_fd, all, need, &in_base);
                if (r < 0)
                        return set_error_message(
                                reterr_message, r,
                                r == -EBUSY
                                        ? "cannot enable controllers in '%s': it holds processes (cgroup v2's no-internal-processes rule); run isod in a delegated cgroup (Delegate=yes, DelegateSubgroup=supervisor)"
                                        : "cannot enable controllers in '%s': %m",
                                base_path);
                r = v2_enable(d->group_fd, in_base, need, &have);
                if (r < 0)
                        return set_error_message(reterr_message, r,
                                                 "cannot enable controllers in '%s/%s': %s", base_path,
                                                 group, strerror(-r));
        }
        for (Controller c = 0; c < _CTRL_MAX; c++)
                if (have & (1U << c)) {
                        cg->dir_of[c] = 0;
                        d->mask |= 1U << c;
                }
        return apply_limits(cg, l, reterr_message);
}

/* Where GROUP goes on a pure v2 host. */
static int v2_base(char **ret) {
        _cleanup_free_ char *own = NULL;
        char *slash;
        int r;

        /* With systemd as PID 1, isod.service has Delegate=yes and DelegateSubgroup=supervisor:
         * the processes sit in …/isod.service/supervisor and …/isod.service is ours to divide. */
        if (access("/run/systemd/system", F_OK) >= 0 && own_cgroup(NULL, &own) >= 0) {
                slash = strrchr(own, '/');
                if (slash && slash != own && streq(slash, "/supervisor")) {
                        *slash = 0;
                        r = asprintf(ret, CGROUP_ROOT "%s", own);
                        return r < 0 ? -ENOMEM : 0;
                }
        }
        /* No systemd (or no delegation): the root, which the no-internal-processes rule exempts. */
        *ret = strdup(CGROUP_ROOT);
        return *ret ? 0 : -ENOMEM;
}

/* ---------------------------------------------------------------- v1 */

/* The hierarchies a workload with these limits uses, and those it cannot do without. */
unsigned v1_need(const CgroupLimits *l, unsigned *ret_limited) {
        unsigned need = 1U << CTRL_MEMORY | 1U << CTRL_PIDS | 1U << CTRL_CPUACCT, limited = 0;

        if (!l->devices_unrestricted)
                need |= 1U << CTRL_DEVICES;
        if (l->cpus > 0 || l->cpu_weight > 0)
                need |= 1U << CTRL_CPU;
        if (l->io_weight > 0)
                need |= 1U << CTRL_IO;
        if (l->memory > 0)
                limited |= 1U << CTRL_MEMORY;
        if (l->pids > 0)
                limited |= 1U << CTRL_PIDS;
        limited |= need & (1U << CTRL_CPU | 1U << CTRL_IO | 1U << CTRL_DEVICES);
        if (ret_limited)
                *ret_limited = limited;
        return need;
}

/* Creates LEAF in every hierarchy serving a controller in "need" that cg does not cover yet. */
int v1_add_hierarchies(Cgroup *cg, const char *group, unsigned need, char **reterr_message) {
        _cleanup_free_ char *lines = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/proc/self/cgroup", 1U << 16, &lines, NULL);
        if (r < 0)
                return set_error_message(reterr_message, r, "cannot read /proc/self/cgroup: %s",
                                         strerror(-r));

        /* One line per hierarchy: "ID:ctrl[,ctrl…]:/our/path". Mounted, by every distribution's
         * convention, at /sys/fs/cgroup/<ctrl> (co-mounted ones through a symlink). */
        for (char *line = lines; line && *line;) {
                _cleanup_free_ char *base_path = NULL;
                _cleanup_close_ int base_fd = -EBADF;
                char *e = strchr(line, '\n'), *ctrls, *path;
                unsigned mask = 0;
                CgroupDir *d;

                if (e)
                        *e++ = 0;
                ctrls = strchr(line, ':');
                path = ctrls ? strchr(ctrls + 1, ':') : NULL;
                line = e;
                if (!path)
                        continue;
                *ctrls++ = 0;
                *path++ = 0;
                for (Controller c = 0; c < _CTRL_MAX; c++)
                        if ((need & (1U << c)) && cg->dir_of[c] < 0 && word_in(ctrls, controller_v1_name[c]))
                                mask |= 1U << c;
                if (mask == 0)
                        continue;
                for (Controller c = 0; c < _CTRL_MAX; c++)
                        if (mask & (1U << c)) {
                                if (asprintf(&base_path, CGROUP_ROOT "/%s%s", controller_v1_name[c],
                                             streq(path, "/") ? "" : path) < 0)
                                        return -ENOMEM;
                                break;
                        }
                base_fd = open(base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (base_fd < 0 || fd_is_cgroupfs(base_fd, false) <= 0)
                        continue; /* not mounted where expected: as if absent */

                d = cg->dirs + cg->n_dirs++;
                d->mask = mask;
                for (Controller c = 0; c < _CTRL_MAX; c++)
                        if (mask & (1U << c))
                                cg->dir_of[c] = (int) (d - cg->dirs);
                r = make_leaf(cg, d, base_fd, base_path, group);
                if (r < 0)
                        return set_error_message(reterr_message, r, "cannot create cgroup '%s/%s/%s': %s",
                                                 base_path, group, cg->leaf, strerror(-r));
        }
        return 0;
}

static int v1_check(Cgroup *cg, unsigned limited, char **reterr_message) {
        if (cg->dir_of[CTRL_MEMORY] < 0 && cg->dir_of[CTRL_PIDS] < 0)
                return set_error_message(
                        reterr_message, -EOPNOTSUPP,
                        "no usable cgroup hierarchy: neither memory nor pids is mounted under " CGROUP_ROOT);
        for (Controller c = 0; c < _CTRL_MAX; c++)
                if ((limited & (1U << c)) && cg->dir_of[c] < 0)
                        return set_error_message(
                                reterr_message, -EOPNOTSUPP,
                                "the cgroup v1 '%s' controller is not mounted at " CGROUP_ROOT "/%s",
                                controller_v1_name[c], controller_v1_name[c]);
        return 0;
}

int setup_v1(Cgroup *cg, const char *group, const CgroupLimits *l, char **reterr_message) {
        unsigned limited, need = v1_need(l, &limited);
        int r;

        r = v1_add_hierarchies(cg, group, need, reterr_message);
        if (r < 0)
                return r;
        r = v1_check(cg, limited, reterr_message);
        if (r < 0)
                return r;
        return apply_limits(cg, l, reterr_message);
}

/* ---------------------------------------------------------------- API */

int check_path(const char *path, const char **ret_leaf, char **ret_group) {
        const char *slash = path ? strchr(path, '/') : NULL;

        if (!slash || !name_component_ok(path, (size_t) (slash - path)) ||
            !name_component_ok(slash + 1, strlen(slash + 1)) || strneq(slash + 1, "cgroup.", 7))
                return -EINVAL;
        *ret_group = strndup(path, (size_t) (slash - path));
        if (!*ret_group)
                return -ENOMEM;
        *ret_leaf = slash + 1;
        return 0;
}

int cgroup_setup_at(CgroupLayout layout, const char *base_dir, const char *path, const CgroupLimits *limits,
                    Cgroup **ret, char **reterr_message) {
        _cleanup_(cgroup_destroyp) Cgroup *cg = NULL;
        _cleanup_free_ char *group = NULL;
        const char *leaf;
        int r;

        assert(limits);
        assert(ret);
        r = check_path(path, &leaf, &group);
        if (r < 0)
                return set_error_message(reterr_message, r, "invalid cgroup name '%s'", path ?: "(null)");
        cg = cgroup_new(layout, group, leaf);
        if (!cg)
                return -ENOMEM;
        if (layout == CGROUP_LAYOUT_V2)
                r = setup_v2(cg, base_dir, group, limits, reterr_message);
        else
                r = setup_v1(cg, group, limits, reterr_message);
        if (r < 0)
                return r; /* cgroup_destroyp removes what was made */
        *ret = TAKE_PTR(cg);
        return 0;
}

int cgroup_setup(const char *path, const CgroupLimits *limits, Cgroup **ret, char **reterr_message) {
        _cleanup_free_ char *base = NULL;
        struct statfs sfs;
        int r;

        if (statfs(CGROUP_ROOT, &sfs) < 0)
                return set_error_message(reterr_message, -EOPNOTSUPP,
                                         "no cgroup file system at " CGROUP_ROOT ": %m");
        if ((unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC) {
                r = v2_base(&base);
                if (r < 0)
                        return r;
                return cgroup_setup_at(CGROUP_LAYOUT_V2, base, path, limits, ret, reterr_message);
        }
        /* A tmpfs with v1 hierarchies (and maybe a cgroup2 at "unified": hybrid). */
        return cgroup_setup_at(CGROUP_LAYOUT_V1, NULL, path, limits, ret, reterr_message);
}
