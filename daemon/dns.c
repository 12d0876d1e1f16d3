/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "network.h"
#include "util.h"

/* One name server per network (docs/network.md#names): Debian's dnsmasq (dnsmasq-base) on the
 * gateway address, port 53, answering NAME and NAME.isod for the network's workloads from a hosts
 * file isod writes (dnsmasq watches the directory with inotify: no signal, no restart), forwarding
 * the rest to the host's resolvers. No DHCP: addresses are static (ipam.c).
 *
 * Confined: its own mount namespace in which the whole tree is read-only, no_new_privs, no fd of
 * isod's, and dnsmasq itself drops to nobody once it has bound its port. It is not isod's child
 * for long: it outlives isod (kill -9 included), and a restarted isod finds it again through
 * STATE/networks/NAME/dns.pid (PID and start time) and watches it with a pidfd. */

#define DNS_RESTART_MIN_USEC (500 * USEC_PER_MSEC)
#define DNS_RESTART_MAX_USEC (60 * USEC_PER_SEC)

static int net_state_dir(Network *n) {
        if (mkdirat(n->manager->net_state_fd, n->name, 0755) < 0 && errno != EEXIST)
                return -errno;
        return openat(n->manager->net_state_fd, n->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

int dns_update_hosts(Network *n) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -EBADF, hfd = -EBADF;
        size_t len = 0, cap = 0;
        char a[16];

        dfd = net_state_dir(n);
        if (dfd < 0)
                return dfd;
        if (mkdirat(dfd, "hosts.d", 0755) < 0 && errno != EEXIST)
                return -errno;
        hfd = openat(dfd, "hosts.d", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (hfd < 0)
                return -errno;
        for (size_t i = 0; i < n->n_leases; i++) {
                /* Workload names are [A-Za-z0-9][A-Za-z0-9_.-]{0,63}: nothing to escape. */
                size_t need = 16 + 2 * strlen(n->leases[i].workload) + sizeof(NETCONF_DOMAIN) + 8;
                int k;

                if (len + need >= cap) {
                        char *t = realloc(text, cap + need + 4096);

                        if (!t)
                                return -ENOMEM;
                        text = t;
                        cap += need + 4096;
                }
                k = snprintf(text + len, cap - len, "%s %s.%s %s\n", ipv4_to_string(n->leases[i].ip, a),
                             n->leases[i].workload, NETCONF_DOMAIN, n->leases[i].workload);
                len += (size_t) k;
        }
        return write_file_atomic_at(hfd, "hosts", text ?: "", len, 0644);
}

static int on_dns_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void dns_forget(Network *n) {
        n->dns_src = sd_event_source_disable_unref(n->dns_src);
        n->dns_pidfd = safe_close(n->dns_pidfd);
        n->dns_pid = 0;
}

void dns_detach(Network *n) {
        dns_forget(n);
        n->dns_restart = sd_event_source_disable_unref(n->dns_restart);
        n->dns_refresh = sd_event_source_disable_unref(n->dns_refresh);
}

/* A dnsmasq just started reads the hosts directory, then sets up its inotify watch: a hosts file
 * renamed in between (the first workload's lease, right after the network was made) would be
 * missed. Writing the file again once it surely watches closes that window. */
static int on_dns_refresh(sd_event_source *s, uint64_t usec, void *userdata) {
        Network *n = userdata;

        n->dns_refresh = sd_event_source_disable_unref(n->dns_refresh);
        (void) dns_update_hosts(n);
        return 0;
}

static int dns_watch(Network *n, pid_t pid, int pidfd) {
        int r;

        n->dns_pid = pid;
        n->dns_pidfd = pidfd;
        r = sd_event_add_io(n->manager->event, &n->dns_src, pidfd, EPOLLIN, on_dns_exit, n);
        if (r < 0)
                dns_forget(n);
        return r;
}

/* The name server of a previous isod, if it still runs. */
static int dns_adopt(Network *n, int dfd) {
        _cleanup_free_ char *text = NULL, *comm = NULL;
        uint64_t start = 0, now = 0;
        unsigned long long st;
        char path[64];
        size_t size;
        int pid, pidfd;

        if (read_full_file_at(dfd, "dns.pid", 256, &text, &size) < 0 ||
            sscanf(text, "%d %llu", &pid, &st) != 2 || pid <= 1)
                return 0;
        start = st;
        (void) snprintf(path, sizeof path, "/proc/%d/comm", pid);
        if (pid_get_starttime(pid, &now) < 0 || now != start || read_one_line_file(path, &comm) < 0 ||
            !streq(comm, "dnsmasq"))
                return 0;
        pidfd = pidfd_open_compat(pid, 0);
        if (pidfd < 0)
                return 0;
        if (dns_watch(n, pid, pidfd) < 0)
                return 0;
        log_debug("Network '%s': adopted its name server (PID %d).", n->name, pid);
        return 1;
}

_noreturn_ static void dns_child(Network *n, const char *hostsdir, const char *upstream) {
        char listen[64], gw[16], hosts[4200], resolv[4200];
        const char *argv[24];
        size_t k = 0;
        int fd;

        /* isod's loop blocks the signals it handles: a fresh process gets the defaults. */
        {
                sigset_t none;

                for (int sig = 1; sig < _NSIG; sig++)
                        if (sig != SIGKILL && sig != SIGSTOP)
                                (void) signal(sig, SIG_DFL);
                (void) sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
        }
        (void) setsid();
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
                _exit(126);
        (void) close_all_fds_except((const int[]){ 2 }, 1);
        (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        /* A read-only view of everything: dnsmasq reads its hosts file and the resolvers, writes
         * nothing (no DHCP, no lease file, no PID file). It drops to nobody, who may not traverse
         * the state directory (/run/isod is 0700): its hosts directory and the upstream file are
         * bound where nobody may read them, on a tmpfs over /tmp in this namespace. */
        {
                /* Opened in this namespace: a mount of the parent's cannot be bound here. */
                char p[64];
                int hfd, ufd;

                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(121);
                hfd = open(hostsdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                ufd = upstream && *upstream ? open(upstream, O_PATH | O_CLOEXEC) : -EBADF;

                if (hfd < 0 || (upstream && *upstream && ufd < 0))
                        _exit(124);
                if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") <
                            0 ||
                    mkdir("/tmp/hosts.d", 0755) < 0)
                        _exit(125);
                (void) snprintf(p, sizeof p, "/proc/self/fd/%d", hfd);
                if (mount(p, "/tmp/hosts.d", NULL, MS_BIND, NULL) < 0)
                        _exit(122);
                if (ufd >= 0) {
                        int f = open("/tmp/resolv.conf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

                        (void) snprintf(p, sizeof p, "/proc/self/fd/%d", ufd);
                        if (f < 0 || close(f) < 0 || mount(p, "/tmp/resolv.conf", NULL, MS_BIND, NULL) < 0)
                                _exit(125);
                }
                if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE,
                                  &(struct mount_attr){ .attr_set = MOUNT_ATTR_RDONLY },
                                  sizeof(struct mount_attr)) < 0)
                        _exit(123);
        }
        hostsdir = "/tmp/hosts.d";
        if (upstream && *upstream)
                upstream = "/tmp/resolv.conf";

        (void) snprintf(listen, sizeof listen, "--listen-address=%s", ipv4_to_string(n->gateway, gw));
        (void) snprintf(hosts, sizeof hosts, "--hostsdir=%s", hostsdir);
        argv[k++] = "dnsmasq";
        argv[k++] = "--keep-in-foreground";
        argv[k++] = "--conf-file=/dev/null";
        argv[k++] = "--pid-file=";
        argv[k++] = "--user=nobody";
        argv[k++] = "--group=nogroup";
        argv[k++] = "--bind-interfaces";
        argv[k++] = listen;
        argv[k++] = "--except-interface=lo";
        argv[k++] = "--no-hosts";
        argv[k++] = hosts;
        argv[k++] = "--domain=" NETCONF_DOMAIN;
        argv[k++] = "--local=/" NETCONF_DOMAIN "/";
        argv[k++] = "--domain-needed";
        argv[k++] = "--bogus-priv";
        argv[k++] = "--log-facility=-";
        if (upstream && *upstream) {
                (void) snprintf(resolv, sizeof resolv, "--resolv-file=%s", upstream);
                argv[k++] = resolv;
        } else
                argv[k++] = "--no-resolv";
        argv[k] = NULL;
        execve(ISOD_DNSMASQ_PATH, (char **) argv,
               (char *[]){ (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL });
        _exit(127);
}

static int dns_spawn(Network *n, int dfd) {
        _cleanup_free_ char *hostsdir = NULL;
        uint64_t start;
        char text[64];
        pid_t pid;
        int pidfd, r;

        if (asprintf(&hostsdir, "%s/networks/%s/hosts.d", n->manager->config.state_dir, n->name) < 0)
                return -ENOMEM;
        if (strlen(hostsdir) > 4096 || strlen(strempty(n->manager->config.dns_upstream)) > 4096)
                return -ENAMETOOLONG;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                dns_child(n, hostsdir, n->manager->config.dns_upstream);
        pidfd = pidfd_open_compat(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        if (pid_get_starttime(pid, &start) >= 0) {
                (void) snprintf(text, sizeof text, "%d %llu\n", (int) pid, (unsigned long long) start);
                (void) write_file_atomic_at(dfd, "dns.pid", text, strlen(text), 0644);
        }
        r = dns_watch(n, pid, pidfd);
        if (r < 0) {
                (void) pidfd_send_signal_compat(pidfd, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                (void) close(pidfd);
                return r;
        }
        n->dns_refresh = sd_event_source_disable_unref(n->dns_refresh);
        (void) sd_event_add_time_relative(n->manager->event, &n->dns_refresh, CLOCK_MONOTONIC,
                                          500 * USEC_PER_MSEC, 0, on_dns_refresh, n);
        log_debug("Network '%s': started its name server (PID %d).", n->name, (int) pid);
        return 0;
}

int dns_start(Network *n) {
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (n->dns_pid > 0)
                return 0;
        dfd = net_state_dir(n);
        if (dfd < 0)
                return dfd;
        r = dns_update_hosts(n);
        if (r < 0)
                return r;
        if (dns_adopt(n, dfd) > 0)
                return 0;
        return dns_spawn(n, dfd);
}

static int on_dns_restart(sd_event_source *s, uint64_t usec, void *userdata) {
        Network *n = userdata;

        n->dns_restart = sd_event_source_disable_unref(n->dns_restart);
        if (dns_start(n) < 0)
                log_warning("Network '%s': its name server did not start again.", n->name);
        return 0;
}

static int on_dns_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Network *n = userdata;
        siginfo_t si = {};
        uint64_t delay;

        /* Ours if isod started it (reap it); a previous isod's otherwise (ECHILD). */
        (void) waitid(P_PIDFD, (id_t) n->dns_pidfd, &si, WEXITED | WNOHANG);
        log_warning("Network '%s': its name server (PID %d) exited (%s %d); starting it again.", n->name,
                    (int) n->dns_pid, si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
        dns_forget(n);
        delay = DNS_RESTART_MIN_USEC << (n->dns_failures < 7 ? n->dns_failures : 7);
        if (delay > DNS_RESTART_MAX_USEC)
                delay = DNS_RESTART_MAX_USEC;
        n->dns_failures++;
        (void) sd_event_add_time_relative(n->manager->event, &n->dns_restart, CLOCK_MONOTONIC, delay, 0,
                                          on_dns_restart, n);
        return 0;
}

void dns_stop(Network *n) {
        /* SIGKILL: it holds nothing worth a graceful end, and then the wait cannot hang (for a
         * previous isod's dnsmasq, not our child, waitid() answers ECHILD at once). */
        if (n->dns_pidfd >= 0) {
                (void) pidfd_send_signal_compat(n->dns_pidfd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) n->dns_pidfd, &(siginfo_t){}, WEXITED);
        }
        dns_detach(n);
}
