#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The image store through the real path: isoctl → D-Bus → isod → isod-image-import → the store,
# then launches from it in both isolations, asserting on what the workload saw: the image's
# Entrypoint/Cmd/Env/WorkingDir/User applied (and overridden), the whiteout gone and the opaque
# directory holding only the upper layer's files, the same files in a VM and a container, labels
# matched by the policy, hostile archives refused with the store unchanged and isod up, an
# importer or isod killed mid-import leaving nothing visible, removal refused while in use and
# freeing the layers once the last user is gone, and a Debian image built with mmdebstrap
# running python3 in a container and in a VM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile-refusals.sh"

require_root
require_vm_assets
command -v skopeo >/dev/null && command -v jq >/dev/null || skip_all "skopeo and jq are needed (tools/deps)"
ensure_image || skip_all "cannot build the busybox image"
TI=$top_builddir/test-assets/test-images
if [ ! -s "$TI/MANIFEST.txt" ] || [ "$top_srcdir/tests/mk-test-images.sh" -nt "$TI/MANIFEST.txt" ]; then
        bash "$top_srcdir/tests/mk-test-images.sh" "$TI" >"$T/mk.log" 2>&1 || {
                not_ok "making the test images (tests/mk-test-images.sh)"
                diag "$(tail -20 "$T/mk.log")"
                done_testing
        }
fi
start_bus || skip_all "cannot start dbus-daemon"
start_isod || {
        not_ok "isod starts"
        done_testing
}
ST=$T/store
store_state() { (cd "$ST" && find images layers l -maxdepth 1 | sort && cat index.json 2>/dev/null) | md5sum; }

# ---------------------------------------------------------------- import, every format
out=$(isoctl image import "$TI/oci" --name app:1.0 2>&1)
like "an OCI layout is imported under its --name" "$out" '^sha256:[0-9a-f]{64} app:1\.0$'
ID=${out%% *}
for f in oci.tar docker.tar docker25.tar; do
        out=$(isoctl image import "$TI/$f" 2>&1)
        is "$f: the same image (same ID), under the archive's own name" "${out%% *}" "$ID"
done
like "the archives' names are the image's names too" "$(isoctl image list)" 'localhost/isod/test:1 +[0-9a-f]{12}'
out=$(isoctl image import "$TI/oci-multi" --name multi 2>&1)
is "a multi-platform index: linux/amd64 is picked (the same image)" "${out%% *}" "$ID"
for f in rootfs.tar rootfs.tar.gz rootfs.tar.zst rootfs.tar.xz rootfs.tar.bz2; do
        out=$(isoctl image import "$TI/$f" --name "base-${f#rootfs.}" 2>&1)
        like "rootfs tarball $f is imported (format by content)" "$out" '^sha256:[0-9a-f]{64} base-'
        eval "BASE_${f//[.]/_}=\${out%% *}"
done
is "the compressions of one tarball are one image" "$BASE_rootfs_tar_zst" "$BASE_rootfs_tar"
out=$(isoctl image import - --name piped <"$TI/rootfs.tar.gz" 2>&1)
is "from standard input (a pipe)" "${out%% *}" "$BASE_rootfs_tar"
is "the base is stored once: three layers in all (base, app, and none else)" "$(ls "$ST/layers" | wc -l)" 2
list=$(isoctl image list)
like "image list: app:1.0, 2 layers" "$list" 'app:1\.0 +[0-9a-f]{12} +[0-9.]+[KM] +2'
js=$(isoctl image list --json)
is "image list --json: two images" "$(printf '%s' "$js" | jq length)" 2
show=$(isoctl image show --json app:1.0)
is "image show --json: the ID" "$(printf '%s' "$show" | jq -r .Id)" "$ID"
is "... the config's Entrypoint" "$(printf '%s' "$show" | jq -r '.Config.config.Entrypoint[0]')" /app/hello.sh
is "... two layers, bottom first, with ChainIDs" "$(printf '%s' "$show" | jq -r '.Layers | length')" 2
is "... the format" "$(printf '%s' "$show" | jq -r .Format)" oci-layout
like "image show (text) lists the config" "$(isoctl image show app:1.0)" 'WorkingDir: +/opt/app'
is "an ID prefix names the image" "$(isoctl image show --json "${ID:7:12}" | jq -r .Id)" "$ID"
is "the Image object's Names property" "$(bctl get-property org.isod1 "/org/isod1/image/${ID#sha256:}" org.isod1.Image Names)" \
        "as 4 \"app:1.0\" \"localhost/isod/test:1\" \"multi:latest\" \"test:latest\""

# ---------------------------------------------------------------- the config applied, both isolations
for iso in container vm; do
        out=$(isoctl launch --image app:1.0 --isolation=$iso 2>&1)
        is "$iso: Entrypoint + Cmd, Env, WorkingDir, User from the image" "$out" "hello from app world as 1000 in /opt/app with hi"
        out=$(isoctl launch --image app:1.0 --isolation=$iso -- there 2>&1)
        is "$iso: the command given replaces Cmd, the Entrypoint stays" "$out" "hello from app there as 1000 in /opt/app with hi"
        out=$(isoctl launch --image app:1.0 --isolation=$iso -e GREETING=yo -u 0 -w / 2>&1)
        is "$iso: -e, -u and -w win over the image's" "$out" "hello from app world as 0 in / with yo"
        out=$(isoctl launch --image app:1.0 --isolation=$iso --entrypoint /bin/sh -- -c \
                'ls /opt/app; test -e /etc/remove-me && echo whiteout-failed; cat /etc/motd; id -un' 2>&1)
        is "$iso: opaque /opt/app holds only the upper layer's new1; the whiteout hid etc/remove-me" \
                "$(printf '%s' "$out" | tr '\n' ' ')" "new1 hello app"
        # The same files, modes and owners in both (the image's own directories).
        eval "FILES_$iso=\$(isoctl launch --image app:1.0 --isolation=$iso -u 0 --entrypoint /bin/sh -- -c \
                'cd / && find app opt etc/motd etc/passwd bin -exec stat -c \"%n %F %a %u %g\" {} + | sort; find app opt etc/motd etc/passwd bin -type f -exec md5sum {} + | sort' 2>&1 | md5sum)"
done
is "a VM and a container launched from the image see the same files" "$FILES_vm" "$FILES_container"
# Two layers too large for the initramfs: the VM's erofs is built from their merged view.
mkdir -p "$T/big/opt" "$T/bigoci/blobs/sha256"
head -c 24M /dev/urandom >"$T/big/opt/big"
tar -C "$T/big" --owner=0 --group=0 --numeric-owner -cf "$T/big.tar" .
blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$T/bigoci/blobs/sha256/$d"; echo "$d $(stat -c %s "$1")"; }
read -r d1 s1 < <(blob "$TI/rootfs.tar")
read -r d2 s2 < <(blob "$T/big.tar")
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}' "$d1" "$d2" >"$T/big.cfg"
read -r dc sc < <(blob "$T/big.cfg")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$dc" "$sc" "$d1" "$s1" "$d2" "$s2" >"$T/big.man"
read -r dm sm < <(blob "$T/big.man")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' "$dm" "$sm" >"$T/bigoci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$T/bigoci/oci-layout"
out=$(isoctl image import "$T/bigoci" --name big 2>&1)
like "a two-layer image of 26 MiB is imported" "$out" "^sha256:.* big:latest"
out=$(isoctl launch --keep --name bigvm --image big --isolation=vm -- /bin/sh -c 'md5sum /opt/big; cat /etc/motd' 2>/dev/null)
is "a VM sees both layers of an image built into an erofs (merged in the monitor's namespace)" \
        "$(printf '%s' "$out" | tr '\n' ' ')" "$(md5sum "$T/big/opt/big" | cut -d' ' -f1)  /opt/big hello"
is "... which went as an erofs disk, not in the initramfs" \
        "$(jq -r '.facts.rootfs // .rootfs' "$T/state/workloads/bigvm/monitor.json" 2>&1)" erofs
isoctl rm bigvm >/dev/null 2>&1
check "... and nothing of the merge is left mounted on the host" sh -c "! grep -q '$T/state/workloads/bigvm' /proc/self/mountinfo"
out=$(isoctl launch --image app:1.0 --entrypoint "" 2>&1)
like "--entrypoint '' with no command: a clear error" "$out" "no Entrypoint or Cmd"
out=$(isoctl launch --image base-tar -- /bin/cat /etc/motd 2>&1)
is "a rootfs tarball's image runs the command given" "$out" hello
out=$(isoctl launch --image base-tar 2>&1)
like "... and without one: a clear error naming the image" "$out" "No command: image 'base-tar:latest' has no Entrypoint or Cmd"
out=$(isoctl launch --image app:1.0 --read-only --entrypoint /bin/sh -- -c 'cat /etc/motd; touch /x 2>&1 || echo ro' 2>&1)
like "--read-only over two layers: the merged tree, read-only" "$(printf '%s' "$out" | tr '\n' ' ')" "^hello .*ro$"
out=$(isoctl launch --image app:1.0 --userns -- x 2>&1)
like "--userns over a multi-layer image: refused by name" "$out" "not supported yet.*idmapped"
out=$(isoctl launch --image base-tar --userns -- /bin/cat /etc/motd 2>&1)
is "--userns over a one-layer image runs" "$out" hello
out=$(isoctl launch --image nosuch:1 -- /bin/true 2>&1)
like "an unknown image: NotFound naming it" "$out" "image 'nosuch:1' not found"
out=$(isoctl launch --image ../x -- /bin/true 2>&1)
like "a hostile image name: refused" "$out" "Invalid image name"
out=$(isoctl launch --rootfs "$IMAGE_DIR/busybox/rootfs" --entrypoint /bin/echo -- from rootfs 2>&1)
is "--entrypoint with --rootfs: entrypoint + args" "$out" "from rootfs"
mkdir -p "$T/unnamed/etc" && echo x >"$T/unnamed/etc/x" && tar -C "$T/unnamed" -cf "$T/unnamed.tar" .
before=$(store_state)
out=$(isoctl image import "$T/unnamed.tar" 2>&1)
like "a new archive that names no image, without --name: refused" "$out" "names no image: import it with a name"
is "... and its layer is collected (the store as it was)" "$(store_state)" "$before"
out=$(isoctl launch --image busybox:latest -- /bin/echo builtin 2>&1)
is "the built-in busybox still runs (busybox:latest is the same)" "$out" builtin

# ---------------------------------------------------------------- policy: labels, names, IDs
cat >"$T/policy.json" <<EOF
{ "version": 1,
  "rules": [
    { "name": "by-id", "match": { "image": "$BASE_rootfs_tar" }, "isolation": "deny", "reason": "That base is retired." },
    { "name": "untrusted", "match": { "labels": { "org.example.tier": "untrusted" } }, "isolation": "vm" },
    { "name": "bases", "match": { "image": "base-*" }, "isolation": "container" }
  ],
  "default": { "isolation": "requested" } }
EOF
isoctl policy reload >/dev/null
isoctl launch -d --keep --name lab --image app:1.0 --isolation=container -- sleep 1 >/dev/null 2>&1
is "the image's label org.example.tier=untrusted sends it to a VM (the policy's rule)" \
        "$(isoctl show --json lab | jq -r .Isolation)" vm
like "... and the label is the workload's" "$(isoctl show --json lab | jq -c '.Spec | if type == "string" then fromjson else . end | .labels')" '"org.example.tier":"untrusted"'
isoctl rm -f lab >/dev/null 2>&1
out=$(isoctl launch --image piped -- /bin/true 2>&1)
like "a rule matching the image's ID denies it, whatever its name" "$out" "rule 'by-id' denies.*retired"
out=$(isoctl policy explain --image app:1.0 2>&1)
like "policy explain resolves the image (name:tag, labels)" "$out" "rule 'untrusted'"
rm -f "$T/policy.json"
isoctl policy reload >/dev/null

# ---------------------------------------------------------------- hostile archives
before=$(store_state)
refuse() { # refuse NAME PATTERN [isoctl options]
        local name=$1 pat=$2 out rc
        shift 2
        out=$(isoctl image import "$TI/hostile/$name" --name "h-${name%%.*}" "$@" 2>&1)
        rc=$?
        if [ "$rc" != 0 ] && printf '%s' "$out" | grep -Eq -- "$pat"; then
                ok "$name refused through isod: $out"
        else
                not_ok "$name refused through isod (error matching '$pat')"
                diag "rc=$rc: $out"
        fi
}
refuse_every_hostile
is "after every refusal: the store is unchanged (records, layers, names)" "$(store_state)" "$before"
staging_empty() { [ -z "$(ls -A "$ST/staging")" ]; }
check "... its staging area is empty" wait_until 10 staging_empty
check "... and isod is up" isod_alive
check "no /etc/evil was written on the host" test ! -e /etc/evil
out=$(isoctl image import "$TI/hostile/setuid.oci" --name suid 2>&1)
like "a setuid file is imported as it is" "$out" "^sha256:"
out=$(isoctl launch --image suid -u 1000 -- /bin/suid 2>&1)
like "... and gives no privilege in a container (nosuid, no_new_privs)" "$out" "^uid=1000[(]"
like "... its mode is kept in the layer (4755)" "$(isoctl launch --image suid -- /bin/ls -l /bin/suid 2>&1)" "^-rwsr-xr-x"
isoctl image rm suid >/dev/null

# ---------------------------------------------------------------- bad requests
out=$(isoctl image import "$TI/oci" --name busybox 2>&1)
like "a built-in image's name cannot be taken" "$out" "built-in image's name"
out=$(isoctl image import "$TI/oci" --name '../x' 2>&1)
like "a hostile name: refused before connecting" "$out" "invalid image name '\.\./x'"
out=$(isoctl image import /dev/null --name nul 2>&1)
like "a device as the archive: refused" "$out" "must be a file, a directory or a pipe"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ISOCTL" image import "$TI/oci.tar" --name x 2>&1)
like "an unprivileged caller may not import" "$out" "Only root may import images"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ISOCTL" image rm app:1.0 2>&1)
like "... nor remove" "$out" "Only root may remove images"
like "... but may list" "$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ISOCTL" image list 2>&1)" "app:1.0"
out=$(/usr/bin/python3 - "$TI/oci.tar" <<'PY' 2>&1
import dbus, os, sys
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
mgr = dbus.Interface(bus.get_object("org.isod1", "/org/isod1"), "org.isod1.Manager")
fd = os.open(sys.argv[1], os.O_RDONLY)
for opts in ({"nosuch": dbus.String("x")}, {"name": dbus.UInt64(3)}, {"max_bytes": dbus.UInt64(0)},
             {"name": dbus.String("sha256:" + "0" * 64)}):
    try:
        mgr.ImportImage(dbus.types.UnixFd(fd), opts)
        print("accepted", list(opts))
    except dbus.DBusException as e:
        print(e.get_dbus_name(), e.get_dbus_message())
PY
)
like "D-Bus: an unknown option is refused by name" "$out" "Unknown import option 'nosuch'"
like "D-Bus: a wrongly typed option" "$out" "Import option 'name' has the wrong type"
like "D-Bus: max_bytes 0" "$out" "max_bytes must be from 1"
like "D-Bus: an ID as a name" "$out" "Invalid image name 'sha256:0"
unlike "D-Bus: none of them accepted" "$out" "^accepted"
check "isod is still up" isod_alive

# ---------------------------------------------------------------- killed mid-import
slow_feed() { # the first MiB of an archive, then nothing for a while (bounded)
        head -c 1048576 "$1"
        sleep 20
}
n_before=$(isoctl image list --json | jq length)
slow_feed "$TI/rootfs.tar" | isoctl image import - --name slow >"$T/slow.out" 2>&1 &
cpid=$!
wait_until 10 pgrep -f "isod-image-import --store=$ST" >/dev/null
pkill -KILL -f "isod-image-import --store=$ST"
wait "$cpid"
rc=$?
is "the importer killed: the import fails" "$rc" 1
like "... naming the signal" "$(cat "$T/slow.out")" "killed by signal KILL"
is "... nothing of it in the store" "$(isoctl image list --json | jq length)" "$n_before"
check "... its staging is gone" wait_until 5 sh -c "[ -z \"\$(ls -A '$ST/staging')\" ]"
slow_feed "$TI/rootfs.tar" | isoctl image import - --name slow2 >/dev/null 2>&1 &
cpid=$!
wait_until 10 pgrep -f "isod-image-import --store=$ST" >/dev/null
stop_isod -KILL
importer_gone() { ! pgrep -f "isod-image-import --store=$ST" >/dev/null; }
check "isod killed mid-import: its importer dies with it" wait_until 5 importer_gone
wait "$cpid" 2>/dev/null
mkdir -p "$ST/layers/$(printf '%064d' 7)/diff"
start_isod
check "... isod comes back" isod_alive
check "... the staging area is cleaned at start (in a child, off isod's loop)" wait_until 10 staging_empty
check "... an orphan layer is collected at start" test ! -e "$ST/layers/$(printf '%064d' 7)"
unlike "... nothing half-imported is visible" "$(isoctl image list)" "slow"
is "... the images are all there after the restart" "$(isoctl image list --json | jq length)" "$n_before"
out=$(isoctl image import "$TI/five" --name five 2>&1)
like "... and the next import works" "$out" "^sha256:.* five:latest"

# ---------------------------------------------------------------- in use, removal, layers freed
isoctl launch -d --name user1 --image five -- sleep 30 >/dev/null 2>&1
FIVE=$(isoctl image show --json five | jq -r .Id)
is "the image's Workloads property names its user" \
        "$(bctl get-property org.isod1 "/org/isod1/image/${FIVE#sha256:}" org.isod1.Image Workloads)" 'as 1 "user1"'
out=$(isoctl image rm five 2>&1)
like "removing an image in use: BadState naming the workload" "$out" "in use by workload user1"
stop_isod
start_isod
out=$(isoctl image rm five 2>&1)
like "... still after isod restarted (the workload pins it in its record)" "$out" "in use by workload user1"
isoctl image import "$TI/five" --name five:again >/dev/null 2>&1
out=$(isoctl image rm five)
is "... untagging one of its names is allowed (the other stays)" "$out" five
out=$(isoctl image rm five:again 2>&1)
like "... but not its last name" "$out" "in use by workload user1"
layers_before=$(ls "$ST/layers" | wc -l)
isoctl rm -f user1 >/dev/null 2>&1
isoctl image rm five:again >/dev/null 2>&1
is "removing the last user and the last name frees the image's own layers (five, beside the base)" \
        "$(ls "$ST/layers" | wc -l)" "$((layers_before - 4))"
out=$(isoctl image rm "$ID" 2>&1)
is "removing by ID drops every name" "$out" "$ID"
unlike "... the image is gone" "$(isoctl image list)" "app:1.0|localhost/isod/test"
out=$(isoctl image rm busybox 2>&1)
like "the built-in busybox cannot be removed" "$out" "built in"
out=$(isoctl image rm nosuch 2>&1)
like "an unknown image: NotFound" "$out" "No image 'nosuch'"

# ---------------------------------------------------------------- a Debian image from Debian's archive
if out=$(isoctl image build deb --debian bookworm --include python3-minimal 2>"$T/build.err"); then
        like "image build --debian bookworm (mmdebstrap → the importer, one stream)" "$out" "^sha256:.* deb:latest"
        for iso in container vm; do
                out=$(isoctl launch --image deb --isolation=$iso -- python3 -c 'import sys; print("py", sys.version_info[0])' 2>"$T/py.err")
                is "python3 -c runs in the Debian image in a $iso" "$out" "py 3"
        done
        out=$(isoctl launch --image deb --isolation=container -- sh -c '. /etc/os-release; echo $VERSION_CODENAME' 2>&1)
        is "... which is bookworm" "$out" bookworm
else
        not_ok "image build --debian bookworm"
        diag "$(tail -20 "$T/build.err")"
fi
check "isod is up at the end" isod_alive
done_testing
