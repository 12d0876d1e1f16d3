#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# polkit against a real polkitd on the test's private bus: isod asks it (asynchronously, with the
# caller's unique bus name as the subject) for what it would refuse a non-root caller by itself —
# a launch no policy rule is for, another user's workload, the policy reload, images — with systemd/org.isod1.policy installed
# and a rules file of the test's: user nobody authorized, bin refused, daemon left to the
# defaults (an administrator's authentication: refused to a call without an agent, answered by
# an agent for one on a terminal).
# polkitd runs in a mount namespace of its own that shows it the test's actions and rules only.
. "$(dirname "$0")/lib.sh"

require_root
PK=/usr/lib/polkit-1/polkitd
ensure_image || skip_all "cannot build the busybox image"
BUS_EXTRA_POLICY='<policy user="polkitd"><allow own="org.freedesktop.PolicyKit1"/></policy>'
start_bus || skip_all "cannot start dbus-daemon"
start_isod || {
        not_ok "isod starts"
        done_testing
}
chmod 0755 "$T"

if [ ! -x "$PK" ] || ! id polkitd >/dev/null 2>&1; then
        not_ok "polkitd is installed (tools/deps: polkitd)"
        done_testing
fi
mkdir -p "$T/pk/actions" "$T/pk/rules.d" "$T/pk/empty"
cp "$top_srcdir/systemd/org.isod1.policy" "$T/pk/actions/"
cat >"$T/pk/rules.d/50-isod-test.rules" <<'EOF'
polkit.addRule(function(action, subject) {
        if (action.id.indexOf("org.isod1.") != 0)
                return polkit.Result.NOT_HANDLED;
        if (subject.user == "nobody")
                return polkit.Result.YES;
        if (subject.user == "bin" && action.id == "org.isod1.manage" && action.lookup("workload") == "binok" &&
            action.lookup("owner_uid") == "0")
                return polkit.Result.YES;
        if (subject.user == "bin")
                return polkit.Result.NO;
        return polkit.Result.NOT_HANDLED;
});
EOF
chmod -R a+rX "$T/pk"
start_polkitd() {
        DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS setsid unshare -m --propagation private sh -c "
                mount --bind '$T/pk/actions' /usr/share/polkit-1/actions &&
                mount --bind '$T/pk/rules.d' /etc/polkit-1/rules.d &&
                mount --bind '$T/pk/empty' /usr/share/polkit-1/rules.d &&
                exec '$PK' --no-debug" >"$T/polkitd.log" 2>&1 &
        PK_PID=$!
        wait_until 20 bctl status org.freedesktop.PolicyKit1 >/dev/null 2>&1
}
stop_polkitd() {
        [ -n "${PK_PID:-}" ] || return 0
        kill "$PK_PID" 2>/dev/null
        wait "$PK_PID" 2>/dev/null
        PK_PID=
}
trap 'stop_polkitd; cleanup' EXIT
check "polkitd owns org.freedesktop.PolicyKit1 on the test's bus" start_polkitd
as() { local u=$1; shift; setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups -- "$ISOCTL" "$@" 2>&1; }

# Root's workloads: another user may act on them only as polkit says.
isoctl launch -d --name rootwl -- /bin/sleep 600 >/dev/null
isoctl launch -d --name rootwl2 -- /bin/sleep 600 >/dev/null
wait_until 10 state_is rootwl running
out=$(as bin kill rootwl)
like "polkit says no (bin): AccessDenied, naming the action" "$out" \
        "may not act on workload 'rootwl' \(owned by UID 0\), and polkit does not authorize org.isod1.manage"
is "... and the workload runs on" "$(state_of rootwl)" running
isoctl launch -d --name binok -- /bin/sleep 600 >/dev/null
wait_until 10 state_is binok running
out=$(as bin kill binok)
is "polkit rules see the workload's name and owner (action.lookup): bin may kill binok only" "$?" 0
wait_until 10 sh -c '[ "$("$0" show --json binok | jq -r .State)" != running ]' "$ISOCTL"
like "... which ended" "$(state_of binok)" "exited|failed"
out=$(as daemon kill rootwl)
like "polkit's default (an administrator's authentication) without an agent: InteractiveAuthorizationRequired" \
        "$out" "polkit needs an authentication for org.isod1.manage"
is "... and the workload runs on" "$(state_of rootwl)" running
out=$(as nobody kill rootwl)
is "polkit says yes (nobody): kill works" "$?" 0
wait_until 10 sh -c '[ "$("$0" show --json rootwl | jq -r .State)" != running ]' "$ISOCTL"
like "... the workload ended" "$(state_of rootwl)" "exited|failed"
out=$(as nobody exec rootwl2 -- /bin/echo exec-by-nobody)
is "polkit says yes for exec too (org.isod1.exec)" "$out" exec-by-nobody
out=$(as nobody policy reload)
rc=$?
is "polkit says yes: nobody reloads the policy (org.isod1.reload-policy)" "$rc" 0
like "... as isod's log says" "$(cat "$T/isod.log")" "polkit authorized UID 65534 for org.isod1.reload-policy"
out=$(as bin policy reload)
like "... and refused for bin" "$out" "Only root may reload the policy, and polkit does not authorize org.isod1.reload-policy"
tar -C "$IMAGE_DIR/busybox/rootfs" -c . >"$T/bb.tar"
out=$(as nobody image import "$T/bb.tar" --name pk/bb:1)
is "polkit says yes: nobody imports an image (org.isod1.manage-images)" "$?" 0
like "... which is in the store" "$(isoctl image list)" "pk/bb"
out=$(as bin image rm pk/bb:1)
like "... bin may not remove it" "$out" "Only root may remove images, and polkit does not authorize org.isod1.manage-images"
grep -q "polkit authorized UID 65534 for org.isod1.manage" "$T/isod.log"
check "isod logs what polkit authorized" [ $? -eq 0 ]

# Launch: no policy rule is for these users (not root, not in group isod), so the default would
# deny; polkit is asked for org.isod1.launch, and the rules for "polkit": true callers decide.
out=$(as nobody create --name pkwl -- /bin/true)
is "polkit says yes: nobody creates a workload (org.isod1.launch)" "$?" 0
wl=$(isoctl show --json pkwl)
is "... placed by the default policy's rule 'polkit'" "$(echo "$wl" | jq -r .PolicyRule)" polkit
is "... in a VM, as for group isod" "$(echo "$wl" | jq -r .Isolation)" vm
is "... owned by nobody" "$(echo "$wl" | jq -r .Owner)" 65534
out=$(as nobody rm pkwl)
is "... which nobody may remove (its own)" "$?" 0
out=$(as nobody launch -- /bin/sh -c 'echo "kernel $(uname -r)"; exit 4')
rc=$?
is "an attached launch by nobody (LaunchWorkload and Wait pipelined, the launch deferred by polkit): its status" \
        "$rc" 4
like "... it ran in a VM (the guest's kernel)" "$out" "^kernel $(cat "$VM_DIR/kernel.release" 2>/dev/null || echo '?')$"
out=$(as nobody create --mount /etc:/x -- /bin/true)
like "... but not with a host mount: rule polkit-host-mounts" "$out" "Policy rule 'polkit-host-mounts' denies"
out=$(as bin create -- /bin/true)
like "polkit says no (bin): the default's refusal, and polkit's" "$out" \
        "Policy rule 'default' denies this workload.*and polkit does not authorize org.isod1.launch"
out=$(as daemon create -- /bin/true)
like "polkit's default without an agent: InteractiveAuthorizationRequired" "$out" \
        "polkit needs an authentication for org.isod1.launch"
out=$(isoctl create --name rootcr -- /bin/true)
is "root's create needs no polkit (rule root)" "$(isoctl show --json rootcr | jq -r .PolicyRule)" root
isoctl rm rootcr >/dev/null

# An interactive challenge answered by an agent: daemon's isoctl on a terminal allows interactive
# authorization; an agent registered for its process (tests/polkit-agent.py, as polkit-agent-
# helper-1 would after a password) answers polkit's challenge, and the kill goes through.
isoctl launch -d --name rootwl3 -- /bin/sleep 600 >/dev/null
wait_until 10 state_is rootwl3 running
R=$T/pkrun
mkdir -p "$R" && chmod 0777 "$R"
script -q -e -c "setpriv --reuid=$(id -u daemon) --regid=$(id -g daemon) --clear-groups -- sh -c 'echo \$\$ >$R/pid; while [ ! -e $R/go ]; do sleep 0.05; done; exec $ISOCTL kill rootwl3'" \
        /dev/null </dev/null >"$R/isoctl.out" 2>&1 &
SP=$!
wait_until 10 test -s "$R/pid"
/usr/bin/python3 "$top_srcdir/tests/polkit-agent.py" "$(cat "$R/pid")" "$R/ready" 1 60 >"$R/agent.out" 2>&1 &
AP=$!
wait_until 10 test -e "$R/ready"
touch "$R/go"
wait "$SP"
rc=$?
wait "$AP" 2>/dev/null
like "the agent got polkit's challenge for org.isod1.manage, for an administrator (root)" "$(cat "$R/agent.out")" \
        "^challenge org.isod1.manage unix-user:uid=0$"
is "... answered it, and daemon's kill went through" "$rc" 0
wait_until 10 sh -c '[ "$("$0" show --json rootwl3 | jq -r .State)" != running ]' "$ISOCTL"
like "... the workload ended" "$(state_of rootwl3)" "exited|failed"
diag "isoctl: $(tr '\r\n' '  ' <"$R/isoctl.out")"

# Without polkitd the refusals stand, saying that polkit could have authorized them.
stop_polkitd
wait_until 10 sh -c '! busctl --address="$0" status org.freedesktop.PolicyKit1 >/dev/null 2>&1' "$DBUS_SYSTEM_BUS_ADDRESS"
out=$(as nobody kill rootwl2)
like "no polkitd: AccessDenied as before, saying polkit is not running" "$out" \
        "may not act on workload 'rootwl2' \(owned by UID 0\) \(polkit, which could authorize org.isod1.manage, is not running\)"
out=$(as nobody create -- /bin/true)
like "no polkitd: the default denies nobody's workload, saying polkit could have authorized it" "$out" \
        "Policy rule 'default' denies this workload.*\(polkit, which could authorize org.isod1.launch, is not running\)"
is "... and the workload runs on" "$(state_of rootwl2)" running
is "root needs no polkit" "$(isoctl exec rootwl2 -- /bin/echo root-ok)" root-ok
isoctl kill rootwl2 >/dev/null 2>&1
check "isod is still up" isod_alive
done_testing
