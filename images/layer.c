/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One layer's tar stream → a directory in overlayfs's on-disk format, from untrusted input.
 *
 * Every entry is created relative to the layer's directory fd: parents are walked one component
 * at a time with O_NOFOLLOW (a symlink or a non-directory on the way is an error, never
 * followed: no write can land outside the layer, or through a link the layer itself made), leaves
 * are created with O_EXCL/O_NOFOLLOW, symlink targets are stored verbatim and never resolved on
 * the host, hard links must name a file of this layer. The rules (docs/images.md):
 *   - names: "./", "/" and "//" normalised; a leading "/" stripped (counted); ".." or more than
 *     IMPORT_DEPTH_MAX components refused; the entry for "." only sets the root's metadata;
 *   - whiteouts: ".wh.X" → a 0/0 character device X, ".wh..wh..opq" → the directory is marked
 *     opaque (trusted.overlay.opaque and user.overlay.opaque, so both overlay mount modes see it),
 *     ".wh." with an empty, "." or ".." target refused; ".wh.X" followed by a directory X makes X
 *     opaque (it replaces what was below);
 *   - devices and sockets are dropped (the runtime makes /dev), FIFOs kept;
 *   - owners kept numerically (0 .. 2^32-2; 4294967295 refused), modes with setuid/setgid kept but
 *     applied after chown; directories' modes and times applied last, deepest first;
 *   - xattrs: user.* (but user.overlay.*) and security.capability kept, trusted.*, other
 *     security.* and the rest dropped (counted); at most IMPORT_XATTRS_MAX per entry;
 *   - a second entry for a name: a directory over a directory merges, the same type replaces,
 *     another type is refused;
 *   - bytes and entries are charged to the import's budget as they are written.
 * A half-written layer is never visible: the directory lives in the store's staging area until
 * the import commits it by rename. */

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image-import.h"
#include "util.h"

#define WHITEOUT_PREFIX ".wh."

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}
#define OPAQUE_MARKER ".wh..wh..opq"

typedef struct DirMeta {
        char *path; /* relative to the root, "" for the root */
        mode_t mode;
        struct timespec mtime;
} DirMeta;

struct LayerWriter {
        int root_fd;
        ImportBudget *budget;
        LayerStats *st;
        DirMeta *dirs;
        size_t n_dirs, n_alloc;
        /* the last parent directory walked to, kept open: entries come grouped by directory */
        char *cached_parent;
        int cached_fd;
        char buf[128 * 1024];
};

LayerWriter *layer_writer_new(int root_fd, ImportBudget *budget, LayerStats *st) {
        LayerWriter *w = calloc(1, sizeof(LayerWriter));

        if (!w)
                return NULL;
        w->root_fd = root_fd;
        w->budget = budget;
        w->st = st;
        w->cached_fd = -EBADF;
        return w;
}

LayerWriter *layer_writer_free(LayerWriter *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->n_dirs; i++)
                free(w->dirs[i].path);
        free(w->dirs);
        free(w->cached_parent);
        safe_close(w->cached_fd);
        free(w);
        return NULL;
}

/* An error naming the entry; fmt has one %s, filled with arg (NULL: ""). */
#define fail(reterr, r, name, fmt, arg) set_error_message(reterr, r, "entry '%s': " fmt, name, strempty(arg))

/* "./a//b/" → "a/b"; a leading "/" is stripped and reported; NULL for "..", an empty component
 * after normalisation is not possible. Returns the number of components, or -EINVAL / -ELOOP. */
static int normalize(const char *in, char *out, size_t size, bool *ret_absolute) {
        size_t o = 0;
        int n = 0;

        *ret_absolute = in[0] == '/';
        for (const char *p = in; *p;) {
                const char *e;
                size_t len;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                e = strchrnul(p, '/');
                len = (size_t) (e - p);
                if (len == 1 && p[0] == '.') {
                        p = e;
                        continue;
                }
                if (len == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                if (len > 255)
                        return -ENAMETOOLONG;
                if (o + len + 2 > size)
                        return -ENAMETOOLONG;
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, p, len);
                o += len;
                if (++n > (int) IMPORT_DEPTH_MAX)
                        return -ELOOP;
                p = e;
        }
        out[o] = 0;
        return n;
}

/* Opens (creating missing directories, mode 0755 until their own entry says otherwise) the
 * directory `rel` inside the root, never following a symlink. With create = false a missing
 * component is -ENOENT. The returned fd belongs to the caller. */
static int walk_dirs(int root_fd, const char *rel, bool create) {
        _cleanup_close_ int fd = -EBADF;
        char comp[256];

        fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        for (const char *p = rel; *p;) {
                const char *e = strchrnul(p, '/');
                size_t len = (size_t) (e - p);
                int nfd;

                memcpy(comp, p, len);
                comp[len] = 0;
                nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (nfd < 0)
                        return errno == ELOOP ? -ENOTDIR : -errno;
                safe_close(fd);
                fd = nfd;
                p = *e ? e + 1 : e;
        }
        return TAKE_FD(fd);
}

static int parent_fd(LayerWriter *w, const char *dir) {
        int fd;

        if (w->cached_parent && streq(w->cached_parent, dir))
                return w->cached_fd;
        fd = walk_dirs(w->root_fd, dir, true);
        if (fd < 0)
                return fd;
        safe_close(w->cached_fd);
        free(w->cached_parent);
        w->cached_parent = strdup(dir);
        if (!w->cached_parent) {
                (void) close(fd);
                w->cached_fd = -EBADF;
                return -ENOMEM;
        }
        w->cached_fd = fd;
        return fd;
}

static void forget_parent(LayerWriter *w) {
        /* A directory was replaced or removed: the cached fd may name a detached inode. */
        w->cached_fd = safe_close(w->cached_fd);
        w->cached_parent = mfree(w->cached_parent);
}

static bool xattr_allowed(const char *name) {
        if (startswith(name, "user."))
                return !startswith(name, "user.overlay.");
        return streq(name, "security.capability");
}

/* Applies the entry's xattrs to an open fd (regular files, directories): allowed ones set, the
 * rest counted as dropped. */
static int apply_xattrs(LayerWriter *w, struct archive_entry *e, int fd, const char *name, char **reterr) {
        const char *xname;
        const void *value;
        size_t size;
        unsigned n = 0;

        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
                if (++n > IMPORT_XATTRS_MAX)
                        return fail(reterr, -E2BIG, name, "more than %s extended attributes", "64");
                if (!xattr_allowed(xname)) {
                        w->st->dropped_xattrs++;
                        continue;
                }
                if (fsetxattr(fd, xname, value, size, 0) < 0)
                        return fail(reterr, -errno, name, "set the extended attribute %s", xname);
        }
        return 0;
}

static int check_owner(struct archive_entry *e, const char *name, uid_t *uid, gid_t *gid, char **reterr) {
        la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);

        if (u < 0 || u >= UINT32_MAX || g < 0 || g >= UINT32_MAX)
                return fail(reterr, -ERANGE, name, "owner out of range (uid/gid 4294967295 or more)%s",
                            NULL);
        *uid = (uid_t) u;
        *gid = (gid_t) g;
        return 0;
}

static int set_opaque(int fd, const char *name, char **reterr) {
        if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0 ||
            fsetxattr(fd, "user.overlay.opaque", "y", 1, 0) < 0)
                return fail(reterr, -errno, name, "mark the directory opaque%s", NULL);
        return 0;
}

static bool is_whiteout(const struct stat *st) {
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int write_data(LayerWriter *w, struct archive *a, int fd, const char *name, char **reterr) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r;

        for (;;) {
                r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return set_error_message(reterr, -EBADMSG, "entry '%s': %s", name,
                                                 archive_error_string(a) ?: "unreadable data");
                if (len > w->budget->bytes_left)
                        return fail(reterr, -EFBIG, name, "the import's byte budget is exhausted%s", NULL);
                w->budget->bytes_left -= len;
                w->st->bytes += len;
                for (size_t done = 0; done < len;) {
                        ssize_t k = pwrite(fd, (const char *) buf + done, len - done, off + (off_t) done);
                        if (k < 0)
                                return fail(reterr, -errno, name, "write%s", NULL);
                        done += (size_t) k;
                }
        }
        return 0;
}

static int add_dir_meta(LayerWriter *w, const char *path, struct archive_entry *e) {
        if (w->n_dirs == w->n_alloc) {
                size_t n = w->n_alloc ? w->n_alloc * 2 : 64;
                DirMeta *d = reallocarray(w->dirs, n, sizeof(DirMeta));
                if (!d)
                        return -ENOMEM;
                w->dirs = d;
                w->n_alloc = n;
        }
        w->dirs[w->n_dirs] = (DirMeta){
                .path = strdup(path),
                .mode = archive_entry_mode(e) & 07777,
                .mtime = { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
        };
        if (!w->dirs[w->n_dirs].path)
                return -ENOMEM;
        w->n_dirs++;
        return 0;
}

static int do_whiteout(LayerWriter *w, int pfd, const char *dir, const char *base, const char *name,
                       char **reterr) {
        const char *target = base + strlen(WHITEOUT_PREFIX);
        struct stat st;

        if (streq(base, OPAQUE_MARKER)) {
                _cleanup_close_ int dfd = -EBADF;
                int r;

                dfd = dir[0] ? openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                             : openat(w->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return fail(reterr, -errno, name, "open the directory%s", NULL);
                r = set_opaque(dfd, name, reterr);
                if (r < 0)
                        return r;
                w->st->opaques++;
                return 0;
        }
        if (startswith(base, WHITEOUT_PREFIX WHITEOUT_PREFIX)) /* reserved by the spec: ignored */
                return 0;
        if (!*target || streq(target, ".") || streq(target, ".."))
                return fail(reterr, -EINVAL, name, "a whiteout without a valid target%s", NULL);
        if (fstatat(pfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0; /* this layer has its own entry for it: that already hides what is below */
        if (mknodat(pfd, target, S_IFCHR | 0, makedev(0, 0)) < 0)
                return fail(reterr, -errno, name, "create the whiteout%s", NULL);
        w->st->whiteouts++;
        return 0;
}

int layer_writer_entry(LayerWriter *w, struct archive *a, struct archive_entry *e, char **reterr) {
        const char *raw = archive_entry_pathname(e);
        char path[4096], dir[4096];
        const char *base;
        bool absolute;
        mode_t type;
        uid_t uid = 0;
        gid_t gid = 0;
        struct stat old;
        bool exists, replaced_whiteout = false;
        int pfd, n, r;

        if (!raw || !*raw)
                return set_error_message(reterr, -EINVAL, "an entry without a name");
        n = normalize(raw, path, sizeof path, &absolute);
        if (n == -EINVAL)
                return fail(reterr, -EINVAL, raw, "a '..' component%s", NULL);
        if (n == -ENAMETOOLONG)
                return fail(reterr, -ENAMETOOLONG, raw, "the name is too long%s", NULL);
        if (n == -ELOOP)
                return fail(reterr, -ELOOP, raw, "more than %s directory levels", "128");
        if (absolute)
                w->st->absolute_names++;
        if (w->budget->entries_left == 0)
                return fail(reterr, -EFBIG, raw, "the import's entry budget is exhausted%s", NULL);
        w->budget->entries_left--;
        w->st->entries++;

        type = archive_entry_filetype(e);
        r = check_owner(e, raw, &uid, &gid, reterr);
        if (r < 0)
                return r;

        if (n == 0) { /* "." or "/": the root's own metadata */
                if (type != AE_IFDIR || archive_entry_hardlink(e))
                        return fail(reterr, -EINVAL, raw, "the entry for the root is not a directory%s",
                                    NULL);
                if (fchownat(w->root_fd, "", uid, gid, AT_EMPTY_PATH) < 0)
                        return fail(reterr, -errno, raw, "chown%s", NULL);
                return add_dir_meta(w, "", e);
        }

        base = strrchr(path, '/');
        if (base) {
                memcpy(dir, path, (size_t) (base - path));
                dir[base - path] = 0;
                base++;
        } else {
                dir[0] = 0;
                base = path;
        }
        pfd = dir[0] ? parent_fd(w, dir) : w->root_fd;
        if (pfd == -ENOTDIR)
                return fail(reterr, -ENOTDIR, raw, "a parent is a symlink or not a directory%s", NULL);
        if (pfd < 0)
                return fail(reterr, pfd, raw, "open the parent directory%s", NULL);

        if (startswith(base, WHITEOUT_PREFIX))
                return do_whiteout(w, pfd, dir, base, raw, reterr);

        exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
        if (exists) {
                bool same = archive_entry_hardlink(e) ? S_ISREG(old.st_mode)
                                                      : (old.st_mode & S_IFMT) == (mode_t) type;
                if (is_whiteout(&old)) {
                        replaced_whiteout = true;
                        if (unlinkat(pfd, base, 0) < 0)
                                return fail(reterr, -errno, raw, "replace the whiteout%s", NULL);
                        w->st->whiteouts--;
                } else if (!same)
                        return fail(reterr, -EEXIST, raw, "a second entry of another type for this name%s",
                                    NULL);
                else if (type != AE_IFDIR) {
                        if (unlinkat(pfd, base, 0) < 0)
                                return fail(reterr, -errno, raw, "replace the earlier entry%s", NULL);
                }
        }

        if (archive_entry_hardlink(e)) {
                const char *traw = archive_entry_hardlink(e);
                char tpath[4096], tdir[4096];
                const char *tbase;
                _cleanup_close_ int tfd = -EBADF;
                bool tabs;
                int k;

                if (traw[0] == '/')
                        return fail(reterr, -EINVAL, raw, "a hard link to an absolute path (%s)", traw);
                k = normalize(traw, tpath, sizeof tpath, &tabs);
                if (k <= 0)
                        return fail(reterr, -EINVAL, raw, "a hard link out of the layer (%s)", traw);
                tbase = strrchr(tpath, '/');
                if (tbase) {
                        memcpy(tdir, tpath, (size_t) (tbase - tpath));
                        tdir[tbase - tpath] = 0;
                        tbase++;
                } else {
                        tdir[0] = 0;
                        tbase = tpath;
                }
                tfd = walk_dirs(w->root_fd, tdir, false);
                if (tfd < 0)
                        return fail(reterr, tfd, raw, "a hard link to a file not in this layer (%s)", traw);
                if (fstatat(tfd, tbase, &old, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(old.st_mode))
                        return fail(reterr, -ENOENT, raw, "a hard link to a file not in this layer (%s)",
                                    traw);
                if (linkat(tfd, tbase, pfd, base, 0) < 0)
                        return fail(reterr, -errno, raw, "create the hard link%s", NULL);
                return 0;
        }

        switch (type) {
        case AE_IFREG: {
                _cleanup_close_ int fd = -EBADF;

                fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return fail(reterr, -errno, raw, "create%s", NULL);
                r = write_data(w, a, fd, raw, reterr);
                if (r < 0)
                        return r;
                if (archive_entry_size(e) > 0 && ftruncate(fd, archive_entry_size(e)) < 0)
                        return fail(reterr, -errno, raw, "set the size%s", NULL);
                if (fchown(fd, uid, gid) < 0 || fchmod(fd, archive_entry_mode(e) & 07777) < 0)
                        return fail(reterr, -errno, raw, "set the owner and mode%s", NULL);
                r = apply_xattrs(w, e, fd, raw, reterr);
                if (r < 0)
                        return r;
                if (futimens(fd, (struct timespec[2]){
                                         { 0, UTIME_OMIT },
                                         { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } }) < 0)
                        return fail(reterr, -errno, raw, "set the time%s", NULL);
                return 0;
        }
        case AE_IFDIR: {
                _cleanup_close_ int fd = -EBADF;
                char rel[4096];

                if (!exists || replaced_whiteout) {
                        if (mkdirat(pfd, base, 0700) < 0)
                                return fail(reterr, -errno, raw, "create the directory%s", NULL);
                } else
                        forget_parent(w);
                fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return fail(reterr, -errno, raw, "open the directory%s", NULL);
                if (replaced_whiteout) {
                        r = set_opaque(fd, raw, reterr);
                        if (r < 0)
                                return r;
                        w->st->opaques++;
                }
                if (fchown(fd, uid, gid) < 0)
                        return fail(reterr, -errno, raw, "chown%s", NULL);
                r = apply_xattrs(w, e, fd, raw, reterr);
                if (r < 0)
                        return r;
                (void) snprintf(rel, sizeof rel, "%s", path);
                return add_dir_meta(w, rel, e) < 0 ? -ENOMEM : 0;
        }
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);

                if (!target || !*target)
                        return fail(reterr, -EINVAL, raw, "a symlink without a target%s", NULL);
                if (symlinkat(target, pfd, base) < 0)
                        return fail(reterr, -errno, raw, "create the symlink%s", NULL);
                if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                    utimensat(
                            pfd, base,
                            (struct timespec[2]){ { 0, UTIME_OMIT },
                                                  { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } },
                            AT_SYMLINK_NOFOLLOW) < 0)
                        return fail(reterr, -errno, raw, "set the symlink's owner and time%s", NULL);
                return 0;
        }
        case AE_IFIFO:
                if (mknodat(pfd, base, S_IFIFO | 0600, 0) < 0 ||
                    fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                    fchmodat(pfd, base, archive_entry_mode(e) & 07777, 0) < 0)
                        return fail(reterr, -errno, raw, "create the FIFO%s", NULL);
                return 0;
        case AE_IFCHR:
        case AE_IFBLK:
                w->st->dropped_devices++;
                return 0;
        case AE_IFSOCK:
                w->st->dropped_sockets++;
                return 0;
        default:
                return fail(reterr, -EINVAL, raw, "an entry of unknown type%s", NULL);
        }
}

int layer_writer_finish(LayerWriter *w, char **reterr) {
        forget_parent(w);
        /* Deepest first (entries come parents first), so a mode 0000 or read-only directory is
         * closed only after everything inside it exists. */
        for (size_t i = w->n_dirs; i > 0; i--) {
                DirMeta *d = &w->dirs[i - 1];
                _cleanup_close_ int fd = -EBADF;

                _cleanup_close_ int rfd = -EBADF;

                fd = d->path[0] ? walk_dirs(w->root_fd, d->path, false)
                                : fcntl(w->root_fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return fail(reterr, fd == -ENOTDIR ? fd : -errno, d->path, "reopen the directory%s",
                                    NULL);
                /* walk_dirs() gives O_PATH fds, which fchmod() refuses */
                rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rfd < 0 || fchmod(rfd, d->mode) < 0 ||
                    futimens(rfd, (struct timespec[2]){ { 0, UTIME_OMIT }, d->mtime }) < 0)
                        return fail(reterr, -errno, d->path, "set the directory's mode and time%s", NULL);
        }
        return 0;
}

int layer_unpack(struct archive *a, int root_fd, ImportBudget *budget, LayerStats *st, char **reterr) {
        _cleanup_(layer_writer_freep) LayerWriter *w = NULL;
        struct archive_entry *e;
        int r;

        w = layer_writer_new(root_fd, budget, st);
        if (!w)
                return -ENOMEM;
        for (;;) {
                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return set_error_message(reterr, -EBADMSG, "after %" PRIu64 " entries: %s",
                                                 st->entries, archive_error_string(a) ?: "not a tar stream");
                r = layer_writer_entry(w, a, e, reterr);
                if (r < 0)
                        return r;
        }
        return layer_writer_finish(w, reterr);
}

/* ---------------------------------------------------------------- after the fact */

static int drop_markers_at(int fd, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int dfd, r = 0;

        if (depth > IMPORT_DEPTH_MAX)
                return -ELOOP;
        dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        (void) fremovexattr(dfd, "trusted.overlay.opaque");
        (void) fremovexattr(dfd, "user.overlay.opaque");
        d = fdopendir(dfd);
        if (!d) {
                (void) close(dfd);
                return -errno;
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (is_whiteout(&st)) {
                        if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                                return -errno;
                } else if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = openat(dirfd(d), de->d_name,
                                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                return -errno;
                        r = drop_markers_at(sub, depth + 1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int layer_drop_markers(int root_fd) {
        return drop_markers_at(root_fd, 0);
}

static int copy_xattrs(int src, int dst) {
        char names[4096], value[4096];
        ssize_t n = flistxattr(src, names, sizeof names);

        if (n < 0)
                return errno == ENOTSUP ? 0 : -errno;
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
                ssize_t v = fgetxattr(src, p, value, sizeof value);
                if (v < 0 || fsetxattr(dst, p, value, (size_t) v, 0) < 0)
                        return -errno;
        }
        return 0;
}

static int clone_at(int src, int dst, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int sfd;

        if (depth > IMPORT_DEPTH_MAX)
                return -ELOOP;
        sfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0)
                return -errno;
        d = fdopendir(sfd);
        if (!d) {
                (void) close(sfd);
                return -errno;
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int s = -EBADF, t = -EBADF;
                        int r;

                        if (mkdirat(dst, de->d_name, 0700) < 0)
                                return -errno;
                        s = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        t = openat(dst, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s < 0 || t < 0)
                                return -errno;
                        r = clone_at(s, t, depth + 1);
                        if (r < 0)
                                return r;
                        r = copy_xattrs(s, t);
                        if (r < 0)
                                return r;
                        if (fchown(t, st.st_uid, st.st_gid) < 0 || fchmod(t, st.st_mode & 07777) < 0 ||
                            futimens(t, (struct timespec[2]){ { 0, UTIME_OMIT }, st.st_mtim }) < 0)
                                return -errno;
                } else if (linkat(dirfd(d), de->d_name, dst, de->d_name, 0) < 0)
                        return -errno;
        }
        return 0;
}

int layer_clone(int src_fd, int dst_fd) {
        return clone_at(src_fd, dst_fd, 0);
}
