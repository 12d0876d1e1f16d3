#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mk-test-images.sh OUTDIR: the image importer's test data, from Debian 12 packages only (GNU tar,
# gzip, zstd, xz-utils, bzip2, skopeo, python3's tarfile; /bin/busybox from busybox-static is
# the payload; the JSON is written with printf: jq 1.6 takes 35 ms to start). OUTDIR is removed
# and made anew; the same bytes come out on every run. The artefacts, and what the importer must
# do with each, are listed in OUTDIR/MANIFEST.txt. At the end tests/verify-oci.sh checks every
# image that must verify, and that the four broken ones do not.
# On success it prints one line.
#
# Layer 1 (the base, also rootfs.tar*): bin/busybox + applet links, etc/{passwd,group,motd,
# remove-me}, tmp (1777), opt/app/{old1,sub/old2}. Layer 2: etc/.wh.remove-me, the opaque marker
# opt/app/.wh..wh..opq, opt/app/new1, app/hello.sh. Hostile cases follow the notes' rules for the
# unpacker (shared/notes/images.md §5.2): hostile/NAME.tar* is a rootfs tarball, hostile/NAME.oci/
# an OCI layout whose second layer (over the base) is that tarball with correct digests.
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

if [ $# != 1 ] || [ -z "$1" ]; then echo "usage: $0 OUTDIR" >&2; exit 2; fi
here=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "$0: $BUSYBOX missing (apt-get install busybox-static)" >&2; exit 1; }
for t in skopeo zstd xz bzip2 gzip sha256sum; do
        command -v "$t" >/dev/null || { echo "$0: $t missing (see tools/deps)" >&2; exit 1; }
done
# Debian's python3 (tools/deps), not whatever wrapper PATH has first; -S: the stdlib is enough.
PY=${PYTHON3:-/usr/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3) || { echo "$0: python3 missing (see tools/deps)" >&2; exit 1; }
t0=$(date +%s%N)

# OUTDIR is removed only if this script made it (it carries the marker) or it is empty.
OUT=$(realpath -m "$1")
MARK=.mk-test-images
if [ -e "$OUT" ]; then
        [ -d "$OUT" ] || { echo "$0: $OUT is not a directory" >&2; exit 1; }
        if [ ! -e "$OUT/$MARK" ] && [ -n "$(ls -A "$OUT")" ]; then
                echo "$0: $OUT is not empty and was not made by this script; not removing it" >&2
                exit 1
        fi
        rm -rf "$OUT"
fi
mkdir -p "$OUT"
: >"$OUT/$MARK"
W=$OUT/.work
mkdir "$W"
trap 'rm -rf "$W"' EXIT
export TMPDIR=$W # skopeo stages its archives there (its default is /var/tmp)

# shellcheck disable=SC2054 # the commas are tar's
TAR=(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
MT_GZ=application/vnd.oci.image.layer.v1.tar+gzip
MT_ZST=application/vnd.oci.image.layer.v1.tar+zstd
MT_TAR=application/vnd.oci.image.layer.v1.tar
MT_MAN=application/vnd.oci.image.manifest.v1+json
MT_IDX=application/vnd.oci.image.index.v1+json
MT_CFG=application/vnd.oci.image.config.v1+json
REF=org.opencontainers.image.ref.name

# ---------------------------------------------------------------- python helpers (tarfile)
cat >"$W/gen.py" <<'PY'
import hashlib, io, json, os, sys, tarfile

def ti(name, kind=tarfile.REGTYPE, mode=0o644, data=b"", **kw):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.mtime, t.uid, t.gid, t.uname, t.gname = kind, mode, 0, 0, 0, "", ""
    t.size = len(data) if kind == tarfile.REGTYPE else 0
    for k, v in kw.items():
        setattr(t, k, v)
    return t, data

def d(name, mode=0o755, **kw):
    return ti(name, tarfile.DIRTYPE, mode, **kw)

def tarbytes(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for t, data in entries:
            tf.addfile(t, io.BytesIO(data) if t.isreg() else None)
    return b.getvalue()

EVIL = b"evil\n"
# vfs_cap_data revision 2, effective flag, permitted = CAP_NET_RAW (13): cap_net_raw+ep
CAP = bytes([1, 0, 0, 2, 0, 0x20, 0, 0]) + bytes(12)
deep = "".join("d/" for _ in range(300))
long_name = "/".join(["n" * 249] * 19 + ["n" * 250])
big = bytes(range(256)) * 256

CASES = {
    "dotdot": [ti("../evil", data=EVIL)],
    "absolute": [ti("/etc/evil", data=EVIL)],
    "symlink-escape": [ti("link", tarfile.SYMTYPE, 0o777, linkname="/etc"),
                       ti("link/evil", data=EVIL)],
    "symlink-rel-escape": [ti("link", tarfile.SYMTYPE, 0o777, linkname="../../.."),
                           ti("link/evil", data=EVIL)],
    "hardlink-escape": [ti("evil", tarfile.LNKTYPE, linkname="../../etc/passwd")],
    "hardlink-abs": [ti("evil", tarfile.LNKTYPE, linkname="/etc/passwd")],
    "dot-symlink": [ti(".", tarfile.SYMTYPE, 0o777, linkname="/"), ti("evil", data=EVIL)],
    "device-char": [d("dev"), ti("dev/mem", tarfile.CHRTYPE, 0o640, devmajor=1, devminor=1)],
    "device-block": [d("dev"), ti("dev/sda", tarfile.BLKTYPE, 0o660, devmajor=8, devminor=0)],
    "setuid": [d("bin"), ti("bin/suid", mode=0o4755, data=b"#!/bin/sh\nid\n")],
    "fcaps": [d("bin"), ti("bin/ping", mode=0o755, data=b"#!/bin/sh\necho ping\n",
                           pax_headers={"SCHILY.xattr.security.capability": CAP.decode()})],
    "trusted-xattr": [d("d", pax_headers={"SCHILY.xattr.trusted.overlay.opaque": "y"}),
                      ti("f", data=b"f\n",
                         pax_headers={"SCHILY.xattr.trusted.overlay.redirect": "/etc"})],
    "whiteout-dotdot": [ti(".wh...")],
    "whiteout-empty": [d("etc"), ti("etc/.wh.")],
    "duplicate": [ti("a", data=b"file\n"), d("a"), ti("a", tarfile.SYMTYPE, 0o777, linkname="/etc")],
    "long-name": [ti(long_name, data=EVIL)],
    "uid-max": [ti("f", data=b"f\n", uid=4294967295)],
    "deep": [d(deep[:2 * i]) for i in range(1, 301)] + [ti(deep + "f", data=b"deep\n")],
}

def hostile(outdir):
    """Writes outdir/NAME.tar for every case in CASES, plus truncated.tar; checks that the
    hostile part survived tarfile (it must write names and links as given)."""
    for name, entries in CASES.items():
        data = tarbytes(entries)
        with open(os.path.join(outdir, name + ".tar"), "wb") as f:
            f.write(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            got = [(m.name, m.type, m.linkname) for m in tf]
        want = [(t.name.rstrip("/") if t.name != "/" else t.name, t.type, t.linkname)
                for t, _ in entries]
        if got != want:
            sys.exit("hostile %s: tarfile wrote %r, not %r" % (name, got, want))
    # A valid tar (a, then big), cut 100 bytes past the first 32 KiB of big's data.
    data = tarbytes([ti("a", data=b"a\n"), ti("big", data=big)])
    cut = data.index(big) + 32768 + 100
    with open(os.path.join(outdir, "truncated.tar"), "wb") as f:
        f.write(data[:cut])

def many_entries(ndirs, nfiles, hashfile):
    """A tar of ndirs dirs with nfiles empty files each, on stdout; its sha256 into hashfile.
    Headers are spliced from one template each (tarfile takes seconds for 200k entries): only
    the name and the checksum change."""
    def template(name, kind, mode):
        t, _ = ti(name, kind, mode)
        h = t.tobuf(tarfile.USTAR_FORMAT, "ascii", "strict")
        head = h[100:148]
        tail = h[156:]
        base = sum(head) + sum(tail) + 8 * ord(" ")
        return head, tail, base
    dw, fw = len(str(ndirs - 1)), len(str(nfiles - 1))
    dhead, dtail, dbase = template("d%0*d/" % (dw, 0), tarfile.DIRTYPE, 0o755)
    fhead, ftail, fbase = template("d%0*d/f%0*d" % (dw, 0, fw, 0), tarfile.REGTYPE, 0o644)
    # name field = dir + suffix, NUL-padded to 100 bytes; the checksum is the sum of all bytes
    sufs = [b"/f%0*d" % (fw, j) for j in range(nfiles)]
    sufs = [(s + bytes(100 - 1 - dw - len(s)), sum(s)) for s in sufs]
    h = hashlib.sha256()
    out = sys.stdout.buffer
    total = 0
    for i in range(ndirs):
        dn = b"d%0*d" % (dw, i)
        dsum = sum(dn)
        parts = [dn + b"/" + bytes(100 - 1 - dw - 1), dhead, b"%06o\0 " % (dbase + dsum + ord("/")), dtail]
        for s, ssum in sufs:
            parts += (dn, s, fhead, b"%06o\0 " % (fbase + dsum + ssum), ftail)
        chunk = b"".join(parts)
        h.update(chunk); out.write(chunk); total += len(chunk)
    tail = bytes(1024 + (-(total + 1024)) % 10240)
    h.update(tail); out.write(tail)
    with open(hashfile, "w") as f:
        f.write("sha256:" + h.hexdigest() + "\n")

def bomb_header(path, size):
    t, _ = ti("zero")
    t.size = size
    with open(path, "wb") as f:
        f.write(t.tobuf(tarfile.USTAR_FORMAT, "ascii", "strict"))

def bomb_diffid(header, size, tail, hashfile):
    """sha256 of header + size zero bytes + tail zero bytes, without making the stream."""
    h = hashlib.sha256(open(header, "rb").read())
    z = bytes(1 << 20)
    n = size + tail
    while n >= len(z):
        h.update(z); n -= len(z)
    h.update(bytes(n))
    with open(hashfile, "w") as f:
        f.write("sha256:" + h.hexdigest() + "\n")

def zero_mtime(path):
    """Sets every ustar header's mtime to 0 in place (skopeo's oci-archive carries the time of
    the copy), fixing the checksum; refuses archives with pax or GNU extension headers."""
    with open(path, "r+b") as f:
        off = 0
        while True:
            f.seek(off)
            h = bytearray(f.read(512))
            if len(h) < 512 or not any(h):
                break
            if h[156:157] not in (b"0", b"\0", b"1", b"2", b"5"):
                sys.exit("%s: header type %r at %d" % (path, h[156:157], off))
            size = int(h[124:136].split(b"\0")[0].strip() or b"0", 8)
            h[136:148] = b"%011o\0" % 0
            h[148:156] = b" " * 8
            h[148:156] = b"%06o\0 " % sum(h)
            f.seek(off)
            f.write(h)
            off += 512 + (size + 511) // 512 * 512

def huge_index(path, manifest_digest, manifest_size, total):
    """An index.json of exactly total bytes: a valid index padded by an 8 MiB annotation."""
    def doc(pad):
        return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest, "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": "huge-json"}}],
            "annotations": {"org.example.pad": pad}}, separators=(",", ":")).encode()
    base = len(doc(""))
    data = doc("x" * (total - base))
    assert len(data) == total
    open(path, "wb").write(data)

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "hostile": hostile(args[0])
    elif cmd == "many-entries": many_entries(int(args[0]), int(args[1]), args[2])
    elif cmd == "bomb-header": bomb_header(args[0], int(args[1]))
    elif cmd == "bomb-diffid": bomb_diffid(args[0], int(args[1]), int(args[2]), args[3])
    elif cmd == "zero-mtime": zero_mtime(args[0])
    elif cmd == "huge-index": huge_index(args[0], args[1], int(args[2]), int(args[3]))
    else: sys.exit("gen.py: unknown command " + cmd)
PY
gen() { "$PY" -S "$W/gen.py" "$@"; }

# The bomb's diff_id (sha256 over 2 GiB, 2 s of CPU) runs beside the rest.
BOMB_SIZE=$((2 << 30))
gen bomb-header "$W/bomb.hdr" "$BOMB_SIZE"
gen bomb-diffid "$W/bomb.hdr" "$BOMB_SIZE" 1024 "$W/bomb.diffid" &
bomb_pid=$!

# ---------------------------------------------------------------- helpers
sha256() { local h; read -r h _ < <(sha256sum "$1"); echo "$h"; }

# Layers by name: the blob file, its media type and its diff_id.
declare -A LF LMT LDIFF
layer() { LF[$1]=$2 LMT[$1]=$3 LDIFF[$1]=$4; }
# tarlayer NAME DIR: a deterministic tar of DIR (kept as DIR.tar), gzipped into a layer.
tarlayer() {
        "${TAR[@]}" -C "$2" -cf "$2.tar" .
        gzip -n -c "$2.tar" >"$2.tar.gz"
        layer "$1" "$2.tar.gz" "$MT_GZ" "sha256:$(sha256 "$2.tar")"
}
# gzlayer NAME TARFILE: TARFILE, gzipped, as a layer.
gzlayer() {
        gzip -n -c "$2" >"$W/$1.layer.gz"
        layer "$1" "$W/$1.layer.gz" "$MT_GZ" "sha256:$(sha256 "$2")"
}

# blob LAYOUT FILE: copies FILE into LAYOUT's blobs; prints "sha256:HEX SIZE".
blob() {
        local h s
        h=$(sha256 "$2") s=$(stat -c %s "$2")
        mkdir -p "$1/blobs/sha256"
        [ -e "$1/blobs/sha256/$h" ] || cp "$2" "$1/blobs/sha256/$h"
        echo "sha256:$h $s"
}
# desc MEDIATYPE "DIGEST SIZE": a descriptor.
desc() { printf '{"mediaType":"%s","digest":"%s","size":%s}' "$1" "${2% *}" "${2#* }"; }

# config ARCH CONFIG LAYER...: an image config on stdout (CONFIG: the .config object, compact).
config() {
        local arch=$1 cfg=$2 l d='' v=''
        shift 2
        for l; do d+=${d:+,}\"${LDIFF[$l]}\"; done
        [ "$arch" != arm64 ] || v='"variant":"v8",'
        printf '{"created":"1970-01-01T00:00:00Z","architecture":"%s",%s"os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]}}' \
                "$arch" "$v" "$cfg" "$d"
}
# manifest LAYOUT CONFIGFILE LAYER...: stores config, layers and manifest; prints the
# manifest's "DIGEST SIZE".
manifest() {
        local L=$1 c l ls=''
        c=$(desc "$MT_CFG" "$(blob "$L" "$2")")
        shift 2
        for l; do ls+=${ls:+,}$(desc "${LMT[$l]}" "$(blob "$L" "${LF[$l]}")"); done
        printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' "$MT_MAN" "$c" "$ls" >"$W/manifest.json"
        blob "$L" "$W/manifest.json"
}
# index LAYOUT REF "DIGEST SIZE" [MEDIATYPE]: index.json naming one manifest (or index) REF.
index() {
        printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%s,"annotations":{"%s":"%s"}}]}' \
                "$MT_IDX" "${4:-$MT_MAN}" "${3% *}" "${3#* }" "$REF" "$2" >"$1/index.json"
        printf '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
}
# image LAYOUT REF CONFIGFILE LAYER...: a one-image layout; IMAGE_MANIFEST="DIGEST SIZE".
image() {
        local L=$1 ref=$2 cfg=$3
        shift 3
        mkdir -p "$L"
        IMAGE_MANIFEST=$(manifest "$L" "$cfg" "$@")
        index "$L" "$ref" "$IMAGE_MANIFEST"
}

# MANIFEST.txt lines: path, kind, class, expect, note (tab-separated).
ARTS=()
art() { ARTS+=("$(printf '%s\t%s\t%s\t%s\t%s' "$@")"); }

# ---------------------------------------------------------------- layer trees
B=$W/base A=$W/app
mkdir -p "$B"/{bin,etc,tmp,opt/app/sub} "$A"/{etc,opt/app,app}
cp "$BUSYBOX" "$B/bin/busybox"
chmod 0755 "$B/bin/busybox"
for a in sh cat ls id pwd env test echo sleep true; do ln -s busybox "$B/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' >"$B/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' >"$B/etc/group"
echo hello >"$B/etc/motd"
echo doomed >"$B/etc/remove-me"
echo a >"$B/opt/app/old1"
echo b >"$B/opt/app/sub/old2"
chmod 1777 "$B/tmp"
: >"$A/etc/.wh.remove-me"
: >"$A/opt/app/.wh..wh..opq"
echo new >"$A/opt/app/new1"
# shellcheck disable=SC2016 # expanded by the image's shell
printf '#!/bin/sh\necho "hello from app $1 as $(id -u) in $(pwd) with $GREETING"\n' >"$A/app/hello.sh"
chmod 0755 "$A/app/hello.sh"
mkdir -p "$W"/{arm64,evil/etc,shared/etc}
echo arm64 >"$W/arm64/arch"
echo evil >"$W/evil/etc/evil"
echo shared >"$W/shared/etc/shared"
for n in 1 2 3 4; do mkdir -p "$W/five$n"; echo "layer $n" >"$W/five$n/layer$n"; done

tarlayer base "$B"
# The slower rootfs compressions run beside the rest too.
xz -q -T1 -c "$B.tar" >"$OUT/rootfs.tar.xz" &
xz_pid=$!
bzip2 -q -c "$B.tar" >"$OUT/rootfs.tar.bz2" &
bz_pid=$!
tarlayer app "$A"
tarlayer arm64 "$W/arm64"
tarlayer evil "$W/evil"
tarlayer shared "$W/shared"
for n in 1 2 3 4; do tarlayer "five$n" "$W/five$n"; done

# ---------------------------------------------------------------- 1. oci/ and oci-multi/
TEST_CFG='{"User":"1000:1000","ExposedPorts":{"8080/tcp":{}},"Env":["PATH=/bin","GREETING=hi"],"Entrypoint":["/app/hello.sh"],"Cmd":["world"],"WorkingDir":"/opt/app","Labels":{"org.example.tier":"untrusted","org.opencontainers.image.title":"isod-test"}}'
config amd64 "$TEST_CFG" base app >"$W/test.json"
image "$OUT/oci" test "$W/test.json" base app
OCI_MAN=$IMAGE_MANIFEST
art oci/ oci-layout - "import ref test" \
        "2 layers; etc/remove-me whited out; opt/app holds only new1; runs as 1000:1000 in /opt/app and prints 'hello from app world as 1000 in /opt/app with hi'"

M=$OUT/oci-multi
mkdir -p "$M"
cp -r "$OUT/oci/blobs" "$M/"
config arm64 '{"Cmd":["/bin/cat","/arch"]}' arm64 >"$W/arm64.json"
arm=$(manifest "$M" "$W/arm64.json" arm64)
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s,%s]}' "$MT_IDX" \
        "$(desc "$MT_MAN" "$arm" | sed 's/}$/,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}/')" \
        "$(desc "$MT_MAN" "$OCI_MAN" | sed 's/}$/,"platform":{"architecture":"amd64","os":"linux"}}/')" >"$W/nested.json"
index "$M" test "$(blob "$M" "$W/nested.json")" "$MT_IDX"
art oci-multi/ oci-layout - "import ref test: the linux/amd64 manifest" \
        "index.json -> a nested index [linux/arm64/v8 (a dummy: /arch), linux/amd64 (oci/'s manifest)]; amd64 is the second"

# ---------------------------------------------------------------- 2. archives
skopeo --insecure-policy copy -q "oci:$OUT/oci:test" "oci-archive:$OUT/oci.tar:test"
gen zero-mtime "$OUT/oci.tar"
art oci.tar oci-archive - "import ref test" \
        "skopeo copy oci:oci:test oci-archive:oci.tar:test, mtimes then set to 0; skopeo rewrites index.json without its mediaType; same image as oci/"
skopeo --insecure-policy copy -q "oci:$OUT/oci:test" "docker-archive:$OUT/docker.tar:localhost/isod/test:1"
art docker.tar docker-archive - "import localhost/isod/test:1" \
        "skopeo's layout: <diffid>.tar layers (uncompressed), <config-hex>.json, <v1id>/{layer.tar -> ../<diffid>.tar,VERSION,json}, manifest.json, repositories; same image as oci/"

# Docker >= 25's combined layout (moby image/tarexport/save.go): manifest.json whose Config and
# Layers name blobs/sha256/<hex>, beside an OCI index.json + oci-layout over the same blobs;
# layers uncompressed; the legacy per-layer v1 json files are unreferenced blobs; repositories.
D=$W/d25
mkdir -p "$D"
cfg=$(blob "$D" "$W/test.json")
ls='' paths='' parent=''
for l in base app; do
        d=${LDIFF[$l]}
        ls+=${ls:+,}$(desc "$MT_TAR" "$(blob "$D" "${LF[$l]%.gz}")")
        paths+=${paths:+,}\"blobs/sha256/${d#sha256:}\"
        v1=$(printf '%s %s' "$d" "$parent" | sha256sum | cut -d' ' -f1)
        printf '{"id":"%s",%s"created":"1970-01-01T00:00:00Z","os":"linux"}' "$v1" "${parent:+\"parent\":\"$parent\",}" >"$W/v1.json"
        blob "$D" "$W/v1.json" >/dev/null
        parent=$v1
done
printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' "$MT_MAN" \
        "$(desc "$MT_CFG" "$cfg" | sed 's/}$/,"platform":{"architecture":"amd64","os":"linux"}}/')" "$ls" >"$W/manifest.json"
m25=$(blob "$D" "$W/manifest.json")
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' "$MT_IDX" \
        "$(desc "$MT_MAN" "$m25" | sed 's/}$/,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"localhost\/isod\/test:1","org.opencontainers.image.ref.name":"1"}}/')" \
        >"$D/index.json"
printf '[{"Config":"blobs/sha256/%s","RepoTags":["isod/test:1"],"Layers":[%s]}]\n' "${cfg:7:64}" "$paths" >"$D/manifest.json"
printf '{"isod/test":{"1":"%s"}}\n' "${LDIFF[app]#sha256:}" >"$D/repositories"
printf '{"imageLayoutVersion":"1.0.0"}' >"$D/oci-layout"
"${TAR[@]}" -C "$D" -cf "$OUT/docker25.tar" blobs index.json manifest.json oci-layout repositories
art docker25.tar docker-archive - "import isod/test:1" \
        "Docker >= 25 layout: manifest.json (Config, Layers = blobs/sha256/<hex>) + oci-layout + index.json (ref.name 1) over the same uncompressed blobs, 2 unreferenced v1 json blobs, repositories; same image as oci/"

# ---------------------------------------------------------------- 3. rootfs tarballs
cp "$B.tar" "$OUT/rootfs.tar"
cp "$B.tar.gz" "$OUT/rootfs.tar.gz"
zstd -q -T1 -c "$B.tar" >"$OUT/rootfs.tar.zst"
for f in rootfs.tar rootfs.tar.gz rootfs.tar.zst rootfs.tar.xz rootfs.tar.bz2; do
        art "$f" rootfs - "import as one layer, diff_id ${LDIFF[base]}" "oci/'s layer 1 (the busybox base); the config is synthesised"
done

# ---------------------------------------------------------------- 4. five/ and shared/
config amd64 '{"Env":["PATH=/bin"],"Cmd":["/bin/cat","/layer1","/layer2","/layer3","/layer4"]}' \
        base five1 five2 five3 five4 >"$W/five.json"
image "$OUT/five" five "$W/five.json" base five1 five2 five3 five4
art five/ oci-layout - "import ref five" "5 layers: oci/'s base + one file /layerN each; prints 'layer 1'..'layer 4'"
config amd64 '{"Env":["PATH=/bin"],"Cmd":["/bin/cat","/etc/shared"]}' base shared >"$W/shared.json"
image "$OUT/shared" shared "$W/shared.json" base shared
art shared/ oci-layout - "import ref shared" "layer 1 is oci/'s (${LDIFF[base]}): stored once; top layer etc/shared; prints 'shared'"

# ---------------------------------------------------------------- 5. hostile input
H=$OUT/hostile
mkdir -p "$H"
gen hostile "$H"
# bomb: zstd frames of the header, 32 of 64 MiB of zeros (one compressed, then repeated) and
# the end-of-archive blocks; a zstd stream is any number of frames.
zstd -q -1 -c "$W/bomb.hdr" >"$H/bomb.tar.zst"
head -c $((64 << 20)) /dev/zero | zstd -q -1 -T1 >"$W/zero64.zst"
for _ in $(seq $((BOMB_SIZE >> 26))); do cat "$W/zero64.zst"; done >>"$H/bomb.tar.zst"
head -c 1024 /dev/zero | zstd -q -1 >>"$H/bomb.tar.zst"
NDIRS=100 NFILES=2000
gen many-entries "$NDIRS" "$NFILES" "$W/many.diffid" | zstd -q -3 -T1 >"$H/many-entries.tar.zst"
wait "$bomb_pid"
layer bomb "$H/bomb.tar.zst" "$MT_ZST" "$(cat "$W/bomb.diffid")"
layer many-entries "$H/many-entries.tar.zst" "$MT_ZST" "$(cat "$W/many.diffid")"

# class|file|expect|note, in the order of shared/notes/images.md §5.2's rules.
CASES=(
        "dotdot|dotdot.tar|refuse|../evil: a '..' component (rule 2)"
        "absolute|absolute.tar|neutralise: /etc/evil stored as etc/evil inside the root|leading / stripped, as GNU tar and bsdtar do (rule 2)"
        "symlink-escape|symlink-escape.tar|refuse|link -> /etc, then link/evil: writes through a symlink of the same layer (rules 3, 10)"
        "symlink-rel-escape|symlink-rel-escape.tar|refuse|link -> ../../.., then link/evil (rules 3, 10)"
        "hardlink-escape|hardlink-escape.tar|refuse|hardlink evil => ../../etc/passwd: target outside the layer (rules 2, 4)"
        "hardlink-abs|hardlink-abs.tar|refuse|hardlink evil => /etc/passwd: absolute hardlink target (rule 2)"
        "dot-symlink|dot-symlink.tar|refuse|'.' as a symlink to /, then the file evil (rule 2)"
        "device-char|device-char.tar|neutralise: dev/mem dropped|char device 1:1 (rule 6)"
        "device-block|device-block.tar|neutralise: dev/sda dropped|block device 8:0 (rule 6)"
        "setuid|setuid.tar|neutralise: kept: bin/suid stays 4755|distributions need su/passwd; mode applied last, after chown (rule 7)"
        "fcaps|fcaps.tar|neutralise: kept: security.capability (cap_net_raw+ep) on bin/ping|pax SCHILY.xattr.security.capability, a 20-byte vfs_cap_data v2 (rule 8)"
        "trusted-xattr|trusted-xattr.tar|neutralise: trusted.* dropped: no trusted.overlay.opaque on d/, no trusted.overlay.redirect on f|pax SCHILY.xattr.trusted.overlay.opaque=y and .redirect=/etc would steer the overlay (rule 8)"
        "whiteout-dotdot|whiteout-dotdot.tar|refuse|.wh... whites out '..' (rule 5)"
        "whiteout-empty|whiteout-empty.tar|refuse|etc/.wh. has an empty target (rule 5; the spec says SHOULD error)"
        "duplicate|duplicate.tar|refuse|a as a file, then a dir, then a symlink -> /etc (rule 10)"
        "bomb|bomb.tar.zst|refuse|byte budget: one 2 GiB file of zeros in $(stat -c %s "$H/bomb.tar.zst") bytes of zstd, $((2 + (BOMB_SIZE >> 26))) frames (rule 11)"
        "many-entries|many-entries.tar.zst|refuse with a low inode budget|$((NDIRS + NDIRS * NFILES)) entries ($NDIRS dirs of $NFILES empty files); imports under a budget above that (rule 11)"
        "truncated|truncated.tar|refuse|a valid tar cut 32868 bytes into the 65536 of its second file, big"
        "long-name|long-name.tar|refuse|a 5000-byte path (components of 249-250 bytes) via pax path: over PATH_MAX (rule 1)"
        "uid-max|uid-max.tar|refuse|uid 4294967295 via pax (rule 9)"
        "deep|deep.tar|refuse|a file 301 levels deep, d/d/.../d/f, every dir with its own entry (rule 1; systemd caps at 128)"
)
echo '{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]}' >"$W/hcfg"
for c in "${CASES[@]}"; do
        IFS='|' read -r class file expect note <<<"$c"
        art "hostile/$file" hostile "$class" "$expect" "rootfs tarball; $note"
        case $file in *.tar) gzlayer "$class" "$H/$file" ;; esac
        config amd64 "$(cat "$W/hcfg")" base "$class" >"$W/h.json"
        image "$H/$class.oci" "$class" "$W/h.json" base "$class"
        art "hostile/$class.oci/" hostile "$class" "$expect" "OCI layout: oci/'s base + this tarball as layer 2 (${LMT[$class]##*.}); $note"
done

# Broken images: oci/, changed in one place.
L=$H/bad-digest.oci
cp -r "$OUT/oci" "$L"
top=$L/blobs/sha256/$(sha256 "${LF[app]}")
printf '\001' | dd of="$top" bs=1 seek=4 conv=notrunc status=none # gzip MTIME: inflates as before
art hostile/bad-digest.oci/ hostile bad-digest refuse \
        "layer 2's blob has byte 4 (gzip MTIME) changed, so its sha256 no longer matches its descriptor; it still inflates to its diff_id (rule 1)"

d=${LDIFF[app]}
layer badapp "${LF[app]}" "$MT_GZ" "${d%?}$([ "${d: -1}" = 0 ] && echo 1 || echo 0)"
config amd64 "$TEST_CFG" base badapp >"$W/bad.json"
image "$H/bad-diffid.oci" bad-diffid "$W/bad.json" base badapp
art hostile/bad-diffid.oci/ hostile bad-diffid refuse \
        "blobs match their descriptors, but the config's rootfs.diff_ids[1] differs in its last digit (rule 1)"

L=$H/manifest-dup-keys.oci
mkdir -p "$L"
config amd64 "$TEST_CFG" base evil >"$W/evil.json"
c=$(desc "$MT_CFG" "$(blob "$L" "$W/evil.json")")
l1=$(desc "$MT_GZ" "$(blob "$L" "${LF[base]}")")
l2=$(desc "$MT_GZ" "$(blob "$L" "${LF[app]}")")
le=$(desc "$MT_GZ" "$(blob "$L" "${LF[evil]}")")
printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s,%s],"layers":[%s,%s]}' \
        "$MT_MAN" "$c" "$l1" "$l2" "$l1" "$le" >"$W/manifest.json"
index "$L" manifest-dup-keys "$(blob "$L" "$W/manifest.json")"
art hostile/manifest-dup-keys.oci/ hostile manifest-dup-keys refuse \
        "the manifest has \"layers\" twice: [base, app], then [base, evil (adds etc/evil)]; the config's diff_ids match the last, so a last-wins parser imports evil (jansson's JSON_REJECT_DUPLICATES; rule 1)"

L=$H/huge-json.oci
mkdir -p "$L"
cp -r "$OUT/oci/blobs" "$L/"
gen huge-index "$L/index.json" "${OCI_MAN% *}" "${OCI_MAN#* }" $((8 << 20))
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
art hostile/huge-json.oci/ hostile huge-json refuse \
        "index.json is exactly 8 MiB: a valid index of oci/'s manifest padded by one annotation; over the 4 MiB JSON cap (rule 1)"

wait "$xz_pid"
wait "$bz_pid"

# ---------------------------------------------------------------- 6. MANIFEST.txt
{
        echo "# Made by tests/mk-test-images.sh. One artefact a line, tab-separated:"
        echo "# path	kind	class	expect	note"
        echo "# kind: oci-layout | oci-archive | docker-archive | rootfs | hostile (hostile/*.oci/ are OCI"
        echo "# layouts, the other hostile/* rootfs tarballs); class: the hostile class, or -; expect: what"
        echo "# the importer must do: import ..., refuse ..., or neutralise: <what> (and import the rest)."
        printf '%s\n' "${ARTS[@]}"
} >"$OUT/MANIFEST.txt"

# ---------------------------------------------------------------- self-check
V=$here/verify-oci.sh
log=$W/verify.log
: >"$log"
vfail() { cat "$log" >&2; echo "$0: $*" >&2; exit 1; }
while IFS=$'\t' read -r p _; do
        [ -e "$OUT/$p" ] || vfail "MANIFEST.txt names $p, which is missing"
done < <(grep -v '^#' "$OUT/MANIFEST.txt")
for f in rootfs.tar rootfs.tar.gz rootfs.tar.zst rootfs.tar.xz rootfs.tar.bz2; do
        case $f in *.gz) z=(gzip -dc) ;; *.zst) z=(zstd -dcq) ;; *.xz) z=(xz -dc) ;; *.bz2) z=(bzip2 -dc) ;; *) z=(cat) ;; esac
        [ "sha256:$("${z[@]}" <"$OUT/$f" | sha256sum | cut -d' ' -f1)" = "${LDIFF[base]}" ] || vfail "$f is not layer 1"
done
good=(oci oci-multi five shared oci.tar docker.tar docker25.tar)
for c in "${CASES[@]}"; do
        class=${c%%|*}
        # The bomb's diff_id was computed from its parts above: no need to inflate 2 GiB again.
        [ "$class" = bomb ] || good+=("hostile/$class.oci")
done
printf '%s\n' "${good[@]}" | (cd "$OUT" && xargs -P "$(nproc)" -n 1 "$V") >>"$log" 2>&1 ||
        vfail "verify-oci.sh failed on an image that must verify"
for b in bad-digest:'digest of blob' bad-diffid:'diff_id 1' manifest-dup-keys:"duplicate key 'layers'" huge-json:'over '; do
        if "$V" "$OUT/hostile/${b%%:*}.oci" >"$W/bad.log" 2>&1; then
                cat "$W/bad.log" >>"$log"
                vfail "verify-oci.sh accepted hostile/${b%%:*}.oci"
        fi
        grep -q "FAIL:.*${b#*:}" "$W/bad.log" || { cat "$W/bad.log" >>"$log"; vfail "hostile/${b%%:*}.oci failed for another reason"; }
done

rm -rf "$W"
trap - EXIT
n=$(grep -vc '^#' "$OUT/MANIFEST.txt")
t1=$(date +%s%N)
printf 'mk-test-images: %d artefacts in %s (%s), %d images verified and 4 broken ones refused, %d.%02d s\n' \
        "$n" "$OUT" "$(du -sh "$OUT" | cut -f1)" "${#good[@]}" $(((t1 - t0) / 1000000000)) $(((t1 - t0) / 10000000 % 100))
