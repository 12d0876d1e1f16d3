/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>

#include "dbus-api.h"
#include "polkit.h"
#include "log.h"
#include "monitor-spawn.h"
#include "output-log.h"
#include "network.h"
#include "util.h"
#include "workload.h"

int workload_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                         sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Manager *m = ASSERT_PTR(userdata);
        Workload *w;
        int r;

        r = sd_bus_path_decode(path, ISOD_WORKLOAD_PREFIX, &name);
        if (r <= 0)
                return 0;
        w = manager_find(m, name);
        if (!w)
                return 0;
        *found = w;
        return 1;
}

int workload_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                             sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = ASSERT_PTR(userdata);

        for (Workload *w = m->workloads; w; w = w->next)
                if (strv_extend(&l, w->path) < 0)
                        return -ENOMEM;
        *nodes = TAKE_PTR(l);
        return 1;
}

void workload_send_changed(Workload *w) {
        sd_bus *bus = w->manager->bus;

        if (!bus || w->removed || w->unannounced)
                return;
        (void) sd_bus_emit_properties_changed(bus, w->path, ISOD_WORKLOAD_IFACE, "State", "LeaderPID",
                                              "MonitorPID", "ExitStatus", "ExitSignal", "Reason",
                                              "Accelerator", "StartedTimestamp", "ExitedTimestamp", NULL);
}

/* Authorization for acting on a workload: root, its owner, whom the policy grants, or whom polkit
 * authorizes for ACTION. 1: go on; 0: polkit was asked (the handler returns 1 and runs again with
 * its answer); < 0: refused, error set. */
static int workload_authorize(sd_bus_message *msg, Workload *w, const char *action, sd_bus_error *error) {
        _cleanup_(caller_done) Caller caller = {};
        _cleanup_free_ char *refusal = NULL;
        char owner[16];
        int r;

        r = bus_get_caller(msg, &caller);
        if (r < 0)
                return r;
        if (manager_may_manage(w->manager, &caller, w))
                return 1;
        (void) snprintf(owner, sizeof owner, "%u", (unsigned) w->owner_uid);
        if (asprintf(&refusal, "UID %u may not act on workload '%s' (owned by UID %u)",
                     (unsigned) caller.uid, w->name, (unsigned) w->owner_uid) < 0)
                return -ENOMEM;
        /* For polkit rules: action.lookup("workload"), action.lookup("owner_uid"). */
        return bus_polkit_check(
                msg, action,
                (char *const[]){ (char *) "workload", w->name, (char *) "owner_uid", owner, NULL },
                caller.uid, NULL, refusal, error);
}

static int waiter_add(BusWaiter **list, sd_bus_message *msg) {
        BusWaiter *b = calloc(1, sizeof(BusWaiter));

        if (!b)
                return -ENOMEM;
        b->msg = sd_bus_message_ref(msg);
        b->next = *list;
        *list = b;
        return 1;
}

static int method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        int stdio[3] = { -EBADF, -EBADF, -EBADF };
        int r;

        r = workload_authorize(msg, w, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = bus_read_stdio(msg, stdio, error);
        if (r >= 0 && w->state != WORKLOAD_CREATED)
                r = sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE, "Workload '%s' is %s, not created.",
                                      w->name, workload_state_to_string(w->state));
        if (r >= 0) {
                r = workload_start(w, stdio);
                if (r < 0)
                        r = sd_bus_error_set_errnof(error, r, "Failed to start workload '%s': %m", w->name);
                else
                        r = waiter_add(&w->start_waiters, msg);
        }
        for (int i = 0; i < 3; i++)
                if (stdio[i] >= 0)
                        (void) close(stdio[i]);
        return r;
}

static void on_simple_reply(Workload *w, int r, const char *message, json_t *result, void *userdata) {
        sd_bus_message *msg = userdata;

        if (r < 0)
                (void) sd_bus_reply_method_errnof(msg, r, "%s", message ?: strerror(-r));
        else
                (void) sd_bus_reply_method_return(msg, NULL);
        sd_bus_message_unref(msg);
}

static void on_stop_reply(Workload *w, int r, const char *message, json_t *result, void *userdata) {
        sd_bus_message *msg = userdata;

        if (r < 0) {
                (void) sd_bus_reply_method_errnof(msg, r, "%s", message ?: strerror(-r));
                sd_bus_message_unref(msg);
                return;
        }
        /* The reply comes when it has actually ended. */
        if (workload_is_active(w)) {
                if (waiter_add(&w->exit_waiters, msg) < 0)
                        (void) sd_bus_reply_method_return(msg, NULL);
        } else
                (void) sd_bus_reply_method_return(msg, NULL);
        sd_bus_message_unref(msg);
}

static int send_request(sd_bus_message *msg, Workload *w, json_t *req, const int *fds, size_t n_fds,
                        WorkloadRequestCallback cb, sd_bus_error *error) {
        int r;

        if (!req)
                return -ENOMEM;
        sd_bus_message_ref(msg);
        r = workload_request(w, req, fds, n_fds, cb, msg);
        json_decref(req);
        if (r < 0) {
                sd_bus_message_unref(msg);
                if (r == -ENOTCONN)
                        return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE,
                                                 "Workload '%s' is not running.", w->name);
                return r;
        }
        return 1;
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        uint64_t timeout;
        int r;

        r = sd_bus_message_read(msg, "t", &timeout);
        if (r < 0)
                return r;
        r = workload_authorize(msg, w, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!workload_is_active(w))
                return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE, "Workload '%s' is %s, not running.",
                                         w->name, workload_state_to_string(w->state));
        if (timeout == 0)
                timeout = 10 * USEC_PER_SEC;
        if (timeout > 3600 * USEC_PER_SEC)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Stop timeout too large (max 1h).");
        return send_request(msg, w,
                            json_pack("{s:s,s:I}", "op", "stop", "timeout_usec", (json_int_t) timeout), NULL,
                            0, on_stop_reply, error);
}

static int method_kill(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        int32_t sig;
        int r;

        r = sd_bus_message_read(msg, "i", &sig);
        if (r < 0)
                return r;
        if (sig <= 0 || sig >= _NSIG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid signal %" PRIi32 ".",
                                         sig);
        r = workload_authorize(msg, w, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!workload_is_active(w))
                return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE, "Workload '%s' is %s, not running.",
                                         w->name, workload_state_to_string(w->state));
        return send_request(msg, w, json_pack("{s:s,s:i}", "op", "kill", "signal", (int) sig), NULL, 0,
                            on_simple_reply, error);
}

static int method_remove(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        int r;

        r = workload_authorize(msg, w, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (workload_is_active(w))
                return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE, "Workload '%s' is %s: stop it first.",
                                         w->name, workload_state_to_string(w->state));
        r = sd_bus_reply_method_return(msg, NULL);
        (void) workload_remove(w);
        return r;
}

static int method_wait(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        int r;

        /* Waiting releases an auto_remove workload: only those who may manage it may wait. */
        r = workload_authorize(msg, w, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (w->state == WORKLOAD_EXITED || w->state == WORKLOAD_FAILED) {
                r = sd_bus_reply_method_return(msg, "i", workload_exit_status(w));
                workload_untrack_client(w, msg);
                workload_maybe_auto_remove(w);
                return r;
        }
        return waiter_add(&w->exit_waiters, msg);
}

static void on_exec_reply(Workload *w, int r, const char *message, json_t *result, void *userdata) {
        sd_bus_message *msg = userdata;

        if (r < 0)
                (void) sd_bus_reply_method_errorf(
                        msg, r == -EBUSY ? ISOD_ERROR_BAD_STATE : ISOD_ERROR_START_FAILED, "%s",
                        message ?: strerror(-r));
        else
                (void) sd_bus_reply_method_return(
                        msg, "i", (int) json_integer_value(json_object_get(result, "exit_status")));
        sd_bus_message_unref(msg);
}

static int read_exec_options(sd_bus_message *msg, json_t *req, sd_bus_error *error) {
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
                if (streq(key, "env")) {
                        _cleanup_strv_free_ char **env = NULL;
                        json_t *a = json_array();

                        r = sd_bus_message_enter_container(msg, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_read_strv(msg, &env);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(msg);
                        if (r < 0 || strv_length(env) > SPEC_MAX_ENV) {
                                json_decref(a);
                                return sd_bus_error_setf(
                                        error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'env' must be an array of at most %u strings.",
                                        SPEC_MAX_ENV);
                        }
                        for (char **e = env; e && *e; e++) {
                                if (!strchr(*e, '=') || **e == '=') {
                                        json_decref(a);
                                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                                 "Environment entry '%s' is not NAME=VALUE.",
                                                                 *e);
                                }
                                json_array_append_new(a, json_string(*e));
                        }
                        json_object_set_new(req, "env", a);
                } else if (streq(key, "cwd") || streq(key, "user")) {
                        const char *s;
                        uid_t u;
                        gid_t g;

                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option '%s' must be a string.", key);
                        if (streq(key, "cwd") && !path_is_safe_absolute(s))
                                return sd_bus_error_setf(
                                        error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'cwd' must be an absolute path without '..'.");
                        if (streq(key, "user") && parse_user(s, &u, &g) < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'user' must be UID or UID:GID.");
                        json_object_set_new(req, key, json_string(s));
                } else if (streq(key, "terminal")) {
                        int b;

                        r = sd_bus_message_read(msg, "v", "b", &b);
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'terminal' must be a boolean.");
                        json_object_set_new(req, "terminal", json_boolean(b));
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.",
                                                 key);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(msg);
}

static int method_exec(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **args = NULL;
        Workload *w = ASSERT_PTR(userdata);
        int stdio[3] = { -EBADF, -EBADF, -EBADF };
        json_t *req = NULL, *a;
        int r;

        r = sd_bus_message_read_strv(msg, &args);
        if (r < 0)
                return r;
        if (strv_length(args) == 0 || strv_length(args) > SPEC_MAX_ARGS || !args[0][0])
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Exec needs 1 to %u arguments.",
                                         SPEC_MAX_ARGS);
        for (char **s = args; *s; s++)
                if (strlen(*s) >= SPEC_MAX_STRING)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "An argument is too long.");
        r = workload_authorize(msg, w, POLKIT_ACTION_EXEC, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = bus_read_stdio(msg, stdio, error);
        if (r < 0)
                goto finish;
        req = json_pack("{s:s}", "op", "exec");
        if (!req) {
                r = -ENOMEM;
                goto finish;
        }
        r = read_exec_options(msg, req, error);
        if (r < 0)
                goto finish;
        if (w->state != WORKLOAD_RUNNING) {
                r = sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE, "Workload '%s' is %s, not running.",
                                      w->name, workload_state_to_string(w->state));
                goto finish;
        }
        for (int i = 0; i < 3; i++)
                if (stdio[i] < 0) {
                        stdio[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
                        if (stdio[i] < 0) {
                                r = -errno;
                                goto finish;
                        }
                }
        a = json_array();
        for (char **s = args; *s; s++)
                json_array_append_new(a, json_string(*s));
        json_object_set_new(req, "args", a);
        r = send_request(msg, w, TAKE_PTR(req), stdio, 3, on_exec_reply, error);
finish:
        json_decref(req);
        for (int i = 0; i < 3; i++)
                if (stdio[i] >= 0)
                        (void) close(stdio[i]);
        return r;
}

static void on_stats_reply(Workload *w, int r, const char *message, json_t *result, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_message *msg = userdata;
        const char *key;
        json_t *v;

        if (r < 0) {
                (void) sd_bus_reply_method_errnof(msg, r, "%s", message ?: strerror(-r));
                goto finish;
        }
        if (sd_bus_message_new_method_return(msg, &reply) < 0 ||
            sd_bus_message_open_container(reply, 'a', "{sv}") < 0)
                goto finish;
        json_object_foreach (result, key, v) {
                if (json_is_integer(v) && json_integer_value(v) >= 0)
                        r = sd_bus_message_append(reply, "{sv}", key, "t", (uint64_t) json_integer_value(v));
                else if (json_is_integer(v))
                        r = sd_bus_message_append(reply, "{sv}", key, "x", (int64_t) json_integer_value(v));
                else if (json_is_real(v))
                        r = sd_bus_message_append(reply, "{sv}", key, "d", json_real_value(v));
                else if (json_is_string(v))
                        r = sd_bus_message_append(reply, "{sv}", key, "s", json_string_value(v));
                else if (json_is_boolean(v))
                        r = sd_bus_message_append(reply, "{sv}", key, "b", json_is_true(v));
                else
                        continue;
                if (r < 0)
                        goto finish;
        }
        if (sd_bus_message_close_container(reply) >= 0)
                (void) sd_bus_send(NULL, reply, NULL);
finish:
        sd_bus_message_unref(msg);
}

static int method_get_stats(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        int r;

        r = workload_authorize(msg, w, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!workload_is_active(w))
                return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE, "Workload '%s' is %s, not running.",
                                         w->name, workload_state_to_string(w->state));
        return send_request(msg, w, json_pack("{s:s}", "op", "stats"), NULL, 0, on_stats_reply, error);
}

static void on_attach_reply(Workload *w, int r, const char *message, json_t *result, void *userdata) {
        sd_bus_message *msg = userdata;

        if (r < 0)
                (void) sd_bus_reply_method_errorf(msg, ISOD_ERROR_BAD_STATE, "%s", message ?: strerror(-r));
        else
                (void) sd_bus_reply_method_return(
                        msg, "s", strempty(json_string_value(json_object_get(result, "reason"))));
        sd_bus_message_unref(msg);
}

/* Attach(a{sh} stdio, a{sv} options) -> s why: the client's fds joined to a running interactive
 * workload's stdin and output until the client closes its stdin (detach), a pipe of its breaks
 * or the workload ends. Deferred until then (docs/logs.md#attach). */
static int method_attach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        int stdio[3] = { -EBADF, -EBADF, -EBADF }, r;
        uint16_t rows = 0, cols = 0;

        r = workload_authorize(msg, w, POLKIT_ACTION_EXEC, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = bus_read_stdio(msg, stdio, error);
        if (r < 0)
                goto finish;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        while (r >= 0) {
                const char *key;

                r = sd_bus_message_enter_container(msg, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        break;
                if (streq(key, "rows") || streq(key, "cols")) {
                        uint16_t v;

                        r = sd_bus_message_read(msg, "v", "q", &v);
                        if (r < 0 || v == 0) {
                                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Option '%s' must be a positive q.", key);
                                goto finish;
                        }
                        if (streq(key, "rows"))
                                rows = v;
                        else
                                cols = v;
                } else {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Unknown option '%s' (expected rows, cols).", key);
                        goto finish;
                }
                r = sd_bus_message_exit_container(msg);
        }
        if (r < 0)
                goto finish;
        if (w->state != WORKLOAD_RUNNING) {
                r = sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE, "Workload '%s' is %s, not running.",
                                      w->name, workload_state_to_string(w->state));
                goto finish;
        }
        if (!w->stdin_open) {
                r = sd_bus_error_setf(
                        error, ISOD_ERROR_BAD_STATE,
                        "Workload '%s' was not launched detached with -i or -t: its stdin "
                        "is closed, there is nothing to attach to (isoctl logs -f shows its output).",
                        w->name);
                goto finish;
        }
        if (stdio[0] < 0 || stdio[1] < 0) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Attach needs at least stdin and stdout.");
                goto finish;
        }
        if (stdio[2] < 0) {
                stdio[2] = fcntl(stdio[1], F_DUPFD_CLOEXEC, 3);
                if (stdio[2] < 0) {
                        r = -errno;
                        goto finish;
                }
        }
        r = send_request(msg, w, json_pack("{s:s,s:i,s:i}", "op", "attach", "rows", rows, "cols", cols),
                         stdio, 3, on_attach_reply, error);
finish:
        for (int i = 0; i < 3; i++)
                if (stdio[i] >= 0)
                        (void) close(stdio[i]);
        return r;
}

static void on_resize_reply(Workload *w, int r, const char *message, json_t *result, void *userdata) {
        sd_bus_message *msg = userdata;

        if (r < 0)
                (void) sd_bus_reply_method_errorf(msg, ISOD_ERROR_BAD_STATE, "%s", message ?: strerror(-r));
        else
                (void) sd_bus_reply_method_return(msg, NULL);
        sd_bus_message_unref(msg);
}

/* ResizeTerminal(q rows, q cols): a detached -t workload's terminal (the one its monitor holds),
 * for an attached client whose window changed. */
static int method_resize_terminal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        uint16_t rows, cols;
        int r;

        r = sd_bus_message_read(msg, "qq", &rows, &cols);
        if (r < 0)
                return r;
        r = workload_authorize(msg, w, POLKIT_ACTION_EXEC, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (rows == 0 || cols == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Rows and columns must be positive.");
        if (w->state != WORKLOAD_RUNNING)
                return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE, "Workload '%s' is %s, not running.",
                                         w->name, workload_state_to_string(w->state));
        if (!w->spec->terminal || !w->stdin_open)
                return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE,
                                         "Workload '%s' has no terminal of its own (launch -d -t).",
                                         w->name);
        return send_request(
                msg, w, json_pack("{s:s,s:i,s:i}", "op", "resize", "rows", (int) rows, "cols", (int) cols),
                NULL, 0, on_resize_reply, error);
}

#define LOGS_TAIL_MAX 1000000U

/* GetLogs(a{sv} options) -> h: a pipe that an `isod-monitor --read-logs` fills with the records
 * asked for (docs/logs.md); isod itself copies nothing. */
static int method_get_logs(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        _cleanup_free_ char *dir = NULL, *opts = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        int follow = false, console = false, p[2], r;
        uint64_t tail = 0, since = 0;
        unsigned streams = 0;
        json_t *j;

        r = workload_authorize(msg, w, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
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
                if (streq(key, "follow") || streq(key, "console"))
                        r = sd_bus_message_read(msg, "v", "b", streq(key, "follow") ? &follow : &console);
                else if (streq(key, "tail") || streq(key, "since"))
                        r = sd_bus_message_read(msg, "v", "t", streq(key, "tail") ? &tail : &since);
                else if (streq(key, "stream")) {
                        const char *v;

                        r = sd_bus_message_read(msg, "v", "s", &v);
                        if (r >= 0 && !streq(v, "stdout") && !streq(v, "stderr") && !streq(v, ""))
                                return sd_bus_error_setf(
                                        error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Option 'stream' must be 'stdout' or 'stderr', not '%s'.", v);
                        if (r >= 0)
                                streams = streq(v, "stdout")   ? OUTPUT_LOG_STDOUT
                                          : streq(v, "stderr") ? OUTPUT_LOG_STDERR
                                                               : 0;
                } else
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS,
                                "Unknown option '%s' (expected follow, tail, since, stream, console).", key);
                if (r < 0)
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS,
                                "Option '%s' has the wrong type (follow, console: b; tail, since: t; stream: s).",
                                key);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        if (tail > LOGS_TAIL_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'tail' must be at most %u.", LOGS_TAIL_MAX);
        if (console && w->kind != BACKEND_VM)
                return sd_bus_error_setf(error, ISOD_ERROR_BAD_STATE,
                                         "Workload '%s' is a container: only VMs have a console log.",
                                         w->name);
        if (console && (tail || streams))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The console log is raw text: 'tail' and 'stream' do not apply.");
        if (!console && w->log_streams == 0)
                return sd_bus_error_setf(
                        error, ISOD_ERROR_BAD_STATE, "Workload '%s' has no output log: %s.", w->name,
                        w->state == WORKLOAD_CREATED ? "it has not been started"
                        : w->spec->terminal          ? "its terminal went to its client"
                                            : "its stdout and stderr went to the client that started it");
        if (!console && streams && !(w->log_streams & streams))
                return sd_bus_error_setf(
                        error, ISOD_ERROR_BAD_STATE,
                        "Workload '%s': its %s went to the client that started it, not to the log.", w->name,
                        streams == OUTPUT_LOG_STDOUT ? "stdout" : "stderr");
        /* Follow a running workload until its monitor ends (it writes everything out first). */
        if (follow && workload_is_active(w) && w->monitor_pid > 0)
                pidfd = pidfd_open_compat(w->monitor_pid, 0);

        j = json_pack("{s:i,s:I,s:I,s:b,s:b}", "streams", (int) streams, "tail", (json_int_t) tail,
                      "since_usec", (json_int_t) since, "follow", follow && pidfd >= 0, "console", console);
        opts = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!opts || asprintf(&dir, "%s/workloads/%s", w->manager->config.state_dir, w->name) < 0)
                return -ENOMEM;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        r = monitor_spawn_log_reader(w->manager, dir, opts, p[1], pidfd);
        (void) close(p[1]);
        if (r < 0) {
                (void) close(p[0]);
                return sd_bus_error_set_errnof(error, r, "Cannot start the log reader: %m");
        }
        r = sd_bus_reply_method_return(msg, "h", p[0]);
        (void) close(p[0]);
        return r;
}

/* Properties are readable by every bus peer allowed to talk to isod: environment values may be
 * secrets, so the Spec property carries only their names. */
static char *spec_redacted(const WorkloadSpec *spec) {
        json_t *j = workload_spec_to_json(spec), *env;
        size_t i;
        json_t *e;
        char *t;

        if (!j)
                return NULL;
        env = json_object_get(json_object_get(j, "process"), "env");
        json_array_foreach (env, i, e) {
                const char *kv = json_string_value(e), *eq = kv ? strchr(kv, '=') : NULL;
                _cleanup_free_ char *name = eq ? strndup(kv, (size_t) (eq - kv) + 1) : NULL;
                _cleanup_free_ char *red = NULL;

                if (name && asprintf(&red, "%s(hidden)", name) >= 0)
                        (void) json_array_set_new(env, i, json_string(red));
        }
        t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        return t;
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        _cleanup_free_ char *spec = NULL;
        const char *v = NULL;
        char buf[18];

        if (streq(property, "Name"))
                v = w->name;
        else if (streq(property, "Isolation"))
                v = backend_kind_to_string(w->kind);
        else if (streq(property, "State"))
                v = workload_state_to_string(w->state);
        else if (streq(property, "PolicyRule"))
                v = w->policy_rule;
        else if (streq(property, "PolicyReason"))
                v = w->policy_reason;
        else if (streq(property, "Reason"))
                v = w->reason;
        else if (streq(property, "Accelerator"))
                v = w->accel;
        else if (streq(property, "NetworkMode"))
                v = network_mode_to_string(w->spec->network);
        else if (streq(property, "Network"))
                v = w->net ? w->net->conf.network : NULL;
        else if (streq(property, "IPAddress"))
                v = w->net ? ipv4_to_string(w->net->conf.ip, buf) : NULL;
        else if (streq(property, "MACAddress"))
                v = w->net ? mac_to_string(w->net->conf.mac, buf) : NULL;
        else if (streq(property, "Spec")) {
                spec = spec_redacted(w->spec);
                if (!spec)
                        return -ENOMEM;
                v = spec;
        }
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_number(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);

        if (streq(property, "Owner"))
                return sd_bus_message_append(reply, "u", (uint32_t) w->owner_uid);
        if (streq(property, "LeaderPID"))
                return sd_bus_message_append(reply, "u",
                                             (uint32_t) (workload_is_active(w) ? w->leader_pid : 0));
        if (streq(property, "MonitorPID"))
                return sd_bus_message_append(reply, "u",
                                             (uint32_t) (workload_is_active(w) ? w->monitor_pid : 0));
        if (streq(property, "ExitStatus"))
                return sd_bus_message_append(reply, "i", (int32_t) w->exit_code);
        if (streq(property, "ExitSignal"))
                return sd_bus_message_append(reply, "i", (int32_t) w->exit_signal);
        if (streq(property, "CreatedTimestamp"))
                return sd_bus_message_append(reply, "t", w->created_usec);
        if (streq(property, "StartedTimestamp"))
                return sd_bus_message_append(reply, "t", w->started_usec);
        if (streq(property, "ExitedTimestamp"))
                return sd_bus_message_append(reply, "t", w->exited_usec);
        return -EINVAL;
}

static int property_get_ports(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Workload *w = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sqqs)");
        if (r < 0)
                return r;
        for (size_t i = 0; w->net && i < w->spec->n_ports; i++) {
                const SpecPort *p = &w->spec->ports[i];
                char a[16];

                r = sd_bus_message_append(reply, "(sqqs)", port_proto_to_string(p->proto), p->host, p->guest,
                                          p->address ? ipv4_to_string(p->address, a) : "");
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

#define PROP_S(name, flags) SD_BUS_PROPERTY(name, "s", property_get_string, 0, flags)
#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

const sd_bus_vtable workload_vtable[] = {
        SD_BUS_VTABLE_START(0),
        PROP_S("Name", CONST),
        PROP_S("Isolation", CONST),
        PROP_S("State", EMITS),
        PROP_S("PolicyRule", CONST),
        PROP_S("PolicyReason", CONST),
        PROP_S("Reason", EMITS),
        PROP_S("Accelerator", EMITS),
        PROP_S("Spec", CONST),
        PROP_S("NetworkMode", CONST),
        PROP_S("Network", CONST),
        PROP_S("IPAddress", CONST),
        PROP_S("MACAddress", CONST),
        SD_BUS_PROPERTY("Ports", "a(sqqs)", property_get_ports, 0, CONST),
        SD_BUS_PROPERTY("Owner", "u", property_get_number, 0, CONST),
        SD_BUS_PROPERTY("LeaderPID", "u", property_get_number, 0, EMITS),
        SD_BUS_PROPERTY("MonitorPID", "u", property_get_number, 0, EMITS),
        SD_BUS_PROPERTY("ExitStatus", "i", property_get_number, 0, EMITS),
        SD_BUS_PROPERTY("ExitSignal", "i", property_get_number, 0, EMITS),
        SD_BUS_PROPERTY("CreatedTimestamp", "t", property_get_number, 0, CONST),
        SD_BUS_PROPERTY("StartedTimestamp", "t", property_get_number, 0, EMITS),
        SD_BUS_PROPERTY("ExitedTimestamp", "t", property_get_number, 0, EMITS),
        SD_BUS_METHOD_WITH_NAMES("Start", "a{sh}", SD_BUS_PARAM(stdio), "", , method_start,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Stop", "t", SD_BUS_PARAM(timeout_usec), "", , method_stop,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Kill", "i", SD_BUS_PARAM(signal), "", , method_kill,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Remove", "", "", method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetLogs", "a{sv}", SD_BUS_PARAM(options), "h", SD_BUS_PARAM(fd),
                                 method_get_logs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ResizeTerminal", "qq", SD_BUS_PARAM(rows) SD_BUS_PARAM(cols), "", ,
                                 method_resize_terminal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Attach", "a{sh}a{sv}", SD_BUS_PARAM(stdio) SD_BUS_PARAM(options), "s",
                                 SD_BUS_PARAM(reason), method_attach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Wait", "", , "i", SD_BUS_PARAM(exit_status), method_wait,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Exec", "asa{sh}a{sv}",
                                 SD_BUS_PARAM(argv) SD_BUS_PARAM(stdio) SD_BUS_PARAM(options), "i",
                                 SD_BUS_PARAM(exit_status), method_exec, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetStats", "", , "a{sv}", SD_BUS_PARAM(stats), method_get_stats,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
