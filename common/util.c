/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>

#include "util.h"

int safe_atou64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end = NULL;

        if (!s || !*s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno > 0)
                return -errno;
        if (!end || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atou32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r;

        r = safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int safe_atoi(const char *s, int *ret) {
        long v;
        char *end = NULL;

        if (!s || !*s || isspace((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
                return -ERANGE;
        if (!end || *end)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "", 1ULL },        { "B", 1ULL },         { "K", 1ULL << 10 }, { "KiB", 1ULL << 10 },
                { "M", 1ULL << 20 }, { "MiB", 1ULL << 20 }, { "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
                { "T", 1ULL << 40 }, { "TiB", 1ULL << 40 },
        };
        unsigned long long v;
        char *end = NULL;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(end, table[i].suffix)) {
                        if (v > UINT64_MAX / table[i].factor)
                                return -ERANGE;
                        *ret = v * table[i].factor;
                        return 0;
                }
        return -EINVAL;
}

int parse_timespan(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "", USEC_PER_SEC }, { "s", USEC_PER_SEC },      { "ms", USEC_PER_MSEC },
                { "us", 1 },          { "m", 60 * USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC },
        };
        unsigned long long v;
        char *end = NULL;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(end, table[i].suffix)) {
                        if (v > UINT64_MAX / table[i].factor)
                                return -ERANGE;
                        *ret = v * table[i].factor;
                        return 0;
                }
        return -EINVAL;
}

static const char *const signal_names[] = {
        [SIGHUP] = "HUP",       [SIGINT] = "INT",   [SIGQUIT] = "QUIT",   [SIGILL] = "ILL",
        [SIGTRAP] = "TRAP",     [SIGABRT] = "ABRT", [SIGBUS] = "BUS",     [SIGFPE] = "FPE",
        [SIGKILL] = "KILL",     [SIGUSR1] = "USR1", [SIGSEGV] = "SEGV",   [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE",     [SIGALRM] = "ALRM", [SIGTERM] = "TERM",   [SIGCHLD] = "CHLD",
        [SIGCONT] = "CONT",     [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",   [SIGTTIN] = "TTIN",
        [SIGTTOU] = "TTOU",     [SIGURG] = "URG",   [SIGXCPU] = "XCPU",   [SIGXFSZ] = "XFSZ",
        [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH", [SIGIO] = "IO",
        [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

const char *signal_to_name(int signo) {
        if (signo > 0 && (size_t) signo < ELEMENTSOF(signal_names) && signal_names[signo])
                return signal_names[signo];
        return NULL;
}

int parse_signal(const char *s, int *ret) {
        const char *n;
        int v;

        if (!s)
                return -EINVAL;
        if (safe_atoi(s, &v) >= 0) {
                if (v <= 0 || v >= _NSIG)
                        return -ERANGE;
                *ret = v;
                return 0;
        }
        n = startswith(s, "SIG") ?: s;
        for (size_t i = 1; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i] && strcasecmp(n, signal_names[i]) == 0) {
                        *ret = (int) i;
                        return 0;
                }
        return -EINVAL;
}

static bool id_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '.' || c == '-';
}

bool digest_is_valid(const char *d) {
        const char *hex = d ? startswith(d, "sha256:") : NULL;

        if (!hex || strlen(hex) != 64)
                return false;
        return strspn(hex, "0123456789abcdef") == 64;
}

bool identifier_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > 64)
                return false;
        if (!isalnum((unsigned char) s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!id_char_ok(s[i]))
                        return false;
        return true;
}

bool workload_name_is_valid(const char *name) {
        return identifier_is_valid(name);
}

int read_full_file_at(int dir_fd, const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return read_full_fd(fd, max_size, ret, ret_size);
}

int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, alloc = 0;

        for (;;) {
                ssize_t k;

                if (n + 1 >= alloc) {
                        size_t na = alloc ? alloc * 2 : 4096;
                        char *nb;

                        if (alloc > max_size + 1)
                                return -EFBIG;
                        nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        alloc = na;
                }
                k = read(fd, buf + n, alloc - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max_size)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[n] = 0;
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int pty_open_pair(int extra_flags, const struct winsize *ws, int *ret_master, int *ret_slave) {
        _cleanup_close_ int master = -EBADF;
        char name[64];
        int slave;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | extra_flags);
        if (master < 0)
                return -errno;
        if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0)
                return -errno;
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        if (ws)
                (void) ioctl(master, TIOCSWINSZ, ws);
        *ret_master = TAKE_FD(master);
        *ret_slave = slave;
        return 0;
}

int loop_write(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

static int write_file_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode,
                         bool durable) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0)
                return -ENOMEM;
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        /* No fsync(): the state lives on /run (tmpfs) and only has to survive isod, not the kernel;
         * the rename alone makes readers see the old or the new content. */
        r = loop_write(fd, data, size);
        if (r >= 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dir_fd, tmp, 0);
        else if (durable && fsync(dir_fd) < 0)
                r = -errno;
        return r;
}

int write_file_atomic_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode) {
        return write_file_at(dir_fd, path, data, size, mode, false);
}

int write_file_durable_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode) {
        return write_file_at(dir_fd, path, data, size, mode, true);
}

int write_string_file(const char *path, const char *s) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return loop_write(fd, s, strlen(s));
}

int read_one_line_file(const char *path, char **ret) {
        char *s;
        size_t n;
        int r;

        r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &s, &n);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        *ret = s;
        return 0;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int mkdir_p_open(const char *path, mode_t mode) {
        int r, fd;

        r = mkdir_p(path, mode);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int rm_rf_at(int dir_fd, const char *path) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (fstatat(dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, path, 0) < 0 && errno != ENOENT ? -errno : 0;

        fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        TAKE_FD(fd);
        while ((de = readdir(d))) {
                int k;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                /* Do not cross into other file systems (e.g. a still-mounted overlay). */
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode)) {
                        struct stat parent;
                        if (fstat(dirfd(d), &parent) >= 0 && parent.st_dev != st.st_dev) {
                                r = -EBUSY;
                                continue;
                        }
                }
                k = rm_rf_at(dirfd(d), de->d_name);
                if (k < 0 && r >= 0)
                        r = k;
        }
        (void) closedir(d);
        if (unlinkat(dir_fd, path, AT_REMOVEDIR) < 0 && errno != ENOENT && r >= 0)
                r = -errno;
        return r;
}

int rm_rf(const char *path) {
        return rm_rf_at(AT_FDCWD, path);
}

int fd_move_above_stdio(int fd) {
        int copy;

        if (fd < 0 || fd > 2)
                return fd;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return -errno;
        (void) close(fd);
        return copy;
}

int fd_set_nonblock(int fd, bool b) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0)
                return -errno;
        flags = b ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        return fcntl(fd, F_SETFL, flags) < 0 ? -errno : 0;
}

int fd_set_cloexec(int fd, bool b) {
        int flags = fcntl(fd, F_GETFD);

        if (flags < 0)
                return -errno;
        flags = b ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
        return fcntl(fd, F_SETFD, flags) < 0 ? -errno : 0;
}

int close_all_fds_except(const int *keep, size_t n_keep) {
        DIR *d;
        struct dirent *de;

        d = opendir("/proc/self/fd");
        if (!d) {
                /* Fallback: close_range around the kept fds is not worth it; brute force. */
                for (int fd = 3; fd < 4096; fd++) {
                        bool k = false;
                        for (size_t i = 0; i < n_keep; i++)
                                k = k || keep[i] == fd;
                        if (!k)
                                (void) close(fd);
                }
                return 0;
        }
        while ((de = readdir(d))) {
                int fd;
                bool k = false;

                if (safe_atoi(de->d_name, &fd) < 0 || fd < 3 || fd == dirfd(d))
                        continue;
                for (size_t i = 0; i < n_keep; i++)
                        k = k || keep[i] == fd;
                if (!k)
                        (void) close(fd);
        }
        (void) closedir(d);
        return 0;
}

int set_error_message(char **reterr_message, int r, const char *fmt, ...) {
        va_list ap;

        if (reterr_message) {
                free(*reterr_message);
                va_start(ap, fmt);
                if (vasprintf(reterr_message, fmt, ap) < 0)
                        *reterr_message = NULL;
                va_end(ap);
        }
        return r;
}

uint64_t now_usec(int clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

char *strv_join(char **l, const char *sep) {
        size_t n = 1, sl = strlen(sep);
        char *r, *p;

        for (char **i = l; i && *i; i++)
                n += strlen(*i) + sl;
        r = malloc(n);
        if (!r)
                return NULL;
        p = r;
        *p = 0;
        for (char **i = l; i && *i; i++) {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        return r;
}

bool strv_contains(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

size_t strv_length(char **l) {
        size_t n = 0;

        for (char **i = l; i && *i; i++)
                n++;
        return n;
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl, *c;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        nl = realloc(*l, sizeof(char *) * (n + 2));
        if (!nl) {
                free(c);
                return -ENOMEM;
        }
        nl[n] = c;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

char **strv_copy(char **l) {
        _cleanup_strv_free_ char **c = NULL;

        c = calloc(strv_length(l) + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; l && l[i]; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return NULL;
        }
        return TAKE_PTR(c);
}

int pidfd_open_compat(pid_t pid, unsigned flags) {
        int fd = (int) syscall(SYS_pidfd_open, pid, flags);
        return fd < 0 ? -errno : fd;
}

int pidfd_send_signal_compat(int pidfd, int sig) {
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int nice_self(int *ret) {
        int n;

        errno = 0; /* -1 is a valid nice value: errno tells */
        n = getpriority(PRIO_PROCESS, 0);
        if (errno != 0)
                return -errno;
        *ret = n;
        return 0;
}

int pid_get_starttime(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        char path[64], *p;
        unsigned long long st;

        (void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        if (read_full_file_at(AT_FDCWD, path, 4096, &s, NULL) < 0)
                return -ESRCH;
        p = strrchr(s, ')');
        if (!p)
                return -EIO;
        /* after ") " come fields 3..; starttime is field 22 → the 20th after ')' */
        p += 2;
        for (int i = 0; i < 19; i++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EIO;
                p++;
        }
        if (sscanf(p, "%llu", &st) != 1)
                return -EIO;
        *ret = st;
        return 0;
}
