/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rootfs directory → read-only erofs image, cached by a content key, built atomically in the
 * monitor (never in isod) by mkfs.erofs (fork + exec with an argv, no shell). */

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "util.h"
#include "vm-internal.h"

#define IMAGE_MAX_ENTRIES (4U * 1024U * 1024U)
#define IMAGE_MAX_DEPTH 256U
#define IMAGE_PROGRESS_BYTES (64ULL << 20)
#define IMAGE_KEY_VERSION "erofs1"

#ifndef MKFS_EROFS
#define MKFS_EROFS "/usr/bin/mkfs.erofs"
#endif

/* Two independent 64-bit FNV-1a streams (different offsets): a 128-bit key. Not cryptographic:
 * the tree belongs to whoever may run it, the key only decides what to rebuild. */
typedef struct TreeHash {
        uint64_t a, b;
        uint64_t bytes, entries;
} TreeHash;

static void th_feed(TreeHash *h, const void *p, size_t n) {
        const uint8_t *s = p;

        for (size_t i = 0; i < n; i++) {
                h->a = (h->a ^ s[i]) * UINT64_C(0x100000001b3);
                h->b = (h->b ^ s[i]) * UINT64_C(0x100000001b3);
                h->b ^= h->b >> 29;
        }
}

static int hash_dir(TreeHash *h, int dfd, const char *rel, unsigned depth) {
        _cleanup_free_ struct dirent **list = NULL;
        _cleanup_close_ int fd = -EBADF;
        int n, r = 0;

        if (depth > IMAGE_MAX_DEPTH)
                return -ELOOP;
        fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Sorted, so the key does not depend on readdir order. */
        n = scandirat(fd, ".", &list, NULL, alphasort);
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                struct dirent *de = list[i];
                struct stat st;

                if (r >= 0 && !streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        if (++h->entries > IMAGE_MAX_ENTRIES)
                                r = -E2BIG;
                        else if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                r = -errno;
                        else {
                                uint64_t meta[8] = { st.st_mode,
                                                     st.st_uid,
                                                     st.st_gid,
                                                     (uint64_t) st.st_size,
                                                     (uint64_t) st.st_mtim.tv_sec,
                                                     (uint64_t) st.st_mtim.tv_nsec,
                                                     st.st_rdev,
                                                     depth };
                                th_feed(h, de->d_name, strlen(de->d_name) + 1);
                                th_feed(h, meta, sizeof meta);
                                if (S_ISREG(st.st_mode))
                                        h->bytes += (uint64_t) st.st_size;
                                if (S_ISLNK(st.st_mode)) {
                                        char target[4096];
                                        ssize_t k = readlinkat(fd, de->d_name, target, sizeof target);
                                        if (k > 0)
                                                th_feed(h, target, (size_t) k);
                                }
                                if (S_ISDIR(st.st_mode))
                                        r = hash_dir(h, fd, de->d_name, depth + 1);
                        }
                }
                free(de);
        }
        return r;
}

int image_tree_key(const char *dir, ImageKey *ret) {
        TreeHash h = { .a = UINT64_C(0xcbf29ce484222325), .b = UINT64_C(0x84222325cbf29ce4) };
        struct stat st;
        int r;

        if (stat(dir, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        th_feed(&h, IMAGE_KEY_VERSION, sizeof IMAGE_KEY_VERSION);
        th_feed(&h, &st.st_mode, sizeof st.st_mode);
        th_feed(&h, &st.st_uid, sizeof st.st_uid);
        r = hash_dir(&h, AT_FDCWD, dir, 0);
        if (r < 0)
                return r;
        (void) snprintf(ret->key, sizeof ret->key, "%016" PRIx64 "%016" PRIx64, h.a, h.b);
        ret->bytes = h.bytes;
        ret->entries = h.entries;
        return 0;
}

/* CACHE/vm-images (created) and NAME in it. 1 if NAME is there (its mtime bumped: a cache cleaner
 * can drop the least recently used), 0 if not, or -errno. */
static int cache_lookup(const char *cache_dir, const char *name, char **ret_idir, char **ret_path) {
        _cleanup_free_ char *idir = NULL, *path = NULL;
        int r;

        if (asprintf(&idir, "%s/vm-images", cache_dir) < 0)
                return -ENOMEM;
        r = mkdir_p(idir, 0700);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s", idir, name) < 0)
                return -ENOMEM;
        r = access(path, F_OK) == 0;
        if (r)
                (void) utimensat(AT_FDCWD, path, NULL, 0);
        *ret_idir = TAKE_PTR(idir);
        *ret_path = TAKE_PTR(path);
        return r;
}

struct ImageBuild {
        pid_t pid;
        sd_event_source *child_src;
        char *tmp_path, *final_path;
        image_done_t done;
        void *userdata;
        uint64_t started;
};

ImageBuild *image_build_free(ImageBuild *b) {
        if (!b)
                return NULL;
        if (b->child_src) {
                (void) sd_event_source_send_child_signal(b->child_src, SIGKILL, NULL, 0);
                sd_event_source_disable_unref(b->child_src);
        }
        if (b->tmp_path)
                (void) unlink(b->tmp_path);
        free(b->tmp_path);
        free(b->final_path);
        free(b);
        return NULL;
}

static int on_mkfs_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        ImageBuild *b = userdata;
        int r = 0;

        b->child_src = sd_event_source_disable_unref(b->child_src);
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                r = -EIO;
        else if (rename(b->tmp_path, b->final_path) < 0)
                r = -errno;
        else {
                free(b->tmp_path);
                b->tmp_path = NULL;
        }
        b->done(r, b->final_path, b->userdata);
        return 0;
}

int image_get(sd_event *e, const char *cache_dir, const char *dir, const ImageKey *key, int progress_fd,
              image_done_t done, void *userdata, char **ret_path, ImageBuild **ret_build) {
        _cleanup_free_ char *idir = NULL, *final = NULL, *tmp = NULL;
        char name[sizeof key->key + 16];
        ImageKey own;
        ImageBuild *b;
        pid_t pid;
        int r;

        if (!key) {
                r = image_tree_key(dir, &own);
                if (r < 0)
                        return r;
                key = &own;
        }
        (void) snprintf(name, sizeof name, "%s.erofs", key->key);
        r = cache_lookup(cache_dir, name, &idir, &final);
        if (r != 0) {
                if (r > 0)
                        *ret_path = TAKE_PTR(final);
                return r;
        }
        if (asprintf(&tmp, "%s/.%s.%i.tmp", idir, key->key, (int) getpid()) < 0)
                return -ENOMEM;

        if (progress_fd >= 0 && key->bytes >= IMAGE_PROGRESS_BYTES)
                (void) dprintf(progress_fd,
                               "isod: building VM image from %s (%" PRIu64 " files, %" PRIu64 " MiB)…\n",
                               dir, key->entries, key->bytes >> 20);

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (nfd >= 0) {
                        (void) dup2(nfd, 0);
                        (void) dup2(nfd, 1);
                }
                (void) close_all_fds_except(NULL, 0);
                /* -T0: a fixed timestamp (reproducible); file mtimes are kept with
                 * --preserve-mtime; ownership and modes come from the tree. */
                /* -U: the file system's UUID from the key, so that the same tree makes the same
                 * image, byte for byte. */
                char uuid[48];
                (void) snprintf(uuid, sizeof uuid, "-U%.8s-%.4s-%.4s-%.4s-%.12s", key->key, key->key + 8,
                                key->key + 12, key->key + 16, key->key + 20);
                execl(MKFS_EROFS, "mkfs.erofs", "--quiet", "-T0", "--preserve-mtime", uuid, tmp, dir,
                      (char *) NULL);
                _exit(127);
        }

        b = calloc(1, sizeof(ImageBuild));
        if (!b) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return -ENOMEM;
        }
        *b = (ImageBuild){
                .pid = pid,
                .tmp_path = TAKE_PTR(tmp),
                .final_path = strdup(final),
                .done = done,
                .userdata = userdata,
        };
        r = sd_event_add_child(e, &b->child_src, pid, WEXITED, on_mkfs_exit, b);
        if (r < 0 || !b->final_path) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                image_build_free(b);
                return r < 0 ? r : -ENOMEM;
        }
        *ret_build = b;
        *ret_path = TAKE_PTR(final);
        return 0;
}

/* ---------------------------------------------------------------- small trees in the initramfs */

/* A newc archive writer over a file descriptor: header, name, data, each padded to 4 bytes. */
typedef struct Cpio {
        int fd;
        uint64_t off;
        uint32_t ino;
} Cpio;

static int cpio_write(Cpio *c, const void *p, size_t n) {
        int r = loop_write(c->fd, p, n);

        if (r >= 0)
                c->off += n;
        return r;
}

static int cpio_pad(Cpio *c) {
        static const uint8_t zero[4];

        return c->off % 4 ? cpio_write(c, zero, 4 - c->off % 4) : 0;
}

static int cpio_header(Cpio *c, const char *name, const struct stat *st, uint32_t size) {
        char h[111];
        size_t nl = strlen(name) + 1;
        int r;

        (void) snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ++c->ino,
                        (unsigned) st->st_mode, (unsigned) st->st_uid, (unsigned) st->st_gid,
                        S_ISDIR(st->st_mode) ? 2U : 1U, (unsigned) st->st_mtim.tv_sec, size, 0U, 0U,
                        (unsigned) major(st->st_rdev), (unsigned) minor(st->st_rdev), (unsigned) nl, 0U);
        r = cpio_write(c, h, 110);
        if (r >= 0)
                r = cpio_write(c, name, nl);
        return r < 0 ? r : cpio_pad(c);
}

static int cpio_copy_fd(Cpio *c, int in, uint64_t size) {
        uint8_t buf[64 * 1024];

        while (size > 0) {
                ssize_t k = read(in, buf, MIN(sizeof buf, size));
                int r;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO; /* shrank under us */
                r = cpio_write(c, buf, (size_t) k);
                if (r < 0)
                        return r;
                size -= (uint64_t) k;
        }
        return 0;
}

/* PATH (relative to the archive, "image/…") for the entry NAME in the directory DFD. */
static int cpio_entry(Cpio *c, int dfd, const char *name, const char *path, unsigned depth);

static int cpio_dir(Cpio *c, int fd, const char *path, unsigned depth) {
        _cleanup_free_ struct dirent **list = NULL;
        int n, r = 0;

        if (depth > IMAGE_MAX_DEPTH)
                return -ELOOP;
        n = scandirat(fd, ".", &list, NULL, alphasort);
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                struct dirent *de = list[i];

                if (r >= 0 && !streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/%s", path, de->d_name) < 0)
                                r = -ENOMEM;
                        else
                                r = cpio_entry(c, fd, de->d_name, p, depth + 1);
                }
                free(de);
        }
        return r;
}

static int cpio_entry(Cpio *c, int dfd, const char *name, const char *path, unsigned depth) {
        struct stat st;
        int r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

                if (fd < 0)
                        return -errno;
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size > UINT32_MAX)
                        return -EBADF;
                r = cpio_header(c, path, &st, (uint32_t) st.st_size);
                if (r >= 0)
                        r = cpio_copy_fd(c, fd, (uint64_t) st.st_size);
                return r < 0 ? r : cpio_pad(c);
        }
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t k = readlinkat(dfd, name, target, sizeof target);

                if (k < 0)
                        return -errno;
                if ((size_t) k >= sizeof target)
                        return -ENAMETOOLONG;
                r = cpio_header(c, path, &st, (uint32_t) k);
                if (r >= 0)
                        r = cpio_write(c, target, (size_t) k);
                return r < 0 ? r : cpio_pad(c);
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                if (fd < 0)
                        return -errno;
                r = cpio_header(c, path, &st, 0);
                return r < 0 ? r : cpio_dir(c, fd, path, depth);
        }
        /* Device nodes, FIFOs, sockets: metadata only, as mkfs.erofs keeps them. */
        return cpio_header(c, path, &st, 0);
}

int image_inline_get(const char *cache_dir, const char *dir, const ImageKey *key, const char *base_initrd,
                     char **ret_path) {
        _cleanup_free_ char *idir = NULL, *final = NULL, *tmp = NULL;
        _cleanup_close_ int base = -EBADF, out = -EBADF, root = -EBADF;
        char name[sizeof key->key + 3 * 17 + 8];
        struct stat bst;
        Cpio c;
        int r;

        if (key->bytes > IMAGE_INLINE_MAX_BYTES || key->entries > IMAGE_INLINE_MAX_ENTRIES)
                return 0;
        base = open(base_initrd, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (base < 0)
                return -errno;
        if (fstat(base, &bst) < 0)
                return -errno;
        if (!S_ISREG(bst.st_mode) || bst.st_size % 4 != 0)
                return -EBADMSG; /* a newc archive is padded to 4 bytes */
        /* Both parts in the name: the tree's content key and the base initramfs' identity. */
        (void) snprintf(name, sizeof name, "%s-%" PRIx64 "-%" PRIx64 "-%" PRIx64 ".initrd", key->key,
                        (uint64_t) bst.st_ino, (uint64_t) bst.st_size, (uint64_t) bst.st_mtim.tv_sec);
        r = cache_lookup(cache_dir, name, &idir, &final);
        if (r != 0) {
                if (r > 0)
                        *ret_path = TAKE_PTR(final);
                return r;
        }
        if (asprintf(&tmp, "%s/.%s.%i.initrd.tmp", idir, key->key, (int) getpid()) < 0)
                return -ENOMEM;
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (out < 0)
                return -errno;
        /* Readable by the VM's unprivileged uid, which gets it bind-mounted in its jail (as it gets
         * the erofs images; the cache directory itself stays 0700). */
        if (fchmod(out, 0644) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        c = (Cpio){ .fd = out };
        r = cpio_copy_fd(&c, base, (uint64_t) bst.st_size);
        if (r >= 0) {
                root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = root < 0 ? -errno : 0;
        }
        if (r >= 0) {
                struct stat st;

                r = fstat(root, &st) < 0 ? -errno : cpio_header(&c, "image", &st, 0);
        }
        if (r >= 0)
                r = cpio_dir(&c, root, "image", 0);
        if (r >= 0) {
                static const struct stat none = { .st_mode = 0 };

                r = cpio_header(&c, "TRAILER!!!", &none, 0);
        }
        if (r >= 0 && fsync(out) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, final) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        *ret_path = TAKE_PTR(final);
        return 1;
}
