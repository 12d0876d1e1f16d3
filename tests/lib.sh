# tests/lib.sh: shared helpers for the integration tests (sourced; prints TAP).
#
# Each test gets its own private dbus-daemon (a "system" bus with its own policy, so that
# unprivileged callers can be tested), its own state directory, and a real isod started from the
# build tree. Everything lives under $T and is torn down at exit, monitors and workloads included.

set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
export top_builddir top_srcdir

T=$(mktemp -d /tmp/isod-test.XXXXXX)
chmod 0755 "$T"
TAP_N=0
TAP_FAILED=0
ISOD_PID=
BUS_PID=
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus.sock"
ISOCTL="$top_builddir/isoctl"
IMAGE_DIR="$top_builddir/test-assets/images"
VM_DIR="$top_builddir/test-assets/vm"

ok() {
        TAP_N=$((TAP_N + 1))
        echo "ok $TAP_N - $*"
}

not_ok() {
        TAP_N=$((TAP_N + 1))
        TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_N - $*"
}

diag() {
        printf '%s\n' "$@" | sed 's/^/# /'
}

# check DESCRIPTION COMMAND...: ok if the command succeeds.
check() {
        local desc=$1
        shift
        if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is DESCRIPTION GOT EXPECTED
is() {
        if [ "$2" = "$3" ]; then
                ok "$1"
        else
                not_ok "$1"
                diag "got:      '$2'" "expected: '$3'"
        fi
}

# like DESCRIPTION TEXT PATTERN (grep -E, no pipeline so no SIGPIPE)
like() {
        if printf '%s\n' "$2" | grep -Eq -- "$3"; then
                ok "$1"
        else
                not_ok "$1"
                diag "text: $(printf '%s' "$2" | head -c 2000)" "does not match: $3"
        fi
}

unlike() {
        if printf '%s\n' "$2" | grep -Eq -- "$3"; then
                not_ok "$1"
                diag "text: $(printf '%s' "$2" | head -c 2000)" "matches: $3"
        else
                ok "$1"
        fi
}

skip_all() {
        echo "1..0 # SKIP $*"
        cleanup
        exit 0
}

done_testing() {
        echo "1..$TAP_N"
        cleanup
        trap - EXIT
        [ "$TAP_FAILED" -eq 0 ]
        exit $?
}

require_root() {
        # make distcheck re-runs the unit tests in a pristine tree; the integration suite runs in
        # the main build (tools/run-tests), where skipping is never allowed.
        [ -z "${ISOD_UNIT_TESTS_ONLY:-}" ] || skip_all "ISOD_UNIT_TESTS_ONLY is set (distcheck)"
        [ "$(id -u)" = 0 ] || skip_all "needs root"
        unshare --pid --mount --net --uts --ipc --fork true 2>/dev/null || skip_all "namespaces unavailable"
}

# The built-in busybox image, built once per build tree.
ensure_image() {
        "$top_srcdir/images/isod-image-busybox" "$IMAGE_DIR/busybox" >&2 || return 1
}

start_bus() {
        cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <deny own="org.isod1"/>
  </policy>
  <policy user="root">
    <allow own="*"/>
  </policy>
${BUS_EXTRA_POLICY:-}
</busconfig>
EOF
        dbus-daemon --config-file="$T/bus.conf" --fork --print-pid=3 3>"$T/bus.pid" || return 1
        BUS_PID=$(cat "$T/bus.pid")
}

# start_isod [extra isod options]: starts isod on the private bus and waits until it owns org.isod1.
start_isod() {
        mkdir -p "$T/state" "$T/cache"
        "$top_builddir/isod" --state-dir="$T/state" --image-dir="$IMAGE_DIR" --vm-dir="$VM_DIR" \
                --cache-dir="$T/cache" --monitor="$top_builddir/isod-monitor" \
                --policy="${ISOD_TEST_POLICY:-$T/policy.json}" --network-dir="$T/networks" --dns-upstream= \
                --store-dir="$T/store" --image-importer="$top_builddir/isod-image-import" \
                --debug "$@" >>"$T/isod.log" 2>&1 &
        ISOD_PID=$!
        local i
        for i in $(seq 1 100); do
                if busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status org.isod1 >/dev/null 2>&1; then
                        return 0
                fi
                kill -0 "$ISOD_PID" 2>/dev/null || break
                sleep 0.05
        done
        diag "isod did not come up:"
        diag "$(tail -20 "$T/isod.log")"
        return 1
}

stop_isod() {
        [ -n "$ISOD_PID" ] || return 0
        # `|| true`: scripts that source this file under `set -e` (bench/) must not stop here.
        kill "${1:--TERM}" "$ISOD_PID" 2>/dev/null || true
        wait "$ISOD_PID" 2>/dev/null || true
        ISOD_PID=
}

isod_alive() {
        [ -n "$ISOD_PID" ] && kill -0 "$ISOD_PID" 2>/dev/null &&
                busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status org.isod1 >/dev/null 2>&1
}

isoctl() {
        "$ISOCTL" "$@"
}

bctl() {
        busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" "$@"
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls (bounded) until the command succeeds.
wait_until() {
        local secs=$1 i
        shift
        for i in $(seq 1 $((secs * 20))); do
                "$@" && return 0
                sleep 0.05
        done
        return 1
}

# client_dies_while_running NAME SECS CMD...: `isoctl launch --name NAME -- CMD...` in the background,
# its client SIGKILLed once NAME runs; returns once NAME is no longer listed (or SECS passed).
client_dies_while_running() {
        local name=$1 secs=$2 pid
        shift 2
        "$ISOCTL" launch --name "$name" -- "$@" &
        pid=$!
        wait_until "$secs" state_is "$name" running
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null
        wait_until "$secs" sh -c '! "$0" list | grep -q "^$1 "' "$ISOCTL" "$name"
}

state_of() {
        isoctl show --json "$1" 2>/dev/null | sed -n 's/.*"State": "\([a-z]*\)".*/\1/p'
}

# Removes this instance's cgroups ("isod-" + FNV-1a of $T/state/workloads, docs/cgroups.md),
# which SIGKILLed monitors could not remove themselves.
cgroup_sweep() {
        local s="$T/state/workloads" h=2166136261 i c d
        for ((i = 0; i < ${#s}; i++)); do
                printf -v c '%d' "'${s:i:1}"
                h=$(((h ^ c) * 16777619 & 0xffffffff))
        done
        printf -v c 'isod-%08x' "$h"
        for d in $(find /sys/fs/cgroup -maxdepth 6 -type d -name "$c" 2>/dev/null); do
                cat "$d"/*/cgroup.procs 2>/dev/null | xargs -r kill -KILL 2>/dev/null
                sleep 0.05
                rmdir "$d"/*/ "$d" 2>/dev/null
        done
}

# containerd_config DIR: a private containerd's base configuration (root, state and socket under DIR,
# no TCP, debug or metrics endpoints: ../shared/notes/oci-cri.md §2.3), for tests and bench/.
containerd_config() {
        mkdir -p "$1"/{root,state,opt}
        cat <<EOF
version = 2
root = "$1/root"
state = "$1/state"
[grpc]
  address = "$1/containerd.sock"
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$1/opt"
EOF
}

state_is() {
        [ "$(state_of "$1")" = "$2" ]
}

# The VM tests need QEMU and the guest kernel + initramfs (make test-assets).
require_vm_assets() {
        command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64"
        [ -f "$VM_DIR/vmlinux" ] && [ -f "$VM_DIR/initramfs.cpio" ] ||
                skip_all "no guest kernel in $VM_DIR (make test-assets)"
}

cleanup() {
        stop_isod -KILL
        # Monitors (and with them the workloads) of this test only.
        # --dir=$T/… and the spares (--workloads-dir=$T/…), which keep that command line when assigned.
        pkill -KILL -f "isod-monitor .*$T/" 2>/dev/null || true
        if [ -n "$BUS_PID" ]; then kill "$BUS_PID" 2>/dev/null || true; fi
        BUS_PID=
        sleep 0.1
        cgroup_sweep || true
        if [ -n "${KEEP_TEST_DIR:-}" ]; then
                echo "# kept $T" >&2
        else
                rm -rf "$T" 2>/dev/null
        fi
}
trap cleanup EXIT
