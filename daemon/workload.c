/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "dbus-api.h"
#include "log.h"
#include "output-log.h"
#include "proto.h"
#include "monitor-spawn.h"
#include "util.h"
#include "network.h"
#include "workload.h"

bool workload_is_active(Workload *w) {
        return w->state == WORKLOAD_STARTING || w->state == WORKLOAD_RUNNING ||
               w->state == WORKLOAD_STOPPING;
}

int workload_exit_status(Workload *w) {
        return w->exit_code;
}

int workload_new(Manager *m, const char *name, Workload **ret) {
        Workload *w;
        int r;

        w = calloc(1, sizeof(Workload));
        if (!w)
                return -ENOMEM;
        w->manager = m;
        w->conn_fd = -EBADF;
        w->exit_code = -1;
        w->kind = _BACKEND_KIND_INVALID;
        w->name = strdup(name);
        if (!w->name) {
                free(w);
                return -ENOMEM;
        }
        r = sd_bus_path_encode("/org/isod1/workload", name, &w->path);
        if (r < 0) {
                free(w->name);
                free(w);
                return r;
        }
        *ret = w;
        return 0;
}

static void waiters_free(BusWaiter **list) {
        while (*list) {
                BusWaiter *b = *list;
                *list = b->next;
                sd_bus_message_unref(b->msg);
                free(b);
        }
}

static void workload_disconnect(Workload *w) {
        w->conn_src = sd_event_source_disable_unref(w->conn_src);
        if (w->conn_fd >= 0)
                (void) close(w->conn_fd);
        w->conn_fd = -EBADF;
        /* Requests that will never be answered now. */
        while (w->requests) {
                PendingRequest *p = w->requests;
                w->requests = p->next;
                p->cb(w, -ECONNRESET, "The workload's monitor went away.", NULL, p->userdata);
                free(p);
        }
}

Workload *workload_free(Workload *w) {
        if (!w)
                return NULL;
        workload_disconnect(w);
        waiters_free(&w->start_waiters);
        waiters_free(&w->exit_waiters);
        sd_bus_track_unref(w->track);
        for (size_t i = 0; i < w->n_holders; i++)
                sd_bus_unref(w->holders[i]);
        free(w->holders);
        workload_spec_free(w->spec);
        free(w->name);
        free(w->path);
        free(w->policy_rule);
        free(w->policy_reason);
        json_decref(w->image_json);
        free(w->reason);
        free(w->accel);
        workload_net_free(w->net);
        free(w);
        return NULL;
}

static json_t *workload_paths_json(Manager *m) {
        return json_pack("{s:s,s:s,s:s,s:s,s:s}", "image_dir", m->config.image_dir, "vm_dir",
                         m->config.vm_dir, "cache_dir", m->config.cache_dir, "qemu", m->config.qemu, "accel",
                         m->config.accel);
}

int workload_save(Workload *w) {
        _cleanup_free_ char *text = NULL;
        json_t *j, *spec;
        int dfd, r;

        spec = workload_spec_to_json(w->spec);
        if (!spec)
                return -ENOMEM;
        j = json_pack("{s:s,s:s,s:o,s:o,s:i,s:s,s:s?,s:b,s:I,s:s}", "name", w->name, "isolation",
                      backend_kind_to_string(w->kind), "spec", spec, "paths",
                      workload_paths_json(w->manager), "owner_uid", (int) w->owner_uid, "policy_rule",
                      strempty(w->policy_rule), "policy_reason", w->policy_reason, "auto_remove",
                      w->auto_remove, "created_usec", (json_int_t) w->created_usec, "state",
                      w->state == WORKLOAD_CREATED ? "created" : "started");
        if (!j)
                return -ENOMEM;
        if (w->net)
                json_object_set_new(j, "net", netconf_to_json(&w->net->conf));
        if (w->image_json)
                json_object_set(j, "image", w->image_json);
        if (w->log_streams || w->stdin_open)
                json_object_set_new(j, "log",
                                    json_pack("{s:i,s:I,s:b}", "streams", (int) w->log_streams, "max_size",
                                              (json_int_t) w->manager->config.log_max_size, "stdin",
                                              w->stdin_open));
        text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        dfd = openat(w->manager->workloads_fd, w->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return -errno;
        r = write_file_atomic_at(dfd, "workload.json", text, strlen(text), 0600);
        (void) close(dfd);
        return r;
}

static void workload_apply_monitor_state(Workload *w, json_t *j);

static void waiters_reply_exit(Workload *w) {
        while (w->exit_waiters) {
                BusWaiter *b = w->exit_waiters;
                const char *member = sd_bus_message_get_member(b->msg);

                w->exit_waiters = b->next;
                if (streq_ptr(member, "Wait"))
                        (void) sd_bus_reply_method_return(b->msg, "i", workload_exit_status(w));
                else
                        (void) sd_bus_reply_method_return(b->msg, NULL);
                /* A client that saw the end releases its hold on an auto_remove workload. */
                workload_untrack_client(w, b->msg);
                sd_bus_message_unref(b->msg);
                free(b);
        }
}

static void waiters_reply_started(Workload *w) {
        while (w->start_waiters) {
                BusWaiter *b = w->start_waiters;

                w->start_waiters = b->next;
                /* Failed before it ever ran (a start step, the monitor or the VMM died): the launch
                 * itself failed. */
                if (w->state == WORKLOAD_FAILED && w->leader_pid <= 0)
                        (void) sd_bus_reply_method_errorf(b->msg, ISOD_ERROR_START_FAILED,
                                                          "Workload '%s' failed to start: %s", w->name,
                                                          startswith(strempty(w->reason), "start-failed: ")
                                                                  ?: strna(w->reason));
                else if (streq_ptr(sd_bus_message_get_member(b->msg), "Start"))
                        (void) sd_bus_reply_method_return(b->msg, NULL);
                else
                        (void) sd_bus_reply_method_return(b->msg, "o", w->path);
                sd_bus_message_unref(b->msg);
                free(b);
        }
}

static void workload_set_state(Workload *w, WorkloadState s) {
        if (w->state == s)
                return;
        if (!workload_state_transition_ok(w->state, s)) {
                log_debug("Workload '%s': ignoring transition %s → %s.", w->name,
                          workload_state_to_string(w->state), workload_state_to_string(s));
                return;
        }
        log_debug("Workload '%s': %s → %s.", w->name, workload_state_to_string(w->state),
                  workload_state_to_string(s));
        w->state = s;
        if (s == WORKLOAD_FAILED && streq_ptr(w->reason, "oom"))
                bus_workload_event(w, "oom");
        bus_workload_event(w, workload_state_to_string(s));
}

static void workload_state_changed(Workload *w) {
        bool ended = w->state == WORKLOAD_EXITED || w->state == WORKLOAD_FAILED;

        /* The callers waiting for this first (a launch's client is on its critical path), then the
         * signal; the removal of an auto_remove workload last. */
        if (w->state != WORKLOAD_STARTING && w->state != WORKLOAD_CREATED)
                waiters_reply_started(w);
        if (ended)
                waiters_reply_exit(w);
        workload_send_changed(w);
        if (ended)
                workload_maybe_auto_remove(w);
}

static void workload_apply_monitor_state(Workload *w, json_t *j) {
        WorkloadState s = workload_state_from_string(json_string_value(json_object_get(j, "state")));
        json_t *facts = json_object_get(j, "facts");
        const char *reason = json_string_value(json_object_get(j, "reason"));

        if (s < 0)
                return;
        if (json_is_integer(json_object_get(j, "monitor_pid")))
                w->monitor_pid = (pid_t) json_integer_value(json_object_get(j, "monitor_pid"));
        w->leader_pid = (pid_t) json_integer_value(json_object_get(j, "leader_pid"));
        w->started_usec = (uint64_t) json_integer_value(json_object_get(j, "started_usec"));
        w->exited_usec = (uint64_t) json_integer_value(json_object_get(j, "exited_usec"));
        if (s == WORKLOAD_EXITED || s == WORKLOAD_FAILED) {
                w->exit_code = (int) json_integer_value(json_object_get(j, "exit_code"));
                w->exit_signal = (int) json_integer_value(json_object_get(j, "exit_signal"));
        }
        if (reason && !streq_ptr(reason, w->reason)) {
                free(w->reason);
                w->reason = strdup(reason);
        }
        if (json_is_string(json_object_get(facts, "accel"))) {
                free(w->accel);
                w->accel = strdup(json_string_value(json_object_get(facts, "accel")));
        }
        /* The monitor is authoritative; walk forward through intermediate states if we missed any. */
        if (w->state == WORKLOAD_CREATED && s != WORKLOAD_CREATED)
                workload_set_state(w, WORKLOAD_STARTING);
        workload_set_state(w, s);
        if ((s == WORKLOAD_EXITED || s == WORKLOAD_FAILED) && w->exit_signal == 0 && w->exit_code >= 0)
                log_workload(LOG_INFO, w->name, "Workload '%s' %s with status %d%s%s.", w->name,
                             workload_state_to_string(s), w->exit_code, w->reason ? ", " : "",
                             strempty(w->reason));
        else if (s == WORKLOAD_EXITED || s == WORKLOAD_FAILED)
                log_workload(LOG_INFO, w->name, "Workload '%s' %s: killed by signal %s.", w->name,
                             workload_state_to_string(s), strna(signal_to_name(w->exit_signal)));
        workload_state_changed(w);
}

/* The monitor is gone (EOF, or it was never reachable): its last words are in monitor.json. */
static void workload_monitor_gone(Workload *w) {
        _cleanup_free_ char *text = NULL;
        json_t *j = NULL;
        size_t size;
        int dfd;

        workload_disconnect(w);
        if (!workload_is_active(w))
                return;
        dfd = openat(w->manager->workloads_fd, w->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd >= 0 && read_full_file_at(dfd, "monitor.json", 64 * 1024, &text, &size) >= 0)
                j = json_loadb(text, size, 0, NULL);
        if (dfd >= 0)
                (void) close(dfd);
        if (j) {
                workload_apply_monitor_state(w, j);
                json_decref(j);
        }
        if (workload_is_active(w)) {
                /* It died without recording an end: report it, with the reason. */
                free(w->reason);
                w->reason = strdup("monitor-died");
                w->exit_code = 255;
                w->exit_signal = 0;
                w->exited_usec = now_usec(CLOCK_REALTIME);
                if (w->state == WORKLOAD_CREATED)
                        w->state = WORKLOAD_STARTING;
                workload_set_state(w, WORKLOAD_FAILED);
                log_workload(LOG_WARNING, w->name,
                             "Workload '%s': its monitor died without reporting an exit status.", w->name);
                workload_state_changed(w);
        }
}

static void workload_handle_message(Workload *w, json_t *msg, int *fds, size_t n_fds) {
        const char *event = json_string_value(json_object_get(msg, "event"));
        json_t *jid = json_object_get(msg, "id");

        if (event) {
                if (streq(event, "state"))
                        workload_apply_monitor_state(w, msg);
                return;
        }
        if (json_is_integer(jid)) {
                uint64_t id = (uint64_t) json_integer_value(jid);

                for (PendingRequest **p = &w->requests; *p; p = &(*p)->next) {
                        PendingRequest *q = *p;
                        json_t *err;

                        if (q->id != id)
                                continue;
                        *p = q->next;
                        err = json_object_get(msg, "error");
                        if (json_is_integer(err))
                                q->cb(w, -abs((int) json_integer_value(err)),
                                      json_string_value(json_object_get(msg, "message")), NULL, q->userdata);
                        else
                                q->cb(w, 0, NULL, json_object_get(msg, "result"), q->userdata);
                        free(q);
                        return;
                }
        }
}

static int on_monitor_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Workload *w = userdata;
        int fds[PROTO_MAX_FDS];
        size_t n_fds = 0;
        json_t *msg = NULL;
        int r;

        r = proto_recv(fd, &msg, fds, &n_fds);
        if (r == -EAGAIN || r == -EINTR)
                return 0;
        if (r == -EBADMSG || r == -EMSGSIZE) {
                log_warning_errno(r, "Workload '%s': malformed message from monitor, ignoring.", w->name);
                return 0;
        }
        if (r <= 0) {
                workload_monitor_gone(w);
                return 0;
        }
        workload_handle_message(w, msg, fds, n_fds);
        proto_close_fds(fds, n_fds);
        json_decref(msg);
        return 0;
}

static int workload_attach(Workload *w, int fd) {
        int r;

        r = sd_event_add_io(w->manager->event, &w->conn_src, fd, EPOLLIN, on_monitor_io, w);
        if (r < 0)
                return r;
        w->conn_fd = fd;
        return 0;
}

int workload_request(Workload *w, json_t *req, const int *fds, size_t n_fds, WorkloadRequestCallback cb,
                     void *userdata) {
        PendingRequest *p;
        uint64_t id;
        int r;

        if (w->conn_fd < 0)
                return -ENOTCONN;
        id = ++w->manager->next_request_id;
        json_object_set_new(req, "id", json_integer((json_int_t) id));
        p = calloc(1, sizeof(PendingRequest));
        if (!p)
                return -ENOMEM;
        r = proto_send(w->conn_fd, req, fds, n_fds);
        if (r < 0) {
                free(p);
                return r;
        }
        *p = (PendingRequest){ .id = id, .cb = cb, .userdata = userdata, .next = w->requests };
        w->requests = p;
        return 0;
}

static int connect_monitor(Workload *w) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;

        /* A long state directory and a 64-character name (an OCI container ID) overflow sun_path:
         * then the socket is named through the directory's descriptor. */
        if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/workloads/%s/monitor.sock",
                     w->manager->config.state_dir, w->name) >= (int) sizeof sa.sun_path) {
                dfd = openat(w->manager->workloads_fd, w->name,
                             O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0)
                        return -errno;
                (void) snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/monitor.sock", dfd);
        }
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A unix socket connect to a listening peer completes at once, even non-blocking. */
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static void on_status_reply(Workload *w, int r, const char *message, json_t *result, void *userdata) {
        if (r >= 0 && result)
                workload_apply_monitor_state(w, result);
}

int workload_load(Manager *m, const char *name, Workload **ret) {
        _cleanup_free_ char *text = NULL, *mtext = NULL, *err = NULL;
        Workload *w = NULL;
        json_t *j = NULL, *mj = NULL;
        bool auto_remove;
        size_t size;
        int dfd = -EBADF, r;

        dfd = openat(m->workloads_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return -errno;
        r = read_full_file_at(dfd, "workload.json", 1024 * 1024, &text, &size);
        if (r < 0)
                goto finish;
        j = json_loadb(text, size, 0, NULL);
        if (!j) {
                r = -EBADMSG;
                goto finish;
        }
        r = workload_new(m, name, &w);
        if (r < 0)
                goto finish;
        w->kind = backend_kind_from_string(json_string_value(json_object_get(j, "isolation")));
        r = workload_spec_from_json(json_object_get(j, "spec"), &w->spec, &err);
        if (r < 0 || w->kind < 0) {
                log_warning("Workload '%s': invalid workload.json (%s), ignoring.", name, strna(err));
                r = -EBADMSG;
                goto finish;
        }
        w->owner_uid = (uid_t) json_integer_value(json_object_get(j, "owner_uid"));
        w->policy_rule = strdup(strempty(json_string_value(json_object_get(j, "policy_rule"))));
        if (json_is_string(json_object_get(j, "policy_reason")))
                w->policy_reason = strdup(json_string_value(json_object_get(j, "policy_reason")));
        /* Restored at the end: the manager decides about removal once the workload is registered. */
        auto_remove = json_is_true(json_object_get(j, "auto_remove"));
        w->created_usec = (uint64_t) json_integer_value(json_object_get(j, "created_usec"));
        w->log_streams = (unsigned) json_integer_value(
                                 json_object_get(json_object_get(j, "log"), "streams")) &
                         (OUTPUT_LOG_STDOUT | OUTPUT_LOG_STDERR);
        w->state = WORKLOAD_CREATED;
        if (json_is_string(json_object_get(json_object_get(j, "image"), "id"))) {
                /* It pins its image: the store does not collect it while the workload exists. */
                w->image_json = json_incref(json_object_get(j, "image"));
        }
        if (json_is_object(json_object_get(j, "net")) &&
            network_workload_readopt(m, w, json_object_get(j, "net")) < 0)
                log_warning("Workload '%s': invalid \"net\" in workload.json, its network is not restored.",
                            name);

        if (streq_ptr(json_string_value(json_object_get(j, "state")), "started")) {
                int fd;

                /* It was started: the monitor's record tells where it is now. */
                w->state = WORKLOAD_STARTING;
                if (read_full_file_at(dfd, "monitor.json", 64 * 1024, &mtext, &size) >= 0)
                        mj = json_loadb(mtext, size, 0, NULL);
                if (mj)
                        workload_apply_monitor_state(w, mj);
                if (workload_is_active(w)) {
                        fd = connect_monitor(w);
                        if (fd >= 0 && workload_attach(w, fd) >= 0) {
                                json_t *req = json_pack("{s:s}", "op", "status");
                                if (req)
                                        (void) workload_request(w, req, NULL, 0, on_status_reply, NULL);
                                json_decref(req);
                                log_info("Re-adopted workload '%s' (monitor PID %d).", name,
                                         (int) w->monitor_pid);
                        } else {
                                if (fd >= 0)
                                        (void) close(fd);
                                /* Give a monitor that ended just now the chance to have written its end. */
                                workload_monitor_gone(w);
                        }
                }
        }
        w->auto_remove = auto_remove;
        *ret = TAKE_PTR(w);
        r = 0;
finish:
        json_decref(j);
        json_decref(mj);
        workload_free(w);
        (void) close(dfd);
        return r;
}

int workload_start(Workload *w, const int stdio[3]) {
        _cleanup_free_ char *dir = NULL;
        int conn = -EBADF, r;

        if (w->state != WORKLOAD_CREATED)
                return -EBUSY;
        if (asprintf(&dir, "%s/workloads/%s", w->manager->config.state_dir, w->name) < 0)
                return -ENOMEM;
        /* What the client did not give goes to the output log. A terminal the client gave is the
         * client's; without one (a detached -t), the monitor makes the terminal: its output is
         * logged as stdout and Attach can join it. */
        if (w->spec->terminal) {
                bool own = stdio[0] < 0 && stdio[1] < 0 && stdio[2] < 0;

                w->log_streams = own ? OUTPUT_LOG_STDOUT : 0;
                w->stdin_open = own;
        } else {
                w->log_streams = (stdio[1] < 0 ? OUTPUT_LOG_STDOUT : 0) |
                                 (stdio[2] < 0 ? OUTPUT_LOG_STDERR : 0);
                w->stdin_open = w->spec->interactive && stdio[0] < 0;
        }
        w->state = WORKLOAD_STARTING;
        r = workload_save(w);
        if (r < 0)
                goto fail;
        r = monitor_spawn_for(w->manager, dir, stdio, &conn);
        if (r < 0)
                goto fail;
        r = workload_attach(w, conn);
        if (r < 0) {
                (void) close(conn);
                goto fail;
        }
        w->started_usec = now_usec(CLOCK_REALTIME);
        workload_send_changed(w);
        bus_workload_event(w, "starting"); /* not yet for a launch: bus_workload_new() says it */
        return 0;
fail:
        w->state = WORKLOAD_CREATED;
        (void) workload_save(w);
        return r;
}

int workload_remove(Workload *w) {
        Manager *m = w->manager;
        int r;

        if (workload_is_active(w))
                return -EBUSY;
        network_workload_detach(m, w);
        r = rm_rf_at(m->workloads_fd, w->name);
        if (r < 0)
                log_warning_errno(r, "Failed to remove state of workload '%s', ignoring: %m", w->name);
        log_workload(LOG_INFO, w->name, "Removed workload '%s'.", w->name);
        manager_forget(m, w);
        return 0;
}

static int on_track_empty(sd_bus_track *t, void *userdata) {
        Workload *w = userdata;

        w->track = sd_bus_track_unref(w->track);
        workload_maybe_auto_remove(w);
        return 0;
}

void workload_maybe_auto_remove(Workload *w) {
        if (!w->auto_remove || workload_is_active(w) || w->state == WORKLOAD_CREATED || w->removed)
                return;
        if ((w->track && sd_bus_track_count(w->track) > 0) || w->n_holders > 0)
                return;
        (void) workload_remove(w);
}

int workload_track_client(Workload *w, sd_bus_message *m) {
        int r;

        /* A direct connection has no name: the connection itself is the holder. */
        if (!sd_bus_message_get_sender(m)) {
                sd_bus **h = reallocarray(w->holders, w->n_holders + 1, sizeof(sd_bus *));
                if (!h)
                        return -ENOMEM;
                w->holders = h;
                w->holders[w->n_holders++] = sd_bus_ref(sd_bus_message_get_bus(m));
                return 0;
        }
        if (!w->track) {
                r = sd_bus_track_new(sd_bus_message_get_bus(m), &w->track, on_track_empty, w);
                if (r < 0)
                        return r;
        }
        return sd_bus_track_add_sender(w->track, m);
}

static bool holder_remove(Workload *w, sd_bus *bus) {
        for (size_t i = 0; i < w->n_holders; i++)
                if (w->holders[i] == bus) {
                        sd_bus_unref(w->holders[i]);
                        w->holders[i] = w->holders[--w->n_holders];
                        return true;
                }
        return false;
}

void workload_untrack_client(Workload *w, sd_bus_message *m) {
        const char *sender = sd_bus_message_get_sender(m);

        if (!sender) {
                (void) holder_remove(w, sd_bus_message_get_bus(m));
                return;
        }
        if (!w->track)
                return;
        (void) sd_bus_track_remove_name(w->track, sender);
        if (sd_bus_track_count(w->track) == 0)
                w->track = sd_bus_track_unref(w->track);
}

void workload_release_connection(Workload *w, sd_bus *bus) {
        bool any = false;

        while (holder_remove(w, bus))
                any = true;
        if (any)
                workload_maybe_auto_remove(w);
}
