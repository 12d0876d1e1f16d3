/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image store's records, names and garbage collection (docs/images.md). The importer
 * (images/import-main.c) writes layers; this file writes everything else. */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "dbus-api.h"
#include "image.h"
#include "log.h"
#include "util.h"
#include "workload.h"

static ImageLayer *layers_free(ImageLayer *l, size_t n) {
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].chain_id);
                free(l[i].diff_id);
                free(l[i].digest);
        }
        free(l);
        return NULL;
}

static Image *image_free(Image *img) {
        if (!img)
                return NULL;
        free(img->id);
        free(img->path);
        free(img->manifest);
        free(img->format);
        strv_free(img->names);
        json_decref(img->config);
        layers_free(img->layers, img->n_layers);
        free(img);
        return NULL;
}
DEFINE_CLEANUP_FUNC(Image *, image_free);

char *image_ref_normalize(const char *ref) {
        const char *slash = strrchr(ref, '/');
        char *s;

        if (startswith(ref, "sha256:") || strchr(slash ?: ref, ':'))
                return strdup(ref);
        if (asprintf(&s, "%s:latest", ref) < 0)
                return NULL;
        return s;
}

/* The image directory's own images (busybox): NAME or NAME:latest with IMAGE_DIR/NAME/rootfs. */
bool image_builtin(Manager *m, const char *ref, char **ret_name) {
        _cleanup_free_ char *name = strdup(ref), *p = NULL;
        char *colon;
        struct stat st;

        if (!name)
                return false;
        colon = strchr(name, ':');
        if (colon)
                *colon = 0;
        if (!identifier_is_valid(name) || asprintf(&p, "%s/%s/rootfs", m->config.image_dir, name) < 0)
                return false;
        if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                return false;
        if (ret_name)
                *ret_name = TAKE_PTR(name);
        return true;
}

Image *image_find_id(Manager *m, const char *id) {
        for (Image *i = m->images; i; i = i->next)
                if (streq(i->id, id))
                        return i;
        return NULL;
}

Image *image_find(Manager *m, const char *ref) {
        _cleanup_free_ char *norm = NULL;
        size_t n = strlen(ref);
        Image *found = NULL;

        if (startswith(ref, "sha256:"))
                return image_find_id(m, ref);
        norm = image_ref_normalize(ref);
        if (!norm)
                return NULL;
        for (Image *i = m->images; i; i = i->next)
                if (strv_contains(i->names, norm))
                        return i;
        /* An ID prefix, as `podman images` shows them. */
        if (n < 12 || n > 64 || strspn(ref, "0123456789abcdef") != n)
                return NULL;
        for (Image *i = m->images; i; i = i->next)
                if (strncmp(i->id + 7, ref, n) == 0) {
                        if (found)
                                return NULL; /* ambiguous */
                        found = i;
                }
        return found;
}

char **image_users(Manager *m, const Image *img) {
        char **l = calloc(1, sizeof(char *));

        for (Workload *w = m->workloads; l && w; w = w->next)
                if (streq_ptr(workload_image_id(w), img->id) && strv_extend(&l, w->name) < 0) {
                        strv_free(l);
                        return NULL;
                }
        return l;
}

uint64_t image_bytes(const Image *img) {
        uint64_t b = 0;

        for (size_t i = 0; i < img->n_layers; i++)
                b += img->layers[i].bytes;
        return b;
}

/* ---------------------------------------------------------------- records and the index */

static json_t *image_record_json(const Image *img) {
        json_t *layers = json_array(), *j;

        if (!layers)
                return NULL;
        for (size_t i = 0; i < img->n_layers; i++) {
                const ImageLayer *l = &img->layers[i];
                if (json_array_append_new(layers,
                                          json_pack("{s:s,s:s,s:s?,s:I,s:I,s:I}", "chain_id", l->chain_id,
                                                    "diff_id", l->diff_id, "digest", l->digest, "size",
                                                    (json_int_t) l->size, "bytes", (json_int_t) l->bytes,
                                                    "entries", (json_int_t) l->entries)) < 0) {
                        json_decref(layers);
                        return NULL;
                }
        }
        j = json_pack("{s:i,s:s,s:s?,s:s,s:O,s:o,s:I}", "version", 1, "id", img->id, "manifest",
                      img->manifest, "format", strempty(img->format), "config", img->config, "layers",
                      layers, "imported_usec", (json_int_t) img->imported_usec);
        return j;
}

static int layer_from_json(json_t *o, ImageLayer *l) {
        const char *chain = json_string_value(json_object_get(o, "chain_id"));
        const char *diff = json_string_value(json_object_get(o, "diff_id"));
        const char *digest = json_string_value(json_object_get(o, "digest"));

        if (!digest_is_valid(chain) || !digest_is_valid(diff) || (digest && !digest_is_valid(digest)))
                return -EBADMSG;
        l->chain_id = strdup(chain);
        l->diff_id = strdup(diff);
        l->digest = digest ? strdup(digest) : NULL;
        l->size = (uint64_t) json_integer_value(json_object_get(o, "size"));
        l->bytes = (uint64_t) json_integer_value(json_object_get(o, "bytes"));
        l->entries = (uint64_t) json_integer_value(json_object_get(o, "entries"));
        return l->chain_id && l->diff_id && (!digest || l->digest) ? 0 : -ENOMEM;
}

static int image_alloc(Manager *m, const char *id, Image **ret) {
        _cleanup_(image_freep) Image *img = calloc(1, sizeof(Image));
        int r;

        if (!img)
                return -ENOMEM;
        img->manager = m;
        img->id = strdup(id);
        img->names = calloc(1, sizeof(char *));
        if (!img->id || !img->names)
                return -ENOMEM;
        r = sd_bus_path_encode(ISOD_IMAGE_PREFIX, id + 7, &img->path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(img);
        return 0;
}

/* From a record (images/<hex>.json) or the importer's result (then layers lacking sizes, found in
 * the store already, are completed from STORE/layers/<hex>/layer.json). */
static int image_from_json(Manager *m, json_t *j, Image **ret) {
        _cleanup_(image_freep) Image *img = NULL;
        const char *id = json_string_value(json_object_get(j, "id"));
        json_t *layers = json_object_get(j, "layers"), *cfg = json_object_get(j, "config");
        size_t n = json_array_size(layers);
        int r;

        if (!digest_is_valid(id) || !json_is_object(cfg) || n == 0 || n > 128)
                return -EBADMSG;
        r = image_alloc(m, id, &img);
        if (r < 0)
                return r;
        img->config = json_incref(cfg);
        if (json_is_string(json_object_get(j, "manifest")) &&
            !(img->manifest = strdup(json_string_value(json_object_get(j, "manifest")))))
                return -ENOMEM;
        img->format = strdup(strempty(json_string_value(json_object_get(j, "format"))));
        img->imported_usec = (uint64_t) json_integer_value(json_object_get(j, "imported_usec"));
        img->layers = calloc(n, sizeof(ImageLayer));
        if (!img->format || !img->layers)
                return -ENOMEM;
        img->n_layers = n;
        for (size_t i = 0; i < n; i++) {
                ImageLayer *l = &img->layers[i];
                char rel[96];

                r = layer_from_json(json_array_get(layers, i), l);
                if (r < 0)
                        return r;
                if (l->entries == 0) { /* a layer the store had: its own record */
                        _cleanup_free_ char *text = NULL;
                        json_t *lj;
                        size_t size;

                        (void) snprintf(rel, sizeof rel, "layers/%s/layer.json", l->chain_id + 7);
                        if (read_full_file_at(m->store_fd, rel, 64 * 1024, &text, &size) >= 0 &&
                            (lj = json_loadb(text, size, 0, NULL))) {
                                l->size = (uint64_t) json_integer_value(json_object_get(lj, "size"));
                                l->bytes = (uint64_t) json_integer_value(json_object_get(lj, "bytes"));
                                l->entries = (uint64_t) json_integer_value(json_object_get(lj, "entries"));
                                if (!l->digest && json_is_string(json_object_get(lj, "digest")))
                                        l->digest = strdup(json_string_value(json_object_get(lj, "digest")));
                                json_decref(lj);
                        }
                }
        }
        *ret = TAKE_PTR(img);
        return 0;
}

static int image_save(Manager *m, const Image *img) {
        _cleanup_free_ char *text = NULL;
        json_t *j = image_record_json(img);
        char rel[96];

        if (!j)
                return -ENOMEM;
        text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        _cleanup_close_ int dfd = openat(m->store_fd, "images",
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        /* fsync()ed with its directory: the record is on disk before index.json names it. */
        (void) snprintf(rel, sizeof rel, "%s.json", img->id + 7);
        return write_file_durable_at(dfd, rel, text, strlen(text), 0600);
}

static int index_save(Manager *m) {
        _cleanup_free_ char *text = NULL;
        json_t *names = json_object(), *j;

        if (!names)
                return -ENOMEM;
        for (Image *i = m->images; i; i = i->next)
                for (size_t k = 0; i->names[k]; k++)
                        (void) json_object_set_new(names, i->names[k], json_string(i->id));
        j = json_pack("{s:i,s:o}", "version", 1, "names", names);
        if (!j)
                return -ENOMEM;
        text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_INDENT(1));
        json_decref(j);
        if (!text)
                return -ENOMEM;
        return write_file_durable_at(m->store_fd, "index.json", text, strlen(text), 0600);
}

static int names_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int image_add_name(Image *img, const char *name) {
        size_t n = strv_length(img->names);

        if (strv_contains(img->names, name))
                return 0;
        if (n >= IMAGE_NAMES_MAX)
                return -E2BIG;
        if (strv_extend(&img->names, name) < 0)
                return -ENOMEM;
        qsort(img->names, n + 1, sizeof(char *), names_cmp);
        return 1;
}

static bool image_drop_name(Image *img, const char *name) {
        size_t n = strv_length(img->names);

        for (size_t i = 0; i < n; i++)
                if (streq(img->names[i], name)) {
                        free(img->names[i]);
                        memmove(img->names + i, img->names + i + 1, (n - i) * sizeof(char *));
                        return true;
                }
        return false;
}

static void image_unlink(Manager *m, Image *img) {
        for (Image **p = &m->images; *p; p = &(*p)->next)
                if (*p == img) {
                        *p = img->next;
                        m->n_images--;
                        break;
                }
}

/* ---------------------------------------------------------------- start, GC */

static int store_load_records(Manager *m) {
        _cleanup_free_ char *text = NULL;
        json_t *index = NULL, *names, *v;
        const char *name;
        struct dirent *de;
        size_t size;
        DIR *d;
        int fd, r;

        fd = openat(m->store_fd, "images", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *rec = NULL;
                char id[80];
                size_t len = strlen(de->d_name);
                Image *img;
                json_t *j;

                if (strstr(de->d_name, ".json.tmp.")) { /* a write a crash interrupted */
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (len != 64 + 5 || !endswith(de->d_name, ".json"))
                        continue;
                (void) snprintf(id, sizeof id, "sha256:%.64s", de->d_name);
                if (m->n_images >= IMAGE_STORE_MAX)
                        break;
                r = read_full_file_at(dirfd(d), de->d_name, IMAGE_RECORD_MAX, &rec, &size);
                j = r >= 0 ? json_loadb(rec, size, JSON_REJECT_DUPLICATES, NULL) : NULL;
                r = j ? image_from_json(m, j, &img) : -EBADMSG;
                json_decref(j);
                if (r >= 0 && !streq(img->id, id)) {
                        img = image_free(img);
                        r = -EBADMSG;
                }
                if (r < 0) {
                        /* Its layers are not known now: no layer is collected until it is mended. */
                        log_warning_errno(r,
                                          "Ignoring the invalid image record images/%s (layers are not "
                                          "collected while it is there): %m",
                                          de->d_name);
                        m->store_damaged = true;
                        continue;
                }
                img->next = m->images;
                m->images = img;
                m->n_images++;
        }
        (void) closedir(d);

        r = read_full_file_at(m->store_fd, "index.json", IMAGE_RECORD_MAX, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                index = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        names = json_object_get(index, "names");
        if (!json_is_object(names)) {
                json_decref(index);
                return log_error_errno(-EBADMSG, "The image store's index.json is invalid.");
        }
        json_object_foreach (names, name, v) {
                Image *img = json_is_string(v) ? image_find_id(m, json_string_value(v)) : NULL;

                if (!img || !image_ref_is_valid(name) || startswith(name, "sha256:"))
                        log_warning("Image name '%s' in index.json names no image, dropped.", name);
                else if (image_add_name(img, name) < 0)
                        log_warning("Image name '%s' dropped (too many names).", name);
        }
        json_decref(index);
        return 0;
}

static int on_rm_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning(
                        "Deleting removed layers in the image store failed (%s %d); staging/ is emptied at "
                        "the next start.",
                        si->si_code == CLD_EXITED ? "status" : "signal", si->si_status);
        return 0;
}

/* Deletes STORE/REL... (out of sight in staging/ already) in a child: a layer of thousands of files
 * takes a second or more here, which isod's loop must not wait for. If isod goes meanwhile, the
 * next start empties staging/. */
static void store_rm_async(Manager *m, char **rels) {
        pid_t pid;

        if (!rels || !rels[0])
                return;
        pid = fork();
        if (pid == 0) {
                (void) prctl(PR_SET_NAME, "isod-rm");
                for (size_t i = 0; rels[i]; i++)
                        (void) rm_rf_at(m->store_fd, rels[i]);
                _exit(0);
        }
        if (pid > 0 && sd_event_add_child(m->event, NULL, pid, WEXITED, on_rm_exit, NULL) >= 0)
                return;
        if (pid > 0) { /* cannot watch it: wait for it here */
                (void) waitpid(pid, NULL, 0);
                return;
        }
        for (size_t i = 0; rels[i]; i++)
                (void) rm_rf_at(m->store_fd, rels[i]);
}

/* Moves STORE/layers/<hex> out of sight (into staging/gc-<hex>-N); adds that to *gone. */
static void layer_delete(Manager *m, const char *hex, char ***gone) {
        char from[96], to[128], link[48];

        (void) snprintf(link, sizeof link, "l/%.26s", hex);
        (void) unlinkat(m->store_fd, link, 0);
        (void) snprintf(from, sizeof from, "layers/%s", hex);
        (void) snprintf(to, sizeof to, "staging/gc-%s-%" PRIu64, hex, ++m->next_import_id);
        if (renameat(m->store_fd, from, m->store_fd, to) < 0) {
                log_warning_errno(-errno, "Failed to remove layer %s: %m", hex);
                return;
        }
        if (strv_extend(gone, to) < 0)
                (void) rm_rf_at(m->store_fd, to);
        log_info("Removed layer sha256:%s (no image uses it).", hex);
}

static bool layer_in_use(Manager *m, const char *hex) {
        for (Image *i = m->images; i; i = i->next)
                for (size_t k = 0; k < i->n_layers; k++)
                        if (streq(i->layers[k].chain_id + 7, hex))
                                return true;
        return false;
}

void image_store_gc(Manager *m) {
        _cleanup_strv_free_ char **gone = NULL;
        struct dirent *de;
        bool changed = false;
        DIR *d;
        int fd;

        if (m->store_fd < 0)
                return;
        if (m->n_imports > 0) {
                m->store_gc_pending = true;
                return;
        }
        m->store_gc_pending = false;
        for (Image *i = m->images, *next; i; i = next) {
                _cleanup_strv_free_ char **users = NULL;
                char rel[96];

                next = i->next;
                if (i->names[0])
                        continue;
                users = image_users(m, i);
                if (!users || users[0])
                        continue;
                (void) snprintf(rel, sizeof rel, "images/%s.json", i->id + 7);
                if (unlinkat(m->store_fd, rel, 0) < 0 && errno != ENOENT) {
                        log_warning_errno(-errno, "Failed to remove the record of image %s: %m", i->id);
                        continue;
                }
                log_info("Removed image %s (no name, no workload).", i->id);
                image_unlink(m, i);
                bus_image_removed(m, i);
                image_free(i);
                changed = true;
        }
        (void) changed;
        if (m->store_damaged)
                return;

        fd = openat(m->store_fd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (strlen(de->d_name) == 64 && strspn(de->d_name, "0123456789abcdef") == 64 &&
                    !layer_in_use(m, de->d_name))
                        layer_delete(m, de->d_name, &gone);
        (void) closedir(d);
        store_rm_async(m, gone);
}

int image_store_init(Manager *m) {
        _cleanup_strv_free_ char **gone = NULL;
        struct dirent *de;
        DIR *d;
        int fd, r;

        m->store_fd = mkdir_p_open(m->config.store_dir, 0700);
        if (m->store_fd < 0)
                return log_error_errno(m->store_fd, "Failed to create or open the image store '%s': %m",
                                       m->config.store_dir);
        for (const char *const *p = (const char *const[]){ "images", "layers", "l", "staging", NULL }; *p;
             p++)
                if (mkdirat(m->store_fd, *p, 0700) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Failed to create '%s/%s': %m", m->config.store_dir,
                                               *p);
        /* What a crash left in staging: imports that never committed, layers half deleted. */
        fd = openat(m->store_fd, "staging", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && (d = fdopendir(fd))) {
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                                char rel[300];

                                log_info("Removing staging/%s (an import or removal that did not finish).",
                                         de->d_name);
                                /* Renamed first: a new import may soon use the same job name. */
                                (void) snprintf(rel, sizeof rel, "staging/old-%d-%.200s", (int) getpid(),
                                                de->d_name);
                                if (startswith(de->d_name, "old-") ||
                                    renameat(dirfd(d), de->d_name, m->store_fd, rel) < 0)
                                        (void) snprintf(rel, sizeof rel, "staging/%.250s", de->d_name);
                                if (strv_extend(&gone, rel) < 0)
                                        return log_oom();
                        }
                (void) closedir(d);
        } else if (fd >= 0)
                (void) close(fd);
        store_rm_async(m, gone);
        r = store_load_records(m);
        if (r < 0)
                return r;
        log_debug("Image store %s: %zu images.", m->config.store_dir, m->n_images);
        return 0;
}

/* ---------------------------------------------------------------- imports */

struct ImageImport {
        Manager *manager;
        ImageImport *next;
        char job[48];
        pid_t pid;
        sd_event_source *child_src, *out_src;
        int out_fd;
        char *buf;
        size_t n_buf;
        bool overflow;
        sd_bus_message *msg;
        char *name; /* normalized, or NULL */
        json_t *result;
        char *error;
        siginfo_t status;
        bool exited, eof;
};

#define IMPORT_LINE_MAX (16U << 20)

static ImageImport *import_free(ImageImport *imp) {
        if (!imp)
                return NULL;
        if (imp->child_src) {
                (void) sd_event_source_send_child_signal(imp->child_src, SIGKILL, NULL, 0);
                sd_event_source_disable_unref(imp->child_src);
        }
        sd_event_source_disable_unref(imp->out_src);
        safe_close(imp->out_fd);
        free(imp->buf);
        sd_bus_message_unref(imp->msg);
        free(imp->name);
        json_decref(imp->result);
        free(imp->error);
        free(imp);
        return NULL;
}

void image_store_done(Manager *m) {
        while (m->imports) {
                ImageImport *i = m->imports;
                m->imports = i->next;
                import_free(i);
        }
        while (m->images) {
                Image *i = m->images;
                m->images = i->next;
                image_free(i);
        }
        m->store_fd = safe_close(m->store_fd);
}

static void import_progress(ImageImport *imp, json_t *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        sd_bus *bus = sd_bus_message_get_bus(imp->msg);
        const char *sender = sd_bus_message_get_sender(imp->msg);

        /* To the caller only: a unicast signal (on a direct connection, the only peer). */
        if (sd_bus_message_new_signal(bus, &sig, ISOD_MANAGER_PATH, ISOD_MANAGER_IFACE, "ImportProgress") <
                    0 ||
            (sender && sd_bus_message_set_destination(sig, sender) < 0) ||
            sd_bus_message_append(sig, "stt", imp->job,
                                  (uint64_t) json_integer_value(json_object_get(p, "read")),
                                  (uint64_t) json_integer_value(json_object_get(p, "total"))) < 0)
                return;
        (void) sd_bus_send(bus, sig, NULL);
}

static void import_line(ImageImport *imp, const char *line, size_t n) {
        json_t *j = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL), *v;

        if (!j)
                return;
        if ((v = json_object_get(j, "progress")))
                import_progress(imp, v);
        else if ((v = json_object_get(j, "result")) && json_is_object(v) && !imp->result)
                imp->result = json_incref(v);
        else if ((v = json_object_get(j, "error")) && json_is_string(v) && !imp->error)
                imp->error = strdup(json_string_value(v));
        json_decref(j);
}

static void import_finish(ImageImport *imp);

static int on_import_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ImageImport *imp = userdata;
        char buf[65536];

        for (;;) {
                ssize_t k = read(fd, buf, sizeof buf);
                char *nl;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return 0;
                if (k <= 0) {
                        imp->eof = true;
                        imp->out_src = sd_event_source_disable_unref(imp->out_src);
                        if (imp->exited)
                                import_finish(imp);
                        return 0;
                }
                if (imp->overflow || imp->n_buf + (size_t) k > IMPORT_LINE_MAX) {
                        imp->overflow = true; /* an importer gone wrong: ignore the rest */
                        continue;
                }
                char *nb = realloc(imp->buf, imp->n_buf + (size_t) k + 1);
                if (!nb) {
                        imp->overflow = true;
                        continue;
                }
                imp->buf = nb;
                memcpy(imp->buf + imp->n_buf, buf, (size_t) k);
                imp->n_buf += (size_t) k;
                while ((nl = memchr(imp->buf, '\n', imp->n_buf))) {
                        size_t len = (size_t) (nl - imp->buf);

                        import_line(imp, imp->buf, len);
                        memmove(imp->buf, nl + 1, imp->n_buf - len - 1);
                        imp->n_buf -= len + 1;
                }
        }
}

static int on_import_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        ImageImport *imp = userdata;

        imp->child_src = sd_event_source_disable_unref(imp->child_src);
        imp->status = *si;
        imp->exited = true;
        if (imp->eof || !imp->out_src)
                import_finish(imp);
        return 0;
}

static int import_commit(ImageImport *imp, Image **ret, char **reterr) {
        Manager *m = imp->manager;
        _cleanup_(image_freep) Image *fresh = NULL;
        _cleanup_strv_free_ char **names = NULL;
        json_t *rnames = json_object_get(imp->result, "names"), *v;
        Image *img;
        size_t i;
        int r;

        r = image_from_json(m, imp->result, &fresh);
        if (r < 0)
                return set_error_message(reterr, r, "The importer's result is invalid: %s", strerror(-r));
        for (size_t k = 0; k < fresh->n_layers; k++) {
                char rel[96];
                struct stat st;

                (void) snprintf(rel, sizeof rel, "layers/%s/diff", fresh->layers[k].chain_id + 7);
                if (fstatat(m->store_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        return set_error_message(reterr, -EIO, "Layer %s is missing from the store.",
                                                 fresh->layers[k].chain_id);
        }
        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        if (imp->name) {
                if (strv_extend(&names, imp->name) < 0)
                        return -ENOMEM;
        } else
                json_array_foreach (rnames, i, v) {
                        _cleanup_free_ char *n = NULL;
                        const char *s = json_string_value(v);

                        if (!s || !image_ref_is_valid(s) || startswith(s, "sha256:") ||
                            image_builtin(m, s, NULL)) {
                                log_warning("Import %s: ignoring the archive's image name '%s'.", imp->job,
                                            strna(s));
                                continue;
                        }
                        n = image_ref_normalize(s);
                        if (!n || strv_extend(&names, n) < 0)
                                return -ENOMEM;
                }

        img = image_find_id(m, fresh->id);
        /* An image nobody can name would be collected at once: say so instead. */
        if (!names[0] && (!img || !img->names[0]))
                return set_error_message(reterr, -EINVAL,
                                         "The archive names no image: import it with a name (--name).");
        /* Check before anything moves: a failure must leave every image's names as they were. */
        {
                size_t have = img ? strv_length(img->names) : 0, add = 0;
                for (size_t k = 0; names[k]; k++)
                        add += !img || !strv_contains(img->names, names[k]);
                if (have + add > IMAGE_NAMES_MAX)
                        return set_error_message(reterr, -E2BIG, "Image %s would have more than %u names.",
                                                 fresh->id, IMAGE_NAMES_MAX);
        }
        if (!img) {
                if (m->n_images >= IMAGE_STORE_MAX)
                        return set_error_message(reterr, -EUSERS, "The store holds %u images already.",
                                                 IMAGE_STORE_MAX);
                fresh->imported_usec = now_usec(CLOCK_REALTIME);
                r = image_save(m, fresh);
                if (r < 0)
                        return set_error_message(reterr, r, "Failed to write the image's record: %s",
                                                 strerror(-r));
                img = TAKE_PTR(fresh);
                img->next = m->images;
                m->images = img;
                m->n_images++;
                bus_image_new(m, img);
                log_info("Imported image %s (%s, %zu layers).", img->id, img->format, img->n_layers);
        }
        for (size_t k = 0; names[k]; k++) {
                for (Image *o = m->images; o; o = o->next)
                        if (o != img && image_drop_name(o, names[k])) {
                                log_info("Image name '%s' moves from %s to %s.", names[k], o->id, img->id);
                                bus_image_changed(m, o);
                        }
                r = image_add_name(img, names[k]);
                if (r < 0)
                        return set_error_message(reterr, r, "Image %s has too many names.", img->id);
                if (r > 0)
                        bus_image_changed(m, img);
        }
        r = index_save(m);
        if (r < 0)
                return set_error_message(reterr, r, "Failed to write the image index: %s", strerror(-r));
        *ret = img;
        return 0;
}

static void import_finish(ImageImport *imp) {
        Manager *m = imp->manager;
        _cleanup_free_ char *err = NULL;
        char rel[96];
        Image *img = NULL;
        int r;

        for (ImageImport **p = &m->imports; *p; p = &(*p)->next)
                if (*p == imp) {
                        *p = imp->next;
                        m->n_imports--;
                        break;
                }
        if (imp->n_buf > 0 && !imp->overflow) /* a last line without its newline */
                import_line(imp, imp->buf, imp->n_buf);
        /* Whatever a killed importer left (a partial layer can be large). */
        (void) snprintf(rel, sizeof rel, "staging/%s", imp->job);
        if (faccessat(m->store_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                store_rm_async(m, (char *[]){ rel, NULL });

        if (imp->status.si_code == CLD_EXITED && imp->status.si_status == 0 && imp->result)
                r = import_commit(imp, &img, &err);
        else {
                if (imp->error)
                        r = set_error_message(&err, -EBADMSG, "%s", imp->error);
                else if (imp->status.si_code == CLD_EXITED)
                        r = set_error_message(&err, -EIO, "The importer failed (exit status %d).",
                                              imp->status.si_status);
                else
                        r = set_error_message(&err, -EIO, "The importer was killed by signal %s.",
                                              strna(signal_to_name(imp->status.si_status)));
        }
        if (r < 0) {
                log_warning("Import %s failed: %s", imp->job, strna(err));
                (void) sd_bus_reply_method_errorf(imp->msg,
                                                  r == -EUSERS ? ISOD_ERROR_LIMIT : ISOD_ERROR_INVALID_IMAGE,
                                                  "%s", strna(err));
        } else
                (void) sd_bus_reply_method_return(imp->msg, "o", img->path);
        import_free(imp);
        if (m->n_imports == 0)
                image_store_gc(m); /* orphans of a failed import; names that moved */
}

static bool job_ok(const char *s) {
        return s && strlen(s) < 40 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

int image_import_start(Manager *m, int fd, const ImageImportOptions *o, sd_bus_message *msg, char **reterr) {
        _cleanup_close_ int in_fd = fd;
        ImageImport *imp;
        char store[4200], jobarg[64], bytes[48], entries[48], refarg[300];
        const char *argv[10];
        size_t n = 0;
        int pipefd[2];
        pid_t pid;
        int r;

        if (m->n_imports >= IMAGE_IMPORTS_MAX)
                return set_error_message(reterr, -EUSERS, "%u imports run already; try again later.",
                                         IMAGE_IMPORTS_MAX);
        imp = calloc(1, sizeof(ImageImport));
        if (!imp)
                return -ENOMEM;
        imp->manager = m;
        imp->out_fd = -EBADF;
        imp->msg = sd_bus_message_ref(msg);
        if (o->name && !(imp->name = image_ref_normalize(o->name))) {
                import_free(imp);
                return -ENOMEM;
        }
        (void) snprintf(imp->job, sizeof imp->job, "job-%" PRIu64 "-%08x", ++m->next_import_id,
                        (unsigned) (now_usec(CLOCK_MONOTONIC) & 0xffffffffU));
        assert(job_ok(imp->job));

        if (snprintf(store, sizeof store, "--store=%s", m->config.store_dir) >= (int) sizeof store) {
                import_free(imp);
                return -ENAMETOOLONG;
        }
        (void) snprintf(jobarg, sizeof jobarg, "--job=%s", imp->job);
        (void) snprintf(bytes, sizeof bytes, "--max-bytes=%" PRIu64, o->max_bytes);
        (void) snprintf(entries, sizeof entries, "--max-entries=%" PRIu64, o->max_entries);
        argv[n++] = "isod-image-import";
        argv[n++] = store;
        argv[n++] = jobarg;
        argv[n++] = bytes;
        argv[n++] = entries;
        if (o->ref) {
                (void) snprintf(refarg, sizeof refarg, "--ref=%s", o->ref);
                argv[n++] = refarg;
        }
        argv[n] = NULL;

        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                import_free(imp);
                return -errno;
        }
        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void) close(pipefd[0]);
                (void) close(pipefd[1]);
                import_free(imp);
                return r;
        }
        if (pid == 0) {
                sigset_t none;
                int null_fd;

                for (int sig = 1; sig < _NSIG; sig++)
                        if (sig != SIGKILL && sig != SIGSTOP)
                                (void) signal(sig, SIG_DFL);
                (void) sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                /* fd 0: the caller's archive; 1: nothing; 2: isod's (its log); 3: the result. */
                if (null_fd < 0 || dup2(in_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(pipefd[1], 3) < 0)
                        _exit(126);
                (void) close_all_fds_except((const int[]){ 0, 1, 2, 3 }, 4);
                execv(m->config.import_path, (char *const *) argv);
                fprintf(stderr, "isod: cannot execute %s: %m\n", m->config.import_path);
                _exit(127);
        }
        (void) close(pipefd[1]);
        imp->pid = pid;
        imp->out_fd = pipefd[0];
        (void) fd_set_nonblock(imp->out_fd, true);
        r = sd_event_add_child(m->event, &imp->child_src, pid, WEXITED, on_import_exit, imp);
        if (r >= 0)
                r = sd_event_add_io(m->event, &imp->out_src, imp->out_fd, EPOLLIN, on_import_output, imp);
        if (r < 0) {
                if (!imp->child_src) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                }
                import_free(imp);
                return r;
        }
        imp->next = m->imports;
        m->imports = imp;
        m->n_imports++;
        log_info("Import %s started (importer PID %d%s%s).", imp->job, (int) pid, imp->name ? ", as " : "",
                 strempty(imp->name));
        return 0;
}

int image_remove(Manager *m, const char *ref, char **reterr) {
        _cleanup_free_ char *norm = NULL;
        _cleanup_strv_free_ char **users = NULL;
        Image *img = image_find(m, ref);
        bool by_name;
        int r;

        if (!img)
                return set_error_message(reterr, -ENXIO, "No image '%s'.", ref);
        norm = image_ref_normalize(ref);
        if (!norm)
                return -ENOMEM;
        by_name = strv_contains(img->names, norm);
        users = image_users(m, img);
        if (!users)
                return -ENOMEM;
        /* Untagging one of several names leaves the image: allowed while it is in use. */
        if (users[0] && (!by_name || strv_length(img->names) <= 1)) {
                _cleanup_free_ char *list = strv_join(users, ", ");
                return set_error_message(reterr, -EBUSY, "Image '%s' is in use by workload%s %s.", ref,
                                         users[1] ? "s" : "", strna(list));
        }
        if (by_name)
                (void) image_drop_name(img, norm);
        else
                while (img->names[0])
                        (void) image_drop_name(img, img->names[0]);
        r = index_save(m);
        if (r < 0)
                return set_error_message(reterr, r, "Failed to write the image index: %s", strerror(-r));
        log_info("Image '%s' removed%s.", ref, img->names[0] ? " (untagged; other names remain)" : "");
        if (img->names[0])
                bus_image_changed(m, img);
        image_store_gc(m);
        return 0;
}

json_t *image_monitor_json(Manager *m, const Image *img) {
        json_t *layers = json_array(), *j;
        uint64_t entries = 0;
        char path[4200];

        if (!layers)
                return NULL;
        for (size_t i = img->n_layers; i-- > 0;) {
                (void) snprintf(path, sizeof path, "%s/l/%.26s", m->config.store_dir,
                                img->layers[i].chain_id + 7);
                entries += img->layers[i].entries;
                if (json_array_append_new(layers, json_string(path)) < 0) {
                        json_decref(layers);
                        return NULL;
                }
        }
        j = json_pack("{s:s,s:o,s:s,s:I,s:I}", "id", img->id, "layers", layers, "key",
                      img->layers[img->n_layers - 1].chain_id + 7, "bytes", (json_int_t) image_bytes(img),
                      "entries", (json_int_t) entries);
        return j;
}
