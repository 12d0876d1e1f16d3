#!/usr/bin/env bash
# bench-images.sh - isod's image store side by side with Podman and umoci in one run:
#   import   the same Debian image (mmdebstrap minbase + python3-minimal, one gzip layer, as an OCI
#            archive) with `isoctl image import` (a fresh store each round: the image is removed and
#            its layer collected in between), `podman load` (private storage, the image removed in
#            between) and `umoci unpack` (from the same image as an OCI layout; a fresh bundle each
#            round); interleaved rounds, median seconds.
#   vm-boot  the Debian image's first VM launch (its erofs not cached: removed before each round)
#            against a cached one, and mkfs.erofs alone on the same tree (same options).
#   layers   launches of /bin/true from the 5-layer test image against the built-in busybox, in a
#            container and in a VM (interleaved, median).
#   disk     two images sharing the Debian layer (the second adds a small one): the store's bytes
#            against the two images' sizes.
# Usage (root): bench/bench-images.sh [--install] [--rounds N] [--quick]
# Env: ISOD_BUILD (default /tmp/b), BENCH_RESULTS (<repo>/bench/results), BENCH_DATE, BENCH_WORK
#   (/tmp/isod-bench-images; the Debian tarball is kept there between runs), BENCH_ROUNDS (5),
#   BENCH_LAUNCHES (20 container launches per row and round; VMs: a fifth), BENCH_INSTALL=1.
# Output: BENCH_RESULTS/images.md; raw timings in BENCH_WORK/raw-<date>/ (not committed).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SRCDIR=$(cd "$(dirname "$SELF")/.." && pwd)
ISOD_BUILD=${ISOD_BUILD:-/tmp/b}
BENCH_RESULTS=${BENCH_RESULTS:-$SRCDIR/bench/results}
DATE=${BENCH_DATE:-$(date +%F)}
WORK=${BENCH_WORK:-/tmp/isod-bench-images}
ROUNDS=${BENCH_ROUNDS:-5}
LAUNCHES=${BENCH_LAUNCHES:-20}
INSTALL=${BENCH_INSTALL:-0}
while [ $# -gt 0 ]; do
        case $1 in
        --install) INSTALL=1 ;;
        --rounds) ROUNDS=$2; shift ;;
        --quick) ROUNDS=2 LAUNCHES=5 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
        esac
        shift
done
log() { echo "[$(date +%T)] $*" >&2; }
die() { log "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
if [ "$INSTALL" = 1 ]; then
        apt-get install -y podman umoci mmdebstrap erofs-utils jq >/dev/null 2>&1 || log "apt-get install failed"
fi
for c in jq mmdebstrap mkfs.erofs gzip sha256sum; do command -v $c >/dev/null || die "needs $c (--install)"; done
PODMAN_OK=1 PODMAN_WHY= UMOCI_OK=1 UMOCI_WHY=
command -v podman >/dev/null || { PODMAN_OK=0 PODMAN_WHY="podman not installed (--install)"; }
command -v umoci >/dev/null || { UMOCI_OK=0 UMOCI_WHY="umoci not installed (--install)"; }
[ -x "$ISOD_BUILD/isod" ] || die "no isod in $ISOD_BUILD"
VMLAUNCHES=$(((LAUNCHES + 4) / 5))

RAW=$WORK/raw-$DATE
OUT=$BENCH_RESULTS/images.md
rm -rf "$RAW"
mkdir -p "$WORK" "$RAW" "$BENCH_RESULTS"
SNAP=$(mktemp -d "$WORK/build.XXXXXX")
for f in isod isod-monitor isoctl isod-image-import; do cp "$ISOD_BUILD/$f" "$SNAP/$f"; done
ln -s "$(readlink -f "$ISOD_BUILD/test-assets")" "$SNAP/test-assets"
export top_builddir=$SNAP top_srcdir=$SRCDIR
# shellcheck source=../tests/lib.sh
. "$SRCDIR/tests/lib.sh" >/dev/null
set -euo pipefail
ISOCTL=$SNAP/isoctl
TI=$ISOD_BUILD/test-assets/test-images
P="podman --root $WORK/pm/pmroot --runroot $WORK/pm/pmrun --storage-driver overlay"
all_cleanup() {
        set +e
        [ -n "${ISOD_PID:-}" ] && { "$ISOCTL" list 2>/dev/null | awk 'NR > 1 { print $1 }' | xargs -r -n1 "$ISOCTL" rm -f >/dev/null 2>&1; }
        [ "$PODMAN_OK" = 1 ] && $P rmi -a -f >/dev/null 2>&1
        stop_isod
        rm -rf "$SNAP" "$WORK/umoci/bundle"
        [ -d "$WORK/pm" ] && { umount -R "$WORK/pm/pmrun" 2>/dev/null; umount -R "$WORK/pm/pmroot" 2>/dev/null; }
        for d in "${STORE:-}" "${CACHE:-}" "$WORK/pm" "$WORK/umoci"; do [ -n "$d" ] && mountpoint -q "$d" && umount -l "$d"; done
        cleanup
}
trap all_cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.4g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { { [ "$1" = - ] || [ "$2" = - ]; } && { echo -; return; }; awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "-" && r <= t) ? "**met**" : "**missed**" }'; }

# ---------------------------------------------------------------- the Debian image, as OCI
DEB_TAR=$WORK/debian-bookworm-minbase-python3.tar
if [ ! -s "$DEB_TAR" ]; then
        log "== mmdebstrap bookworm (minbase + python3-minimal), kept in $DEB_TAR"
        mmdebstrap --quiet --variant=minbase --format=tar --include=python3-minimal bookworm "$DEB_TAR.tmp" 2>"$RAW/mmdebstrap.log" ||
                die "mmdebstrap failed: $(tail -3 "$RAW/mmdebstrap.log")"
        mv "$DEB_TAR.tmp" "$DEB_TAR"
fi
# oci_layout DIR LAYER.tar...: an OCI layout with gzip layers (gzip -6 -n, reproducible) and a config
# whose Cmd is python3.
oci_layout() {
        local dir=$1 ls='' ids='' f gz d s cfg m
        shift
        rm -rf "$dir"
        mkdir -p "$dir/blobs/sha256"
        for f in "$@"; do
                gzip -6 -n -c "$f" >"$dir/layer.gz"
                d=$(sha256sum "$dir/layer.gz" | cut -d' ' -f1)
                mv "$dir/layer.gz" "$dir/blobs/sha256/$d"
                s=$(stat -c %s "$dir/blobs/sha256/$d")
                ls+=${ls:+,}$(printf '{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}' "$d" "$s")
                ids+=${ids:+,}\"sha256:$(sha256sum "$f" | cut -d' ' -f1)\"
        done
        printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"Cmd":["python3"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$ids" >"$dir/cfg"
        cfg=$(sha256sum "$dir/cfg" | cut -d' ' -f1)
        s=$(stat -c %s "$dir/cfg")
        mv "$dir/cfg" "$dir/blobs/sha256/$cfg"
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' "$cfg" "$s" "$ls" >"$dir/man"
        m=$(sha256sum "$dir/man" | cut -d' ' -f1)
        s=$(stat -c %s "$dir/man")
        mv "$dir/man" "$dir/blobs/sha256/$m"
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"deb"}}]}' "$m" "$s" >"$dir/index.json"
        printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
}
log "== the Debian image as an OCI layout and archive"
oci_layout "$WORK/deb-oci" "$DEB_TAR"
tar -C "$WORK/deb-oci" -cf "$WORK/deb-oci.tar" .
mkdir -p "$WORK/extra/etc"
echo extra >"$WORK/extra/etc/extra"
tar -C "$WORK/extra" --owner=0 --group=0 --mtime=@0 -cf "$WORK/extra.tar" .
oci_layout "$WORK/deb-plus-oci" "$DEB_TAR" "$WORK/extra.tar"
ARCHIVE_MB=$(($(stat -c %s "$WORK/deb-oci.tar") >> 20))
ROOTFS_MB=$(($(stat -c %s "$DEB_TAR") >> 20))

# The stores on tmpfs (BENCH_TMPFS=1, the default): on this host's ext4 with `discard` the same
# import takes 2 s to 11 s depending on how much the previous round deleted, whichever tool runs;
# on tmpfs the figures are the tools' own work. BENCH_TMPFS=0 measures the disk.
TMPFS=${BENCH_TMPFS:-1}
STORE=$T/store
# The VM image cache too: on that disk the first boot also pays for writing back the fresh
# 150 MiB erofs while it boots, which mkfs.erofs run alone does not.
CACHE=$T/cache
mkdir -p "$STORE" "$CACHE" "$WORK/pm" "$WORK/umoci"
if [ "$TMPFS" = 1 ]; then
        for d in "$STORE" "$CACHE" "$WORK/pm" "$WORK/umoci"; do
                mountpoint -q "$d" || mount -t tmpfs -o size=4g,mode=0700 isod-bench "$d"
        done
fi
start_bus || die "no dbus-daemon"
start_isod || die "isod did not start"
export ISOD_SOCKET=$T/state/private

if [ "$PODMAN_OK" = 1 ]; then
        rm -rf "$WORK/pm/pmroot" "$WORK/pm/pmrun"
        $P load -q -i "$WORK/deb-oci.tar" >"$RAW/podman-check.log" 2>&1 || {
                PODMAN_OK=0 PODMAN_WHY="podman load fails: $(tail -2 "$RAW/podman-check.log" | xargs)"
        }
        $P rmi -a -f >/dev/null 2>&1 || true
fi
if [ "$UMOCI_OK" = 1 ] && ! umoci unpack --image "$WORK/deb-oci:deb" "$WORK/umoci/bundle" >"$RAW/umoci-check.log" 2>&1; then
        UMOCI_OK=0 UMOCI_WHY="umoci unpack fails: $(tail -2 "$RAW/umoci-check.log" | xargs)"
fi
rm -rf "$WORK/umoci/bundle"

# ---------------------------------------------------------------- import
: >"$RAW/import.tsv"
log "== import, $ROUNDS interleaved rounds (${ARCHIVE_MB} MiB archive, ${ROOTFS_MB} MiB unpacked)"
for k in $(seq 1 "$ROUNDS"); do
        sync
        t0=$(now); "$ISOCTL" image import "$WORK/deb-oci.tar" --name deb >/dev/null; t1=$(now)
        printf 'isod\t%s\n' $((t1 - t0)) >>"$RAW/import.tsv"
        "$ISOCTL" image rm deb >/dev/null
        sync
        t0=$(now); "$ISOCTL" image import "$WORK/deb-oci" --name deb >/dev/null; t1=$(now)
        printf 'isod-layout\t%s\n' $((t1 - t0)) >>"$RAW/import.tsv"
        "$ISOCTL" image rm deb >/dev/null
        if [ "$PODMAN_OK" = 1 ]; then
                sync
                t0=$(now); $P load -q -i "$WORK/deb-oci.tar" >/dev/null 2>&1; t1=$(now)
                printf 'podman\t%s\n' $((t1 - t0)) >>"$RAW/import.tsv"
                $P rmi -a -f >/dev/null 2>&1
        fi
        if [ "$UMOCI_OK" = 1 ]; then
                sync
                t0=$(now); umoci unpack --image "$WORK/deb-oci:deb" "$WORK/umoci/bundle" >/dev/null 2>&1; t1=$(now)
                printf 'umoci\t%s\n' $((t1 - t0)) >>"$RAW/import.tsv"
                rm -rf "$WORK/umoci/bundle"
        fi
        log "round $k: $(tail -4 "$RAW/import.tsv" | awk -F'\t' '{ printf "%s %.2fs; ", $1, $2 / 1e9 }')"
done
imp_med() { awk -F'\t' -v r="$1" '$1 == r { print $2 / 1e9 }' "$RAW/import.tsv" | median; }
I_ISOD=$(imp_med isod) I_LAYOUT=$(imp_med isod-layout) I_PM=$(imp_med podman) I_UM=$(imp_med umoci)
R_IMPORT=$(ratio "$I_ISOD" "$I_PM")

# ---------------------------------------------------------------- VM first boot, cached boot, mkfs
"$ISOCTL" image import "$WORK/deb-oci.tar" --name deb >/dev/null
KEY=$(jq -r '.Layers[-1][0]' <<<"$("$ISOCTL" image show --json deb)")
KEY=${KEY#sha256:}
EROFS=$T/cache/vm-images/${KEY:0:32}.erofs
: >"$RAW/vm.tsv"
log "== the Debian image in a VM: first launch (no cached erofs) against cached, $ROUNDS rounds"
vm_true() { "$ISOCTL" launch --image deb --isolation=vm -- /bin/true >/dev/null 2>&1; }
vm_true || die "a VM launch from the Debian image fails"
for k in $(seq 1 "$ROUNDS"); do
        rm -f "$EROFS"
        sync
        t0=$(now); vm_true; t1=$(now)
        printf 'first\t%s\n' $((t1 - t0)) >>"$RAW/vm.tsv"
        t0=$(now); vm_true; t1=$(now)
        printf 'cached\t%s\n' $((t1 - t0)) >>"$RAW/vm.tsv"
        rm -f "$CACHE/by-hand.erofs"
        t0=$(now)
        mkfs.erofs --quiet -T0 --preserve-mtime "-U${KEY:0:8}-${KEY:8:4}-${KEY:12:4}-${KEY:16:4}-${KEY:20:12}" \
                "$CACHE/by-hand.erofs" "$STORE/l/${KEY:0:26}/" >/dev/null 2>&1
        t1=$(now)
        printf 'mkfs\t%s\n' $((t1 - t0)) >>"$RAW/vm.tsv"
        log "round $k: $(tail -3 "$RAW/vm.tsv" | awk -F'\t' '{ printf "%s %.2fs; ", $1, $2 / 1e9 }')"
done
SAME_BYTES=no
cmp -s "$CACHE/by-hand.erofs" "$EROFS" && SAME_BYTES=yes
vm_med() { awk -F'\t' -v r="$1" '$1 == r { print $2 / 1e9 }' "$RAW/vm.tsv" | median; }
V_FIRST=$(vm_med first) V_CACHED=$(vm_med cached) V_MKFS=$(vm_med mkfs)
# target: first ≤ mkfs + 1.1 × cached
V_LIMIT=$(awk -v m="$V_MKFS" -v c="$V_CACHED" 'BEGIN { printf "%.3f", m + 1.1 * c }')
R_VM=$(ratio "$V_FIRST" "$V_LIMIT")
EROFS_MB=$(($(stat -c %s "$EROFS") >> 20))

# ---------------------------------------------------------------- 5 layers against busybox
"$ISOCTL" image import "$TI/five" --name five >/dev/null
: >"$RAW/layers.tsv"
log "== launches of /bin/true: 5-layer image against busybox, $ROUNDS rounds of $LAUNCHES (VMs: $VMLAUNCHES)"
one() { # ROW ARGS...: one launch, its ns
        local row=$1 t0 t1
        shift
        t0=$(now)
        "$ISOCTL" launch "$@" -- /bin/true >/dev/null 2>&1
        t1=$(now)
        printf '%s\t%s\n' "$row" $((t1 - t0)) >>"$RAW/layers.tsv"
}
# Interleaved launch by launch (busybox, 5 layers, busybox, …): the machine's drift, which moves
# batches by ±20 % here, falls on both rows alike; the medians are over every launch.
one ctr-busybox; one ctr-five --image five; one vm-five --image five --isolation=vm # warm-up
: >"$RAW/layers.tsv"
for k in $(seq 1 "$ROUNDS"); do
        for i in $(seq 1 "$LAUNCHES"); do
                one ctr-busybox
                one ctr-five --image five
        done
        for i in $(seq 1 "$VMLAUNCHES"); do
                one vm-busybox --isolation=vm
                one vm-five --image five --isolation=vm
        done
        log "round $k: $(awk -F'\t' '{ s[$1] += $2; n[$1]++ } END { for (r in s) printf "%s %.1fms; ", r, s[r] / n[r] / 1e6 }' "$RAW/layers.tsv") (means so far)"
done
lay_med() { awk -F'\t' -v r="$1" '$1 == r { print $2 / 1e6 }' "$RAW/layers.tsv" | median; }
L_CB=$(lay_med ctr-busybox) L_CF=$(lay_med ctr-five) L_VB=$(lay_med vm-busybox) L_VF=$(lay_med vm-five)
R_LC=$(ratio "$L_CF" "$L_CB") R_LV=$(ratio "$L_VF" "$L_VB")

# ---------------------------------------------------------------- disk: a shared base
"$ISOCTL" image import "$WORK/deb-plus-oci" --name deb-plus >/dev/null
S_DEB=$("$ISOCTL" image show --json deb | jq .Size)
S_PLUS=$("$ISOCTL" image show --json deb-plus | jq .Size)
D_LAYERS=$(du -sb "$STORE/layers" | cut -f1)
N_LAYERS=$(find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l)

# ---------------------------------------------------------------- report
ACCEL=$("$ISOCTL" launch --isolation=vm -d --name acc -- /bin/true >/dev/null 2>&1 && "$ISOCTL" show --json acc | jq -r '.Accelerator // empty'; "$ISOCTL" rm -f acc >/dev/null 2>&1 || true)
ACCEL=${ACCEL:-tcg}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
{
        echo "# Images: import, first VM boot, layered launches, shared layers ($DATE)"
        echo
        echo "Produced by \`bench/bench-images.sh\` ($ROUNDS interleaved rounds; $LAUNCHES container and $VMLAUNCHES VM launches per row and round). Every figure is from this one run."
        echo
        echo "- host: $(uname -r), $(nproc) CPUs; isod: $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null) (+ $(git -C "$SRCDIR" status --porcelain 2>/dev/null | wc -l) modified files); VMs: $ACCEL"
        echo "- stores (isod's, Podman's, umoci's bundle) and isod's VM image cache: $( [ "$TMPFS" = 1 ] && echo "tmpfs (BENCH_TMPFS=1: on this host's ext4 with discard the same import takes 2-11 s from round to round, and a first VM boot also pays for writing back its fresh erofs, 0.4-0.8 s, which mkfs.erofs alone does not)" || echo "on disk ($(df --output=fstype "$STORE" | tail -1))")"
        echo "- the image: Debian bookworm, mmdebstrap --variant=minbase --include=python3-minimal, one gzip layer: archive $ARCHIVE_MB MiB, $ROOTFS_MB MiB as a tar"
        echo "- $( [ "$PODMAN_OK" = 1 ] && echo "$(podman --version), overlay storage under $WORK/pm" || echo "Podman: $PODMAN_WHY"); $( [ "$UMOCI_OK" = 1 ] && echo "$(umoci --version)" || echo "umoci: $UMOCI_WHY")"
        echo
        echo "## Import (median seconds)"
        echo
        echo "| \`isoctl image import\` (archive) | from the OCI layout dir | \`podman load\` | \`umoci unpack\` (layout → bundle) | isod / Podman | target |"
        echo "|---|---|---|---|---|---|"
        echo "| **$I_ISOD** | $I_LAYOUT | $I_PM | $I_UM | **$R_IMPORT** | ≤ 0.67: $(verdict "$R_IMPORT" 0.67) |"
        echo
        echo "isod reads the archive once: the blob's SHA-256, gunzip and the tar's diff_id in one pass, unpacked straight into the layer (docs/images.md)."
        echo
        echo "## VM: first launch of a new image against a cached one (median seconds, /bin/true)"
        echo
        echo "| first launch (erofs built) | cached launch | mkfs.erofs alone (${EROFS_MB} MiB image) | limit: mkfs + 1.1 × cached | first / limit | target |"
        echo "|---|---|---|---|---|---|"
        echo "| **$V_FIRST** | $V_CACHED | $V_MKFS | $V_LIMIT | **$R_VM** | ≤ 1.00: $(verdict "$R_VM" 1.0) |"
        echo
        echo "The image isod built and mkfs.erofs run by hand with the same options are byte for byte the same: **$SAME_BYTES** (fixed UUID from the top layer's ChainID, -T0)."
        echo
        echo "## Launches of /bin/true: the 5-layer test image against the built-in busybox (median ms per launch)"
        echo
        echo "| isolation | busybox | 5 layers | ratio | target |"
        echo "|---|---|---|---|---|"
        echo "| container | $L_CB | $L_CF | **$R_LC** | ≤ 1.10: $(verdict "$R_LC" 1.10) |"
        echo "| VM ($ACCEL) | $L_VB | $L_VF | **$R_LV** | ≤ 1.10: $(verdict "$R_LV" 1.10) |"
        echo
        echo "Means (ms), outliers included: $(awk -F'\t' '{ s[$1] += $2; n[$1]++ } END { for (r in s) printf "%s %.1f; ", r, s[r] / n[r] / 1e6 }' "$RAW/layers.tsv")launched alternately, one by one."
        echo
        echo "## Disk: two images sharing the Debian layer"
        echo
        echo "| deb | deb-plus (deb + 1 small layer) | sum | layers in the store | the store's layers on disk |"
        echo "|---|---|---|---|---|"
        echo "| $(mb "$S_DEB") MiB | $(mb "$S_PLUS") MiB | $(mb $((S_DEB + S_PLUS))) MiB | $N_LAYERS | **$(mb "$D_LAYERS") MiB** |"
        echo
        echo "Raw timings: \`$RAW\` (not committed)."
} >"$OUT"
log "written: $OUT"
echo "bench-images: import isod ${I_ISOD}s podman ${I_PM}s umoci ${I_UM}s (${R_IMPORT}x); vm first ${V_FIRST}s cached ${V_CACHED}s mkfs ${V_MKFS}s (${R_VM} of the limit); 5 layers ctr ${R_LC}x vm ${R_LV}x"
. "$SRCDIR/bench/history.sh"
bench_history_add images "import ${I_ISOD} s vs Podman ${I_PM} s (${R_IMPORT}×); VM first boot ${R_VM} of mkfs + 1.1×cached; 5 layers ${R_LC}× ctr, ${R_LV}× VM"
