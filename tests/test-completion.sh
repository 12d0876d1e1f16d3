#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion of isoctl (completion/isoctl.bash), driven the way readline drives it: the
# line split into COMP_WORDS, with COMP_CWORD, COMP_LINE and COMP_POINT set, and the function
# called. Commands, every option `isoctl --help` lists for each command, fixed values, and the
# names of workloads, networks and images asked from a real isod (root only; that part is skipped
# in distcheck, the rest runs there).
. "$(dirname "$0")/lib.sh"

COMPLETION=$top_srcdir/completion/isoctl.bash
[ -f "$COMPLETION" ] || skip_all "no $COMPLETION"
BASH_COMPLETION=
for f in /usr/share/bash-completion/bash_completion /etc/bash_completion; do
        [ -f "$f" ] && BASH_COMPLETION=$f && break
done
[ -n "$BASH_COMPLETION" ] || skip_all "bash-completion is not installed"

skip() {
        TAP_N=$((TAP_N + 1))
        echo "ok $TAP_N # SKIP $*"
}

check "the completion is valid bash" bash -n "$COMPLETION"
# bash-completion and the completion are written for interactive shells, not for set -u.
set +u
# shellcheck disable=SC1090
. "$BASH_COMPLETION"
# shellcheck disable=SC1090
. "$COMPLETION"
like "it registers _isoctl for isoctl" "$(complete -p isoctl 2>&1)" '^complete -F _isoctl isoctl$'

# compopt works only while readline completes; record what it is asked instead.
compopt() { COMPOPT="$*"; }

# comp LINE: completes the end of LINE, split into words as readline does (at blanks, and "=" and
# ":" as words of their own, COMP_WORDBREAKS' default). Sets REPLY to the sorted candidates, one
# line, and ERR to what the completion printed on stderr.
comp() {
        # The isoctl asked for names is the one under test.
        local line=$ISOCTL${1#isoctl} w="" ch i
        COMP_WORDS=()
        for ((i = 0; i < ${#line}; i++)); do
                ch=${line:i:1}
                case $ch in
                " ")
                        [ -n "$w" ] && COMP_WORDS+=("$w")
                        w=""
                        ;;
                [=:])
                        [ -n "$w" ] && COMP_WORDS+=("$w")
                        COMP_WORDS+=("$ch")
                        w=""
                        ;;
                *) w+=$ch ;;
                esac
        done
        COMP_WORDS+=("$w")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line
        COMP_POINT=${#line}
        COMPREPLY=()
        COMPOPT=
        _isoctl "$ISOCTL" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>"$T/comp.err"
        REPLY=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ')
        REPLY=${REPLY% }
        ERR=$(cat "$T/comp.err")
}

# offers DESCRIPTION LINE EXPECTED: the candidates for LINE are exactly EXPECTED (sorted).
offers() {
        comp "$2"
        is "$1" "$REPLY" "$3"
}

# offers_all DESCRIPTION LINE WORD...: every WORD is among the candidates for LINE.
offers_all() {
        local desc=$1 l=$2 w missing=""
        comp "$l"
        shift 2
        for w in "$@"; do
                case " $REPLY " in *" $w "*) ;; *) missing="$missing $w" ;; esac
        done
        if [ -z "$missing" ]; then ok "$desc"; else
                not_ok "$desc"
                diag "'$l' offers: $REPLY" "missing:$missing"
        fi
}

# opts_of TEXT: the options named in TEXT (-x, --long-name).
opts_of() {
        printf '%s\n' "$1" | grep -oE -- '(^|[^A-Za-z0-9-])--?[A-Za-z][A-Za-z0-9-]*' |
                sed -E 's/^[^-]*//' | sort -u
}

# No isod for now: every bus and socket points into $T.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-bus" ISOD_SOCKET="$T/no-socket"

# ---------------------------------------------------------------- commands
help=$("$ISOCTL" --help)
cmds=$(printf '%s\n' "$help" | awk '/^  [a-z]/ && !done { on = 1 } on && /^$/ { on = 0; done = 1 } on && /^  [a-z]/')
help_verbs=$(printf '%s\n' "$cmds" | awk '{ print $1 }' | sort -u)
# shellcheck disable=SC2086
offers_all "every command of isoctl --help is offered" "isoctl " $help_verbs
offers "commands from a prefix: isoctl la" "isoctl la" "launch"
offers "commands from a prefix: isoctl s" "isoctl s" "show start stats status stop"
offers "commands after a global option: isoctl --json l" "isoctl --json l" "launch list logs ls"
offers "global options: isoctl --" "isoctl --" "--help --json --version"
offers "policy's subcommands" "isoctl policy " "check explain reload show"
offers "network's subcommands from a prefix" "isoctl network c" "create"
offers "image's subcommands" "isoctl image " "build import inspect list ls remove rm show"
offers "image's subcommands from a prefix" "isoctl --json image i" "import inspect"

# ---------------------------------------------------------------- options
# Each command line of isoctl --help: its options are offered after "VERB [SUB] -".
while IFS= read -r line; do
        syn=${line#  }
        syn=${syn%%  *}
        read -ra w <<<"$syn"
        verb=${w[0]}
        prefix="isoctl $verb"
        case $verb in policy | network | image) prefix="$prefix ${w[1]%%|*}" ;; esac
        opts=$(opts_of "$syn")
        [ -n "$opts" ] || continue
        # shellcheck disable=SC2086
        offers_all "'$syn': its options are offered" "$prefix -" $opts
done <<<"$cmds"

launch_help=$(printf '%s\n' "$help" | sed -n '/^Launch options:/,/^$/p')
# shellcheck disable=SC2046
offers_all "launch -: every launch option of isoctl --help" "isoctl launch -" $(opts_of "$launch_help")
# shellcheck disable=SC2046
offers_all "policy explain -: the launch options too" "isoctl policy explain -" $(opts_of "$launch_help")
# The man page's LAUNCH OPTIONS (checked against isoctl's getopt table by test-man.sh), long ones.
man_launch=$(awk '/^# / { on = ($0 == "# LAUNCH OPTIONS") } on && /^\*-/' "$top_srcdir/man/isoctl.1.scd" |
        grep -oE -- '\*--[a-z][a-z0-9-]*\*' | tr -d '*' | sort -u | tr '\n' ' ')
offers "launch --: exactly the long options of isoctl.1's LAUNCH OPTIONS, and --json" "isoctl launch --" \
        "$(printf '%s\n' $man_launch --json | sort | tr '\n' ' ' | sed 's/ $//')"
offers "logs --: its long options" "isoctl logs --" "--console --follow --json --since --stream --tail --timestamps"
offers "logs -: its short options" "isoctl logs -f -" "$(printf '%s\n' -f -n -t --console --follow --json --since \
        --stream --tail --timestamps | sort | tr '\n' ' ' | sed 's/ $//')"
offers "stop's -t takes a time, exec's -t is a flag" "isoctl stop -t " ""
offers "network create's options" "isoctl network create lan --" "--isolated --json --mtu --no-nat --subnet"
offers "image import's options" "isoctl image import --" "--json --max-bytes --max-entries --name --ref"
offers "image build's options" "isoctl image build deb --" "--debian --include --json --mirror --variant"
offers "image show's options" "isoctl image show --" "--json"

# ---------------------------------------------------------------- values
offers "logs --stream: the streams" "isoctl logs --stream " "stderr stdout"
offers "launch --isolation=: the isolations" "isoctl launch --isolation=" "auto container vm"
offers "launch --isolation v" "isoctl launch -d --isolation v" "vm"
offers "kill -s te: signal names" "isoctl kill -s te" "TERM"
offers "events --filter w: the key, without a space after it" "isoctl events --filter w" "workload="
is "... and with nospace" "$COMPOPT" "-o nospace"
offers "events --filter event=r: the events" "isoctl events --filter event=r" "removed running"
offers "nothing after launch's --: the command is the workload's" "isoctl launch -d -- -" ""
offers "nothing after launch's command" "isoctl launch -d sh -" ""
offers "option values are skipped: launch -e A=B --mount /a:/b --k" "isoctl launch -e A=B --mount /a:/b --k" "--keep"
offers "launch --entrypoint takes a value (the program: nothing to offer)" "isoctl launch --entrypoint " ""
offers "... and is skipped: launch --entrypoint /bin/sh --us" "isoctl launch --entrypoint /bin/sh --us" "--user --userns"
offers "image build --variant: mmdebstrap's variants" "isoctl image build deb --debian bookworm --variant " \
        "buildd important minbase required standard"
offers "image build --debian b: suites" "isoctl image build deb --debian b" "bookworm bullseye"
mkdir -p "$T/files/oci"
: >"$T/files/app.tar"
offers "image import: files and directories" "isoctl image import --name x $T/files/" "$T/files/app.tar $T/files/oci"

# ---------------------------------------------------------------- names, without isod
start=$(date +%s)
offers "no isod: no workload names" "isoctl logs comp" ""
is "no isod: nothing printed" "$ERR" ""
check "no isod: it does not hang" [ $(($(date +%s) - start)) -lt 5 ]
offers "no isod: --network still offers the modes" "isoctl launch --network " "host nat none"
offers "no isod: --image offers the built-in image" "isoctl launch --image " "busybox"
offers "no isod: image rm offers nothing (busybox cannot be removed)" "isoctl image rm " ""

# ---------------------------------------------------------------- names, from a real isod
daemon_skip=""
if [ -n "${ISOD_UNIT_TESTS_ONLY:-}" ]; then
        daemon_skip="ISOD_UNIT_TESTS_ONLY is set (distcheck)"
elif [ "$(id -u)" != 0 ]; then
        daemon_skip="needs root"
elif ! unshare --net true 2>/dev/null; then
        daemon_skip="network namespaces unavailable"
elif ! ensure_image; then
        daemon_skip="cannot build the busybox image"
fi
if [ -n "$daemon_skip" ]; then
        skip "names from isod: $daemon_skip"
        done_testing
fi

unset ISOD_SOCKET
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus.sock"
start_bus || not_ok "the test bus starts"
# isod in a network namespace of its own (so its networks' bridges are not the host's), like
# lib.sh's start_isod otherwise.
NETNS=
netns_sweep() { # every process left in isod's network namespace (its name servers), by inode
        local p
        [ -n "$NETNS" ] || return 0
        for p in /proc/[0-9]*; do
                [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$NETNS" ] && kill -KILL "${p#/proc/}" 2>/dev/null
        done
        return 0
}
trap 'stop_isod -KILL; netns_sweep; cleanup' EXIT
mkdir -p "$T/state" "$T/cache"
unshare --net -- "$top_builddir/isod" --state-dir="$T/state" --image-dir="$IMAGE_DIR" --vm-dir="$VM_DIR" \
        --cache-dir="$T/cache" --monitor="$top_builddir/isod-monitor" --policy="$T/policy.json" \
        --network-dir="$T/networks" --dns-upstream= --store-dir="$T/store" \
        --image-importer="$top_builddir/isod-image-import" --debug >>"$T/isod.log" 2>&1 &
ISOD_PID=$!
if wait_until 5 bctl status org.isod1 >/dev/null 2>&1; then ok "isod starts"; else
        not_ok "isod starts"
        diag "$(tail -20 "$T/isod.log")"
fi
NETNS=$(readlink "/proc/$ISOD_PID/ns/net")

is "a detached container workload runs" "$(isoctl launch -d --name compl-web -- sleep 1000)" compl-web
is "a created workload" "$(isoctl create --name compl-new -- true)" compl-new
is "a network" "$(isoctl network create complnet 2>&1)" complnet

offers "logs comp: the workloads, from isod" "isoctl logs comp" "compl-new compl-web"
is "... and nothing printed" "$ERR" ""
offers "logs compl-w" "isoctl logs -f --since 10m compl-w" "compl-web"
offers "stop: running workloads only" "isoctl stop -t 5s comp" "compl-web"
offers "start: created workloads only" "isoctl start comp" "compl-new"
offers "exec: the workload, then nothing (the command is the workload's)" "isoctl exec -t compl-web " ""
offers "rm: several names" "isoctl rm -f compl-web comp" "compl-new compl-web"
offers "events --filter workload=: the workloads" "isoctl events --filter workload=compl-w" "compl-web"
offers "network show: the networks" "isoctl network show comp" "complnet"
offers "launch --network: modes and networks" "isoctl launch --network " "complnet host nat none"
offers "--json in front does not matter" "isoctl --json show compl-n" "compl-new"

TI=$top_builddir/test-assets/test-images
if [ -d "$TI/oci" ] && [ -x "$top_builddir/isod-image-import" ]; then
        like "an image is imported" "$(isoctl image import "$TI/oci" --name compl/app:1.0 2>&1)" \
                '^sha256:[0-9a-f]{64} compl/app:1\.0$'
        offers "launch --image: the built-in image and the store's, from isod" "isoctl launch --image " \
                "busybox compl/app:1.0"
        offers "launch --image=c: by prefix" "isoctl launch -d --image=c" "compl/app:1.0"
        offers "launch --image compl/app:: after the ':', the tag only (readline keeps the rest)" \
                "isoctl launch --image compl/app:" "1.0"
        offers "policy explain --image too" "isoctl policy explain --image comp" "compl/app:1.0"
        offers "image show: the store's images, not the built-in one" "isoctl image show " "compl/app:1.0"
        offers "image show: one image, then nothing" "isoctl image show compl/app:1.0 " ""
        offers "image rm: several" "isoctl image rm compl/app:1.0 c" "compl/app:1.0"
        isoctl image rm compl/app:1.0 >/dev/null 2>&1
        offers "a removed image is no longer offered" "isoctl launch --image " "busybox"
else
        skip "image names from isod: no $TI/oci or isod-image-import (make the test images first)"
fi

# (not rm -f for the created one: its Wait would wait for an end that never comes)
isoctl rm -f compl-web >/dev/null 2>&1
isoctl rm compl-new >/dev/null 2>&1
isoctl network rm complnet >/dev/null 2>&1
offers "removed workloads are no longer offered" "isoctl logs comp" ""
stop_isod -KILL
netns_sweep
done_testing
