/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <systemd/sd-daemon.h>

#include "dbus-api.h"
#include "log.h"
#include "output-log.h"
#include "manager.h"
#include "monitor-spawn.h"
#include "util.h"

/* isod: the daemon. Single-threaded on sd-event; every workload lives in its own isod-monitor
 * process, so stopping or restarting isod leaves workloads running (they are re-adopted). */

static const char *arg_bus_address;

static void help(void) {
        printf("isod [OPTIONS]\n\n"
               "Runs workloads as VMs or containers behind the org.isod1 D-Bus API.\n\n"
               "  --bus-address=ADDR   connect to this bus instead of the system bus\n"
               "  --state-dir=DIR      runtime state (default " ISOD_STATE_DIR ")\n"
               "  --image-dir=DIR      built-in images (default " ISOD_IMAGE_DIR ")\n"
               "  --store-dir=DIR      imported images and their layers (default " ISOD_STORE_DIR ")\n"
               "  --image-importer=PATH isod-image-import (default " ISOD_IMPORT_PATH ")\n"
               "  --vm-dir=DIR         guest kernel and initramfs (default " ISOD_VM_DIR ")\n"
               "  --cache-dir=DIR      built images and filters (default " ISOD_CACHE_DIR ")\n"
               "  --policy=FILE        policy file (default " ISOD_POLICY_PATH ")\n"
               "  --monitor=PATH       isod-monitor binary (default " ISOD_MONITOR_PATH ")\n"
               "  --qemu=PATH          qemu-system-x86_64 (default " ISOD_QEMU_PATH ")\n"
               "  --accel=auto|kvm|tcg VM accelerator (default auto)\n"
               "  --private-socket=PATH direct D-Bus connections for root, as isoctl uses them\n"
               "                       (default STATE-DIR/private; empty: none)\n"
               "  --network-dir=DIR    network definitions and leases (default " ISOD_NETWORK_DIR ")\n"
               "  --dns-upstream=FILE  resolv.conf the networks' name servers forward to\n"
               "                       (default /etc/resolv.conf; empty: answer workload names only)\n"
               "  --log-max-size=SIZE  a detached workload's output log, per file (rotated once:\n"
               "                       at most about twice this on disk; default 4M, 64K-4G)\n"
               "  --spare-monitors=N   container monitors kept started ahead of launches, 0-%u\n"
               "                       (default %u)\n"
               "  --debug              log debug messages\n"
               "  --version            print the version\n",
               MANAGER_SPARES_MAX, MANAGER_SPARES_DEFAULT);
}

static int set_str(char **p, const char *v) {
        char *c = strdup(v);

        if (!c)
                return -ENOMEM;
        free(*p);
        *p = c;
        return 0;
}

static int parse_argv(int argc, char *argv[], ManagerConfig *cfg) {
        enum {
                ARG_BUS = 0x100,
                ARG_STATE,
                ARG_IMAGE,
                ARG_VM,
                ARG_CACHE,
                ARG_POLICY,
                ARG_MONITOR,
                ARG_QEMU,
                ARG_ACCEL,
                ARG_SPARES,
                ARG_PRIVATE,
                ARG_NETWORK_DIR,
                ARG_STORE_DIR,
                ARG_IMPORTER,
                ARG_DNS_UPSTREAM,
                ARG_LOG_MAX_SIZE,
                ARG_DEBUG,
                ARG_VERSION
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "bus-address", required_argument, NULL, ARG_BUS },
                { "state-dir", required_argument, NULL, ARG_STATE },
                { "image-dir", required_argument, NULL, ARG_IMAGE },
                { "vm-dir", required_argument, NULL, ARG_VM },
                { "cache-dir", required_argument, NULL, ARG_CACHE },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "monitor", required_argument, NULL, ARG_MONITOR },
                { "qemu", required_argument, NULL, ARG_QEMU },
                { "accel", required_argument, NULL, ARG_ACCEL },
                { "spare-monitors", required_argument, NULL, ARG_SPARES },
                { "private-socket", required_argument, NULL, ARG_PRIVATE },
                { "network-dir", required_argument, NULL, ARG_NETWORK_DIR },
                { "store-dir", required_argument, NULL, ARG_STORE_DIR },
                { "image-importer", required_argument, NULL, ARG_IMPORTER },
                { "dns-upstream", required_argument, NULL, ARG_DNS_UPSTREAM },
                { "log-max-size", required_argument, NULL, ARG_LOG_MAX_SIZE },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("isod %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_BUS:
                        arg_bus_address = optarg;
                        break;
                case ARG_STATE:
                        r = set_str(&cfg->state_dir, optarg);
                        break;
                case ARG_IMAGE:
                        r = set_str(&cfg->image_dir, optarg);
                        break;
                case ARG_VM:
                        r = set_str(&cfg->vm_dir, optarg);
                        break;
                case ARG_CACHE:
                        r = set_str(&cfg->cache_dir, optarg);
                        break;
                case ARG_POLICY:
                        r = set_str(&cfg->policy_path, optarg);
                        break;
                case ARG_MONITOR:
                        r = set_str(&cfg->monitor_path, optarg);
                        break;
                case ARG_QEMU:
                        r = set_str(&cfg->qemu, optarg);
                        break;
                case ARG_ACCEL:
                        if (!streq(optarg, "auto") && !streq(optarg, "kvm") && !streq(optarg, "tcg"))
                                return log_error_errno(-EINVAL, "--accel= must be auto, kvm or tcg.");
                        r = set_str(&cfg->accel, optarg);
                        break;
                case ARG_SPARES: {
                        uint32_t n;

                        if (safe_atou32(optarg, &n) < 0 || n > MANAGER_SPARES_MAX)
                                return log_error_errno(-EINVAL,
                                                       "--spare-monitors= must be a number from 0 to %u.",
                                                       MANAGER_SPARES_MAX);
                        cfg->spares = n;
                        cfg->spares_set = true;
                        break;
                }
                case ARG_PRIVATE:
                        if (optarg[0] != '\0' && optarg[0] != '/')
                                return log_error_errno(
                                        -EINVAL, "--private-socket= must be an absolute path or empty.");
                        r = set_str(&cfg->private_socket, optarg);
                        break;
                case ARG_NETWORK_DIR:
                        r = set_str(&cfg->network_dir, optarg);
                        break;
                case ARG_STORE_DIR:
                        r = set_str(&cfg->store_dir, optarg);
                        break;
                case ARG_IMPORTER:
                        r = set_str(&cfg->import_path, optarg);
                        break;
                case ARG_DNS_UPSTREAM:
                        if (optarg[0] != '\0' && optarg[0] != '/')
                                return log_error_errno(-EINVAL,
                                                       "--dns-upstream= must be an absolute path or empty.");
                        r = set_str(&cfg->dns_upstream, optarg);
                        break;
                case ARG_LOG_MAX_SIZE:
                        if (parse_size(optarg, &cfg->log_max_size) < 0 ||
                            cfg->log_max_size < OUTPUT_LOG_MIN_MAX || cfg->log_max_size > OUTPUT_LOG_MAX_MAX)
                                return log_error_errno(-EINVAL,
                                                       "--log-max-size= must be a size from 64K to 4G.");
                        break;
                case ARG_DEBUG:
                        cfg->debug = true;
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return log_oom();
        }
        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument '%s'.", argv[optind]);

        if (!cfg->spares_set)
                cfg->spares = MANAGER_SPARES_DEFAULT;
        if ((!cfg->state_dir && set_str(&cfg->state_dir, ISOD_STATE_DIR) < 0) ||
            (!cfg->image_dir && set_str(&cfg->image_dir, ISOD_IMAGE_DIR) < 0) ||
            (!cfg->vm_dir && set_str(&cfg->vm_dir, ISOD_VM_DIR) < 0) ||
            (!cfg->cache_dir && set_str(&cfg->cache_dir, ISOD_CACHE_DIR) < 0) ||
            (!cfg->policy_path && set_str(&cfg->policy_path, ISOD_POLICY_PATH) < 0) ||
            (!cfg->monitor_path && set_str(&cfg->monitor_path, ISOD_MONITOR_PATH) < 0) ||
            (!cfg->qemu && set_str(&cfg->qemu, ISOD_QEMU_PATH) < 0) ||
            (!cfg->accel && set_str(&cfg->accel, "auto") < 0) ||
            (!cfg->network_dir && set_str(&cfg->network_dir, ISOD_NETWORK_DIR) < 0) ||
            (!cfg->store_dir && set_str(&cfg->store_dir, ISOD_STORE_DIR) < 0) ||
            (!cfg->import_path && set_str(&cfg->import_path, ISOD_IMPORT_PATH) < 0) ||
            (!cfg->dns_upstream && set_str(&cfg->dns_upstream, "/etc/resolv.conf") < 0) ||
            (!cfg->private_socket && asprintf(&cfg->private_socket, "%s/private", cfg->state_dir) < 0))
                return log_oom();
        if (access(cfg->monitor_path, X_OK) < 0)
                return log_error_errno(-errno, "Cannot execute the monitor '%s': %m", cfg->monitor_path);
        for (const char *const *p =
                     (const char *const[]){ cfg->state_dir, cfg->image_dir, cfg->vm_dir, cfg->cache_dir,
                                            cfg->monitor_path, cfg->network_dir, cfg->store_dir,
                                            cfg->import_path, NULL };
             *p; p++)
                if ((*p)[0] != '/')
                        return log_error_errno(-EINVAL, "Path '%s' must be absolute.", *p);
        return 1;
}

/* Under systemd on the unified hierarchy, isod.service's cgroup is delegated to us (Delegate=yes in
 * the unit). cgroup v2 allows no processes in a cgroup whose children use controllers, so isod
 * moves itself into a "supervisor" child and the workloads' subtree goes beside it
 * (docs/cgroups.md). Without systemd as PID 1, or on v1/hybrid hosts, nothing to do. */
static void cgroup_enter_supervisor(void) {
        _cleanup_free_ char *line = NULL, *dir = NULL, *procs = NULL;
        struct statfs sfs;
        const char *p;

        if (access("/run/systemd/system", F_OK) < 0)
                return;
        if (statfs("/sys/fs/cgroup", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                return;
        if (read_one_line_file("/proc/self/cgroup", &line) < 0)
                return;
        p = startswith(line, "0::");
        if (!p || strlen(p) < strlen(".service") || !streq(p + strlen(p) - strlen(".service"), ".service"))
                return;
        if (asprintf(&dir, "/sys/fs/cgroup%s/supervisor", p) < 0 ||
            asprintf(&procs, "%s/cgroup.procs", dir) < 0)
                return;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                log_warning_errno(-errno, "Failed to create '%s', ignoring: %m", dir);
                return;
        }
        if (write_string_file(procs, "0") < 0)
                log_warning("Failed to move isod into '%s', ignoring.", dir);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *err = NULL;
        int r;

        r = manager_reload_policy(m, &err);
        if (r < 0)
                log_error("Policy reload on SIGHUP rejected, keeping the old policy: %s", strna(err));
        else if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, ISOD_MANAGER_PATH, ISOD_MANAGER_IFACE,
                                                      "PolicySource", NULL);
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        /* Workloads keep running in their monitors; a restarted isod re-adopts them. */
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down, workloads keep running.");
        log_info("Received SIG%s, exiting; %zu workload(s) keep running.",
                 strna(signal_to_name((int) si->ssi_signo)), m->n_workloads);
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        ManagerConfig cfg = {};
        sigset_t ss;
        int r;

        log_setup("isod", LOG_TARGET_AUTO);
        r = parse_argv(argc, argv, &cfg);
        if (r <= 0)
                return r < 0 ? 1 : 0;
        umask(0022);
        (void) signal(SIGPIPE, SIG_IGN);
        cgroup_enter_supervisor();

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m"), 1;
        r = manager_new(event, &cfg, &m);
        if (r < 0)
                return 1;

        (void) sd_event_add_signal(event, NULL, SIGTERM, on_sigterm, m);
        (void) sd_event_add_signal(event, NULL, SIGINT, on_sigterm, m);
        (void) sd_event_add_signal(event, NULL, SIGHUP, on_sighup, m);
        (void) sd_event_set_watchdog(event, true);

        r = bus_setup(m, arg_bus_address);
        if (r < 0)
                return 1;
        if (m->config.private_socket[0] != '\0') {
                r = bus_private_setup(m, m->config.private_socket);
                if (r < 0)
                        return 1;
        }
        r = manager_load(m);
        if (r < 0)
                log_warning_errno(r, "Failed to load existing workloads, ignoring: %m");
        manager_spare_refill(m);

        (void) sd_notifyf(false, "READY=1\nSTATUS=Managing %zu workload(s).", m->n_workloads);
        log_info("isod %s ready (%zu workload(s) adopted).", PACKAGE_VERSION, m->n_workloads);
        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        return 0;
}
