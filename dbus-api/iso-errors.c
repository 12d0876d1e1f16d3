/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "iso-errors.h"

const sd_bus_error_map isod_error_map[] = { SD_BUS_ERROR_MAP(ISOD_ERROR_NOT_FOUND, ENXIO),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_EXISTS, EEXIST),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_INVALID_SPEC, EINVAL),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_POLICY_DENIED, EACCES),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_ACCESS_DENIED, EPERM),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_BAD_STATE, EBUSY),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_BACKEND_UNAVAILABLE, EOPNOTSUPP),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_START_FAILED, ECHILD),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_LIMIT, EUSERS),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_INVALID_POLICY, EBADMSG),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_ADDRESS_IN_USE, EADDRINUSE),
                                            SD_BUS_ERROR_MAP(ISOD_ERROR_INVALID_IMAGE, EILSEQ),
                                            SD_BUS_ERROR_MAP_END };
