#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# isod-oci, runc's command line in front of isod, driven the way conmon and the containerd shim
# drive a runtime: a child-subreaper caller runs `create --pid-file`, waits on the PID it names
# (which must be its descendant and exit with the workload's status), then `start`, `state`,
# `kill`, `delete`; in a container and, chosen by the bundle's annotation, in a VM. Bad input
# (hostile IDs, wrong states, refused config.json keys) gets runc's errors and exit status 1.
. "$(dirname "$0")/lib.sh"

require_root
require_vm_assets
ensure_image || skip_all "cannot build the busybox image"
start_bus || skip_all "cannot start dbus-daemon"
start_isod || {
        not_ok "isod starts"
        done_testing
}
OCI=$top_builddir/isod-oci
ROOT=$T/oci-root
PY=/usr/bin/python3

# bundle DIR ISOLATION ARGS-JSON: a config.json over the built-in busybox tree, as Podman writes them.
bundle() {
        mkdir -p "$1"
        "$PY" - "$1" "$IMAGE_DIR/busybox/rootfs" "$2" "$3" <<'PY'
import json, sys
d, rootfs, iso, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
        "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]
cfg = {"ociVersion": "1.0.2-dev",
       "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
                   "env": ["PATH=/bin", "FROM=oci"], "cwd": "/",
                   "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}},
       "root": {"path": rootfs, "readonly": False}, "hostname": "ocibox",
       "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                  {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
       "annotations": {"org.isod1.isolation": iso, "io.kubernetes.cri.container-name": "c1"},
       "linux": {"namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
                 "cgroupsPath": "/libpod_parent/x"}}
json.dump(cfg, open(d + "/config.json", "w"))
PY
}

# caller ID BUNDLE OUT [STEP...]: the conmon part in Python: a child subreaper that runs create
# with OUT as the container's stdout, checks that the pid-file's PID is its own descendant, runs
# the steps (start | kill SIG | sleep S), then waitpid()s that PID. Prints "ppid-ok STATUS".
caller() {
        "$PY" - "$OCI" "$ROOT" "$@" <<'PY'
import ctypes, os, subprocess, sys, time
oci, root, cid, b, out = sys.argv[1:6]
steps = sys.argv[6:]
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pf = b + "/pid"
# The container's stderr too: like conmon's pipes, they stay open as long as the workload.
with open(out, "w") as o, open(out + ".err", "w") as e:
    r = subprocess.run([oci, "--root", root, "create", "--bundle", b, "--pid-file", pf, cid],
                       stdin=subprocess.DEVNULL, stdout=o, stderr=e)
if r.returncode != 0:
    print("create-failed", r.returncode, open(out + ".err").read().strip()); sys.exit(0)
pid = int(open(pf).read())
ppid = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
print("ppid-ok" if ppid == os.getpid() else "ppid-wrong %d" % ppid, end=" ")
for s in steps:
    if s == "start":
        subprocess.run([oci, "--root", root, "start", cid], check=True)
    elif s.startswith("kill"):
        subprocess.run([oci, "--root", root, "kill", cid, s[4:]], check=True)
    elif s.startswith("sleep"):
        time.sleep(float(s[5:]))
_, st = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else "signal-%d" % os.WTERMSIG(st))
PY
}
oci() { "$OCI" --root "$ROOT" "$@"; }

# ---------------------------------------------------------------- basics
like "--version" "$(oci --version)" "^isod-oci version "
is "features: JSON with the namespaces isod makes" "$(oci features | jq -c .linux.namespaces)" \
        '["pid","network","ipc","uts","mount","cgroup"]'

# ---------------------------------------------------------------- the lifecycle, a container
bundle "$T/b1" container '["/bin/sh","-c","echo hi from $(hostname) $FROM; exit 3"]'
out=$(caller c1 "$T/b1" "$T/c1.out" start)
is "create + start: the pid-file's PID is the caller's descendant and exits with the workload's status" "$out" "ppid-ok 3"
is "... the workload wrote to create's stdout" "$(cat "$T/c1.out")" "hi from ocibox oci"
is "... isod ran it as a container (the annotation asked for one)" "$(isoctl show --json c1 | jq -r .Isolation)" container
is "state after the end: stopped" "$(oci state c1 | jq -r .status)" stopped
is "... with its bundle" "$(oci state c1 | jq -r .bundle)" "$T/b1"
oci delete c1
rc=$?
is "delete of a stopped container" "$rc" 0
out=$(oci state c1 2>&1)
like "... then state: does not exist" "$out" "container c1 does not exist"
unlike "... and isod has no workload c1" "$(isoctl list)" "^c1 "

# An init ignores signals it has no handler for (the kernel's rule for a PID namespace's init).
bundle "$T/b2" container '["/bin/sh","-c","trap \"exit 143\" TERM; sleep 30 & wait"]'
out=$(caller c2 "$T/b2" "$T/c2.out" start sleep0.5 kill15)
is "kill ID 15 of a running container: the stand-in exits 143" "$out" "ppid-ok 143"
oci delete c2 >/dev/null 2>&1
bundle "$T/b2k" container '["/bin/sleep","30"]'
out=$(caller c2k "$T/b2k" "$T/c2k.out" start sleep0.5 kill9)
is "kill ID 9: the stand-in exits 137" "$out" "ppid-ok 137"
oci delete c2k >/dev/null 2>&1
bundle "$T/b2l" container '["/bin/sleep","100"]'
out=$(caller c2l "$T/b2l" "$T/c2l.out" start sleep30 kill9)
is "a workload that outlives D-Bus's default timeout (25 s): the stand-in still waits for it" "$out" "ppid-ok 137"
oci delete c2 >/dev/null 2>&1

# created, then states and wrong transitions, driven step by step
bundle "$T/b3" container '["/bin/sleep","30"]'
"$PY" - "$OCI" "$ROOT" "$T/b3" >"$T/c3.py.out" 2>&1 <<'PY' &
import ctypes, os, subprocess, sys, time
oci, root, b = sys.argv[1:4]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
subprocess.run([oci, "--root", root, "create", "--bundle", b, "--pid-file", b + "/pid", "c3"], check=True,
               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
_, st = os.waitpid(int(open(b + "/pid").read()), 0)
print("end", os.waitstatus_to_exitcode(st))
PY
ppid=$!
wait_until 10 test -s "$T/b3/pid"
is "state of a created container: created" "$(oci state c3 | jq -r .status)" created
is "... its pid is the stand-in's" "$(oci state c3 | jq -r .pid)" "$(cat "$T/b3/pid")"
oci start c3
is "start: running" "$(oci state c3 | jq -r .status)" running
out=$(oci start c3 2>&1)
rc=$?
like "start twice: refused" "$out" "cannot start a container that is not created"
is "... exit status 1" "$rc" 1
out=$(oci delete c3 2>&1)
like "delete of a running container without --force: refused" "$out" "not stopped: running"
oci delete --force c3
is "delete --force of a running container" "$?" 0
wait "$ppid"
like "... its stand-in ended with the workload (SIGKILL: 137)" "$(cat "$T/c3.py.out")" "^end 137$"
out=$(oci kill c3 9 2>&1)
like "kill of an unknown container" "$out" "container c3 does not exist"

# process.rlimits as Podman writes them (within this host's hard limit): the workload runs with them.
bundle "$T/b9" container '["/bin/sh","-c","ulimit -n; ulimit -Hn"]'
"$PY" - "$T/b9/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1000}]
json.dump(c, open(sys.argv[1], "w"))
PY
out=$(caller c9 "$T/b9" "$T/c9.out" start)
is "process.rlimits: the workload ran" "$out" "ppid-ok 0"
is "... with RLIMIT_NOFILE soft 1000, hard 2048" "$(tr '\n' ' ' <"$T/c9.out")" "1000 2048 "
oci delete c9

# ---------------------------------------------------------------- a VM, by the bundle's annotation
bundle "$T/b4" vm '["/bin/sh","-c","echo vm kernel $(uname -r); exit 5"]'
out=$(caller c4 "$T/b4" "$T/c4.out" start)
is "the annotation org.isod1.isolation=vm: the same bundle runs in a VM, status kept" "$out" "ppid-ok 5"
like "... the workload saw the guest's kernel" "$(cat "$T/c4.out")" "^vm kernel "
is "... isod ran it as a VM" "$(isoctl show --json c4 | jq -r .Isolation)" vm
oci delete c4

# ---------------------------------------------------------------- exec, ps
# A running container to exec into, held by a subreaper caller (as conmon holds it).
bundle "$T/be" container '["/bin/sh","-c","trap \"exit 0\" TERM; sleep 60 & wait"]'
caller ce "$T/be" "$T/ce.out" start >"$T/ce.res" 2>&1 &
cpid=$!
wait_until 20 sh -c "'$OCI' --root '$ROOT' state ce 2>/dev/null | jq -e '.status == \"running\"' >/dev/null" || diag "ce did not run: $(cat "$T/ce.res")"
# Seen twice in 8 runs, not understood yet: the first exec right after state says running found no
# state.json ("does not exist"); the first exec is retried until it works, the checks below are not.
wait_until 20 sh -c "'$OCI' --root '$ROOT' exec ce true 2>/dev/null"
out=$(oci exec ce sh -c 'echo exec saw $FROM in $(hostname) as $(id -u); exit 4')
rc=$?
is "exec ID CMD (foreground): the process's status" "$rc" 4
is "... it ran inside, with the container's environment" "$out" "exec saw oci in ocibox as 0"
out=$(oci exec ce /no/such 2>&1)
rc=$?
is "exec of a missing program: 127, as runc's callers expect" "$rc" 127
like "... saying why" "$out" "No such file or directory"
out=$(oci exec -u 1000:1000 -e X=1 --cwd /tmp ce sh -c 'echo $(id -u):$(id -g) $X $(pwd)')
is "exec -u -e --cwd" "$out" "1000:1000 1 /tmp"
# --process --detach --pid-file, as conmon and the shim run it: the pid-file names the caller's
# descendant, which exits with the process's status; its output went to exec's stdout.
"$PY" - "$T/pe.json" <<'PY'
import json, sys
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
        "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]
json.dump({"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/bin/sh", "-c", "echo detached; exit 6"],
           "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": True,
           "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}}, open(sys.argv[1], "w"))
d = json.load(open(sys.argv[1])); d["capabilities"] = {k: ["CAP_SYS_ADMIN"] for k in ("bounding", "effective", "permitted")}
json.dump(d, open(sys.argv[1] + ".caps", "w"))
PY
exec_caller() {
        "$PY" - "$OCI" "$ROOT" "$@" <<'PY'
import ctypes, os, subprocess, sys
oci, root, cid, proc, out = sys.argv[1:6]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
pf = out + ".pid"
with open(out, "w") as o:
    r = subprocess.run([oci, "--root", root, "exec", "--process", proc, "--detach", "--pid-file", pf, cid],
                       stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.PIPE)
if r.returncode != 0:
    print("exec-failed", r.returncode, r.stderr.decode().strip()); sys.exit(0)
pid = int(open(pf).read())
ppid = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
print("ppid-ok" if ppid == os.getpid() else "ppid-wrong %d" % ppid, end=" ")
_, st = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(st))
PY
}
is "exec --process --detach --pid-file: the PID is the caller's descendant with the process's status" \
        "$(exec_caller ce "$T/pe.json" "$T/pe.out")" "ppid-ok 6"
is "... and its output went to exec's stdout" "$(cat "$T/pe.out")" "detached"
like "exec --process with capabilities other than the container's: refused" \
        "$(exec_caller ce "$T/pe.json.caps" "$T/pe2.out")" "exec-failed 1 .*capabilities other than the container's"
printf '{"args":[],"cwd":"/"}' >"$T/pbad.json"
like "exec --process with no args: refused by name" "$(oci exec --process "$T/pbad.json" ce 2>&1)" "exec --process: the process.args must be"
printf '{"args":["true"],"cwd":"/","bogus":1}' >"$T/pbad.json"
like "exec --process with an unknown key: refused by name" "$(oci exec --process "$T/pbad.json" ce 2>&1)" "bogus"
like "exec --cap: refused" "$(oci exec --cap CAP_SYS_ADMIN ce true 2>&1)" "the container's capabilities"
pids=$(oci ps --format json ce)
is "ps --format json: the stand-in first" "$(jq -r '.[0]' <<<"$pids")" "$(cat "$T/be/pid")"
is "... then the container's init and its children: sleep among them" \
        "$(for p in $(jq -r '.[1:][]' <<<"$pids"); do cat /proc/$p/comm; done | grep -c '^sleep$')" 1
like "ps (table)" "$(oci ps ce)" "sleep"
oci kill ce 15
wait "$cpid"
like "... the container ended by kill 15" "$(cat "$T/ce.res")" "ppid-ok 0"
like "exec into a stopped container: refused as runc says it" "$(oci exec ce true 2>&1)" "container not running"
oci delete ce

# A VM: exec reaches the guest.
bundle "$T/bv" vm '["/bin/sh","-c","trap \"exit 0\" TERM; sleep 120 & wait"]'
caller cv "$T/bv" "$T/cv.out" start >"$T/cv.res" 2>&1 &
cpid=$!
wait_until 60 sh -c "'$OCI' --root '$ROOT' exec cv true 2>/dev/null"
out=$(oci exec cv sh -c 'echo guest $(uname -r); exit 9')
rc=$?
is "exec into a VM: the guest process's status" "$rc" 9
unlike "... it ran in the guest's kernel" "$out" "guest $(uname -r)\$"
is "exec --detach into a VM: the stand-in's status" "$(exec_caller cv "$T/pe.json" "$T/pv.out")" "ppid-ok 6"
is "... its output" "$(cat "$T/pv.out")" "detached"
pids=$(oci ps --format json cv)
is "ps of a VM: the stand-in and QEMU" "$(for p in $(jq -r '.[1:][]' <<<"$pids"); do cat /proc/$p/comm; done | grep -c qemu)" 1
oci kill cv 9
wait "$cpid"
oci delete cv

# ---------------------------------------------------------------- terminals (--console-socket)
# console_caller ID BUNDLE|exec PROCESS: listens on a socket as conmon does, runs create (or exec
# --tty), takes the pty master from the message, starts, reads what the workload wrote.
console_caller() {
        "$PY" - "$OCI" "$ROOT" "$T" "$@" <<'PY'
import array, ctypes, os, select, socket, subprocess, sys, time
oci, root, T, cid, mode, arg = sys.argv[1:7]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
path = T + "/console-" + cid + "-" + mode + ".sock"
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind(path); srv.listen(1)
pf = T + "/console-" + cid + ".pid"
if mode == "create":
    cmd = [oci, "--root", root, "create", "--bundle", arg, "--pid-file", pf, "--console-socket", path, cid]
else:
    cmd = [oci, "--root", root, "exec", "--process", arg, "--detach", "--tty", "--pid-file", pf, "--console-socket", path, cid]
r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
if r.returncode != 0:
    print("failed", r.returncode, r.stderr.decode().strip()); sys.exit(0)
srv.settimeout(1)
conn, _ = srv.accept()   # the message came before create/exec exited
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(256, socket.CMSG_SPACE(4))
for lvl, typ, data in anc:
    if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[:4])
master = fds[0]
if mode == "create":
    subprocess.run([oci, "--root", root, "start", cid], check=True)
out, end = b"", time.time() + 60
while time.time() < end:
    rl, _, _ = select.select([master], [], [], 1)
    if rl:
        try:
            b = os.read(master, 4096)
        except OSError:
            break
        if not b:
            break
        out += b
    if b"END" in out:
        break
_, st = os.waitpid(int(open(pf).read()), 0)
print("name=%s" % msg.rstrip(b"\0").decode().startswith("/dev/pts/"), out.decode(errors="replace").replace("\r", "").strip().replace("\n", " "), os.waitstatus_to_exitcode(st))
PY
}
for iso in container vm; do
        bundle "$T/bt-$iso" $iso '["/bin/sh","-c","[ -t 0 ] && [ -t 1 ] && echo tty-yes; echo END; exit 2"]'
        jq '.process.terminal = true' "$T/bt-$iso/config.json" >"$T/bt-$iso/c" && mv "$T/bt-$iso/c" "$T/bt-$iso/config.json"
        out=$(console_caller ct-$iso create "$T/bt-$iso")
        is "create --console-socket ($iso): the pty master arrives, the workload's stdio is the terminal" \
                "$out" "name=True tty-yes END 2"
        oci delete ct-$iso
done
like "create of a terminal process without --console-socket: refused" \
        "$(oci create --bundle "$T/bt-container" ctx 2>&1)" "console-socket is needed"
bundle "$T/be2" container '["/bin/sleep","60"]'
caller ce2 "$T/be2" "$T/ce2.out" start >/dev/null 2>&1 &
cpid=$!
wait_until 20 sh -c "'$OCI' --root '$ROOT' state ce2 2>/dev/null | jq -e '.status == \"running\"' >/dev/null"
jq '.terminal = true | .args = ["/bin/sh","-c","[ -t 0 ] && echo tty-yes; echo END; exit 3"]' \
        "$T/pe.json" >"$T/pt.json"
is "exec --tty --console-socket --detach: a terminal for the exec" "$(console_caller ce2 exec "$T/pt.json")" \
        "name=True tty-yes END 3"
oci kill ce2 9
wait "$cpid"
oci delete ce2

# ---------------------------------------------------------------- bad input
out=$(oci create --bundle "$T/b1" '../x' 2>&1)
rc=$?
like "a hostile container ID: refused" "$out" "invalid container ID '\.\./x'"
is "... exit status 1" "$rc" 1
check "... nothing written outside --root" test ! -e "$T/x"
mkdir -p "$T/b5" && printf '{"ociVersion":"1.0.2","ociVersion":"1.0.2"}' >"$T/b5/config.json"
like "malformed config.json (duplicate keys): refused" "$(oci create --bundle "$T/b5" c5 2>&1)" "duplicate"
bundle "$T/b6" container '["/bin/true"]'
"$PY" - "$T/b6/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
json.dump(c, open(sys.argv[1], "w"))
PY
out=$(oci create --bundle "$T/b6" c6 2>&1)
like "a config.json key isod cannot honour: refused by name" "$out" "linux.sysctl is not supported"
unlike "... and no workload was made" "$(isoctl list)" "^c6 "
out=$(oci --log "$T/oci.log" --log-format json create --bundle "$T/b6" c6 2>&1)
is "--log-format json: the error as one JSON object in --log" "$(jq -r .level "$T/oci.log")" error
like "... naming the key" "$(jq -r .msg "$T/oci.log")" "linux.sysctl"
out=$(oci create --console-socket "$T/nosock" --bundle "$T/b1" c7 2>&1)
like "--console-socket for a process without a terminal: refused" "$out" "process.terminal is false"
like "exec of an unknown container" "$(oci exec c1 true 2>&1)" "container c1 does not exist"
like "an unknown global option" "$(oci --bogus state c1 2>&1)" "unknown global option '--bogus'"
bundle "$T/b8" container '["/bin/true"]'
"$PY" - "$OCI" "$ROOT" "$T/b8" <<'PY' >/dev/null 2>&1
import subprocess, sys
oci, root, b = sys.argv[1:4]
subprocess.run([oci, "--root", root, "create", "--bundle", b, "c8"], stdin=subprocess.DEVNULL)
PY
like "create of an ID that exists: refused" "$(oci create --bundle "$T/b8" c8 2>&1)" "already exists"
oci delete c8
is "delete of a created container" "$?" 0
unlike "... gone from isod" "$(isoctl list)" "^c8 "

# ---------------------------------------------------------------- Podman 4.3 + conmon, for real
if command -v podman >/dev/null && command -v conmon >/dev/null; then
        W=$T/pm
        mkdir -p "$W"
        # Podman runs `start` and `delete` with a minimal environment: a wrapper names this test's
        # isod (an installed isod-oci finds /run/isod/private by itself).
        printf '#!/bin/sh\nISOD_SOCKET=%s exec %s "$@"\n' "$T/state/private" "$OCI" >"$W/isod-oci"
        chmod +x "$W/isod-oci"
        # This host's hard RLIMIT_NOFILE is below Podman's default (../shared/notes/oci-cri.md §2.1).
        printf '[containers]\ndefault_ulimits=["nofile=1024:1024","nproc=1024:1024"]\npids_limit=0\n[engine]\ncgroup_manager="cgroupfs"\nevents_logger="file"\n' \
                >"$W/containers.conf"
        export CONTAINERS_CONF=$W/containers.conf
        pm() { podman --root "$W/root" --runroot "$W/run" --storage-driver vfs --runtime "$W/isod-oci" "$@"; }
        tar -C "$IMAGE_DIR/busybox/rootfs" -c . | pm import - localhost/bb:1 >/dev/null 2>&1
        out=$(pm run --rm --network none localhost/bb:1 sh -c 'echo podman in $(hostname); exit 3' 2>/dev/null)
        rc=$?
        is "podman run --runtime isod-oci: the workload's exit status" "$rc" 3
        like "... and its output through conmon" "$out" "^podman in "
        out=$(pm run --rm --network none --annotation org.isod1.isolation=vm localhost/bb:1 \
                sh -c 'echo kernel $(uname -r); exit 4' 2>/dev/null)
        rc=$?
        is "podman run --annotation org.isod1.isolation=vm: the same image in a VM, status kept" "$rc" 4
        unlike "... with the guest's kernel, not the host's" "$out" "kernel $(uname -r)\$"
        like "... which it printed" "$out" "^kernel "
        pm run -d --name pd --network none localhost/bb:1 sh -c 'echo started; trap "exit 143" TERM; sleep 60 & wait' \
                >/dev/null 2>&1
        wait_until 10 sh -c "podman --root '$W/root' --runroot '$W/run' --storage-driver vfs ps --format '{{.Status}}' | grep -q '^Up'"
        like "podman run -d: podman ps says Up" "$(pm ps --format '{{.Names}} {{.Status}}' 2>/dev/null)" "^pd Up"
        is "... isod has it running" "$(isoctl show --json "$(pm inspect --format '{{.Id}}' pd 2>/dev/null)" | jq -r .State)" running
        like "podman logs: its output" "$(pm logs pd 2>/dev/null)" "^started$"
        pm stop -t 5 pd >/dev/null 2>&1
        like "podman stop: Exited (143), the trap's status" "$(pm ps -a --format '{{.Names}} {{.Status}}' 2>/dev/null)" "^pd Exited \(143\)"
        pm rm pd >/dev/null 2>&1
        unlike "podman rm: gone from isod too" "$(isoctl list)" "^[0-9a-f]{64} "
        pm run -d --name pk --network none localhost/bb:1 sleep 60 >/dev/null 2>&1
        wait_until 10 sh -c "podman --root '$W/root' --runroot '$W/run' --storage-driver vfs ps --format '{{.Status}}' | grep -q '^Up'"
        pm kill pk >/dev/null 2>&1
        wait_until 10 sh -c "podman --root '$W/root' --runroot '$W/run' --storage-driver vfs ps -a --format '{{.Status}}' | grep -q '^Exited'"
        like "podman kill: Exited (137)" "$(pm ps -a --format '{{.Names}} {{.Status}}' 2>/dev/null)" "^pk Exited \(137\)"
        pm rm -f pk >/dev/null 2>&1
        pm run -d --name pe --network none localhost/bb:1 sleep 60 >/dev/null 2>&1
        wait_until 10 sh -c "podman --root '$W/root' --runroot '$W/run' --storage-driver vfs ps --format '{{.Names}} {{.Status}}' | grep -q '^pe Up'"
        out=$(pm exec pe sh -c 'echo exec in $(hostname); exit 5' 2>&1)
        rc=$?
        is "podman exec: the process's status" "$rc" 5
        like "... its output" "$out" "^exec in "
        PMS="podman --root $W/root --runroot $W/run --storage-driver vfs --runtime $W/isod-oci"
        out=$(script -q -e -c "$PMS exec -t pe sh -c '[ -t 0 ] && [ -t 1 ] && echo tty-yes; exit 6'" /dev/null </dev/null 2>&1)
        rc=$?
        like "podman exec -t: the process has a terminal (--tty --console-socket)" "$out" "tty-yes"
        is "... and its status" "$rc" 6
        pm rm -f pe >/dev/null 2>&1
        for iso in container vm; do
                out=$(script -q -e -c "$PMS run --rm -t --network none --annotation org.isod1.isolation=$iso localhost/bb:1 sh -c '[ -t 0 ] && [ -t 1 ] && echo tty-yes; exit 7'" /dev/null </dev/null 2>&1)
                rc=$?
                like "podman run -t ($iso): the workload's terminal from conmon's console socket" "$out" "tty-yes"
                is "... and its status" "$rc" 7
        done
        # A network namespace to join (what netavark or CNI would have made; Podman's own
        # networking is not run here, it would change the host's): network mode netns.
        NSO=isodt-oci-$$
        ip netns add "$NSO" && ip -n "$NSO" addr add 10.78.0.1/32 dev lo && ip -n "$NSO" link set lo up
        out=$(pm run --rm --network "ns:/run/netns/$NSO" localhost/bb:1 sh -c 'ip -4 -o addr show lo' 2>&1)
        like "podman run --network ns:PATH: the container joins that network namespace" "$out" "inet 10.78.0.1/32"
        out=$(pm run --rm --network "ns:/run/netns/$NSO" --annotation org.isod1.isolation=vm localhost/bb:1 true 2>&1)
        like "... which a VM cannot: refused by name" "$out" "network mode netns needs a container"
        ip netns del "$NSO"
        unset CONTAINERS_CONF
else
        not_ok "podman and conmon are installed (tools/deps)"
fi

check "isod is still up" isod_alive
done_testing
