/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QEMU microvm: accelerator choice, command line, and a small QMP client (jansson). */

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "util.h"
#include "vm-internal.h"

#define QMP_MAX_LINE (64U * 1024U)
#define QMP_MAX_QUEUE (64U * 1024U)
/* The guest CPU under TCG (see qemu_build_argv()). */
#define VM_TCG_CPU "qemu64,+rdrand"

const char *vm_accel_to_string(VmAccel a) {
        return a == VM_ACCEL_KVM ? "kvm" : a == VM_ACCEL_TCG ? "tcg" : NULL;
}

static bool cpu_has_hw_virt(void) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[4096];

        f = fopen("/proc/cpuinfo", "re");
        if (!f)
                return false;
        while (fgets(line, sizeof line, f)) {
                if (!startswith(line, "flags"))
                        continue;
                /* Whole words only. */
                for (char *t = strtok(strchr(line, ':') ?: line, " \t\n:"); t; t = strtok(NULL, " \t\n"))
                        if (streq(t, "vmx") || streq(t, "svm"))
                                return true;
                return false;
        }
        return false;
}

static int kvm_works(void) {
        _cleanup_close_ int fd = -EBADF;
        int v;

        fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        v = ioctl(fd, KVM_GET_API_VERSION, 0);
        if (v != KVM_API_VERSION)
                return -EOPNOTSUPP;
        return 0;
}

int vm_accel_detect(const char *want, VmAccel *ret, char **ret_reason) {
        bool hw = cpu_has_hw_virt();
        int k = kvm_works();
        char *reason = NULL;

        if (!want || streq(want, "") || streq(want, "auto")) {
                if (hw && k >= 0) {
                        *ret = VM_ACCEL_KVM;
                        reason = strdup("hardware virtualization available");
                } else {
                        *ret = VM_ACCEL_TCG;
                        if (!hw)
                                reason = strdup(
                                        "no vmx/svm CPU flag: emulating the CPU (TCG), expect slow VMs");
                        else if (asprintf(&reason, "/dev/kvm unusable (%s): emulating the CPU (TCG)",
                                          strerror(-k)) < 0)
                                reason = NULL;
                }
        } else if (streq(want, "kvm")) {
                if (k < 0)
                        return -EOPNOTSUPP;
                *ret = VM_ACCEL_KVM;
                reason = strdup("forced by configuration");
        } else if (streq(want, "tcg")) {
                *ret = VM_ACCEL_TCG;
                reason = strdup("forced by configuration");
        } else
                return -EINVAL;

        if (ret_reason)
                *ret_reason = reason;
        else
                free(reason);
        return 0;
}

static int strv_extendf(char ***l, const char *fmt, ...) _printf_(2, 3);
static int strv_extendf(char ***l, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_extend(l, s);
}

/* A value inside a QEMU option string: ',' must be doubled. Paths come from our own config and
 * the cache, never from the user, but be correct anyway. */
static char *qemu_escape(const char *s) {
        size_t n = 0;
        char *r, *p;

        for (const char *c = s; *c; c++)
                n += *c == ',' ? 2 : 1;
        r = malloc(n + 1);
        if (!r)
                return NULL;
        for (p = r; *s; s++) {
                *p++ = *s;
                if (*s == ',')
                        *p++ = ',';
        }
        *p = 0;
        return r;
}

int qemu_build_argv(const QemuConfig *c, const char *qemu_path, char ***ret) {
        _cleanup_strv_free_ char **a = NULL;
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *rootfs = NULL;
        int r;

        kernel = qemu_escape(c->kernel);
        initrd = qemu_escape(c->initrd);
        rootfs = c->rootfs ? qemu_escape(c->rootfs) : NULL;
        if (!kernel || !initrd || (c->rootfs && !rootfs))
                return -ENOMEM;

#define ADD(...)                                   \
        do {                                       \
                r = strv_extendf(&a, __VA_ARGS__); \
                if (r < 0)                         \
                        return r;                  \
        } while (0)

        ADD("%s", qemu_path);
        /* No legacy devices but the RTC: no PIC/PIT/serial, no option ROMs; ACPI describes the
         * virtio-mmio devices (the Debian kernel cannot take virtio_mmio.device=). rtc=off costs
         * 1.3-2.4 s of boot under TCG (measured, bench/results/): the kernel's CMOS clock
         * reads time out one by one. */
        ADD("-M");
        ADD("microvm,x-option-roms=off,isa-serial=off,pit=off,pic=off,acpi=on");
        ADD("-nodefaults");
        ADD("-no-user-config");
        ADD("-nographic");
        ADD("-no-reboot");
        ADD("-display");
        ADD("none");
        ADD("-accel");
        ADD("%s", c->accel == VM_ACCEL_KVM ? "kvm" : "tcg,thread=multi");
        ADD("-cpu");
        /* Under TCG every CPU feature is emulated instruction by instruction: with the wide vector
         * state of "max" the guest kernel boots and loads its modules ~15% slower. The x86-64
         * baseline (what the raw floor in bench/bench-vm.sh gets by default) plus RDRAND, so that
         * random.trust_cpu seeds the guest's RNG at once (docs/vm.md). */
        ADD("%s", c->accel == VM_ACCEL_KVM ? "host" : VM_TCG_CPU);
        ADD("-smp");
        ADD("%u", MAX(c->cpus, 1U));
        ADD("-m");
        ADD("%" PRIu64 "M", c->memory_mib);
        ADD("-sandbox");
        ADD("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
        ADD("-kernel");
        ADD("%s", kernel);
        ADD("-initrd");
        ADD("%s", initrd);
        ADD("-append");
        /* console=hvc0: kernel messages go to the console port (console.log in the state dir).
         * panic=-1 + -no-reboot: a guest panic ends QEMU with SHUTDOWN reason guest-reset. */
        ADD("console=hvc0 quiet panic=-1 cryptomgr.notests no_timer_check nokaslr random.trust_cpu=on "
            "8250.nr_uarts=0 rdinit=/init%s%s%s",
            c->accel == VM_ACCEL_TCG ? " tsc_early_khz=2000000" : "", c->extra_append ? " " : "",
            strempty(c->extra_append));

        /* QMP and every chardev are sockets the monitor made (socketpair), inherited by QEMU as
         * fds 3…: nothing in the file system to connect to, nothing to reconnect. */
        ADD("-chardev");
        ADD("socket,id=qmp,fd=%d", 3 + VM_FD_QMP);
        ADD("-mon");
        ADD("chardev=qmp,mode=control");

        /* Without one, the rootfs came inside the initramfs (image.c, image_inline_get()). */
        if (rootfs) {
                ADD("-drive");
                ADD("id=rootfs,if=none,format=raw,readonly=on,file=%s", rootfs);
                ADD("-device");
                ADD("virtio-blk-device,drive=rootfs,serial=" AGENT_DISK_ROOTFS);
        }
        for (size_t i = 0; c->mount_images && c->mount_images[i]; i++) {
                _cleanup_free_ char *p = qemu_escape(c->mount_images[i]);
                if (!p)
                        return -ENOMEM;
                ADD("-drive");
                ADD("id=mnt%zu,if=none,format=raw,readonly=on,file=%s", i, p);
                ADD("-device");
                ADD("virtio-blk-device,drive=mnt%zu,serial=" AGENT_DISK_MOUNT_PREFIX "%zu", i, i);
        }

        ADD("-device");
        /* Two ports: the kernel's console and the agent's control port, which carries the stdio
         * of the workload and of every exec as frames. Each port costs the guest a device and a
         * filled receive queue at boot (~10-20 ms under TCG), so stdio gets no ports of its own. */
        ADD("virtio-serial-device,max_ports=2");
        static const struct {
                int fd;
                const char *name;
                bool console;
        } ports[] = {
                { VM_FD_CONSOLE, AGENT_PORT_CONSOLE, true },
                { VM_FD_CTL, AGENT_PORT_CONTROL, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(ports); i++) {
                ADD("-chardev");
                ADD("socket,id=c%zu,fd=%d", i, 3 + ports[i].fd);
                ADD("-device");
                ADD("%s,chardev=c%zu,name=%s", ports[i].console ? "virtconsole" : "virtserialport", i,
                    ports[i].name);
        }
        ADD("-device");
        ADD("virtio-rng-device");
        /* The NIC: the monitor opened the tap in the host's network namespace (network/tap.c);
         * QEMU, in an empty one, only reads and writes the fd. No vhost-net (not on every host,
         * and its device node would have to be in the jail). Last, so the other devices keep
         * their virtio-mmio slots. */
        if (c->nic) {
                if (!c->mac)
                        return -EINVAL;
                ADD("-netdev");
                ADD("tap,id=n0,fd=%d,vhost=off", 3 + VM_FD_TAP);
                ADD("-device");
                ADD("virtio-net-device,netdev=n0,mac=%s", c->mac);
        }
#undef ADD

        *ret = TAKE_PTR(a);
        return 0;
}

/* ---------------------------------------------------------------- QMP */

struct Qmp {
        int fd;
        sd_event_source *src;
        char *in;
        size_t in_len;
        char *out;
        size_t out_len;
        bool broken;
        qmp_event_t on_event;
        void *userdata;
};

Qmp *qmp_free(Qmp *q) {
        if (!q)
                return NULL;
        sd_event_source_disable_unref(q->src);
        if (q->fd >= 0)
                (void) close(q->fd);
        free(q->in);
        free(q->out);
        free(q);
        return NULL;
}

static void qmp_update(Qmp *q) {
        if (q->src)
                (void) sd_event_source_set_io_events(q->src, EPOLLIN | (q->out_len > 0 ? EPOLLOUT : 0));
}

static void qmp_handle_line(Qmp *q, const char *line) {
        json_auto_t *v = NULL;
        json_t *ev;

        v = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(v))
                return;
        ev = json_object_get(v, "event");
        if (json_is_string(ev) && q->on_event)
                q->on_event(q, json_string_value(ev), json_object_get(v, "data"), q->userdata);
}

static void qmp_read(Qmp *q) {
        for (;;) {
                ssize_t n;
                char *nl;

                if (q->broken)
                        return;
                n = recv(q->fd, q->in + q->in_len, QMP_MAX_LINE - q->in_len, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        q->broken = true;
                        (void) sd_event_source_set_enabled(q->src, SD_EVENT_OFF);
                        return;
                }
                q->in_len += (size_t) n;
                while ((nl = memchr(q->in, '\n', q->in_len))) {
                        *nl = 0;
                        qmp_handle_line(q, q->in);
                        q->in_len -= (size_t) (nl + 1 - q->in);
                        memmove(q->in, nl + 1, q->in_len);
                }
                if (q->in_len >= QMP_MAX_LINE) {
                        /* A line longer than we accept: stop listening rather than grow. */
                        q->broken = true;
                        (void) sd_event_source_set_enabled(q->src, SD_EVENT_OFF);
                        return;
                }
        }
}

static void qmp_write(Qmp *q) {
        while (q->out_len > 0 && !q->broken) {
                ssize_t n = send(q->fd, q->out, q->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        q->broken = true;
                        break;
                }
                q->out_len -= (size_t) n;
                memmove(q->out, q->out + n, q->out_len);
        }
        qmp_update(q);
}

static int qmp_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Qmp *q = userdata;

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                qmp_read(q);
        if (revents & EPOLLOUT)
                qmp_write(q);
        return 0;
}

void qmp_drain(Qmp *q) {
        if (q)
                qmp_read(q);
}

int qmp_execute(Qmp *q, const char *command) {
        _cleanup_free_ char *s = NULL;
        int n;

        if (!q || q->broken)
                return -ENOTCONN;
        n = asprintf(&s, "{\"execute\":\"%s\"}\n", command);
        if (n < 0)
                return -ENOMEM;
        if (q->out_len + (size_t) n > QMP_MAX_QUEUE)
                return -ENOBUFS;
        memcpy(q->out + q->out_len, s, (size_t) n);
        q->out_len += (size_t) n;
        qmp_write(q);
        return 0;
}

int qmp_new(sd_event *e, int fd, qmp_event_t on_event, void *userdata, Qmp **ret) {
        _cleanup_(qmp_freep) Qmp *q = NULL;
        int r;

        q = calloc(1, sizeof(Qmp));
        if (!q)
                return -ENOMEM;
        q->fd = fd;
        q->on_event = on_event;
        q->userdata = userdata;
        q->in = malloc(QMP_MAX_LINE + 1);
        q->out = malloc(QMP_MAX_QUEUE);
        if (!q->in || !q->out)
                return -ENOMEM;
        r = sd_event_add_io(e, &q->src, fd, EPOLLIN, qmp_io, q);
        if (r < 0)
                return r;
        /* Sent before the greeting is read: QEMU processes it once the session is up. */
        r = qmp_execute(q, "qmp_capabilities");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}
