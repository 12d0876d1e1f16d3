/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "container.h"
#include "util.h"

/* The container's file system, built inside its fresh mount namespace (so nothing leaks to the
 * host and everything vanishes with the namespace):
 *   DIR/rootfs = overlay(lower = image, upper = DIR/upper)   (or a read-only bind of the image)
 *   /proc, /dev (tmpfs + bind-mounted host device nodes + devpts + shm), /sys read-only,
 *   the spec's bind mounts, then pivot_root. Targets are resolved with RESOLVE_IN_ROOT so a
 *   symlink in the image can never point a mount outside the container. */

static int openat2_in_root(int root_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        while (*path == '/')
                path++;
        if (!*path)
                path = ".";
        /* With RESOLVE_IN_ROOT the kernel answers EAGAIN when a rename or mount anywhere raced with
         * the resolution of ".."; openat2(2) says to retry. Bounded, it is a race, not a state. */
        for (unsigned attempt = 0;; attempt++) {
                fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof how);
                if (fd >= 0 || errno != EAGAIN || attempt >= 64)
                        break;
        }
        return fd < 0 ? -errno : fd;
}

int container_open_in_root(int root_fd, const char *path, int flags, bool create_dir, bool create_file) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int cur = -EBADF;
        char *s, *e;
        int fd;

        fd = openat2_in_root(root_fd, path, flags);
        if (fd >= 0 || fd != -ENOENT || (!create_dir && !create_file))
                return fd;

        /* Create the missing components one by one, each relative to an fd resolved in root. */
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        cur = openat2_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
        if (cur < 0)
                return cur;
        for (s = p; *s == '/'; s++)
                ;
        while (s && *s) {
                _cleanup_close_ int next = -EBADF;
                bool last;

                e = strchr(s, '/');
                if (e)
                        *e = 0;
                last = !e || !e[strspn(e + 1, "/") + 1];
                if (last && create_file) {
                        next = openat(cur, s, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
                        if (next < 0 && errno != EEXIST)
                                return -errno;
                } else if (mkdirat(cur, s, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (e)
                        *e = '/';
                /* Re-resolve the prefix in root: a component that already existed may be a
                 * symlink, which RESOLVE_IN_ROOT keeps inside. */
                {
                        char saved = e ? *e : 0;
                        if (e)
                                *e = 0;
                        next = openat2_in_root(root_fd, p, last ? flags : O_PATH | O_DIRECTORY);
                        if (e)
                                *e = saved;
                }
                if (next < 0)
                        return next;
                (void) close(cur);
                cur = TAKE_FD(next);
                if (!e)
                        break;
                for (s = e; *s == '/'; s++)
                        ;
        }
        return TAKE_FD(cur);
}

static int mount_fd(const char *source, int target_fd, const char *fstype, unsigned long flags,
                    const char *data) {
        char p[64];

        (void) snprintf(p, sizeof p, "/proc/self/fd/%d", target_fd);
        return mount(source, p, fstype, flags, data) < 0 ? -errno : 0;
}

static int mount_in_root(int root_fd, const char *path, const char *source, const char *fstype,
                         unsigned long flags, const char *data, bool is_file) {
        _cleanup_close_ int fd = -EBADF;

        fd = container_open_in_root(root_fd, path, O_PATH | (is_file ? 0 : O_DIRECTORY), !is_file, is_file);
        if (fd < 0)
                return fd;
        return mount_fd(source, fd, fstype, flags, data);
}

/* The flags a bind remount must repeat: in a user namespace, nosuid/nodev/noexec/atime flags
 * inherited from a more privileged mount are locked, and a remount that drops them fails. */
static unsigned long mount_flags_of_fd(int fd) {
        struct statvfs sv;
        unsigned long f = 0;

        if (fstatvfs(fd, &sv) < 0)
                return 0;
        if (sv.f_flag & ST_NOSUID)
                f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                f |= MS_NOEXEC;
        if (sv.f_flag & ST_NOATIME)
                f |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME)
                f |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME)
                f |= MS_RELATIME;
        return f;
}

static int remount_ro_in_root(int root_fd, const char *path, unsigned long extra) {
        _cleanup_close_ int fd = -EBADF;

        fd = container_open_in_root(root_fd, path, O_PATH, false, false);
        if (fd < 0)
                return fd;
        return mount_fd(NULL, fd, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | extra | mount_flags_of_fd(fd),
                        NULL);
}

/* OCI's default masked and read-only paths (as runc, crun and Docker use them). */
static const char *const masked_paths[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
        "/sys/fs/selinux", /* Podman's and Docker's defaults add these two */
        "/sys/dev/block",
};
static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

bool container_path_is_masked(const char *p) {
        for (size_t i = 0; i < ELEMENTSOF(masked_paths); i++)
                if (streq(p, masked_paths[i]))
                        return true;
        return false;
}

bool container_path_is_readonly(const char *p) {
        for (size_t i = 0; i < ELEMENTSOF(readonly_paths); i++)
                if (streq(p, readonly_paths[i]))
                        return true;
        return false;
}

/* Files get /dev/null bound over them, directories an empty read-only tmpfs. Paths this kernel
 * does not have are skipped. */
static int mask_paths(int root_fd) {
        for (size_t i = 0; i < ELEMENTSOF(masked_paths); i++) {
                _cleanup_close_ int fd = -EBADF;
                struct stat st;
                int r;

                fd = container_open_in_root(root_fd, masked_paths[i], O_PATH | O_NOFOLLOW, false, false);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return fd;
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode))
                        r = mount_fd("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                     "mode=0555");
                else
                        r = mount_fd("/dev/null", fd, NULL, MS_BIND, NULL);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(readonly_paths); i++) {
                _cleanup_close_ int fd = -EBADF;
                char self[64];
                int r;

                fd = container_open_in_root(root_fd, readonly_paths[i], O_PATH | O_NOFOLLOW, false, false);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return fd;
                (void) snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
                r = mount_fd(self, fd, NULL, MS_BIND | MS_REC, NULL);
                if (r < 0)
                        return r;
                r = remount_ro_in_root(root_fd, readonly_paths[i], MS_NOSUID | MS_NODEV | MS_NOEXEC);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Attaches a detached (idmapped) tree from the parent at a path resolved in root. */
static int attach_tree_in_root(int root_fd, const char *path, int tree_fd, bool is_file) {
        _cleanup_close_ int fd = -EBADF;

        fd = container_open_in_root(root_fd, path, O_PATH | (is_file ? 0 : O_DIRECTORY), !is_file, is_file);
        if (fd < 0)
                return fd;
        return move_mount(tree_fd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0
                       ? -errno
                       : 0;
}

static int setup_dev(int root_fd) {
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const struct {
                const char *target, *link;
        } links[] = {
                { "/proc/self/fd", "fd" },       { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
                { "pts/ptmx", "ptmx" },
        };
        _cleanup_close_ int dev_fd = -EBADF;
        int r;

        r = mount_in_root(root_fd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
                          "mode=755,size=65536k", false);
        if (r < 0)
                return r;
        dev_fd = container_open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY, false, false);
        if (dev_fd < 0)
                return dev_fd;
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                _cleanup_close_ int fd = -EBADF;
                char host[32];
                struct stat st;

                /* A node of its own where we may make one (no user namespace), as crun does: one
                 * mknodat() instead of a file, a bind mount and three more calls. The device
                 * cgroup decides what may be opened either way. In a user namespace mknod is
                 * refused: bind the host's node. */
                (void) snprintf(host, sizeof host, "/dev/%s", nodes[i]);
                if (stat(host, &st) >= 0 && S_ISCHR(st.st_mode) &&
                    mknodat(dev_fd, nodes[i], S_IFCHR | 0666, st.st_rdev) >= 0) {
                        /* 0666 whatever the umask, like the host's nodes. */
                        if (fchmodat(dev_fd, nodes[i], 0666, 0) < 0)
                                return -errno;
                        continue;
                }
                fd = openat(dev_fd, nodes[i], O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
                if (fd < 0)
                        return -errno;
                (void) close(TAKE_FD(fd));
                fd = openat(dev_fd, nodes[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return -errno;
                r = mount_fd(host, fd, NULL, MS_BIND, NULL);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, dev_fd, links[i].link) < 0)
                        return -errno;
        if (mkdirat(dev_fd, "pts", 0755) < 0 || mkdirat(dev_fd, "shm", 01777) < 0 ||
            mkdirat(dev_fd, "mqueue", 0755) < 0)
                return -errno;
        r = mount_in_root(root_fd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                          "newinstance,ptmxmode=0666,mode=0620,gid=5", false);
        if (r < 0)
                return r;
        /* POSIX message queues of the container's own IPC namespace, as runc and crun mount them. */
        r = mount_in_root(root_fd, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                          false);
        if (r < 0)
                return r;
        return mount_in_root(root_fd, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                             "mode=1777,size=65536k", false);
}

/* User namespace: the state directory is 0700 root's, which root-in-the-namespace (host id
 * base) may not search. So the child opens what it needs while it still carries the host's uid 0
 * (owner access), then becomes root of its namespace (so that overlayfs records a mapped mounter),
 * and mounts by fd with the new mount API: layers via FSCONFIG_SET_FD, targets via move_mount(). */
static int setup_root_userns(const ContainerFsConfig *c, int idmap_lower, int *ret_root_fd,
                             const char **reterr_what) {
        _cleanup_close_ int target = -EBADF, upper = -EBADF, work = -EBADF, lower = -EBADF,
                            lower_mnt = -EBADF, fs = -EBADF, mnt = -EBADF;
        int r;

#define USTEP(what, expr)                      \
        do {                                   \
                if ((expr) < 0) {              \
                        *reterr_what = (what); \
                        return -errno;         \
                }                              \
        } while (0)

        USTEP("open the root mount point", target = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!c->spec->readonly_rootfs) {
                USTEP("open the upper layer", upper = open(c->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                USTEP("open the work directory", work = open(c->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                if (idmap_lower >= 0)
                        USTEP("open the image mount point",
                              lower_mnt = open(c->lower_mnt, O_PATH | O_DIRECTORY | O_CLOEXEC));
        }
        if (idmap_lower < 0)
                USTEP("open the image", lower = open(c->lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC));

        r = container_userns_become_root();
        if (r < 0) {
                *reterr_what = "become root in the user namespace";
                return r;
        }

        if (c->spec->readonly_rootfs) {
                if (idmap_lower >= 0) /* read-only, nosuid, nodev already (set by the parent) */
                        mnt = fcntl(idmap_lower, F_DUPFD_CLOEXEC, 3);
                else {
                        USTEP("clone the image", mnt = open_tree(lower, "",
                                                                 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                                         AT_EMPTY_PATH | AT_RECURSIVE));
                        USTEP("make the root read-only",
                              mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE,
                                            &(struct mount_attr){ .attr_set = MOUNT_ATTR_RDONLY |
                                                                              MOUNT_ATTR_NOSUID },
                                            sizeof(struct mount_attr)));
                }
                USTEP("attach the image", mnt);
        } else {
                if (idmap_lower >= 0) {
                        USTEP("attach the idmapped image",
                              move_mount(idmap_lower, "", lower_mnt, "",
                                         MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
                        USTEP("open the idmapped image",
                              lower = openat(idmap_lower, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                }
                USTEP("mount the overlay root", fs = fsopen("overlay", FSOPEN_CLOEXEC));
                USTEP("mount the overlay root (lower)",
                      fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lower));
                USTEP("mount the overlay root (upper)",
                      fsconfig(fs, FSCONFIG_SET_FD, "upperdir", NULL, upper));
                USTEP("mount the overlay root (work)", fsconfig(fs, FSCONFIG_SET_FD, "workdir", NULL, work));
                USTEP("mount the overlay root (userxattr)",
                      fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0));
                USTEP("mount the overlay root", fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
                USTEP("mount the overlay root", mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID));
        }
        USTEP("attach the root",
              move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
#undef USTEP
        *ret_root_fd = TAKE_FD(mnt);
        return 0;
}

static bool overlay_path_ok(const char *p) {
        /* overlayfs option syntax gives ',', ':' and '\' meanings; refuse them instead of quoting. */
        return p && !strpbrk(p, ",:\\");
}

int container_setup_fs(const ContainerFsConfig *c, const char **reterr_what) {
        const WorkloadSpec *spec = c->spec;
        _cleanup_close_ int root_fd = -EBADF;
        int idmap_lower = c->idmap_fds ? c->idmap_fds[0] : -EBADF;
        const char *lower = c->lower;
        char opts[4096];
        int r;

#define STEP(what, expr)                       \
        do {                                   \
                r = (expr);                    \
                if (r < 0) {                   \
                        *reterr_what = (what); \
                        return r;              \
                }                              \
        } while (0)

        STEP("make mounts private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ? -errno : 0);

        if (c->userns) {
                r = setup_root_userns(c, idmap_lower, &root_fd, reterr_what);
                if (r < 0)
                        return r;
        } else if (spec->readonly_rootfs && c->lower_stack) {
                /* Layers only, no upper: overlay mounts them read-only. */
                if (snprintf(opts, sizeof opts, "lowerdir=%s", lower) >= (int) sizeof opts) {
                        *reterr_what = "mount the image's layers (too many)";
                        return -ENAMETOOLONG;
                }
                STEP("mount the image's layers read-only",
                     mount("overlay", c->root, "overlay", MS_NOSUID | MS_RDONLY, opts) < 0 ? -errno : 0);
        } else if (spec->readonly_rootfs) {
                _cleanup_close_ int lfd = -EBADF;

                STEP("bind the image",
                     mount(c->lower, c->root, NULL, MS_BIND | MS_REC, NULL) < 0 ? -errno : 0);
                lfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
                STEP("make the root read-only",
                     mount(NULL, c->root, NULL,
                           MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | mount_flags_of_fd(lfd), NULL) < 0
                             ? -errno
                             : 0);
        } else {
                if ((!c->lower_stack && !overlay_path_ok(lower)) || !overlay_path_ok(c->upper) ||
                    !overlay_path_ok(c->work)) {
                        *reterr_what = "use a rootfs path without ',', ':' or '\\'";
                        return -EINVAL;
                }
                if (snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, c->upper,
                             c->work) >= (int) sizeof opts) {
                        *reterr_what = "mount the overlay (paths too long)";
                        return -ENAMETOOLONG;
                }
                STEP("mount the overlay root",
                     mount("overlay", c->root, "overlay", MS_NOSUID, opts) < 0 ? -errno : 0);
        }

        if (root_fd < 0)
                root_fd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                *reterr_what = "open the root";
                return -errno;
        }

        STEP("mount /proc",
             mount_in_root(root_fd, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false));
        STEP("set up /dev", setup_dev(root_fd));
        STEP("mount /sys", mount_in_root(root_fd, "/sys", "sysfs", "sysfs",
                                         MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, false));
        STEP("mask /proc and /sys paths", mask_paths(root_fd));

        /* tmpfs before the binds: a bind below a tmpfs (a socket into /run) stays visible. */
        for (size_t i = 0; i < spec->n_tmpfs; i++) {
                const SpecTmpfs *t = &spec->tmpfs[i];
                char data[64];

                if (t->size)
                        (void) snprintf(data, sizeof data, "mode=%o,size=%" PRIu64, t->mode, t->size);
                else
                        (void) snprintf(data, sizeof data, "mode=%o", t->mode);
                STEP("mount a tmpfs",
                     mount_in_root(root_fd, t->target, "tmpfs", "tmpfs",
                                   MS_NOSUID | MS_NODEV | (t->noexec ? MS_NOEXEC : 0), data, false));
        }

        for (size_t i = 0; i < spec->n_mounts; i++) {
                const SpecMount *sm = &spec->mounts[i];
                struct stat st;

                if (c->idmap_fds && c->idmap_fds[1 + i] >= 0 ? fstat(c->idmap_fds[1 + i], &st) < 0
                                                             : stat(sm->source, &st) < 0) {
                        *reterr_what = "find a mount source";
                        return -errno;
                }
                if (c->idmap_fds && c->idmap_fds[1 + i] >= 0) {
                        /* Idmapped by the parent, read-only there already if asked. */
                        STEP("attach an idmapped host path",
                             attach_tree_in_root(root_fd, sm->target, c->idmap_fds[1 + i],
                                                 !S_ISDIR(st.st_mode)));
                        continue;
                }
                STEP("bind-mount a host path", mount_in_root(root_fd, sm->target, sm->source, NULL,
                                                             MS_BIND | MS_REC, NULL, !S_ISDIR(st.st_mode)));
                if (sm->readonly)
                        STEP("make a bind mount read-only",
                             remount_ro_in_root(root_fd, sm->target, MS_NOSUID | MS_NODEV));
        }

        /* The network's name server and the workload's own name (network modes nat and host). */
        for (int i = 0; i < 2; i++) {
                const char *src = i == 0 ? c->resolv_conf : c->hosts;
                const char *dst = i == 0 ? "/etc/resolv.conf" : "/etc/hosts";

                if (!src)
                        continue;
                STEP("bind the network's /etc/resolv.conf and /etc/hosts",
                     mount_in_root(root_fd, dst, src, NULL, MS_BIND, NULL, true));
                STEP("make /etc/resolv.conf and /etc/hosts read-only",
                     remount_ro_in_root(root_fd, dst, MS_NOSUID | MS_NODEV | MS_NOEXEC));
        }

        STEP("enter the root", fchdir(root_fd) < 0 ? -errno : 0);
        STEP("pivot_root", syscall(SYS_pivot_root, ".", ".") < 0 ? -errno : 0);
        STEP("detach the old root", umount2(".", MNT_DETACH) < 0 ? -errno : 0);
        STEP("chdir /", chdir("/") < 0 ? -errno : 0);
#undef STEP
        return 0;
}
