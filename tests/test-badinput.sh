#!/bin/bash
# Bad input gets a clear error, isod keeps running, and nothing that existed is lost.
# Drives the API with isoctl, busctl, gdbus and python3-dbus.
. "$(dirname "$0")/lib.sh"
require_root
ensure_image || skip_all "cannot build the busybox image"
start_bus || skip_all "no dbus-daemon"
check "isod starts" start_isod

isoctl launch -d --name keeper -- /bin/sh -c 'echo precious > /tmp/p; while :; do sleep 0.2; done' >/dev/null
is "a workload that must stay untouched runs" "$(state_of keeper)" running

call() {
        bctl call org.isod1 /org/isod1 org.isod1.Manager "$@" 2>&1
}

out=$(call CreateWorkload 'sa{sv}' '{' 0)
like "malformed JSON: InvalidSpec naming the problem" "$out" 'InvalidSpec|not valid JSON'
like "malformed JSON: says where" "$out" 'line 1'
out=$(call CreateWorkload 'sa{sv}' '{"process":{"args":["x"]},"bogus":1}' 0)
like "unknown key named" "$out" "Unknown key 'bogus'"
out=$(call CreateWorkload 'sa{sv}' '{"process":{"args":["x"],"uid":0}}' 0)
like "unknown nested key named" "$out" "process.uid"
for bad in '../x' 'a/b' '.x' '-x' "$(printf 'a%.0s' $(seq 70))" 'a b'; do
        out=$(call CreateWorkload 'sa{sv}' "{\"name\":\"$bad\",\"process\":{\"args\":[\"x\"]}}" 0)
        like "hostile name '${bad:0:12}' refused" "$out" 'Invalid workload name'
done
check "nothing was created on disk for them" [ "$(ls "$T/state/workloads")" = keeper ]
out=$(call CreateWorkload 'sa{sv}' '{"process":{"args":["x"]},"resources":{"memory":"99999T"}}' 0)
like "huge memory refused" "$out" 'resources.memory'
big=$(head -c 70000 /dev/zero | tr '\0' ' ')
out=$(call CreateWorkload 'sa{sv}' "{\"process\":{\"args\":[\"x\"]}$big}" 0)
like "oversized spec refused" "$out" 'too large'
out=$(call CreateWorkload 'sa{sv}' '{"process":{"args":["x"]}}' 1 bogus_option b true)
like "unknown option refused" "$out" "Unknown option 'bogus_option'"
out=$(call GetWorkload s '../../etc')
like "GetWorkload of a hostile name: not found" "$out" "No workload '../../etc'"
out=$(bctl call org.isod1 /org/isod1/workload/nonexistent org.isod1.Workload Stop t 0 2>&1)
like "method on a missing object fails" "$out" 'Unknown object|UnknownObject|NotFound'

out=$(isoctl launch -d --name keeper -- /bin/true 2>&1)
like "duplicate name: Exists" "$out" 'Exists'
out=$(isoctl stop nosuch 2>&1)
like "stop a missing workload: NotFound" "$out" 'NotFound'
isoctl launch --keep --name done -- /bin/true
out=$(isoctl stop done 2>&1)
like "stop an exited workload: BadState" "$out" 'BadState'
out=$(isoctl exec done -- /bin/true 2>&1)
like "exec into an exited workload: BadState" "$out" 'BadState'
out=$(isoctl start keeper 2>&1)
like "start a running workload: BadState" "$out" 'BadState'
out=$(isoctl rm keeper 2>&1)
like "remove a running workload: BadState (stop it first)" "$out" 'BadState.*|stop it first'
kpath=$(bctl call org.isod1 /org/isod1 org.isod1.Manager GetWorkload s keeper | awk '{print $2}' | tr -d '"')
out=$(bctl call org.isod1 "$kpath" org.isod1.Workload Kill i 0 2>&1)
like "signal 0 refused" "$out" 'Invalid signal'
out=$(bctl call org.isod1 "$kpath" org.isod1.Workload Kill i 999 2>&1)
like "signal 999 refused" "$out" 'Invalid signal'
out=$(bctl call org.isod1 "$kpath" org.isod1.Workload Stop t 99999999999999 2>&1)
like "absurd stop timeout refused" "$out" 'too large'
out=$(bctl call org.isod1 "$kpath" org.isod1.Workload Exec 'asa{sh}a{sv}' 0 0 0 2>&1)
like "exec with no argv refused" "$out" 'Exec needs'
out=$(bctl call org.isod1 "$kpath" org.isod1.Workload Exec 'asa{sh}a{sv}' 1 /bin/true 0 1 cwd s '../x' 2>&1)
like "exec with a relative cwd refused" "$out" "cwd"

# The same API, driven by other clients.
out=$(bctl introspect org.isod1 /org/isod1)
like "busctl introspect shows the manager's methods" "$out" '\.LaunchWorkload +method +sa\{sh\}a\{sv\} +o'
out=$(bctl introspect org.isod1 "$kpath")
like "busctl introspect shows a workload's properties" "$out" '\.State +property +s +"running"'
out=$(gdbus call --address "$DBUS_SYSTEM_BUS_ADDRESS" --dest org.isod1 --object-path /org/isod1 \
        --method org.isod1.Manager.ListWorkloads 2>&1)
like "gdbus lists workloads" "$out" "'keeper', 'container', 'running'"
out=$(gdbus call --address "$DBUS_SYSTEM_BUS_ADDRESS" --dest org.isod1 --object-path /org/isod1 \
        --method org.freedesktop.DBus.ObjectManager.GetManagedObjects 2>&1)
like "ObjectManager lists workload objects" "$out" "/org/isod1/workload/keeper"
# Debian's python3 (with python3-dbus), not whatever python3 comes first in PATH.
out=$(/usr/bin/python3 - <<'PY' 2>&1
import os, dbus
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
mgr = dbus.Interface(bus.get_object("org.isod1", "/org/isod1"), "org.isod1.Manager")
r, w = os.pipe()
spec = '{"name":"pyclient","process":{"args":["/bin/sh","-c","echo from-python; exit 6"]}}'
path = mgr.LaunchWorkload(spec, {"stdout": dbus.types.UnixFd(w)}, {})
os.close(w)
wl = bus.get_object("org.isod1", path)
status = dbus.Interface(wl, "org.isod1.Workload").Wait(timeout=60)
props = dbus.Interface(wl, "org.freedesktop.DBus.Properties")
print("status", int(status), "state", props.Get("org.isod1.Workload", "State"), "out", os.read(r, 100).decode().strip())
try:
    mgr.GetWorkload("nope")
except dbus.DBusException as e:
    print("error", e.get_dbus_name())
try:
    mgr.LaunchWorkload('{"process":{"args":["x"]}}', {"stdbogus": dbus.types.UnixFd(r)}, {})
except dbus.DBusException as e:
    print("stdio", e.get_dbus_message())
PY
)
like "python3-dbus launches with an fd and waits" "$out" '^status 6 state exited out from-python$'
like "python3-dbus sees typed errors" "$out" '^error org.isod1.Error.NotFound$'
like "unknown stdio key refused" "$out" "^stdio Unknown stdio key 'stdbogus'"

# After all that: isod is up and the existing workload is intact.
check "isod is still up" isod_alive
is "keeper still running" "$(state_of keeper)" running
is "keeper's data intact" "$(isoctl exec keeper -- cat /tmp/p)" precious
isoctl rm -f keeper done >/dev/null

# A bad pool size is refused at start, naming the option.
for v in 9 -1 abc 4x ""; do
        out=$("$top_builddir/isod" --state-dir="$T/state2" --monitor="$top_builddir/isod-monitor" \
                --spare-monitors="$v" 2>&1)
        rc=$?
        check "--spare-monitors='$v' is refused" [ "$rc" -ne 0 ]
        like "... naming the option" "$out" 'spare-monitors= must be a number from 0 to 8'
done

# A broken isod-monitor (here: one that exits at once) must not make isod spin restarting spares.
stop_isod
check "isod starts with a monitor that exits at once" start_isod --monitor=/bin/false
sleep 3
ticks=$(awk '{print $14 + $15}' "/proc/$ISOD_PID/stat")
check "isod backs off instead of spinning ($ticks ticks of CPU in 3 s)" [ "$ticks" -lt 60 ]
like "and says why, once" "$(grep -c 'Spare monitors exit right after starting' "$T/isod.log")" '^1$'
out=$(timeout 20 "$ISOCTL" launch -- /bin/true 2>&1)
like "a launch answers StartFailed with the reason" "$out" "failed to start: monitor-died.*StartFailed"
check "isod is still up" isod_alive
done_testing
