#!/bin/bash
# Workloads outlive isod: kill -9 isod while workloads run, start it again, lose nothing.
. "$(dirname "$0")/lib.sh"
require_root
ensure_image || skip_all "cannot build the busybox image"
start_bus || skip_all "no dbus-daemon"
check "isod starts" start_isod

isoctl launch -d --name longrun -- /bin/sh -c 'trap "exit 43" TERM; while :; do sleep 0.1; done' >/dev/null
isoctl launch -d --name ends-while-down -- /bin/sh -c 'sleep 1; exit 9' >/dev/null
isoctl launch -d --name ends-after-restart -- /bin/sh -c 'sleep 4; exit 11' >/dev/null
is "three workloads running" "$(isoctl list | grep -c running)" 3
leader=$(isoctl show --json longrun | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p')

stop_isod -KILL
check "isod is gone" [ -z "$(pgrep -x isod -P $$ 2>/dev/null)" ]
check "the workload outlived isod (leader PID $leader alive)" kill -0 "$leader"
sleep 1.5

check "isod starts again" start_isod
out=$(isoctl list)
like "re-adopted: longrun still running" "$out" '^longrun +container +running'
like "an exit while isod was down is not lost" "$out" '^ends-while-down +container +exited'
out=$(isoctl wait ends-while-down)
is "its exit status is reported" "$?" 9
is "same leader PID after re-adoption" "$(isoctl show --json longrun | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p')" "$leader"
out=$(isoctl exec longrun -- /bin/sh -c 'echo alive')
is "exec into a re-adopted workload" "$out" alive
isoctl wait ends-after-restart >/dev/null
is "a workload ending after the restart reports its status" "$?" 11
check "a re-adopted workload can be stopped" isoctl stop longrun
isoctl wait longrun >/dev/null
is "and its exit status is reported" "$?" 43

# A clean SIGTERM shutdown also leaves workloads running.
isoctl launch -d --name survivor -- /bin/sleep 1000 >/dev/null
stop_isod -TERM
check "isod exited on SIGTERM" [ -z "$ISOD_PID" ]
check "start again" start_isod
is "the workload survived a clean shutdown" "$(state_of survivor)" running
isoctl kill survivor >/dev/null
isoctl wait survivor >/dev/null
is "killed: 128+9" "$?" 137

# A monitor that dies without a word: the workload is reported failed, with the reason.
isoctl launch -d --name orphaned -- /bin/sleep 1000 >/dev/null
mpid=$(isoctl show --json orphaned | sed -n 's/.*"MonitorPID": \([0-9]*\).*/\1/p')
kill -KILL "$mpid"
wait_until 5 state_is orphaned failed
is "monitor killed: workload failed" "$(state_of orphaned)" failed
like "with the reason" "$(isoctl show orphaned)" 'Reason: +monitor-died'

# Corrupt state of one workload must not stop isod from adopting the others.
isoctl launch -d --name healthy -- /bin/sleep 1000 >/dev/null
stop_isod -KILL
mkdir -p "$T/state/workloads/broken"
echo '{not json' >"$T/state/workloads/broken/workload.json"
mkdir -p "$T/state/workloads/..evil"
check "isod starts despite a corrupt record" start_isod
is "the healthy workload is re-adopted" "$(state_of healthy)" running
unlike "the corrupt one is not listed" "$(isoctl list)" '^broken '
isoctl rm -f healthy >/dev/null

for n in ends-while-down ends-after-restart longrun survivor orphaned; do isoctl rm "$n" >/dev/null; done
is "all removed" "$(isoctl list | tail -n +2 | wc -l)" 0
check "isod is still up" isod_alive
done_testing
