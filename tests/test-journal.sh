#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Integration: a detached workload's output also goes to the journal when journald runs. This
# host runs none, so the test is journald's end of the native protocol: a datagram socket at
# /run/systemd/journal/socket, in a mount namespace of the test's own (a tmpfs over that
# directory), where isod and its monitors run too. Asserts on the fields the workload's lines
# arrived with.
. "$(dirname "$0")/lib.sh"
require_root
ensure_image || skip_all "cannot build the busybox image"
command -v python3 >/dev/null || skip_all "no python3"
command -v unshare >/dev/null || skip_all "no unshare (util-linux)"
start_bus || skip_all "no dbus-daemon"

# /run/systemd/journal must exist to be mounted over; made (and removed) only if it is not there.
MADE=
if [ ! -d /run/systemd/journal ]; then
        for d in /run/systemd /run/systemd/journal; do
                [ -d "$d" ] || { mkdir "$d" && MADE="$d $MADE"; }
        done
fi
journal_cleanup() {
        pkill -f "$T/journald.py" 2>/dev/null
        sleep 0.1
        for d in $MADE; do rmdir "$d" 2>/dev/null; done
}
trap 'journal_cleanup; cleanup' EXIT

cat >"$T/journald.py" <<'EOF'
# The native protocol (systemd's journal-native(7)): KEY=VALUE lines, or KEY, newline, a 64-bit
# little-endian length and the value, for values with newlines. One datagram per entry.
import json, os, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(out + ".ready", "w").close()
with open(out, "a") as f:
    while True:
        d = s.recv(1 << 20)
        e, i = {}, 0
        while i < len(d):
            nl = d.index(b"\n", i)
            line = d[i:nl]
            if b"=" in line:
                k, v = line.split(b"=", 1)
                i = nl + 1
            else:
                k = line
                n = struct.unpack("<Q", d[nl + 1:nl + 9])[0]
                v = d[nl + 9:nl + 9 + n]
                i = nl + 9 + n + 1
            e[k.decode()] = v.decode(errors="replace")
        f.write(json.dumps(e) + "\n")
        f.flush()
EOF
# isod, its monitors and the fake journald in one private mount namespace.
mkdir -p "$T/state" "$T/cache"
unshare -m --propagation private sh -c "
        mount -t tmpfs -o mode=0755 tmpfs /run/systemd/journal &&
        python3 '$T/journald.py' /run/systemd/journal/socket '$T/journal.jsonl' &
        for i in \$(seq 1 100); do [ -e '$T/journal.jsonl.ready' ] && break; sleep 0.05; done
        exec '$top_builddir/isod' --state-dir='$T/state' --image-dir='$IMAGE_DIR' --vm-dir='$VM_DIR' \
                --cache-dir='$T/cache' --monitor='$top_builddir/isod-monitor' --network-dir='$T/networks' \
                --dns-upstream= --debug" >>"$T/isod.log" 2>&1 &
ISOD_PID=$!
check "isod starts in a mount namespace with a journald socket" wait_until 10 isod_alive

isoctl launch -d --name jw -- sh -c 'echo to-the-journal; echo an-error >&2; printf "multi\nline"' >/dev/null
wait_until 10 sh -c "grep -q an-error '$T/journal.jsonl' 2>/dev/null"
entry() { python3 -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("MESSAGE") == sys.argv[2]:
        print(" ".join("%s=%s" % (k, e[k]) for k in sorted(e) if k != "MESSAGE")); break' "$T/journal.jsonl" "$1"; }
is "a stdout line reached the journal with its fields" "$(entry to-the-journal)" \
        "ISOD_ISOLATION=container ISOD_STREAM=stdout ISOD_WORKLOAD=jw PRIORITY=6 SYSLOG_IDENTIFIER=jw"
is "a stderr line at priority 3" "$(entry an-error)" \
        "ISOD_ISOLATION=container ISOD_STREAM=stderr ISOD_WORKLOAD=jw PRIORITY=3 SYSLOG_IDENTIFIER=jw"
wait_until 5 sh -c "grep -q '\"line\"' '$T/journal.jsonl'"
like "one entry per line (the last, without its newline, too)" "$(entry multi) / $(entry line)" \
        "ISOD_STREAM=stdout.* / .*ISOD_STREAM=stdout"
is "... and the output log has them as well" "$(isoctl logs jw 2>/dev/null | head -1)" to-the-journal

# isod's own lifecycle messages about a workload carry ISOD_WORKLOAD= too: `journalctl
# ISOD_WORKLOAD=jw` shows them with the workload's output.
isoctl wait jw >/dev/null 2>&1
isoctl rm jw >/dev/null 2>&1
wait_until 5 sh -c "grep -q \"Removed workload 'jw'\" '$T/journal.jsonl'"
lifecycle() { python3 -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("MESSAGE", "").startswith(sys.argv[2]):
        print(e.get("SYSLOG_IDENTIFIER"), e.get("ISOD_WORKLOAD")); break' "$T/journal.jsonl" "$1"; }
is "isod's \"Created workload\" message: from isod, with ISOD_WORKLOAD=jw" "$(lifecycle "Created workload 'jw'")" "isod jw"
is "... its exit" "$(lifecycle "Workload 'jw' exited")" "isod jw"
is "... its removal" "$(lifecycle "Removed workload 'jw'")" "isod jw"

stop_isod
journal_cleanup
MADE=
done_testing
