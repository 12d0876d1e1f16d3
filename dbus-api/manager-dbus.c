/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>

#include "dbus-api.h"
#include "polkit.h"
#include "image.h"
#include "network.h"
#include "log.h"
#include "util.h"
#include "workload.h"

static Manager *bus_manager; /* set by bus_setup(): isod has one bus and one manager */

/* What the bus daemon recorded about the caller when its connection was made, in one
 * GetConnectionCredentials call: UnixUserID (SO_PEERCRED's uid), UnixGroupIDs (its gid plus
 * SO_PEERGROUPS) and ProcessID. Unlike the /proc/PID/status values that SD_BUS_CREDS_AUGMENT reads
 * later, these cannot be changed by the caller after the fact (by exec'ing a setgid program, or by
 * exiting so that its PID is reused). One round trip: sd_bus_query_sender_creds() would make the
 * same call again for the UID. On a direct connection (private.c), the same record from the socket. */
typedef struct BusCreds {
        bool have_uid;
        uid_t uid;
        pid_t pid;     /* 0 if not reported */
        gid_t *groups; /* NULL if not reported */
        size_t n_groups;
        gid_t primary_gid; /* (gid_t) -1 if not reported (the bus daemon does not say which) */
} BusCreds;

static void bus_creds_done(BusCreds *c) {
        free(c->groups);
        *c = (BusCreds){};
}

static int bus_get_connection_creds(sd_bus_message *msg, BusCreds *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(bus_creds_done) BusCreds c = { .primary_gid = (gid_t) -1 };
        const char *sender = sd_bus_message_get_sender(msg);
        int r;

        /* A direct connection (private.c): the socket's record, no bus daemon to ask. */
        if (!sender) {
                const gid_t *groups;

                r = bus_private_creds(bus_manager, sd_bus_message_get_bus(msg), &c.uid, &c.pid, &groups,
                                      &c.n_groups);
                if (r < 0)
                        return r;
                c.have_uid = true;
                c.primary_gid = c.n_groups > 0 ? groups[0] : (gid_t) -1;
                c.groups = calloc(c.n_groups ?: 1, sizeof(gid_t));
                if (!c.groups)
                        return -ENOMEM;
                memcpy(c.groups, groups, c.n_groups * sizeof(gid_t));
                *ret = c;
                c = (BusCreds){};
                return 0;
        }
        r = sd_bus_call_method(sd_bus_message_get_bus(msg), "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "GetConnectionCredentials", NULL, &reply, "s",
                               sender);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;
                uint32_t u;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "UnixGroupIDs")) {
                        const void *a;
                        size_t sz;

                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_array(reply, 'u', &a, &sz);
                        if (r < 0)
                                return r;
                        if (sz / sizeof(uint32_t) > 1024)
                                return -E2BIG;
                        free(c.groups);
                        c.n_groups = sz / sizeof(uint32_t);
                        c.groups = calloc(c.n_groups ?: 1, sizeof(gid_t));
                        if (!c.groups)
                                return -ENOMEM;
                        for (size_t i = 0; i < c.n_groups; i++)
                                c.groups[i] = (gid_t) ((const uint32_t *) a)[i];
                        r = sd_bus_message_exit_container(reply);
                } else if (streq(key, "UnixUserID") || streq(key, "ProcessID")) {
                        r = sd_bus_message_read(reply, "v", "u", &u);
                        if (r >= 0 && streq(key, "UnixUserID")) {
                                c.uid = (uid_t) u;
                                c.have_uid = u != UINT32_MAX;
                        } else if (r >= 0)
                                c.pid = u > 0 && u <= INT32_MAX ? (pid_t) u : 0;
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        *ret = c;
        c = (BusCreds){};
        return 0;
}

/* Resolves a user (is_group false) or group name. 0 and NULL when there is no such entry. Errors
 * (ERANGE is retried with a larger buffer) are returned: a name that exists but could not be read must
 * not make a rule that names it silently not match. */
static int resolve_name(bool is_group, uint32_t id, char **ret) {
        for (size_t size = 4096; size <= 1024 * 1024; size *= 4) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *pwr = NULL;
                struct group gr, *grr = NULL;
                const char *name;
                int e;

                if (!buf)
                        return -ENOMEM;
                if (is_group)
                        e = getgrgid_r((gid_t) id, &gr, buf, size, &grr);
                else
                        e = getpwuid_r((uid_t) id, &pw, buf, size, &pwr);
                if (e == ERANGE)
                        continue;
                if (e != 0 && e != ENOENT && e != ESRCH)
                        return -e;
                name = is_group ? (grr ? grr->gr_name : NULL) : (pwr ? pwr->pw_name : NULL);
                if (!name) {
                        *ret = NULL;
                        return 0;
                }
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        return -ERANGE;
}

int caller_copy(const Caller *from, Caller *ret) {
        _cleanup_(caller_done) Caller c = {
                .uid = from->uid,
                .gid = from->gid,
                .n_groups = from->n_groups,
        };

        if (from->n_groups > 0) {
                c.groups = calloc(from->n_groups, sizeof(gid_t));
                if (!c.groups)
                        return -ENOMEM;
                memcpy(c.groups, from->groups, from->n_groups * sizeof(gid_t));
        }
        if ((from->user_name && !(c.user_name = strdup(from->user_name))) ||
            (from->unit && !(c.unit = strdup(from->unit))) ||
            (from->group_names && !(c.group_names = strv_copy(from->group_names))))
                return -ENOMEM;
        *ret = c;
        c = (Caller){};
        return 0;
}

/* Callers by unique bus name. A unique name is never reused during the bus's lifetime and what we
 * take from the bus daemon (UID, groups) is its record from connect time, so an entry stays right
 * for as long as the name exists; the name lookups (NSS) are frozen for the connection's life too,
 * as dbus-daemon itself does for groups. Saves two bus round trips and the NSS lookups per call. */
#define CALLER_CACHE_SIZE 64U
static struct {
        char *sender;
        Caller caller;
        uint64_t used;
} caller_cache[CALLER_CACHE_SIZE];
static uint64_t caller_cache_clock;

static const Caller *caller_cache_get(const char *sender) {
        for (size_t i = 0; sender && i < CALLER_CACHE_SIZE; i++)
                if (caller_cache[i].sender && streq(caller_cache[i].sender, sender)) {
                        caller_cache[i].used = ++caller_cache_clock;
                        return &caller_cache[i].caller;
                }
        return NULL;
}

static void caller_cache_put(const char *sender, const Caller *c) {
        size_t victim = 0;
        char *s;

        if (!sender || sender[0] != ':')
                return;
        for (size_t i = 0; i < CALLER_CACHE_SIZE; i++) {
                if (!caller_cache[i].sender) {
                        victim = i;
                        break;
                }
                if (caller_cache[i].used < caller_cache[victim].used)
                        victim = i;
        }
        s = strdup(sender);
        if (!s)
                return;
        free(caller_cache[victim].sender);
        caller_done(&caller_cache[victim].caller);
        if (caller_copy(c, &caller_cache[victim].caller) < 0) {
                free(s);
                caller_cache[victim].sender = NULL;
                return;
        }
        caller_cache[victim].sender = s;
        caller_cache[victim].used = ++caller_cache_clock;
}

void bus_caller_cache_clear(void) {
        for (size_t i = 0; i < CALLER_CACHE_SIZE; i++) {
                free(caller_cache[i].sender);
                caller_cache[i].sender = NULL;
                caller_done(&caller_cache[i].caller);
        }
}

static int bus_get_caller_uncached(sd_bus_message *msg, bool want_unit, Caller *ret);

int bus_get_caller(sd_bus_message *msg, Caller *ret) {
        Manager *m = bus_manager;
        const char *sender = sd_bus_message_get_sender(msg);
        const Caller *cached;
        bool want_unit;
        Caller c = {};
        int r;

        /* The unit is read from /proc/PID/cgroup at each call (it may change); only when a rule
         * needs it. Everything else comes from the bus daemon's record, cached per connection. */
        want_unit = m && policy_needs_unit(m->policy);
        /* A direct connection (no sender) keeps its caller with it (private.c). */
        cached = sender ? caller_cache_get(sender) : bus_private_caller_get(m, sd_bus_message_get_bus(msg));
        if (cached && !want_unit)
                return caller_copy(cached, ret);
        r = bus_get_caller_uncached(msg, want_unit, &c);
        if (r < 0)
                return r;
        if (!want_unit && sender)
                caller_cache_put(sender, &c);
        else if (!want_unit)
                bus_private_caller_put(m, sd_bus_message_get_bus(msg), &c);
        *ret = c;
        return 0;
}

static int bus_get_caller_uncached(sd_bus_message *msg, bool want_unit, Caller *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_(caller_done) Caller c = {};
        _cleanup_(bus_creds_done) BusCreds bc = {};
        const char *unit = NULL;
        gid_t egid = (gid_t) -1;
        int r;

        /* The UID and the groups come from the bus daemon (SO_PEERCRED at connect time); never
         * authorize on one read from /proc. */
        r = bus_get_connection_creds(msg, &bc);
        if (r < 0)
                return r;
        if (!bc.have_uid)
                return -EPERM;
        c.uid = bc.uid;

        /* The primary GID and the unit are read from /proc/PID (sd-bus does it): only as good as
         * that. The GID from /proc is used only if the connection had it too; otherwise (e.g. the
         * caller exec'd a setgid program since) it is ignored. No group record: no groups, so
         * group rules never match (fail closed). The unit: see docs/policy.md. A direct connection
         * has its primary GID from the socket (SO_PEERCRED): /proc is read for the unit only. */
        egid = bc.primary_gid;
        if (bc.pid > 0 && (want_unit || egid == (gid_t) -1) &&
            sd_bus_creds_new_from_pid(&creds, bc.pid,
                                      (egid == (gid_t) -1 ? SD_BUS_CREDS_EGID : 0) |
                                              (want_unit ? SD_BUS_CREDS_UNIT : 0)) >= 0) {
                if (bc.primary_gid == (gid_t) -1 && sd_bus_creds_get_egid(creds, &egid) < 0)
                        egid = (gid_t) -1;
                if (want_unit && sd_bus_creds_get_unit(creds, &unit) >= 0 && unit) {
                        c.unit = strdup(unit);
                        if (!c.unit)
                                return -ENOMEM;
                }
        }
        c.gid = (gid_t) -1;
        if (bc.n_groups > 0) {
                c.groups = calloc(bc.n_groups, sizeof(gid_t));
                if (!c.groups)
                        return -ENOMEM;
                for (size_t i = 0; i < bc.n_groups; i++)
                        if (bc.groups[i] == egid && c.gid == (gid_t) -1)
                                c.gid = egid;
                        else
                                c.groups[c.n_groups++] = bc.groups[i];
        }
        r = resolve_name(false, c.uid, &c.user_name);
        if (r < 0)
                return log_error_errno(r, "Failed to resolve the name of UID %u: %m", (unsigned) c.uid);
        /* Names of the primary and supplementary groups, for policy rules that match on "group". */
        for (size_t i = 0; i <= c.n_groups; i++) {
                gid_t g = i == 0 ? c.gid : c.groups[i - 1];
                _cleanup_free_ char *name = NULL;

                if (g == (gid_t) -1)
                        continue;
                r = resolve_name(true, g, &name);
                if (r < 0)
                        return log_error_errno(r, "Failed to resolve the name of GID %u: %m", (unsigned) g);
                if (name && strv_extend(&c.group_names, name) < 0)
                        return -ENOMEM;
        }
        *ret = c;
        c = (Caller){};
        return 0;
}

int bus_read_stdio(sd_bus_message *msg, int ret_fds[3], sd_bus_error *error) {
        static const char *const names[3] = { "stdin", "stdout", "stderr" };
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sh}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;
                int fd, idx = -1;

                r = sd_bus_message_read(msg, "{sh}", &key, &fd);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                for (int i = 0; i < 3; i++)
                        if (streq(key, names[i]))
                                idx = i;
                if (idx < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown stdio key '%s' (expected stdin, stdout, stderr).",
                                                 key);
                if (ret_fds[idx] >= 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Duplicate stdio key '%s'.", key);
                ret_fds[idx] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (ret_fds[idx] < 0)
                        return -errno;
        }
        return sd_bus_message_exit_container(msg);
}

int bus_require_root(sd_bus_message *msg, const char *what, const char *action, sd_bus_error *error) {
        _cleanup_(caller_done) Caller caller = {};
        _cleanup_free_ char *refusal = NULL;
        int r;

        r = bus_get_caller(msg, &caller);
        if (r < 0)
                return r;
        if (caller.uid == 0)
                return 1;
        if (asprintf(&refusal, "Only root may %s", what) < 0)
                return -ENOMEM;
        return bus_polkit_check(msg, action, NULL, caller.uid, NULL, refusal, error);
}

int bus_map_errno(sd_bus_error *error, int r, const char *name, const char *message) {
        const char *n;

        switch (r) {
        case -EINVAL:
        case -EBADMSG:
        case -E2BIG:
                n = ISOD_ERROR_INVALID_SPEC;
                break;
        case -EACCES:
                n = ISOD_ERROR_POLICY_DENIED;
                break;
        case -EPERM:
                n = ISOD_ERROR_ACCESS_DENIED;
                break;
        case -EEXIST:
                if (message)
                        return sd_bus_error_setf(error, ISOD_ERROR_EXISTS, "%s", message);
                return sd_bus_error_setf(error, ISOD_ERROR_EXISTS, "Workload '%s' already exists.",
                                         strna(name));
        case -ENXIO:
                if (message)
                        return sd_bus_error_setf(error, ISOD_ERROR_NOT_FOUND, "%s", message);
                return sd_bus_error_setf(error, ISOD_ERROR_NOT_FOUND, "No workload '%s'.", strna(name));
        case -EADDRINUSE:
                n = ISOD_ERROR_ADDRESS_IN_USE;
                break;
        case -EBUSY:
                n = ISOD_ERROR_BAD_STATE;
                break;
        case -EOPNOTSUPP:
                n = ISOD_ERROR_BACKEND_UNAVAILABLE;
                break;
        case -EUSERS:
                return sd_bus_error_setf(error, ISOD_ERROR_LIMIT, "%s", message ?: "Too many workloads.");
        default:
                if (message)
                        return sd_bus_error_set_errnof(error, r, "%s", message);
                return sd_bus_error_set_errnof(error, r, "Operation on workload '%s' failed: %m",
                                               strna(name));
        }
        return sd_bus_error_setf(error, n, "%s", message ?: strerror(-r));
}

static int read_create_options(sd_bus_message *msg, CreateOptions *opts, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(msg, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "auto_remove")) {
                        int b;

                        r = sd_bus_message_read(msg, "v", "b", &b);
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'auto_remove' must be a boolean.");
                        opts->auto_remove = b;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.",
                                                 key);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(msg);
}

static int create_common(sd_bus_message *msg, Manager *m, bool launch, sd_bus_error *error) {
        _cleanup_(caller_done) Caller caller = {};
        _cleanup_free_ char *err = NULL;
        int stdio[3] = { -EBADF, -EBADF, -EBADF };
        CreateOptions opts = {};
        const char *spec;
        Workload *w;
        int r;

        r = sd_bus_message_read(msg, "s", &spec);
        if (r < 0)
                return r;
        if (launch) {
                r = bus_read_stdio(msg, stdio, error);
                if (r < 0)
                        goto finish;
        }
        r = read_create_options(msg, &opts, error);
        if (r < 0)
                goto finish;
        opts.announce_later = launch;
        r = bus_get_caller(msg, &caller);
        if (r < 0)
                goto finish;

        r = manager_create_workload(m, spec, &caller, &opts, &w, &err);
        if (r == -EACCES && opts.denied_by_default && caller.uid != 0) {
                /* No rule of isod's policy is for this caller: polkit may authorize the launch, and
                 * the policy's "polkit" rules then decide how it runs (docs/dbus-api.md#polkit). */
                _cleanup_free_ char *refusal = err;

                err = NULL;
                r = bus_polkit_check(msg, POLKIT_ACTION_LAUNCH, NULL, caller.uid, ISOD_ERROR_POLICY_DENIED,
                                     strna(refusal), error);
                if (r <= 0) {
                        r = r < 0 ? r : 1;
                        goto finish;
                }
                caller.polkit = true;
                opts.denied_by_default = false;
                r = manager_create_workload(m, spec, &caller, &opts, &w, &err);
        }
        if (r < 0) {
                if (r == -EINVAL || r == -EBADMSG || r == -E2BIG || r == -EACCES || r == -EOPNOTSUPP)
                        log_info("Refused workload from UID %u: %s", (unsigned) caller.uid, strna(err));
                r = bus_map_errno(error, r, NULL, err);
                goto finish;
        }
        if (!launch) {
                r = sd_bus_reply_method_return(msg, "o", w->path);
                goto finish;
        }
        /* The monitor first: the signals and the client tracking (an AddMatch call) come after it
         * has its assignment, off the launch's path. */
        r = workload_start(w, stdio);
        if (r < 0) {
                log_error_errno(r, "Failed to start workload '%s': %m", w->name);
                r = sd_bus_error_set_errnof(error, r, "Failed to start workload '%s': %m", w->name);
                bus_workload_new(m, w);
                (void) workload_remove(w);
                goto finish;
        }
        bus_workload_new(m, w);
        if (opts.auto_remove)
                (void) workload_track_client(w, msg);
        /* Reply once the monitor reports it running (or failed). */
        {
                BusWaiter *b = calloc(1, sizeof(BusWaiter));
                if (!b) {
                        r = -ENOMEM;
                        goto finish;
                }
                b->msg = sd_bus_message_ref(msg);
                b->next = w->start_waiters;
                w->start_waiters = b;
        }
        r = 1;
finish:
        for (int i = 0; i < 3; i++)
                if (stdio[i] >= 0)
                        (void) close(stdio[i]);
        return r;
}

static int method_create_workload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return create_common(msg, userdata, false, error);
}

static int method_launch_workload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return create_common(msg, userdata, true, error);
}

static int method_list_workloads(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssso)");
        if (r < 0)
                return r;
        for (Workload *w = m->workloads; w; w = w->next) {
                r = sd_bus_message_append(reply, "(sssso)", w->name, backend_kind_to_string(w->kind),
                                          workload_state_to_string(w->state), strempty(w->policy_rule),
                                          w->path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_workload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *name;
        Workload *w;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        w = workload_name_is_valid(name) ? manager_find(m, name) : NULL;
        if (!w)
                return sd_bus_error_setf(error, ISOD_ERROR_NOT_FOUND, "No workload '%s'.", name);
        return sd_bus_reply_method_return(msg, "o", w->path);
}

static int method_explain_policy(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(caller_done) Caller caller = {};
        _cleanup_free_ char *text = NULL;
        Manager *m = ASSERT_PTR(userdata);
        const char *spec;
        int r;

        r = sd_bus_message_read(msg, "s", &spec);
        if (r < 0)
                return r;
        r = bus_get_caller(msg, &caller);
        if (r < 0)
                return r;
        r = manager_explain(m, spec, &caller, &text);
        if (r < 0)
                return bus_map_errno(error, r, NULL, text);
        return sd_bus_reply_method_return(msg, "s", text);
}

static int method_reload_policy(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(caller_done) Caller caller = {};
        _cleanup_free_ char *err = NULL;
        Manager *m = ASSERT_PTR(userdata);
        int r;

        r = bus_require_root(msg, "reload the policy", POLKIT_ACTION_POLICY, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_reload_policy(m, &err);
        if (r < 0) {
                log_error("Policy reload rejected, keeping the old policy: %s", strna(err));
                return sd_bus_error_setf(error, ISOD_ERROR_INVALID_POLICY,
                                         "The new policy is invalid, the old one stays in force: %s",
                                         strna(err));
        }
        (void) sd_bus_emit_properties_changed(sd_bus_message_get_bus(msg), ISOD_MANAGER_PATH,
                                              ISOD_MANAGER_IFACE, "PolicySource", NULL);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_get_policy(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        Manager *m = ASSERT_PTR(userdata);
        json_t *j;

        j = policy_to_json(m->policy);
        if (!j)
                return -ENOMEM;
        text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "s", text);
}

static int property_get_backends(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (int k = 0; k < _BACKEND_KIND_MAX; k++)
                if (m->backends[k].available) {
                        r = sd_bus_message_append(reply, "s", backend_kind_to_string((BackendKind) k));
                        if (r < 0)
                                return r;
                }
        return sd_bus_message_close_container(reply);
}

static int property_get_backend_status(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sbs)");
        if (r < 0)
                return r;
        for (int k = 0; k < _BACKEND_KIND_MAX; k++) {
                r = sd_bus_message_append(reply, "(sbs)", backend_kind_to_string((BackendKind) k),
                                          m->backends[k].available, strempty(m->backends[k].reason));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_policy_source(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", policy_source(m->policy));
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Backends", "as", property_get_backends, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BackendStatus", "a(sbs)", property_get_backend_status, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PolicySource", "s", property_get_policy_source, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Every method authorizes by itself (bus credentials + policy), hence UNPRIVILEGED. */
        SD_BUS_METHOD_WITH_NAMES("CreateWorkload", "sa{sv}", SD_BUS_PARAM(spec_json) SD_BUS_PARAM(options),
                                 "o", SD_BUS_PARAM(workload), method_create_workload,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("LaunchWorkload", "sa{sh}a{sv}",
                                 SD_BUS_PARAM(spec_json) SD_BUS_PARAM(stdio) SD_BUS_PARAM(options), "o",
                                 SD_BUS_PARAM(workload), method_launch_workload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListWorkloads", "", , "a(sssso)", SD_BUS_PARAM(workloads),
                                 method_list_workloads, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetWorkload", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(workload),
                                 method_get_workload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ExplainPolicy", "s", SD_BUS_PARAM(spec_json), "s",
                                 SD_BUS_PARAM(explanation), method_explain_policy,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ReloadPolicy", "", "", method_reload_policy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetPolicy", "", , "s", SD_BUS_PARAM(policy_json), method_get_policy,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CreateNetwork", "sa{sv}", SD_BUS_PARAM(name) SD_BUS_PARAM(options), "o",
                                 SD_BUS_PARAM(network), bus_method_create_network,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RemoveNetwork", "s", SD_BUS_PARAM(name), "", , bus_method_remove_network,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListNetworks", "", , "a(ssso)", SD_BUS_PARAM(networks),
                                 bus_method_list_networks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetNetwork", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(network),
                                 bus_method_get_network, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ImportImage", "ha{sv}", SD_BUS_PARAM(archive) SD_BUS_PARAM(options), "o",
                                 SD_BUS_PARAM(image), bus_method_import_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RemoveImage", "s", SD_BUS_PARAM(name), "", , bus_method_remove_image,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListImages", "", , "a(sastuo)", SD_BUS_PARAM(images),
                                 bus_method_list_images, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetImage", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(image),
                                 bus_method_get_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("ImportProgress", "stt",
                                 SD_BUS_PARAM(job) SD_BUS_PARAM(bytes_read) SD_BUS_PARAM(bytes_total), 0),
        SD_BUS_SIGNAL_WITH_NAMES("WorkloadNew", "so", SD_BUS_PARAM(name) SD_BUS_PARAM(workload), 0),
        SD_BUS_SIGNAL_WITH_NAMES("WorkloadRemoved", "so", SD_BUS_PARAM(name) SD_BUS_PARAM(workload), 0),
        SD_BUS_SIGNAL_WITH_NAMES("WorkloadEvent", "sosta{sv}",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(workload) SD_BUS_PARAM(event)
                                         SD_BUS_PARAM(timestamp_usec) SD_BUS_PARAM(details),
                                 0),
        SD_BUS_VTABLE_END
};

/* WorkloadEvent(name, path, event, timestamp_usec, details): what `isoctl events` follows. One
 * signal per transition, in the order isod saw them (docs/dbus-api.md#events). */
void bus_workload_event(Workload *w, const char *event) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        Manager *m = w->manager;
        bool ended = w->state == WORKLOAD_EXITED || w->state == WORKLOAD_FAILED;
        int r;

        if (!m->bus || w->unannounced)
                return;
        r = sd_bus_message_new_signal(m->bus, &sig, ISOD_MANAGER_PATH, ISOD_MANAGER_IFACE, "WorkloadEvent");
        if (r >= 0)
                r = sd_bus_message_append(sig, "sost", w->name, w->path, event, now_usec(CLOCK_REALTIME));
        if (r >= 0)
                r = sd_bus_message_open_container(sig, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(sig, "{sv}", "isolation", "s", backend_kind_to_string(w->kind));
        if (r >= 0 && ended)
                r = sd_bus_message_append(sig, "{sv}", "exit_status", "i", workload_exit_status(w));
        if (r >= 0 && ended && w->reason)
                r = sd_bus_message_append(sig, "{sv}", "reason", "s", w->reason);
        if (r >= 0)
                r = sd_bus_message_close_container(sig);
        if (r >= 0)
                r = sd_bus_send(m->bus, sig, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to send the '%s' event of workload '%s': %m", event, w->name);
}

void bus_workload_new(Manager *m, Workload *w) {
        w->unannounced = false;
        if (!m->bus)
                return;
        (void) sd_bus_emit_signal(m->bus, ISOD_MANAGER_PATH, ISOD_MANAGER_IFACE, "WorkloadNew", "so",
                                  w->name, w->path);
        (void) sd_bus_emit_object_added(m->bus, w->path);
        bus_workload_event(w, "created");
        /* A launch announces its workload once its monitor has it: the start comes with it. */
        if (w->state != WORKLOAD_CREATED)
                bus_workload_event(w, "starting");
}

void bus_workload_removed(Manager *m, Workload *w) {
        if (!m->bus)
                return;
        (void) sd_bus_emit_object_removed(m->bus, w->path);
        (void) sd_bus_emit_signal(m->bus, ISOD_MANAGER_PATH, ISOD_MANAGER_IFACE, "WorkloadRemoved", "so",
                                  w->name, w->path);
        bus_workload_event(w, "removed");
}

int bus_add_objects(sd_bus *bus, Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, ISOD_MANAGER_PATH, ISOD_MANAGER_IFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the manager object: %m");
        r = sd_bus_add_fallback_vtable(bus, NULL, ISOD_WORKLOAD_PREFIX, ISOD_WORKLOAD_IFACE, workload_vtable,
                                       workload_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the workload objects: %m");
        r = sd_bus_add_node_enumerator(bus, NULL, ISOD_WORKLOAD_PREFIX, workload_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the workload enumerator: %m");
        r = sd_bus_add_fallback_vtable(bus, NULL, ISOD_NETWORK_PREFIX, "org.isod1.Network", network_vtable,
                                       bus_network_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the network objects: %m");
        r = sd_bus_add_node_enumerator(bus, NULL, ISOD_NETWORK_PREFIX, bus_network_enumerate, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the network enumerator: %m");
        r = sd_bus_add_fallback_vtable(bus, NULL, ISOD_IMAGE_PREFIX, "org.isod1.Image", image_vtable,
                                       bus_image_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the image objects: %m");
        r = sd_bus_add_node_enumerator(bus, NULL, ISOD_IMAGE_PREFIX, bus_image_enumerate, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the image enumerator: %m");
        r = sd_bus_add_object_manager(bus, NULL, ISOD_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");
        return 0;
}

int bus_setup(Manager *m, const char *address) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (address) {
                r = sd_bus_new(&bus);
                if (r < 0)
                        return r;
                r = sd_bus_set_address(bus, address);
                if (r < 0)
                        return log_error_errno(r, "Invalid bus address '%s': %m", address);
                (void) sd_bus_set_bus_client(bus, true);
                (void) sd_bus_negotiate_fds(bus, true);
                (void) sd_bus_negotiate_creds(bus, true, SD_BUS_CREDS_UNIQUE_NAME);
                r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the bus: %m");

        r = bus_add_objects(bus, m);
        if (r < 0)
                return r;
        r = sd_bus_error_add_map(isod_error_map);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, m->event, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = sd_bus_request_name(bus, ISOD_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name '%s': %m", ISOD_BUS_NAME);
        m->bus = TAKE_PTR(bus);
        bus_manager = m;
        return 0;
}
