/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>

#include "firewall.h"

/* What firewall.c and firewall-foreign.c share: the Firewall itself and the ruleset listing. */

#define FW_TABLE "isod"

struct Firewall {
        struct nft_ctx *nft;

        /* The networks of the last successful firewall_apply(): which bridges are isolated (for
         * firewall_add_endpoint()) and their names (for firewall_foreign_warnings()). */
        FwNetwork *nets;
        size_t n_nets;
        bool applied;

        int watch_fd;
        sd_event_source *watch_source;
        uint8_t *watch_buf;
        firewall_lost_cb lost_cb;
        void *lost_userdata;
        firewall_foreign_cb foreign_cb;
        void *foreign_userdata;
};

/* The JSON listing of cmd ("list ruleset", "list table …"): an object with the "nftables" array. */
int fw_list_json(Firewall *f, const char *cmd, json_t **ret);
