/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* polkit for what isod would otherwise refuse a non-root caller (docs/dbus-api.md#polkit).
 *
 * The check is asynchronous, as systemd's bus_verify_polkit_async(): the handler asks polkitd
 * (CheckAuthorization with the caller's unique bus name as the subject, the call's
 * allow-interactive-authorization flag as AllowUserInteraction) and returns; when the answer comes,
 * the request is rewound and queued again, so the handler runs a second time from the start, finds
 * the answer recorded for that message and goes on or refuses. isod never blocks on polkit, and a
 * password prompt (an agent talking to polkitd) can take as long as it takes, bounded by a timeout. */

#include <errno.h>
#include <stdlib.h>

#include "dbus-api.h"
#include "log.h"
#include "polkit.h"
#include "util.h"

#define POLKIT_TIMEOUT_USEC (25 * USEC_PER_SEC)
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (300 * USEC_PER_SEC)
#define POLKIT_MAX_PENDING 256U
#define POLKIT_STALE_USEC (30 * USEC_PER_SEC)

typedef struct PolkitQuery {
        sd_bus_message *request; /* the call being authorized (referenced) */
        char *action;
        sd_bus_slot *slot; /* the CheckAuthorization call while it is out */
        int result;        /* 1 authorized, -EACCES no, -EBADR interactive needed, -ENOSYS no polkit */
        char *detail;      /* polkit's error, when the call itself failed */
        bool done;
        uint64_t done_usec; /* CLOCK_MONOTONIC; an answer its request never came back for is dropped */
        struct PolkitQuery *next;
} PolkitQuery;

static PolkitQuery *queries;
static unsigned n_queries;

static PolkitQuery *query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->action);
        free(q->detail);
        free(q);
        return NULL;
}

static void query_unlink(PolkitQuery *q) {
        for (PolkitQuery **p = &queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        n_queries--;
                        return;
                }
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        q->slot = sd_bus_slot_unref(q->slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                e = sd_bus_message_get_error(reply);
                /* No polkitd on this bus (and none to activate): what isod decides alone stands. */
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        q->result = -ENOSYS;
                else {
                        q->result = -EACCES;
                        q->detail = strdup(e->message ?: e->name);
                }
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        q->result = -EACCES;
                        q->detail = strdup("polkit's answer could not be read");
                } else
                        q->result = authorized ? 1 : challenge ? -EBADR : -EACCES;
        }
        q->done = true;
        q->done_usec = now_usec(CLOCK_MONOTONIC);
        /* Dispatch the request again: its handler finds the answer. */
        r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0) {
                log_error_errno(r, "Cannot dispatch a call again after polkit's answer: %m");
                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_FAILED,
                                                  "isod could not complete the authorization.");
                query_unlink(q);
                query_free(q);
        }
        return 0;
}

int bus_polkit_check(sd_bus_message *msg, const char *action, char *const *details, uid_t uid,
                     const char *refusal_name, const char *refusal, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(msg);
        const char *sender = sd_bus_message_get_sender(msg);
        bool interactive = sd_bus_message_get_allow_interactive_authorization(msg) > 0;
        _cleanup_free_ char *said = strdup(refusal);
        PolkitQuery *q;
        int r;

        if (!said)
                return -ENOMEM;
        /* Answers whose request did not reach a handler again (its workload went away meanwhile,
         * so the object was unknown) are dropped after a while. */
        for (PolkitQuery **p = &queries; *p;) {
                PolkitQuery *old = *p;

                if (old->done && old->request != msg &&
                    now_usec(CLOCK_MONOTONIC) - old->done_usec > POLKIT_STALE_USEC) {
                        *p = old->next;
                        n_queries--;
                        query_free(old);
                } else
                        p = &old->next;
        }
        if (said[0] && said[strlen(said) - 1] == '.') /* a sentence of its own: ours goes on from it */
                said[strlen(said) - 1] = 0;
        refusal = said;
        for (q = queries; q; q = q->next)
                if (q->request == msg)
                        break;
        if (q && q->done) {
                query_unlink(q);
                r = q->result;
                if (!streq(q->action, action))
                        r = -EACCES; /* not what was asked for: ask again rather than mix them up */
                if (r == 1)
                        log_info("polkit authorized UID %u for %s.", (unsigned) uid, action);
                else if (r == -ENOSYS)
                        r = sd_bus_error_setf(error, refusal_name ?: ISOD_ERROR_ACCESS_DENIED,
                                              "%s (polkit, which could authorize %s, is not running).",
                                              refusal, action);
                else if (r == -EBADR)
                        r = sd_bus_error_setf(
                                error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                "%s: polkit needs an authentication for %s (run it on a terminal "
                                "or with an authentication agent).",
                                refusal, action);
                else
                        r = sd_bus_error_setf(error, refusal_name ?: ISOD_ERROR_ACCESS_DENIED,
                                              "%s, and polkit does not authorize %s%s%s.", refusal, action,
                                              q->detail ? ": " : "", strempty(q->detail));
                query_free(q);
                return r;
        }
        if (q) /* asked already and not answered: the same message cannot come twice */
                return 0;

        /* isod's direct socket has no bus name for polkit to look at; it is root's anyway. */
        if (!sender || sender[0] != ':')
                return sd_bus_error_setf(error, refusal_name ?: ISOD_ERROR_ACCESS_DENIED, "%s.", refusal);
        if (n_queries >= POLKIT_MAX_PENDING)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many authorizations pending; try again.");

        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{ss}");
        for (size_t i = 0; r >= 0 && details && details[i] && details[i + 1]; i += 2)
                r = sd_bus_message_append(call, "{ss}", details[i], details[i + 1]);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_message_append(call, "us", (uint32_t) (interactive ? 1 : 0), "");
        if (r < 0)
                return r;
        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->action = strdup(action);
        if (!q->action) {
                free(q);
                return -ENOMEM;
        }
        r = sd_bus_call_async(bus, &q->slot, call, on_check_reply, q,
                              interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC);
        if (r < 0) {
                query_free(q);
                return r;
        }
        q->request = sd_bus_message_ref(msg);
        q->next = queries;
        queries = q;
        n_queries++;
        return 0;
}

void bus_polkit_done(void) {
        while (queries) {
                PolkitQuery *q = queries;

                queries = q->next;
                query_free(q);
        }
        n_queries = 0;
}
