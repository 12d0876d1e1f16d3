#!/bin/bash
# Integration: the policy and authorization, end to end. isoctl runs as root and as unprivileged
# users (setpriv) against a real isod on a private bus; the assertions look at what the workloads
# actually got (isolation, kernel, limits, read-only root), not only at what isod says.
. "$(dirname "$0")/lib.sh"
require_root
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not installed"
ensure_image || skip_all "cannot build the busybox image (apt-get install busybox-static)"
start_bus || skip_all "no dbus-daemon"

# --- unprivileged callers. dbus-daemon refuses connections from uids without a passwd entry, so
# these are existing accounts, used as they are (never modified): group membership is given to the
# process with setpriv --groups, which is what the bus credentials report.
uid_of() { getent passwd "$1" | cut -d: -f3; }
gid_of() { getent passwd "$1" | cut -d: -f4; }
U1=$(uid_of nobody)
U2=
U3=
for u in daemon bin sys games man lp mail news; do
        id=$(uid_of "$u")
        [ -n "$id" ] && [ "$id" != 0 ] && [ "$id" != "$U1" ] || continue
        if [ -z "$U2" ]; then U2=$id; elif [ -z "$U3" ] && [ "$id" != "$U2" ]; then U3=$id; fi
done
[ -n "$U1" ] && [ -n "$U2" ] && [ -n "$U3" ] || skip_all "needs three non-root accounts (nobody, daemon, bin…)"
G1=$(getent passwd "$U1" | cut -d: -f4)
G2=$(getent passwd "$U2" | cut -d: -f4)
G3=$(getent passwd "$U3" | cut -d: -f4)
USERS_GID=$(getent group users | cut -d: -f3)
[ -n "$USERS_GID" ] || skip_all "no group 'users'"

# as UID GID [GROUPS] -- isoctl ARGS…: runs isoctl with exactly these credentials.
as() {
        local uid=$1 gid=$2 groups=--clear-groups
        shift 2
        if [ "$1" != -- ]; then
                groups="--groups=$1"
                shift
        fi
        shift
        setpriv --reuid="$uid" --regid="$gid" "$groups" -- "$ISOCTL" "$@"
}

vm_available() {
        [[ "$(isoctl status 2>/dev/null)" =~ backend\ vm\ +available ]]
}

n_workloads() {
        isoctl list --json | grep -c '"name":'
}

# Reload the policy from this text (root, over D-Bus).
set_policy() {
        printf '%s\n' "$1" >"$T/policy.json.new" && mv "$T/policy.json.new" "$T/policy.json" && isoctl policy reload
}

HOST_KERNEL=$(uname -r)
POLICY_MAIN='{
  "version": 1,
  "rules": [
    { "name": "untrusted-vm", "reason": "Untrusted code gets its own kernel.",
      "match": { "labels": { "trust": "untrusted" } }, "isolation": "vm" },
    { "name": "no-evil", "reason": "Evil workloads are not welcome here.",
      "match": { "labels": { "evil": "*" } }, "isolation": "deny" },
    { "name": "capped", "reason": "Capped jobs.",
      "match": { "labels": { "job": "capped" } }, "isolation": "container",
      "caps": { "memory": "256M", "pids": 64 } },
    { "name": "clamped", "match": { "labels": { "job": "clamped" } }, "isolation": "container",
      "caps": { "memory": "128M", "pids": 32 }, "clamp": true },
    { "name": "readonly", "match": { "labels": { "job": "ro" } }, "isolation": "container",
      "force": { "readonly_rootfs": true } },
    { "name": "operators", "reason": "Operators manage workloads but launch none.",
      "match": { "group": "users" }, "isolation": "deny", "manage_others": true },
    { "name": "test-users", "reason": "Test users run containers.",
      "match": { "uid": ['"$U1, $U2"'] }, "isolation": "container" },
    { "name": "others-container", "reason": "Everything else of root runs as a container.",
      "match": { "root": true }, "isolation": "container" }
  ],
  "default": { "isolation": "deny", "reason": "Nobody else may run workloads." }
}'
printf '%s\n' "$POLICY_MAIN" >"$T/policy.json"
check "isod starts with the test policy" start_isod
out=$(isoctl status)
like "status names the policy file" "$out" "policy from $T/policy.json"

# ============================================================ the decision changes the isolation
out=$(isoctl launch --isolation=vm -- /bin/sh -c 'echo pid=$$; hostname; uname -r')
is "a request for vm that the rule sends to a container runs" "$?" 0
like "… as a container: the workload is PID 1 in its own PID namespace" "$out" '^pid=1$'
like "… with its own hostname" "$(echo "$out" | sed -n 2p)" '^sh-'
is "… on the host kernel" "$(echo "$out" | sed -n 3p)" "$HOST_KERNEL"

if vm_available; then
        out=$(isoctl launch --isolation=container --label trust=untrusted -- /bin/uname -r 2>&1)
        is "untrusted workload (asked for container) runs" "$?" 0
        kern=$(echo "$out" | tail -1)
        check "untrusted workload runs under a different kernel ('$kern' vs host '$HOST_KERNEL')" \
                [ -n "$kern" ] && [ "$kern" != "$HOST_KERNEL" ]
else
        out=$(isoctl launch --isolation=container --label trust=untrusted -- /bin/uname -r 2>&1)
        like "untrusted workload without a VM backend: BackendUnavailable, never a container" "$out" \
                'BackendUnavailable'
        ok "# SKIP vm backend not available: untrusted workload runs under a different kernel"
fi

isoctl launch -d --name trusted-job -- /bin/sleep 1000 >/dev/null
check "detached container workload created" [ "$(state_of trusted-job)" = running ]
if vm_available; then
        isoctl launch -d --name untrusted-job --label trust=untrusted -- /bin/sleep 1000 >/dev/null
        wait_until 60 [ "$(state_of untrusted-job)" = running ]
        check "detached VM workload running" [ $? = 0 ]
fi
out=$(isoctl list)
like "list shows the container workload with its rule" "$out" '^trusted-job +container +running +others-container$'
if vm_available; then
        like "list shows the VM workload with its rule" "$out" '^untrusted-job +vm +running +untrusted-vm$'
        isoctl stop -t 1 untrusted-job >/dev/null; isoctl rm untrusted-job
else
        ok "# SKIP vm backend not available: list shows the VM workload with its rule"
fi
out=$(isoctl show trusted-job)
like "show: policy rule and its reason" "$out" "^Policy rule: others-container — Everything else of root runs as a container\.$"
like "show: the effective spec says container" "$out" '"isolation":"container"'

# ============================================================ deny
before=$(n_workloads)
out=$(isoctl launch --name evil1 --label evil=yes -- /bin/true 2>&1)
rc=$?
check "a denied launch fails (exit $rc)" [ "$rc" -ne 0 ]
like "… with PolicyDenied" "$out" '\[PolicyDenied\]'
like "… naming the rule and its reason" "$out" "rule 'no-evil' denies this workload: Evil workloads are not welcome here\."
is "… and creates nothing" "$(n_workloads)" "$before"
check "… not even a state directory" [ ! -e "$T/state/workloads/evil1" ]
out=$(isoctl create --name evil2 --label evil=yes -- /bin/true 2>&1)
like "create is denied the same way" "$out" "PolicyDenied"

# ============================================================ caps
out=$(isoctl launch --label job=capped --memory 1G -- /bin/true 2>&1)
check "a request over the cap is refused" [ $? -ne 0 ]
like "… with PolicyDenied naming the rule and the cap" "$out" \
        "rule 'capped' refuses the request: memory 1G is over the cap 256M.*\[PolicyDenied\]"
out=$(isoctl launch --label job=capped --pids 1000 -- /bin/true 2>&1)
like "pids over the cap is refused too, naming the cap" "$out" "pids 1000 is over the cap 64"
is "refused requests create nothing" "$(n_workloads)" "$before"

isoctl launch -d --name clamped --label job=clamped --memory 1G --pids 1000 -- /bin/sleep 1000 >/dev/null
is "with clamp, a request over the cap runs" "$(state_of clamped)" running
spec=$(isoctl show clamped | sed -n 's/^Spec: *//p')
like "… with the memory cap in its effective spec" "$spec" '"memory":134217728[,}]'
like "… and the pids cap" "$spec" '"pids":32[,}]'
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
        leader=$(isoctl show --json clamped | sed -n 's/.*"LeaderPID": \([0-9]*\).*/\1/p')
        cg=$(sed -n 's/^0:://p' "/proc/$leader/cgroup" 2>/dev/null)
        is "… enforced by its cgroup (memory.max)" "$(cat "/sys/fs/cgroup$cg/memory.max" 2>/dev/null)" 134217728
        is "… enforced by its cgroup (pids.max)" "$(cat "/sys/fs/cgroup$cg/pids.max" 2>/dev/null)" 32
else
        ok "# SKIP no unified cgroup hierarchy: clamped memory.max enforced by the cgroup"
        ok "# SKIP no unified cgroup hierarchy: clamped pids.max enforced by the cgroup"
fi

isoctl launch -d --name capdefault --label job=capped -- /bin/sleep 1000 >/dev/null
spec=$(isoctl show capdefault | sed -n 's/^Spec: *//p')
like "a request without a value gets the cap (memory)" "$spec" '"memory":268435456[,}]'
like "a request without a value gets the cap (pids)" "$spec" '"pids":64[,}]'
isoctl launch -d --name capunder --label job=capped --memory 100M -- /bin/sleep 1000 >/dev/null
spec=$(isoctl show capunder | sed -n 's/^Spec: *//p')
like "a request under the cap keeps its value" "$spec" '"memory":104857600[,}]'

# ============================================================ forced settings
out=$(isoctl launch --label job=ro -- /bin/sh -c '(echo x >/written) 2>/dev/null && echo writable || echo readonly')
is "forced readonly_rootfs: the workload cannot write to / (it did not ask for read-only)" "$out" readonly
isoctl launch -d --keep --name rojob --label job=ro -- /bin/true >/dev/null
spec=$(isoctl show rojob | sed -n 's/^Spec: *//p')
like "forced readonly_rootfs is in the effective spec" "$spec" '"readonly_rootfs":true'
out=$(isoctl launch -- /bin/sh -c '(echo x >/written) 2>/dev/null && echo writable || echo readonly')
is "without the forced setting the same workload can write to /" "$out" writable

# ============================================================ non-root callers and ownership
out=$(as "$U1" "$G1" -- launch -- /bin/sh -c 'echo pid=$$')
is "uid $U1 (allowed by a uid rule) can launch" "$?" 0
like "… as a container" "$out" '^pid=1$'
out=$(as "$U1" "$G1" -- launch -d --name u1job -- /bin/sleep 1000)
is "uid $U1 launches a detached workload" "$out" u1job
out=$(isoctl show u1job)
like "… owned by uid $U1" "$out" "^Owner UID: +$U1\$"
like "… placed by the uid rule" "$out" '^Policy rule: test-users'
as "$U2" "$G2" -- launch -d --name u2job -- /bin/sleep 1000 >/dev/null
isoctl launch -d --name rootjob -- /bin/sleep 1000 >/dev/null

for verb in "stop -t 1" "kill" "rm" "exec" "wait"; do
        if [ "$verb" = exec ]; then
                out=$(as "$U1" "$G1" -- exec rootjob -- /bin/true 2>&1)
        else
                out=$(as "$U1" "$G1" -- $verb rootjob 2>&1)
        fi
        like "uid $U1 cannot ${verb%% *} root's workload: AccessDenied" "$out" \
                "UID $U1 may not act on workload 'rootjob' \(owned by UID 0\).*\[AccessDenied\]"
done
out=$(as "$U2" "$G2" -- stop -t 1 u1job 2>&1)
like "uid $U2 cannot stop uid $U1's workload" "$out" "AccessDenied"
out=$(as "$U2" "$G2" -- exec u1job -- /bin/true 2>&1)
like "uid $U2 cannot exec into uid $U1's workload" "$out" "AccessDenied"
is "root's workload is still running" "$(state_of rootjob)" running
is "uid $U1's workload is still running" "$(state_of u1job)" running

out=$(as "$U1" "$G1" -- exec u1job -- /bin/sh -c 'echo inside')
is "uid $U1 can exec into its own workload" "$out" inside
check "uid $U1 can stop its own workload" as "$U1" "$G1" -- stop -t 1 u1job
is "… it stopped" "$(state_of u1job)" exited
check "uid $U1 can remove its own workload" as "$U1" "$G1" -- rm u1job

# manage_others: uid U3 in group 'users' may manage other users' workloads, but launch nothing.
out=$(as "$U3" "$G3" -- stop -t 1 u2job 2>&1)
like "uid $U3 outside group 'users' cannot stop uid $U2's workload" "$out" "AccessDenied"
check "uid $U3 in group 'users' (manage_others) can stop uid $U2's workload" \
        as "$U3" "$G3" "$USERS_GID" -- stop -t 1 u2job
check "… and remove it" as "$U3" "$G3" "$USERS_GID" -- rm u2job
check "… and kill root's workload" as "$U3" "$G3" "$USERS_GID" -- kill -s KILL rootjob
as "$U1" "$G1" -- launch -d --name u1job2 -- /bin/sleep 1000 >/dev/null
check "'users' as the primary group (no supplementary groups) counts too" \
        as "$U3" "$USERS_GID" -- stop -t 1 u1job2
as "$U1" "$G1" -- rm u1job2
out=$(as "$U3" "$G3" "$USERS_GID" -- launch -- /bin/true 2>&1)
like "… but the same rule denies it launching" "$out" "rule 'operators' denies this workload: Operators manage.*PolicyDenied"

# ============================================================ credentials come from the bus
printf '{"process": {"user": "0:0"}, "labels": {"root": "true", "uid": "0"}, "name": "claim"}\n' >"$T/claim.json"
out=$(as "$U3" "$G3" -- launch --spec "$T/claim.json" -- /bin/true 2>&1)
like "uid $U3 (denied) stays denied with process.user 0 and root-ish labels in the spec" "$out" \
        "rule 'default' denies this workload.*PolicyDenied"
out=$(as "$U3" "$G3" -- launch -u 0 --isolation=container -- /bin/true 2>&1)
like "… and with -u 0" "$out" "rule 'default' denies"
out=$(as "$U3" "$G3" -- policy explain --spec "$T/claim.json" -- /bin/true 2>&1)
like "explain shows the caller from the bus (uid $U3), not from the spec" "$out" "^caller: uid $U3 "
like "… and the default deciding" "$out" "^decision: denied \(default\)|^decision: deny"
check "nothing named 'claim' was created" [ ! -e "$T/state/workloads/claim" ]
out=$(as "$U1" "$G1" -- launch -u 0:0 -- /bin/sh -c 'id -u')
is "process.user 0 from an allowed caller is the workload's user (in its own namespaces)" "$out" 0
out=$(isoctl show --json u1job 2>&1)
like "(u1job is gone)" "$out" "NotFound"

# ============================================================ policy check / show / explain
cp "$top_srcdir/systemd/policy.json" "$T/good.json"
out=$(isoctl policy check "$T/good.json" 2>&1)
is "policy check: valid file exits 0" "$?" 0
like "… and says so" "$out" "good.json: valid"
printf '{\n  "version": 1,\n  "rules": [\n    { "name": "x", "isolation": "vm", }\n  ],\n  "default": {"isolation": "deny"}\n}\n' >"$T/syntax.json"
out=$(isoctl policy check "$T/syntax.json" 2>&1)
rc=$?
check "policy check: JSON syntax error exits non-zero ($rc)" [ "$rc" -ne 0 ]
like "… with file:line" "$out" "^$T/syntax.json:4: "
printf '{\n  "version": 1,\n  "rules": [\n    { "name": "ci",\n      "isolation": "container",\n      "caps": { "cpu": 2 } }\n  ],\n  "default": {"isolation": "deny"}\n}\n' >"$T/semantic.json"
out=$(isoctl policy check "$T/semantic.json" 2>&1)
rc=$?
check "policy check: unknown key exits non-zero ($rc)" [ "$rc" -ne 0 ]
like "… naming file:line, rule and problem" "$out" "^$T/semantic.json:[0-9]+: rule 'ci'.*Unknown key 'caps.cpu'"
out=$(isoctl policy check "$T/nonexistent.json" 2>&1)
check "policy check: missing file exits non-zero" [ $? -ne 0 ]
like "… naming it" "$out" "nonexistent.json"
out=$(as "$U1" "$G1" -- policy check "$T/good.json" 2>&1)
is "policy check works for anyone (it does not talk to isod)" "$?" 0

out=$(isoctl policy show)
like "policy show prints the active policy" "$out" '"name": "untrusted-vm"'
like "… all of it" "$out" '"name": "others-container"'
out=$(as "$U1" "$G1" -- policy show)
like "policy show works for a non-root caller" "$out" '"name": "test-users"'

before=$(n_workloads)
out=$(isoctl policy explain --isolation=container --label job=clamped --memory 1G -- /bin/true)
like "policy explain names the matching rule" "$out" "^rule 'clamped' \(rules\[3\]\): matched"
like "… lists skipped rules with why" "$out" "^rule 'untrusted-vm' \(rules\[0\]\): skipped: labels"
like "… the clamping" "$out" "memory 128M \(clamped from 1G\)"
like "… the decision" "$out" "^decision: container \(rule 'clamped'\)"
like "… and the effective spec" "$out" '^effective spec: .*"memory":134217728'
is "policy explain creates nothing" "$(n_workloads)" "$before"
out=$(isoctl policy explain --label evil=1 -- /bin/true)
like "explain of a denied request" "$out" "rule 'no-evil'.*matched"
out=$(as "$U1" "$G1" -- policy explain -- /bin/true)
like "explain runs with the non-root caller's credentials" "$out" "^caller: uid $U1 "
like "… and its rule" "$out" "^decision: container \(rule 'test-users'\)"

# ============================================================ reload
src_before=$(bctl get-property org.isod1 /org/isod1 org.isod1.Manager PolicySource)
cp "$T/policy.json" "$T/policy.good"
printf '{\n  "version": 1,\n  "rules": [\n    { "name": "broken", "isolation": "vms" }\n  ],\n  "default": {"isolation": "deny"}\n}\n' >"$T/policy.json"
out=$(isoctl policy reload 2>&1)
rc=$?
check "reload of an invalid policy fails ($rc)" [ "$rc" -ne 0 ]
like "… with InvalidPolicy" "$out" '\[InvalidPolicy\]'
like "… naming the file, the line and the problem" "$out" "$T/policy.json:4: rule 'broken'.*vms"
like "… saying the old policy stays" "$out" "old one stays in force"
out=$(isoctl launch -- /bin/sh -c 'echo still-works')
is "the old policy is still in force: a launch it allowed works" "$out" still-works
isoctl launch -d --name after-bad-reload -- /bin/sleep 1000 >/dev/null
like "… placed by the old rule" "$(isoctl show after-bad-reload)" '^Policy rule: others-container'
out=$(isoctl launch --label evil=yes -- /bin/true 2>&1)
like "… and a launch it denied is still denied" "$out" "no-evil"
like "policy show still shows the old policy" "$(isoctl policy show)" '"untrusted-vm"'
unlike "… not the broken one" "$(isoctl policy show)" '"broken"'

out=$(as "$U1" "$G1" -- policy reload 2>&1)
rc=$?
check "ReloadPolicy as non-root fails ($rc)" [ "$rc" -ne 0 ]
like "… with AccessDenied" "$out" '\[AccessDenied\]'

NEW_POLICY=$(printf '%s' "$POLICY_MAIN" | sed 's/"others-container"/"root-v2"/')
check "reload of a good policy succeeds" set_policy "$NEW_POLICY"
isoctl launch -d --name after-reload -- /bin/sleep 1000 >/dev/null
like "the new rule is in force" "$(isoctl show after-reload)" '^Policy rule: root-v2'
like "a workload created before keeps the rule that placed it" "$(isoctl show after-bad-reload)" \
        '^Policy rule: others-container'
like "policy show shows the new policy" "$(isoctl policy show)" '"root-v2"'
is "PolicySource is the file" "$(bctl get-property org.isod1 /org/isod1 org.isod1.Manager PolicySource)" "$src_before"

# SIGHUP: the same, without D-Bus
printf '{ "version": 1, "rules": [ { "name": "hup", "isolation": "vm", "isolation": "container" } ], "default": {"isolation": "deny"} }\n' >"$T/policy.json"
kill -HUP "$ISOD_PID"
sleep 0.3
check "isod survives SIGHUP with a broken file" isod_alive
like "… and logs the rejection with file and problem" "$(cat "$T/isod.log")" "SIGHUP rejected, keeping the old policy: $T/policy.json"
isoctl launch -d --name after-bad-hup -- /bin/sleep 1000 >/dev/null
like "… the old policy stays in force" "$(isoctl show after-bad-hup)" '^Policy rule: root-v2'
printf '%s\n' "$POLICY_MAIN" | sed 's/"others-container"/"root-v3"/' >"$T/policy.json"
kill -HUP "$ISOD_PID"
wait_until 5 eval '[[ "$(isoctl policy show)" == *root-v3* ]]'
check "SIGHUP with a good file loads it" [ $? = 0 ]
isoctl launch -d --name after-hup -- /bin/sleep 1000 >/dev/null
like "… and its rules decide" "$(isoctl show after-hup)" '^Policy rule: root-v3'

# A policy file that vanishes is not a reason to fall back silently to something else: the
# built-in policy applies only when the file does not exist.
rm -f "$T/policy.json"
check "reload with no policy file falls back to the built-in policy" isoctl policy reload
is "… PolicySource says built-in" "$(bctl get-property org.isod1 /org/isod1 org.isod1.Manager PolicySource)" \
        's "built-in"'
mkdir "$T/policy.json"
out=$(isoctl policy reload 2>&1)
check "reload when the policy path is unreadable (a directory) fails" [ $? -ne 0 ]
like "… with InvalidPolicy" "$out" 'InvalidPolicy'
is "… and keeps the policy in force" "$(bctl get-property org.isod1 /org/isod1 org.isod1.Manager PolicySource)" \
        's "built-in"'
rmdir "$T/policy.json"
ln -s policy.json "$T/policy.json"
out=$(isoctl policy reload 2>&1)
check "reload when the policy path is a symlink loop fails (no silent fallback)" [ $? -ne 0 ]
like "… naming the file and the problem" "$out" "$T/policy.json: Too many levels of symbolic links.*InvalidPolicy"
rm -f "$T/policy.json"
printf '%s\n' "$POLICY_MAIN" >"$T/policy.json"
check "reload back to the test policy" isoctl policy reload

for w in trusted-job clamped capdefault capunder rootjob after-bad-reload after-reload after-bad-hup after-hup; do
        isoctl stop -t 1 "$w" >/dev/null 2>&1
        isoctl rm "$w" >/dev/null 2>&1
done
isoctl rm rojob >/dev/null 2>&1
is "all test workloads removed" "$(n_workloads)" 0
check "isod is still up" isod_alive

# ============================================================ the shipped default policy
stop_isod
# A fresh isod that must refuse to start with an invalid policy file.
printf '{"version": 1, "rules": [], "default": {"isolation": "maybe"}}\n' >"$T/policy.json"
"$top_builddir/isod" --state-dir="$T/state" --image-dir="$IMAGE_DIR" --vm-dir="$VM_DIR" --cache-dir="$T/cache" \
        --monitor="$top_builddir/isod-monitor" --policy="$T/policy.json" >"$T/bad-start.log" 2>&1 &
bad_pid=$!
wait_until 10 eval '! kill -0 '"$bad_pid"' 2>/dev/null'
check "isod refuses to start with an invalid policy file" [ $? = 0 ]
wait "$bad_pid"
check "… exit status non-zero" [ $? -ne 0 ]
like "… and says which file and what is wrong" "$(cat "$T/bad-start.log")" \
        "Refusing to start with an invalid policy: $T/policy.json.*maybe"

CREATED_GROUP=
drop_group() {
        [ -n "$CREATED_GROUP" ] && groupdel isod 2>/dev/null
        CREATED_GROUP=
}
trap 'drop_group; cleanup' EXIT
if ! getent group isod >/dev/null; then
        groupadd -f -r isod && CREATED_GROUP=1
fi
ISOD_GID=$(getent group isod | cut -d: -f3)
if [ -z "$ISOD_GID" ]; then
        skip_all "cannot create group isod"
fi
ISOD_TEST_POLICY="$top_srcdir/systemd/policy.json"
check "isod starts with the shipped default policy" start_isod
like "… from that file" "$(isoctl status)" "policy from $top_srcdir/systemd/policy.json"

out=$(as "$U1" "$G1" "$ISOD_GID" -- policy explain --isolation=container -- /bin/true)
like "isod member: a container request is decided vm by rule 'isod-group'" "$out" "^decision: vm \(rule 'isod-group'\)"
like "… the rule wins over the request" "$out" "the request asked for container"
like "… with the memory cap as its limit" "$out" "memory 2G \(the cap"
if vm_available; then
        out=$(as "$U1" "$G1" "$ISOD_GID" -- launch --isolation=container -- /bin/uname -r 2>&1)
        kern=$(echo "$out" | tail -1)
        check "isod member's container request runs in a VM (kernel '$kern', host '$HOST_KERNEL')" \
                [ -n "$kern" ] && [ "$kern" != "$HOST_KERNEL" ]
else
        out=$(as "$U1" "$G1" "$ISOD_GID" -- launch --isolation=container -- /bin/uname -r 2>&1)
        like "isod member's container request goes to the VM backend (unavailable here), never a container" \
                "$out" 'BackendUnavailable'
        ok "# SKIP vm backend not available: isod member's workload runs under a different kernel"
fi
out=$(as "$U1" "$G1" "$ISOD_GID" -- launch --memory 4G -- /bin/true 2>&1)
like "isod member: memory over 2G is refused, naming the cap" "$out" "memory 4G is over the cap 2G.*PolicyDenied"
out=$(as "$U1" "$G1" "$ISOD_GID" -- launch --mount /etc:/hostetc -- /bin/true 2>&1)
like "isod member: host mounts are denied" "$out" "rule 'isod-host-mounts' denies.*PolicyDenied"
out=$(as "$U1" "$G1" "$ISOD_GID" -- launch --rootfs / -- /bin/true 2>&1)
like "isod member: a host rootfs is denied" "$out" "rule 'isod-host-rootfs' denies.*PolicyDenied"
# Networking: the policy decides before any network is set up, so these run without one.
printf '{"network": {"mode": "host"}}\n' >"$T/net-host.json"
printf '{"network": {"mode": "nat", "ports": [{"host": 80, "guest": 80, "address": "127.0.0.1"}]}}\n' >"$T/net-low.json"
printf '{"network": {"mode": "nat", "ports": [{"host": 8080, "guest": 80}]}}\n' >"$T/net-all.json"
before=$(n_workloads)
out=$(as "$U1" "$G1" "$ISOD_GID" -- launch --spec "$T/net-host.json" --isolation=container -- /bin/true 2>&1)
like "isod member: network host is denied" "$out" "rule 'isod-host-network' denies this workload.*PolicyDenied"
out=$(as "$U1" "$G1" "$ISOD_GID" -- launch --spec "$T/net-low.json" -- /bin/true 2>&1)
like "isod member: a host port below 1024 is refused, naming the port" "$out" \
        "rule 'isod-group' refuses the request: port 127\.0\.0\.1:80->80/tcp: host port 80 is below 1024.*PolicyDenied"
out=$(as "$U1" "$G1" "$ISOD_GID" -- launch --spec "$T/net-all.json" -- /bin/true 2>&1)
like "isod member: a port on all addresses is refused, naming the address" "$out" \
        "port 0\.0\.0\.0:8080->80/tcp: address 0\.0\.0\.0 \(all addresses\) is not allowed \(the rule allows '127\.0\.0\.1'\).*PolicyDenied"
is "… and the refused launches create nothing" "$(n_workloads)" "$before"
out=$(as "$U1" "$G1" "$ISOD_GID" -- policy explain --spec "$T/net-low.json" -- /bin/true)
like "… explain shows the network decision" "$out" "^  port 127\.0\.0\.1:80->80/tcp: refused: host port 80 is below 1024$"
like "… and the refusal" "$out" "^decision: refused \(rule 'isod-group' does not allow the request's network settings\)"
out=$(isoctl policy explain --spec "$T/net-host.json" -- /bin/true)
like "root: network host with auto is decided container" "$out" "^decision: container \(rule 'root'\)"
out=$(isoctl policy explain --spec "$T/net-host.json" --isolation=vm -- /bin/true)
like "root: network host in a VM is refused" "$out" "mode host: refused: a VM cannot share the host's network namespace"
out=$(as "$U1" "$G1" "$ISOD_GID" -- policy explain --seccomp unconfined -- /bin/true)
like "… the default seccomp filter is forced" "$out" "forced: seccomp default \(request: unconfined\)"

out=$(isoctl launch --isolation=container -- /bin/sh -c 'echo pid=$$; uname -r')
like "root gets the requested isolation: container" "$out" '^pid=1$'
out=$(isoctl policy explain --isolation=vm -- /bin/true)
like "root gets the requested isolation: vm" "$out" "^decision: vm \(rule 'root'\)"
out=$(isoctl policy explain -- /bin/true)
like "root: auto means a container" "$out" "^decision: container \(rule 'root'\)"
if vm_available; then
        out=$(isoctl launch --isolation=vm -- /bin/uname -r 2>&1)
        kern=$(echo "$out" | tail -1)
        check "root's vm request runs under a different kernel ('$kern')" [ -n "$kern" ] && [ "$kern" != "$HOST_KERNEL" ]
else
        ok "# SKIP vm backend not available: root's vm request runs under a different kernel"
fi

out=$(as "$U2" "$G2" -- launch --isolation=vm -- /bin/true 2>&1)
like "others are denied by the default" "$out" "rule 'default' denies this workload: Only root, members of group isod and users polkit authorizes.*PolicyDenied"
out=$(as "$U2" "$G2" -- policy explain -- /bin/true)
like "… explain says so" "$out" "default"
is "nothing was created" "$(n_workloads)" 0

check "isod is still up" isod_alive
drop_group
trap cleanup EXIT
done_testing
