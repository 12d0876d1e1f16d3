/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the importer's pieces: import.c (reading), resolve.c (manifests, configs, commit),
 * import-main.c (the helper's confinement). */

#include "image-import.h"

#define IMPORT_MEMBERS_MAX 65536U
#define INDEX_DEPTH_MAX 4U

/* A layer unpacked into the staging area. */
typedef struct LayerOut {
        char digest[72];  /* of the blob as stored (compressed) */
        char diff_id[72]; /* of the uncompressed tar */
        uint64_t size;    /* blob bytes */
        char staged[32];  /* directory under staging/JOB, "" if none */
        LayerStats stats;
} LayerOut;

/* A file of an image archive, in the order the archive gave them. */
typedef struct Member {
        char *path;     /* normalised member name */
        char *alias_of; /* a symlink/hard link member: the member it names */
        char digest[72];
        uint64_t size;
        char *json; /* JSON or small text kept in memory */
        size_t json_size;
        bool too_large;
        bool is_layer; /* unpacked into layer.staged */
        LayerOut layer;
        char *error; /* why it could not be unpacked as a layer */
} Member;

typedef struct Import {
        int store_fd, staging_fd, layout_fd, progress_fd;
        const char *job; /* staging/JOB */
        const char *ref; /* the image to pick in an OCI index (org.opencontainers.image.ref.name) */
        const char *arch;
        ImportBudget budget;
        uint64_t read, total, last_report;

        Member *members;
        size_t n_members, n_alloc;
        LayerOut rootfs_layer;

        const char *format;
        char *picked; /* a manifest digest found in a nested index */
        char *error;
        json_t *result;
} Import;

void import_progress(Import *imp, uint64_t n);
int import_run(Import *imp, int fd);
Member *member_find(Import *imp, const char *path);
int json_parse_checked(const char *what, const char *buf, size_t size, json_t **ret, char **reterr);
const char *host_arch(void);

/* OCI layout directory access (import.c) */
int layout_read_json(Import *imp, const char *digest, uint64_t size, char **ret, size_t *ret_size);
int layout_unpack_layer(Import *imp, const char *digest, uint64_t size, const char *staged, LayerOut *out);

/* resolve.c */
int import_resolve_oci(Import *imp, const char *layout, size_t n_layout, const char *index, size_t n_index,
                       bool from_dir);
int import_resolve_archive(Import *imp);
int import_rootfs_result(Import *imp);
void import_free(Import *imp);
