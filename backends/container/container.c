/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "container.h"
#include "links.h"
#include "util.h"

/* The container backend (runs in isod-monitor). The monitor clone3()s the container init into new
 * pid, mount, uts, ipc, net and cgroup namespaces; the child builds its file system
 * (mounts.c), applies identity and execs the workload, which is PID 1 of its namespace. Errors
 * in the child travel back over a CLOEXEC socket, so a bad path answers a clear message and
 * never a silent exit code. */

#define CONTAINER_NS_FLAGS \
        (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)

typedef struct ChildError {
        int error;
        char what[200];
} ChildError;

static Container *container_get(Monitor *m) {
        return m->backend_data;
}

static int container_probe(const BackendHostConfig *cfg, char **ret_reason) {
        struct stat st;

        if (geteuid() != 0) {
                *ret_reason = strdup("isod must run as root to create containers");
                return -EOPNOTSUPP;
        }
        if (stat("/proc/self/ns/pid", &st) < 0 || stat("/proc/self/ns/cgroup", &st) < 0) {
                *ret_reason = strdup("the kernel lacks pid or cgroup namespaces");
                return -EOPNOTSUPP;
        }
        return 0;
}

static int container_validate(const WorkloadSpec *spec, char **reterr) {
        uint64_t extra = spec->caps_set ? spec->caps & ~container_caps_default() : 0;

        if (extra) {
                int c = __builtin_ctzll(extra);
                if (reterr &&
                    asprintf(reterr,
                             "'capabilities': %s is beyond what isod gives a container (its default "
                             "set); only a narrower set can be asked for.",
                             capability_to_name(c)) < 0)
                        *reterr = NULL;
                return -EINVAL;
        }
        /* In a user namespace only ids 0…65535 exist (userns.c maps that many). */
        if (spec->userns) {
                bool bad = spec->user_set &&
                           (spec->uid >= container_userns_size() || spec->gid >= container_userns_size());

                for (size_t i = 0; i < spec->n_groups; i++)
                        bad = bad || spec->groups[i] >= container_userns_size();
                if (bad) {
                        if (reterr &&
                            asprintf(reterr,
                                     "With \"userns\": true, process.user and its groups must be below %u.",
                                     container_userns_size()) < 0)
                                *reterr = NULL;
                        return -EINVAL;
                }
        }
        return 0;
}

static pid_t clone3_pidfd(uint64_t flags, int *ret_pidfd) {
        struct clone_args args = {
                .flags = flags | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
        };

        return (pid_t) syscall(SYS_clone3, &args, sizeof args);
}

_noreturn_ static void child_fail(int fd, int error, const char *what) {
        ChildError e = { .error = abs(error) };

        (void) snprintf(e.what, sizeof e.what, "%s", what);
        (void) !write(fd, &e, sizeof e);
        _exit(127);
}

static const char *env_get(char **env, const char *name) {
        size_t n = strlen(name);

        for (char **e = env; e && *e; e++)
                if (strneq(*e, name, n) && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

/* execvpe() searches the *caller's* PATH; we want the workload's PATH (or the default). */
_noreturn_ static void exec_workload(int err_fd, char **args, char **env) {
        const char *path = env_get(env, "PATH")
                                   ?: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        char buf[4096];
        int last = ENOENT;

        if (strchr(args[0], '/')) {
                execve(args[0], args, env);
                child_fail(err_fd, errno, "execute the workload's program");
        }
        for (const char *p = path; p && *p;) {
                const char *e = strchr(p, ':');
                size_t n = e ? (size_t) (e - p) : strlen(p);

                if (n > 0 && n + strlen(args[0]) + 2 < sizeof buf) {
                        memcpy(buf, p, n);
                        buf[n] = '/';
                        strcpy(buf + n + 1, args[0]);
                        execve(buf, args, env);
                        if (errno != ENOENT)
                                last = errno;
                }
                p = e ? e + 1 : NULL;
        }
        child_fail(err_fd, last, "find the workload's program in PATH");
}

/* Sets "NAME=VALUE", replacing an earlier NAME: exec -e overrides the workload's own value. */
static int env_set(char ***env, const char *kv) {
        size_t n = strcspn(kv, "=");

        for (char **e = *env; e && *e; e++)
                if (strneq(*e, kv, n) && (*e)[n] == '=') {
                        char *c = strdup(kv);
                        if (!c)
                                return -ENOMEM;
                        free(*e);
                        *e = c;
                        return 0;
                }
        return strv_extend(env, kv);
}

static char **build_env(const WorkloadSpec *spec, const char *hostname) {
        _cleanup_strv_free_ char **env = NULL;
        char buf[128];

        if (!env_get(spec->env, "PATH") &&
            strv_extend(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return NULL;
        if (!env_get(spec->env, "HOME") && strv_extend(&env, "HOME=/root") < 0)
                return NULL;
        if (!env_get(spec->env, "TERM") && spec->terminal && strv_extend(&env, "TERM=xterm") < 0)
                return NULL;
        (void) snprintf(buf, sizeof buf, "HOSTNAME=%s", hostname);
        if (!env_get(spec->env, "HOSTNAME") && strv_extend(&env, buf) < 0)
                return NULL;
        if (!env_get(spec->env, "container") && strv_extend(&env, "container=isod") < 0)
                return NULL;
        for (char **e = spec->env; e && *e; e++)
                if (strv_extend(&env, *e) < 0)
                        return NULL;
        if (!env)
                env = calloc(1, sizeof(char *));
        return TAKE_PTR(env);
}

static int apply_user(bool user_set, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups) {
        if (!user_set)
                return setgroups(0, NULL) < 0 ? -errno : 0;
        if (setgroups(n_groups, groups) < 0)
                return -errno;
        if (setresgid(gid, gid, gid) < 0)
                return -errno;
        if (setresuid(uid, uid, uid) < 0)
                return -errno;
        return 0;
}

/* -t: the client's pseudo-terminal (stdin) becomes the controlling terminal of the workload's own
 * session, so job control and Ctrl-C work inside. */
static void make_controlling_terminal(int err_fd) {
        if (!isatty(STDIN_FILENO))
                child_fail(err_fd, ENOTTY, "use stdin as the terminal (a terminal was requested)");
        if (ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
                child_fail(err_fd, errno, "make stdin the controlling terminal");
}

/* The monitor blocks and ignores signals for its own event loop; a workload starts clean. */
static void reset_signals(void) {
        sigset_t ss;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        sigemptyset(&ss);
        (void) sigprocmask(SIG_SETMASK, &ss, NULL);
}

/* process.rlimits, while the process still has every capability (raising a hard limit needs
 * CAP_SYS_RESOURCE, which the bounding set then drops). */
static void apply_rlimits(const WorkloadSpec *spec, int err_fd) {
        for (size_t i = 0; i < spec->n_rlimits; i++) {
                struct rlimit rl = { spec->rlimits[i].soft, spec->rlimits[i].hard };
                char what[128];

                if (setrlimit(spec->rlimits[i].resource, &rl) < 0) {
                        (void) snprintf(what, sizeof what, "set %s to %" PRIu64 "/%" PRIu64,
                                        rlimit_to_name(spec->rlimits[i].resource), spec->rlimits[i].soft,
                                        spec->rlimits[i].hard);
                        child_fail(err_fd, errno, what);
                }
        }
}

/* The last steps of the workload's init and of an exec, in this order: after the user switch, the
 * capability sets and no_new_privs, then the seccomp filter, then execve. */
_noreturn_ static void finish_and_exec(Container *c, int err_fd, const char *cwd, char **args, char **env) {
        int r;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL); /* a credential change cleared it */
        if (chdir(cwd ?: "/") < 0)
                child_fail(err_fd, errno, "change to the working directory");
        r = container_caps_finish(container_caps_of(c->monitor->spec));
        if (r < 0)
                child_fail(err_fd, r, "set capabilities and no_new_privs");
        r = seccomp_program_load(c->seccomp);
        if (r < 0)
                child_fail(err_fd, r, "load the seccomp filter");
        exec_workload(err_fd, args, env);
}

_noreturn_ static void container_child(Monitor *m, Container *c, int err_fd) {
        const WorkloadSpec *spec = m->spec;
        const char *what = NULL, *hostname;
        char upper[4096], work[4096], root[4096], lower_mnt[4096], resolv[4096], hosts[4096];
        int idmap_fds[1 + SPEC_MAX_MOUNTS];
        char **env;
        int r;

        reset_signals();

        /* Its own session: no way back to a terminal it was not given (CVE-2017-5226). */
        if (setsid() < 0)
                child_fail(err_fd, errno, "create a session");
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);

        for (int i = 0; i < 3; i++) {
                int fd = m->stdio[i] >= 0 ? m->stdio[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
                if (fd < 0 || dup2(fd, i) < 0)
                        child_fail(err_fd, errno, "set up standard input/output");
        }
        if (spec->terminal)
                make_controlling_terminal(err_fd);

        /* A pod member: the pod's ipc, uts and network namespaces, before /sys is mounted (it shows
         * the network namespace of its mounter) and instead of a hostname of its own. */
        if (c->pod_pidfd >= 0 && setns(c->pod_pidfd, CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
                child_fail(err_fd, errno, "join the pod's ipc, uts and network namespaces");
        if (c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) < 0)
                child_fail(err_fd, errno, "join the network namespace");

        (void) snprintf(upper, sizeof upper, "%s/upper", m->dir);
        (void) snprintf(work, sizeof work, "%s/work", m->dir);
        (void) snprintf(root, sizeof root, "%s/rootfs", m->dir);
        (void) snprintf(lower_mnt, sizeof lower_mnt, "%s/lower", m->dir);
        (void) snprintf(resolv, sizeof resolv, "%s/resolv.conf", m->dir);
        (void) snprintf(hosts, sizeof hosts, "%s/hosts", m->dir);
        /* User namespace: wait for the monitor to write our id maps (userns.c). */
        if (c->userns) {
                r = container_userns_recv(c->userns_sync[1], idmap_fds, 1 + spec->n_mounts);
                if (r < 0)
                        child_fail(err_fd, r, "wait for the user namespace's id maps");
        }
        r = container_setup_fs(&(ContainerFsConfig){ .lower = c->lower,
                                                     .lower_stack = c->lower_stack,
                                                     .upper = upper,
                                                     .work = work,
                                                     .root = root,
                                                     .spec = spec,
                                                     .userns = c->userns,
                                                     .idmap_fds = c->userns ? idmap_fds : NULL,
                                                     .lower_mnt = lower_mnt,
                                                     .resolv_conf = c->net_files ? resolv : NULL,
                                                     .hosts = c->net_files ? hosts : NULL },
                               &what);
        if (r < 0)
                child_fail(err_fd, r, what);

        if (!c->net_ready && spec->network != NETWORK_HOST && spec->network != NETWORK_NETNS &&
            c->pod_pidfd < 0) {
                r = container_loopback_up();
                if (r < 0)
                        child_fail(err_fd, r, "bring up the loopback interface");
        }

        hostname = spec->hostname ?: m->name;
        if (c->pod_pidfd >= 0) {
                static char podname[HOST_NAME_MAX + 1];

                if (gethostname(podname, sizeof podname - 1) < 0)
                        child_fail(err_fd, errno, "read the pod's hostname");
                hostname = podname;
        } else if (sethostname(hostname, strlen(hostname)) < 0)
                child_fail(err_fd, errno, "set the hostname");

        env = build_env(spec, hostname);
        if (!env)
                child_fail(err_fd, ENOMEM, "build the environment");

        /* Privileges (caps.c, docs/security.md): bounding set, user, capability sets, no_new_privs,
         * then the seccomp filter as the very last step before execve(). */
        apply_rlimits(m->spec, err_fd);
        r = container_caps_bound(container_caps_of(m->spec));
        if (r < 0)
                child_fail(err_fd, r, "drop capabilities from the bounding set");
        r = apply_user(spec->user_set, spec->uid, spec->gid, spec->groups, spec->n_groups);
        if (r < 0)
                child_fail(err_fd, r, "switch to the workload's user");
        finish_and_exec(c, err_fd, spec->cwd, spec->args, env);
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Monitor *m = userdata;
        Container *c = container_get(m);
        uint64_t oom_kills = 0;

        c->child_src = sd_event_source_disable_unref(c->child_src);
        c->stop_timer = sd_event_source_disable_unref(c->stop_timer);
        /* Died of (or after) the kernel's OOM killer in its cgroup: failed, reason "oom". An init
         * that exited 0 although a helper of it was OOM-killed coped with it: exited. */
        if (c->cgroup && cgroup_oom_kills(c->cgroup, &oom_kills) >= 0 && oom_kills > 0 &&
            (si->si_code != CLD_EXITED || si->si_status != 0))
                monitor_payload_exited(m, si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status,
                                       si->si_code == CLD_EXITED ? 0 : si->si_status, "oom");
        else if (si->si_code == CLD_EXITED)
                monitor_payload_exited(m, si->si_status, 0, "exited");
        else
                monitor_payload_exited(m, 128 + si->si_status, si->si_status, "signal");
        /* Reported: now the mount namespace may go, and its unmounting with it (see start). */
        c->mnt_ns_fd = safe_close(c->mnt_ns_fd);
        return 0;
}

/* DIR/init: the mount points the container's set-up needs (mounts.c), as an overlay layer above
 * a read-only image's. The files are bind targets only when the network files are written. */
static int make_init_layer(Monitor *m) {
        _cleanup_close_ int fd = -EBADF;

        if (strpbrk(m->dir, ",:\\"))
                return -EINVAL;
        if (mkdirat(m->dir_fd, "init", 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(m->dir_fd, "init", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (const char *const *d = (const char *const[]){ "proc", "dev", "sys", "tmp", "run", "etc", NULL };
             *d; d++)
                if (mkdirat(fd, *d, 0755) < 0 && errno != EEXIST)
                        return -errno;
        if (m->net || m->spec->network == NETWORK_HOST)
                for (const char *const *f = (const char *const[]){ "etc/resolv.conf", "etc/hosts", NULL };
                     *f; f++) {
                        int ffd = openat(fd, *f, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                        if (ffd < 0)
                                return -errno;
                        (void) close(ffd);
                }
        return 0;
}

static int resolve_lower(Monitor *m, Container *c) {
        struct stat st;

        if (m->image) {
                /* A stored image: its layers are overlay's lower directories, top first. The
                 * store's short names (l/…) keep 128 of them within one page of options. */
                for (size_t i = 0; i < m->image->n_layers; i++) {
                        if (strpbrk(m->image->layers[i], ",:\\"))
                                return -EINVAL;
                        if (stat(m->image->layers[i], &st) < 0 || !S_ISDIR(st.st_mode))
                                return -ENOENT;
                }
                if (m->spec->readonly_rootfs && !m->spec->userns) {
                        _cleanup_free_ char *layers = strv_join(m->image->layers, ":");
                        int r;

                        /* No upper layer to make mount points in: a top layer of our own holds
                         * them (like Docker's init layer), so that any image can run read-only. */
                        r = make_init_layer(m);
                        if (r < 0)
                                return r;
                        if (!layers || asprintf(&c->lower, "%s/init:%s", m->dir, layers) < 0)
                                return -ENOMEM;
                        c->lower_stack = true;
                        return 0;
                }
                c->lower = strv_join(m->image->layers, ":");
                c->lower_stack = m->image->n_layers > 1;
                return c->lower ? 0 : -ENOMEM;
        }
        if (m->spec->rootfs) {
                c->lower = strdup(m->spec->rootfs);
        } else if (asprintf(&c->lower, "%s/%s/rootfs", m->paths.image_dir, m->spec->image) < 0)
                c->lower = NULL;
        if (!c->lower)
                return -ENOMEM;
        if (stat(c->lower, &st) < 0 || !S_ISDIR(st.st_mode))
                return -ENOENT;
        return 0;
}

/* DIR/resolv.conf and DIR/hosts, bound on the workload's /etc (mounts.c). nat: the network's name
 * server on the gateway (dnsmasq: workloads by name, the rest forwarded), never a copied
 * 127.0.0.53; host: the host's own files, as the host's network namespace is shared. */
static int write_net_files(Monitor *m, Container *c) {
        const char *hostname = m->spec->hostname ?: m->name;
        _cleanup_free_ char *text = NULL, *hosts = NULL;
        char ip[16];
        size_t size;
        int r;

        if (m->net) {
                _cleanup_free_ char *ns = NULL;

                for (size_t i = 0; i < m->net->n_dns; i++) {
                        char *n;

                        if (asprintf(&n, "%snameserver %s\n", strempty(ns),
                                     ipv4_to_string(m->net->dns[i], ip)) < 0)
                                return -ENOMEM;
                        free(ns);
                        ns = n;
                }
                if (asprintf(&text, "# isod: network %s\n%ssearch " NETCONF_DOMAIN "\n", m->net->network,
                             strempty(ns)) < 0 ||
                    asprintf(&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n%s\t%s\n",
                             ipv4_to_string(m->net->ip, ip), hostname) < 0)
                        return -ENOMEM;
        } else if (m->spec->network == NETWORK_HOST) {
                r = read_full_file_at(AT_FDCWD, "/etc/resolv.conf", 64 * 1024, &text, &size);
                if (r < 0 && asprintf(&text, "# isod: the host has no /etc/resolv.conf\n") < 0)
                        return -ENOMEM;
                r = read_full_file_at(AT_FDCWD, "/etc/hosts", 1024 * 1024, &hosts, &size);
                if (r < 0 && asprintf(&hosts, "127.0.0.1\tlocalhost\n") < 0)
                        return -ENOMEM;
        } else
                return 0;
        r = write_file_atomic_at(m->dir_fd, "resolv.conf", text, strlen(text), 0644);
        if (r < 0)
                return r;
        r = write_file_atomic_at(m->dir_fd, "hosts", hosts, strlen(hosts), 0644);
        if (r < 0)
                return r;
        c->net_files = true;
        return 0;
}

/* The workload's eth0, made from here (the host's network namespace) into the init's, while the
 * init waits for our byte: a workload never starts without the network it asked for. */
static int container_net_setup(Monitor *m, pid_t pid) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t t0;
        char p[64];
        int r;

        (void) snprintf(p, sizeof p, "/proc/%d/ns/net", (int) pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        t0 = now_usec(CLOCK_MONOTONIC);
        r = link_veth_create(m->net, fd);
        if (r == -EEXIST) /* a stale host end of the same name, now removed: once more */
                r = link_veth_create(m->net, fd);
        if (r >= 0) {
                monitor_set_fact(m, "host_ifname", json_string(m->net->host_ifname));
                monitor_set_fact(m, "net_setup_usec",
                                 json_integer((json_int_t) (now_usec(CLOCK_MONOTONIC) - t0)));
        }
        return r;
}

typedef struct InitArgs {
        Monitor *m;
        Container *c;
        int fd;       /* the child's end of the socketpair */
        int other_fd; /* the monitor's end */
        bool wait;    /* for the monitor's byte: it places us in our cgroup first */
} InitArgs;

/* The container init, from clone to container_child(). It may run on a copy of the spare holder's
 * stack (cgroup-spare.c): everything it needs comes through args. */
static int container_init(void *p) {
        InitArgs *a = p;

        (void) close(a->other_fd);
        /* Wait until the monitor has placed us in the workload's cgroup (v1: by PID, in the
         * hierarchies we were not born in) and written the last limits. Born placed (a spare's
         * holder in every hierarchy, no pids.max pending), we go on at once: one wake-up less on
         * the launch's path. */
        if (a->wait && read(a->fd, &(char){ 0 }, 1) != 1)
                _exit(127);
        if (unshare(CLONE_NEWCGROUP) < 0)
                child_fail(a->fd, errno, "create a cgroup namespace");
        container_child(a->m, a->c, a->fd);
}

static int container_start(Monitor *m) {
        _cleanup_free_ char *cg_path = NULL, *cg_msg = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        int sp[2] = { -EBADF, -EBADF };
        ChildError ce = {};
        InitArgs init_args;
        Container *c;
        char msg[512];
        ssize_t k;
        pid_t pid;
        int r;

        c = calloc(1, sizeof(Container));
        if (!c)
                return -ENOMEM;
        c->monitor = m;
        c->pidfd = -EBADF;
        c->pod_pidfd = -EBADF;
        c->netns_fd = -EBADF;
        c->mnt_ns_fd = -EBADF;
        c->userns_lock_fd = -EBADF;
        c->userns_sync[0] = c->userns_sync[1] = -EBADF;
        m->backend_data = c;

        if (m->spec->pod) {
                r = container_pod_open(m, &c->pod_pidfd, msg, sizeof msg);
                if (r < 0) {
                        if (r == -ENOMEM)
                                return r;
                        monitor_payload_failed(m, r, msg);
                        return r;
                }
        }
        if (m->spec->network == NETWORK_NETNS) {
                r = container_netns_open(m->spec->netns_path, &c->netns_fd, msg, sizeof msg);
                if (r < 0) {
                        monitor_payload_failed(m, r, msg);
                        return r;
                }
        }
        r = resolve_lower(m, c);
        if (r == -ENOENT) {
                (void) snprintf(msg, sizeof msg, "%s '%s' not found",
                                m->spec->rootfs ? "rootfs directory" : "image",
                                m->spec->rootfs ?: m->spec->image);
                monitor_payload_failed(m, r, msg);
                return r;
        }
        if (r < 0)
                return r;
        if (mkdirat(m->dir_fd, "upper", 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdirat(m->dir_fd, "work", 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdirat(m->dir_fd, "rootfs", 0755) < 0 && errno != EEXIST)
                return -errno;

        r = write_net_files(m, c);
        if (r < 0) {
                monitor_payload_failed(m, r, "write the workload's /etc/resolv.conf and /etc/hosts");
                return r;
        }

        /* seccomp program (compiled once, cached), user namespace id range (docs/security.md). */
        {
                _cleanup_free_ char *sec_msg = NULL;

                r = container_security_prepare(m, c, &sec_msg);
                if (r < 0) {
                        monitor_payload_failed(m, r, sec_msg ?: "prepare the workload's security settings");
                        return r;
                }
        }

        /* The cgroup exists, limited, before the payload does (cgroup.c, docs/cgroups.md). */
        r = cgroup_path_for_workload(m->dir, "ctr", m->name, &cg_path);
        if (r < 0)
                return r;
        /* A spare monitor brings leaves that already hold its holder process (v1): renamed, limited,
         * and the init is born in them — no task migration on the launch path. */
        r = cgroup_setup_with_spare(&m->cgroup_spare, cg_path,
                                    &(CgroupLimits){ .memory = m->spec->memory,
                                                     .cpus = m->spec->cpus,
                                                     .pids = m->spec->pids,
                                                     .io_weight = m->spec->io_weight,
                                                     .cpu_weight = m->spec->cpu_weight },
                                    &c->cgroup, &cg_msg);
        if (r < 0) {
                (void) snprintf(msg, sizeof msg, "set up the workload's cgroup: %s", cg_msg ?: strerror(-r));
                monitor_payload_failed(m, r, msg);
                return r;
        }
        monitor_set_fact(m, "cgroup", json_string(cgroup_path(c->cgroup)));

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;

        /* No CLONE_NEWCGROUP here: the child unshares it once it is in its cgroup, so that the
         * namespace is rooted at the workload's cgroup (which /proc/self/cgroup shows as "/"). */
        /* The child copies init_args and c as they are at the clone: what it is told must match
         * how it is cloned, so a holder found gone (-EAGAIN) means asking again. */
        for (int attempt = 0;; attempt++) {
                uint64_t flags = (CONTAINER_NS_FLAGS & ~CLONE_NEWCGROUP) | (c->userns ? CLONE_NEWUSER : 0);

                if (m->spec->network == NETWORK_HOST || m->spec->network == NETWORK_NETNS)
                        flags &= ~(uint64_t) CLONE_NEWNET;
                init_args = (InitArgs){ .m = m,
                                        .c = c,
                                        .fd = sp[1],
                                        .other_fd = sp[0],
                                        .wait = c->userns || m->net ||
                                                !cgroup_clone_born_placed(c->cgroup) };
                c->net_ready = cgroup_clone_net_ready(c->cgroup, flags);
                pid = cgroup_clone_fn(c->cgroup, flags, container_init, &init_args, &pidfd);
                if (pid != -EAGAIN || attempt > 0)
                        break;
        }
        if (pid < 0) {
                r = pid;
                (void) close(sp[0]);
                (void) close(sp[1]);
                return r;
        }
        (void) close(sp[1]);
        /* Held by us, the init's mount namespace outlives it: the exit of a container's last
         * process then does not wait for its mounts to be torn down (an RCU grace period among
         * them); that happens once the exit has been reported. The init is our child and not yet
         * reaped, so its PID is its own. */
        {
                char p[64];

                (void) snprintf(p, sizeof p, "/proc/%d/ns/mnt", (int) pid);
                c->mnt_ns_fd = open(p, O_RDONLY | O_CLOEXEC);
        }
        r = cgroup_place_child(c->cgroup, pid);
        if (r >= 0) {
                /* How many hierarchies the init had to be moved into (0: born in its cgroup). */
                monitor_set_fact(m, "cgroup_attached", json_integer(r));
                monitor_set_fact(m, "init_waited", json_boolean(init_args.wait));
                if (m->net) {
                        r = container_net_setup(m, pid);
                        if (r < 0) {
                                (void) pidfd_send_signal_compat(pidfd, SIGKILL);
                                (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t){}, WEXITED);
                                (void) close(sp[0]);
                                (void) snprintf(msg, sizeof msg,
                                                "set up the network (veth %s on bridge %s): %s",
                                                m->net->host_ifname, m->net->network, strerror(-r));
                                monitor_payload_failed(m, r, msg);
                                return r;
                        }
                }
                r = !init_args.wait || write(sp[0], &(char){ 0 }, 1) == 1 ? 0 : -errno;
        }
        if (r < 0) {
                (void) pidfd_send_signal_compat(pidfd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t){}, WEXITED);
                (void) close(sp[0]);
                (void) snprintf(msg, sizeof msg, "move the workload into cgroup '%s': %s",
                                cgroup_path(c->cgroup), strerror(-r));
                monitor_payload_failed(m, r, msg);
                return r;
        }
        if (c->userns) {
                _cleanup_free_ char *us_msg = NULL;

                r = container_userns_start_child(m, c, pid, &us_msg);
                if (r < 0) {
                        (void) pidfd_send_signal_compat(pidfd, SIGKILL);
                        (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t){}, WEXITED);
                        (void) close(sp[0]);
                        monitor_payload_failed(m, r, us_msg ?: "set up the user namespace");
                        return r;
                }
        }

        /* EOF means the exec succeeded (the socket is CLOEXEC); a record means a step failed. */
        do
                k = read(sp[0], &ce, sizeof ce);
        while (k < 0 && errno == EINTR);
        (void) close(sp[0]);
        c->pid = pid;
        c->pidfd = TAKE_FD(pidfd);

        r = sd_event_add_child_pidfd(m->event, &c->child_src, c->pidfd, WEXITED, on_child_exit, m);
        if (r < 0) {
                (void) pidfd_send_signal_compat(c->pidfd, SIGKILL);
                return r;
        }
        (void) sd_event_source_set_child_pidfd_own(c->child_src, false);

        if (k == (ssize_t) sizeof ce) {
                ce.what[sizeof ce.what - 1] = 0;
                (void) snprintf(msg, sizeof msg, "failed to %s: %s", ce.what, strerror(ce.error));
                c->child_src = sd_event_source_disable_unref(c->child_src);
                (void) waitid(P_PIDFD, (id_t) c->pidfd, &(siginfo_t){}, WEXITED);
                monitor_payload_failed(m, -ce.error, msg);
                return -ce.error;
        }
        monitor_payload_running(m, pid);
        return 0;
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *m = userdata;
        Container *c = container_get(m);

        c->stop_timer = sd_event_source_disable_unref(c->stop_timer);
        if (c->pidfd >= 0)
                (void) pidfd_send_signal_compat(c->pidfd, SIGKILL);
        return 0;
}

static int container_kill(Monitor *m, int signo) {
        Container *c = container_get(m);

        if (!c || c->pidfd < 0)
                return -ESRCH;
        return pidfd_send_signal_compat(c->pidfd, signo);
}

static int container_stop(Monitor *m, uint64_t timeout_usec) {
        Container *c = container_get(m);
        int r;

        if (!c || c->pidfd < 0)
                return -ESRCH;
        if (c->stopping)
                return 0;
        c->stopping = true;
        r = pidfd_send_signal_compat(c->pidfd, SIGTERM);
        if (r < 0)
                return r;
        return sd_event_add_time_relative(m->event, &c->stop_timer, CLOCK_MONOTONIC, timeout_usec, 0,
                                          on_stop_timeout, m);
}

typedef struct ExecState {
        Monitor *monitor;
        ExecRequest *req;
        sd_event_source *src;
        int pidfd;
} ExecState;

static int on_exec_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        ExecState *st = userdata;
        int status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;

        monitor_exec_finished(st->monitor, st->req, 0, status, NULL);
        sd_event_source_disable_unref(st->src);
        (void) close(st->pidfd);
        free(st);
        return 0;
}

_noreturn_ static void exec_child(Monitor *m, Container *c, ExecRequest *x, int err_fd) {
        const WorkloadSpec *spec = m->spec;
        _cleanup_strv_free_ char **env = NULL;
        int r, pidfd_child;
        pid_t pid;

        if (setns(c->pidfd, CONTAINER_NS_FLAGS | (c->userns ? CLONE_NEWUSER : 0)) < 0)
                child_fail(err_fd, errno, "join the container's namespaces");
        /* Entering the PID namespace takes effect for children only. */
        pid = clone3_pidfd(0, &pidfd_child);
        if (pid < 0)
                child_fail(err_fd, errno, "fork inside the container");
        if (pid > 0) {
                siginfo_t si = {};

                (void) close(err_fd);
                if (waitid(P_PIDFD, (id_t) pidfd_child, &si, WEXITED) < 0)
                        _exit(127);
                _exit(si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status);
        }
        reset_signals();
        (void) setsid();
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (int i = 0; i < 3; i++)
                if (dup2(x->fds[i], i) < 0)
                        child_fail(err_fd, errno, "set up standard input/output");
        if (x->terminal)
                make_controlling_terminal(err_fd);
        env = build_env(spec, spec->hostname ?: m->name);
        if (!env)
                child_fail(err_fd, ENOMEM, "build the environment");
        for (char **e = x->env; e && *e; e++)
                if (env_set(&env, *e) < 0)
                        child_fail(err_fd, ENOMEM, "build the environment");
        /* The same confinement as the workload (caps.c, seccomp.c): in its user namespace as its
         * root, bounding set, user, capability sets, no_new_privs, seccomp last. */
        if (c->userns) {
                r = container_userns_become_root();
                if (r < 0)
                        child_fail(err_fd, r, "become root in the user namespace");
        }
        apply_rlimits(m->spec, err_fd);
        r = container_caps_bound(container_caps_of(m->spec));
        if (r < 0)
                child_fail(err_fd, r, "drop capabilities from the bounding set");
        if (x->user_set)
                r = apply_user(true, x->uid, x->gid, NULL, 0);
        else
                r = apply_user(spec->user_set, spec->uid, spec->gid, spec->groups, spec->n_groups);
        if (r < 0)
                child_fail(err_fd, r, "switch to the workload's user");
        finish_and_exec(c, err_fd, x->cwd ?: spec->cwd, x->args, env);
}

static int container_exec(Monitor *m, ExecRequest *x) {
        Container *c = container_get(m);
        _cleanup_close_ int pidfd = -EBADF;
        int sp[2] = { -EBADF, -EBADF };
        ChildError ce = {};
        bool placed = false;
        ExecState *st;
        ssize_t k;
        pid_t pid;
        int r;

        if (!c || c->pidfd < 0)
                return -ESRCH;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;
        /* Into the workload's cgroup, as the container init (v2: at clone; v1: by PID while the
         * child waits), before it joins the namespaces and forks the process to run. */
        pid = cgroup_clone3(c->cgroup, 0, &pidfd, &placed);
        if (pid < 0) {
                r = pid;
                (void) close(sp[0]);
                (void) close(sp[1]);
                return r;
        }
        if (pid == 0) {
                (void) close(sp[0]);
                if (read(sp[1], &(char){ 0 }, 1) != 1)
                        _exit(127);
                exec_child(m, c, x, sp[1]);
        }
        (void) close(sp[1]);
        r = placed ? 0 : cgroup_attach_pid(c->cgroup, pid);
        if (r >= 0 && write(sp[0], &(char){ 0 }, 1) != 1)
                r = -errno;
        if (r < 0) {
                char msg[300];

                (void) pidfd_send_signal_compat(pidfd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t){}, WEXITED);
                (void) close(sp[0]);
                for (int i = 0; i < 3; i++)
                        if (x->fds[i] >= 0) {
                                (void) close(x->fds[i]);
                                x->fds[i] = -EBADF;
                        }
                (void) snprintf(msg, sizeof msg, "Failed to move the process into the workload's cgroup: %s",
                                strerror(-r));
                monitor_exec_finished(m, x, r, 0, msg);
                return 0;
        }
        do
                k = read(sp[0], &ce, sizeof ce);
        while (k < 0 && errno == EINTR);
        (void) close(sp[0]);
        for (int i = 0; i < 3; i++)
                if (x->fds[i] >= 0) {
                        (void) close(x->fds[i]);
                        x->fds[i] = -EBADF;
                }
        if (k == (ssize_t) sizeof ce) {
                char msg[300];

                ce.what[sizeof ce.what - 1] = 0;
                (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t){}, WEXITED);
                (void) snprintf(msg, sizeof msg, "Failed to %s: %s", ce.what, strerror(ce.error));
                monitor_exec_finished(m, x, -ce.error, 0, msg);
                return 0;
        }

        st = calloc(1, sizeof(ExecState));
        if (!st)
                return -ENOMEM;
        *st = (ExecState){ .monitor = m, .req = x, .pidfd = TAKE_FD(pidfd) };
        r = sd_event_add_child_pidfd(m->event, &st->src, st->pidfd, WEXITED, on_exec_exit, st);
        if (r < 0) {
                (void) close(st->pidfd);
                free(st);
                return r;
        }
        (void) sd_event_source_set_child_pidfd_own(st->src, false);
        return 0;
}

static int container_stats(Monitor *m, json_t **ret) {
        Container *c = container_get(m);
        json_t *j = NULL;

        if (!c)
                return -ESRCH;
        if (c->cgroup && cgroup_stats(c->cgroup, &j) < 0)
                j = NULL;
        if (!j)
                j = json_object();
        if (!j)
                return -ENOMEM;
        (void) json_object_set_new(j, "leader_pid", json_integer((json_int_t) c->pid));
        if (m->net) {
                LinkStats st;

                if (link_workload_stats(m->net->host_ifname, &st) >= 0) {
                        (void) json_object_set_new(j, "net_rx_bytes",
                                                   json_integer((json_int_t) st.rx_bytes));
                        (void) json_object_set_new(j, "net_rx_packets",
                                                   json_integer((json_int_t) st.rx_packets));
                        (void) json_object_set_new(j, "net_tx_bytes",
                                                   json_integer((json_int_t) st.tx_bytes));
                        (void) json_object_set_new(j, "net_tx_packets",
                                                   json_integer((json_int_t) st.tx_packets));
                }
        }
        *ret = j;
        return 0;
}

static void container_destroy(Monitor *m) {
        Container *c = container_get(m);

        if (!c)
                return;
        sd_event_source_disable_unref(c->child_src);
        sd_event_source_disable_unref(c->stop_timer);
        if (c->pidfd >= 0)
                (void) close(c->pidfd);
        c->mnt_ns_fd = safe_close(c->mnt_ns_fd);
        c->pod_pidfd = safe_close(c->pod_pidfd);
        c->netns_fd = safe_close(c->netns_fd);
        /* After the exit was reported (the monitor's loop has ended): kill leftovers, rmdir. */
        c->cgroup = cgroup_destroy(c->cgroup);
        c->seccomp = seccomp_program_free(c->seccomp);
        if (c->userns_lock_fd >= 0)
                (void) close(c->userns_lock_fd); /* releases the id range */
        free(c->lower);
        free(c);
        m->backend_data = NULL;
}

const struct backend_ops container_backend_ops = {
        .name = "container",
        .probe = container_probe,
        .validate = container_validate,
        .start = container_start,
        .stop = container_stop,
        .kill = container_kill,
        .exec = container_exec,
        .stats = container_stats,
        .destroy = container_destroy,
};
