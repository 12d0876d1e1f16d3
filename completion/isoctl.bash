# bash completion for isoctl(1)                                      -*- shell-script -*-
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installed as "isoctl" in bash-completion's completionsdir, which loads it on demand. It
# completes commands, each command's options and their fixed values, and the names of workloads,
# networks and images, which it asks isod for through isoctl itself (`list --json`,
# `network list --json`, `image list --json`): when isod cannot be reached, no names are offered
# but the built-in image's, and nothing is printed. tests/test-completion.sh checks the option
# lists against `isoctl --help`.
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)): the candidates are words

# _isoctl_query ARGS...: what `isoctl ARGS...` prints, or nothing (no isod, no access, 3 s).
_isoctl_query()
{
        local cmd=${_isoctl_cmd:-isoctl}
        command -v "$cmd" >/dev/null 2>&1 || cmd=isoctl
        timeout 3 "$cmd" "$@" </dev/null 2>/dev/null
}

# _isoctl_workloads [STATE...]: names of the workloads (in one of these states, if given).
_isoctl_workloads()
{
        _isoctl_query list --json | awk -v want=" $* " '
                /"name": "/ { n = $0; sub(/.*"name": "/, "", n); sub(/".*/, "", n) }
                /"state": "/ { s = $0; sub(/.*"state": "/, "", s); sub(/".*/, "", s) }
                /}/ {
                        if (n != "" && (want == "  " || index(want, " " s " ") > 0))
                                print n
                        n = ""
                        s = ""
                }'
}

# _isoctl_networks: names of isod's networks.
_isoctl_networks()
{
        _isoctl_query network list --json | sed -n 's/^ *"Name": "\([^"]*\)".*/\1/p'
}

# _isoctl_stored_images: the names of the images in isod's store (every quoted string in the
# "Names" arrays; isoctl prints each on a line of its own, [] on one line). A name has no quote
# or backslash in it (NAME[:TAG]), so the JSON needs no unescaping; jq is not needed.
_isoctl_stored_images()
{
        _isoctl_query image list --json | awk '
                /"Names": *\[/ { on = 1; sub(/.*"Names": *\[/, "") }
                on {
                        line = $0
                        end = index(line, "]")
                        if (end) {
                                line = substr(line, 1, end - 1)
                                on = 0
                        }
                        while (match(line, /"[^"]*"/)) {
                                print substr(line, RSTART + 1, RLENGTH - 2)
                                line = substr(line, RSTART + RLENGTH)
                        }
                }'
}

# _isoctl_images: what --image takes by name: the built-in image and the stored ones.
_isoctl_images()
{
        echo busybox
        _isoctl_stored_images
}

# _isoctl_ltrim_colon: image names have a ":" in them, which readline takes as a word break
# (COMP_WORDBREAKS): it replaces only what follows the last ":" of the word, so the candidates
# must not repeat what comes before it (as bash-completion's __ltrim_colon_completions does).
_isoctl_ltrim_colon()
{
        [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]] || return 0
        local pre=${cur%"${cur##*:}"} i
        for i in "${!COMPREPLY[@]}"; do
                COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
        done
}

# _isoctl_filter: the value of `events --filter`, KEY=VALUE.
_isoctl_filter()
{
        # With "=" in COMP_WORDBREAKS (the default) readline completes only the part after it.
        local pre="" events="created starting running stopping exited failed oom removed"

        [[ $COMP_WORDBREAKS == *=* ]] || pre=${cur%%=*}=
        case $cur in
        workload=*) COMPREPLY=($(compgen -P "$pre" -W "$(_isoctl_workloads)" -- "${cur#*=}")) ;;
        event=*) COMPREPLY=($(compgen -P "$pre" -W "$events" -- "${cur#*=}")) ;;
        *)
                COMPREPLY=($(compgen -W 'workload= event=' -- "$cur"))
                compopt -o nospace
                ;;
        esac
}

# _isoctl_value COMMAND OPTION: the value of an option.
_isoctl_value()
{
        local signals="TERM KILL HUP INT QUIT USR1 USR2 STOP CONT WINCH"
        local suites="bullseye bookworm trixie forky sid oldstable stable testing unstable"
        local variants="minbase required buildd important standard"

        case $1:$2 in
        *:--isolation) COMPREPLY=($(compgen -W 'auto vm container' -- "$cur")) ;;
        *:--image)
                COMPREPLY=($(compgen -W "$(_isoctl_images)" -- "$cur"))
                _isoctl_ltrim_colon
                ;;
        *:--rootfs) _filedir -d ;;
        *:--spec) _filedir ;;
        *:--mount) [[ $cur == *:* ]] || _filedir ;; # the source; the target is the workload's
        *:--seccomp)
                COMPREPLY=($(compgen -W 'default unconfined' -- "$cur"))
                [[ $cur == */* || $cur == .* ]] && _filedir
                ;;
        *:--pod) COMPREPLY=($(compgen -W "$(_isoctl_workloads running)" -- "$cur")) ;;
        *:--network) COMPREPLY=($(compgen -W "none nat host $(_isoctl_networks)" -- "$cur")) ;;
        kill:-s | kill:--signal) COMPREPLY=($(compgen -W "$signals" -- "${cur^^}")) ;;
        logs:--stream) COMPREPLY=($(compgen -W 'stdout stderr' -- "$cur")) ;;
        events:--filter) _isoctl_filter ;;
        "network create:--subnet") COMPREPLY=($(compgen -W auto -- "$cur")) ;;
        "image build:--debian") COMPREPLY=($(compgen -W "$suites" -- "$cur")) ;;
        "image build:--variant") COMPREPLY=($(compgen -W "$variants" -- "$cur")) ;;
        esac
        # Anything else (a name, a size, a number, a time) is the user's to write.
        return 0
}

_isoctl()
{
        local cur prev words cword split
        # --opt=value is split into prev and cur; SRC:DST and ADDR:PORT:PORT stay one word.
        _init_completion -s -n : || return

        local _isoctl_cmd=${words[0]}
        local verbs="launch run create start list ls show stop kill wait exec stats logs events top
                attach rm remove status policy network image"
        # launch's options: those that take a value, then the flags.
        local launch_arg="--spec --isolation --name --image --entrypoint --rootfs -e --env -w --cwd
                -u --user --hostname --memory --cpus --pids --io-weight --cpu-weight --mount --tmpfs --pod --label --seccomp
                --network -p --publish --ip --mac"
        local launch_flag="-d --detach --keep --userns --read-only -t --tty -i --interactive"
        local i verb="" vi=0 sub=""

        # The command: the first word that is not a global option (--json, --help, --version).
        for ((i = 1; i < cword; i++)); do
                if [[ ${words[i]} != -* ]]; then
                        verb=${words[i]} vi=$i
                        break
                fi
        done
        if [[ -z $verb ]]; then
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W '--help --version --json' -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
                fi
                return
        fi

        # policy, network and image have subcommands.
        if [[ $verb == policy || $verb == network || $verb == image ]]; then
                for ((i = vi + 1; i < cword; i++)); do
                        if [[ ${words[i]} != -* ]]; then
                                sub=${words[i]} vi=$i
                                break
                        fi
                done
                if [[ -z $sub && $cur != -* ]]; then
                        case $verb in
                        policy) COMPREPLY=($(compgen -W 'show check explain reload' -- "$cur")) ;;
                        network) COMPREPLY=($(compgen -W 'create list ls show rm remove' -- "$cur")) ;;
                        image)
                                COMPREPLY=($(compgen -W 'import build list ls show inspect rm remove' \
                                        -- "$cur"))
                                ;;
                        esac
                fi
                [[ -z $sub ]] && return
                verb="$verb $sub"
        fi

        # What the command takes: options with a value, flags, and what its arguments are
        # ("workload [STATE...]": one workload's name, "workloads": several, "exec STATE": a
        # workload's name and then the command, "command": the workload's command).
        local argopts="" flags="--json" args=""
        case $verb in
        launch | run | create | "policy explain")
                argopts=$launch_arg flags="$flags $launch_flag" args=command
                ;;
        start) args="workload created" ;;
        stop) argopts="-t --time" args="workload starting running stopping" ;;
        kill) argopts="-s --signal" args="workload starting running stopping" ;;
        exec) argopts="-e --env -u --user -w --cwd" flags="$flags -t --tty" args="exec running" ;;
        attach) args="workload running" ;;
        show | wait | stats) args=workload ;;
        logs)
                argopts="-n --tail --since --stream"
                flags="$flags -f --follow -t --timestamps --console" args=workload
                ;;
        rm | remove) flags="$flags -f --force" args=workloads ;;
        events) argopts="--filter" ;;
        top) argopts="-d --delay -n --iterations" flags="$flags -b --batch" ;;
        list | ls | status | "policy show" | "policy reload" | "network list" | "network ls") ;;
        "policy check") args="file" ;;
        "network create") argopts="--subnet --mtu" flags="$flags --isolated --no-nat" ;;
        "network show") args=network ;;
        "network rm" | "network remove") args=networks ;;
        "image import") argopts="--name --ref --max-bytes --max-entries" args="file" ;;
        "image build") argopts="--debian --include --variant --mirror" ;; # NAME: a new name
        "image list" | "image ls") ;;
        "image show" | "image inspect") args=image ;;
        "image rm" | "image remove") args=images ;;
        *) return ;;
        esac
        argopts=" ${argopts//$'\n'/ } "

        if [[ $argopts == *" $prev "* ]]; then
                _isoctl_value "$verb" "$prev"
                return
        fi
        # --opt=value for an option that takes none: nothing to offer.
        [[ ${split-} == true ]] && return

        # How many arguments come before the word being completed; nothing after "--".
        local n=0
        for ((i = vi + 1; i < cword; i++)); do
                if [[ ${words[i]} == -- ]]; then
                        return
                elif [[ ${words[i]} == -?* ]]; then
                        [[ ${words[i]} != *=* && $argopts == *" ${words[i]} "* ]] && ((i++))
                else
                        ((n++))
                fi
        done
        # Options end at launch's command and at exec's workload: the rest is the workload's.
        [[ ($args == command || $args == exec\ *) && $n -gt 0 ]] && return

        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$argopts $flags" -- "$cur"))
                return
        fi
        case $args in
        file) ((n == 0)) && _filedir ;;
        workloads) COMPREPLY=($(compgen -W "$(_isoctl_workloads)" -- "$cur")) ;;
        workload | workload\ * | exec\ *)
                local states=""
                [[ $args == *\ * ]] && states=${args#* }
                # shellcheck disable=SC2086 # the states are words
                ((n == 0)) && COMPREPLY=($(compgen -W "$(_isoctl_workloads $states)" -- "$cur"))
                ;;
        network) ((n == 0)) && COMPREPLY=($(compgen -W "$(_isoctl_networks)" -- "$cur")) ;;
        networks) COMPREPLY=($(compgen -W "$(_isoctl_networks)" -- "$cur")) ;;
        image) # show: one stored image (the built-in one has no object)
                ((n == 0)) && COMPREPLY=($(compgen -W "$(_isoctl_stored_images)" -- "$cur"))
                _isoctl_ltrim_colon
                ;;
        images)
                COMPREPLY=($(compgen -W "$(_isoctl_stored_images)" -- "$cur"))
                _isoctl_ltrim_colon
                ;;
        esac
        # "command" and the rest: the workload's command or a new name, nothing to offer.
        return 0
} &&
        complete -F _isoctl isoctl

# ex: filetype=sh
