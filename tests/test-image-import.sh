#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The confined importer (isod-image-import) on its own, before isod drives it: every archive
# format of tests/mk-test-images.sh is accepted and unpacked in overlay's format (whiteouts, opaque
# directories, owners, modes, capabilities), layers are shared between images by ChainID, and
# every hostile archive is refused with a message naming the problem, or neutralised, with nothing
# written outside the store and nothing left in its staging area.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile-refusals.sh"

IMPORT=$top_builddir/isod-image-import
[ -x "$IMPORT" ] || skip_all "isod-image-import is not built"
require_root
command -v skopeo >/dev/null && command -v jq >/dev/null || skip_all "skopeo and jq are needed (tools/deps)"

TI=$top_builddir/test-assets/test-images
if [ ! -s "$TI/MANIFEST.txt" ] || [ "$top_srcdir/tests/mk-test-images.sh" -nt "$TI/MANIFEST.txt" ]; then
        bash "$top_srcdir/tests/mk-test-images.sh" "$TI" >"$T/mk.log" 2>&1 || {
                not_ok "making the test images (tests/mk-test-images.sh)"
                diag "$(tail -20 "$T/mk.log")"
                done_testing
        }
fi
ST=$T/store
mkdir -p "$ST"
J=0

# imp SOURCE [options]: runs the importer; its last line (the result or the error) in $OUT.
imp() {
        local src=$1
        shift
        J=$((J + 1))
        OUT=$("$IMPORT" --store="$ST" --job="j$J" "$@" <"$src" 3>&1 2>"$T/imp.err" | tail -1)
}
result() { printf '%s' "$OUT" | jq -r "$1" 2>/dev/null; }
layer_dir() { echo "$ST/layers/${1#sha256:}/diff"; }

# ---------------------------------------------------------------- formats
imp "$TI/oci"
is "an OCI layout is imported" "$(result '.result.format')" oci-layout
ID=$(result '.result.id')
like "its id is the config's digest" "$ID" '^sha256:[0-9a-f]{64}$'
is "two layers" "$(result '.result.layers | length')" 2
L0=$(layer_dir "$(result '.result.layers[0].chain_id')")
L1=$(layer_dir "$(result '.result.layers[1].chain_id')")
is "layer 1 holds etc/motd" "$(cat "$L0/etc/motd")" hello
is "the whiteout of etc/remove-me is a 0/0 character device in layer 2" \
        "$(stat -c '%F %t:%T' "$L1/etc/remove-me" 2>&1)" "character special file 0:0"
is "opt/app is opaque in layer 2 (trusted.overlay.opaque)" \
        "$(getfattr --absolute-names --only-values -n trusted.overlay.opaque "$L1/opt/app" 2>/dev/null)" y
is "... and user.overlay.opaque for user-namespace mounts" \
        "$(getfattr --absolute-names --only-values -n user.overlay.opaque "$L1/opt/app" 2>/dev/null)" y
is "the config's Entrypoint is in the result" "$(result '.result.config.config.Entrypoint[0]')" /app/hello.sh
is "the layout's ref.name is the image's name" "$(result '.result.names[0]')" test
is "the short link l/<26 hex> names the layer" "$(readlink "$ST/l/$(basename "$(dirname "$L0")" | cut -c1-26)")" \
        "../layers/$(basename "$(dirname "$L0")")/diff"
# the merged view through overlayfs, as a container gets it
mkdir -p "$T/merged"
if unshare -m sh -c "mount -t overlay o -o ro,lowerdir=$L1:$L0 $T/merged && ls $T/merged/opt/app && test ! -e $T/merged/etc/remove-me && cat $T/merged/etc/motd" >"$T/view" 2>&1; then
        is "overlay of the two layers: opt/app holds only new1, etc/remove-me is gone" "$(tr '\n' ' ' <"$T/view")" "new1 hello "
else
        not_ok "overlay of the two layers mounts"
        diag "$(cat "$T/view")"
fi
n_layers=$(ls "$ST/layers" | wc -l)

for f in oci.tar docker.tar docker25.tar oci-multi; do
        imp "$TI/$f"
        is "$f: same image id as the layout" "$(result '.result.id')" "$ID"
done
is "the same layers were not stored twice" "$(ls "$ST/layers" | wc -l)" "$n_layers"
imp "$TI/docker.tar"
is "docker-archive: its RepoTags are the names" "$(result '.result.names | join(",")')" "$(tar -xOf "$TI/docker.tar" manifest.json | jq -r '.[0].RepoTags | join(",")')"
imp "$TI/oci-multi"
is "a multi-platform index picks linux/amd64" "$(result '.result.config.architecture')" amd64

ROOTFS_ID=
for f in rootfs.tar rootfs.tar.gz rootfs.tar.zst rootfs.tar.xz rootfs.tar.bz2; do
        imp "$TI/$f"
        is "$f: a rootfs tarball (detected by content)" "$(result '.result.format')" rootfs-tarball
        [ -z "$ROOTFS_ID" ] && ROOTFS_ID=$(result '.result.id')
        is "$f: the same layer whatever the compression" "$(result '.result.id')" "$ROOTFS_ID"
done
RL=$(layer_dir "$(result '.result.layers[0].chain_id')")
check "the rootfs tarball's busybox is there" test -x "$RL/bin/busybox"
is "... owned by root, tmp sticky" "$(stat -c '%u:%g %a' "$RL/tmp")" "0:0 1777"

imp "$TI/shared"
SH0=$(result '.result.layers[0].chain_id')
is "an image sharing the base: its base layer is the one stored" "$(result '.result.layers[0].new')" false
check "... under the same ChainID" test -d "$(layer_dir "$SH0")"
imp "$TI/five"
is "a five-layer image" "$(result '.result.layers | length')" 5

is "nothing left in staging after the imports" "$(ls -A "$ST/staging")" ""

# ---------------------------------------------------------------- hostile input
before=$(cd "$ST" && find layers l -maxdepth 1 | sort | md5sum)
sentinel=$(stat -c %Y /etc/passwd)
refuse() { # refuse NAME PATTERN [options]
        local name=$1 pat=$2
        shift 2
        imp "$TI/hostile/$name" "$@"
        local err
        err=$(result '.error')
        if [ -n "$err" ] && [ "$err" != null ] && printf '%s' "$err" | grep -Eq -- "$pat"; then
                ok "$name refused: $err"
        else
                not_ok "$name refused (error matching '$pat')"
                diag "got: $OUT"
        fi
}
refuse_every_hostile
is "after the refusals: the store's layers are unchanged" "$(cd "$ST" && find layers l -maxdepth 1 | sort | md5sum)" "$before"
is "... and staging is empty" "$(ls -A "$ST/staging")" ""
is "/etc/passwd untouched" "$(stat -c %Y /etc/passwd)" "$sentinel"
check "no /etc/evil was written" test ! -e /etc/evil
# A layer whose blob does not match its digest: refused in a store that does not have it yet (with
# the layer already stored under its ChainID, the blob is not read at all).
ST_MAIN=$ST
ST=$T/store2
mkdir -p "$ST"
refuse bad-digest.oci "content does not match its digest"
ST=$ST_MAIN

# neutralised
imp "$TI/hostile/absolute.tar"
AL=$(layer_dir "$(result '.result.layers[0].chain_id')")
check "absolute names are stored inside the layer" test -e "$AL/etc/evil"
like "... and reported" "$(result '.result.warnings | join(";")')" "absolute names stored inside"
for d in device-char device-block; do
        imp "$TI/hostile/$d.tar"
        DL=$(layer_dir "$(result '.result.layers[0].chain_id')")
        is "$d: the device node is dropped" "$(find "$DL" -type c -o -type b | wc -l)" 0
        like "$d: ... and reported" "$(result '.result.warnings | join(";")')" "device nodes dropped"
done
imp "$TI/hostile/setuid.tar"
SL=$(layer_dir "$(result '.result.layers[0].chain_id')")
like "setuid bits are kept (distributions need su and passwd)" "$(find "$SL" -type f -perm -4000 | wc -l)" '^[1-9]'
imp "$TI/hostile/fcaps.tar"
FL=$(layer_dir "$(result '.result.layers[0].chain_id')")
like "file capabilities are kept" "$(getcap -r "$FL" 2>/dev/null || getfattr -R -d -m security.capability "$FL" 2>/dev/null)" 'cap|security.capability'
imp "$TI/hostile/trusted-xattr.tar"
XL=$(layer_dir "$(result '.result.layers[0].chain_id')")
is "trusted.* xattrs are dropped" "$(getfattr -R -d -m 'trusted\.' --absolute-names "$XL" 2>/dev/null | grep -c trusted)" 0
like "... and reported" "$(result '.result.warnings | join(";")')" "extended attributes dropped"

# killed mid-import: nothing committed, the staging directory is what a restart cleans
J=$((J + 1))
before=$(ls "$ST/layers" | wc -l)
{ cat "$TI/rootfs.tar"; sleep 30; } | "$IMPORT" --store="$ST" --job="kill$J" 3>/dev/null 2>/dev/null &
kpid=$!
wait_until 10 test -d "$ST/staging/kill$J" || true
sleep 0.5
kill -KILL "$kpid" 2>/dev/null
wait "$kpid" 2>/dev/null
is "an importer killed mid-import committed no layer" "$(ls "$ST/layers" | wc -l)" "$before"
check "its staging directory is all it left" test -d "$ST/staging/kill$J"
pkill -f "sleep 30" 2>/dev/null || true

done_testing
