/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manifests, configs and the commit: which layers make the image, checked against their
 * descriptors and the config's diff_ids, then moved from staging into layers/<ChainID> by rename
 * (after one syncfs, so a committed layer is complete on disk). The result is printed for isod,
 * which owns the names (index.json) and the image records. */

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "import-internal.h"
#include "util.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REF_NAME "org.opencontainers.image.ref.name"
#define CONTAINERD_NAME "io.containerd.image.name"

static bool layer_media_type_ok(const char *mt) {
        static const char *const ok[] = {
                "application/vnd.oci.image.layer.v1.tar",
                "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.oci.image.layer.v1.tar+zstd",
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        };
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
                if (streq(mt, ok[i]))
                        return true;
        return false;
}

static int descriptor(Import *imp, json_t *d, const char *what, const char **ret_digest, uint64_t *ret_size,
                      const char **ret_mt) {
        json_t *dg = json_object_get(d, "digest"), *sz = json_object_get(d, "size"),
               *mt = json_object_get(d, "mediaType");

        if (!json_is_object(d))
                return set_error_message(&imp->error, -EBADMSG, "%s: not a descriptor object", what);
        if (!json_is_string(dg) || !digest_is_valid(json_string_value(dg)))
                return set_error_message(&imp->error, -EBADMSG,
                                         "%s: its digest is not sha256:<64 hex digits>", what);
        if (!json_is_integer(sz) || json_integer_value(sz) < 0)
                return set_error_message(&imp->error, -EBADMSG, "%s: no valid size", what);
        if (mt && !json_is_string(mt))
                return set_error_message(&imp->error, -EBADMSG, "%s: mediaType is not a string", what);
        *ret_digest = json_string_value(dg);
        *ret_size = (uint64_t) json_integer_value(sz);
        if (ret_mt)
                *ret_mt = mt ? json_string_value(mt) : "";
        return 0;
}

/* A JSON blob by digest, from the layout directory or from the archive's members. */
static int get_json(Import *imp, bool from_dir, const char *digest, uint64_t size, const char *what,
                    json_t **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n;
        char path[96];
        Member *m;
        int r;

        if (from_dir) {
                r = layout_read_json(imp, digest, size, &buf, &n);
                if (r < 0)
                        return r;
                return json_parse_checked(what, buf, n, ret, &imp->error);
        }
        (void) snprintf(path, sizeof path, "blobs/sha256/%s", digest + 7);
        m = member_find(imp, path);
        if (!m)
                return set_error_message(&imp->error, -ENOENT, "%s: blob %s is not in the archive", what,
                                         digest);
        if (m->too_large)
                return set_error_message(&imp->error, -E2BIG, "%s: blob %s is larger than %u MiB", what,
                                         digest, IMPORT_JSON_MAX >> 20);
        if (!m->json)
                return set_error_message(&imp->error, -EBADMSG, "%s: blob %s is not JSON", what, digest);
        if (m->size != size)
                return set_error_message(&imp->error, -EBADMSG,
                                         "%s: blob %s has %" PRIu64 " bytes, its descriptor says %" PRIu64,
                                         what, digest, m->size, size);
        if (!streq(m->digest, digest))
                return set_error_message(&imp->error, -EBADMSG,
                                         "%s: blob %s: content does not match its digest (%s)", what, digest,
                                         m->digest);
        return json_parse_checked(what, m->json, m->json_size, ret, &imp->error);
}

static bool platform_ok(Import *imp, json_t *d) {
        json_t *p = json_object_get(d, "platform");

        if (!p)
                return true;
        return streq_ptr(json_string_value(json_object_get(p, "os")), "linux") &&
               streq_ptr(json_string_value(json_object_get(p, "architecture")), imp->arch);
}

/* Walks an index (nested ones by platform, at most INDEX_DEPTH_MAX deep) to the manifest of this
 * platform; with a ref only the top-level descriptor with that ref.name is considered. */
static int pick_manifest(Import *imp, bool from_dir, json_t *index, unsigned depth, const char **ret_digest,
                         uint64_t *ret_size, const char **ret_ref) {
        json_t *list = json_object_get(index, "manifests"), *d;
        size_t i;
        int r;

        if (depth > INDEX_DEPTH_MAX)
                return set_error_message(&imp->error, -ELOOP, "indexes nested more than %u deep",
                                         INDEX_DEPTH_MAX);
        if (!json_is_array(list) || json_array_size(list) == 0)
                return set_error_message(&imp->error, -ENOENT, "the index lists no image");
        json_array_foreach (list, i, d) {
                json_t *ann = json_object_get(d, "annotations");
                const char *digest, *mt, *ref = json_string_value(json_object_get(ann, REF_NAME)),
                                         *full = json_string_value(json_object_get(ann, CONTAINERD_NAME));
                uint64_t size;

                r = descriptor(imp, d, "index entry", &digest, &size, &mt);
                if (r < 0)
                        return r;
                if (depth == 0 && imp->ref && !streq_ptr(ref, imp->ref) && !streq_ptr(full, imp->ref))
                        continue;
                /* Docker 25's own layout: ref.name is only the tag there, the containerd
                 * annotation the whole name. */
                if (full)
                        ref = full;
                if (!platform_ok(imp, d))
                        continue;
                if (streq(mt, MT_OCI_INDEX) || streq(mt, MT_DOCKER_LIST)) {
                        _cleanup_(json_decrefp) json_t *sub = NULL;
                        r = get_json(imp, from_dir, digest, size, "nested index", &sub);
                        if (r < 0)
                                return r;
                        r = pick_manifest(imp, from_dir, sub, depth + 1, ret_digest, ret_size, ret_ref);
                        if (r == -ENOENT)
                                continue;
                        if (r < 0)
                                return r;
                        if (depth == 0 && ref)
                                *ret_ref = ref;
                        /* the digest points into `sub`, which is about to go: keep a copy */
                        imp->picked = strdup(*ret_digest);
                        if (!imp->picked)
                                return -ENOMEM;
                        *ret_digest = imp->picked;
                        return 0;
                }
                if (mt[0] && !streq(mt, MT_OCI_MANIFEST) && !streq(mt, MT_DOCKER_MANIFEST))
                        continue; /* an artifact, a signature: not an image */
                *ret_digest = digest;
                *ret_size = size;
                if (depth == 0)
                        *ret_ref = ref;
                return 0;
        }
        if (imp->ref && depth == 0)
                return set_error_message(&imp->error, -ENOENT, "the index has no image named '%s'",
                                         imp->ref);
        return set_error_message(&imp->error, -ENOENT, "the index has no image for linux/%s", imp->arch);
}

static int check_string_array(Import *imp, json_t *c, const char *key) {
        json_t *v = json_object_get(c, key), *s;
        size_t i;

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return set_error_message(&imp->error, -EBADMSG,
                                         "image config: %s is not an array of strings", key);
        json_array_foreach (v, i, s)
                if (!json_is_string(s))
                        return set_error_message(&imp->error, -EBADMSG,
                                                 "image config: %s is not an array of strings", key);
        return 0;
}

/* The config's shape: what isod reads from it must have the right types. */
static int check_config(Import *imp, json_t *cfg, size_t n_layers) {
        json_t *rootfs = json_object_get(cfg, "rootfs"), *ids = json_object_get(rootfs, "diff_ids"), *c, *v,
               *s;
        const char *os = json_string_value(json_object_get(cfg, "os")),
                   *arch = json_string_value(json_object_get(cfg, "architecture"));
        const char *key;
        size_t i;
        int r;

        if (!json_is_object(cfg))
                return set_error_message(&imp->error, -EBADMSG, "image config: not an object");
        if (!streq_ptr(os, "linux") || !streq_ptr(arch, imp->arch))
                return set_error_message(&imp->error, -EINVAL,
                                         "the image is for %s/%s, this host runs linux/%s", os ?: "?",
                                         arch ?: "?", imp->arch);
        if (!json_is_array(ids) || !streq_ptr(json_string_value(json_object_get(rootfs, "type")), "layers"))
                return set_error_message(&imp->error, -EBADMSG, "image config: no rootfs.diff_ids");
        if (json_array_size(ids) != n_layers)
                return set_error_message(&imp->error, -EBADMSG,
                                         "image config: %zu diff_ids for %zu layers in the manifest",
                                         json_array_size(ids), n_layers);
        json_array_foreach (ids, i, s)
                if (!json_is_string(s) || !digest_is_valid(json_string_value(s)))
                        return set_error_message(&imp->error, -EBADMSG,
                                                 "image config: diff_ids[%zu] is not a sha256 digest", i);
        c = json_object_get(cfg, "config");
        if (!c || json_is_null(c))
                return 0;
        if (!json_is_object(c))
                return set_error_message(&imp->error, -EBADMSG, "image config: config is not an object");
        for (const char *const *k = (const char *const[]){ "Entrypoint", "Cmd", "Env", NULL }; *k; k++) {
                r = check_string_array(imp, c, *k);
                if (r < 0)
                        return r;
        }
        for (const char *const *k = (const char *const[]){ "WorkingDir", "User", "StopSignal", NULL }; *k;
             k++) {
                v = json_object_get(c, *k);
                if (v && !json_is_null(v) && !json_is_string(v))
                        return set_error_message(&imp->error, -EBADMSG, "image config: %s is not a string",
                                                 *k);
        }
        v = json_object_get(c, "Labels");
        if (v && !json_is_null(v)) {
                if (!json_is_object(v))
                        return set_error_message(&imp->error, -EBADMSG,
                                                 "image config: Labels is not an object");
                json_object_foreach (v, key, s)
                        if (!json_is_string(s))
                                return set_error_message(&imp->error, -EBADMSG,
                                                         "image config: label %s is not a string", key);
        }
        v = json_object_get(c, "ExposedPorts");
        if (v && !json_is_null(v) && !json_is_object(v))
                return set_error_message(&imp->error, -EBADMSG,
                                         "image config: ExposedPorts is not an object");
        return 0;
}

static void chain_ids(json_t *diff_ids, char (*chains)[72]) {
        size_t i;
        json_t *d;

        json_array_foreach (diff_ids, i, d) {
                if (i == 0)
                        (void) snprintf(chains[0], 72, "%s", json_string_value(d));
                else {
                        char buf[160];
                        int n = snprintf(buf, sizeof buf, "%s %s", chains[i - 1], json_string_value(d));
                        sha256_string(buf, (size_t) n, chains[i]);
                }
        }
}

static bool layer_committed(Import *imp, const char *chain) {
        char rel[96];
        struct stat st;

        (void) snprintf(rel, sizeof rel, "layers/%s", chain + 7);
        return fstatat(imp->store_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static json_t *layer_json(const char *chain, const LayerOut *l) {
        return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "chain_id", chain, "diff_id", l->diff_id,
                         "digest", l->digest, "size", (json_int_t) l->size, "bytes",
                         (json_int_t) l->stats.bytes, "entries", (json_int_t) l->stats.entries, "whiteouts",
                         (json_int_t) l->stats.whiteouts, "opaques", (json_int_t) l->stats.opaques,
                         "imported", (json_int_t) time(NULL));
}

static int warn(json_t *w, uint64_t n, const char *what) {
        char buf[160];

        if (n == 0)
                return 0;
        (void) snprintf(buf, sizeof buf, "%" PRIu64 " %s", n, what);
        return json_array_append_new(w, json_string(buf));
}

/* Moves the staged layers into the store and makes the result. layers[i] is NULL for a layer
 * that was already committed (same ChainID). */
static int commit(Import *imp, json_t *cfg, const char *cfg_digest, const char *manifest_digest,
                  json_t *names, LayerOut **layers, size_t n) {
        json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        char(*chains)[72] = calloc(n ? n : 1, 72);
        _cleanup_(json_decrefp) json_t *out = NULL, *jl = NULL, *warnings = NULL;
        LayerStats total = {};
        int r = 0;

        if (!chains)
                return -ENOMEM;
        chain_ids(ids, chains);

        /* Top down, so that a blob used twice gives the lowest position the original. */
        for (size_t k = n; k > 0 && r >= 0; k--) {
                size_t i = k - 1;
                char dir[32], diff[48], rel[64];
                _cleanup_(json_decrefp) json_t *lj = NULL;
                _cleanup_free_ char *text = NULL;

                if (!layers[i] || layer_committed(imp, chains[i]))
                        continue;
                (void) snprintf(dir, sizeof dir, "L%zu", i);
                (void) snprintf(diff, sizeof diff, "L%zu/diff", i);
                if (mkdirat(imp->staging_fd, dir, 0700) < 0) {
                        r = set_error_message(&imp->error, -errno, "stage layer %zu", i);
                        break;
                }
                /* the first user takes the unpacked tree, later ones get a hard-linked copy */
                size_t first = n;
                for (size_t j = i + 1; j < n; j++)
                        if (layers[j] && streq(layers[j]->staged, layers[i]->staged) &&
                            !layer_committed(imp, chains[j]))
                                first = j;
                if (first == n) {
                        if (renameat(imp->staging_fd, layers[i]->staged, imp->staging_fd, diff) < 0)
                                r = set_error_message(&imp->error, -errno, "stage layer %zu", i);
                } else {
                        _cleanup_close_ int s = -EBADF, t = -EBADF;
                        (void) snprintf(rel, sizeof rel, "L%zu/diff", first);
                        if (mkdirat(imp->staging_fd, diff, 0755) < 0 ||
                            (s = openat(imp->staging_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
                            (t = openat(imp->staging_fd, diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                                r = -errno;
                        else
                                r = layer_clone(s, t);
                        if (r < 0)
                                r = set_error_message(&imp->error, r, "copy layer %zu", first);
                }
                if (r < 0)
                        break;
                if (i == 0 && (layers[i]->stats.whiteouts || layers[i]->stats.opaques)) {
                        _cleanup_close_ int d = openat(imp->staging_fd, diff,
                                                       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        r = d < 0 ? -errno : layer_drop_markers(d);
                        if (r < 0) {
                                r = set_error_message(&imp->error, r, "drop the bottom layer's whiteouts");
                                break;
                        }
                }
                lj = layer_json(chains[i], layers[i]);
                text = lj ? json_dumps(lj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                (void) snprintf(rel, sizeof rel, "L%zu/layer.json", i);
                if (!text || write_file_atomic_at(imp->staging_fd, rel, text, strlen(text), 0644) < 0)
                        r = set_error_message(&imp->error, -EIO, "write layer %zu's record", i);
        }
        if (r < 0) {
                free(chains);
                return r;
        }

        if (syncfs(imp->store_fd) < 0) {
                free(chains);
                return set_error_message(&imp->error, -errno, "sync the store");
        }

        jl = json_array();
        warnings = json_array();
        if (!jl || !warnings) {
                free(chains);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                char dir[32], dest[96], link[64], target[96];
                bool fresh = false;

                (void) snprintf(dir, sizeof dir, "L%zu", i);
                (void) snprintf(dest, sizeof dest, "layers/%s", chains[i] + 7);
                if (layers[i] && faccessat(imp->staging_fd, dir, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                        if (renameat(imp->staging_fd, dir, imp->store_fd, dest) == 0)
                                fresh = true;
                        else if (errno == EEXIST || errno == ENOTEMPTY) /* another import was first */
                                (void) rm_rf_at(imp->staging_fd, dir);
                        else {
                                r = set_error_message(&imp->error, -errno, "commit layer %zu", i);
                                break;
                        }
                }
                if (!layer_committed(imp, chains[i])) {
                        r = set_error_message(&imp->error, -ENOENT, "layer %zu (%s) vanished from the store",
                                              i, chains[i]);
                        break;
                }
                /* l/<26 hex>: short lowerdir names so that 128 layers fit in one page of options */
                (void) snprintf(link, sizeof link, "l/%.26s", chains[i] + 7);
                (void) snprintf(target, sizeof target, "../layers/%s/diff", chains[i] + 7);
                if (symlinkat(target, imp->store_fd, link) < 0 && errno != EEXIST) {
                        r = set_error_message(&imp->error, -errno, "link layer %zu", i);
                        break;
                }
                if (layers[i]) {
                        total.absolute_names += layers[i]->stats.absolute_names;
                        total.dropped_devices += layers[i]->stats.dropped_devices;
                        total.dropped_xattrs += layers[i]->stats.dropped_xattrs;
                        total.dropped_sockets += layers[i]->stats.dropped_sockets;
                }
                json_t *o = layers[i] ? layer_json(chains[i], layers[i])
                                      : json_pack("{s:s,s:s}", "chain_id", chains[i], "diff_id",
                                                  json_string_value(json_array_get(ids, i)));
                if (!o || json_object_set_new(o, "new", json_boolean(fresh)) < 0 ||
                    json_array_append_new(jl, o) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        free(chains);
        if (r < 0)
                return r;
        (void) warn(warnings, total.absolute_names, "absolute names stored inside the image");
        (void) warn(warnings, total.dropped_devices, "device nodes dropped");
        (void) warn(warnings, total.dropped_xattrs,
                    "extended attributes dropped (trusted.*, security.* but capabilities, user.overlay.*)");
        (void) warn(warnings, total.dropped_sockets, "sockets dropped");

        out = json_pack("{s:s,s:s?,s:s,s:O,s:O,s:O,s:O}", "id", cfg_digest, "manifest", manifest_digest,
                        "format", imp->format, "names", names, "config", cfg, "layers", jl, "warnings",
                        warnings);
        if (!out)
                return -ENOMEM;
        imp->result = TAKE_PTR(out);
        return 0;
}

static int commit_from(Import *imp, json_t *cfg, const char *cfg_digest, const char *manifest_digest,
                       json_t *names, LayerOut **layers, size_t n) {
        json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");

        for (size_t i = 0; i < n; i++) {
                const char *want = json_string_value(json_array_get(ids, i));
                if (layers[i] && !streq(layers[i]->diff_id, want))
                        return set_error_message(
                                &imp->error, -EBADMSG,
                                "layer %zu (%s): its content's diff_id is %s, the config says %s", i,
                                layers[i]->digest, layers[i]->diff_id, want);
        }
        return commit(imp, cfg, cfg_digest, manifest_digest, names, layers, n);
}

int import_resolve_oci(Import *imp, const char *layout, size_t n_layout, const char *index, size_t n_index,
                       bool from_dir) {
        _cleanup_(json_decrefp) json_t *jlayout = NULL, *jindex = NULL, *manifest = NULL, *cfg = NULL,
                                       *names = NULL;
        const char *mdigest, *cdigest, *mt, *ref = NULL;
        uint64_t msize, csize;
        LayerOut **layers = NULL, *outs = NULL;
        json_t *jl, *d;
        char(*chains)[72] = NULL;
        size_t i, n;
        int r;

        r = json_parse_checked("oci-layout", layout, n_layout, &jlayout, &imp->error);
        if (r < 0)
                return r;
        if (!streq_ptr(json_string_value(json_object_get(jlayout, "imageLayoutVersion")), "1.0.0"))
                return set_error_message(&imp->error, -EBADMSG,
                                         "oci-layout: imageLayoutVersion is not 1.0.0");
        r = json_parse_checked("index.json", index, n_index, &jindex, &imp->error);
        if (r < 0)
                return r;
        r = pick_manifest(imp, from_dir, jindex, 0, &mdigest, &msize, &ref);
        if (r < 0)
                return r;
        r = get_json(imp, from_dir, mdigest, msize, "manifest", &manifest);
        if (r < 0)
                return r;
        mt = json_string_value(json_object_get(manifest, "mediaType"));
        if (json_integer_value(json_object_get(manifest, "schemaVersion")) != 2 ||
            (mt && !streq(mt, MT_OCI_MANIFEST) && !streq(mt, MT_DOCKER_MANIFEST)))
                return set_error_message(&imp->error, -EBADMSG,
                                         "manifest %s: not an image manifest (schema 2)", mdigest);
        r = descriptor(imp, json_object_get(manifest, "config"), "manifest's config", &cdigest, &csize,
                       NULL);
        if (r < 0)
                return r;
        r = get_json(imp, from_dir, cdigest, csize, "image config", &cfg);
        if (r < 0)
                return r;
        jl = json_object_get(manifest, "layers");
        n = json_array_size(jl);
        if (!json_is_array(jl) || n == 0)
                return set_error_message(&imp->error, -EBADMSG, "manifest %s: no layers", mdigest);
        if (n > IMPORT_LAYERS_MAX)
                return set_error_message(&imp->error, -E2BIG, "manifest %s: %zu layers, at most %u", mdigest,
                                         n, IMPORT_LAYERS_MAX);
        r = check_config(imp, cfg, n);
        if (r < 0)
                return r;

        layers = calloc(n, sizeof(LayerOut *));
        outs = calloc(n, sizeof(LayerOut));
        chains = calloc(n, 72);
        if (!layers || !outs || !chains) {
                r = -ENOMEM;
                goto finish;
        }
        chain_ids(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), chains);
        json_array_foreach (jl, i, d) {
                const char *ldigest, *lmt;
                uint64_t lsize;
                char what[32];

                (void) snprintf(what, sizeof what, "layer %zu", i);
                r = descriptor(imp, d, what, &ldigest, &lsize, &lmt);
                if (r < 0)
                        goto finish;
                if (!layer_media_type_ok(lmt)) {
                        r = set_error_message(&imp->error, -EINVAL,
                                              "layer %zu: media type '%s' is not a layer", i, lmt);
                        goto finish;
                }
                if (from_dir) {
                        char staged[32];

                        /* Already in the store (verified by its diff_id when it came): not read again. */
                        if (layer_committed(imp, chains[i]))
                                continue;
                        (void) snprintf(staged, sizeof staged, "b%zu", i);
                        r = layout_unpack_layer(imp, ldigest, lsize, staged, &outs[i]);
                        if (r < 0)
                                goto finish;
                        layers[i] = &outs[i];
                } else {
                        char path[96];
                        Member *m;

                        (void) snprintf(path, sizeof path, "blobs/sha256/%s", ldigest + 7);
                        m = member_find(imp, path);
                        if (!m) {
                                r = set_error_message(&imp->error, -ENOENT,
                                                      "layer %zu: blob %s is not in the archive", i,
                                                      ldigest);
                                goto finish;
                        }
                        if (!m->is_layer) {
                                r = set_error_message(&imp->error, -EBADMSG, "layer %zu (%s): %s", i,
                                                      ldigest, m->error ?: "not a tar stream");
                                goto finish;
                        }
                        if (!streq(m->digest, ldigest) || m->layer.size != lsize) {
                                r = set_error_message(
                                        &imp->error, -EBADMSG,
                                        "layer %zu (%s): content does not match its descriptor (%s, %" PRIu64
                                        " bytes)",
                                        i, ldigest, m->digest, m->layer.size);
                                goto finish;
                        }
                        layers[i] = &m->layer;
                }
        }
        names = json_array();
        if (!names || (ref && json_array_append_new(names, json_string(ref)) < 0)) {
                r = -ENOMEM;
                goto finish;
        }
        if (!imp->format || !streq(imp->format, "oci-layout"))
                imp->format = member_find(imp, "manifest.json") ? "docker-archive" : "oci-archive";
        r = commit_from(imp, cfg, cdigest, mdigest, names, layers, n);
finish:
        free(layers);
        free(outs);
        free(chains);
        return r;
}

static int resolve_docker(Import *imp) {
        _cleanup_(json_decrefp) json_t *manifest = NULL, *cfg = NULL, *names = NULL;
        Member *mm = member_find(imp, "manifest.json"), *cm;
        json_t *first, *jl, *tags, *d;
        const char *cpath, *base;
        LayerOut **layers = NULL;
        size_t i, n;
        int r;

        if (mm->too_large || !mm->json)
                return set_error_message(&imp->error, -E2BIG,
                                         "manifest.json: not JSON or larger than %u MiB",
                                         IMPORT_JSON_MAX >> 20);
        r = json_parse_checked("manifest.json", mm->json, mm->json_size, &manifest, &imp->error);
        if (r < 0)
                return r;
        first = json_array_get(manifest, 0);
        cpath = json_string_value(json_object_get(first, "Config"));
        jl = json_object_get(first, "Layers");
        if (!json_is_object(first) || !cpath || !json_is_array(jl))
                return set_error_message(&imp->error, -EBADMSG,
                                         "manifest.json: no image with Config and Layers");
        n = json_array_size(jl);
        if (n == 0 || n > IMPORT_LAYERS_MAX)
                return set_error_message(&imp->error, -EBADMSG, "manifest.json: %zu layers (1 to %u)", n,
                                         IMPORT_LAYERS_MAX);
        cm = member_find(imp, cpath);
        if (!cm || !cm->json)
                return set_error_message(&imp->error, -ENOENT,
                                         "manifest.json: its config %s is not in the archive", cpath);
        /* the config's name is its digest: "<hex>.json" or "blobs/sha256/<hex>" */
        base = strrchr(cpath, '/') ? strrchr(cpath, '/') + 1 : cpath;
        if (strspn(base, "0123456789abcdef") == 64 && strncmp(base, cm->digest + 7, 64) != 0)
                return set_error_message(&imp->error, -EBADMSG,
                                         "config %s: content does not match its digest (%s)", cpath,
                                         cm->digest);
        r = json_parse_checked("image config", cm->json, cm->json_size, &cfg, &imp->error);
        if (r < 0)
                return r;
        r = check_config(imp, cfg, n);
        if (r < 0)
                return r;
        layers = calloc(n, sizeof(LayerOut *));
        if (!layers)
                return -ENOMEM;
        json_array_foreach (jl, i, d) {
                Member *m = json_is_string(d) ? member_find(imp, json_string_value(d)) : NULL;

                if (!m) {
                        r = set_error_message(&imp->error, -ENOENT, "layer %zu (%s) is not in the archive",
                                              i, json_is_string(d) ? json_string_value(d) : "?");
                        goto finish;
                }
                if (!m->is_layer) {
                        r = set_error_message(&imp->error, -EBADMSG, "layer %zu (%s): %s", i,
                                              json_string_value(d), m->error ?: "not a tar stream");
                        goto finish;
                }
                layers[i] = &m->layer;
        }
        names = json_array();
        tags = json_object_get(first, "RepoTags");
        if (!names) {
                r = -ENOMEM;
                goto finish;
        }
        json_array_foreach (tags, i, d)
                if (json_is_string(d))
                        (void) json_array_append(names, d);
        imp->format = "docker-archive";
        r = commit_from(imp, cfg, cm->digest, NULL, names, layers, n);
finish:
        free(layers);
        return r;
}

int import_resolve_archive(Import *imp) {
        Member *layout = member_find(imp, "oci-layout"), *index = member_find(imp, "index.json"),
               *docker = member_find(imp, "manifest.json");
        int r;

        if (index && index->too_large)
                return set_error_message(&imp->error, -E2BIG, "index.json: larger than %u MiB",
                                         IMPORT_JSON_MAX >> 20);
        if (layout && index && layout->json && index->json) {
                r = import_resolve_oci(imp, layout->json, layout->json_size, index->json, index->json_size,
                                       false);
                /* Docker 25 wrote "manifests": null at times: its manifest.json still says it all. */
                if (r != -ENOENT || !docker || imp->ref)
                        return r;
                imp->error = mfree(imp->error);
        }
        if (docker)
                return resolve_docker(imp);
        return set_error_message(
                &imp->error, -EBADMSG,
                "not an image archive: it has neither an OCI index.json nor a manifest.json");
}

int import_rootfs_result(Import *imp) {
        _cleanup_(json_decrefp) json_t *cfg = NULL, *names = NULL;
        _cleanup_free_ char *text = NULL;
        LayerOut *l = &imp->rootfs_layer;
        char digest[72];

        cfg = json_pack("{s:s,s:s,s:{},s:{s:s,s:[s]}}", "architecture", imp->arch, "os", "linux", "config",
                        "rootfs", "type", "layers", "diff_ids", l->diff_id);
        names = json_array();
        if (!cfg || !names)
                return -ENOMEM;
        text = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        sha256_string(text, strlen(text), digest);
        /* Whiteouts in a tarball have no lower layer to apply to: commit() drops them. */
        return commit(imp, cfg, digest, NULL, names, (LayerOut *[]){ l }, 1);
}

void import_free(Import *imp) {
        for (size_t i = 0; i < imp->n_members; i++) {
                free(imp->members[i].path);
                free(imp->members[i].alias_of);
                free(imp->members[i].json);
                free(imp->members[i].error);
        }
        free(imp->members);
        free(imp->error);
        free(imp->picked);
        json_decref(imp->result);
}
