/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

/* The polkit actions (systemd/org.isod1.policy): what a non-root caller may be authorized for
 * beyond what isod grants by itself. */
#define POLKIT_ACTION_LAUNCH                                                                               \
        "org.isod1.launch"                      /* create or launch, when no policy rule is for the caller \
                                                 */
#define POLKIT_ACTION_MANAGE "org.isod1.manage" /* another user's workload: lifecycle, stats, logs */
#define POLKIT_ACTION_EXEC "org.isod1.exec"     /* another user's workload: exec, attach */
#define POLKIT_ACTION_POLICY "org.isod1.reload-policy"    /* ReloadPolicy */
#define POLKIT_ACTION_NETWORK "org.isod1.manage-networks" /* create and remove networks */
#define POLKIT_ACTION_IMAGE "org.isod1.manage-images"     /* import, build and remove images */

/* Asks polkit whether the caller of msg (UID uid) may do ACTION (DETAILS: NULL or NULL-terminated
 * key, value pairs that polkit rules read with action.lookup(KEY)), which isod refuses it by itself
 * (REFUSAL: the sentence that says so, REFUSAL_NAME its error, NULL for AccessDenied: a refusal
 * keeps its name whatever polkit adds). 1: authorized; 0: asked — the handler returns 1 and is
 * called again with the same message once polkit answers; < 0: refused, error set
 * (AccessDenied; InteractiveAuthorizationRequired when polkit wants an authentication and the
 * call did not allow one; AccessDenied naming polkit's absence when polkitd does not run). */
int bus_polkit_check(sd_bus_message *msg, const char *action, char *const *details, uid_t uid,
                     const char *refusal_name, const char *refusal, sd_bus_error *error);
void bus_polkit_done(void);
