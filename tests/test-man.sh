#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages (man/*.scd, made into roff by make) describe every command and option that
# `isoctl --help`, each command's `--help` and `isod --help` list, and every option the programs'
# getopt tables accept; they name no option the programs do not have; and the generated roff
# renders without warnings. No isod is needed: isoctl is pointed at a bus that does not exist.
. "$(dirname "$0")/lib.sh"

MAN_SRC=$top_srcdir/man
MAN_OUT=$top_builddir/man
ISOD=$top_builddir/isod
[ -x "$ISOCTL" ] && [ -x "$ISOD" ] || skip_all "isoctl and isod are not built"
ISOCTL_MAN=$MAN_SRC/isoctl.1.scd
ISOD_MAN=$MAN_SRC/isod.8.scd
# Whatever a command does with --help, it reaches no isod.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-bus" ISOD_SOCKET="$T/no-socket"

skip() {
        TAP_N=$((TAP_N + 1))
        echo "ok $TAP_N # SKIP $*"
}

# opts_of TEXT: the options named in TEXT (-x, --long-name), one per line.
opts_of() {
        printf '%s\n' "$1" | grep -oE -- '(^|[^A-Za-z0-9-])--?[A-Za-z][A-Za-z0-9-]*' |
                sed -E 's/^[^-]*//' | sort -u
}

# in_text TEXT OPTION: OPTION appears in TEXT as a word of its own.
in_text() {
        printf '%s\n' "$1" | grep -Eq -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)"
}

# man_block PAGE VERB: the entries of PAGE whose term starts with *VERB* or *VERB SUB*.
man_block() {
        awk -v v="$2" '
                /^#/ { on = 0 }
                /^\*/ { on = (index($0, "*" v "*") == 1 || index($0, "*" v " ") == 1) }
                on' "$1"
}

# man_section PAGE NAME: the lines of section "# NAME".
man_section() {
        awk -v s="# $2" '/^# / { on = ($0 == s) } on' "$1"
}

# all_documented DESCRIPTION TEXT OPTIONS...: one test; lists what TEXT lacks.
all_documented() {
        local desc=$1 text=$2 o missing=""
        shift 2
        for o in "$@"; do
                in_text "$text" "$o" || missing="$missing $o"
        done
        if [ -z "$missing" ]; then ok "$desc"; else
                not_ok "$desc"
                diag "not in the man page:$missing"
        fi
}

check "the man page sources are there" [ -f "$ISOCTL_MAN" -a -f "$ISOD_MAN" ]

# ---------------------------------------------------------------- isoctl --help
help=$("$ISOCTL" --help)
is "isoctl --help exits 0" "$?" 0
# The command lines: the first paragraph of "  VERB ...  description" lines (continuation lines
# are indented further).
cmds=$(printf '%s\n' "$help" | awk '/^  [a-z]/ && !done { on = 1 } on && /^$/ { on = 0; done = 1 } on && /^  [a-z]/')
[ -n "$cmds" ] || not_ok "isoctl --help lists commands"
verbs=""
while IFS= read -r line; do
        syn=${line#  }
        syn=${syn%%  *} # the synopsis ends at the first double space
        words=$(printf '%s\n' "$syn" | sed -E 's/\[[^]]*\]//g' | tr ' |' '\n\n' | grep -E '^[a-z]+$')
        verb=$(printf '%s\n' "$words" | head -1)
        case " $verbs " in *" $verb "*) ;; *) verbs="$verbs $verb" ;; esac
        if grep -qE "^\*$verb(\*| )" "$ISOCTL_MAN"; then ok "isoctl.1 describes '$verb'"; else
                not_ok "isoctl.1 describes '$verb'"
        fi
        case $verb in
        policy | network | image)
                for sub in $(printf '%s\n' "$words" | tail -n +2); do
                        check "isoctl.1 describes '$verb $sub'" grep -qF "*$verb $sub*" "$ISOCTL_MAN"
                done
                ;;
        esac
        # shellcheck disable=SC2046 # one option per word
        all_documented "isoctl.1 has the options of '$syn'" "$(man_block "$ISOCTL_MAN" "$verb")" \
                $(opts_of "$syn")
done <<<"$cmds"

launch_help=$(printf '%s\n' "$help" | sed -n '/^Launch options:/,/^$/p')
[ -n "$launch_help" ] || not_ok "isoctl --help has a paragraph of launch options"
# shellcheck disable=SC2046
all_documented "isoctl.1 LAUNCH OPTIONS has every launch option of isoctl --help" \
        "$(man_section "$ISOCTL_MAN" "LAUNCH OPTIONS")" $(opts_of "$launch_help")
env_vars=$(printf '%s\n' "$help" | sed -n '/^Environment:/,/^$/p' | grep -oE '[A-Z][A-Z0-9]*(_[A-Z0-9]+)+' | sort -u)
# shellcheck disable=SC2086
all_documented "isoctl.1 ENVIRONMENT has every variable of isoctl --help" \
        "$(man_section "$ISOCTL_MAN" ENVIRONMENT)" $env_vars
# shellcheck disable=SC2046
all_documented "isoctl.1 has the global options" "$(man_section "$ISOCTL_MAN" "GLOBAL OPTIONS")" \
        --json --help -h --version

# ---------------------------------------------------------------- each command's --help
# Today most commands have no --help of their own (they reject it, or fail to reach isod); what
# any of them does print as usage is checked against that command's entries.
helped=""
for verb in $verbs; do
        subs=""
        case $verb in
        policy) subs="show check explain reload" ;;
        network) subs="create list show rm" ;;
        image) subs="import build list show rm" ;;
        esac
        for sub in "" $subs; do
                # shellcheck disable=SC2086
                out=$(timeout 10 "$ISOCTL" $verb $sub --help 2>&1 </dev/null)
                # Drop error lines (getopt's "VERB: unrecognized option", isoctl's own).
                text=$(printf '%s\n' "$out" | grep -vE '^[a-z-]+: |^Is dbus running' || true)
                [ -n "$text" ] || continue
                helped="$helped '$verb${sub:+ $sub}'"
                # shellcheck disable=SC2046
                all_documented "isoctl.1 has the options of 'isoctl $verb${sub:+ $sub} --help'" \
                        "$(man_block "$ISOCTL_MAN" "$verb")" $(opts_of "$text" | grep -vxE -- '--help|-h')
        done
done
diag "commands with a usage text of their own:${helped:- none}"

# ---------------------------------------------------------------- the getopt tables
# Options that isoctl accepts but its --help does not show (--io-weight, --time, --follow, ...).
longopts_of() {
        grep -ohE '\{ *"[a-z][a-z0-9-]*", *(no|required|optional)_argument' "$@" 2>/dev/null |
                sed -E 's/^\{ *"([^"]*)".*/--\1/' | sort -u
}
client_opts=$(longopts_of "$top_srcdir"/client/*.c)
if [ -n "$client_opts" ]; then
        # shellcheck disable=SC2086
        all_documented "isoctl.1 has every long option of client/*.c" "$(cat "$ISOCTL_MAN")" $client_opts
else
        skip "no client sources in $top_srcdir"
fi

# The other way round: every option isoctl.1 describes exists.
known="$(opts_of "$help") $client_opts --help -h --version"
man_opts=$(grep -E $'^\t*\\*-' "$ISOCTL_MAN" | grep -oE '\*--?[A-Za-z][A-Za-z0-9-]*\*' | tr -d '*' | sort -u)
stale=""
for o in $man_opts; do
        in_text "$known" "$o" || stale="$stale $o"
done
if [ -z "$stale" ]; then ok "isoctl.1 describes no option isoctl lacks"; else
        not_ok "isoctl.1 describes no option isoctl lacks"
        diag "not in isoctl --help nor in client/*.c:$stale"
fi

# The image subcommands isoctl dispatches, aliases included ({ "ls", image_list }, ...).
image_subs=$(grep -oE '\{ "[a-z]+", image_[a-z]+ \}' "$top_srcdir/client/isoctl-image.c" 2>/dev/null |
        sed -E 's/^\{ "([a-z]+)".*/\1/' | sort -u)
if [ -n "$image_subs" ]; then
        missing=""
        for sub in $image_subs; do
                grep -qF "*image $sub*" "$ISOCTL_MAN" || missing="$missing $sub"
        done
        if [ -z "$missing" ]; then ok "isoctl.1 describes every image subcommand of client/isoctl-image.c"; else
                not_ok "isoctl.1 describes every image subcommand of client/isoctl-image.c"
                diag "not in the man page:$missing"
        fi
else
        skip "no client/isoctl-image.c in $top_srcdir"
fi

# ---------------------------------------------------------------- isod-workload.json(5)
# Every key the spec parser accepts (the keys[] tables of common/spec.c) is named in the page.
WL_MAN=$MAN_SRC/isod-workload.json.5.scd
spec_keys=$(sed -n '/keys\[\] = {/,/NULL }/p' "$top_srcdir/common/spec.c" 2>/dev/null | grep -oE '"[a-z_]+"' |
        tr -d '"' | sort -u)
if [ -n "$spec_keys" ] && [ -f "$WL_MAN" ]; then
        missing=""
        for k in $spec_keys; do
                grep -qE "(\*|\")$k(\*|\")" "$WL_MAN" || missing="$missing $k"
        done
        if [ -z "$missing" ]; then ok "isod-workload.json.5 names every key of common/spec.c"; else
                not_ok "isod-workload.json.5 names every key of common/spec.c"
                diag "not in the man page:$missing"
        fi
else
        skip "no common/spec.c or isod-workload.json.5.scd in $top_srcdir"
fi

# ---------------------------------------------------------------- isod --help
isod_help=$("$ISOD" --help)
is "isod --help exits 0" "$?" 0
isod_man_opts=$(man_section "$ISOD_MAN" OPTIONS)
# shellcheck disable=SC2046
all_documented "isod.8 OPTIONS has every option of isod --help" "$isod_man_opts" $(opts_of "$isod_help") -h
daemon_opts=$(longopts_of "$top_srcdir"/daemon/main.c)
# shellcheck disable=SC2086
[ -z "$daemon_opts" ] || all_documented "isod.8 OPTIONS has every long option of daemon/main.c" \
        "$isod_man_opts" $daemon_opts
stale=""
for o in $(printf '%s\n' "$isod_man_opts" | grep -E '^\*-' | grep -oE '\*--?[A-Za-z][A-Za-z0-9-]*' | tr -d '*'); do
        in_text "$(opts_of "$isod_help") $daemon_opts -h" "$o" || stale="$stale $o"
done
if [ -z "$stale" ]; then ok "isod.8 describes no option isod lacks"; else
        not_ok "isod.8 describes no option isod lacks"
        diag "not in isod --help nor in daemon/main.c:$stale"
fi

# ---------------------------------------------------------------- the generated roff
for scd in "$MAN_SRC"/*.scd; do
        page=$(basename "$scd" .scd)
        roff=$MAN_OUT/$page
        if [ ! -s "$roff" ]; then
                not_ok "$page was generated (is it in Makefile.am's man*_MANS?)"
                continue
        fi
        ok "$page was generated"
        left=$(grep -o '@[a-zA-Z_]*@' "$roff" | sort -u | tr '\n' ' ')
        is "$page: every @VARIABLE@ was substituted" "$left" ""
        if command -v groff >/dev/null; then
                warnings=$(groff -man -t -Tutf8 -ww -z "$roff" 2>&1)
                is "$page renders with groff -ww without warnings" "$warnings" ""
        else
                skip "no groff (groff-base) to render $page"
        fi
done

done_testing
