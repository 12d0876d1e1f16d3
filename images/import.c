/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image formats → verified layers in the store's staging area, committed by rename.
 *
 * Input is detected by content, never by name: a directory fd is an OCI image layout; a stream is
 * decompressed if it is gzip/bzip2/xz/zstd/lz4 (by magic) and read as a tar whose first file
 * decides: oci-layout, index.json, manifest.json, repositories, blobs/... or <hex>.json/<hex>/...
 * make it an image archive (OCI archive, docker-archive old or Docker ≥ 25 layout), anything
 * else a rootfs tarball (one layer, a config with no command).
 *
 * Streams are read once: an archive's members arrive in any order, so each member that is not
 * JSON is unpacked as a layer candidate while its digest and its decompressed diff_id are
 * computed in the same pass (source → SHA-256 → libarchive filter, format raw → SHA-256 → tar
 * reader → layer.c), JSON members are kept in memory (at most IMPORT_JSON_MAX each), and the
 * manifests are resolved at the end: a referenced blob whose content does not match its digest,
 * a layer whose diff_id differs from the config's, a missing or non-tar blob abort the import.
 * An OCI layout directory is read blob by blob through its descriptors instead (sizes checked
 * before reading), and a layer already in the store (same ChainID) is not unpacked again. */

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "image-import.h"
#include "import-internal.h"
#include "util.h"

#define PEEK_SIZE (64U * 1024U)
#define TEXT_MAX 4096U

/* ---------------------------------------------------------------- hashes */

void hash_init(Hash *h) {
        sha256_init(&h->ctx);
        h->size = 0;
}

void hash_feed(Hash *h, const void *p, size_t n) {
        sha256_update(&h->ctx, n, p);
        h->size += n;
}

void hash_final(Hash *h, char ret[static 72]) {
        uint8_t d[SHA256_DIGEST_SIZE];

        sha256_digest(&h->ctx, sizeof d, d);
        memcpy(ret, "sha256:", 7);
        for (size_t i = 0; i < sizeof d; i++)
                (void) snprintf(ret + 7 + 2 * i, 3, "%02x", d[i]);
}

void sha256_string(const void *p, size_t n, char ret[static 72]) {
        Hash h;

        hash_init(&h);
        hash_feed(&h, p, n);
        hash_final(&h, ret);
}

/* ---------------------------------------------------------------- hashing readers */

/* A libarchive read callback over an fd or over the data of another archive's current entry,
 * hashing what passes; bytes peeked before the reader existed are returned first. */
typedef struct HashReader {
        int fd;             /* >= 0: read(2) from it */
        struct archive *up; /* else archive_read_data() from it */
        const char *replay;
        size_t replay_len;
        Hash hash;
        Import *progress; /* the outermost reader reports progress */
        char buf[128 * 1024];
} HashReader;

static la_ssize_t hr_read(struct archive *a, void *userdata, const void **ret) {
        HashReader *h = userdata;
        ssize_t n;

        if (h->replay_len > 0) {
                *ret = h->replay;
                n = (ssize_t) h->replay_len;
                h->replay_len = 0;
        } else {
                if (h->fd >= 0) {
                        do
                                n = read(h->fd, h->buf, sizeof h->buf);
                        while (n < 0 && errno == EINTR);
                } else
                        n = archive_read_data(h->up, h->buf, sizeof h->buf);
                if (n < 0) {
                        archive_set_error(a, EIO, "%s",
                                          h->fd >= 0 ? strerror(errno)
                                                     : (archive_error_string(h->up) ?: "truncated input"));
                        return -1;
                }
                *ret = h->buf;
        }
        hash_feed(&h->hash, *ret, (size_t) n);
        if (h->progress)
                import_progress(h->progress, (uint64_t) n);
        return n;
}

static void hr_drain(HashReader *h) {
        const void *p;
        struct archive *dummy = archive_read_new();

        while (dummy && hr_read(dummy, h, &p) > 0)
                ;
        if (dummy)
                (void) archive_read_free(dummy);
}

static struct archive *open_decompressor(HashReader *src) {
        struct archive *a = archive_read_new();
        struct archive_entry *e;

        if (!a)
                return NULL;
        /* Only the codecs libarchive has built in: never the external-program fallbacks. */
        (void) archive_read_support_filter_gzip(a);
        (void) archive_read_support_filter_bzip2(a);
        (void) archive_read_support_filter_xz(a);
        (void) archive_read_support_filter_zstd(a);
        (void) archive_read_support_filter_lz4(a);
        (void) archive_read_support_format_raw(a);
        if (archive_read_open(a, src, NULL, hr_read, NULL) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK) {
                /* an empty stream: let the tar reader report it */
        }
        return a;
}

static struct archive *open_tar(HashReader *mid) {
        struct archive *a = archive_read_new();

        if (!a)
                return NULL;
        (void) archive_read_support_format_tar(a);
        if (archive_read_open(a, mid, NULL, hr_read, NULL) != ARCHIVE_OK) {
                (void) archive_read_free(a);
                return NULL;
        }
        return a;
}

static void archive_freep(struct archive **a) {
        if (*a)
                (void) archive_read_free(*a);
}
#define _cleanup_archive_ _cleanup_(archive_freep)

/* ---------------------------------------------------------------- progress and staging */

void import_progress(Import *imp, uint64_t n) {
        uint64_t now;

        imp->read += n;
        if (imp->progress_fd < 0)
                return;
        now = now_usec(CLOCK_MONOTONIC);
        if (now - imp->last_report < 200000 && n > 0)
                return;
        imp->last_report = now;
        (void) dprintf(imp->progress_fd, "{\"progress\":{\"read\":%" PRIu64 ",\"total\":%" PRIu64 "}}\n",
                       imp->read, imp->total);
}

static int stage_dir(Import *imp, const char *name, int *ret_fd) {
        int fd;

        if (mkdirat(imp->staging_fd, name, 0755) < 0)
                return -errno;
        fd = openat(imp->staging_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

/* Unpacks the stream `src` delivers as one layer into staging/NAME. On success fills diff_id, the
 * source's digest and the stats. */
static int unpack_stream(Import *imp, HashReader *src, const char *name, LayerOut *out, char **reterr) {
        _cleanup_archive_ struct archive *raw = NULL, *tar = NULL;
        _cleanup_free_ HashReader *mid = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        mid = calloc(1, sizeof(HashReader));
        if (!mid)
                return -ENOMEM;
        raw = open_decompressor(src);
        if (!raw)
                return -ENOMEM;
        *mid = (HashReader){ .fd = -EBADF, .up = raw };
        hash_init(&mid->hash);
        tar = open_tar(mid);
        if (!tar)
                return set_error_message(reterr, -EBADMSG, "not a tar stream");
        r = stage_dir(imp, name, &dfd);
        if (r < 0)
                return set_error_message(reterr, r, "create the staging directory");
        r = layer_unpack(tar, dfd, &imp->budget, &out->stats, reterr);
        if (r < 0)
                return r;
        /* The tar's end-of-archive blocks and the compressed stream's tail still count. */
        hr_drain(mid);
        if (archive_errno(raw) != 0 && archive_error_string(raw))
                return set_error_message(reterr, -EBADMSG, "%s", archive_error_string(raw));
        hr_drain(src);
        hash_final(&mid->hash, out->diff_id);
        hash_final(&src->hash, out->digest);
        out->size = src->hash.size;
        (void) snprintf(out->staged, sizeof out->staged, "%s", name);
        return 0;
}

/* ---------------------------------------------------------------- small JSON helpers */

int json_parse_checked(const char *what, const char *buf, size_t size, json_t **ret, char **reterr) {
        json_error_t jerr;
        json_t *j;

        if (size > IMPORT_JSON_MAX)
                return set_error_message(reterr, -E2BIG, "%s: larger than %u MiB", what,
                                         IMPORT_JSON_MAX >> 20);
        j = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return set_error_message(reterr, -EBADMSG, "%s: %s (line %d)", what, jerr.text, jerr.line);
        *ret = j;
        return 0;
}

const char *host_arch(void) {
        struct utsname u;

        if (uname(&u) < 0)
                return "amd64";
        if (streq(u.machine, "x86_64"))
                return "amd64";
        if (streq(u.machine, "aarch64"))
                return "arm64";
        if (streq(u.machine, "riscv64"))
                return "riscv64";
        return "unknown";
}

/* ---------------------------------------------------------------- streams */

static bool name_is_image_member(const char *p) {
        size_t n = strspn(p, "0123456789abcdef");

        if (streq(p, "oci-layout") || streq(p, "index.json") || streq(p, "manifest.json") ||
            streq(p, "repositories") || startswith(p, "blobs/"))
                return true;
        return n == 64 && (streq(p + 64, ".json") || streq(p + 64, ".tar") || p[64] == '/');
}

static void normalize_member(const char *in, char *out, size_t size) {
        size_t o = 0;

        while (startswith(in, "./"))
                in += 2;
        while (*in == '/')
                in++;
        for (; *in && o + 1 < size; in++) {
                if (*in == '/' && (o == 0 || out[o - 1] == '/'))
                        continue;
                out[o++] = *in;
        }
        while (o > 0 && out[o - 1] == '/')
                o--;
        out[o] = 0;
}

static Member *member_add(Import *imp, const char *path) {
        Member *m;

        if (imp->n_members >= IMPORT_MEMBERS_MAX)
                return NULL;
        if (imp->n_members == imp->n_alloc) {
                size_t n = imp->n_alloc ? imp->n_alloc * 2 : 32;
                Member *l = reallocarray(imp->members, n, sizeof(Member));
                if (!l)
                        return NULL;
                imp->members = l;
                imp->n_alloc = n;
        }
        m = &imp->members[imp->n_members];
        *m = (Member){ .path = strdup(path) };
        if (!m->path)
                return NULL;
        imp->n_members++;
        return m;
}

Member *member_find(Import *imp, const char *path) {
        char norm[4096];

        normalize_member(path, norm, sizeof norm);
        for (unsigned hops = 0; hops < 8; hops++) {
                Member *found = NULL;

                for (size_t i = 0; i < imp->n_members; i++)
                        if (streq(imp->members[i].path, norm)) {
                                found = &imp->members[i];
                                break;
                        }
                if (!found || !found->alias_of)
                        return found;
                (void) snprintf(norm, sizeof norm, "%s", found->alias_of);
        }
        return NULL;
}

/* One regular member of an image archive: JSON and small text into memory, anything else
 * unpacked as a layer candidate (its failure is remembered and reported only if a manifest
 * references it). */
static int read_member(Import *imp, struct archive *outer, struct archive_entry *e, const char *path) {
        _cleanup_free_ HashReader *src = NULL;
        _cleanup_free_ char *peek = NULL;
        la_int64_t size = archive_entry_size(e);
        size_t have = 0, skip = 0;
        char staged[32];
        Member *m;
        ssize_t n;
        int r;

        m = member_add(imp, path);
        if (!m)
                return -ENOMEM;
        m->size = size > 0 ? (uint64_t) size : 0;
        peek = malloc(PEEK_SIZE);
        if (!peek)
                return -ENOMEM;
        while (have < PEEK_SIZE && (n = archive_read_data(outer, peek + have, PEEK_SIZE - have)) > 0)
                have += (size_t) n;
        if (n < 0 && have == 0)
                return set_error_message(&imp->error, -EBADMSG, "%s: %s", path,
                                         archive_error_string(outer) ?: "truncated archive");
        while (skip < have && strchr(" \t\r\n", peek[skip]))
                skip++;
        if ((skip < have && (peek[skip] == '{' || peek[skip] == '[')) ||
            (have == m->size && have <= TEXT_MAX && !memchr(peek, 0, have) && (uint8_t) peek[0] < 0x80)) {
                /* JSON (or a small text such as VERSION): keep it, bounded. */
                Hash h;

                if (m->size > IMPORT_JSON_MAX) {
                        m->too_large = true;
                        return archive_read_data_skip(outer) == ARCHIVE_OK ? 0 : -EBADMSG;
                }
                m->json = malloc(m->size + 1);
                if (!m->json)
                        return -ENOMEM;
                memcpy(m->json, peek, have);
                while (have < m->size && (n = archive_read_data(outer, m->json + have, m->size - have)) > 0)
                        have += (size_t) n;
                if (have != m->size)
                        return set_error_message(&imp->error, -EBADMSG, "%s: truncated", path);
                m->json[have] = 0;
                m->json_size = have;
                hash_init(&h);
                hash_feed(&h, m->json, have);
                hash_final(&h, m->digest);
                return 0;
        }

        src = calloc(1, sizeof(HashReader));
        if (!src)
                return -ENOMEM;
        *src = (HashReader){ .fd = -EBADF, .up = outer, .replay = peek, .replay_len = have };
        hash_init(&src->hash);
        (void) snprintf(staged, sizeof staged, "m%zu", imp->n_members - 1);
        r = unpack_stream(imp, src, staged, &m->layer, &m->error);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                (void) rm_rf_at(imp->staging_fd, staged);
                m->layer.staged[0] = 0;
                if (r == -EFBIG) /* a budget: no point reading on */
                        return set_error_message(&imp->error, r, "%s: %s", path, m->error);
                hr_drain(src);
                hash_final(&src->hash, m->digest);
                return 0;
        }
        m->is_layer = true;
        memcpy(m->digest, m->layer.digest, sizeof m->digest);
        return 0;
}

/* A stream: an image archive or a rootfs tarball. */
static int import_stream(Import *imp, int fd) {
        _cleanup_archive_ struct archive *raw = NULL, *tar = NULL;
        _cleanup_free_ HashReader *src = NULL, *mid = NULL;
        _cleanup_(layer_writer_freep) LayerWriter *w = NULL;
        struct archive_entry **pending = NULL;
        size_t n_pending = 0;
        _cleanup_close_ int dfd = -EBADF;
        struct archive_entry *e;
        enum { UNKNOWN, ARCHIVE, ROOTFS } kind = UNKNOWN;
        LayerOut *out = &imp->rootfs_layer;
        int r = 0;

        src = calloc(1, sizeof(HashReader));
        mid = calloc(1, sizeof(HashReader));
        if (!src || !mid)
                return -ENOMEM;
        *src = (HashReader){ .fd = fd, .progress = imp };
        hash_init(&src->hash);
        raw = open_decompressor(src);
        if (!raw)
                return -ENOMEM;
        *mid = (HashReader){ .fd = -EBADF, .up = raw };
        hash_init(&mid->hash);
        tar = open_tar(mid);
        if (!tar)
                return set_error_message(&imp->error, -EBADMSG, "not a tar archive");

        for (;;) {
                char path[4096];

                r = archive_read_next_header(tar, &e);
                if (r == ARCHIVE_EOF) {
                        r = 0;
                        break;
                }
                if (r < ARCHIVE_WARN) {
                        r = set_error_message(&imp->error, -EBADMSG, "%s",
                                              archive_error_string(tar) ?: "not a tar archive");
                        break;
                }
                r = 0;
                normalize_member(archive_entry_pathname(e) ?: "", path, sizeof path);
                if (kind == UNKNOWN) {
                        if (archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e)) {
                                /* remembered until the first file says what this is */
                                struct archive_entry **l;
                                if (n_pending >= 4096) {
                                        r = set_error_message(
                                                &imp->error, -E2BIG,
                                                "more than 4096 directories before the first file");
                                        break;
                                }
                                l = reallocarray(pending, n_pending + 1, sizeof *l);
                                if (!l) {
                                        r = -ENOMEM;
                                        break;
                                }
                                pending = l;
                                pending[n_pending] = archive_entry_clone(e);
                                if (!pending[n_pending]) {
                                        r = -ENOMEM;
                                        break;
                                }
                                n_pending++;
                                continue;
                        }
                        kind = name_is_image_member(path) ? ARCHIVE : ROOTFS;
                        if (kind == ROOTFS) {
                                imp->format = "rootfs-tarball";
                                r = stage_dir(imp, "m0", &dfd);
                                if (r < 0)
                                        break;
                                w = layer_writer_new(dfd, &imp->budget, &out->stats);
                                if (!w) {
                                        r = -ENOMEM;
                                        break;
                                }
                                for (size_t i = 0; i < n_pending && r >= 0; i++)
                                        r = layer_writer_entry(w, tar, pending[i], &imp->error);
                                if (r < 0)
                                        break;
                        }
                }
                if (kind == ROOTFS) {
                        r = layer_writer_entry(w, tar, e, &imp->error);
                        if (r < 0)
                                break;
                        continue;
                }
                switch (archive_entry_filetype(e)) {
                case AE_IFREG:
                        if (archive_entry_hardlink(e))
                                goto alias;
                        r = read_member(imp, tar, e, path);
                        break;
                case AE_IFLNK: {
                        /* docker-archive: <id>/layer.tar -> ../<diffid>.tar */
                        char target[4096], joined[8192];
                        const char *slash = strrchr(path, '/');
                        Member *m;
alias:
                        if (archive_entry_hardlink(e))
                                normalize_member(archive_entry_hardlink(e), target, sizeof target);
                        else {
                                const char *t = archive_entry_symlink(e) ?: "";
                                char resolved[8192];
                                size_t o = 0;

                                (void) snprintf(joined, sizeof joined, "%.*s%s%s",
                                                slash ? (int) (slash - path) : 0, path, slash ? "/" : "", t);
                                /* resolve "a/../b" lexically: only for looking up members */
                                for (const char *p = t[0] == '/' ? t : joined; *p;) {
                                        const char *q = strchrnul(p, '/');
                                        size_t len = (size_t) (q - p);
                                        if (len == 2 && p[0] == '.' && p[1] == '.') {
                                                while (o > 0 && resolved[o - 1] != '/')
                                                        o--;
                                                if (o > 0)
                                                        o--;
                                        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
                                                if (o > 0)
                                                        resolved[o++] = '/';
                                                memcpy(resolved + o, p, len);
                                                o += len;
                                        }
                                        resolved[o] = 0;
                                        p = *q ? q + 1 : q;
                                }
                                resolved[o] = 0;
                                normalize_member(resolved, target, sizeof target);
                        }
                        m = member_add(imp, path);
                        if (!m || !(m->alias_of = strdup(target)))
                                r = -ENOMEM;
                        break;
                }
                default:
                        break;
                }
                if (r < 0)
                        break;
        }
        for (size_t i = 0; i < n_pending; i++)
                archive_entry_free(pending[i]);
        free(pending);
        if (r < 0)
                return r;

        if (kind == UNKNOWN && n_pending > 0) {
                /* only directories: an empty rootfs */
                imp->format = "rootfs-tarball";
        } else if (kind == UNKNOWN)
                return set_error_message(&imp->error, -EBADMSG, "an empty archive");
        if (kind == ROOTFS || kind == UNKNOWN) {
                if (!w) {
                        r = stage_dir(imp, "m0", &dfd);
                        if (r < 0)
                                return r;
                        w = layer_writer_new(dfd, &imp->budget, &out->stats);
                        if (!w)
                                return -ENOMEM;
                }
                r = layer_writer_finish(w, &imp->error);
                if (r < 0)
                        return r;
        }
        hr_drain(mid);
        if (archive_errno(raw) != 0 && archive_error_string(raw))
                return set_error_message(&imp->error, -EBADMSG, "%s", archive_error_string(raw));
        hr_drain(src);
        if (kind == ARCHIVE)
                return import_resolve_archive(imp);
        hash_final(&mid->hash, out->diff_id);
        hash_final(&src->hash, out->digest);
        out->size = src->hash.size;
        (void) snprintf(out->staged, sizeof out->staged, "m0");
        return import_rootfs_result(imp);
}

/* ---------------------------------------------------------------- OCI layout directories */

static int open_blob(int layout_fd, const char *digest, int *ret_fd, struct stat *ret_st) {
        char rel[128];
        _cleanup_close_ int dfd = -EBADF;
        int fd;

        if (!digest_is_valid(digest))
                return -EINVAL;
        dfd = openat(layout_fd, "blobs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        (void) snprintf(rel, sizeof rel, "sha256");
        fd = openat(dfd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        safe_close(dfd);
        dfd = fd;
        fd = openat(dfd, digest + 7, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0 || !S_ISREG(ret_st->st_mode)) {
                (void) close(fd);
                return -EBADF;
        }
        *ret_fd = fd;
        return 0;
}

int layout_read_json(Import *imp, const char *digest, uint64_t size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        char got[72];
        struct stat st;
        size_t have = 0;
        int r;

        r = open_blob(imp->layout_fd, digest, &fd, &st);
        if (r < 0)
                return set_error_message(&imp->error, r, "blob %s: cannot open it", digest);
        if ((uint64_t) st.st_size != size)
                return set_error_message(&imp->error, -EBADMSG,
                                         "blob %s: %" PRIu64 " bytes, its descriptor says %" PRIu64, digest,
                                         (uint64_t) st.st_size, size);
        if (size > IMPORT_JSON_MAX)
                return set_error_message(&imp->error, -E2BIG, "blob %s: larger than %u MiB", digest,
                                         IMPORT_JSON_MAX >> 20);
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        while (have < size) {
                ssize_t n = read(fd, buf + have, size - have);
                if (n <= 0)
                        return set_error_message(&imp->error, -EIO, "blob %s: short read", digest);
                have += (size_t) n;
        }
        buf[have] = 0;
        sha256_string(buf, have, got);
        if (!streq(got, digest))
                return set_error_message(&imp->error, -EBADMSG,
                                         "blob %s: content does not match its digest (%s)", digest, got);
        *ret = TAKE_PTR(buf);
        *ret_size = have;
        return 0;
}

int layout_unpack_layer(Import *imp, const char *digest, uint64_t size, const char *staged, LayerOut *out) {
        _cleanup_free_ HashReader *src = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *err = NULL;
        struct stat st;
        int r;

        r = open_blob(imp->layout_fd, digest, &fd, &st);
        if (r < 0)
                return set_error_message(&imp->error, r, "blob %s: cannot open it", digest);
        if ((uint64_t) st.st_size != size)
                return set_error_message(&imp->error, -EBADMSG,
                                         "layer %s: %" PRIu64 " bytes, its descriptor says %" PRIu64, digest,
                                         (uint64_t) st.st_size, size);
        (void) fd_set_nonblock(fd, false);
        src = calloc(1, sizeof(HashReader));
        if (!src)
                return -ENOMEM;
        *src = (HashReader){ .fd = fd, .progress = imp };
        hash_init(&src->hash);
        r = unpack_stream(imp, src, staged, out, &err);
        if (r < 0)
                return set_error_message(&imp->error, r, "layer %s: %s", digest, err ?: strerror(-r));
        if (!streq(out->digest, digest))
                return set_error_message(&imp->error, -EBADMSG,
                                         "layer %s: content does not match its digest (%s)", digest,
                                         out->digest);
        return 0;
}

static int read_text_at(int dfd, const char *name, char **ret, size_t *ret_size, Import *imp) {
        int r = read_full_file_at(dfd, name, IMPORT_JSON_MAX, ret, ret_size);

        if (r == -EFBIG || r == -E2BIG)
                return set_error_message(&imp->error, -E2BIG, "%s: larger than %u MiB", name,
                                         IMPORT_JSON_MAX >> 20);
        if (r < 0)
                return set_error_message(&imp->error, r, "%s: cannot read it", name);
        return 0;
}

static int import_layout_dir(Import *imp, int fd) {
        _cleanup_free_ char *layout = NULL, *index = NULL;
        size_t n_layout, n_index;
        struct stat st;
        int r;

        imp->layout_fd = fd;
        imp->format = "oci-layout";
        if (fstatat(fd, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return set_error_message(
                        &imp->error, -EBADMSG,
                        "a directory without an oci-layout file is not an OCI image layout");
        r = read_text_at(fd, "oci-layout", &layout, &n_layout, imp);
        if (r < 0)
                return r;
        if (fstatat(fd, "index.json", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return set_error_message(&imp->error, -EBADMSG, "the OCI image layout has no index.json");
        r = read_text_at(fd, "index.json", &index, &n_index, imp);
        if (r < 0)
                return r;
        imp->total = 0;
        return import_resolve_oci(imp, layout, n_layout, index, n_index, /* from_dir= */ true);
}

int import_run(Import *imp, int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return set_error_message(&imp->error, -errno, "cannot stat the input");
        if (S_ISDIR(st.st_mode))
                return import_layout_dir(imp, fd);
        if (S_ISREG(st.st_mode))
                imp->total = (uint64_t) st.st_size;
        return import_stream(imp, fd);
}
