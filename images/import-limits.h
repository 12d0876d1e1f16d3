/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An import's default (and, through D-Bus, largest) budgets: isod and the importer share them. */
#define IMPORT_DEFAULT_MAX_BYTES (64ULL << 30)
#define IMPORT_DEFAULT_MAX_ENTRIES (4U << 20)
