/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>

#include "macro.h"

/* An OCI bundle's config.json (runtime-spec 1.x) → an isod workload spec (docs/oci.md). Every key
 * is mapped, accepted because isod does it anyway (the standard mounts, the default masked paths),
 * accepted with a warning where isod is stricter or places the workload itself (noNewPrivileges
 * false, cgroupsPath, /sys/fs/cgroup), or refused with a message naming the key. Nothing is
 * dropped silently. */

#define OCI_CONFIG_MAX (4U << 20)
#define OCI_ANNOTATION_ISOLATION "org.isod1.isolation"

typedef struct OciTranslation {
        json_t *spec;    /* isod's spec (JSON); its "seccomp" is for the caller to set */
        json_t *seccomp; /* linux.seccomp as given (isod's profile format is the same), or NULL */
        char **warnings; /* strv, may be NULL */
        bool caps_given;
        /* A CRI pod's container (annotations io.kubernetes.cri.container-type=container and
         * …sandbox-id): the sandbox's ID, which the spec's "pod" names, and the PID whose
         * /proc/PID/ns/… the bundle joins (the sandbox's, as the caller knows it; 0 if none). */
        char *pod;
        int pod_pid;
} OciTranslation;

void oci_translation_done(OciTranslation *t);

/* bundle: the bundle directory, absolute; id: the container ID (the workload's name is derived by
 * the caller). -EINVAL with a message naming the key (and for most, what to do instead). */
int oci_config_translate(json_t *config, const char *bundle, OciTranslation *ret, char **reterr);
/* The same from the text of config.json (duplicate keys refused). */
int oci_config_translate_text(const char *text, size_t size, const char *bundle, OciTranslation *ret,
                              char **reterr);
/* An exec's process object (runc exec --process): the spec's "process" (and "capabilities"). */
int oci_process_translate(json_t *process, OciTranslation *ret, char **reterr);
