#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# verify-oci.sh IMAGE: checks an OCI layout directory, an OCI archive or a docker-archive (old or
# Docker >= 25 layout) the way shared/notes/images.md §4.4 does: every descriptor's digest has the
# form sha256:<64 hex>, its blob exists with that size and sha256; nested indexes are followed;
# each layer, decompressed, hashes to its rootfs.diff_ids entry and the counts agree; in a
# docker-archive, each Config hashes to its name and each Layers entry to its diff_id, and no
# symlink leaves the archive. Every JSON document must parse, have no duplicate keys and be at
# most VERIFY_OCI_MAX_JSON bytes (4 MiB). Prints "ok ..." per image; "FAIL: ..." and exit 1.
# Reads only archives it trusts (it extracts them with GNU tar): it is for test data, not for
# hostile tarballs.
set -euo pipefail
export LC_ALL=C
[ $# = 1 ] || { echo "usage: $0 LAYOUT-DIR|ARCHIVE" >&2; exit 2; }
IMG=$1
MAX_JSON=${VERIFY_OCI_MAX_JSON:-4194304}
fail() { echo "FAIL: $IMG: $*" >&2; exit 1; }
JSON=() # every JSON document read; checked in one go at the end

sha256() { local h; read -r h _ < <(sha256sum "$1"); echo "$h"; }

json() {
        local n
        [ -f "$1" ] || fail "missing ${1#"$R"/}"
        n=$(stat -c %s "$1")
        [ "$n" -le "$MAX_JSON" ] || fail "${1#"$R"/} is $n bytes, over $MAX_JSON"
        JSON+=("$1")
}

# json_check: each document parses and has no duplicate keys (jq keeps the last one silently).
json_check() {
        [ ${#JSON[@]} = 0 ] && return 0
        python3 - "$IMG" "$R" "${JSON[@]}" <<'PY' || exit 1
import json, sys
img, root, files = sys.argv[1], sys.argv[2], sys.argv[3:]
def pairs(p):
    keys = [k for k, _ in p]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError("duplicate key %r" % dup[0])
    return dict(p)
for f in files:
    try:
        json.load(open(f, "rb"), object_pairs_hook=pairs)
    except ValueError as e:
        sys.exit("FAIL: %s: %s: %s" % (img, f[len(root) + 1:], e))
PY
}

# ---------------------------------------------------------------- OCI layout
blob() {
        [[ $1 =~ ^sha256:[0-9a-f]{64}$ ]] || fail "bad digest '$1'"
        echo "$R/blobs/sha256/${1#sha256:}"
}
check() {
        local f
        f=$(blob "$1")
        [[ $2 =~ ^[0-9]+$ ]] || fail "bad size '$2' for $1"
        [ -f "$f" ] || fail "missing blob $1"
        [ "$(stat -c %s "$f")" = "$2" ] || fail "size $(stat -c %s "$f") of $1, not $2"
        [ "sha256:$(sha256 "$f")" = "$1" ] || fail "digest of blob $1 is sha256:$(sha256 "$f")"
}

check_manifest() {
        local m=$1 d=$2 cd cs cmt mt i=0 ld ls lmt diffs c
        json "$m"
        [ "$(jq -r .schemaVersion "$m")" = 2 ] || fail "$d: schemaVersion"
        mt=$(jq -r '.mediaType // "application/vnd.oci.image.manifest.v1+json"' "$m")
        [ "$mt" = application/vnd.oci.image.manifest.v1+json ] || fail "$d: mediaType $mt"
        read -r cd cs cmt < <(jq -r '.config | "\(.digest) \(.size) \(.mediaType)"' "$m")
        [ "$cmt" = application/vnd.oci.image.config.v1+json ] || fail "$d: config mediaType $cmt"
        check "$cd" "$cs"
        json "$(blob "$cd")"
        mapfile -t diffs < <(jq -r '.rootfs.diff_ids[]' "$(blob "$cd")")
        while read -r ld ls lmt; do
                check "$ld" "$ls"
                case $lmt in
                application/vnd.oci.image.layer.v1.tar+gzip | application/vnd.oci.image.layer.nondistributable.v1.tar+gzip | \
                        application/vnd.docker.image.rootfs.diff.tar.gzip) c=(gzip -dc) ;;
                application/vnd.oci.image.layer.v1.tar+zstd | application/vnd.oci.image.layer.nondistributable.v1.tar+zstd) c=(zstd -dcq) ;;
                application/vnd.oci.image.layer.v1.tar | application/vnd.oci.image.layer.nondistributable.v1.tar) c=(cat) ;;
                *) fail "$d: layer $i has mediaType $lmt" ;;
                esac
                [ $i -lt ${#diffs[@]} ] || fail "$d: more layers than diff_ids"
                [ "sha256:$("${c[@]}" <"$(blob "$ld")" | sha256sum | cut -d' ' -f1)" = "${diffs[$i]}" ] ||
                        fail "diff_id $i of $d: layer $ld does not decompress to ${diffs[$i]}"
                i=$((i + 1))
        done < <(jq -r '.layers[] | "\(.digest) \(.size) \(.mediaType)"' "$m")
        [ "$i" = "${#diffs[@]}" ] || fail "$d: $i layers but ${#diffs[@]} diff_ids"
        [ "$i" -gt 0 ] || fail "$d: no layers"
        echo "ok $IMG: $d: config + $i layers"
}

walk_index() {
        local f=$1 depth=$2 ents e mt d s n=0
        [ "$depth" -lt 8 ] || fail "indexes nested deeper than 8"
        json "$f"
        [ "$(jq -r .schemaVersion "$f")" = 2 ] || fail "${f#"$R"/}: schemaVersion"
        mapfile -t ents < <(jq -r '.manifests // [] | .[] | "\(.mediaType) \(.digest) \(.size)"' "$f")
        [ ${#ents[@]} -gt 0 ] || fail "${f#"$R"/}: no manifests"
        for e in "${ents[@]}"; do
                read -r mt d s <<<"$e"
                check "$d" "$s"
                case $mt in
                application/vnd.oci.image.index.v1+json) walk_index "$(blob "$d")" $((depth + 1)) ;;
                application/vnd.oci.image.manifest.v1+json) check_manifest "$(blob "$d")" "$d" ;;
                *) fail "${f#"$R"/}: descriptor mediaType $mt" ;;
                esac
                n=$((n + 1))
        done
}

check_layout() {
        json "$R/oci-layout"
        [ "$(jq -r .imageLayoutVersion "$R/oci-layout")" = 1.0.0 ] || fail "oci-layout"
        walk_index "$R/index.json" 0
}

# ---------------------------------------------------------------- docker-archive
# inside PATH: PATH (relative to the archive root, symlinks followed) stays inside it.
inside() {
        local p
        case /$1/ in */../* | //*) fail "path '$1' leaves the archive" ;; esac
        p=$(realpath -e "$R/$1" 2>/dev/null) || fail "missing $1"
        case $p in "$RR"/*) echo "$p" ;; *) fail "$1 resolves outside the archive" ;; esac
}

check_docker() {
        local n i j cfg f name diffs layers l
        json "$R/manifest.json"
        n=$(jq 'length' "$R/manifest.json")
        [ "$n" -gt 0 ] || fail "manifest.json is empty"
        for ((i = 0; i < n; i++)); do
                cfg=$(jq -r ".[$i].Config" "$R/manifest.json")
                f=$(inside "$cfg")
                name=$(basename "$cfg" .json)
                [ "$(sha256 "$f")" = "$name" ] || fail "digest of Config $cfg is sha256:$(sha256 "$f")"
                json "$f"
                mapfile -t diffs < <(jq -r '.rootfs.diff_ids[]' "$f")
                mapfile -t layers < <(jq -r ".[$i].Layers[]" "$R/manifest.json")
                [ ${#layers[@]} = ${#diffs[@]} ] || fail "manifest.json[$i]: ${#layers[@]} Layers but ${#diffs[@]} diff_ids"
                [ ${#layers[@]} -gt 0 ] || fail "manifest.json[$i]: no layers"
                for j in "${!layers[@]}"; do
                        l=$(inside "${layers[$j]}")
                        [ "sha256:$(sha256 "$l")" = "${diffs[$j]}" ] ||
                                fail "diff_id $j: Layers[$j] ${layers[$j]} is not ${diffs[$j]}"
                done
                echo "ok $IMG: manifest.json[$i] $(jq -r ".[$i].RepoTags | join(\",\")" "$R/manifest.json"): config + ${#layers[@]} layers"
        done
        while IFS= read -r -d '' l; do
                inside "${l#"$R"/}" >/dev/null
        done < <(find "$R" -type l -print0)
}

# ---------------------------------------------------------------- main
if [ -d "$IMG" ]; then
        R=$(cd "$IMG" && pwd)
elif [ -f "$IMG" ]; then
        [ "$(dd if="$IMG" bs=1 skip=257 count=5 status=none)" = ustar ] || fail "not a tar archive"
        T=$(mktemp -d)
        trap 'rm -rf "$T"' EXIT
        tar -xf "$IMG" -C "$T" --no-same-owner --no-same-permissions || fail "cannot extract"
        R=$T
else
        fail "no such file or directory"
fi
RR=$(realpath "$R")
found=
if [ -e "$R/oci-layout" ] || [ -e "$R/index.json" ]; then check_layout; found=1; fi
if [ -e "$R/manifest.json" ]; then check_docker; found=1; fi
[ -n "$found" ] || fail "neither an OCI layout (oci-layout, index.json) nor a docker-archive (manifest.json)"
json_check
