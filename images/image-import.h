/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The image importer (isod-image-import, a helper isod runs per import): reads an untrusted
 * archive, unpacks each layer into the store's staging area with every path resolved inside the
 * layer (layer.c), verifies digests and diff_ids (import.c), and commits the layers by rename.
 * It never writes the store's index: isod does, from the result the helper prints. */

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <dirent.h>
#include <stdint.h>

#include "import-limits.h"
#include "macro.h"

#define IMPORT_JSON_MAX (4U << 20) /* manifests, configs, indexes */
#define IMPORT_LAYERS_MAX 128U     /* overlay lowers; containers-storage allows 500 */
#define IMPORT_DEPTH_MAX 128U      /* path components of an entry */
#define IMPORT_XATTRS_MAX 64U      /* per entry */

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* What may still be written: shared by every layer of one import. */
typedef struct ImportBudget {
        uint64_t bytes_left;
        uint64_t entries_left;
} ImportBudget;

/* What one layer held and what was done to it. */
typedef struct LayerStats {
        uint64_t entries;
        uint64_t bytes;     /* regular file data (logical sizes) */
        uint64_t whiteouts; /* .wh. entries turned into overlay whiteouts */
        uint64_t opaques;   /* .wh..wh..opq markers */
        uint64_t dropped_devices, dropped_xattrs, dropped_sockets, absolute_names;
} LayerStats;

/* The running SHA-256 of a stream, with its length. */
typedef struct Hash {
        struct sha256_ctx ctx;
        uint64_t size;
} Hash;
void hash_init(Hash *h);
void hash_feed(Hash *h, const void *p, size_t n);
/* "sha256:<64 hex>" */
void hash_final(Hash *h, char ret[static 72]);
void sha256_string(const void *p, size_t n, char ret[static 72]);

/* Unpacks the tar stream `a` (format tar only, already opened) into the directory root_fd, which
 * must be empty. On failure returns -errno and a malloc'd message naming the entry. */
int layer_unpack(struct archive *a, int root_fd, ImportBudget *budget, LayerStats *st, char **reterr);
/* The same for one entry already read by the caller (the rootfs-tarball case replays entries that
 * were read before the format was known); finish with layer_unpack_finish(). */
typedef struct LayerWriter LayerWriter;
LayerWriter *layer_writer_new(int root_fd, ImportBudget *budget, LayerStats *st);
int layer_writer_entry(LayerWriter *w, struct archive *a, struct archive_entry *e, char **reterr);
int layer_writer_finish(LayerWriter *w, char **reterr);
LayerWriter *layer_writer_free(LayerWriter *w);
DEFINE_CLEANUP_FUNC(LayerWriter *, layer_writer_free);
/* Drops overlay whiteouts and opaque markers from a layer with nothing below it. */
int layer_drop_markers(int root_fd);
/* Copies a committed or staged layer tree by hard links (a blob used twice in one image). */
int layer_clone(int src_fd, int dst_fd);
