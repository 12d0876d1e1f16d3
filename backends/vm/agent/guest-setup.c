/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Guest-side set-up for isod-agent: early mounts, modules, finding ports and disks, the
 * workload's root (erofs lower + tmpfs upper + overlay), statistics, spawning processes. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <grp.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static int mkdir_p(const char *path, mode_t mode) {
        char buf[4096];
        size_t n = strlen(path);

        if (n == 0 || n >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *s = buf + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int setup_early(void) {
        (void) mkdir("/dev", 0755);
        (void) mkdir("/proc", 0555);
        (void) mkdir("/sys", 0555);
        if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0 && errno != EBUSY)
                return -errno;
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0)
                return -errno;
        if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0)
                return -errno;
        (void) mkdir("/dev/pts", 0755);
        (void) mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620");
        return 0;
}

int load_modules(const char *dir, const char *order) {
        char path[512], line[256];
        FILE *f;
        int fd, failed = 0;

        (void) snprintf(path, sizeof path, "%s/%s", dir, order);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = 0;
                if (!line[0])
                        continue;
                (void) snprintf(path, sizeof path, "%s/%s", dir, line);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        agent_log("cannot open module %s: %m", path);
                        failed++;
                        continue;
                }
                struct timespec t0, t1;
                (void) clock_gettime(CLOCK_BOOTTIME, &t0);
                int fr = (int) syscall(SYS_finit_module, fd, "", 0);
                (void) clock_gettime(CLOCK_BOOTTIME, &t1);
                if (getenv("isod_debug_modules"))
                        agent_log("module %s: %ld us", line,
                                  (long) ((t1.tv_sec - t0.tv_sec) * 1000000L +
                                          (t1.tv_nsec - t0.tv_nsec) / 1000L));
                if (fr < 0 && errno != EEXIST) {
                        agent_log("cannot load module %s: %m", line);
                        failed++;
                }
                (void) close(fd);
        }
        (void) fclose(f);
        return failed;
}

static int read_line(const char *path, char *buf, size_t size) {
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        (void) close(fd);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        (void) nanosleep(&ts, NULL);
}

/* Ports appear asynchronously after virtio_console probes (the host announces them over the
 * control queue), so this waits, bounded. There is no udev in the guest. */
int find_port(const char *name, char **ret_path, int timeout_ms) {
        char p[512], v[256];
        struct dirent *de;
        DIR *d;

        for (int waited = 0;; waited++) {
                d = opendir("/sys/class/virtio-ports");
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        (void) snprintf(p, sizeof p, "/sys/class/virtio-ports/%s/name", de->d_name);
                        if (read_line(p, v, sizeof v) < 0 || strcmp(v, name) != 0)
                                continue;
                        (void) snprintf(p, sizeof p, "/dev/%s", de->d_name);
                        if (access(p, F_OK) < 0)
                                continue;
                        (void) closedir(d);
                        *ret_path = strdup(p);
                        return *ret_path ? 0 : -ENOMEM;
                }
                if (d)
                        (void) closedir(d);
                if (waited >= timeout_ms)
                        return -ENOENT;
                sleep_ms(1);
        }
}

int find_disk(const char *serial, char **ret_path) {
        char p[512], v[256];
        struct dirent *de;
        DIR *d;

        d = opendir("/sys/block");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, "vd", 2) != 0)
                        continue;
                (void) snprintf(p, sizeof p, "/sys/block/%s/serial", de->d_name);
                if (read_line(p, v, sizeof v) < 0 || strcmp(v, serial) != 0)
                        continue;
                (void) snprintf(p, sizeof p, "/dev/%s", de->d_name);
                (void) closedir(d);
                *ret_path = strdup(p);
                return *ret_path ? 0 : -ENOMEM;
        }
        (void) closedir(d);
        return -ENOENT;
}

static int mount_in_root(const char *src, const char *target, const char *type, unsigned long flags,
                         const char *data) {
        char p[4096];

        (void) snprintf(p, sizeof p, AGENT_NEWROOT "%s", target);
        (void) mkdir_p(p, 0755);
        if (mount(src, p, type, flags, data) < 0)
                return -errno;
        return 0;
}

bool rootfs_inline(void) {
        return access(AGENT_INLINE_ROOT, F_OK) == 0;
}

int setup_root(const AgentConfig *c) {
        _Static_assert(sizeof(AGENT_NEWROOT) > 1, "");
        char *disk = NULL;
        int r;

        if (rootfs_inline()) {
                /* The tree came in the initramfs (isod's image_inline_get()): it already is a
                 * private, writable copy in the guest's memory; the host's file is never written.
                 * Extra images still come as disks: their modules load now. */
                if (c->n_mounts > 0) {
                        int k = load_modules("/modules", "order");
                        if (k > 0)
                                agent_log("%d modules failed to load", k);
                }
                (void) mkdir_p(AGENT_NEWROOT, 0755);
                if (mount(AGENT_INLINE_ROOT, AGENT_NEWROOT, NULL, MS_BIND | MS_REC, NULL) < 0) {
                        r = -errno;
                        agent_log("cannot bind %s: %m", AGENT_INLINE_ROOT);
                        return r;
                }
                if (c->readonly_rootfs &&
                    mount(NULL, AGENT_NEWROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
                        r = -errno;
                        agent_log("cannot make the root read-only: %m");
                        return r;
                }
                goto mounts;
        }

        r = find_disk(AGENT_DISK_ROOTFS, &disk);
        if (r < 0) {
                agent_log("no rootfs disk (serial %s): %s", AGENT_DISK_ROOTFS, strerror(-r));
                return r;
        }
        (void) mkdir_p("/run/lower", 0755);
        (void) mkdir_p(AGENT_NEWROOT, 0755);
        if (mount(disk, c->readonly_rootfs ? AGENT_NEWROOT : "/run/lower", "erofs", MS_RDONLY, NULL) < 0) {
                r = -errno;
                agent_log("cannot mount %s (erofs): %m", disk);
                free(disk);
                return r;
        }
        free(disk);

        if (!c->readonly_rootfs) {
                /* The image is never written: all changes land in a tmpfs upper layer. */
                (void) mkdir_p("/run/rw", 0755);
                if (mount("tmpfs", "/run/rw", "tmpfs", 0, "mode=0755") < 0)
                        return -errno;
                (void) mkdir_p("/run/rw/upper", 0755);
                (void) mkdir_p("/run/rw/work", 0755);
                if (mount("overlay", AGENT_NEWROOT, "overlay", 0,
                          "lowerdir=/run/lower,upperdir=/run/rw/upper,workdir=/run/rw/work") < 0) {
                        r = -errno;
                        agent_log("cannot mount overlay: %m");
                        return r;
                }
        }

mounts:
        /* tmpfs before the disks, as in a container: a mount below a tmpfs stays visible. */
        for (size_t i = 0; i < c->n_tmpfs; i++) {
                char data[64];

                if (c->tmpfs[i].size)
                        (void) snprintf(data, sizeof data, "mode=%o,size=%llu", c->tmpfs[i].mode,
                                        c->tmpfs[i].size);
                else
                        (void) snprintf(data, sizeof data, "mode=%o", c->tmpfs[i].mode);
                r = mount_in_root("tmpfs", c->tmpfs[i].target, "tmpfs",
                                  MS_NOSUID | MS_NODEV | (c->tmpfs[i].noexec ? MS_NOEXEC : 0), data);
                if (r < 0) {
                        agent_log("cannot mount a tmpfs on %s: %s", c->tmpfs[i].target, strerror(-r));
                        return r;
                }
        }
        for (size_t i = 0; i < c->n_mounts; i++) {
                r = find_disk(c->mounts[i].disk, &disk);
                if (r < 0) {
                        agent_log("no disk %s for %s", c->mounts[i].disk, c->mounts[i].target);
                        return r;
                }
                r = mount_in_root(disk, c->mounts[i].target, "erofs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                                  NULL);
                free(disk);
                if (r < 0) {
                        agent_log("cannot mount %s: %s", c->mounts[i].target, strerror(-r));
                        return r;
                }
        }

        /* API file systems; failures (a read-only root without the directories) are not fatal. */
        (void) mount_in_root("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        (void) mount_in_root("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        (void) mount_in_root("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
        (void) mount_in_root("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                             "newinstance,ptmxmode=0666,mode=0620");
        (void) mount_in_root("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
        if (c->readonly_rootfs)
                (void) mount_in_root("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
        /* /dev/ptmx must be the devpts instance's own. */
        (void) mount(AGENT_NEWROOT "/dev/pts/ptmx", AGENT_NEWROOT "/dev/ptmx", NULL, MS_BIND, NULL);

        if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
                agent_log("cannot set hostname: %m");
        return 0;
}

static uint64_t meminfo_kb(const char *buf, const char *key) {
        const char *p = strstr(buf, key);
        return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static size_t kv_put(uint8_t *buf, size_t size, size_t at, const char *key, unsigned long long v) {
        int n;

        if (at >= size)
                return at;
        n = snprintf((char *) buf + at, size - at, "%s=%llu", key, v);
        if (n < 0 || (size_t) n + 1 > size - at)
                return at;
        return at + (size_t) n + 1;
}

int read_stats(uint8_t *buf, size_t size, size_t *ret_size) {
        char mem[4096], stat[512];
        unsigned long long user = 0, nice = 0, sys = 0, pids = 0;
        struct dirent *de;
        struct timespec ts;
        size_t at = 0;
        long hz = sysconf(_SC_CLK_TCK);
        DIR *d;
        int fd;
        ssize_t n;

        mem[0] = 0;
        fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                n = read(fd, mem, sizeof mem - 1);
                mem[n > 0 ? n : 0] = 0;
                (void) close(fd);
        }
        if (read_line("/proc/stat", stat, sizeof stat) == 0)
                (void) sscanf(stat, "cpu %llu %llu %llu", &user, &nice, &sys);
        d = opendir("/proc");
        while (d && (de = readdir(d))) {
                char sp[300], sb[512], *e;
                int ppid = 0;

                if (de->d_name[0] < '1' || de->d_name[0] > '9' || strcmp(de->d_name, "2") == 0)
                        continue;
                /* Kernel threads (children of kthreadd, PID 2) are not the workload's. */
                (void) snprintf(sp, sizeof sp, "/proc/%s/stat", de->d_name);
                if (read_line(sp, sb, sizeof sb) < 0 || !(e = strrchr(sb, ')')) ||
                    sscanf(e + 1, " %*c %d", &ppid) != 1 || ppid == 2)
                        continue;
                pids++;
        }
        if (d)
                (void) closedir(d);
        (void) clock_gettime(CLOCK_BOOTTIME, &ts);
        if (hz <= 0)
                hz = 100;

        at = kv_put(buf, size, at, "mem_total", meminfo_kb(mem, "MemTotal:") * 1024ULL);
        at = kv_put(buf, size, at, "mem_available", meminfo_kb(mem, "MemAvailable:") * 1024ULL);
        at = kv_put(buf, size, at, "cpu_usec", (user + nice + sys) * 1000000ULL / (unsigned long long) hz);
        at = kv_put(buf, size, at, "pids", pids > 0 ? pids - 1 : 0); /* without the agent */
        at = kv_put(buf, size, at, "uptime_usec",
                    (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000ULL);
        *ret_size = at;
        return 0;
}

/* Finds args[0] in PATH from the process's environment (after chroot), like execvpe. */
static void exec_search(const ProcessConfig *p) {
        const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        char buf[4096];
        int saved = ENOENT;

        for (char **e = p->env; e && *e; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        path = *e + 5;

        if (strchr(p->args[0], '/')) {
                execve(p->args[0], p->args, p->env);
                return;
        }
        while (*path) {
                size_t l = strcspn(path, ":");
                if (l > 0 && l + strlen(p->args[0]) + 2 < sizeof buf) {
                        memcpy(buf, path, l);
                        buf[l] = '/';
                        strcpy(buf + l + 1, p->args[0]);
                        execve(buf, p->args, p->env);
                        if (errno != ENOENT && errno != ENOTDIR)
                                saved = errno;
                }
                path += l;
                if (*path == ':')
                        path++;
        }
        errno = saved;
}

pid_t spawn_process(const ProcessConfig *p, int in_fd, int out_fd, int err_fd, int *ret_master,
                    int err_report_fd) {
        int master = -1, slave = -1;
        pid_t pid;

        if (p->terminal) {
                struct winsize ws = { .ws_row = (unsigned short) (p->rows ?: 24),
                                      .ws_col = (unsigned short) (p->cols ?: 80) };

                master = open(AGENT_NEWROOT "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (master < 0)
                        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (master < 0)
                        return -errno;
                if (grantpt(master) < 0 || unlockpt(master) < 0) {
                        (void) close(master);
                        return -EIO;
                }
                slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
                if (slave < 0) {
                        int r = -errno;
                        (void) close(master);
                        return r;
                }
                (void) ioctl(master, TIOCSWINSZ, &ws);
                in_fd = out_fd = err_fd = slave;
        }

        pid = fork();
        if (pid < 0) {
                int r = -errno;
                if (master >= 0)
                        (void) close(master);
                if (slave >= 0)
                        (void) close(slave);
                return r;
        }
        if (pid == 0) {
                const char *step = "setsid";
                sigset_t none;

                /* The agent blocks SIGCHLD for its signalfd; the mask survives execve, and a
                 * workload must not start with it. */
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                if (setsid() < 0)
                        goto fail;
                step = "stdio";
                if ((in_fd >= 0 && dup2(in_fd, 0) < 0) || (out_fd >= 0 && dup2(out_fd, 1) < 0) ||
                    (err_fd >= 0 && dup2(err_fd, 2) < 0))
                        goto fail;
                if (in_fd < 0) {
                        int nfd = open("/dev/null", O_RDONLY);
                        if (nfd >= 0 && nfd != 0) {
                                (void) dup2(nfd, 0);
                                (void) close(nfd);
                        }
                }
                if (p->terminal) {
                        step = "controlling terminal";
                        if (ioctl(0, TIOCSCTTY, 0) < 0)
                                goto fail;
                }
                step = "chroot";
                if (chdir(AGENT_NEWROOT) < 0 || chroot(".") < 0)
                        goto fail;
                step = "chdir";
                if (chdir(p->cwd ?: "/") < 0)
                        goto fail;
                if (p->user_set) {
                        step = "setgroups";
                        if (setgroups(p->n_groups, p->groups) < 0)
                                goto fail;
                        step = "setgid";
                        if (setresgid(p->gid, p->gid, p->gid) < 0)
                                goto fail;
                        step = "setuid";
                        if (setresuid(p->uid, p->uid, p->uid) < 0)
                                goto fail;
                }
                step = "exec";
                exec_search(p);
fail : {
        int e = errno;
        char msg[512];
        int n = snprintf(msg, sizeof msg, "isod-agent: %s %s: %s\n", step, step[0] == 'e' ? p->args[0] : "",
                         strerror(e));
        if (n > 0)
                (void) !write(err_report_fd >= 0 ? err_report_fd : 2, msg, (size_t) n);
        _exit(e == ENOENT ? 127 : 126);
}
        }

        if (slave >= 0)
                (void) close(slave);
        if (ret_master)
                *ret_master = master;
        return pid;
}

/* ---------------------------------------------------------------- network
 *
 * Classic ioctls only: the agent is built with musl-gcc, which has no <linux/…> headers for
 * rtnetlink, and static IPv4 needs nothing more (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFMTU,
 * SIOCSIFFLAGS, SIOCADDRT). */

static void sockaddr_in_set(struct sockaddr *sa, uint32_t addr) {
        struct sockaddr_in *s = (struct sockaddr_in *) sa;

        memset(s, 0, sizeof *s);
        s->sin_family = AF_INET;
        s->sin_addr.s_addr = addr;
}

static int link_up(int fd, const char *ifname) {
        struct ifreq r = {};

        (void) snprintf(r.ifr_name, sizeof r.ifr_name, "%s", ifname);
        if (ioctl(fd, SIOCGIFFLAGS, &r) < 0)
                return -errno;
        r.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &r) < 0)
                return -errno;
        return 0;
}

int setup_loopback(void) {
        int fd, r;

        /* The kernel gives lo 127.0.0.1/8 (and ::1) when it comes up. */
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        r = link_up(fd, "lo");
        (void) close(fd);
        return r;
}

bool net_device_present(void) {
        char p[512], v[32];
        struct dirent *de;
        bool found = false;
        DIR *d;

        /* virtio_mmio registers its devices while it loads; "device" is the virtio device id. */
        d = opendir("/sys/bus/virtio/devices");
        while (d && !found && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                (void) snprintf(p, sizeof p, "/sys/bus/virtio/devices/%s/device", de->d_name);
                found = read_line(p, v, sizeof v) == 0 && strtoul(v, NULL, 0) == 1; /* VIRTIO_ID_NET */
        }
        if (d)
                (void) closedir(d);
        return found;
}

/* The interface with that MAC (there is no udev to name it), waiting a bounded time for
 * virtio_net to register it. Falls back to eth0. */
static int find_ifname(const uint8_t mac[6], char ret[IFNAMSIZ]) {
        char want[18], p[512], v[64];
        struct dirent *de;
        DIR *d;

        (void) snprintf(want, sizeof want, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                        mac[4], mac[5]);
        for (int waited = 0;; waited++) {
                d = opendir("/sys/class/net");
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.' || strlen(de->d_name) >= IFNAMSIZ)
                                continue;
                        (void) snprintf(p, sizeof p, "/sys/class/net/%s/address", de->d_name);
                        if (read_line(p, v, sizeof v) < 0 || strcasecmp(v, want) != 0)
                                continue;
                        memcpy(ret, de->d_name, strlen(de->d_name) + 1); /* < IFNAMSIZ, checked */
                        (void) closedir(d);
                        return 0;
                }
                if (d)
                        (void) closedir(d);
                if (waited >= AGENT_NET_WAIT_MSEC)
                        break;
                sleep_ms(1);
        }
        if (access("/sys/class/net/eth0", F_OK) == 0) {
                agent_log("no interface has MAC %s, using eth0", want);
                (void) snprintf(ret, IFNAMSIZ, "eth0");
                return 0;
        }
        return -ENODEV;
}

#define NET_FAIL(r, ...)                                     \
        do {                                                 \
                (void) snprintf(err, err_size, __VA_ARGS__); \
                if (fd >= 0)                                 \
                        (void) close(fd);                    \
                return (r);                                  \
        } while (0)

int setup_net(const AgentNet *n, char *err, size_t err_size) {
        char ifname[IFNAMSIZ], a[INET_ADDRSTRLEN];
        struct rtentry rt = {};
        struct ifreq r = {};
        int fd = -1, k;

        k = find_ifname(n->mac, ifname);
        if (k < 0)
                NET_FAIL(k,
                         "no network interface with MAC %02x:%02x:%02x:%02x:%02x:%02x appeared within %d ms",
                         n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
                         AGENT_NET_WAIT_MSEC);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                NET_FAIL(-errno, "socket(AF_INET): %s", strerror(errno));

        (void) snprintf(r.ifr_name, sizeof r.ifr_name, "%s", ifname);
        sockaddr_in_set(&r.ifr_addr, n->ip);
        if (ioctl(fd, SIOCSIFADDR, &r) < 0)
                NET_FAIL(-errno, "cannot set address %s on %s: %s", inet_ntop(AF_INET, &n->ip, a, sizeof a),
                         ifname, strerror(errno));
        sockaddr_in_set(&r.ifr_netmask,
                        n->prefix == 0 ? 0 : htonl(~((UINT32_C(1) << (32 - n->prefix)) - 1)));
        if (ioctl(fd, SIOCSIFNETMASK, &r) < 0)
                NET_FAIL(-errno, "cannot set netmask /%u on %s: %s", n->prefix, ifname, strerror(errno));
        if (n->mtu > 0) {
                r.ifr_mtu = (int) n->mtu;
                if (ioctl(fd, SIOCSIFMTU, &r) < 0)
                        NET_FAIL(-errno, "cannot set MTU %u on %s: %s", n->mtu, ifname, strerror(errno));
        }
        k = link_up(fd, ifname);
        if (k < 0)
                NET_FAIL(k, "cannot bring %s up: %s", ifname, strerror(-k));
        if (n->gateway != 0) {
                sockaddr_in_set(&rt.rt_dst, 0);
                sockaddr_in_set(&rt.rt_genmask, 0);
                sockaddr_in_set(&rt.rt_gateway, n->gateway);
                rt.rt_flags = RTF_UP | RTF_GATEWAY;
                rt.rt_dev = ifname;
                if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST)
                        NET_FAIL(-errno, "cannot add the default route via %s on %s: %s",
                                 inet_ntop(AF_INET, &n->gateway, a, sizeof a), ifname, strerror(errno));
        }
        (void) close(fd);
        return 0;
}

/* Puts TEXT at /etc/NAME in the workload's root. Writable root (the overlay's tmpfs upper, or an
 * inline rootfs): a new file renamed over whatever is there, so a symlink there (to
 * ../run/systemd/resolve/…) is replaced, never followed into the agent's own tree. Read-only root:
 * the text is written under /run/isod (the initramfs) and bound over the image's regular file. */
static int put_etc_file(const char *name, const char *text, char *err, size_t err_size) {
        char tmp[64], src[128], dst[128];
        size_t len = strlen(text);
        struct stat st;
        int dfd, fd = -1, r;

        if (mkdir(AGENT_NEWROOT "/etc", 0755) < 0 && errno != EEXIST && errno != EROFS) {
                (void) snprintf(err, err_size, "cannot create /etc: %s", strerror(errno));
                return -errno;
        }
        dfd = open(AGENT_NEWROOT "/etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                (void) snprintf(err, err_size, "cannot open /etc of the root file system: %s", strerror(-r));
                return r;
        }
        (void) snprintf(tmp, sizeof tmp, ".%s.isod-agent", name);
        (void) unlinkat(dfd, tmp, 0);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) {
                r = write(fd, text, len) == (ssize_t) len ? 0 : -EIO;
                (void) close(fd);
                if (r >= 0 && renameat(dfd, tmp, dfd, name) < 0)
                        r = -errno;
                if (r < 0) {
                        (void) unlinkat(dfd, tmp, 0);
                        (void) close(dfd);
                        (void) snprintf(err, err_size, "cannot write /etc/%s: %s", name, strerror(-r));
                        return r;
                }
                (void) close(dfd);
                return 0;
        }
        if (errno != EROFS) {
                r = -errno;
                (void) close(dfd);
                (void) snprintf(err, err_size, "cannot write /etc/%s: %s", name, strerror(-r));
                return r;
        }

        /* Read-only root. */
        r = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
        (void) close(dfd);
        if (r < 0 || !S_ISREG(st.st_mode)) {
                (void) snprintf(
                        err, err_size,
                        "the root file system is read-only and its /etc/%s is %s: nothing to bind the "
                        "network's %s over",
                        name, r < 0 ? "missing" : "not a regular file", name);
                return r < 0 ? r : -EROFS;
        }
        (void) mkdir("/run/isod", 0755);
        (void) snprintf(src, sizeof src, "/run/isod/%s", name);
        (void) snprintf(dst, sizeof dst, AGENT_NEWROOT "/etc/%s", name);
        fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, len) != (ssize_t) len) {
                r = fd < 0 ? -errno : -EIO;
                if (fd >= 0)
                        (void) close(fd);
                (void) snprintf(err, err_size, "cannot write %s: %s", src, strerror(-r));
                return r;
        }
        (void) close(fd);
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
                r = -errno;
                (void) snprintf(err, err_size, "cannot bind %s over /etc/%s: %s", src, name, strerror(-r));
                return r;
        }
        return 0;
}

/* Appends to a text buffer; *at stays ≤ size, and reaches size when the text did not fit. */
static void text_append(char *buf, size_t size, size_t *at, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void text_append(char *buf, size_t size, size_t *at, const char *fmt, ...) {
        va_list ap;
        int n;

        if (*at >= size)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf + *at, size - *at, fmt, ap);
        va_end(ap);
        *at = n < 0 || (size_t) n >= size - *at ? size : *at + (size_t) n;
}

int setup_net_files(const AgentConfig *c, char *err, size_t err_size) {
        char text[1024], a[INET_ADDRSTRLEN];
        size_t at = 0;
        int r;

        /* resolv.conf: the network's name servers (isod's: the gateway), its domain. */
        for (size_t i = 0; i < c->net.n_dns; i++)
                text_append(text, sizeof text, &at, "nameserver %s\n",
                            inet_ntop(AF_INET, &c->net.dns[i], a, sizeof a));
        if (c->net.n_dns == 0 && c->net.gateway != 0)
                text_append(text, sizeof text, &at, "nameserver %s\n",
                            inet_ntop(AF_INET, &c->net.gateway, a, sizeof a));
        if (c->net.domain)
                text_append(text, sizeof text, &at, "search %s\n", c->net.domain);
        if (at >= sizeof text) {
                (void) snprintf(err, err_size, "resolv.conf too long");
                return -E2BIG;
        }
        text[at] = 0;
        r = put_etc_file("resolv.conf", text, err, err_size);
        if (r < 0)
                return r;

        /* hosts: localhost, and the workload's own name on its address. */
        at = 0;
        text_append(text, sizeof text, &at,
                    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        if (c->hostname)
                text_append(text, sizeof text, &at, "%s\t%s\n", inet_ntop(AF_INET, &c->net.ip, a, sizeof a),
                            c->hostname);
        if (at >= sizeof text) {
                (void) snprintf(err, err_size, "hosts too long");
                return -E2BIG;
        }
        return put_etc_file("hosts", text, err, err_size);
}
