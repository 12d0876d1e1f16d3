#!/bin/bash
# Direct connections: isoctl → isod's private socket (peer-to-peer D-Bus, no bus daemon) → isod →
# monitor → container, as root uses it by default (docs/dbus-api.md, "Direct connections").
. "$(dirname "$0")/lib.sh"
require_root
ensure_image || skip_all "cannot build the busybox image (apt-get install busybox-static)"
start_bus || skip_all "no dbus-daemon"

# Who the caller is comes from the socket (SO_PEERCRED, SO_PEERGROUPS): a policy that tells the
# primary group (root) from a supplementary one (adm) shows which was read.
cat >"$T/policy.json" <<'EOF'
{
  "version": 1,
  "rules": [
    { "name": "via-adm", "reason": "supplementary group adm", "match": { "group": "adm" }, "isolation": "container" },
    { "name": "via-root-group", "reason": "primary group root", "match": { "group": "root" }, "isolation": "container" }
  ],
  "default": { "isolation": "deny", "reason": "nobody else" }
}
EOF
check "isod starts" start_isod
S=$T/state/private
check "isod listens on STATE/private" [ -S "$S" ]
is "the socket is root's alone (0600)" "$(stat -c '%a %U' "$S")" "600 root"

# --- the whole path over the direct socket, asserting on what the workload saw
export ISOD_SOCKET=$S
out=$(isoctl launch -- /bin/sh -c 'echo pid=$$; echo in=$(cat); exit 7' <<<"piped-through")
rc=$?
is "the workload's exit status is isoctl's" "$rc" 7
like "the workload is PID 1 of its namespace" "$out" '^pid=1$'
like "stdin reaches it (fds passed on the direct socket)" "$out" '^in=piped-through$'
is "a foreground workload is removed once its client saw the end" "$(isoctl list | grep -c .)" 1

isoctl launch -d --name bg -- /bin/sleep 60 >/dev/null
is "detached launch runs" "$(state_of bg)" running
out=$(isoctl exec bg -- /bin/sh -c 'cat /proc/1/comm; exit 5')
is "exec runs in it and returns the status" "$?" 5
is "exec sees the workload's PID 1" "$out" sleep
like "stats come back" "$(isoctl stats bg)" '^memory_bytes +[0-9]+'
like "the caller's primary group came from the socket" "$(isoctl list)" '^bg +container +running +via-root-group'
isoctl kill bg >/dev/null
isoctl wait bg >/dev/null
is "kill and wait: 128+9" "$?" 137
isoctl rm bg >/dev/null

setpriv --groups=adm -- "$ISOCTL" launch -d --name sup -- /bin/true >/dev/null
like "a supplementary group came from the socket (SO_PEERGROUPS)" "$(isoctl list)" '^sup +container +[a-z]+ +via-adm'
isoctl rm -f sup >/dev/null 2>&1
setpriv --regid=adm --clear-groups -- "$ISOCTL" launch -d --name prim -- /bin/true >/dev/null
like "so did the primary group (SO_PEERCRED's gid, no /proc read)" "$(isoctl list)" '^prim +container +[a-z]+ +via-adm'
isoctl rm -f prim >/dev/null 2>&1

# The same workloads, whichever way in: the bus sees what the direct socket made.
isoctl launch -d --name both -- /bin/sleep 60 >/dev/null
# Any D-Bus library that opens a peer-to-peer connection can call isod there (docs/dbus-api.md).
out=$(/usr/bin/python3 -c '
import dbus, sys
c = dbus.connection.Connection("unix:path=" + sys.argv[1])
for name, iso, state, rule, path in c.call_blocking(None, "/org/isod1", "org.isod1.Manager", "ListWorkloads", "", []):
    print(name, state)' "$S" 2>&1)
like "python3-dbus lists workloads on the direct socket" "$out" '^both running$'
like "a workload made directly is on the bus" "$(ISOD_SOCKET= isoctl list)" '^both +container +running'
isoctl rm -f both >/dev/null

# A client that dies while its auto-remove workload runs holds it no longer: the workload is removed
# when it ends, as on the bus (where the client's name is tracked).
client_dies_while_running orphan 10 /bin/sleep 1
unlike "its workload is removed once it ends" "$(isoctl list)" '^orphan '

# --- who may connect
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ISOCTL" list 2>&1)
rc=$?
check "an unprivileged caller cannot connect (exit $rc)" [ "$rc" -ne 0 ]
like "and is told why" "$out" "cannot connect to isod at '.*private' \(ISOD_SOCKET\): Permission denied"
# Defense in depth: a socket made world-accessible by mistake still refuses non-root peers.
chmod 0666 "$S"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ISOCTL" list 2>&1)
check "isod itself refuses a non-root peer" [ $? -ne 0 ]
like "and logs it" "$(cat "$T/isod.log")" 'Refused a direct connection from UID 65534'
chmod 0600 "$S"
check "isod keeps running" isod_alive

out=$(ISOD_SOCKET=$T/nonexistent isoctl list 2>&1)
check "a wrong ISOD_SOCKET is an error, not a silent fall back to the bus" [ $? -ne 0 ]
like "naming the socket" "$out" "cannot connect to isod at '$T/nonexistent'"

# --- hostile peers: garbage, and more connections than isod serves at once
out=$(head -c 65536 /dev/urandom | timeout 5 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"\0AUTH EXTERNAL 30\r\nBEGIN\r\n" + sys.stdin.buffer.read())
s.settimeout(5)
try:
    while s.recv(4096): pass
    print("closed")
except ConnectionResetError: print("closed")
except socket.timeout: print("still open")' "$S" 2>&1)
is "garbage after the handshake: isod drops the connection" "$out" closed
check "isod keeps running" isod_alive

# More connections than isod serves at once. It serves up to 4096, but no more than half of its
# file descriptors: started with 256 of them, 128. The rest wait in the listen backlog.
stop_isod
hard=$(ulimit -Hn)
ulimit -Sn 256
check "isod starts with 256 file descriptors" start_isod
ulimit -Sn "$hard"
/usr/bin/python3 -c '
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
c = []
for i in range(200):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); c.append(s)
print("held", flush=True)
time.sleep(4)' "$S" >"$T/held" &
hold=$!
wait_until 5 grep -q held "$T/held"
sleep 0.5
nfd=$(ls /proc/"$ISOD_PID"/fd | wc -l)
check "isod's fds stay bounded while 200 connections are held ($nfd, at most 128 of them served)" \
        [ "$nfd" -lt 175 ]
out=$(ISOD_SOCKET= isoctl launch -- /bin/sh -c 'exit 4')
is "the bus still serves meanwhile" "$?" 4
out=$(timeout 20 "$ISOCTL" launch -- /bin/sh -c 'exit 6')
is "a direct launch queued behind them completes once they go" "$?" 6
wait "$hold"
check "isod keeps running" isod_alive
# Foreground clients keep their connection while their workload runs: far more than 64 at once.
fg=()
for i in $(seq 1 80); do
        isoctl launch --name fg$i -- /bin/sleep 6 >/dev/null 2>&1 &
        fg+=($!)
done
sleep 2.5
out=$(timeout 2 "$ISOCTL" list 2>&1)
is "with 80 foreground clients waiting, another direct call is served at once" "$?" 0
wait "${fg[@]}"
check "isod keeps running" isod_alive

# --- root's default: isod's socket in /run/isod, no bus needed
out=$(unshare -m --propagation private sh -c '
        mount -t tmpfs tmpfs /run && mkdir /run/isod && mount --bind "$1" /run/isod &&
        env -u DBUS_SYSTEM_BUS_ADDRESS -u ISOD_SOCKET "$2" launch -- /bin/sh -c "echo no-bus; exit 3"' \
        sh "$T/state" "$ISOCTL" 2>&1)
is "as root, isoctl uses /run/isod/private by default (no bus in reach)" "$?:$out" "3:no-bus"

# --- isod without it, and cleanup on exit
stop_isod
check "isod removes its socket when it exits" [ ! -e "$S" ]
check "isod starts with --private-socket=" start_isod --private-socket=
check "and then listens on nothing" [ ! -e "$S" ]
out=$(isoctl list 2>&1)
check "so a direct client fails clearly" [ $? -ne 0 ]
out=$(ISOD_SOCKET= isoctl launch -- /bin/sh -c 'exit 2')
is "while the bus serves" "$?" 2
stop_isod
out=$("$top_builddir/isod" --private-socket=relative/path 2>&1)
like "a relative --private-socket is refused" "$out" 'must be an absolute path'

done_testing
