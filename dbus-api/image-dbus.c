/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "dbus-api.h"
#include "polkit.h"
#include "image.h"
#include "import-limits.h"
#include "log.h"
#include "util.h"

/* org.isod1.Image objects at /org/isod1/image/<hex of the ID>, and the Manager's image methods
 * (docs/dbus-api.md#images). Importing and removing change what every user may run: root only
 * (like networks); reading is for every caller the bus lets talk to isod. */

#define ISOD_IMAGE_IFACE "org.isod1.Image"

int bus_image_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        _cleanup_free_ char *hex = NULL, *id = NULL;
        Manager *m = ASSERT_PTR(userdata);
        Image *img;
        int r;

        r = sd_bus_path_decode(path, ISOD_IMAGE_PREFIX, &hex);
        if (r <= 0)
                return 0;
        if (asprintf(&id, "sha256:%s", hex) < 0)
                return -ENOMEM;
        img = image_find_id(m, id);
        if (!img)
                return 0;
        *found = img;
        return 1;
}

int bus_image_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = ASSERT_PTR(userdata);

        for (Image *i = m->images; i; i = i->next)
                if (strv_extend(&l, i->path) < 0)
                        return -ENOMEM;
        *nodes = TAKE_PTR(l);
        return 1;
}

void bus_image_new(Manager *m, Image *img) {
        if (m->bus)
                (void) sd_bus_emit_object_added(m->bus, img->path);
}

void bus_image_removed(Manager *m, Image *img) {
        if (m->bus)
                (void) sd_bus_emit_object_removed(m->bus, img->path);
}

void bus_image_changed(Manager *m, Image *img) {
        if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, img->path, ISOD_IMAGE_IFACE, "Names", NULL);
}

void bus_image_users_changed(Manager *m, const char *id) {
        Image *img = id ? image_find_id(m, id) : NULL;

        if (m->bus && img)
                (void) sd_bus_emit_properties_changed(m->bus, img->path, ISOD_IMAGE_IFACE, "Workloads",
                                                      NULL);
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *img = ASSERT_PTR(userdata);
        int r;

        if (streq(property, "Id"))
                return sd_bus_message_append(reply, "s", img->id);
        if (streq(property, "Names"))
                return sd_bus_message_append_strv(reply, img->names);
        if (streq(property, "Digest"))
                return sd_bus_message_append(reply, "s", strempty(img->manifest));
        if (streq(property, "Format"))
                return sd_bus_message_append(reply, "s", strempty(img->format));
        if (streq(property, "Size"))
                return sd_bus_message_append(reply, "t", image_bytes(img));
        if (streq(property, "Imported"))
                return sd_bus_message_append(reply, "t", img->imported_usec);
        if (streq(property, "Architecture"))
                return sd_bus_message_append(
                        reply, "s",
                        strempty(json_string_value(json_object_get(img->config, "architecture"))));
        if (streq(property, "Config")) {
                _cleanup_free_ char *t = json_dumps(img->config, JSON_COMPACT | JSON_SORT_KEYS);
                if (!t)
                        return -ENOMEM;
                return sd_bus_message_append(reply, "s", t);
        }
        if (streq(property, "Layers")) {
                r = sd_bus_message_open_container(reply, 'a', "(ssstt)");
                for (size_t i = 0; r >= 0 && i < img->n_layers; i++) {
                        const ImageLayer *l = &img->layers[i];
                        r = sd_bus_message_append(reply, "(ssstt)", l->chain_id, l->diff_id,
                                                  strempty(l->digest), l->size, l->bytes);
                }
                return r < 0 ? r : sd_bus_message_close_container(reply);
        }
        if (streq(property, "Workloads")) {
                _cleanup_strv_free_ char **l = image_users(img->manager, img);
                if (!l)
                        return -ENOMEM;
                return sd_bus_message_append_strv(reply, l);
        }
        return -ENOENT;
}

const sd_bus_vtable image_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Names", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Digest", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Format", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Architecture", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Size", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Imported", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Layers", "a(ssstt)", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Config", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Workloads", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_VTABLE_END
};

/* --- Manager methods --- */

static bool image_name_for_import(Manager *m, const char *name, sd_bus_error *error, int *ret) {
        if (!image_ref_is_valid(name) || startswith(name, "sha256:")) {
                *ret = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid image name '%s': use NAME[:TAG], NAME components "
                                         "[A-Za-z0-9][A-Za-z0-9._-]* separated by '/'.",
                                         name);
                return false;
        }
        if (image_builtin(m, name, NULL)) {
                *ret = sd_bus_error_setf(error, ISOD_ERROR_EXISTS,
                                         "'%s' is a built-in image's name; import under another name.",
                                         name);
                return false;
        }
        return true;
}

int bus_method_import_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        ImageImportOptions o = { .max_bytes = IMPORT_DEFAULT_MAX_BYTES,
                                 .max_entries = IMPORT_DEFAULT_MAX_ENTRIES };
        _cleanup_free_ char *err = NULL;
        _cleanup_close_ int fd = -EBADF;
        Manager *m = ASSERT_PTR(userdata);
        struct stat st;
        int in_fd, r;

        r = bus_require_root(msg, "import images", POLKIT_ACTION_IMAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(msg, "h", &in_fd);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "name")) {
                        r = sd_bus_message_read(msg, "v", "s", &o.name);
                        if (r >= 0 && !image_name_for_import(m, o.name, error, &r))
                                return r;
                } else if (streq(key, "ref")) {
                        r = sd_bus_message_read(msg, "v", "s", &o.ref);
                        if (r >= 0 && !image_ref_is_valid(o.ref))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid image reference '%s'.", o.ref);
                } else if (streq(key, "max_bytes")) {
                        r = sd_bus_message_read(msg, "v", "t", &o.max_bytes);
                        if (r >= 0 && (o.max_bytes == 0 || o.max_bytes > IMPORT_DEFAULT_MAX_BYTES))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "max_bytes must be from 1 to %llu.",
                                                         (unsigned long long) IMPORT_DEFAULT_MAX_BYTES);
                } else if (streq(key, "max_entries")) {
                        r = sd_bus_message_read(msg, "v", "t", &o.max_entries);
                        if (r >= 0 && (o.max_entries == 0 || o.max_entries > IMPORT_DEFAULT_MAX_ENTRIES))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "max_entries must be from 1 to %u.",
                                                         IMPORT_DEFAULT_MAX_ENTRIES);
                } else
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS,
                                "Unknown import option '%s' (known: name, ref, max_bytes, max_entries).",
                                key);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Import option '%s' has the wrong type.", key);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        /* A file, a directory (an OCI layout), or a stream; never a device. */
        if (fstat(in_fd, &st) < 0)
                return sd_bus_error_set_errnof(error, errno, "Cannot look at the archive: %m");
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The archive must be a file, a directory or a pipe.");
        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        r = image_import_start(m, TAKE_FD(fd), &o, msg, &err);
        if (r < 0)
                return bus_map_errno(error, r, NULL, err);
        return 1; /* answered when the importer ends */
}

int bus_method_remove_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *err = NULL;
        Manager *m = ASSERT_PTR(userdata);
        const char *ref;
        int r;

        r = bus_require_root(msg, "remove images", POLKIT_ACTION_IMAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(msg, "s", &ref);
        if (r < 0)
                return r;
        if (!image_ref_is_valid(ref) && strspn(ref, "0123456789abcdef") != strlen(ref))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid image name '%s'.", ref);
        if (image_builtin(m, ref, NULL) && !image_find(m, ref))
                return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE,
                                         "'%s' is built in: it cannot be removed.", ref);
        r = image_remove(m, ref, &err);
        if (r < 0)
                return bus_map_errno(error, r, ref, err);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_method_list_images(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sastuo)");
        if (r < 0)
                return r;
        for (Image *i = m->images; i; i = i->next) {
                r = sd_bus_message_open_container(reply, 'r', "sastuo");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", i->id);
                if (r >= 0)
                        r = sd_bus_message_append_strv(reply, i->names);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "tuo", image_bytes(i), (uint32_t) i->n_layers,
                                                  i->path);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_method_get_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *ref;
        Image *img;
        int r;

        r = sd_bus_message_read(msg, "s", &ref);
        if (r < 0)
                return r;
        img = strlen(ref) <= IMAGE_REF_MAX ? image_find(m, ref) : NULL;
        if (!img)
                return sd_bus_error_setf(error, ISOD_ERROR_NOT_FOUND, "No image '%s'.", ref);
        return sd_bus_reply_method_return(msg, "o", img->path);
}
