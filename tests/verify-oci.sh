#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# verify-oci.sh IMAGE: checks an OCI layout directory, an OCI archive or a docker-archive (the
# old layout or Docker >= 25's) as shared/notes/images.md §4.4 does, and a little more:
# - every digest has the form sha256:<64 hex>; its blob is a regular file of the descriptor's
#   size and sha256; nested indexes are followed (8 deep at most); media types are the OCI ones;
# - each layer, decompressed (gzip, zstd or none, by media type), hashes to its
#   rootfs.diff_ids entry, and the counts agree;
# - in a docker-archive, each Config hashes to its name and each Layers entry (symlinks followed)
#   to its diff_id; no path and no symlink leads out of the archive;
# - every JSON document parses, has no duplicate keys (jq and jansson keep the last one silently)
#   and is at most VERIFY_OCI_MAX_JSON bytes (4 MiB).
# Archives are read in place (python3's tarfile), never extracted. Prints "ok ..." for each
# image manifest; on the first problem "FAIL: IMAGE: ..." on stderr, exit 1.
# The JSON is read with python3 rather than jq: one process per image instead of ten jq starts
# of 35 ms each (tests/mk-test-images.sh verifies some thirty images).
set -euo pipefail
[ $# = 1 ] || { echo "usage: $0 LAYOUT-DIR|ARCHIVE" >&2; exit 2; }
PY=${PYTHON3:-/usr/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3) || { echo "$0: python3 missing" >&2; exit 1; }
exec "$PY" -S - "$1" <<'PY'
import hashlib, json, os, re, stat, subprocess, sys, tarfile, threading, zlib

IMG = sys.argv[1]
MAX_JSON = int(os.environ.get("VERIFY_OCI_MAX_JSON", 4 << 20))
DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = {}
for mt in ("application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar"):
    LAYER[mt], LAYER[mt + "+gzip"], LAYER[mt + "+zstd"] = "tar", "gzip", "zstd"
LAYER["application/vnd.docker.image.rootfs.diff.tar.gzip"] = "gzip"


class Fail(Exception):
    pass


def fail(msg):
    raise Fail(msg)


def norm(path, base=""):
    """path (relative to the directory base) as a clean archive-relative path, or None if it
    is absolute or climbs out."""
    if path.startswith("/"):
        return None
    out = [p for p in base.split("/") if p not in ("", ".")]
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not out:
                return None
            out.pop()
        else:
            out.append(p)
    return "/".join(out)


class DirSource:
    def __init__(self, root):
        self.root = os.path.realpath(root)

    def exists(self, rel):
        return os.path.lexists(os.path.join(self.root, rel))

    def _path(self, rel):
        n = norm(rel)
        if n is None:
            fail("path %r leads out of the image" % rel)
        p = os.path.realpath(os.path.join(self.root, n))
        if p != self.root and not p.startswith(self.root + "/"):
            fail("%s resolves out of the image" % rel)
        if not os.path.exists(p):
            fail("missing %s" % rel)
        if not stat.S_ISREG(os.stat(p).st_mode):
            fail("%s is not a regular file" % rel)
        return p

    def size(self, rel):
        return os.stat(self._path(rel)).st_size

    def open(self, rel):
        return open(self._path(rel), "rb")

    def check_links(self):
        for d, dirs, files in os.walk(self.root):
            for f in dirs + files:
                p = os.path.join(d, f)
                if os.path.islink(p):
                    t = os.path.realpath(p)
                    if t != self.root and not t.startswith(self.root + "/"):
                        fail("symlink %s leads out of the image" % p[len(self.root) + 1:])


class TarSource:
    def __init__(self, path):
        try:
            self.tf = tarfile.open(path, "r:")
            self.m = {}
            for ti in self.tf:
                n = norm(ti.name)
                if n is None:
                    fail("member %r leads out of the archive" % ti.name)
                if n in self.m and not (ti.isdir() and self.m[n].isdir()):
                    fail("member %s appears twice" % n)
                self.m[n] = ti
        except tarfile.TarError as e:
            fail("not a readable tar archive: %s" % e)

    def exists(self, rel):
        return norm(rel) in self.m

    def _member(self, rel, hops=0):
        n = norm(rel)
        if n is None:
            fail("path %r leads out of the archive" % rel)
        ti = self.m.get(n)
        if ti is None:
            fail("missing %s" % rel)
        if hops > 8:
            fail("too many symlinks at %s" % rel)
        if ti.issym():
            t = norm(ti.linkname, os.path.dirname(n))
            if t is None:
                fail("symlink %s -> %s leads out of the archive" % (n, ti.linkname))
            return self._member(t, hops + 1)
        if ti.islnk():
            return self._member(ti.linkname, hops + 1)
        if not ti.isreg():
            fail("%s is not a regular file" % rel)
        return ti

    def size(self, rel):
        return self._member(rel).size

    def open(self, rel):
        return self.tf.extractfile(self._member(rel))

    def check_links(self):
        for n, ti in self.m.items():
            if ti.issym() or ti.islnk():
                self._member(n)


def chunks(f):
    while True:
        b = f.read(1 << 20)
        if not b:
            return
        yield b


def sha256_of(src, rel):
    h = hashlib.sha256()
    with src.open(rel) as f:
        for b in chunks(f):
            h.update(b)
    return "sha256:" + h.hexdigest()


def diff_id(src, rel, how):
    """sha256 of the blob rel, decompressed as how says."""
    h = hashlib.sha256()
    with src.open(rel) as f:
        if how == "tar":
            for b in chunks(f):
                h.update(b)
        elif how == "gzip":
            z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            for b in chunks(f):
                while b:
                    h.update(z.decompress(b))
                    b = z.unused_data
                    if b:  # another gzip member
                        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            if not z.eof:
                fail("%s: truncated gzip stream" % rel)
        else:
            p = subprocess.Popen(["zstd", "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

            def feed():
                try:
                    for b in chunks(f):
                        p.stdin.write(b)
                except BrokenPipeError:
                    pass
                finally:
                    p.stdin.close()
            t = threading.Thread(target=feed)
            t.start()
            for b in chunks(p.stdout):
                h.update(b)
            t.join()
            if p.wait() != 0:
                fail("%s: zstd -d failed" % rel)
    return "sha256:" + h.hexdigest()


def load_json(src, rel):
    n = src.size(rel)
    if n > MAX_JSON:
        fail("%s is %d bytes, over %d" % (rel, n, MAX_JSON))
    with src.open(rel) as f:
        data = f.read()

    def pairs(p):
        seen = set()
        for k, _ in p:
            if k in seen:
                fail("duplicate key %r in %s" % (k, rel))
            seen.add(k)
        return dict(p)

    def constant(c):
        fail("%s has %s, not JSON" % (rel, c))
    try:
        return json.loads(data, object_pairs_hook=pairs, parse_constant=constant)
    except ValueError as e:
        fail("%s: %s" % (rel, e))


def field(obj, key, kind, what):
    v = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(v, kind) or isinstance(v, bool):
        fail("%s: %s is missing or not a %s" % (what, key, kind.__name__))
    return v


def blob_path(d):
    if not isinstance(d, str) or not DIGEST.match(d):
        fail("bad digest %r" % (d,))
    return "blobs/sha256/" + d[7:]


def check(src, desc, what):
    """The blob of a descriptor: right size, right digest. Returns its path."""
    d = field(desc, "digest", str, what)
    s = field(desc, "size", int, what)
    rel = blob_path(d)
    if not src.exists(rel):
        fail("missing blob %s (%s)" % (d, what))
    n = src.size(rel)
    if n != s:
        fail("size of blob %s is %d, not %d (%s)" % (d, n, s, what))
    got = sha256_of(src, rel)
    if got != d:
        fail("digest of blob %s is %s (%s)" % (d, got, what))
    return rel


def check_manifest(src, rel, d, ref):
    m = load_json(src, rel)
    if m.get("schemaVersion") != 2:
        fail("%s: schemaVersion" % d)
    if m.get("mediaType", MT_MANIFEST) != MT_MANIFEST:
        fail("%s: mediaType %r" % (d, m.get("mediaType")))
    c = field(m, "config", dict, d)
    if c.get("mediaType") != MT_CONFIG:
        fail("%s: config mediaType %r" % (d, c.get("mediaType")))
    cfg = load_json(src, check(src, c, d + " config"))
    diffs = field(field(cfg, "rootfs", dict, "config"), "diff_ids", list, "config rootfs")
    layers = field(m, "layers", list, d)
    if not layers:
        fail("%s: no layers" % d)
    if len(layers) != len(diffs):
        fail("%s: %d layers but %d diff_ids" % (d, len(layers), len(diffs)))
    for i, l in enumerate(layers):
        lrel = check(src, l, "%s layer %d" % (d, i))
        how = LAYER.get(l.get("mediaType"))
        if how is None:
            fail("%s: layer %d has mediaType %r" % (d, i, l.get("mediaType")))
        got = diff_id(src, lrel, how)
        if got != diffs[i]:
            fail("diff_id %d of %s: layer %s decompresses to %s, not %s" % (i, d, l["digest"], got, diffs[i]))
    print("ok %s: %s%s %s/%s: config + %d layers" % (IMG, ref + " " if ref else "", d,
          cfg.get("os"), cfg.get("architecture"), len(layers)))


def walk_index(src, rel, depth):
    if depth > 8:
        fail("indexes nested deeper than 8")
    idx = load_json(src, rel)
    if idx.get("schemaVersion") != 2:
        fail("%s: schemaVersion" % rel)
    if idx.get("mediaType", MT_INDEX) != MT_INDEX:
        fail("%s: mediaType %r" % (rel, idx.get("mediaType")))
    ms = field(idx, "manifests", list, rel)
    if not ms:
        fail("%s: no manifests" % rel)
    for desc in ms:
        what = "%s entry" % rel
        brel = check(src, desc, what)
        ref = (desc.get("annotations") or {}).get("org.opencontainers.image.ref.name", "") if depth == 0 else ""
        mt = desc.get("mediaType")
        if mt == MT_INDEX:
            walk_index(src, brel, depth + 1)
        elif mt == MT_MANIFEST:
            check_manifest(src, brel, desc["digest"], ref)
        else:
            fail("%s: descriptor mediaType %r" % (rel, mt))


def check_layout(src):
    if load_json(src, "oci-layout").get("imageLayoutVersion") != "1.0.0":
        fail("oci-layout: imageLayoutVersion")
    walk_index(src, "index.json", 0)


def check_docker(src):
    man = load_json(src, "manifest.json")
    if not isinstance(man, list) or not man:
        fail("manifest.json is not a non-empty list")
    for i, item in enumerate(man):
        what = "manifest.json[%d]" % i
        cfgp = field(item, "Config", str, what)
        name = os.path.basename(cfgp)
        if name.endswith(".json"):
            name = name[:-5]
        got = sha256_of(src, cfgp)
        if got != "sha256:" + name:
            fail("digest of Config %s is %s" % (cfgp, got))
        cfg = load_json(src, cfgp)
        diffs = field(field(cfg, "rootfs", dict, cfgp), "diff_ids", list, cfgp + " rootfs")
        layers = field(item, "Layers", list, what)
        if not layers:
            fail("%s: no layers" % what)
        if len(layers) != len(diffs):
            fail("%s: %d Layers but %d diff_ids" % (what, len(layers), len(diffs)))
        for j, l in enumerate(layers):
            if not isinstance(l, str):
                fail("%s: Layers[%d] is not a string" % (what, j))
            got = sha256_of(src, l)
            if got != diffs[j]:
                fail("diff_id %d: Layers[%d] %s is %s, not %s" % (j, j, l, got, diffs[j]))
        tags = item.get("RepoTags") or []
        print("ok %s: %s %s %s/%s: config + %d layers" % (IMG, what, ",".join(tags) or "-",
              cfg.get("os"), cfg.get("architecture"), len(layers)))


try:
    if os.path.isdir(IMG):
        src = DirSource(IMG)
    elif os.path.isfile(IMG):
        src = TarSource(IMG)
    else:
        fail("no such file or directory")
    found = False
    if src.exists("oci-layout") or src.exists("index.json"):
        check_layout(src)
        found = True
    if src.exists("manifest.json"):
        check_docker(src)
        found = True
    if not found:
        fail("neither an OCI layout (oci-layout, index.json) nor a docker-archive (manifest.json)")
    src.check_links()
except Fail as e:
    print("FAIL: %s: %s" % (IMG, e), file=sys.stderr)
    sys.exit(1)
PY
