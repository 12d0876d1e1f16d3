# tests/hostile-refusals.sh (sourced): every hostile archive of tests/mk-test-images.sh that must
# be refused, with the error it must be refused with. refuse_every_hostile calls the sourcing
# test's own `refuse NAME PATTERN [OPTIONS...]` (the importer alone in test-image-import.sh,
# isoctl → isod in test-images.sh), so both check the same cases against the same messages.
refuse_every_hostile() {
        local s
        for s in .tar .oci; do
                refuse "dotdot$s" "'\.\./evil': a '\.\.' component"
                refuse "symlink-escape$s" "link/evil': a parent is a symlink"
                refuse "symlink-rel-escape$s" "link/evil': a parent is a symlink"
                refuse "hardlink-escape$s" "hard link out of the layer"
                refuse "hardlink-abs$s" "hard link to an absolute path"
                refuse "dot-symlink$s" "the entry for the root is not a directory"
                refuse "whiteout-dotdot$s" "a whiteout without a valid target"
                refuse "whiteout-empty$s" "a whiteout without a valid target"
                refuse "duplicate$s" "a second entry of another type"
                refuse "truncated$s" "[Tt]runcated"
                refuse "long-name$s" "name is too long"
                refuse "uid-max$s" "owner out of range"
                refuse "deep$s" "more than 128 directory levels"
        done
        refuse bomb.tar.zst "byte budget is exhausted" --max-bytes=256M
        refuse bomb.oci "byte budget is exhausted" --max-bytes=256M
        refuse many-entries.tar.zst "entry budget is exhausted" --max-entries=20000
        refuse many-entries.oci "entry budget is exhausted" --max-entries=20000
        refuse bad-diffid.oci "diff_id is sha256:[0-9a-f]+, the config says"
        refuse manifest-dup-keys.oci "duplicate object key"
        refuse huge-json.oci "index.json: larger than 4 MiB"
}
