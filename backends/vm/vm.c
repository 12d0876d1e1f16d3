/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM backend (docs/vm.md): one jailed QEMU microVM per workload, owned by isod-monitor,
 * with isod-agent as PID 1 in the guest. This file is the state machine (QEMU's exit, QMP events,
 * the agent's messages, stop, kill, stats, teardown) and the backend table; vm-boot.c builds the
 * images and launches QEMU, vm-session.c carries stdio sessions and terminals, qemu.c builds the
 * command line and speaks QMP, jail.c makes the sandbox, image.c builds the rootfs image,
 * agent-host.c speaks the agent protocol, relay.c moves stdio bytes. */

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "links.h"
#include "log.h"
#include "util.h"
#include "vm-internal.h"

#define VM_MIN_MEMORY (UINT64_C(64) << 20)
#define VM_MAX_CPUS 64U
#define VM_POWEROFF_GRACE_USEC (10 * USEC_PER_SEC)
#define VM_STATS_TIMEOUT_USEC (500 * USEC_PER_MSEC)

/* ---------------------------------------------------------------- probe / validate */

static int vm_probe(const BackendHostConfig *cfg, char **ret_reason) {
        const char *qemu = cfg && cfg->qemu ? cfg->qemu : ISOD_QEMU_PATH;
        char *reason = NULL;
        VmAccel a;
        int r;

        if (access(qemu, X_OK) < 0) {
                if (ret_reason && asprintf(ret_reason, "%s not found (install qemu-system-x86)", qemu) < 0)
                        *ret_reason = NULL;
                return -EOPNOTSUPP;
        }
        /* The guest kernel and initramfs are prepared by isod-setup; without them no VM can boot. */
        if (cfg && cfg->vm_dir) {
                static const char *const files[] = { "vmlinux", "initramfs.cpio" };

                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/%s", cfg->vm_dir, files[i]) < 0)
                                return -ENOMEM;
                        if (access(p, R_OK) < 0) {
                                if (ret_reason &&
                                    asprintf(ret_reason, "no guest kernel: %s is missing (run isod-setup)",
                                             p) < 0)
                                        *ret_reason = NULL;
                                return -EOPNOTSUPP;
                        }
                }
        }
        r = vm_accel_detect(cfg && cfg->accel ? cfg->accel : "auto", &a, &reason);
        if (r < 0)
                return r;
        if (ret_reason)
                *ret_reason = reason;
        else
                free(reason);
        return 0;
}

static int vm_validate(const WorkloadSpec *s, char **reterr) {
        const char *msg = NULL;

        if (s->memory > 0 && s->memory < VM_MIN_MEMORY)
                msg = "A VM needs at least 64M of memory ('resources.memory').";
        else if (s->cpus > VM_MAX_CPUS)
                msg = "A VM has at most 64 vCPUs ('resources.cpus').";
        else if (s->n_rlimits > 0)
                msg = "'process.rlimits' is for containers only for now (the agent sets no limits in the "
                      "guest).";
        else if (s->pod)
                msg = "'pod' is for containers only: a VM does not join another workload's namespaces.";
        else if (s->caps_set)
                msg = "'capabilities' is for containers only: in a VM the workload's own kernel is the "
                      "boundary, and the agent runs it with root's full set.";
        else if (s->network == NETWORK_HOST)
                msg = "network mode \"host\" is for containers only; a VM has its own kernel and network "
                      "stack: use \"nat\" (a NIC on an isod network) or \"none\".";
        else if (s->network == NETWORK_NETNS)
                msg = "network mode \"netns\" is for containers only: a VM cannot join a network namespace "
                      "yet (its NIC would have to be wired to the namespace's interfaces).";
        for (size_t i = 0; !msg && i < s->n_mounts; i++)
                if (!s->mounts[i].readonly)
                        msg = "VMs support read-only mounts only (set 'readonly': true).";
        if (!msg)
                return 0;
        if (reterr)
                *reterr = strdup(msg);
        return -EINVAL; /* the spec asks what a VM cannot do: InvalidSpec, not BackendUnavailable */
}

/* ---------------------------------------------------------------- completion */

static void vm_stop_timer(Vm *vm) {
        vm->timer = sd_event_source_disable_unref(vm->timer);
}

int vm_arm_timer(Vm *vm, uint64_t usec, sd_event_time_handler_t cb) {
        vm_stop_timer(vm);
        return sd_event_add_time_relative(vm->m->event, &vm->timer, CLOCK_MONOTONIC, usec, 0, cb, vm);
}

void vm_kill_qemu(Vm *vm) {
        if (vm->qemu_pid > 0 && !vm->qemu_exited)
                (void) kill(vm->qemu_pid, SIGKILL);
}

uint64_t vm_since(Vm *vm) {
        return now_usec(CLOCK_MONOTONIC) - vm->t0;
}

static void vm_publish_timing(Vm *vm) {
        json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "spawn_usec", (json_int_t) vm->t_spawn,
                              "ready_usec", (json_int_t) vm->t_ready, "started_usec",
                              (json_int_t) vm->t_started, "exit_usec", (json_int_t) vm->t_exit,
                              "qemu_exit_usec", (json_int_t) vm->t_qemu_exit, "guest_agent_usec",
                              (json_int_t) vm->g_agent, "guest_modules_usec", (json_int_t) vm->g_modules,
                              "guest_ports_usec", (json_int_t) vm->g_ports);
        if (o)
                monitor_set_fact(vm->m, "timing", o);
}

/* Reports the end once QEMU is gone and every byte of stdout/stderr reached the client (or the
 * client is gone: its queue then discards). */
void vm_maybe_report(Vm *vm) {
        Monitor *m = vm->m;
        char buf[256];

        if (vm->reported || !vm->qemu_exited || outq_pending(vm->io.out[0]) > 0 ||
            outq_pending(vm->io.out[1]) > 0)
                return;
        vm->reported = true;
        vm_stop_timer(vm);
        vm_publish_timing(vm);

        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                if (vm->execs[i].id != 0)
                        exec_finish(vm, &vm->execs[i], -ESRCH, -1, "the VM has stopped");

        if (vm->workload_exited)
                monitor_payload_exited(m, (int) vm->exit_code, (int) vm->exit_signal,
                                       vm->exit_signal ? "signal" : "exited");
        else if (vm->guest_panicked || (vm->shutdown_reason && (streq(vm->shutdown_reason, "guest-reset") ||
                                                                streq(vm->shutdown_reason, "guest-panic"))))
                monitor_payload_exited(m, 255, 0, "panic");
        else if (vm->protocol_error)
                monitor_payload_failed(m, -EPROTO, vm->protocol_error);
        else if (vm->agent_error && !vm->workload_started)
                monitor_payload_failed(m, -EIO, vm->agent_error);
        else if (vm->stopping)
                monitor_payload_exited(m, 128 + SIGKILL, SIGKILL, "signal");
        else if (!vm->agent_ready) {
                (void) snprintf(
                        buf, sizeof buf,
                        "QEMU %s %d before the guest agent started (see console.log and qemu.log in the state directory)",
                        vm->qemu_signaled ? "was killed by signal" : "exited with status",
                        vm->qemu_signaled ? vm->qemu_status - 128 : vm->qemu_status);
                monitor_payload_failed(m, -EIO, buf);
        } else
                monitor_payload_exited(m, 255, 0, "qemu-died");
}

int on_qemu_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Vm *vm = userdata;

        vm->child_src = sd_event_source_disable_unref(vm->child_src);
        vm->qemu_exited = true;
        vm->t_qemu_exit = vm_since(vm);
        vm->qemu_signaled = si->si_code != CLD_EXITED;
        vm->qemu_status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
        /* Events QEMU sent just before exiting (SHUTDOWN with its reason) and the agent's last
         * frames are still in the sockets. */
        qmp_drain(vm->qmp);
        if (vm->agent)
                /* QEMU is gone, so what is left in the socket is finite (a socket buffer, and the
                 * output windows bound what we keep of it): read all of it. */
                for (unsigned i = 0; i < 1024 && agent_conn_pump(vm->agent, 0) > 0; i++)
                        ;
        /* Nobody reads stdin any more. */
        for (size_t i = 0; i <= VM_MAX_EXECS; i++) {
                VmExec *e = i == VM_MAX_EXECS ? &vm->io : &vm->execs[i];
                e->in_src = sd_event_source_disable_unref(e->in_src);
                e->retry_src = sd_event_source_disable_unref(e->retry_src);
        }
        vm_maybe_report(vm);
        return 0;
}

void on_qmp_event(Qmp *q, const char *event, json_t *data, void *userdata) {
        Vm *vm = userdata;
        json_t *reason;

        if (streq(event, "SHUTDOWN")) {
                reason = json_object_get(data, "reason");
                if (json_is_string(reason) && !vm->shutdown_reason)
                        vm->shutdown_reason = strdup(json_string_value(reason));
        } else if (streq(event, "GUEST_PANICKED"))
                vm->guest_panicked = true;
}

static int on_hard_stop(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        vm_stop_timer(vm);
        vm_kill_qemu(vm);
        return 0;
}

static int on_grace_over(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        /* Hard power-off: QMP quit, and SIGKILL if QEMU does not even do that. */
        vm->stopping = true;
        if (qmp_execute(vm->qmp, "quit") < 0)
                vm_kill_qemu(vm);
        (void) vm_arm_timer(vm, 5 * USEC_PER_SEC, on_hard_stop);
        return 0;
}

int on_boot_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Vm *vm = userdata;

        if (!vm->agent_error)
                vm->agent_error = strdup("the guest did not start the workload in time");
        return on_grace_over(s, usec, userdata);
}

/* ---------------------------------------------------------------- agent messages */

static void send_config(Vm *vm) {
        _cleanup_free_ uint8_t *kv = NULL;
        _cleanup_strv_free_ char **disks = NULL;
        size_t n;
        int r;

        for (size_t i = 0; i < vm->m->spec->n_mounts; i++) {
                char d[32];
                (void) snprintf(d, sizeof d, AGENT_DISK_MOUNT_PREFIX "%zu", i);
                if (strv_extend(&disks, d) < 0)
                        goto fail;
        }
        r = agent_encode_config(vm->m->spec, (const char *const *) disks, vm->tty ? &vm->ws : NULL,
                                vm->m->net, &kv, &n);
        if (r >= 0)
                r = agent_conn_send(vm->agent, AGENT_MSG_CONFIG, kv, n, NULL, 0);
        if (r >= 0) {
                /* After the CONFIG: the agent reads nothing else before it. */
                session_stdin_start(vm, &vm->io, vm->m->stdio[0]);
                return;
        }
fail:
        vm->agent_error = strdup("cannot send the configuration to the guest agent");
        (void) on_grace_over(NULL, 0, vm);
}

void on_agent_msg(AgentConn *a, const AgentMsg *msg, void *userdata) {
        Vm *vm = userdata;
        VmExec *e;

        switch (msg->type) {
        case AGENT_MSG_READY: {
                AgentKvIter it;
                const char *k, *v;
                size_t kl;

                if (vm->agent_ready)
                        break;
                vm->agent_ready = true;
                vm->t_ready = vm_since(vm);
                uint64_t version = 0;
                agent_kv_iter_init(&it, msg->kv.kv, msg->kv.size);
                while (agent_kv_next(&it, &k, &kl, &v) > 0) {
                        uint64_t u;
                        if (safe_atou64(v, &u) < 0 || u > (UINT64_C(1) << 40))
                                continue;
                        if (agent_kv_key_is(k, kl, "version"))
                                version = u;
                        else if (agent_kv_key_is(k, kl, "t_agent"))
                                vm->g_agent = u;
                        else if (agent_kv_key_is(k, kl, "t_modules"))
                                vm->g_modules = u;
                        else if (agent_kv_key_is(k, kl, "t_ports"))
                                vm->g_ports = u;
                        else if (agent_kv_key_is(k, kl, "net"))
                                vm->agent_net = u == 1;
                }
                if (version != AGENT_PROTO_VERSION) {
                        /* An initramfs from another isod: its agent would not understand us. */
                        if (asprintf(&vm->agent_error,
                                     "the guest agent speaks protocol version %" PRIu64
                                     ", this isod %u: run isod-vm-setup again",
                                     version, AGENT_PROTO_VERSION) < 0)
                                vm->agent_error = NULL;
                        (void) on_grace_over(NULL, 0, vm);
                        break;
                }
                if (vm->m->net && !vm->agent_net) {
                        /* An initramfs from before NICs: its agent would ignore net.* and run the
                         * workload without the network it asked for. */
                        vm->agent_error = strdup(
                                "the guest has no network support (no virtio_net module or an older "
                                "agent in the initramfs): run isod-vm-setup again");
                        (void) on_grace_over(NULL, 0, vm);
                        break;
                }
                send_config(vm);
                break;
        }
        case AGENT_MSG_STARTED:
                if (msg->id == 0) {
                        if (vm->workload_started)
                                break;
                        vm->workload_started = true;
                        vm->t_started = vm_since(vm);
                        vm_stop_timer(vm);
                        vm_publish_timing(vm);
                        vm_sync_winsize(vm);
                        vm_arm_winsize_poll(vm);
                        monitor_set_fact(vm->m, "guest_pid", json_integer(msg->started.pid));
                        monitor_payload_running(vm->m, vm->qemu_pid);
                }
                break;
        case AGENT_MSG_EXIT:
                if (msg->id == 0) {
                        if (vm->workload_exited)
                                break;
                        vm->workload_exited = true;
                        vm->t_exit = vm_since(vm);
                        vm->exit_code = msg->exit.code;
                        vm->exit_signal = msg->exit.signal;
                        /* Frames come in order: the workload's whole output is here already
                         * (queued for the client), and the agent waits for us to end QEMU. */
                        vm->io.in_src = sd_event_source_disable_unref(vm->io.in_src);
                        if (qmp_execute(vm->qmp, "quit") < 0)
                                vm_kill_qemu(vm);
                        (void) vm_arm_timer(vm, 5 * USEC_PER_SEC, on_hard_stop);
                } else if ((e = exec_find(vm, msg->id))) {
                        e->exited = true;
                        e->status = msg->exit.signal ? 128 + (int) msg->exit.signal : (int) msg->exit.code;
                        exec_maybe_finish(vm, e);
                }
                break;
        case AGENT_MSG_STDIN_ACK:
                e = session_find(vm, msg->id);
                if (e) {
                        e->in_flight -= MIN((uint64_t) msg->ack.bytes, e->in_flight);
                        if (e->in_src && !e->retry_src && e->in_flight < AGENT_STDIN_WINDOW)
                                (void) sd_event_source_set_enabled(e->in_src, SD_EVENT_ON);
                }
                break;
        case AGENT_MSG_STDOUT:
        case AGENT_MSG_STDERR:
                e = session_find(vm, msg->id);
                if (e && (e->x || e == &vm->io)) {
                        OutQueue *q = e->out[msg->type == AGENT_MSG_STDOUT ? 0 : 1];

                        e->out_rx += msg->data.size;
                        if (e->out_rx - e->out_acked > AGENT_OUTPUT_WINDOW) {
                                /* Beyond its window: a broken or hostile agent. */
                                on_agent_error(a, -EPROTO,
                                               "the guest agent overran a session's output window", vm);
                                break;
                        }
                        if (q && outq_push(q, msg->data.data, msg->data.size) < 0)
                                log_debug("Session %" PRIu32
                                          ": output dropped, the client does not read it.",
                                          e->id);
                        session_ack_output(vm, e);
                }
                break;
        case AGENT_MSG_ERROR: {
                _cleanup_free_ char *text = strndup((const char *) msg->data.data, msg->data.size);
                if (!text)
                        break;
                /* Never trust guest text: strip control characters. */
                for (char *c = text; *c; c++)
                        if ((unsigned char) *c < 0x20 || *c == 0x7f)
                                *c = ' ';
                if (msg->id == 0) {
                        if (!vm->agent_error)
                                vm->agent_error = TAKE_PTR(text);
                } else if ((e = exec_find(vm, msg->id)) && !e->error)
                        e->error = TAKE_PTR(text);
                break;
        }
        case AGENT_MSG_STATS: {
                AgentKvIter it;
                const char *k, *v;
                size_t kl;
                json_t *o = json_object();

                agent_kv_iter_init(&it, msg->kv.kv, msg->kv.size);
                while (o && agent_kv_next(&it, &k, &kl, &v) > 0) {
                        uint64_t u;
                        char key[32];
                        if (kl >= sizeof key || safe_atou64(v, &u) < 0 || u > (UINT64_C(1) << 62))
                                continue;
                        memcpy(key, k, kl);
                        key[kl] = 0;
                        if (streq(key, "mem_total") || streq(key, "mem_available") ||
                            streq(key, "cpu_usec") || streq(key, "pids") || streq(key, "uptime_usec"))
                                (void) json_object_set_new(o, key, json_integer((json_int_t) u));
                }
                json_decref(vm->guest_stats);
                vm->guest_stats = o;
                vm->guest_stats_usec = now_usec(CLOCK_MONOTONIC);
                break;
        }
        default:
                break;
        }
}

void on_agent_error(AgentConn *a, int error, const char *message, void *userdata) {
        Vm *vm = userdata;

        if (error == -ECONNRESET)
                return; /* QEMU went away; on_qemu_exit() decides */
        /* A hostile or broken guest: stop the VM, keep the monitor. */
        if (!vm->protocol_error && asprintf(&vm->protocol_error, "%s (%s)", message, strerror(-error)) < 0)
                vm->protocol_error = NULL;
        vm_kill_qemu(vm);
}

/* ---------------------------------------------------------------- stop, kill, stats */

static int vm_stop(Monitor *m, uint64_t timeout_usec) {
        Vm *vm = vm_get(m);

        if (!vm || vm->qemu_pid <= 0 || vm->qemu_exited)
                return -ESRCH;
        vm->stopping = true;
        if (vm->workload_started && !vm->workload_exited &&
            agent_conn_send_ids(vm->agent, AGENT_MSG_SIGNAL, 0, SIGTERM, 0, 2) >= 0)
                return vm_arm_timer(vm, timeout_usec, on_grace_over);
        /* Still booting (or the agent is unreachable): power off now. */
        return on_grace_over(NULL, 0, vm);
}

static int vm_kill(Monitor *m, int signo) {
        Vm *vm = vm_get(m);

        if (!vm || vm->qemu_pid <= 0 || vm->qemu_exited)
                return -ESRCH;
        if (signo <= 0 || signo >= 65)
                return -EINVAL;
        if (vm->workload_started && !vm->workload_exited)
                return agent_conn_send_ids(vm->agent, AGENT_MSG_SIGNAL, 0, (uint32_t) signo, 0, 2);
        if (signo == SIGKILL) {
                vm->stopping = true;
                vm_kill_qemu(vm);
                return 0;
        }
        return -EBUSY;
}

static int proc_qemu_figures(pid_t pid, json_t *o) {
        _cleanup_free_ char *status = NULL, *stat = NULL, *p = NULL;
        const char *l, *e;
        unsigned long long ut = 0, st = 0;
        int r;

        if (asprintf(&p, "/proc/%i/status", (int) pid) < 0)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, p, 65536, &status, NULL);
        if (r < 0)
                return r;
        l = strstr(status, "\nVmRSS:");
        if (l)
                (void) json_object_set_new(o, "vmm_rss_bytes",
                                           json_integer((json_int_t) strtoull(l + 7, NULL, 10) * 1024));
        free(p);
        if (asprintf(&p, "/proc/%i/stat", (int) pid) < 0)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, p, 65536, &stat, NULL);
        if (r < 0)
                return r;
        e = strrchr(stat, ')');
        if (e && sscanf(e + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
                long hz = sysconf(_SC_CLK_TCK);
                (void) json_object_set_new(
                        o, "vmm_cpu_usec",
                        json_integer((json_int_t) ((ut + st) * 1000000ULL /
                                                   (unsigned long long) (hz > 0 ? hz : 100))));
        }
        return 0;
}

static int vm_stats(Monitor *m, json_t **ret) {
        Vm *vm = vm_get(m);
        json_auto_t *o = NULL;
        json_t *g;
        uint64_t asked;

        if (!vm)
                return -ESRCH;
        o = json_object();
        if (!o)
                return -ENOMEM;
        (void) json_object_set_new(o, "accel", json_string(vm_accel_to_string(vm->accel)));
        if (vm->qemu_pid > 0 && !vm->qemu_exited) {
                (void) json_object_set_new(o, "vmm_pid", json_integer((json_int_t) vm->qemu_pid));
                (void) proc_qemu_figures(vm->qemu_pid, o);
        }
        if (m->net && vm->qemu_pid > 0 && !vm->qemu_exited) {
                /* The tap's counters, seen from the guest (what the tap sends, the guest gets). */
                LinkStats st;

                if (link_workload_stats(m->net->host_ifname, &st) >= 0) {
                        (void) json_object_set_new(o, "net_rx_bytes",
                                                   json_integer((json_int_t) st.rx_bytes));
                        (void) json_object_set_new(o, "net_rx_packets",
                                                   json_integer((json_int_t) st.rx_packets));
                        (void) json_object_set_new(o, "net_tx_bytes",
                                                   json_integer((json_int_t) st.tx_bytes));
                        (void) json_object_set_new(o, "net_tx_packets",
                                                   json_integer((json_int_t) st.tx_packets));
                }
        }

        /* Ask the agent, bounded; the answer arrives through on_agent_msg(). */
        if (vm->agent && vm->workload_started && !vm->workload_exited &&
            agent_conn_send(vm->agent, AGENT_MSG_STATS_REQUEST, NULL, 0, NULL, 0) >= 0) {
                asked = now_usec(CLOCK_MONOTONIC);
                while (vm->guest_stats_usec < asked &&
                       now_usec(CLOCK_MONOTONIC) < asked + VM_STATS_TIMEOUT_USEC)
                        if (agent_conn_pump(vm->agent,
                                            asked + VM_STATS_TIMEOUT_USEC - now_usec(CLOCK_MONOTONIC)) < 0)
                                break;
        }
        g = vm->guest_stats;
        if (g && json_is_integer(json_object_get(g, "mem_total"))) {
                json_int_t total = json_integer_value(json_object_get(g, "mem_total"));
                json_int_t avail = json_integer_value(json_object_get(g, "mem_available"));
                (void) json_object_set_new(o, "memory_bytes", json_integer(total - avail));
                (void) json_object_set_new(o, "memory_total_bytes", json_integer(total));
                (void) json_object_set(o, "cpu_usec", json_object_get(g, "cpu_usec"));
                (void) json_object_set(o, "pids", json_object_get(g, "pids"));
                (void) json_object_set_new(
                        o, "source",
                        json_string(vm->guest_stats_usec >= now_usec(CLOCK_MONOTONIC) - VM_STATS_TIMEOUT_USEC
                                            ? "agent"
                                            : "agent-cached"));
        } else
                (void) json_object_set_new(o, "source", json_string("host"));
        *ret = TAKE_PTR(o);
        return 0;
}

static void vm_destroy(Monitor *m) {
        Vm *vm = vm_get(m);

        if (!vm)
                return;
        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                if (vm->execs[i].id != 0)
                        exec_finish(vm, &vm->execs[i], -ESRCH, -1, "the VM was destroyed");
        if (vm->qemu_pid > 0 && !vm->qemu_exited) {
                (void) kill(vm->qemu_pid, SIGKILL);
                (void) waitpid(vm->qemu_pid, NULL, 0);
        }
        sd_event_source_disable_unref(vm->child_src);
        sd_event_source_disable_unref(vm->winch_src);
        sd_event_source_disable_unref(vm->winsize_timer);
        vm_stop_timer(vm);
        vm->cgroup = cgroup_destroy(vm->cgroup);
        for (size_t i = 0; vm->builds && i <= m->spec->n_mounts; i++)
                image_build_free(vm->builds[i]);
        free(vm->builds);
        qmp_free(vm->qmp);
        agent_conn_free(vm->agent);
        exec_finish(vm, &vm->io, 0, 0, NULL); /* no ExecRequest: frees the queues and stdin */
        relay_free(vm->relay_console);
        relay_free(vm->relay_qemu_log);
        if (vm->qemu_log_fd >= 0)
                (void) close(vm->qemu_log_fd);
        if (vm->qemu_err_pipe >= 0)
                (void) close(vm->qemu_err_pipe);
        if (vm->console_sock >= 0)
                (void) close(vm->console_sock);
        if (vm->console_fd >= 0)
                (void) close(vm->console_fd);
        if (vm->jail_dir)
                (void) rmdir(vm->jail_dir);
        free(vm->jail_dir);
        free(vm->rootfs_dir);
        free(vm->image);
        free(vm->inline_initrd);
        for (size_t i = 0; vm->mount_images && i < m->spec->n_mounts; i++)
                free(vm->mount_images[i]);
        free(vm->mount_images);
        free(vm->shutdown_reason);
        free(vm->agent_error);
        free(vm->protocol_error);
        json_decref(vm->guest_stats);
        free(vm);
        m->backend_data = NULL;
}

const struct backend_ops vm_backend_ops = {
        .name = "vm",
        .probe = vm_probe,
        .validate = vm_validate,
        .start = vm_start,
        .stop = vm_stop,
        .kill = vm_kill,
        .exec = vm_exec,
        .stats = vm_stats,
        .destroy = vm_destroy,
};
