#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A small CRI client, the kubelet's part for one host-network pod: Version, Status, ImageStatus,
# RunPodSandbox, PodSandboxStatus, CreateContainer, StartContainer, ContainerStatus, ExecSync,
# the container's CRI log, ContainerStats, StopContainer, RemoveContainer, StopPodSandbox,
# RemovePodSandbox. Prints one "STEP VALUE..." line per fact for tests/test-containerd.sh to check;
# a failed call prints "error STEP CODE DETAILS" and ends the pod (stop and remove) before exiting 1.
#
#   cri-client.py SOCKET HANDLER POD-NAME LOG-DIR [--namespace=NS] [--pod-network] [ANNOTATION=VALUE...]
#
# Without --pod-network the pod uses the node's network (hostNetwork); with it, its own network
# namespace, made by containerd and its CNI plugins.
#
# With ISOCTL set (isoctl's path, its bus in DBUS_SYSTEM_BUS_ADDRESS), the sandbox's ipc and uts
# namespaces are read on the host from its init (isod's LeaderPID) for the test to compare with the
# container's; a step that fails after the sandbox runs prints its error and the pod is removed.
#
# The annotations go on the pod and its container (containerd passes those its runtime's
# pod_annotations/container_annotations allow into the bundles, where isod's policy reads them).
import os
import subprocess
import sys
import tempfile
import time

import json

import grpc

here = os.path.dirname(os.path.abspath(__file__))
out = tempfile.mkdtemp(prefix="cri-proto.")
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + here, "--python_out=" + out,
                "--grpc_python_out=" + out, os.path.join(here, "cri-v1-subset.proto")], check=True)
sys.path.insert(0, out)
import cri_v1_subset_pb2 as api  # noqa: E402
import cri_v1_subset_pb2_grpc as rpc  # noqa: E402

sock, handler, pod, logdir = sys.argv[1:5]
namespace = "default"
annotations = {}
net_mode = api.NODE
for a in sys.argv[5:]:
    if a == "--pod-network":
        net_mode = api.POD
    elif a.startswith("--namespace="):
        namespace = a.split("=", 1)[1]
    else:
        annotations.update([a.split("=", 1)])
channel = grpc.insecure_channel("unix://" + sock)
rt = rpc.RuntimeServiceStub(channel)
im = rpc.ImageServiceStub(channel)
sandbox_id = container_id = None


def call(step, fn, req, timeout=120):
    t0 = time.monotonic()
    try:
        r = fn(req, timeout=timeout)
    except grpc.RpcError as e:
        print("error", step, e.code().name, e.details().replace("\n", " "), flush=True)
        teardown()
        sys.exit(1)
    ms = (time.monotonic() - t0) * 1000
    return r, ms


def teardown():
    global container_id, sandbox_id
    for fn, req in ((rt.StopContainer, api.StopContainerRequest(container_id=container_id or "", timeout=2)),
                    (rt.RemoveContainer, api.RemoveContainerRequest(container_id=container_id or "")),
                    (rt.StopPodSandbox, api.StopPodSandboxRequest(pod_sandbox_id=sandbox_id or "")),
                    (rt.RemovePodSandbox, api.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id or ""))):
        if (fn in (rt.StopContainer, rt.RemoveContainer) and container_id) or \
           (fn in (rt.StopPodSandbox, rt.RemovePodSandbox) and sandbox_id):
            try:
                fn(req, timeout=60)
            except grpc.RpcError:
                pass
    container_id = sandbox_id = None


v, _ = call("version", rt.Version, api.VersionRequest(version="v1"))
print("version", v.runtime_name, v.runtime_version, v.runtime_api_version)
s, _ = call("status", rt.Status, api.StatusRequest())
print("status", " ".join("%s=%s" % (c.type, str(c.status).lower()) for c in s.status.conditions))
i, _ = call("image-status", im.ImageStatus, api.ImageStatusRequest(image=api.ImageSpec(image="localhost/bb:1")))
print("image", i.image.id[:19], " ".join(i.image.repo_tags))

os.makedirs(logdir, exist_ok=True)
sandbox_config = api.PodSandboxConfig(
    metadata=api.PodSandboxMetadata(name=pod, uid="uid-" + pod, namespace=namespace, attempt=0),
    hostname=pod if net_mode == api.POD else "",
    log_directory=logdir, labels={"app": pod}, annotations=annotations,
    linux=api.LinuxPodSandboxConfig(security_context=api.LinuxSandboxSecurityContext(
        namespace_options=api.NamespaceOption(network=net_mode, pid=api.CONTAINER, ipc=api.POD))))
r, ms = call("run-pod-sandbox", rt.RunPodSandbox,
             api.RunPodSandboxRequest(config=sandbox_config, runtime_handler=handler))
sandbox_id = r.pod_sandbox_id
print("sandbox", sandbox_id, "%.0f" % ms)
r, _ = call("pod-sandbox-status", rt.PodSandboxStatus, api.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id))
print("sandbox-state", api.PodSandboxState.Name(r.status.state), r.status.runtime_handler)
if os.environ.get("ISOCTL"):
    show = subprocess.run([os.environ["ISOCTL"], "show", "--json", sandbox_id], capture_output=True, text=True)
    try:
        leader = json.loads(show.stdout)["LeaderPID"]
        print("sandbox-ns", " ".join(os.readlink("/proc/%d/ns/%s" % (leader, n)) for n in ("ipc", "uts", "net", "pid")))
    except (ValueError, KeyError, OSError) as e:
        print("sandbox-ns unknown", show.stdout.strip()[:200], show.stderr.strip()[:200], e)

cmd = 'echo hello-from-cri; echo "kernel=$(uname -r)"; trap "exit 143" TERM; sleep 600 & wait'
config = api.ContainerConfig(
    metadata=api.ContainerMetadata(name="main", attempt=0), image=api.ImageSpec(image="localhost/bb:1"),
    command=["/bin/sh", "-c", cmd], envs=[api.KeyValue(key="FROM", value="cri")],
    labels={"app": pod}, annotations=annotations, log_path="main.log",
    linux=api.LinuxContainerConfig(
        resources=api.LinuxContainerResources(memory_limit_in_bytes=128 << 20),
        # as the kubelet sets them for a v1 pod: the pod's network and ipc, a pid namespace of its own
        security_context=api.LinuxContainerSecurityContext(namespace_options=api.NamespaceOption(
            network=net_mode, pid=api.CONTAINER, ipc=api.POD))))
r, ms = call("create-container", rt.CreateContainer,
             api.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox_config))
container_id = r.container_id
print("container", container_id, "%.0f" % ms)
_, ms = call("start-container", rt.StartContainer, api.StartContainerRequest(container_id=container_id))
print("started", "%.0f" % ms)
r, _ = call("container-status", rt.ContainerStatus, api.ContainerStatusRequest(container_id=container_id))
print("container-state", api.ContainerState.Name(r.status.state))

r, ms = call("exec-sync", rt.ExecSync, api.ExecSyncRequest(
    container_id=container_id, cmd=["/bin/sh", "-c", 'echo "exec $FROM $(cat /proc/1/comm)"; exit 3'], timeout=60))
print("exec", r.exit_code, r.stdout.decode().strip(), "%.0f" % ms)
r, _ = call("exec-sync", rt.ExecSync, api.ExecSyncRequest(
    container_id=container_id, cmd=["/bin/sh", "-c", "for n in ipc uts net pid; do readlink /proc/self/ns/$n; done"],
    timeout=60))
print("container-ns", " ".join(r.stdout.decode().split()))
if os.environ.get("POD_NET_CHECK"):
    r, _ = call("exec-sync", rt.ExecSync, api.ExecSyncRequest(
        container_id=container_id, cmd=["/bin/sh", "-c", 'ip -4 -o addr show eth0 | grep -o "inet [0-9./]*"; '
                                        'ping -c1 -W2 "$0" >/dev/null && echo ping-ok', os.environ["POD_NET_CHECK"]],
        timeout=60))
    print("pod-net", " ".join(r.stdout.decode().split()))

log = os.path.join(logdir, "main.log")
for _ in range(100):
    if os.path.exists(log) and "hello-from-cri" in open(log).read():
        break
    time.sleep(0.1)
for line in open(log).read().splitlines() if os.path.exists(log) else []:
    # CRI log format: TIMESTAMP STREAM P|F MESSAGE
    print("log", " ".join(line.split(" ")[1:]))

r, _ = call("container-stats", rt.ContainerStats, api.ContainerStatsRequest(container_id=container_id))
print("stats", "working_set=%d" % r.stats.memory.working_set_bytes.value,
      "cpu_ns=%d" % r.stats.cpu.usage_core_nano_seconds.value)

_, ms = call("stop-container", rt.StopContainer, api.StopContainerRequest(container_id=container_id, timeout=10))
print("stopped", "%.0f" % ms)
r, _ = call("container-status", rt.ContainerStatus, api.ContainerStatusRequest(container_id=container_id))
print("container-state", api.ContainerState.Name(r.status.state), r.status.exit_code)
call("remove-container", rt.RemoveContainer, api.RemoveContainerRequest(container_id=container_id))
container_id = None
print("removed-container")
call("stop-pod-sandbox", rt.StopPodSandbox, api.StopPodSandboxRequest(pod_sandbox_id=sandbox_id))
call("remove-pod-sandbox", rt.RemovePodSandbox, api.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id))
sandbox_id = None
print("removed-sandbox")
