/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "manager.h"

/* The image store (docs/images.md). The layers are written by the confined importer
 * (isod-image-import, images/); isod owns everything else in STORE:
 *
 *   images/<hex>.json   one record per image (ID = its config's digest): config, layers
 *   index.json          names ("NAME:TAG") → IDs, replaced atomically after the records
 *   layers/<hex>/diff   one read-only tree per layer, keyed by ChainID, shared by images
 *   l/<26 hex>          short names of the layers' trees (overlay lowerdir)
 *   staging/            the importers' work; emptied at start
 *
 * A record without a name and without a workload using it, and a layer no record lists, are
 * removed (image_store_gc()), never while an import runs: its layers are committed before isod
 * writes its record. */

#define ISOD_IMAGE_PREFIX "/org/isod1/image"
#define IMAGE_STORE_MAX 1024U
#define IMAGE_NAMES_MAX 64U /* per image */
#define IMAGE_IMPORTS_MAX 4U
#define IMAGE_RECORD_MAX (8U << 20)

typedef struct ImageLayer {
        char *chain_id, *diff_id, *digest;
        uint64_t size;    /* compressed, as in the archive */
        uint64_t bytes;   /* file data unpacked */
        uint64_t entries; /* files, directories, links */
} ImageLayer;

typedef struct Image {
        Manager *manager;
        struct Image *next;
        char *id;   /* "sha256:<hex>", its config's digest */
        char *path; /* /org/isod1/image/<hex> */
        char *manifest;
        char *format;
        char **names; /* "NAME:TAG", sorted */
        json_t *config;
        ImageLayer *layers; /* bottom first, as in the image */
        size_t n_layers;
        uint64_t imported_usec;
} Image;

typedef struct ImageImport ImageImport;

int image_store_init(Manager *m);
void image_store_done(Manager *m);
/* Records without names and users, then layers without records; deferred while imports run. */
void image_store_gc(Manager *m);

/* By "NAME:TAG", "NAME" (= NAME:latest), the ID, or a unique prefix of ≥ 12 hex digits. */
Image *image_find(Manager *m, const char *ref);
Image *image_find_id(Manager *m, const char *id);
/* Names of the workloads that use img (strv). */
char **image_users(Manager *m, const Image *img);
uint64_t image_bytes(const Image *img);
/* The image directory's own (busybox): NAME[:TAG] with IMAGE_DIR/NAME/rootfs; NAME in ret_name. */
bool image_builtin(Manager *m, const char *ref, char **ret_name);
/* "NAME" → "NAME:latest"; NULL on OOM. */
char *image_ref_normalize(const char *ref);

/* Before the policy: resolves s->image in the store (sets s->image to NAME:TAG and s->image_id)
 * and applies the image's config as the spec's defaults (Docker's rules: the spec's args replace
 * Cmd, process.entrypoint replaces Entrypoint and drops Cmd; Env merged by name; WorkingDir; User,
 * names resolved in the image's /etc/passwd and /etc/group; Labels merged, the spec's win). A
 * built-in image has no config. Fails if the image is unknown (-ENXIO) or no command results
 * (-EINVAL), with a message. */
int image_apply(Manager *m, WorkloadSpec *s, char **reterr);
/* What the monitor needs (workload.json "image"): the ID, the layers' trees top first, the cache
 * key of the merged tree (the top layer's ChainID) and its size. */
json_t *image_monitor_json(Manager *m, const Image *img);

typedef struct ImageImportOptions {
        const char *name; /* NULL: the archive's own names, if any */
        const char *ref;  /* which image of a multi-image archive */
        uint64_t max_bytes, max_entries;
} ImageImportOptions;

/* Runs the importer on fd (taken over) for the caller of msg, replying when it ends (with the
 * image's object path) and sending it ImportProgress signals meanwhile. */
int image_import_start(Manager *m, int fd, const ImageImportOptions *o, sd_bus_message *msg, char **reterr);
/* A name: untagged (the image goes once it has no name and no user). An ID: every name. -EBUSY
 * with the users named if the image would go while workloads use it; -ENXIO if unknown. */
int image_remove(Manager *m, const char *ref, char **reterr);

/* dbus-api/image-dbus.c */
extern const sd_bus_vtable image_vtable[];
int bus_image_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);
int bus_image_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
void bus_image_new(Manager *m, Image *img);
void bus_image_removed(Manager *m, Image *img);
void bus_image_changed(Manager *m, Image *img);
/* Its Workloads property changed (a workload using it came or went). */
void bus_image_users_changed(Manager *m, const char *id);
int bus_method_import_image(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_remove_image(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_list_images(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_method_get_image(sd_bus_message *msg, void *userdata, sd_bus_error *error);
