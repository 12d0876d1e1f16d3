#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Integration: a detached workload's output log, through isoctl → D-Bus → isod → the monitor's
# pipes → STATE/workloads/NAME/output.log → `isod-monitor --read-logs` → the fd GetLogs returns,
# for containers and VMs; asserting on what the workloads wrote (sequence numbers, streams, order).
. "$(dirname "$0")/lib.sh"
require_root
require_vm_assets
ensure_image || skip_all "cannot build the busybox image"
command -v python3 >/dev/null || skip_all "no python3 (for the follow latency)"
start_bus || skip_all "no dbus-daemon"
check "isod starts (output logs of 1G per file: nothing rotates yet)" start_isod --log-max-size=1G
VM="--isolation=vm"
ended() { case "$(state_of "$1")" in exited | failed) return 0 ;; esac; return 1; }
ok_if() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
bad() { # bad DESCRIPTION PATTERN ARGS...: the command fails and says PATTERN
        local desc=$1 pat=$2 out
        shift 2
        out=$("$@" 2>&1)
        if [ $? -ne 0 ] && printf '%s\n' "$out" | grep -Eqi -- "$pat"; then ok "$desc"; else
                not_ok "$desc"
                diag "$out"
        fi
}

logs_of() { cat "$T/state/workloads/$1/output.log" 2>/dev/null; }

# ---------------------------------------------------------------- basics
diag "$(date +%T) basics"
isoctl launch -d --name b1 -- sh -c 'echo hello; echo oops >&2; printf "part"; sleep 0.3; echo "ial"; printf "no newline"' >/dev/null
wait_until 10 ended b1
is "isoctl logs: stdout and stderr, as written" "$(isoctl logs b1 2>&1)" "$(printf 'hello\noops\npartial\nno newline')"
is "... stdout to our stdout" "$(isoctl logs b1 2>/dev/null)" "$(printf 'hello\npartial\nno newline')"
is "... stderr to our stderr" "$(isoctl logs b1 2>&1 >/dev/null)" "oops"
is "--stream stderr" "$(isoctl logs --stream stderr b1 2>&1)" "oops"
is "--stream stdout" "$(isoctl logs --stream stdout b1 2>&1)" "$(printf 'hello\npartial\nno newline')"
is "--tail 2: the last two records" "$(isoctl logs --tail 2 b1 2>&1)" "$(printf 'partial\nno newline')"
is "-n 0: nothing" "$(isoctl logs -n 0 b1 2>&1)" ""
like "-t: each line with its RFC 3339 UTC timestamp" "$(isoctl logs -t b1 2>&1 | head -1)" \
        '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{9}Z hello$'
like "the file is in the CRI log format: a line completed later is one F record" "$(logs_of b1)" \
        "Z stdout F partial$"
like "... a last line without its newline a P record" "$(logs_of b1)" "Z stdout P no newline$"
is "--since 1h: all of it" "$(isoctl logs --since 1h b1 2>&1)" "$(isoctl logs b1 2>&1)"
future=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
is "--since a time to come: nothing" "$(isoctl logs --since "$future" b1 2>&1)" ""
sleep 1.1
isoctl launch -d --name b2 -- sh -c 'echo early; sleep 1.5; echo late' >/dev/null
sleep 0.7
mark=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
wait_until 10 ended b2
is "--since a time between two lines: the second" "$(isoctl logs --since "$mark" b2 2>&1)" late
is "a foreground launch has no log (its output went to the client)" "$(isoctl launch --name fg1 --keep -- echo fg 2>&1)" fg
out=$(isoctl logs fg1 2>&1)
like "... and logs says so" "$out" "has no output log: its stdout and stderr went to the client.*BadState"
isoctl rm fg1 b2 >/dev/null
isoctl launch -d --name long -- sh -c 'head -c 60000 /dev/zero | tr "\\0" a; sleep 0.2; head -c 40000 /dev/zero | tr "\\0" b; echo; echo after' >/dev/null
wait_until 10 ended long
is "a 100000-byte line comes back whole" "$(isoctl logs long 2>&1 | head -1 | tr -d '\n' | wc -c)" 100000
like "... though stored as P records and an F" "$(logs_of long | cut -c32-39 | sort | uniq -c | xargs)" '[0-9]+ stdout F [0-9]+ stdout P'
is "... and the next line is its own" "$(isoctl logs long 2>&1 | tail -1)" after
isoctl rm long >/dev/null

# ---------------------------------------------------------------- follow
diag "$(date +%T) follow"
isoctl launch -d --name f1 -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "tick $i"; sleep 0.2; done' >/dev/null
# How long after the monitor read a line the follower prints it (the record's timestamp is when
# the monitor read it from the pipe, microseconds after the write).
lat=$(python3 - "$ISOCTL" <<'EOF'
import subprocess, sys, time, datetime
p = subprocess.Popen([sys.argv[1], "logs", "-f", "-t", "f1"], stdout=subprocess.PIPE)
worst, n = 0.0, 0
for line in p.stdout:
    now = time.time()
    ts = line.split(b" ", 1)[0].decode()
    t = datetime.datetime.strptime(ts[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
    if n > 0:  # the first lines may predate the follower
        worst = max(worst, now - t)
    n += 1
p.wait()
print(n, int(worst * 1000), p.returncode)
EOF
)
set -- $lat
is "logs -f saw all 10 lines and ended with the workload" "$1 $3" "10 0"
ok_if "... each within 50 ms of its being written (worst: ${2:-?} ms)" "[ ${2:-999} -le 50 ]"
isoctl launch -d --name f2 -- sleep 600 >/dev/null
wait_until 10 state_is f2 running
"$ISOCTL" logs -f f2 >/dev/null 2>&1 &
fpid=$!
sleep 0.3
kill $fpid 2>/dev/null
wait $fpid 2>/dev/null
sleep 0.3
is "a follower whose client went away ends" "$(pgrep -f 'read-logs.*workloads/f2' | wc -l)" 0
isoctl rm -f f1 f2 >/dev/null

# ---------------------------------------------------------------- 100 MB, interleaved
diag "$(date +%T) 100 MB of interleaved stdout and stderr"
# 400000 lines on each stream, 125 bytes each: 100 MB. Numbers must come back consecutive per stream.
isoctl launch -d --name big -- awk 'BEGIN {
        pad = sprintf("%100s", ""); gsub(/ /, "x", pad)
        for (i = 1; i <= 400000; i++) { printf "o %08d %s\n", i, pad; printf "e %08d %s\n", i, pad > "/dev/stderr" } }' >/dev/null
wait_until 120 ended big
is "the writer exited 0" "$(isoctl show --json big | sed -n 's/.*"ExitStatus": \([0-9-]*\).*/\1/p')" 0
seqcheck() { # STREAM LETTER: "count first last gaps"
        isoctl logs --stream "$1" big 2>&1 | awk -v L="$2" '
                $1 != L { bad++; next } { n++; v = $2 + 0; if (n == 1) first = v; else if (v != prev + 1) gaps++; prev = v }
                END { printf "%d %d %d %d\n", n, first, prev, gaps + bad }'
}
is "stdout: 400000 lines, 1..400000, none lost or reordered" "$(seqcheck stdout o)" "400000 1 400000 0"
is "stderr: 400000 lines, 1..400000, none lost or reordered" "$(seqcheck stderr e)" "400000 1 400000 0"
switches=$(logs_of big | awk '{ print $2 }' | uniq | wc -l)
ok_if "the log holds both streams, interleaved as they came ($switches runs)" "[ $switches -gt 10 ]"

# ---------------------------------------------------------------- kill -9 of isod, exit, restart
diag "$(date +%T) kill -9 of isod"
isoctl launch -d --name k1 -- sh -c 'i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo "n $i"; sleep 0.1; done' >/dev/null
sleep 0.5
stop_isod -KILL
sleep 1
check "isod restarts (now with 64K log files)" start_isod --log-max-size=64K
wait_until 10 ended k1
is "the lines written while isod was down are in the log" "$(isoctl logs k1 2>&1 | wc -l)" 30
is "... in order" "$(isoctl logs k1 2>&1 | tr -d 'n ' | tr '\n' ,)" "$(seq -s, 1 30),"
is "the 100 MB log is still there after the restart" "$(isoctl logs --tail 1 --stream stdout big 2>&1 | cut -c1-10)" "o 00400000"
out=$(isoctl rm big 2>&1) || diag "rm big: $out"
# (isod answers Remove before it deletes the directory: a 100 MB file takes a moment.)
wait_until 5 sh -c "[ ! -e '$T/state/workloads/big' ]"
check "... and gone with its workload" sh -c "[ ! -e '$T/state/workloads/big' ]"

# ---------------------------------------------------------------- rotation
diag "$(date +%T) rotation"
isoctl launch -d --name r1 -- awk 'BEGIN { for (i = 1; i <= 100000; i++) printf "r %08d\n", i }' >/dev/null
wait_until 60 ended r1
size=$(du -cb "$T/state/workloads/r1"/output.log* | tail -1 | cut -f1)
ok_if "1.1 MB written into 64K files: at most 2 x 64K + a write kept ($size bytes)" "[ $size -le $((2 * 65536 + 600 * 1024)) ]"
out=$(isoctl logs r1 2>&1 | awk '{ v = $2 + 0; if (NR > 1 && v != prev + 1) gaps++; prev = v } END { print prev, gaps + 0, (NR > 0) }')
is "what is kept ends with the last line and has no gap" "$out" "100000 0 1"
is "--tail 3 across the rotation" "$(isoctl logs --tail 3 r1 2>&1 | xargs)" "r 00099998 r 00099999 r 00100000"

# ---------------------------------------------------------------- VMs
diag "$(date +%T) a VM"
isoctl launch -d $VM --name v1 -- sh -c 'echo vm-out; echo vm-err >&2; i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo "v $i"; done' >/dev/null
wait_until 60 ended v1
# (Each stream keeps its order; between the two pipes there is none to keep: stderr's line may
# come after some of stdout's.)
is "a VM's stdout in its log, first line first" "$(isoctl logs --stream stdout v1 2>&1 | head -1)" vm-out
like "... and its stderr line, among them" "$(isoctl logs v1 2>&1)" "^vm-err$"
is "--stream stderr of a VM" "$(isoctl logs --stream stderr v1 2>&1)" vm-err
is "all 2000 numbered lines, in order" "$(isoctl logs --stream stdout v1 2>&1 | awk 'NR > 1 { v = $2 + 0; if (v != prev + 1) g++; prev = v } END { print prev, g + 0 }')" "2000 0"
isoctl launch $VM --name panicker --keep -- /bin/sh -c 'echo c > /proc/sysrq-trigger; sleep 100' >/dev/null 2>&1
like "logs --console: the guest kernel's panic" "$(isoctl logs --console panicker 2>&1)" 'Kernel panic|sysrq: Trigger a crash'
isoctl rm panicker v1 >/dev/null

# ---------------------------------------------------------------- events
diag "$(date +%T) events"
"$ISOCTL" events >"$T/events.txt" 2>"$T/events.err" &
epid=$!
"$ISOCTL" events --json --filter workload=e2 --filter event=stopping --filter event=removed \
        >"$T/events.json" 2>"$T/events-json.err" &
jpid=$!
wait_until 5 grep -q following "$T/events.err"
wait_until 5 grep -q following "$T/events-json.err"
isoctl launch --name e1 -- true >/dev/null
isoctl launch -d --name e2 -- sleep 600 >/dev/null
isoctl stop -t 1 e2 >/dev/null
isoctl rm e2 >/dev/null
isoctl launch -d --name e3 --memory 32M -- /bin/sh -c 'x=$(head -c 104857600 /dev/zero | tr "\0" a)' >/dev/null
isoctl wait e3 >/dev/null
isoctl rm e3 >/dev/null
isoctl launch -d --isolation=vm --name e4 -- true >/dev/null
isoctl wait e4 >/dev/null
isoctl rm e4 >/dev/null
sleep 0.5
kill $epid $jpid 2>/dev/null
wait $epid $jpid 2>/dev/null
ev_of() { awk -v n="$1" '$2 == n { printf "%s ", $3 }' "$T/events.txt" | sed 's/ $//'; }
is "events: a foreground launch, in order" "$(ev_of e1)" "created starting running exited removed"
is "events: a stop and an rm" "$(ev_of e2)" "created starting running stopping exited removed"
is "events: an OOM" "$(ev_of e3)" "created starting running oom failed removed"
is "events: a VM" "$(ev_of e4)" "created starting running exited removed"
like "... with the exit status and reason" "$(grep ' e3 failed' "$T/events.txt")" 'exit_status=137.*reason=oom|reason=oom.*exit_status=137'
like "... and the isolation" "$(grep ' e4 running' "$T/events.txt")" 'isolation=vm'
is "--json --filter: only e2's stopping and removed, as JSON" \
        "$(python3 -c 'import json, sys; print(" ".join(json.loads(l)["workload"] + ":" + json.loads(l)["event"] for l in sys.stdin))' <"$T/events.json")" \
        "e2:stopping e2:removed"
bad_filter=$("$ISOCTL" events --filter colour=red 2>&1)
like "events --filter garbage: a usage error" "$bad_filter" "--filter wants workload=NAME or event=EVENT"
# A follower that stops reading (SIGSTOP): isod does not wait for it (its signals go through the
# bus daemon, which queues them for that connection); once it reads again, nothing is missing.
"$ISOCTL" events --filter event=exited >"$T/stopped.txt" 2>"$T/stopped.err" &
spid=$!
wait_until 5 grep -q following "$T/stopped.err"
kill -STOP $spid
t0=$(date +%s%N)
for i in $(seq 1 40); do isoctl launch --name s$i -- true >/dev/null; done
ms=$((($(date +%s%N) - t0) / 1000000))
ok_if "40 launches while a follower reads nothing: isod does not wait for it (${ms} ms)" "[ $ms -lt 20000 ]"
kill -CONT $spid
wait_until 5 sh -c "[ \$(grep -c ' s[0-9]* exited' '$T/stopped.txt') -ge 40 ]"
is "... and once it reads again, it gets all 40 exits, in order" \
        "$(awk '{ printf "%s ", $2 }' "$T/stopped.txt" | sed 's/ $//')" "$(seq -f 's%g' -s ' ' 1 40)"
kill $spid 2>/dev/null
check "... and still answers" isod_alive

# ---------------------------------------------------------------- top
diag "$(date +%T) top"
if command -v tmux >/dev/null; then
        isoctl launch -d --name busy -- sh -c 'while :; do :; done' >/dev/null
        isoctl launch -d --name idle -- sleep 600 >/dev/null
        isoctl launch -d --isolation=vm --name vmbusy -- sh -c 'while :; do :; done' >/dev/null
        TM="tmux -L isodt-$$"
        $TM new-session -d -x 120 -y 20 -s top "DBUS_SYSTEM_BUS_ADDRESS='$DBUS_SYSTEM_BUS_ADDRESS' '$ISOCTL' top -d 0.5"
        pane() { $TM capture-pane -p -t top; }
        cpu_of() { pane | awk -v n="$1" '$1 == n { print $4 }'; }
        wait_until 15 sh -c "$TM capture-pane -p -t top | grep -q '^vmbusy .* running *[0-9]'"
        sleep 1.2
        screen=$(pane)
        like "top in a tmux pane: a header and the workloads" "$screen" 'NAME +ISOLATION +STATE +CPU% +MEM +PIDS +NET-RX +NET-TX'
        b=$(cpu_of busy) i=$(cpu_of idle) v=$(cpu_of vmbusy)
        ok_if "... the busy container's CPU is up (${b:-?}%)" "awk 'BEGIN { exit !(\"${b:-0}\" + 0 > 40) }'"
        ok_if "... the idle one's is not (${i:-?}%)" "awk 'BEGIN { exit !(\"${i:-100}\" + 0 < 10) }'"
        ok_if "... and a busy VM's is up too (${v:-?}%)" "awk 'BEGIN { exit !(\"${v:-0}\" + 0 > 40) }'"
        like "... with its memory and pids" "$(pane | grep '^idle ')" 'idle +container +running +[0-9.]+ +[0-9.]+[KMG] +1 '
        [ -n "$b" ] || diag "$screen"
        $TM kill-server 2>/dev/null
        isoctl rm -f busy idle vmbusy >/dev/null
else
        not_ok "top in a tmux pane: tmux is missing (tools/deps lists it)"
fi
is "top -b -n 2 prints two rounds" "$(isoctl top -b -n 2 -d 0.1 | grep -c '^NAME')" 2
bad_top=$("$ISOCTL" top -d 0 2>&1)
like "top -d 0: a usage error" "$bad_top" "--delay wants 0.1 to 3600 seconds"

# ---------------------------------------------------------------- attach
diag "$(date +%T) attach"
isoctl launch -d -i --name ash -- sh >/dev/null
isoctl launch -d -i --isolation=vm --name vsh -- sh >/dev/null
wait_until 60 state_is vsh running
# session NAME INPUT EXPECT: attach, send INPUT, wait for EXPECT on stdout, detach with ^P^Q.
cat >"$T/session.py" <<'EOF'
import os, select, subprocess, sys, time
isoctl, name, inp, expect = sys.argv[1:5]
p = subprocess.Popen([isoctl, "attach", name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(0.3)
p.stdin.write(inp.encode().decode("unicode_escape").encode()); p.stdin.flush()
got, t0 = b"", time.time()
while expect.encode() not in got and time.time() - t0 < 20:
    if select.select([p.stdout], [], [], 0.5)[0]:
        got += os.read(p.stdout.fileno(), 4096)
p.stdin.write(b"\x10\x11"); p.stdin.flush()
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill(); rc = "hung"
print("%s %s" % ("saw" if expect.encode() in got else "missed", rc))
EOF
sess() { python3 "$T/session.py" "$ISOCTL" "$@" 2>&1; }
for n in ash vsh; do
        is "$n: attach, a command, its output, ^P^Q" "$(sess $n 'echo one-$((6*7))\n' one-42)" "saw 0"
        is "$n: ... the workload runs on" "$(state_of $n)" running
        is "$n: attach again, the shell kept its state" "$(sess $n 'x=kept; echo $x-two\n' kept-two)" "saw 0"
        is "$n: ... and again" "$(sess $n 'echo $x-three\n' kept-three)" "saw 0"
        like "$n: what was typed while attached is in its log" "$(isoctl logs $n 2>&1 | xargs)" 'one-42 kept-two kept-three'
done
# A detached terminal workload (-d -t): the monitor's pty; attach twice to each isolation.
isoctl launch -d -t --name tsh -- sh >/dev/null
isoctl launch -d -t --isolation=vm --name vtsh -- sh >/dev/null
isoctl launch -d --name ni2 -- sleep 600 >/dev/null
wait_until 60 state_is vtsh running
for n in tsh vtsh; do
        is "$n (-d -t): attach, a command, its output through the terminal, ^P^Q" "$(sess $n 'y=tt; echo t-$((6*7))\n' t-42)" "saw 0"
        is "$n (-d -t): attach again, the same shell" "$(sess $n 'echo $y-again\n' tt-again)" "saw 0"
        is "$n (-d -t): the terminal is 24x80 without a size from the client" "$(sess $n 'stty size\n' '24 80')" "saw 0"
        like "$n (-d -t): the terminal's output is in the log (echo included)" "$(isoctl logs $n 2>&1 | tr -d '\r' | xargs)" 'echo t-\$\(\(6\*7\)\) t-42 .*tt-again'
        is "$n (-d -t): still running" "$(state_of $n)" running
done
# On a terminal of its own, attach passes its size, and its window's changes (SIGWINCH).
cat >"$T/winch.py" <<'EOF'
import fcntl, os, pty, select, struct, sys, termios, time
isoctl, name = sys.argv[1:3]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    os.execv(isoctl, [isoctl, "attach", name])
def until(want, secs=20):
    got, t0 = b"", time.time()
    while want not in got and time.time() - t0 < secs:
        if select.select([fd], [], [], 0.5)[0]:
            try: got += os.read(fd, 4096)
            except OSError: break
    return want in got
time.sleep(0.5)
os.write(fd, b"stty size\n"); a = until(b"30 100")
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
time.sleep(0.5)
os.write(fd, b"stty size\n"); b = until(b"40 120")
os.write(fd, b"\x10\x11")
_, st = os.waitpid(pid, 0)
print("%s %s %d" % ("size" if a else "nosize", "resized" if b else "notresized", os.waitstatus_to_exitcode(st)))
EOF
for n in tsh vtsh; do
        is "$n (-d -t): attach from a 30x100 terminal, then a resize to 40x120" "$(python3 "$T/winch.py" "$ISOCTL" $n 2>&1)" "size resized 0"
done
bad "ResizeTerminal of a workload without a terminal of its own" "no terminal of its own" \
        bctl call org.isod1 /org/isod1/workload/ni2 org.isod1.Workload ResizeTerminal qq 10 10
isoctl rm -f tsh vtsh ni2 >/dev/null
bad "create -t is refused (nothing could attach to it)" "not create" isoctl create -t -- sh
python3 -c 'import subprocess, sys, time; p = subprocess.Popen([sys.argv[1], "attach", "ash"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL); time.sleep(3); p.stdin.write(b"\x10\x11"); p.stdin.flush(); p.wait()' "$ISOCTL" &
apid=$!
sleep 1
bad "a second client while one is attached" "attached already" isoctl attach ash
wait $apid
isoctl launch -d --name ni -- sleep 600 >/dev/null
bad "attach to a workload launched without -i" "not launched detached with -i" isoctl attach ni
isoctl rm -f ni >/dev/null
bad "attach to another user's workload" "AccessDenied" setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ISOCTL" attach ash
like "stdin's end detaches too: 'exit' ends the shell, and attach returns" "$(echo exit | isoctl attach ash 2>&1; echo rc=$?)" "rc=0$"
wait_until 10 ended ash
bad "attach to a workload that has exited" "exited, not running" isoctl attach ash
bad "isoctl attach without a name" "Usage" isoctl attach
isoctl rm -f ash vsh >/dev/null

# ---------------------------------------------------------------- bad input
diag "$(date +%T) bad input"
bad "--since garbage" "--since wants a duration.*'garbage'" isoctl logs --since garbage r1
bad "--since 10x" "--since wants" isoctl logs --since 10x r1
bad "--tail -1" "--tail wants a number" isoctl logs --tail -1 r1
bad "--stream both" "--stream wants stdout or stderr" isoctl logs --stream both r1
bad "an unknown option" "unrecognized|Usage" isoctl logs --frobnicate r1
bad "a workload that does not exist" "nosuch" isoctl logs nosuch
bad "--console of a container" "only VMs have a console log" isoctl logs --console r1
bad "GetLogs with an unknown option key" "Unknown option 'colour'" \
        bctl call org.isod1 /org/isod1/workload/r1 org.isod1.Workload GetLogs 'a{sv}' 1 colour b true
bad "GetLogs with a wrong type" "wrong type" \
        bctl call org.isod1 /org/isod1/workload/r1 org.isod1.Workload GetLogs 'a{sv}' 1 tail s ten
bad "GetLogs with tail too large" "at most" \
        bctl call org.isod1 /org/isod1/workload/r1 org.isod1.Workload GetLogs 'a{sv}' 1 tail t 99999999999
bad "another user's workload" "AccessDenied" setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ISOCTL" logs r1
isoctl create --name c1 -- echo never >/dev/null
bad "a workload not started yet" "not been started" isoctl logs c1
check "isod is still running after the bad input" isod_alive
isoctl rm c1 r1 k1 b1 >/dev/null

stop_isod
done_testing
