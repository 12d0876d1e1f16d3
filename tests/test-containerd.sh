#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# isod-oci under containerd 1.6 (Debian's), as a runc shim v2 runtime with BinaryName: `ctr run`
# in a container and, chosen by an annotation, in a VM; a detached task with exec, ps, kill and
# rm; then containerd's CRI plugin driven by tests/cri-client.py through a RuntimeClass handler
# "isod" (a host-network pod: RunPodSandbox, CreateContainer, StartContainer, ExecSync, logs,
# stats, Stop/Remove). A private containerd (root, state, socket under $T) that is stopped at the end.
. "$(dirname "$0")/lib.sh"

require_root
require_vm_assets
command -v containerd >/dev/null && command -v ctr >/dev/null ||
        skip_all "containerd is not installed (tools/deps)"
ensure_image || skip_all "cannot build the busybox image"
start_bus || skip_all "cannot start dbus-daemon"
# The default policy's root rule, after one that sends the pods of Kubernetes namespace "secure"
# to VMs: containerd passes the pod's metadata as annotations, which isod-oci makes labels.
cat >"$T/policy.json" <<'EOF'
{ "version": 1,
  "rules": [
    { "name": "secure-pods", "reason": "Pods of namespace secure run in VMs.",
      "match": { "labels": { "io.kubernetes.cri.sandbox-namespace": "secure" } }, "isolation": "vm" },
    { "name": "root", "match": { "root": true }, "isolation": "requested", "auto": "container",
      "network": { "modes": ["none", "nat", "host", "netns"], "port_min": 1, "addresses": "0.0.0.0" } } ],
  "default": { "isolation": "deny" } }
EOF
start_isod || {
        not_ok "isod starts"
        done_testing
}
PY=/usr/bin/python3
W=$T/ctrd
mkdir -p "$W"/{root,state,opt,cni/bin,cni/net.d,logs}
# containerd's shim runs the runtime with its own environment: a wrapper names this test's isod
# (an installed isod-oci finds /run/isod/private by itself).
printf '#!/bin/sh\nISOD_SOCKET=%s exec %s "$@"\n' "$T/state/private" "$top_builddir/isod-oci" >"$W/isod-oci"
chmod +x "$W/isod-oci"
# ../shared/notes/oci-cri.md §2.3: a private instance; the CRI's pause image is a local busybox
# sleeping; oom_score_adj not lowered (no CAP_SYS_RESOURCE here). containerd runs in a network
# namespace of this test (nsenter --net: the mount namespace stays the host's, so that isod sees
# the rootfs containerd mounts), where CNI's bridge plugin makes the pods' network; isod stays in
# the host's (a host-network pod is in isod's network namespace).
containerd_config "$W" >"$W/config.toml"
cat >>"$W/config.toml" <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:1"
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "isod"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.isod]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["org.isod1.*"]
      container_annotations = ["org.isod1.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.isod.options]
        BinaryName = "$W/isod-oci"
EOF
# CNI (Debian's containernetworking-plugins): a bridge with host-local addresses, no masquerade,
# inside containerd's namespace only.
cat >"$W/cni/net.d/10-isodt.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "isodt", "plugins": [
  {"type": "bridge", "bridge": "cni-isodt", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.79.0.0/24"}]], "dataDir": "$W/cni/ipam"}},
  {"type": "loopback"}]}
EOF
CNS=isodt-ctrd-$$
ip netns add "$CNS" && ip -n "$CNS" link set lo up
setsid nsenter --net="/run/netns/$CNS" containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
CTRD_PID=$!
# Stopped before done_testing (which replaces the EXIT trap with lib.sh's cleanup), and by the
# trap on any other way out.
ctrd_stop() {
        [ -n "$CTRD_PID" ] || return 0
        kill "$CTRD_PID" 2>/dev/null && wait "$CTRD_PID" 2>/dev/null
        pkill -KILL -f "containerd-shim-runc-v2 .*-address $W/containerd.sock" 2>/dev/null
        ip netns del "$CNS" 2>/dev/null
        CTRD_PID=
}
trap 'ctrd_stop; cleanup' EXIT
C() { ctr -a "$W/containerd.sock" "$@"; }
wait_until 20 C version >/dev/null 2>&1
check "containerd answers on its private socket" sh -c "ctr -a '$W/containerd.sock' version >/dev/null"

# Images: the busybox tree through Podman (private storage) as OCI archives, imported into ctr's
# default namespace and the CRI's (k8s.io); the pause image sleeps.
PM="podman --root $W/pm-root --runroot $W/pm-run --storage-driver vfs"
tar -C "$IMAGE_DIR/busybox/rootfs" -c . | $PM import - localhost/bb:1 >/dev/null 2>&1
tar -C "$IMAGE_DIR/busybox/rootfs" -c . |
        $PM import --change 'CMD ["/bin/sleep","infinity"]' - localhost/pause:1 >/dev/null 2>&1
$PM save --format oci-archive -o "$W/bb.tar" localhost/bb:1 >/dev/null 2>&1
$PM save --format oci-archive -o "$W/pause.tar" localhost/pause:1 >/dev/null 2>&1
C image import --base-name localhost/bb "$W/bb.tar" >/dev/null 2>&1
C -n k8s.io image import --base-name localhost/bb "$W/bb.tar" >/dev/null 2>&1
C -n k8s.io image import --base-name localhost/pause "$W/pause.tar" >/dev/null 2>&1
like "the busybox image is in containerd" "$(C image ls -q)" "^localhost/bb:1$"
like "... and in the CRI's namespace with the pause image" "$(C -n k8s.io image ls -q | tr '\n' ' ')" \
        "localhost/pause:1"

# ---------------------------------------------------------------- ctr run, both isolations
RB="--runc-binary $W/isod-oci"
out=$(C run --rm $RB localhost/bb:1 t1 sh -c 'echo "host=$(hostname) kernel=$(uname -r)"; exit 5' 2>"$W/t1.err")
is "ctr run --runc-binary isod-oci: the workload's exit status" "$?" 5
is "... its output (hostname = the container's ID)" "$out" "host=t1 kernel=$(uname -r)"
unlike "... and no error" "$(cat "$W/t1.err")" "[Ee]rror"
out=$(C run --rm $RB --annotation org.isod1.isolation=vm localhost/bb:1 t2 \
        sh -c 'echo "kernel=$(uname -r)"; grep -c " /run tmpfs " /proc/mounts; exit 6' 2>"$W/t2.err")
is "ctr run --annotation org.isod1.isolation=vm: the status" "$?" 6
is "... the guest's kernel, not the host's" "$(echo "$out" | sed -n 1p)" "kernel=$(cat "$VM_DIR/kernel.release")"
is "... containerd's tmpfs on /run, mounted by the guest" "$(echo "$out" | sed -n 2p)" 1
unlike "ctr's containers are gone from isod after --rm" "$(isoctl list)" "^t[12] "

# A detached task: exec (status and output), ps, kill, rm.
C run -d $RB localhost/bb:1 t3 sh -c 'echo started; trap "exit 143" TERM; sleep 60 & wait' >/dev/null 2>&1
wait_until 10 sh -c "ctr -a '$W/containerd.sock' task ls | grep -q '^t3 .*RUNNING'"
like "ctr run -d: the task is RUNNING" "$(C task ls)" "^t3 +[0-9]+ +RUNNING"
is "... and isod runs it" "$(state_of t3)" running
out=$(C task exec --exec-id e1 t3 sh -c 'echo "exec in $(hostname)"; exit 3' 2>&1)
is "ctr task exec: the process's status" "$?" 3
is "... and its output" "$out" "exec in t3"
like "ctr task ps: the task's processes" "$(C task ps t3)" "^[0-9]+ "
C task kill -s SIGTERM t3 >/dev/null 2>&1
wait_until 10 sh -c "ctr -a '$W/containerd.sock' task ls | grep -q '^t3 .*STOPPED'"
like "ctr task kill SIGTERM: STOPPED" "$(C task ls)" "^t3 +[0-9]+ +STOPPED"
C task rm t3 >/dev/null 2>&1
C c rm t3 >/dev/null 2>&1
unlike "ctr task rm, c rm: gone from containerd" "$(C c ls -q)" "^t3$"
unlike "... and from isod" "$(isoctl list)" "^t3 "
out=$(C run --rm $RB --annotation org.isod1.isolation=gpu localhost/bb:1 t4 true 2>&1)
like "a bad isolation annotation: containerd reports isod-oci's error" "$out" "must be auto, container or vm, not 'gpu'"

# ---------------------------------------------------------------- CRI: a pod through handler "isod"
# A host-network pod of namespace "default": the root rule makes its sandbox and its container
# containers, the container joined to the sandbox's ipc, uts and network namespaces (spec "pod").
cri() { ISOCTL=$ISOCTL "$PY" "$top_srcdir/tests/cri-client.py" "$W/containerd.sock" isod "$@" 2>&1; }
field() { echo "$out" | sed -n "s/^$1 //p" | head -1; }
out=$(cri web "$W/logs/web")
echo "$out" | grep -v '^log ' | sed 's/^/# /'
like "CRI Version: containerd, API v1" "$(field version)" "^containerd .* v1$"
like "CRI Status: the runtime is ready" "$(field status)" "RuntimeReady=true"
like "ImageStatus: the busybox image" "$(field image)" "localhost/bb:1"
sb=$(field sandbox | cut -d' ' -f1)
like "RunPodSandbox with handler isod: a sandbox" "$sb" "^[0-9a-f]{64}$"
is "PodSandboxStatus: READY, handler isod" "$(field sandbox-state)" "SANDBOX_READY isod"
like "CreateContainer" "$(field container)" "^[0-9a-f]{64} "
is "StartContainer: ContainerStatus RUNNING" "$(field container-state)" CONTAINER_RUNNING
like "ExecSync: the exit code and stdout (the container's own pid namespace: its init is sh)" \
        "$(field exec)" "^3 exec cri sh "
sbns=$(field sandbox-ns) ctns=$(field container-ns)
like "the sandbox's namespaces were read on the host" "$sbns" "^ipc:\[[0-9]+\] uts:"
is "the container shares the sandbox's ipc, uts and network namespaces" "${ctns% *}" "${sbns% *}"
check "... and has a pid namespace of its own" [ -n "${ctns##* }" ] && [ "${ctns##* }" != "${sbns##* }" ]
is "... whose network is the host's (a host-network pod)" "$(echo "$ctns" | cut -d' ' -f3)" \
        "$(readlink /proc/self/ns/net)"
like "the container's CRI log: its stdout, in CRI format" "$out" "^log stdout F hello-from-cri$"
like "... from the host's kernel (a container)" "$out" "^log stdout F kernel=$(uname -r)$"
unlike "... without isod-oci's warnings (they go to the runtime's --log)" "$out" "^log stderr F isod-oci"
like "ContainerStats answers" "$(field stats)" "^working_set=[0-9]+ cpu_ns=[0-9]+$"
is "StopContainer: EXITED with the trap's status" "$(echo "$out" | grep '^container-state' | tail -1)" \
        "container-state CONTAINER_EXITED 143"
like "RemoveContainer, StopPodSandbox, RemovePodSandbox" "$out" "^removed-sandbox$"
unlike "... and isod has neither left" "$(isoctl list)" "^[0-9a-f]{64} "

# A pod with a network namespace of its own (containerd's, CNI's bridge): the sandbox joins it
# (network mode netns), its container the sandbox's (spec "pod").
out=$(POD_NET_CHECK=10.79.0.1 cri db "$W/logs/db" --pod-network)
echo "$out" | grep -v '^log ' | sed 's/^/# /'
is "a pod with its own network: the sandbox is READY" "$(field sandbox-state)" "SANDBOX_READY isod"
like "... the container has the pod's address from CNI" "$(field pod-net)" "^inet 10\.79\.0\.[0-9]+/24 ping-ok$"
sbns=$(field sandbox-ns) ctns=$(field container-ns)
is "... the container shares the sandbox's ipc, uts and network namespaces" "${ctns% *}" "${sbns% *}"
net=$(echo "$ctns" | cut -d' ' -f3)
check "... a network namespace that is not the host's ($net)" [ -n "$net" ] && [ "$net" != "$(readlink /proc/self/ns/net)" ]
like "... the CRI log (CNI's namespace, the pod's hostname)" "$out" "^log stdout F hello-from-cri$"
is "... StopContainer: EXITED 143" "$(echo "$out" | grep '^container-state' | tail -1)" \
        "container-state CONTAINER_EXITED 143"
like "... removed" "$out" "^removed-sandbox$"
unlike "... and nothing left in isod" "$(isoctl list)" "^[0-9a-f]{64} "

# A pod of namespace "secure": rule secure-pods sends it to a VM, but a host-network pod cannot be
# a VM (its sandbox would share the host's network namespace): RunPodSandbox fails saying so, and
# nothing runs as a container instead. (A pod's containers inside its VM are not supported yet:
# tests/test-container.sh checks that refusal through isoctl --pod.)
out=$(cri vault "$W/logs/vault" --namespace=secure)
echo "$out" | sed 's/^/# /'
like "a host-network pod that the policy sends to a VM: refused, naming the rule and why" "$out" \
        "^error run-pod-sandbox .*Policy rule 'secure-pods' refuses the request: network mode host needs a container"
unlike "... and nothing of it is left in isod" "$(isoctl list)" "^[0-9a-f]{64} "

check "isod is still up" isod_alive
ctrd_stop
check "containerd stopped with the test" sh -c '! pgrep -f "containerd --config $0/config.toml" >/dev/null' "$W"
done_testing
