/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#define ISOD_ERROR_NOT_FOUND "org.isod1.Error.NotFound"
#define ISOD_ERROR_EXISTS "org.isod1.Error.Exists"
#define ISOD_ERROR_INVALID_SPEC "org.isod1.Error.InvalidSpec"
#define ISOD_ERROR_POLICY_DENIED "org.isod1.Error.PolicyDenied"
#define ISOD_ERROR_ACCESS_DENIED "org.isod1.Error.AccessDenied"
#define ISOD_ERROR_BAD_STATE "org.isod1.Error.BadState"
#define ISOD_ERROR_BACKEND_UNAVAILABLE "org.isod1.Error.BackendUnavailable"
#define ISOD_ERROR_START_FAILED "org.isod1.Error.StartFailed"
#define ISOD_ERROR_LIMIT "org.isod1.Error.LimitExceeded"
#define ISOD_ERROR_INVALID_POLICY "org.isod1.Error.InvalidPolicy"
#define ISOD_ERROR_ADDRESS_IN_USE "org.isod1.Error.AddressInUse"
#define ISOD_ERROR_INVALID_IMAGE "org.isod1.Error.InvalidImage"

/* Both isod and isoctl register it (sd_bus_error_add_map), so sd_bus_error_get_errno() works. */
extern const sd_bus_error_map isod_error_map[];
