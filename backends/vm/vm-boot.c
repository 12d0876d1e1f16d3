/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Booting a VM (docs/vm.md): the rootfs and mounts as images (inline in the initramfs or cached
 * erofs, built asynchronously), then QEMU's cgroup, its tap, the socket pairs for QMP, the control
 * port and the console, and QEMU itself in its jail, wired to the monitor's event loop. */

#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "links.h"
#include "log.h"
#include "util.h"
#include "vm-internal.h"

#define VM_DEFAULT_MEMORY (UINT64_C(256) << 20)
#define VM_BOOT_TIMEOUT_USEC (120 * USEC_PER_SEC) /* TCG on a loaded host is slow */
#define VM_CONSOLE_LOG_MAX (1024U * 1024U)
/* QEMU's cgroup: guest RAM plus what QEMU needs for itself. Measured (bench/results/vm-*.md):
 * RSS beyond guest RAM is ~37 MiB with KVM; under TCG ~75 MiB anonymous (32 MiB translation
 * cache, heap, device model) plus the page cache of the mmapped vmlinux (57 MiB, reclaimable). */
#define VM_VMM_OVERHEAD_KVM CGROUP_VMM_MEMORY_OVERHEAD
#define VM_VMM_OVERHEAD_TCG (UINT64_C(160) << 20)
#define VM_VMM_PIDS 64U /* QEMU's threads: vCPUs, I/O, RCU, call_rcu, workers */

/* ---------------------------------------------------------------- start */

static int socketpairs(int fds[_VM_FD_MAX][2]) {
        for (size_t i = 0; i < _VM_FD_MAX; i++)
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds[i]) < 0)
                        return -errno;
        return 0;
}

static void close_pairs(int fds[_VM_FD_MAX][2]) {
        for (size_t i = 0; i < _VM_FD_MAX; i++)
                for (size_t j = 0; j < 2; j++)
                        if (fds[i][j] >= 0) {
                                (void) close(fds[i][j]);
                                fds[i][j] = -EBADF;
                        }
}

static char *tap_error_message(const NetConfig *c, int r) {
        char *s;
        int n;

        if (r == -ENODEV)
                n = asprintf(
                        &s,
                        "cannot create the VM's network interface '%s': the bridge '%s' of network '%s' does not exist",
                        c->host_ifname, c->network, c->network);
        else if (r == -ENOTTY)
                n = asprintf(&s, "cannot create the VM's network interface '%s': '%s' is not a bridge",
                             c->host_ifname, c->network);
        else
                n = asprintf(&s, "cannot create the VM's network interface '%s' on bridge '%s': %s",
                             c->host_ifname, c->network, strerror(-r));
        return n < 0 ? NULL : s;
}

static int vm_launch(Vm *vm, char **reterr) {
        Monitor *m = vm->m;
        const WorkloadSpec *s = m->spec;
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *console = NULL, *cg_path = NULL, *cg_msg = NULL,
                            *qemu_log = NULL;
        _cleanup_strv_free_ char **argv = NULL, **jail_mounts = NULL;
        int fds[_VM_FD_MAX][2], child_fds[_VM_JAIL_FD_MAX], errp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int tap_fd = -EBADF;
        char mac[18];
        JailBind binds[3 + SPEC_MAX_MOUNTS];
        size_t n_binds = 0;
        QemuConfig qc;
        pid_t pid;
        int r;

        for (size_t i = 0; i < _VM_FD_MAX; i++)
                fds[i][0] = fds[i][1] = -EBADF;

        if (asprintf(&kernel, "%s/vmlinux", m->paths.vm_dir) < 0 ||
            asprintf(&initrd, "%s/initramfs.cpio", m->paths.vm_dir) < 0 ||
            asprintf(&vm->jail_dir, "%s/jail", m->dir) < 0)
                return -ENOMEM;
        if (access(kernel, R_OK) < 0 || access(initrd, R_OK) < 0) {
                *reterr = strdup("guest kernel or initramfs missing: run isod-vm-setup");
                return -ENOENT;
        }
        if (mkdir(vm->jail_dir, 0700) < 0 && errno != EEXIST)
                return -errno;

        binds[n_binds++] = (JailBind){ kernel, "/vm/vmlinux" };
        binds[n_binds++] = (JailBind){ vm->inline_initrd ?: initrd, "/vm/initramfs.cpio" };
        if (vm->image)
                binds[n_binds++] = (JailBind){ vm->image, "/vm/rootfs.erofs" };
        for (size_t i = 0; i < s->n_mounts; i++) {
                char t[64];
                (void) snprintf(t, sizeof t, "/vm/mnt%zu.erofs", i);
                r = strv_extend(&jail_mounts, t);
                if (r < 0)
                        return r;
                binds[n_binds++] = (JailBind){ vm->mount_images[i], jail_mounts[i] };
        }

        qc = (QemuConfig){
                .accel = vm->accel,
                .cpus = s->cpus > 0 ? (unsigned) ceil(s->cpus) : 1,
                .memory_mib = ((s->memory ?: VM_DEFAULT_MEMORY) + (UINT64_C(1) << 20) - 1) >> 20,
                .kernel = "/vm/vmlinux",
                .initrd = "/vm/initramfs.cpio",
                .rootfs = vm->image ? "/vm/rootfs.erofs" : NULL,
                .mount_images = (const char *const *) jail_mounts,
                .nic = m->net != NULL,
                .mac = m->net ? mac_to_string(m->net->mac, mac) : NULL,
        };
        r = qemu_build_argv(&qc, m->paths.qemu ?: ISOD_QEMU_PATH, &argv);
        if (r < 0)
                return r;

        /* QEMU's cgroup: guest RAM + the VMM's own overhead, the workload's CPUs, QEMU's threads. */
        r = cgroup_path_for_workload(m->dir, "vm", m->name, &cg_path);
        if (r < 0)
                return r;
        r = cgroup_setup(
                cg_path,
                &(CgroupLimits){
                        .memory = (qc.memory_mib << 20) +
                                  (vm->accel == VM_ACCEL_KVM ? VM_VMM_OVERHEAD_KVM : VM_VMM_OVERHEAD_TCG),
                        .cpus = s->cpus,
                        .pids = VM_VMM_PIDS + 2 * qc.cpus,
                        .io_weight = s->io_weight,
                        .cpu_weight = s->cpu_weight,
                        .extra_devices = (const CgroupDeviceRule[]){ { 'c', 10, 232, "rw" } }, /* kvm */
                        .n_extra_devices = vm->accel == VM_ACCEL_KVM ? 1 : 0,
                },
                &vm->cgroup, &cg_msg);
        if (r < 0) {
                if (asprintf(reterr, "set up QEMU's cgroup: %s", cg_msg ?: strerror(-r)) < 0)
                        *reterr = NULL;
                return r;
        }
        monitor_set_fact(m, "cgroup", json_string(cgroup_path(vm->cgroup)));

        vm_setup_tty(vm);

        /* The NIC's tap, here in the host's network namespace: the jail's clone() below gives
         * QEMU an empty one, and QEMU only inherits the fd. */
        if (m->net) {
                r = tap_open(m->net, &tap_fd);
                if (r < 0) {
                        *reterr = tap_error_message(m->net, r);
                        return r;
                }
                monitor_set_fact(m, "host_ifname", json_string(m->net->host_ifname));
        }

        r = socketpairs(fds);
        if (r < 0) {
                close_pairs(fds);
                return r;
        }
        for (size_t i = 0; i < _VM_FD_MAX; i++)
                child_fds[i] = fds[i][1];
        child_fds[VM_FD_TAP] = tap_fd;
        if (pipe2(errp, O_CLOEXEC) < 0) {
                close_pairs(fds);
                return -errno;
        }

        JailConfig jc = {
                .root_dir = vm->jail_dir,
                .binds = binds,
                .n_binds = n_binds,
                .kvm = vm->accel == VM_ACCEL_KVM,
                .uid = jail_uid_for(getpid()),
                .gid = jail_uid_for(getpid()),
                .fds = child_fds,
                .n_fds = tap_fd >= 0 ? _VM_JAIL_FD_MAX : _VM_FD_MAX,
                .cgroup = vm->cgroup,
                .stderr_fd = errp[1],
        };
        r = jail_spawn(&jc, argv, &pid, reterr);
        (void) close(errp[1]);
        /* QEMU holds the tap now: the kernel removes it when QEMU exits. */
        tap_fd = safe_close(tap_fd);
        if (r < 0) {
                (void) close(errp[0]);
                close_pairs(fds);
                return r;
        }
        /* QEMU's own messages: STATE_DIR/qemu.log, first 64 KiB. */
        if (asprintf(&qemu_log, "%s/qemu.log", m->dir) >= 0)
                vm->qemu_log_fd = open(qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        if (relay_new(m->event, errp[0], vm->qemu_log_fd, 64U * 1024U, NULL, NULL, &vm->relay_qemu_log) < 0)
                log_debug("Cannot keep QEMU's messages, ignoring.");
        vm->qemu_err_pipe = errp[0];
        vm->qemu_pid = pid;
        vm->t_spawn = vm_since(vm);
        for (size_t i = 0; i < _VM_FD_MAX; i++) {
                (void) close(fds[i][1]);
                fds[i][1] = -EBADF;
        }

        r = sd_event_add_child(m->event, &vm->child_src, pid, WEXITED, on_qemu_exit, vm);
        if (r < 0)
                goto fail;
        r = qmp_new(m->event, TAKE_FD(fds[VM_FD_QMP][0]), on_qmp_event, vm, &vm->qmp);
        if (r < 0)
                goto fail;
        r = agent_conn_new(m->event, fds[VM_FD_CTL][0], on_agent_msg, on_agent_error, vm, &vm->agent);
        if (r < 0)
                goto fail;
        fds[VM_FD_CTL][0] = -EBADF;

        /* The workload's stdio travels on the control port (id 0): its output is queued for the
         * client here, its stdin is read once the CONFIG went out (send_config()). */
        vm->io = (VmExec){ .id = 0, .in_fd = -EBADF, .vm = vm };
        for (size_t i = 0; i < 2; i++)
                if (outq_new(m->event, m->stdio[1 + i], on_exec_out_drained, &vm->io, &vm->io.out[i]) < 0)
                        vm->io.out[i] = NULL; /* output to nowhere rather than blocking */
        if (asprintf(&console, "%s/console.log", m->dir) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        vm->console_fd = open(console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        r = relay_new(m->event, fds[VM_FD_CONSOLE][0], vm->console_fd, VM_CONSOLE_LOG_MAX, NULL, NULL,
                      &vm->relay_console);
        if (r < 0)
                goto fail;
        /* The relay keeps this socket; it closes with the Vm. */
        vm->console_sock = TAKE_FD(fds[VM_FD_CONSOLE][0]);

        (void) vm_arm_timer(vm, VM_BOOT_TIMEOUT_USEC, on_boot_timeout);
        return 0;

fail:
        close_pairs(fds);
        vm_kill_qemu(vm);
        return r;
}

static void vm_launch_or_fail(Vm *vm) {
        _cleanup_free_ char *msg = NULL;
        int r;

        r = vm_launch(vm, &msg);
        if (r < 0) {
                if (!msg && asprintf(&msg, "cannot start QEMU: %s", strerror(-r)) < 0)
                        msg = NULL;
                monitor_payload_failed(vm->m, r, msg ?: "cannot start QEMU");
        }
}

/* A stored image (daemon/image.c): one layer is its tree as it is; more are merged by a read-only
 * overlay mounted in a mount namespace of this monitor's own (it goes with the monitor, so nothing
 * is ever left mounted on the host), from which mkfs.erofs or the initramfs writer read it. The
 * key is the top layer's ChainID: no walk of the tree to know whether it is cached. */
static int vm_image_tree(Monitor *m, Vm *vm, ImageKey *ret_key) {
        const MonitorImage *img = m->image;
        _cleanup_free_ char *lowers = NULL, *opts = NULL;
        struct stat st;

        for (size_t i = 0; i < img->n_layers; i++)
                if (strpbrk(img->layers[i], ",:\\") || stat(img->layers[i], &st) < 0 ||
                    !S_ISDIR(st.st_mode)) {
                        monitor_payload_failed(m, -ENOENT, "a layer of the image is missing from the store");
                        return -ENOENT;
                }
        *ret_key = (ImageKey){ .bytes = img->bytes, .entries = img->entries };
        (void) snprintf(ret_key->key, sizeof ret_key->key, "%.32s", img->key);
        if (img->n_layers == 1) {
                vm->rootfs_dir = strdup(img->layers[0]);
                return vm->rootfs_dir ? 0 : -ENOMEM;
        }
        lowers = strv_join(img->layers, ":");
        if (!lowers || asprintf(&opts, "lowerdir=%s", lowers) < 0 ||
            asprintf(&vm->rootfs_dir, "%s/image", m->dir) < 0)
                return -ENOMEM;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return -errno;
        if (mkdirat(m->dir_fd, "image", 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mount("overlay", vm->rootfs_dir, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0)
                return -errno;
        return 0;
}

static void on_image_built(int r, const char *path, void *userdata) {
        Vm *vm = userdata;
        char msg[256];

        if (r < 0) {
                (void) snprintf(msg, sizeof msg, "building the VM image failed: %s", strerror(-r));
                monitor_payload_failed(vm->m, r, msg);
                vm->n_builds = (size_t) -1; /* never launch */
                return;
        }
        if (vm->n_builds == (size_t) -1 || --vm->n_builds > 0)
                return;
        vm_launch_or_fail(vm);
}

int vm_start(Monitor *m) {
        const WorkloadSpec *s = m->spec;
        _cleanup_free_ char *reason = NULL;
        ImageKey rootfs_key;
        bool have_key = false;
        Vm *vm;
        int r;

        vm = calloc(1, sizeof(Vm));
        if (!vm)
                return -ENOMEM;
        m->backend_data = vm;
        vm->m = m;
        vm->t0 = now_usec(CLOCK_MONOTONIC);
        vm->console_fd = vm->qemu_log_fd = vm->qemu_err_pipe = vm->console_sock = -EBADF;
        vm->io.in_fd = -EBADF;
        for (size_t i = 0; i < VM_MAX_EXECS; i++)
                vm->execs[i].in_fd = -EBADF;

        r = vm_accel_detect(m->paths.accel, &vm->accel, &reason);
        if (r < 0)
                return r;
        monitor_set_fact(m, "accel", json_string(vm_accel_to_string(vm->accel)));
        if (reason)
                monitor_set_fact(m, "accel_reason", json_string(reason));

        if (m->image) {
                r = vm_image_tree(m, vm, &rootfs_key);
                if (r < 0)
                        return r;
                have_key = true;
        } else if (s->rootfs)
                vm->rootfs_dir = strdup(s->rootfs);
        else if (asprintf(&vm->rootfs_dir, "%s/%s/rootfs", m->paths.image_dir, s->image) < 0)
                vm->rootfs_dir = NULL;
        if (!vm->rootfs_dir)
                return -ENOMEM;

        vm->mount_images = calloc(s->n_mounts + 1, sizeof(char *));
        vm->builds = calloc(s->n_mounts + 1, sizeof(ImageBuild *));
        if (!vm->mount_images || !vm->builds)
                return -ENOMEM;
        /* A small rootfs rides in the initramfs: no disk, and the guest loads no block, erofs or
         * overlay module for it (docs/vm.md). Larger ones become a cached erofs image. */
        /* The rootfs tree is walked once, for both (a stored image's key is its top ChainID). A
         * missing one is reported by image_get(). */
        r = have_key ? 0 : image_tree_key(vm->rootfs_dir, &rootfs_key);
        if (r >= 0) {
                _cleanup_free_ char *base = NULL;

                if (asprintf(&base, "%s/initramfs.cpio", m->paths.vm_dir) < 0)
                        return -ENOMEM;
                r = image_inline_get(m->paths.cache_dir, vm->rootfs_dir, &rootfs_key, base,
                                     &vm->inline_initrd);
                if (r < 0)
                        log_debug_errno(r, "Cannot put the rootfs in the initramfs, using a disk: %m");
                have_key = true;
        }
        monitor_set_fact(m, "rootfs", json_string(vm->inline_initrd ? "initramfs" : "erofs"));
        for (size_t i = 0; i <= s->n_mounts; i++) {
                const char *dir = i == 0 ? vm->rootfs_dir : s->mounts[i - 1].source;
                char **slot = i == 0 ? &vm->image : &vm->mount_images[i - 1];

                if (i == 0 && vm->inline_initrd)
                        continue;

                r = image_get(m->event, m->paths.cache_dir, dir, i == 0 && have_key ? &rootfs_key : NULL,
                              m->stdio[2], on_image_built, vm, slot, &vm->builds[i]);
                if (r < 0)
                        return r;
                if (r == 0)
                        vm->n_builds++;
        }
        if (vm->n_builds == 0)
                vm_launch_or_fail(vm);
        return 0;
}
