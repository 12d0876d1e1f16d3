/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "isoctl.h"
#include "util.h"

/* Terminals (-t): isoctl allocates a pseudo-terminal pair, hands the slave to the workload as its
 * stdin/stdout/stderr (the workload makes it its controlling terminal in a session of its own),
 * and relays between the user's terminal, in raw mode, and the master. Keys such as Ctrl-C reach
 * the workload's foreground process group through the terminal, so job control works inside;
 * window size changes (SIGWINCH) are copied to the master. */

static struct termios saved_termios;
static bool termios_saved = false;

int tty_open_pair(int *ret_master, int *ret_slave) {
        struct winsize ws;

        return pty_open_pair(0, ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) >= 0 ? &ws : NULL, ret_master,
                             ret_slave);
}

void tty_raw_mode(void) {
        struct termios t;

        if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return;
        termios_saved = true;
        t = saved_termios;
        /* Fully raw, output too: the workload's own pty already does the \n → \r\n translation. */
        cfmakeraw(&t);
        (void) tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

void tty_restore(void) {
        if (termios_saved)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        termios_saved = false;
}

static int copy_some(int from, int to) {
        char buf[16384];
        ssize_t n = read(from, buf, sizeof buf);

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0)
                return -EPIPE;
        for (ssize_t off = 0; off < n;) {
                ssize_t k = write(to, buf + off, (size_t) (n - off));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct timespec ts = { 0, 1000000 };
                                (void) nanosleep(&ts, NULL);
                                continue;
                        }
                        return -errno;
                }
                off += k;
        }
        return 1;
}

static int on_master(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        if (copy_some(fd, STDOUT_FILENO) < 0)
                /* EIO: every slave fd is closed, the workload is gone; Wait's reply ends the loop. */
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int master = PTR_TO_FD(userdata);

        if (copy_some(fd, master) < 0)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static int on_winch(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct winsize ws;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) >= 0)
                (void) ioctl(PTR_TO_FD(userdata), TIOCSWINSZ, &ws);
        return 0;
}

int tty_attach(sd_event *event, int master) {
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGWINCH);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        (void) fd_set_nonblock(master, true);
        r = sd_event_add_io(event, NULL, master, EPOLLIN, on_master, NULL);
        if (r < 0)
                return r;
        r = sd_event_add_io(event, NULL, STDIN_FILENO, EPOLLIN, on_stdin, FD_TO_PTR(master));
        if (r < 0 && r != -EPERM) /* stdin may be a regular file, which epoll refuses */
                return r;
        r = sd_event_add_signal(event, NULL, SIGWINCH, on_winch, FD_TO_PTR(master));
        if (r < 0)
                return r;
        tty_raw_mode();
        return 0;
}

void tty_drain(int master) {
        /* Whatever the workload wrote last. */
        while (copy_some(master, STDOUT_FILENO) > 0)
                ;
        tty_restore();
}
