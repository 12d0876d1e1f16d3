/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "backend.h"

extern const struct backend_ops container_backend_ops;
extern const struct backend_ops vm_backend_ops;

static const char *const backend_kind_table[_BACKEND_KIND_MAX] = {
        [BACKEND_CONTAINER] = "container",
        [BACKEND_VM] = "vm",
};

const char *backend_kind_to_string(BackendKind k) {
        return k >= 0 && k < _BACKEND_KIND_MAX ? backend_kind_table[k] : NULL;
}

BackendKind backend_kind_from_string(const char *s) {
        for (int i = 0; s && i < _BACKEND_KIND_MAX; i++)
                if (streq(s, backend_kind_table[i]))
                        return (BackendKind) i;
        return _BACKEND_KIND_INVALID;
}

const struct backend_ops *backend_get(BackendKind k) {
        const struct backend_ops *ops;

        switch (k) {
        case BACKEND_CONTAINER:
                ops = &container_backend_ops;
                break;
        case BACKEND_VM:
                ops = &vm_backend_ops;
                break;
        default:
                return NULL;
        }
        assert(ops->name && ops->probe && ops->validate && ops->start && ops->stop && ops->kill &&
               ops->exec && ops->stats && ops->destroy);
        return ops;
}
